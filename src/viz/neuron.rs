//! Geometry of the neuron view. For the focused "from" token: its query vector on top; then a
//! row per token j with its key vector k_j, the elementwise product q∘k_j, the score q·k_j/√d
//! and the softmax — the computation of one row of a head, term by term.

/// What the pointer is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeuronHit {
    Query { dim: usize },
    Key { token: usize, dim: usize },
    Product { token: usize, dim: usize },
    Score { token: usize },
    Prob { token: usize },
    Label { token: usize },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuronLayout {
    pub n: usize,
    pub d: usize,
    /// Width of one vector component's bar.
    pub dim_w: f64,
    pub row_h: f64,
    /// Right edge of the token labels.
    pub label_x: f64,
    /// Left edges of the key block, the product block, the score bar and the softmax bar.
    pub k_x: f64,
    pub p_x: f64,
    pub s_x: f64,
    pub prob_x: f64,
    /// Width of the score and softmax bars.
    pub bar_w: f64,
    /// Top of the column titles, of the query row and of token row 0.
    pub title_y: f64,
    pub q_y: f64,
    pub rows_y: f64,
    pub width: f64,
    pub height: f64,
}

const PAD: f64 = 8.0;
const GAP: f64 = 18.0;
const TITLE_H: f64 = 18.0;
const ROW_H: f64 = 20.0;
const Q_H: f64 = 36.0;
const BAR_W: f64 = 80.0;
const MIN_BAR_W: f64 = 28.0;
const MIN_DIM: f64 = 1.5;

impl NeuronLayout {
    pub fn new(n: usize, d: usize, label: f64, avail_width: f64) -> Self {
        let label = if label.is_finite() { label.max(0.0) } else { 0.0 };
        let label_x = PAD + label;
        let k_x = label_x + 8.0;
        // Narrow screens (phones) shrink the gaps and the two bars before the vectors.
        let gap = if avail_width < 600.0 { 8.0 } else { GAP };
        let min_vectors = 2.0 * d as f64 * MIN_DIM;
        let bar_w = ((avail_width - k_x - 3.0 * gap - PAD - min_vectors) / 2.0).clamp(MIN_BAR_W, BAR_W);
        let fixed = k_x + 3.0 * gap + 2.0 * bar_w + PAD;
        let room = (avail_width - fixed).max(0.0);
        let dim_w = if d == 0 { 4.0 } else { (room / (2 * d) as f64).clamp(MIN_DIM, 9.0) };
        let block = dim_w * d as f64;
        let p_x = k_x + block + gap;
        let s_x = p_x + block + gap;
        let prob_x = s_x + bar_w + gap;
        let title_y = PAD;
        let q_y = title_y + TITLE_H;
        let rows_y = q_y + Q_H + 10.0;
        Self {
            n,
            d,
            dim_w,
            row_h: ROW_H,
            label_x,
            k_x,
            p_x,
            s_x,
            prob_x,
            bar_w,
            title_y,
            q_y,
            rows_y,
            width: prob_x + bar_w + PAD,
            height: rows_y + n as f64 * ROW_H + PAD,
        }
    }

    /// Middle of token row `j`.
    pub fn row_mid(&self, j: usize) -> f64 {
        self.rows_y + (j as f64 + 0.5) * self.row_h
    }

    /// Height of the query row.
    pub fn q_h(&self) -> f64 {
        Q_H
    }

    pub fn hit(&self, x: f64, y: f64) -> Option<NeuronHit> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let block = self.dim_w * self.d as f64;
        let dim_in = |x0: f64| -> Option<usize> {
            let dim = ((x - x0) / self.dim_w).floor();
            (x >= x0 && dim < self.d as f64).then_some(dim as usize)
        };
        if y >= self.q_y && y < self.q_y + Q_H {
            return dim_in(self.k_x).map(|dim| NeuronHit::Query { dim });
        }
        if y < self.rows_y {
            return None;
        }
        let token = ((y - self.rows_y) / self.row_h) as usize;
        if token >= self.n {
            return None;
        }
        if x < self.k_x {
            return (x >= 0.0).then_some(NeuronHit::Label { token });
        }
        if x < self.k_x + block {
            return dim_in(self.k_x).map(|dim| NeuronHit::Key { token, dim });
        }
        if x >= self.p_x && x < self.p_x + block {
            return dim_in(self.p_x).map(|dim| NeuronHit::Product { token, dim });
        }
        if x >= self.s_x && x < self.s_x + self.bar_w {
            return Some(NeuronHit::Score { token });
        }
        if x >= self.prob_x && x < self.prob_x + self.bar_w {
            return Some(NeuronHit::Prob { token });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_hit_tests_back() {
        let l = NeuronLayout::new(11, 32, 60.0, 1000.0);
        assert!(l.width <= 1000.0 + 1e-9, "{l:?}");
        let mid = |x0: f64, dim: usize| x0 + (dim as f64 + 0.5) * l.dim_w;
        assert_eq!(l.hit(mid(l.k_x, 5), l.q_y + 3.0), Some(NeuronHit::Query { dim: 5 }));
        assert_eq!(l.hit(mid(l.k_x, 31), l.row_mid(10)), Some(NeuronHit::Key { token: 10, dim: 31 }));
        assert_eq!(l.hit(mid(l.p_x, 0), l.row_mid(3)), Some(NeuronHit::Product { token: 3, dim: 0 }));
        assert_eq!(l.hit(l.s_x + 1.0, l.row_mid(2)), Some(NeuronHit::Score { token: 2 }));
        assert_eq!(l.hit(l.prob_x + l.bar_w - 1.0, l.row_mid(2)), Some(NeuronHit::Prob { token: 2 }));
        assert_eq!(l.hit(2.0, l.row_mid(4)), Some(NeuronHit::Label { token: 4 }));
        assert_eq!(l.hit(mid(l.k_x, 1), l.row_mid(11)), None);
        assert_eq!(l.hit(l.p_x - 2.0, l.row_mid(1)), None, "gap between blocks");
        assert_eq!(l.hit(f64::NAN, 3.0), None);
    }

    #[test]
    fn bars_shrink_to_fit_wide_heads() {
        let l = NeuronLayout::new(5, 64, 60.0, 700.0);
        assert!(l.dim_w >= 1.5 && l.dim_w < 9.0);
        let narrow = NeuronLayout::new(5, 64, 60.0, 360.0);
        assert_eq!(narrow.dim_w, 1.5);
        // A phone (a 352-pixel panel) fits MiniLM's 32-dimensional heads.
        let phone = NeuronLayout::new(11, 32, 50.0, 352.0);
        assert!(phone.width <= 352.0, "{phone:?}");
        assert!(phone.bar_w >= MIN_BAR_W);
    }
}
