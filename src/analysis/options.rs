//! View options: hide special tokens and merge word pieces back into words.
//!
//! Attention is computed between *pieces* (`dep`, `##osit`) and always includes `[CLS]`/`[SEP]`,
//! which soak up much of the mass (Clark et al. 2019, "What does BERT look at?"). Reading a head
//! is easier on words without the specials, so every view first maps its axis to [`Unit`]s and
//! each matrix through [`apply`].

use serde::{Deserialize, Serialize};

use crate::model::Token;

/// What the user chose to see; part of the shareable URL state, hence serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ViewOptions {
    pub hide_special: bool,
    pub merge_words: bool,
}

/// One row/column of a view after the options: the original token indices it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Merged words read as words (`deposit`, not `dep##osit` or `Ġdeposit`); unmerged tokens
    /// keep the tokenizer's spelling so the user still sees how the text was cut.
    pub label: String,
    /// Original token indices, ascending.
    pub members: Vec<usize>,
    pub special: bool,
    /// 0 = sentence A, 1 = sentence B (for the A→B / B→A pair filters).
    pub segment: u8,
}

/// Word-start markers of byte-level BPE (GPT-2, RoBERTa: `Ġ`) and SentencePiece (`▁`).
const WORD_MARKERS: [char; 2] = ['Ġ', '▁'];
/// WordPiece's continuation marker (`##osit`).
const CONTINUATION: &str = "##";

/// The axis of a view.
///
/// Merging groups *consecutive* tokens with the same `(sequence, word)` where `word` is `Some`
/// (the tokenizer's own word ids, so no guessing from `##`); specials are never merged, and
/// `hide_special` drops the special units. Segment B starts at the first token whose
/// `sequence == Some(1)`: `[CLS]` and the first `[SEP]` belong to A, the final `[SEP]` to B,
/// which is how BertViz splits a pair.
pub fn units(tokens: &[Token], opts: ViewOptions) -> Vec<Unit> {
    let b_start = tokens.iter().position(|t| t.sequence == Some(1)).unwrap_or(tokens.len());
    let mut out: Vec<Unit> = Vec::new();
    // The (sequence, word) key of the unit being built, when it may still grow.
    let mut open: Option<(Option<usize>, u32)> = None;
    for (i, t) in tokens.iter().enumerate() {
        let key = match (opts.merge_words, t.special, t.word) {
            (true, false, Some(w)) => Some((t.sequence, w)),
            _ => None,
        };
        if let (Some(k), Some(last)) = (key, out.last_mut()) {
            if open == Some(k) {
                last.members.push(i);
                continue;
            }
        }
        open = key;
        out.push(Unit {
            label: if t.label.is_empty() { t.text.clone() } else { t.label.clone() },
            members: vec![i],
            special: t.special,
            segment: u8::from(i >= b_start),
        });
    }
    if opts.merge_words {
        for u in out.iter_mut().filter(|u| !u.special) {
            u.label = word_label(tokens, &u.members);
        }
    }
    if opts.hide_special {
        out.retain(|u| !u.special);
    }
    out
}

/// A merged word's label: the first piece without its word marker, the rest without `##`.
/// Falls back to the raw concatenation when stripping would leave nothing (a lone `▁`).
fn word_label(tokens: &[Token], members: &[usize]) -> String {
    let mut label = String::new();
    let mut raw = String::new();
    for (k, t) in members.iter().filter_map(|&i| tokens.get(i)).enumerate() {
        // The display label where the tokenizer gave one (byte-level BPE: the covered text).
        let text = if t.label.is_empty() { &t.text } else { &t.label };
        raw.push_str(text);
        let piece = if k == 0 {
            text.trim_start_matches(WORD_MARKERS)
        } else {
            text.strip_prefix(CONTINUATION).unwrap_or(text)
        };
        label.push_str(piece);
    }
    if label.is_empty() {
        raw
    } else {
        label
    }
}

