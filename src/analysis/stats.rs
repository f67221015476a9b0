//! Per-matrix statistics used by the views (colour scale ranges).

/// The largest weight of a matrix (0 for an empty one); the heatmap's "head max" scale.
pub fn head_max(m: &[f32]) -> f32 {
    m.iter().copied().fold(0.0, f32::max)
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
}
