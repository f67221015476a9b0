//! The engine's home in the browser: a dedicated Web Worker.
//!
//! Downloading, parsing and inference block for seconds on bert-base; here they block only
//! this worker, never the page. The attention tensor of the latest successful run stays here and
//! the page asks for the slices it draws ([`Request::Slice`], cut by [`crate::slice::cut`]).
//!
//! Every answer names the load or run it belongs to. A new `Load` aborts the download in
//! progress (AbortController), so a superseded download neither keeps the network busy nor
//! sends progress that the page could mistake for the current load's; `Cancel` aborts it the
//! same way and is answered by `Cancelled`. Model files come from Cache Storage when a previous
//! visit saved them, else from the network, resumed and retried (`net::model_files`).
//!
//! The analysis views' slices (aggregates, token focus, head statistics) are cut here from
//! the same run; the corpus statistics and the compare view's side B live in [`analysis`].

mod analysis;
#[cfg(feature = "threads")]
pub mod threads;
mod warm;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, DedicatedWorkerGlobalScope, MessageEvent};

use crate::analysis::ViewOptions;
use crate::model::{Config, Engine, QueryKey, Run, TokenizerWrapper, WASM_WEIGHT_BUDGET};
use crate::net::cache::{estimate, ModelCache};
use crate::net::model_files::{Failure, LoadEvent, ModelFiles, WeightSink};
use crate::net::read_stream;
use crate::net::timing::mark;
use crate::export::export_files;
use crate::protocol::{ExportKind, ModelInfo, ModelSource, Request, Response, SliceKind, Stage, MODEL_FILES};
use crate::slice::{cut_with, Memo, Slice};

/// Above this many bytes of weights for the loaded model and the incoming one together, the
/// loaded model is dropped before the new weights stream in (two bert-larges do not fit in
/// wasm32's 4 GB, next to their activations); below it, it stays until the new one is built,
/// so a load that fails (a 404, a broken file, a cut connection, Cancel) leaves the page where
/// it was. MiniLM, bert-base and their pairs stay well under it.
const KEEP_PREVIOUS_BYTES: u64 = 1_500_000_000;

