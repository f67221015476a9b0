//! The page's side of the engine: the worker, the model's life cycle, the run queue and the
//! slice cache, as one `Copy` handle of signals the components share.
//!
//! Every answer from the worker names the load or run it belongs to; answers to anything the
//! page has moved on from are dropped here, so a superseded download can never flip a ready
//! model back to "Downloading…".

use std::sync::Arc;

use leptos::prelude::*;

use super::client::EngineClient;
use super::selection::Selection;
use super::slices::{RunQueue, SliceCache, SliceData, SliceKey};
use super::state::{LoadState, RunView};
use super::theme::Theme;
use crate::analysis::{units, Unit};
use crate::protocol::{ModelSource, Request, Response, SliceKind, Stage, MODEL_FILES};

/// Where trunk puts the worker's loader.
const WORKER_URL: &str = "./worker_loader.js";

#[derive(Clone, Copy)]
pub struct Session {
    pub source: RwSignal<ModelSource>,
    pub load: RwSignal<LoadState>,
    pub text: RwSignal<String>,
    pub pair_on: RwSignal<bool>,
    pub pair: RwSignal<String>,
    /// The latest successful run (a failed one leaves it in place).
    pub run: RwSignal<Option<RunView>>,
    pub run_error: RwSignal<Option<String>>,
    pub slice_error: RwSignal<Option<String>>,
    /// A run is computing in the worker.
    pub busy: RwSignal<bool>,
    /// The worker died (out of memory aborts the wasm instance); Retry starts a new one.
    pub crashed: RwSignal<bool>,
    pub selection: RwSignal<Selection>,
    pub theme: RwSignal<Theme>,
    /// Bumped on window resize: views re-measure.
    pub width_tick: RwSignal<u32>,
    /// Bumped whenever a slice arrives.
    slice_tick: RwSignal<u64>,
    /// Slice requests sent so far (`data-slice-requests`, for the tests).
    pub requests: RwSignal<u64>,
    /// The run the active view has last drawn (the status says "ready" once it is the latest).
    pub drawn: RwSignal<Option<u64>>,
    /// The token axis of the current run under the current options.
    pub axis: Memo<Vec<Unit>>,
    load_id: StoredValue<u64>,
    worker_ready: StoredValue<bool>,
    queue: StoredValue<RunQueue>,
    cache: StoredValue<SliceCache>,
    client: StoredValue<Option<EngineClient>, LocalStorage>,
}

impl Session {
    pub fn new(source: ModelSource, text: String, pair: Option<String>, theme: Theme) -> Self {
        let run = RwSignal::new(None::<RunView>);
        let selection = RwSignal::new(Selection::default());
        let axis = Memo::new(move |_| {
            let options = selection.with(|s| s.options);
            run.with(|r| r.as_ref().map(|r| units(&r.tokens, options)).unwrap_or_default())
        });
        let s = Self {
            source: RwSignal::new(source),
            load: RwSignal::new(LoadState::Starting),
            text: RwSignal::new(text),
            pair_on: RwSignal::new(pair.is_some()),
            pair: RwSignal::new(pair.unwrap_or_else(|| "The money was safe there.".into())),
            run,
            run_error: RwSignal::new(None),
            slice_error: RwSignal::new(None),
            busy: RwSignal::new(false),
            crashed: RwSignal::new(false),
            selection,
            theme: RwSignal::new(theme),
            width_tick: RwSignal::new(0),
            slice_tick: RwSignal::new(0),
            requests: RwSignal::new(0),
            drawn: RwSignal::new(None),
            axis,
            load_id: StoredValue::new(1),
            worker_ready: StoredValue::new(false),
            queue: StoredValue::new(RunQueue::default()),
            cache: StoredValue::new(SliceCache::new(SliceCache::DEFAULT_BUDGET)),
            client: StoredValue::new_local(None),
        };
        s.spawn_worker();
        s
    }

    fn spawn_worker(self) {
        self.worker_ready.set_value(false);
        // Dropping the old client terminates its worker.
        self.client.set_value(None);
        match EngineClient::spawn(WORKER_URL, move |resp, data| self.on_message(resp, data), move |m| self.on_crash(m)) {
            Ok(c) => self.client.set_value(Some(c)),
            Err(e) => self.load.set(LoadState::Failed(e)),
        }
    }

    fn send(self, req: &Request) {
        self.client.with_value(|c| {
            if let Some(c) = c {
                c.send(req);
            }
        });
    }

    /// Loads a model, replacing the current one (the worker aborts a download in progress).
    pub fn start_load(self, src: ModelSource) {
        let id = self.load_id.get_value() + 1;
        self.load_id.set_value(id);
        self.source.set(src.clone());
        self.run.set(None);
        self.run_error.set(None);
        self.slice_error.set(None);
        self.busy.set(false);
        self.queue.update_value(RunQueue::reset);
        self.cache.update_value(|c| c.keep_only_run(0));
        self.load.set(LoadState::Starting);
        if self.worker_ready.get_value() {
            self.send(&Request::Load { id, source: src });
        }
    }

