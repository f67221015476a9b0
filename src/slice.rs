//! The slices the views draw, cut from a run's attention in the worker (pure, natively tested).
//!
//! The worker owns the `[layers, heads, seq, seq]` tensor; the page asks for a
//! [`SliceKind`] with [`ViewOptions`] and receives only the floats it draws, laid out as each
//! kind documents. Queries and keys need the engine itself, and the corpus statistics and the
//! compare slices need more than one run, so the worker cuts those with the functions here
//! ([`run_stats`], [`compare_head`], [`compare_heads`]).

mod aggregate;
mod compare;
mod stats;

pub use aggregate::{chosen_units, flow_refusal, focus, head_after, source_matrix, Axis, Memo};
pub use compare::{compare_axes, compare_head, compare_heads, Side};
pub use stats::{decode_stats, encode_stats, run_stats, ROLES};

use crate::analysis::{apply, apply_all, downsample, entropy, is_identity, units, ViewOptions};
use crate::attention::Attention;
use crate::model::Token;
use crate::protocol::SliceKind;

/// A slice ready to send: its `dims` (see [`SliceKind`]) and the flat data.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// Cuts `kind` out of `attention` (whose tokens are `tokens`), with `options` applied.
/// [`SliceKind::QueryKey`], the corpus statistics and the compare kinds are not cut from one
/// run's attention and give an error here.
pub fn cut(attention: &Attention, tokens: &[Token], kind: &SliceKind, options: ViewOptions) -> Result<Slice, String> {
    cut_with(attention, tokens, kind, options, &mut Memo::default())
}

