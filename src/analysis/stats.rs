//! Per-matrix statistics used by the views (colour scale ranges, sanity checks).

/// The largest weight of a matrix (0 for an empty one); the heatmap's "head max" scale.
pub fn head_max(m: &[f32]) -> f32 {
    m.iter().copied().fold(0.0, f32::max)
}

/// Sum of each row of a `rows × cols` matrix (each is 1 for attention probabilities).
pub fn row_sums(m: &[f32], cols: usize) -> Vec<f32> {
    if cols == 0 {
        return Vec::new();
    }
    m.chunks(cols).map(|r| r.iter().sum()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_small_matrix() {
        let m = [0.25, 0.75, 0.5, 0.5];
        assert_eq!(head_max(&m), 0.75);
        assert_eq!(row_sums(&m, 2), vec![1.0, 1.0]);
        assert_eq!(head_max(&[]), 0.0);
        assert!(row_sums(&m, 0).is_empty());
    }
}
