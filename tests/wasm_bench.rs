//! Forward-pass speed in headless Chromium (wasm32 + simd128). Not a test of speed — it prints
//! figures (`scripts/bench.sh` runs it next to the native `attention-bench`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![cfg(target_arch = "wasm32")]

mod common;

use attention_viz::model::Engine;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LENGTHS: [usize; 3] = [16, 32, 128];
const REPEAT: usize = 5;

async fn get(path: &str) -> Vec<u8> {
    common::fetch_repo_file(path).await
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn measure(label: &str, dir: &str) {
    let (c, t, w) = (
        get(&format!("{dir}/config.json")).await,
        get(&format!("{dir}/tokenizer.json")).await,
        get(&format!("{dir}/model.safetensors")).await,
    );
    let t0 = js_sys::Date::now();
    let engine = Engine::from_bytes(&c, &t, &w).expect("model loads");
    let load = js_sys::Date::now() - t0;
    let mut cells = vec![format!("{label:<28}"), format!("{:>8.1}", w.len() as f64 / 1e6), format!("{load:>9.0}")];
    for n in LENGTHS {
        let text = vec!["the"; n - 2].join(" ");
        let _ = engine.run(&text, None).expect("warm-up run");
        let times = (0..REPEAT)
            .map(|_| {
                let t0 = js_sys::Date::now();
                let _ = engine.run(&text, None);
                js_sys::Date::now() - t0
            })
            .collect();
        cells.push(format!("{:>9.1}", median(times)));
    }
    console_log!("BENCH {}", cells.join(" | "));
}

#[wasm_bindgen_test]
async fn forward_times_in_the_browser() {
    console_log!("BENCH wasm32+simd128 in headless Chromium, median of {REPEAT} runs, milliseconds");
    measure("all-MiniLM-L6-v2", "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main").await;
    measure("bert-base-shaped (random)", ".cache/bench/bert-base-random").await;
}
