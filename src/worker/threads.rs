//! The threaded engine worker's entry points (feature `threads`), called by its loader
//! src/bin/worker_threads.js: `initThreadPool(n)` (wasm-bindgen-rayon: n Web Workers that run
//! rayon's pool on this module and its shared memory), then `startEngine()`.

use wasm_bindgen::prelude::*;

/// Re-exported so that the binary links it: wasm-bindgen then exports it as `initThreadPool`.
pub use wasm_bindgen_rayon::init_thread_pool;

/// Starts the engine's message loop, as the single-threaded worker's `main` does.
#[wasm_bindgen(js_name = startEngine)]
pub fn start_engine() {
    super::start();
}
