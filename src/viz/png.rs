//! PNG export (native only; the wasm builds never compile resvg): the SVG writers' documents
//! ([`super::svg`]) rasterised with resvg, so a PNG is exactly what the SVG draws.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary (`assets/fonts/DejaVuSans.ttf`,
//! licence beside it): no system font is looked up, so a picture is the same on every machine.
//! The SVG asks for [`super::svg::FONT_FAMILY`] (`system-ui, sans-serif`); `system-ui` matches
//! no font here and the generic `sans-serif` (also `serif`, the fallback) is DejaVu Sans, whose
//! widths are what [`super::svg::text_width`] estimates. It has Latin, Greek, Cyrillic and
//! more, but no CJK or emoji: those draw as nothing. Bold (the title's weight 600) draws as
//! the regular face.

use std::sync::Arc;

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{fontdb, Options, Tree};

/// DejaVu Sans 2.37 (Bitstream Vera licence; DejaVu's changes are public domain).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Its family name, what every generic family resolves to.
pub const FONT_NAME: &str = "DejaVu Sans";
/// The device-pixel scales [`Rasterizer::png`] accepts.
pub const SCALES: [u32; 3] = [1, 2, 4];
/// The most pixels one PNG may have (256 MB of RGBA while drawing).
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Turns SVG documents into PNG files. Holds the parsed font, so make one and reuse it.
pub struct Rasterizer {
    options: Options<'static>,
}

impl Default for Rasterizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Rasterizer {
    /// Loads the embedded font (a few milliseconds).
    pub fn new() -> Self {
        let mut db = fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FONT_NAME);
        db.set_serif_family(FONT_NAME);
        db.set_monospace_family(FONT_NAME);
        db.set_cursive_family(FONT_NAME);
        db.set_fantasy_family(FONT_NAME);
        let options = Options { font_family: FONT_NAME.into(), fontdb: Arc::new(db), ..Options::default() };
        Self { options }
    }

    /// The size in pixels `svg` would rasterise to at `scale` (its `width` × `height` in CSS
    /// pixels times `scale`, rounded up).
    pub fn size(&self, svg: &str, scale: u32) -> Result<(u32, u32), String> {
        let tree = self.parse(svg)?;
        pixel_size(&tree, scale)
    }

    /// `svg` as a PNG file at `scale` device pixels per CSS pixel (1, 2 or 4). Errors on
    /// another scale, an unreadable document, or a picture over [`MAX_PIXELS`].
    pub fn png(&self, svg: &str, scale: u32) -> Result<Vec<u8>, String> {
        let tree = self.parse(svg)?;
        let (w, h) = pixel_size(&tree, scale)?;
        let mut pixmap = Pixmap::new(w, h).ok_or_else(|| format!("cannot make a {w} × {h} picture"))?;
        let s = scale as f32;
        resvg::render(&tree, Transform::from_scale(s, s), &mut pixmap.as_mut());
        pixmap.encode_png().map_err(|e| format!("could not encode the PNG: {e}"))
    }

    fn parse(&self, svg: &str) -> Result<Tree, String> {
        Tree::from_str(svg, &self.options).map_err(|e| format!("could not read the SVG to rasterise it: {e}"))
    }
}

fn pixel_size(tree: &Tree, scale: u32) -> Result<(u32, u32), String> {
    if !SCALES.contains(&scale) {
        return Err(format!("the scale must be 1, 2 or 4, not {scale}"));
    }
    let size = tree.size();
    let px = |css: f32| (f64::from(css) * f64::from(scale)).ceil().max(1.0);
    let (w, h) = (px(size.width()), px(size.height()));
    if w * h > MAX_PIXELS as f64 {
        return Err(format!(
            "the PNG would be {w} × {h} pixels, over {} megapixels: use a smaller --width or --scale, or --format svg",
            MAX_PIXELS / (1024 * 1024)
        ));
    }
    Ok((w as u32, h as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(w: u32, h: u32, body: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"{}\" font-size=\"12\">\
             <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>{body}</svg>",
            crate::viz::svg::FONT_FAMILY
        )
    }

    fn dark_pixels(png: &[u8]) -> usize {
        let p = Pixmap::decode_png(png).unwrap();
        p.pixels().iter().filter(|c| c.red() < 128).count()
    }

    #[test]
    fn text_draws_with_the_embedded_font_at_every_scale() {
        let r = Rasterizer::new();
        let blank = r.png(&doc(60, 20, ""), 1).unwrap();
        assert_eq!(dark_pixels(&blank), 0);
        let text = doc(60, 20, "<text x=\"2\" y=\"14\" fill=\"#000000\">bank</text>");
        let one = dark_pixels(&r.png(&text, 1).unwrap());
        assert!(one > 10, "the text drew {one} dark pixels");
        let two = r.png(&text, 2).unwrap();
        assert_eq!(r.size(&text, 2).unwrap(), (120, 40));
        assert_eq!(Pixmap::decode_png(&two).unwrap().width(), 120);
        // Four times the pixels, so about four times the ink.
        let ink = dark_pixels(&two);
        assert!(ink > 3 * one && ink < 5 * one, "{one} at 1x, {ink} at 2x");
    }

    #[test]
    fn bad_scales_documents_and_sizes_are_errors() {
        let r = Rasterizer::new();
        assert!(r.png(&doc(10, 10, ""), 3).unwrap_err().contains("1, 2 or 4"));
        assert!(r.png("<svg", 1).is_err());
        assert!(r.png(&doc(20_000, 20_000, ""), 1).unwrap_err().contains("megapixels"));
    }
}
