//! Pure layout and colour maths for the canvas views (natively tested); the drawing itself is
//! a thin layer in `ui`.

mod colour;
mod heatmap;

pub use colour::{ColourScale, Rgb};
pub use heatmap::{HeatmapLayout, Rect};

/// The weight as the tooltip and exports print it (6 decimals: tests compare to 1e-5).
pub fn format_weight(w: f32) -> String {
    format!("{w:.6}")
}
