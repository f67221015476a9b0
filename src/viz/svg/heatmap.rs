//! The heatmap as SVG: what `src/ui/heatmap.rs`'s `draw_base` draws (cells, thinned labels,
//! colour bar with 5 ticks), at the same [`HeatmapLayout`].

use super::{begin_view, cells, fit_labels, label, label_up, num, SvgOptions, SvgWriter, FONT_PX};
use crate::analysis::{head_max, keep_strongest};
use crate::viz::{ColourScale, HeatmapLayout};

/// The page's longest heatmap label (`src/ui/heatmap.rs`: `MAX_LABEL_PX`).
const MAX_LABEL_PX: f64 = 130.0;

/// One head's `n × n` matrix (row = from, column = to) as an SVG document, laid out as the page
/// would in `opts.width` pixels. `labels` name the tokens (missing ones: their index);
/// `opts.strongest` thins the cells as the page does; the colour scale runs from 0 to
/// `opts.scale_max` or the head's largest weight. Errors if `matrix.len() != n * n`.
pub fn heatmap_svg(matrix: &[f32], n: usize, labels: &[String], opts: &SvgOptions) -> Result<String, String> {
    Ok(draw(matrix, n, labels, opts)?.0)
}

/// The document and how many runs of cells were drawn as paths (for tests).
pub(super) fn draw(matrix: &[f32], n: usize, labels: &[String], opts: &SvgOptions) -> Result<(String, usize), String> {
    if n.checked_mul(n) != Some(matrix.len()) {
        return Err(format!("a heatmap of {n} tokens needs {n}×{n} weights, not {}", matrix.len()));
    }
    let palette = opts.palette();
    let (labels, label_w) = fit_labels(labels, n, MAX_LABEL_PX);
    let layout = HeatmapLayout::new(n, label_w, opts.avail_width());
    let scale = ColourScale::new(opts.scale_max.unwrap_or_else(|| head_max(matrix)));
    let shown = keep_strongest(matrix, n, opts.strongest);
    let title = if opts.title.is_empty() { "Attention heatmap" } else { &opts.title };
    let mut w = SvgWriter::new(layout.width, layout.height + opts.title_h(), title, palette);
    begin_view(&mut w, opts, 0.0);

    let runs = cells(&mut w, &shown, n, layout.origin, layout.cell, |x| scale.index(x));

    // Labels: every `step`-th, rows right-aligned on the left, columns reading upwards on top.
    let step = layout.label_step(FONT_PX);
    w.open("g", &[("class", "labels")]);
    for (i, text) in labels.iter().enumerate().filter(|(i, _)| i % step == 0) {
        let colour = if opts.is_special(i) { palette.muted } else { palette.text };
        let c = layout.cell_rect(i, i);
        label(&mut w, layout.origin.0 - 6.0, c.y + c.h / 2.0, "end", colour, text);
        label_up(&mut w, c.x + c.w / 2.0, layout.origin.1 - 6.0, colour, text);
    }
    w.close("g");

    // The colour bar: a gradient through the scale's 17 stops, max at the top, ticks right.
    let bar = layout.colour_bar;
    w.open("defs", &[]);
    w.open("linearGradient", &[("id", "av-colour-bar"), ("x1", "0"), ("y1", "1"), ("x2", "0"), ("y2", "0")]);
    for k in 0..=16 {
        let t = k as f32 / 16.0;
        let c = ColourScale::at(t);
        w.empty("stop", &[("offset", &num(f64::from(t))), ("stop-color", &super::hex(c.0, c.1, c.2))]);
    }
    w.close("linearGradient");
    w.close("defs");
    w.open("g", &[("class", "colour-bar")]);
    w.empty(
        "rect",
        &[
            ("x", &num(bar.x)),
            ("y", &num(bar.y)),
            ("width", &num(bar.w)),
            ("height", &num(bar.h)),
            ("fill", "url(#av-colour-bar)"),
            ("stroke", palette.muted),
        ],
    );
    let ticks = scale.ticks(5);
    let last = ticks.len().saturating_sub(1).max(1) as f64;
    for (k, v) in ticks.iter().enumerate() {
        let y = bar.y + bar.h * (1.0 - k as f64 / last);
        let (x, ty) = (num(bar.x + bar.w), num(y - 0.5));
        w.empty("rect", &[("x", &x), ("y", &ty), ("width", "4"), ("height", "1"), ("fill", palette.text)]);
        label(&mut w, bar.x + bar.w + 7.0, y, "start", palette.text, &format!("{v:.3}"));
    }
    w.close("g");
    w.close("g");
    Ok((w.finish(), runs))
}

