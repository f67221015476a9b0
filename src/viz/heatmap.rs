//! Geometry of the heatmap: rows are "from" tokens, columns are "to" tokens (as in the seed
//! notebook's Matplotlib plots), token labels left and on top (vertical), a colour bar right.

/// An axis-aligned rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x && x < self.x + self.w && y >= self.y && y < self.y + self.h
    }
}

/// Where everything goes, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapLayout {
    /// Number of tokens (the matrix is `n × n`).
    pub n: usize,
    /// Side of one cell.
    pub cell: f64,
    /// Top-left corner of cell (0, 0).
    pub origin: (f64, f64),
    /// The colour bar's gradient strip.
    pub colour_bar: Rect,
    /// Size of the whole drawing.
    pub width: f64,
    pub height: f64,
}

const PAD: f64 = 8.0;
const MIN_CELL: f64 = 2.0;
const MAX_CELL: f64 = 44.0;
const BAR_GAP: f64 = 18.0;
const BAR_W: f64 = 14.0;
/// Room for the colour bar's tick labels.
const BAR_LABELS: f64 = 64.0;

impl HeatmapLayout {
    /// Lays out an `n × n` heatmap in at most `avail_width` pixels (the grid never shrinks
    /// below `MIN_CELL` per cell: very long inputs scroll instead). `label` is the space the
    /// longest token label needs (zero when labels are hidden).
    pub fn new(n: usize, label: f64, avail_width: f64) -> Self {
        let label = if label.is_finite() { label.max(0.0) } else { 0.0 };
        let side = label + PAD;
        let fixed = side + BAR_GAP + BAR_W + BAR_LABELS + PAD;
        let room = (avail_width - fixed).max(0.0);
        let cell = if n == 0 { MAX_CELL } else { (room / n as f64).clamp(MIN_CELL, MAX_CELL).floor() };
        let grid = cell * n as f64;
        let origin = (side, side);
        let bar_h = grid.max(120.0);
        let colour_bar = Rect { x: origin.0 + grid + BAR_GAP, y: origin.1, w: BAR_W, h: bar_h };
        Self {
            n,
            cell,
            origin,
            colour_bar,
            width: colour_bar.x + BAR_W + BAR_LABELS,
            height: origin.1 + bar_h + PAD,
        }
    }

    /// The cell `(from, to)` under a point, if any.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let (cx, cy) = ((x - self.origin.0) / self.cell, (y - self.origin.1) / self.cell);
        if !(cx >= 0.0 && cy >= 0.0) {
            return None;
        }
        let (to, from) = (cx as usize, cy as usize);
        (from < self.n && to < self.n).then_some((from, to))
    }

    /// The rectangle of cell `(from, to)`.
    pub fn cell_rect(&self, from: usize, to: usize) -> Rect {
        Rect {
            x: self.origin.0 + to as f64 * self.cell,
            y: self.origin.1 + from as f64 * self.cell,
            w: self.cell,
            h: self.cell,
        }
    }

    /// Draw every `k`-th label so that labels of `font_px` never overlap.
    pub fn label_step(&self, font_px: f64) -> usize {
        if self.cell <= 0.0 {
            return 1;
        }
        ((font_px + 1.0) / self.cell).ceil().max(1.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_testing_inverts_cell_rects() {
        let l = HeatmapLayout::new(11, 60.0, 900.0);
        for (i, j) in [(0, 0), (3, 4), (10, 10), (10, 0)] {
            let r = l.cell_rect(i, j);
            assert_eq!(l.cell_at(r.x + r.w / 2.0, r.y + r.h / 2.0), Some((i, j)));
            assert_eq!(l.cell_at(r.x, r.y), Some((i, j)));
        }
        assert_eq!(l.cell_at(l.origin.0 - 1.0, l.origin.1), None);
        let far = l.origin.0 + l.cell * 11.0;
        assert_eq!(l.cell_at(far, l.origin.1), None);
        assert_eq!(l.cell_at(f64::NAN, 1.0), None);
    }

    #[test]
    fn cells_fit_the_width_within_bounds() {
        let small = HeatmapLayout::new(11, 60.0, 900.0);
        assert!(small.width <= 900.0 && small.cell == MAX_CELL, "{small:?}");
        let long = HeatmapLayout::new(512, 60.0, 900.0);
        assert_eq!(long.cell, MIN_CELL);
        let mid = HeatmapLayout::new(100, 60.0, 900.0);
        assert!(mid.width <= 900.0 && mid.cell >= MIN_CELL && mid.cell < MAX_CELL);
        assert!(mid.label_step(11.0) >= 2);
        assert_eq!(small.label_step(11.0), 1);
        assert_eq!(HeatmapLayout::new(0, 0.0, 0.0).cell_at(20.0, 20.0), None);
    }
}
