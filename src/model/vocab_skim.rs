//! What `tokenizer.json`'s first, syntax-only pass learns on the way: the largest id of the
//! model's vocabulary, for [`super::TokenizerWrapper::check_vocab`].
//!
//! Why here: asking `tokenizers` for it (`get_vocab`) copies the whole vocabulary into a new map
//! (30 522 strings for BERT): a quarter of the tokenizer's parse natively, about 13 ms of a
//! cached load in the page's worker. The syntax pass reads every byte anyway.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The largest id of a vocabulary, with its token, and how many tokens it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabTop {
    pub token: String,
    pub id: u64,
    pub len: usize,
}

/// `tokenizer.json` as the syntax pass reads it: the decoder whole (see `from_json`), the
/// model's vocabulary skimmed for its largest id, the rest skipped.
#[derive(Deserialize)]
pub struct Skim {
    #[serde(default)]
    #[allow(dead_code, reason = "read only to check it parses")]
    decoder: Option<serde_json::Value>,
    #[serde(default)]
    model: Option<SkimModel>,
}

#[derive(Deserialize)]
struct SkimModel {
    #[serde(default)]
    vocab: Option<Vocab>,
}

impl Skim {
    /// The vocabulary's top, when the model has one this pass understands.
    pub fn vocab_top(self) -> Option<VocabTop> {
        self.model?.vocab.map(|v| v.0)
    }
}

/// WordPiece, BPE and WordLevel: `{token: id}`; Unigram: `[[token, score], …]`, ids by position.
struct Vocab(VocabTop);

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(VocabVisitor).map(Vocab)
    }
}

/// A string, borrowed from the file unless it has escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

struct VocabVisitor;

impl<'de> Visitor<'de> for VocabVisitor {
    type Value = VocabTop;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of tokens to ids, or a list of [token, score] pairs")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VocabTop, A::Error> {
        let mut top = VocabTop { token: String::new(), id: 0, len: 0 };
        while let Some((Text(token), id)) = map.next_entry::<Text, u64>()? {
            if top.len == 0 || id > top.id {
                top.id = id;
                top.token = token.into_owned();
            }
            top.len += 1;
        }
        Ok(top)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<VocabTop, A::Error> {
        let mut last = None;
        let mut len = 0usize;
        while let Some((Text(token), IgnoredAny)) = seq.next_element::<(Text, IgnoredAny)>()? {
            last = Some(token);
            len += 1;
        }
        Ok(VocabTop { token: last.map(Cow::into_owned).unwrap_or_default(), id: len.saturating_sub(1) as u64, len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(json: &str) -> Option<VocabTop> {
        serde_json::from_str::<Skim>(json).unwrap().vocab_top()
    }

    #[test]
    fn maps_give_their_largest_id_and_lists_their_last_position() {
        let t = top(r#"{"model": {"type": "WordPiece", "vocab": {"a": 0, "z\"q": 7, "b": 3}}}"#).unwrap();
        assert_eq!(t, VocabTop { token: "z\"q".into(), id: 7, len: 3 });
        let t = top(r#"{"model": {"vocab": [["<pad>", 0.0], ["x", -1.5], ["y", -2]]}}"#).unwrap();
        assert_eq!(t, VocabTop { token: "y".into(), id: 2, len: 3 });
        assert_eq!(top(r#"{"model": {"vocab": {}}}"#).unwrap().len, 0);
        assert_eq!(top(r#"{"model": {"type": "X"}}"#), None);
        assert_eq!(top(r#"{"decoder": null}"#), None);
        assert!(serde_json::from_str::<Skim>(r#"{"model": {"vocab": {"a": -1}}}"#).is_err());
        assert!(serde_json::from_str::<Skim>(r#"{"model": {"vocab": 3}}"#).is_err());
    }

    /// Each golden family's tokenizer (WordPiece, BPE, Unigram) against what `tokenizers`
    /// itself says of its vocabulary.
    #[test]
    fn every_golden_tokenizer_agrees_with_tokenizers() {
        for family in ["bert", "distilbert", "roberta", "albert"] {
            let path = format!("{}/tests/golden/models/{family}/tokenizer.json", env!("CARGO_MANIFEST_DIR"));
            let bytes = std::fs::read(&path).unwrap();
            let skim = serde_json::from_slice::<Skim>(&bytes).unwrap().vocab_top().unwrap();
            let vocab = tokenizers::Tokenizer::from_bytes(&bytes).unwrap().get_vocab(false);
            let (token, id) = vocab.iter().max_by_key(|(_, id)| **id).unwrap();
            assert_eq!((skim.token.as_str(), skim.id, skim.len), (token.as_str(), u64::from(*id), vocab.len()), "{family}");
        }
    }
}