#[cfg(test)]
mod tests {
    use super::super::xml_check::{parse, Element};
    use super::*;
    use crate::analysis::Strongest;
    use crate::ui::theme::Theme;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    /// Fills (colour) of the cell paths and the background cell rect.
    fn cell_group(root: &Element) -> &Element {
        root.find_all("g").into_iter().find(|g| g.attr("shape-rendering") == Some("crispEdges")).unwrap()
    }

    #[test]
    fn escaped_labels_title_and_view_box() {
        let n = 3;
        let m = [0.5, 0.3, 0.2, 0.4, 0.2, 0.4, 0.1, 0.1, 0.8];
        let labels: Vec<String> = vec!["<&\"'>".into(), "[CLS]".into(), "a&b".into()];
        let opts = SvgOptions { title: "bert <base> · layer 0 · head 1".into(), ..Default::default() };
        let svg = heatmap_svg(&m, n, &labels, &opts).unwrap();
        assert!(svg.contains("&lt;&amp;&quot;&apos;&gt;") && !svg.contains("<&"), "{svg}");
        let root = parse(&svg).unwrap();
        let texts: Vec<&str> = root.find_all("text").iter().map(|t| t.text.as_str()).collect();
        // Each label twice (row and column), the title line once, 5 ticks.
        for l in &labels {
            assert_eq!(texts.iter().filter(|t| **t == l.as_str()).count(), 2, "{l}: {texts:?}");
        }
        assert!(texts.contains(&"bert <base> · layer 0 · head 1"));
        assert_eq!(root.find_all("title")[0].text, "bert <base> · layer 0 · head 1");
        assert!(texts.contains(&"0.000") && texts.contains(&"0.800"), "{texts:?}");
        let (_, label_w) = fit_labels(&labels, n, MAX_LABEL_PX);
        let layout = HeatmapLayout::new(n, label_w, 900.0);
        let h = layout.height + 24.0;
        assert_eq!(root.attr("viewBox").unwrap(), format!("0 0 {} {}", num(layout.width), num(h)));
        assert_eq!(root.attr("width").unwrap(), num(layout.width));
    }

