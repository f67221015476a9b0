//! A matrix picture for the compare view: the heatmap's drawing (`heatmap_draw.rs`) with any scale
//! (weights, or signed differences on a diverging scale), its own hover and tooltip.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, MouseEvent};

use super::canvas;
use super::heatmap_draw::{draw_base, draw_overlay, Drawn, Scale};
use super::session::Session;
use super::tooltip::Tooltip;
use crate::analysis::Unit;
use crate::viz::format_weight;

/// What a matrix picture shows.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixData {
    pub axis: Vec<Unit>,
    /// `m × m`, row-major, `m = axis.len()`.
    pub values: Vec<f32>,
    pub scale: Scale,
}

#[component]
pub fn MatrixView(
    session: Session,
    testid: &'static str,
    tip_testid: &'static str,
    #[prop(into)] data: Signal<Option<MatrixData>>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let drawn = StoredValue::new(None::<Drawn>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let pos = RwSignal::new((0.0f64, 0.0f64));

    Effect::new(move |_| {
        session.width_tick.track();
        let Some(d) = data.get() else { return };
        let (Some(canvas), Some(overlay)) = (canvas_ref.get(), overlay_ref.get()) else { return };
        let m = d.axis.len();
        if d.values.len() != m * m {
            return;
        }
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let palette = session.theme.get().palette();
        let Some(base) = draw_base(&canvas, &d.axis, &d.values, d.scale, palette, avail) else { return };
        let overlay: HtmlCanvasElement = overlay.unchecked_into();
        let _ = canvas::prepare(&overlay, base.layout.width, base.layout.height);
        canvas::set_attrs(&canvas, &[("data-values", d.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","))]);
        drawn.set_value(Some(Drawn { values: d.values.clone(), ..base }));
        draw_overlay(&overlay, drawn, hover.get_untracked(), palette);
        session.mark_drawn();
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
        pos.set((x, y));
        let cell = drawn.with_value(|d| d.as_ref().and_then(|d| d.layout.cell_at(x, y)));
        if cell != hover.get_untracked() {
            hover.set(cell);
        }
    };
    let tip = move || {
        let (i, j) = hover.get()?;
        let w = drawn.with_value(|d| d.as_ref().and_then(|d| d.values.get(i * d.layout.n + j).copied()))?;
        data.with(|d| {
            let axis = &d.as_ref()?.axis;
            Some(format!("{} → {} : {}", axis.get(i)?.label, axis.get(j)?.label, format_weight(w)))
        })
    };

    // Nothing to show (run B is loading or running): no stale picture of another comparison.
    // The wrapper keeps its width, which the next drawing measures.
    view! {
        <div class="canvas-wrap" class:blank=move || data.with(Option::is_none) node_ref=wrap_ref>
            <canvas data-testid=testid node_ref=canvas_ref on:mousemove=on_move on:mouseleave=move |_| hover.set(None)></canvas>
            <canvas class="overlay" node_ref=overlay_ref></canvas>
            <Tooltip testid=tip_testid text=Signal::derive(tip) pos=pos/>
        </div>
    }
}
