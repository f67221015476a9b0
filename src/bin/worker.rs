//! The Web Worker binary (trunk builds it with `data-type="worker"`); see `attention_viz::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    attention_viz::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker runs in the browser: build the site with `make build` or `make serve`");
}
