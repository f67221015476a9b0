//! Tokenization with Hugging Face's `tokenizers`, configured the way `transformers` calls it.
//!
//! A `tokenizer.json` may carry a truncation or padding setting from its export (all-MiniLM-L6-v2
//! truncates at 128); `transformers` overrides both on every call. We do the same: no padding,
//! and truncation only at the model's position limit, reported to the user.

use serde::{Deserialize, Serialize};
use tokenizers::{
    EncodeInput, PostProcessor, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::vocab_skim::{Skim, VocabTop};
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
    /// How many of the input's tokens the cut dropped (0 when nothing was cut).
    pub dropped: usize,
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
    /// The vocabulary's largest id, read by the syntax pass (None: a model it does not know).
    vocab_top: Option<VocabTop>,
}

impl TokenizerWrapper {
    /// Parses `tokenizer.json`; `max_len` is the model's `max_position_embeddings`.
    pub fn from_json(bytes: &[u8], max_len: usize) -> Result<Self> {
        if super::looks_like_html(bytes) {
            return Err(Error::Tokenizer(super::HTML_INSTEAD.into()));
        }
        // Syntax first: `tokenizers` panics (`expect("Helper")`) on a syntax error inside the
        // `decoder` value instead of returning it (found by tests/fuzz_loading.rs).
        // The decoder is read whole (its strings' escapes checked too), the vocabulary skimmed
        // for its largest id, the rest skipped.
        let vocab_top = serde_json::from_slice::<Skim>(bytes).map_err(|e| Error::Tokenizer(e.to_string()))?.vocab_top();
        let mut inner =
            Tokenizer::from_bytes(bytes).map_err(|e| Error::Tokenizer(e.to_string()))?;
        check_templates(&serde_json::to_value(inner.get_post_processor()).unwrap_or_default()).map_err(Error::Tokenizer)?;
        inner.with_padding(None);
        // `with_truncation` subtracts the special tokens from the limit without checking.
        let specials = inner.get_post_processor().map_or(0, |p| p.added_tokens(false));
        if specials > max_len {
            return Err(Error::Config(format!(
                "max_position_embeddings leaves {max_len} positions, fewer than the {specials} special tokens \
                 tokenizer.json adds to every input"
            )));
        }
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let byte_level = matches!(inner.get_decoder(), Some(tokenizers::DecoderWrapper::ByteLevel(_)));
        Ok(Self { inner, byte_level, vocab_top })
    }

    /// Checks that the tokenizer belongs to a model whose embedding table has `vocab_size`
    /// rows (`config.json`): every id of its vocabulary must be a row. Tokens added on top of
    /// the vocabulary (`added_tokens`) are not checked here: a text that uses one past the
    /// table fails when it runs, with the id named.
    pub fn check_vocab(&self, vocab_size: usize) -> Result<()> {
        let (token, max, len) = match &self.vocab_top {
            Some(top) => (top.token.clone(), top.id, top.len),
            None => {
                let vocab = self.inner.get_vocab(false);
                let top = vocab.iter().max_by_key(|(_, id)| **id).map(|(t, &id)| (t.clone(), u64::from(id)));
                let (token, max) = top.unwrap_or_default();
                (token, max, vocab.len())
            }
        };
        if len == 0 {
            return Err(Error::Tokenizer("its vocabulary is empty".into()));
        }
        if max >= vocab_size as u64 {
            return Err(Error::Tokenizer(format!(
                "its vocabulary has {} tokens with ids up to {max} (\"{token}\"), but config.json's vocab_size is \
                 {vocab_size}: the tokenizer does not belong to this model",
                len
            )));
        }
        Ok(())
    }

    /// Tokenizes a sentence, or a sentence pair (`[CLS] a [SEP] b [SEP]` for BERT).
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Result<Encoded> {
        // `tokenizers` subtracts the special tokens from the limit without checking (an
        // overflow: a panic, or in a release build no truncation at all).
        let specials = self.inner.get_post_processor().map_or(0, |p| p.added_tokens(pair.is_some()));
        if let Some(limit) = self.inner.get_truncation().map(|t| t.max_length).filter(|&l| specials > l) {
            return Err(Error::Tokenize(format!(
                "the model takes at most {limit} tokens (max_position_embeddings in config.json), fewer than the \
                 {specials} special tokens {} needs",
                if pair.is_some() { "a sentence pair" } else { "a sentence" }
            )));
        }
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
        // Every per-token list is read with `get`: a broken tokenizer.json can make them differ
        // in length (found by tests/fuzz_loading.rs).
        let tokens: Vec<Token> = (0..enc.len())
            .map(|i| {
                let (start, end) = enc.get_offsets().get(i).copied().unwrap_or((0, 0));
                let text = enc.get_tokens().get(i).cloned().unwrap_or_default();
                let is_special = special.get(i) == Some(&1);
                let seq = seqs.get(i).copied().flatten();
                let covered = || -> Option<String> {
                    let chars = inputs.get(seq?)?.get(start..end)?;
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
                    id: enc.get_ids().get(i).copied().unwrap_or(u32::MAX),
                    type_id: enc.get_type_ids().get(i).copied().unwrap_or(0),
                    sequence: seq,
                    start,
                    end,
                    special: is_special,
                    word: words.get(i).copied().flatten(),
                    label,
                }
            })
            .collect();
        if tokens.is_empty() {
            return Err(Error::Tokenize("the input gives no tokens at all: type some text".into()));
        }
        let truncated = !enc.get_overflowing().is_empty();
        let dropped = if truncated { self.count_dropped(text, pair, &tokens) } else { 0 };
        Ok(Encoded { tokens, truncated, dropped })
    }
}

