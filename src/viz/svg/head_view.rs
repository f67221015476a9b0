//! The head view as SVG: what `src/ui/head_view_draw.rs`'s `draw_base` draws (the sentence
//! rule of a pair, every shown line batched by head and opacity level, thinned labels), at the
//! same [`HeadViewLayout`], with the same weight floor and line budget, plus a legend of the
//! heads' colours (the page shows them as its head buttons).

use std::fmt::Write;

use super::{begin_view, fit_labels, label, level, num, SvgOptions, SvgWriter, FONT_PX, PAD};
use crate::analysis::{cutoff_for_budget, keep_strongest};
use crate::viz::{head_colour, HeadViewLayout};

/// The page's longest head-view label (`src/ui/head_view.rs`: `MAX_LABEL_PX`).
const MAX_LABEL_PX: f64 = 120.0;
/// Weights under this are not drawn (`src/ui/head_view_draw.rs`: `MIN_WEIGHT`).
pub const MIN_WEIGHT: f32 = 0.01;
/// At most this many lines, the strongest (`src/ui/head_view_draw.rs`: `LINE_BUDGET`).
pub const LINE_BUDGET: usize = 1500;
/// Opacity levels (`src/ui/head_view_draw.rs`: `LEVELS`).
const LEVELS: usize = 24;
/// Width of one legend entry (swatch and `H11`).
const LEGEND_ITEM: f64 = 44.0;
const LEGEND_ROW: f64 = 18.0;

/// One layer's heads (`layer` is `[heads_n, n, n]`, row = from) as BertViz's head view: the
/// `chosen_heads` (out-of-range and repeated ones ignored; drawn in ascending order) as lines
/// from the left column to the right, coloured per head, more opaque for larger weights. As on
/// the page: `opts.strongest` and `opts.pair_filter` choose the lines, weights under
/// [`MIN_WEIGHT`] are left out, and of the rest only the [`LINE_BUDGET`] strongest are drawn.
/// Errors if `layer.len() != heads_n * n * n`.
pub fn head_view_svg(layer: &[f32], heads_n: usize, n: usize, labels: &[String], chosen_heads: &[usize], opts: &SvgOptions) -> Result<String, String> {
    Ok(draw(layer, heads_n, n, labels, chosen_heads, opts)?.0)
}

/// The lines that pass the filters and `MIN_WEIGHT`: `(head, from, to, weight)`, by head
/// ascending, then row-major.
pub(super) fn candidates(layer: &[f32], n: usize, heads: &[usize], opts: &SvgOptions) -> Vec<(usize, usize, usize, f32)> {
    let seg = |i: usize| opts.segments.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    for &h in heads {
        let Some(m) = layer.get(h * n * n..(h + 1) * n * n) else { continue };
        // keep_strongest zeroes what the filter drops, and MIN_WEIGHT > 0 then drops it: the
        // page's per-weight `passes` in O(n² log n) instead of O(n³) for top-k.
        let kept = keep_strongest(m, n, opts.strongest);
        for (k, &w) in kept.iter().enumerate() {
            let (i, j) = (k / n, k % n);
            if w >= MIN_WEIGHT && opts.pair_filter.allows(seg(i), seg(j)) {
                out.push((h, i, j, w));
            }
        }
    }
    out
}

