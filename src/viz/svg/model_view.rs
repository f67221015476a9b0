//! The model view as SVG: what `src/ui/model_view.rs`'s `draw_grid` draws (layer and head
//! names, a faint frame per thumbnail, each head's lines shrunk to at most [`THUMB_SIDE`] rows),
//! at the same [`GridLayout`]; or, with [`ModelStyle::Heatmap`], a small heatmap per head. Each
//! thumbnail carries the page's tooltip (layer, head, entropy) as its `<title>`.

use std::fmt::Write;

use super::head_view::num_opacity;
use super::{begin_view, cells, label, level, num, SvgOptions, SvgWriter};
use crate::analysis::{downsample, entropy, head_max};
use crate::viz::{head_colour, ColourScale, GridLayout};

/// Rows per thumbnail side (`src/ui/model_view.rs`: `THUMB_SIDE`).
pub const THUMB_SIDE: usize = 32;
/// Thumbnail weights under this are not drawn (`src/ui/model_view.rs`: `MIN_WEIGHT`).
const MIN_WEIGHT: f32 = 0.02;
/// Opacity levels (`src/ui/model_view.rs`: `LEVELS`).
const LEVELS: usize = 12;

/// What each thumbnail of the model view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelStyle {
    /// The head's lines, as the page draws them (BertViz's model view).
    #[default]
    Lines,
    /// The head as a small heatmap, scaled to its own largest weight.
    Heatmap,
}

/// Every head of every layer as a grid of thumbnails (rows: layers, columns: heads), laid out
/// as the page would in `opts.width` (and `opts.height`, if given) pixels.
///
/// `attn` is `[layers, heads, n, n]`, optionally followed by one entropy per head (the page's
/// thumbnail slice, `SliceKind::Thumbnails`: pass its side as `n`); heads larger than
/// [`THUMB_SIDE`] are shrunk as the worker shrinks them. Without appended entropies they are
/// computed from `attn` (exact for the full tensor). Errors on any other length.
pub fn model_view_svg(attn: &[f32], layers: usize, heads: usize, n: usize, opts: &SvgOptions) -> Result<String, String> {
    Ok(draw(attn, layers, heads, n, opts)?.0)
}

/// The document and the number of line segments (or cell runs) drawn.
pub(super) fn draw(attn: &[f32], layers: usize, heads: usize, n: usize, opts: &SvgOptions) -> Result<(String, usize), String> {
    let count = layers.checked_mul(heads).ok_or("too many heads")?;
    let weights = count.checked_mul(n).and_then(|x| x.checked_mul(n)).ok_or("too many weights")?;
    let entropies = match attn.len() {
        len if len == weights => None,
        len if Some(len) == weights.checked_add(count) => attn.get(weights..),
        len => {
            return Err(format!(
                "{layers} layers × {heads} heads over {n} tokens need {weights} weights (or {} with entropies), not {len}",
                weights.saturating_add(count)
            ))
        }
    };
    let palette = opts.palette();
    let layout = GridLayout::new(layers, heads, opts.avail_width(), opts.height.filter(|h| h.is_finite() && *h > 0.0).unwrap_or(f64::INFINITY));
    let title = if opts.title.is_empty() { "Attention model view" } else { &opts.title };
    let mut w = SvgWriter::new(layout.width, layout.height + opts.title_h(), title, palette);
    begin_view(&mut w, opts, 0.0);

    w.open("g", &[("class", "names")]);
    for h in 0..heads {
        let r = layout.rect(0, h);
        label(&mut w, r.x + r.w / 2.0, layout.origin.1 - 9.0, "middle", palette.muted, &format!("H{h}"));
    }
    for l in 0..layers {
        let r = layout.rect(l, 0);
        label(&mut w, layout.origin.0 - 6.0, r.y + r.h / 2.0, "end", palette.muted, &format!("L{l}"));
    }
    w.close("g");

    let mut drawn = 0;
    for l in 0..layers {
        for h in 0..heads {
            let k = l * heads + h;
            let Some(full) = attn.get(k * n * n..(k + 1) * n * n) else { continue };
            let e = entropies.and_then(|e| e.get(k).copied()).unwrap_or_else(|| entropy(full, n));
            // A one-hot head's entropy sums to -0.0: print 0.000, not -0.000.
            let e = if e > 0.0 { e } else { 0.0 };
            let (m, s) = downsample(full, n, THUMB_SIDE);
            let r = layout.rect(l, h);
            w.open("g", &[("class", "thumb"), ("data-layer", &l.to_string()), ("data-head", &h.to_string())]);
            w.text_el("title", &[], &format!("Layer {l} · Head {h} · entropy {e:.3} nats"));
            let frame = [num(r.x + 0.5), num(r.y + 0.5), num(r.w - 1.0), num(r.h - 1.0)];
            let frame_attrs = [("x", &frame[0]), ("y", &frame[1]), ("width", &frame[2]), ("height", &frame[3])];
            let mut attrs: Vec<(&str, &str)> = frame_attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            attrs.extend([("fill", "none"), ("stroke", palette.muted), ("stroke-opacity", "0.35")]);
            match opts.model_style {
                ModelStyle::Lines => {
                    w.empty("rect", &attrs);
                    drawn += thumb_lines(&mut w, &m, s, r, h);
                }
                ModelStyle::Heatmap => {
                    let scale = ColourScale::new(head_max(&m));
                    let cell = if s == 0 { 0.0 } else { r.w / s as f64 };
                    drawn += cells(&mut w, &m, s, (r.x, r.y), cell, |x| scale.index(x));
                    w.empty("rect", &attrs);
                }
            }
            w.close("g");
        }
    }
    w.close("g");
    Ok((w.finish(), drawn))
}

