//! Golden fixtures written by `tests/golden/make_golden.py` (Hugging Face transformers,
//! PyTorch, eager attention) and the comparisons both the native and the wasm tests make:
//! attention weights (`<name>.attn.gz`) and per-head queries and keys (`<name>.qk.gz`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;

use attention_viz::model::{Engine, QueryKey, Run};
use serde::Deserialize;

/// The six cases, in the order the tests report them.
pub const CASES: [&str; 6] = ["bank", "pair", "unicode", "long", "single", "whitespace"];

/// One of the small checkpoints `tests/golden/make_families.py` builds with `transformers`:
/// `tests/golden/models/<dir>/` and its fixtures in `tests/golden/fixtures/<dir>/`.
pub struct FamilyModel {
    pub dir: &'static str,
    /// What `Engine::family().name()` must say.
    pub name: &'static str,
    /// Whether its layers share weights, and each layer's weight set.
    pub shared: bool,
    pub weight_groups: &'static [usize],
    pub cases: &'static [&'static str],
}

const FAMILY_CASES: &[&str] = &["bank", "pair", "unicode", "long"];

pub const FAMILIES: [FamilyModel; 5] = [
    FamilyModel { dir: "bert", name: "BERT", shared: false, weight_groups: &[0, 1], cases: FAMILY_CASES },
    FamilyModel { dir: "distilbert", name: "DistilBERT", shared: false, weight_groups: &[0, 1], cases: FAMILY_CASES },
    FamilyModel {
        dir: "roberta",
        name: "RoBERTa",
        shared: false,
        weight_groups: &[0, 1],
        cases: &["bank", "pair", "unicode", "long", "pad_inside"],
    },
    FamilyModel { dir: "albert", name: "ALBERT", shared: true, weight_groups: &[0, 0, 0], cases: FAMILY_CASES },
    // ALBERT with 2 groups of 2 layers over 3 steps: steps 0 and 1 run group 0, step 2 group 1.
    FamilyModel {
        dir: "albert_groups",
        name: "ALBERT",
        shared: true,
        weight_groups: &[0, 1, 0, 1, 2, 3],
        cases: &["bank", "pair", "unicode"],
    },
];

impl FamilyModel {
    /// The model folder, relative to the repository root.
    pub fn model_dir(&self) -> String {
        format!("tests/golden/models/{}", self.dir)
    }
    /// A fixture file (`case.json`, `case.attn.gz`, …), relative to the repository root.
    pub fn fixture(&self, file: &str) -> String {
        format!("tests/golden/fixtures/{}/{file}", self.dir)
    }
    /// Checks what the engine says about the family and its layers.
    pub fn check_engine(&self, e: &Engine) {
        assert_eq!(e.family().name(), self.name, "{}: family", self.dir);
        assert_eq!(e.shared_layers(), self.shared, "{}: shared layers", self.dir);
        let groups: Vec<usize> = (0..e.config().num_hidden_layers).map(|l| e.weight_group(l).unwrap()).collect();
        assert_eq!(groups, self.weight_groups, "{}: weight groups", self.dir);
        assert_eq!(e.weight_group(groups.len()), None, "{}: no layer past the last", self.dir);
    }
}

/// Every check one fixture gets, through every entry point: `run`, `run_with_qk` (one pass,
/// same attention as `run`), and `queries_keys` layer by layer (same numbers as the full pass).
/// Returns the largest |ours - PyTorch| of the weights, the queries and the keys.
pub fn check_case(e: &Engine, g: &Golden, gqk: &GoldenQk) -> (f32, f32, f32) {
    let run = e.run(&g.text, g.pair.as_deref()).unwrap();
    let worst = check_run(g, &run);
    let (full, all) = e.run_with_qk(&g.text, g.pair.as_deref()).unwrap();
    assert_eq!(full.attention, run.attention, "{}: run_with_qk vs run", g.name);
    let (wq, wk) = check_all_qk(g, gqk, &all);
    let encoded = e.encode(&g.text, g.pair.as_deref()).unwrap();
    for (layer, one_pass) in all.iter().enumerate() {
        let one = e.queries_keys(&encoded, layer).unwrap();
        assert_eq!(&one, one_pass, "{}: queries_keys({layer}) vs run_with_qk", g.name);
    }
    assert!(e.queries_keys(&encoded, all.len()).is_err(), "{}: layer past the last", g.name);
    (worst, wq, wk)
}
/// Tolerances the issue sets: every weight and every row sum within 1e-5 of PyTorch's.
pub const WEIGHT_TOL: f32 = 1e-5;
pub const ROW_TOL: f32 = 1e-5;
/// Queries and keys: `|ours - PyTorch| <= QK_TOL * max(1, |PyTorch|)`, i.e. 1e-5 absolute for
/// values below 1 and 1e-5 relative above (they reach ±11 here). A flat 1e-5 absolute is at the
/// f32 noise floor on the 232-token case: ours is off by up to 9.5e-6 there natively and
/// 1.05e-5 in wasm (on a query above 1), and PyTorch itself moves by up to 1.4e-5
/// when only its LayerNorm sums are taken in another f32 order (measured by swapping in a
/// sequential two-pass LayerNorm). The attention weights keep their flat 1e-5.
pub const QK_TOL: f32 = 1e-5;

