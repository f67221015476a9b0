//! The encoder's arithmetic on plain `f32` slices: matrix products against PyTorch-layout
//! weights, LayerNorm, softmax and the activations, written once for wasm32 + simd128 (the
//! page) and native builds ([`simd::F4`]).
//!
//! Why not candle's ops: at BERT sizes its CPU matmul (the `gemm` crate) spends much of the
//! time outside the multiply-adds on wasm32, and every op allocates a tensor and often copies
//! (`contiguous()`, transposes). Here one forward pass allocates a few buffers and reuses them,
//! and per-head attention reads queries, keys and values in place.
//!
//! Every kernel returns an error rather than panicking when its slices are shorter than the
//! shapes say (they come from a checked config, so that would be a bug, not bad input).

mod simd;
// The same kernels split over threads (cargo feature `threads`; one thread without it).
pub mod parallel;

use simd::F4;

use super::{Error, Result};

/// A row-major matrix view: `rows` rows of `cols` values, row `i` starting at `i * stride`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl<'a> Mat<'a> {
    /// A dense `rows × cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            stride: cols,
        }
    }

    /// Columns `start..start + cols` of every row (a head of a `[seq, hidden]` matrix).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub fn columns(data: &'a [f32], rows: usize, start: usize, cols: usize, stride: usize) -> Self {
        Self {
            data: data.get(start..).unwrap_or(&[]),
            rows,
            cols,
            stride,
        }
    }

    /// Whether every row lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || (self.rows - 1)
                .checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.cols))
                .is_some_and(|end| end <= self.data.len())
    }

    #[inline(always)]
    fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.stride..i * self.stride + self.cols]
    }
}

fn too_short(what: &str) -> Error {
    Error::Compute(format!(
        "internal error: a {what} buffer is smaller than its shape"
    ))
}

/// Rows of the register tile (rows of `a`) and its columns (rows of `w`): 3 × 3 four-lane
/// accumulators, plus the 3 + 1 vectors loaded per step, stay within the 15 SIMD registers V8
/// allocates on x86-64. Measured in Chromium 148 on `[32 or 128, 768] · [768 or 3072, 768]ᵀ`
/// (Zen 4): 3×3 40 GFLOP/s, 2×4 30, 4×3 26, 3×4 25, 4×4 24 (those spill). The bound is what a
/// loop of 12 independent 4-lane multiply-adds with no loads reaches in the same browser
/// (`tests/wasm_bench.rs`, PEAK lines): 46–47 GFLOP/s with mul + add, 57–59 with relaxed
/// SIMD's FMA, i.e. two FMAs per cycle at about 3.6 GHz (/proc/cpuinfo's 2.6 GHz is nominal).
///
/// With relaxed SIMD's multiply-add (feature `relaxed-simd`; no temporary per product, so
/// fewer registers) the same products, same machine and browser, quiet (2026-11-28): 3×3
/// 48–50, 2×4 47–48, 5×2 and 4×2 46–50, 4×4 32–34, 4×3 and 3×4 25–26 (mul + add 3×3: 42 in
/// that run); unrolling `k` by 2 or 4 ran slower (21–35). So the tile stays 3 × 3 in both.
const MR: usize = 3;
const NR: usize = 3;

