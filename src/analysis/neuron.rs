//! The neuron view's arithmetic: how one query turns into one row of attention.
//!
//! BertViz's neuron view (Vig 2019) shows, for one "from" token of one head, the query vector,
//! the element-wise products with every key, their sums (the scores) and the softmax. Seeing
//! which query/key dimensions carry a weight is the point of the view, so all the intermediate
//! terms are returned rather than only the probabilities the encoder already gives.

/// What the neuron view shows for one "from" token of one head.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronRow {
    /// The query vector `q` of the "from" token (`d` values).
    pub query: Vec<f32>,
    /// `q ∘ k_j` for every token `j`, row-major `[n, d]`.
    pub products: Vec<f32>,
    /// `q · k_j / √d` for every `j` (`n` values): the pre-softmax scores.
    pub scores: Vec<f32>,
    /// `softmax(scores)` (`n` values), with the maximum subtracted first so large scores do not
    /// overflow `exp` — the same result as the encoder's attention row, up to rounding.
    pub probs: Vec<f32>,
}

/// The neuron view's terms for row `from` of one head.
///
/// `q` and `k` are that head's `[n, d]` row-major queries and keys. No attention mask is
/// applied: the page encodes one unpadded input, so every position is attended to. `None` if
/// either length is not `n · d`, `d == 0`, or `from >= n`.
pub fn neuron_row(q: &[f32], k: &[f32], n: usize, d: usize, from: usize) -> Option<NeuronRow> {
    let len = n.checked_mul(d)?;
    if d == 0 || from >= n || q.len() != len || k.len() != len {
        return None;
    }
    let query = q.get(from * d..(from + 1) * d)?.to_vec();
    let scale = 1.0 / (d as f32).sqrt();
    let mut products = Vec::with_capacity(len);
    let mut scores = Vec::with_capacity(n);
    for key in k.chunks_exact(d) {
        let start = products.len();
        products.extend(query.iter().zip(key).map(|(a, b)| a * b));
        scores.push(products.get(start..).unwrap_or(&[]).iter().sum::<f32>() * scale);
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    let probs = exps.iter().map(|e| e / total).collect();
    Some(NeuronRow { query, products, scores, probs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn hand_computed_row() {
        // n = 2, d = 4 (√d = 2). q_1 = [1, 2, 0, -1]; k_0 = [1, 0, 1, 1], k_1 = [0, 1, 0, -1].
        let q = [9.0, 9.0, 9.0, 9.0, 1.0, 2.0, 0.0, -1.0];
        let k = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, -1.0];
        let r = neuron_row(&q, &k, 2, 4, 1).unwrap();
        assert_eq!(r.query, [1.0, 2.0, 0.0, -1.0]);
        assert_eq!(r.products, [1.0, 0.0, 0.0, -1.0, 0.0, 2.0, 0.0, 1.0]);
        // Dots 0 and 3, scaled: 0 and 1.5.
        assert_eq!(r.scores, [0.0, 1.5]);
        let e = 1.5f32.exp();
        assert!(close(&r.probs, &[1.0 / (1.0 + e), e / (1.0 + e)]), "{:?}", r.probs);
    }

    #[test]
    fn large_scores_do_not_overflow() {
        // Scores 1000 and 999 (d = 1): exp(1000) overflows f32 without the max subtraction.
        let r = neuron_row(&[1.0, 0.0], &[1000.0, 999.0], 2, 1, 0).unwrap();
        let e = (-1.0f32).exp();
        assert!(close(&r.probs, &[1.0 / (1.0 + e), e / (1.0 + e)]), "{:?}", r.probs);
    }

    #[test]
    fn bad_shapes_are_none() {
        let v = [0.0; 4];
        assert!(neuron_row(&v, &v, 2, 2, 2).is_none());
        assert!(neuron_row(&v, &v[..3], 2, 2, 0).is_none());
        assert!(neuron_row(&v[..3], &v, 2, 2, 0).is_none());
        assert!(neuron_row(&[], &[], 2, 0, 0).is_none());
        assert!(neuron_row(&[], &[], 0, 2, 0).is_none());
        assert!(neuron_row(&v, &v, usize::MAX, 2, 0).is_none());
        // All-zero scores: uniform.
        assert_eq!(neuron_row(&v, &v, 2, 2, 0).unwrap().probs, [0.5, 0.5]);
    }
}
