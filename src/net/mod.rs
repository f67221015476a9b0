//! Network: downloading model files with progress, in the page or in the worker.

mod fetch;

pub use fetch::{fetch_bytes, fetch_text, NetError};
