//! The worker's side of the analysis views that need more than the latest run: head statistics
//! over the built-in corpus, and the compare view's side B.
//!
//! **Compare: model B is held, not swapped.** Two texts on one model run text B on the main
//! engine. Two models load model B into a second slot ([`Compare`]) beside the main one and run
//! the text on both. Running the two in turn with one engine would mean loading a model again
//! (seconds, and its whole download when the cache is full) on every edit. Holding both costs
//! memory: 2 × 91 MB of weights for MiniLM, 2 × 440 MB for bert-base, which wasm32's 4 GB
//! holds, but not always 2 × 1.3 GB for bert-large (the page then says the engine stopped). So
//! the slot lives only while the compare view is open: the page sends
//! [`Request::CloseCompare`](crate::protocol::Request::CloseCompare) when it closes, which drops
//! model B, its download and run B at once. A new main model drops run B (two texts ran on the
//! old one) but keeps model B.
//!
//! **Corpus statistics** run the main model over [`corpus::sentences`] (42 sentences, about a
//! second for MiniLM), one sentence per task turn so that the worker still answers other
//! requests in between, with [`Response::CorpusProgress`]; the means are kept per model and
//! options, so a new run or a new visit to the view answers at once.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use super::{load, now_ms, post, post_slice, State};
use crate::analysis::{corpus, is_identity, mean_per_head, units, HeadStats, ViewOptions};
use crate::model::{Engine, Run};
use crate::net::model_files::{Failure, LoadEvent};
use crate::protocol::{ModelSource, Response, SliceKind, Stage};
use crate::slice::{compare_head, compare_heads, encode_stats, run_stats, Axis, Side, Slice};

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (a worker has one too).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> JsValue;
}

/// Lets the worker's message queue run (a new request can arrive between two sentences).
async fn next_turn() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

/// The compare view's side B (see the module doc).
#[derive(Default)]
pub struct Compare {
    /// Model B (two models), once loaded.
    engine: Option<Rc<Engine>>,
    /// The newest `LoadCompare`; an older one's result is dropped.
    load: u64,
    abort: Option<AbortController>,
    /// Run B: the latest `RunCompare` that succeeded.
    run: Option<(u64, Run)>,
}

impl Compare {
    /// Drops run B (it came from a model that is gone).
    pub fn forget_run(&mut self) {
        self.run = None;
    }

    /// Cuts a compare slice of run A `a` against run B; `None` if run B is not the one the
    /// page named (it has moved on).
    pub fn slice(&self, a: &Run, kind: &SliceKind, options: ViewOptions) -> Option<Result<Slice, String>> {
        let (other, pick) = match kind {
            SliceKind::CompareHead { other, layer, head, layer_b, head_b } => (*other, Some(((*layer, *head), (*layer_b, *head_b)))),
            SliceKind::CompareHeads { other } => (*other, None),
            _ => return Some(Err("not a compare slice".into())),
        };
        let (_, b) = self.run.as_ref().filter(|(id, _)| *id == other)?;
        let sa = Side { attention: &a.attention, tokens: &a.encoded.tokens };
        let sb = Side { attention: &b.attention, tokens: &b.encoded.tokens };
        let result = match pick {
            Some((ha, hb)) => compare_head(&sa, &sb, ha, hb, options),
            None => compare_heads(&sa, &sb, options),
        };
        Some(result.map(|(dims, data)| Slice { dims, data }))
    }
}

/// Forwards model B's download progress (notes about it are not shown).
pub fn post_compare_progress(id: u64, ev: LoadEvent) {
    if let LoadEvent::Progress { file, all_received, all_total, .. } = ev {
        post(&Response::CompareProgress { load: id, file: file.to_string(), all_received, all_total });
    }
}

/// Loads model B (replacing the slot's model and aborting its download in progress).
pub fn load_compare(state: &Rc<RefCell<State>>, id: u64, source: ModelSource) {
    let controller = AbortController::new().ok();
    {
        let mut s = state.borrow_mut();
        if let Some(old) = s.compare.abort.take() {
            old.abort();
        }
        s.compare = Compare { load: id, abort: controller.clone(), ..Compare::default() };
    }
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let signal = controller.as_ref().map(|c| c.signal());
        let result = load(&source, id, signal.as_ref(), true, |_| {}).await;
        let mut s = state.borrow_mut();
        if s.compare.load != id {
            return; // closed or superseded
        }
        s.compare.abort = None;
        let message = match result {
            Ok((engine, info)) => {
                s.compare.engine = Some(Rc::new(engine));
                drop(s);
                return post(&Response::CompareLoaded { load: id, info });
            }
            Err(Failure::Aborted) => return,
            Err(Failure::Message(m)) | Err(Failure::Unreachable(m)) => m,
        };
        drop(s);
        post(&Response::Error { stage: Stage::CompareLoad, id: Some(id), message });
    });
}

