//! BertViz's neuron view, without patched models: for one layer, head and "from" token, its
//! query q, each key k_j, the elementwise q∘k_j, the score q·k_j/√d and the softmax, as signed
//! bars (blue positive, orange negative). The engine computes q and k only when this view asks.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent};

use super::canvas::{self, Ctx};
use super::selection::step;
use super::session::Session;
use super::tooltip::Tooltip;
use super::theme::Palette;
use crate::analysis::{neuron_row, NeuronRow};
use crate::protocol::SliceKind;
use crate::viz::{format_weight, NeuronHit, NeuronLayout};

const POSITIVE: &str = "#2b6cb0";
const NEGATIVE: &str = "#dd6b20";
const MAX_LABEL_PX: f64 = 110.0;

struct Drawn {
    layout: NeuronLayout,
    labels: Vec<String>,
    from: usize,
    row: NeuronRow,
    /// Every key k_j, `[n, d]`.
    keys: Vec<f32>,
    /// Which tokens are [CLS], [SEP] and the like (greyed, as in the other views).
    special: Vec<bool>,
}

#[component]
pub fn NeuronView(session: Session) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let drawn = StoredValue::new(None::<Drawn>);
    let hover = RwSignal::new(None::<NeuronHit>);
    let pos = RwSignal::new((0.0f64, 0.0f64));
    let target = Memo::new(move |_| session.selection.with(|s| (s.layer, s.head, s.token.unwrap_or(0))));

    Effect::new(move |_| {
        session.width_tick.track();
        let (layer, head, from) = target.get();
        let Some(slice) = session.slice(SliceKind::QueryKey { layer, head }) else { return };
        let Some(canvas) = canvas_ref.get() else { return };
        let [2, n, d] = slice.dims[..] else { return };
        let Some((q, k)) = slice.data.split_at_checked(n * d) else { return };
        let from = from.min(n.saturating_sub(1));
        let Some(row) = neuron_row(q, k, n, d, from) else { return };
        let started = canvas::now_ms();
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let Some(measure) = canvas::context(&canvas) else { return };
        measure.set_font(canvas::FONT);
        let tokens = session.run.with(|r| r.as_ref().map(|r| r.tokens.iter().map(|t| t.text.clone()).collect::<Vec<_>>()));
        let special = session.run.with(|r| r.as_ref().map(|r| r.tokens.iter().map(|t| t.special).collect::<Vec<_>>()));
        let (labels, label_w) = canvas::fit_all(&measure, tokens.unwrap_or_default().into_iter(), MAX_LABEL_PX);
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let layout = NeuronLayout::new(n, d, label_w, avail);
        let palette = session.theme.get().palette();
        let Some(ctx) = canvas::prepare(&canvas, layout.width, layout.height) else { return };
        let d2 = Drawn { layout, labels, from, row, keys: k.to_vec(), special: special.unwrap_or_default() };
        draw(&ctx, &d2, palette);
        canvas::set_attrs(
            &canvas,
            &[
                ("data-layer", layer.to_string()),
                ("data-head", head.to_string()),
                ("data-token", from.to_string()),
                ("data-n", n.to_string()),
                ("data-d", d.to_string()),
                ("data-dim-w", layout.dim_w.to_string()),
                ("data-k-x", layout.k_x.to_string()),
                ("data-p-x", layout.p_x.to_string()),
                ("data-s-x", layout.s_x.to_string()),
                ("data-prob-x", layout.prob_x.to_string()),
                ("data-bar-w", layout.bar_w.to_string()),
                ("data-q-y", (layout.q_y + layout.q_h() / 2.0).to_string()),
                ("data-rows-y", layout.rows_y.to_string()),
                ("data-row-h", layout.row_h.to_string()),
            ],
        );
        canvas::record_draw(&canvas, started);
        session.mark_drawn();
        drawn.set_value(Some(d2));
    });

    let hit = move |ev: &MouseEvent| drawn.with_value(|d| d.as_ref().and_then(|d| d.layout.hit(ev.offset_x() as f64, ev.offset_y() as f64)));
    let set_from = move |t: usize| session.selection.update(|s| s.token = Some(t));
    let on_move = move |ev: MouseEvent| {
        pos.set((ev.offset_x() as f64, ev.offset_y() as f64));
        let h = hit(&ev);
        if h != hover.get_untracked() {
            hover.set(h);
        }
    };
    let on_click = move |ev: MouseEvent| match hit(&ev) {
        Some(NeuronHit::Label { token } | NeuronHit::Key { token, .. } | NeuronHit::Product { token, .. })
        | Some(NeuronHit::Score { token } | NeuronHit::Prob { token }) => set_from(token),
        _ => {}
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some((from, n)) = drawn.with_value(|d| d.as_ref().map(|d| (d.from, d.layout.n))) else { return };
        let delta = match ev.key().as_str() {
            "ArrowUp" => -1,
            "ArrowDown" => 1,
            _ => return,
        };
        ev.prevent_default();
        set_from(step(from, delta, n));
    };
    let tooltip = move || {
        let h = hover.get()?;
        drawn.with_value(|d| {
            let d = d.as_ref()?;
            let dd = d.layout.d;
            let name = |t: usize| d.labels.get(t).cloned();
            Some(match h {
                NeuronHit::Query { dim } => format!("q[{dim}] ({}) = {}", name(d.from)?, format_weight(*d.row.query.get(dim)?)),
                NeuronHit::Key { token, dim } => format!("k[{dim}] ({}) = {}", name(token)?, format_weight(*key(d, token, dim)?)),
                NeuronHit::Product { token, dim } => {
                    format!("q∘k[{dim}] ({}) = {}", name(token)?, format_weight(*d.row.products.get(token * dd + dim)?))
                }
                NeuronHit::Score { token } => format!("q·k/√d ({}) = {}", name(token)?, format_weight(*d.row.scores.get(token)?)),
                NeuronHit::Prob { token } => format!("softmax ({}) = {}", name(token)?, format_weight(*d.row.probs.get(token)?)),
                NeuronHit::Label { token } => format!("{}: click to make it the query token", name(token)?),
            })
        })
    };

    view! {
        <p class="caption">"Why the head attends where it does: the query of the focused token (click a row, or use ↑/↓, to change it) against every key. Bars: blue positive, orange negative. Works on word pieces; merging and hiding do not apply here."</p>
        <div class="canvas-wrap" node_ref=wrap_ref tabindex="0" role="img" aria-label="Neuron view" on:keydown=on_key>
            <canvas data-testid="neuron-view" node_ref=canvas_ref on:mousemove=on_move
                on:mouseleave=move |_| hover.set(None) on:click=on_click></canvas>
            <Tooltip testid="neuron-tooltip" text=Signal::derive(tooltip) pos=pos/>
        </div>
    }
}

