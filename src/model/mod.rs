//! The engine: everything needed to turn text into attention, in pure Rust.
//!
//! No browser crates here: the same code is tested natively with `cargo test`, drives the
//! `attention-export` command line, and runs inside the page's Web Worker. It runs the BERT,
//! DistilBERT, RoBERTa and ALBERT families ([`Family`]) through one encoder ([`Encoder`]).

mod bert;
mod checkpoint;
mod config;
mod engine;
mod error;
mod family;
/// Public for `tests/wasm_bench.rs`, which times the matrix product alone against its bound.
pub mod kernels;
mod stream;
pub mod synthetic;
mod tokenize;
mod vocab_skim;

pub use bert::{Encoder, EncoderOutput, QueryKey};
pub use checkpoint::{
    canonical_name, is_pytorch_pickle, needs_safetensors, Checkpoint, NEEDS_SAFETENSORS,
};
pub use config::{Activation, Config, Positions, MAX_LAYERS};
pub use engine::{Engine, Run};
pub use error::{looks_like_html, Error, Result, HTML_INSTEAD};
pub use family::{Family, Part};
pub use stream::{WeightStream, WASM_WEIGHT_BUDGET};
pub use tokenize::{Encoded, Token, TokenizerWrapper};
