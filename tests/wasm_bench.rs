//! Forward-pass speed in headless Chromium (wasm32 + simd128; with `--features relaxed-simd`,
//! the relaxed-SIMD build the site's second worker runs). Not a test of speed — it prints
//! figures (`scripts/bench.sh` runs it in both builds next to the native `attention-bench`).
//!
//! Timed with `performance.now()` (`Date.now()` is a millisecond clock), after warm-up runs,
//! over [`REPEAT`] runs per length ([`REPEAT_LONG`] at 512 tokens, where one bert-base-shaped
//! pass takes seconds): `BENCH` lines give the median; `SPREAD` lines the min and max, the time
//! spent tokenizing (part of `run`) and how much the wasm memory grew during the timed runs (it
//! should not: a grown memory is a slow outlier). On a shared machine the spread is mostly other
//! processes: compare builds in one run, or by their minimum.
//!
//! The bounds, measured in the same browser: `PEAK` lines give the multiply-add throughput of a
//! loop with nothing else in it (12 independent four-lane chains, no loads: what the CPU's SIMD
//! units do through V8) and the read bandwidth of one core from memory; `KERNEL` lines the
//! matrix product alone on bert-base's shapes, and its softmax, GELU and LayerNorm at 512
//! tokens (the rest of a pass). `scripts/bench_table.mjs` sets the forward's GFLOP/s against them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![cfg(target_arch = "wasm32")]

mod common;

use std::arch::wasm32::*;

use attention_viz::model::{kernels, Engine};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LENGTHS: [usize; 4] = [16, 32, 128, 512];
const WARM_UP: usize = 2;
const REPEAT: usize = 11;
/// At 512 tokens: a bert-base-shaped pass is about 100 GFLOP (2–3 s here), so fewer runs.
const LONG: usize = 512;
const WARM_UP_LONG: usize = 1;
const REPEAT_LONG: usize = 5;
const BUILD: &str = if cfg!(feature = "relaxed-simd") {
    "wasm32+simd128+relaxed-simd"
} else {
    "wasm32+simd128"
};

fn runs(n: usize) -> (usize, usize) {
    if n >= LONG {
        (WARM_UP_LONG, REPEAT_LONG)
    } else {
        (WARM_UP, REPEAT)
    }
}

async fn get(path: &str) -> Vec<u8> {
    common::fetch_repo_file(path).await
}

/// `performance.now()` in milliseconds, in a window or a worker.
fn now() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).expect("performance");
    let perf: web_sys::Performance = wasm_bindgen::JsCast::unchecked_into(perf);
    perf.now()
}

/// The wasm instance's linear memory, in MB: it only grows, and growing it mid-run (a new,
/// larger `ArrayBuffer`, and a copy in some engines) is one source of slow outliers, so the
/// table says whether the timed runs grew it.
fn memory_mb() -> f64 {
    let memory: js_sys::WebAssembly::Memory =
        wasm_bindgen::JsCast::unchecked_into(wasm_bindgen::memory());
    let buffer: js_sys::ArrayBuffer = wasm_bindgen::JsCast::unchecked_into(memory.buffer());
    buffer.byte_length() as f64 / 1e6
}

/// (median, min, max).
fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Milliseconds of `f` over `repeat` runs after one warm-up: (median, min).
fn time(repeat: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (med, min, _) = summary(
        (0..repeat)
            .map(|_| {
                let t0 = now();
                f();
                now() - t0
            })
            .collect(),
    );
    (med, min)
}