    #[test]
    fn cell_colours_are_the_scales() {
        // Distinct weights on one diagonal, zeros elsewhere: the zeros are the background rect,
        // every other cell is its own run.
        let n = 4;
        let mut m = vec![0.0f32; n * n];
        let diag = [0.25f32, 0.5, 0.75, 1.0];
        for (i, w) in diag.iter().enumerate() {
            m[i * n + i] = *w;
        }
        let opts = SvgOptions { scale_max: Some(1.0), ..Default::default() };
        let (svg, runs) = draw(&m, n, &labels(n), &opts).unwrap();
        assert_eq!(runs, 4);
        let root = parse(&svg).unwrap();
        let g = cell_group(&root);
        let rect = &g.find_all("rect")[0];
        assert_eq!(rect.attr("width"), Some("4"));
        let c0 = ColourScale::new(1.0).colour(0.0);
        assert_eq!(rect.attr("fill").unwrap(), format!("#{:02x}{:02x}{:02x}", c0.0, c0.1, c0.2));
        let paths = g.find_all("path");
        assert_eq!(paths.len(), 4);
        let scale = ColourScale::new(1.0);
        for (i, w) in diag.iter().enumerate() {
            let d = format!("M{i} {i}h1v1h-1z");
            let p = paths.iter().find(|p| p.attr("d") == Some(d.as_str())).unwrap();
            // The page fills cells from the 256-entry table; the ends are the scale's exactly.
            let c = ColourScale::lut()[scale.index(*w)];
            assert_eq!(p.attr("fill").unwrap(), format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]));
        }
        let top = scale.colour(1.0);
        assert!(svg.contains(&format!("fill=\"#{:02x}{:02x}{:02x}\" d=\"M3 3", top.0, top.1, top.2)));
        // The transform puts cell (0, 0) at the layout's origin with the layout's cell size.
        let layout = HeatmapLayout::new(n, fit_labels(&labels(n), n, MAX_LABEL_PX).1, 900.0);
        let t = format!("translate({} {}) scale({})", num(layout.origin.0), num(layout.origin.1), num(layout.cell));
        assert_eq!(g.attr("transform"), Some(t.as_str()));
    }

    #[test]
    fn runs_merge_along_rows_only() {
        // Row 0: 0.5 0.5 0.0; row 1: 0.5 0.5 0.5; row 2: zeros. Background = 0.5 (5 cells vs 4).
        let m = [0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0];
        let (svg, runs) = draw(&m, 3, &labels(3), &SvgOptions::default()).unwrap();
        assert_eq!(runs, 2, "{svg}");
        assert!(svg.contains("M2 0h1v1h-1zM0 2h3v1h-3z"), "{svg}");
    }

    #[test]
    fn strongest_thins_the_cells_and_special_labels_are_muted() {
        let m = [0.5, 0.3, 0.2, 0.4, 0.2, 0.4, 0.1, 0.1, 0.8];
        let opts = SvgOptions {
            strongest: Strongest::TopK(1),
            special: vec![true],
            theme: Theme::Dark,
            ..Default::default()
        };
        let (svg, runs) = draw(&m, 3, &labels(3), &opts).unwrap();
        // Background is the zeros; the 3 survivors are 3 runs (0.4's tie goes to column 0).
        assert_eq!(runs, 3);
        let root = parse(&svg).unwrap();
        let p = Theme::Dark.palette();
        assert_eq!(root.find_all("rect")[0].attr("fill"), Some(p.background));
        let texts = root.find_all("text");
        assert_eq!(texts.iter().filter(|t| t.text == "t0" && t.attr("fill") == Some(p.muted)).count(), 2);
        assert!(root.find_all("text").iter().filter(|t| t.text == "t1").all(|t| t.attr("fill") == Some(p.text)));
    }

    #[test]
    fn bad_input_is_an_error_and_empty_is_fine() {
        assert!(heatmap_svg(&[0.0; 5], 2, &[], &SvgOptions::default()).is_err());
        let empty = heatmap_svg(&[], 0, &[], &SvgOptions::default()).unwrap();
        assert!(parse(&empty).is_ok());
    }

    #[test]
    fn long_inputs_stay_vector_and_thin_their_labels() {
        let n = 128;
        let m: Vec<f32> = (0..n * n).map(|k| ((k * 7919) % 101) as f32 / 1000.0).collect();
        let (svg, _) = draw(&m, n, &labels(n), &SvgOptions::default()).unwrap();
        let root = parse(&svg).unwrap();
        let layout = HeatmapLayout::new(n, fit_labels(&labels(n), n, MAX_LABEL_PX).1, 900.0);
        let step = layout.label_step(FONT_PX);
        let shown = root.find_all("text").iter().filter(|t| t.text.starts_with('t')).count();
        assert_eq!(shown, 2 * n.div_ceil(step));
        assert!(!svg.contains("<image"));
    }
}
