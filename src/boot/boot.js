// Starts the engine worker as the page's very first act, while the page's own wasm (2.4 MB) is
// still being fetched and compiled: the worker's wasm loads and starts at the same time, so the
// model load can begin as soon as the page mounts (README "Speed and size", first heatmap).
//
// The page (src/ui/session.rs) stays in charge: it picks the engine itself (src/ui/engine.rs)
// and adopts this worker only when it is the one it would have started (the footer's engine
// label then carries data-prestarted; tests/e2e check it for every engine). Otherwise, or when
// this script did not run, it starts its own. The rule below mirrors `EngineChoice` and the
// probe mirrors `PROBE` in src/ui/engine_variant.rs: keep the three in step.
//
// Until the page adopts the worker, its messages (WorkerReady, or an error event) are kept here
// for the page to replay: a dedicated worker's messages are dispatched at once, with or without
// a listener.
(() => {
  // A module with one function whose body is f32x4.relaxed_madd: valid where relaxed SIMD is.
  const PROBE = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b,
    0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20,
    0x02, 0xfd, 0x85, 0x02, 0x0b,
  ]);
  const MAX_THREADS = 8;
  let relaxed = false;
  try {
    relaxed = WebAssembly.validate(PROBE) === true;
  } catch {
    relaxed = false;
  }
  const cores = Math.max(0, Math.floor(navigator.hardwareConcurrency || 0));
  const threads = self.crossOriginIsolated === true && 'SharedArrayBuffer' in self && cores > 1 ? Math.min(cores, MAX_THREADS) : 0;
  const url = threads > 1 ? `./worker_threads_loader.js?threads=${threads}` : relaxed ? './worker_relaxed_loader.js' : './worker_loader.js';
  let worker;
  try {
    worker = threads > 1 ? new Worker(url, { type: 'module' }) : new Worker(url);
  } catch {
    return; // the page starts its own and reports what goes wrong then
  }
  const early = [];
  worker.onmessage = (event) => early.push(event);
  worker.onerror = (event) => {
    event.preventDefault();
    early.push(event);
  };
  self.attentionVizEngine = { worker, url, early };
})();
