//! attention-viz: run BERT-family encoders and look at their self-attention.
//!
//! The crate is layered so the pure core never depends on the browser:
//! - [`attention`]: the `[layers, heads, seq, seq]` tensor every other part speaks.
//! - [`model`]: config, tokenizer, checkpoint loading and encoders that *return* attention.
//! - [`analysis`]: pure functions on attention (head mean, entropy, …).
//! - [`viz`]: pure layout and colour maths for the canvas views.
//! - [`protocol`]: the messages between the page and the engine's Web Worker.
//! - [`slice`]: what each view asks the worker for, cut from a run's attention.
//! - `net`, `ui`, `worker` (wasm32 only): fetch/progress, Leptos components, the worker loop.

pub mod analysis;
pub mod attention;
pub mod catalog;
pub mod export;
pub mod model;
pub mod protocol;
pub mod slice;
pub mod ui;
pub mod viz;

#[cfg(target_arch = "wasm32")]
pub mod net;
#[cfg(target_arch = "wasm32")]
pub mod worker;
