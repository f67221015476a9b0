//! Property-based tests of `src/analysis` on random valid attention: every function the views
//! call gives finite numbers, the shapes it promises, and rows summing to 1 where its doc says
//! so; none panics. Random tensors are built from seeded softmax rows (some with zeros, some
//! one-hot) so the edge cases of real heads (a head parked on one token) come up often.
//!
//! Case counts are kept small enough for `cargo test`'s profile (a few seconds in all); set
//! `PROPTEST_CASES` for a longer run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

use attention_viz::analysis::{
    align_tokens, apply, apply_all, attended_by, attends_to, difference, downsample, entropy, flow,
    fuse_heads, head_fusion_all, head_stats, jensen_shannon, js_divergence, keep_strongest,
    mean_abs_diff, normalize_rows, pick, relation_grid, rollout, units, Fusion, HeadStats,
    Strongest, TokenKinds, ViewOptions,
};
use attention_viz::model::Token;
use proptest::prelude::*;

const TOL: f32 = 1e-4;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One softmax row of `n` from raw scores; `kind` 0 = dense, 1 = one-hot, 2 = with exact zeros.
fn row(scores: &[f32], kind: u8, hot: usize) -> Vec<f32> {
    let n = scores.len();
    match kind % 3 {
        1 => (0..n)
            .map(|j| if j == hot % n { 1.0 } else { 0.0 })
            .collect(),
        2 => {
            let mut r: Vec<f32> = scores
                .iter()
                .enumerate()
                .map(|(j, s)| if j % 2 == 0 { s.exp() } else { 0.0 })
                .collect();
            let s: f32 = r.iter().sum();
            r.iter_mut().for_each(|w| *w /= s);
            r
        }
        _ => {
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut r: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
            let s: f32 = r.iter().sum();
            r.iter_mut().for_each(|w| *w /= s);
            r
        }
    }
}

/// A random `[layers, heads, n, n]` tensor of softmax rows.
#[derive(Debug, Clone)]
struct Attn {
    layers: usize,
    heads: usize,
    n: usize,
    data: Vec<f32>,
}

fn attn(max_layers: usize, max_heads: usize, max_n: usize) -> impl Strategy<Value = Attn> {
    (1..=max_layers, 1..=max_heads, 1..=max_n).prop_flat_map(|(layers, heads, n)| {
        let rows = layers * heads * n;
        (
            Just((layers, heads, n)),
            prop::collection::vec(prop::collection::vec(-8.0f32..8.0, n), rows),
            prop::collection::vec((0u8..6, 0usize..64), rows),
        )
            .prop_map(|((layers, heads, n), scores, kinds)| {
                let data = scores
                    .iter()
                    .zip(&kinds)
                    .flat_map(|(s, &(k, hot))| row(s, k, hot))
                    .collect();
                Attn {
                    layers,
                    heads,
                    n,
                    data,
                }
            })
    })
}

fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}

fn check_rows_sum_to_one(m: &[f32], n: usize, what: &str) {
    assert_eq!(m.len(), n * n, "{what}: length");
    for (i, r) in m.chunks(n.max(1)).enumerate() {
        let s: f32 = r.iter().sum();
        assert!((s - 1.0).abs() <= TOL, "{what}: row {i} sums to {s}");
        assert!(
            r.iter().all(|w| *w >= -1e-6),
            "{what}: row {i} has a negative weight: {r:?}"
        );
    }
}

/// Tokens of a random "pair" input: [CLS] A… [SEP] B… [SEP], words of 1–3 pieces, some
/// punctuation; `n` tokens in all (at least 1).
fn tokens(n: usize, split: usize, seed: u64) -> Vec<Token> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let b_from = if n >= 4 { 2 + split % (n - 3) } else { n };
    let mut out = Vec::with_capacity(n);
    let mut word = 0u32;
    let mut left_in_word = 0;
    for i in 0..n {
        let special = i == 0 || i + 1 == n || (i + 1 == b_from && n >= 4);
        let sequence = if special {
            None
        } else if i >= b_from {
            Some(1)
        } else {
            Some(0)
        };
        if !special && left_in_word == 0 {
            word += 1;
            left_in_word = 1 + next() % 3;
        }
        let text = if special {
            if i == 0 {
                "[CLS]".to_string()
            } else {
                "[SEP]".to_string()
            }
        } else if next() % 7 == 0 {
            ".".to_string()
        } else if left_in_word < 3 && next() % 2 == 0 {
            format!("##p{i}")
        } else {
            format!("w{i}")
        };
        if !special {
            left_in_word -= 1;
        }
        out.push(Token {
            label: text.clone(),
            text,
            id: i as u32,
            type_id: u32::from(sequence == Some(1)),
            sequence,
            start: i,
            end: i + 1,
            special,
            word: if special { None } else { Some(word) },
        });
    }
    out
}

