//! Drawing of the head view: the base picture (labels and every line), the focus overlay and
//! the per-head strip. Geometry comes from [`crate::viz::HeadViewLayout`].

use std::sync::Arc;

use leptos::prelude::*;
use web_sys::HtmlCanvasElement;

use super::canvas::{self, Ctx, FONT_PX};
use super::slices::SliceData;
use super::theme::Palette;
use crate::analysis::{cutoff_for_budget, passes, PairFilter, Strongest};
use crate::viz::{head_colour, ColourScale, HeadViewLayout, Side, StripLayout};

/// Weights under this are not drawn: at this opacity a line is invisible anyway, and skipping
/// them keeps 12 heads × 128² candidate lines down to the few thousand that show.
pub const MIN_WEIGHT: f32 = 0.01;
/// At most this many lines in the base picture (the strongest): a software canvas rasterises
/// about 150 translucent lines per millisecond (2500 took 16.6 ms in headless Chromium on the
/// development machine), so this keeps a redraw within a frame. The focus overlay still draws
/// every line of the focused token.
pub const LINE_BUDGET: usize = 1500;
/// Opacity levels: lines are batched into one path per head and level (a few hundred strokes
/// instead of one per line).
const LEVELS: usize = 24;

pub type Focus = Option<(Side, usize)>;

/// Everything drawn in the base picture, kept for the overlay, the strip and hit-testing.
pub struct Lines {
    pub layout: HeadViewLayout,
    pub labels: Vec<String>,
    pub segments: Vec<u8>,
    pub special: Vec<bool>,
    /// The heads shown, ascending.
    pub heads: Vec<usize>,
    /// `[all heads, m, m]`.
    pub data: Arc<SliceData>,
    pub strongest: Strongest,
    pub filter: PairFilter,
    /// The weakest weight the base picture draws (at least [`MIN_WEIGHT`]; more when the line
    /// budget cuts the faintest lines).
    pub cutoff: f32,
    /// An aggregate drawn as one "head" (`data` is then `[1, m, m]`): its short name for the
    /// strip and its line colour, instead of a head's number and colour.
    pub aggregate: Option<(&'static str, &'static str)>,
}

impl Lines {
    fn row(&self, h: usize, i: usize) -> Option<&[f32]> {
        let m = self.layout.n;
        self.data.data.get((h * m + i) * m..(h * m + i + 1) * m)
    }

    /// Whether line (i → j) of head `h` passes the filters and `min`, and its weight.
    fn shown(&self, h: usize, i: usize, j: usize, min: f32) -> Option<f32> {
        let row = self.row(h, i)?;
        let w = *row.get(j)?;
        let allowed = self.filter.allows(*self.segments.get(i)?, *self.segments.get(j)?);
        (allowed && w >= min && passes(row, j, self.strongest)).then_some(w)
    }

    /// Sets [`Lines::cutoff`] so the base picture keeps within [`LINE_BUDGET`].
    pub fn fit_budget(&mut self) {
        let m = self.layout.n;
        let mut weights = Vec::new();
        for &h in &self.heads {
            for i in 0..m {
                weights.extend((0..m).filter_map(|j| self.shown(h, i, j, MIN_WEIGHT)));
            }
        }
        self.cutoff = cutoff_for_budget(&mut weights, LINE_BUDGET).map_or(MIN_WEIGHT, |c| c.max(MIN_WEIGHT));
    }

    /// The weight between the focused token and `other`, in the focus's direction.
    pub fn focus_weight(&self, h: usize, focus: (Side, usize), other: usize) -> Option<f32> {
        match focus.0 {
            Side::From => self.row(h, focus.1)?.get(other).copied(),
            Side::To => self.row(h, other)?.get(focus.1).copied(),
        }
    }

    /// The colour of head `h`'s lines (or the aggregate's).
    pub fn colour(&self, h: usize) -> String {
        match self.aggregate {
            Some((_, colour)) => colour.to_string(),
            None => head_colour(h).css(),
        }
    }

    /// The strip's row label of head `h` (or the aggregate's name).
    fn row_label(&self, h: usize) -> String {
        match self.aggregate {
            Some((name, _)) => name.to_string(),
            None => format!("H{h}"),
        }
    }

