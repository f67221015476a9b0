//! The page's side of the engine: the worker, the model's life cycle, the run queue and the
//! slice cache, as one `Copy` handle of signals the components share.
//!
//! Every answer from the worker names the load or run it belongs to; answers to anything the
//! page has moved on from are dropped here, so a superseded download can never flip a ready
//! model back to "Downloading…".

use std::sync::Arc;

use leptos::prelude::*;

use super::client::EngineClient;
use super::compare_session::CompareSession;
use super::engine::{EngineChoice, EngineKind};
use super::engine_variant::Variant;
use super::link::Link;
use super::selection::Selection;
use super::slices::{RunQueue, SliceCache, SliceData, SliceKey};
use super::state::{check_input, DownloadStats, LoadFailure, LoadState, RunView, ShellState, StorageView};
use super::theme::Theme;
use crate::analysis::{units, Unit};
use crate::catalog::{Bundled, DEFAULT_REPO};
use crate::protocol::{ModelInfo, ModelSource, Origin, Request, Response, SliceKind, Stage, MODEL_FILES};

/// The `hub` of a model loaded from local files.
pub const LOCAL_HUB: &str = "local";

/// How long a new engine worker may take to start (its files are 5 MB; a slow connection
/// fetches them in well under this).
const WORKER_START_LIMIT: std::time::Duration = std::time::Duration::from_secs(90);

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
    /// The last export's outcome ("Saved heatmap.svg", or why it failed).
    pub export_note: RwSignal<Option<String>>,
    /// The last load failed because the model host answered nothing (the page then offers the
    /// site's bundled models; after a 404 or a broken file it does not).
    pub unreachable: RwSignal<bool>,
    /// A run is computing in the worker.
    pub busy: RwSignal<bool>,
    /// The worker died (out of memory aborts the wasm instance); Retry starts a new one.
    pub crashed: RwSignal<bool>,
    /// A load that failed while the model before it stayed loaded (the page went back to that
    /// model): what failed and why, shown with a Retry until the next load.
    pub load_failure: RwSignal<Option<LoadFailure>>,
    /// The model that was ready when the current load began, while the worker may still hold
    /// it ([`Response::Restored`] brings it back).
    previous: StoredValue<Option<(ModelSource, ModelInfo)>>,
    /// The engine that answered WorkerReady (the footer names it).
    pub engine: RwSignal<Option<EngineKind>>,
    /// The engine being started, and what this page may still start (read from the browser at
    /// the first start; each engine that fails to start is ruled out for the page's lifetime).
    starting: StoredValue<EngineKind>,
    choice: StoredValue<Option<EngineChoice>>,
    /// The running worker is the one src/boot/boot.js started before the page loaded.
    pub prestarted: RwSignal<bool>,
    /// Notes about the current load that are not failures (a resumed download, a broken cached
    /// file fetched again, a full storage), oldest first.
    pub notes: RwSignal<Vec<String>>,
    /// The model cache and the storage quota, as the worker last reported them.
    pub storage: RwSignal<Option<StorageView>>,
    /// Waiting for the storage listing to load the first-visit model if it is stored.
    autoload_if_cached: StoredValue<bool>,
    /// The storage panel has been opened: keep `storage` up to date.
    storage_wanted: StoredValue<bool>,
    /// The app shell's service worker (offline use of the page itself).
    pub shell: RwSignal<ShellState>,
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
    /// Head statistics over the corpus: sentences done of all, while the worker runs them.
    pub corpus: RwSignal<Option<(usize, usize)>>,
    /// The compare view's side B.
    pub compare: CompareSession,
    /// Models bundled with the site (`models/index.json`), and where they are served.
    pub bundled: RwSignal<Vec<Bundled>>,
    pub models_url: RwSignal<String>,
    /// What the page could not honour of its link (bad values, layers or tokens that do not
    /// exist), shown until dismissed.
    pub link_notes: RwSignal<Vec<String>>,
    /// The first model and the first run are checked against the link's indices (later fits
    /// clamp silently: switching to a smaller model is not an error).
    check_model: StoredValue<bool>,
    check_run: StoredValue<bool>,
    trusted_host: StoredValue<bool>,
    load_id: StoredValue<u64>,
    /// Workers spawned so far (the start timeout checks it is still the same one).
    spawns: StoredValue<u64>,
    worker_ready: StoredValue<bool>,
    /// The worker (by spawn number) and load id of the last `Load` sent, so that WorkerReady
    /// does not send the same one twice.
    load_sent: StoredValue<Option<(u64, u64)>>,
    /// The worker (by spawn number) that was sent [`Self::send_startup`]'s requests.
    startup_sent: StoredValue<u64>,
    queue: StoredValue<RunQueue>,
    cache: StoredValue<SliceCache>,
    client: StoredValue<Option<EngineClient>, LocalStorage>,
}