async fn measure(label: &str, dir: &str) {
    let (c, t, w) = (
        get(&format!("{dir}/config.json")).await,
        get(&format!("{dir}/tokenizer.json")).await,
        get(&format!("{dir}/model.safetensors")).await,
    );
    let t0 = now();
    let engine = Engine::from_bytes(&c, &t, &w).expect("model loads");
    let load = now() - t0;
    let mut cells = vec![
        format!("{label:<28}"),
        format!("{:>8.1}", w.len() as f64 / 1e6),
        format!("{load:>9.0}"),
    ];
    let mut spread = vec![format!("{label:<28}")];
    for n in LENGTHS {
        let (warm_up, repeat) = runs(n);
        let text = vec!["the"; n - 2].join(" ");
        for _ in 0..warm_up {
            let run = engine.run(&text, None).expect("warm-up run");
            assert_eq!(run.attention.shape().seq, n, "the text is {n} tokens");
        }
        let before = memory_mb();
        let times = (0..repeat)
            .map(|_| {
                let t0 = now();
                let _ = engine.run(&text, None);
                now() - t0
            })
            .collect();
        let (med, min, max) = summary(times);
        cells.push(format!("{med:>9.1}"));
        // Tokenizing is part of `run`; how much of it, for the record.
        let tok = summary(
            (0..repeat)
                .map(|_| {
                    let t0 = now();
                    let _ = engine.encode(&text, None);
                    now() - t0
                })
                .collect(),
        );
        let grew = memory_mb() - before;
        spread.push(format!(
            "{:>34}",
            format!("{min:.1}–{max:.1} (tok {:.1}, mem +{grew:.0} MB)", tok.0)
        ));
    }
    console_log!("BENCH {}", cells.join(" | "));
    console_log!("SPREAD {}", spread.join(" | "));
}

/// Twelve independent chains of `a = a · b + c` on four lanes, `iters` times: 96 flops per
/// iteration, no loads. With fewer chains the adds' latency, not their throughput, would set
/// the time.
#[inline(never)]
fn chains_mul_add(iters: u32, b: v128, c: v128) -> v128 {
    let mut acc = [f32x4_splat(1.0); 12];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = f32x4_add(f32x4_mul(*a, b), c);
        }
    }
    acc.into_iter().fold(f32x4_splat(0.0), |s, a| f32x4_add(s, a))
}

/// The same with relaxed SIMD's multiply-add (one FMA on x86-64 CPUs that have it).
#[cfg(feature = "relaxed-simd")]
#[inline(never)]
#[target_feature(enable = "relaxed-simd")]
fn chains_madd(iters: u32, b: v128, c: v128) -> v128 {
    let mut acc = [f32x4_splat(1.0); 12];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = f32x4_relaxed_madd(*a, b, c);
        }
    }
    acc.into_iter().fold(f32x4_splat(0.0), |s, a| f32x4_add(s, a))
}

/// GFLOP/s of a `chains_*` loop (a closure: `#[target_feature]` functions are not `Fn`): the best of 5 (the bound is what the CPU can do; slower runs
/// are other processes on the machine).
fn peak(f: impl Fn(u32, v128, v128) -> v128) -> f64 {
    const ITERS: u32 = 20_000_000;
    // b and c from the clock, so that nothing is folded at compile time.
    let b = f32x4_splat(0.5 + (now() as f32) * 1e-12);
    let c = f32x4_splat(0.5);
    let _ = f(ITERS / 10, b, c);
    (0..5)
        .map(|_| {
            let t0 = now();
            let r = f(ITERS, b, c);
            let ms = now() - t0;
            assert!(f32x4_extract_lane::<0>(r).is_finite());
            f64::from(ITERS) * 96.0 / (ms * 1e6)
        })
        .fold(0.0, f64::max)
}

/// Read bandwidth from memory, GB/s: four-lane sums over a 256 MB buffer (eight times
/// Zen 4's L3), the best of 3.
fn read_bandwidth() -> f64 {
    let buf = vec![1.0f32; 64 << 20];
    let (chunks, _) = buf.as_chunks::<16>();
    let sum = || {
        let mut acc = [f32x4_splat(0.0); 4];
        for c in chunks {
            for (l, a) in acc.iter_mut().enumerate() {
                *a = f32x4_add(*a, f32x4(c[4 * l], c[4 * l + 1], c[4 * l + 2], c[4 * l + 3]));
            }
        }
        acc.into_iter().fold(f32x4_splat(0.0), |s, a| f32x4_add(s, a))
    };
    let _ = sum();
    (0..3)
        .map(|_| {
            let t0 = now();
            let r = sum();
            let ms = now() - t0;
            assert!(f32x4_extract_lane::<0>(r) > 0.0);
            (buf.len() * 4) as f64 / (ms * 1e6)
        })
        .fold(0.0, f64::max)
}

