//! Property-based tests of the engine: arbitrary text (any Unicode, pairs, empty, far past the
//! position limit) on arbitrary small BERT configs with seeded random weights
//! (`model::synthetic`) gives the right shapes, attention rows that sum to 1, no NaN or
//! infinity, and no panic; arbitrary `config.json` values are accepted or refused with an
//! error, never a panic, and what is accepted is consistent.
//!
//! The tokenizer is the tiny BERT fixture's (tests/golden/models/bert, a WordPiece vocabulary
//! of 823). Case counts keep `cargo test` to a few seconds; set `PROPTEST_CASES` for more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

use std::sync::OnceLock;

use attention_viz::model::synthetic::random_bert_safetensors;
use attention_viz::model::{Config, Engine, TokenizerWrapper, MAX_LAYERS};
use proptest::prelude::*;

const VOCAB: usize = 823;

fn tokenizer_json() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/models/bert/tokenizer.json"
        ))
        .unwrap()
    })
}

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

/// A small BERT `config.json`.
#[derive(Debug, Clone)]
struct Small {
    layers: usize,
    heads: usize,
    head_dim: usize,
    intermediate: usize,
    max_pos: usize,
    extra_vocab: usize,
    act: &'static str,
    seed: u64,
}

impl Small {
    fn json(&self) -> String {
        format!(
            r#"{{"model_type":"bert","vocab_size":{},"hidden_size":{},"num_hidden_layers":{},"num_attention_heads":{},"intermediate_size":{},"hidden_act":"{}","max_position_embeddings":{},"type_vocab_size":2}}"#,
            VOCAB + self.extra_vocab,
            self.heads * self.head_dim,
            self.layers,
            self.heads,
            self.intermediate,
            self.act,
            self.max_pos
        )
    }
}

fn small() -> impl Strategy<Value = Small> {
    (
        1usize..=3,
        1usize..=4,
        1usize..=8,
        1usize..=24,
        3usize..=40,
        0usize..=16,
        prop::sample::select(vec!["gelu", "gelu_new", "relu", "silu"]),
        any::<u64>(),
    )
        .prop_map(
            |(layers, heads, head_dim, intermediate, max_pos, extra_vocab, act, seed)| Small {
                layers,
                heads,
                head_dim,
                intermediate,
                max_pos,
                extra_vocab,
                act,
                seed,
            },
        )
}

