//! `config.json`, as Hugging Face writes it for BERT-family encoders.
//!
//! candle-transformers has a BERT `Config`, but it makes optional fields mandatory
//! (`initializer_range`, `hidden_dropout_prob`, …) and knows only three activations, so
//! checkpoints in the wild fail to parse. This mirror keeps the fields the forward pass needs,
//! with Hugging Face's own defaults.

use serde::Deserialize;

use super::{Error, Result};

/// The feed-forward activation (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// Exact GELU with `erf`: what Hugging Face calls `"gelu"`.
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation of GELU.
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh", rename = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(alias = "swish", rename = "silu")]
    Silu,
}

fn default_act() -> Activation {
    Activation::Gelu
}
fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// The encoder's hyper-parameters, as in `config.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

impl Config {
    /// Parses and checks `config.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let cfg: Config = serde_json::from_slice(bytes).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        match self.model_type.as_deref() {
            None | Some("bert") => {}
            Some(other) => {
                return Err(Error::Unsupported(format!(
                    "model_type \"{other}\" (this version runs: bert)"
                )))
            }
        }
        match self.position_embedding_type.as_deref() {
            None | Some("absolute") => {}
            Some(other) => {
                return Err(Error::Unsupported(format!("position_embedding_type \"{other}\"")))
            }
        }
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(Error::Config(format!("{name} must be positive")));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::Config(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        Ok(())
    }

    /// Size of one head's query/key/value vectors.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERT_BASE: &str = r#"{"architectures":["BertForMaskedLM"],"attention_probs_dropout_prob":0.1,
      "gradient_checkpointing":false,"hidden_act":"gelu","hidden_dropout_prob":0.1,"hidden_size":768,
      "initializer_range":0.02,"intermediate_size":3072,"layer_norm_eps":1e-12,
      "max_position_embeddings":512,"model_type":"bert","num_attention_heads":12,
      "num_hidden_layers":12,"pad_token_id":0,"position_embedding_type":"absolute",
      "transformers_version":"4.6.0.dev0","type_vocab_size":2,"use_cache":true,"vocab_size":30522}"#;

    #[test]
    fn parses_bert_base_uncased_config() {
        let c = Config::from_json(BERT_BASE.as_bytes()).unwrap();
        assert_eq!((c.num_hidden_layers, c.num_attention_heads, c.head_dim()), (12, 12, 64));
        assert_eq!(c.hidden_act, Activation::Gelu);
    }

    #[test]
    fn minimal_config_gets_hf_defaults() {
        let c = Config::from_json(
            br#"{"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"hidden_act":"gelu_new"}"#,
        )
        .unwrap();
        assert_eq!(c.max_position_embeddings, 512);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.hidden_act, Activation::GeluTanh);
    }

    #[test]
    fn rejects_bad_configs_with_readable_messages() {
        let e = Config::from_json(b"not json").unwrap_err().to_string();
        assert!(e.starts_with("config.json is not valid"), "{e}");
        let e = Config::from_json(BERT_BASE.replace("\"bert\"", "\"gpt2\"").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("gpt2"), "{e}");
        let e = Config::from_json(BERT_BASE.replace("768", "770").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("not divisible"), "{e}");
    }
}