/// Dot products of `R` rows of `a` with `C` rows of `w` (both `k` long), four lanes at a time.
///
/// Not inlined on purpose: V8 allocates registers per function, and in the large function
/// this would otherwise be inlined into, its loop ran 20–25 % slower (26 against 33 GFLOP/s on
/// a `[96, 768] · [768, 768]ᵀ` product in Node's V8).
///
/// In the `relaxed-simd` build this function is marked for relaxed SIMD, which [`F4::madd`]
/// needs to become one instruction. A per-function attribute rather than RUSTFLAGS, so that
/// cargo reuses the dependencies the plain build compiled (only this crate is compiled again).
/// LLVM's wasm backend has no per-function features, though: it gives the whole module the
/// union, so that build also turns the `pmin`/`pmax` of softmax and GELU into
/// `f32x4.relaxed_min`/`max` (the same values there: they differ only on NaN and signed zeros).
/// Calling it needs no `unsafe`: on wasm an unsupported instruction fails validation of the
/// whole module, it cannot run.
#[inline(never)]
#[cfg_attr(
    all(target_arch = "wasm32", feature = "relaxed-simd"),
    target_feature(enable = "relaxed-simd")
)]
fn tile<const R: usize, const C: usize>(a: [&[f32]; R], w: [&[f32]; C], k: usize) -> [[f32; C]; R] {
    let kc = k / 4;
    // Rows are exactly `k` long (`Mat::row`), so these slices cannot fail, and they tell LLVM
    // that the loop below needs no bounds checks.
    let av: [&[[f32; 4]]; R] = a.map(|s| &s.as_chunks::<4>().0[..kc]);
    let wv: [&[[f32; 4]]; C] = w.map(|s| &s.as_chunks::<4>().0[..kc]);
    let mut acc = [[F4::splat(0.0); C]; R];
    for p in 0..kc {
        let wp: [F4; C] = std::array::from_fn(|c| F4::load(&wv[c][p]));
        for r in 0..R {
            let ap = F4::load(&av[r][p]);
            for c in 0..C {
                acc[r][c] = ap.madd(wp[c], acc[r][c]);
            }
        }
    }
    let mut out = [[0f32; C]; R];
    for r in 0..R {
        for c in 0..C {
            let mut s = acc[r][c].hsum();
            for p in 4 * kc..k {
                s += a[r][p] * w[c][p];
            }
            out[r][c] = s;
        }
    }
    out
}

/// One `R × C` block of [`matmul_t`], at rows `i..` and columns `j..`.
#[inline(always)]
fn block<const R: usize, const C: usize>(
    a: &Mat,
    w: &Mat,
    (i, j): (usize, usize),
    out: &mut [f32],
    ldo: usize,
    f: &impl Fn(usize, usize, f32) -> f32,
) {
    let ar: [&[f32]; R] = std::array::from_fn(|r| a.row(i + r));
    let wr: [&[f32]; C] = std::array::from_fn(|c| w.row(j + c));
    let t = tile::<R, C>(ar, wr, a.cols);
    for (r, row) in t.iter().enumerate() {
        let o = &mut out[(i + r) * ldo + j..(i + r) * ldo + j + C];
        for (c, (slot, &v)) in o.iter_mut().zip(row).enumerate() {
            *slot = f(i + r, j + c, v);
        }
    }
}

/// Every row of `a` against rows `j..j + C` of `w`, by blocks of [`MR`] rows and one block of
/// the 1 or 2 rows left.
#[inline(always)]
fn columns<const C: usize>(
    a: &Mat,
    w: &Mat,
    j: usize,
    out: &mut [f32],
    ldo: usize,
    f: &impl Fn(usize, usize, f32) -> f32,
) {
    let n = a.rows;
    let mut i = 0;
    while i + MR <= n {
        block::<MR, C>(a, w, (i, j), out, ldo, f);
        i += MR;
    }
    match n - i {
        2 => block::<2, C>(a, w, (i, j), out, ldo, f),
        1 => block::<1, C>(a, w, (i, j), out, ldo, f),
        _ => {}
    }
}

/// `out[i * ldo + j] = f(i, j, a.row(i) · w.row(j))` for every row `i` of `a` and row `j` of
/// `w`: `a · wᵀ`, the shape of PyTorch's `Linear` (`w` is `[out, in]`, read in place) and of
/// `q · kᵀ`. `f` adds the bias, a residual or a scale.
///
/// `w`'s rows of one tile (3 × 3 KB at BERT's 768) stay in L1 while every row of `a` passes;
/// blocking over `k` as well (384 at a time, for `[128, 3072]` inputs) measured no faster.
pub fn matmul_t(
    a: Mat,
    w: Mat,
    out: &mut [f32],
    ldo: usize,
    f: impl Fn(usize, usize, f32) -> f32,
) -> Result<()> {
    let (n, m) = (a.rows, w.rows);
    if a.cols != w.cols || !a.fits() || !w.fits() {
        return Err(too_short("matrix"));
    }
    if n > 0 && m > 0 && ((n - 1) * ldo + m > out.len() || m > ldo) {
        return Err(too_short("product"));
    }
    let mut j = 0;
    while j + NR <= m {
        columns::<NR>(&a, &w, j, out, ldo, &f);
        j += NR;
    }
    match m - j {
        2 => columns::<2>(&a, &w, j, out, ldo, &f),
        1 => columns::<1>(&a, &w, j, out, ldo, &f),
        _ => {}
    }
    Ok(())
}

