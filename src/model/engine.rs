//! The engine as the page and the command line use it: bytes in, attention out (and, on
//! request, the per-head queries and keys behind it).

use super::{BertEncoder, Checkpoint, Config, Encoded, Error, QueryKey, Result, TokenizerWrapper};
use crate::attention::Attention;

/// A loaded model: config, tokenizer and encoder.
pub struct Engine {
    config: Config,
    tokenizer: TokenizerWrapper,
    encoder: BertEncoder,
}

/// The result of running one input.
pub struct Run {
    pub encoded: Encoded,
    pub attention: Attention,
}

impl Engine {
    /// Builds an engine from the three files' bytes (`config.json`, `tokenizer.json`,
    /// `model.safetensors`). The weight bytes may be dropped afterwards.
    pub fn from_bytes(config: &[u8], tokenizer: &[u8], weights: &[u8]) -> Result<Self> {
        let config = Config::from_json(config)?;
        let tokenizer = TokenizerWrapper::from_json(tokenizer, config.max_position_embeddings)?;
        let checkpoint = Checkpoint::from_safetensors(weights)?;
        let encoder = BertEncoder::load(&checkpoint, &config)?;
        Ok(Self { config, tokenizer, encoder })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Tokenizes without running the model.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        self.tokenizer.encode(text, pair)
    }

    /// Tokenizes and runs the encoder, keeping every layer's attention.
    pub fn run(&self, text: &str, pair: Option<&str>) -> Result<Run> {
        let encoded = self.encode(text, pair)?;
        self.check(&encoded)?;
        let out = self.encoder.forward(&encoded.ids(), &encoded.type_ids())?;
        Ok(Run { encoded, attention: out.attention })
    }

    /// [`Self::run`] that also keeps every layer's queries and keys (one [`QueryKey`] per
    /// layer, in order), in the same single forward pass.
    pub fn run_with_qk(&self, text: &str, pair: Option<&str>) -> Result<(Run, Vec<QueryKey>)> {
        let encoded = self.encode(text, pair)?;
        self.check(&encoded)?;
        let (out, qk) = self.encoder.forward_with_qk(&encoded.ids(), &encoded.type_ids())?;
        Ok((Run { encoded, attention: out.attention }, qk))
    }

    /// The per-head queries and keys of `layer` for an input [`Self::encode`] returned (the
    /// neuron view's numbers). Runs the embeddings and layers `0..layer` only; a `layer` past
    /// the model's last is an error.
    pub fn queries_keys(&self, encoded: &Encoded, layer: usize) -> Result<QueryKey> {
        self.check(encoded)?;
        self.encoder.queries_keys(&encoded.ids(), &encoded.type_ids(), layer)
    }

    /// Rejects inputs the encoder cannot take, with a message for the user.
    fn check(&self, encoded: &Encoded) -> Result<()> {
        let vocab = self.config.vocab_size as u32;
        let types = self.config.type_vocab_size as u32;
        let max = self.config.max_position_embeddings;
        if encoded.tokens.len() > max {
            return Err(Error::Tokenize(format!(
                "{} tokens are more than this model's {max} positions",
                encoded.tokens.len()
            )));
        }
        if let Some(t) = encoded.tokens.iter().find(|t| t.id >= vocab) {
            return Err(Error::Tokenize(format!(
                "token \"{}\" has id {} but the model's vocabulary has {vocab} entries \
                 (tokenizer.json does not match this model)",
                t.text, t.id
            )));
        }
        if encoded.tokens.iter().any(|t| t.type_id >= types) {
            return Err(Error::Tokenize(format!(
                "this model has {types} segment type(s); it cannot take a sentence pair"
            )));
        }
        Ok(())
    }
}
