//! Forward-pass speed in headless Chromium (wasm32 + simd128). Not a test of speed — it prints
//! figures (`scripts/bench.sh` runs it next to the native `attention-bench`).
//!
//! Timed with `performance.now()` (`Date.now()` is a millisecond clock), after warm-up runs,
//! over [`REPEAT`] runs per length: `BENCH` lines give the median; `SPREAD` lines the min and
//! max, the time spent tokenizing (part of `run`) and how much the wasm memory grew during the
//! timed runs (it should not: a grown memory is a slow outlier). On a shared machine the
//! spread is mostly other processes: compare builds in one run, or by their minimum.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![cfg(target_arch = "wasm32")]

mod common;

use attention_viz::model::Engine;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LENGTHS: [usize; 3] = [16, 32, 128];
const WARM_UP: usize = 2;
const REPEAT: usize = 11;

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
        let text = vec!["the"; n - 2].join(" ");
        for _ in 0..WARM_UP {
            let _ = engine.run(&text, None).expect("warm-up run");
        }
        let before = memory_mb();
        let times = (0..REPEAT)
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
            (0..REPEAT)
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

#[wasm_bindgen_test]
async fn forward_times_in_the_browser() {
    console_log!(
        "BENCH wasm32+simd128 in headless Chromium, median of {REPEAT} runs after {WARM_UP} warm-up, \
         performance.now(), milliseconds"
    );
    measure(
        "all-MiniLM-L6-v2",
        "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main",
    )
    .await;
    measure("bert-base-shaped (random)", ".cache/bench/bert-base-random").await;
}
