//! `attention-export`, run as a user runs it: JSON and .npy files checked against PyTorch,
//! `--aggregate` / `--stats` checked against NumPy (`tests/golden/make_analysis.py`), and the
//! pictures (`--format svg|png`) and batches (`--text-file`) checked for what they must hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

use common::{check_all_qk, FamilyModel, Golden, GoldenQk, FAMILIES, WEIGHT_TOL};
use attention_viz::model::QueryKey;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    std::env::var_os("AV_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/sentence-transformers/all-MiniLM-L6-v2/resolve/main"))
}

fn golden(name: &str) -> Golden {
    let dir = root().join("tests/golden/fixtures");
    Golden::parse(
        &std::fs::read(dir.join(format!("{name}.json"))).unwrap(),
        &std::fs::read(dir.join(format!("{name}.attn.gz"))).unwrap(),
    )
}

fn golden_qk(g: &Golden) -> GoldenQk {
    GoldenQk::parse(g, &std::fs::read(root().join("tests/golden/fixtures").join(&g.qk_file)).unwrap())
}

/// Splits `[layers, heads, seq, head_dim]` flat q and k into one [`QueryKey`] per layer.
fn per_layer(shape: [usize; 4], q: &[f32], k: &[f32]) -> Vec<QueryKey> {
    let [l, heads, seq, head_dim] = shape;
    let per = heads * seq * head_dim;
    assert_eq!((q.len(), k.len()), (l * per, l * per));
    (0..l)
        .map(|i| QueryKey {
            heads,
            seq,
            head_dim,
            q: q[i * per..(i + 1) * per].to_vec(),
            k: k[i * per..(i + 1) * per].to_vec(),
        })
        .collect()
}

/// Parses a float32 `.npy`: its header and its data.
fn read_npy(path: &std::path::Path) -> (String, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap().to_string();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let data = bytes[10 + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    (header, data)
}

/// Flattens nested JSON arrays of numbers, checking every level's length against `shape`.
fn flatten(v: &serde_json::Value, shape: &[usize], out: &mut Vec<f32>) {
    match shape.split_first() {
        None => out.push(v.as_f64().unwrap() as f32),
        Some((&n, rest)) => {
            let a = v.as_array().unwrap();
            assert_eq!(a.len(), n, "nested length vs shape {shape:?}");
            a.iter().for_each(|x| flatten(x, rest, out));
        }
    }
}

fn export(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attention-export")).args(args).output().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("av-export-{}-{name}", std::process::id()))
}

#[test]
fn json_export_matches_pytorch() {
    let g = golden("pair");
    let out = tmp("pair.json");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--pair", g.pair.as_deref().unwrap(),
        "--format", "json", "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(doc["tokens"], serde_json::json!(g.tokens));
    assert_eq!(doc["ids"], serde_json::json!(g.input_ids));
    assert_eq!(doc["token_type_ids"], serde_json::json!(g.token_type_ids));
    assert_eq!(doc["offsets"], serde_json::json!(g.offsets));
    assert_eq!(doc["shape"], serde_json::json!(g.shape));
    let flat: Vec<f32> = doc["attention"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l.as_array().unwrap().iter())
        .flat_map(|h| h.as_array().unwrap().iter())
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(flat.len(), g.attention.len());
    let worst = flat.iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= WEIGHT_TOL, "JSON weights off by {worst}");
    assert!(doc.get("queries").is_none() && doc.get("keys").is_none(), "q/k only with --qk");
}

#[test]
fn npy_export_is_float32_with_the_attention_shape() {
    let g = golden("bank");
    let out = tmp("bank.npy");
    let model = model_dir();
    let o = export(&["--model", model.to_str().unwrap(), "--text", &g.text, "--format", "npy", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let side = out.with_extension("tokens.json");
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    let _ = (std::fs::remove_file(&out), std::fs::remove_file(&side));
    assert!(!out.with_extension("q.npy").exists(), "q/k files only with --qk");

    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    let [l, h, n, _] = g.shape;
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains(&format!("'shape': ({l}, {h}, {n}, {n})")), "{header}");
    let data: Vec<f32> = bytes[10 + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(data.len(), g.attention.len());
    let worst = data.iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= WEIGHT_TOL, ".npy weights off by {worst}");
    assert_eq!(meta["tokens"], serde_json::json!(g.tokens));
    assert!(meta.get("attention").is_none_or(|a| a.as_array().is_some_and(|a| a.is_empty())));
}

#[test]
fn json_export_with_qk_has_queries_and_keys_matching_pytorch() {
    let g = golden("pair");
    let gqk = golden_qk(&g);
    let out = tmp("pair-qk.json");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--pair", g.pair.as_deref().unwrap(),
        "--qk", "--format", "json", "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(doc["tokens"], serde_json::json!(g.tokens));
    let (mut q, mut k, mut att) = (Vec::new(), Vec::new(), Vec::new());
    flatten(&doc["queries"], &g.qk_shape, &mut q);
    flatten(&doc["keys"], &g.qk_shape, &mut k);
    flatten(&doc["attention"], &g.shape, &mut att);
    let worst = att.iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= WEIGHT_TOL, "JSON weights off by {worst}");
    let (wq, wk) = check_all_qk(&g, &gqk, &per_layer(g.qk_shape, &q, &k));
    println!("json --qk: max |ours - PyTorch| q = {wq:.2e}, k = {wk:.2e}");
}

