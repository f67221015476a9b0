//! A bar chart over the tokens (the token focus): one bar per token of the axis, labels below,
//! the chosen tokens' bars in the accent colour, the value on hover.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, MouseEvent};

use super::canvas::{self, FONT_PX};
use super::session::Session;
use super::tooltip::Tooltip;
use crate::viz::{format_weight, head_colour, BarsLayout};

const MAX_LABEL_PX: f64 = 90.0;

/// What a bar chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct BarsData {
    pub labels: Vec<String>,
    pub special: Vec<bool>,
    pub values: Vec<f32>,
    /// Bars drawn in the accent colour (the chosen tokens).
    pub chosen: Vec<bool>,
    /// Bars drawn in the target colour (the token focus' target).
    pub target: Vec<bool>,
}

/// The token focus' target, in the bars and on its chips (`style/main.css`): amber, with white
/// text at 5:1 and apart from the accent in both themes.
pub const TARGET_COLOUR: &str = "#b45309";

#[component]
pub fn BarChart(
    session: Session,
    testid: &'static str,
    tip_testid: &'static str,
    #[prop(into)] data: Signal<Option<BarsData>>,
    /// The tooltip's words before the token ("to", "from").
    label: &'static str,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let layout = StoredValue::new(None::<BarsLayout>);
    let hover = RwSignal::new(None::<usize>);
    let pos = RwSignal::new((0.0f64, 0.0f64));

    Effect::new(move |_| {
        session.width_tick.track();
        let Some(d) = data.get() else { return };
        let Some(canvas) = canvas_ref.get() else { return };
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let Some(measure) = canvas::context(&canvas) else { return };
        measure.set_font(canvas::FONT);
        let (labels, label_w) = canvas::fit_all(&measure, d.labels.iter().cloned(), MAX_LABEL_PX);
        let avail = canvas::avail_width(wrap_ref.get().map(|w| w.unchecked_into()).as_ref());
        let l = BarsLayout::new(d.values.len(), label_w, avail);
        let palette = session.theme.get().palette();
        let Some(ctx) = canvas::prepare(&canvas, l.width, l.height) else { return };
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(0.0, 0.0, l.width, l.height);
        let max = d.values.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
        let max = if max > 0.0 { max } else { 1.0 };
        // Value axis: 0, half and the maximum.
        ctx.set_stroke_style_str(palette.muted);
        ctx.set_line_width(1.0);
        ctx.set_fill_style_str(palette.muted);
        ctx.set_text_align("right");
        ctx.set_text_baseline("middle");
        for k in 0..=2 {
            let v = max * k as f32 / 2.0;
            let y = l.origin.1 - l.plot_h * f64::from(k as f32 / 2.0);
            ctx.set_global_alpha(if k == 0 { 1.0 } else { 0.35 });
            ctx.begin_path();
            ctx.move_to(l.origin.0, y + 0.5);
            ctx.line_to(l.width - 8.0, y + 0.5);
            ctx.stroke();
            ctx.set_global_alpha(1.0);
            let _ = ctx.fill_text(&format!("{v:.3}"), l.origin.0 - 6.0, y);
        }
        let bar_colour = head_colour(0).css();
        for (i, v) in d.values.iter().enumerate() {
            let r = l.bar(i, *v, max);
            let chosen = d.chosen.get(i).copied().unwrap_or(false);
            let target = d.target.get(i).copied().unwrap_or(false);
            ctx.set_fill_style_str(if chosen {
                palette.accent
            } else if target {
                TARGET_COLOUR
            } else {
                &bar_colour
            });
            ctx.fill_rect(r.x, r.y, r.w, r.h);
        }
        let step = l.label_step(FONT_PX);
        ctx.set_text_align("right");
        for (i, text) in labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
            let chosen = d.chosen.get(i).copied().unwrap_or(false);
            let target = d.target.get(i).copied().unwrap_or(false);
            let special = d.special.get(i).copied().unwrap_or(false);
            ctx.set_fill_style_str(if chosen {
                palette.accent
            } else if target {
                TARGET_COLOUR
            } else if special {
                palette.muted
            } else {
                palette.text
            });
            ctx.save();
            let _ = ctx.translate(l.centre(i), l.origin.1 + 6.0);
            let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
            let _ = ctx.fill_text(text, 0.0, 0.0);
            ctx.restore();
        }
        canvas::set_attrs(
            &canvas,
            &[
                ("data-n", d.values.len().to_string()),
                ("data-values", d.values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")),
                ("data-labels", d.labels.join("\u{1f}")),
                ("data-origin-x", l.origin.0.to_string()),
                ("data-origin-y", l.origin.1.to_string()),
                ("data-col", l.col.to_string()),
            ],
        );
        layout.set_value(Some(l));
        session.mark_drawn();
    });

    let on_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        pos.set((x, y));
        let at = layout.with_value(|l| l.as_ref().and_then(|l| l.bar_at(x, y)));
        if at != hover.get_untracked() {
            hover.set(at);
        }
    };
    let tip = move || {
        let i = hover.get()?;
        data.with(|d| {
            let d = d.as_ref()?;
            Some(format!("{label} {} : {}", d.labels.get(i)?, format_weight(*d.values.get(i)?)))
        })
    };

    view! {
        <div class="canvas-wrap" class:stale=move || data.with(Option::is_none) node_ref=wrap_ref>
            <canvas data-testid=testid node_ref=canvas_ref on:mousemove=on_move on:mouseleave=move |_| hover.set(None)></canvas>
            <Tooltip testid=tip_testid text=Signal::derive(tip) pos=pos/>
        </div>
    }
}
