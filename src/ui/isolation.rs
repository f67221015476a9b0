//! The browser's side of the engine choice ([`super::engine`]): is this page cross-origin
//! isolated (the condition for `SharedArrayBuffer`, so for wasm threads), and the one reload
//! that makes it so on a first visit.
//!
//! GitHub Pages cannot send `Cross-Origin-Opener-Policy` / `Cross-Origin-Embedder-Policy`, so
//! the app's service worker adds them to the files it serves (sw.js). A first visit's document
//! did not come through it: when the service worker first takes control, the page reloads once
//! (never in a frame, never twice in a tab, never after the reader has clicked or typed or a
//! model has started loading: then the threads start at the next visit instead).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::engine::{reload_for_isolation, EngineChoice, ReloadFacts};
use super::state::LoadState;

/// sessionStorage key: this tab has reloaded for isolation once.
const TRIED: &str = "attention-viz-isolation-reload";

fn global_has(name: &str) -> bool {
    Reflect::has(&js_sys::global(), &name.into()).unwrap_or(false)
}

fn isolated() -> bool {
    Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn cores() -> usize {
    window().navigator().hardware_concurrency().max(0.0) as usize
}

/// What this page can run: threads where it is isolated, relaxed SIMD where it validates.
pub fn choose() -> EngineChoice {
    let relaxed = super::engine_variant::relaxed_simd_validates();
    EngineChoice::new(isolated(), global_has("SharedArrayBuffer"), cores(), relaxed)
}

fn in_frame() -> bool {
    let w = window();
    match w.top() {
        Ok(Some(top)) => !js_sys::Object::is(&top, &w),
        // No access to the top window: certainly a frame.
        _ => true,
    }
}

/// `sessionStorage.getItem(key)` / `setItem(key, "1")` through Reflect (it throws in sandboxed
/// frames; web-sys' `Storage` is not among the crate's features for this one use).
fn session_flag(key: &str, set: bool) -> bool {
    let call = |method: &str, args: &[JsValue]| -> Option<JsValue> {
        let storage = Reflect::get(&window(), &"sessionStorage".into()).ok()?;
        let f: Function = Reflect::get(&storage, &method.into()).ok()?.dyn_into().ok()?;
        f.apply(&storage, &args.iter().collect()).ok()
    };
    if set {
        call("setItem", &[key.into(), "1".into()]).is_some()
    } else {
        call("getItem", &[key.into()]).is_some_and(|v| !v.is_null())
    }
}

/// On a page no service worker controls yet, reloads it once when the app's service worker
/// takes control, if [`reload_for_isolation`] says so. `load` tells whether a model load has
/// started.
pub fn reload_once_for_threads(load: RwSignal<LoadState>) {
    if !Reflect::has(&window().navigator(), &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let container = window().navigator().service_worker();
    if container.controller().is_some() {
        // This document already came through the service worker: isolated, or not isolable.
        return;
    }
    let touched = Rc::new(Cell::new(false));
    for event in ["pointerdown", "keydown"] {
        let touched = touched.clone();
        let on = Closure::<dyn FnMut()>::new(move || touched.set(true));
        let _ = window().add_event_listener_with_callback_and_bool(event, on.as_ref().unchecked_ref(), true);
        on.forget();
    }
    let on_control = Closure::<dyn FnMut()>::new(move || {
        let facts = ReloadFacts {
            isolated: isolated(),
            in_frame: in_frame(),
            cores: cores(),
            tried: session_flag(TRIED, false),
            busy: touched.get() || load.get_untracked() != LoadState::Idle,
        };
        // Without sessionStorage the flag cannot be kept: no reload (a loop is worse than one
        // visit on one thread).
        if reload_for_isolation(facts) && session_flag(TRIED, true) {
            let _ = window().location().reload();
        }
    });
    let _ = container.add_event_listener_with_callback("controllerchange", on_control.as_ref().unchecked_ref());
    on_control.forget();
}
