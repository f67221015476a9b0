//! The kernels' work split over threads: the linear layers by output columns (rows of the
//! weights), attention by heads, LayerNorm and GELU by rows. With the cargo feature `threads`
//! the pieces run on rayon's pool (in the browser, wasm-bindgen-rayon's Web Workers sharing the
//! wasm memory; scripts/build-threads.sh); without it there is one thread, and every function
//! here calls the serial kernel directly, so the default build runs exactly what it ran before.
//!
//! Every piece writes a part of the output no other piece touches, in safe Rust: heads and rows
//! are disjoint chunks of one slice (`chunks_mut`); a product's column stripes are not (they
//! interleave in a row-major `[rows, out]` matrix), so each stripe is computed into a buffer of
//! its own and copied in afterwards (about 1/768 of the stripe's multiply-adds at BERT's sizes).
//!
//! The results are bit for bit the serial kernels': each output value of [`super::matmul_t`] is
//! one dot product whose order of additions does not depend on where its tile starts, and the
//! stripes are whole micro-tiles ([`NR`] columns), so splitting changes no rounding. The tests
//! below check that at every piece count.

use std::ops::Range;

use super::{layer_norm, matmul_t, too_short, Mat, NR};
use crate::model::Result;

/// The threads the kernels may use: the pool's size, 1 without the feature.
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

/// How many pieces to cut a product into: two per thread, so that a thread another process
/// slows down leaves a piece for the other to take (rayon's work stealing); 1 on one thread.
fn pieces() -> usize {
    match threads() {
        0 | 1 => 1,
        t => 2 * t,
    }
}

/// Below this many multiply-adds (about 100 µs on one thread) a split costs more than it saves:
/// waking the other threads is a futex wait and notify between Web Workers. Short inputs' attention
/// and LayerNorm stay on one thread; their linear layers (millions of multiply-adds) do not.
const MIN_SPLIT_WORK: usize = 1 << 21;

/// Whether work of `work` multiply-adds (or element operations) is worth splitting.
pub fn worth_splitting(work: usize) -> bool {
    threads() > 1 && work >= MIN_SPLIT_WORK
}

/// Runs `f` on a thread of the pool and returns its result. The forward pass runs whole inside
/// it, so the kernels' splits are joins between the pool's own threads instead of a hand-off
/// from the engine's thread (a wait and a wake-up) for each of the ~130 splits of a pass.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "threads")]
    {
        rayon::scope(|_| f())
    }
    #[cfg(not(feature = "threads"))]
    {
        f()
    }
}

/// `f` on every item, in parallel on the pool (one item per task: there are only a few, and
/// each is large); the results in the items' order.
fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        items.into_par_iter().with_max_len(1).map(f).collect()
    }
    #[cfg(not(feature = "threads"))]
    {
        items.into_iter().map(f).collect()
    }
}

/// `0..m` cut into at most `parts` ranges of whole micro-tiles, in order.
fn column_ranges(m: usize, parts: usize) -> Vec<Range<usize>> {
    let tiles = m.div_ceil(NR);
    let parts = parts.clamp(1, tiles.max(1));
    (0..parts)
        .map(|p| (tiles * p / parts * NR).min(m)..(tiles * (p + 1) / parts * NR).min(m))
        .filter(|r| !r.is_empty())
        .collect()
}

/// Copies bigger than this many values are split over the threads; smaller ones are done by the
/// calling thread: waking the others (a futex wait and notify between Web Workers) costs more
/// than copying a 32-token layer's output, and a pass has a hundred such copies.
const PARALLEL_COPY: usize = 1 << 20;

/// `f(item, block)` for every item, in parallel, each into a `[rows, item's width]` block of its
/// own (a stripe of an output's columns).
fn blocks<T: Sync>(
    rows: usize,
    items: &[(T, Range<usize>)],
    f: impl Fn(&T, &Range<usize>, &mut [f32]) -> Result<()> + Sync + Send,
) -> Result<Vec<Vec<f32>>> {
    map(items.iter().collect(), |(t, r)| {
        let mut block = vec![0.0f32; rows * r.len()];
        f(t, r, &mut block).map(|()| block)
    })
    .into_iter()
    .collect()
}