impl Session {
    /// Opens the state `link` describes. `autoload`: load its model as soon as the worker is up
    /// (otherwise wait for the user); `trusted_host`: the model's host may be read from the cache
    /// unasked (a host the user has not confirmed is not touched, not even through the cache).
    pub fn new(link: &Link, autoload: bool, trusted_host: bool, theme: Theme) -> Self {
        let source = link.model.clone().unwrap_or_else(|| ModelSource {
            hub: link.hub.clone(),
            repo: DEFAULT_REPO.to_string(),
            revision: "main".to_string(),
        });
        let run = RwSignal::new(None::<RunView>);
        let selection = RwSignal::new(link.selection());
        let axis = Memo::new(move |_| {
            let options = selection.with(|s| s.options);
            run.with(|r| {
                r.as_ref()
                    .map(|r| units(&r.tokens, options))
                    .unwrap_or_default()
            })
        });
        let s = Self {
            source: RwSignal::new(source),
            load: RwSignal::new(if autoload {
                LoadState::Starting
            } else {
                LoadState::Idle
            }),
            text: RwSignal::new(link.text.clone()),
            pair_on: RwSignal::new(link.pair.is_some()),
            pair: RwSignal::new(
                link.pair
                    .clone()
                    .unwrap_or_else(|| "The money was safe there.".into()),
            ),
            run,
            run_error: RwSignal::new(None),
            slice_error: RwSignal::new(None),
            export_note: RwSignal::new(None),
            busy: RwSignal::new(false),
            unreachable: RwSignal::new(false),
            crashed: RwSignal::new(false),
            load_failure: RwSignal::new(None),
            previous: StoredValue::new(None),
            engine: RwSignal::new(None),
            starting: StoredValue::new(EngineKind::Single(Variant::Plain)),
            choice: StoredValue::new(None),
            prestarted: RwSignal::new(false),
            notes: RwSignal::new(Vec::new()),
            storage: RwSignal::new(None),
            storage_wanted: StoredValue::new(false),
            autoload_if_cached: StoredValue::new(false),
            shell: RwSignal::new(ShellState::Unknown),
            selection,
            theme: RwSignal::new(theme),
            width_tick: RwSignal::new(0),
            slice_tick: RwSignal::new(0),
            requests: RwSignal::new(0),
            drawn: RwSignal::new(None),
            axis,
            corpus: RwSignal::new(None),
            compare: CompareSession::from_link(link),
            link_notes: RwSignal::new(Vec::new()),
            check_model: StoredValue::new(true),
            check_run: StoredValue::new(true),
            trusted_host: StoredValue::new(trusted_host),
            bundled: RwSignal::new(Vec::new()),
            models_url: RwSignal::new(String::new()),
            load_id: StoredValue::new(1),
            spawns: StoredValue::new(0),
            worker_ready: StoredValue::new(false),
            load_sent: StoredValue::new(None),
            startup_sent: StoredValue::new(0),
            queue: StoredValue::new(RunQueue::default()),
            cache: StoredValue::new(SliceCache::new(SliceCache::DEFAULT_BUDGET)),
            client: StoredValue::new_local(None),
        };
        crate::net::timing::mark("page-start");
        s.spawn_worker();
        s.send_startup();
        super::storage::register_service_worker(s.shell);
        super::isolation::reload_once_for_threads(s.load);
        s
    }