/// `x @ wᵀ + bias` (+ `residual`), PyTorch's `Linear` with `w` as `[out, in]`: `x` is
/// `[rows, in]`, `out` and `residual` `[rows, out]`. The residual is added after the bias, as
/// `dense(x) + residual` does. Native builds run their linear layers through candle instead
/// (see `bert.rs`); there this is the tests' reference.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn linear(
    x: &[f32],
    rows: usize,
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    residual: Option<&[f32]>,
) -> Result<()> {
    let m = bias.len();
    let k = w.len().checked_div(m).unwrap_or(0);
    if k * m != w.len()
        || x.len() < rows * k
        || out.len() < rows * m
        || residual.is_some_and(|r| r.len() < rows * m)
    {
        return Err(too_short("linear"));
    }
    let (a, w) = (Mat::new(x, rows, k), Mat::new(w, m, k));
    match residual {
        None => matmul_t(a, w, out, m, |_, j, s| s + bias[j]),
        Some(res) => matmul_t(a, w, out, m, |i, j, s| (s + bias[j]) + res[i * m + j]),
    }
}

/// `dst[c * rows + r] = src[r * cols + c]`: `[rows, cols]` to `[cols, rows]`.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) -> Result<()> {
    if src.len() < rows * cols || dst.len() < rows * cols {
        return Err(too_short("transpose"));
    }
    // Blocks of 8 × 8 keep both sides in cache lines.
    const B: usize = 8;
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    Ok(())
}

/// Four-lane view of a slice: the whole chunks and the 0–3 values left over.
#[inline(always)]
fn chunks(x: &[f32]) -> (&[[f32; 4]], &[f32]) {
    x.as_chunks::<4>()
}

#[inline(always)]
fn chunks_mut(x: &mut [f32]) -> (&mut [[f32; 4]], &mut [f32]) {
    x.as_chunks_mut::<4>()
}

fn sum(x: &[f32]) -> f32 {
    let (body, tail) = chunks(x);
    let mut acc = F4::splat(0.0);
    for c in body {
        acc = acc.add(F4::load(c));
    }
    acc.hsum() + tail.iter().sum::<f32>()
}

/// LayerNorm over each `dim`-wide row of `x`, in place: `(x - mean) / sqrt(var + eps) * weight
/// + bias` with the biased variance, as `torch.nn.LayerNorm`.
pub fn layer_norm(x: &mut [f32], dim: usize, weight: &[f32], bias: &[f32], eps: f32) -> Result<()> {
    if dim == 0 || weight.len() != dim || bias.len() != dim || !x.len().is_multiple_of(dim) {
        return Err(too_short("LayerNorm"));
    }
    let inv_n = 1.0 / dim as f32;
    for row in x.chunks_exact_mut(dim) {
        let mean = sum(row) * inv_n;
        let m4 = F4::splat(mean);
        let (body, tail) = chunks(row);
        let mut acc = F4::splat(0.0);
        for c in body {
            let d = F4::load(c).sub(m4);
            acc = d.mul_add(d, acc);
        }
        let var = (acc.hsum() + tail.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()) * inv_n;
        let rstd = 1.0 / (var + eps).sqrt();
        let r4 = F4::splat(rstd);
        let (body, tail) = chunks_mut(row);
        let (wb, wt) = chunks(weight);
        let (bb, bt) = chunks(bias);
        for ((c, w), b) in body.iter_mut().zip(wb).zip(bb) {
            F4::load(c)
                .sub(m4)
                .mul(r4)
                .mul_add(F4::load(w), F4::load(b))
                .store(c);
        }
        for ((v, w), b) in tail.iter_mut().zip(wt).zip(bt) {
            *v = (*v - mean) * rstd * w + b;
        }
    }
    Ok(())
}

/// Added to a float of magnitude below 2^22, rounds it to the nearest integer `n` and leaves
/// `n` in the sum's low mantissa bits: 1.5 · 2^23.
const ROUNDER: f32 = 12_582_912.0;

