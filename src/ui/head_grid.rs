//! A layers × heads grid of one number per head (Dodrio's head overview): the token focus'
//! relation grids, the head statistics and the compare view's per-head differences. Colour by
//! value (viridis over the grid's range, with a legend), the number on hover, a click picks the
//! head (the shared layer and head).

use leptos::callback::Callback;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, MouseEvent};

use super::canvas;
use super::session::Session;
use super::tooltip::Tooltip;
use crate::viz::{ColourScale, GridLayout};

/// Largest cell side: a 6 × 12 grid stays compact on a wide screen.
const MAX_CELL: f64 = 40.0;
/// Room under the grid for the legend (its name, the gradient, the range's ends).
const LEGEND_H: f64 = 56.0;

/// What a grid shows.
#[derive(Debug, Clone, PartialEq)]
pub struct GridData {
    pub layers: usize,
    pub heads: usize,
    /// One per head, index `layer · heads + head`.
    pub values: Vec<f32>,
    /// The colour range: `(low, high)`; values outside are clamped.
    pub range: (f32, f32),
    /// What the legend calls the value.
    pub legend: String,
    /// Short text drawn in each cell when it fits (role labels), or empty.
    pub marks: Vec<String>,
}

impl GridData {
    /// A grid coloured from 0 to its largest value.
    pub fn from_zero(layers: usize, heads: usize, values: Vec<f32>, legend: String) -> Self {
        let max = values.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
        Self { layers, heads, values, range: (0.0, if max > 0.0 { max } else { 1.0 }), legend, marks: Vec::new() }
    }

