//! attention-viz: run BERT-family encoders and look at their self-attention.
//!
//! The crate is layered so the pure core never depends on the browser:
//! - [`attention`]: the `[layers, heads, seq, seq]` tensor every other part speaks.
//! - [`model`]: config, tokenizer, checkpoint loading and encoders that *return* attention.
//! - [`analysis`]: pure functions on attention (head mean, entropy, …).
//! - [`viz`]: pure layout and colour maths for the canvas views.
//! - [`protocol`]: the messages between the page and the engine's Web Worker.
//! - [`slice`]: what each view asks the worker for, cut from a run's attention.
//! - `net`, `ui`, `worker` (browser parts wasm32 only): fetch/progress/cache, Leptos components,
//!   the worker loop.

pub mod analysis;
pub mod attention;
pub mod catalog;
pub mod export;
pub mod model;
pub mod protocol;
pub mod slice;
pub mod ui;
pub mod viz;

// The download policy (retries, Range answers, speed) is pure and tested natively; the parts
// that talk to the browser are wasm-only inside.
pub mod net;
#[cfg(target_arch = "wasm32")]
pub mod worker;
