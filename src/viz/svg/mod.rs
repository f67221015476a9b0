//! SVG export of the three attention views, drawn by the same layout maths and colours as the
//! page's canvases (`src/ui/heatmap.rs`, `head_view_draw.rs`, `model_view.rs`), as plain
//! strings: no web crates, no font files, natively tested.
//!
//! - [`heatmap_svg`]: one head's matrix, token labels, colour bar.
//! - [`head_view_svg`]: BertViz's two token columns with a line per weight, one colour per head,
//!   within the page's line budget.
//! - [`model_view_svg`]: the layers × heads grid of thumbnails.
//!
//! Text stays text (`<text>`, escaped), so the export is searchable and scales. Glyph widths are
//! not known without a font, so label room comes from [`text_width`], an estimate for the
//! page's 12 px `system-ui` font; the viewer's own font draws the glyphs.
//!
//! The page's constants that live in its wasm-only drawing code (line budget, weight floors,
//! opacity levels, label widths, thumbnail side) are repeated here, each naming its origin.

mod head_view;
mod heatmap;
mod model_view;
#[cfg(test)]
mod samples;
#[cfg(test)]
mod xml_check;

use std::fmt::Write;

pub use head_view::{head_view_svg, LINE_BUDGET, MIN_WEIGHT};
pub use heatmap::heatmap_svg;
pub use model_view::{model_view_svg, ModelStyle, THUMB_SIDE};

use crate::analysis::{PairFilter, Strongest};
use crate::ui::theme::{Palette, Theme};

/// The page's canvas font (`src/ui/canvas.rs`: `FONT_PX`, `FONT`).
pub const FONT_PX: f64 = 12.0;
pub const FONT_FAMILY: &str = "system-ui, sans-serif";
/// Height of the title line above a view (when there is a title).
const TITLE_H: f64 = 24.0;
const TITLE_PX: f64 = 13.0;
const PAD: f64 = 8.0;

/// What an export shows besides the weights. One struct for the three views; each reads the
/// fields it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// Background and text colours: the page's canvas palette for the theme.
    pub theme: Theme,
    /// A title line above the view (model, layer, head, …), also the SVG's `<title>`. Empty:
    /// no title line.
    pub title: String,
    /// The width the page would lay the view out in (its `avail_width`), CSS pixels.
    pub width: f64,
    /// Model view only: fit the grid in this height too (the page uses the window's height).
    pub height: Option<f64>,
    /// Per token: a special token (`[CLS]`, `[SEP]`), whose labels are muted as on the page.
    /// Shorter than the axis (or empty): the rest are ordinary.
    pub special: Vec<bool>,
    /// Per token: 0 = sentence A, 1 = sentence B. The head view sets B apart and applies
    /// [`SvgOptions::pair_filter`]. Empty: a single sentence.
    pub segments: Vec<u8>,
    /// The display filter (the page's "strongest" control), for the heatmap and the head view.
    pub strongest: Strongest,
    /// Head view: which sentence pairs to draw.
    pub pair_filter: PairFilter,
    /// Heatmap: the colour scale's top; `None` is the head's largest weight (the page's
    /// default "head max" scale), `Some(1.0)` the page's unit scale.
    pub scale_max: Option<f32>,
    /// Model view: what each thumbnail shows.
    pub model_style: ModelStyle,
}

impl Default for SvgOptions {
    fn default() -> Self {
        Self {
            theme: Theme::Light,
            title: String::new(),
            width: 900.0,
            height: None,
            special: Vec::new(),
            segments: Vec::new(),
            strongest: Strongest::All,
            pair_filter: PairFilter::All,
            scale_max: None,
            model_style: ModelStyle::Lines,
        }
    }
}

impl SvgOptions {
    fn palette(&self) -> Palette {
        self.theme.palette()
    }
    fn is_special(&self, i: usize) -> bool {
        self.special.get(i).copied().unwrap_or(false)
    }
    /// Height of the title line (0 without a title).
    fn title_h(&self) -> f64 {
        if self.title.is_empty() {
            0.0
        } else {
            TITLE_H
        }
    }
    /// A usable layout width (the layouts clamp the rest).
    fn avail_width(&self) -> f64 {
        if self.width.is_finite() && self.width > 0.0 {
            self.width
        } else {
            900.0
        }
    }
}

