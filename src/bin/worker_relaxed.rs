//! The engine worker built with the `relaxed-simd` kernels (index.html's second worker link);
//! the page starts it instead of `worker` where the browser validates relaxed SIMD
//! (`attention_viz::ui::engine_variant`). Same code as `src/bin/worker.rs`.

#[cfg(target_arch = "wasm32")]
fn main() {
    attention_viz::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker runs in the browser: build the site with `make build` or `make serve`");
}