    fn spawn_worker(self) {
        self.worker_ready.set_value(false);
        self.engine.set(None);
        // Dropping the old client terminates its worker.
        self.client.set_value(None);
        let choice = self.choice.get_value().unwrap_or_else(super::isolation::choose);
        self.choice.set_value(Some(choice));
        let kind = choice.kind();
        self.starting.set_value(kind);
        let url = kind.worker_url();
        let on_message = move |resp, data, bytes| self.on_message(resp, data, bytes);
        let on_crash = move |m| self.on_crash(m);
        // The worker src/boot/boot.js started before the page loaded, when it is this one.
        let prestarted = super::client::take_prestarted(&url);
        self.prestarted.set(prestarted.is_some());
        match prestarted {
            Some((worker, early)) => {
                self.client.set_value(Some(EngineClient::adopt(worker, &url, on_message, on_crash)));
                // What it said before the page was here, once this call (which may be inside a
                // handler) is over, and before any later message: a microtask.
                wasm_bindgen_futures::spawn_local(async move {
                    let client = self.client.with_value(|c| c.as_ref().map(|c| c.handles()));
                    if let Some(client) = client {
                        EngineClient::replay(&client, &early);
                    }
                });
            }
            None => match EngineClient::spawn(&url, kind.is_module(), on_message, on_crash) {
                Ok(c) => self.client.set_value(Some(c)),
                Err(e) if kind.is_module() => return self.on_crash(e),
                Err(e) => self.load.set(LoadState::Failed(e)),
            },
        }
        // A worker whose wasm fails to load rejects a promise inside the worker: no error event
        // reaches the page. Without a "ready" in time, say so (Retry spawns a new one).
        let spawned = self.spawns.get_value() + 1;
        self.spawns.set_value(spawned);
        set_timeout(
            move || {
                if self.spawns.get_value() == spawned && !self.worker_ready.get_value() && !self.crashed.get_untracked() {
                    self.on_crash(format!("it did not answer within {} s", WORKER_START_LIMIT.as_secs()));
                }
            },
            WORKER_START_LIMIT,
        );
    }

    pub(super) fn send(self, req: &Request) {
        self.client.with_value(|c| {
            if let Some(c) = c {
                c.send(req);
            }
        });
    }

    /// Starts load number n+1 of `src`: forgets the current run and everything queued or cached
    /// for it. Returns the new load's id.
    fn begin_load(self, src: ModelSource, state: LoadState) -> u64 {
        let id = self.load_id.get_value() + 1;
        self.load_id.set_value(id);
        // While one load replaces another, the model before both is still the one to go back to.
        if let LoadState::Ready(info) = self.load.get_untracked() {
            self.previous.set_value(Some((self.source.get_untracked(), info)));
        }
        self.load_failure.set(None);
        self.source.set(src);
        self.run.set(None);
        self.run_error.set(None);
        self.slice_error.set(None);
        self.busy.set(false);
        self.queue.update_value(RunQueue::reset);
        self.cache.update_value(|c| c.keep_only_run(0));
        self.corpus.set(None);
        self.compare.forget_run();
        self.notes.set(Vec::new());
        self.unreachable.set(false);
        self.load.set(state);
        id
    }

    /// Adds notes about what the page could not honour of its link.
    pub fn add_link_notes(self, notes: Vec<String>) {
        if !notes.is_empty() {
            self.link_notes.update(|n| n.extend(notes));
        }
    }

    /// Loads a model, replacing the current one (the worker aborts a download in progress).
    pub fn start_load(self, src: ModelSource) {
        self.trusted_host.set_value(true);
        self.begin_load(src, LoadState::Starting);
        self.send_load();
    }

    /// What a worker is asked first: the load in progress, or whether the model is stored (a
    /// first visit waits for a click, unless the model is already stored here), and the cache's
    /// contents if a view wants them. Sent once per worker: for the page's first worker as soon
    /// as it is created, not at its WorkerReady, since the worker's loader keeps requests until
    /// the engine listens (src/boot/worker_loader.js) and the page's main thread, busy mounting,
    /// sees WorkerReady tens of milliseconds after it was sent (a returning visit's model load
    /// then starts that much sooner); for a worker started again, at its WorkerReady.
    fn send_startup(self) {
        let spawn = self.spawns.get_value();
        if self.startup_sent.get_value() == spawn {
            return;
        }
        self.startup_sent.set_value(spawn);
        let load = self.load.get_untracked();
        if load == LoadState::Idle && self.trusted_host.get_value() && self.source.with_untracked(|s| s.hub != LOCAL_HUB) {
            self.autoload_if_cached.set_value(true);
            self.send(&Request::Storage);
        } else if self.storage_wanted.get_value() {
            self.send(&Request::Storage);
        }
        if !matches!(load, LoadState::Idle | LoadState::Cancelled)
            && self.load_sent.get_value() != Some((spawn, self.load_id.get_value()))
        {
            self.send_load();
        }
    }

