//! Display filters: which weights a view draws.
//!
//! A 512-token head has 262 144 weights; most are near 0 and, drawn as lines, bury the few that
//! matter. [`Strongest`] thins them without changing the survivors (so tooltips still print the
//! true weight), and [`PairFilter`] restricts a sentence pair to within- or cross-sentence
//! attention, as BertViz's "Sentence A → Sentence B" selector does.

/// Which weights of a row pass the display filter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Strongest {
    #[default]
    All,
    /// Weights `>= w` pass (a NaN threshold passes nothing).
    MinWeight(f32),
    /// Each row's `k` largest pass; ties go to the lower column index, so exactly `min(k, n)`
    /// weights of a NaN-free row pass and the choice is stable between redraws.
    TopK(usize),
}

/// Display filter over an `n × n` matrix: weights that do not pass become 0, the others are
/// unchanged. Returns a copy; empty if `matrix.len() != n * n`. NaN weights never pass.
pub fn keep_strongest(matrix: &[f32], n: usize, s: Strongest) -> Vec<f32> {
    if n.checked_mul(n) != Some(matrix.len()) {
        return Vec::new();
    }
    match s {
        Strongest::All => matrix.to_vec(),
        Strongest::MinWeight(w) => matrix.iter().map(|&x| if x >= w { x } else { 0.0 }).collect(),
        Strongest::TopK(k) => {
            let mut out = vec![0.0; matrix.len()];
            // n > 0 here: n == 0 means an empty matrix, which has no chunks to visit.
            for (row, dst) in matrix.chunks_exact(n.max(1)).zip(out.chunks_exact_mut(n.max(1))) {
                // Sorting is O(n log n) per row; `passes` would make the whole matrix O(n³).
                let mut order: Vec<usize> =
                    (0..row.len()).filter(|&j| row.get(j).is_some_and(|x| !x.is_nan())).collect();
                order.sort_by(|&a, &b| {
                    let (x, y) =
                        (row.get(a).copied().unwrap_or(0.0), row.get(b).copied().unwrap_or(0.0));
                    y.total_cmp(&x).then(a.cmp(&b))
                });
                for &j in order.iter().take(k) {
                    if let (Some(d), Some(&x)) = (dst.get_mut(j), row.get(j)) {
                        *d = x;
                    }
                }
            }
            out
        }
    }
}

/// The same decision for one weight given its row, for views that draw line by line:
/// `passes(row, j, s)`. `false` when `j` is out of range. `TopK` is O(n) per call; for a whole
/// matrix use [`keep_strongest`].
pub fn passes(row: &[f32], j: usize, s: Strongest) -> bool {
    let Some(&x) = row.get(j) else { return false };
    if x.is_nan() {
        return false;
    }
    match s {
        Strongest::All => true,
        Strongest::MinWeight(w) => x >= w,
        Strongest::TopK(k) => {
            // The rank of j: how many weights beat it (larger, or equal at a lower index).
            let beats =
                |(i, &y): &(usize, &f32)| !y.is_nan() && y.total_cmp(&x).then(j.cmp(i)).is_gt();
            let beaten_by = row.iter().enumerate().filter(beats).count();
            beaten_by < k
        }
    }
}

/// Which (from, to) sentence pairs a view shows for a sentence pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PairFilter {
    #[default]
    All,
    AToA,
    BToB,
    AToB,
    BToA,
}

impl PairFilter {
    /// Every filter, in the order the selector lists them.
    pub const ALL: [PairFilter; 5] = [Self::All, Self::AToA, Self::BToB, Self::AToB, Self::BToA];

    /// Whether attention from a token of `from_segment` to one of `to_segment` is shown
    /// (segments as in `Unit::segment`: 0 = A, 1 = B).
    pub fn allows(self, from_segment: u8, to_segment: u8) -> bool {
        match self {
            Self::All => true,
            Self::AToA => from_segment == 0 && to_segment == 0,
            Self::BToB => from_segment == 1 && to_segment == 1,
            Self::AToB => from_segment == 0 && to_segment == 1,
            Self::BToA => from_segment == 1 && to_segment == 0,
        }
    }

    /// Stable short name for URLs and exports.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::AToA => "aa",
            Self::BToB => "bb",
            Self::AToB => "ab",
            Self::BToA => "ba",
        }
    }

    /// Inverse of [`PairFilter::name`]; `None` for anything else (a hand-edited URL).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// What the selector shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::AToA => "A→A",
            Self::BToB => "B→B",
            Self::AToB => "A→B",
            Self::BToA => "B→A",
        }
    }
}

