//! The engine against Hugging Face transformers (PyTorch) on all-MiniLM-L6-v2: token ids,
//! offsets, every attention weight and every per-head query and key of six inputs. Then the
//! same for one small checkpoint per family (BERT, DistilBERT, RoBERTa, ALBERT, ALBERT with
//! layer groups) built by `tests/golden/make_families.py`, in every naming and dtype.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use attention_viz::model::{canonical_name, Checkpoint, Engine, Error, Family};
use candle_core::{DType, Device, Tensor};
use common::{check_all_qk, check_case, check_qk, check_run, FamilyModel, Golden, GoldenQk, CASES, FAMILIES};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    std::env::var_os("AV_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
        root().join("models/sentence-transformers/all-MiniLM-L6-v2/resolve/main")
    })
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (run scripts/fetch-model.sh, or `make test`, to fetch the test model)", path.display())
    })
}

struct Files {
    config: Vec<u8>,
    tokenizer: Vec<u8>,
    weights: Vec<u8>,
}

fn files() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| {
        let d = model_dir();
        Files {
            config: read(d.join("config.json")),
            tokenizer: read(d.join("tokenizer.json")),
            weights: read(d.join("model.safetensors")),
        }
    })
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let f = files();
        Engine::from_bytes(&f.config, &f.tokenizer, &f.weights).expect("MiniLM loads")
    })
}

fn golden(name: &str) -> Golden {
    let dir = root().join("tests/golden/fixtures");
    let json = read(dir.join(format!("{name}.json")));
    let g: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let gz = read(dir.join(g["attention_file"].as_str().unwrap()));
    Golden::parse(&json, &gz)
}

fn golden_qk(g: &Golden) -> GoldenQk {
    GoldenQk::parse(g, &read(root().join("tests/golden/fixtures").join(&g.qk_file)))
}

#[test]
fn all_six_inputs_match_pytorch_to_1e5() {
    for name in CASES {
        let g = golden(name);
        let run = engine().run(&g.text, g.pair.as_deref()).unwrap();
        let worst = check_run(&g, &run);
        println!("{name:>10}: {:>3} tokens, max |ours - PyTorch| = {worst:.2e}", g.input_ids.len());
    }
}

#[test]
fn queries_and_keys_match_pytorch_layer_by_layer_and_in_one_pass() {
    let e = engine();
    for name in CASES {
        let g = golden(name);
        let gqk = golden_qk(&g);
        let encoded = e.encode(&g.text, g.pair.as_deref()).unwrap();
        let (run, all) = e.run_with_qk(&g.text, g.pair.as_deref()).unwrap();
        // One pass: the attention is exactly what `run` gives, and it still matches PyTorch.
        assert_eq!(run.attention, e.run(&g.text, g.pair.as_deref()).unwrap().attention, "{name}: run_with_qk vs run");
        check_run(&g, &run);
        let (wq, wk) = check_all_qk(&g, &gqk, &all);
        // Layer by layer, stopping early: the same numbers as the full pass.
        for (layer, full) in all.iter().enumerate() {
            let one = e.queries_keys(&encoded, layer).unwrap();
            check_qk(&g, &gqk, layer, &one);
            assert_eq!(&one, full, "{name}: queries_keys({layer}) vs run_with_qk");
            assert_eq!(one.query(0, 0), Some(&one.q[..one.head_dim]));
            assert_eq!(one.key(one.heads - 1, one.seq - 1), Some(&one.k[one.k.len() - one.head_dim..]));
            assert_eq!((one.query(one.heads, 0), one.key(0, one.seq)), (None, None));
        }
        println!("{name:>10}: {:>3} tokens, max |ours - PyTorch| q = {wq:.2e}, k = {wk:.2e}", g.input_ids.len());
    }
}

