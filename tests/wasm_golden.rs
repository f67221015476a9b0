//! The golden comparison again, compiled to wasm32 + simd128 and run in headless Chromium
//! (`scripts/test-wasm.sh`). The model and fixtures come over real HTTP from 127.0.0.1, through
//! the same `fetch_bytes` the worker uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![cfg(target_arch = "wasm32")]

mod common;

use attention_viz::model::Engine;
use common::{check_run, Golden, CASES};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn get(path: &str) -> Vec<u8> {
    common::fetch_repo_file(path).await
}

#[wasm_bindgen_test]
async fn all_six_inputs_match_pytorch_to_1e5_in_the_browser() {
    let dir = "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main";
    let engine = Engine::from_bytes(
        &get(&format!("{dir}/config.json")).await,
        &get(&format!("{dir}/tokenizer.json")).await,
        &get(&format!("{dir}/model.safetensors")).await,
    )
    .expect("MiniLM loads in wasm");
    for name in CASES {
        let json = get(&format!("tests/golden/fixtures/{name}.json")).await;
        let gz = get(&format!("tests/golden/fixtures/{name}.attn.gz")).await;
        let g = Golden::parse(&json, &gz);
        let run = engine.run(&g.text, g.pair.as_deref()).expect("run");
        let worst = check_run(&g, &run);
        console_log!("wasm {name:>10}: {:>3} tokens, max |ours - PyTorch| = {worst:.2e}", g.input_ids.len());
    }
}
