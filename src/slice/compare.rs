//! The compare slices: one head of run A against one head of run B, and per-head differences,
//! over the tokens that line up after the view options.
//!
//! Both runs are mapped to their units under the same options; the units are aligned by their
//! labels ([`align_tokens`]), and only aligned units are compared ([`pick`]). With one tokenizer
//! and one text (two models) every unit lines up; two texts line up where they share tokens in
//! the same order.

use super::aggregate::{head_after, Axis};
use crate::analysis::{align_tokens, difference, is_identity, jensen_shannon, mean_abs_diff, pick, units, Alignment, Unit, ViewOptions};
use crate::attention::Attention;
use crate::model::Token;

/// One side of a comparison: a run's attention and tokens.
pub struct Side<'a> {
    pub attention: &'a Attention,
    pub tokens: &'a [Token],
}

/// The two runs' axes under `options` and how their labels line up (the page calls this too,
/// to label the compare view).
pub fn compare_axes(a: &[Token], b: &[Token], options: ViewOptions) -> (Vec<Unit>, Vec<Unit>, Alignment) {
    let (ua, ub) = (units(a, options), units(b, options));
    let la: Vec<&str> = ua.iter().map(|u| u.label.as_str()).collect();
    let lb: Vec<&str> = ub.iter().map(|u| u.label.as_str()).collect();
    let al = align_tokens(&la, &lb);
    (ua, ub, al)
}

/// The aligned part of head (`layer`, `head`) of one side: `k × k`.
fn picked(side: &Side, axis: &[Unit], keep: &[usize], layer: usize, head: usize) -> Result<Vec<f32>, String> {
    let shape = side.attention.shape();
    let ax = Axis { units: axis, identity: is_identity(axis, shape.seq) };
    let m = head_after(side.attention, &ax, layer, head).ok_or_else(|| {
        format!("layer {layer}, head {head} does not exist in a model of {} layers × {} heads", shape.layers, shape.heads)
    })?;
    Ok(pick(&m, axis.len(), keep))
}

fn nothing_lines_up() -> String {
    "No token of the two inputs lines up, so there is nothing to compare.".into()
}

/// A, B and B − A for head (`layer`, `head`) of A and (`layer_b`, `head_b`) of B, over the
/// aligned tokens: `dims = [3, k, k]`.
pub fn compare_head(
    a: &Side,
    b: &Side,
    (layer, head): (usize, usize),
    (layer_b, head_b): (usize, usize),
    options: ViewOptions,
) -> Result<(Vec<usize>, Vec<f32>), String> {
    let (ua, ub, al) = compare_axes(a.tokens, b.tokens, options);
    let k = al.pairs.len();
    if k == 0 {
        return Err(nothing_lines_up());
    }
    let ma = picked(a, &ua, &al.left(), layer, head)?;
    let mb = picked(b, &ub, &al.right(), layer_b, head_b)?;
    let diff = difference(&mb, &ma);
    let mut data = ma;
    data.extend(mb);
    data.extend(diff);
    (data.len() == 3 * k * k).then(|| (vec![3, k, k], data)).ok_or_else(|| "the two heads could not be compared".into())
}