/// Copies `blocks` (one per range of columns, `[rows, range.len()]`) into place in `out`
/// (`[rows, ldo]`); big outputs with the rows split over the threads.
fn scatter(out: &mut [f32], rows: usize, ldo: usize, ranges: &[&Range<usize>], blocks: &[&Vec<f32>]) -> Result<()> {
    if rows.checked_mul(ldo).is_none_or(|n| n > out.len()) || ranges.iter().any(|r| r.end > ldo) {
        return Err(too_short("product"));
    }
    let copy = |(c, chunk): (usize, &mut [f32]), per: usize| {
        for (di, dst) in chunk.chunks_mut(ldo).enumerate() {
            let i = c * per + di;
            for (r, block) in ranges.iter().zip(blocks) {
                dst[(*r).clone()].copy_from_slice(&block[i * r.len()..(i + 1) * r.len()]);
            }
        }
    };
    let out = &mut out[..rows * ldo];
    if out.len() < PARALLEL_COPY {
        copy((0, out), rows);
    } else {
        let per = rows.div_ceil(pieces());
        map(out.chunks_mut(per * ldo).enumerate().collect(), |c| copy(c, per));
    }
    Ok(())
}

/// Fills `out` (`[rows, ldo]`) stripe by stripe: `f(index, range, block)` computes columns
/// `range` of every row into `block`, all stripes in parallel, then they are copied into place.
fn column_blocks(
    out: &mut [f32],
    rows: usize,
    ldo: usize,
    ranges: &[Range<usize>],
    f: impl Fn(usize, &Range<usize>, &mut [f32]) -> Result<()> + Sync + Send,
) -> Result<()> {
    if rows == 0 || ranges.is_empty() {
        return Ok(());
    }
    if rows.checked_mul(ldo).is_none_or(|n| n > out.len()) || ranges.iter().any(|r| r.end > ldo) {
        return Err(too_short("product"));
    }
    let items: Vec<(usize, Range<usize>)> = ranges.iter().cloned().enumerate().collect();
    let done = blocks(rows, &items, |&i, r, block| f(i, r, block))?;
    scatter(out, rows, ldo, &ranges.iter().collect::<Vec<_>>(), &done.iter().collect::<Vec<_>>())
}

/// One of several linear layers of the same input ([`linears`]): PyTorch's `[out, in]` weights,
/// the bias, and the `[rows, out]` output.
pub struct Job<'a> {
    pub w: &'a [f32],
    pub bias: &'a [f32],
    pub out: &'a mut [f32],
}

/// `x @ wᵀ + bias` for each job, with the stripes of all of them split over the threads at once
/// (a layer's queries and keys: one wake-up of the threads instead of one per product).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn linears(x: &[f32], rows: usize, jobs: &mut [Job]) -> Result<()> {
    linears_in(pieces(), x, rows, jobs)
}

fn linears_in(parts: usize, x: &[f32], rows: usize, jobs: &mut [Job]) -> Result<()> {
    if parts == 1 || rows == 0 {
        return jobs.iter_mut().try_for_each(|j| super::linear(x, rows, j.w, j.bias, j.out, None));
    }
    // The checks of the serial kernel, before any thread starts; k is the same for every job.
    let k = match jobs.first() {
        Some(j) => j.w.len().checked_div(j.bias.len()).unwrap_or(0),
        None => return Ok(()),
    };
    if x.len() < rows * k || jobs.iter().any(|j| j.bias.len() * k != j.w.len() || j.out.len() < rows * j.bias.len()) {
        return Err(too_short("linear"));
    }
    let items: Vec<(usize, Range<usize>)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(i, j)| column_ranges(j.bias.len(), parts).into_iter().map(move |r| (i, r)))
        .collect();
    let a = Mat::new(x, rows, k);
    let specs: Vec<(&[f32], &[f32])> = jobs.iter().map(|j| (j.w, j.bias)).collect();
    let done = blocks(rows, &items, |&i, r, block| {
        let (w, bias) = specs[i];
        let (j0, cols) = (r.start, r.len());
        let w = Mat::new(w.get(j0 * k..r.end * k).ok_or_else(|| too_short("linear"))?, cols, k);
        matmul_t(a, w, block, cols, |_, j, s| s + bias[j0 + j])
    })?;
    for (i, job) in jobs.iter_mut().enumerate() {
        let mine: Vec<usize> = (0..items.len()).filter(|&t| items[t].0 == i).collect();
        let ranges: Vec<&Range<usize>> = mine.iter().map(|&t| &items[t].1).collect();
        let blocks: Vec<&Vec<f32>> = mine.iter().map(|&t| &done[t]).collect();
        scatter(job.out, rows, job.bias.len(), &ranges, &blocks)?;
    }
    Ok(())
}

/// [`super::linear`] (`x @ wᵀ + bias (+ residual)`) with the output columns split over the
/// threads: each thread reads only its own rows of `w`, so the weights (the bulk of the memory
/// traffic at short inputs) are read once in all, as on one thread. Natively the linear layers
/// are candle's (`bert.rs`), so only wasm and the tests call this.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn linear(
    x: &[f32],
    rows: usize,
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    residual: Option<&[f32]>,
) -> Result<()> {
    linear_in(pieces(), x, rows, w, bias, out, residual)
}

