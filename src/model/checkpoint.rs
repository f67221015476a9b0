//! Reading `model.safetensors` whatever the checkpoint's naming habits.
//!
//! Hugging Face checkpoints of one family disagree on names: `bert-base-uncased` prefixes every
//! tensor with `bert.` (the task classes' `base_model_prefix`; `roberta.`, `distilbert.` and
//! `albert.` for the others), calls LayerNorm parameters `gamma`/`beta` (TF-era names) and
//! carries the masked-LM head (`cls.*`, `lm_head.*`, `vocab_*`, `predictions.*`);
//! sentence-transformers exports such as all-MiniLM-L6-v2 do none of this. We normalise every
//! name to the family's bare form (what `AutoModel.save_pretrained` writes) once, at load, and
//! convert only the tensors the encoder reads.

use std::collections::HashMap;

use candle_core::Tensor;

use super::{Error, Family, Result, WeightStream};

/// What to tell someone whose model has only `pytorch_model.bin`, with `REPO` standing for the
/// repository ([`needs_safetensors`] fills it in). The page cannot read PyTorch's pickle format
/// (unpickling can run code, and it takes Python), so the model must be converted once, by its
/// author or by the user.
pub const NEEDS_SAFETENSORS: &str = "this model has only PyTorch weights (pytorch_model.bin), \
and attention-viz reads model.safetensors only. Convert it once with Python: \
`from transformers import AutoModel; AutoModel.from_pretrained(\"REPO\").save_pretrained(\"DIR\", safe_serialization=True)` \
writes DIR/model.safetensors (with config.json; copy tokenizer.json beside them). For a model on the Hub, \
the \"Convert to Safetensors\" Space (https://huggingface.co/spaces/safetensors/convert) opens a pull request \
adding model.safetensors to the repository; until it is merged, pick the revision `refs/pr/N` it names.";

/// [`NEEDS_SAFETENSORS`] for one repository (`REPO` filled in), for the page's error line when
/// a repository lists `pytorch_model.bin` and no `model.safetensors`.
pub fn needs_safetensors(repo: &str) -> String {
    NEEDS_SAFETENSORS.replace("REPO", repo)
}

/// Whether `bytes` look like a `torch.save` file: a zip archive (PyTorch ≥ 1.6) or a bare
/// pickle (older), rather than safetensors.
pub fn is_pytorch_pickle(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || matches!(bytes, [0x80, 2..=5, ..])
}

/// The checkpoint's encoder tensors, converted to f32, under the family's bare names.
pub struct Checkpoint {
    family: Family,
    tensors: HashMap<String, Tensor>,
}

/// Maps a checkpoint name to the family's bare name, or `None` for tensors the encoder never
/// reads (heads, poolers, other models' tensors).
pub fn canonical_name(family: Family, name: &str) -> Option<String> {
    let bare = [family.base_prefix(), "model."]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    if !family.uses_tensor(bare) {
        return None;
    }
    let renamed = if let Some(stem) = bare.strip_suffix(".gamma") {
        format!("{stem}.weight")
    } else if let Some(stem) = bare.strip_suffix(".beta") {
        format!("{stem}.bias")
    } else {
        bare.to_string()
    };
    Some(renamed)
}

impl Checkpoint {
    /// Parses safetensors bytes, keeping the tensors `family`'s encoder reads; f16, bf16 and
    /// f64 weights become f32 (we compute in f32). Integer buffers (`position_ids`) are skipped.
    /// The same reader as the page's streaming one ([`WeightStream`]), given the whole file.
    pub fn from_safetensors(bytes: &[u8], family: Family) -> Result<Self> {
        let mut stream = WeightStream::new(family, None);
        stream.push(bytes)?;
        stream.finish()
    }