/// The smallest weight to draw so that at most `budget` of `weights` are drawn (the strongest
/// ones), or `None` when all of them fit. Drawing 25 000 translucent lines costs a software
/// canvas over 100 ms, and the faintest of them are invisible anyway. Reorders `weights`.
pub fn cutoff_for_budget(weights: &mut [f32], budget: usize) -> Option<f32> {
    if budget == 0 || weights.len() <= budget {
        return None;
    }
    let (_, nth, _) = weights.select_nth_unstable_by(budget - 1, |a, b| b.total_cmp(a));
    Some(*nth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const M: [f32; 9] = [
        0.5, 0.3, 0.2,
        0.4, 0.2, 0.4,
        0.1, 0.1, 0.8,
    ];

    #[test]
    fn all_and_min_weight() {
        assert_eq!(keep_strongest(&M, 3, Strongest::All), M);
        assert_eq!(
            keep_strongest(&M, 3, Strongest::MinWeight(0.3)),
            [0.5, 0.3, 0.0, 0.4, 0.0, 0.4, 0.0, 0.0, 0.8]
        );
        assert!(keep_strongest(&M, 2, Strongest::All).is_empty());
        assert!(keep_strongest(&[], 0, Strongest::TopK(1)).is_empty());
        assert!(keep_strongest(&M, 3, Strongest::MinWeight(f32::NAN)).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn top_k_breaks_ties_by_lower_column() {
        // Row 1 ties 0.4 at columns 0 and 2: top-1 keeps column 0.
        assert_eq!(
            keep_strongest(&M, 3, Strongest::TopK(1)),
            [0.5, 0.0, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.8]
        );
        // Row 2 ties 0.1 at columns 0 and 1: top-2 keeps column 0 and the 0.8.
        assert_eq!(
            keep_strongest(&M, 3, Strongest::TopK(2)),
            [0.5, 0.3, 0.0, 0.4, 0.0, 0.4, 0.1, 0.0, 0.8]
        );
        assert_eq!(keep_strongest(&M, 3, Strongest::TopK(0)), [0.0; 9]);
        assert_eq!(keep_strongest(&M, 3, Strongest::TopK(7)), M);
    }

    #[test]
    fn passes_agrees_with_keep_strongest() {
        let row = [0.1, f32::NAN, 0.1, 0.8];
        for s in [
            Strongest::All,
            Strongest::MinWeight(0.1),
            Strongest::TopK(0),
            Strongest::TopK(1),
            Strongest::TopK(2),
        ] {
            for m in [&M[..], &[0.1, 0.1, 0.8, 0.3]] {
                let n = if m.len() == 9 { 3 } else { 2 };
                let kept = keep_strongest(m, n, s);
                for (i, chunk) in m.chunks(n).enumerate() {
                    for j in 0..n {
                        assert_eq!(passes(chunk, j, s), kept[i * n + j] != 0.0, "{s:?} {i} {j}");
                    }
                }
            }
        }
        assert!(passes(&row, 0, Strongest::TopK(2)));
        assert!(!passes(&row, 1, Strongest::All));
        assert!(!passes(&row, 2, Strongest::TopK(2)));
        assert!(passes(&row, 3, Strongest::TopK(1)));
        assert!(!passes(&row, 4, Strongest::All));
        assert_eq!(
            keep_strongest(&[f32::NAN, 0.2, 0.3, 0.1], 2, Strongest::TopK(1)),
            [0.0, 0.2, 0.3, 0.0]
        );
    }

    #[test]
    fn pair_filters() {
        let allowed = |f: PairFilter| [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(a, b)| f.allows(a, b));
        assert_eq!(allowed(PairFilter::All), [true; 4]);
        assert_eq!(allowed(PairFilter::AToA), [true, false, false, false]);
        assert_eq!(allowed(PairFilter::AToB), [false, true, false, false]);
        assert_eq!(allowed(PairFilter::BToA), [false, false, true, false]);
        assert_eq!(allowed(PairFilter::BToB), [false, false, false, true]);
        for f in PairFilter::ALL {
            assert_eq!(PairFilter::from_name(f.name()), Some(f));
        }
        assert_eq!(PairFilter::ALL.map(|f| f.label()), ["All", "A→A", "B→B", "A→B", "B→A"]);
        assert_eq!(PairFilter::from_name("xx"), None);
        assert_eq!(PairFilter::default(), PairFilter::All);
    }

    #[test]
    fn budget_keeps_the_strongest() {
        let mut w = vec![0.1, 0.5, 0.3, 0.9, 0.2];
        assert_eq!(cutoff_for_budget(&mut w, 2), Some(0.5));
        assert_eq!(cutoff_for_budget(&mut w, 5), None);
        assert_eq!(cutoff_for_budget(&mut w, 0), None);
        let mut w = vec![0.4, 0.4, 0.4];
        assert_eq!(cutoff_for_budget(&mut w, 1), Some(0.4), "ties all pass the cut");
    }
}
