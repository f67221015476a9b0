//! The page's side of the slice protocol: a bounded cache of the slices it has received and the
//! bookkeeping of what it asked for (plain types, natively tested).
//!
//! Flipping between views, heads and options asks the worker again only for what the page has
//! never seen; the worker answers each request once. Runs are serialised by [`RunQueue`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::analysis::ViewOptions;
use crate::protocol::SliceKind;

/// What identifies a slice: the run, the kind and the options that shaped it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SliceKey {
    pub run: u64,
    pub kind: SliceKind,
    pub options: ViewOptions,
}

impl SliceKey {
    /// The key for `kind` of `run`; options that do not change a kind are left out of its key.
    pub fn new(run: u64, kind: SliceKind, options: ViewOptions) -> Self {
        let options = if kind.uses_options() { options } else { ViewOptions::default() };
        Self { run, kind, options }
    }
}

/// A received slice (see [`SliceKind`] for the layout of `data`).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceData {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// Received slices, least recently used evicted first once over `budget` bytes.
#[derive(Debug)]
pub struct SliceCache {
    entries: HashMap<SliceKey, Arc<SliceData>>,
    order: VecDeque<SliceKey>,
    pending: HashSet<SliceKey>,
    /// Slices the worker declined, with its reason (asking again gives the same answer).
    refused: HashMap<SliceKey, String>,
    bytes: usize,
    budget: usize,
    /// Requests sent so far (the page shows it as `data-slice-requests` for the tests).
    pub requests: u64,
}

impl SliceCache {
    /// 256 MB: every head of bert-base at 512 tokens in both option states fits twice over,
    /// and it stays well inside wasm32's memory next to the page's own needs.
    pub const DEFAULT_BUDGET: usize = 256 << 20;

    pub fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            pending: HashSet::new(),
            refused: HashMap::new(),
            bytes: 0,
            budget,
            requests: 0,
        }
    }

    /// Whether the caller must send a request for `key`: true the first time a slice that is
    /// neither cached nor already requested is needed (it is then marked as requested).
    pub fn need(&mut self, key: SliceKey) -> bool {
        if self.entries.contains_key(&key) || self.pending.contains(&key) || self.refused.contains_key(&key) {
            return false;
        }
        self.pending.insert(key);
        self.requests += 1;
        true
    }

    /// Stores an answer. Answers nobody asked for (a superseded run's) are dropped.
    pub fn insert(&mut self, key: SliceKey, slice: SliceData) -> bool {
        if !self.pending.remove(&key) {
            return false;
        }
        self.bytes += slice.data.len() * 4;
        self.entries.insert(key.clone(), Arc::new(slice));
        self.order.push_back(key);
        while self.bytes > self.budget && self.order.len() > 1 {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(e) = self.entries.remove(&old) {
                self.bytes -= e.data.len() * 4;
            }
        }
        true
    }

    /// A request that failed: forget it was sent, so it can be asked again later.
    pub fn failed(&mut self, key: &SliceKey) {
        self.pending.remove(key);
    }

    /// The worker declined `key` (and would again): keep its reason, never ask again. Answers
    /// nobody asked for are dropped.
    pub fn refuse(&mut self, key: SliceKey, message: String) -> bool {
        if !self.pending.remove(&key) {
            return false;
        }
        self.refused.insert(key, message);
        true
    }

    /// Why the worker declined `key`, if it did.
    pub fn refusal(&self, key: &SliceKey) -> Option<String> {
        self.refused.get(key).cloned()
    }

    /// A failed slice of `run` (the worker names only the run): forget every pending request
    /// of that run.
    pub fn failed_run(&mut self, run: u64) {
        self.pending.retain(|k| k.run != run);
    }

    /// The slice, marking it as recently used.
    pub fn get(&mut self, key: &SliceKey) -> Option<Arc<SliceData>> {
        let found = self.entries.get(key).cloned()?;
        if let Some(pos) = self.order.iter().position(|k| k == key) {
            self.order.remove(pos);
            self.order.push_back(key.clone());
        }
        Some(found)
    }

    /// Drops everything that does not belong to `run` (a new run replaced the old one).
    pub fn keep_only_run(&mut self, run: u64) {
        self.entries.retain(|k, _| k.run == run);
        self.order.retain(|k| k.run == run);
        self.pending.retain(|k| k.run == run);
        self.refused.retain(|k, _| k.run == run);
        self.bytes = self.entries.values().map(|e| e.data.len() * 4).sum();
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The input of a run: the text and the optional second sentence.
pub type RunInput = (String, Option<String>);

/// At most one run in flight plus the latest pending edit: typing while a slow run computes
/// does not queue stale runs behind it, and the next run always takes the newest text. An input
/// equal to the last one sent is not sent again (the debounce of an edit can fire after the
/// run that already carries it was sent).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunQueue {
    next_id: u64,
    in_flight: Option<u64>,
    waiting: bool,
    last_sent: Option<RunInput>,
}