    /// Retry after a failure: a dead worker is replaced first, then the model loads again.
    pub fn retry(self) {
        if self.crashed.get_untracked() {
            self.crashed.set(false);
            self.load.set(LoadState::Starting);
            self.spawn_worker();
        }
        self.start_load(self.source.get_untracked());
    }

    /// Runs the current text, or marks it to run as soon as the run in flight answers.
    pub fn request_run(self) {
        if !matches!(self.load.get_untracked(), LoadState::Ready(_)) {
            return;
        }
        let input = (self.text.get_untracked(), self.pair_on.get_untracked().then(|| self.pair.get_untracked()));
        let Some(id) = self.queue.try_update_value(|q| q.request(&input)).flatten() else { return };
        self.busy.set(true);
        self.send(&Request::Run { id, text: input.0, pair: input.1 });
    }

    /// The slice `kind` of the current run under the current options, if it has arrived; asks
    /// the worker for it the first time. Reactive: tracks the run, the options and arrivals.
    pub fn slice(self, kind: SliceKind) -> Option<Arc<SliceData>> {
        self.slice_tick.track();
        let run = self.run.with(|r| r.as_ref().map(|r| r.id))?;
        let options = self.selection.with(|s| s.options);
        let key = SliceKey::new(run, kind, options);
        if let Some(found) = self.cache.try_update_value(|c| c.get(&key)).flatten() {
            return Some(found);
        }
        if self.cache.try_update_value(|c| c.need(key)).unwrap_or(false) {
            self.requests.update(|r| *r += 1);
            self.send(&Request::Slice { run, kind, options: key.options });
        }
        None
    }

    /// A view finished drawing the current run.
    pub fn mark_drawn(self) {
        let id = self.run.with_untracked(|r| r.as_ref().map(|r| r.id));
        if self.drawn.get_untracked() != id {
            self.drawn.set(id);
        }
    }

    fn on_message(self, resp: Response, data: Option<Vec<f32>>) {
        let current_load = self.load_id.get_value();
        match resp {
            Response::WorkerReady => {
                self.worker_ready.set_value(true);
                self.send(&Request::Load { id: current_load, source: self.source.get_untracked() });
            }
            Response::Progress { load, file, received, total } if load == current_load => {
                let index = MODEL_FILES.iter().position(|f| *f == file).unwrap_or(0);
                self.load.set(LoadState::Downloading { file, index, received, total });
            }
            Response::Parsing { load } if load == current_load => self.load.set(LoadState::Parsing),
            Response::Loaded { load, info } if load == current_load => {
                self.selection.update(|s| s.fit_model(info.layers, info.heads));
                self.load.set(LoadState::Ready(info));
                self.request_run();
            }
            Response::Progress { .. } | Response::Parsing { .. } | Response::Loaded { .. } => {}
            Response::Ran { id, tokens, truncated, shape, ms } => {
                // Only the run in flight counts: one sent before a new model was picked is stale.
                if self.queue.with_value(|q| q.in_flight()) != Some(id) {
                    return;
                }
                let waiting = self.queue.try_update_value(|q| q.finished(id)).unwrap_or(false);
                self.cache.update_value(|c| c.keep_only_run(id));
                self.selection.update(|s| s.fit_run(tokens.len()));
                self.run_error.set(None);
                self.slice_error.set(None);
                self.run.set(Some(RunView { id, tokens, truncated, shape, ms }));
                self.after_run(waiting);
            }
            Response::Slice { run, kind, options, dims } => {
                let key = SliceKey::new(run, kind, options);
                let Some(data) = data.filter(|d| kind.expected_len(&dims) == Some(d.len())) else {
                    self.cache.update_value(|c| c.failed(&key));
                    return;
                };
                if self.cache.try_update_value(|c| c.insert(key, SliceData { dims, data })).unwrap_or(false) {
                    self.slice_tick.update(|t| *t += 1);
                }
            }
            Response::Error { stage: Stage::Load, id, message } => {
                if id.is_none() || id == Some(current_load) {
                    self.busy.set(false);
                    self.load.set(LoadState::Failed(message));
                }
            }
            Response::Error { stage: Stage::Run, id, message } => {
                if id.is_some() && self.queue.with_value(|q| q.in_flight()) != id {
                    return;
                }
                let waiting = id.and_then(|id| self.queue.try_update_value(|q| q.finished(id))).unwrap_or(false);
                self.run_error.set(Some(message));
                self.after_run(waiting);
            }
            Response::Error { stage: Stage::Slice, id, message } => {
                if let Some(run) = id {
                    self.cache.update_value(|c| c.failed_run(run));
                }
                self.slice_error.set(Some(message));
            }
        }
    }

    fn after_run(self, waiting: bool) {
        self.busy.set(false);
        if waiting {
            self.request_run();
        }
    }

    fn on_crash(self, message: String) {
        self.crashed.set(true);
        self.busy.set(false);
        self.queue.update_value(RunQueue::reset);
        self.load.set(LoadState::Failed(format!(
            "The engine stopped ({message}). This usually means the tab ran out of memory: the model \
             or the input is too large for this browser. Retry starts a new engine; the text is kept."
        )));
    }
}
