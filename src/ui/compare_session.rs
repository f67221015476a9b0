//! The page's side of the compare view: side B's text or model, model B's load and run B, as
//! one `Copy` handle of signals. The worker holds model B and run B only while the view is
//! open (see `worker::analysis`): opening the view loads and runs what it needs, closing it
//! sends `CloseCompare`.

use leptos::prelude::*;

use super::compare_state::{CompareLoad, CompareMode};
use super::link::Link;
use super::session::Session;
use super::slices::RunQueue;
use super::state::{LoadState, RunView};
use crate::protocol::{ModelSource, Request, Response, Stage};

/// The second sentence the two-texts mode starts with: "bank" by the river.
pub const DEFAULT_TEXT_B: &str = "They fished from the grassy bank of the river all afternoon.";

#[derive(Clone, Copy)]
pub struct CompareSession {
    pub mode: RwSignal<CompareMode>,
    /// Side B's text (two texts).
    pub text_b: RwSignal<String>,
    /// Model B (two models).
    pub model_b: RwSignal<Option<ModelSource>>,
    pub load: RwSignal<CompareLoad>,
    /// Run B, once it has arrived.
    pub run: RwSignal<Option<RunView>>,
    pub error: RwSignal<Option<String>>,
    pub busy: RwSignal<bool>,
    open: StoredValue<bool>,
    load_id: StoredValue<u64>,
    /// The model the latest load was for (a failed one is not tried again unasked).
    loading: StoredValue<Option<ModelSource>>,
    queue: StoredValue<RunQueue>,
}

impl CompareSession {
    pub fn new() -> Self {
        Self {
            mode: RwSignal::new(CompareMode::Texts),
            text_b: RwSignal::new(DEFAULT_TEXT_B.to_string()),
            model_b: RwSignal::new(None),
            load: RwSignal::new(CompareLoad::Idle),
            run: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            open: StoredValue::new(false),
            load_id: StoredValue::new(0),
            loading: StoredValue::new(None),
            queue: StoredValue::new(RunQueue::default()),
        }
    }

    /// Side B as a link describes it (model B on the link's host).
    pub fn from_link(link: &Link) -> Self {
        let s = Self::new();
        s.mode.set(link.compare);
        if let Some(t) = &link.text_b {
            s.text_b.set(t.clone());
        }
        if let Some(repo) = &link.model_b {
            let hub = link
                .model
                .as_ref()
                .map_or(link.hub.clone(), |m| m.hub.clone());
            s.model_b.set(Some(ModelSource {
                hub,
                repo: repo.clone(),
                revision: "main".into(),
            }));
        }
        s
    }

    /// The view opened: load and run what side B needs.
    pub fn open(self, session: Session) {
        self.open.set_value(true);
        self.sync(session);
    }

    /// The view closed: the worker drops model B and run B.
    pub fn close(self, session: Session) {
        if !self.open.get_value() {
            return;
        }
        self.open.set_value(false);
        session.send(&Request::CloseCompare);
        self.forget_all();
    }

    /// Forgets model B and run B here (the worker's are gone or going).
    pub fn forget_all(self) {
        self.load_id.set_value(self.load_id.get_value() + 1);
        self.loading.set_value(None);
        self.load.set(CompareLoad::Idle);
        self.forget_run();
        self.error.set(None);
    }

    /// Run B is stale (a new main model, or another mode or model B): forget it.
    pub fn forget_run(self) {
        self.queue.update_value(RunQueue::reset);
        self.run.set(None);
        self.busy.set(false);
    }

    /// Brings side B up to date with the mode, model B and the text: loads model B if needed,
    /// else runs side B (an input already run is not run again).
    pub fn sync(self, session: Session) {
        if !self.open.get_value() || !matches!(session.load.get_untracked(), LoadState::Ready(_)) {
            return;
        }
        if self.mode.get_untracked() == CompareMode::Models {
            let Some(src) = self.model_b.get_untracked() else { return };
            let same = self.loading.with_value(|l| l.as_ref() == Some(&src));
            match self.load.get_untracked() {
                CompareLoad::Ready(_) if same => {}
                // In progress, or failed (Retry, or another model, tries again).
                CompareLoad::Loading(_) | CompareLoad::Failed(_) if same => return,
                _ => return self.start_load(session, src),
            }
        }
        self.request_run(session);
    }

    /// Loads `src` as model B (the user picked it, or Retry).
    pub fn start_load(self, session: Session, src: ModelSource) {
        let id = self.load_id.get_value() + 1;
        self.load_id.set_value(id);
        self.forget_run();
        self.error.set(None);
        self.load.set(CompareLoad::Loading(None));
        self.loading.set_value(Some(src.clone()));
        session.send(&Request::LoadCompare { id, source: src });
    }

    fn request_run(self, session: Session) {
        let model_b = self.mode.get_untracked() == CompareMode::Models;
        let input = if model_b {
            (session.text.get_untracked(), session.pair_on.get_untracked().then(|| session.pair.get_untracked()))
        } else {
            (self.text_b.get_untracked(), None)
        };
        let Some(id) = self.queue.try_update_value(|q| q.request(&input)).flatten() else { return };
        self.busy.set(true);
        session.send(&Request::RunCompare { id, text: input.0, pair: input.1, model_b });
    }

    /// Handles the worker's compare answers (the session passes them on).
    pub fn on_message(self, session: Session, resp: Response) {
        let current = self.load_id.get_value();
        match resp {
            Response::CompareProgress { load, all_received, all_total, .. } if load == current => {
                let f = all_total.filter(|t| *t > 0).map(|t| (all_received as f64 / t as f64).min(1.0));
                self.load.set(CompareLoad::Loading(f));
            }
            Response::CompareLoaded { load, info } if load == current => {
                self.load.set(CompareLoad::Ready(info));
                self.request_run(session);
            }
            Response::Error { stage: Stage::CompareLoad, id, message } if id == Some(current) => {
                self.load.set(CompareLoad::Failed(message));
            }
            Response::CompareRan { id, tokens, truncated, shape, ms } => {
                if self.queue.with_value(|q| q.in_flight()) != Some(id) {
                    return;
                }
                let waiting = self.queue.try_update_value(|q| q.finished(id)).unwrap_or(false);
                self.error.set(None);
                self.run.set(Some(RunView { id, tokens, truncated, dropped: 0, shape, ms }));
                self.after_run(session, waiting);
            }
            Response::Error { stage: Stage::CompareRun, id, message } => {
                if id.is_some() && self.queue.with_value(|q| q.in_flight()) != id {
                    return;
                }
                let waiting = id.and_then(|id| self.queue.try_update_value(|q| q.finished(id))).unwrap_or(false);
                self.error.set(Some(message));
                self.after_run(session, waiting);
            }
            _ => {}
        }
    }

    fn after_run(self, session: Session, waiting: bool) {
        self.busy.set(false);
        if waiting {
            self.request_run(session);
        }
    }
}
