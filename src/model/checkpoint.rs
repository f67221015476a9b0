//! Reading `model.safetensors` whatever the checkpoint's naming habits.
//!
//! Hugging Face BERT checkpoints disagree on names: `bert-base-uncased` prefixes every tensor
//! with `bert.`, calls LayerNorm parameters `gamma`/`beta` (TF-era names) and carries the
//! masked-LM head (`cls.*`); sentence-transformers exports such as all-MiniLM-L6-v2 do none of
//! this. We normalise every name to the bare `embeddings.*` / `encoder.*` form once, at load.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::{Error, Result};

/// Prefixes that task-specific model classes put in front of the base encoder's names.
const BASE_PREFIXES: &[&str] = &["bert.", "model."];
/// Tensors of heads we never run (masked-LM / NSP heads).
const IGNORED_PREFIXES: &[&str] = &["cls.", "qa_outputs.", "classifier."];

/// The checkpoint's floating-point tensors, converted to f32, under normalised names.
pub struct Checkpoint {
    tensors: HashMap<String, Tensor>,
}

/// Maps a checkpoint name to our canonical name, or `None` for tensors we do not use.
pub fn canonical_name(name: &str) -> Option<String> {
    let bare = BASE_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    if IGNORED_PREFIXES.iter().any(|p| bare.starts_with(p)) {
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
    /// Parses safetensors bytes; f16 and bf16 weights are widened to f32 (we compute in f32).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let raw = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| Error::Weights(e.to_string()))?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            // Integer buffers such as `embeddings.position_ids` are not weights.
            if !matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16 | DType::F64) {
                continue;
            }
            let Some(key) = canonical_name(&name) else { continue };
            let t = t.to_dtype(DType::F32).map_err(|e| Error::Weights(e.to_string()))?;
            tensors.entry(key).or_insert(t);
        }
        if tensors.is_empty() {
            return Err(Error::Weights("it holds no floating-point tensors".into()));
        }
        Ok(Self { tensors })
    }

    /// The tensor `name` (canonical form), checked against the shape the config implies.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| {
            Error::Weights(format!(
                "it has no tensor \"{name}\" (is it a BERT checkpoint matching config.json?)"
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(
            canonical_name("bert.encoder.layer.0.attention.output.LayerNorm.gamma").as_deref(),
            Some("encoder.layer.0.attention.output.LayerNorm.weight")
        );
        assert_eq!(
            canonical_name("bert.embeddings.LayerNorm.beta").as_deref(),
            Some("embeddings.LayerNorm.bias")
        );
        assert_eq!(canonical_name("cls.predictions.bias"), None);
        assert_eq!(
            canonical_name("encoder.layer.3.output.dense.weight").as_deref(),
            Some("encoder.layer.3.output.dense.weight")
        );
    }

    #[test]
    fn garbage_bytes_are_an_error_not_a_panic() {
        for bytes in [&b""[..], b"12345678", &[0xff; 64], b"\x10\0\0\0\0\0\0\0{\"a\":{}}"] {
            assert!(Checkpoint::from_safetensors(bytes).is_err());
        }
    }
}