    /// Reads a safetensors file from `reader` in 1 MB chunks, so the file's bytes are never
    /// held whole (the command line's path; the page streams its download the same way).
    pub fn from_reader(mut reader: impl std::io::Read, family: Family) -> Result<Self> {
        let mut stream = WeightStream::new(family, None);
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut chunk).map_err(|e| Error::Weights(format!("reading it failed: {e}")))?;
            if n == 0 {
                return stream.finish();
            }
            stream.push(&chunk[..n])?;
        }
    }

    /// A checkpoint from tensors already under their bare names (see [`WeightStream`]).
    pub(super) fn from_tensors(family: Family, tensors: HashMap<String, Tensor>) -> Self {
        Self { family, tensors }
    }

    /// The tensor `name` (bare form), checked against the shape the config implies.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| {
            Error::Weights(format!(
                "it has no tensor \"{name}\" (is it a {} checkpoint matching config.json?)",
                self.family.name()
            ))
        })?;
        if t.dims() != dims {
            return Err(Error::Weights(format!(
                "tensor \"{name}\" has shape {:?}, config.json implies {dims:?}",
                t.dims()
            )));
        }
        Ok(t.clone())
    }

    /// Whether a tensor is present (for optional parts such as token-type embeddings).
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Number of tensors kept.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        let b = Family::Bert;
        assert_eq!(
            canonical_name(b, "bert.encoder.layer.0.attention.output.LayerNorm.gamma").as_deref(),
            Some("encoder.layer.0.attention.output.LayerNorm.weight")
        );
        assert_eq!(canonical_name(b, "bert.embeddings.LayerNorm.beta").as_deref(), Some("embeddings.LayerNorm.bias"));
        assert_eq!(canonical_name(b, "cls.predictions.bias"), None);
        assert_eq!(canonical_name(b, "bert.pooler.dense.weight"), None);
        assert_eq!(
            canonical_name(b, "encoder.layer.3.output.dense.weight").as_deref(),
            Some("encoder.layer.3.output.dense.weight")
        );
        let r = Family::Roberta;
        assert_eq!(canonical_name(r, "roberta.embeddings.word_embeddings.weight").as_deref(), Some("embeddings.word_embeddings.weight"));
        assert_eq!(canonical_name(r, "lm_head.dense.weight"), None);
        let d = Family::DistilBert;
        assert_eq!(
            canonical_name(d, "distilbert.transformer.layer.1.sa_layer_norm.weight").as_deref(),
            Some("transformer.layer.1.sa_layer_norm.weight")
        );
        assert_eq!(canonical_name(d, "vocab_layer_norm.weight"), None);
        assert_eq!(canonical_name(d, "pre_classifier.weight"), None);
        let a = Family::Albert;
        assert_eq!(
            canonical_name(a, "albert.encoder.embedding_hidden_mapping_in.bias").as_deref(),
            Some("encoder.embedding_hidden_mapping_in.bias")
        );
        assert_eq!(canonical_name(a, "predictions.LayerNorm.weight"), None);
    }

    #[test]
    fn garbage_bytes_are_an_error_not_a_panic() {
        for bytes in [&b""[..], b"12345678", &[0xff; 64], b"\x10\0\0\0\0\0\0\0{\"a\":{}}"] {
            assert!(Checkpoint::from_safetensors(bytes, Family::Bert).is_err());
        }
    }

    #[test]
    fn pytorch_files_say_that_safetensors_is_needed() {
        for bytes in [&b"PK\x03\x04archive/data.pkl"[..], b"\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19."] {
            let e = Checkpoint::from_safetensors(bytes, Family::Roberta).err().unwrap();
            assert!(matches!(e, Error::NeedsSafetensors(_)), "{e:?}");
            let m = e.to_string();
            assert!(m.contains("pytorch_model.bin") && m.contains("safe_serialization=True") && m.contains("safetensors/convert"), "{m}");
        }
        let m = needs_safetensors("FacebookAI/roberta-base");
        assert!(m.contains("from_pretrained(\"FacebookAI/roberta-base\")"), "{m}");
    }
}
