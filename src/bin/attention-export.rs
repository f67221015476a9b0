//! `attention-export`: what the page shows, from the command line.
//!
//! ```text
//! attention-export --model DIR --text "..." [--pair "..."] [--format json|npy] [--qk] --out FILE
//! ```
//! DIR holds `config.json`, `tokenizer.json` and `model.safetensors`. `json` writes tokens, ids,
//! token_type_ids, offsets, shape and nested weights; `npy` writes float32
//! `[layers, heads, seq, seq]` to FILE and the tokens as JSON beside it (`FILE` with
//! `.tokens.json` in place of `.npy`).
//!
//! `--qk` also exports every layer's per-head query and key vectors (the outputs of the query
//! and key projections, after the bias, before the 1/√head_dim scaling), from the same forward
//! pass: `json` gains `queries` and `keys` nested `[layer][head][token][dim]`; `npy` writes
//! float32 `[layers, heads, seq, head_dim]` beside FILE as `.q.npy` and `.k.npy` (for
//! `--out attn.npy`: `attn.q.npy` and `attn.k.npy`).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = cli::main(std::env::args().skip(1).collect()) {
        eprintln!("attention-export: {e}");
        std::process::exit(2);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::{Path, PathBuf};

    use attention_viz::export::{npy_f32, npy_qk, JsonExport};
    use attention_viz::model::Engine;

    const USAGE: &str = "usage: attention-export --model DIR --text TEXT [--pair TEXT] [--format json|npy] [--qk] --out FILE\n  \
                         --qk  also export every layer's per-head queries and keys (json: `queries`, `keys`; \
                         npy: FILE.q.npy, FILE.k.npy)";

    struct Args {
        model: PathBuf,
        text: String,
        pair: Option<String>,
        npy: bool,
        qk: bool,
        out: PathBuf,
    }

    fn parse(args: Vec<String>) -> Result<Args, String> {
        let (mut model, mut text, mut pair, mut format, mut out) = (None, None, None, None, None);
        let mut qk = false;
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Err(USAGE.into());
            }
            if flag == "--qk" {
                qk = true;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            match flag.as_str() {
                "--model" => model = Some(PathBuf::from(value)),
                "--text" => text = Some(value),
                "--pair" => pair = Some(value),
                "--format" => format = Some(value),
                "--out" => out = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        let npy = match format.as_deref() {
            None | Some("json") => false,
            Some("npy") => true,
            Some(f) => return Err(format!("--format must be json or npy, not {f}")),
        };
        Ok(Args {
            model: model.ok_or(format!("--model is required\n{USAGE}"))?,
            text: text.ok_or(format!("--text is required\n{USAGE}"))?,
            pair,
            npy,
            qk,
            out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        })
    }

    fn read(dir: &Path, file: &str) -> Result<Vec<u8>, String> {
        let p = dir.join(file);
        std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn main(args: Vec<String>) -> Result<(), String> {
        let a = parse(args)?;
        let engine = Engine::from_bytes(
            &read(&a.model, "config.json")?,
            &read(&a.model, "tokenizer.json")?,
            &read(&a.model, "model.safetensors")?,
        )
        .map_err(|e| e.to_string())?;
        let (run, qk) = if a.qk {
            engine.run_with_qk(&a.text, a.pair.as_deref())
        } else {
            engine.run(&a.text, a.pair.as_deref()).map(|run| (run, Vec::new()))
        }
        .map_err(|e| e.to_string())?;
        let model = a.model.display().to_string();
        let doc = JsonExport::new(&model, &a.text, a.pair.as_deref(), &run.encoded.tokens, run.encoded.truncated, &run.attention)
            .with_qk(&qk);
        let s = run.attention.shape();
        if a.npy {
            write(&a.out, &npy_f32(&[s.layers, s.heads, s.seq, s.seq], run.attention.data()))?;
            let side = a.out.with_extension("tokens.json");
            let meta = JsonExport { attention: Vec::new(), queries: Vec::new(), keys: Vec::new(), ..doc };
            write(&side, serde_json::to_string_pretty(&meta).map_err(|e| e.to_string())?.as_bytes())?;
            if a.qk {
                let (q, k) = npy_qk(&qk).ok_or("the layers' queries and keys have different shapes")?;
                let (qpath, kpath) = (a.out.with_extension("q.npy"), a.out.with_extension("k.npy"));
                write(&qpath, &q)?;
                write(&kpath, &k)?;
                eprintln!("wrote {}, {}, {} and {}", a.out.display(), side.display(), qpath.display(), kpath.display());
            } else {
                eprintln!("wrote {} and {}", a.out.display(), side.display());
            }
        } else {
            write(&a.out, serde_json::to_string(&doc).map_err(|e| e.to_string())?.as_bytes())?;
            eprintln!("wrote {}", a.out.display());
        }
        if run.encoded.truncated {
            eprintln!("note: the input was truncated to {} tokens", s.seq);
        }
        Ok(())
    }
}
