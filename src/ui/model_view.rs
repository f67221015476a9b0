//! BertViz's model view: every layer × head as a thumbnail of its head-view lines, the whole
//! grid on one screen. The worker shrinks each head to at most [`THUMB_SIDE`]² before sending
//! (at 512 tokens the full tensor is 151 MB for bert-base; the thumbnails are 600 KB).
//! Hover shows the head's entropy; a click opens that head in the heatmap.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent};

use super::canvas;
use super::selection::{step, ViewKind};
use super::session::Session;
use super::tooltip::Tooltip;
use super::theme::Palette;
use crate::protocol::SliceKind;
use crate::viz::{head_colour, GridLayout};

/// Thumbnails rarely exceed 60 px, so more than 32 rows per side would not show.
pub const THUMB_SIDE: usize = 32;
/// Weights under this are not drawn (invisible at thumbnail size).
const MIN_WEIGHT: f32 = 0.02;
const LEVELS: usize = 12;

#[component]
pub fn ModelView(session: Session) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let grid = StoredValue::new(None::<(GridLayout, Vec<f32>)>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let pos = RwSignal::new((0.0f64, 0.0f64));
    let base_tick = RwSignal::new(0u64);

    Effect::new(move |_| {
        session.width_tick.track();
        let Some(slice) = session.slice(SliceKind::Thumbnails { side: THUMB_SIDE }) else { return };
        let (Some(canvas), Some(overlay)) = (canvas_ref.get(), overlay_ref.get()) else { return };
        let [layers, heads, s, _] = slice.dims[..] else { return };
        let started = canvas::now_ms();
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let avail_w = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        // Fit the grid in the window's height less room for the view's own controls.
        let layout = GridLayout::new(layers, heads, avail_w, canvas::window_height() - 60.0);
        let palette = session.theme.get().palette();
        let Some(ctx) = canvas::prepare(&canvas, layout.width, layout.height) else { return };
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(0.0, 0.0, layout.width, layout.height);
        draw_grid(&ctx, &layout, &slice.data, s, palette);
        let entropies = slice.data.get(layers * heads * s * s..).map(<[f32]>::to_vec).unwrap_or_default();
        let overlay: HtmlCanvasElement = overlay.unchecked_into();
        let _ = canvas::prepare(&overlay, layout.width, layout.height);
        canvas::set_attrs(
            &canvas,
            &[
                ("data-layers", layers.to_string()),
                ("data-heads", heads.to_string()),
                ("data-thumb", layout.thumb.to_string()),
                ("data-gap", layout.gap.to_string()),
                ("data-origin-x", layout.origin.0.to_string()),
                ("data-origin-y", layout.origin.1.to_string()),
                ("data-side", s.to_string()),
            ],
        );
        canvas::record_draw(&canvas, started);
        session.mark_drawn();
        grid.set_value(Some((layout, entropies)));
        base_tick.update(|t| *t += 1);
    });

    // Overlay: the hovered thumbnail and the selected head.
    Effect::new(move |_| {
        base_tick.track();
        let h = hover.get();
        let selected = session.selection.with(|s| (s.layer, s.head));
        let palette = session.theme.get_untracked().palette();
        let Some(overlay) = overlay_ref.get() else { return };
        let Some(ctx) = canvas::clear(&overlay.unchecked_into()) else { return };
        grid.with_value(|g| {
            let Some((layout, _)) = g else { return };
            for ((l, hd), width, colour) in [(Some(selected), 2.0, palette.muted), (h, 3.0, palette.accent)]
                .into_iter()
                .filter_map(|(at, w, c)| at.map(|a| (a, w, c)))
            {
                let r = layout.rect(l, hd);
                ctx.set_stroke_style_str(colour);
                ctx.set_line_width(width);
                ctx.stroke_rect(r.x - 1.5, r.y - 1.5, r.w + 3.0, r.h + 3.0);
            }
        });
    });

    let at = move |x: f64, y: f64| grid.with_value(|g| g.as_ref().and_then(|(l, _)| l.at(x, y)));
    let open = move |(layer, head): (usize, usize)| {
        session.selection.update(|s| {
            s.layer = layer;
            s.head = head;
            s.view = ViewKind::Heatmap;
        });
    };
    let on_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        pos.set((x, y));
        let cell = at(x, y);
        if cell != hover.get_untracked() {
            hover.set(cell);
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some((layers, heads)) = grid.with_value(|g| g.as_ref().map(|(l, _)| (l.layers, l.heads))) else { return };
        let (l, h) = session.selection.with_untracked(|s| (s.layer, s.head));
        let next = match ev.key().as_str() {
            "ArrowUp" => (step(l, -1, layers), h),
            "ArrowDown" => (step(l, 1, layers), h),
            "ArrowLeft" => (l, step(h, -1, heads)),
            "ArrowRight" => (l, step(h, 1, heads)),
            "Enter" => {
                open((l, h));
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        session.selection.update(|s| {
            s.layer = next.0;
            s.head = next.1;
        });
        if let Some(r) = grid.with_value(|g| g.as_ref().map(|(lay, _)| lay.rect(next.0, next.1))) {
            pos.set((r.x + r.w / 2.0, r.y + r.h / 2.0));
        }
        hover.set(Some(next));
    };
    let tooltip = move || {
        let (l, h) = hover.get()?;
        let e = grid.with_value(|g| g.as_ref().and_then(|(lay, e)| e.get(l * lay.heads + h).copied()))?;
        Some(format!("Layer {l} · Head {h} · entropy {e:.3} nats"))
    };

    view! {
        <p class="caption">"Every head of every layer (rows: layers, columns: heads). Hover for the head's entropy (high = broad attention); click, or Enter, to open it in the heatmap."</p>
        <div class="canvas-wrap" node_ref=wrap_ref tabindex="0" role="img" aria-label="Model view" on:keydown=on_key>
            <canvas data-testid="model-view" node_ref=canvas_ref on:mousemove=on_move
                on:mouseleave=move |_| hover.set(None)
                on:click=move |ev: MouseEvent| if let Some(c) = at(ev.offset_x() as f64, ev.offset_y() as f64) { open(c) }></canvas>
            <canvas class="overlay" node_ref=overlay_ref></canvas>
            <Tooltip testid="model-tooltip" text=Signal::derive(tooltip) pos=pos/>
        </div>
    }
}

/// Each thumbnail: its frame and its lines (left column "from", right column "to").
fn draw_grid(ctx: &canvas::Ctx, layout: &GridLayout, data: &[f32], s: usize, palette: Palette) {
    ctx.set_text_baseline("middle");
    ctx.set_text_align("center");
    ctx.set_fill_style_str(palette.muted);
    for h in 0..layout.heads {
        let r = layout.rect(0, h);
        let _ = ctx.fill_text(&format!("H{h}"), r.x + r.w / 2.0, layout.origin.1 - 9.0);
    }
    ctx.set_text_align("right");
    for l in 0..layout.layers {
        let r = layout.rect(l, 0);
        let _ = ctx.fill_text(&format!("L{l}"), layout.origin.0 - 6.0, r.y + r.h / 2.0);
    }
    ctx.set_line_width(1.0);
    for l in 0..layout.layers {
        for h in 0..layout.heads {
            let r = layout.rect(l, h);
            ctx.set_global_alpha(1.0);
            ctx.set_stroke_style_str(palette.muted);
            ctx.set_global_alpha(0.35);
            ctx.stroke_rect(r.x + 0.5, r.y + 0.5, r.w - 1.0, r.h - 1.0);
            let Some(m) = data.get((l * layout.heads + h) * s * s..(l * layout.heads + h + 1) * s * s) else { continue };
            let (x0, x1) = (r.x + r.w * 0.2, r.x + r.w * 0.8);
            let y = |i: usize| r.y + 3.0 + (i as f64 + 0.5) * (r.h - 6.0) / s as f64;
            let mut buckets: Vec<Vec<(usize, usize)>> = vec![Vec::new(); LEVELS];
            for (k, w) in m.iter().enumerate().filter(|(_, w)| **w >= MIN_WEIGHT) {
                let level = ((w.min(1.0) * LEVELS as f32).ceil() as usize).clamp(1, LEVELS) - 1;
                buckets[level].push((k / s, k % s));
            }
            ctx.set_stroke_style_str(&head_colour(h).css());
            for (level, segs) in buckets.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                ctx.set_global_alpha((level + 1) as f64 / LEVELS as f64);
                ctx.begin_path();
                for &(i, j) in segs {
                    ctx.move_to(x0, y(i));
                    ctx.line_to(x1, y(j));
                }
                ctx.stroke();
            }
        }
    }
    ctx.set_global_alpha(1.0);
}
