// The multi-threaded engine worker's loader (a module worker), copied into the site as
// worker_threads_loader.js by scripts/build-threads.sh. The page starts it instead of
// worker_loader.js only where it is cross-origin isolated (src/ui/session.rs), as
// `worker_threads_loader.js?threads=N`.
//
// 1. instantiates the engine (worker_threads.js + worker_threads_bg.wasm, on a shared memory);
// 2. starts N Web Workers that run rayon's pool on the same module and memory (initThreadPool,
//    wasm-bindgen-rayon); they block on Atomics.wait between jobs, which workers may do;
// 3. only then starts the engine's message loop (startEngine), which answers WorkerReady, and
//    hands it the page's requests that arrived meanwhile (kept here, as src/boot/worker_loader.js
//    does: the page asks for its model as soon as it starts, not at WorkerReady).
//
// If 1 or 2 fails (no shared memory, a file missing, the browser refusing nested workers), the
// error is reported as this worker's error event and no WorkerReady is sent: the page then
// starts the single-threaded worker instead.

import init, { initThreadPool, startEngine } from './worker_threads.js';

const asked = Number(new URLSearchParams(self.location.search).get('threads'));
const threads = Number.isInteger(asked) && asked > 0 ? asked : navigator.hardwareConcurrency || 1;

const early = [];
self.onmessage = (event) => early.push(event);

let ready = false;
try {
  await init({ module_or_path: new URL('./worker_threads_bg.wasm', import.meta.url) });
  await initThreadPool(threads);
  ready = true;
} catch (e) {
  const error = new Error(`the threaded engine did not start (${e?.message ?? e})`);
  // An uncaught error reaches the page as the Worker's error event.
  if (typeof self.reportError === 'function') self.reportError(error);
  else setTimeout(() => { throw error; });
}
if (ready) {
  startEngine();
  early.splice(0).forEach((event) => self.onmessage?.(event));
}