/// Applies the options to one head's `n × n` matrix.
///
/// A merged ROW is the MEAN of its pieces' rows and a merged COLUMN the SUM of its pieces'
/// columns (Clark et al. 2019): a word attends as its pieces do on average, and attention *to*
/// a word is all the attention its pieces receive, so rows still sum to 1. Tokens in no unit
/// (hidden specials) drop out; every row is then renormalised to sum to 1, so a head that
/// parks 90% on `[SEP]` shows where the remaining 10% goes. A row whose remaining mass is 0 (or
/// not finite) is left as is. Returns `m × m` with `m = units.len()`; empty if
/// `matrix.len() != n * n` or a member is `>= n`. A unit without members gives a 0 row/column.
pub fn apply(matrix: &[f32], n: usize, units: &[Unit]) -> Vec<f32> {
    if n.checked_mul(n) != Some(matrix.len())
        || units.iter().flat_map(|u| &u.members).any(|&i| i >= n)
    {
        return Vec::new();
    }
    let Some(mm) = units.len().checked_mul(units.len()) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(mm);
    for r in units {
        let first = out.len();
        let scale = if r.members.is_empty() { 0.0 } else { 1.0 / r.members.len() as f32 };
        for c in units {
            let mut sum = 0.0f32;
            for &i in &r.members {
                let row = matrix.get(i * n..(i + 1) * n).unwrap_or(&[]);
                sum += c.members.iter().filter_map(|&j| row.get(j)).sum::<f32>();
            }
            out.push(sum * scale);
        }
        if let Some(row) = out.get_mut(first..) {
            let total: f32 = row.iter().sum();
            if total > 0.0 && total.is_finite() {
                row.iter_mut().for_each(|w| *w /= total);
            }
        }
    }
    out
}