fn linear_in(
    parts: usize,
    x: &[f32],
    rows: usize,
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    residual: Option<&[f32]>,
) -> Result<()> {
    let m = bias.len();
    let ranges = column_ranges(m, parts);
    if ranges.len() < 2 {
        return super::linear(x, rows, w, bias, out, residual);
    }
    // The checks of the serial kernel, before any thread starts.
    let k = w.len().checked_div(m).unwrap_or(0);
    if k * m != w.len()
        || x.len() < rows * k
        || out.len() < rows * m
        || residual.is_some_and(|r| r.len() < rows * m)
    {
        return Err(too_short("linear"));
    }
    let a = Mat::new(x, rows, k);
    column_blocks(out, rows, m, &ranges, |_, r, block| {
        let (j0, cols) = (r.start, r.len());
        let w = Mat::new(w.get(j0 * k..r.end * k).ok_or_else(|| too_short("linear"))?, cols, k);
        // The serial kernel's arithmetic, at the stripe's columns.
        match residual {
            None => matmul_t(a, w, block, cols, |_, j, s| s + bias[j0 + j]),
            Some(res) => matmul_t(a, w, block, cols, |i, j, s| (s + bias[j0 + j]) + res[i * m + j0 + j]),
        }
    })
}

/// `f(head, plane)` for each of the first `heads` consecutive `plane`-long chunks of `out`
/// (a head's `[seq, seq]` scores), the heads in parallel when `work` (multiply-adds in all) is
/// [`worth_splitting`].
pub fn planes(
    out: &mut [f32],
    plane: usize,
    heads: usize,
    work: usize,
    f: impl Fn(usize, &mut [f32]) -> Result<()> + Sync + Send,
) -> Result<()> {
    if plane == 0 {
        return Ok(());
    }
    let items: Vec<(usize, &mut [f32])> = out.chunks_exact_mut(plane).take(heads).enumerate().collect();
    if !worth_splitting(work) {
        return items.into_iter().try_for_each(|(h, p)| f(h, p));
    }
    map(items, |(h, p)| f(h, p)).into_iter().collect()
}

/// Columns `head·d..(head+1)·d` of `out` (`[rows, ldo]`) for each head, by `f(head, block)`
/// into a `[rows, d]` block, the heads in parallel (the attention's output: each head's
/// probabilities times its values). Wasm only, like [`linear`]: natively candle multiplies.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn head_columns(
    out: &mut [f32],
    rows: usize,
    ldo: usize,
    heads: usize,
    d: usize,
    f: impl Fn(usize, &mut [f32]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let ranges: Vec<Range<usize>> = (0..heads).map(|h| h * d..(h + 1) * d).collect();
    column_blocks(out, rows, ldo, &ranges, |h, _, block| f(h, block))
}

/// `f` on pieces of `x` made of whole `unit`-long rows, in parallel (the activations, and
/// LayerNorm, which works row by row; a few operations per value, so short inputs stay whole).
pub fn rows(x: &mut [f32], unit: usize, f: impl Fn(&mut [f32]) -> Result<()> + Sync + Send) -> Result<()> {
    let parts = pieces();
    if unit == 0 || !worth_splitting(x.len() * 16) {
        return f(x);
    }
    let per = (x.len() / unit).div_ceil(parts).max(1) * unit;
    map(x.chunks_mut(per).collect(), f).into_iter().collect()
}

