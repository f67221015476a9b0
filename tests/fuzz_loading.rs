//! A mutation fuzzer for the model loading path the worker runs on downloaded bytes:
//! `config.json` (`Config::from_json`), `tokenizer.json` (`TokenizerWrapper::from_json`, then
//! `check_vocab`), `model.safetensors` (`WeightStream` in random chunks, checked against the
//! stated size), then `Engine::new` and a run. Inputs are the tiny BERT fixture
//! (tests/golden/models/bert) with one file mutated at a time: byte flips, cuts, inserted
//! bytes, and structure-aware JSON edits (a number made huge, negative or fractional, a string
//! replaced, a key dropped, an array cut). Every outcome must be a value or an error whose
//! message names the file; a panic is a finding (saved under target/fuzz-findings/).
//!
//! - `smoke` (in `cargo test`): a few hundred seeded mutations, a second or two.
//! - `fuzz` (ignored; `make fuzz`, or `AV_FUZZ_SECONDS=600 cargo test --test fuzz_loading
//!   fuzz -- --ignored --nocapture`): runs for that long from a time-based seed and prints
//!   how many inputs it tried per file and what it found.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use attention_viz::model::{Config, Engine, TokenizerWrapper, WeightStream};
use serde_json::Value;

fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/models/bert").join(file)).unwrap()
}

/// xorshift64*: seeded, no crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte-level mutations: flips, a cut, inserted or repeated bytes, a run zeroed.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.truncate(rng.below(b.len() + 1)),
            2 => {
                let i = rng.below(b.len() + 1);
                let n = rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(i..i, bytes);
            }
            3 if !b.is_empty() => {
                let i = rng.below(b.len());
                let n = rng.below(64).min(b.len() - i);
                let copy = b[i..i + n].to_vec();
                b.splice(i..i, copy);
            }
            4 if !b.is_empty() => {
                let i = rng.below(b.len());
                let n = rng.below(32).min(b.len() - i);
                b[i..i + n].fill(0);
            }
            _ if !b.is_empty() => {
                // A digit changed (sizes, ids, offsets).
                let i = rng.below(b.len());
                if let Some(j) = (i..b.len()).find(|&j| b[j].is_ascii_digit()) {
                    b[j] = b'0' + rng.below(10) as u8;
                }
            }
            _ => {}
        }
    }
}

/// An extreme or odd JSON value.
fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(u64::MAX),
        3 => Value::from(1_000_000_000u64),
        4 => Value::from(1u64 << 32),
        5 => serde_json::json!(1.5),
        6 => serde_json::json!(1e300),
        7 => Value::Null,
        8 => Value::from("x"),
        _ => serde_json::json!([]),
    }
}

/// Structure-aware: one node of the JSON replaced by an odd value, removed, or cut.
fn mutate_json(rng: &mut Rng, v: &mut Value, depth: usize) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            match rng.below(5) {
                0 => {
                    map.remove(k);
                }
                1 => {
                    map.insert(k.clone(), odd_value(rng));
                }
                _ if depth < 6 => mutate_json(rng, map.get_mut(k).unwrap(), depth + 1),
                _ => {
                    map.insert(k.clone(), odd_value(rng));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => match rng.below(4) {
            0 => a.truncate(rng.below(a.len())),
            1 => {
                let i = rng.below(a.len());
                a[i] = odd_value(rng);
            }
            _ => {
                let i = rng.below(a.len());
                if depth < 6 {
                    mutate_json(rng, &mut a[i], depth + 1);
                }
            }
        },
        other => *other = odd_value(rng),
    }
}

fn mutate(rng: &mut Rng, file: &[u8], json: bool) -> Vec<u8> {
    if json && rng.below(2) == 0 {
        if let Ok(mut v) = serde_json::from_slice::<Value>(file) {
            for _ in 0..1 + rng.below(3) {
                mutate_json(rng, &mut v, 0);
            }
            return serde_json::to_vec(&v).unwrap();
        }
    }
    if !json && rng.below(2) == 0 {
        // The safetensors header: its JSON mutated, the length prefix rewritten to match.
        let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        if let Ok(mut v) = serde_json::from_slice::<Value>(&file[8..8 + n]) {
            mutate_json(rng, &mut v, 0);
            let header = serde_json::to_vec(&v).unwrap();
            let mut out = (header.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&header);
            out.extend_from_slice(&file[8 + n..]);
            return out;
        }
    }
    let mut b = file.to_vec();
    mutate_bytes(rng, &mut b);
    b
}

/// The worker's loading path on three files; `Err` is the message the page would show.
fn load(rng: &mut Rng, config: &[u8], tokenizer: &[u8], weights: &[u8]) -> Result<(), String> {
    let config = Config::from_json(config).map_err(|e| e.to_string())?;
    let tokenizer = TokenizerWrapper::from_json(tokenizer, config.max_tokens()).map_err(|e| e.to_string())?;
    tokenizer.check_vocab(config.vocab_size).map_err(|e| e.to_string())?;
    let mut stream = WeightStream::new(config.family, Some(64 << 20));
    stream.expect_len(Some(weights.len() as u64));
    let mut rest = weights;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(70_000));
        stream.push(&rest[..n]).map_err(|e| e.to_string())?;
        rest = &rest[n..];
    }
    let checkpoint = stream.finish().map_err(|e| e.to_string())?;
    let engine = Engine::new(config, tokenizer, &checkpoint).map_err(|e| e.to_string())?;
    engine.run("He went to the bank.", Some("The river bank.")).map_err(|e| e.to_string())?;
    Ok(())
}

