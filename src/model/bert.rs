//! BERT encoder that returns its attention probabilities.
//!
//! Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
//! Understanding", <https://arxiv.org/abs/1810.04805>. The forward pass follows Hugging Face's
//! `BertModel` (post-LayerNorm, eager attention) operation for operation, because the numbers
//! are checked against it to 1e-5. candle-transformers' `BertModel` computes the same softmax
//! but drops it, which is why this file exists.

use candle_core::{Device, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, Module};

use super::{Activation, Checkpoint, Config, Error, Result};
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

    /// This layer's queries and keys for `x` (`[seq, hidden]`): each `[heads, seq, head_dim]`,
    /// after the bias and before any scaling (Hugging Face's `self.query(x)` / `self.key(x)`,
    /// split per head).
    fn queries_keys(&self, x: &Tensor, cfg: &Config) -> Result<(Tensor, Tensor)> {
        Ok((split_heads(&self.query.forward(x)?, cfg)?, split_heads(&self.key.forward(x)?, cfg)?))
    }

    /// The rest of the layer, given `x` and its [`Self::queries_keys`]. Returns the new hidden
    /// states and the probabilities `[heads, seq, seq]`.
    fn attend(&self, x: &Tensor, q: &Tensor, k: &Tensor, cfg: &Config) -> Result<(Tensor, Tensor)> {
        let (n, d) = (x.dim(0)?, cfg.head_dim());
        let v = split_heads(&self.value.forward(x)?, cfg)?;
        // Hugging Face scales the product (not q), so do the same to stay bit-close.
        let scores = (q.matmul(&k.t()?)? * (1.0 / (d as f64).sqrt()))?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(0, 1)?.reshape((n, cfg.num_attention_heads * d))?;
        let x = self.attn_norm.forward(&(self.attn_out.forward(&ctx)? + x)?)?;
        let mid = activate(&self.intermediate.forward(&x)?, cfg.hidden_act)?;
        let out = self.out_norm.forward(&(self.output.forward(&mid)? + &x)?)?;
        Ok((out, probs))
    }
}

/// `[seq, hidden]` -> `[heads, seq, head_dim]`.
fn split_heads(t: &Tensor, cfg: &Config) -> Result<Tensor> {
    let (n, heads, d) = (t.dim(0)?, cfg.num_attention_heads, cfg.head_dim());
    Ok(t.reshape((n, heads, d))?.transpose(0, 1)?.contiguous()?)
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

/// One layer's per-head query and key vectors, as the neuron view shows them: the outputs of
/// Hugging Face's `self.query(hidden)` / `self.key(hidden)` (after the bias, before the
/// 1/√head_dim scaling), split per head.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryKey {
    pub heads: usize,
    pub seq: usize,
    pub head_dim: usize,
    /// Queries, row-major `[heads, seq, head_dim]`.
    pub q: Vec<f32>,
    /// Keys, row-major `[heads, seq, head_dim]`.
    pub k: Vec<f32>,
}

impl QueryKey {
    fn from_tensors(q: &Tensor, k: &Tensor) -> Result<Self> {
        let (heads, seq, head_dim) = q.dims3()?;
        let qk = Self { heads, seq, head_dim, q: q.flatten_all()?.to_vec1()?, k: k.flatten_all()?.to_vec1()? };
        if k.dims3()? != (heads, seq, head_dim) || qk.q.len() != qk.k.len() {
            return Err(Error::Compute("queries and keys have different shapes".into()));
        }
        Ok(qk)
    }

    fn row<'a>(&self, data: &'a [f32], head: usize, token: usize) -> Option<&'a [f32]> {
        if head >= self.heads || token >= self.seq {
            return None;
        }
        let start = (head * self.seq + token) * self.head_dim;
        data.get(start..start + self.head_dim)
    }

    /// The query vector of `token` in `head` (`head_dim` values), or `None` when out of range.
    pub fn query(&self, head: usize, token: usize) -> Option<&[f32]> {
        self.row(&self.q, head, token)
    }

    /// The key vector of `token` in `head` (`head_dim` values), or `None` when out of range.
    pub fn key(&self, head: usize, token: usize) -> Option<&[f32]> {
        self.row(&self.k, head, token)
    }
}