/// Text as people paste it: any Unicode, plus runs of one character, markup, special tokens
/// typed as text, control and zero-width characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => "[a-z .,!?]{0,200}",
        1 => prop::sample::select(vec![
            String::new(),
            " \t\n ".into(),
            "😀".into(),
            "[SEP] [CLS] [MASK] [PAD] [UNK]".into(),
            "<script>alert(1)</script>".into(),
            "\u{200b}\u{200d}\u{202e}abc\u{0}\u{7f}\u{1b}".into(),
            "مرحبا بالعالم".into(),
            "e\u{301}\u{301}\u{301}".into(),
            "a".repeat(3000),
        ]),
    ]
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn any_text_on_any_small_model_gives_stochastic_finite_attention(cfg in small(), a in text(), b in prop::option::of(text()), c in text()) {
        let config_json = cfg.json();
        let parsed = Config::from_json(config_json.as_bytes()).unwrap();
        let weights = random_bert_safetensors(&parsed, cfg.seed).unwrap();
        let engine = Engine::from_bytes(config_json.as_bytes(), tokenizer_json(), &weights).unwrap();
        let run = engine.run(&a, b.as_deref()).unwrap();
        let shape = run.attention.shape();
        let n = run.encoded.tokens.len();
        prop_assert_eq!((shape.layers, shape.heads, shape.seq), (cfg.layers, cfg.heads, n));
        prop_assert!(n >= 2 && n <= cfg.max_pos, "{} tokens for max_position_embeddings {}", n, cfg.max_pos);
        prop_assert!(run.encoded.tokens.iter().all(|t| (t.id as usize) < VOCAB));
        prop_assert_eq!(run.attention.data().len(), cfg.layers * cfg.heads * n * n);
        for (r, row) in run.attention.data().chunks(n).enumerate() {
            prop_assert!(row.iter().all(|w| w.is_finite() && *w >= 0.0), "row {} is not finite and non-negative: {:?}", r, row);
            let s: f32 = row.iter().sum();
            prop_assert!((s - 1.0).abs() < 1e-4, "row {} sums to {}", r, s);
        }
        let layer = (cfg.seed as usize) % cfg.layers;
        let qk = engine.queries_keys(&run.encoded, layer).unwrap();
        prop_assert_eq!((qk.heads, qk.seq, qk.head_dim), (cfg.heads, n, cfg.head_dim));
        prop_assert!(qk.q.iter().chain(&qk.k).all(|v| v.is_finite()));

        // A run given back (Engine::reuse, as attention-export does between a batch's inputs)
        // holds the next run's attention: the same values as in fresh memory, whichever of the
        // two inputs is longer.
        let fresh_c = engine.run(&c, None).unwrap().attention.into_data();
        let first = run.attention.data().to_vec();
        engine.reuse(run);
        let c_again = engine.run(&c, None).unwrap();
        prop_assert!(c_again.attention.data() == &fresh_c[..], "text c differs after reusing a's attention");
        engine.reuse(c_again);
        let a_again = engine.run(&a, b.as_deref()).unwrap();
        prop_assert!(a_again.attention.data() == &first[..], "text a differs after reusing c's attention");
    }

    /// Any values in a config.json's fields: accepted or refused with a message naming
    /// config.json, never a panic; what is accepted is internally consistent.
    #[test]
    fn any_config_values_are_accepted_consistently_or_refused(
        vocab in prop_oneof![0i64..100_000, any::<i64>()],
        hidden in prop_oneof![0i64..2048, any::<i64>()],
        layers in prop_oneof![0i64..300, any::<i64>()],
        heads in prop_oneof![0i64..64, any::<i64>()],
        inter in prop_oneof![0i64..8192, any::<i64>()],
        max_pos in prop_oneof![0i64..1024, any::<i64>()],
        eps in prop_oneof![Just("1e-12".to_string()), Just("-1".to_string()), Just("1e400".to_string()), Just("null".to_string()), Just("\"x\"".to_string())],
        family in prop::sample::select(vec!["bert", "roberta", "albert", "distilbert", "gpt2", ""]),
    ) {
        let json = if family == "distilbert" {
            format!(r#"{{"model_type":"distilbert","vocab_size":{vocab},"dim":{hidden},"n_layers":{layers},"n_heads":{heads},"hidden_dim":{inter},"max_position_embeddings":{max_pos}}}"#)
        } else {
            format!(r#"{{"model_type":"{family}","vocab_size":{vocab},"hidden_size":{hidden},"num_hidden_layers":{layers},"num_attention_heads":{heads},"intermediate_size":{inter},"max_position_embeddings":{max_pos},"layer_norm_eps":{eps}}}"#)
        };
        match Config::from_json(json.as_bytes()) {
            Ok(c) => {
                prop_assert!(c.num_hidden_layers >= 1 && c.num_hidden_layers <= MAX_LAYERS);
                prop_assert!(c.num_attention_heads >= 1 && c.hidden_size % c.num_attention_heads == 0);
                prop_assert!(c.vocab_size >= 1 && c.max_tokens() >= 1 && c.intermediate_size >= 1);
                prop_assert!(c.layer_norm_eps.is_finite() && c.layer_norm_eps >= 0.0);
                prop_assert_eq!(c.layer_weights().len(), c.num_hidden_layers);
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.starts_with("config.json is not valid: ") || m.starts_with("unsupported model: "), "{}", m);
            }
        }
    }

    /// Tokenizing any text is bounded by the limit it is given, with ids in the vocabulary. A
    /// limit below the special tokens is an error (it was an overflow inside `tokenizers`).
    #[test]
    fn tokenizing_any_text_is_bounded(a in text(), b in prop::option::of(text()), max_len in 1usize..64) {
        let t = match TokenizerWrapper::from_json(tokenizer_json(), max_len) {
            Err(e) if max_len < 2 => {
                prop_assert!(e.to_string().contains("special tokens"), "{}", e);
                return Ok(());
            }
            other => other.unwrap(),
        };
        let specials = if b.is_some() { 3 } else { 2 };
        let enc = match t.encode(&a, b.as_deref()) {
            Err(e) if specials > max_len => {
                prop_assert!(e.to_string().contains("special tokens"), "{}", e);
                return Ok(());
            }
            other => other.unwrap(),
        };
        prop_assert!(enc.tokens.len() <= max_len, "{} tokens for a limit of {}", enc.tokens.len(), max_len);
        prop_assert!(enc.tokens.iter().all(|t| (t.id as usize) < VOCAB && !t.label.is_empty()));
        prop_assert_eq!(enc.tokens.first().map(|t| t.text.as_str()), Some("[CLS]"));
        prop_assert_eq!(enc.tokens.last().map(|t| t.text.as_str()), Some("[SEP]"));
    }
}