/// [`cut`], keeping what is worth keeping between requests (the latest rollout) in `memo`.
pub fn cut_with(attention: &Attention, tokens: &[Token], kind: &SliceKind, options: ViewOptions, memo: &mut Memo) -> Result<Slice, String> {
    let shape = attention.shape();
    let n = shape.seq;
    if tokens.len() != n {
        return Err(format!("the run has {} tokens but its attention is {n} wide", tokens.len()));
    }
    let axis = units(tokens, options);
    let identity = is_identity(&axis, n);
    let m = axis.len();
    let out_of_range = || format!("{kind:?} is out of range for this model ({} layers × {} heads)", shape.layers, shape.heads);
    let ax = Axis { units: &axis, identity };
    let (layers, heads) = (shape.layers, shape.heads);
    match kind {
        SliceKind::Matrix { layer, source } => {
            let data = source_matrix(attention, &ax, *layer, source, memo)?;
            Ok(Slice { dims: vec![m, m], data })
        }
        SliceKind::Focus { layer, source, rows, target } => {
            let data = focus(attention, &ax, *layer, source, rows, target, memo)?;
            Ok(Slice { dims: vec![m, layers, heads], data })
        }
        SliceKind::HeadStats { corpus: false } => {
            let stats = run_stats(attention, tokens, &ax)?;
            let (dims, data) = encode_stats(&stats, layers, heads)?;
            Ok(Slice { dims, data })
        }
        SliceKind::HeadStats { corpus: true } => Err("corpus statistics need the model, not one run's attention".into()),
        SliceKind::CompareHead { .. } | SliceKind::CompareHeads { .. } => Err("a comparison needs two runs".into()),
        SliceKind::Head { layer, head } => {
            let raw = attention.head(*layer, *head).ok_or_else(out_of_range)?;
            let data = if identity { raw.to_vec() } else { apply(raw, n, &axis) };
            Ok(Slice { dims: vec![m, m], data })
        }
        SliceKind::Layer { layer } => {
            let len = shape.heads * shape.head_len();
            let layer = *layer;
            let raw = (layer < shape.layers)
                .then(|| attention.data().get(layer * len..(layer + 1) * len))
                .flatten()
                .ok_or_else(out_of_range)?;
            let data = if identity { raw.to_vec() } else { apply_all(raw, n, shape.heads, &axis) };
            Ok(Slice { dims: vec![shape.heads, m, m], data })
        }
        SliceKind::Thumbnails { side } => {
            let heads = shape.layers * shape.heads;
            let s = m.min((*side).max(1));
            let mut data = Vec::with_capacity(heads * s * s + heads);
            let mut entropies = Vec::with_capacity(heads);
            for k in 0..heads {
                let raw = attention.head(k / shape.heads, k % shape.heads).ok_or_else(out_of_range)?;
                let applied;
                let matrix = if identity {
                    raw
                } else {
                    applied = apply(raw, n, &axis);
                    &applied
                };
                let (small, got) = downsample(matrix, m, s);
                if got != s || small.len() != s * s {
                    return Err(format!("could not shrink a {m}×{m} matrix to {s}×{s}"));
                }
                data.extend_from_slice(&small);
                entropies.push(entropy(matrix, m));
            }
            data.extend(entropies);
            Ok(Slice { dims: vec![shape.layers, shape.heads, s, s], data })
        }
        SliceKind::QueryKey { .. } => Err("queries and keys come from the engine, not the attention".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Shape;

    fn token(text: &str, special: bool, word: Option<u32>) -> Token {
        Token::for_test(text, special, word)
    }

    /// Two layers × two heads over [CLS] a b [SEP]; every row is uniform except layer 1 head 1.
    fn sample() -> (Attention, Vec<Token>) {
        let shape = Shape { layers: 2, heads: 2, seq: 4 };
        let mut data = vec![0.25f32; shape.len()];
        let last = 3 * shape.head_len();
        data[last..last + 16].copy_from_slice(&[
            1.0, 0.0, 0.0, 0.0, //
            0.5, 0.5, 0.0, 0.0, //
            0.0, 0.2, 0.3, 0.5, //
            0.0, 0.0, 0.0, 1.0,
        ]);
        let tokens = vec![token("[CLS]", true, None), token("a", false, Some(0)), token("##b", false, Some(0)), token("[SEP]", true, None)];
        (Attention::new(shape, data).unwrap(), tokens)
    }

    #[test]
    fn head_and_layer_slices_apply_the_options() {
        let (a, t) = sample();
        let plain = cut(&a, &t, &SliceKind::Head { layer: 1, head: 1 }, ViewOptions::default()).unwrap();
        assert_eq!(plain.dims, vec![4, 4]);
        assert_eq!(plain.data, a.head(1, 1).unwrap());
        // Merge "a ##b" and hide the specials: one unit, whose row renormalises to 1.
        let opts = ViewOptions { hide_special: true, merge_words: true };
        let merged = cut(&a, &t, &SliceKind::Head { layer: 1, head: 1 }, opts).unwrap();
        assert_eq!(merged.dims, vec![1, 1]);
        assert!((merged.data[0] - 1.0).abs() < 1e-6);
        let layer = cut(&a, &t, &SliceKind::Layer { layer: 1 }, ViewOptions { hide_special: true, merge_words: false }).unwrap();
        assert_eq!(layer.dims, vec![2, 2, 2]);
        // Head 1, row "a": 0.5, 0.0 over (a, ##b) renormalised -> 1, 0; row "##b": 0.2, 0.3 -> 0.4, 0.6.
        let h1 = &layer.data[4..8];
        for (got, want) in h1.iter().zip([1.0, 0.0, 0.4, 0.6]) {
            assert!((got - want).abs() < 1e-6, "{h1:?}");
        }
    }

    #[test]
    fn thumbnails_carry_downsampled_heads_and_entropies() {
        let (a, t) = sample();
        let th = cut(&a, &t, &SliceKind::Thumbnails { side: 2 }, ViewOptions::default()).unwrap();
        assert_eq!(th.dims, vec![2, 2, 2, 2]);
        assert_eq!(th.data.len(), 2 * 2 * 4 + 4);
        // Uniform rows over 4 tokens: entropy ln 4; shrunk rows still sum to 1.
        assert!((th.data[16] - 4f32.ln()).abs() < 1e-5);
        for row in th.data[..16].chunks(2) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
        // The peaked head is less broad than the uniform ones.
        assert!(th.data[19] < th.data[16]);
    }

    #[test]
    fn bad_requests_are_errors() {
        let (a, t) = sample();
        let o = ViewOptions::default();
        assert!(cut(&a, &t, &SliceKind::Head { layer: 2, head: 0 }, o).is_err());
        assert!(cut(&a, &t, &SliceKind::Layer { layer: 9 }, o).is_err());
        assert!(cut(&a, &t[..3], &SliceKind::Head { layer: 0, head: 0 }, o).is_err());
        assert!(cut(&a, &t, &SliceKind::QueryKey { layer: 0, head: 0 }, o).is_err());
    }
}