#[test]
fn queries_keys_rejects_bad_layers_and_inputs_with_messages() {
    let e = engine();
    let encoded = e.encode("He went to the bank.", None).unwrap();
    let layers = e.config().num_hidden_layers;
    for layer in [layers, layers + 1, usize::MAX] {
        let m = e.queries_keys(&encoded, layer).expect_err("out of range").to_string();
        assert!(m.contains(&format!("layer {layer}")) && m.contains(&format!("{layers} layer")), "{m}");
    }
    // An input longer than the position table (`encode` never makes one; a caller could).
    let mut long = e.encode(&"word ".repeat(700), None).unwrap();
    let extra = long.tokens[1..100].to_vec();
    long.tokens.extend(extra);
    let m = e.queries_keys(&long, 0).expect_err("too long").to_string();
    assert!(m.contains("512 positions"), "{m}");
    // Ids the vocabulary does not have.
    let mut bad = encoded.clone();
    bad.tokens[1].id = 1_000_000;
    let m = e.queries_keys(&bad, 0).expect_err("bad id").to_string();
    assert!(m.contains("vocabulary"), "{m}");
}

/// Re-saves MiniLM's weights with a mapping of names, values converted to `dtype`.
fn resaved(rename: impl Fn(&str) -> String, dtype: DType, extra: &[(&str, Tensor)]) -> Vec<u8> {
    let tensors = candle_core::safetensors::load_buffer(&files().weights, &Device::Cpu).unwrap();
    let mut out: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(k, v)| (rename(&k), v.to_dtype(dtype).unwrap()))
        .collect();
    for (k, v) in extra {
        out.insert(k.to_string(), v.clone());
    }
    let path = std::env::temp_dir().join(format!("av-resaved-{}-{dtype:?}.safetensors", std::process::id()));
    candle_core::safetensors::save(&out, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

#[test]
fn bert_base_uncased_naming_loads_to_the_same_numbers() {
    // The Hub's bert-base-uncased: `bert.` prefix, LayerNorm gamma/beta, masked-LM head tensors,
    // and an integer position_ids buffer.
    let hub_name = |k: &str| {
        let k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
        format!("bert.{k}")
    };
    let dev = Device::Cpu;
    let extra = [
        ("cls.predictions.bias", Tensor::zeros(30522, DType::F32, &dev).unwrap()),
        ("cls.predictions.transform.LayerNorm.gamma", Tensor::ones(384, DType::F32, &dev).unwrap()),
        ("bert.embeddings.position_ids", Tensor::arange(0i64, 512, &dev).unwrap().unsqueeze(0).unwrap()),
    ];
    let weights = resaved(hub_name, DType::F32, &extra);
    assert!(canonical_name(Family::Bert, "bert.embeddings.LayerNorm.gamma").is_some());
    let f = files();
    let renamed = Engine::from_bytes(&f.config, &f.tokenizer, &weights).unwrap();
    for name in ["bank", "pair"] {
        let g = golden(name);
        let a = renamed.run(&g.text, g.pair.as_deref()).unwrap();
        let b = engine().run(&g.text, g.pair.as_deref()).unwrap();
        assert_eq!(a.attention, b.attention, "{name}: renamed checkpoint gives other numbers");
        check_run(&g, &a);
    }
}

#[test]
fn half_precision_checkpoints_load_and_compute_in_f32() {
    let g = golden("bank");
    let f = files();
    for (dtype, tol) in [(DType::F16, 5e-3f32), (DType::BF16, 3e-2)] {
        let weights = resaved(|k| k.to_string(), dtype, &[]);
        assert!(weights.len() < f.weights.len() * 6 / 10, "{dtype:?} file is half the size");
        let e = Engine::from_bytes(&f.config, &f.tokenizer, &weights).unwrap();
        let run = e.run(&g.text, None).unwrap();
        let worst = run
            .attention
            .data()
            .iter()
            .zip(&g.attention)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst > 0.0 && worst < tol, "{dtype:?}: max diff {worst}");
        println!("{dtype:?} weights: max |ours - PyTorch f32| = {worst:.2e}");
    }
}