#[test]
fn npy_export_with_qk_writes_q_and_k_files_matching_pytorch() {
    let g = golden("bank");
    let gqk = golden_qk(&g);
    let out = tmp("bank-qk.npy");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--format", "npy", "--qk", "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stem = out.to_str().unwrap().strip_suffix(".npy").unwrap().to_string();
    let (qpath, kpath) = (PathBuf::from(format!("{stem}.q.npy")), PathBuf::from(format!("{stem}.k.npy")));
    let side = out.with_extension("tokens.json");
    let (qh, q) = read_npy(&qpath);
    let (kh, k) = read_npy(&kpath);
    let (_, att) = read_npy(&out);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    for p in [&out, &side, &qpath, &kpath] {
        let _ = std::fs::remove_file(p);
    }
    let [l, h, n, d] = g.qk_shape;
    for header in [&qh, &kh] {
        assert!(header.contains(&format!("'shape': ({l}, {h}, {n}, {d})")), "{header}");
    }
    let worst = att.iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(att.len() == g.attention.len() && worst <= WEIGHT_TOL, ".npy weights off by {worst}");
    let (wq, wk) = check_all_qk(&g, &gqk, &per_layer(g.qk_shape, &q, &k));
    println!("npy --qk: max |ours - PyTorch| q = {wq:.2e}, k = {wk:.2e}");
    // The side file stays metadata only.
    assert_eq!(meta["tokens"], serde_json::json!(g.tokens));
    assert!(meta.get("queries").is_none() && meta.get("keys").is_none() && meta.get("attention").is_none());
}

