// The single-threaded engine worker's loader, in place of trunk's loader shim (the same two
// calls), keeping the page's requests that arrive while the engine's wasm is fetched and
// compiled: a dedicated worker's messages are dispatched at once, and are lost without a
// listener. The page can then ask for its model as soon as it starts, instead of waiting for
// WorkerReady (src/ui/session.rs); the engine's handler (src/worker.rs `start`, run by the
// wasm's start function) gets them first, in order. worker_relaxed_loader.js is the same for
// the relaxed-SIMD build, worker_threads.js does the same for the threaded one.
const early = [];
self.onmessage = (event) => early.push(event);
importScripts('./worker.js');
wasm_bindgen('./worker_bg.wasm').then(() => early.splice(0).forEach((event) => self.onmessage?.(event)));