#[test]
fn broken_inputs_are_errors_with_readable_messages() {
    let f = files();
    let err = |r: Result<Engine, attention_viz::model::Error>| r.err().expect("should fail").to_string();
    let m = err(Engine::from_bytes(b"{", &f.tokenizer, &f.weights));
    assert!(m.contains("config.json"), "{m}");
    let m = err(Engine::from_bytes(&f.config, b"<html>404</html>", &f.weights));
    assert!(m.contains("tokenizer.json"), "{m}");
    let m = err(Engine::from_bytes(&f.config, &f.tokenizer, &f.weights[..f.weights.len() / 2]));
    assert!(m.contains("model.safetensors"), "{m}");
    // A config that does not match the weights names the tensor that disagrees.
    let big = String::from_utf8(f.config.clone()).unwrap().replace("\"hidden_size\": 384", "\"hidden_size\": 768");
    let m = err(Engine::from_bytes(big.as_bytes(), &f.tokenizer, &f.weights));
    assert!(m.contains("shape"), "{m}");
    // Weights without the encoder's tensors.
    let dropped = resaved(|k| k.replace("encoder.layer.5", "decoder.layer.5"), DType::F32, &[]);
    let m = err(Engine::from_bytes(&f.config, &f.tokenizer, &dropped));
    assert!(m.contains("encoder.layer.5"), "{m}");
}

#[test]
fn long_text_is_truncated_at_the_position_limit_and_flagged() {
    let text = "word ".repeat(700);
    let run = engine().run(&text, None).unwrap();
    assert!(run.encoded.truncated);
    assert_eq!(run.attention.shape().seq, 512);
    // 700 one-token words, 510 kept beside [CLS] and [SEP].
    assert_eq!(run.encoded.dropped, 190);
    let run = engine().run("short", Some(&"pair ".repeat(600))).unwrap();
    assert!(run.encoded.truncated);
    assert_eq!(run.attention.shape().seq, 512);
    // 1 + 600 tokens, 509 kept beside [CLS] and two [SEP].
    assert_eq!(run.encoded.dropped, 92);
    assert_eq!(engine().run("short", None).unwrap().encoded.dropped, 0);
}

#[test]
fn empty_and_odd_text_runs_without_panicking() {
    for text in ["", " ", "\u{0}", "\u{200b}\u{feff}", "[SEP] [CLS] [MASK]", "🙂", &"x".repeat(5000)] {
        let run = engine().run(text, None).unwrap();
        assert!(run.attention.shape().seq >= 2, "{text:?}");
    }
}

// ---- The families: small checkpoints built by transformers itself (make_families.py). ----

fn family(dir: &str) -> &'static FamilyModel {
    FAMILIES.iter().find(|f| f.dir == dir).unwrap()
}

fn family_files(f: &FamilyModel) -> Files {
    let d = root().join(f.model_dir());
    Files {
        config: read(d.join("config.json")),
        tokenizer: read(d.join("tokenizer.json")),
        weights: read(d.join("model.safetensors")),
    }
}

fn family_golden(f: &FamilyModel, case: &str) -> (Golden, GoldenQk) {
    let json = read(root().join(f.fixture(&format!("{case}.json"))));
    let g = Golden::parse(&json, &read(root().join(f.fixture(&format!("{case}.attn.gz")))));
    let gqk = GoldenQk::parse(&g, &read(root().join(f.fixture(&g.qk_file))));
    (g, gqk)
}

/// Loads the family's checkpoint and checks every case through every entry point.
fn family_matches_pytorch(dir: &str) {
    let f = family(dir);
    let files = family_files(f);
    let e = Engine::from_bytes(&files.config, &files.tokenizer, &files.weights).unwrap();
    f.check_engine(&e);
    for case in f.cases {
        let (g, gqk) = family_golden(f, case);
        let (w, wq, wk) = check_case(&e, &g, &gqk);
        println!(
            "{dir:>13}/{case:<10} {:>3} tokens, max |ours - PyTorch| = {w:.2e}, q = {wq:.2e}, k = {wk:.2e}",
            g.input_ids.len()
        );
    }
}

