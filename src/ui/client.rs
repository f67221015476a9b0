//! The page's handle on the engine worker.

use js_sys::{Array, Float32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{Request, Response};

/// A client's handlers (see [`EngineClient::handles`]).
pub struct Handles {
    on_message: js_sys::Function,
    on_error: js_sys::Function,
}

/// A running engine worker and its message handler.
pub struct EngineClient {
    worker: Worker,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl EngineClient {
    /// Starts the worker at `url` (a single-threaded engine's loader, src/boot/, or with `module`
    /// the threaded engine's ES-module loader). `on_message` gets each response and,
    /// for slices, the transferred matrix, for exports the file's bytes; `on_crash` gets a message if the worker dies.
    pub fn spawn(
        url: &str,
        module: bool,
        on_message: impl FnMut(Response, Option<Vec<f32>>, Option<Uint8Array>) + 'static,
        on_crash: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let worker = if module {
            let options = WorkerOptions::new();
            options.set_type(WorkerType::Module);
            Worker::new_with_options(url, &options)
        } else {
            Worker::new(url)
        }
        .map_err(|e| format!("cannot start the engine worker: {e:?}"))?;
        Ok(Self::attach(worker, url, on_message, on_crash))
    }

    /// Takes over `worker`, started at `url` by src/boot/boot.js before the page loaded: the
    /// same handlers as [`Self::spawn`]'s. The events it received before (kept by boot.js) are
    /// not replayed here; see [`Self::replay`].
    pub fn adopt(
        worker: Worker,
        url: &str,
        on_message: impl FnMut(Response, Option<Vec<f32>>, Option<Uint8Array>) + 'static,
        on_crash: impl FnMut(String) + 'static,
    ) -> Self {
        Self::attach(worker, url, on_message, on_crash)
    }

    /// This client's handlers as JS functions, to call without holding the client.
    pub fn handles(&self) -> Handles {
        Handles {
            on_message: self.on_message.as_ref().unchecked_ref::<js_sys::Function>().clone(),
            on_error: self.on_error.as_ref().unchecked_ref::<js_sys::Function>().clone(),
        }
    }

    /// Hands `events` (a message or an error event each, in order) to a client's handlers, as if
    /// they had arrived now. A handler that replaced the client meanwhile makes the rest throw,
    /// which is ignored: they belonged to the worker that was replaced.
    pub fn replay(handles: &Handles, events: &[web_sys::Event]) {
        for ev in events {
            let handler = if ev.is_instance_of::<MessageEvent>() { &handles.on_message } else { &handles.on_error };
            let _ = handler.call1(&JsValue::NULL, ev);
        }
    }

    fn attach(
        worker: Worker,
        url: &str,
        mut on_message: impl FnMut(Response, Option<Vec<f32>>, Option<Uint8Array>) + 'static,
        mut on_crash: impl FnMut(String) + 'static,
    ) -> Self {
        let on_msg = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Ok(parts) = ev.data().dyn_into::<Array>() else { return };
            let Some(json) = parts.get(0).as_string() else { return };
            let matrix = parts.get(1).dyn_into::<Float32Array>().ok().map(|a| a.to_vec());
            let bytes = parts.get(1).dyn_into::<Uint8Array>().ok();
            match Response::from_json(&json) {
                Ok(resp) => on_message(resp, matrix, bytes),
                Err(e) => web_sys::console::warn_1(&e.into()),
            }
        });
        worker.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
        // An uncaught error in the worker arrives as an `ErrorEvent`; a worker script that did
        // not load (a 404, a wrong sub-path) as a plain `Event`, without a message.
        let script = url.to_string();
        let on_err = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            ev.prevent_default();
            match ev.dyn_ref::<web_sys::ErrorEvent>() {
                Some(e) => on_crash(format!("the engine worker failed: {}", e.message())),
                None => on_crash(format!(
                    "the engine worker script {script} could not be loaded"
                )),
            }
        });
        worker.set_onerror(Some(on_err.as_ref().unchecked_ref()));
        Self {
            worker,
            on_message: on_msg,
            on_error: on_err,
        }
    }

    pub fn send(&self, req: &Request) {
        if let Err(e) = self.worker.post_message(&JsValue::from_str(&req.to_json())) {
            web_sys::console::error_2(&"postMessage failed".into(), &e);
        }
    }

    /// Sends a request followed by files. A `File` is a handle: the worker reads it from the
    /// disk itself, so a 440 MB local model is never held by the page.
    pub fn send_with_files(&self, req: &Request, files: &[web_sys::File]) {
        let msg = Array::of1(&JsValue::from_str(&req.to_json()));
        for f in files {
            msg.push(f);
        }
        if let Err(e) = self.worker.post_message(&msg) {
            web_sys::console::error_2(&"postMessage failed".into(), &e);
        }
    }
}

impl Drop for EngineClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The engine worker src/boot/boot.js started before the page loaded, if it is the one at `url`
/// (the page's own choice), with the events it has received so far. Taken once: a worker at
/// another URL is stopped, and later starts are the page's own.
pub fn take_prestarted(url: &str) -> Option<(Worker, Vec<web_sys::Event>)> {
    let global = js_sys::global();
    let key = JsValue::from_str("attentionVizEngine");
    let boot = js_sys::Reflect::get(&global, &key).ok().filter(|v| v.is_object())?;
    let _ = js_sys::Reflect::delete_property(global.unchecked_ref::<js_sys::Object>(), &key);
    let worker: Worker = js_sys::Reflect::get(&boot, &"worker".into()).ok()?.dyn_into().ok()?;
    let same = js_sys::Reflect::get(&boot, &"url".into()).ok().and_then(|u| u.as_string()).is_some_and(|u| u == url);
    if !same {
        // boot.js chose otherwise than the page (they should agree): the page's choice wins.
        web_sys::console::warn_1(&format!("attention-viz: the early engine worker is not {url}; starting that one").into());
        worker.terminate();
        return None;
    }
    let early: Array = js_sys::Reflect::get(&boot, &"early".into()).ok()?.dyn_into().ok()?;
    let events = early.iter().filter_map(|e| e.dyn_into::<web_sys::Event>().ok()).collect();
    Some((worker, events))
}
