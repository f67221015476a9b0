//! Per-matrix statistics used by the views (colour scale ranges, head summaries, thumbnails).

/// The largest weight of a matrix (0 for an empty one); the heatmap's "head max" scale.
pub fn head_max(m: &[f32]) -> f32 {
    m.iter().copied().fold(0.0, f32::max)
}

/// Mean over rows of the row entropy `−Σ a·ln a`, in nats (`0·ln 0 = 0`).
///
/// Clark et al. (2019) use it to tell broad heads (high: attention spread like a bag of words,
/// at most `ln n`) from sharp ones (near 0: each token looks at one other), which is what the
/// head overview sorts and shades by. Non-positive and non-finite weights count as 0. Returns 0
/// for an empty matrix or when `matrix.len() != n * n`. Summed in f64: 512 rows of 512 terms.
pub fn entropy(matrix: &[f32], n: usize) -> f32 {
    if n == 0 || n.checked_mul(n) != Some(matrix.len()) {
        return 0.0;
    }
    let total: f64 = matrix
        .iter()
        .map(|&a| f64::from(a))
        .filter(|a| *a > 0.0 && a.is_finite())
        .map(|a| -a * a.ln())
        .sum();
    (total / n as f64) as f32
}

/// Shrinks an `n × n` matrix to `s × s` (`s = min(n, side)`) for the head thumbnails.
///
/// Token `k` goes to bucket `floor(k·s/n)`; a bucket ROW is the MEAN of its rows and a bucket
/// COLUMN the SUM of its columns (the same convention as merging word pieces), so rows still
/// sum to 1 and a thumbnail's colours mean what the full heatmap's do. `n <= side` returns a
/// copy. Returns `(data, s)`; `(vec![], 0)` if `matrix.len() != n * n`.
pub fn downsample(matrix: &[f32], n: usize, side: usize) -> (Vec<f32>, usize) {
    if n.checked_mul(n) != Some(matrix.len()) {
        return (Vec::new(), 0);
    }
    if n <= side {
        return (matrix.to_vec(), n);
    }
    let s = side;
    // k < n and s < n, so k·s < n·n, which fits (it is matrix.len()).
    let bucket = |k: usize| k * s / n;
    let mut sums = vec![0.0f32; s * s];
    let mut rows_in = vec![0usize; s];
    for (i, row) in matrix.chunks_exact(n).enumerate() {
        let bi = bucket(i);
        if let Some(c) = rows_in.get_mut(bi) {
            *c += 1;
        }
        for (j, &w) in row.iter().enumerate() {
            if let Some(cell) = sums.get_mut(bi * s + bucket(j)) {
                *cell += w;
            }
        }
    }
    for (row, &count) in sums.chunks_exact_mut(s.max(1)).zip(&rows_in) {
        if count > 0 {
            row.iter_mut().for_each(|w| *w /= count as f32);
        }
    }
    (sums, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_small_matrix() {
        let m = [0.25, 0.75, 0.5, 0.5];
        assert_eq!(head_max(&m), 0.75);
        assert_eq!(head_max(&[]), 0.0);
    }

    #[test]
    fn entropy_of_known_rows() {
        // Row 0 uniform over 2: ln 2; row 1 one-hot: 0. Mean: ln 2 / 2.
        let e = entropy(&[0.5, 0.5, 0.0, 1.0], 2);
        assert!((e - std::f32::consts::LN_2 / 2.0).abs() < 1e-6, "{e}");
        // Uniform over 4 in every row: ln 4.
        let e = entropy(&[0.25; 16], 4);
        assert!((e - 4f32.ln()).abs() < 1e-6, "{e}");
        assert_eq!(entropy(&[1.0, 0.0, f32::NAN, 1.0], 2), 0.0);
        assert_eq!(entropy(&[0.5; 3], 2), 0.0);
        assert_eq!(entropy(&[], 0), 0.0);
    }

    #[test]
    fn downsample_means_rows_and_sums_columns() {
        // 3 tokens into 2 buckets: token 0 -> 0, tokens 1, 2 -> floor(2/3)=0, floor(4/3)=1.
        #[rustfmt::skip]
        let m = [
            0.5, 0.25, 0.25,
            0.0, 0.5,  0.5,
            0.2, 0.2,  0.6,
        ];
        let (d, s) = downsample(&m, 3, 2);
        assert_eq!(s, 2);
        // Bucket row 0 = mean(rows 0, 1) with columns {0, 1} summed and {2}.
        let want = [0.625, 0.375, 0.4, 0.6];
        assert!(d.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{d:?}");
        // 4 -> 2: pairs of tokens.
        let m4: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let (d, s) = downsample(&m4, 4, 2);
        assert_eq!((d, s), (vec![5.0, 9.0, 21.0, 25.0], 2));
    }

    #[test]
    fn downsample_edge_cases() {
        assert_eq!(downsample(&[1.0, 0.0, 0.0, 1.0], 2, 5), (vec![1.0, 0.0, 0.0, 1.0], 2));
        assert_eq!(downsample(&[1.0, 0.0, 0.0, 1.0], 2, 0), (vec![], 0));
        assert_eq!(downsample(&[1.0; 3], 2, 1), (vec![], 0));
        assert_eq!(downsample(&[0.5; 4], 2, 1), (vec![1.0], 1));
        assert_eq!(downsample(&[], 0, 4), (vec![], 0));
    }
}
