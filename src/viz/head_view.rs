//! Geometry of the head view (BertViz's): the "from" tokens in a column on the left, the "to"
//! tokens in a column on the right, a line between them per weight. A sentence pair gets a gap
//! between sentence A and sentence B in both columns.

/// Which column a token is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    From,
    To,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::From => "from",
            Side::To => "to",
        }
    }
}

/// Where everything goes, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadViewLayout {
    pub n: usize,
    /// Height of one token row.
    pub row_h: f64,
    /// y of the top of row 0.
    pub top: f64,
    /// Right edge of the "from" labels; lines start just right of it.
    pub left_x: f64,
    /// Left edge of the "to" labels; lines end just left of it.
    pub right_x: f64,
    /// First row of sentence B (rows from here on are shifted down by `gap`).
    pub b_start: Option<usize>,
    pub gap: f64,
    pub width: f64,
    pub height: f64,
}

const PAD: f64 = 8.0;
const MAX_ROW: f64 = 20.0;
const MIN_ROW: f64 = 3.0;
/// Height the rows aim to fit in before they shrink (long inputs), so 512 tokens stay in one
/// scrollable picture instead of a 10 000-pixel column.
const TARGET_HEIGHT: f64 = 1600.0;
const MIN_SPAN: f64 = 120.0;
const MAX_SPAN: f64 = 360.0;
const PAIR_GAP: f64 = 14.0;
/// Room between a label and the end of its lines.
pub const LINE_INSET: f64 = 5.0;

impl HeadViewLayout {
    /// Lays out `n` rows with labels up to `label` pixels wide, in `avail_width` pixels.
    pub fn new(n: usize, label: f64, avail_width: f64, b_start: Option<usize>) -> Self {
        let label = if label.is_finite() { label.max(0.0) } else { 0.0 };
        let b_start = b_start.filter(|b| *b > 0 && *b < n);
        let row_h = if n == 0 { MAX_ROW } else { (TARGET_HEIGHT / n as f64).clamp(MIN_ROW, MAX_ROW) };
        let span = (avail_width - 2.0 * (label + PAD)).clamp(MIN_SPAN, MAX_SPAN);
        let left_x = PAD + label;
        let right_x = left_x + span;
        let gap = if b_start.is_some() { PAIR_GAP } else { 0.0 };
        let top = PAD;
        Self {
            n,
            row_h,
            top,
            left_x,
            right_x,
            b_start,
            gap,
            width: right_x + label + PAD,
            height: top + n as f64 * row_h + gap + PAD,
        }
    }

    /// y of the middle of row `i`.
    pub fn y(&self, i: usize) -> f64 {
        let shift = if self.b_start.is_some_and(|b| i >= b) { self.gap } else { 0.0 };
        self.top + (i as f64 + 0.5) * self.row_h + shift
    }

    /// The token under a point: the side from the half of the picture, the row from y.
    pub fn token_at(&self, x: f64, y: f64) -> Option<(Side, usize)> {
        if !(x.is_finite() && y.is_finite()) || x < 0.0 || x > self.width {
            return None;
        }
        let side = if x < (self.left_x + self.right_x) / 2.0 { Side::From } else { Side::To };
        let mut rel = y - self.top;
        if let Some(b) = self.b_start {
            let b_top = b as f64 * self.row_h;
            if rel >= b_top + self.gap {
                rel -= self.gap;
            } else if rel >= b_top {
                return None; // in the gap between the sentences
            }
        }
        if rel < 0.0 {
            return None;
        }
        let i = (rel / self.row_h) as usize;
        (i < self.n).then_some((side, i))
    }

    /// The token whose label is under a point: like [`HeadViewLayout::token_at`], but only over
    /// the label columns, not over the lines between them (so the pointer can cross the lines
    /// without changing the focus).
    pub fn label_at(&self, x: f64, y: f64) -> Option<(Side, usize)> {
        if x > self.left_x + LINE_INSET && x < self.right_x - LINE_INSET {
            return None;
        }
        self.token_at(x, y)
    }

    /// Draw every `k`-th label so labels of `font_px` never overlap.
    pub fn label_step(&self, font_px: f64) -> usize {
        ((font_px + 1.0) / self.row_h).ceil().max(1.0) as usize
    }

    /// Line ends for weight (from `i`, to `j`).
    pub fn line(&self, i: usize, j: usize) -> ((f64, f64), (f64, f64)) {
        ((self.left_x + LINE_INSET, self.y(i)), (self.right_x - LINE_INSET, self.y(j)))
    }
}

/// Layout of the per-head strip under the head view: for the focused token, one row per shown
/// head, one cell per other token, coloured by weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripLayout {
    pub rows: usize,
    pub cols: usize,
    pub cell_w: f64,
    pub cell_h: f64,
    pub origin: (f64, f64),
    pub width: f64,
    pub height: f64,
}

