//! The aggregate and token-focus slices: a layer's matrix from a [`Source`] (one head, a fusion
//! of heads, rollout, flow) and the focus bars and grids, every one after the view options.
//!
//! The options are applied to each head first and the maths runs on the result, as the
//! analysis functions' docs ask ([`crate::analysis`]): a rollout with merged words is the
//! rollout of the merged heads, not a merged rollout.

use std::borrow::Cow;

use crate::analysis::{
    apply, attended_by, attends_to, flow, flow_fits, flow_max_tokens, fuse_heads, relation_grid, rollout, Fusion, Unit,
};
use crate::attention::Attention;
use crate::protocol::Source;

/// The token axis of a run under the options, and whether it is the raw one.
pub struct Axis<'a> {
    pub units: &'a [Unit],
    /// Unit `i` is token `i` and all tokens are there: heads are used as they are.
    pub identity: bool,
}

impl Axis<'_> {
    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// One head after the options: borrowed when they change nothing.
pub fn head_after<'a>(attention: &'a Attention, axis: &Axis, layer: usize, head: usize) -> Option<Cow<'a, [f32]>> {
    let raw = attention.head(layer, head)?;
    if axis.identity {
        return Some(Cow::Borrowed(raw));
    }
    let m = axis.len();
    let out = apply(raw, attention.shape().seq, axis.units);
    (out.len() == m * m).then_some(Cow::Owned(out))
}

/// Every head of `layer` after the options, `[heads, m, m]`.
fn layer_after<'a>(attention: &'a Attention, axis: &Axis, layer: usize) -> Option<Cow<'a, [f32]>> {
    let shape = attention.shape();
    if axis.identity {
        let len = shape.heads * shape.head_len();
        return (layer < shape.layers).then(|| attention.data().get(layer * len..(layer + 1) * len)).flatten().map(Cow::Borrowed);
    }
    let mut out = Vec::with_capacity(shape.heads * axis.len() * axis.len());
    for h in 0..shape.heads {
        out.extend_from_slice(&head_after(attention, axis, layer, h)?);
    }
    Some(Cow::Owned(out))
}

/// The chosen heads, checked: a readable error for none or one out of range.
fn check_heads(heads: &[usize], count: usize) -> Result<(), String> {
    if heads.is_empty() {
        return Err("Choose at least one head to combine.".into());
    }
    match heads.iter().find(|&&h| h >= count) {
        Some(h) => Err(format!("Head {h} does not exist: this model has {count} heads per layer (0 to {}).", count.saturating_sub(1))),
        None => Ok(()),
    }
}

/// The fusion of `heads` in `layer`, after the options: `m × m`.
fn fused_layer(attention: &Attention, axis: &Axis, layer: usize, heads: &[usize], fusion: Fusion) -> Result<Vec<f32>, String> {
    let shape = attention.shape();
    check_heads(heads, shape.heads)?;
    let all = layer_after(attention, axis, layer).ok_or_else(|| out_of_range(layer, shape.layers))?;
    fuse_heads(&all, shape.heads, axis.len(), heads, fusion).ok_or_else(|| "the heads could not be combined".to_string())
}

fn out_of_range(layer: usize, layers: usize) -> String {
    format!("Layer {layer} does not exist: this model has {layers} layers (0 to {}).", layers.saturating_sub(1))
}

/// What the worker keeps between requests: the latest rollout (every layer), so stepping
/// through the layers of one rollout computes it once.
#[derive(Default)]
pub struct Memo {
    rollout: Option<(RolloutKey, Vec<f32>)>,
}

#[derive(Clone, PartialEq)]
struct RolloutKey {
    /// The units' members: the options' axis.
    axis: Vec<Vec<usize>>,
    fusion: Fusion,
    heads: Vec<usize>,
}

