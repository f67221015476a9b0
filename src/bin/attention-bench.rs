//! `attention-bench`: native speed figures for the README (load from bytes, forward pass).
//!
//! ```text
//! attention-bench [--minilm DIR] [--write-random DIR] [--repeat N]
//! attention-bench [--minilm DIR] --write-random-large DIR   (bert-large-shaped files only, no timing)
//! ```
//! Measures all-MiniLM-L6-v2 (DIR, default the test model) and a bert-base-*shaped* model with
//! seeded random weights (same work as bert-base-uncased). `--write-random` also saves the
//! random model in Hub layout so the wasm benchmark can fetch the very same bytes.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = bench::main(std::env::args().skip(1).collect()) {
        eprintln!("attention-bench: {e}");
        std::process::exit(2);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use std::path::PathBuf;
    use std::time::Instant;

    use attention_viz::model::{synthetic, Config, Engine};

    pub const LENGTHS: [usize; 4] = [16, 32, 128, 512];
    /// At 512 tokens (a bert-base-shaped pass is about 100 GFLOP) at most this many runs.
    const REPEAT_LONG: usize = 5;

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// A text that tokenizes to exactly `n` tokens with BERT's uncased vocabulary.
    pub fn text_of(n: usize) -> String {
        vec!["the"; n.saturating_sub(2)].join(" ")
    }

    fn measure(name: &str, config: &[u8], tokenizer: &[u8], weights: &[u8], repeat: usize) -> Result<(), String> {
        let t = Instant::now();
        let engine = Engine::from_bytes(config, tokenizer, weights).map_err(|e| e.to_string())?;
        let load = t.elapsed().as_secs_f64() * 1e3;
        let mut cells = vec![format!("{name:<28}"), format!("{:>8.1}", weights.len() as f64 / 1e6), format!("{load:>9.0}")];
        for n in LENGTHS {
            let text = text_of(n);
            let run = engine.run(&text, None).map_err(|e| e.to_string())?;
            if run.attention.shape().seq != n {
                return Err(format!("text_of({n}) gave {} tokens", run.attention.shape().seq));
            }
            let runs = if n >= 512 { repeat.min(REPEAT_LONG) } else { repeat };
            let times = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let run = engine.run(&text, None);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    // As attention-export does between the inputs of a batch (Engine::reuse).
                    if let Ok(run) = run {
                        engine.reuse(run);
                    }
                    ms
                })
                .collect();
            cells.push(format!("{:>9.1}", median(times)));
        }
        println!("{}", cells.join(" | "));
        Ok(())
    }

    pub fn main(args: Vec<String>) -> Result<(), String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut minilm = root.join("models/sentence-transformers/all-MiniLM-L6-v2/resolve/main");
        let mut write_random: Option<PathBuf> = None;
        let mut repeat = 5usize;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let v = it.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--minilm" => minilm = PathBuf::from(v),
                "--write-random" => write_random = Some(PathBuf::from(v)),
                "--write-random-large" => {
                    // bert-large-shaped, for the page's memory benchmark only (not timed here).
                    let cfg_json = synthetic::bert_large_config_json();
                    let cfg = Config::from_json(cfg_json.as_bytes()).map_err(|e| e.to_string())?;
                    let dir = PathBuf::from(v);
                    if dir.join("model.safetensors").exists() {
                        continue;
                    }
                    let weights = synthetic::random_bert_safetensors(&cfg, 43).map_err(|e| e.to_string())?;
                    let tokenizer = std::fs::read(minilm.join("tokenizer.json")).map_err(|e| e.to_string())?;
                    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                    for (f, b) in [("config.json", cfg_json.as_bytes()), ("tokenizer.json", &tokenizer), ("model.safetensors", &weights)] {
                        std::fs::write(dir.join(f), b).map_err(|e| e.to_string())?;
                    }
                    eprintln!("wrote {} ({} bytes of weights)", dir.display(), weights.len());
                    return Ok(());
                }
                "--repeat" => repeat = v.parse().map_err(|_| "--repeat takes a number")?,
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        let read = |f: &str| std::fs::read(minilm.join(f)).map_err(|e| format!("{}: {e}", minilm.join(f).display()));
        let (config, tokenizer, weights) = (read("config.json")?, read("tokenizer.json")?, read("model.safetensors")?);

        let base_cfg_json = synthetic::bert_base_config_json();
        let base_cfg = Config::from_json(base_cfg_json.as_bytes()).map_err(|e| e.to_string())?;
        let base_weights = synthetic::random_bert_safetensors(&base_cfg, 42).map_err(|e| e.to_string())?;
        if let Some(dir) = &write_random {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            for (f, b) in [("config.json", base_cfg_json.as_bytes()), ("tokenizer.json", &tokenizer), ("model.safetensors", &base_weights)] {
                std::fs::write(dir.join(f), b).map_err(|e| e.to_string())?;
            }
        }

        println!(
            "native (this machine: {} cores; candle's matmul on {} threads), median of {repeat} runs ({} at 512 tokens), milliseconds",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            candle_core::utils::get_num_threads(),
            repeat.min(REPEAT_LONG)
        );
        let head: Vec<String> = LENGTHS.iter().map(|n| format!("{:>9}", format!("fwd {n}"))).collect();
        println!("{:<28} | {:>8} | {:>9} | {}", "model", "MB", "load", head.join(" | "));
        measure("all-MiniLM-L6-v2", &config, &tokenizer, &weights, repeat)?;
        measure("bert-base-shaped (random)", base_cfg_json.as_bytes(), &tokenizer, &base_weights, repeat)?;
        Ok(())
    }
}
