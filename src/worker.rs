//! The engine's home in the browser: a dedicated Web Worker.
//!
//! Downloading, parsing and inference block for seconds on bert-base; here they block only
//! this worker, never the page. The attention tensor of the latest successful run stays here and
//! the page asks for the slices it draws ([`Request::Slice`], cut by [`crate::slice::cut`]).
//!
//! Every answer names the load or run it belongs to. A new `Load` aborts the download in
//! progress (AbortController), so a superseded download neither keeps the network busy nor
//! sends progress that the page could mistake for the current load's.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, DedicatedWorkerGlobalScope, MessageEvent};

use crate::analysis::ViewOptions;
use crate::model::{Engine, QueryKey, Run};
use crate::net::{fetch_bytes, NetError};
use crate::protocol::{ModelInfo, ModelSource, Request, Response, SliceKind, Stage, MODEL_FILES};
use crate::slice::{cut, Slice};

#[derive(Default)]
struct State {
    engine: Option<Rc<Engine>>,
    /// The id of the newest `Load`; an older load's results are dropped.
    load: u64,
    /// Aborts the download of the load in progress.
    abort: Option<AbortController>,
    /// The latest successful run: a failed run leaves it in place, so the views keep working.
    last_run: Option<(u64, Run)>,
    /// Queries and keys of one layer of the latest run (the neuron view flips between heads).
    qk: Option<(u64, usize, QueryKey)>,
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(resp: &Response) {
    let msg = Array::of1(&JsValue::from_str(&resp.to_json()));
    let _ = scope().post_message(&msg);
}

fn post_with_data(resp: &Response, data: &[f32]) {
    let arr = Float32Array::from(data);
    let msg = Array::of2(&JsValue::from_str(&resp.to_json()), &arr);
    let _ = scope().post_message_with_transfer(&msg, &Array::of1(&arr.buffer()));
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Starts the worker: installs the message handler and tells the page it is listening.
pub fn start() {
    // A panic kills the wasm instance; tell the page in words before it goes. The page also
    // sees the worker's `error` event and offers to restart it.
    std::panic::set_hook(Box::new(|info| {
        let message = format!("the engine crashed: {info}");
        web_sys::console::error_1(&message.clone().into());
        post(&Response::Error { stage: Stage::Load, id: None, message });
    }));
    let state = Rc::new(RefCell::new(State::default()));
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        match Request::from_json(&text) {
            Ok(req) => handle(&state, req),
            Err(message) => post(&Response::Error { stage: Stage::Run, id: None, message }),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&Response::WorkerReady);
}

fn handle(state: &Rc<RefCell<State>>, req: Request) {
    match req {
        Request::Load { id, source } => start_load(state, id, source),
        Request::Run { id, text, pair } => run(state, id, &text, pair.as_deref()),
        Request::Slice { run, kind, options } => slice(state, run, kind, options),
    }
}

fn start_load(state: &Rc<RefCell<State>>, id: u64, source: ModelSource) {
    let controller = AbortController::new().ok();
    {
        let mut s = state.borrow_mut();
        if let Some(old) = s.abort.take() {
            old.abort();
        }
        s.load = id;
        s.abort = controller.clone();
        // The old model is dropped now, not after the download: two bert-larges do not fit.
        s.engine = None;
        s.last_run = None;
        s.qk = None;
    }
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let signal = controller.as_ref().map(|c| c.signal());
        let result = load(&source, id, signal.as_ref()).await;
        let mut s = state.borrow_mut();
        if s.load != id {
            return; // superseded: the page has moved on and expects nothing from this load
        }
        s.abort = None;
        match result {
            Ok((engine, info)) => {
                s.engine = Some(Rc::new(engine));
                drop(s);
                post(&Response::Loaded { load: id, info });
            }
            Err(message) => {
                drop(s);
                post(&Response::Error { stage: Stage::Load, id: Some(id), message });
            }
        }
    });
}

