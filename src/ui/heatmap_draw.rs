//! Drawing of a matrix picture — the heatmap's, and the compare view's (`matrix.rs`): cells
//! through a colour lookup table, labels, a colour bar, and the hover overlay. Geometry comes
//! from [`crate::viz::HeatmapLayout`].

use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{HtmlCanvasElement, ImageData};

use super::canvas::{self, Ctx, FONT_PX};
use super::theme::Palette;
use crate::analysis::Unit;
use crate::viz::{ColourScale, DivergingScale, HeatmapLayout, Rgb};

const MAX_LABEL_PX: f64 = 130.0;

/// The colours of a matrix: weights from 0 (viridis), or signed differences around 0 (RdBu).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Weights(ColourScale),
    Signed(DivergingScale),
}

impl Scale {
    fn lut(&self) -> Vec<[u8; 4]> {
        match self {
            Scale::Weights(_) => ColourScale::lut(),
            Scale::Signed(_) => DivergingScale::lut(),
        }
    }
    fn index(&self, v: f32) -> usize {
        match self {
            Scale::Weights(s) => s.index(v),
            Scale::Signed(s) => s.index(v),
        }
    }
    /// The colour at fraction `t` of the bar (0 = bottom).
    fn at(&self, t: f32) -> Rgb {
        match self {
            Scale::Weights(_) => ColourScale::at(t),
            Scale::Signed(_) => DivergingScale::at(t),
        }
    }
    fn ticks(&self, count: usize) -> Vec<f32> {
        match self {
            Scale::Weights(s) => s.ticks(count),
            Scale::Signed(s) => s.ticks(count),
        }
    }
    fn max(&self) -> f32 {
        match self {
            Scale::Weights(s) => s.max(),
            Scale::Signed(s) => s.max(),
        }
    }
}

/// What the overlay needs to redraw hover highlights without touching the base picture.
#[derive(Clone)]
pub struct Drawn {
    pub layout: HeatmapLayout,
    pub labels: Vec<String>,
    pub values: Vec<f32>,
}

/// Draws the matrix, labels and colour bar; returns what the overlay needs.
pub fn draw_base(canvas: &HtmlCanvasElement, axis: &[Unit], values: &[f32], scale: Scale, palette: Palette, avail: f64) -> Option<Drawn> {
    let measure = canvas::context(canvas)?;
    measure.set_font(canvas::FONT);
    let n = axis.len();
    let (labels, label_w) = canvas::fit_all_cached("heatmap", &measure, axis.iter().map(|u| u.label.clone()).collect(), MAX_LABEL_PX);
    let layout = HeatmapLayout::new(n, label_w, avail);
    let ctx = canvas::prepare(canvas, layout.width, layout.height)?;
    ctx.set_fill_style_str(palette.background);
    ctx.fill_rect(0.0, 0.0, layout.width, layout.height);

    // Cells: one pixel per weight in an offscreen canvas, scaled up without smoothing — one
    // drawImage instead of n² fillRect calls (262 144 at 512 tokens).
    if n > 0 {
        let lut = scale.lut();
        let mut rgba = vec![0u8; n * n * 4];
        for (px, w) in rgba.chunks_exact_mut(4).zip(values) {
            px.copy_from_slice(&lut[scale.index(*w)]);
        }
        let off = offscreen(n)?;
        let img = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), n as u32, n as u32).ok()?;
        canvas::context(&off)?.put_image_data(&img, 0.0, 0.0).ok()?;
        ctx.set_image_smoothing_enabled(false);
        let side = layout.cell * n as f64;
        let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&off, layout.origin.0, layout.origin.1, side, side);
    }

    let step = layout.label_step(FONT_PX);
    ctx.set_text_baseline("middle");
    for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
        let colour = if axis[i].special { palette.muted } else { palette.text };
        draw_labels(&ctx, &layout, i, label, colour, colour);
    }

    // The colour bar: one gradient through the scale's stops, top = max.
    let bar = layout.colour_bar;
    let gradient = ctx.create_linear_gradient(0.0, bar.y + bar.h, 0.0, bar.y);
    for k in 0..=16 {
        let t = k as f32 / 16.0;
        let _ = gradient.add_color_stop(t, &scale.at(t).css());
    }
    ctx.set_fill_style_canvas_gradient(&gradient);
    ctx.fill_rect(bar.x, bar.y, bar.w, bar.h);
    ctx.set_stroke_style_str(palette.muted);
    ctx.set_line_width(1.0);
    ctx.stroke_rect(bar.x, bar.y, bar.w, bar.h);
    ctx.set_fill_style_str(palette.text);
    ctx.set_text_align("left");
    let ticks = scale.ticks(5);
    for (k, v) in ticks.iter().enumerate() {
        let y = bar.y + bar.h * (1.0 - k as f64 / (ticks.len() - 1) as f64);
        ctx.fill_rect(bar.x + bar.w, y - 0.5, 4.0, 1.0);
        let _ = ctx.fill_text(&format!("{v:.3}"), bar.x + bar.w + 7.0, y);
    }

    canvas::set_attrs(
        canvas,
        &[
            ("data-n", n.to_string()),
            ("data-origin-x", layout.origin.0.to_string()),
            ("data-origin-y", layout.origin.1.to_string()),
            ("data-cell", layout.cell.to_string()),
            ("data-scale-max", scale.max().to_string()),
            ("data-labels", labels.join("\u{1f}")),
        ],
    );
    Some(Drawn { layout, labels, values: Vec::new() })
}

