//! Golden fixtures written by `tests/golden/make_golden.py` (Hugging Face transformers,
//! PyTorch, eager attention) and the comparisons both the native and the wasm tests make.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;

use attention_viz::model::Run;
use serde::Deserialize;

/// The six cases, in the order the tests report them.
pub const CASES: [&str; 6] = ["bank", "pair", "unicode", "long", "single", "whitespace"];
/// Tolerances the issue sets: every weight and every row sum within 1e-5 of PyTorch's.
pub const WEIGHT_TOL: f32 = 1e-5;
pub const ROW_TOL: f32 = 1e-5;

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
    attention_viz::net::fetch_bytes(&url, |_, _| {}).await.unwrap_or_else(|e| panic!("{e}"))
}