#[test]
fn bert_family_matches_pytorch_to_1e5() {
    family_matches_pytorch("bert");
}

#[test]
fn distilbert_matches_pytorch_to_1e5() {
    family_matches_pytorch("distilbert");
}

#[test]
fn roberta_matches_pytorch_to_1e5() {
    family_matches_pytorch("roberta");
}

#[test]
fn albert_matches_pytorch_to_1e5() {
    family_matches_pytorch("albert");
}

#[test]
fn albert_with_layer_groups_matches_pytorch_to_1e5() {
    family_matches_pytorch("albert_groups");
}

/// Labels read as the text typed (BertViz's `prettify_tokens`): byte-level BPE shows the covered
/// text instead of `ĠrÃ©`, SentencePiece drops `▁`, a space-only token shows as `␣`.
#[test]
fn token_labels_read_as_typed_in_every_family() {
    for dir in ["roberta", "albert", "bert"] {
        let f = family(dir);
        let files = family_files(f);
        let e = Engine::from_bytes(&files.config, &files.tokenizer, &files.weights).unwrap();
        let (g, _) = family_golden(f, "unicode");
        let enc = e.encode(&g.text, g.pair.as_deref()).unwrap();
        for t in enc.tokens.iter().filter(|t| !t.special) {
            assert!(!t.label.is_empty(), "{dir}: empty label for {:?}", t.text);
            if dir != "bert" {
                assert!(!t.label.contains('\u{120}') && !t.label.contains('\u{2581}'), "{dir}: {:?} -> {:?}", t.text, t.label);
            }
            let typed: String = g.text.chars().skip(t.start).take(t.end - t.start).collect();
            if dir == "roberta" && !typed.trim().is_empty() {
                assert_eq!(t.label, typed, "{dir}: {:?}", t.text);
            }
        }
    }
}

/// Tensors a task class (`…ForMaskedLM`, `…ForSequenceClassification`, …) adds beside the
/// encoder: every one must be skipped.
fn heads(f: &FamilyModel, hidden: usize, vocab: usize) -> Vec<(String, Tensor)> {
    let dev = Device::Cpu;
    let v = |n: usize| Tensor::ones(n, DType::F32, &dev).unwrap();
    let m = |r: usize, c: usize| Tensor::ones((r, c), DType::F32, &dev).unwrap();
    let mut out: Vec<(String, Tensor)> = match f.dir {
        "bert" => vec![
            ("cls.predictions.bias".into(), v(vocab)),
            ("cls.predictions.transform.dense.weight".into(), m(hidden, hidden)),
            ("cls.predictions.transform.LayerNorm.gamma".into(), v(hidden)),
            ("cls.seq_relationship.weight".into(), m(2, hidden)),
            ("qa_outputs.weight".into(), m(2, hidden)),
        ],
        "roberta" => vec![
            ("lm_head.dense.weight".into(), m(hidden, hidden)),
            ("lm_head.layer_norm.weight".into(), v(hidden)),
            ("lm_head.bias".into(), v(vocab)),
            ("classifier.dense.weight".into(), m(hidden, hidden)),
            ("classifier.out_proj.weight".into(), m(3, hidden)),
        ],
        "distilbert" => vec![
            ("vocab_transform.weight".into(), m(hidden, hidden)),
            ("vocab_layer_norm.weight".into(), v(hidden)),
            ("vocab_projector.bias".into(), v(vocab)),
            ("pre_classifier.weight".into(), m(hidden, hidden)),
            ("classifier.weight".into(), m(2, hidden)),
        ],
        _ => vec![
            ("predictions.dense.weight".into(), m(hidden, hidden)),
            ("predictions.LayerNorm.weight".into(), v(hidden)),
            ("predictions.bias".into(), v(vocab)),
            ("sop_classifier.classifier.weight".into(), m(2, hidden)),
        ],
    };
    // An integer buffer, as older exports carry.
    out.push(("embeddings.position_ids".into(), Tensor::arange(0i64, 512, &dev).unwrap().unsqueeze(0).unwrap()));
    out
}