impl RunQueue {
    /// The user asked to run `input`: `Some(id)` to send now, or `None` when one is in flight
    /// (the newest input is asked for again when it finishes) or `input` was the last sent.
    pub fn request(&mut self, input: &RunInput) -> Option<u64> {
        if self.in_flight.is_some() {
            self.waiting = true;
            return None;
        }
        if self.last_sent.as_ref() == Some(input) {
            return None;
        }
        self.last_sent = Some(input.clone());
        self.next_id += 1;
        self.in_flight = Some(self.next_id);
        Some(self.next_id)
    }

    /// Run `id` answered (result or error): whether a waiting request should now be sent.
    pub fn finished(&mut self, id: u64) -> bool {
        if self.in_flight != Some(id) {
            return false;
        }
        self.in_flight = None;
        std::mem::take(&mut self.waiting)
    }

    pub fn in_flight(&self) -> Option<u64> {
        self.in_flight
    }

    /// Forgets everything in flight (a new model, or a restarted worker). Ids keep growing so
    /// an old answer can never be taken for a new run.
    pub fn reset(&mut self) {
        self.in_flight = None;
        self.waiting = false;
        self.last_sent = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(run: u64, layer: usize) -> SliceKey {
        SliceKey::new(run, SliceKind::Head { layer, head: 0 }, ViewOptions::default())
    }

    fn data(n: usize) -> SliceData {
        SliceData { dims: vec![n], data: vec![0.0; n] }
    }

    #[test]
    fn each_slice_is_requested_once() {
        let mut c = SliceCache::new(1 << 20);
        assert!(c.need(key(1, 0)));
        assert!(!c.need(key(1, 0)), "pending");
        assert!(c.insert(key(1, 0), data(4)));
        assert!(!c.need(key(1, 0)), "cached");
        assert_eq!(c.requests, 1);
        assert!(c.get(&key(1, 0)).is_some());
        assert!(!c.insert(key(1, 5), data(4)), "never asked for");
        assert!(c.get(&key(1, 5)).is_none());
    }

    #[test]
    fn options_only_key_the_kinds_they_change() {
        let o = ViewOptions { hide_special: true, merge_words: true };
        let qk = SliceKind::QueryKey { layer: 0, head: 1 };
        assert_eq!(SliceKey::new(1, qk.clone(), o), SliceKey::new(1, qk, ViewOptions::default()));
        let h = SliceKind::Head { layer: 0, head: 1 };
        assert_ne!(SliceKey::new(1, h.clone(), o), SliceKey::new(1, h, ViewOptions::default()));
    }

    #[test]
    fn refusals_are_kept_and_not_asked_again() {
        let mut c = SliceCache::new(1 << 20);
        assert!(!c.refuse(key(1, 0), "never asked".into()), "an answer nobody asked for");
        assert!(c.need(key(1, 0)));
        assert!(c.refuse(key(1, 0), "too long".into()));
        assert_eq!(c.refusal(&key(1, 0)).as_deref(), Some("too long"));
        assert!(!c.need(key(1, 0)), "a refused slice is not asked for again");
        assert!(c.get(&key(1, 0)).is_none());
        c.keep_only_run(2);
        assert_eq!(c.refusal(&key(1, 0)), None, "a new run forgets the old refusals");
    }

    #[test]
    fn least_recently_used_goes_first_over_budget() {
        let mut c = SliceCache::new(40);
        for l in 0..3 {
            c.need(key(1, l));
            c.insert(key(1, l), data(4)); // 16 bytes each
        }
        assert!(c.get(&key(1, 0)).is_none(), "oldest evicted");
        assert!(c.get(&key(1, 1)).is_some() && c.get(&key(1, 2)).is_some());
        assert_eq!(c.bytes(), 32);
        c.keep_only_run(2);
        assert_eq!(c.bytes(), 0);
        assert!(c.need(key(1, 1)));
        c.failed_run(1);
        assert!(c.need(key(1, 1)), "a failed request can be sent again");
    }

    fn input(t: &str) -> RunInput {
        (t.to_string(), None)
    }

    #[test]
    fn one_run_in_flight_and_the_latest_waiting() {
        let mut q = RunQueue::default();
        let first = q.request(&input("a")).unwrap();
        assert_eq!(q.request(&input("ab")), None);
        assert_eq!(q.request(&input("abc")), None, "edits while busy collapse into one waiting run");
        assert!(!q.finished(first + 7), "an unknown id changes nothing");
        assert!(q.finished(first), "the waiting edit goes next");
        let second = q.request(&input("abc")).unwrap();
        assert!(second > first);
        assert!(!q.finished(second), "nothing waiting");
        assert_eq!(q.request(&input("abc")), None, "the same input is not run twice");
        assert!(q.request(&(String::from("abc"), Some("b".into()))).is_some(), "a pair is another input");
        q.reset();
        assert_eq!(q.in_flight(), None);
        assert!(q.request(&input("abc")).unwrap() > second, "a new model runs the text again");
    }
}