thread_local! {
    /// One `n × n` scratch canvas for the cells, reused across redraws.
    static SCRATCH: std::cell::RefCell<Option<HtmlCanvasElement>> = const { std::cell::RefCell::new(None) };
}

/// The scratch canvas, sized `n × n`.
fn offscreen(n: usize) -> Option<HtmlCanvasElement> {
    let off = SCRATCH.with(|c| c.borrow().clone()).or_else(|| {
        let doc = web_sys::window()?.document()?;
        let made: HtmlCanvasElement = doc.create_element("canvas").ok()?.dyn_into().ok()?;
        SCRATCH.with(|c| *c.borrow_mut() = Some(made.clone()));
        Some(made)
    })?;
    if off.width() != n as u32 || off.height() != n as u32 {
        off.set_width(n as u32);
        off.set_height(n as u32);
    }
    Some(off)
}

/// Row label on the left, column label on top (reading upwards).
fn draw_labels(ctx: &Ctx, layout: &HeatmapLayout, i: usize, label: &str, row: &str, col: &str) {
    let c = layout.cell_rect(i, i);
    ctx.set_fill_style_str(row);
    ctx.set_text_align("right");
    let _ = ctx.fill_text(label, layout.origin.0 - 6.0, c.y + c.h / 2.0);
    ctx.set_fill_style_str(col);
    ctx.save();
    let _ = ctx.translate(c.x + c.w / 2.0, layout.origin.1 - 6.0);
    let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
    ctx.set_text_align("left");
    let _ = ctx.fill_text(label, 0.0, 0.0);
    ctx.restore();
}

/// Hover: outlines the row, the column and the cell, and lights their labels.
pub fn draw_overlay(overlay: &HtmlCanvasElement, drawn: StoredValue<Option<Drawn>>, hover: Option<(usize, usize)>, palette: Palette) {
    let Some(ctx) = canvas::clear(overlay) else { return };
    drawn.with_value(|d| {
        let (Some(d), Some((i, j))) = (d.as_ref(), hover) else { return };
        let (l, n) = (&d.layout, d.layout.n);
        if i >= n || j >= n {
            return;
        }
        let side = l.cell * n as f64;
        ctx.set_stroke_style_str(palette.accent);
        ctx.set_line_width(1.0);
        let row = l.cell_rect(i, 0);
        ctx.stroke_rect(row.x, row.y, side, row.h);
        let col = l.cell_rect(0, j);
        ctx.stroke_rect(col.x, col.y, col.w, side);
        ctx.set_line_width(2.0);
        let c = l.cell_rect(i, j);
        ctx.stroke_rect(c.x, c.y, c.w, c.h);
        // Lit labels over a background patch, so they read even where labels are thinned.
        ctx.set_text_baseline("middle");
        for (k, is_row) in [(i, true), (j, false)] {
            let Some(label) = d.labels.get(k) else { continue };
            let w = canvas::text_width(&ctx, label) + 6.0;
            let r = l.cell_rect(k, k);
            ctx.set_fill_style_str(palette.background);
            if is_row {
                ctx.fill_rect(l.origin.0 - 6.0 - w, r.y + r.h / 2.0 - 8.0, w + 3.0, 16.0);
                ctx.set_fill_style_str(palette.accent);
                ctx.set_text_align("right");
                let _ = ctx.fill_text(label, l.origin.0 - 6.0, r.y + r.h / 2.0);
            } else {
                ctx.save();
                let _ = ctx.translate(r.x + r.w / 2.0, l.origin.1 - 6.0);
                let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
                ctx.fill_rect(-3.0, -8.0, w + 3.0, 16.0);
                ctx.set_fill_style_str(palette.accent);
                ctx.set_text_align("left");
                let _ = ctx.fill_text(label, 0.0, 0.0);
                ctx.restore();
            }
        }
    });
}
