//! Geometry of a bar chart over the tokens (the token-focus view): one bar per token, its
//! label below it reading upwards, a value axis on the left.

use super::Rect;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarsLayout {
    pub n: usize,
    /// Width of one bar's column (the bar itself leaves a small gap).
    pub col: f64,
    /// Bottom-left corner of the plot (value 0 of bar 0's column).
    pub origin: (f64, f64),
    /// Height of the plot (the value axis' length).
    pub plot_h: f64,
    pub width: f64,
    pub height: f64,
}

const PAD: f64 = 8.0;
/// Room for the value axis' tick labels.
const AXIS_W: f64 = 44.0;
const PLOT_H: f64 = 150.0;
const MIN_COL: f64 = 3.0;
const MAX_COL: f64 = 40.0;

impl BarsLayout {
    /// `n` bars with labels up to `label` pixels long, in `avail_width` pixels (long inputs
    /// keep at least `MIN_COL` per bar and scroll).
    pub fn new(n: usize, label: f64, avail_width: f64) -> Self {
        let label = if label.is_finite() { label.max(0.0) } else { 0.0 };
        let room = (avail_width - AXIS_W - 2.0 * PAD).max(0.0);
        let col = if n == 0 { MAX_COL } else { (room / n as f64).clamp(MIN_COL, MAX_COL).floor() };
        let origin = (PAD + AXIS_W, PAD + PLOT_H);
        Self {
            n,
            col,
            origin,
            plot_h: PLOT_H,
            width: origin.0 + col * n as f64 + PAD,
            height: origin.1 + 6.0 + label + PAD,
        }
    }

    /// The bar of `value` on a scale of `0..=max` (clamped to the plot).
    pub fn bar(&self, i: usize, value: f32, max: f32) -> Rect {
        let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
        let v = if value.is_finite() { value.clamp(0.0, max) } else { 0.0 };
        let h = self.plot_h * f64::from(v / max);
        let gap = if self.col >= 6.0 { 2.0 } else { 0.5 };
        Rect { x: self.origin.0 + i as f64 * self.col + gap / 2.0, y: self.origin.1 - h, w: self.col - gap, h }
    }

    /// x of the middle of bar `i`'s column.
    pub fn centre(&self, i: usize) -> f64 {
        self.origin.0 + (i as f64 + 0.5) * self.col
    }

    /// The bar whose column (plot and label) is under a point.
    pub fn bar_at(&self, x: f64, y: f64) -> Option<usize> {
        let cx = (x - self.origin.0) / self.col;
        let inside = cx >= 0.0 && y >= self.origin.1 - self.plot_h && y < self.height;
        if !inside {
            return None;
        }
        let i = cx as usize;
        (i < self.n).then_some(i)
    }

    /// Draw every `k`-th label so that labels of `font_px` never overlap.
    pub fn label_step(&self, font_px: f64) -> usize {
        ((font_px + 1.0) / self.col.max(0.1)).ceil().max(1.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fit_and_hit() {
        let l = BarsLayout::new(11, 60.0, 800.0);
        assert_eq!(l.col, MAX_COL);
        assert!(l.width <= 800.0);
        for i in [0, 5, 10] {
            assert_eq!(l.bar_at(l.centre(i), l.origin.1 - 1.0), Some(i));
            assert_eq!(l.bar_at(l.centre(i), l.origin.1 + 30.0), Some(i), "the label belongs to its bar");
        }
        assert_eq!(l.bar_at(l.origin.0 - 1.0, l.origin.1 - 1.0), None);
        assert_eq!(l.bar_at(l.centre(11), l.origin.1 - 1.0), None);
        assert_eq!(l.bar_at(l.centre(3), 0.0), None);
        assert_eq!(l.bar_at(f64::NAN, 10.0), None);
        let full = l.bar(2, 0.5, 0.5);
        assert!((full.h - l.plot_h).abs() < 1e-9 && (full.y - (l.origin.1 - l.plot_h)).abs() < 1e-9);
        assert_eq!(l.bar(2, -1.0, 0.5).h, 0.0);
        assert_eq!(l.bar(2, f32::NAN, 0.0).h, 0.0);
        assert!((l.bar(2, 0.25, 0.0).h - l.plot_h * 0.25).abs() < 1e-9, "max 0 falls back to 1");
        let long = BarsLayout::new(512, 60.0, 800.0);
        assert_eq!(long.col, MIN_COL);
        assert!(long.label_step(12.0) >= 4);
        assert_eq!(l.label_step(12.0), 1);
        assert_eq!(BarsLayout::new(0, 0.0, 0.0).bar_at(60.0, 100.0), None);
    }
}