    /// Sends the current load to the worker, started or starting (its loader keeps the request
    /// until the engine listens). A worker that never starts loses it; the next one is sent it
    /// at its WorkerReady.
    fn send_load(self) {
        let id = self.load_id.get_value();
        self.send(&Request::Load { id, source: self.source.get_untracked() });
        self.load_sent.set_value(Some((self.spawns.get_value(), id)));
    }

    /// Loads a model from local files (config.json, tokenizer.json, model.safetensors, in that
    /// order); the worker reads them, they never leave the machine.
    pub fn load_local(self, name: String, files: Vec<web_sys::File>) {
        if !self.worker_ready.get_value() {
            self.load.set(LoadState::Failed("The engine is still starting; choose the files again in a moment.".into()));
            return;
        }
        let source = ModelSource { hub: LOCAL_HUB.into(), repo: name.clone(), revision: String::new() };
        let id = self.begin_load(source, LoadState::Parsing);
        let names = MODEL_FILES.iter().map(|f| f.to_string()).collect();
        self.client.with_value(|c| {
            if let Some(c) = c {
                c.send_with_files(&Request::LoadLocal { id, name, files: names }, &files);
            }
        });
    }

    /// Retry after a failure: a dead worker is replaced first, then the model loads again.
    pub fn retry(self) {
        if self.crashed.get_untracked() {
            self.crashed.set(false);
            self.load.set(LoadState::Starting);
            self.spawn_worker();
        }
        let source = self.source.get_untracked();
        if source.hub == LOCAL_HUB {
            // The files' bytes went to the worker; the user picks them again.
            self.load.set(LoadState::Idle);
        } else {
            self.start_load(source);
        }
    }

    /// Cancels the download in progress: the worker aborts its request, the page says
    /// "cancelled", and Retry (or another model) starts again.
    pub fn cancel_load(self) {
        if !self.load.get_untracked().can_cancel() {
            return;
        }
        self.load.set(LoadState::Cancelled);
        // Also to a worker still starting: the load may have been sent to it already.
        self.send(&Request::Cancel { id: self.load_id.get_value() });
    }

    /// Asks the worker what the model cache holds (the answer lands in `storage`), and keeps
    /// asking after each load from now on.
    pub fn refresh_storage(self) {
        self.storage_wanted.set_value(true);
        // A worker still starting keeps it until its engine listens.
        self.send(&Request::Storage);
    }

    /// Deletes a model's files from the cache (a model in memory keeps working).
    pub fn delete_cached(self, source: ModelSource) {
        self.storage_wanted.set_value(true);
        self.send(&Request::DeleteCached { source });
    }

    /// Runs the current text, or marks it to run as soon as the run in flight answers.
    pub fn request_run(self) {
        if !matches!(self.load.get_untracked(), LoadState::Ready(_)) {
            return;
        }
        let input = (self.text.get_untracked(), self.pair_on.get_untracked().then(|| self.pair.get_untracked()));
        // The last good run stays on screen under the message.
        if let Err(why) = check_input(&input.0, input.1.as_deref()) {
            self.run_error.set(Some(why));
            return;
        }
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
        if self.cache.try_update_value(|c| c.need(key.clone())).unwrap_or(false) {
            self.requests.update(|r| *r += 1);
            self.send(&Request::Slice { run, kind: key.kind, options: key.options });
        }
        None
    }

    /// Why the worker declined the slice `kind` of the current run under the current options,
    /// if it did. Reactive like [`Session::slice`].
    pub fn refusal(self, kind: SliceKind) -> Option<String> {
        self.slice_tick.track();
        let run = self.run.with(|r| r.as_ref().map(|r| r.id))?;
        let key = SliceKey::new(run, kind, self.selection.with(|s| s.options));
        self.cache.with_value(|c| c.refusal(&key))
    }

    /// A view finished drawing the current run.
    pub fn mark_drawn(self) {
        let id = self.run.with_untracked(|r| r.as_ref().map(|r| r.id));
        if self.drawn.get_untracked() != id {
            self.drawn.set(id);
        }
    }

