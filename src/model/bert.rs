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
//!
//! The pass runs on plain `f32` buffers, allocated once per pass and reused by every layer,
//! with the weights read in place from the checkpoint's tensors (never copied or repacked, so
//! loading costs no second copy). The arithmetic is [`super::kernels`]: in wasm all of it,
//! natively everything but the matrix products, which stay candle's (its `gemm` crate uses
//! AVX2/AVX-512 and FMA there; simd128 has neither). Each head's attention is computed from
//! the `[seq, hidden]` queries and keys in place, and written straight into the returned
//! [`Attention`]. When only attention is wanted ([`Encoder::attention`]), the last layer stops
//! after its probabilities: its values, output projection, LayerNorm and feed-forward would be
//! thrown away.

use candle_core::{CpuStorage, DType, Device, Storage, StorageRef, Tensor};

use super::kernels;
#[cfg(target_arch = "wasm32")]
use super::kernels::Mat;
use super::{Activation, Checkpoint, Config, Error, Family, Part, Positions, Result};
use crate::attention::{Attention, Shape};

/// A weight tensor, shared with the checkpoint (not copied: the page holds one copy of the
/// weights), read in place as an `f32` slice while a pass runs.
struct Param {
    tensor: Tensor,
    len: usize,
}

/// A [`Param`] borrowed for one kernel call.
struct Read<'a> {
    guard: StorageRef<'a>,
    start: usize,
    len: usize,
}

impl Read<'_> {
    /// The values; empty if the storage is not CPU f32 ([`Param::get`] rules that out).
    fn slice(&self) -> &[f32] {
        match &*self.guard {
            Storage::Cpu(CpuStorage::F32(v)) => {
                v.get(self.start..self.start + self.len).unwrap_or(&[])
            }
            _ => &[],
        }
    }
}

impl Param {
    /// The checkpoint's tensor `name`, checked against `dims`: contiguous f32 on the CPU.
    fn get(ck: &Checkpoint, name: &str, dims: &[usize]) -> Result<Self> {
        let tensor = ck.get(name, dims)?;
        let len = tensor.elem_count();
        let p = Self { tensor, len };
        if p.tensor.dtype() != DType::F32
            || !p.tensor.is_contiguous()
            || p.read().slice().len() != len
        {
            return Err(Error::Weights(format!(
                "tensor \"{name}\" is not a contiguous f32 tensor"
            )));
        }
        Ok(p)
    }

    fn read(&self) -> Read<'_> {
        let (guard, layout) = self.tensor.storage_and_layout();
        Read {
            guard,
            start: layout.start_offset(),
            len: self.len,
        }
    }
}

/// PyTorch's `Linear`: `weight` is `[out, in]`.
struct Linear {
    weight: Param,
    bias: Param,
    out: usize,
}

impl Linear {
    fn load(ck: &Checkpoint, name: &str, out: usize, inp: usize) -> Result<Self> {
        Ok(Self {
            weight: Param::get(ck, &format!("{name}.weight"), &[out, inp])?,
            bias: Param::get(ck, &format!("{name}.bias"), &[out])?,
            out,
        })
    }