/// Escapes text or an attribute value for XML: `& < > " '` become entities, and characters XML
/// 1.0 forbids even as references (C0 controls but tab, newline and return; U+FFFE, U+FFFF)
/// become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// A coordinate as SVG wants it: at most 2 decimals, no trailing zeros, no `-0`; non-finite
/// numbers print as `0`.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let mut s = format!("{x:.2}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Estimated advance of `text` in the page's `system-ui` font at `font_px`: DejaVu Sans's
/// widths (the widest common fallback, what Linux viewers use), so a label never runs past the
/// room given to it; system-ui fonts on other systems are up to about 10 % narrower.
pub fn text_width(text: &str, font_px: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '!' | '|' | '.' | ',' | ':' | ';' | '\'' | 'I' => 0.3,
            ' ' | 'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' => 0.4,
            'm' | 'w' | 'M' | 'W' | '@' | '%' | '#' => 0.95,
            '0'..='9' => 0.64,
            'A'..='Z' => 0.72,
            c if c.is_ascii() => 0.62,
            // CJK, Hangul, kana and other wide scripts.
            c if ('\u{1100}'..='\u{115f}').contains(&c) || ('\u{2e80}'..='\u{a4cf}').contains(&c) => 1.0,
            c if ('\u{ac00}'..='\u{d7a3}').contains(&c) || ('\u{f900}'..='\u{faff}').contains(&c) => 1.0,
            c if ('\u{ff00}'..='\u{ff60}').contains(&c) || ('\u{20000}'..='\u{3fffd}').contains(&c) => 1.0,
            _ => 0.65,
        })
        .sum();
    em * font_px
}

/// Shortens a label with an ellipsis to fit `max` pixels, as the page's `canvas::fit` does.
pub fn fit(text: &str, max: f64) -> String {
    if text_width(text, FONT_PX) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    let ell = text_width("…", FONT_PX);
    while !chars.is_empty() && text_width(&chars.iter().collect::<String>(), FONT_PX) + ell > max {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>())
}

/// Every label fitted to `max`, and the room the widest needs (rounded up to whole pixels so
/// the grids start on pixel boundaries). Missing labels are the token's index.
fn fit_labels(labels: &[String], n: usize, max: f64) -> (Vec<String>, f64) {
    let fitted: Vec<String> =
        (0..n).map(|i| labels.get(i).map_or_else(|| i.to_string(), |l| fit(l, max))).collect();
    let widest = fitted.iter().map(|l| text_width(l, FONT_PX)).fold(0.0, f64::max).ceil();
    (fitted, widest)
}

/// A tiny SVG writer: elements go straight into a `String`, attribute values and text are
/// escaped.
#[derive(Debug, Default)]
pub struct SvgWriter {
    out: String,
}

impl SvgWriter {
    /// Opens the root `<svg>` of `width × height` CSS pixels (the `viewBox` too) with a
    /// `<title>` and the background of `palette`.
    pub fn new(width: f64, height: f64, title: &str, palette: Palette) -> Self {
        let mut w = Self { out: String::with_capacity(4096) };
        let (wd, ht) = (num(width), num(height));
        w.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg"),
                ("width", &wd),
                ("height", &ht),
                ("viewBox", &format!("0 0 {wd} {ht}")),
                ("font-family", FONT_FAMILY),
                ("font-size", &num(FONT_PX)),
                ("xml:space", "preserve"),
                ("role", "img"),
            ],
        );
        w.text_el("title", &[], title);
        w.empty("rect", &[("width", "100%"), ("height", "100%"), ("fill", palette.background)]);
        w
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
    }

    /// `<tag attrs>`.
    pub fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push('>');
    }

    /// `</tag>` and a newline.
    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// `<tag attrs/>`.
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push_str("/>\n");
    }

    /// `<tag attrs>text</tag>`.
    pub fn text_el(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(tag, attrs);
        escape_into(&mut self.out, text);
        self.close(tag);
    }

    /// `<path attrs d="…"/>`.
    pub fn path(&mut self, d: &str, attrs: &[(&str, &str)]) {
        self.out.push_str("<path");
        self.attrs(attrs);
        self.attrs(&[("d", d)]);
        self.out.push_str("/>\n");
    }

    /// Closes the root and returns the document.
    pub fn finish(mut self) -> String {
        self.close("svg");
        self.out
    }
}

/// The title line (when there is one), then a group shifted below it and `extra` more pixels
/// for the view (closed by the caller).
fn begin_view(w: &mut SvgWriter, opts: &SvgOptions, extra: f64) {
    if !opts.title.is_empty() {
        let p = opts.palette();
        w.text_el(
            "text",
            &[
                ("x", &num(PAD)),
                ("y", &num(TITLE_H / 2.0 + 1.0)),
                ("dominant-baseline", "central"),
                ("font-size", &num(TITLE_PX)),
                ("font-weight", "600"),
                ("fill", p.text),
            ],
            &opts.title,
        );
    }
    w.open("g", &[("transform", &format!("translate(0 {})", num(opts.title_h() + extra)))]);
}

/// A text label at (x, y), vertically centred as the canvas's `textBaseline = "middle"`.
fn label(w: &mut SvgWriter, x: f64, y: f64, anchor: &str, fill: &str, text: &str) {
    w.text_el(
        "text",
        &[("x", &num(x)), ("y", &num(y)), ("text-anchor", anchor), ("dominant-baseline", "central"), ("fill", fill)],
        text,
    );
}