/// The `m × m` matrix of `source` at `layer`, after the options.
///
/// Flow is refused beyond [`flow_fits`] with a message naming the limit (the longest input
/// that fits through these layers), so a long input never blocks the worker for minutes.
pub fn source_matrix(attention: &Attention, axis: &Axis, layer: usize, source: &Source, memo: &mut Memo) -> Result<Vec<f32>, String> {
    let shape = attention.shape();
    if layer >= shape.layers {
        return Err(out_of_range(layer, shape.layers));
    }
    let m = axis.len();
    match source {
        Source::Head { head } => {
            check_heads(&[*head], shape.heads)?;
            head_after(attention, axis, layer, *head).map(Cow::into_owned).ok_or_else(|| "the head could not be cut".into())
        }
        Source::Fusion { fusion, heads } => fused_layer(attention, axis, layer, heads, *fusion),
        Source::Rollout { fusion, heads } => {
            check_heads(heads, shape.heads)?;
            let key = RolloutKey { axis: axis.units.iter().map(|u| u.members.clone()).collect(), fusion: *fusion, heads: heads.clone() };
            if memo.rollout.as_ref().is_none_or(|(k, _)| *k != key) {
                let fused = fused_layers(attention, axis, shape.layers, heads, *fusion)?;
                let r = rollout(&fused, shape.layers, m).ok_or("the rollout could not be computed")?;
                memo.rollout = Some((key, r));
            }
            memo.rollout
                .as_ref()
                .and_then(|(_, all)| all.get(layer * m * m..(layer + 1) * m * m))
                .map(<[f32]>::to_vec)
                .ok_or_else(|| "the rollout is incomplete".into())
        }
        Source::Flow { fusion, heads } => {
            check_heads(heads, shape.heads)?;
            if !flow_fits(layer + 1, m) {
                return Err(flow_refusal(layer, m));
            }
            let fused = fused_layers(attention, axis, layer + 1, heads, *fusion)?;
            flow(&fused, layer + 1, m, layer).ok_or_else(|| "the attention flow could not be computed".into())
        }
    }
}

/// The fusion of `heads` in layers `0..count`, after the options: `[count, m, m]`.
fn fused_layers(attention: &Attention, axis: &Axis, count: usize, heads: &[usize], fusion: Fusion) -> Result<Vec<f32>, String> {
    let mut out = Vec::with_capacity(count * axis.len() * axis.len());
    for l in 0..count {
        out.extend(fused_layer(attention, axis, l, heads, fusion)?);
    }
    Ok(out)
}

/// Why flow is not computed through layers `0..=layer` on `m` tokens, with the limit.
pub fn flow_refusal(layer: usize, m: usize) -> String {
    let layers = layer + 1;
    let through = if layer == 0 { "layer 0".to_string() } else { format!("layers 0–{layer}") };
    format!(
        "Attention flow through {through} on {m} tokens would take too long here: the limit is {} tokens through {layers} \
         layer{} (about a second of computing). Shorten the input, merge word pieces or hide [CLS]/[SEP], pick an \
         earlier layer, or use rollout.",
        flow_max_tokens(layers),
        if layers == 1 { "" } else { "s" }
    )
}

/// The units chosen by raw token indices: unit `u` is chosen when one of its members is.
/// Errors name an index that is not a token of the run.
pub fn chosen_units(axis: &[Unit], picked: &[usize], n: usize) -> Result<Vec<usize>, String> {
    if let Some(bad) = picked.iter().find(|&&t| t >= n) {
        return Err(format!("token {bad} is not in this input ({n} tokens)"));
    }
    Ok(axis.iter().enumerate().filter(|(_, u)| u.members.iter().any(|t| picked.contains(t))).map(|(i, _)| i).collect())
}