    /// `out[..rows × out] = x @ weightᵀ + bias (+ residual)`.
    ///
    /// In wasm this is [`kernels::linear`]. Natively it is candle's matmul (the `gemm` crate,
    /// which picks AVX2 or AVX-512 with FMA at run time, and may use several threads): the
    /// portable kernel only has the 4-lane SSE2 baseline there and is about 4× slower.
    fn forward(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        residual: Option<&[f32]>,
    ) -> Result<()> {
        let m = self.out;
        let out = out
            .get_mut(..rows * m)
            .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
        #[cfg(target_arch = "wasm32")]
        {
            let (w, b) = (self.weight.read(), self.bias.read());
            kernels::parallel::linear(x, rows, w.slice(), b.slice(), out, residual)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let k = self.weight.tensor.dim(1)?;
            let x = x
                .get(..rows * k)
                .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
            let y = Tensor::from_slice(x, (rows, k), &Device::Cpu)?.matmul(&self.weight.tensor.t()?)?;
            let b = self.bias.read();
            let b = b.slice();
            with_values(&y, |y| {
                if m == 0 || y.len() != out.len() || b.len() != m || residual.is_some_and(|r| r.len() < out.len()) {
                    return Err(Error::Compute("a linear layer has an unexpected shape".into()));
                }
                // Row by row, so that the bias is a slice the loop walks beside the row.
                let rows = out.chunks_exact_mut(m).zip(y.chunks_exact(m));
                match residual {
                    None => rows.for_each(|(o, y)| {
                        o.iter_mut().zip(y).zip(b).for_each(|((o, v), b)| *o = v + b)
                    }),
                    Some(res) => rows.zip(res.chunks_exact(m)).for_each(|((o, y), r)| {
                        o.iter_mut().zip(y).zip(b).zip(r).for_each(|(((o, v), b), r)| *o = (v + b) + r)
                    }),
                }
                Ok(())
            })
        }
    }
}

impl Linear {
    /// [`Self::forward`] of `self` and `other` on the same input, without residuals: in wasm, the
    /// two split over the threads together ([`kernels::parallel::linears`]).
    fn forward_pair(&self, other: &Linear, x: &[f32], rows: usize, out: &mut [f32], out_other: &mut [f32]) -> Result<()> {
        #[cfg(target_arch = "wasm32")]
        {
            let small = || Error::Compute("a buffer is too small".into());
            let (out, out_other) = (
                out.get_mut(..rows * self.out).ok_or_else(small)?,
                out_other.get_mut(..rows * other.out).ok_or_else(small)?,
            );
            let (w, b, w2, b2) = (self.weight.read(), self.bias.read(), other.weight.read(), other.bias.read());
            let mut jobs = [
                kernels::parallel::Job { w: w.slice(), bias: b.slice(), out },
                kernels::parallel::Job { w: w2.slice(), bias: b2.slice(), out: out_other },
            ];
            kernels::parallel::linears(x, rows, &mut jobs)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.forward(x, rows, out, None)?;
            other.forward(x, rows, out_other, None)
        }
    }
}

struct LayerNorm {
    weight: Param,
    bias: Param,
    eps: f32,
}

impl LayerNorm {
    fn load(ck: &Checkpoint, name: &str, size: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: Param::get(ck, &format!("{name}.weight"), &[size])?,
            bias: Param::get(ck, &format!("{name}.bias"), &[size])?,
            eps: eps as f32,
        })
    }

    /// Normalises each row of `x` in place.
    fn forward(&self, x: &mut [f32]) -> Result<()> {
        let (w, b) = (self.weight.read(), self.bias.read());
        kernels::parallel::layer_norm_rows(x, w.slice().len(), w.slice(), b.slice(), self.eps)
    }
}

/// An embedding table `[rows, dim]`.
struct Embedding {
    table: Param,
    rows: usize,
    dim: usize,
}

