//! The page. `state`, `selection`, `slices` and `theme` are plain types (natively tested); the
//! components, the canvas drawing and the worker client exist only in the wasm build of the
//! page (feature `page`).

pub mod compare_state;
pub mod engine;
pub mod engine_variant;
pub mod link;
pub mod local_files;
pub mod selection;
pub mod slices;
pub mod state;
pub mod theme;

#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod app;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod canvas;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod client;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod download;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod embed;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod export_bar;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod head_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod head_view_draw;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod heatmap;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod heatmap_draw;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod isolation;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod model_picker;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod model_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod neuron_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod session;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod share;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod storage;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod tooltip;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod views;

#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod bars;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod compare_session;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod compare_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod focus_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod head_chips;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod head_grid;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod heads_view;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod matrix;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod source_controls;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod stats_table;

#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub use app::App;
