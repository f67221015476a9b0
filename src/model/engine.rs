//! The engine as the page and the command line use it: bytes in, attention out.

use super::{BertEncoder, Checkpoint, Config, Encoded, Error, Result, TokenizerWrapper};
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
        let vocab = self.config.vocab_size as u32;
        let types = self.config.type_vocab_size as u32;
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
        let out = self.encoder.forward(&encoded.ids(), &encoded.type_ids())?;
        Ok(Run { encoded, attention: out.attention })
    }
}
