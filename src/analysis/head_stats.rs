//! Per-head statistics and the role labels read from them.
//!
//! Clark et al. (2019), "What Does BERT Look At? An Analysis of BERT's Attention" (BlackboxNLP,
//! arXiv:1906.04341), sort BERT's heads by a few numbers: how broad a head's attention is
//! (entropy, §3.4), how much goes to `[CLS]`, to `[SEP]` and to punctuation (§3.2), and how
//! much to the token itself, the previous one and the next one (§3.1). Kovaleva et al. (2019,
//! "Revealing the Dark Secrets of BERT") add the mean distance attention travels. Heads where
//! one share dominates get a role label ([`Role`]); the rule of each label is shown to users
//! ([`Role::rule`]) so the label never claims more than the numbers do.
//!
//! [`HeadStats::of`] works on any `n × n` row-major matrix (rows = from). To read the stats
//! after the view options, pass the [`super::apply`]ed matrix and
//! [`TokenKinds::for_units`] of the same units. Averages over several inputs:
//! [`HeadStats::mean`] and [`mean_per_head`].

use serde::{Deserialize, Serialize};

use super::options::Unit;
use super::punct::is_punctuation;
use crate::model::Token;

/// Which positions are `[CLS]`, `[SEP]` and punctuation (`n` flags each).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenKinds {
    pub cls: Vec<bool>,
    pub sep: Vec<bool>,
    pub punct: Vec<bool>,
}

/// Whether a label is punctuation: non-empty after trimming white space, and made only of
/// Unicode punctuation characters (general category P*: `.` `,` `!` `"` `'` `-` `—` `」` …;
/// `$` and `+` are symbols, not punctuation).
pub fn is_punctuation_label(label: &str) -> bool {
    let t = label.trim();
    !t.is_empty() && t.chars().all(is_punctuation)
}

impl TokenKinds {
    /// The flags of a tokenized input:
    /// - `[CLS]`: position 0, when it is a special token (`[CLS]`, RoBERTa's `<s>`);
    /// - `[SEP]`: every other special token (`[SEP]`, `</s>`: the tokenizer's special-tokens
    ///   mask, which does not include `[UNK]`);
    /// - punctuation: a non-special token whose label (its text where the label is empty) is
    ///   made only of Unicode punctuation characters ([`is_punctuation_label`]).
    pub fn from_tokens(tokens: &[Token]) -> Self {
        let labels: Vec<&str> =
            tokens.iter().map(|t| if t.label.is_empty() { t.text.as_str() } else { t.label.as_str() }).collect();
        let special: Vec<bool> = tokens.iter().map(|t| t.special).collect();
        Self::from_labels(&labels, &special)
    }

    /// [`TokenKinds::from_tokens`]'s rule on bare labels and special flags (`special` shorter
    /// than `labels` counts the missing ones as not special).
    pub fn from_labels(labels: &[&str], special: &[bool]) -> Self {
        let sp = |i: usize| special.get(i).copied().unwrap_or(false);
        Self {
            cls: (0..labels.len()).map(|i| i == 0 && sp(0)).collect(),
            sep: (0..labels.len()).map(|i| i > 0 && sp(i)).collect(),
            punct: labels.iter().enumerate().map(|(i, l)| !sp(i) && is_punctuation_label(l)).collect(),
        }
    }

    /// No flags for `n` tokens (only the positional shares and the entropy mean anything).
    pub fn none(n: usize) -> Self {
        Self { cls: vec![false; n], sep: vec![false; n], punct: vec![false; n] }
    }

    /// The number of tokens, or `None` when the three lists disagree.
    pub fn len(&self) -> Option<usize> {
        let n = self.cls.len();
        (self.sep.len() == n && self.punct.len() == n).then_some(n)
    }

    pub fn is_empty(&self) -> bool {
        self.cls.is_empty()
    }

    /// The flags of the units of [`super::units`] (a view after hiding specials or merging
    /// pieces): a unit is `[CLS]` or `[SEP]` if a member is, and punctuation if every member
    /// is. A member out of range counts as no flag.
    pub fn for_units(&self, units: &[Unit]) -> Self {
        let any = |flags: &[bool], u: &Unit| u.members.iter().any(|&i| flags.get(i).copied().unwrap_or(false));
        Self {
            cls: units.iter().map(|u| any(&self.cls, u)).collect(),
            sep: units.iter().map(|u| any(&self.sep, u)).collect(),
            punct: units
                .iter()
                .map(|u| !u.members.is_empty() && u.members.iter().all(|&i| self.punct.get(i).copied().unwrap_or(false)))
                .collect(),
        }
    }
}