/// GFLOP/s of the matrix product alone, `[n, k] · [m, k]ᵀ + bias` (a linear layer), at the
/// median and the best of 9 runs (the best is what the kernel can do; on a shared machine the
/// median also carries the other processes).
fn kernel(n: usize, k: usize, m: usize) -> (f64, f64) {
    let x: Vec<f32> = (0..n * k).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
    let w: Vec<f32> = (0..m * k).map(|i| ((i * 104_729) % 1000) as f32 * 1e-3 - 0.5).collect();
    let (bias, mut out) = (vec![0.1f32; m], vec![0.0f32; n * m]);
    let (med, min) = time(9, || kernels::linear(&x, n, &w, &bias, &mut out, None).expect("linear"));
    let flops = (2 * n * k * m) as f64;
    (flops / (med * 1e6), flops / (min * 1e6))
}

/// Milliseconds of the element-wise kernels on bert-base's sizes at 512 tokens: softmax over
/// the 12 heads' `[512, 512]` scores, GELU over the `[512, 3072]` feed-forward, LayerNorm over
/// `[512, 768]` (one layer's worth of each; median of 5).
fn elementwise() -> [(&'static str, f64); 3] {
    let mut scores: Vec<f32> = (0..12 * 512 * 512).map(|i| ((i * 7919) % 1000) as f32 * 1e-2 - 5.0).collect();
    let mut ff: Vec<f32> = (0..512 * 3072).map(|i| ((i * 7919) % 1000) as f32 * 1e-2 - 5.0).collect();
    let mut x: Vec<f32> = (0..512 * 768).map(|i| ((i * 7919) % 1000) as f32 * 1e-2 - 5.0).collect();
    let (w, b) = (vec![1.0f32; 768], vec![0.0f32; 768]);
    [
        ("softmax [12, 512, 512]", time(5, || kernels::softmax(&mut scores, 512).expect("softmax")).0),
        ("GELU [512, 3072]", time(5, || kernels::gelu_erf(&mut ff)).0),
        ("LayerNorm [512, 768]", time(5, || kernels::layer_norm(&mut x, 768, &w, &b, 1e-12).expect("LN")).0),
    ]
}

#[wasm_bindgen_test]
async fn forward_times_in_the_browser() {
    console_log!(
        "BENCH {BUILD} in headless Chromium, median of {REPEAT} runs after {WARM_UP} warm-up \
         ({REPEAT_LONG} runs after {WARM_UP_LONG} at {LONG} tokens), performance.now(), milliseconds"
    );
    let head: Vec<String> = LENGTHS.iter().map(|n| format!("{:>9}", format!("fwd {n}"))).collect();
    console_log!("BENCH {:<28} | {:>8} | {:>9} | {}", "model", "MB", "load", head.join(" | "));
    console_log!("PEAK simd128 f32x4 mul+add, 12 chains | {:.1} GFLOP/s", peak(chains_mul_add));
    #[cfg(feature = "relaxed-simd")]
    console_log!("PEAK relaxed-simd f32x4_relaxed_madd, 12 chains | {:.1} GFLOP/s", peak(|i, b, c| chains_madd(i, b, c)));
    console_log!("PEAK read bandwidth, 256 MB | {:.1} GB/s", read_bandwidth());
    for (n, k, m) in [(32, 768, 768), (128, 768, 3072), (128, 3072, 768), (512, 768, 3072)] {
        let (med, best) = kernel(n, k, m);
        console_log!("KERNEL [{n}, {k}]·[{m}, {k}]ᵀ | {med:.1} GFLOP/s median, {best:.1} best");
    }
    for (what, ms) in elementwise() {
        console_log!("KERNEL {what} | {ms:.2} ms");
    }
    measure(
        "all-MiniLM-L6-v2",
        "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main",
    )
    .await;
    measure("bert-base-shaped (random)", ".cache/bench/bert-base-random").await;
}
