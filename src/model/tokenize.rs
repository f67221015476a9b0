//! Tokenization with Hugging Face's `tokenizers`, configured the way `transformers` calls it.
//!
//! A `tokenizer.json` may carry a truncation or padding setting from its export (all-MiniLM-L6-v2
//! truncates at 128); `transformers` overrides both on every call. We do the same: no padding,
//! and truncation only at the model's position limit, reported to the user.

use serde::{Deserialize, Serialize};
use tokenizers::{
    EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::{Error, Result};

/// One token as the views label it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The token as the tokenizer spells it (`##ing`, `[CLS]`).
    pub text: String,
    pub id: u32,
    /// Segment id: 0 for the first sentence, 1 for the second of a pair.
    pub type_id: u32,
    /// Which input the token came from (0 or 1); `None` for special tokens.
    pub sequence: Option<usize>,
    /// Span in that input, in Unicode scalar values (`[start, end)`, as `offset_mapping`).
    pub start: usize,
    pub end: usize,
    /// `[CLS]`, `[SEP]` and the like.
    pub special: bool,
    /// Index of the pre-tokenized word this piece belongs to, within its input (`word_ids()` in
    /// `transformers`); `None` for special tokens. Pieces of one word share it, which is how the
    /// views merge WordPiece/BPE pieces back into words.
    #[serde(default)]
    pub word: Option<u32>,
    /// The token as the views label it (BertViz's `prettify_tokens`): byte-level BPE tokens
    /// (RoBERTa's `Ġbank`, `ĠrÃ©` for "ré") become the text they cover, SentencePiece's `▁`
    /// word marker goes; WordPiece's `##` stays, since it says "continues the word".
    #[serde(default)]
    pub label: String,
}

/// A tokenized input, ready for the encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoded {
    pub tokens: Vec<Token>,
    /// True when the input was cut at the model's position limit.
    pub truncated: bool,
}

impl Encoded {
    pub fn ids(&self) -> Vec<u32> {
        self.tokens.iter().map(|t| t.id).collect()
    }
    pub fn type_ids(&self) -> Vec<u32> {
        self.tokens.iter().map(|t| t.type_id).collect()
    }
}

/// The label of a token that stands for a space alone.
const SPACE: &str = "\u{2423}";

impl Token {
    /// A token for unit tests elsewhere in the crate: `text` as written, in sentence A unless
    /// `special`, of word `word`.
    #[cfg(test)]
    pub(crate) fn for_test(text: &str, special: bool, word: Option<u32>) -> Self {
        Self {
            text: text.into(),
            id: 0,
            type_id: 0,
            sequence: if special { None } else { Some(0) },
            start: 0,
            end: 0,
            special,
            word,
            label: String::new(),
        }
    }
}

/// A `tokenizers::Tokenizer` set up for one model.
pub struct TokenizerWrapper {
    inner: Tokenizer,
    /// Byte-level BPE (GPT-2/RoBERTa): token strings are bytes in disguise, so labels come
    /// from the input text the token covers.
    byte_level: bool,
}

impl TokenizerWrapper {
    /// Parses `tokenizer.json`; `max_len` is the model's `max_position_embeddings`.
    pub fn from_json(bytes: &[u8], max_len: usize) -> Result<Self> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let byte_level = matches!(inner.get_decoder(), Some(tokenizers::DecoderWrapper::ByteLevel(_)));
        Ok(Self { inner, byte_level })
    }

    /// Tokenizes a sentence, or a sentence pair (`[CLS] a [SEP] b [SEP]` for BERT).
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        let input: EncodeInput = match pair {
            Some(b) => (text, b).into(),
            None => text.into(),
        };
        let enc = self
            .inner
            .encode_char_offsets(input, true)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        let special = enc.get_special_tokens_mask();
        let seqs = enc.get_sequence_ids();
        let words = enc.get_word_ids();
        let inputs: [Vec<char>; 2] = [text.chars().collect(), pair.unwrap_or("").chars().collect()];
        let tokens = (0..enc.len())
            .map(|i| {
                let (start, end) = enc.get_offsets()[i];
                let text = enc.get_tokens()[i].clone();
                let is_special = special[i] == 1;
                let covered = || -> Option<String> {
                    let chars = inputs.get(seqs[i]?)?.get(start..end)?;
                    Some(chars.iter().collect::<String>()).filter(|s| !s.trim().is_empty())
                };
                // A token that is only a word marker (a lone `Ġ` or `▁`: the space before an
                // unknown or split word) is shown as a visible space.
                let label = if is_special {
                    text.clone()
                } else if self.byte_level {
                    covered().unwrap_or_else(|| if text.trim_start_matches('\u{120}').is_empty() { SPACE.into() } else { text.clone() })
                } else {
                    Some(text.trim_start_matches('\u{2581}')).filter(|s| !s.is_empty()).unwrap_or(SPACE).to_string()
                };
                Token {
                    text,
                    id: enc.get_ids()[i],
                    type_id: enc.get_type_ids()[i],
                    sequence: seqs[i],
                    start,
                    end,
                    special: is_special,
                    word: words.get(i).copied().flatten(),
                    label,
                }
            })
            .collect();
        Ok(Encoded { tokens, truncated: !enc.get_overflowing().is_empty() })
    }
}
