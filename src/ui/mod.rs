//! The page. `state` and `theme` are plain types (natively tested); the components, the canvas
//! drawing and the worker client exist only in the wasm build.

pub mod state;
pub mod theme;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod heatmap;

#[cfg(target_arch = "wasm32")]
pub use app::App;
