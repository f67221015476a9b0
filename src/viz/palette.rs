//! One colour per attention head, for the lines and head selectors.
//!
//! BertViz colours heads with d3's 10-colour `category10`, so on BERT-base heads 10 and 11
//! repeat heads 0 and 1, and bert-large's 16 heads share 10 colours. [`HEAD_COLOURS`] has 20
//! distinct colours instead: a Glasbey-style palette (Glasbey et al. 2007: greedy max–min
//! perceptual distance), picked offline from a 15-step sRGB grid by maximising the smallest
//! CIEDE2000 distance to the colours already chosen, seeded with `category10`'s blue (so head 0
//! looks as in BertViz), among candidates that
//! - reach a WCAG contrast ratio of at least 3:1 (the WCAG 2.1 minimum for graphics, SC 1.4.11)
//!   against *both* the light (#ffffff) and the dark (#161b22) theme backgrounds, which keeps
//!   their relative luminance between about 0.135 and 0.30, and
//! - have a CIELAB chroma of at least 35, because greys are hard to tell apart as thin lines.
//!
//! Greedy order means any prefix is itself well spread: the first 12 (BERT-base) and 16
//! (bert-large) are the most distinct (smallest CIEDE2000 distance 16.1 within the first 16,
//! 14.4 over all 20). Beyond 20 heads the colours cycle.

use super::Rgb;

/// The head colours, in head order.
pub const HEAD_COLOURS: [Rgb; 20] = [
    Rgb(31, 119, 180),
    Rgb(165, 150, 0),
    Rgb(255, 0, 60),
    Rgb(195, 0, 240),
    Rgb(0, 120, 90),
    Rgb(165, 90, 15),
    Rgb(15, 165, 0),
    Rgb(210, 120, 165),
    Rgb(150, 135, 225),
    Rgb(15, 165, 165),
    Rgb(195, 30, 105),
    Rgb(120, 90, 150),
    Rgb(255, 90, 0),
    Rgb(120, 105, 45),
    Rgb(60, 75, 255),
    Rgb(75, 120, 30),
    Rgb(165, 75, 60),
    Rgb(195, 135, 90),
    Rgb(60, 165, 120),
    Rgb(255, 60, 225),
];

/// The colour of head `h`, cycling after [`HEAD_COLOURS`] runs out.
pub fn head_colour(h: usize) -> Rgb {
    HEAD_COLOURS.get(h % HEAD_COLOURS.len()).copied().unwrap_or(Rgb(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Rgb = Rgb(255, 255, 255);
    const DARK: Rgb = Rgb(0x16, 0x1b, 0x22);

    /// WCAG 2.1 contrast ratio.
    fn contrast(a: Rgb, b: Rgb) -> f64 {
        let (la, lb) = (a.luminance(), b.luminance());
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// sRGB -> CIELAB (D65; Lindbloom's sRGB matrix, so white maps to a* = b* = 0).
    fn lab(c: Rgb) -> [f64; 3] {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (lin(c.0), lin(c.1), lin(c.2));
        let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
        let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
        let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// CIE76 ΔE: Euclidean distance in CIELAB (2.3 is a just-noticeable difference).
    fn delta_e(a: Rgb, b: Rgb) -> f64 {
        let (p, q) = (lab(a), lab(b));
        p.iter().zip(q).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
    }

    fn min_delta_e(colours: &[Rgb]) -> f64 {
        let mut min = f64::INFINITY;
        for (i, &a) in colours.iter().enumerate() {
            for &b in &colours[i + 1..] {
                min = min.min(delta_e(a, b));
            }
        }
        min
    }

    #[test]
    fn lab_of_known_colours() {
        let w = lab(WHITE);
        assert!((w[0] - 100.0).abs() < 0.01 && w[1].abs() < 0.01 && w[2].abs() < 0.01, "{w:?}");
        // sRGB red is L* 53.24, a* 80.09, b* 67.20.
        let r = lab(Rgb(255, 0, 0));
        assert!(
            (r[0] - 53.24).abs() < 0.05 && (r[1] - 80.09).abs() < 0.1 && (r[2] - 67.20).abs() < 0.1,
            "{r:?}"
        );
        assert!((contrast(WHITE, Rgb(0, 0, 0)) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn colours_are_distinct() {
        // CIE76 over-counts blue differences and under-counts others, so these are looser than
        // the CIEDE2000 figures in the module docs, but they fail on any near-duplicate.
        let first16 = min_delta_e(&HEAD_COLOURS[..16]);
        assert!(first16 > 23.0, "first 16: {first16}");
        let all = min_delta_e(&HEAD_COLOURS);
        assert!(all > 18.0, "all: {all}");
    }

    #[test]
    fn colours_read_on_both_themes() {
        for c in HEAD_COLOURS {
            let (w, d) = (contrast(c, WHITE), contrast(c, DARK));
            assert!(w >= 3.0 && d >= 3.0, "{c:?}: {w:.2} on white, {d:.2} on dark");
        }
    }

    #[test]
    fn head_colour_cycles() {
        assert_eq!(head_colour(0), Rgb(31, 119, 180));
        assert_eq!(head_colour(11), HEAD_COLOURS[11]);
        assert_ne!(head_colour(10), head_colour(0));
        assert_eq!(head_colour(HEAD_COLOURS.len() + 3), HEAD_COLOURS[3]);
        assert_eq!(head_colour(usize::MAX), HEAD_COLOURS[usize::MAX % HEAD_COLOURS.len()]);
    }
}