/// Per head of the layers and heads both models have: the mean absolute difference and the
/// Jensen–Shannon divergence (bits) between A and B over the aligned tokens.
/// `dims = [2, layers, heads]`.
pub fn compare_heads(a: &Side, b: &Side, options: ViewOptions) -> Result<(Vec<usize>, Vec<f32>), String> {
    let (ua, ub, al) = compare_axes(a.tokens, b.tokens, options);
    let k = al.pairs.len();
    if k == 0 {
        return Err(nothing_lines_up());
    }
    let (sa, sb) = (a.attention.shape(), b.attention.shape());
    let (layers, heads) = (sa.layers.min(sb.layers), sa.heads.min(sb.heads));
    let (left, right) = (al.left(), al.right());
    let mut ta = Vec::with_capacity(layers * heads * k * k);
    let mut tb = Vec::with_capacity(layers * heads * k * k);
    for l in 0..layers {
        for h in 0..heads {
            ta.extend(picked(a, &ua, &left, l, h)?);
            tb.extend(picked(b, &ub, &right, l, h)?);
        }
    }
    let mut data = mean_abs_diff(&ta, &tb, layers, heads, k);
    data.extend(jensen_shannon(&ta, &tb, layers, heads, k));
    (data.len() == 2 * layers * heads).then(|| (vec![2, layers, heads], data)).ok_or_else(|| "the runs could not be compared".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Shape;

    fn token(text: &str, special: bool, word: Option<u32>) -> Token {
        Token::for_test(text, special, word)
    }

    fn run(words: &[&str], layers: usize, heads: usize, salt: u64) -> (Attention, Vec<Token>) {
        let mut t = vec![token("[CLS]", true, None)];
        t.extend(words.iter().enumerate().map(|(i, w)| token(w, false, Some(i as u32))));
        t.push(token("[SEP]", true, None));
        let n = t.len();
        let shape = Shape { layers, heads, seq: n };
        let mut seed = salt;
        let mut data = Vec::new();
        for _ in 0..layers * heads * n {
            let row: Vec<f32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) as f32 / (1u64 << 31) as f32 * 3.0).exp()
                })
                .collect();
            let s: f32 = row.iter().sum();
            data.extend(row.iter().map(|w| w / s));
        }
        (Attention::new(shape, data).unwrap(), t)
    }

    #[test]
    fn same_tokens_compare_everything() {
        let (a, ta) = run(&["the", "bank"], 2, 3, 1);
        let (b, tb) = run(&["the", "bank"], 2, 3, 2);
        let (sa, sb) = (Side { attention: &a, tokens: &ta }, Side { attention: &b, tokens: &tb });
        let o = ViewOptions::default();
        let (dims, data) = compare_head(&sa, &sb, (1, 2), (1, 2), o).unwrap();
        assert_eq!(dims, [3, 4, 4]);
        assert_eq!(&data[..16], a.head(1, 2).unwrap());
        assert_eq!(&data[16..32], b.head(1, 2).unwrap());
        assert_eq!(&data[32..], difference(b.head(1, 2).unwrap(), a.head(1, 2).unwrap()));
        let (dims, data) = compare_heads(&sa, &sb, o).unwrap();
        assert_eq!(dims, [2, 2, 3]);
        assert_eq!(&data[..6], mean_abs_diff(a.data(), b.data(), 2, 3, 4));
        assert_eq!(&data[6..], jensen_shannon(a.data(), b.data(), 2, 3, 4));
        // A run against itself differs nowhere.
        let (_, same) = compare_heads(&sa, &sa, o).unwrap();
        assert!(same.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn different_tokens_compare_what_lines_up() {
        let (a, ta) = run(&["he", "went", "to", "the", "bank"], 2, 2, 3);
        let (b, tb) = run(&["the", "grassy", "bank"], 3, 1, 4);
        let (sa, sb) = (Side { attention: &a, tokens: &ta }, Side { attention: &b, tokens: &tb });
        let o = ViewOptions::default();
        let (_, _, al) = compare_axes(&ta, &tb, o);
        assert_eq!(al.pairs, [(0, 0), (4, 1), (5, 3), (6, 4)], "[CLS] the bank [SEP]");
        let (dims, data) = compare_head(&sa, &sb, (0, 1), (2, 0), o).unwrap();
        assert_eq!(dims, [3, 4, 4]);
        assert_eq!(&data[..16], pick(a.head(0, 1).unwrap(), 7, &al.left()));
        assert_eq!(&data[16..32], pick(b.head(2, 0).unwrap(), 5, &al.right()));
        // Only the layers and heads both have: 2 layers × 1 head.
        let (dims, _) = compare_heads(&sa, &sb, o).unwrap();
        assert_eq!(dims, [2, 2, 1]);
        // Hiding the specials leaves "the bank" on both sides.
        let (dims, _) = compare_head(&sa, &sb, (0, 0), (0, 0), ViewOptions { hide_special: true, merge_words: false }).unwrap();
        assert_eq!(dims, [3, 2, 2]);
        // Nothing in common; a head B does not have.
        let (c, tc) = run(&["x"], 1, 1, 5);
        let sc = Side { attention: &c, tokens: &tc };
        assert!(compare_head(&sa, &sc, (0, 0), (0, 0), ViewOptions { hide_special: true, merge_words: false }).unwrap_err().contains("lines up"));
        assert!(compare_head(&sa, &sb, (0, 0), (0, 1), o).unwrap_err().contains("does not exist"));
    }
}
