//! `attention-export`, run as a user runs it: JSON and .npy files checked against PyTorch, and
//! `--aggregate` / `--stats` checked against NumPy (`tests/golden/make_analysis.py`).
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
