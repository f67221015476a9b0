//! Which engine worker the page starts: the multi-threaded one (`worker_threads_loader.js`,
//! feature `threads`, built by scripts/build-threads.sh) where the page is cross-origin
//! isolated and has shared memory, else a single-threaded one: with relaxed SIMD where the
//! browser validates it ([`super::engine_variant`]), else plain simd128 (`worker_loader.js`),
//! which runs everywhere and is the last fallback. Pure, so the decisions are tested natively;
//! `isolation.rs` and `engine_variant.rs` read the browser's facts.

use super::engine_variant::Variant;

/// The threaded worker's loader (a module worker), with `?threads=N`.
pub const THREADS_URL: &str = "./worker_threads_loader.js";
/// At most this many threads: BERT's products on short inputs stop gaining well before (the
/// weights' memory traffic is shared), and each thread is a Web Worker with its own JS heap.
pub const MAX_THREADS: usize = 8;

/// The engine worker the page runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// One thread: `worker_loader.js`, or `worker_relaxed_loader.js` where the browser has
    /// relaxed SIMD ([`Variant`]).
    Single(Variant),
    /// `worker_threads_loader.js` with this many threads in its pool (at least 2). Built with
    /// plain simd128: relaxed SIMD would shut out browsers that have threads without it.
    Threads(usize),
}

impl EngineKind {
    pub fn threads(self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Threads(n) => n,
        }
    }

    /// The script to start, relative to the page.
    pub fn worker_url(self) -> String {
        match self {
            Self::Single(v) => v.loader().to_string(),
            Self::Threads(n) => format!("{THREADS_URL}?threads={n}"),
        }
    }

    /// Whether the script is an ES module (wasm-bindgen's `--target web` glue, which
    /// wasm-bindgen-rayon needs to hand the module to its workers).
    pub fn is_module(self) -> bool {
        matches!(self, Self::Threads(_))
    }

    /// The footer's `data-variant`, for the tests: "plain", "relaxed" or "threads".
    pub fn name(self) -> &'static str {
        match self {
            Self::Single(v) => v.name(),
            Self::Threads(_) => "threads",
        }
    }

    /// What the page's footer says: "wasm simd128 + relaxed FMA, 1 thread".
    pub fn describe(self) -> String {
        match self {
            Self::Single(v) => format!("{}, 1 thread", v.label()),
            Self::Threads(n) => format!("{}, {n} threads", Variant::Plain.label()),
        }
    }
}

/// What decides the engine: the browser's facts, minus the engines that already failed to start
/// in this page. Each failure rules one out: threads, then relaxed SIMD; the plain
/// single-threaded worker is the last resort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineChoice {
    /// Threads the pool may have (0: no threaded engine).
    pub threads: usize,
    /// Relaxed SIMD validates here.
    pub relaxed: bool,
}

impl EngineChoice {
    /// For a page that is (or is not) cross-origin isolated, has (or has not)
    /// `SharedArrayBuffer`, on `cores` logical cores (`navigator.hardwareConcurrency`), in a
    /// browser that does (or does not) validate relaxed SIMD.
    pub fn new(isolated: bool, shared_memory: bool, cores: usize, relaxed: bool) -> Self {
        let threads = if isolated && shared_memory && cores > 1 { cores.min(MAX_THREADS) } else { 0 };
        Self { threads, relaxed }
    }

    /// The engine to start.
    pub fn kind(self) -> EngineKind {
        match (self.threads, self.relaxed) {
            (n, _) if n > 1 => EngineKind::Threads(n),
            (_, true) => EngineKind::Single(Variant::Relaxed),
            _ => EngineKind::Single(Variant::Plain),
        }
    }

    /// After `failed` did not start: the choice without it, or `None` when it was the last
    /// resort (the plain worker: then its files are missing, which another try will not fix).
    pub fn without(self, failed: EngineKind) -> Option<Self> {
        match failed {
            EngineKind::Threads(_) => Some(Self { threads: 0, ..self }),
            EngineKind::Single(Variant::Relaxed) => Some(Self { threads: 0, relaxed: false }),
            EngineKind::Single(Variant::Plain) => None,
        }
    }
}