impl TokenizerWrapper {
    /// The input's tokens past the cut: its whole length, tokenized again without the limit (a
    /// second pass only for inputs that were cut), minus the tokens kept.
    fn count_dropped(&self, text: &str, pair: Option<&str>, kept: &[Token]) -> usize {
        let mut whole = self.inner.clone();
        if whole.with_truncation(None).is_err() {
            return 0;
        }
        let length = |s: &str| whole.encode_char_offsets(s, false).map(|e| e.len()).unwrap_or(0);
        let all = length(text) + pair.map_or(0, length);
        all.saturating_sub(kept.iter().filter(|t| !t.special).count())
    }
}

/// Checks every `TemplateProcessing` of a post-processor (as JSON): `tokenizers` looks up the
/// special tokens its templates name without checking they exist, and panics on a missing one.
fn check_templates(v: &serde_json::Value) -> std::result::Result<(), String> {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("TemplateProcessing") {
                let specials = m.get("special_tokens").and_then(Value::as_object);
                for piece in ["single", "pair"].iter().filter_map(|k| m.get(*k)).filter_map(Value::as_array).flatten() {
                    let Some(id) = piece.get("SpecialToken").and_then(|p| p.get("id")).and_then(Value::as_str) else { continue };
                    let Some(token) = specials.and_then(|s| s.get(id)) else {
                        return Err(format!(
                            "its post_processor template uses the special token \"{id}\", which its special_tokens do not define"
                        ));
                    };
                    let len = |k: &str| token.get(k).and_then(Value::as_array).map(Vec::len);
                    if len("ids") != len("tokens") {
                        return Err(format!("its special token \"{id}\" has {:?} ids for {:?} tokens", len("ids"), len("tokens")));
                    }
                }
            }
            m.values().try_for_each(check_templates)
        }
        Value::Array(a) => a.iter().try_for_each(check_templates),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden_bert_tokenizer() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/models/bert/tokenizer.json"
        ))
        .unwrap()
    }

    #[test]
    fn a_vocabulary_past_the_embedding_table_is_refused_at_load() {
        let t = TokenizerWrapper::from_json(&golden_bert_tokenizer(), 512).unwrap();
        // The tiny BERT's vocabulary has 823 entries, ids 0..=822.
        t.check_vocab(823).unwrap();
        t.check_vocab(30522).unwrap();
        let m = t.check_vocab(800).unwrap_err().to_string();
        assert!(m.starts_with("tokenizer.json is not valid"), "{m}");
        assert!(
            m.contains("ids up to 822")
                && m.contains("vocab_size is 800")
                && m.contains("does not belong"),
            "{m}"
        );
    }

    #[test]
    fn a_limit_below_the_special_tokens_is_an_error_not_an_overflow() {
        // Found by tests/proptest_engine.rs: a pair at a limit of 2 made `tokenizers` subtract
        // its 3 special tokens from 2.
        let t = TokenizerWrapper::from_json(&golden_bert_tokenizer(), 2).unwrap();
        let m = t.encode("", Some("")).unwrap_err().to_string();
        assert!(m.contains("at most 2 tokens") && m.contains("3 special tokens a sentence pair needs"), "{m}");
        assert_eq!(t.encode("", None).unwrap().tokens.len(), 2, "a single sentence still fits");
        let t = TokenizerWrapper::from_json(&golden_bert_tokenizer(), 3).unwrap();
        assert_eq!(t.encode("a b c", Some("d e")).unwrap().tokens.len(), 3);
        let m = TokenizerWrapper::from_json(&golden_bert_tokenizer(), 1).err().unwrap().to_string();
        assert!(m.starts_with("config.json is not valid: max_position_embeddings leaves 1 positions"), "{m}");
    }

    #[test]
    fn a_tokenizer_that_does_not_parse_is_named() {
        for bad in [
            &b"<!doctype html><html>captive portal</html>"[..],
            b"{}",
            b"{\"model\":{\"type\":\"WordPiece\"}}",
            b"",
        ] {
            let m = TokenizerWrapper::from_json(bad, 512)
                .err()
                .unwrap()
                .to_string();
            assert!(m.starts_with("tokenizer.json is not valid: "), "{m}");
        }
        // Found by tests/fuzz_loading.rs: each of these panicked inside `tokenizers`.
        let t = String::from_utf8(golden_bert_tokenizer()).unwrap();
        for (bad, says) in [
            (t.replacen("\"prefix\": \"##\"", "\"prefix\": \"##\" oops", 1), "expected"),
            (t.replacen("\"prefix\": \"##\"", "\"prefix\": \"\\ud800#\"", 1), "line 139"),
            (t.replacen("\"id\": \"[CLS]\",\n          \"type_id\": 0", "\"id\": \"[XYZ]\",\n          \"type_id\": 0", 1), "\"[XYZ]\""),
        ] {
            assert_ne!(bad, t, "the edit applies");
            let m = TokenizerWrapper::from_json(bad.as_bytes(), 512).err().unwrap().to_string();
            assert!(m.starts_with("tokenizer.json is not valid: ") && m.contains(says), "{m}");
        }
        let m = TokenizerWrapper::from_json(b"<html><head><title>Login</title>", 512)
            .err()
            .unwrap()
            .to_string();
        assert!(m.contains("HTML page"), "{m}");
    }
}