#[derive(Debug, Deserialize)]
pub struct Golden {
    pub name: String,
    pub text: String,
    pub pair: Option<String>,
    pub input_ids: Vec<u32>,
    pub token_type_ids: Vec<u32>,
    pub tokens: Vec<String>,
    pub offsets: Vec<(usize, usize)>,
    pub shape: [usize; 4],
    pub attention_file: String,
    #[serde(skip)]
    pub attention: Vec<f32>,
    /// `<name>.qk.gz` and its per-tensor shape `[layers, heads, seq, head_dim]`.
    pub qk_file: String,
    pub qk_shape: [usize; 4],
}

/// PyTorch's per-head queries and keys for one fixture, each `[layers, heads, seq, head_dim]`.
pub struct GoldenQk {
    pub shape: [usize; 4],
    pub q: Vec<f32>,
    pub k: Vec<f32>,
}

impl GoldenQk {
    /// Parses `<name>.qk.gz`: gzip of little-endian f32 q then k, each `shape` in C order.
    pub fn parse(g: &Golden, qk_gz: &[u8]) -> GoldenQk {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(qk_gz).read_to_end(&mut raw).expect("gunzip q/k");
        let n = g.qk_shape.iter().product::<usize>();
        assert_eq!(raw.len(), 2 * 4 * n, "{}: q/k size", g.name);
        let [l, h, seq, _] = g.qk_shape;
        assert_eq!([l, h, seq], [g.shape[0], g.shape[1], g.shape[2]], "{}: q/k shape vs attention shape", g.name);
        let mut all: Vec<f32> = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let k = all.split_off(n);
        GoldenQk { shape: g.qk_shape, q: all, k }
    }

    /// Layer `layer`'s `[heads, seq, head_dim]` block of `data` (`self.q` or `self.k`).
    pub fn layer<'a>(&self, data: &'a [f32], layer: usize) -> &'a [f32] {
        let per = self.shape[1..].iter().product::<usize>();
        &data[layer * per..(layer + 1) * per]
    }
}

/// Largest |ours - PyTorch| over `ours` and `theirs`, and the index where the tolerance
/// ([`QK_TOL`], relative above 1) is worst used: `(max abs diff, worst index, worst ratio)`.
fn qk_diff(ours: &[f32], theirs: &[f32]) -> (f32, usize, f32) {
    let mut out = (0.0f32, 0usize, 0.0f32);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let d = (a - b).abs();
        let ratio = d / (QK_TOL * b.abs().max(1.0));
        if d.is_nan() || d > out.0 {
            out.0 = d;
        }
        if ratio.is_nan() || ratio > out.2 {
            out.1 = i;
            out.2 = ratio;
        }
    }
    out
}

/// Compares one layer's queries and keys with PyTorch's; returns the largest |difference| of
/// the queries and of the keys.
pub fn check_qk(g: &Golden, golden: &GoldenQk, layer: usize, ours: &QueryKey) -> (f32, f32) {
    let [_, heads, seq, head_dim] = golden.shape;
    assert_eq!((ours.heads, ours.seq, ours.head_dim), (heads, seq, head_dim), "{}: layer {layer} q/k shape", g.name);
    let mut worst = [0.0f32; 2];
    for (w, (what, mine, theirs)) in worst.iter_mut().zip([("query", &ours.q, &golden.q), ("key", &ours.k, &golden.k)]) {
        let theirs = golden.layer(theirs, layer);
        assert_eq!(mine.len(), theirs.len(), "{}: layer {layer} {what} length", g.name);
        let (max, i, ratio) = qk_diff(mine, theirs);
        assert!(
            ratio <= 1.0,
            "{}: {what} off by {:e} at [layer, head, token, dim] = {:?}: ours {} vs PyTorch {}",
            g.name,
            (mine[i] - theirs[i]).abs(),
            (layer, i / (seq * head_dim), (i / head_dim) % seq, i % head_dim),
            mine[i],
            theirs[i]
        );
        *w = max;
    }
    (worst[0], worst[1])
}

