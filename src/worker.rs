//! The engine's home in the browser: a dedicated Web Worker.
//!
//! Downloading, parsing and inference block for seconds on bert-base; here they block only
//! this worker, never the page. The attention tensor of the latest run stays here and the page
//! asks for the matrices it draws ([`Request::Slice`]).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::model::{Engine, Run};
use crate::net::fetch_bytes;
use crate::protocol::{ModelInfo, ModelSource, Request, Response, SliceKind, Stage, MODEL_FILES};

#[derive(Default)]
struct State {
    engine: Option<Rc<Engine>>,
    /// Bumped by each Load, so a superseded download does not install its model.
    generation: u64,
    last_run: Option<(u64, Run)>,
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(resp: &Response) {
    let msg = Array::of1(&JsValue::from_str(&resp.to_json()));
    let _ = scope().post_message(&msg);
}

fn post_with_matrix(resp: &Response, data: &[f32]) {
    let arr = Float32Array::from(data);
    let msg = Array::of2(&JsValue::from_str(&resp.to_json()), &arr);
    let _ = scope().post_message_with_transfer(&msg, &Array::of1(&arr.buffer()));
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Starts the worker: installs the message handler and tells the page it is listening.
pub fn start() {
    // A panic kills the wasm instance; tell the page in words before it goes.
    std::panic::set_hook(Box::new(|info| {
        let message = format!("the engine crashed: {info}. Reload the page to start again.");
        web_sys::console::error_1(&message.clone().into());
        post(&Response::Error { stage: Stage::Load, id: None, message });
    }));
    let state = Rc::new(RefCell::new(State::default()));
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        match Request::from_json(&text) {
            Ok(req) => handle(state.clone(), req),
            Err(message) => post(&Response::Error { stage: Stage::Run, id: None, message }),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&Response::WorkerReady);
}

fn handle(state: Rc<RefCell<State>>, req: Request) {
    match req {
        Request::Load { source } => {
            let generation = {
                let mut s = state.borrow_mut();
                s.generation += 1;
                s.engine = None;
                s.last_run = None;
                s.generation
            };
            wasm_bindgen_futures::spawn_local(async move {
                let result = load(&source, &state, generation).await;
                if state.borrow().generation != generation {
                    return;
                }
                match result {
                    Ok((engine, info)) => {
                        state.borrow_mut().engine = Some(Rc::new(engine));
                        post(&Response::Loaded { info });
                    }
                    Err(message) => post(&Response::Error { stage: Stage::Load, id: None, message }),
                }
            });
        }
        Request::Run { id, text, pair } => {
            let Some(engine) = state.borrow().engine.clone() else {
                post(&Response::Error { stage: Stage::Run, id: Some(id), message: "no model is loaded yet".into() });
                return;
            };
            // Free the previous run's tensor before computing the next one.
            state.borrow_mut().last_run = None;
            let t0 = now_ms();
            match engine.run(&text, pair.as_deref()) {
                Ok(run) => {
                    let resp = Response::Ran {
                        id,
                        tokens: run.encoded.tokens.clone(),
                        truncated: run.encoded.truncated,
                        shape: run.attention.shape(),
                        ms: now_ms() - t0,
                    };
                    state.borrow_mut().last_run = Some((id, run));
                    post(&resp);
                }
                Err(e) => post(&Response::Error { stage: Stage::Run, id: Some(id), message: e.to_string() }),
            }
        }
        Request::Slice { run, kind } => {
            let s = state.borrow();
            let Some((_, r)) = s.last_run.as_ref().filter(|(id, _)| *id == run) else {
                // The page asked about a run that has been replaced: nothing to draw.
                return;
            };
            let n = r.attention.shape().seq;
            let matrix = match kind {
                SliceKind::Head { layer, head } => r.attention.head(layer, head),
            };
            match matrix {
                Some(m) => post_with_matrix(&Response::Slice { run, kind, rows: n, cols: n }, m),
                None => post(&Response::Error {
                    stage: Stage::Slice,
                    id: Some(run),
                    message: format!("{kind:?} is out of range for this model"),
                }),
            }
        }
    }
}

async fn load(source: &ModelSource, state: &Rc<RefCell<State>>, generation: u64) -> Result<(Engine, ModelInfo), String> {
    let t0 = now_ms();
    let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
    for file in MODEL_FILES {
        let url = source.file_url(file);
        let mut last_post = 0u64;
        let bytes = fetch_bytes(&url, |received, total| {
            // ~200 progress messages per file at most.
            let step = total.map(|t| t / 200).unwrap_or(1 << 20).max(64 << 10);
            if received == 0 || received - last_post >= step || Some(received) == total {
                last_post = received;
                post(&Response::Progress { file: file.to_string(), received, total });
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        if state.borrow().generation != generation {
            return Err("superseded".into());
        }
        files.push(bytes);
    }
    post(&Response::Parsing);
    let weights = files.pop().unwrap_or_default();
    let tokenizer = files.pop().unwrap_or_default();
    let config = files.pop().unwrap_or_default();
    let engine = Engine::from_bytes(&config, &tokenizer, &weights).map_err(|e| e.to_string())?;
    let c = engine.config();
    let info = ModelInfo {
        source: source.clone(),
        layers: c.num_hidden_layers,
        heads: c.num_attention_heads,
        hidden: c.hidden_size,
        max_tokens: c.max_position_embeddings,
        weight_bytes: weights.len() as u64,
        load_ms: now_ms() - t0,
    };
    Ok((engine, info))
}
