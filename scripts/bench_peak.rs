//! The peak f32 multiply-add throughput of one core, natively: the bound of the bench table's
//! native row (scripts/bench.sh compiles this file on its own with `rustc -C opt-level=3
//! -C target-cpu=native`, so LLVM uses the widest FMA the CPU has, as candle's `gemm` does at
//! run time; a separate file because the crate is built for the x86-64 baseline, without FMA).
//!
//! 12 independent chains of `a = a · b + c`, each 16 lanes (one AVX-512 register, two AVX2
//! ones), with nothing loaded from memory: enough chains in flight to cover the FMA latency on
//! two pipes, so the time is the FMA units' throughput and nothing else. Prints one line:
//! `PEAK native FMA: X GFLOP/s per core`. (Zen 4 runs a 16-lane FMA as two 8-lane halves, as
//! fast as AVX2; an 8-lane version of this loop was not vectorised by LLVM 22 and measured
//! 5.6 GFLOP/s, so it is not offered. On an AVX2-only CPU the 24 registers this needs spill,
//! and the figure is low.)

use std::hint::black_box;
use std::time::Instant;

#[inline(always)]
fn step<const L: usize>(a: [f32; L], b: f32, c: f32) -> [f32; L] {
    a.map(|x| x.mul_add(b, c))
}

/// Separate variables, not an array of chains: LLVM keeps them in registers.
#[inline(never)]
fn chains<const L: usize>(iters: u64, b: f32, c: f32) -> f32 {
    let one = [1.0f32; L];
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (one, one, one, one, one, one);
    let (mut a6, mut a7, mut a8, mut a9, mut a10, mut a11) = (one, one, one, one, one, one);
    for _ in 0..iters {
        a0 = step(a0, b, c);
        a1 = step(a1, b, c);
        a2 = step(a2, b, c);
        a3 = step(a3, b, c);
        a4 = step(a4, b, c);
        a5 = step(a5, b, c);
        a6 = step(a6, b, c);
        a7 = step(a7, b, c);
        a8 = step(a8, b, c);
        a9 = step(a9, b, c);
        a10 = step(a10, b, c);
        a11 = step(a11, b, c);
    }
    [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11].iter().flatten().sum()
}

/// The best of 5 timed runs, GFLOP/s (a multiply-add counts 2).
fn measure<const L: usize>() -> f64 {
    let iters = 10_000_000u64;
    black_box(chains::<L>(black_box(iters / 10), black_box(0.5), black_box(0.5)));
    (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(chains::<L>(black_box(iters), black_box(0.5), black_box(0.5)));
            (iters * 12 * L as u64 * 2) as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn main() {
    println!("PEAK native FMA: {:.1} GFLOP/s per core", measure::<16>());
}