    /// Strokes the lines that pass `keep`, batched by head and opacity level; returns how many.
    fn stroke(&self, ctx: &Ctx, width: f64, min: f32, keep: impl Fn(usize, usize) -> bool) -> usize {
        let m = self.layout.n;
        let mut count = 0;
        ctx.set_line_width(width);
        for &h in &self.heads {
            let mut buckets: Vec<Vec<(usize, usize)>> = vec![Vec::new(); LEVELS];
            for i in 0..m {
                for j in 0..m {
                    if !keep(i, j) {
                        continue;
                    }
                    if let Some(w) = self.shown(h, i, j, min) {
                        let level = ((w.min(1.0) * LEVELS as f32).ceil() as usize).clamp(1, LEVELS) - 1;
                        buckets[level].push((i, j));
                        count += 1;
                    }
                }
            }
            ctx.set_stroke_style_str(&self.colour(h));
            for (level, segs) in buckets.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
                ctx.set_global_alpha((level + 1) as f64 / LEVELS as f64);
                ctx.begin_path();
                for &(i, j) in segs {
                    let ((x0, y0), (x1, y1)) = self.layout.line(i, j);
                    ctx.move_to(x0, y0);
                    ctx.line_to(x1, y1);
                }
                ctx.stroke();
            }
        }
        ctx.set_global_alpha(1.0);
        count
    }
}

/// Draws labels and every shown line; returns the number of lines.
pub fn draw_base(canvas: &HtmlCanvasElement, l: &Lines, palette: Palette) -> usize {
    let layout = &l.layout;
    let Some(ctx) = canvas::prepare(canvas, layout.width, layout.height) else { return 0 };
    ctx.set_fill_style_str(palette.background);
    ctx.fill_rect(0.0, 0.0, layout.width, layout.height);
    if let Some(b) = layout.b_start {
        // Sentence A and sentence B, set apart by a gap with a dashed rule and their names.
        let y = layout.y(b) - layout.row_h / 2.0 - layout.gap / 2.0;
        ctx.set_stroke_style_str(palette.muted);
        ctx.set_line_width(1.0);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&4.0.into(), &4.0.into()));
        ctx.begin_path();
        ctx.move_to(0.0, y);
        ctx.line_to(layout.width, y);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        ctx.set_fill_style_str(palette.muted);
        ctx.set_text_align("center");
        ctx.set_text_baseline("middle");
        let mid = (layout.left_x + layout.right_x) / 2.0;
        let _ = ctx.fill_text("A ↑   B ↓", mid, y);
    }
    let width = if layout.n <= 48 { 2.0 } else { 1.0 };
    let count = l.stroke(&ctx, width, l.cutoff, |_, _| true);
    draw_labels(&ctx, l, palette);
    count
}

fn draw_labels(ctx: &Ctx, l: &Lines, palette: Palette) {
    let layout = &l.layout;
    let step = layout.label_step(FONT_PX);
    ctx.set_text_baseline("middle");
    for (i, label) in l.labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
        ctx.set_fill_style_str(if l.special.get(i).copied().unwrap_or(false) { palette.muted } else { palette.text });
        ctx.set_text_align("right");
        let _ = ctx.fill_text(label, layout.left_x, layout.y(i));
        ctx.set_text_align("left");
        let _ = ctx.fill_text(label, layout.right_x, layout.y(i));
    }
}