/// One head's statistics on one input. Every share is a mean over rows (from-tokens) of the
/// fraction of that row's attention, so it lies in `[0, 1]` for rows summing to 1. The field
/// names are the `--stats` JSON's.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct HeadStats {
    /// Mean over rows of the row entropy `−Σ_j a_ij log2 a_ij`, in **bits** (0 = each token
    /// looks at one token; `log2 n` = uniform).
    pub entropy_bits: f32,
    /// `entropy_bits / log2 n`, 0 to 1 (0 when `n <= 1`): comparable across input lengths.
    pub entropy_norm: f32,
    /// Mean over rows of `Σ_j a_ij |i − j|`: how many positions away attention goes on average.
    pub distance: f32,
    /// Share of attention to `[CLS]` ([`TokenKinds::cls`]).
    pub to_cls: f32,
    /// Share of attention to `[SEP]` (all separator/end positions, [`TokenKinds::sep`]).
    pub to_sep: f32,
    /// Share of attention to punctuation tokens ([`TokenKinds::punct`]).
    pub to_punct: f32,
    /// Mean of the diagonal `a_ii`: attention to the token itself.
    pub to_self: f32,
    /// Mean of `a_{i,i−1}` over the rows that have a previous token (`i >= 1`).
    pub to_prev: f32,
    /// Mean of `a_{i,i+1}` over the rows that have a next token (`i <= n − 2`).
    pub to_next: f32,
}

impl HeadStats {
    /// The statistics of one `n × n` matrix. Non-finite and negative weights count as 0;
    /// summed in f64. `None` if `m.len() != n · n`, `n == 0`, or `kinds` is not `n` long.
    pub fn of(m: &[f32], n: usize, kinds: &TokenKinds) -> Option<HeadStats> {
        if n == 0 || n.checked_mul(n)? != m.len() || kinds.len()? != n {
            return None;
        }
        let (mut ent, mut dist, mut cls, mut sep, mut punct) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (mut diag, mut prev, mut next) = (0.0f64, 0.0f64, 0.0f64);
        let flags = kinds.cls.iter().zip(&kinds.sep).zip(&kinds.punct);
        for (i, row) in m.chunks_exact(n).enumerate() {
            for (j, (&w, ((&c, &s), &p))) in row.iter().zip(flags.clone()).enumerate() {
                let a = if w.is_finite() && w > 0.0 { f64::from(w) } else { continue };
                ent -= a * a.log2();
                dist += a * i.abs_diff(j) as f64;
                cls += if c { a } else { 0.0 };
                sep += if s { a } else { 0.0 };
                punct += if p { a } else { 0.0 };
                if j == i {
                    diag += a;
                } else if j + 1 == i {
                    prev += a;
                } else if j == i + 1 {
                    next += a;
                }
            }
        }
        let rows = n as f64;
        let log_n = rows.log2();
        let neighbours = (rows - 1.0).max(1.0);
        Some(HeadStats {
            entropy_bits: (ent / rows) as f32,
            entropy_norm: if n > 1 { (ent / rows / log_n) as f32 } else { 0.0 },
            distance: (dist / rows) as f32,
            to_cls: (cls / rows) as f32,
            to_sep: (sep / rows) as f32,
            to_punct: (punct / rows) as f32,
            to_self: (diag / rows) as f32,
            to_prev: (prev / neighbours) as f32,
            to_next: (next / neighbours) as f32,
        })
    }

    /// Field-by-field mean (e.g. one head over several inputs of the corpus); `None` if empty.
    pub fn mean(stats: &[HeadStats]) -> Option<HeadStats> {
        if stats.is_empty() {
            return None;
        }
        let k = stats.len() as f64;
        let avg = |f: fn(&HeadStats) -> f32| (stats.iter().map(|s| f64::from(f(s))).sum::<f64>() / k) as f32;
        Some(HeadStats {
            entropy_bits: avg(|s| s.entropy_bits),
            entropy_norm: avg(|s| s.entropy_norm),
            distance: avg(|s| s.distance),
            to_cls: avg(|s| s.to_cls),
            to_sep: avg(|s| s.to_sep),
            to_punct: avg(|s| s.to_punct),
            to_self: avg(|s| s.to_self),
            to_prev: avg(|s| s.to_prev),
            to_next: avg(|s| s.to_next),
        })
    }

