//! The page's handle on the engine worker.

use js_sys::{Array, Float32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{Request, Response};

/// A running engine worker and its message handler.
pub struct EngineClient {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl EngineClient {
    /// Starts the worker at `url` (trunk's loader shim, or with `module` the threaded engine's
    /// ES-module loader). `on_message` gets each response and,
    /// for slices, the transferred matrix, for exports the file's bytes; `on_crash` gets a message if the worker dies.
    pub fn spawn(
        url: &str,
        module: bool,
        mut on_message: impl FnMut(Response, Option<Vec<f32>>, Option<Uint8Array>) + 'static,
        mut on_crash: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let worker = if module {
            let options = WorkerOptions::new();
            options.set_type(WorkerType::Module);
            Worker::new_with_options(url, &options)
        } else {
            Worker::new(url)
        }
        .map_err(|e| format!("cannot start the engine worker: {e:?}"))?;
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
        Ok(Self {
            worker,
            _on_message: on_msg,
            _on_error: on_err,
        })
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