/// One thumbnail's lines (left column "from", right column "to"), batched by opacity level.
fn thumb_lines(w: &mut SvgWriter, m: &[f32], s: usize, r: crate::viz::Rect, head: usize) -> usize {
    let (x0, x1) = (num(r.x + r.w * 0.2), num(r.x + r.w * 0.8));
    let y = |i: usize| num(r.y + 3.0 + (i as f64 + 0.5) * (r.h - 6.0) / s.max(1) as f64);
    let mut buckets = vec![String::new(); LEVELS];
    let mut count = 0;
    for (k, &wt) in m.iter().enumerate().filter(|(_, w)| **w >= MIN_WEIGHT) {
        if let Some(d) = buckets.get_mut(level(wt, LEVELS)) {
            let _ = write!(d, "M{x0} {}L{x1} {}", y(k / s.max(1)), y(k % s.max(1)));
            count += 1;
        }
    }
    if count > 0 {
        w.open("g", &[("fill", "none"), ("stroke", &head_colour(head).css())]);
        for (lv, d) in buckets.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
            w.path(d, &[("stroke-opacity", &num_opacity((lv + 1) as f64 / LEVELS as f64))]);
        }
        w.close("g");
    }
    count
}

#[cfg(test)]
mod tests {
    use super::super::xml_check::parse;
    use super::*;

    /// `[layers, heads, n, n]`: head (l, h) attends from i to (i + l + h) mod n.
    fn shifted(layers: usize, heads: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; layers * heads * n * n];
        for l in 0..layers {
            for h in 0..heads {
                for i in 0..n {
                    out[((l * heads + h) * n + i) * n + (i + l + h) % n] = 1.0;
                }
            }
        }
        out
    }

    #[test]
    fn one_thumbnail_per_head_with_names_lines_and_tooltips() {
        let (layers, heads, n) = (2, 3, 5);
        let a = shifted(layers, heads, n);
        let (svg, lines) = draw(&a, layers, heads, n, &SvgOptions { title: "m <x>".into(), ..Default::default() }).unwrap();
        assert_eq!(lines, layers * heads * n, "one line per row (weight 1)");
        let root = parse(&svg).unwrap();
        let thumbs: Vec<_> = root.find_all("g").into_iter().filter(|g| g.attr("class") == Some("thumb")).collect();
        assert_eq!(thumbs.len(), 6);
        assert_eq!(thumbs[4].find_all("title")[0].text, "Layer 1 · Head 1 · entropy 0.000 nats");
        assert_eq!(thumbs[4].find_all("g")[1].attr("stroke"), Some(head_colour(1).css().as_str()));
        let texts: Vec<&str> = root.find_all("text").iter().map(|t| t.text.as_str()).collect();
        for name in ["H0", "H1", "H2", "L0", "L1", "m <x>"] {
            assert!(texts.contains(&name), "{name}");
        }
        let layout = GridLayout::new(layers, heads, 900.0, f64::INFINITY);
        assert_eq!(root.attr("viewBox").unwrap(), format!("0 0 {} {}", num(layout.width), num(layout.height + 24.0)));
        // Full opacity lines only (all weights are 1).
        assert!(thumbs.iter().all(|t| t.find_all("path").iter().all(|p| p.attr("stroke-opacity") == Some("1"))));
    }

    #[test]
    fn long_inputs_shrink_to_thumbnails_and_slices_with_entropies_work() {
        let (layers, heads, n) = (1, 2, 64);
        let a = shifted(layers, heads, n);
        let (_, lines) = draw(&a, layers, heads, n, &SvgOptions::default()).unwrap();
        let expected: usize = (0..2)
            .map(|h| downsample(&a[h * n * n..(h + 1) * n * n], n, THUMB_SIDE).0.iter().filter(|&&w| w >= MIN_WEIGHT).count())
            .sum();
        assert_eq!(lines, expected);
        // A thumbnail slice: 2 heads of 2×2 and their entropies appended.
        let slice = [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0, 0.693];
        let svg = model_view_svg(&slice, 1, 2, 2, &SvgOptions::default()).unwrap();
        assert!(svg.contains("Layer 0 · Head 1 · entropy 0.693 nats"));
        assert!(model_view_svg(&slice[..9], 1, 2, 2, &SvgOptions::default()).is_err());
        assert!(model_view_svg(&[], 0, 0, 0, &SvgOptions::default()).is_ok_and(|s| parse(&s).is_ok()));
    }

    #[test]
    fn heatmap_thumbnails_use_the_colour_scale() {
        let (layers, heads, n) = (2, 2, 4);
        let a = shifted(layers, heads, n);
        let opts = SvgOptions { model_style: ModelStyle::Heatmap, height: Some(500.0), ..Default::default() };
        let (svg, runs) = draw(&a, layers, heads, n, &opts).unwrap();
        assert_eq!(runs, layers * heads * n, "one bright cell per row over a dark background");
        let top = ColourScale::new(1.0).colour(1.0);
        let bright = format!("fill=\"#{:02x}{:02x}{:02x}\"", top.0, top.1, top.2);
        assert_eq!(svg.matches(&bright).count(), layers * heads);
        let root = parse(&svg).unwrap();
        let layout = GridLayout::new(layers, heads, 900.0, 500.0);
        assert_eq!(root.attr("viewBox").unwrap(), format!("0 0 {} {}", num(layout.width), num(layout.height)));
    }
}
