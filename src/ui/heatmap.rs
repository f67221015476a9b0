//! The heatmap: one head as a matrix, rows = "from", columns = "to" (the seed notebook's
//! Matplotlib plot). The matrix is drawn once per change; hover draws only on an overlay canvas.

use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{HtmlCanvasElement, ImageData, KeyboardEvent, MouseEvent};

use super::canvas::{self, Ctx, FONT_PX};
use super::selection::step;
use super::session::Session;
use super::tooltip::Tooltip;
use super::theme::Palette;
use crate::analysis::{head_max, keep_strongest, Unit};
use crate::protocol::SliceKind;
use crate::viz::{format_weight, ColourScale, HeatmapLayout};

const MAX_LABEL_PX: f64 = 130.0;

/// How the colour bar is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleMode {
    HeadMax,
    Unit,
}

/// What the overlay needs to redraw hover highlights without touching the base picture.
#[derive(Clone)]
struct Drawn {
    layout: HeatmapLayout,
    labels: Vec<String>,
    values: Vec<f32>,
}

#[component]
pub fn HeatmapView(session: Session, scale_mode: RwSignal<ScaleMode>) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let drawn = StoredValue::new(None::<Drawn>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let tooltip_pos = RwSignal::new((0.0f64, 0.0f64));
    let target = Memo::new(move |_| session.selection.with(|s| (s.layer, s.head, s.strongest)));

    Effect::new(move |_| {
        session.width_tick.track();
        let (layer, head, strongest) = target.get();
        let Some(slice) = session.slice(SliceKind::Head { layer, head }) else { return };
        let (Some(canvas), Some(overlay)) = (canvas_ref.get(), overlay_ref.get()) else { return };
        let axis = session.axis.get();
        let m = axis.len();
        if slice.dims != [m, m] {
            return;
        }
        let started = canvas::now_ms();
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let max = match scale_mode.get() {
            ScaleMode::HeadMax => head_max(&slice.data),
            ScaleMode::Unit => 1.0,
        };
        let shown = keep_strongest(&slice.data, m, strongest);
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let palette = session.theme.get().palette();
        let Some(d) = draw_base(&canvas, &axis, &shown, ColourScale::new(max), palette, avail) else { return };
        let overlay: HtmlCanvasElement = overlay.unchecked_into();
        let _ = canvas::prepare(&overlay, d.layout.width, d.layout.height);
        canvas::set_attrs(&canvas, &[("data-layer", layer.to_string()), ("data-head", head.to_string())]);
        canvas::record_draw(&canvas, started);
        session.mark_drawn();
        drawn.set_value(Some(Drawn { values: slice.data.clone(), ..d }));
        draw_overlay(&overlay, drawn, hover.get_untracked(), palette);
    });

    Effect::new(move |_| {
        let h = hover.get();
        let palette = session.theme.get_untracked().palette();
        if let Some(overlay) = overlay_ref.get() {
            draw_overlay(&overlay.unchecked_into(), drawn, h, palette);
        }
    });

    let on_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        tooltip_pos.set((x, y));
        let cell = drawn.with_value(|d| d.as_ref().and_then(|d| d.layout.cell_at(x, y)));
        if cell != hover.get_untracked() {
            hover.set(cell);
        }
    };
    // Arrows move a highlighted cell (the tooltip follows it): the keyboard reaches every weight.
    let on_key = move |ev: KeyboardEvent| {
        let Some(layout) = drawn.with_value(|d| d.as_ref().map(|d| d.layout)) else { return };
        let (i, j) = hover.get_untracked().unwrap_or((0, 0));
        let n = layout.n;
        let next = match ev.key().as_str() {
            "ArrowUp" => (step(i, -1, n), j),
            "ArrowDown" => (step(i, 1, n), j),
            "ArrowLeft" => (i, step(j, -1, n)),
            "ArrowRight" => (i, step(j, 1, n)),
            "Escape" => {
                hover.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        let r = layout.cell_rect(next.0, next.1);
        tooltip_pos.set((r.x + r.w / 2.0, r.y + r.h / 2.0));
        hover.set(Some(next));
    };
    let tooltip = move || {
        let (i, j) = hover.get()?;
        let axis = session.axis.get();
        let w = drawn.with_value(|d| d.as_ref().and_then(|d| d.values.get(i * d.layout.n + j).copied()))?;
        Some(format!("{} → {} : {}", axis.get(i)?.label, axis.get(j)?.label, format_weight(w)))
    };

    view! {
        <p class="caption">"Rows: the token attending (from). Columns: the token attended to. Hover a cell, or focus the picture and use the arrow keys."</p>
        <div class="canvas-wrap" node_ref=wrap_ref tabindex="0" role="img" aria-label="Attention heatmap" on:keydown=on_key>
            <canvas data-testid="heatmap" node_ref=canvas_ref on:mousemove=on_move on:mouseleave=move |_| hover.set(None)></canvas>
            <canvas class="overlay" data-testid="heatmap-overlay" node_ref=overlay_ref></canvas>
            <Tooltip testid="tooltip" text=Signal::derive(tooltip) pos=tooltip_pos/>
        </div>
    }
}

/// Draws the matrix, labels and colour bar; returns what the overlay needs.
fn draw_base(canvas: &HtmlCanvasElement, axis: &[Unit], values: &[f32], scale: ColourScale, palette: Palette, avail: f64) -> Option<Drawn> {
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
        let lut = ColourScale::lut();
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
        let _ = gradient.add_color_stop(t, &ColourScale::at(t).css());
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
fn draw_overlay(overlay: &HtmlCanvasElement, drawn: StoredValue<Option<Drawn>>, hover: Option<(usize, usize)>, palette: Palette) {
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