/// The focus overlay: veils the base picture and draws only the focused token's lines.
pub fn draw_focus(overlay: &HtmlCanvasElement, lines: StoredValue<Option<Lines>>, focus: Focus, palette: Palette) {
    let Some(ctx) = canvas::clear(overlay) else { return };
    lines.with_value(|l| {
        let (Some(l), Some((side, t))) = (l.as_ref(), focus) else { return };
        let layout = &l.layout;
        if t >= layout.n {
            return;
        }
        ctx.set_global_alpha(0.78);
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(0.0, 0.0, layout.width, layout.height);
        ctx.set_global_alpha(1.0);
        l.stroke(&ctx, 2.5, MIN_WEIGHT, |i, j| match side {
            Side::From => i == t,
            Side::To => j == t,
        });
        draw_labels(&ctx, l, palette);
        let Some(label) = l.labels.get(t) else { return };
        let y = layout.y(t);
        let w = canvas::text_width(&ctx, label);
        let x = match side {
            Side::From => layout.left_x - w,
            Side::To => layout.right_x,
        };
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(x - 3.0, y - 8.0, w + 6.0, 16.0);
        ctx.set_fill_style_str(palette.accent);
        ctx.set_text_align("left");
        let _ = ctx.fill_text(label, x, y);
    });
}

/// Room for the strip's token labels (drawn upwards above its columns).
const STRIP_LABEL_PX: f64 = 70.0;

fn ctx_for(canvas: &HtmlCanvasElement) -> Option<Ctx> {
    let ctx = canvas::context(canvas)?;
    ctx.set_font(canvas::FONT);
    Some(ctx)
}

/// The per-head strip for the focused token: a row per shown head, a cell per other token.
pub fn draw_strip(strip: &HtmlCanvasElement, lines: StoredValue<Option<Lines>>, focus: Focus, palette: Palette, avail: f64) -> Option<StripLayout> {
    lines.with_value(|l| {
        let l = l.as_ref()?;
        let f = focus.filter(|f| f.1 < l.layout.n)?;
        let m = l.layout.n;
        let measure = ctx_for(strip)?;
        let (labels, _) = canvas::fit_all_cached("strip", &measure, l.labels.clone(), STRIP_LABEL_PX);
        let s = StripLayout::new(l.heads.len(), m, 44.0, STRIP_LABEL_PX + 6.0, avail);
        let ctx = canvas::prepare(strip, s.width, s.height)?;
        ctx.set_fill_style_str(palette.background);
        ctx.fill_rect(0.0, 0.0, s.width, s.height);
        let values: Vec<Vec<f32>> =
            l.heads.iter().map(|&h| (0..m).map(|j| l.focus_weight(h, f, j).unwrap_or(0.0)).collect()).collect();
        let scale = ColourScale::new(values.iter().flatten().copied().fold(0.0, f32::max));
        ctx.set_text_baseline("middle");
        ctx.set_text_align("left");
        let step = s.label_step(FONT_PX);
        for (c, label) in labels.iter().enumerate().filter(|(c, _)| c % step == 0) {
            ctx.set_fill_style_str(if c == f.1 { palette.accent } else { palette.text });
            ctx.save();
            let _ = ctx.translate(s.origin.0 + (c as f64 + 0.5) * s.cell_w, s.origin.1 - 4.0);
            let _ = ctx.rotate(-std::f64::consts::FRAC_PI_2);
            let _ = ctx.fill_text(label, 0.0, 0.0);
            ctx.restore();
        }
        ctx.set_text_align("right");
        for (r, (&h, row)) in l.heads.iter().zip(&values).enumerate() {
            let y = s.origin.1 + r as f64 * s.cell_h;
            ctx.set_fill_style_str(&l.colour(h));
            ctx.fill_rect(s.origin.0 - 14.0, y + 2.0, 10.0, s.cell_h - 4.0);
            ctx.set_fill_style_str(palette.text);
            let _ = ctx.fill_text(&l.row_label(h), s.origin.0 - 18.0, y + s.cell_h / 2.0);
            for (c, w) in row.iter().enumerate() {
                ctx.set_fill_style_str(&scale.colour(*w).css());
                ctx.fill_rect(s.origin.0 + c as f64 * s.cell_w, y, s.cell_w - 1.0, s.cell_h - 1.0);
            }
        }
        canvas::set_attrs(
            strip,
            &[
                ("data-rows", s.rows.to_string()),
                ("data-cols", s.cols.to_string()),
                ("data-origin-x", s.origin.0.to_string()),
                ("data-origin-y", s.origin.1.to_string()),
                ("data-cell-w", s.cell_w.to_string()),
                ("data-cell-h", s.cell_h.to_string()),
            ],
        );
        Some(s)
    })
}