/// Re-saves a family checkpoint: names mapped by `rename`, values converted to `dtype`, plus `extra`.
fn resave(weights: &[u8], rename: impl Fn(&str) -> String, dtype: DType, extra: Vec<(String, Tensor)>, tag: &str) -> Vec<u8> {
    let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu).unwrap();
    let mut out: HashMap<String, Tensor> =
        tensors.into_iter().map(|(k, v)| (rename(&k), v.to_dtype(dtype).unwrap())).collect();
    out.extend(extra);
    let path = std::env::temp_dir().join(format!("av-family-{}-{tag}-{dtype:?}.safetensors", std::process::id()));
    candle_core::safetensors::save(&out, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

#[test]
fn family_checkpoints_load_with_prefixes_legacy_names_and_heads_to_the_same_numbers() {
    for f in &FAMILIES {
        let files = family_files(f);
        let bare = Engine::from_bytes(&files.config, &files.tokenizer, &files.weights).unwrap();
        let c = bare.config();
        let fam = c.family;
        // As the task classes save it: `roberta.`-style prefix, TF-era gamma/beta, heads.
        let prefixed = |k: &str| {
            let k = if k.contains("LayerNorm.") || k.contains("layer_norm.") {
                k.replace(".weight", ".gamma").replace(".bias", ".beta")
            } else {
                k.to_string()
            };
            format!("{}{k}", fam.base_prefix())
        };
        let hub = resave(&files.weights, prefixed, DType::F32, heads(f, c.hidden_size, c.vocab_size), f.dir);
        let renamed = Engine::from_bytes(&files.config, &files.tokenizer, &hub).unwrap();
        // Only encoder tensors are kept, the same ones whatever the naming.
        let (ck_bare, ck_hub) =
            (Checkpoint::from_safetensors(&files.weights, fam).unwrap(), Checkpoint::from_safetensors(&hub, fam).unwrap());
        assert_eq!(ck_bare.len(), ck_hub.len(), "{}: tensors kept", f.dir);
        assert!(!ck_hub.contains("pooler.dense.weight") && !ck_hub.contains("embeddings.position_ids"), "{}", f.dir);
        for case in ["bank", "pair"] {
            let (g, _) = family_golden(f, case);
            let a = renamed.run(&g.text, g.pair.as_deref()).unwrap();
            let b = bare.run(&g.text, g.pair.as_deref()).unwrap();
            assert_eq!(a.attention, b.attention, "{}/{case}: the prefixed checkpoint gives other numbers", f.dir);
            check_run(&g, &a);
        }
        println!("{:>13}: {} prefixed, gamma/beta, heads: identical ({} tensors kept)", f.dir, fam.base_prefix(), ck_hub.len());
    }
}

#[test]
fn family_checkpoints_in_f16_and_bf16_load_and_compute_in_f32() {
    for f in &FAMILIES {
        let files = family_files(f);
        let (g, _) = family_golden(f, "pair");
        for (dtype, tol) in [(DType::F16, 5e-3f32), (DType::BF16, 5e-2)] {
            let weights = resave(&files.weights, |k| k.to_string(), dtype, Vec::new(), f.dir);
            assert!(weights.len() < files.weights.len() * 6 / 10, "{dtype:?} file is half the size");
            let e = Engine::from_bytes(&files.config, &files.tokenizer, &weights).unwrap();
            let run = e.run(&g.text, g.pair.as_deref()).unwrap();
            let worst = run.attention.data().iter().zip(&g.attention).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst > 0.0 && worst < tol, "{}: {dtype:?}: max diff {worst}", f.dir);
            println!("{:>13}: {dtype:?} weights: max |ours - PyTorch f32| = {worst:.2e}", f.dir);
        }
    }
}