    /// The first [`Role`] whose rule holds, in [`Role::ALL`]'s order; [`Role::Unlabelled`] if none.
    pub fn role(&self) -> Role {
        Role::ALL.into_iter().find(|r| r.holds(self)).unwrap_or(Role::Unlabelled)
    }
}

/// [`HeadStats::of`] for every head of a run (`attn` is `[layers, heads, n, n]`): `[layers ·
/// heads]`, index `layer · heads + head`. Empty on any length mismatch.
pub fn head_stats(attn: &[f32], layers: usize, heads: usize, n: usize, kinds: &TokenKinds) -> Vec<HeadStats> {
    let total = layers.checked_mul(heads).and_then(|c| c.checked_mul(n)).and_then(|c| c.checked_mul(n));
    if total != Some(attn.len()) || n == 0 {
        return Vec::new();
    }
    attn.chunks_exact(n * n).map(|m| HeadStats::of(m, n, kinds)).collect::<Option<Vec<_>>>().unwrap_or_default()
}

/// Per-head mean over several inputs: `runs[k]` is [`head_stats`] of input `k` (all of the
/// same model, so the same length). Empty if `runs` is empty or the lengths differ.
pub fn mean_per_head(runs: &[Vec<HeadStats>]) -> Vec<HeadStats> {
    let Some(len) = runs.first().map(Vec::len) else {
        return Vec::new();
    };
    if runs.iter().any(|r| r.len() != len) {
        return Vec::new();
    }
    (0..len)
        .filter_map(|h| HeadStats::mean(&runs.iter().filter_map(|r| r.get(h).copied()).collect::<Vec<_>>()))
        .collect()
}

/// The role of every head: [`HeadStats::role`] of each.
pub fn roles(stats: &[HeadStats]) -> Vec<Role> {
    stats.iter().map(HeadStats::role).collect()
}

/// The share a positional or sink role needs.
pub const ROLE_SHARE: f32 = 0.5;
/// The fraction of the maximum entropy (`log2 n` bits) a broad head needs.
pub const BROAD_ENTROPY: f32 = 0.8;

/// What a head mostly does, by a simple rule on its [`HeadStats`] (Clark et al. 2019's kinds
/// of heads). A head gets the first role in [`Role::ALL`] whose rule holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    PreviousToken,
    NextToken,
    #[serde(rename = "self")]
    SelfToken,
    SepSink,
    ClsSink,
    Punctuation,
    Broad,
    /// No rule holds.
    #[serde(rename = "none")]
    Unlabelled,
}

impl Role {
    /// The roles with a rule, in the order they are tried.
    pub const ALL: [Role; 7] =
        [Role::PreviousToken, Role::NextToken, Role::SelfToken, Role::SepSink, Role::ClsSink, Role::Punctuation, Role::Broad];