#[test]
fn bad_invocations_fail_with_a_message_and_exit_code_2() {
    let o = export(&["--text", "hi", "--out", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--model is required"));
    let o = export(&["--model", "/nonexistent", "--text", "hi", "--out", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/config.json"));
    let o = export(&["--model", "x", "--text", "hi", "--format", "csv", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `attention-export --qk --format json` on one family's checkpoint and fixture: tokens, ids,
/// shape, every weight and every query and key against PyTorch.
fn family_export_matches_pytorch(dir: &str, case: &str) {
    let f: &FamilyModel = FAMILIES.iter().find(|f| f.dir == dir).unwrap();
    let read = |p: String| std::fs::read(root().join(p)).unwrap();
    let g = Golden::parse(&read(f.fixture(&format!("{case}.json"))), &read(f.fixture(&format!("{case}.attn.gz"))));
    let gqk = GoldenQk::parse(&g, &read(f.fixture(&g.qk_file)));
    let out = tmp(&format!("{dir}-{case}.json"));
    let model = root().join(f.model_dir());
    let mut args = vec!["--model", model.to_str().unwrap(), "--text", &g.text, "--qk", "--out", out.to_str().unwrap()];
    if let Some(p) = g.pair.as_deref() {
        args.extend(["--pair", p]);
    }
    let o = export(&args);
    assert!(o.status.success(), "{dir}: {}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(doc["tokens"], serde_json::json!(g.tokens), "{dir}");
    assert_eq!(doc["ids"], serde_json::json!(g.input_ids), "{dir}");
    assert_eq!(doc["shape"], serde_json::json!(g.shape), "{dir}");
    let (mut q, mut k, mut att) = (Vec::new(), Vec::new(), Vec::new());
    flatten(&doc["attention"], &g.shape, &mut att);
    flatten(&doc["queries"], &g.qk_shape, &mut q);
    flatten(&doc["keys"], &g.qk_shape, &mut k);
    let worst = att.iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= WEIGHT_TOL, "{dir}: JSON weights off by {worst}");
    let (wq, wk) = check_all_qk(&g, &gqk, &per_layer(g.qk_shape, &q, &k));
    println!("{dir}/{case}: max |ours - PyTorch| = {worst:.2e}, q = {wq:.2e}, k = {wk:.2e}");
}

#[test]
fn bert_family_export_matches_pytorch() {
    family_export_matches_pytorch("bert", "unicode");
}

#[test]
fn distilbert_export_matches_pytorch() {
    family_export_matches_pytorch("distilbert", "pair");
}

#[test]
fn roberta_export_matches_pytorch() {
    family_export_matches_pytorch("roberta", "pair");
}

#[test]
fn albert_export_matches_pytorch() {
    family_export_matches_pytorch("albert", "bank");
}

#[test]
fn albert_with_layer_groups_export_matches_pytorch() {
    family_export_matches_pytorch("albert_groups", "pair");
}

#[test]
fn unsupported_family_and_pytorch_weights_fail_with_their_message() {
    let dir = tmp("gpt2-model");
    std::fs::create_dir_all(&dir).unwrap();
    let bert = root().join(FAMILIES[0].model_dir());
    std::fs::write(dir.join("config.json"), br#"{"model_type":"gpt2","n_embd":32}"#).unwrap();
    std::fs::copy(bert.join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    std::fs::copy(bert.join("model.safetensors"), dir.join("model.safetensors")).unwrap();
    let o = export(&["--model", dir.to_str().unwrap(), "--text", "hi", "--out", dir.join("x.json").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("gpt2") && err.contains("bert, distilbert, roberta, albert"), "{err}");
    // A folder with PyTorch weights where model.safetensors should be.
    std::fs::copy(bert.join("config.json"), dir.join("config.json")).unwrap();
    std::fs::write(dir.join("model.safetensors"), b"PK\x03\x04archive/data.pkl and more bytes").unwrap();
    let o = export(&["--model", dir.to_str().unwrap(), "--text", "hi", "--out", dir.join("x.json").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("pytorch_model.bin") && err.contains("safe_serialization=True"), "{err}");
}

/// `<case>.analysis.json`'s arrays (by name) and the parsed JSON itself.
fn analysis(case: &str) -> (serde_json::Value, HashMap<String, Vec<f32>>) {
    let dir = root().join("tests/golden/fixtures");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(format!("{case}.analysis.json"))).unwrap()).unwrap();
    let mut raw = Vec::new();
    let gz = std::fs::read(dir.join(doc["values_file"].as_str().unwrap())).unwrap();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
    let n = raw.len() / 4;
    let all: Vec<f32> = (0..n)
        .map(|i| u32::from_le_bytes([raw[i], raw[n + i], raw[2 * n + i], raw[3 * n + i]]) as f32 / (1u32 << 24) as f32)
        .collect();
    let mut arrays = HashMap::new();
    for e in doc["arrays"].as_array().unwrap() {
        let len: usize = e["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).product();
        let off = e["offset"].as_u64().unwrap() as usize;
        arrays.insert(e["name"].as_str().unwrap().to_string(), all[off..off + len].to_vec());
    }
    (doc, arrays)
}

fn worst(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len(), "length");
    ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) })
}

#[test]
fn aggregate_rollout_npy_matches_numpy() {
    let g = golden("bank");
    let (_, want) = analysis("bank");
    let out = tmp("bank-rollout.npy");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--aggregate", "rollout", "--format", "npy",
        "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, values) = read_npy(&out);
    let side = out.with_extension("tokens.json");
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    let _ = (std::fs::remove_file(&out), std::fs::remove_file(&side));
    let [l, h, n, _] = g.shape;
    assert!(header.contains(&format!("'shape': ({l}, {n}, {n})")), "{header}");
    let w = worst(&values, &want["rollout_mean"]);
    assert!(w <= 1e-5, "rollout .npy off NumPy by {w}");
    assert_eq!(meta["tokens"], serde_json::json!(g.tokens));
    assert_eq!(meta["aggregate"], "rollout");
    assert_eq!(meta["fusion"], "mean");
    assert_eq!(meta["heads"], serde_json::json!((0..h).collect::<Vec<_>>()));
    assert_eq!(meta["shape"], serde_json::json!([l, n, n]));
    assert!(meta.get("values").is_none() && meta.get("layer").is_none(), "{meta}");
    println!("rollout .npy: max |ours - NumPy| = {w:.1e}");
}

#[test]
fn aggregate_head_mean_json_with_chosen_heads_matches_numpy() {
    let g = golden("bank");
    let (_, want) = analysis("bank");
    let out = tmp("bank-fusion.json");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--aggregate", "head-mean", "--heads", "5, 0,2",
        "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    let [l, _, n, _] = g.shape;
    assert_eq!(doc["shape"], serde_json::json!([l, n, n]));
    assert_eq!((doc["aggregate"].as_str(), doc["fusion"].as_str()), (Some("head-mean"), Some("mean")));
    assert_eq!(doc["heads"], serde_json::json!([0, 2, 5]));
    assert_eq!(doc["tokens"], serde_json::json!(g.tokens));
    let mut values = Vec::new();
    flatten(&doc["values"], &[l, n, n], &mut values);
    let w = worst(&values, &want["fusion_mean_h025"]);
    assert!(w <= 1e-5, "head-mean of heads 0, 2, 5 off NumPy by {w}");
    // Max fusion of all heads.
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--aggregate", "head-mean", "--fusion", "max",
        "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(doc["fusion"], "max");
    let mut values = Vec::new();
    flatten(&doc["values"], &[l, n, n], &mut values);
    let w = worst(&values, &want["fusion_max"]);
    assert!(w <= 1e-5, "max fusion off NumPy by {w}");
}

#[test]
fn aggregate_flow_json_matches_networkx() {
    let g = golden("bank");
    let (_, want) = analysis("bank");
    let out = tmp("bank-flow.json");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--aggregate", "flow", "--layer", "2",
        "--format", "json", "--out", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    let n = g.shape[2];
    assert_eq!(doc["shape"], serde_json::json!([n, n]));
    assert_eq!((doc["aggregate"].as_str(), doc["layer"].as_u64()), (Some("flow"), Some(2)));
    let mut values = Vec::new();
    flatten(&doc["values"], &[n, n], &mut values);
    let w = worst(&values, &want["flow_upto2"]);
    assert!(w <= 1e-4, "flow off networkx by {w}");
}

#[test]
fn stats_json_matches_numpy_without_out() {
    let g = golden("pair");
    let (fixture, _) = analysis("pair");
    let out = tmp("pair-stats.json");
    let model = model_dir();
    let o = export(&[
        "--model", model.to_str().unwrap(), "--text", &g.text, "--pair", g.pair.as_deref().unwrap(), "--stats",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    let [l, h, n, _] = g.shape;
    assert_eq!(doc["shape"], serde_json::json!([l, h, n, n]));
    assert_eq!(doc["tokens"], serde_json::json!(g.tokens));
    assert_eq!(doc["kinds"], fixture["kinds"]);
    let names: Vec<&str> = doc["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["previous-token", "next-token", "self", "sep-sink", "cls-sink", "punctuation", "broad", "none"]);
    assert!(doc["roles"].as_array().unwrap().iter().all(|r| r["rule"].as_str().is_some_and(|t| t.len() > 20)));
    let layers = doc["layers"].as_array().unwrap();
    assert_eq!(layers.len(), l);
    let fields = ["entropy_bits", "entropy_norm", "distance", "to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next"];
    let mut w = 0.0f64;
    for (li, layer) in layers.iter().enumerate() {
        assert_eq!(layer["layer"].as_u64(), Some(li as u64));
        let heads = layer["heads"].as_array().unwrap();
        assert_eq!(heads.len(), h);
        for (hi, head) in heads.iter().enumerate() {
            assert_eq!(head["head"].as_u64(), Some(hi as u64));
            let k = li * h + hi;
            assert_eq!(head["role"], fixture["roles"][k], "layer {li} head {hi}");
            for f in fields {
                let (ours, theirs) = (head[f].as_f64().unwrap(), fixture["stats"][k][f].as_f64().unwrap());
                let d = (ours - theirs).abs();
                assert!(d <= 1e-5 * theirs.abs().max(1.0), "layer {li} head {hi} {f}: {ours} vs NumPy {theirs}");
                w = w.max(d);
            }
        }
    }
    println!("--stats: max |ours - NumPy| = {w:.1e}");
}

/// Runs the exporter, expecting exit code 2 and `needle` in its message.
fn fails_with(args: &[&str], needle: &str) {
    let o = export(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn bad_aggregate_arguments_fail_with_a_message_and_exit_code_2() {
    let base = ["--model", "x", "--text", "hi", "--out", "x.json"];
    let with = |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    fails_with(&with(&["--aggregate", "sum"]), "--aggregate must be head-mean, rollout or flow, not sum");
    fails_with(&with(&["--aggregate", "rollout", "--fusion", "avg"]), "--fusion must be mean, max or min, not avg");
    fails_with(&with(&["--aggregate", "rollout", "--heads", "1,x"]), "--heads must be head numbers");
    fails_with(&with(&["--aggregate", "rollout", "--heads", ""]), "--heads must be head numbers");
    fails_with(&with(&["--aggregate", "rollout", "--heads", "-1"]), "--heads must be head numbers");
    fails_with(&with(&["--aggregate", "flow", "--layer", "last"]), "--layer must be a layer number");
    fails_with(&with(&["--aggregate", "rollout", "--layer", "2"]), "--layer only applies to --aggregate flow");
    fails_with(&with(&["--fusion", "max"]), "--fusion and --heads need --aggregate");
    fails_with(&with(&["--heads", "0"]), "--fusion and --heads need --aggregate");
    fails_with(&with(&["--aggregate", "rollout", "--qk"]), "cannot be combined with --aggregate");
    fails_with(&with(&["--aggregate"]), "--aggregate needs a value");
    fails_with(&["--model", "x", "--text", "hi", "--aggregate", "rollout"], "--out is required");
    fails_with(&["--model", "x", "--text", "hi"], "--out is required");

    // Checks that need the model's shape.
    let model = model_dir();
    let m = model.to_str().unwrap();
    let out = tmp("never.json");
    let o = out.to_str().unwrap();
    fails_with(
        &["--model", m, "--text", "hi", "--aggregate", "rollout", "--heads", "0,12", "--out", o],
        "--heads: head 12 does not exist: this model has 12 heads per layer, 0 to 11",
    );
    fails_with(
        &["--model", m, "--text", "hi", "--aggregate", "flow", "--layer", "6", "--out", o],
        "--layer 6 does not exist: this model has 6 layers, 0 to 5",
    );
    let long = golden("long");
    fails_with(&["--model", m, "--text", &long.text, "--aggregate", "flow", "--out", o], "would take too long");
    assert!(!out.exists(), "nothing written on a bad invocation");
}

// ---- Pictures (--format svg|png) and batches (--text-file) ----

use resvg::tiny_skia::Pixmap;
use resvg::usvg::roxmltree;

/// A fresh directory for one test's outputs.
fn tmp_dir(name: &str) -> PathBuf {
    let dir = tmp(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_ok(args: &[&str]) {
    let o = export(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The decoded text of every `<text>` element, and the `<title>`.
fn svg_texts(svg: &str) -> (Vec<String>, String) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}"));
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    let texts = root.descendants().filter(|n| n.has_tag_name("text")).map(|n| n.text().unwrap_or("").to_string()).collect();
    let title = root.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or("").to_string();
    (texts, title)
}

/// The SVG's `width` and `height` in CSS pixels.
fn svg_size(svg: &str) -> (f64, f64) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let r = doc.root_element();
    (r.attribute("width").unwrap().parse().unwrap(), r.attribute("height").unwrap().parse().unwrap())
}

/// The PNG signature and the IHDR's width and height.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |k: usize| u32::from_be_bytes([bytes[k], bytes[k + 1], bytes[k + 2], bytes[k + 3]]);
    (be(16), be(20))
}

/// Where the heatmap puts cell (0, 0) and the cell side, in CSS pixels: the cells' group's
/// `translate(x y) scale(c)` inside its parents' translations.
fn heatmap_grid(svg: &str) -> (f64, f64, f64) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let cells = doc.descendants().find(|n| n.attribute("shape-rendering") == Some("crispEdges")).unwrap();
    let (mut x, mut y, mut cell) = (0.0, 0.0, 1.0);
    for g in cells.ancestors().filter(|n| n.has_tag_name("g")) {
        let Some(t) = g.attribute("transform") else { continue };
        let nums = |f: &str| -> Vec<f64> {
            t.split(f).nth(1).map_or(vec![], |r| r.split(')').next().unwrap().split([' ', ',']).filter(|s| !s.is_empty()).map(|v| v.parse().unwrap()).collect())
        };
        if let [dx, dy] = nums("translate(")[..] {
            (x, y) = (x + dx, y + dy);
        }
        if let [c] = nums("scale(")[..] {
            cell = c;
        }
    }
    (x, y, cell)
}

#[test]
fn svg_heatmap_has_the_title_and_the_escaped_labels() {
    let dir = tmp_dir("svg");
    let model = model_dir();
    let m = model.to_str().unwrap();
    let out = dir.join("h.svg");
    let o = out.to_str().unwrap();
    run_ok(&["--model", m, "--text", "Unbelievably, <the> bank & \"money\".", "--format", "svg", "--layer", "2", "--head", "3", "--out", o]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let (texts, title) = svg_texts(&svg);
    assert_eq!(title, "sentence-transformers/all-MiniLM-L6-v2 · layer 2 · head 3");
    assert!(texts.contains(&title), "the title line");
    // Every token labels its row and its column (the tokenizer's pieces), then 5 ticks.
    let tokens = ["[CLS]", "un", "##bel", "##ie", "##va", "##bly", ",", "<", "the", ">", "bank", "&", "\"", "money", "\"", ".", "[SEP]"];
    let labels: Vec<&str> = texts[1..1 + 2 * tokens.len()].chunks(2).map(|p| { assert_eq!(p[0], p[1]); p[0].as_str() }).collect();
    assert_eq!(labels, tokens);
    for escaped in [">&lt;<", ">&gt;<", ">&amp;<", ">&quot;<"] {
        assert!(svg.contains(escaped), "{escaped}");
    }
    // The page's options: specials hidden, word pieces merged, dark; the title says so.
    run_ok(&[
        "--model", m, "--text", "Unbelievably, <the> bank & \"money\".", "--format", "svg", "--hide-specials", "--merge-words",
        "--theme", "dark", "--out", o,
    ]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let (texts, title) = svg_texts(&svg);
    assert!(title.ends_with("layer 0 · head 0 · special tokens hidden · word pieces merged"), "{title}");
    assert!(texts.iter().any(|t| t == "unbelievably"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("##") || t == "[CLS]" || t == "[SEP]"), "{texts:?}");
    assert!(svg.contains("fill=\"#161b22\""), "the dark background");
    // The head view and the model view.
    run_ok(&["--model", m, "--text", "The bank.", "--pair", "A river.", "--format", "svg", "--view", "head", "--heads", "0,3", "--out", o]);
    let (texts, title) = svg_texts(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(title, "sentence-transformers/all-MiniLM-L6-v2 · layer 0 · heads 0, 3");
    assert!(texts.contains(&"H3".to_string()) && !texts.contains(&"H1".to_string()), "{texts:?}");
    assert!(texts.contains(&"river".to_string()));
    run_ok(&["--model", m, "--text", "The bank.", "--format", "svg", "--view", "model", "--out", o]);
    let svg = std::fs::read_to_string(&out).unwrap();
    let (_, title) = svg_texts(&svg);
    assert_eq!(title, "sentence-transformers/all-MiniLM-L6-v2 · all layers and heads");
    assert_eq!(svg.matches("class=\"thumb\"").count(), 6 * 12);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn png_heatmap_is_the_svg_at_scale_with_viridis_cells() {
    let g = golden("bank");
    let dir = tmp_dir("png");
    let model = model_dir();
    let m = model.to_str().unwrap();
    let (svg_path, png_path) = (dir.join("h.svg"), dir.join("h.png"));
    let args = |format: &'static str, out: &PathBuf| -> Vec<String> {
        ["--model", m, "--text", &g.text, "--format", format, "--layer", "1", "--head", "4", "--width", "700", "--out", out.to_str().unwrap()]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let svg_args = args("svg", &svg_path);
    run_ok(&svg_args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut png_args = args("png", &png_path);
    png_args.extend(["--scale".into(), "2".into()]);
    run_ok(&png_args.iter().map(String::as_str).collect::<Vec<_>>());
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let bytes = std::fs::read(&png_path).unwrap();
    let (w, h) = svg_size(&svg);
    assert!(w <= 700.0);
    assert_eq!(png_size(&bytes), ((w * 2.0).ceil() as u32, (h * 2.0).ceil() as u32));

    let pix = Pixmap::decode_png(&bytes).unwrap();
    let at = |x: f64, y: f64| {
        let p = pix.pixel((x * 2.0) as u32, (y * 2.0) as u32).unwrap();
        (p.red(), p.green(), p.blue())
    };
    let colours: std::collections::HashSet<_> = pix.pixels().iter().map(|p| (p.red(), p.green(), p.blue())).collect();
    let white = pix.pixels().iter().filter(|p| (p.red(), p.green(), p.blue()) == (255, 255, 255)).count();
    assert!(colours.len() > 100, "{} colours", colours.len());
    assert!(white < pix.pixels().len() * 3 / 4, "mostly background: {white} of {}", pix.pixels().len());

    // The head's strongest weight (PyTorch's numbers) is drawn in the top colour of viridis
    // (#fde725), its weakest in the bottom one (#440154).
    let n = g.shape[2];
    let head = &g.attention[(g.shape[1] + 4) * n * n..(g.shape[1] + 5) * n * n];
    let arg = |best: fn(f32, f32) -> bool| (0..n * n).fold(0, |k, j| if best(head[j], head[k]) { j } else { k });
    let (x0, y0, cell) = heatmap_grid(&svg);
    let centre = |k: usize| (x0 + (k % n) as f64 * cell + cell / 2.0, y0 + (k / n) as f64 * cell + cell / 2.0);
    let (hx, hy) = centre(arg(|a, b| a > b));
    let (r, gr, b) = at(hx, hy);
    assert!(r > 200 && gr > 200 && b < 100, "strongest cell at ({hx}, {hy}) is ({r}, {gr}, {b}), not viridis yellow");
    let (lx, ly) = centre(arg(|a, b| a < b));
    let (r, gr, b) = at(lx, ly);
    assert!(r < 100 && gr < 60 && b > 60, "weakest cell at ({lx}, {ly}) is ({r}, {gr}, {b}), not viridis purple");

    // A dark head view at scale 1: the dark background, every head's colour.
    let head_view = dir.join("hv.png");
    run_ok(&["--model", m, "--text", &g.text, "--format", "png", "--view", "head", "--theme", "dark", "--out", head_view.to_str().unwrap()]);
    let pix = Pixmap::decode_png(&std::fs::read(&head_view).unwrap()).unwrap();
    let corner = pix.pixel(0, 0).unwrap();
    assert_eq!((corner.red(), corner.green(), corner.blue()), (0x16, 0x1b, 0x22));
    let colours: std::collections::HashSet<_> = pix.pixels().iter().map(|p| (p.red(), p.green(), p.blue())).collect();
    assert!(colours.len() > 500, "{} colours", colours.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_file_writes_one_file_per_input_and_an_index() {
    let (bank, pair) = (golden("bank"), golden("pair"));
    let dir = tmp_dir("batch");
    let corpus = dir.join("corpus.txt");
    let pair_line = format!("{}\t{}", pair.text, pair.pair.as_deref().unwrap());
    std::fs::write(&corpus, format!("{}\n\n   \n{pair_line}\r\n<b> & \"c\"\n", bank.text)).unwrap();
    let model = model_dir();
    let m = model.to_str().unwrap();
    let c = corpus.to_str().unwrap();

    // json: each input's export, as one --text would write it.
    let out = dir.join("json");
    run_ok(&["--model", m, "--text-file", c, "--out", out.to_str().unwrap()]);
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!((index["format"].as_str(), index.get("view")), (Some("json"), None));
    let inputs = index["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!(inputs[0], serde_json::json!({"index": 0, "line": 1, "text": bank.text, "pair": null, "tokens": bank.tokens.len(), "truncated": false, "files": ["000.json"]}));
    assert_eq!((inputs[1]["line"].as_u64(), inputs[1]["text"].as_str()), (Some(4), Some(pair.text.as_str())));
    assert_eq!(inputs[1]["pair"].as_str(), pair.pair.as_deref());
    assert_eq!(inputs[1]["tokens"].as_u64(), Some(pair.tokens.len() as u64));
    assert_eq!(inputs[2]["text"], "<b> & \"c\"");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("001.json")).unwrap()).unwrap();
    assert_eq!(doc["tokens"], serde_json::json!(pair.tokens));
    assert_eq!(doc["token_type_ids"], serde_json::json!(pair.token_type_ids));

    // png, every head of the last layer among heads 0 and 11.
    let out = dir.join("png");
    run_ok(&["--model", m, "--text-file", c, "--format", "png", "--all-heads", "--layer", "5", "--heads", "0,11", "--out", out.to_str().unwrap()]);
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!((index["format"].as_str(), index["view"].as_str()), (Some("png"), Some("heatmap")));
    let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let want = ["000-L5-H0.png", "000-L5-H11.png", "001-L5-H0.png", "001-L5-H11.png", "002-L5-H0.png", "002-L5-H11.png", "index.json"];
    assert_eq!(names, want);
    assert_eq!(index["inputs"][1]["files"], serde_json::json!(["001-L5-H0.png", "001-L5-H11.png"]));
    for name in &want[..6] {
        let (w, h) = png_size(&std::fs::read(out.join(name)).unwrap());
        assert!(w > 100 && h > 100, "{name}: {w} × {h}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_picture_and_batch_arguments_fail_with_a_message_and_exit_code_2() {
    let dir = tmp_dir("bad");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n  \n\r\n").unwrap();
    let out = dir.join("never.png");
    let o = out.to_str().unwrap();
    let base = ["--model", "x", "--text", "hi", "--out", o];
    let with = |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    fails_with(&with(&["--format", "gif"]), "--format must be json, npy, svg or png, not gif");
    fails_with(&with(&["--format", "svg", "--view", "graph"]), "--view must be heatmap, head or model, not graph");
    fails_with(&with(&["--format", "svg", "--theme", "blue"]), "--theme must be light or dark, not blue");
    fails_with(&with(&["--format", "png", "--scale", "3"]), "--scale must be 1, 2 or 4, not 3");
    fails_with(&with(&["--format", "svg", "--scale", "2"]), "--scale applies to --format png only");
    fails_with(&with(&["--format", "svg", "--head", "first"]), "--head must be a head number or mean");
    fails_with(&with(&["--format", "svg", "--width", "0"]), "--width must be a width in CSS pixels from 100 to 10000");
    fails_with(&with(&["--theme", "dark"]), "--theme is for pictures: it needs --format svg or png");
    fails_with(&with(&["--format", "svg", "--qk"]), "cannot be combined with --format svg or png");
    fails_with(&with(&["--format", "svg", "--view", "model", "--all-heads"]), "--all-heads does not apply to --view model");
    fails_with(&with(&["--format", "svg", "--view", "head", "--head", "1"]), "the head view takes --heads");
    fails_with(&with(&["--format", "svg", "--view", "head", "--aggregate", "rollout"]), "--aggregate draws its matrix as --view heatmap");
    fails_with(&with(&["--format", "svg", "--heads", "1"]), "--heads needs --view head, --head mean, --all-heads or --aggregate");
    fails_with(&with(&["--text-file", "t.txt"]), "--text and --text-file cannot be combined");
    fails_with(&["--model", "x", "--text-file", "t.txt", "--pair", "b", "--out", o], "write each pair on its line as A<TAB>B");
    fails_with(&["--model", "x", "--text-file", "t.txt", "--stats", "s.json", "--out", o], "cannot be combined with --text-file");
    fails_with(&["--model", "x", "--text", "hi", "--format", "png"], "--out is required");
    let missing = dir.join("missing.txt");
    fails_with(&["--model", "x", "--text-file", missing.to_str().unwrap(), "--out", o], &format!("--text-file {}: ", missing.display()));
    fails_with(&["--model", "x", "--text-file", empty.to_str().unwrap(), "--out", o], "no inputs (every line is empty)");

    // Checks that need the model's shape.
    let model = model_dir();
    let m = model.to_str().unwrap();
    fails_with(&["--model", m, "--text", "hi", "--format", "png", "--head", "12", "--out", o], "--head 12 does not exist: this model has 12 heads per layer, 0 to 11");
    fails_with(&["--model", m, "--text", "hi", "--format", "svg", "--view", "head", "--layer", "6", "--out", o], "--layer 6 does not exist: this model has 6 layers, 0 to 5");
    assert!(!out.exists(), "nothing written on a bad invocation");
    let _ = std::fs::remove_dir_all(&dir);
}

/// PNG render times on this machine (not a check): a 128-token heatmap and a 12-head head view.
/// `cargo test --test export_cli png_render_times -- --ignored --nocapture`
#[test]
#[ignore]
fn png_render_times() {
    use attention_viz::analysis::{units, ViewOptions};
    use attention_viz::viz::png::Rasterizer;
    use attention_viz::viz::svg::{head_view_svg, heatmap_svg, SvgOptions};
    use std::time::Instant;
    let dir = model_dir();
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let engine = attention_viz::model::Engine::from_bytes(&read("config.json"), &read("tokenizer.json"), &read("model.safetensors")).unwrap();
    // The long fixture's first words, as many as make 128 tokens or just under.
    let long = golden("long");
    let words: Vec<&str> = long.text.split_whitespace().collect();
    let text = (1..=words.len())
        .map(|k| words[..k].join(" "))
        .take_while(|t| engine.encode(t, None).unwrap().tokens.len() <= 128)
        .last()
        .unwrap();
    let run = engine.run(&text, None).unwrap();
    let n = run.attention.shape().seq;
    let tokens = run.encoded.tokens.clone();
    let labels: Vec<String> = units(&tokens, ViewOptions::default()).into_iter().map(|u| u.label).collect();
    let heads = run.attention.shape().heads;
    let t = Instant::now();
    let r = Rasterizer::new();
    println!("font load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let heat = heatmap_svg(run.attention.head(0, 0).unwrap(), n, &labels, &SvgOptions::default()).unwrap();
    let layer = &run.attention.data()[..heads * n * n];
    let all: Vec<usize> = (0..heads).collect();
    let hv = head_view_svg(layer, heads, n, &labels, &all, &SvgOptions::default()).unwrap();
    for (name, svg) in [("heatmap", &heat), ("head view", &hv)] {
        for scale in [1, 2] {
            let t = Instant::now();
            let reps = 5;
            let mut size = 0;
            for _ in 0..reps {
                size = r.png(svg, scale).unwrap().len();
            }
            let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
            println!("{name}, {n} tokens, scale {scale}: {ms:.1} ms per PNG ({} KB; SVG {} KB)", size / 1024, svg.len() / 1024);
        }
    }
}
