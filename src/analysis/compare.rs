//! Comparing two attention runs: two models on one input, or one model on two inputs.
//!
//! Per head, two numbers: the mean absolute difference of the weights, and the mean over rows
//! of the Jensen–Shannon divergence between the two rows' distributions (Lin 1991,
//! "Divergence measures based on the Shannon entropy"), in bits — symmetric, finite where
//! a row has zeros, between 0 (same distribution) and 1 (disjoint supports). Comparing heads
//! this way follows Clark et al. (2019, §6, who use JS divergence between heads' attention
//! distributions) and Kovaleva et al. (2019), who compare heads before and after fine-tuning.
//!
//! Two tokenizers may cut a text differently. [`align_tokens`] says whether they did and which
//! positions line up, and [`pick`] cuts both matrices down to those positions, so a compare view
//! only compares what lines up. Everything takes row-major `n × n` matrices (or `[layers,
//! heads, n, n]` runs) and so also works after [`super::apply_all`].

/// `a − b`, element-wise; empty when the lengths differ.
pub fn difference(a: &[f32], b: &[f32]) -> Vec<f32> {
    if a.len() != b.len() {
        return Vec::new();
    }
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// The matching heads of two runs.
type HeadPairs<'a> = std::iter::Zip<std::slice::ChunksExact<'a, f32>, std::slice::ChunksExact<'a, f32>>;

/// The number of heads (`layers · heads`) and their `n · n` matrices, paired, of two runs of
/// the same shape; `None` on a length mismatch.
fn heads_of<'a>(a: &'a [f32], b: &'a [f32], layers: usize, heads: usize, n: usize) -> Option<(usize, HeadPairs<'a>)> {
    let nn = n.checked_mul(n)?;
    let count = layers.checked_mul(heads)?;
    if count.checked_mul(nn)? != a.len() || a.len() != b.len() {
        return None;
    }
    Some((count, a.chunks_exact(nn.max(1)).zip(b.chunks_exact(nn.max(1)))))
}

/// Per head, the mean of `|a − b|` over its `n²` weights: `[layers · heads]` (index
/// `layer · heads + head`). Both runs are `[layers, heads, n, n]`; empty when a length does not
/// match. A head with `n = 0` gives 0.
pub fn mean_abs_diff(a: &[f32], b: &[f32], layers: usize, heads: usize, n: usize) -> Vec<f32> {
    let Some((count, pairs)) = heads_of(a, b, layers, heads, n) else {
        return Vec::new();
    };
    if n == 0 {
        return vec![0.0; count];
    }
    pairs
        .map(|(x, y)| {
            let s: f64 = x.iter().zip(y).map(|(p, q)| f64::from((p - q).abs())).sum();
            (s / x.len() as f64) as f32
        })
        .collect()
}

/// A row as a distribution: non-finite and negative weights as 0, divided by the sum; `None`
/// for a row without mass.
fn distribution(row: &[f32]) -> Option<Vec<f64>> {
    let v: Vec<f64> = row.iter().map(|&w| if w.is_finite() && w > 0.0 { f64::from(w) } else { 0.0 }).collect();
    let s: f64 = v.iter().sum();
    (s > 0.0 && s.is_finite()).then(|| v.iter().map(|w| w / s).collect())
}

/// Jensen–Shannon divergence between two rows, in bits (base 2, so 0 to 1).
///
/// Each row is first normalised to sum to 1 (non-finite and negative weights count as 0), so
/// rows cut down by [`pick`] compare as distributions. `0 · log 0 = 0`: zeros need no
/// smoothing. Two rows without mass give 0, one row without mass against one with gives 1.
/// `None` if the lengths differ.
pub fn js_divergence(p: &[f32], q: &[f32]) -> Option<f32> {
    if p.len() != q.len() {
        return None;
    }
    let js = match (distribution(p), distribution(q)) {
        (None, None) => 0.0,
        (None, Some(_)) | (Some(_), None) => 1.0,
        (Some(p), Some(q)) => {
            let kl_to_m = |x: f64, m: f64| if x > 0.0 { x * (x / m).log2() } else { 0.0 };
            let d: f64 = p
                .iter()
                .zip(&q)
                .map(|(&x, &y)| {
                    let m = 0.5 * (x + y);
                    0.5 * kl_to_m(x, m) + 0.5 * kl_to_m(y, m)
                })
                .sum();
            // Rounding can leave -1e-17 for equal rows.
            d.clamp(0.0, 1.0)
        }
    };
    Some(js as f32)
}

