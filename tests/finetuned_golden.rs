//! The compare view's model pair against Hugging Face transformers (PyTorch): all-MiniLM-L6-v2
//! and the same model fine-tuned on the sense of "bank" (`tests/golden/make_finetuned.py`),
//! which `scripts/make-finetuned.py` assembles from the base model and
//! `tests/golden/models/minilm-bank/patch.safetensors` into
//! `models/attention-viz/minilm-bank-finetuned/`. Fixtures: `tests/golden/fixtures/compare/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use attention_viz::model::Engine;
use candle_core::Device;
use common::{check_all_qk, check_run, Golden, GoldenQk};

const CASES: [&str; 3] = ["both", "river", "money"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn base_dir() -> PathBuf {
    root().join("models/sentence-transformers/all-MiniLM-L6-v2/resolve/main")
}

fn finetuned_dir() -> PathBuf {
    root().join("models/attention-viz/minilm-bank-finetuned/resolve/main")
}

fn fixtures() -> PathBuf {
    root().join("tests/golden/fixtures/compare")
}

fn read(path: &Path, hint: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} ({hint})", path.display()))
}

struct Model {
    weights: Vec<u8>,
    engine: Engine,
}

fn load(dir: &Path, hint: &str) -> Model {
    let config = read(&dir.join("config.json"), hint);
    let tokenizer = read(&dir.join("tokenizer.json"), hint);
    let weights = read(&dir.join("model.safetensors"), hint);
    let engine = Engine::from_bytes(&config, &tokenizer, &weights).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Model { weights, engine }
}

fn base() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| load(&base_dir(), "run scripts/fetch-model.sh, or `make test`, to fetch the test model"))
}

fn finetuned() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        load(
            &finetuned_dir(),
            "run scripts/make-finetuned.py (after scripts/fetch-model.sh) to build the fine-tuned model",
        )
    })
}

/// `<case>.<which>.json` + `.attn.gz`. Only `money.finetuned` has queries and keys; the others
/// get empty `qk_file`/`qk_shape` so that `common::Golden` parses them.
fn golden(case: &str, which: &str) -> Golden {
    let json = read(&fixtures().join(format!("{case}.{which}.json")), "fixture");
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let gz = read(&fixtures().join(v["attention_file"].as_str().unwrap()), "fixture");
    let o = v.as_object_mut().unwrap();
    o.entry("qk_file").or_insert_with(|| "".into());
    o.entry("qk_shape").or_insert_with(|| serde_json::json!([0, 0, 0, 0]));
    Golden::parse(&serde_json::to_vec(&v).unwrap(), &gz)
}

#[test]
fn finetuned_model_matches_pytorch_to_1e5() {
    for case in CASES {
        for (which, model) in [("base", base()), ("finetuned", finetuned())] {
            let g = golden(case, which);
            let run = model.engine.run(&g.text, None).unwrap();
            let worst = check_run(&g, &run);
            println!("{case:>6} {which:>9}: {:>2} tokens, max |ours - PyTorch| = {worst:.2e}", g.input_ids.len());
        }
    }
}

#[test]
fn finetuned_queries_and_keys_match_pytorch() {
    let g = golden("money", "finetuned");
    assert!(!g.qk_file.is_empty(), "money.finetuned.json names its q/k file");
    let gqk = GoldenQk::parse(&g, &read(&fixtures().join(&g.qk_file), "fixture"));
    let (run, qk) = finetuned().engine.run_with_qk(&g.text, None).unwrap();
    check_run(&g, &run);
    let (wq, wk) = check_all_qk(&g, &gqk, &qk);
    println!("money finetuned: max |ours - PyTorch| q = {wq:.2e}, k = {wk:.2e}");
}

#[test]
fn assembled_model_is_the_base_with_the_patched_tensors() {
    let dev = Device::Cpu;
    let base = candle_core::safetensors::load_buffer(&base().weights, &dev).unwrap();
    let tuned = candle_core::safetensors::load_buffer(&finetuned().weights, &dev).unwrap();
    let patch_path = root().join("tests/golden/models/minilm-bank/patch.safetensors");
    let patch = candle_core::safetensors::load_buffer(&read(&patch_path, "committed patch"), &dev).unwrap();
    assert_eq!(patch.len(), 24, "6 layers x query/key x weight/bias");
    let mut names: Vec<&String> = base.keys().collect();
    names.sort();
    assert_eq!(names, { let mut t: Vec<&String> = tuned.keys().collect(); t.sort(); t }, "same tensor names");
    let bytes = |t: &candle_core::Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_dtype(candle_core::DType::F32).unwrap().to_vec1().unwrap() };
    for name in names {
        let (b, t) = (&base[name], &tuned[name]);
        assert_eq!((b.dtype(), b.dims()), (t.dtype(), t.dims()), "{name}: dtype and shape");
        if b.dtype() != candle_core::DType::F32 {
            continue; // position_ids (I64): not patched, and the header is the base's
        }
        match patch.get(name) {
            Some(p) => {
                assert!(name.contains(".attention.self.query.") || name.contains(".attention.self.key."), "{name}");
                assert_eq!(bytes(p), bytes(t), "{name}: the patch's values");
                assert_ne!(bytes(b), bytes(t), "{name}: fine-tuning changed it");
            }
            None => assert_eq!(bytes(b), bytes(t), "{name}: unpatched tensors are the base's"),
        }
    }
}