fn run(state: &Rc<RefCell<State>>, id: u64, text: &str, pair: Option<&str>) {
    let Some(engine) = state.borrow().engine.clone() else {
        post(&Response::Error { stage: Stage::Run, id: Some(id), message: "no model is loaded yet".into() });
        return;
    };
    let t0 = now_ms();
    match engine.run(text, pair) {
        Ok(run) => {
            let resp = Response::Ran {
                id,
                tokens: run.encoded.tokens.clone(),
                truncated: run.encoded.truncated,
                shape: run.attention.shape(),
                ms: now_ms() - t0,
            };
            let mut s = state.borrow_mut();
            s.last_run = Some((id, run));
            s.qk = None;
            drop(s);
            post(&resp);
        }
        Err(e) => post(&Response::Error { stage: Stage::Run, id: Some(id), message: e.to_string() }),
    }
}

fn slice(state: &Rc<RefCell<State>>, run: u64, kind: SliceKind, options: ViewOptions) {
    let result = {
        let mut s = state.borrow_mut();
        let s = &mut *s;
        match s.last_run.as_ref().filter(|(id, _)| *id == run) {
            // The page asked about a run that has been replaced: it no longer wants it.
            None => return,
            Some((_, r)) => match kind {
                SliceKind::QueryKey { layer, head } => query_key(s.engine.as_deref(), &mut s.qk, run, r, layer, head),
                _ => cut(&r.attention, &r.encoded.tokens, kind, options),
            },
        }
    };
    match result {
        Ok(Slice { dims, data }) => post_with_data(&Response::Slice { run, kind, options, dims }, &data),
        Err(message) => post(&Response::Error { stage: Stage::Slice, id: Some(run), message }),
    }
}

/// One head's queries and keys, computed for the whole layer on first use and kept, so that
/// flipping heads in the neuron view costs nothing.
fn query_key(
    engine: Option<&Engine>,
    cache: &mut Option<(u64, usize, QueryKey)>,
    run: u64,
    r: &Run,
    layer: usize,
    head: usize,
) -> Result<Slice, String> {
    if !matches!(cache, Some((id, l, _)) if *id == run && *l == layer) {
        let engine = engine.ok_or("no model is loaded")?;
        let qk = engine.queries_keys(&r.encoded, layer).map_err(|e| e.to_string())?;
        *cache = Some((run, layer, qk));
    }
    let Some((_, _, qk)) = cache.as_ref() else { return Err("queries and keys are missing".into()) };
    let len = qk.seq * qk.head_dim;
    let part = |v: &[f32]| v.get(head * len..(head + 1) * len).map(<[f32]>::to_vec);
    let (Some(mut q), Some(k)) = (part(&qk.q), part(&qk.k)) else {
        return Err(format!("head {head} is out of range for this model ({} heads)", qk.heads));
    };
    q.extend(k);
    Ok(Slice { dims: vec![2, qk.seq, qk.head_dim], data: q })
}

async fn load(source: &ModelSource, id: u64, signal: Option<&web_sys::AbortSignal>) -> Result<(Engine, ModelInfo), String> {
    let t0 = now_ms();
    let mut files: Vec<Vec<u8>> = Vec::with_capacity(MODEL_FILES.len());
    for file in MODEL_FILES {
        let url = source.file_url(file);
        let mut last_post = 0u64;
        let bytes = fetch_bytes(&url, signal, |received, total| {
            // ~200 progress messages per file at most.
            let step = total.map(|t| t / 200).unwrap_or(1 << 20).max(64 << 10);
            if received == 0 || received - last_post >= step || Some(received) == total {
                last_post = received;
                post(&Response::Progress { load: id, file: file.to_string(), received, total });
            }
        })
        .await
        .map_err(|e| match e {
            NetError::Aborted { .. } => "superseded".to_string(),
            e => e.to_string(),
        })?;
        files.push(bytes);
    }
    post(&Response::Parsing { load: id });
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
