//! The encoder of every family the engine runs, returning its attention probabilities.
//!
//! BERT, DistilBERT, RoBERTa and ALBERT are the same post-LayerNorm Transformer encoder with
//! small differences ([`super::Family`]): which embeddings are summed, how positions are
//! numbered, whether embeddings are projected up, and whether layers share weights. One
//! forward pass covers them all:
//!
//! - Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
//!   Understanding", <https://arxiv.org/abs/1810.04805> (Hugging Face's `BertModel`);
//! - Sanh et al. 2019, "DistilBERT, a distilled version of BERT: smaller, faster, cheaper and
//!   lighter", <https://arxiv.org/abs/1910.01108> (`DistilBertModel`: no segment embeddings);
//! - Liu et al. 2019, "RoBERTa: A Robustly Optimized BERT Pretraining Approach",
//!   <https://arxiv.org/abs/1907.11692> (`RobertaModel`: positions after the padding index);
//! - Lan et al. 2020, "ALBERT: A Lite BERT for Self-supervised Learning of Language
//!   Representations", <https://arxiv.org/abs/1909.11942> (`AlbertModel`: factorised
//!   embeddings, one layer group applied again and again).
//!
//! The pass follows those Hugging Face classes (eager attention) operation for operation,
//! because the numbers are checked against them to 1e-5. candle-transformers' models compute
//! the same softmax but drop it, which is why this file exists.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, Module};

use super::{Activation, Checkpoint, Config, Error, Family, Part, Positions, Result};
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
    /// None for DistilBERT, and for the few BERT exports that dropped an unused table.
    token_type: Option<Embedding>,
    norm: LayerNorm,
    /// ALBERT's `encoder.embedding_hidden_mapping_in`, from `embedding_size` to `hidden_size`.
    projection: Option<Linear>,
}

impl Embeddings {
    fn load(ck: &Checkpoint, cfg: &Config) -> Result<Self> {
        let e = cfg.embedding_size;
        let token_type = if cfg.family.has_token_type_embeddings() && ck.contains("embeddings.token_type_embeddings.weight") {
            Some(embedding(ck, "embeddings.token_type_embeddings", cfg.type_vocab_size, e)?)
        } else {
            None
        };
        let projection = if cfg.family.projects_embeddings() {
            Some(linear(ck, Family::EMBEDDING_PROJECTION, cfg.hidden_size, e)?)
        } else {
            None
        };
        Ok(Self {
            word: embedding(ck, "embeddings.word_embeddings", cfg.vocab_size, e)?,
            position: embedding(ck, "embeddings.position_embeddings", cfg.max_position_embeddings, e)?,
            token_type,
            norm: layer_norm(ck, "embeddings.LayerNorm", e, cfg.layer_norm_eps)?,
            projection,
        })
    }

    /// `LayerNorm(word + type + position)` in Hugging Face's order of additions, projected to
    /// the hidden size when the family does that.
    fn forward(&self, ids: &Tensor, type_ids: &Tensor, positions: &Tensor) -> Result<Tensor> {
        let mut x = self.word.forward(ids)?;
        if let Some(tt) = &self.token_type {
            x = x.add(&tt.forward(type_ids)?)?;
        }
        x = x.add(&self.position.forward(positions)?)?;
        x = self.norm.forward(&x)?;
        if let Some(p) = &self.projection {
            x = p.forward(&x)?;
        }
        Ok(x)
    }
}

/// One transformer layer's weights. Every family's layer is this one (post-LN attention, then
/// post-LN feed-forward), under its own tensor names ([`Family::layer_part`]).
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: LayerNorm,
}