/// [`super::layer_norm`] with the rows split over the threads.
pub fn layer_norm_rows(x: &mut [f32], dim: usize, weight: &[f32], bias: &[f32], eps: f32) -> Result<()> {
    if dim == 0 || !x.len().is_multiple_of(dim) {
        return Err(too_short("LayerNorm"));
    }
    rows(x, dim, |part| layer_norm(part, dim, weight, bias, eps))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A deterministic pseudo-random vector in `[-scale, scale)` (xorshift).
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

    #[test]
    fn column_ranges_are_whole_tiles_in_order() {
        assert_eq!(column_ranges(768, 4), vec![0..192, 192..384, 384..576, 576..768]);
        assert_eq!(column_ranges(10, 3), vec![0..3, 3..6, 6..10]);
        assert_eq!(column_ranges(4, 8), vec![0..3, 3..4]);
        assert_eq!(column_ranges(0, 4), Vec::<Range<usize>>::new());
        for (m, parts) in [(1, 1), (7, 2), (100, 7), (3072, 16)] {
            let r = column_ranges(m, parts);
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, m);
            assert!(r.windows(2).all(|w| w[0].end == w[1].start && w[0].start % NR == 0));
        }
    }

    /// Any split gives the serial kernel's bits, with and without a residual.
    #[test]
    fn split_linear_is_bit_identical_to_serial() {
        for (n, k, m) in [(1, 5, 2), (7, 13, 11), (32, 96, 30), (5, 768, 64), (130, 64, 48)] {
            let (x, w, b, res) = (noise(n * k, 1, 1.0), noise(m * k, 2, 1.0), noise(m, 3, 1.0), noise(n * m, 4, 1.0));
            for residual in [None, Some(&res[..])] {
                let mut serial = vec![0.0; n * m];
                super::super::linear(&x, n, &w, &b, &mut serial, residual).unwrap();
                for parts in [1, 2, 3, 4, 16] {
                    let mut split = vec![f32::NAN; n * m];
                    linear_in(parts, &x, n, &w, &b, &mut split, residual).unwrap();
                    let same = serial.iter().zip(&split).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "n {n} k {k} m {m} parts {parts}");
                }
            }
        }
        assert!(linear_in(2, &[1.0; 3], 1, &[1.0; 8], &[0.0; 2], &mut [0.0; 2], None).is_err());
        assert!(linear_in(2, &[1.0; 4], 1, &[1.0; 32], &[0.0; 8], &mut [0.0; 7], None).is_err());
    }

    /// Several products of one input split together give each one's serial bits.
    #[test]
    fn split_linears_are_bit_identical_to_serial() {
        let (n, k) = (9, 40);
        let x = noise(n * k, 1, 1.0);
        let (wq, bq, wk, bk) = (noise(20 * k, 2, 1.0), noise(20, 3, 1.0), noise(13 * k, 4, 1.0), noise(13, 5, 1.0));
        let (mut q, mut kk) = (vec![0.0; n * 20], vec![0.0; n * 13]);
        super::super::linear(&x, n, &wq, &bq, &mut q, None).unwrap();
        super::super::linear(&x, n, &wk, &bk, &mut kk, None).unwrap();
        for parts in [1, 2, 3, 5] {
            let (mut q2, mut k2) = (vec![f32::NAN; n * 20], vec![f32::NAN; n * 13]);
            let mut jobs = [Job { w: &wq, bias: &bq, out: &mut q2 }, Job { w: &wk, bias: &bk, out: &mut k2 }];
            linears_in(parts, &x, n, &mut jobs).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!((bits(&q2), bits(&k2)), (bits(&q), bits(&kk)), "parts {parts}");
        }
        let mut short = vec![0.0; n * 13 - 1];
        let mut jobs = [Job { w: &wq, bias: &bq, out: &mut q }, Job { w: &wk, bias: &bk, out: &mut short }];
        assert!(linears_in(2, &x, n, &mut jobs).is_err());
    }

    #[test]
    fn head_columns_fill_each_heads_stripe() {
        let (rows, heads, d) = (5, 3, 4);
        let mut out = vec![0.0; rows * heads * d];
        head_columns(&mut out, rows, heads * d, heads, d, |h, block| {
            for (i, row) in block.chunks_exact_mut(d).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = (h * 100 + i * 10 + c) as f32;
                }
            }
            Ok(())
        })
        .unwrap();
        for i in 0..rows {
            for j in 0..heads * d {
                assert_eq!(out[i * heads * d + j], ((j / d) * 100 + i * 10 + j % d) as f32);
            }
        }
        assert!(head_columns(&mut out, rows + 1, heads * d, heads, d, |_, _| Ok(())).is_err());
    }

    #[test]
    fn planes_and_rows_cover_everything_once() {
        let mut x = vec![0.0; 7 * 6];
        planes(&mut x, 6, 5, usize::MAX, |h, p| {
            p.iter_mut().for_each(|v| *v += h as f32 + 1.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(&x[..30], &(0..30).map(|i| (i / 6 + 1) as f32).collect::<Vec<_>>()[..]);
        assert!(x[30..].iter().all(|&v| v == 0.0), "heads past `heads` are left alone");
        rows(&mut x, 6, |p| {
            p.iter_mut().for_each(|v| *v += 1.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(x[41], 1.0);
        let (w, b) = (noise(6, 1, 1.0), noise(6, 2, 1.0));
        let mut serial = noise(7 * 6, 3, 2.0);
        let mut split = serial.clone();
        layer_norm(&mut serial, 6, &w, &b, 1e-12).unwrap();
        layer_norm_rows(&mut split, 6, &w, &b, 1e-12).unwrap();
        assert_eq!(serial, split);
        assert!(layer_norm_rows(&mut split[..5], 6, &w, &b, 1e-12).is_err());
    }
}