/// Per head, the mean over rows of [`js_divergence`] between the rows of `a` and `b`:
/// `[layers · heads]` (index `layer · heads + head`), in bits. Empty when a length does not
/// match; 0 for heads with `n = 0`.
pub fn jensen_shannon(a: &[f32], b: &[f32], layers: usize, heads: usize, n: usize) -> Vec<f32> {
    let Some((count, pairs)) = heads_of(a, b, layers, heads, n) else {
        return Vec::new();
    };
    if n == 0 {
        return vec![0.0; count];
    }
    pairs
        .map(|(x, y)| {
            let s: f64 =
                x.chunks_exact(n).zip(y.chunks_exact(n)).filter_map(|(p, q)| js_divergence(p, q)).map(f64::from).sum();
            (s / n as f64) as f32
        })
        .collect()
}

/// How two tokenizations of (what should be) the same text line up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alignment {
    /// The two token lists are equal: every position lines up with itself.
    pub identical: bool,
    /// `(index in a, index in b)` of the tokens that line up, ascending in both.
    pub pairs: Vec<(usize, usize)>,
}

impl Alignment {
    /// The aligned positions of `a`, ascending (for [`pick`] on `a`'s matrices).
    pub fn left(&self) -> Vec<usize> {
        self.pairs.iter().map(|p| p.0).collect()
    }
    /// The aligned positions of `b`, ascending.
    pub fn right(&self) -> Vec<usize> {
        self.pairs.iter().map(|p| p.1).collect()
    }
}

