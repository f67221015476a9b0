//! Pure layout and colour maths for the canvas views (natively tested); the drawing itself is
//! a thin layer in `ui`.

mod bars;
mod colour;
mod head_view;
mod heatmap;
mod model_view;
mod neuron;
mod palette;
/// PNG export (native only: resvg is not a wasm dependency).
#[cfg(not(target_arch = "wasm32"))]
pub mod png;
pub mod svg;

pub use colour::{ColourScale, DivergingScale, Rgb};
pub use bars::BarsLayout;
pub use head_view::{HeadViewLayout, Side, StripLayout};
pub use heatmap::{HeatmapLayout, Rect};
pub use palette::{head_colour, HEAD_COLOURS};
pub use model_view::GridLayout;
pub use neuron::{NeuronHit, NeuronLayout};

/// The weight as the tooltip and exports print it (6 decimals: tests compare to 1e-5).
pub fn format_weight(w: f32) -> String {
    format!("{w:.6}")
}