/// [`apply`] for each of `count` consecutive `n × n` matrices (e.g. all heads of a layer):
/// `count × m × m`, empty on any length mismatch or bad member.
pub fn apply_all(matrices: &[f32], n: usize, count: usize, units: &[Unit]) -> Vec<f32> {
    let Some(len) = n.checked_mul(n) else {
        return Vec::new();
    };
    let Some(mm) = units.len().checked_mul(units.len()) else {
        return Vec::new();
    };
    if len.checked_mul(count) != Some(matrices.len()) {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(mm.saturating_mul(count).min(matrices.len()));
    for h in 0..count {
        let Some(one) = matrices.get(h * len..(h + 1) * len) else {
            return Vec::new();
        };
        let applied = apply(one, n, units);
        if applied.len() != mm {
            return Vec::new();
        }
        out.extend(applied);
    }
    out
}

/// Whether `units` are the identity mapping (unit `i` is exactly token `i`, all `n` present):
/// callers then skip the copy and use the matrices as they are.
pub fn is_identity(units: &[Unit], n: usize) -> bool {
    units.len() == n && units.iter().enumerate().all(|(i, u)| u.members == [i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, sequence: Option<usize>, word: Option<u32>) -> Token {
        let special = sequence.is_none();
        Token { text: text.into(), id: 0, type_id: 0, sequence, start: 0, end: 0, special, word, label: String::new() }
    }

    /// `[CLS] the dep ##osit [SEP] bank [SEP]` as a pair.
    fn pair() -> Vec<Token> {
        vec![
            tok("[CLS]", None, None),
            tok("the", Some(0), Some(0)),
            tok("dep", Some(0), Some(1)),
            tok("##osit", Some(0), Some(1)),
            tok("[SEP]", None, None),
            tok("bank", Some(1), Some(0)),
            tok("[SEP]", None, None),
        ]
    }

    fn labels(us: &[Unit]) -> Vec<&str> {
        us.iter().map(|u| u.label.as_str()).collect()
    }

    #[test]
    fn default_options_are_the_identity() {
        let us = units(&pair(), ViewOptions::default());
        assert_eq!(labels(&us), ["[CLS]", "the", "dep", "##osit", "[SEP]", "bank", "[SEP]"]);
        assert_eq!(us.iter().map(|u| u.segment).collect::<Vec<_>>(), [0, 0, 0, 0, 0, 1, 1]);
        assert!(is_identity(&us, 7));
        assert!(!is_identity(&us, 8));
        assert!(units(&[], ViewOptions::default()).is_empty());
    }

    #[test]
    fn merging_and_hiding() {
        let merged = units(&pair(), ViewOptions { hide_special: false, merge_words: true });
        assert_eq!(labels(&merged), ["[CLS]", "the", "deposit", "[SEP]", "bank", "[SEP]"]);
        assert_eq!(merged[2].members, [2, 3]);
        assert!(!is_identity(&merged, 7));
        let both = units(&pair(), ViewOptions { hide_special: true, merge_words: true });
        assert_eq!(labels(&both), ["the", "deposit", "bank"]);
        assert_eq!(both.iter().map(|u| u.segment).collect::<Vec<_>>(), [0, 0, 1]);
        let hidden = units(&pair(), ViewOptions { hide_special: true, merge_words: false });
        assert_eq!(labels(&hidden), ["the", "dep", "##osit", "bank"]);
    }

    #[test]
    fn merging_needs_same_sequence_and_adjacency_and_strips_markers() {
        // Word 0 of input 0 and word 0 of input 1 are different words; no specials between.
        let ts = vec![
            tok("Ġban", Some(0), Some(0)),
            tok("ks", Some(0), Some(0)),
            tok("▁river", Some(1), Some(0)),
            tok("▁", Some(1), Some(1)),
            tok("x", Some(0), None),
        ];
        let us = units(&ts, ViewOptions { hide_special: false, merge_words: true });
        assert_eq!(labels(&us), ["banks", "river", "▁", "x"]);
        assert_eq!(us[0].members, [0, 1]);
        assert_eq!(us.iter().map(|u| u.segment).collect::<Vec<_>>(), [0, 1, 1, 1]);
    }

    #[test]
    fn merged_rows_are_means_and_columns_sums() {
        // Tokens 0,1 form one word; token 2 alone.
        #[rustfmt::skip]
        let m = [
            0.5, 0.25, 0.25,
            0.0, 0.5,  0.5,
            0.2, 0.2,  0.6,
        ];
        let us = vec![
            Unit { label: "ab".into(), members: vec![0, 1], special: false, segment: 0 },
            Unit { label: "c".into(), members: vec![2], special: false, segment: 0 },
        ];
        // Row "ab" = mean of rows 0 and 1 with columns 0+1 summed: [(0.75+0.5)/2, (0.25+0.5)/2].
        let out = apply(&m, 3, &us);
        let want = [0.625, 0.375, 0.4, 0.6];
        assert!(out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn hidden_tokens_drop_out_and_rows_renormalise() {
        #[rustfmt::skip]
        let m = [
            0.5, 0.25, 0.25,
            0.8, 0.1,  0.1,
            1.0, 0.0,  0.0,
        ];
        let keep =
            |i: usize| Unit { label: String::new(), members: vec![i], special: false, segment: 0 };
        let out = apply(&m, 3, &[keep(1), keep(2)]);
        // Row 1 keeps [0.1, 0.1] -> [0.5, 0.5]; row 2 keeps [0, 0] and stays 0.
        assert_eq!(out, [0.5, 0.5, 0.0, 0.0]);
        // Bad input: wrong length, member out of range.
        assert!(apply(&m[..8], 3, &[keep(0)]).is_empty());
        assert!(apply(&m, 3, &[keep(3)]).is_empty());
        // A member-less unit is a zero row and column.
        let empty = Unit { label: String::new(), members: vec![], special: false, segment: 0 };
        assert_eq!(apply(&m, 3, &[keep(0), empty]), [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn apply_all_maps_each_head() {
        let two = [0.5, 0.5, 0.25, 0.75, 1.0, 0.0, 0.0, 1.0];
        let swap = |i: usize| Unit {
            label: String::new(),
            members: vec![1 - i],
            special: false,
            segment: 0,
        };
        let out = apply_all(&two, 2, 2, &[swap(0), swap(1)]);
        assert_eq!(out, [0.75, 0.25, 0.5, 0.5, 1.0, 0.0, 0.0, 1.0]);
        assert!(apply_all(&two, 2, 3, &[swap(0)]).is_empty());
        assert!(apply_all(&[], 0, 0, &[]).is_empty());
        assert!(apply_all(&[], 0, 2, &[]).is_empty());
    }
}
