//! Network: downloading model files with progress, resuming and retrying, and keeping them in
//! the browser's Cache Storage.
//!
//! `error`, `resume` and `rate` are pure (the retry policy, Range answers, speed) and tested
//! natively; the rest talks to the browser and exists only in wasm.

mod error;
pub mod checksum;
pub mod integrity;
pub mod metadata;
pub mod rate;
pub mod resume;
pub mod timing;

pub use error::NetError;

#[cfg(target_arch = "wasm32")]
pub mod cache;
#[cfg(target_arch = "wasm32")]
mod download;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
pub mod model_files;
#[cfg(target_arch = "wasm32")]
mod verify;
#[cfg(target_arch = "wasm32")]
mod watchdog;

#[cfg(target_arch = "wasm32")]
pub use download::{download, Event, Failed};
#[cfg(target_arch = "wasm32")]
pub use fetch::{fetch_bytes, fetch_text, head, head_size, read_stream, Head, Sink};