proptest! {
    #![proptest_config(config(256))]

    /// Hide [CLS]/[SEP] and merge word pieces, on every head of a run: `m × m` per head, rows
    /// summing to 1 (a row whose remaining mass is 0 stays 0), finite.
    #[test]
    fn view_options_keep_rows_stochastic(a in attn(2, 3, 12), split in 0usize..16, seed in any::<u64>(), hide in any::<bool>(), merge in any::<bool>()) {
        let toks = tokens(a.n, split, seed);
        let opts = ViewOptions { hide_special: hide, merge_words: merge };
        let us = units(&toks, opts);
        let m = us.len();
        prop_assert!(m <= a.n);
        let all = apply_all(&a.data, a.n, a.layers * a.heads, &us);
        prop_assert_eq!(all.len(), a.layers * a.heads * m * m);
        prop_assert!(all_finite(&all));
        for (h, head) in all.chunks((m * m).max(1)).enumerate() {
            for (i, r) in head.chunks(m.max(1)).enumerate() {
                let s: f32 = r.iter().sum();
                prop_assert!((s - 1.0).abs() <= TOL || s == 0.0, "head {} row {} sums to {}", h, i, s);
            }
        }
        if !hide && !merge {
            // No options: the matrices as they are (rows renormalised, so to rounding).
            prop_assert!(all.iter().zip(&a.data).all(|(x, y)| (x - y).abs() <= 1e-6));
        }
        let one = apply(&a.data[..a.n * a.n], a.n, &us);
        prop_assert_eq!(&one[..], &all[..m * m]);
    }

    /// Head fusion: mean rows sum to 1; max rows ≥ 1 and min rows ≤ 1; all finite; rollout rows
    /// sum to 1 at every layer; normalised flow rows sum to 1.
    #[test]
    fn aggregates_keep_their_promises(a in attn(3, 4, 7), pick_heads in prop::collection::vec(0usize..4, 1..4)) {
        let chosen: Vec<usize> = pick_heads.into_iter().map(|h| h % a.heads).collect();
        let (n, nn) = (a.n, a.n * a.n);
        for fusion in Fusion::ALL {
            let layer0 = fuse_heads(&a.data[..a.heads * nn], a.heads, n, &chosen, fusion).unwrap();
            prop_assert_eq!(layer0.len(), nn);
            prop_assert!(all_finite(&layer0));
            for r in layer0.chunks(n) {
                let s: f32 = r.iter().sum();
                match fusion {
                    Fusion::Mean => prop_assert!((s - 1.0).abs() <= TOL, "mean row sums to {}", s),
                    Fusion::Max => prop_assert!(s >= 1.0 - TOL, "max row sums to {}", s),
                    Fusion::Min => prop_assert!(s <= 1.0 + TOL, "min row sums to {}", s),
                }
            }
            let fused = head_fusion_all(&a.data, a.layers, a.heads, n, &chosen, fusion).unwrap();
            prop_assert_eq!(fused.len(), a.layers * nn);
            let r = rollout(&fused, a.layers, n).unwrap();
            prop_assert_eq!(r.len(), a.layers * nn);
            prop_assert!(all_finite(&r));
            for l in 0..a.layers {
                check_rows_sum_to_one(&r[l * nn..(l + 1) * nn], n, &format!("rollout {fusion:?} layer {l}"));
            }
            let upto = a.layers - 1;
            let f = flow(&fused, a.layers, n, upto).unwrap();
            prop_assert_eq!(f.len(), nn);
            prop_assert!(all_finite(&f));
            prop_assert!(f.iter().all(|w| *w >= -1e-6 && *w <= 1.0 + 1e-4), "flow values in [0, 1]: {:?}", f);
            let norm = normalize_rows(&f, n).unwrap();
            prop_assert!(all_finite(&norm));
            for r in norm.chunks(n) {
                let s: f32 = r.iter().sum();
                prop_assert!((s - 1.0).abs() <= TOL || s == 0.0, "normalised flow row sums to {}", s);
            }
        }
        // Wrong lengths are None, never a panic.
        prop_assert!(rollout(&a.data[..a.data.len() - 1], a.layers * a.heads, n).is_none());
        prop_assert!(fuse_heads(&a.data, a.heads, n, &[a.heads], Fusion::Mean).is_none());
        prop_assert!(flow(&a.data[..nn], 1, n, 1).is_none());
    }

    /// The display filter keeps a subset of each row (top k: exactly min(k, n) of a NaN-free
    /// row; threshold: those ≥ w), never adds mass; entropy and thumbnails are finite.
    #[test]
    fn filters_and_summaries(a in attn(1, 2, 16), k in 0usize..20, w in 0.0f32..1.0, side in 1usize..8) {
        let n = a.n;
        let m = &a.data[..n * n];
        let top = keep_strongest(m, n, Strongest::TopK(k));
        prop_assert_eq!(top.len(), n * n);
        for (r, t) in m.chunks(n).zip(top.chunks(n)) {
            prop_assert_eq!(t.iter().filter(|x| **x != 0.0).count() <= k.min(n), true);
            prop_assert!(t.iter().zip(r).all(|(t, r)| *t == 0.0 || t == r));
        }
        let th = keep_strongest(m, n, Strongest::MinWeight(w));
        prop_assert!(th.iter().zip(m).all(|(t, r)| (*r >= w && t == r) || (*r < w && *t == 0.0)));
        let e = entropy(m, n);
        prop_assert!(e.is_finite() && e >= -1e-6, "entropy {}", e);
        let (thumb, s) = downsample(m, n, side);
        prop_assert_eq!(thumb.len(), s * s);
        prop_assert!(s <= side.max(n.min(side)) && s <= n);
        check_rows_sum_to_one(&thumb, s, "thumbnail");
    }

    /// Token focus and head statistics: the right lengths, finite, shares in [0, 1].
    #[test]
    fn focus_and_head_stats(a in attn(2, 3, 10), split in 0usize..16, seed in any::<u64>(), rows in prop::collection::vec(0usize..10, 1..4), cols in prop::collection::vec(0usize..10, 1..4)) {
        let n = a.n;
        let rows: Vec<usize> = rows.into_iter().map(|i| i % n).collect();
        let cols: Vec<usize> = cols.into_iter().map(|i| i % n).collect();
        let m = &a.data[..n * n];
        let to = attends_to(m, n, &rows);
        let by = attended_by(m, n, &cols);
        prop_assert_eq!((to.len(), by.len()), (n, n));
        prop_assert!(all_finite(&to) && all_finite(&by));
        let grid = relation_grid(&a.data, a.layers, a.heads, n, &rows, &cols);
        prop_assert_eq!(grid.len(), a.layers * a.heads);
        prop_assert!(all_finite(&grid));
        let toks = tokens(n, split, seed);
        let kinds = TokenKinds::from_tokens(&toks);
        let stats = head_stats(&a.data, a.layers, a.heads, n, &kinds);
        prop_assert_eq!(stats.len(), a.layers * a.heads);
        for s in &stats {
            let HeadStats { entropy_bits, entropy_norm, distance, to_cls, to_sep, to_punct, to_self, to_prev, to_next } = *s;
            for (name, v) in [("entropy_norm", entropy_norm), ("to_cls", to_cls), ("to_sep", to_sep), ("to_punct", to_punct), ("to_self", to_self), ("to_prev", to_prev), ("to_next", to_next)] {
                prop_assert!(v.is_finite() && (-1e-5..=1.0 + 1e-4).contains(&v), "{} = {}", name, v);
            }
            prop_assert!(entropy_bits.is_finite() && entropy_bits >= -1e-6 && entropy_bits <= (n as f32).log2() + 1e-3);
            prop_assert!(distance.is_finite() && distance >= 0.0 && distance <= n as f32);
            let _ = s.role();
        }
        prop_assert!(HeadStats::mean(&stats).is_some());
    }

    /// Comparing two runs: differences and divergences have one value per head, finite; JS is
    /// in [0, 1] bits and 0 against itself; token alignment pairs equal tokens in order.
    #[test]
    fn compare_two_runs(a in attn(2, 3, 8), b_seed in any::<u64>(), words_a in prop::collection::vec("[a-c]{1,2}", 0..8), words_b in prop::collection::vec("[a-c]{1,2}", 0..8)) {
        let (layers, heads, n) = (a.layers, a.heads, a.n);
        // Run B: the same shape, rows rotated by a seed.
        let shift = (b_seed % n as u64) as usize;
        let b: Vec<f32> = a.data.chunks(n).flat_map(|r| { let mut r = r.to_vec(); r.rotate_left(shift); r }).collect();
        let d = difference(&a.data, &b);
        prop_assert_eq!(d.len(), a.data.len());
        let mad = mean_abs_diff(&a.data, &b, layers, heads, n);
        let js = jensen_shannon(&a.data, &b, layers, heads, n);
        prop_assert_eq!((mad.len(), js.len()), (layers * heads, layers * heads));
        prop_assert!(all_finite(&mad) && all_finite(&js));
        prop_assert!(js.iter().all(|v| (-1e-6..=1.0 + 1e-5).contains(v)), "{:?}", js);
        let same = jensen_shannon(&a.data, &a.data, layers, heads, n);
        prop_assert!(same.iter().all(|v| v.abs() <= 1e-5), "{:?}", same);
        prop_assert!(js_divergence(&a.data[..n], &b[..n]).is_some_and(f32::is_finite));
        prop_assert!(js_divergence(&a.data[..n], &b[..n.saturating_sub(1)]).is_none() || n == 0);
        let wa: Vec<&str> = words_a.iter().map(String::as_str).collect();
        let wb: Vec<&str> = words_b.iter().map(String::as_str).collect();
        let al = align_tokens(&wa, &wb);
        let (l, r) = (al.left(), al.right());
        prop_assert_eq!(l.len(), r.len());
        prop_assert!(l.windows(2).all(|w| w[0] < w[1]) && r.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(l.iter().zip(&r).all(|(&i, &j)| wa[i] == wb[j]));
        let keep: Vec<usize> = (0..n).step_by(2).collect();
        prop_assert_eq!(pick(&a.data[..n * n], n, &keep).len(), keep.len() * keep.len());
    }
}
