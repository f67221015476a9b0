//! Colour scales for weights.
//!
//! Viridis (van der Walt & Smith, matplotlib): perceptually uniform and monotonic in lightness,
//! so a weight twice as large *looks* larger in both themes and in greyscale print. The seed
//! notebook's Matplotlib heatmaps used it too.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn css(&self) -> String {
        format!("rgb({},{},{})", self.0, self.1, self.2)
    }
    /// Relative luminance (WCAG), for picking readable text on a cell.
    pub fn luminance(&self) -> f64 {
        let lin = |c: u8| {
            let c = c as f64 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }
}

/// Viridis sampled at 9 evenly spaced points; linear interpolation in between.
const VIRIDIS: [Rgb; 9] = [
    Rgb(68, 1, 84),
    Rgb(71, 44, 122),
    Rgb(59, 81, 139),
    Rgb(44, 113, 142),
    Rgb(33, 144, 141),
    Rgb(39, 173, 129),
    Rgb(92, 200, 99),
    Rgb(170, 220, 50),
    Rgb(253, 231, 37),
];

/// Maps weights in `[0, max]` to colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourScale {
    max: f32,
}

impl ColourScale {
    /// A scale from 0 to `max`; a non-positive or non-finite `max` falls back to 1.
    pub fn new(max: f32) -> Self {
        let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
        Self { max }
    }

    pub fn max(&self) -> f32 {
        self.max
    }

    /// The colour of weight `w` (clamped to the scale; NaN counts as 0).
    pub fn colour(&self, w: f32) -> Rgb {
        let t = if w.is_nan() { 0.0 } else { (w / self.max).clamp(0.0, 1.0) };
        Self::at(t)
    }

    /// The colour at fraction `t` of the scale.
    pub fn at(t: f32) -> Rgb {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let x = t * (VIRIDIS.len() - 1) as f32;
        let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
        let f = x - i as f32;
        let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
        let mix = |p: u8, q: u8| (p as f32 + (q as f32 - p as f32) * f).round() as u8;
        Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The scale as 256 RGBA entries, for filling pixels: `lut[index(w)]` is `colour(w)` to
    /// within one step of 256 (well under what an eye or a screenshot can tell), at a table
    /// lookup per pixel instead of an interpolation.
    pub fn lut() -> Vec<[u8; 4]> {
        (0..256).map(|k| Self::at(k as f32 / 255.0)).map(|c| [c.0, c.1, c.2, 255]).collect()
    }

    /// The [`ColourScale::lut`] entry of weight `w`.
    pub fn index(&self, w: f32) -> usize {
        let t = if w.is_nan() { 0.0 } else { (w / self.max).clamp(0.0, 1.0) };
        (t * 255.0 + 0.5) as usize
    }

    /// Evenly spaced tick values for the colour bar, 0 and max included.
    pub fn ticks(&self, count: usize) -> Vec<f32> {
        let count = count.max(2);
        (0..count).map(|k| self.max * k as f32 / (count - 1) as f32).collect()
    }
}

/// ColorBrewer's RdBu (Brewer, colorbrewer2.org; matplotlib's `RdBu_r`) at 9 points, blue
/// for negative through a light grey to red for positive: the two halves are mirror images
/// in lightness, so `−d` and `+d` look equally strong.
const DIVERGING: [Rgb; 9] = [
    Rgb(33, 102, 172),
    Rgb(67, 147, 195),
    Rgb(146, 197, 222),
    Rgb(209, 229, 240),
    Rgb(247, 247, 247),
    Rgb(253, 219, 199),
    Rgb(244, 165, 130),
    Rgb(214, 96, 77),
    Rgb(178, 24, 43),
];

/// Maps signed values in `[−max, max]` to colours (the compare view's differences): 0 is the
/// neutral middle, negative blue, positive red.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DivergingScale {
    max: f32,
}

impl DivergingScale {
    /// A scale from `−max` to `max` (`max` taken as its magnitude); zero or non-finite falls
    /// back to 1.
    pub fn new(max: f32) -> Self {
        let max = max.abs();
        Self { max: if max.is_finite() && max > 0.0 { max } else { 1.0 } }
    }

    /// The scale for `values`: symmetric around 0, out to the largest magnitude.
    pub fn for_values(values: &[f32]) -> Self {
        Self::new(values.iter().filter(|v| v.is_finite()).fold(0.0f32, |m, v| m.max(v.abs())))
    }

    pub fn max(&self) -> f32 {
        self.max
    }

    /// Where `v` sits on the scale: 0 at `−max`, 0.5 at 0, 1 at `max` (clamped; NaN is 0.5).
    pub fn fraction(&self, v: f32) -> f32 {
        if v.is_nan() {
            return 0.5;
        }
        (0.5 + 0.5 * v / self.max).clamp(0.0, 1.0)
    }

    pub fn colour(&self, v: f32) -> Rgb {
        Self::at(self.fraction(v))
    }