/// How a message may start: the file it names, or the engine's other readable kinds.
const PREFIXES: [&str; 7] = [
    "config.json is not valid: ",
    "unsupported model: ",
    "tokenizer.json is not valid: ",
    "model.safetensors is not valid: ",
    "the tokenizer rejected the text: ",
    "this model is too large",
    "inference failed: ",
];

#[derive(Default)]
struct Tally {
    tried: [u64; 3],
    loaded: [u64; 3],
    refused: [u64; 3],
    panics: Vec<String>,
    unnamed: Vec<String>,
}

fn one(rng: &mut Rng, files: &[Vec<u8>; 3], tally: &mut Tally) {
    let which = rng.below(3);
    let mut inputs = files.clone();
    inputs[which] = mutate(rng, &files[which], which < 2);
    tally.tried[which] += 1;
    let seed = rng.next();
    let outcome = catch_unwind(AssertUnwindSafe(|| load(&mut Rng(seed | 1), &inputs[0], &inputs[1], &inputs[2])));
    match outcome {
        Ok(Ok(())) => tally.loaded[which] += 1,
        Ok(Err(m)) => {
            tally.refused[which] += 1;
            if !PREFIXES.iter().any(|p| m.starts_with(p)) && tally.unnamed.len() < 20 {
                tally.unnamed.push(m);
            }
        }
        Err(p) => {
            let what = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
            let _ = std::fs::create_dir_all(&dir);
            let name = ["config.json", "tokenizer.json", "model.safetensors"][which];
            let path = dir.join(format!("{}-{seed:016x}", name));
            let _ = std::fs::write(&path, &inputs[which]);
            tally.panics.push(format!("{name}: {what} (input saved to {})", path.display()));
        }
    }
}

fn run_for(seed: u64, budget: Budget) -> Tally {
    let files = [fixture("config.json"), fixture("tokenizer.json"), fixture("model.safetensors")];
    // Panics are findings, reported at the end: keep the default hook's noise out of the log.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed | 1);
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut n = 0u64;
    while match budget {
        Budget::Cases(c) => n < c,
        Budget::Time(t) => start.elapsed() < t,
    } {
        one(&mut rng, &files, &mut tally);
        n += 1;
    }
    std::panic::set_hook(hook);
    tally
}

enum Budget {
    Cases(u64),
    Time(Duration),
}

fn report(t: &Tally) -> String {
    let names = ["config.json", "tokenizer.json", "model.safetensors"];
    (0..3)
        .map(|i| format!("{}: {} mutated ({} still loaded, {} refused)", names[i], t.tried[i], t.loaded[i], t.refused[i]))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn smoke() {
    let t = run_for(0x5eed_f00d, Budget::Cases(240));
    println!("{}", report(&t));
    assert!(t.panics.is_empty(), "panics: {:#?}", t.panics);
    assert!(t.unnamed.is_empty(), "messages that name no file: {:#?}", t.unnamed);
    assert!(t.refused.iter().all(|r| *r > 0), "every file's mutations were refused sometimes: {}", report(&t));
}

#[test]
#[ignore = "a bounded fuzzing run, started by hand (make fuzz)"]
fn fuzz() {
    let secs: u64 = std::env::var("AV_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let start = Instant::now();
    let t = run_for(seed, Budget::Time(Duration::from_secs(secs)));
    let total: u64 = t.tried.iter().sum();
    println!("fuzz: {total} inputs in {:.0} s (seed {seed:#x}): {}", start.elapsed().as_secs_f64(), report(&t));
    println!("fuzz: {} panics, {} messages naming no file", t.panics.len(), t.unnamed.len());
    for p in &t.panics {
        println!("  panic: {p}");
    }
    for m in &t.unnamed {
        println!("  unnamed: {m}");
    }
    assert!(t.panics.is_empty() && t.unnamed.is_empty(), "the fuzzer found problems (listed above)");
}

/// Replays one saved finding without catching its panic (for the backtrace):
/// `AV_FUZZ_REPLAY=target/fuzz-findings/<file> RUST_BACKTRACE=1 cargo test --test fuzz_loading
/// replay -- --ignored --nocapture`. The file's name says which of the three it replaces.
#[test]
#[ignore = "replays a finding of the fuzzer, by hand"]
fn replay() {
    let Some(path) = std::env::var_os("AV_FUZZ_REPLAY").map(PathBuf::from) else { return };
    let bytes = std::fs::read(&path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut files = [fixture("config.json"), fixture("tokenizer.json"), fixture("model.safetensors")];
    let which = ["config.json", "tokenizer.json", "model.safetensors"].iter().position(|f| name.starts_with(f)).unwrap();
    files[which] = bytes;
    let seed = u64::from_str_radix(name.rsplit('-').next().unwrap(), 16).unwrap_or(1);
    println!("{:?}", load(&mut Rng(seed | 1), &files[0], &files[1], &files[2]));
}
