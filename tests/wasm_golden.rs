//! The golden comparison again (attention, then per-head queries and keys), compiled to
//! wasm32 + simd128 and run in headless Chromium (`scripts/test-wasm.sh`): all-MiniLM-L6-v2,
//! then one small checkpoint per family (`tests/golden/models/`). The models and fixtures come
//! over real HTTP from 127.0.0.1, through the same `fetch_bytes` the worker uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design
#![cfg(target_arch = "wasm32")]

mod common;

use attention_viz::model::Engine;
use common::{check_all_qk, check_case, check_qk, check_run, Golden, GoldenQk, CASES, FAMILIES};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn get(path: &str) -> Vec<u8> {
    common::fetch_repo_file(path).await
}

async fn engine() -> Engine {
    let dir = "models/sentence-transformers/all-MiniLM-L6-v2/resolve/main";
    Engine::from_bytes(
        &get(&format!("{dir}/config.json")).await,
        &get(&format!("{dir}/tokenizer.json")).await,
        &get(&format!("{dir}/model.safetensors")).await,
    )
    .expect("MiniLM loads in wasm")
}

#[wasm_bindgen_test]
async fn all_six_inputs_match_pytorch_to_1e5_in_the_browser() {
    let engine = engine().await;
    for name in CASES {
        let json = get(&format!("tests/golden/fixtures/{name}.json")).await;
        let gz = get(&format!("tests/golden/fixtures/{name}.attn.gz")).await;
        let g = Golden::parse(&json, &gz);
        let run = engine.run(&g.text, g.pair.as_deref()).expect("run");
        let worst = check_run(&g, &run);
        console_log!("wasm {name:>10}: {:>3} tokens, max |ours - PyTorch| = {worst:.2e}", g.input_ids.len());
    }
}

#[wasm_bindgen_test]
async fn queries_and_keys_match_pytorch_in_the_browser() {
    let engine = engine().await;
    for name in CASES {
        let json = get(&format!("tests/golden/fixtures/{name}.json")).await;
        let gz = get(&format!("tests/golden/fixtures/{name}.attn.gz")).await;
        let g = Golden::parse(&json, &gz);
        let gqk = GoldenQk::parse(&g, &get(&format!("tests/golden/fixtures/{}", g.qk_file)).await);
        let (run, all) = engine.run_with_qk(&g.text, g.pair.as_deref()).expect("run_with_qk");
        check_run(&g, &run);
        let (wq, wk) = check_all_qk(&g, &gqk, &all);
        let encoded = engine.encode(&g.text, g.pair.as_deref()).expect("encode");
        for (layer, full) in all.iter().enumerate() {
            let one = engine.queries_keys(&encoded, layer).expect("queries_keys");
            check_qk(&g, &gqk, layer, &one);
            assert_eq!(&one, full, "{name}: queries_keys({layer}) vs run_with_qk");
        }
        assert!(engine.queries_keys(&encoded, all.len()).is_err(), "{name}: layer past the last");
        console_log!(
            "wasm {name:>10}: {:>3} tokens, max |ours - PyTorch| q = {wq:.2e}, k = {wk:.2e}",
            g.input_ids.len()
        );
    }
}

#[wasm_bindgen_test]
async fn every_family_matches_pytorch_in_the_browser() {
    for f in &FAMILIES {
        let dir = f.model_dir();
        let engine = Engine::from_bytes(
            &get(&format!("{dir}/config.json")).await,
            &get(&format!("{dir}/tokenizer.json")).await,
            &get(&format!("{dir}/model.safetensors")).await,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", f.dir));
        f.check_engine(&engine);
        for case in f.cases {
            let json = get(&f.fixture(&format!("{case}.json"))).await;
            let g = Golden::parse(&json, &get(&f.fixture(&format!("{case}.attn.gz"))).await);
            let gqk = GoldenQk::parse(&g, &get(&f.fixture(&g.qk_file)).await);
            let (w, wq, wk) = check_case(&engine, &g, &gqk);
            console_log!(
                "wasm {:>13}/{case:<10} {:>3} tokens, max |ours - PyTorch| = {w:.2e}, q = {wq:.2e}, k = {wk:.2e}",
                f.dir,
                g.input_ids.len()
            );
        }
    }
}