/// Lines up two token lists by their strings: a longest common subsequence (the classic
/// dynamic programme, `O(|a|·|b|)`), so tokens both tokenizers produced in the same order are
/// paired and the rest (pieces one of them split differently) are left out. Comparison is
/// exact; pass labels that are meant to match (e.g. lower-cased, or with `##`/`Ġ` markers
/// stripped) to align across tokenizer styles. Among several longest alignments, earlier
/// tokens of `a` pair with earlier tokens of `b`.
pub fn align_tokens(a: &[&str], b: &[&str]) -> Alignment {
    if a == b {
        return Alignment { identical: true, pairs: (0..a.len()).map(|i| (i, i)).collect() };
    }
    let (n, m) = (a.len(), b.len());
    let Some(cells) = (n + 1).checked_mul(m + 1) else {
        return Alignment { identical: false, pairs: Vec::new() };
    };
    // len[i][j] = LCS length of a[i..] and b[j..], row-major with stride m + 1.
    let mut len = vec![0u32; cells];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let v = if a.get(i) == b.get(j) {
                len.get(at(i + 1, j + 1)).map_or(0, |v| v + 1)
            } else {
                let down = len.get(at(i + 1, j)).copied().unwrap_or(0);
                let right = len.get(at(i, j + 1)).copied().unwrap_or(0);
                down.max(right)
            };
            if let Some(cell) = len.get_mut(at(i, j)) {
                *cell = v;
            }
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    let get = |i: usize, j: usize| len.get(at(i, j)).copied().unwrap_or(0);
    while i < n && j < m {
        if a.get(i) == b.get(j) {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if get(i + 1, j) >= get(i, j + 1) {
            i += 1;
        } else {
            j += 1;
        }
    }
    Alignment { identical: false, pairs }
}

/// The sub-matrix of rows and columns `keep` (in that order) of an `n × n` matrix: `k × k`
/// with `k = keep.len()`. Rows are **not** renormalised ([`js_divergence`] normalises rows
/// itself). Empty if `m.len() != n · n` or an index is `>= n`.
pub fn pick(m: &[f32], n: usize, keep: &[usize]) -> Vec<f32> {
    if n.checked_mul(n) != Some(m.len()) || keep.iter().any(|&i| i >= n) {
        return Vec::new();
    }
    keep.iter()
        .flat_map(|&i| keep.iter().map(move |&j| m.get(i * n + j).copied().unwrap_or(0.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences() {
        assert_eq!(difference(&[1.0, 0.5], &[0.25, 0.5]), [0.75, 0.0]);
        assert!(difference(&[1.0], &[]).is_empty());
        // Two heads of n = 2.
        let a = [1.0, 0.0, 0.5, 0.5, 0.2, 0.8, 0.3, 0.7];
        let b = [0.0, 1.0, 0.5, 0.5, 0.2, 0.8, 0.3, 0.7];
        assert_eq!(mean_abs_diff(&a, &b, 1, 2, 2), [0.5, 0.0]);
        assert_eq!(mean_abs_diff(&a, &b, 2, 1, 2), [0.5, 0.0]);
        assert!(mean_abs_diff(&a, &b[..7], 1, 2, 2).is_empty());
        assert!(mean_abs_diff(&a, &b, 1, 3, 2).is_empty());
        assert_eq!(mean_abs_diff(&[], &[], 2, 2, 0), [0.0; 4]);
    }

    #[test]
    fn js_by_hand() {
        // Disjoint: 1 bit. Equal: 0.
        assert_eq!(js_divergence(&[1.0, 0.0], &[0.0, 1.0]), Some(1.0));
        assert_eq!(js_divergence(&[0.3, 0.7], &[0.3, 0.7]), Some(0.0));
        // P = (1, 0), Q = (0.5, 0.5): M = (0.75, 0.25).
        // KL(P||M) = log2(1/0.75); KL(Q||M) = 0.5 log2(0.5/0.75) + 0.5 log2(0.5/0.25).
        let want = 0.5 * (1.0f64 / 0.75).log2() + 0.5 * (0.5 * (0.5f64 / 0.75).log2() + 0.5 * 2f64.log2());
        let got = js_divergence(&[1.0, 0.0], &[0.5, 0.5]).unwrap();
        assert!((f64::from(got) - want).abs() < 1e-7, "{got} vs {want}");
        // Rows are normalised first; massless rows.
        assert_eq!(js_divergence(&[2.0, 2.0], &[0.5, 0.5]), Some(0.0));
        assert_eq!(js_divergence(&[0.0, 0.0], &[0.0, f32::NAN]), Some(0.0));
        assert_eq!(js_divergence(&[0.0, 0.0], &[0.5, 0.5]), Some(1.0));
        assert_eq!(js_divergence(&[1.0], &[0.5, 0.5]), None);
        // Per head: mean over rows. Head 0: rows disjoint (1) and equal (0): 0.5.
        let a = [1.0, 0.0, 0.5, 0.5, 0.2, 0.8, 0.3, 0.7];
        let b = [0.0, 1.0, 0.5, 0.5, 0.2, 0.8, 0.3, 0.7];
        assert_eq!(jensen_shannon(&a, &b, 1, 2, 2), [0.5, 0.0]);
        assert!(jensen_shannon(&a, &b, 2, 2, 2).is_empty());
        assert_eq!(jensen_shannon(&[], &[], 1, 1, 0), [0.0]);
    }

    #[test]
    fn alignment() {
        let a = ["[CLS]", "the", "dep", "##osit", "bank", "[SEP]"];
        let same = align_tokens(&a, &a);
        assert!(same.identical);
        assert_eq!(same.pairs, [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]);
        let b = ["<s>", "the", "deposit", "bank", "</s>"];
        let al = align_tokens(&a, &b);
        assert!(!al.identical);
        assert_eq!(al.pairs, [(1, 1), (4, 3)]);
        assert_eq!((al.left(), al.right()), (vec![1, 4], vec![1, 3]));
        // Repeated tokens pair in order.
        let al = align_tokens(&["a", "b", "a"], &["a", "a"]);
        assert_eq!(al.pairs, [(0, 0), (2, 1)]);
        assert!(align_tokens(&[], &["x"]).pairs.is_empty());
        assert!(align_tokens(&[], &[]).identical);
    }

    #[test]
    fn pick_cuts_rows_and_columns() {
        #[rustfmt::skip]
        let m = [
            0.5, 0.25, 0.25,
            0.0, 0.5,  0.5,
            0.2, 0.2,  0.6,
        ];
        assert_eq!(pick(&m, 3, &[0, 2]), [0.5, 0.25, 0.2, 0.6]);
        assert_eq!(pick(&m, 3, &[2, 0]), [0.6, 0.2, 0.25, 0.5]);
        assert!(pick(&m, 3, &[3]).is_empty());
        assert!(pick(&m, 2, &[0]).is_empty());
        assert!(pick(&m, 3, &[]).is_empty());
    }
}