/// Runs side B: on model B, or on the main model (two texts).
pub fn run_compare(state: &Rc<RefCell<State>>, id: u64, text: &str, pair: Option<&str>, model_b: bool) {
    let engine = {
        let s = state.borrow();
        if model_b {
            s.compare.engine.clone()
        } else {
            s.engine.clone()
        }
    };
    let Some(engine) = engine else {
        let message = if model_b { "model B is not loaded yet" } else { "no model is loaded yet" };
        return post(&Response::Error { stage: Stage::CompareRun, id: Some(id), message: message.into() });
    };
    let t0 = now_ms();
    match engine.run(text, pair) {
        Ok(run) => {
            let resp = Response::CompareRan {
                id,
                tokens: run.encoded.tokens.clone(),
                truncated: run.encoded.truncated,
                shape: run.attention.shape(),
                ms: now_ms() - t0,
            };
            state.borrow_mut().compare.run = Some((id, run));
            post(&resp);
        }
        Err(e) => post(&Response::Error { stage: Stage::CompareRun, id: Some(id), message: e.to_string() }),
    }
}

/// The compare view closed: model B, its download and run B go.
pub fn close_compare(state: &Rc<RefCell<State>>) {
    let mut s = state.borrow_mut();
    if let Some(c) = s.compare.abort.take() {
        c.abort();
    }
    let next = s.compare.load + 1;
    s.compare = Compare { load: next, ..Compare::default() };
}

/// What the corpus statistics are computed for: the model (its load id) and the options.
type CorpusKey = (u64, ViewOptions);

/// Corpus statistics done and to do.
#[derive(Default)]
pub struct Corpus {
    done: Vec<(CorpusKey, Rc<Vec<HeadStats>>, usize)>,
    /// The key being computed, and the runs waiting for it; then the keys asked for since.
    queue: Vec<(CorpusKey, Vec<u64>)>,
}

/// Answers `HeadStats { corpus: true }` for run `run`: at once when computed before for this
/// model and these options, else when the corpus has run (asked again meanwhile, it waits).
pub fn corpus_slice(state: &Rc<RefCell<State>>, run: u64, options: ViewOptions) {
    let kind = SliceKind::HeadStats { corpus: true };
    let start = {
        let mut s = state.borrow_mut();
        if s.last_run.as_ref().is_none_or(|(id, _)| *id != run) {
            return;
        }
        let key = (s.load, options);
        if let Some((_, stats, heads)) = s.corpus.done.iter().find(|(k, _, _)| *k == key) {
            let result = packed(stats, *heads);
            drop(s);
            return post_slice(run, kind, options, result);
        }
        match s.corpus.queue.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => {
                runs.push(run);
                false
            }
            None => {
                s.corpus.queue.push((key, vec![run]));
                s.corpus.queue.len() == 1
            }
        }
    };
    if start {
        run_corpus(state.clone());
    }
}

fn packed(stats: &[HeadStats], heads: usize) -> Result<Slice, String> {
    let layers = stats.len().checked_div(heads).unwrap_or(0);
    encode_stats(stats, layers, heads).map(|(dims, data)| Slice { dims, data })
}

/// Computes the first queued key, answers its runs, then goes on with the next key.
fn run_corpus(state: Rc<RefCell<State>>) {
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let (key, engine) = {
                let s = state.borrow();
                match s.corpus.queue.first() {
                    None => return,
                    Some((key, _)) => (*key, s.engine.clone().filter(|_| s.load == key.0)),
                }
            };
            let result = match engine {
                Some(engine) => corpus_stats(&state, &engine, key).await,
                None => Err("the model changed while its corpus statistics were computed".into()),
            };
            let (runs, current) = {
                let mut s = state.borrow_mut();
                let runs = if s.corpus.queue.is_empty() { Vec::new() } else { s.corpus.queue.remove(0).1 };
                if let Ok((stats, heads)) = &result {
                    if s.load == key.0 {
                        s.corpus.done.push((key, stats.clone(), *heads));
                    }
                }
                (runs, s.last_run.as_ref().map(|(id, _)| *id))
            };
            let kind = SliceKind::HeadStats { corpus: true };
            // Only the current run's request is still wanted; answer it once.
            if let Some(run) = current.filter(|r| runs.contains(r)) {
                let slice = result.and_then(|(stats, heads)| packed(&stats, heads));
                post_slice(run, kind, key.1, slice);
            }
        }
    });
}

/// The per-head means over the corpus for `key`, and the model's head count.
async fn corpus_stats(state: &Rc<RefCell<State>>, engine: &Engine, key: CorpusKey) -> Result<(Rc<Vec<HeadStats>>, usize), String> {
    let sentences = corpus::sentences();
    let total = sentences.len();
    let heads = engine.config().num_attention_heads;
    let mut per = Vec::with_capacity(total);
    for (k, text) in sentences.iter().enumerate() {
        let run = engine.run(text, None).map_err(|e| format!("the corpus sentence {text:?} could not be run: {e}"))?;
        let tokens = &run.encoded.tokens;
        let axis = units(tokens, key.1);
        let ax = Axis { units: &axis, identity: is_identity(&axis, tokens.len()) };
        per.push(run_stats(&run.attention, tokens, &ax)?);
        let current = {
            let s = state.borrow();
            if s.load != key.0 {
                return Err("the model changed while its corpus statistics were computed".into());
            }
            s.last_run.as_ref().map(|(id, _)| *id)
        };
        if let Some(run) = current {
            post(&Response::CorpusProgress { run, done: k + 1, total });
        }
        next_turn().await;
    }
    let mean = mean_per_head(&per);
    if mean.is_empty() {
        return Err("the corpus gave no statistics".into());
    }
    Ok((Rc::new(mean), heads))
}