/// A label reading upwards from (x, y) (the heatmap's column labels).
fn label_up(w: &mut SvgWriter, x: f64, y: f64, fill: &str, text: &str) {
    w.text_el(
        "text",
        &[
            ("transform", &format!("translate({} {}) rotate(-90)", num(x), num(y))),
            ("dominant-baseline", "central"),
            ("fill", fill),
        ],
        text,
    );
}

/// Colour-index runs of a matrix drawn as one `<path>` per colour, the most common colour as
/// one rectangle under them all: equal-looking to one rect per cell, a fraction of the size
/// (runs are merged along rows only, so each cell is still exactly where the page puts it).
/// `origin` and `cell` place cell (0, 0); `index` maps a weight to a [`ColourScale::lut`]
/// entry. Returns how many runs were drawn as paths (for tests).
///
/// [`ColourScale::lut`]: super::ColourScale::lut
fn cells(w: &mut SvgWriter, values: &[f32], n: usize, origin: (f64, f64), cell: f64, index: impl Fn(f32) -> usize) -> usize {
    if n == 0 {
        return 0;
    }
    let idx: Vec<u8> =
        (0..n * n).map(|k| index(values.get(k).copied().unwrap_or(0.0)).min(255) as u8).collect();
    let mut count = [0usize; 256];
    for &c in &idx {
        if let Some(k) = count.get_mut(usize::from(c)) {
            *k += 1;
        }
    }
    let bg = (0..256).max_by_key(|&c| (count.get(c).copied().unwrap_or(0), usize::MAX - c)).unwrap_or(0);
    let mut paths: Vec<String> = vec![String::new(); 256];
    let mut runs = 0;
    for (i, row) in idx.chunks_exact(n).enumerate() {
        let mut j = 0;
        while j < n {
            let c = row.get(j).copied().unwrap_or(0);
            let len = row.get(j..).map_or(1, |r| r.iter().take_while(|&&x| x == c).count().max(1));
            if usize::from(c) != bg {
                if let Some(d) = paths.get_mut(usize::from(c)) {
                    let _ = write!(d, "M{j} {i}h{len}v1h-{len}z");
                    runs += 1;
                }
            }
            j += len;
        }
    }
    let lut = super::ColourScale::lut();
    let css = |c: usize| lut.get(c).map_or_else(|| "#000".to_string(), |p| hex(p[0], p[1], p[2]));
    let transform = format!("translate({} {}) scale({})", num(origin.0), num(origin.1), num(cell));
    w.open("g", &[("transform", &transform), ("shape-rendering", "crispEdges")]);
    let side = num(n as f64);
    w.empty("rect", &[("width", &side), ("height", &side), ("fill", &css(bg))]);
    for (c, d) in paths.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        w.path(d, &[("fill", &css(c))]);
    }
    w.close("g");
    runs
}

/// `#rrggbb`.
fn hex(r: u8, g: u8, b: u8) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Opacity level of a weight as the page's line views batch them: `LEVELS` levels, level k
/// drawn at opacity (k + 1) / levels.
fn level(w: f32, levels: usize) -> usize {
    ((w.min(1.0) * levels as f32).ceil() as usize).clamp(1, levels) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_and_drops_what_xml_forbids() {
        assert_eq!(escape(r#"<a href="x">Tom & Jerry's</a>"#), "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;");
        assert_eq!(escape("a\u{0}b\u{1b}c\td\u{ffff}"), "a\u{fffd}b\u{fffd}c\td\u{fffd}");
        assert_eq!(escape("##osit ␣ 日本"), "##osit ␣ 日本");
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(-4.1), "-4.1");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn long_labels_get_an_ellipsis() {
        assert_eq!(fit("[CLS]", 130.0), "[CLS]");
        let long = "supercalifragilisticexpialidocious-and-then-some";
        let f = fit(long, 80.0);
        assert!(f.ends_with('…') && f.chars().count() < long.chars().count(), "{f}");
        assert!(text_width(&f, FONT_PX) <= 80.0);
        assert!(text_width("日本語", 12.0) > text_width("abc", 12.0));
        let (labels, w) = fit_labels(&["a".into()], 2, 130.0);
        assert_eq!(labels, ["a", "1"]);
        assert_eq!(w, w.ceil());
    }

    #[test]
    fn writer_output_is_well_formed() {
        let mut w = SvgWriter::new(10.0, 20.0, "t <&>", Theme::Dark.palette());
        w.text_el("text", &[("data-x", "\"'")], "<&\"'>");
        let doc = w.finish();
        let root = xml_check::parse(&doc).unwrap();
        assert_eq!(root.name, "svg");
        assert_eq!(root.attr("viewBox"), Some("0 0 10 20"));
        assert_eq!(root.find_all("title")[0].text, "t <&>");
        let t = root.find_all("text");
        assert_eq!(t[0].text, "<&\"'>");
        assert_eq!(t[0].attr("data-x"), Some("\"'"));
        assert_eq!(root.find_all("rect")[0].attr("fill"), Some("#161b22"));
    }
}