#[test]
fn broken_family_configs_are_readable_errors() {
    let err = |f: &Files, config: &str| -> Error {
        Engine::from_bytes(config.as_bytes(), &f.tokenizer, &f.weights).err().expect("should fail")
    };
    let text = |f: &Files| String::from_utf8(f.config.clone()).unwrap();
    let roberta = family_files(family("roberta"));
    let distil = family_files(family("distilbert"));
    let albert = family_files(family("albert"));
    let bert = family_files(family("bert"));

    // Unsupported families name themselves and what is supported.
    for t in ["gpt2", "deberta-v2", "t5"] {
        let e = err(&roberta, &text(&roberta).replace("\"roberta\"", &format!("\"{t}\"")));
        assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
        let m = e.to_string();
        assert!(m.contains(t) && m.contains("bert, distilbert, roberta, albert"), "{m}");
    }
    // Heads that do not divide the hidden size, absurd depth, a vocabulary the weights lack.
    let m = err(&distil, &text(&distil).replace("\"n_heads\": 3", "\"n_heads\": 5")).to_string();
    assert!(m.contains("not divisible"), "{m}");
    let m = err(&albert, &text(&albert).replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 1000000000")).to_string();
    assert!(m.contains("at most 256"), "{m}");
    let m = err(&roberta, &text(&roberta).replace("\"vocab_size\": 1000", "\"vocab_size\": 999")).to_string();
    assert!(m.contains("embeddings.word_embeddings.weight") && m.contains("shape"), "{m}");
    let m = err(&albert, &text(&albert).replace("\"embedding_size\": 16", "\"embedding_size\": 32")).to_string();
    assert!(m.contains("shape"), "{m}");
    // A family's config over another family's weights names the tensor it misses.
    let m = Engine::from_bytes(&distil.config, &distil.tokenizer, &bert.weights).err().unwrap().to_string();
    assert!(m.contains("transformer.layer.0") || m.contains("shape"), "{m}");
    let m = Engine::from_bytes(&albert.config, &albert.tokenizer, &bert.weights).err().unwrap().to_string();
    assert!(m.contains("albert_layer_groups") || m.contains("embedding_hidden_mapping_in") || m.contains("shape"), "{m}");
    // PyTorch's format is refused with the way to convert it.
    let mut pickle = b"PK\x03\x04".to_vec();
    pickle.extend_from_slice(&bert.weights[..1000]);
    let e = Engine::from_bytes(&bert.config, &bert.tokenizer, &pickle).err().unwrap();
    assert!(matches!(e, Error::NeedsSafetensors(_)), "{e:?}");
    assert!(e.to_string().contains("safe_serialization=True"), "{e}");
}

#[test]
fn roberta_takes_512_tokens_from_its_514_positions_and_distilbert_takes_pairs() {
    let r = family_files(family("roberta"));
    let e = Engine::from_bytes(&r.config, &r.tokenizer, &r.weights).unwrap();
    assert_eq!((e.config().max_position_embeddings, e.max_tokens()), (514, 512));
    let run = e.run(&"money ".repeat(700), None).unwrap();
    assert!(run.encoded.truncated);
    assert_eq!(run.attention.shape().seq, 512);
    let run = e.run("short", Some(&"pair ".repeat(600))).unwrap();
    assert_eq!(run.attention.shape().seq, 512);
    // DistilBERT's tokenizer gives segment ids 0/1, and the model has no table for them.
    let d = family_files(family("distilbert"));
    let e = Engine::from_bytes(&d.config, &d.tokenizer, &d.weights).unwrap();
    let run = e.run("The cat sat.", Some("It was comfortable.")).unwrap();
    assert!(run.encoded.tokens.iter().any(|t| t.type_id == 1));
    for text in ["", " ", "🙂", "[SEP] [CLS] [MASK] <pad> <s>", &"x".repeat(3000)] {
        for f in &FAMILIES {
            let files = family_files(f);
            let e = Engine::from_bytes(&files.config, &files.tokenizer, &files.weights).unwrap();
            let run = e.run(text, None).unwrap();
            assert!(run.attention.shape().seq >= 2, "{}: {text:?}", f.dir);
        }
    }
}