/// `e^x` to within 2 ulp for `x` in about `[-87, 88]` (below, a value near 2^-126; above,
/// clamped): Cephes' `expf`, range reduction by `ln 2` and a degree-6 polynomial.
///
/// `n = round(x log2 e)` comes from adding and subtracting [`ROUNDER`] (Cephes takes
/// `floor(x log2 e + 0.5)`, the same but at exact ties, where both remainders are within the
/// polynomial's range), and `2^n` from that sum's bits: no float-to-integer conversion and no
/// floor, which baseline x86-64 (SSE2) lacks, so that natively each lane was a libm call.
#[inline(always)]
fn exp4(x: F4) -> F4 {
    let x = x.max(F4::splat(-87.0)).min(F4::splat(88.0));
    let t = x.mul_add(F4::splat(std::f32::consts::LOG2_E), F4::splat(ROUNDER));
    let n = t.sub(F4::splat(ROUNDER));
    // ln 2 in two parts so that x - n ln 2 is exact.
    let r = x
        .sub(n.mul(F4::splat(0.693_359_4)))
        .sub(n.mul(F4::splat(-2.121_944_4e-4)));
    let mut p = F4::splat(1.987_569_1e-4);
    p = p.mul_add(r, F4::splat(1.398_199_9e-3));
    p = p.mul_add(r, F4::splat(8.333_452e-3));
    p = p.mul_add(r, F4::splat(4.166_579_6e-2));
    p = p.mul_add(r, F4::splat(1.666_666_5e-1));
    p = p.mul_add(r, F4::splat(0.5));
    let e = p.mul(r.mul(r)).add(r).add(F4::splat(1.0));
    e.mul(t.exp2_rounded())
}

fn exp1(x: f32) -> f32 {
    let mut c = [x; 4];
    exp4(F4::load(&c)).store(&mut c);
    c[0]
}

/// Softmax over each `width`-wide row of `x`, in place: `exp(x - max) / sum`.
pub fn softmax(x: &mut [f32], width: usize) -> Result<()> {
    if width == 0 || !x.len().is_multiple_of(width) {
        return Err(too_short("softmax"));
    }
    for row in x.chunks_exact_mut(width) {
        let (body, tail) = chunks(row);
        let mut m4 = F4::splat(f32::NEG_INFINITY);
        for c in body {
            m4 = m4.max(F4::load(c));
        }
        let max = tail.iter().fold(m4.hmax(), |m, &v| m.max(v));
        let mx = F4::splat(max);
        let (body, tail) = chunks_mut(row);
        let mut s4 = F4::splat(0.0);
        for c in body.iter_mut() {
            let e = exp4(F4::load(c).sub(mx));
            e.store(c);
            s4 = s4.add(e);
        }
        let mut total = s4.hsum();
        for v in tail.iter_mut() {
            *v = exp1(*v - max);
            total += *v;
        }
        let inv = F4::splat(1.0 / total);
        for c in body.iter_mut() {
            F4::load(c).mul(inv).store(c);
        }
        let inv = 1.0 / total;
        for v in tail.iter_mut() {
            *v *= inv;
        }
    }
    Ok(())
}

/// `erf(x)`, within about 1.5e-7 of the exact value: a rational approximation in `x` (odd
/// numerator of degree 13, even denominator of degree 8) on `[-4, 4]`, outside which erf is
/// ±1 in f32 (Eigen's and TensorFlow's `erf` for floats).
#[inline(always)]
fn erf4(x: F4) -> F4 {
    let x = x.min(F4::splat(4.0)).max(F4::splat(-4.0));
    let x2 = x.mul(x);
    let mut p = F4::splat(-2.726_142_3e-10);
    for a in [
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = p.mul_add(x2, F4::splat(a));
    }
    let p = p.mul(x);
    let mut q = F4::splat(-1.456_607_2e-5);
    for b in [
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329_3e-3,
        -1.426_473_9e-2,
    ] {
        q = q.mul_add(x2, F4::splat(b));
    }
    // Past |x| = 3.9, erf(x) rounds to ±1 in f32, but the quotient is a few ulp off; so is it
    // near there, and 1 + erf must stay ≥ 0 (GELU of a large negative input is 0, not -x·1e-7).
    let one = F4::splat(1.0);
    let r = p.div(q).min(one).max(F4::splat(-1.0));
    x2.gt_select(F4::splat(3.9 * 3.9), x.min(one).max(F4::splat(-1.0)), r)
}