/// How far one pass goes and what it keeps besides the attention.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Every layer; also every layer's queries and keys when `qk`.
    Full { qk: bool },
    /// Only what layer `.0`'s queries and keys need: the embeddings, layers `0..layer` (whose
    /// attention is not kept), then the query and key projections of `layer`.
    QueryKeyOf(usize),
}

/// What [`BertEncoder::pass`] returns; which fields are filled depends on the [`Plan`].
struct Pass {
    hidden: Option<Tensor>,
    attention: Option<Attention>,
    qk: Vec<QueryKey>,
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
        let pass = self.pass(ids, type_ids, Plan::Full { qk: false })?;
        Self::output(pass)
    }

    /// [`Self::forward`], also keeping every layer's queries and keys (one per layer, in order).
    pub fn forward_with_qk(&self, ids: &[u32], type_ids: &[u32]) -> Result<(EncoderOutput, Vec<QueryKey>)> {
        let mut pass = self.pass(ids, type_ids, Plan::Full { qk: true })?;
        let qk = std::mem::take(&mut pass.qk);
        Ok((Self::output(pass)?, qk))
    }

    /// The queries and keys of `layer` alone: runs the embeddings and layers `0..layer` only.
    /// An out-of-range `layer` is an error.
    pub fn queries_keys(&self, ids: &[u32], type_ids: &[u32], layer: usize) -> Result<QueryKey> {
        let layers = self.layers.len();
        if layer >= layers {
            return Err(Error::Compute(format!(
                "there is no layer {layer}: this model has {layers} layer(s), numbered from 0"
            )));
        }
        let pass = self.pass(ids, type_ids, Plan::QueryKeyOf(layer))?;
        pass.qk.into_iter().next().ok_or_else(|| Error::Compute(format!("layer {layer} gave no queries")))
    }

    fn output(pass: Pass) -> Result<EncoderOutput> {
        match pass {
            Pass { hidden: Some(hidden), attention: Some(attention), .. } => Ok(EncoderOutput { hidden, attention }),
            _ => Err(Error::Compute("the forward pass stopped early".into())),
        }
    }

    /// The one forward pass behind [`Self::forward`], [`Self::forward_with_qk`] and
    /// [`Self::queries_keys`]. Copies queries and keys out of the tensors only when the plan
    /// asks for them, so a plain forward costs what it always did.
    fn pass(&self, ids: &[u32], type_ids: &[u32], plan: Plan) -> Result<Pass> {
        let n = ids.len();
        let dev = Device::Cpu;
        let ids_t = Tensor::from_slice(ids, n, &dev)?;
        let types_t = Tensor::from_slice(type_ids, n, &dev)?;
        let positions = Tensor::arange(0u32, n as u32, &dev)?;
        let mut x = self.embeddings.forward(&ids_t, &types_t, &positions)?;
        let shape = Shape { layers: self.layers.len(), heads: self.cfg.num_attention_heads, seq: n };
        let mut data = Vec::with_capacity(if matches!(plan, Plan::Full { .. }) { shape.len() } else { 0 });
        let mut qk = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let (q, k) = layer.queries_keys(&x, &self.cfg)?;
            match plan {
                Plan::QueryKeyOf(stop) if stop == i => {
                    qk.push(QueryKey::from_tensors(&q, &k)?);
                    return Ok(Pass { hidden: None, attention: None, qk });
                }
                Plan::Full { qk: true } => qk.push(QueryKey::from_tensors(&q, &k)?),
                _ => {}
            }
            let (next, probs) = layer.attend(&x, &q, &k, &self.cfg)?;
            if let Plan::Full { .. } = plan {
                data.extend(probs.flatten_all()?.to_vec1::<f32>()?);
            }
            x = next;
        }
        let attention = Attention::new(shape, data)
            .ok_or_else(|| Error::Compute("attention has an unexpected size".into()))?;
        Ok(Pass { hidden: Some(x), attention: Some(attention), qk })
    }
}