impl StripLayout {
    /// `label` is the room left of the rows (head names), `top` the room above the columns
    /// (token names, drawn upwards).
    pub fn new(rows: usize, cols: usize, label: f64, top: f64, avail_width: f64) -> Self {
        let cell_h = 14.0;
        let room = (avail_width - label - 2.0 * PAD).max(0.0);
        let cell_w = if cols == 0 { 24.0 } else { (room / cols as f64).clamp(2.0, 24.0).floor() };
        let origin = (PAD + label, PAD + top.max(0.0));
        Self {
            rows,
            cols,
            cell_w,
            cell_h,
            origin,
            width: origin.0 + cell_w * cols as f64 + PAD,
            height: origin.1 + cell_h * rows as f64 + PAD,
        }
    }

    /// Draw every `k`-th column label so labels of `font_px` never overlap.
    pub fn label_step(&self, font_px: f64) -> usize {
        ((font_px + 1.0) / self.cell_w).ceil().max(1.0) as usize
    }

    /// (row, col) under a point.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let (cx, cy) = ((x - self.origin.0) / self.cell_w, (y - self.origin.1) / self.cell_h);
        if !(cx >= 0.0 && cy >= 0.0) {
            return None;
        }
        let (c, r) = (cx as usize, cy as usize);
        (r < self.rows && c < self.cols).then_some((r, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hit_test_exactly_on_both_sides() {
        let l = HeadViewLayout::new(11, 60.0, 900.0, None);
        assert_eq!(l.row_h, MAX_ROW);
        for i in 0..11 {
            assert_eq!(l.token_at(l.left_x - 10.0, l.y(i)), Some((Side::From, i)));
            assert_eq!(l.token_at(l.right_x + 10.0, l.y(i)), Some((Side::To, i)));
        }
        assert_eq!(l.token_at(10.0, l.y(10) + l.row_h), None);
        assert_eq!(l.token_at(10.0, 0.0), None);
        assert_eq!(l.token_at(f64::NAN, 20.0), None);
        let mid = (l.left_x + l.right_x) / 2.0;
        assert_eq!(l.label_at(mid, l.y(3)), None, "the lines are not a label");
        assert_eq!(l.label_at(l.left_x - 3.0, l.y(3)), Some((Side::From, 3)));
        assert_eq!(l.label_at(l.right_x + 3.0, l.y(3)), Some((Side::To, 3)));
        let ((x0, y0), (x1, y1)) = l.line(2, 5);
        assert!(x0 > l.left_x && x1 < l.right_x && y0 == l.y(2) && y1 == l.y(5));
    }

    #[test]
    fn sentence_b_is_set_apart() {
        let l = HeadViewLayout::new(10, 40.0, 700.0, Some(6));
        assert_eq!(l.y(6) - l.y(5), l.row_h + PAIR_GAP);
        assert_eq!(l.token_at(l.left_x, l.y(6)), Some((Side::From, 6)));
        assert_eq!(l.token_at(l.left_x, l.y(5)), Some((Side::From, 5)));
        assert_eq!(l.token_at(l.left_x, l.top + 6.0 * l.row_h + 2.0), None, "the gap");
        assert_eq!(HeadViewLayout::new(10, 40.0, 700.0, Some(0)).b_start, None);
    }

    #[test]
    fn long_inputs_shrink_rows_and_thin_labels() {
        let l = HeadViewLayout::new(512, 60.0, 900.0, None);
        assert!(l.row_h >= MIN_ROW && l.row_h < 4.0);
        assert!(l.label_step(12.0) >= 4);
        assert_eq!(l.token_at(l.left_x, l.y(511)), Some((Side::From, 511)));
        let narrow = HeadViewLayout::new(20, 80.0, 250.0, None);
        assert_eq!(narrow.right_x - narrow.left_x, MIN_SPAN);
    }

    #[test]
    fn strip_cells_hit_test() {
        let s = StripLayout::new(12, 11, 30.0, 50.0, 600.0);
        assert_eq!(s.origin.1, PAD + 50.0);
        assert_eq!(s.cell_at(s.origin.0 + 1.0, s.origin.1 + 1.0), Some((0, 0)));
        assert_eq!(s.cell_at(s.origin.0 + s.cell_w * 10.5, s.origin.1 + s.cell_h * 11.5), Some((11, 10)));
        assert_eq!(s.cell_at(s.origin.0 - 1.0, s.origin.1), None);
        assert_eq!(s.cell_at(s.origin.0 + s.cell_w * 11.0, s.origin.1), None);
    }
}
