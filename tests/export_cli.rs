//! `attention-export`, run as a user runs it: JSON and .npy files checked against PyTorch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Golden, WEIGHT_TOL};

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
