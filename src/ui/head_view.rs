//! BertViz's head view on canvas: "from" tokens left, "to" tokens right, one line per weight
//! whose opacity is the weight, one colour per head. Hover (or tap) a token to keep only its
//! lines — drawn on an overlay that veils the base picture, so hover never redraws the base —
//! and read its weights per head in the strip below.

use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent, MouseEvent};

use super::canvas;
use super::head_chips::HeadChips;
use super::head_view_draw::{draw_base, draw_focus, draw_strip, Lines, LINE_BUDGET, MIN_WEIGHT};
use super::selection::{step, SourceKind};
use super::slices::SliceData;
use super::session::Session;
use super::tooltip::Tooltip;
use crate::analysis::PairFilter;
use crate::protocol::SliceKind;
use crate::viz::{format_weight, HeadViewLayout, Side, StripLayout};

const MAX_LABEL_PX: f64 = 120.0;

#[component]
pub fn HeadView(session: Session) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    let strip_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let lines = StoredValue::new(None::<Lines>);
    let strip_layout = StoredValue::new(None::<StripLayout>);
    let hover = RwSignal::new(None::<(Side, usize)>);
    let pinned = RwSignal::new(None::<(Side, usize)>);
    let strip_hover = RwSignal::new(None::<(usize, usize)>);
    let strip_pos = RwSignal::new((0.0f64, 0.0f64));
    // Bumped after each base drawing, so the focus overlay and the strip follow it.
    let base_tick = RwSignal::new(0u64);
    // The weakest weight drawn when the line budget cut the faintest lines (for the caption).
    let budget_cut = RwSignal::new(None::<f32>);
    let target = Memo::new(move |_| session.selection.with(|s| (s.layer, s.active_heads(), s.strongest, s.pair_filter, s.source)));
    // Each shown head, or one aggregate of the shown heads drawn as a single set of lines.
    let kind = Memo::new(move |_| {
        session.selection.with(|s| match s.source {
            SourceKind::Head => SliceKind::Layer { layer: s.layer },
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
    let focus = move || hover.get().or(pinned.get());
    let has_pair = move || session.axis.with(|a| a.iter().any(|u| u.segment == 1));

    // Base picture: every line of every shown head.
    Effect::new(move |_| {
        session.width_tick.track();
        let (layer, heads, strongest, filter, source) = target.get();
        let Some(slice) = session.slice(kind.get()) else { return };
        let palette = session.theme.get().palette();
        let aggregate = source.is_aggregate().then_some((source.name(), palette.accent));
        let (slice, heads) = match aggregate {
            Some(_) => (Arc::new(SliceData { dims: [&[1][..], &slice.dims[..]].concat(), data: slice.data.clone() }), vec![0]),
            None => (slice, heads),
        };
        let (Some(canvas), Some(overlay)) = (canvas_ref.get(), overlay_ref.get()) else { return };
        let axis = session.axis.get();
        let m = axis.len();
        let Some(&total_heads) = slice.dims.first() else { return };
        if slice.dims != [total_heads, m, m] {
            return;
        }
        let started = canvas::now_ms();
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let Some(measure) = canvas::context(&canvas) else { return };
        measure.set_font(canvas::FONT);
        let (labels, label_w) = canvas::fit_all_cached("head", &measure, axis.iter().map(|u| u.label.clone()).collect(), MAX_LABEL_PX);
        let b_start = axis.iter().position(|u| u.segment == 1);
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let layout = HeadViewLayout::new(m, label_w, avail, b_start);
        let mut l = Lines {
            layout,
            labels,
            segments: axis.iter().map(|u| u.segment).collect(),
            special: axis.iter().map(|u| u.special).collect(),
            heads,
            data: slice.clone(),
            strongest,
            filter,
            cutoff: MIN_WEIGHT,
            aggregate,
        };
        l.fit_budget();
        let count = draw_base(&canvas, &l, palette);
        let overlay: HtmlCanvasElement = overlay.unchecked_into();
        let _ = canvas::prepare(&overlay, layout.width, layout.height);
        canvas::set_attrs(
            &canvas,
            &[
                ("data-n", m.to_string()),
                ("data-layer", layer.to_string()),
                ("data-source", source.name().to_string()),
                ("data-heads", l.heads.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",")),
                ("data-filter", filter.name().to_string()),
                ("data-line-count", count.to_string()),
                ("data-min-weight", l.cutoff.to_string()),
                ("data-left-x", layout.left_x.to_string()),
                ("data-right-x", layout.right_x.to_string()),
                ("data-ys", (0..m).map(|i| format!("{:.1}", layout.y(i))).collect::<Vec<_>>().join(",")),
                ("data-labels", l.labels.join("\u{1f}")),
            ],
        );
        canvas::record_draw(&canvas, started);
        session.mark_drawn();
        let cut = (l.cutoff > MIN_WEIGHT).then_some(l.cutoff);
        if budget_cut.get_untracked() != cut {
            budget_cut.set(cut);
        }
        lines.set_value(Some(l));
        base_tick.update(|t| *t += 1);
    });

    // Focus: the overlay and the strip only.
    Effect::new(move |_| {
        let f = focus();
        base_tick.track();
        let palette = session.theme.get_untracked().palette();
        if let Some(overlay) = overlay_ref.get() {
            draw_focus(&overlay.unchecked_into(), lines, f, palette);
        }
        if let Some(strip) = strip_ref.get() {
            let strip: HtmlCanvasElement = strip.unchecked_into();
            let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
            strip_layout.set_value(draw_strip(&strip, lines, f, palette, avail));
        }
    });

    // Hovering a token's label focuses it; crossing the lines changes nothing. Leaving the
    // picture keeps a hovered token focused (so the pointer can travel to its strip) unless one
    // is pinned, which then takes the focus back; leaving picture and strip clears the hover.
    let on_move = move |ev: MouseEvent| {
        let at = lines.with_value(|l| l.as_ref().and_then(|l| l.layout.label_at(ev.offset_x() as f64, ev.offset_y() as f64)));
        if at.is_some() && at != hover.get_untracked() {
            hover.set(at);
        }
    };
    let on_leave = move |_| {
        if pinned.get_untracked().is_some() {
            hover.set(None);
        }
    };
    // Click (or tap) pins the focus, so touch screens get it too; clicking it again unpins.
    let on_click = move |ev: MouseEvent| {
        let at = lines.with_value(|l| l.as_ref().and_then(|l| l.layout.token_at(ev.offset_x() as f64, ev.offset_y() as f64)));
        pin(session, pinned, if at == pinned.get_untracked() { None } else { at });
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some(n) = lines.with_value(|l| l.as_ref().map(|l| l.layout.n)) else { return };
        let (side, i) = pinned.get_untracked().unwrap_or((Side::From, 0));
        let next = match ev.key().as_str() {
            "ArrowUp" => Some((side, step(i, -1, n))),
            "ArrowDown" => Some((side, step(i, 1, n))),
            "ArrowLeft" => Some((Side::From, i)),
            "ArrowRight" => Some((Side::To, i)),
            "Escape" => None,
            _ => return,
        };
        ev.prevent_default();
        pin(session, pinned, next);
    };
    let on_strip_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        strip_pos.set((x, y));
        let cell = strip_layout.with_value(|s| s.as_ref().and_then(|s| s.cell_at(x, y)));
        if cell != strip_hover.get_untracked() {
            strip_hover.set(cell);
        }
    };
    let strip_tip = move || {
        let (row, col) = strip_hover.get()?;
        let f = focus()?;
        lines.with_value(|l| {
            let l = l.as_ref()?;
            let h = *l.heads.get(row)?;
            let w = l.focus_weight(h, f, col)?;
            let (from, to) = match f.0 {
                Side::From => (l.labels.get(f.1)?, l.labels.get(col)?),
                Side::To => (l.labels.get(col)?, l.labels.get(f.1)?),
            };
            let who = l.aggregate.map_or_else(|| format!("head {h}"), |(name, _)| name.to_string());
            Some(format!("{who} · {from} → {to} : {}", format_weight(w)))
        })
    };

    view! {
        <div class="head-controls">
            <HeadChips session=session/>
            <Show when=has_pair>
                <label>"Sentences "<select data-testid="pair-filter" on:change=move |ev| {
                    let f = PairFilter::from_name(&event_target_value(&ev)).unwrap_or_default();
                    session.selection.update(|s| s.pair_filter = f);
                }>
                    {PairFilter::ALL.into_iter().map(|f| view! {
                        <option value=f.name() selected=move || session.selection.with(|s| s.pair_filter == f)>{f.label()}</option>
                    }).collect_view()}
                </select></label>
            </Show>
        </div>
        <p class="caption">"Left: the token attending (from). Right: the token attended to. Line opacity is the weight; one colour per head. Hover or tap a token to see only its lines; arrow keys move the focus."</p>
        <Show when=move || budget_cut.get().is_some()>
            <p class="note" data-testid="line-budget-note">{move || format!(
                "Showing the {LINE_BUDGET} strongest lines (weights ≥ {:.3}); hover a token to see all of its lines.",
                budget_cut.get().unwrap_or_default()
            )}</p>
        </Show>
        <Show when=move || refused().is_some()>
            <p class="note error-note" data-testid="slice-refused">{move || refused().unwrap_or_default()}</p>
        </Show>
        <div class="head-area" class:hidden=move || refused().is_some() on:mouseleave=move |_| hover.set(None)>
        <div class="canvas-wrap" node_ref=wrap_ref tabindex="0" role="img" aria-label="Head view" on:keydown=on_key>
            <canvas data-testid="head-view" node_ref=canvas_ref
                data-focus=move || focus().map(|(s, i)| format!("{}:{i}", s.name())).unwrap_or_default()
                on:mousemove=on_move on:mouseleave=on_leave on:click=on_click></canvas>
            <canvas class="overlay" data-testid="head-view-overlay" node_ref=overlay_ref></canvas>
        </div>
        <div class="canvas-wrap strip-wrap" class:hidden=move || focus().is_none()>
            <p class="caption">{move || focus().map(|(s, _)| match s {
                Side::From => "Where the focused token attends, per head (hover for the numbers):",
                Side::To => "Who attends to the focused token, per head (hover for the numbers):",
            })}</p>
            <canvas data-testid="head-strip" node_ref=strip_ref on:mousemove=on_strip_move
                on:mouseleave=move |_| strip_hover.set(None)></canvas>
            <Tooltip testid="strip-tooltip" text=Signal::derive(strip_tip) pos=strip_pos dy=40.0/>
        </div>
        </div>
    }
}

/// Pins the focus and shares its token with the other views.
fn pin(session: Session, pinned: RwSignal<Option<(Side, usize)>>, at: Option<(Side, usize)>) {
    pinned.set(at);
    if let Some((_, unit)) = at {
        let raw = session.axis.with_untracked(|a| a.get(unit).and_then(|u| u.members.first().copied()));
        session.selection.update(|s| s.token = raw);
    }
}