/// Per-head mean |base - fine-tuned| over all weights, and Jensen-Shannon divergence of each
/// row in bits (0 log 0 = 0), mean over rows: `[layers][heads]`, in f64.
fn per_head(a: &[f32], b: &[f32], layers: usize, heads: usize, n: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let kl = |p: &[f64], m: &[f64]| -> f64 {
        p.iter().zip(m).filter(|(p, _)| **p > 0.0).map(|(p, m)| p * (p / m).log2()).sum()
    };
    let mut mad = vec![vec![0.0; heads]; layers];
    let mut js = vec![vec![0.0; heads]; layers];
    for l in 0..layers {
        for h in 0..heads {
            let at = (l * heads + h) * n * n;
            for r in 0..n {
                let p: Vec<f64> = a[at + r * n..at + (r + 1) * n].iter().map(|&x| x as f64).collect();
                let q: Vec<f64> = b[at + r * n..at + (r + 1) * n].iter().map(|&x| x as f64).collect();
                let m: Vec<f64> = p.iter().zip(&q).map(|(p, q)| (p + q) / 2.0).collect();
                mad[l][h] += p.iter().zip(&q).map(|(p, q)| (p - q).abs()).sum::<f64>() / (n * n) as f64;
                js[l][h] += (kl(&p, &m) + kl(&q, &m)) / 2.0 / n as f64;
            }
        }
    }
    (mad, js)
}

#[test]
fn per_head_differences_match_numpy_and_show_the_fine_tuning() {
    for case in CASES {
        let metrics: serde_json::Value =
            serde_json::from_slice(&read(&fixtures().join(format!("{case}.metrics.json")), "fixture")).unwrap();
        let text = metrics["text"].as_str().unwrap();
        let a = base().engine.run(text, None).unwrap();
        let b = finetuned().engine.run(text, None).unwrap();
        let s = a.attention.shape();
        let (mad, js) = per_head(a.attention.data(), b.attention.data(), s.layers, s.heads, s.seq);
        let mut worst = (0.0f64, 0.0f64);
        let mut top = (0.0f64, 0, 0);
        for l in 0..s.layers {
            for h in 0..s.heads {
                let want_mad = metrics["mean_abs_diff"][l][h].as_f64().unwrap();
                let want_js = metrics["js_bits"][l][h].as_f64().unwrap();
                let (dm, dj) = ((mad[l][h] - want_mad).abs(), (js[l][h] - want_js).abs());
                assert!(dm <= 1e-6, "{case}: L{l}H{h} mean |diff| {} vs NumPy {want_mad}", mad[l][h]);
                assert!(dj <= 1e-5, "{case}: L{l}H{h} JS {} bits vs NumPy {want_js}", js[l][h]);
                worst = (worst.0.max(dm), worst.1.max(dj));
                if js[l][h] > top.0 {
                    top = (js[l][h], l, h);
                }
            }
        }
        // The fine-tuning is visible: some head moves by more than 0.05 bits per row.
        assert!(top.0 > 0.05, "{case}: largest per-head JS only {} bits", top.0);
        println!(
            "{case:>6}: largest JS L{}H{} = {:.4} bits; |ours - NumPy| MAD {:.1e}, JS {:.1e}",
            top.1, top.2, top.0, worst.0, worst.1
        );
    }
}

#[test]
fn bank_attends_more_to_its_cue_words_after_fine_tuning() {
    // In "I deposited money at the bank before walking along the river bank.", the largest
    // per-head rise of each "bank"'s attention to its cue word (money for the first, river
    // for the second).
    let text = "I deposited money at the bank before walking along the river bank.";
    let a = base().engine.run(text, None).unwrap();
    let b = finetuned().engine.run(text, None).unwrap();
    let tokens: Vec<&str> = a.encoded.tokens.iter().map(|t| t.text.as_str()).collect();
    let pos = |w: &str| tokens.iter().position(|t| *t == w).unwrap();
    let banks: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] == "bank").collect();
    assert_eq!(banks.len(), 2, "{tokens:?}");
    let s = a.attention.shape();
    for (from, cue) in [(banks[0], "money"), (banks[1], "river")] {
        let to = pos(cue);
        let (mut rise, mut at) = (f32::MIN, (0, 0));
        for l in 0..s.layers {
            for h in 0..s.heads {
                let d = b.attention.get(l, h, from, to).unwrap() - a.attention.get(l, h, from, to).unwrap();
                if d > rise {
                    (rise, at) = (d, (l, h));
                }
            }
        }
        let (l, h) = at;
        println!(
            "bank@{from} -> {cue}@{to}: L{l}H{h} {:.3} -> {:.3}",
            a.attention.get(l, h, from, to).unwrap(),
            b.attention.get(l, h, from, to).unwrap()
        );
        assert!(rise > 0.2, "bank@{from} -> {cue}: largest rise only {rise}");
    }
}