/// k_j[dim].
fn key(d: &Drawn, token: usize, dim: usize) -> Option<&f32> {
    d.keys.get(token * d.layout.d + dim)
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |a, x| a.max(x.abs())).max(f32::MIN_POSITIVE)
}

/// Vertical signed bars for a vector, centred on `mid`.
fn bars(ctx: &Ctx, x0: f64, dim_w: f64, mid: f64, half: f64, v: &[f32], scale: f32) {
    for (k, x) in v.iter().enumerate() {
        let h = (*x / scale) as f64 * half;
        ctx.set_fill_style_str(if *x >= 0.0 { POSITIVE } else { NEGATIVE });
        let left = x0 + k as f64 * dim_w;
        ctx.fill_rect(left, mid - h.max(0.0), (dim_w - 0.5).max(1.0), h.abs().max(0.5));
    }
}

fn draw(ctx: &Ctx, d: &Drawn, palette: Palette) {
    let l = &d.layout;
    ctx.set_fill_style_str(palette.background);
    ctx.fill_rect(0.0, 0.0, l.width, l.height);
    ctx.set_fill_style_str(palette.muted);
    ctx.set_text_baseline("middle");
    ctx.set_text_align("left");
    for (x, title) in [(l.k_x, "key k"), (l.p_x, "q∘k"), (l.s_x, "q·k/√d"), (l.prob_x, "softmax")] {
        let _ = ctx.fill_text(title, x, l.title_y + 8.0);
    }
    // The query row, aligned with the key block so q[i] sits above every k_j[i].
    ctx.set_text_align("right");
    ctx.set_fill_style_str(palette.accent);
    let _ = ctx.fill_text(&format!("q: {}", d.labels.get(d.from).map(String::as_str).unwrap_or("")), l.label_x, l.q_y + l.q_h() / 2.0);
    bars(ctx, l.k_x, l.dim_w, l.q_y + l.q_h() / 2.0, l.q_h() / 2.0 - 1.0, &d.row.query, max_abs(&d.row.query));
    let (ks, ps) = (max_abs(&d.keys), max_abs(&d.row.products));
    let ss = max_abs(&d.row.scores);
    for j in 0..l.n {
        let mid = l.row_mid(j);
        if j == d.from {
            ctx.set_fill_style_str(palette.accent);
            ctx.set_global_alpha(0.12);
            ctx.fill_rect(0.0, mid - l.row_h / 2.0, l.width, l.row_h);
            ctx.set_global_alpha(1.0);
        }
        let colour = if j == d.from {
            palette.accent
        } else if d.special.get(j).copied().unwrap_or(false) {
            palette.muted
        } else {
            palette.text
        };
        ctx.set_fill_style_str(colour);
        let _ = ctx.fill_text(d.labels.get(j).map(String::as_str).unwrap_or(""), l.label_x, mid);
        let half = l.row_h / 2.0 - 1.5;
        if let Some(k) = d.keys.get(j * l.d..(j + 1) * l.d) {
            bars(ctx, l.k_x, l.dim_w, mid, half, k, ks);
        }
        if let Some(p) = d.row.products.get(j * l.d..(j + 1) * l.d) {
            bars(ctx, l.p_x, l.dim_w, mid, half, p, ps);
        }
        let s = d.row.scores.get(j).copied().unwrap_or(0.0);
        let w = (s / ss) as f64 * l.bar_w / 2.0;
        ctx.set_fill_style_str(if s >= 0.0 { POSITIVE } else { NEGATIVE });
        ctx.fill_rect(l.s_x + l.bar_w / 2.0 + w.min(0.0), mid - half, w.abs().max(0.5), 2.0 * half);
        ctx.set_fill_style_str(POSITIVE);
        let p = d.row.probs.get(j).copied().unwrap_or(0.0) as f64;
        ctx.fill_rect(l.prob_x, mid - half, p * l.bar_w, 2.0 * half);
    }
    ctx.set_stroke_style_str(palette.muted);
    ctx.set_line_width(1.0);
    ctx.stroke_rect(l.s_x, l.rows_y, l.bar_w, l.n as f64 * l.row_h);
    ctx.stroke_rect(l.prob_x, l.rows_y, l.bar_w, l.n as f64 * l.row_h);
}