/// What the page knows when the service worker first takes control of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReloadFacts {
    /// `crossOriginIsolated` already (a host that sends the headers itself).
    pub isolated: bool,
    /// The page is in a frame: isolation there needs the embedding page's own COOP/COEP and
    /// `allow="cross-origin-isolated"`, which a reload cannot give.
    pub in_frame: bool,
    pub cores: usize,
    /// This tab already reloaded for isolation once (sessionStorage): never a loop.
    pub tried: bool,
    /// The reader has clicked or typed, or a model load has started: a reload would lose it.
    pub busy: bool,
}

/// Whether to reload once so that the document comes through the service worker, which adds
/// the COOP/COEP headers that make it cross-origin isolated (and so able to run the threads).
/// Otherwise the threads start at the next visit.
pub fn reload_for_isolation(f: ReloadFacts) -> bool {
    !f.isolated && !f.in_frame && f.cores > 1 && !f.tried && !f.busy
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PLAIN: EngineKind = EngineKind::Single(Variant::Plain);
    const RELAXED: EngineKind = EngineKind::Single(Variant::Relaxed);

    #[test]
    fn threads_only_where_isolated_with_shared_memory_and_cores() {
        let kind = |i, s, c, r| EngineChoice::new(i, s, c, r).kind();
        assert_eq!(kind(true, true, 2, true), EngineKind::Threads(2));
        assert_eq!(kind(true, true, 64, false), EngineKind::Threads(MAX_THREADS));
        assert_eq!(kind(false, true, 8, true), RELAXED);
        assert_eq!(kind(true, false, 8, false), PLAIN);
        assert_eq!(kind(true, true, 1, true), RELAXED);
        assert_eq!(kind(true, true, 0, false), PLAIN);
    }

    #[test]
    fn each_failure_rules_out_one_engine_down_to_the_plain_one() {
        let first = EngineChoice::new(true, true, 4, true);
        assert_eq!(first.kind(), EngineKind::Threads(4));
        let second = first.without(first.kind()).unwrap();
        assert_eq!(second.kind(), RELAXED);
        let third = second.without(second.kind()).unwrap();
        assert_eq!(third.kind(), PLAIN);
        assert_eq!(third.without(PLAIN), None);
        // A browser without relaxed SIMD goes from threads straight to the plain worker.
        let no_relaxed = EngineChoice::new(true, true, 2, false);
        assert_eq!(no_relaxed.without(EngineKind::Threads(2)).map(|c| c.kind()), Some(PLAIN));
    }

    #[test]
    fn urls_and_words() {
        assert_eq!(PLAIN.worker_url(), "./worker_loader.js");
        assert_eq!(RELAXED.worker_url(), "./worker_relaxed_loader.js");
        assert_eq!(EngineKind::Threads(4).worker_url(), "./worker_threads_loader.js?threads=4");
        assert!(!PLAIN.is_module() && !RELAXED.is_module() && EngineKind::Threads(2).is_module());
        assert_eq!(PLAIN.describe(), "wasm simd128, 1 thread");
        assert_eq!(RELAXED.describe(), "wasm simd128 + relaxed FMA, 1 thread");
        assert_eq!(EngineKind::Threads(2).describe(), "wasm simd128, 2 threads");
        assert_eq!([PLAIN.name(), RELAXED.name(), EngineKind::Threads(2).name()], ["plain", "relaxed", "threads"]);
    }

    #[test]
    fn reloads_once_top_level_idle_and_not_isolated() {
        let fresh = ReloadFacts { cores: 2, ..Default::default() };
        assert!(reload_for_isolation(fresh));
        assert!(!reload_for_isolation(ReloadFacts { isolated: true, ..fresh }));
        assert!(!reload_for_isolation(ReloadFacts { in_frame: true, ..fresh }));
        assert!(!reload_for_isolation(ReloadFacts { cores: 1, ..fresh }));
        assert!(!reload_for_isolation(ReloadFacts { tried: true, ..fresh }));
        assert!(!reload_for_isolation(ReloadFacts { busy: true, ..fresh }));
    }
}
