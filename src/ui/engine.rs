//! Which engine worker the page starts: the multi-threaded one (`worker_threads_loader.js`,
//! feature `threads`, built by scripts/build-threads.sh) where the page is cross-origin
//! isolated and has shared memory, else the single-threaded one (`worker_loader.js`), which
//! runs everywhere and is the fallback when the threaded one does not start. Pure, so the
//! decisions are tested natively; `isolation.rs` reads the browser's facts.

/// Where trunk puts the single-threaded worker's loader (a classic worker).
pub const SINGLE_URL: &str = "./worker_loader.js";
/// The threaded worker's loader (a module worker), with `?threads=N`.
pub const THREADS_URL: &str = "./worker_threads_loader.js";
/// At most this many threads: BERT's products on short inputs stop gaining well before (the
/// weights' memory traffic is shared), and each thread is a Web Worker with its own JS heap.
pub const MAX_THREADS: usize = 8;

/// The engine worker the page runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// `worker_loader.js`: one thread.
    Single,
    /// `worker_threads_loader.js` with this many threads in its pool (at least 2).
    Threads(usize),
}

impl EngineKind {
    /// The engine for a page that is (or is not) cross-origin isolated, has (or has not)
    /// `SharedArrayBuffer`, on `cores` logical cores (`navigator.hardwareConcurrency`).
    pub fn choose(isolated: bool, shared_memory: bool, cores: usize) -> Self {
        if isolated && shared_memory && cores > 1 {
            Self::Threads(cores.min(MAX_THREADS))
        } else {
            Self::Single
        }
    }

    pub fn threads(self) -> usize {
        match self {
            Self::Single => 1,
            Self::Threads(n) => n,
        }
    }

    /// The script to start, relative to the page.
    pub fn worker_url(self) -> String {
        match self {
            Self::Single => SINGLE_URL.to_string(),
            Self::Threads(n) => format!("{THREADS_URL}?threads={n}"),
        }
    }

    /// Whether the script is an ES module (wasm-bindgen's `--target web` glue, which
    /// wasm-bindgen-rayon needs to hand the module to its workers).
    pub fn is_module(self) -> bool {
        matches!(self, Self::Threads(_))
    }

    /// What the page's footer says: "engine: wasm simd128, 2 threads".
    pub fn describe(self) -> String {
        match self.threads() {
            1 => "engine: wasm simd128, 1 thread".to_string(),
            n => format!("engine: wasm simd128, {n} threads"),
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
    use super::*;

    #[test]
    fn threads_only_where_isolated_with_shared_memory_and_cores() {
        assert_eq!(EngineKind::choose(true, true, 2), EngineKind::Threads(2));
        assert_eq!(EngineKind::choose(true, true, 64), EngineKind::Threads(MAX_THREADS));
        assert_eq!(EngineKind::choose(false, true, 8), EngineKind::Single);
        assert_eq!(EngineKind::choose(true, false, 8), EngineKind::Single);
        assert_eq!(EngineKind::choose(true, true, 1), EngineKind::Single);
        assert_eq!(EngineKind::choose(true, true, 0), EngineKind::Single);
    }

    #[test]
    fn urls_and_words() {
        assert_eq!(EngineKind::Single.worker_url(), "./worker_loader.js");
        assert_eq!(EngineKind::Threads(4).worker_url(), "./worker_threads_loader.js?threads=4");
        assert!(!EngineKind::Single.is_module() && EngineKind::Threads(2).is_module());
        assert_eq!(EngineKind::Single.describe(), "engine: wasm simd128, 1 thread");
        assert_eq!(EngineKind::Threads(2).describe(), "engine: wasm simd128, 2 threads");
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