    /// The colour at fraction `t` of the scale (0 = `−max`, 1 = `max`).
    pub fn at(t: f32) -> Rgb {
        let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
        let x = t * (DIVERGING.len() - 1) as f32;
        let i = (x.floor() as usize).min(DIVERGING.len() - 2);
        let f = x - i as f32;
        let (a, b) = (DIVERGING[i], DIVERGING[i + 1]);
        let mix = |p: u8, q: u8| (p as f32 + (q as f32 - p as f32) * f).round() as u8;
        Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// 256 RGBA entries, as [`ColourScale::lut`]; index with [`DivergingScale::index`].
    pub fn lut() -> Vec<[u8; 4]> {
        (0..256).map(|k| Self::at(k as f32 / 255.0)).map(|c| [c.0, c.1, c.2, 255]).collect()
    }

    pub fn index(&self, v: f32) -> usize {
        (self.fraction(v) * 255.0 + 0.5) as usize
    }

    /// Evenly spaced tick values from `−max` to `max` (0 in the middle for odd counts).
    pub fn ticks(&self, count: usize) -> Vec<f32> {
        let count = count.max(2);
        (0..count).map(|k| -self.max + 2.0 * self.max * k as f32 / (count - 1) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_scale_is_symmetric_around_zero() {
        let s = DivergingScale::new(-0.2);
        assert_eq!(s.max(), 0.2);
        assert_eq!(s.colour(0.0), DIVERGING[4]);
        assert_eq!(s.colour(f32::NAN), DIVERGING[4]);
        assert_eq!(s.colour(-0.2), DIVERGING[0]);
        assert_eq!(s.colour(0.2), DIVERGING[8]);
        assert_eq!(s.colour(5.0), DIVERGING[8]);
        assert_eq!(DivergingScale::new(0.0).max(), 1.0);
        assert_eq!(DivergingScale::for_values(&[0.1, -0.3, f32::NAN]).max(), 0.3);
        // Equal magnitudes: equally far from the neutral middle in lightness, and the middle
        // is the lightest; negative is blue, positive red.
        let mid = s.colour(0.0).luminance();
        for k in 1..=10 {
            let d = 0.02 * k as f32;
            let (neg, pos) = (s.colour(-d), s.colour(d));
            assert!(neg.luminance() < mid && pos.luminance() < mid, "{d}");
            assert!((neg.luminance() - pos.luminance()).abs() < 0.12, "{d}: {neg:?} {pos:?}");
            assert!(neg.2 > neg.0 && pos.0 > pos.2, "{d}: blue below, red above");
        }
        let ticks = s.ticks(5);
        assert!(ticks.iter().zip([-0.2, -0.1, 0.0, 0.1, 0.2]).all(|(a, b)| (a - b).abs() < 1e-6), "{ticks:?}");
        let lut = DivergingScale::lut();
        assert_eq!(lut.len(), 256);
        assert_eq!(lut[s.index(-1.0)], [33, 102, 172, 255]);
        assert_eq!(lut[s.index(1.0)], [178, 24, 43, 255]);
        let c = lut[s.index(0.0)];
        assert!(c[0] > 240 && c[1] > 240 && c[2] > 240, "{c:?}");
    }

    #[test]
    fn endpoints_and_clamping() {
        let s = ColourScale::new(0.5);
        assert_eq!(s.colour(0.0), VIRIDIS[0]);
        assert_eq!(s.colour(0.5), VIRIDIS[8]);
        assert_eq!(s.colour(3.0), VIRIDIS[8]);
        assert_eq!(s.colour(-1.0), VIRIDIS[0]);
        assert_eq!(s.colour(f32::NAN), VIRIDIS[0]);
        assert_eq!(ColourScale::new(0.0).max(), 1.0);
        assert_eq!(ColourScale::new(f32::INFINITY).max(), 1.0);
    }

    #[test]
    fn lightness_increases_with_weight() {
        let lum: Vec<f64> = (0..=100).map(|k| ColourScale::at(k as f32 / 100.0).luminance()).collect();
        assert!(lum.windows(2).all(|w| w[1] >= w[0] - 1e-3), "{lum:?}");
        assert!(lum[100] > lum[0] + 0.5);
    }

    #[test]
    fn ticks_span_the_scale() {
        assert_eq!(ColourScale::new(0.8).ticks(5), vec![0.0, 0.2, 0.4, 0.6, 0.8]);
    }

    #[test]
    fn lookup_table_matches_the_scale() {
        let s = ColourScale::new(0.5);
        let lut = ColourScale::lut();
        assert_eq!(lut.len(), 256);
        assert_eq!(lut[s.index(0.0)], [68, 1, 84, 255]);
        assert_eq!(lut[s.index(0.5)], [253, 231, 37, 255]);
        assert_eq!(s.index(9.0), 255);
        assert_eq!(s.index(f32::NAN), 0);
        for k in 0..=50 {
            let w = k as f32 / 100.0;
            let (a, b) = (lut[s.index(w)], s.colour(w));
            let close = |x: u8, y: u8| (x as i16 - y as i16).abs() <= 3;
            assert!(close(a[0], b.0) && close(a[1], b.1) && close(a[2], b.2), "{w}: {a:?} vs {b:?}");
        }
    }
}
