//! Engine errors: every message is meant to be shown to the user as it is.

/// What went wrong while loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config.json is not valid: {0}")]
    Config(String),
    #[error("tokenizer.json is not valid: {0}")]
    Tokenizer(String),
    #[error("the tokenizer rejected the text: {0}")]
    Tokenize(String),
    #[error("model.safetensors is not valid: {0}")]
    Weights(String),
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The weights are PyTorch's pickle format (`pytorch_model.bin`), not safetensors; the
    /// message says how to convert them ([`super::NEEDS_SAFETENSORS`]).
    #[error("{0}")]
    NeedsSafetensors(String),
    /// The model cannot fit in this process (the page's wasm32 memory): the message says how
    /// large it is and what fits. Downloading it again would not help.
    #[error("{0}")]
    TooLarge(String),
    #[error("inference failed: {0}")]
    Compute(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Compute(e.to_string())
    }
}