    fn fraction(&self, v: f32) -> f32 {
        let (lo, hi) = self.range;
        if hi > lo && v.is_finite() {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

#[component]
pub fn HeadGrid(
    session: Session,
    testid: &'static str,
    tip_testid: &'static str,
    #[prop(into)] data: Signal<Option<GridData>>,
    /// The tooltip of cell (layer, head), given its value.
    #[prop(into)]
    tip: Callback<(usize, usize, f32), String>,
    /// The head a click picks (the shared layer and head).
    #[prop(into)]
    on_pick: Callback<(usize, usize)>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let layout = StoredValue::new(None::<GridLayout>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let pos = RwSignal::new((0.0f64, 0.0f64));

    Effect::new(move |_| {
        session.width_tick.track();
        let selected = session.selection.with(|s| (s.layer, s.head));
        let hovered = hover.get();
        let Some(d) = data.get() else { return };
        let Some(canvas) = canvas_ref.get() else { return };
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let l = GridLayout::new(d.layers, d.heads, avail, 26.0 + d.layers as f64 * (MAX_CELL + 4.0));
        let palette = session.theme.get().palette();
        let (w, h) = (l.width.max(260.0), l.height + LEGEND_H);
        let Some(ctx) = canvas::prepare(&canvas, w, h) else { return };
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(0.0, 0.0, w, h);
        ctx.set_text_baseline("middle");
        ctx.set_text_align("center");
        ctx.set_fill_style_str(palette.muted);
        // Narrow cells (phones, 16-head models) label every other head.
        let every = if l.thumb < 24.0 { 2 } else { 1 };
        for hd in (0..d.heads).step_by(every) {
            let r = l.rect(0, hd);
            let _ = ctx.fill_text(&format!("H{hd}"), r.x + r.w / 2.0, l.origin.1 - 9.0);
        }
        ctx.set_text_align("right");
        for ly in 0..d.layers {
            let r = l.rect(ly, 0);
            let _ = ctx.fill_text(&format!("L{ly}"), l.origin.0 - 6.0, r.y + r.h / 2.0);
        }
        ctx.set_text_align("center");
        ctx.set_font("10px system-ui, sans-serif");
        for ly in 0..d.layers {
            for hd in 0..d.heads {
                let k = ly * d.heads + hd;
                let Some(&v) = d.values.get(k) else { continue };
                let c = ColourScale::at(d.fraction(v));
                let r = l.rect(ly, hd);
                ctx.set_fill_style_str(&c.css());
                ctx.fill_rect(r.x, r.y, r.w, r.h);
                if let Some(mark) = d.marks.get(k).filter(|m| !m.is_empty() && r.w >= 30.0) {
                    ctx.set_fill_style_str(if c.luminance() > 0.35 { "#1d232b" } else { "#ffffff" });
                    let _ = ctx.fill_text(mark, r.x + r.w / 2.0, r.y + r.h / 2.0);
                }
            }
        }
        ctx.set_font(canvas::FONT);
        for ((ly, hd), colour, width) in [(Some(selected), palette.text, 2.0), (hovered, palette.accent, 2.5)]
            .into_iter()
            .filter_map(|(at, c, w)| at.map(|a| (a, c, w)))
            .filter(|((ly, hd), _, _)| *ly < d.layers && *hd < d.heads)
        {
            let r = l.rect(ly, hd);
            ctx.set_stroke_style_str(colour);
            ctx.set_line_width(width);
            ctx.stroke_rect(r.x - 1.5, r.y - 1.5, r.w + 3.0, r.h + 3.0);
        }
        // Legend: its name, the gradient from the range's low to its high end, the ends.
        let (lx, ly) = (l.origin.0, l.height + 6.0);
        let lw = (w - lx - 8.0).clamp(80.0, 240.0);
        ctx.set_fill_style_str(palette.text);
        ctx.set_text_align("left");
        let _ = ctx.fill_text(&d.legend, lx, ly + 6.0);
        let gradient = ctx.create_linear_gradient(lx, 0.0, lx + lw, 0.0);
        for k in 0..=16 {
            let t = k as f32 / 16.0;
            let _ = gradient.add_color_stop(t, &ColourScale::at(t).css());
        }
        ctx.set_fill_style_canvas_gradient(&gradient);
        ctx.fill_rect(lx, ly + 16.0, lw, 10.0);
        ctx.set_fill_style_str(palette.text);
        let _ = ctx.fill_text(&format!("{:.3}", d.range.0), lx, ly + 38.0);
        ctx.set_text_align("right");
        let _ = ctx.fill_text(&format!("{:.3}", d.range.1), lx + lw, ly + 38.0);
        canvas::set_attrs(
            &canvas,
            &[
                ("data-layers", d.layers.to_string()),
                ("data-heads", d.heads.to_string()),
                ("data-values", d.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")),
                ("data-origin-x", l.origin.0.to_string()),
                ("data-origin-y", l.origin.1.to_string()),
                ("data-cell", l.thumb.to_string()),
                ("data-gap", l.gap.to_string()),
                ("data-legend", d.legend.clone()),
            ],
        );
        layout.set_value(Some(l));
        session.mark_drawn();
    });

    let at = move |x: f64, y: f64| layout.with_value(|l| l.as_ref().and_then(|l| l.at(x, y)));
    let on_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        pos.set((x, y));
        let cell = at(x, y);
        if cell != hover.get_untracked() {
            hover.set(cell);
        }
    };
    let tip_text = move || {
        let (ly, hd) = hover.get()?;
        let v = data.with(|d| d.as_ref().and_then(|d| d.values.get(ly * d.heads + hd).copied()))?;
        Some(tip.run((ly, hd, v)))
    };

    view! {
        <div class="canvas-wrap" class:stale=move || data.with(Option::is_none) node_ref=wrap_ref>
            <canvas data-testid=testid node_ref=canvas_ref on:mousemove=on_move on:mouseleave=move |_| hover.set(None)
                on:click=move |ev: MouseEvent| if let Some(c) = at(ev.offset_x() as f64, ev.offset_y() as f64) { on_pick.run(c) }></canvas>
            <Tooltip testid=tip_testid text=Signal::derive(tip_text) pos=pos/>
        </div>
    }
}