/// The token-focus slice (see [`crate::protocol::SliceKind::Focus`]): bars of where the rows
/// attend and who attends to them in `source` at `layer`, then the per-head relation grids
/// rows → target and target → rows over every layer.
pub fn focus(
    attention: &Attention,
    axis: &Axis,
    layer: usize,
    source: &Source,
    rows: &[usize],
    target: &[usize],
    memo: &mut Memo,
) -> Result<Vec<f32>, String> {
    let shape = attention.shape();
    let m = axis.len();
    let rows = chosen_units(axis.units, rows, shape.seq)?;
    let target = chosen_units(axis.units, target, shape.seq)?;
    let matrix = source_matrix(attention, axis, layer, source, memo)?;
    let mut out = attends_to(&matrix, m, &rows);
    out.extend(attended_by(&matrix, m, &rows));
    let mut back = Vec::with_capacity(shape.layers * shape.heads);
    for l in 0..shape.layers {
        for h in 0..shape.heads {
            let head = head_after(attention, axis, l, h).ok_or_else(|| out_of_range(l, shape.layers))?;
            out.extend(relation_grid(&head, 1, 1, m, &rows, &target));
            back.extend(relation_grid(&head, 1, 1, m, &target, &rows));
        }
    }
    out.extend(back);
    let want = 2 * m + 2 * shape.layers * shape.heads;
    (out.len() == want).then_some(out).ok_or_else(|| "the focus could not be computed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{fuse_heads, units, ViewOptions};
    use crate::attention::Shape;
    use crate::model::Token;

    fn token(text: &str, special: bool, word: Option<u32>) -> Token {
        Token::for_test(text, special, word)
    }

    /// Three layers × two heads over `[CLS] a ##b c [SEP]`, seeded softmax-like rows.
    fn sample() -> (Attention, Vec<Token>) {
        let shape = Shape { layers: 3, heads: 2, seq: 5 };
        let mut seed = 9u64;
        let mut data = Vec::new();
        for _ in 0..shape.layers * shape.heads * shape.seq {
            let row: Vec<f32> = (0..shape.seq)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) as f32 / (1u64 << 31) as f32 * 3.0).exp()
                })
                .collect();
            let s: f32 = row.iter().sum();
            data.extend(row.iter().map(|w| w / s));
        }
        let tokens = vec![
            token("[CLS]", true, None),
            token("a", false, Some(0)),
            token("##b", false, Some(0)),
            token("c", false, Some(1)),
            token("[SEP]", true, None),
        ];
        (Attention::new(shape, data).unwrap(), tokens)
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn sources_apply_the_options_then_the_maths() {
        let (a, t) = sample();
        let mut memo = Memo::default();
        let opts = ViewOptions { hide_special: true, merge_words: true };
        let us = units(&t, opts);
        let axis = Axis { units: &us, identity: false };
        let m = us.len();
        assert_eq!(m, 2);
        // The head itself equals `apply` of the raw head.
        let h = source_matrix(&a, &axis, 1, &Source::Head { head: 1 }, &mut memo).unwrap();
        assert!(close(&h, &apply(a.head(1, 1).unwrap(), 5, &us)));
        // Fusion of the applied heads.
        let heads = vec![0, 1];
        let applied: Vec<f32> = (0..2).flat_map(|k| apply(a.head(2, k).unwrap(), 5, &us)).collect();
        let want = fuse_heads(&applied, 2, m, &heads, Fusion::Max).unwrap();
        let got = source_matrix(&a, &axis, 2, &Source::Fusion { fusion: Fusion::Max, heads: heads.clone() }, &mut memo).unwrap();
        assert!(close(&got, &want));
        // Rollout of the applied, fused layers; computed once for all layers.
        let fused: Vec<f32> = (0..3)
            .flat_map(|l| {
                let layer: Vec<f32> = (0..2).flat_map(|k| apply(a.head(l, k).unwrap(), 5, &us)).collect();
                fuse_heads(&layer, 2, m, &heads, Fusion::Mean).unwrap()
            })
            .collect();
        let r = rollout(&fused, 3, m).unwrap();
        let src = Source::Rollout { fusion: Fusion::Mean, heads: heads.clone() };
        for l in 0..3 {
            let got = source_matrix(&a, &axis, l, &src, &mut memo).unwrap();
            assert!(close(&got, &r[l * m * m..(l + 1) * m * m]), "layer {l}");
        }
        assert!(memo.rollout.is_some());
        // Flow through layers 0..=1 of the same fusion.
        let f = source_matrix(&a, &axis, 1, &Source::Flow { fusion: Fusion::Mean, heads }, &mut memo).unwrap();
        assert!(close(&f, &flow(&fused[..2 * m * m], 2, m, 1).unwrap()));
    }

    #[test]
    fn bad_sources_are_readable_errors() {
        let (a, t) = sample();
        let us = units(&t, ViewOptions::default());
        let axis = Axis { units: &us, identity: true };
        let mut memo = Memo::default();
        let e = source_matrix(&a, &axis, 3, &Source::Head { head: 0 }, &mut memo).unwrap_err();
        assert!(e.contains("Layer 3 does not exist"), "{e}");
        let e = source_matrix(&a, &axis, 0, &Source::Head { head: 2 }, &mut memo).unwrap_err();
        assert!(e.contains("Head 2 does not exist"), "{e}");
        let e = source_matrix(&a, &axis, 0, &Source::Fusion { fusion: Fusion::Mean, heads: vec![] }, &mut memo).unwrap_err();
        assert!(e.contains("at least one head"), "{e}");
        let e = source_matrix(&a, &axis, 0, &Source::Rollout { fusion: Fusion::Mean, heads: vec![7] }, &mut memo).unwrap_err();
        assert!(e.contains("Head 7"), "{e}");
    }

    #[test]
    fn flow_beyond_the_limit_is_refused_with_the_limit() {
        let msg = flow_refusal(5, 60);
        assert!(msg.contains("layers 0–5 on 60 tokens") && msg.contains("limit is 39 tokens through 6 layers"), "{msg}");
        assert!(flow_refusal(0, 200).contains("through layer 0 on 200 tokens"));
        // A real refusal: 6 layers of 40 tokens (the limit is 39).
        let n = 40;
        let shape = Shape { layers: 6, heads: 1, seq: n };
        let data = vec![1.0 / n as f32; shape.len()];
        let a = Attention::new(shape, data).unwrap();
        let t: Vec<Token> = (0..n).map(|i| token(&format!("t{i}"), false, Some(i as u32))).collect();
        let us = units(&t, ViewOptions::default());
        let axis = Axis { units: &us, identity: true };
        let src = Source::Flow { fusion: Fusion::Mean, heads: vec![0] };
        let e = source_matrix(&a, &axis, 5, &src, &mut Memo::default()).unwrap_err();
        assert!(e.contains("limit is 39 tokens"), "{e}");
        // An earlier layer fits.
        assert_eq!(source_matrix(&a, &axis, 2, &src, &mut Memo::default()).unwrap().len(), n * n);
    }

    #[test]
    fn focus_sums_the_chosen_units() {
        let (a, t) = sample();
        let opts = ViewOptions { hide_special: false, merge_words: true };
        let us = units(&t, opts);
        let axis = Axis { units: &us, identity: false };
        let m = us.len();
        assert_eq!(m, 4, "[CLS] ab c [SEP]");
        // Token 2 (##b) chooses the merged unit 1; token 3 is unit 2.
        assert_eq!(chosen_units(&us, &[2], 5).unwrap(), [1]);
        assert!(chosen_units(&us, &[5], 5).unwrap_err().contains("not in this input"));
        let mut memo = Memo::default();
        let src = Source::Head { head: 0 };
        let out = focus(&a, &axis, 1, &src, &[2], &[3], &mut memo).unwrap();
        assert_eq!(out.len(), 2 * m + 2 * 6);
        let h = apply(a.head(1, 0).unwrap(), 5, &us);
        assert!(close(&out[..m], &h[m..2 * m]), "bars: row of unit 1");
        let by: Vec<f32> = (0..m).map(|i| h[i * m + 1]).collect();
        assert!(close(&out[m..2 * m], &by), "who attends to unit 1");
        // Grid cell (layer 1, head 0): unit 1 -> unit 2, and back.
        assert!((out[2 * m + 2] - h[m + 2]).abs() < 1e-6);
        assert!((out[2 * m + 6 + 2] - h[2 * m + 1]).abs() < 1e-6);
        // Hidden specials: choosing only [CLS] chooses nothing; bars are zeros.
        let hidden = units(&t, ViewOptions { hide_special: true, merge_words: false });
        let axis = Axis { units: &hidden, identity: false };
        let out = focus(&a, &axis, 0, &src, &[0], &[1], &mut memo).unwrap();
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