/// The document and the number of lines drawn.
pub(super) fn draw(layer: &[f32], heads_n: usize, n: usize, labels: &[String], chosen_heads: &[usize], opts: &SvgOptions) -> Result<(String, usize), String> {
    if heads_n.checked_mul(n).and_then(|x| x.checked_mul(n)) != Some(layer.len()) {
        return Err(format!("a layer of {heads_n} heads over {n} tokens needs {heads_n}×{n}×{n} weights, not {}", layer.len()));
    }
    let mut heads: Vec<usize> = chosen_heads.iter().copied().filter(|&h| h < heads_n).collect();
    heads.sort_unstable();
    heads.dedup();
    let palette = opts.palette();
    let (labels, label_w) = fit_labels(labels, n, MAX_LABEL_PX);
    let b_start = opts.segments.iter().take(n).position(|&s| s == 1);
    let layout = HeadViewLayout::new(n, label_w, opts.avail_width(), b_start);

    let lines = candidates(layer, n, &heads, opts);
    let mut weights: Vec<f32> = lines.iter().map(|l| l.3).collect();
    let cutoff = cutoff_for_budget(&mut weights, LINE_BUDGET).map_or(MIN_WEIGHT, |c| c.max(MIN_WEIGHT));

    let per_row = (((layout.width - 2.0 * PAD) / LEGEND_ITEM).floor() as usize).max(1);
    let legend_h = if heads.is_empty() { 0.0 } else { heads.len().div_ceil(per_row) as f64 * LEGEND_ROW + 4.0 };
    let title = if opts.title.is_empty() { "Attention head view" } else { &opts.title };
    let mut w = SvgWriter::new(layout.width, layout.height + opts.title_h() + legend_h, title, palette);

    // Legend: a swatch and the name of every head shown.
    w.open("g", &[("class", "legend"), ("transform", &format!("translate(0 {})", num(opts.title_h())))]);
    for (k, &h) in heads.iter().enumerate() {
        let (x, y) = (PAD + (k % per_row) as f64 * LEGEND_ITEM, (k / per_row) as f64 * LEGEND_ROW + LEGEND_ROW / 2.0);
        let c = head_colour(h).css();
        let (sx, sy) = (num(x), num(y - 5.0));
        w.empty("rect", &[("x", &sx), ("y", &sy), ("width", "10"), ("height", "10"), ("fill", &c)]);
        label(&mut w, x + 14.0, y, "start", palette.text, &format!("H{h}"));
    }
    w.close("g");
    begin_view(&mut w, opts, legend_h);

    if let Some(b) = layout.b_start {
        // Sentence A and sentence B, set apart by a dashed rule with their names.
        let y = layout.y(b) - layout.row_h / 2.0 - layout.gap / 2.0;
        let d = format!("M0 {}H{}", num(y), num(layout.width));
        w.path(&d, &[("stroke", palette.muted), ("stroke-dasharray", "4 4"), ("fill", "none")]);
        label(&mut w, (layout.left_x + layout.right_x) / 2.0, y, "middle", palette.muted, "A ↑   B ↓");
    }

    let width = if n <= 48 { "2" } else { "1" };
    w.open("g", &[("class", "lines"), ("fill", "none"), ("stroke-width", width)]);
    // One path per head and opacity level, as the page batches its strokes.
    let mut buckets = vec![vec![String::new(); LEVELS]; heads.len()];
    let mut count = 0;
    for &(h, i, j, wt) in lines.iter().filter(|l| l.3 >= cutoff) {
        let Ok(k) = heads.binary_search(&h) else { continue };
        if let Some(d) = buckets.get_mut(k).and_then(|b| b.get_mut(level(wt, LEVELS))) {
            let ((x0, y0), (x1, y1)) = layout.line(i, j);
            let _ = write!(d, "M{} {}L{} {}", num(x0), num(y0), num(x1), num(y1));
            count += 1;
        }
    }
    for (&h, levels) in heads.iter().zip(&buckets).filter(|(_, b)| b.iter().any(|d| !d.is_empty())) {
        w.open("g", &[("stroke", &head_colour(h).css()), ("data-head", &h.to_string())]);
        for (lv, d) in levels.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
            w.path(d, &[("stroke-opacity", &num_opacity((lv + 1) as f64 / LEVELS as f64))]);
        }
        w.close("g");
    }
    w.close("g");

    let step = layout.label_step(FONT_PX);
    w.open("g", &[("class", "labels")]);
    for (i, text) in labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
        let colour = if opts.is_special(i) { palette.muted } else { palette.text };
        label(&mut w, layout.left_x, layout.y(i), "end", colour, text);
        label(&mut w, layout.right_x, layout.y(i), "start", colour, text);
    }
    w.close("g");
    w.close("g");
    Ok((w.finish(), count))
}