#[derive(Default)]
struct State {
    engine: Option<Rc<Engine>>,
    /// The loaded engine's weights in memory ([`Config::f32_weight_bytes`]).
    engine_bytes: u64,
    /// The id of the newest `Load`; an older load's results are dropped.
    load: u64,
    /// Aborts the download of the load in progress.
    abort: Option<AbortController>,
    /// The latest successful run: a failed run leaves it in place, so the views keep working.
    last_run: Option<(u64, Run)>,
    /// Queries and keys of one layer of the latest run (the neuron view flips between heads).
    qk: Option<(u64, usize, QueryKey)>,
    /// The latest run's latest rollout (stepping through its layers computes it once).
    memo: Memo,
    /// The compare view's side B: model B and run B.
    compare: analysis::Compare,
    /// Head statistics over the built-in corpus, per model and options.
    corpus: analysis::Corpus,
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

/// Builds the files of an export from the latest run and sends each with its bytes.
fn export(state: &Rc<RefCell<State>>, run: u64, what: ExportKind, model: &str, text: &str, pair: Option<&str>) {
    let result = match state.borrow().last_run.as_ref().filter(|(id, _)| *id == run) {
        Some((_, r)) => export_files(r, &what, model, text, pair),
        None => Err("that run has been replaced: run again and export".into()),
    };
    match result {
        Ok(files) => {
            for f in files {
                let resp = Response::Export { run, what: what.clone(), file_name: f.name, mime: f.mime };
                let arr = Uint8Array::from(f.bytes.as_slice());
                let msg = Array::of2(&JsValue::from_str(&resp.to_json()), &arr);
                let _ = scope().post_message_with_transfer(&msg, &Array::of1(&arr.buffer()));
            }
        }
        Err(message) => post(&Response::Error { stage: Stage::Export, id: Some(run), message }),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Starts the worker: installs the message handler and tells the page it is listening.
pub fn start() {
    mark("worker-start");
    // A panic kills the wasm instance; tell the page in words before it goes. The page also
    // sees the worker's `error` event and offers to restart it.
    std::panic::set_hook(Box::new(|info| {
        let message = format!("the engine crashed: {info}");
        web_sys::console::error_1(&message.clone().into());
        post(&Response::Error { stage: Stage::Load, id: None, message });
    }));
    let state = Rc::new(RefCell::new(State::default()));
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        warm::on_message();
        // A plain JSON string, or [JSON, ArrayBuffer…] when the request carries file bytes.
        let data = ev.data();
        let (text, buffers) = match data.dyn_ref::<Array>() {
            Some(parts) => (parts.get(0).as_string(), parts.iter().skip(1).collect::<Vec<JsValue>>()),
            None => (data.as_string(), Vec::new()),
        };
        let Some(text) = text else { return };
        match Request::from_json(&text) {
            Ok(Request::LoadLocal { id, name, files }) => load_local(&state, id, name, files, &buffers),
            Ok(req) => handle(&state, req),
            Err(message) => post(&Response::Error { stage: Stage::Run, id: None, message }),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    mark("worker-ready");
    post(&Response::WorkerReady);
    warm::start();
}

fn handle(state: &Rc<RefCell<State>>, req: Request) {
    match req {
        Request::Load { id, source } => start_load(state, id, source),
        // Carries buffers; taken by the message handler before it gets here.
        Request::LoadLocal { id, .. } => post(&Response::Error {
            stage: Stage::Load,
            id: Some(id),
            message: "local files arrived without their contents".into(),
        }),
        Request::Run { id, text, pair } => run(state, id, &text, pair.as_deref()),
        Request::Slice { run, kind, options } => slice(state, run, kind, options),
        Request::LoadCompare { id, source } => analysis::load_compare(state, id, source),
        Request::RunCompare { id, text, pair, model_b } => analysis::run_compare(state, id, &text, pair.as_deref(), model_b),
        Request::CloseCompare => analysis::close_compare(state),
        Request::Cancel { id } => cancel(state, id),
        Request::Export { run, what, model, text, pair } => export(state, run, what, &model, &text, pair.as_deref()),
        Request::Storage => wasm_bindgen_futures::spawn_local(async { post(&storage_report(None).await) }),
        Request::DeleteCached { source } => wasm_bindgen_futures::spawn_local(async move {
            let error = match ModelCache::open().await {
                Ok(cache) => cache.delete_model(&source).await.err(),
                Err(e) => Some(e),
            };
            post(&storage_report(error).await);
        }),
    }
}

/// Cancel: aborts load `id`'s download (its task then answers `Cancelled`). A load that is
/// over, or superseded, has nothing to cancel.
fn cancel(state: &Rc<RefCell<State>>, id: u64) {
    let mut s = state.borrow_mut();
    if s.load == id {
        if let Some(c) = s.abort.take() {
            c.abort();
        }
    }
}

/// What the model cache holds, and the storage estimate.
async fn storage_report(error: Option<String>) -> Response {
    let (models, error) = match ModelCache::open().await {
        Ok(cache) => match cache.list().await {
            Ok(models) => (models, error),
            Err(e) => (Vec::new(), Some(format!("the stored models cannot be listed: {e}"))),
        },
        Err(e) => (Vec::new(), Some(e)),
    };
    let (usage, quota) = estimate().await;
    Response::Storage { models, usage, quota, error }
}

/// Makes load `id` the current one: aborts the download in progress. The loaded model stays
/// (see [`KEEP_PREVIOUS_BYTES`] and [`make_room`]).
fn begin_load(state: &Rc<RefCell<State>>, id: u64, controller: Option<AbortController>) {
    let mut s = state.borrow_mut();
    if let Some(old) = s.abort.take() {
        old.abort();
    }
    s.load = id;
    s.abort = controller;
}

impl State {
    /// Drops the loaded model and everything computed with it.
    fn forget_model(&mut self) {
        self.engine = None;
        self.engine_bytes = 0;
        self.last_run = None;
        self.qk = None;
        self.memo = Memo::default();
        // Run B may have come from the old main model (two texts); model B stays.
        self.compare.forget_run();
    }

    /// Load `id` built `engine`: it replaces the loaded model.
    fn install(&mut self, engine: Engine) {
        self.forget_model();
        self.engine_bytes = engine.config().f32_weight_bytes();
        self.engine = Some(Rc::new(engine));
    }
}

/// Called once load `id` knows the new model's config, before its weights stream in: drops
/// the loaded model when both would not fit ([`KEEP_PREVIOUS_BYTES`]).
fn make_room(state: &Rc<RefCell<State>>, id: u64, config: &Config) {
    let mut s = state.borrow_mut();
    if s.load == id && s.engine.is_some() && s.engine_bytes.saturating_add(config.f32_weight_bytes()) > KEEP_PREVIOUS_BYTES {
        s.forget_model();
    }
}

/// After load `id` failed or was cancelled (its message already sent): tells the page when the
/// model loaded before it is still here, so that the page goes back to it.
fn after_failed_load(state: &Rc<RefCell<State>>, id: u64) {
    let s = state.borrow();
    if s.load == id && s.engine.is_some() {
        drop(s);
        post(&Response::Restored { load: id });
    }
}

/// Loads a model from files the user chose (`File`s, passed by reference: their bytes never
/// leave this machine, and the weights are streamed into tensors like a download).
fn load_local(state: &Rc<RefCell<State>>, id: u64, name: String, files: Vec<String>, blobs: &[JsValue]) {
    begin_load(state, id, None);
    let blobs: Vec<web_sys::Blob> = blobs.iter().filter_map(|b| b.dyn_ref::<web_sys::Blob>().cloned()).collect();
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let t0 = now_ms();
        let room = |config: &Config| make_room(&state, id, config);
        let result = match (files.len() == MODEL_FILES.len(), &blobs[..]) {
            (true, [config, tokenizer, weights]) => read_local(config, tokenizer, weights, room).await.map(|engine| {
                let source = ModelSource { hub: "local".into(), repo: name, revision: String::new() };
                let info = model_info(&engine, source, weights.size() as u64, now_ms() - t0);
                (engine, info)
            }),
            _ => Err(format!("expected the three files {MODEL_FILES:?}, got {files:?}")),
        };
        if state.borrow().load != id {
            return;
        }
        match result {
            Ok((engine, info)) => {
                state.borrow_mut().install(engine);
                post(&Response::Loaded { load: id, info });
            }
            Err(message) => {
                post(&Response::Error {
                    stage: Stage::Load,
                    id: Some(id),
                    message,
                });
                after_failed_load(&state, id);
            }
        }
    });
}

/// A local file's bytes (the small files).
async fn blob_bytes(blob: &web_sys::Blob, name: &str) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| format!("{name} could not be read ({e:?})"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn read_local(
    config: &web_sys::Blob,
    tokenizer: &web_sys::Blob,
    weights: &web_sys::Blob,
    make_room: impl FnOnce(&Config),
) -> Result<Engine, String> {
    let config =
        Config::from_json(&blob_bytes(config, "config.json").await?).map_err(|e| e.to_string())?;
    let tokenizer = TokenizerWrapper::from_json(
        &blob_bytes(tokenizer, "tokenizer.json").await?,
        config.max_tokens(),
    )
    .map_err(|e| e.to_string())?;
    tokenizer
        .check_vocab(config.vocab_size)
        .map_err(|e| e.to_string())?;
    make_room(&config);
    let mut sink = WeightSink::new(config.family, Some(WASM_WEIGHT_BUDGET));
    // The header is checked against the file's real size before anything is reserved.
    crate::net::Sink::restart(&mut sink, Some(weights.size() as u64));
    if let Err(e) = read_stream(&weights.stream(), &mut sink, |_, _| true).await {
        return Err(match (sink.take_error(), e) {
            (Some(model_error), _) => model_error.to_string(),
            (None, e) => format!(
                "model.safetensors could not be read: {}",
                e.into_net("model.safetensors", None)
            ),
        });
    }
    let checkpoint = sink.finish().map_err(|e| e.to_string())?;
    Engine::new(config, tokenizer, &checkpoint).map_err(|e| e.to_string())
}

fn model_info(engine: &Engine, source: ModelSource, weight_bytes: u64, load_ms: f64) -> ModelInfo {
    let c = engine.config();
    ModelInfo {
        source,
        layers: c.num_hidden_layers,
        heads: c.num_attention_heads,
        hidden: c.hidden_size,
        max_tokens: engine.max_tokens(),
        weight_bytes,
        load_ms,
        family: engine.family().name().to_string(),
        weight_groups: (0..c.num_hidden_layers).map(|l| engine.weight_group(l).unwrap_or(l)).collect(),
    }
}

fn start_load(state: &Rc<RefCell<State>>, id: u64, source: ModelSource) {
    let controller = AbortController::new().ok();
    begin_load(state, id, controller.clone());
    let state = state.clone();
    mark("load-received");
    wasm_bindgen_futures::spawn_local(async move {
        let signal = controller.as_ref().map(|c| c.signal());
        let room = |config: &Config| make_room(&state, id, config);
        let result = load(&source, id, signal.as_ref(), false, room).await;
        let mut s = state.borrow_mut();
        if s.load != id {
            return; // superseded: the page has moved on and expects nothing from this load
        }
        s.abort = None;
        match result {
            Ok((engine, info)) => {
                s.install(engine);
                drop(s);
                post(&Response::Loaded { load: id, info });
                return;
            }
            // Only Cancel aborts the current load (a new load supersedes it, handled above).
            Err(Failure::Aborted) => {
                drop(s);
                post(&Response::Cancelled { load: id });
            }
            Err(Failure::Message(message)) => {
                drop(s);
                post(&Response::Error { stage: Stage::Load, id: Some(id), message });
            }
            Err(Failure::Unreachable(message)) => {
                drop(s);
                post(&Response::Unreachable { load: id, message });
            }
        }
        after_failed_load(&state, id);
    });
}

fn run(state: &Rc<RefCell<State>>, id: u64, text: &str, pair: Option<&str>) {
    let Some(engine) = state.borrow().engine.clone() else {
        post(&Response::Error { stage: Stage::Run, id: Some(id), message: "no model is loaded yet".into() });
        return;
    };
    let t0 = now_ms();
    mark("run-start");
    match engine.run(text, pair) {
        Ok(run) => {
            let resp = Response::Ran {
                id,
                tokens: run.encoded.tokens.clone(),
                truncated: run.encoded.truncated,
                dropped: run.encoded.dropped,
                shape: run.attention.shape(),
                ms: now_ms() - t0,
            };
            let mut s = state.borrow_mut();
            s.last_run = Some((id, run));
            s.qk = None;
            s.memo = Memo::default();
            drop(s);
            mark("run-end");
            post(&resp);
        }
        Err(e) => post(&Response::Error { stage: Stage::Run, id: Some(id), message: e.to_string() }),
    }
}

fn slice(state: &Rc<RefCell<State>>, run: u64, kind: SliceKind, options: ViewOptions) {
    if kind == (SliceKind::HeadStats { corpus: true }) {
        return analysis::corpus_slice(state, run, options);
    }
    let result = {
        let mut s = state.borrow_mut();
        let s = &mut *s;
        match s.last_run.as_ref().filter(|(id, _)| *id == run) {
            // The page asked about a run that has been replaced: it no longer wants it.
            None => return,
            Some((_, r)) => match &kind {
                SliceKind::QueryKey { layer, head } => query_key(s.engine.as_deref(), &mut s.qk, run, r, *layer, *head),
                SliceKind::CompareHead { .. } | SliceKind::CompareHeads { .. } => match s.compare.slice(r, &kind, options) {
                    Some(result) => result,
                    // Run B has been replaced: the page no longer wants this one.
                    None => return,
                },
                _ => cut_with(&r.attention, &r.encoded.tokens, &kind, options, &mut s.memo),
            },
        }
    };
    post_slice(run, kind, options, result);
    mark("slice");
}

/// Sends a slice, or the worker's reason for not cutting it.
fn post_slice(run: u64, kind: SliceKind, options: ViewOptions, result: Result<Slice, String>) {
    match result {
        Ok(Slice { dims, data }) => post_with_data(&Response::Slice { run, kind, options, dims }, &data),
        Err(message) => post(&Response::SliceRefused { run, kind, options, message }),
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

/// Gets the model's files (Cache Storage, else the network: see `net::model_files`) and builds
/// the engine. `config.json` and `tokenizer.json` are parsed before the weights are fetched (a
/// broken one fails at once, not after 440 MB); the weights are read into tensors as they
/// arrive, never held whole. A file read back from the cache that does not parse is evicted
/// and downloaded again, once; files of a model that does not load are not kept.
/// `compare`: this is model B of the compare view (its progress goes out as
/// [`Response::CompareProgress`]). `make_room` hears the config before the weights are fetched.
async fn load(
    source: &ModelSource,
    id: u64,
    signal: Option<&web_sys::AbortSignal>,
    compare: bool,
    make_room: impl FnOnce(&Config),
) -> Result<(Engine, ModelInfo), Failure> {
    let t0 = now_ms();
    let mut files = ModelFiles::new(source, signal, |ev| {
        if compare {
            analysis::post_compare_progress(id, ev);
        } else {
            post_load_event(id, ev);
        }
    })
    .await;
    mark("files-open");
    let config = parsed(&mut files, id, 0, Config::from_json).await?;
    mark("config");
    let tokenizer = parsed(&mut files, id, 1, |b| {
        let t = TokenizerWrapper::from_json(b, config.max_tokens())?;
        t.check_vocab(config.vocab_size)?;
        Ok(t)
    })
    .await?;
    mark("tokenizer");
    let family = config.family;
    make_room(&config);
    let checkpoint = match files.weights(family, Some(WASM_WEIGHT_BUDGET)).await {
        Ok(c) => c,
        Err(Failure::Message(m)) => {
            forget(&mut files).await;
            return Err(Failure::Message(m));
        }
        Err(e) => return Err(e),
    };
    mark("weights");
    if !compare {
        post(&Response::Parsing { load: id });
    }
    let weight_bytes = files.size(2).unwrap_or(0);
    match Engine::new(config, tokenizer, &checkpoint) {
        Ok(engine) => {
            drop(checkpoint);
            // A download's SHA-256 is checked once the file has proved to be this model's
            // weights: a file that does not fit the config says more than its hash would.
            if let Err(e) = files.check_weights().await {
                forget(&mut files).await;
                return Err(e);
            }
            mark("engine");
            let info = model_info(&engine, source.clone(), weight_bytes, now_ms() - t0);
            Ok((engine, info))
        }
        Err(e) => {
            forget(&mut files).await;
            Err(Failure::Message(e.to_string()))
        }
    }
}

/// File `i` (config or tokenizer) parsed by `parse`. A cached copy that does not parse is
/// evicted and downloaded again, once; a downloaded one that does not parse fails the load
/// (and nothing of the model is kept).
async fn parsed<T, F: FnMut(LoadEvent)>(
    files: &mut ModelFiles<'_, F>,
    id: u64,
    i: usize,
    parse: impl Fn(&[u8]) -> crate::model::Result<T>,
) -> Result<T, Failure> {
    let got = files.get(i).await?;
    let e = match parse(&got.bytes) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if got.from_cache {
        let name = MODEL_FILES.get(i).copied().unwrap_or("a file");
        post(&Response::Notice {
            load: id,
            message: format!("The saved copy of {name} could not be loaded ({e}); it was removed and is downloaded again."),
        });
        files.evict(i).await;
        let again = files.get(i).await?;
        return match parse(&again.bytes) {
            Ok(v) => Ok(v),
            Err(e) => {
                forget(files).await;
                Err(Failure::Message(e.to_string()))
            }
        };
    }
    forget(files).await;
    Err(Failure::Message(e.to_string()))
}

fn post_load_event(id: u64, ev: LoadEvent) {
    match ev {
        LoadEvent::Progress { file, received, total, all_received, all_total, bytes_per_sec, origin } => post(&Response::Progress {
            load: id,
            file: file.to_string(),
            received,
            total,
            all_received,
            all_total,
            bytes_per_sec,
            origin,
        }),
        LoadEvent::Note(message) => post(&Response::Notice { load: id, message }),
    }
}

/// Drops a model that does not load from the cache: its files would only take space.
async fn forget<F: FnMut(LoadEvent)>(files: &mut ModelFiles<'_, F>) {
    for i in 0..MODEL_FILES.len() {
        files.evict(i).await;
    }
}
