//! The heatmap: one head, or an aggregate of heads or layers (the "source" selector), as a
//! matrix, rows = "from", columns = "to" (the seed notebook's Matplotlib plot). The matrix is
//! drawn once per change; hover draws only on an overlay canvas (drawing: `heatmap_draw.rs`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent};

use super::canvas;
use super::heatmap_draw::{draw_base, draw_overlay, Drawn, Scale};
use super::selection::{step, ScaleMode, SourceKind};
use super::session::Session;
use super::tooltip::Tooltip;
use crate::analysis::{head_max, keep_strongest};
use crate::protocol::SliceKind;
use crate::viz::{format_weight, ColourScale};

#[component]
pub fn HeatmapView(session: Session) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let drawn = StoredValue::new(None::<Drawn>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let tooltip_pos = RwSignal::new((0.0f64, 0.0f64));
    let target = Memo::new(move |_| session.selection.with(|s| (s.layer, s.head, s.strongest, s.source)));
    // A head as before (its slice is shared with the other views), else the aggregate.
    let kind = Memo::new(move |_| {
        session.selection.with(|s| match s.source {
            SourceKind::Head => SliceKind::Head { layer: s.layer, head: s.head },
            _ => SliceKind::Matrix { layer: s.layer, source: s.source() },
        })
    });
    let refused = move || session.refusal(kind.get());
    // A refusal is this run's answer too: the status must not wait for a picture.
    Effect::new(move |_| {
        if refused().is_some() {
            session.mark_drawn();
        }
    });

    Effect::new(move |_| {
        session.width_tick.track();
        let (layer, head, strongest, source) = target.get();
        let Some(slice) = session.slice(kind.get()) else { return };
        let (Some(canvas), Some(overlay)) = (canvas_ref.get(), overlay_ref.get()) else { return };
        let axis = session.axis.get();
        let m = axis.len();
        if slice.dims != [m, m] {
            return;
        }
        let started = canvas::now_ms();
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let max = match session.selection.with(|s| s.scale) {
            ScaleMode::HeadMax => head_max(&slice.data),
            ScaleMode::Unit => 1.0,
        };
        let shown = keep_strongest(&slice.data, m, strongest);
        let wrap: Option<web_sys::HtmlElement> = wrap_ref.get().map(|w| w.unchecked_into());
        let avail = canvas::avail_width(wrap.as_ref());
        let palette = session.theme.get().palette();
        let colours = Scale::Weights(ColourScale::new(max));
        let Some(mut d) = draw_base(&canvas, &axis, &shown, colours, palette, avail) else { return };
        // An embed fits the matrix in its iframe's height too: draw again, narrower (the cells
        // shrink with the width; the labels do not, hence a few rounds).
        if let Some(room) = canvas::embed_room(wrap.as_ref()) {
            for _ in 0..4 {
                if d.layout.height <= room {
                    break;
                }
                let narrower = (d.layout.width - (d.layout.height - room) - 1.0).max(120.0).floor();
                let Some(again) = draw_base(&canvas, &axis, &shown, colours, palette, narrower) else { return };
                d = again;
            }
        }
        let overlay: HtmlCanvasElement = overlay.unchecked_into();
        let _ = canvas::prepare(&overlay, d.layout.width, d.layout.height);
        canvas::set_attrs(
            &canvas,
            &[
                ("data-layer", layer.to_string()),
                ("data-head", head.to_string()),
                ("data-source", source.name().to_string()),
            ],
        );
        canvas::record_draw(&canvas, started);
        session.mark_drawn();
        drawn.set_value(Some(Drawn {
            values: slice.data.clone(),
            ..d
        }));
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
        <Show when=move || refused().is_some()>
            <p class="note error-note" data-testid="slice-refused">{move || refused().unwrap_or_default()}</p>
        </Show>
        <div class="canvas-wrap" class:hidden=move || refused().is_some() node_ref=wrap_ref tabindex="0" role="img" aria-label="Attention heatmap" on:keydown=on_key>
            <canvas data-testid="heatmap" node_ref=canvas_ref on:mousemove=on_move on:mouseleave=move |_| hover.set(None)></canvas>
            <canvas class="overlay" data-testid="heatmap-overlay" node_ref=overlay_ref></canvas>
            <Tooltip testid="tooltip" text=Signal::derive(tooltip) pos=tooltip_pos/>
        </div>
    }
}