/// An opacity with 3 decimals (24 levels need more than 2).
pub(super) fn num_opacity(a: f64) -> String {
    let s = format!("{a:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::super::xml_check::parse;
    use super::*;
    use crate::analysis::{PairFilter, Strongest};

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("w{i}")).collect()
    }

    /// A deterministic `[heads, n, n]` layer of row-stochastic matrices with distinct weights.
    fn layer(heads: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(heads * n * n);
        for h in 0..heads {
            for i in 0..n {
                let raw: Vec<f32> = (0..n).map(|j| 1.0 + ((h * 31 + i * 17 + j * 7) % 23) as f32 + j as f32 * 1e-3).collect();
                let sharp: Vec<f32> = raw.iter().map(|x| x.powi(3)).collect();
                let sum: f32 = sharp.iter().sum();
                out.extend(sharp.iter().map(|x| x / sum));
            }
        }
        out
    }

    /// Line segments in the document (`M` commands of the line paths).
    fn segments(svg: &str) -> usize {
        let root = parse(svg).unwrap();
        let lines = root.find_all("g").into_iter().find(|g| g.attr("class") == Some("lines")).unwrap();
        lines.find_all("path").iter().map(|p| p.attr("d").unwrap().matches('M').count()).sum()
    }

    #[test]
    fn line_count_is_what_keep_strongest_keeps() {
        let (heads, n) = (4, 9);
        let l = layer(heads, n);
        for strongest in [Strongest::All, Strongest::TopK(2), Strongest::MinWeight(0.15)] {
            let opts = SvgOptions { strongest, ..Default::default() };
            let (svg, count) = draw(&l, heads, n, &labels(n), &[0, 2, 3], &opts).unwrap();
            let expected: usize = [0, 2, 3]
                .iter()
                .map(|&h| keep_strongest(&l[h * n * n..(h + 1) * n * n], n, strongest).iter().filter(|&&w| w >= MIN_WEIGHT).count())
                .sum();
            assert!(expected < LINE_BUDGET && expected > 0);
            assert_eq!(count, expected, "{strongest:?}");
            assert_eq!(segments(&svg), expected);
        }
    }

    #[test]
    fn the_line_budget_keeps_the_strongest() {
        let (heads, n) = (12, 40);
        let l = layer(heads, n);
        let all: Vec<usize> = (0..heads).collect();
        let (svg, count) = draw(&l, heads, n, &labels(n), &all, &SvgOptions::default()).unwrap();
        assert!(candidates(&l, n, &all, &SvgOptions::default()).len() > LINE_BUDGET);
        // Ties at the cutoff may add a few, as on the page.
        assert!((LINE_BUDGET..LINE_BUDGET + 20).contains(&count), "{count}");
        assert_eq!(segments(&svg), count);
    }

    #[test]
    fn colours_opacity_labels_and_size() {
        let n = 3;
        // Head 0: one weight per level band; head 1 unused.
        #[rustfmt::skip]
        let mut l = vec![
            1.0, 0.0, 0.0,
            0.5, 0.5, 0.0,
            0.005, 0.0, 0.995,
        ];
        l.extend([0.0; 9]);
        let names: Vec<String> = vec!["<a>".into(), "&".into(), "\"'".into()];
        let opts = SvgOptions { title: "L0".into(), ..Default::default() };
        let (svg, count) = draw(&l, 2, n, &names, &[0, 1, 1, 7], &opts).unwrap();
        assert_eq!(count, 4, "0.005 is under MIN_WEIGHT");
        let root = parse(&svg).unwrap();
        let g = root.find_all("g").into_iter().find(|g| g.attr("data-head") == Some("0")).unwrap();
        assert_eq!(g.attr("stroke"), Some(head_colour(0).css().as_str()));
        let ops: Vec<&str> = g.find_all("path").iter().map(|p| p.attr("stroke-opacity").unwrap()).collect();
        assert_eq!(ops, ["0.5", "1"]);
        assert!(root.find_all("g").iter().all(|g| g.attr("data-head") != Some("1")), "head 1 has no lines");
        let texts: Vec<&str> = root.find_all("text").iter().map(|t| t.text.as_str()).collect();
        for name in &names {
            assert_eq!(texts.iter().filter(|t| **t == name.as_str()).count(), 2);
        }
        assert!(texts.contains(&"H0") && texts.contains(&"H1") && !texts.contains(&"H7"));
        let (_, label_w) = fit_labels(&names, n, MAX_LABEL_PX);
        let layout = HeadViewLayout::new(n, label_w, 900.0, None);
        let h = layout.height + 24.0 + LEGEND_ROW + 4.0;
        assert_eq!(root.attr("viewBox").unwrap(), format!("0 0 {} {}", num(layout.width), num(h)));
        // Line ends are the layout's.
        let ((x0, y0), (x1, y1)) = layout.line(0, 0);
        assert!(svg.contains(&format!("M{} {}L{} {}", num(x0), num(y0), num(x1), num(y1))));
    }

    #[test]
    fn sentence_pairs_get_a_rule_and_the_pair_filter() {
        let (heads, n) = (1, 6);
        let l = vec![1.0 / 6.0; heads * n * n];
        let opts = SvgOptions { segments: vec![0, 0, 0, 1, 1, 1], pair_filter: PairFilter::AToB, ..Default::default() };
        let (svg, count) = draw(&l, heads, n, &labels(n), &[0], &opts).unwrap();
        assert_eq!(count, 9);
        assert!(svg.contains("stroke-dasharray") && svg.contains("A ↑   B ↓"));
        assert!(parse(&svg).is_ok());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(head_view_svg(&[0.0; 17], 2, 3, &[], &[0], &SvgOptions::default()).is_err());
        assert!(head_view_svg(&[], 0, 0, &[], &[], &SvgOptions::default()).is_ok_and(|s| parse(&s).is_ok()));
        assert_eq!(num_opacity(1.0 / 24.0), "0.042");
    }
}
