//! The engine as the page and the command line use it: bytes in, attention out (and, on
//! request, the per-head queries and keys behind it).

use super::{
    Checkpoint, Config, Encoded, Encoder, Error, Family, QueryKey, Result, TokenizerWrapper,
};
use crate::attention::Attention;

/// A loaded model: config, tokenizer and encoder.
pub struct Engine {
    config: Config,
    tokenizer: TokenizerWrapper,
    encoder: Encoder,
}

/// The result of running one input.
pub struct Run {
    pub encoded: Encoded,
    pub attention: Attention,
}

impl Engine {
    /// Builds an engine from the three files' bytes (`config.json`, `tokenizer.json`,
    /// `model.safetensors`). The family comes from `config.json`; an unsupported one is
    /// [`Error::Unsupported`], and PyTorch weights passed as `weights` are
    /// [`Error::NeedsSafetensors`]. The weight bytes may be dropped afterwards.
    pub fn from_bytes(config: &[u8], tokenizer: &[u8], weights: &[u8]) -> Result<Self> {
        let config = Config::from_json(config)?;
        let tokenizer = TokenizerWrapper::from_json(tokenizer, config.max_tokens())?;
        let checkpoint = Checkpoint::from_safetensors(weights, config.family)?;
        Self::new(config, tokenizer, &checkpoint)
    }

    /// Builds an engine from parts read one by one: the page parses `config.json` and
    /// `tokenizer.json` before the weights download (a broken one fails in a second, not after
    /// 440 MB), then streams the weights ([`super::WeightStream`]) for the config's family.
    /// The tensors are shared with `checkpoint`, not copied; drop it afterwards.
    pub fn new(
        config: Config,
        tokenizer: TokenizerWrapper,
        checkpoint: &Checkpoint,
    ) -> Result<Self> {
        let encoder = Encoder::load(checkpoint, &config)?;
        Ok(Self {
            config,
            tokenizer,
            encoder,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The model's family; `family().name()` is "BERT", "DistilBERT", "RoBERTa" or "ALBERT".
    pub fn family(&self) -> Family {
        self.config.family
    }

    /// Whether layers share their weights (ALBERT): the views can say so, since a shared
    /// layer's heads are the same heads applied again to a new input.
    pub fn shared_layers(&self) -> bool {
        self.config.shared_layers()
    }

    /// Which weight set layer `layer` runs (layers with equal sets share all their weights),
    /// or `None` past the last layer. Without sharing, layer `i` runs set `i`.
    pub fn weight_group(&self, layer: usize) -> Option<usize> {
        self.config.weight_group(layer)
    }

    /// The longest input in tokens, special tokens included (512 for bert-base and
    /// roberta-base, whose table has 514 positions); longer inputs are truncated.
    pub fn max_tokens(&self) -> usize {
        self.config.max_tokens()
    }

    /// Tokenizes without running the model.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        self.tokenizer.encode(text, pair)
    }

    /// Tokenizes and runs the encoder, keeping every layer's attention.
    pub fn run(&self, text: &str, pair: Option<&str>) -> Result<Run> {
        let encoded = self.encode(text, pair)?;
        self.check(&encoded)?;
        let (attention, _) = self
            .encoder
            .attention(&encoded.ids(), &encoded.type_ids(), false)?;
        Ok(Run { encoded, attention })
    }

    /// Gives a run that is no longer wanted back to the engine, whose next run then writes its
    /// attention into the same memory (see [`Encoder::reuse`]): what a native loop over inputs
    /// should do (attention-export's batches do). The page's worker does not: in wasm a freed
    /// buffer is reused by the allocator without page faults anyway (wasm memory is never given
    /// back), and a spare held here could not serve the other allocations that memory may need.
    pub fn reuse(&self, run: Run) {
        self.encoder.reuse(run.attention.into_data());
    }

    /// [`Self::run`] that also keeps every layer's queries and keys (one [`QueryKey`] per
    /// layer, in order), in the same single forward pass.
    pub fn run_with_qk(&self, text: &str, pair: Option<&str>) -> Result<(Run, Vec<QueryKey>)> {
        let encoded = self.encode(text, pair)?;
        self.check(&encoded)?;
        let (attention, qk) = self
            .encoder
            .attention(&encoded.ids(), &encoded.type_ids(), true)?;
        Ok((Run { encoded, attention }, qk))
    }

    /// The per-head queries and keys of `layer` for an input [`Self::encode`] returned (the
    /// neuron view's numbers). Runs the embeddings and layers `0..layer` only; a `layer` past
    /// the model's last is an error.
    pub fn queries_keys(&self, encoded: &Encoded, layer: usize) -> Result<QueryKey> {
        self.check(encoded)?;
        self.encoder
            .queries_keys(&encoded.ids(), &encoded.type_ids(), layer)
    }

    /// Rejects inputs the encoder cannot take, with a message for the user.
    fn check(&self, encoded: &Encoded) -> Result<()> {
        let vocab = self.config.vocab_size;
        let types = self.config.type_vocab_size;
        let max = self.config.max_tokens();
        if encoded.tokens.len() > max {
            return Err(Error::Tokenize(format!(
                "{} tokens are more than this model's {max} positions",
                encoded.tokens.len()
            )));
        }
        if let Some(t) = encoded.tokens.iter().find(|t| t.id as usize >= vocab) {
            return Err(Error::Tokenize(format!(
                "token \"{}\" has id {} but the model's vocabulary has {vocab} entries \
                 (tokenizer.json does not match this model)",
                t.text, t.id
            )));
        }
        if self.config.family.uses_segment_ids()
            && encoded.tokens.iter().any(|t| t.type_id as usize >= types)
        {
            return Err(Error::Tokenize(format!(
                "this model has {types} segment type(s); it cannot take a sentence pair"
            )));
        }
        Ok(())
    }
}