impl Layer {
    /// Loads weight set `set` ([`Config::layer_prefix`]).
    fn load(ck: &Checkpoint, cfg: &Config, set: usize) -> Result<Self> {
        let (h, m, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let prefix = cfg.layer_prefix(set);
        let name = |part: Part| format!("{prefix}{}", cfg.family.layer_part(part));
        Ok(Self {
            query: linear(ck, &name(Part::Query), h, h)?,
            key: linear(ck, &name(Part::Key), h, h)?,
            value: linear(ck, &name(Part::Value), h, h)?,
            attn_out: linear(ck, &name(Part::AttnOut), h, h)?,
            attn_norm: layer_norm(ck, &name(Part::AttnNorm), h, eps)?,
            ffn_in: linear(ck, &name(Part::FfnIn), m, h)?,
            ffn_out: linear(ck, &name(Part::FfnOut), h, m)?,
            ffn_norm: layer_norm(ck, &name(Part::FfnNorm), h, eps)?,
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
        let mid = activate(&self.ffn_in.forward(&x)?, cfg.hidden_act)?;
        let out = self.ffn_norm.forward(&(self.ffn_out.forward(&mid)? + &x)?)?;
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

/// What [`Encoder::pass`] returns; which fields are filled depends on the [`Plan`].
struct Pass {
    hidden: Option<Tensor>,
    attention: Option<Attention>,
    qk: Vec<QueryKey>,
}

/// An encoder of any supported family: embeddings, then `num_hidden_layers` post-LN
/// transformer layers, each running one of the checkpoint's layer weight sets (its own, or a
/// shared one for ALBERT).
pub struct Encoder {
    cfg: Config,
    embeddings: Embeddings,
    /// The distinct weight sets; layer `i` runs `weights[cfg.layer_weights()[i]]`.
    weights: Vec<Layer>,
}

impl Encoder {
    /// Builds the encoder from a checkpoint, checking every tensor's shape against `cfg`.
    /// Shared layers are loaded once.
    pub fn load(ck: &Checkpoint, cfg: &Config) -> Result<Self> {
        let mut weights = Vec::new();
        for set in 0..cfg.weight_sets() {
            weights.push(Layer::load(ck, cfg, set)?);
        }
        if cfg.layer_weights().iter().any(|&w| w >= weights.len()) {
            return Err(Error::Config("a layer runs a weight set the model does not have".into()));
        }
        Ok(Self { cfg: cfg.clone(), embeddings: Embeddings::load(ck, cfg)?, weights })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The layers in the order they run (shared weight sets appear more than once).
    fn layers(&self) -> impl Iterator<Item = Result<&Layer>> {
        self.cfg.layer_weights().iter().map(|&w| {
            self.weights.get(w).ok_or_else(|| Error::Compute(format!("weight set {w} is missing")))
        })
    }

    /// Runs one unpadded sequence (batch of one, so no attention mask is needed).
    /// The caller guarantees `ids.len() <= cfg.max_tokens()` and valid ids
    /// ([`super::Engine`] does); out-of-range ids are reported as an error by candle.
    /// `type_ids` are the tokenizer's segment ids; families that do not take them
    /// ([`Family::uses_segment_ids`]) ignore them.
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
        let layers = self.cfg.num_hidden_layers;
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

    /// Position ids of an unpadded input ([`Positions`]).
    fn position_ids(&self, ids: &[u32]) -> Result<Tensor> {
        let dev = Device::Cpu;
        let n = ids.len();
        match self.cfg.positions {
            Positions::FromZero => {
                let end = u32::try_from(n).map_err(|_| Error::Compute(format!("{n} tokens are too many")))?;
                Ok(Tensor::arange(0u32, end, &dev)?)
            }
            Positions::AfterPadding(pad) => {
                let mut last = pad;
                let positions: Vec<u32> = ids
                    .iter()
                    .map(|&id| {
                        if id == pad {
                            pad
                        } else {
                            last = last.saturating_add(1);
                            last
                        }
                    })
                    .collect();
                Ok(Tensor::from_vec(positions, n, &dev)?)
            }
        }
    }

    /// The one forward pass behind [`Self::forward`], [`Self::forward_with_qk`] and
    /// [`Self::queries_keys`]. Copies queries and keys out of the tensors only when the plan
    /// asks for them, so a plain forward costs what it always did.
    fn pass(&self, ids: &[u32], type_ids: &[u32], plan: Plan) -> Result<Pass> {
        let n = ids.len();
        let dev = Device::Cpu;
        let ids_t = Tensor::from_slice(ids, n, &dev)?;
        let types_t = if self.cfg.family.uses_segment_ids() {
            if type_ids.len() != n {
                return Err(Error::Compute(format!("{n} tokens but {} segment ids", type_ids.len())));
            }
            Tensor::from_slice(type_ids, n, &dev)?
        } else {
            // RoBERTa adds its one segment row to every token; DistilBERT ignores this.
            Tensor::zeros(n, DType::U32, &dev)?
        };
        let positions = self.position_ids(ids)?;
        let mut x = self.embeddings.forward(&ids_t, &types_t, &positions)?;
        let shape = Shape { layers: self.cfg.num_hidden_layers, heads: self.cfg.num_attention_heads, seq: n };
        let mut data = Vec::new();
        if let Plan::Full { .. } = plan {
            let len = shape
                .layers
                .checked_mul(shape.heads)
                .and_then(|v| v.checked_mul(n))
                .and_then(|v| v.checked_mul(n))
                .ok_or_else(|| Error::Compute(format!("the attention of {n} tokens is too large to hold")))?;
            data.try_reserve_exact(len).map_err(|_| {
                Error::Compute(format!(
                    "not enough memory for the attention of {n} tokens ({} layers × {} heads × {n}²)",
                    shape.layers, shape.heads
                ))
            })?;
        }
        let mut qk = Vec::new();
        for (i, layer) in self.layers().enumerate() {
            let layer = layer?;
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