/// [`check_qk`] for every layer (`qk` holds one [`QueryKey`] per layer, as `run_with_qk` returns).
pub fn check_all_qk(g: &Golden, golden: &GoldenQk, qk: &[QueryKey]) -> (f32, f32) {
    assert_eq!(qk.len(), golden.shape[0], "{}: one q/k per layer", g.name);
    qk.iter().enumerate().fold((0.0f32, 0.0f32), |(wq, wk), (l, layer)| {
        let (q, k) = check_qk(g, golden, l, layer);
        (wq.max(q), wk.max(k))
    })
}

impl Golden {
    /// Parses a fixture from its JSON and its gzipped attention planes.
    pub fn parse(json: &[u8], attention_gz: &[u8]) -> Golden {
        let mut g: Golden = serde_json::from_slice(json).expect("fixture json");
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(attention_gz).read_to_end(&mut raw).expect("gunzip");
        let n = g.shape.iter().product::<usize>();
        assert_eq!(raw.len(), 4 * n, "{}: attention size", g.name);
        g.attention = (0..n)
            .map(|i| {
                let q = u32::from_le_bytes([raw[i], raw[n + i], raw[2 * n + i], raw[3 * n + i]]);
                q as f32 / (1u32 << 24) as f32
            })
            .collect();
        g
    }
}

/// Compares a run with its fixture; returns the largest weight difference.
pub fn check_run(g: &Golden, run: &Run) -> f32 {
    let e = &run.encoded;
    let ids: Vec<u32> = e.tokens.iter().map(|t| t.id).collect();
    assert_eq!(ids, g.input_ids, "{}: input ids", g.name);
    let types: Vec<u32> = e.tokens.iter().map(|t| t.type_id).collect();
    assert_eq!(types, g.token_type_ids, "{}: token type ids", g.name);
    let tokens: Vec<&str> = e.tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(tokens, g.tokens, "{}: tokens", g.name);
    let offsets: Vec<(usize, usize)> = e.tokens.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(offsets, g.offsets, "{}: char offsets", g.name);
    assert!(!e.truncated, "{}: not truncated", g.name);

    let s = run.attention.shape();
    assert_eq!([s.layers, s.heads, s.seq, s.seq], g.shape, "{}: shape", g.name);
    let ours = run.attention.data();
    let mut worst = (0.0f32, 0usize);
    for (i, (a, b)) in ours.iter().zip(&g.attention).enumerate() {
        let d = (a - b).abs();
        // A NaN must count as the worst difference, never slip through.
        if d.is_nan() || d > worst.0 {
            worst = (d, i);
        }
    }
    let n = s.seq;
    let at = |i: usize| {
        let (l, rest) = (i / (s.heads * n * n), i % (s.heads * n * n));
        (l, rest / (n * n), (rest % (n * n)) / n, i % n)
    };
    assert!(
        worst.0 <= WEIGHT_TOL,
        "{}: weight off by {:e} at [layer, head, from, to] = {:?}: ours {} vs PyTorch {}",
        g.name,
        worst.0,
        at(worst.1),
        ours[worst.1],
        g.attention[worst.1]
    );
    for (r, row) in ours.chunks(n).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() <= ROW_TOL, "{}: row {r} sums to {sum}", g.name);
    }
    worst.0
}

/// Where the wasm tests fetch the model and fixtures (scripts/with-fixture-server.sh serves the
/// repository root there).
#[cfg(target_arch = "wasm32")]
pub const FIXTURE_BASE: &str = match option_env!("AV_FIXTURE_BASE") {
    Some(b) => b,
    None => "http://127.0.0.1:8471",
};

/// Fetches `path` (relative to the repository root) over HTTP, as the worker fetches models.
#[cfg(target_arch = "wasm32")]
pub async fn fetch_repo_file(path: &str) -> Vec<u8> {
    let url = format!("{FIXTURE_BASE}/{path}");
    attention_viz::net::fetch_bytes(&url, None, |_, _| {}).await.unwrap_or_else(|e| panic!("{e}"))
}
