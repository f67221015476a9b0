//! Canvas drawing of one head's matrix; all geometry comes from [`crate::viz::HeatmapLayout`].

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::state::HeadMatrix;
use super::theme::Palette;
use crate::model::Token;
use crate::viz::{ColourScale, HeatmapLayout};

const FONT_PX: f64 = 12.0;
const MAX_LABEL_PX: f64 = 130.0;

/// Everything one frame needs.
pub struct Frame<'a> {
    pub tokens: &'a [Token],
    pub matrix: &'a HeadMatrix,
    pub scale: ColourScale,
    pub hover: Option<(usize, usize)>,
    pub palette: Palette,
    pub avail_width: f64,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Shortens a label to fit `max` pixels.
fn fit(ctx: &CanvasRenderingContext2d, text: &str, max: f64) -> String {
    let width = |s: &str| ctx.measure_text(s).map(|m| m.width()).unwrap_or(0.0);
    if width(text) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() && width(&format!("{}…", chars.iter().collect::<String>())) > max {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>())
}

/// Draws the heatmap and returns its layout (for hit-testing), or `None` without a 2D context.
pub fn draw(canvas: &HtmlCanvasElement, f: &Frame) -> Option<HeatmapLayout> {
    let ctx = context(canvas)?;
    let n = f.matrix.n.min(f.tokens.len());
    let font = format!("{FONT_PX}px system-ui, sans-serif");
    ctx.set_font(&font);
    let labels: Vec<String> = f.tokens[..n].iter().map(|t| fit(&ctx, &t.text, MAX_LABEL_PX)).collect();
    let label_w = labels
        .iter()
        .map(|l| ctx.measure_text(l).map(|m| m.width()).unwrap_or(0.0))
        .fold(0.0, f64::max);
    let layout = HeatmapLayout::new(n, label_w, f.avail_width);

    // Size the backing store for the screen's pixel ratio so text stays sharp.
    let dpr = web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0);
    canvas.set_width((layout.width * dpr).ceil() as u32);
    canvas.set_height((layout.height * dpr).ceil() as u32);
    let style = canvas.style();
    let _ = style.set_property("width", &format!("{}px", layout.width));
    let _ = style.set_property("height", &format!("{}px", layout.height));
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_font(&font);
    ctx.set_fill_style_str(f.palette.background);
    ctx.fill_rect(0.0, 0.0, layout.width, layout.height);

    // Cells: one pixel per weight in an offscreen canvas, scaled up without smoothing. This is
    // one drawImage instead of n² fillRect calls (262 144 at 512 tokens).
    let mut rgba = vec![0u8; n * n * 4];
    for (k, px) in rgba.chunks_exact_mut(4).enumerate() {
        let c = f.scale.colour(f.matrix.data.get(k).copied().unwrap_or(0.0));
        px.copy_from_slice(&[c.0, c.1, c.2, 255]);
    }
    if n > 0 {
        let doc = web_sys::window()?.document()?;
        let off: HtmlCanvasElement = doc.create_element("canvas").ok()?.dyn_into().ok()?;
        off.set_width(n as u32);
        off.set_height(n as u32);
        let img = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), n as u32, n as u32).ok()?;
        context(&off)?.put_image_data(&img, 0.0, 0.0).ok()?;
        ctx.set_image_smoothing_enabled(false);
        let side = layout.cell * n as f64;
        let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&off, layout.origin.0, layout.origin.1, side, side);
    }

    // Labels: rows (from) on the left, columns (to) on top, reading upwards.
    let step = layout.label_step(FONT_PX);
    ctx.set_text_baseline("middle");
    let (hot_row, hot_col) = f.hover.map_or((None, None), |(i, j)| (Some(i), Some(j)));
    let colour = |i: usize, hot: bool| {
        if hot {
            f.palette.accent
        } else if f.tokens[i].special {
            f.palette.muted
        } else {
            f.palette.text
        }
    };
    for (i, label) in labels.iter().enumerate() {
        let c = layout.cell_rect(i, i);
        // Rows ("from") on the left.
        if i % step == 0 || hot_row == Some(i) {
            ctx.set_fill_style_str(colour(i, hot_row == Some(i)));
            ctx.set_text_align("right");
            let _ = ctx.fill_text(label, layout.origin.0 - 6.0, c.y + c.h / 2.0);
        }
        // Columns ("to") on top, reading upwards.
        if i % step == 0 || hot_col == Some(i) {
            ctx.set_fill_style_str(colour(i, hot_col == Some(i)));
            ctx.save();
            let _ = ctx.translate(c.x + c.w / 2.0, layout.origin.1 - 6.0);
            let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
            ctx.set_text_align("left");
            let _ = ctx.fill_text(label, 0.0, 0.0);
            ctx.restore();
        }
    }

    // Hover: outline the row, the column and the cell.
    if let Some((i, j)) = f.hover.filter(|(i, j)| *i < n && *j < n) {
        let side = layout.cell * n as f64;
        ctx.set_stroke_style_str(f.palette.accent);
        ctx.set_line_width(1.0);
        let row = layout.cell_rect(i, 0);
        ctx.stroke_rect(row.x, row.y, side, row.h);
        let col = layout.cell_rect(0, j);
        ctx.stroke_rect(col.x, col.y, col.w, side);
        ctx.set_line_width(2.0);
        let c = layout.cell_rect(i, j);
        ctx.stroke_rect(c.x, c.y, c.w, c.h);
    }

    // Colour bar with ticks.
    let bar = layout.colour_bar;
    let rows = bar.h.max(1.0) as usize;
    for r in 0..rows {
        let t = 1.0 - r as f32 / (rows - 1).max(1) as f32;
        ctx.set_fill_style_str(&ColourScale::at(t).css());
        ctx.fill_rect(bar.x, bar.y + r as f64, bar.w, 1.0);
    }
    ctx.set_stroke_style_str(f.palette.muted);
    ctx.set_line_width(1.0);
    ctx.stroke_rect(bar.x, bar.y, bar.w, bar.h);
    ctx.set_fill_style_str(f.palette.text);
    ctx.set_text_align("left");
    let ticks = f.scale.ticks(5);
    for (k, v) in ticks.iter().enumerate() {
        let y = bar.y + bar.h * (1.0 - k as f64 / (ticks.len() - 1) as f64);
        ctx.fill_rect(bar.x + bar.w, y - 0.5, 4.0, 1.0);
        let _ = ctx.fill_text(&format!("{v:.3}"), bar.x + bar.w + 7.0, y);
    }

    for (k, v) in [
        ("data-n", n.to_string()),
        ("data-origin-x", layout.origin.0.to_string()),
        ("data-origin-y", layout.origin.1.to_string()),
        ("data-cell", layout.cell.to_string()),
        ("data-layer", f.matrix.layer.to_string()),
        ("data-head", f.matrix.head.to_string()),
        ("data-scale-max", f.scale.max().to_string()),
    ] {
        let _ = canvas.set_attribute(k, &v);
    }
    Some(layout)
}
