//! BERT encoder that returns its attention probabilities.
//!
//! Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
//! Understanding", <https://arxiv.org/abs/1810.04805>. The forward pass follows Hugging Face's
//! `BertModel` (post-LayerNorm, eager attention) operation for operation, because the numbers
//! are checked against it to 1e-5. candle-transformers' `BertModel` computes the same softmax
//! but drops it, which is why this file exists.

use candle_core::{Device, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, Module};

use super::{Activation, Checkpoint, Config, Result};
use crate::attention::{Attention, Shape};

fn linear(ck: &Checkpoint, name: &str, out_dim: usize, in_dim: usize) -> Result<Linear> {
    let w = ck.get(&format!("{name}.weight"), &[out_dim, in_dim])?;
    let b = ck.get(&format!("{name}.bias"), &[out_dim])?;
    Ok(Linear::new(w, Some(b)))
}

fn layer_norm(ck: &Checkpoint, name: &str, size: usize, eps: f64) -> Result<LayerNorm> {
    let w = ck.get(&format!("{name}.weight"), &[size])?;
    let b = ck.get(&format!("{name}.bias"), &[size])?;
    Ok(LayerNorm::new(w, b, eps))
}

fn embedding(ck: &Checkpoint, name: &str, rows: usize, dim: usize) -> Result<Embedding> {
    Ok(Embedding::new(ck.get(&format!("{name}.weight"), &[rows, dim])?, dim))
}

struct Embeddings {
    word: Embedding,
    position: Embedding,
    /// Absent in a few exports that never used segment ids.
    token_type: Option<Embedding>,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(ck: &Checkpoint, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_size;
        let token_type = if ck.contains("embeddings.token_type_embeddings.weight") {
            Some(embedding(ck, "embeddings.token_type_embeddings", cfg.type_vocab_size, h)?)
        } else {
            None
        };
        Ok(Self {
            word: embedding(ck, "embeddings.word_embeddings", cfg.vocab_size, h)?,
            position: embedding(ck, "embeddings.position_embeddings", cfg.max_position_embeddings, h)?,
            token_type,
            norm: layer_norm(ck, "embeddings.LayerNorm", h, cfg.layer_norm_eps)?,
        })
    }

    fn forward(&self, ids: &Tensor, type_ids: &Tensor, positions: &Tensor) -> Result<Tensor> {
        let mut x = self.word.forward(ids)?.add(&self.position.forward(positions)?)?;
        if let Some(tt) = &self.token_type {
            x = x.add(&tt.forward(type_ids)?)?;
        }
        Ok(self.norm.forward(&x)?)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

impl Layer {
    fn load(ck: &Checkpoint, cfg: &Config, i: usize) -> Result<Self> {
        let (h, m, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let p = format!("encoder.layer.{i}");
        Ok(Self {
            query: linear(ck, &format!("{p}.attention.self.query"), h, h)?,
            key: linear(ck, &format!("{p}.attention.self.key"), h, h)?,
            value: linear(ck, &format!("{p}.attention.self.value"), h, h)?,
            attn_out: linear(ck, &format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: layer_norm(ck, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
            intermediate: linear(ck, &format!("{p}.intermediate.dense"), m, h)?,
            output: linear(ck, &format!("{p}.output.dense"), h, m)?,
            out_norm: layer_norm(ck, &format!("{p}.output.LayerNorm"), h, eps)?,
        })
    }

    /// `x`: `[seq, hidden]`. Returns the new hidden states and the probabilities `[heads, seq, seq]`.
    fn forward(&self, x: &Tensor, cfg: &Config) -> Result<(Tensor, Tensor)> {
        let (n, heads, d) = (x.dim(0)?, cfg.num_attention_heads, cfg.head_dim());
        // [seq, hidden] -> [heads, seq, head_dim]
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((n, heads, d))?.transpose(0, 1)?.contiguous()?)
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        // Hugging Face scales the product (not q), so do the same to stay bit-close.
        let scores = (q.matmul(&k.t()?)? * (1.0 / (d as f64).sqrt()))?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(0, 1)?.reshape((n, heads * d))?;
        let x = self.attn_norm.forward(&(self.attn_out.forward(&ctx)? + x)?)?;
        let mid = activate(&self.intermediate.forward(&x)?, cfg.hidden_act)?;
        let out = self.out_norm.forward(&(self.output.forward(&mid)? + &x)?)?;
        Ok((out, probs))
    }
}

fn activate(x: &Tensor, act: Activation) -> Result<Tensor> {
    Ok(match act {
        Activation::Gelu => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Silu => x.silu()?,
    })
}

/// What one forward pass yields.
pub struct EncoderOutput {
    /// Last hidden state, `[seq, hidden]`.
    pub hidden: Tensor,
    /// Every layer's attention probabilities.
    pub attention: Attention,
}

/// A BERT encoder (embeddings + `num_hidden_layers` post-LN transformer layers).
pub struct BertEncoder {
    cfg: Config,
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertEncoder {
    /// Builds the encoder from a checkpoint, checking every tensor's shape against `cfg`.
    pub fn load(ck: &Checkpoint, cfg: &Config) -> Result<Self> {
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(ck, cfg, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { cfg: cfg.clone(), embeddings: Embeddings::load(ck, cfg)?, layers })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Runs one unpadded sequence (batch of one, so no attention mask is needed).
    /// The caller guarantees `ids.len() <= max_position_embeddings` and valid ids
    /// ([`super::Engine`] does); out-of-range ids are reported as an error by candle.
    pub fn forward(&self, ids: &[u32], type_ids: &[u32]) -> Result<EncoderOutput> {
        let n = ids.len();
        let dev = Device::Cpu;
        let ids_t = Tensor::from_slice(ids, n, &dev)?;
        let types_t = Tensor::from_slice(type_ids, n, &dev)?;
        let positions = Tensor::arange(0u32, n as u32, &dev)?;
        let mut x = self.embeddings.forward(&ids_t, &types_t, &positions)?;
        let shape = Shape { layers: self.layers.len(), heads: self.cfg.num_attention_heads, seq: n };
        let mut data = Vec::with_capacity(shape.len());
        for layer in &self.layers {
            let (next, probs) = layer.forward(&x, &self.cfg)?;
            data.extend(probs.flatten_all()?.to_vec1::<f32>()?);
            x = next;
        }
        let attention = Attention::new(shape, data)
            .ok_or_else(|| super::Error::Compute("attention has an unexpected size".into()))?;
        Ok(EncoderOutput { hidden: x, attention })
    }
}
