//! The engine: everything needed to turn text into attention, in pure Rust.
//!
//! No browser crates here: the same code is tested natively with `cargo test`, drives the
//! `attention-export` command line, and runs inside the page's Web Worker.

mod bert;
mod checkpoint;
mod config;
mod engine;
mod error;
pub mod synthetic;
mod tokenize;

pub use bert::{BertEncoder, EncoderOutput, QueryKey};
pub use checkpoint::{canonical_name, Checkpoint};
pub use config::{Activation, Config};
pub use engine::{Engine, Run};
pub use error::{Error, Result};
pub use tokenize::{Encoded, Token, TokenizerWrapper};
