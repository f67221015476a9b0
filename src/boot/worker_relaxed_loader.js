// worker_loader.js for the relaxed-SIMD build of the engine (see there).
const early = [];
self.onmessage = (event) => early.push(event);
importScripts('./worker_relaxed.js');
wasm_bindgen('./worker_relaxed_bg.wasm').then(() => early.splice(0).forEach((event) => self.onmessage?.(event)));
