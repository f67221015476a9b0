//! A stall timer for one request: if neither the response's headers nor a byte of its body
//! arrive for [`stall_ms`], the request is aborted and reported as stalled (a server that
//! accepted the connection and then went silent would otherwise hold the load forever).

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal};

/// No headers and no body byte for this long: the request has stalled. Long enough for a slow
/// mobile connection's first byte; short enough that a dead server is reported within a minute
/// or two (a stall is retried like a broken connection, see `download.rs`).
pub const STALL_MS: u32 = 30_000;

/// The worker global the end-to-end tests set to shorten [`STALL_MS`] (milliseconds); nothing
/// else sets it.
const STALL_OVERRIDE: &str = "__attentionVizStallMs";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(callback: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: &JsValue);
}

/// How long a request may stay silent: [`STALL_MS`], or the tests' override.
pub fn stall_ms() -> u32 {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(STALL_OVERRIDE))
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|v| v.is_finite() && *v >= 1.0)
        .map_or(STALL_MS, |v| v.min(f64::from(STALL_MS) * 100.0) as u32)
}

/// Aborts its own signal when nothing happened for `ms`, or when the caller's signal aborts.
/// Dropping it stops the timer and unhooks it from the caller's signal.
pub struct Watchdog {
    controller: Option<AbortController>,
    stalled: Rc<Cell<bool>>,
    last: Rc<Cell<f64>>,
    ms: u32,
    interval: JsValue,
    _tick: Option<Closure<dyn FnMut()>>,
    outer: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

impl Watchdog {
    /// Starts the timer. `outer`: the caller's signal (Cancel, a newer load).
    pub fn new(outer: Option<&AbortSignal>, ms: u32) -> Self {
        let stalled = Rc::new(Cell::new(false));
        let last = Rc::new(Cell::new(js_sys::Date::now()));
        let Ok(controller) = AbortController::new() else {
            // No AbortController: no watchdog (the request runs on the caller's signal alone).
            return Self {
                controller: None,
                stalled,
                last,
                ms,
                interval: JsValue::NULL,
                _tick: None,
                outer: None,
            };
        };
        if outer.is_some_and(AbortSignal::aborted) {
            controller.abort();
        }
        let outer = outer.map(|signal| {
            let c = controller.clone();
            let on_abort = Closure::<dyn FnMut()>::new(move || c.abort());
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            (signal.clone(), on_abort)
        });
        let tick = {
            let (c, stalled, last) = (controller.clone(), stalled.clone(), last.clone());
            Closure::<dyn FnMut()>::new(move || {
                if !stalled.get() && js_sys::Date::now() - last.get() >= f64::from(ms) {
                    stalled.set(true);
                    c.abort();
                }
            })
        };
        let every = (ms / 4).clamp(50, 5_000) as i32;
        let interval = set_interval(tick.as_ref().unchecked_ref(), every);
        Self {
            controller: Some(controller),
            stalled,
            last,
            ms,
            interval,
            _tick: Some(tick),
            outer,
        }
    }

    /// The signal to give the request: aborted by a stall or by the caller.
    pub fn signal(&self, outer: Option<&AbortSignal>) -> Option<AbortSignal> {
        match &self.controller {
            Some(c) => Some(c.signal()),
            None => outer.cloned(),
        }
    }

    /// Something arrived: the silence starts again from now.
    pub fn touch(&self) {
        self.last.set(js_sys::Date::now());
    }

    /// Whether the timer fired (rather than the caller aborting).
    pub fn stalled(&self) -> bool {
        self.stalled.get()
    }

    /// The silence allowed, in whole seconds (for messages).
    pub fn seconds(&self) -> f64 {
        f64::from(self.ms) / 1000.0
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if !self.interval.is_null() {
            clear_interval(&self.interval);
        }
        if let Some((signal, on_abort)) = self.outer.take() {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
    }
}
