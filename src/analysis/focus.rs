//! Token focus: where a chosen set of tokens looks, who looks at them, and which heads link two
//! sets of tokens.
//!
//! BertViz's head view answers "where does this token attend?" for one token. Clark et al.
//! (2019, "What Does BERT Look At?", §4) read heads by such relations between chosen words —
//! a verb and its object, a word and its coreferent — and Vig & Belinkov (2019) chart how much
//! attention each head of each layer puts on a relation. These functions give those sums for
//! any selection, on any `n × n` row-major matrix (row = from, column = to): one head, a head
//! fusion ([`super::fuse_heads`]), a rollout, or a matrix after the view options
//! ([`super::apply`], with `n = units.len()` and unit indices as rows/columns).
//!
//! A selection is a set: repeated indices count once. An index `>= n` or a matrix whose length
//! is not `n · n` gives an empty result.

/// The selection as a mask of `n` flags; `None` if an index is out of range.
fn mask(n: usize, picked: &[usize]) -> Option<Vec<bool>> {
    let mut m = vec![false; n];
    for &i in picked {
        *m.get_mut(i)? = true;
    }
    Some(m)
}

fn square(m: &[f32], n: usize) -> bool {
    n.checked_mul(n) == Some(m.len())
}

/// Where the selected rows attend: the sum of rows `rows` of `m` (`n` values, one per "to"
/// token). With one row that is the row itself; with several, each target's total weight from
/// them ("several, summed"; divide by the selection's size for a mean, still summing to 1).
/// Empty if `m.len() != n · n` or a row is `>= n`.
pub fn attends_to(m: &[f32], n: usize, rows: &[usize]) -> Vec<f32> {
    let Some(sel) = mask(n, rows).filter(|_| square(m, n)) else {
        return Vec::new();
    };
    let mut out = vec![0.0f32; n];
    for (row, _) in m.chunks_exact(n.max(1)).zip(&sel).filter(|(_, &s)| s) {
        out.iter_mut().zip(row).for_each(|(o, &w)| *o += w);
    }
    out
}

/// Who attends to the selected columns: for every row `i` (`n` values, one per "from" token),
/// `Σ_{j ∈ cols} m[i][j]`, the share of row `i`'s attention that lands on the selection.
/// Empty if `m.len() != n · n` or a column is `>= n`.
pub fn attended_by(m: &[f32], n: usize, cols: &[usize]) -> Vec<f32> {
    let Some(sel) = mask(n, cols).filter(|_| square(m, n)) else {
        return Vec::new();
    };
    m.chunks_exact(n.max(1))
        .take(n)
        .map(|row| row.iter().zip(&sel).filter(|(_, &s)| s).map(|(&w, _)| w).sum())
        .collect()
}

/// How strongly each head links `from` to `to`: for every head of every layer,
/// `Σ_{i ∈ from} Σ_{j ∈ to} a[i][j]` — **summed** over the `from` rows, as [`attends_to`]
/// sums them (divide by `from.len()` for the mean share, between 0 and 1).
///
/// `attn` is `[layers, heads, n, n]` ([`crate::attention::Attention::data`], or the output of
/// [`super::apply_all`] with the unit count as `n`). Returns `[layers · heads]`, row-major
/// (`layer · heads + head`), for a layers × heads grid; empty on a length mismatch or an index
/// `>= n`.
pub fn relation_grid(attn: &[f32], layers: usize, heads: usize, n: usize, from: &[usize], to: &[usize]) -> Vec<f32> {
    let (Some(rows), Some(cols)) = (mask(n, from), mask(n, to)) else {
        return Vec::new();
    };
    let Some(nn) = n.checked_mul(n) else {
        return Vec::new();
    };
    let count = layers.checked_mul(heads);
    if count.and_then(|c| c.checked_mul(nn)) != Some(attn.len()) {
        return Vec::new();
    }
    let count = count.unwrap_or(0);
    if nn == 0 {
        return vec![0.0; count];
    }
    attn.chunks_exact(nn)
        .map(|head| {
            head.chunks_exact(n)
                .zip(&rows)
                .filter(|(_, &r)| r)
                .map(|(row, _)| row.iter().zip(&cols).filter(|(_, &c)| c).map(|(&w, _)| w).sum::<f32>())
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const M: [f32; 9] = [
        0.5, 0.25, 0.25,
        0.0, 0.5,  0.5,
        0.2, 0.2,  0.6,
    ];

    #[test]
    fn attends_to_sums_selected_rows() {
        assert_eq!(attends_to(&M, 3, &[1]), [0.0, 0.5, 0.5]);
        assert_eq!(attends_to(&M, 3, &[0, 2]), [0.7, 0.45, 0.85]);
        assert_eq!(attends_to(&M, 3, &[2, 0, 2]), [0.7, 0.45, 0.85]);
        assert_eq!(attends_to(&M, 3, &[]), [0.0; 3]);
        assert!(attends_to(&M, 3, &[3]).is_empty());
        assert!(attends_to(&M[..8], 3, &[0]).is_empty());
        assert!(attends_to(&[], 0, &[]).is_empty());
    }

    #[test]
    fn attended_by_sums_selected_columns_per_row() {
        assert_eq!(attended_by(&M, 3, &[0]), [0.5, 0.0, 0.2]);
        let v = attended_by(&M, 3, &[1, 2]);
        assert!(v.iter().zip([0.5, 1.0, 0.8]).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
        assert!(attended_by(&M, 3, &[9]).is_empty());
        assert!(attended_by(&M, 2, &[0]).is_empty());
    }

    #[test]
    fn relation_grid_sums_per_head() {
        // Two layers × one head; the second head is the transpose.
        #[rustfmt::skip]
        let t = [
            0.5,  0.0, 0.2,
            0.25, 0.5, 0.2,
            0.25, 0.5, 0.6,
        ];
        let attn: Vec<f32> = M.iter().chain(&t).copied().collect();
        // from {0, 1} to {2}: 0.25 + 0.5 and 0.2 + 0.2.
        let g = relation_grid(&attn, 2, 1, 3, &[0, 1], &[2]);
        assert!(g.iter().zip([0.75, 0.4]).all(|(a, b)| (a - b).abs() < 1e-6), "{g:?}");
        assert_eq!(relation_grid(&attn, 1, 2, 3, &[], &[2]), [0.0, 0.0]);
        assert!(relation_grid(&attn, 2, 2, 3, &[0], &[2]).is_empty());
        assert!(relation_grid(&attn, 2, 1, 3, &[3], &[2]).is_empty());
        assert_eq!(relation_grid(&[], 2, 3, 0, &[], &[]), [0.0; 6]);
    }
}