impl Embedding {
    fn load(ck: &Checkpoint, name: &str, rows: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            table: Param::get(ck, &format!("{name}.weight"), &[rows, dim])?,
            rows,
            dim,
        })
    }

    /// Adds row `ids[i]` to row `i` of `x` (`[ids.len(), dim]`).
    fn add_to(&self, ids: &[u32], x: &mut [f32], what: &str) -> Result<()> {
        let t = self.table.read();
        let t = t.slice();
        for (row, &id) in x.chunks_exact_mut(self.dim).zip(ids) {
            let id = id as usize;
            let src = t
                .get(id * self.dim..(id + 1) * self.dim)
                .filter(|_| id < self.rows)
                .ok_or_else(|| {
                    Error::Compute(format!(
                        "{what} {id} is outside the model's table of {} rows",
                        self.rows
                    ))
                })?;
            for (v, e) in row.iter_mut().zip(src) {
                *v += e;
            }
        }
        Ok(())
    }
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
        let token_type = if cfg.family.has_token_type_embeddings()
            && ck.contains("embeddings.token_type_embeddings.weight")
        {
            Some(Embedding::load(
                ck,
                "embeddings.token_type_embeddings",
                cfg.type_vocab_size,
                e,
            )?)
        } else {
            None
        };
        let projection = if cfg.family.projects_embeddings() {
            Some(Linear::load(
                ck,
                Family::EMBEDDING_PROJECTION,
                cfg.hidden_size,
                e,
            )?)
        } else {
            None
        };
        Ok(Self {
            word: Embedding::load(ck, "embeddings.word_embeddings", cfg.vocab_size, e)?,
            position: Embedding::load(
                ck,
                "embeddings.position_embeddings",
                cfg.max_position_embeddings,
                e,
            )?,
            token_type,
            norm: LayerNorm::load(ck, "embeddings.LayerNorm", e, cfg.layer_norm_eps)?,
            projection,
        })
    }

    /// `LayerNorm(word + type + position)` in Hugging Face's order of additions, projected to
    /// the hidden size when the family does that: `[seq, hidden]`.
    fn forward(
        &self,
        ids: &[u32],
        type_ids: &[u32],
        positions: &[u32],
        cfg: &Config,
    ) -> Result<Vec<f32>> {
        let n = ids.len();
        let mut x = vec![0.0f32; n * self.word.dim];
        self.word.add_to(ids, &mut x, "token id")?;
        if let Some(tt) = &self.token_type {
            tt.add_to(type_ids, &mut x, "segment id")?;
        }
        self.position.add_to(positions, &mut x, "position")?;
        self.norm.forward(&mut x)?;
        match &self.projection {
            Some(p) => {
                let mut h = vec![0.0f32; n * cfg.hidden_size];
                p.forward(&x, n, &mut h, None)?;
                Ok(h)
            }
            None => Ok(x),
        }
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

/// The buffers of one pass, sized once and reused by every layer.
struct Work {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The values transposed, `[hidden, seq]`: head `h` is rows `h·d..(h+1)·d`.
    vt: Vec<f32>,
    ctx: Vec<f32>,
    /// The attention block's output (after its LayerNorm), the feed-forward's input.
    mid: Vec<f32>,
    /// The feed-forward's intermediate activations, `[seq, intermediate]`.
    ffn: Vec<f32>,
}

impl Work {
    fn new(n: usize, cfg: &Config) -> Self {
        let nh = n * cfg.hidden_size;
        Self {
            q: vec![0.0; nh],
            k: vec![0.0; nh],
            v: vec![0.0; nh],
            vt: vec![0.0; nh],
            ctx: vec![0.0; nh],
            mid: vec![0.0; nh],
            ffn: vec![0.0; n * cfg.intermediate_size],
        }
    }
}

impl Layer {
    /// Loads weight set `set` ([`Config::layer_prefix`]).
    fn load(ck: &Checkpoint, cfg: &Config, set: usize) -> Result<Self> {
        let (h, m, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let prefix = cfg.layer_prefix(set);
        let name = |part: Part| format!("{prefix}{}", cfg.family.layer_part(part));
        Ok(Self {
            query: Linear::load(ck, &name(Part::Query), h, h)?,
            key: Linear::load(ck, &name(Part::Key), h, h)?,
            value: Linear::load(ck, &name(Part::Value), h, h)?,
            attn_out: Linear::load(ck, &name(Part::AttnOut), h, h)?,
            attn_norm: LayerNorm::load(ck, &name(Part::AttnNorm), h, eps)?,
            ffn_in: Linear::load(ck, &name(Part::FfnIn), m, h)?,
            ffn_out: Linear::load(ck, &name(Part::FfnOut), h, m)?,
            ffn_norm: LayerNorm::load(ck, &name(Part::FfnNorm), h, eps)?,
        })
    }

    /// This layer's queries and keys for `x` (`[seq, hidden]`) into `w.q` and `w.k`, after the
    /// bias and before any scaling (Hugging Face's `self.query(x)` / `self.key(x)`).
    fn queries_keys(&self, x: &[f32], n: usize, w: &mut Work) -> Result<()> {
        self.query.forward_pair(&self.key, x, n, &mut w.q, &mut w.k)
    }

    /// The attention probabilities `[heads, seq, seq]` into `probs`, from [`Self::queries_keys`].
    fn probabilities(&self, n: usize, cfg: &Config, w: &Work, probs: &mut [f32]) -> Result<()> {
        // Each head's softmax right after its scores, while they are still in cache.
        scores(&w.q, &w.k, n, cfg, probs, |p| kernels::softmax(p, n))
    }

    /// The rest of the layer, given `x` and its [`Self::probabilities`]: replaces `x` with the
    /// layer's output.
    fn finish(
        &self,
        x: &mut [f32],
        n: usize,
        cfg: &Config,
        w: &mut Work,
        probs: &[f32],
    ) -> Result<()> {
        self.value.forward(x, n, &mut w.v, None)?;
        context(probs, &w.v, n, cfg, &mut w.vt, &mut w.ctx)?;
        self.attn_out.forward(&w.ctx, n, &mut w.mid, Some(x))?;
        self.attn_norm.forward(&mut w.mid)?;
        self.ffn_in.forward(&w.mid, n, &mut w.ffn, None)?;
        activate(&mut w.ffn, cfg.hidden_act)?;
        self.ffn_out.forward(&w.ffn, n, x, Some(&w.mid))?;
        self.ffn_norm.forward(x)
    }
}

/// Every head's scaled scores `q·kᵀ / √d` into `out` (`[heads, seq, seq]`), from queries and
/// keys `[seq, hidden]`, each head then passed to `then`. Hugging Face scales the product (not
/// q), so this does the same to stay bit-close. In wasm, each head is read in place (a column
/// stripe of `q` and `k`), the heads split over the threads.
#[cfg(target_arch = "wasm32")]
fn scores(
    q: &[f32],
    k: &[f32],
    n: usize,
    cfg: &Config,
    out: &mut [f32],
    then: impl Fn(&mut [f32]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let (h, d) = (cfg.hidden_size, cfg.head_dim());
    let scale = (1.0 / (d as f64).sqrt()) as f32;
    let work = cfg.num_attention_heads * n * n * d;
    kernels::parallel::planes(out, n * n, cfg.num_attention_heads, work, |head, p| {
        let (q, k) = (
            Mat::columns(q, n, head * d, d, h),
            Mat::columns(k, n, head * d, d, h),
        );
        kernels::matmul_t(q, k, p, n, |_, _, s| s * scale)?;
        then(p)
    })
}

/// The attention's output `[seq, hidden]` into `ctx`: each head's probabilities times its
/// values (`v` is `[seq, hidden]`; `vt` receives it transposed, so that each head's values
/// are rows the kernel reads in place).
#[cfg(target_arch = "wasm32")]
fn context(
    probs: &[f32],
    v: &[f32],
    n: usize,
    cfg: &Config,
    vt: &mut [f32],
    ctx: &mut [f32],
) -> Result<()> {
    let (h, d) = (cfg.hidden_size, cfg.head_dim());
    kernels::transpose(v, n, h, vt)?;
    let vt = &*vt;
    // Head `head`'s output, `[seq, d]` with rows `ldo` apart.
    let one = |head: usize, out: &mut [f32], ldo: usize| {
        let p = probs
            .get(head * n * n..(head + 1) * n * n)
            .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
        let vt = Mat::new(vt.get(head * d * n..).unwrap_or(&[]), d, n);
        kernels::matmul_t(Mat::new(p, n, n), vt, out, ldo, |_, _, s| s)
    };
    let heads = cfg.num_attention_heads;
    if kernels::parallel::worth_splitting(heads * n * n * d) {
        return kernels::parallel::head_columns(ctx, n, h, heads, d, |head, block| one(head, block, d));
    }
    for head in 0..heads {
        one(head, ctx.get_mut(head * d..).unwrap_or(&mut []), h)?;
    }
    Ok(())
}

/// `[seq, hidden]` as a `[heads, seq, head_dim]` tensor (native builds).
#[cfg(not(target_arch = "wasm32"))]
fn split_heads(x: &[f32], n: usize, cfg: &Config) -> Result<Tensor> {
    let (heads, d) = (cfg.num_attention_heads, cfg.head_dim());
    let x = x
        .get(..n * heads * d)
        .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
    Ok(Tensor::from_slice(x, (n, heads, d), &Device::Cpu)?
        .transpose(0, 1)?
        .contiguous()?)
}

/// `f` on a tensor's values in place (read from its storage, not copied out): matrix products'
/// results are contiguous f32 tensors, and copying them out (`to_vec1`) cost a pass over each
/// and a fresh allocation, whose page faults natively were a visible share of a long input's run.
#[cfg(not(target_arch = "wasm32"))]
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    if !t.is_contiguous() {
        return f(&t.flatten_all()?.to_vec1::<f32>()?);
    }
    let (storage, layout) = t.storage_and_layout();
    let start = layout.start_offset();
    match &*storage {
        Storage::Cpu(CpuStorage::F32(v)) => match v.get(start..start + t.elem_count()) {
            Some(v) => f(v),
            None => Err(Error::Compute("a product has an unexpected size".into())),
        },
        _ => Err(Error::Compute("a product is not f32 on the CPU".into())),
    }
}

/// Native [`scores`]: candle's batched matmul over heads (AVX2/AVX-512 kernels), scaled as it
/// is copied into `out` (one pass, no second tensor for the scaled product).
#[cfg(not(target_arch = "wasm32"))]
fn scores(
    q: &[f32],
    k: &[f32],
    n: usize,
    cfg: &Config,
    out: &mut [f32],
    then: impl Fn(&mut [f32]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let (q, k) = (split_heads(q, n, cfg)?, split_heads(k, n, cfg)?);
    let products = q.matmul(&k.t()?)?;
    // As Hugging Face: the product scaled, rounded once more (not q scaled beforehand).
    let scale = (1.0 / (cfg.head_dim() as f64).sqrt()) as f32;
    with_values(&products, |v| {
        let out = out
            .get_mut(..v.len())
            .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
        out.iter_mut().zip(v).for_each(|(o, v)| *o = v * scale);
        Ok(())
    })?;
    let work = cfg.num_attention_heads * n * n * cfg.head_dim();
    kernels::parallel::planes(out, n * n, cfg.num_attention_heads, work, |_, p| then(p))
}

/// Native [`context`], with candle's batched matmul; each head's `[seq, head_dim]` result is
/// copied straight into its columns of `ctx` (`[seq, hidden]`).
#[cfg(not(target_arch = "wasm32"))]
fn context(
    probs: &[f32],
    v: &[f32],
    n: usize,
    cfg: &Config,
    _vt: &mut [f32],
    ctx: &mut [f32],
) -> Result<()> {
    let (heads, d, h) = (cfg.num_attention_heads, cfg.head_dim(), cfg.hidden_size);
    let probs = probs
        .get(..heads * n * n)
        .ok_or_else(|| Error::Compute("a buffer is too small".into()))?;
    let p = Tensor::from_slice(probs, (heads, n, n), &Device::Cpu)?;
    let per_head = p.matmul(&split_heads(v, n, cfg)?)?;
    with_values(&per_head, |r| {
        let small = || Error::Compute("a buffer is too small".into());
        if r.len() != heads * n * d {
            return Err(small());
        }
        if n == 0 || d == 0 {
            return Ok(());
        }
        for (i, head_rows) in r.chunks_exact(n * d).enumerate() {
            for (t, row) in head_rows.chunks_exact(d).enumerate() {
                ctx.get_mut(t * h + i * d..t * h + (i + 1) * d).ok_or_else(small)?.copy_from_slice(row);
            }
        }
        Ok(())
    })
}

/// Exact (erf) GELU. In wasm, [`kernels::gelu_erf`]: a vectorised rational erf within
/// 1.5e-7 (the scalar erf it replaces was a visible share of a 32-token pass). Natively,
/// candle's scalar erf, exact to f32: there the matrix products are candle's too, with FMA and
/// another summation order, and with both approximations the queries of the 232-token golden
/// case drift to 1.02e-5 of PyTorch's, just over the tests' 1e-5 (8.9e-6 with the exact erf;
/// wasm, with its own order, stays at 7.4e-6 with the approximation).
#[cfg(target_arch = "wasm32")]
fn gelu(x: &mut [f32]) {
    kernels::gelu_erf(x)
}

#[cfg(not(target_arch = "wasm32"))]
fn gelu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v =
            (candle_core::cpu::erf::erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * *v;
    }
}

/// The activation in place, element-wise, the elements split over the threads (pieces of whole
/// 4-lane chunks, so each value takes the path it takes on one thread).
fn activate(x: &mut [f32], act: Activation) -> Result<()> {
    kernels::parallel::rows(x, 4, |x| {
        match act {
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => kernels::gelu_tanh(x),
            Activation::Relu => kernels::relu(x),
            Activation::Silu => kernels::silu(x),
        }
        Ok(())
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
    /// Splits `[seq, hidden]` queries and keys per head.
    fn from_rows(q: &[f32], k: &[f32], seq: usize, cfg: &Config) -> Result<Self> {
        let (heads, head_dim, h) = (cfg.num_attention_heads, cfg.head_dim(), cfg.hidden_size);
        if q.len() < seq * h || k.len() < seq * h || heads * head_dim > h {
            return Err(Error::Compute(
                "queries and keys have different shapes".into(),
            ));
        }
        let split = |x: &[f32]| {
            let mut out = Vec::with_capacity(heads * seq * head_dim);
            for head in 0..heads {
                for row in x.chunks_exact(h).take(seq) {
                    out.extend_from_slice(&row[head * head_dim..(head + 1) * head_dim]);
                }
            }
            out
        };
        Ok(Self {
            heads,
            seq,
            head_dim,
            q: split(q),
            k: split(k),
        })
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
    /// Every layer's attention; also every layer's queries and keys when `qk`, and the last
    /// hidden state when `hidden` (without it, the last layer stops at its attention: its
    /// values, output, LayerNorm and feed-forward would be thrown away).
    Full { qk: bool, hidden: bool },
    /// Only what layer `.0`'s queries and keys need: the embeddings, layers `0..layer` (whose
    /// attention is not kept), then the query and key projections of `layer`.
    QueryKeyOf(usize),
}

/// What [`Encoder::pass`] returns; which fields are filled depends on the [`Plan`].
struct Pass {
    hidden: Option<Vec<f32>>,
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
    /// A finished run's attention buffer, given back to hold the next run's ([`Self::reuse`]).
    spare: std::sync::Mutex<Vec<f32>>,
}

impl Encoder {
    /// Builds the encoder from a checkpoint, checking every tensor's shape against `cfg`.
    /// Shared layers are loaded once. The weights are shared with `ck`, not copied.
    pub fn load(ck: &Checkpoint, cfg: &Config) -> Result<Self> {
        let mut weights = Vec::new();
        for set in 0..cfg.weight_sets() {
            weights.push(Layer::load(ck, cfg, set)?);
        }
        if cfg.layer_weights().iter().any(|&w| w >= weights.len()) {
            return Err(Error::Config(
                "a layer runs a weight set the model does not have".into(),
            ));
        }
        Ok(Self {
            cfg: cfg.clone(),
            embeddings: Embeddings::load(ck, cfg)?,
            weights,
            spare: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Keeps `data` (an attention no longer wanted) to hold the next run's attention. A run's
    /// attention is large (bert-base at 512 tokens: 151 MB), and natively a fresh allocation of
    /// that size is fresh pages from the system, each faulted in and zeroed by the kernel as
    /// the layers write it: 13 % of a 512-token MiniLM run. Only the latest buffer is kept.
    pub fn reuse(&self, data: Vec<f32>) {
        if let Ok(mut spare) = self.spare.lock() {
            *spare = data;
        }
    }

    /// The spare buffer, emptied, if it can hold `len` values without holding much more than
    /// that (a 512-token run's buffer is not kept alive by a 16-token run); else a new one.
    fn take_spare(&self, len: usize) -> Vec<f32> {
        let mut data = self.spare.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
        if data.capacity() < len || data.capacity() / 4 > len {
            return Vec::new();
        }
        data.clear();
        data
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The layers in the order they run (shared weight sets appear more than once).
    fn layers(&self) -> impl Iterator<Item = Result<&Layer>> {
        self.cfg.layer_weights().iter().map(|&w| {
            self.weights
                .get(w)
                .ok_or_else(|| Error::Compute(format!("weight set {w} is missing")))
        })
    }

    /// Runs one unpadded sequence (batch of one, so no attention mask is needed).
    /// The caller guarantees `ids.len() <= cfg.max_tokens()` and valid ids
    /// ([`super::Engine`] does); out-of-range ids are reported as an error.
    /// `type_ids` are the tokenizer's segment ids; families that do not take them
    /// ([`Family::uses_segment_ids`]) ignore them.
    pub fn forward(&self, ids: &[u32], type_ids: &[u32]) -> Result<EncoderOutput> {
        let pass = self.pass(
            ids,
            type_ids,
            Plan::Full {
                qk: false,
                hidden: true,
            },
        )?;
        self.output(pass)
    }

    /// [`Self::forward`], also keeping every layer's queries and keys (one per layer, in order).
    pub fn forward_with_qk(
        &self,
        ids: &[u32],
        type_ids: &[u32],
    ) -> Result<(EncoderOutput, Vec<QueryKey>)> {
        let mut pass = self.pass(
            ids,
            type_ids,
            Plan::Full {
                qk: true,
                hidden: true,
            },
        )?;
        let qk = std::mem::take(&mut pass.qk);
        Ok((self.output(pass)?, qk))
    }

    /// Every layer's attention (and, when `qk`, every layer's queries and keys) without the
    /// last hidden state: the same numbers as [`Self::forward`], with the last layer's work
    /// after its attention skipped.
    pub fn attention(
        &self,
        ids: &[u32],
        type_ids: &[u32],
        qk: bool,
    ) -> Result<(Attention, Vec<QueryKey>)> {
        let pass = self.pass(ids, type_ids, Plan::Full { qk, hidden: false })?;
        match pass {
            Pass {
                attention: Some(attention),
                qk,
                ..
            } => Ok((attention, qk)),
            _ => Err(Error::Compute("the forward pass stopped early".into())),
        }
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
        pass.qk
            .into_iter()
            .next()
            .ok_or_else(|| Error::Compute(format!("layer {layer} gave no queries")))
    }

    fn output(&self, pass: Pass) -> Result<EncoderOutput> {
        match pass {
            Pass {
                hidden: Some(hidden),
                attention: Some(attention),
                ..
            } => {
                let n = attention.shape().seq;
                let hidden = Tensor::from_vec(hidden, (n, self.cfg.hidden_size), &Device::Cpu)?;
                Ok(EncoderOutput { hidden, attention })
            }
            _ => Err(Error::Compute("the forward pass stopped early".into())),
        }
    }

    /// Position ids of an unpadded input ([`Positions`]).
    fn position_ids(&self, ids: &[u32]) -> Result<Vec<u32>> {
        let n = ids.len();
        match self.cfg.positions {
            Positions::FromZero => {
                let end = u32::try_from(n)
                    .map_err(|_| Error::Compute(format!("{n} tokens are too many")))?;
                Ok((0..end).collect())
            }
            Positions::AfterPadding(pad) => {
                let mut last = pad;
                Ok(ids
                    .iter()
                    .map(|&id| {
                        if id == pad {
                            pad
                        } else {
                            last = last.saturating_add(1);
                            last
                        }
                    })
                    .collect())
            }
        }
    }

    /// The one forward pass behind [`Self::forward`], [`Self::attention`] and
    /// [`Self::queries_keys`], on a thread of the kernels' pool when there is one.
    fn pass(&self, ids: &[u32], type_ids: &[u32], plan: Plan) -> Result<Pass> {
        kernels::parallel::on_pool(|| self.pass_here(ids, type_ids, plan))
    }

    /// [`Self::pass`] on the calling thread. Copies queries and keys out only when the plan
    /// asks for them, and writes each layer's probabilities straight into the attention it
    /// returns.
    fn pass_here(&self, ids: &[u32], type_ids: &[u32], plan: Plan) -> Result<Pass> {
        let n = ids.len();
        let zeros;
        let type_ids = if self.cfg.family.uses_segment_ids() {
            if type_ids.len() != n {
                return Err(Error::Compute(format!(
                    "{n} tokens but {} segment ids",
                    type_ids.len()
                )));
            }
            type_ids
        } else {
            // RoBERTa adds its one segment row to every token; DistilBERT ignores this.
            zeros = vec![0u32; n];
            &zeros
        };
        let positions = self.position_ids(ids)?;
        let mut x = self
            .embeddings
            .forward(ids, type_ids, &positions, &self.cfg)?;
        let shape = Shape {
            layers: self.cfg.num_hidden_layers,
            heads: self.cfg.num_attention_heads,
            seq: n,
        };
        let plane = shape
            .heads
            .checked_mul(n)
            .and_then(|v| v.checked_mul(n))
            .ok_or_else(|| {
                Error::Compute(format!("the attention of {n} tokens is too large to hold"))
            })?;
        let mut data = Vec::new();
        if let Plan::Full { .. } = plan {
            let len = shape.layers.checked_mul(plane).ok_or_else(|| {
                Error::Compute(format!("the attention of {n} tokens is too large to hold"))
            })?;
            data = self.take_spare(len);
            data.try_reserve_exact(len).map_err(|_| {
                Error::Compute(format!(
                    "not enough memory for the attention of {n} tokens ({} layers × {} heads × {n}²)",
                    shape.layers, shape.heads
                ))
            })?;
            data.resize(len, 0.0);
        }
        let mut work = Work::new(n, &self.cfg);
        let mut qk = Vec::new();
        let mut scratch = Vec::new();
        let last = shape.layers.saturating_sub(1);
        for (i, layer) in self.layers().enumerate() {
            let layer = layer?;
            layer.queries_keys(&x, n, &mut work)?;
            match plan {
                Plan::QueryKeyOf(stop) if stop == i => {
                    qk.push(QueryKey::from_rows(&work.q, &work.k, n, &self.cfg)?);
                    return Ok(Pass {
                        hidden: None,
                        attention: None,
                        qk,
                    });
                }
                Plan::Full { qk: true, .. } => {
                    qk.push(QueryKey::from_rows(&work.q, &work.k, n, &self.cfg)?)
                }
                _ => {}
            }
            // The plan QueryKeyOf keeps no attention, but the layers before `stop` need theirs.
            let probs = match plan {
                Plan::Full { .. } => data.get_mut(i * plane..(i + 1) * plane),
                Plan::QueryKeyOf(_) => {
                    scratch.resize(plane, 0.0);
                    Some(&mut scratch[..])
                }
            }
            .ok_or_else(|| Error::Compute("attention has an unexpected size".into()))?;
            layer.probabilities(n, &self.cfg, &work, probs)?;
            if i == last && matches!(plan, Plan::Full { hidden: false, .. }) {
                break;
            }
            layer.finish(&mut x, n, &self.cfg, &mut work, probs)?;
        }
        let attention = Attention::new(shape, data)
            .ok_or_else(|| Error::Compute("attention has an unexpected size".into()))?;
        let hidden = matches!(plan, Plan::Full { hidden: true, .. }).then_some(x);
        Ok(Pass {
            hidden,
            attention: Some(attention),
            qk,
        })
    }
}