    fn on_message(self, resp: Response, data: Option<Vec<f32>>, bytes: Option<js_sys::Uint8Array>) {
        let current_load = self.load_id.get_value();
        match resp {
            Response::WorkerReady => {
                crate::net::timing::mark("page-worker-ready");
                self.worker_ready.set_value(true);
                self.engine.set(Some(self.starting.get_value()));
                self.send_startup();
            }
            // After Cancel, the worker may still report what it did before it heard of it.
            Response::Progress { load, .. } | Response::Parsing { load }
                if load == current_load && self.load.get_untracked() == LoadState::Cancelled => {}
            Response::Progress {
                load,
                file,
                received,
                total,
                all_received,
                all_total,
                bytes_per_sec,
                origin,
            } if load == current_load => {
                let index = MODEL_FILES.iter().position(|f| *f == file).unwrap_or(0);
                let stats = DownloadStats {
                    all_received,
                    all_total,
                    bytes_per_sec,
                    from_cache: origin == Origin::Cache,
                };
                self.load.set(LoadState::Downloading {
                    file,
                    index,
                    received,
                    total,
                    stats,
                });
            }
            Response::Parsing { load } if load == current_load => self.load.set(LoadState::Parsing),
            Response::Loaded { load, info } if load == current_load => {
                crate::net::timing::mark("page-loaded");
                let notes = self
                    .selection
                    .try_update(|s| s.fit_model(info.layers, info.heads))
                    .unwrap_or_default();
                if std::mem::take(&mut *self.check_model.write_value()) {
                    self.add_link_notes(notes);
                }
                self.previous.set_value(None);
                self.load.set(LoadState::Ready(info));
                self.request_run();
                if self.storage_wanted.get_value() {
                    self.send(&Request::Storage);
                }
            }
            Response::Notice { load, message } if load == current_load => self.notes.update(|n| {
                if n.len() < 20 {
                    n.push(message);
                }
            }),
            Response::Cancelled { load } if load == current_load => {
                self.load.set(LoadState::Cancelled);
                if self.storage_wanted.get_value() {
                    self.send(&Request::Storage);
                }
            }
            Response::Unreachable { load, message } if load == current_load => {
                self.busy.set(false);
                self.unreachable.set(true);
                self.load.set(LoadState::Failed(message));
            }
            Response::Unreachable { .. } => {}
            Response::Restored { load } if load == current_load => self.restore_previous(),
            Response::Restored { .. } => {}
            Response::Storage {
                models,
                usage,
                quota,
                error,
            } => {
                crate::net::timing::mark("page-storage");
                if std::mem::take(&mut *self.autoload_if_cached.write_value())
                    && self.load.get_untracked() == LoadState::Idle
                {
                    let source = self.source.get_untracked();
                    if models.iter().any(|m| m.source == source && m.is_complete()) {
                        self.start_load(source);
                    }
                }
                self.storage.set(Some(StorageView {
                    models,
                    usage,
                    quota,
                    error,
                }));
            }
            Response::Progress { .. }
            | Response::Parsing { .. }
            | Response::Loaded { .. }
            | Response::Notice { .. }
            | Response::Cancelled { .. } => {}
            Response::Ran { id, tokens, truncated, dropped, shape, ms } => {
                // Only the run in flight counts: one sent before a new model was picked is stale.
                if self.queue.with_value(|q| q.in_flight()) != Some(id) {
                    return;
                }
                let waiting = self
                    .queue
                    .try_update_value(|q| q.finished(id))
                    .unwrap_or(false);
                self.cache.update_value(|c| c.keep_only_run(id));
                let notes = self
                    .selection
                    .try_update(|s| s.fit_run(tokens.len()))
                    .unwrap_or_default();
                if std::mem::take(&mut *self.check_run.write_value()) {
                    self.add_link_notes(notes);
                }
                self.run_error.set(None);
                self.slice_error.set(None);
                crate::net::timing::mark("page-ran");
                self.run.set(Some(RunView { id, tokens, truncated, dropped, shape, ms }));
                self.after_run(waiting);
            }
            Response::Slice {
                run,
                kind,
                options,
                dims,
            } => {
                let expected = kind.expected_len(&dims);
                let key = SliceKey::new(run, kind, options);
                let Some(data) = data.filter(|d| expected == Some(d.len())) else {
                    self.cache.update_value(|c| c.failed(&key));
                    return;
                };
                if self
                    .cache
                    .try_update_value(|c| c.insert(key, SliceData { dims, data }))
                    .unwrap_or(false)
                {
                    crate::net::timing::mark("page-slice");
                    self.slice_tick.update(|t| *t += 1);
                }
            }
            Response::SliceRefused {
                run,
                kind,
                options,
                message,
            } => {
                // The analysis views show their own refusals; the first four views show the
                // panel's note, as for any other failed slice.
                let panel_note = matches!(
                    kind,
                    SliceKind::Head { .. }
                        | SliceKind::Layer { .. }
                        | SliceKind::Thumbnails { .. }
                        | SliceKind::QueryKey { .. }
                );
                if self
                    .cache
                    .try_update_value(|c| {
                        c.refuse(SliceKey::new(run, kind, options), message.clone())
                    })
                    .unwrap_or(false)
                {
                    if panel_note {
                        self.slice_error.set(Some(message));
                    }
                    self.slice_tick.update(|t| *t += 1);
                }
            }
            Response::CorpusProgress { run, done, total } => {
                if self.run.with_untracked(|r| r.as_ref().map(|r| r.id)) == Some(run) {
                    self.corpus.set((done < total).then_some((done, total)));
                }
            }
            resp @ (Response::CompareProgress { .. }
            | Response::CompareLoaded { .. }
            | Response::CompareRan { .. }
            | Response::Error { stage: Stage::CompareLoad | Stage::CompareRun, .. }) => self.compare.on_message(self, resp),
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
            Response::Export { what, file_name, mime, .. } => match bytes {
                Some(bytes) => super::export_bar::deliver(self, &what, &file_name, &mime, &bytes),
                None => self.export_note.set(Some(format!("{file_name} arrived without its contents"))),
            },
            Response::Error { stage: Stage::Export, message, .. } => self.export_note.set(Some(format!("Export failed: {message}"))),
            Response::Error { stage: Stage::Slice, id, message } => {
                if let Some(run) = id {
                    self.cache.update_value(|c| c.failed_run(run));
                }
                self.slice_error.set(Some(message));
            }
        }
    }