/// Exact (erf) GELU in place: `x / 2 · (1 + erf(x / √2))`, PyTorch's `gelu`.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn gelu_erf(x: &mut [f32]) {
    let (body, tail) = chunks_mut(x);
    let half = F4::splat(0.5);
    let one = F4::splat(1.0);
    let s = F4::splat(std::f32::consts::FRAC_1_SQRT_2);
    for c in body.iter_mut() {
        let v = F4::load(c);
        erf4(v.mul(s)).add(one).mul(half).mul(v).store(c);
    }
    for v in tail.iter_mut() {
        let mut c = [*v * std::f32::consts::FRAC_1_SQRT_2; 4];
        erf4(F4::load(&c)).store(&mut c);
        *v *= (c[0] + 1.0) * 0.5;
    }
}

/// The tanh approximation of GELU in place: `x / 2 · (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
pub fn gelu_tanh(x: &mut [f32]) {
    const K: f32 = 0.797_884_6; // √(2/π)
    for v in x.iter_mut() {
        let u = *v;
        *v = 0.5 * u * (1.0 + (K * u * (1.0 + 0.044_715 * u * u)).tanh());
    }
}

pub fn relu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = v.max(0.0);
    }
}

/// SiLU in place: `x / (1 + e^-x)`.
pub fn silu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v /= 1.0 + (-*v).exp();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A deterministic pseudo-random vector in `[-scale, scale)`.
    fn noise(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
        }
    }

    #[test]
    fn matmul_matches_naive_at_every_edge() {
        for (n, k, m) in [
            (1, 1, 1),
            (3, 4, 3),
            (7, 13, 5),
            (16, 64, 16),
            (10, 37, 11),
            (33, 96, 20),
            (5, 768, 7),
            (4, 1001, 5),
        ] {
            let (a, w, b) = (noise(n * k, 1, 1.0), noise(m * k, 2, 1.0), noise(m, 3, 1.0));
            let res = noise(n * m, 4, 1.0);
            let mut out = vec![0.0; n * m];
            linear(&a, n, &w, &b, &mut out, Some(&res)).unwrap();
            let naive: Vec<f32> = (0..n * m)
                .map(|ij| {
                    let (i, j) = (ij / m, ij % m);
                    let dot: f64 = (0..k)
                        .map(|p| a[i * k + p] as f64 * w[j * k + p] as f64)
                        .sum();
                    (dot + b[j] as f64 + res[ij] as f64) as f32
                })
                .collect();
            close(&out, &naive, 1e-5);
        }
    }

    #[test]
    fn strided_views_and_output_stride() {
        // Head 1 (columns 4..8) of two [5, 12] matrices, written into columns 2..7 of [5, 9].
        let (n, h) = (5, 12);
        let (q, k) = (noise(n * h, 5, 1.0), noise(n * h, 6, 1.0));
        let mut out = vec![-1.0; n * 9];
        matmul_t(
            Mat::columns(&q, n, 4, 4, h),
            Mat::columns(&k, n, 4, 4, h),
            &mut out[2..],
            9,
            |_, _, s| s * 0.5,
        )
        .unwrap();
        for i in 0..n {
            for j in 0..9 {
                let want = if (2..7).contains(&j) {
                    (0..4)
                        .map(|p| q[i * h + 4 + p] * k[(j - 2) * h + 4 + p])
                        .sum::<f32>()
                        * 0.5
                } else {
                    -1.0
                };
                assert!((out[i * 9 + j] - want).abs() < 1e-6);
            }
        }
        assert!(matmul_t(
            Mat::new(&q, n, h),
            Mat::new(&k, n, h),
            &mut out,
            4,
            |_, _, s| s
        )
        .is_err());
        assert!(matmul_t(
            Mat::new(&q, n + 1, h),
            Mat::new(&k, n, h),
            &mut vec![0.0; 100],
            n,
            |_, _, s| s
        )
        .is_err());
    }

    #[test]
    fn transpose_round_trips() {
        let x = noise(7 * 19, 7, 1.0);
        let (mut t, mut back) = (vec![0.0; 7 * 19], vec![0.0; 7 * 19]);
        transpose(&x, 7, 19, &mut t).unwrap();
        assert_eq!(t[3 * 7 + 2], x[2 * 19 + 3]);
        transpose(&t, 19, 7, &mut back).unwrap();
        assert_eq!(x, back);
    }

    #[test]
    fn layer_norm_matches_naive() {
        for dim in [1, 6, 32, 37] {
            let mut x = noise(3 * dim, 8, 3.0);
            let (w, b) = (noise(dim, 9, 1.0), noise(dim, 10, 1.0));
            let (wr, br) = (&w, &b);
            let want: Vec<f32> = x
                .chunks(dim)
                .flat_map(|r| {
                    let mean = r.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
                    let var =
                        r.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
                    let rstd = 1.0 / (var + 1e-12).sqrt();
                    r.iter()
                        .enumerate()
                        .map(move |(i, &v)| {
                            ((v as f64 - mean) * rstd * wr[i] as f64 + br[i] as f64) as f32
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            layer_norm(&mut x, dim, &w, &b, 1e-12).unwrap();
            close(&x, &want, 2e-6);
        }
    }

    #[test]
    fn exp_is_within_two_ulp() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp1(x), (x as f64).exp());
            assert!(
                ((got as f64 - want) / want).abs() < 2.5e-7,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.0137;
        }
        assert_eq!(exp1(0.0), 1.0);
        assert!(exp1(-1000.0) < 1e-37);
    }

    #[test]
    fn softmax_matches_naive() {
        for width in [1, 3, 4, 17, 128] {
            let mut x = noise(2 * width, 11, 20.0);
            let want: Vec<f32> = x
                .chunks(width)
                .flat_map(|r| {
                    let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
                    let e: Vec<f64> = r.iter().map(|&v| (v as f64 - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    e.into_iter().map(move |v| (v / s) as f32)
                })
                .collect();
            softmax(&mut x, width).unwrap();
            close(&x, &want, 1e-6);
        }
    }

    /// erf in f64 by its Maclaurin series (|x| < 3) or its continued fraction, for reference.
    fn erf64(x: f64) -> f64 {
        if x.abs() < 3.0 {
            let (mut term, mut s, mut k) = (x, x, 0.0);
            while term.abs() > 1e-17 * s.abs().max(1e-300) {
                k += 1.0;
                term *= -x * x / k;
                s += term / (2.0 * k + 1.0);
            }
            s * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc by Lentz's continued fraction.
            let z = x.abs();
            let mut f = z;
            for k in (1..60).rev() {
                f = z + (k as f64 / 2.0) / f;
            }
            let erfc = (-z * z).exp() / (f * std::f64::consts::PI.sqrt());
            (1.0 - erfc).copysign(x)
        }
    }

    #[test]
    fn gelu_matches_the_exact_one() {
        let mut x: Vec<f32> = (-8000..8000)
            .map(|i| i as f32 * 1e-3)
            .chain([0.0, 1e-30, -1e-30, 50.0, -50.0])
            .collect();
        let want: Vec<f64> = x
            .iter()
            .map(|&v| 0.5 * v as f64 * (1.0 + erf64(v as f64 / std::f64::consts::SQRT_2)))
            .collect();
        gelu_erf(&mut x);
        let worst = x
            .iter()
            .zip(&want)
            .map(|(&g, &w)| (g as f64 - w).abs() / (1.0 + w.abs()))
            .fold(0.0, f64::max);
        let at = x
            .iter()
            .zip(&want)
            .map(|(&g, &w)| ((g as f64 - w).abs() / (1.0 + w.abs()), w))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        // 1 + erf(x) cancels for x well below 0: the limit there is f32 rounding near -1.
        assert!(worst < 1e-6, "worst relative error {worst} at {at:?}");
    }

    #[test]
    fn short_buffers_are_errors() {
        assert!(linear(&[1.0; 1], 1, &[1.0; 4], &[0.0; 2], &mut [0.0; 2], None).is_err());
        assert!(linear(&[1.0; 2], 1, &[1.0; 5], &[0.0; 2], &mut [0.0; 2], None).is_err());
        assert!(layer_norm(&mut [1.0; 5], 2, &[1.0; 2], &[0.0; 2], 1e-5).is_err());
        assert!(softmax(&mut [1.0; 5], 2).is_err());
        assert!(transpose(&[1.0; 5], 2, 3, &mut [0.0; 6]).is_err());
    }
}