    /// A short stable name (also the JSON's): `previous-token`, `next-token`, `self`,
    /// `sep-sink`, `cls-sink`, `punctuation`, `broad`, `none`.
    pub fn name(self) -> &'static str {
        match self {
            Role::PreviousToken => "previous-token",
            Role::NextToken => "next-token",
            Role::SelfToken => "self",
            Role::SepSink => "sep-sink",
            Role::ClsSink => "cls-sink",
            Role::Punctuation => "punctuation",
            Role::Broad => "broad",
            Role::Unlabelled => "none",
        }
    }

    /// The rule, as shown to users.
    pub fn rule(self) -> &'static str {
        match self {
            Role::PreviousToken => "previous-token head: ≥ 50 % of attention on the previous token (mean over tokens that have one)",
            Role::NextToken => "next-token head: ≥ 50 % of attention on the next token (mean over tokens that have one)",
            Role::SelfToken => "self head: ≥ 50 % of attention on the token itself",
            Role::SepSink => "[SEP] sink: ≥ 50 % of attention on [SEP] (every separator/end token)",
            Role::ClsSink => "[CLS] sink: ≥ 50 % of attention on [CLS] (the first token)",
            Role::Punctuation => "punctuation head: ≥ 50 % of attention on punctuation tokens",
            Role::Broad => "broad head: entropy ≥ 0.8 × log2 n bits (attention spread almost evenly)",
            Role::Unlabelled => "no role: none of the rules above holds",
        }
    }

    /// Whether this role's rule holds for `s` (never for [`Role::Unlabelled`]).
    pub fn holds(self, s: &HeadStats) -> bool {
        match self {
            Role::PreviousToken => s.to_prev >= ROLE_SHARE,
            Role::NextToken => s.to_next >= ROLE_SHARE,
            Role::SelfToken => s.to_self >= ROLE_SHARE,
            Role::SepSink => s.to_sep >= ROLE_SHARE,
            Role::ClsSink => s.to_cls >= ROLE_SHARE,
            Role::Punctuation => s.to_punct >= ROLE_SHARE,
            Role::Broad => s.entropy_norm >= BROAD_ENTROPY,
            Role::Unlabelled => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, special: bool) -> Token {
        Token {
            text: text.into(),
            id: 0,
            type_id: 0,
            sequence: (!special).then_some(0),
            start: 0,
            end: 0,
            special,
            word: None,
            label: String::new(),
        }
    }

    /// `[CLS] hi , there [SEP]`.
    fn kinds() -> TokenKinds {
        let ts = [tok("[CLS]", true), tok("hi", false), tok(",", false), tok("there", false), tok("[SEP]", true)];
        TokenKinds::from_tokens(&ts)
    }

    fn shift(n: usize, by: isize) -> Vec<f32> {
        // Row i puts everything on i + by (clamped into range).
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            let j = (i as isize + by).clamp(0, n as isize - 1) as usize;
            m[i * n + j] = 1.0;
        }
        m
    }

    #[test]
    fn kinds_from_tokens() {
        let k = kinds();
        assert_eq!(k.cls, [true, false, false, false, false]);
        assert_eq!(k.sep, [false, false, false, false, true]);
        assert_eq!(k.punct, [false, false, true, false, false]);
        assert_eq!(k.len(), Some(5));
        // Labels win over texts; `##` pieces of punctuation are punctuation, `$` is not.
        let mut t = tok("Ġ,", false);
        t.label = ",".into();
        let k = TokenKinds::from_tokens(&[t, tok("$", false), tok("...", false), tok("a.", false), tok(" ", false)]);
        assert_eq!(k.punct, [true, false, true, false, false]);
        assert_eq!(k.cls, [false; 5]);
        let k = TokenKinds::from_labels(&["a", "—", "「」"], &[]);
        assert_eq!(k.punct, [false, true, true]);
        assert!(!is_punctuation_label(""));
        assert_eq!(TokenKinds::none(2).len(), Some(2));
        assert_eq!(TokenKinds { cls: vec![true], ..TokenKinds::none(2) }.len(), None);
    }

    #[test]
    fn kinds_for_units() {
        let u = |m: &[usize]| Unit { label: String::new(), members: m.to_vec(), special: false, segment: 0 };
        let k = kinds().for_units(&[u(&[0]), u(&[1, 2]), u(&[2]), u(&[4]), u(&[]), u(&[9])]);
        assert_eq!(k.cls, [true, false, false, false, false, false]);
        assert_eq!(k.sep, [false, false, false, true, false, false]);
        assert_eq!(k.punct, [false, false, true, false, false, false]);
    }

    #[test]
    fn positional_heads() {
        let k = kinds();
        let prev = HeadStats::of(&shift(5, -1), 5, &k).unwrap();
        // Rows 1..4 put 1 on i−1: to_prev = 4/4; row 0 on itself (clamped).
        assert_eq!(prev.to_prev, 1.0);
        assert_eq!(prev.to_self, 0.2);
        assert_eq!(prev.to_next, 0.0);
        assert_eq!(prev.entropy_bits, 0.0);
        // |i − j| = 1 for rows 1..4, 0 for row 0: 4/5.
        assert!((prev.distance - 0.8).abs() < 1e-7);
        // To [CLS]: rows 0 and 1; to ",": row 3; to [SEP]: none.
        assert!((prev.to_cls - 0.4).abs() < 1e-7 && (prev.to_punct - 0.2).abs() < 1e-7 && prev.to_sep == 0.0);
        assert_eq!(prev.role(), Role::PreviousToken);
        let next = HeadStats::of(&shift(5, 1), 5, &k).unwrap();
        assert_eq!((next.to_next, next.role()), (1.0, Role::NextToken));
        let me = HeadStats::of(&shift(5, 0), 5, &k).unwrap();
        assert_eq!((me.to_self, me.role()), (1.0, Role::SelfToken));
    }

    #[test]
    fn sinks_broad_and_none() {
        let k = kinds();
        let n = 5;
        let col = |j: usize| (0..n * n).map(|x| if x % n == j { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        let sep = HeadStats::of(&col(4), n, &k).unwrap();
        assert_eq!((sep.to_sep, sep.role()), (1.0, Role::SepSink));
        // Mean distance to column 4: (4 + 3 + 2 + 1 + 0) / 5.
        assert!((sep.distance - 2.0).abs() < 1e-7);
        assert_eq!(HeadStats::of(&col(0), n, &k).unwrap().role(), Role::ClsSink);
        assert_eq!(HeadStats::of(&col(2), n, &k).unwrap().role(), Role::Punctuation);
        let uniform = HeadStats::of(&[0.2; 25], n, &k).unwrap();
        assert!((uniform.entropy_bits - 5f32.log2()).abs() < 1e-6);
        assert!((uniform.entropy_norm - 1.0).abs() < 1e-6);
        assert_eq!(uniform.role(), Role::Broad);
        // (0.45, 0.55) rows: to_prev = to_next = 0.55, and previous-token is tried first.
        let s = HeadStats::of(&[0.45, 0.55, 0.55, 0.45], 2, &TokenKinds::none(2)).unwrap();
        assert!((s.to_next - 0.55).abs() < 1e-6 && (s.to_prev - 0.55).abs() < 1e-6);
        assert_eq!(s.role(), Role::PreviousToken);
        // Row i: 0.4 on i, 0.3 on i + 2 and on i + 3 (mod 4). Self 0.4, previous 0.3 (rows
        // 1..3), entropy 1.571 bits < 0.8 × 2: no rule holds.
        let mut m = vec![0.0f32; 16];
        for i in 0..4 {
            m[i * 4 + i] = 0.4;
            m[i * 4 + (i + 2) % 4] = 0.3;
            m[i * 4 + (i + 3) % 4] = 0.3;
        }
        let s = HeadStats::of(&m, 4, &TokenKinds::none(4)).unwrap();
        assert!((s.to_self - 0.4).abs() < 1e-6 && (s.to_prev - 0.3).abs() < 1e-6 && s.to_next == 0.0, "{s:?}");
        assert!((s.entropy_norm - 0.785_475).abs() < 1e-5, "{s:?}");
        assert_eq!(s.role(), Role::Unlabelled);
        // Bad input.
        assert_eq!(HeadStats::of(&[0.2; 24], n, &k), None);
        assert_eq!(HeadStats::of(&[0.25; 4], 2, &k), None);
        assert_eq!(HeadStats::of(&[], 0, &TokenKinds::none(0)), None);
    }

    #[test]
    fn single_token_and_roles_text() {
        let s = HeadStats::of(&[1.0], 1, &TokenKinds::none(1)).unwrap();
        assert_eq!((s.entropy_norm, s.to_prev, s.to_next, s.to_self), (0.0, 0.0, 0.0, 1.0));
        for r in Role::ALL {
            assert!(r.rule().len() > 20 && !r.name().is_empty());
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.name()));
        }
        assert_eq!(serde_json::to_value(Role::Unlabelled).unwrap(), serde_json::json!("none"));
    }

    #[test]
    fn stats_of_a_run_and_means() {
        let k = kinds();
        let mut attn = shift(5, -1);
        attn.extend(shift(5, 1));
        let all = head_stats(&attn, 1, 2, 5, &k);
        assert_eq!(roles(&all), [Role::PreviousToken, Role::NextToken]);
        assert!(head_stats(&attn, 2, 2, 5, &k).is_empty());
        assert!(head_stats(&attn, 1, 2, 5, &TokenKinds::none(4)).is_empty());
        let m = HeadStats::mean(&all).unwrap();
        assert_eq!((m.to_prev, m.to_next), (0.5, 0.5));
        assert_eq!(HeadStats::mean(&[]), None);
        let per = mean_per_head(&[all.clone(), all.iter().rev().copied().collect()]);
        assert_eq!(per.len(), 2);
        assert_eq!((per[0].to_prev, per[1].to_next), (0.5, 0.5));
        assert!(mean_per_head(&[all.clone(), vec![]]).is_empty());
        assert!(mean_per_head(&[]).is_empty());
        let v = serde_json::to_value(all[0]).unwrap();
        for f in ["entropy_bits", "entropy_norm", "distance", "to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next"] {
            assert!(v.get(f).is_some(), "{f}");
        }
    }
}