    /// The worker still holds the model that was ready before the load that just failed (or
    /// was cancelled): show it again, with its text run anew, and keep the failure on screen.
    fn restore_previous(self) {
        let Some((source, info)) = self.previous.try_update_value(Option::take).flatten() else { return };
        if let LoadState::Failed(message) = self.load.get_untracked() {
            self.load_failure.set(Some(LoadFailure { source: self.source.get_untracked(), message }));
        }
        self.source.set(source);
        self.load.set(LoadState::Ready(info));
        self.request_run();
    }

    fn after_run(self, waiting: bool) {
        self.busy.set(false);
        if waiting {
            self.request_run();
        }
    }

    fn on_crash(self, message: String) {
        if !self.worker_ready.get_value() {
            // The engine did not start. The threaded one may lack shared memory after all or be
            // refused nested workers; the relaxed one may meet a browser that validates relaxed
            // SIMD but fails it elsewhere. Rule it out and start the next one, after this
            // handler, which belongs to the worker being replaced.
            let failed = self.starting.get_value();
            if let Some(next) = self.choice.get_value().and_then(|c| c.without(failed)) {
                web_sys::console::warn_1(
                    &format!("attention-viz: the engine ({}) did not start ({message}); starting {}", failed.describe(), next.kind().describe()).into(),
                );
                self.choice.set_value(Some(next));
                set_timeout(move || self.spawn_worker(), std::time::Duration::ZERO);
                return;
            }
            // It never started: its files did not load (a wrong sub-path, a host that does not
            // serve them), which memory has nothing to do with.
            self.crashed.set(true);
            self.load.set(LoadState::Failed(format!(
                "The engine could not start ({message}). The site's worker_loader.js, worker.js and \
                 worker_bg.wasm must be served next to index.html. Retry starts it again."
            )));
            return;
        }
        self.crashed.set(true);
        self.previous.set_value(None);
        self.compare.forget_all();
        self.busy.set(false);
        self.queue.update_value(RunQueue::reset);
        self.load.set(LoadState::Failed(format!(
            "The engine stopped ({message}). This usually means the tab ran out of memory: the model \
             or the input is too large for this browser. Retry starts a new engine; the text is kept."
        )));
    }
}
