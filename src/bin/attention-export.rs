//! `attention-export`: what the page shows, from the command line.
//!
//! ```text
//! attention-export --model DIR --text "..." [--pair "..."] [--format json|npy] [--qk] --out FILE
//!                  [--aggregate head-mean|rollout|flow [--fusion mean|max|min] [--heads 0,2,5] [--layer L]]
//!                  [--stats STATS.json]
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
//!
//! `--aggregate` writes an aggregate to FILE instead of the raw weights
//! (`attention_viz::analysis`): `head-mean` the chosen heads fused per layer (`--fusion`, default
//! `mean`; `--heads`, default all), float32 `[layers, seq, seq]`; `rollout` the attention
//! rollout of the fused heads (Abnar & Zuidema 2020), `[layers, seq, seq]`, entry `l` through
//! layers `0..=l`; `flow` the attention flow of the fused heads up to `--layer` (default the
//! last), `[seq, seq]`, raw max-flow values. `json` writes `{model, text, pair, tokens, shape,
//! aggregate, fusion, heads, layer (flow only), values}` with `values` nested like `shape`;
//! `npy` writes the values to FILE and the same object without `values` beside it
//! (`.tokens.json`). Flow refuses inputs whose [`flow_cost`] is over 20 × the page's limit.
//!
//! `--stats STATS.json` writes per-head statistics and role labels (Clark et al. 2019; see
//! `attention_viz::analysis::HeadStats`) for all heads, unfused: `{model, text, pair, tokens,
//! shape, kinds: {cls, sep, punct}, roles: [{name, rule}], layers: [{layer, heads: [{head,
//! entropy_bits, entropy_norm, distance, to_cls, to_sep, to_punct, to_self, to_prev, to_next,
//! role}]}]}`. Shares are means over rows (from-tokens) of the fraction of attention;
//! `entropy_bits` is the mean row entropy in bits and `entropy_norm` that over log2(seq);
//! `distance` is the mean Σ_j a_ij·|i − j|; `to_prev`/`to_next` average over the tokens that have
//! a previous/next one; `role` is the first rule in `roles` that holds, or `none`. With
//! `--stats`, `--out` may be left out.
//!
//! Bad arguments exit with code 2 and a message, never a panic.
//!
//! [`flow_cost`]: attention_viz::analysis::flow_cost

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

    use attention_viz::analysis::{
        flow, flow_cost, flow_max_tokens, head_fusion_all, head_stats, rollout, Fusion, HeadStats, Role, TokenKinds,
        FLOW_COST_LIMIT,
    };
    use attention_viz::export::{npy_f32, npy_qk, JsonExport};
    use attention_viz::model::{Engine, Token};
    use serde::Serialize;

    const USAGE: &str = "usage: attention-export --model DIR --text TEXT [--pair TEXT] [--format json|npy] [--qk] --out FILE\n  \
         [--aggregate head-mean|rollout|flow [--fusion mean|max|min] [--heads 0,2,5] [--layer L]] [--stats STATS.json]\n  \
         --qk         also export every layer's per-head queries and keys (json: `queries`, `keys`; \
         npy: FILE.q.npy, FILE.k.npy)\n  \
         --aggregate  write an aggregate to FILE instead of the weights: head-mean (the chosen heads fused per layer, \
         [layers, seq, seq]), rollout (attention rollout of the fused heads, [layers, seq, seq]) or flow (attention flow \
         up to --layer, [seq, seq]); json: {model, text, pair, tokens, shape, aggregate, fusion, heads, layer, values}, \
         npy: the values, and the rest beside FILE as .tokens.json\n  \
         --fusion     how heads are fused: mean (default), max or min\n  \
         --heads      the heads to fuse, comma-separated (default: all)\n  \
         --layer      flow only: the layer whose output the flow reaches (default: the last)\n  \
         --stats      write per-head statistics and role labels to STATS.json: {model, text, pair, tokens, shape, \
         kinds: {cls, sep, punct}, roles: [{name, rule}], layers: [{layer, heads: [{head, entropy_bits, entropy_norm, \
         distance, to_cls, to_sep, to_punct, to_self, to_prev, to_next, role}]}]}; --out is optional with --stats";

    /// How far past the page's flow budget the command line goes (natively, a few seconds).
    const CLI_FLOW_FACTOR: u64 = 20;

    #[derive(Clone, Copy, PartialEq)]
    enum Aggregate {
        HeadMean,
        Rollout,
        Flow,
    }

    impl Aggregate {
        fn name(self) -> &'static str {
            match self {
                Aggregate::HeadMean => "head-mean",
                Aggregate::Rollout => "rollout",
                Aggregate::Flow => "flow",
            }
        }
    }

    struct Args {
        model: PathBuf,
        text: String,
        pair: Option<String>,
        npy: bool,
        qk: bool,
        out: Option<PathBuf>,
        aggregate: Option<Aggregate>,
        fusion: Fusion,
        heads: Option<Vec<usize>>,
        layer: Option<usize>,
        stats: Option<PathBuf>,
    }

    fn parse_heads(v: &str) -> Result<Vec<usize>, String> {
        let bad = || format!("--heads must be head numbers separated by commas, like 0,2,5, not {v:?}");
        let heads = v.split(',').map(|h| h.trim().parse::<usize>().map_err(|_| bad())).collect::<Result<Vec<_>, _>>()?;
        if heads.is_empty() {
            return Err(bad());
        }
        Ok(heads)
    }

    fn parse(args: Vec<String>) -> Result<Args, String> {
        let (mut model, mut text, mut pair, mut format, mut out) = (None, None, None, None, None);
        let (mut aggregate, mut fusion, mut heads, mut layer, mut stats) = (None, None, None, None, None);
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
                "--aggregate" => {
                    aggregate = Some(match value.as_str() {
                        "head-mean" => Aggregate::HeadMean,
                        "rollout" => Aggregate::Rollout,
                        "flow" => Aggregate::Flow,
                        _ => return Err(format!("--aggregate must be head-mean, rollout or flow, not {value}")),
                    })
                }
                "--fusion" => {
                    fusion = Some(Fusion::parse(&value).ok_or(format!("--fusion must be mean, max or min, not {value}"))?)
                }
                "--heads" => heads = Some(parse_heads(&value)?),
                "--layer" => {
                    layer = Some(value.trim().parse::<usize>().map_err(|_| format!("--layer must be a layer number, not {value:?}"))?)
                }
                "--stats" => stats = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        let npy = match format.as_deref() {
            None | Some("json") => false,
            Some("npy") => true,
            Some(f) => return Err(format!("--format must be json or npy, not {f}")),
        };
        if aggregate.is_none() && (fusion.is_some() || heads.is_some()) {
            return Err("--fusion and --heads need --aggregate head-mean, rollout or flow".into());
        }
        if layer.is_some() && aggregate != Some(Aggregate::Flow) {
            return Err("--layer only applies to --aggregate flow".into());
        }
        if qk && aggregate.is_some() {
            return Err("--qk exports the raw queries and keys; it cannot be combined with --aggregate".into());
        }
        if out.is_none() && (stats.is_none() || qk || aggregate.is_some()) {
            return Err(format!("--out is required\n{USAGE}"));
        }
        Ok(Args {
            model: model.ok_or(format!("--model is required\n{USAGE}"))?,
            text: text.ok_or(format!("--text is required\n{USAGE}"))?,
            pair,
            npy,
            qk,
            out,
            aggregate,
            fusion: fusion.unwrap_or_default(),
            heads,
            layer,
            stats,
        })
    }

    fn read(dir: &Path, file: &str) -> Result<Vec<u8>, String> {
        let p = dir.join(file);
        std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, String> {
        serde_json::to_vec(v).map_err(|e| e.to_string())
    }

    /// An aggregate's values, nested like its shape.
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Nested<'a> {
        Layers(Vec<Vec<&'a [f32]>>),
        Matrix(Vec<&'a [f32]>),
    }

    /// `--aggregate`'s JSON (and, without `values`, the `.npy` export's side file).
    #[derive(Serialize)]
    struct AggregateExport<'a> {
        model: &'a str,
        text: &'a str,
        pair: Option<&'a str>,
        tokens: Vec<&'a str>,
        shape: Vec<usize>,
        aggregate: &'static str,
        fusion: &'static str,
        heads: Vec<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        layer: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        values: Option<Nested<'a>>,
    }

    #[derive(Serialize)]
    struct RoleRule {
        name: &'static str,
        rule: &'static str,
    }

    #[derive(Serialize)]
    struct HeadEntry {
        head: usize,
        #[serde(flatten)]
        stats: HeadStats,
        role: &'static str,
    }

    #[derive(Serialize)]
    struct LayerEntry {
        layer: usize,
        heads: Vec<HeadEntry>,
    }

    /// `--stats`'s JSON.
    #[derive(Serialize)]
    struct StatsExport<'a> {
        model: &'a str,
        text: &'a str,
        pair: Option<&'a str>,
        tokens: Vec<&'a str>,
        shape: [usize; 4],
        kinds: &'a TokenKinds,
        roles: Vec<RoleRule>,
        layers: Vec<LayerEntry>,
    }

    /// An aggregate's shape, values and (flow only) layer.
    struct Computed {
        shape: Vec<usize>,
        values: Vec<f32>,
        layer: Option<usize>,
    }

    /// The aggregate `a` asks for.
    fn aggregate(
        a: &Args,
        which: Aggregate,
        data: &[f32],
        s: attention_viz::attention::Shape,
        heads: &[usize],
    ) -> Result<Computed, String> {
        let fused = head_fusion_all(data, s.layers, s.heads, s.seq, heads, a.fusion)
            .ok_or("the attention tensor does not match its shape")?;
        match which {
            Aggregate::HeadMean => Ok(Computed { shape: vec![s.layers, s.seq, s.seq], values: fused, layer: None }),
            Aggregate::Rollout => {
                let r = rollout(&fused, s.layers, s.seq).ok_or("the attention tensor does not match its shape")?;
                Ok(Computed { shape: vec![s.layers, s.seq, s.seq], values: r, layer: None })
            }
            Aggregate::Flow => {
                let last = s.layers.checked_sub(1).ok_or("this model has no layers")?;
                let layer = a.layer.unwrap_or(last);
                if layer > last {
                    return Err(format!("--layer {layer} does not exist: this model has {} layers, 0 to {last}", s.layers));
                }
                let cost = flow_cost(layer + 1, s.seq);
                let limit = FLOW_COST_LIMIT.saturating_mul(CLI_FLOW_FACTOR);
                if cost > limit {
                    let mut most = 0;
                    while most < s.seq && flow_cost(layer + 1, most + 1) <= limit {
                        most += 1;
                    }
                    return Err(format!(
                        "attention flow through {} layers on {} tokens would take too long (cost {cost} > {limit}; \
                         at most {most} tokens through {} layers here, {} in the page); use --aggregate rollout",
                        layer + 1,
                        s.seq,
                        layer + 1,
                        flow_max_tokens(layer + 1)
                    ));
                }
                let f = flow(&fused, s.layers, s.seq, layer).ok_or("the attention tensor does not match its shape")?;
                Ok(Computed { shape: vec![s.seq, s.seq], values: f, layer: Some(layer) })
            }
        }
    }

    fn stats_doc<'a>(
        model: &'a str,
        a: &'a Args,
        tokens: &'a [Token],
        kinds: &'a TokenKinds,
        s: attention_viz::attention::Shape,
        data: &[f32],
    ) -> Result<StatsExport<'a>, String> {
        let stats = head_stats(data, s.layers, s.heads, s.seq, kinds);
        if stats.len() != s.layers * s.heads {
            return Err("could not compute head statistics (empty input?)".into());
        }
        let layers = stats
            .chunks(s.heads.max(1))
            .enumerate()
            .map(|(layer, hs)| LayerEntry {
                layer,
                heads: hs.iter().enumerate().map(|(head, &st)| HeadEntry { head, stats: st, role: st.role().name() }).collect(),
            })
            .collect();
        let roles = Role::ALL.iter().chain(&[Role::Unlabelled]).map(|r| RoleRule { name: r.name(), rule: r.rule() }).collect();
        Ok(StatsExport {
            model,
            text: &a.text,
            pair: a.pair.as_deref(),
            tokens: tokens.iter().map(|t| t.text.as_str()).collect(),
            shape: [s.layers, s.heads, s.seq, s.seq],
            kinds,
            roles,
            layers,
        })
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
        let s = run.attention.shape();
        let tokens = &run.encoded.tokens;
        let mut wrote: Vec<String> = Vec::new();
        if let (Some(which), Some(out)) = (a.aggregate, &a.out) {
            let heads = match &a.heads {
                Some(h) => {
                    if let Some(bad) = h.iter().find(|&&x| x >= s.heads) {
                        return Err(format!(
                            "--heads: head {bad} does not exist: this model has {} heads per layer, 0 to {}",
                            s.heads,
                            s.heads.saturating_sub(1)
                        ));
                    }
                    let mut h = h.clone();
                    h.sort_unstable();
                    h.dedup();
                    h
                }
                None => (0..s.heads).collect(),
            };
            let Computed { shape, values, layer } = aggregate(&a, which, run.attention.data(), s, &heads)?;
            let mut doc = AggregateExport {
                model: &model,
                text: &a.text,
                pair: a.pair.as_deref(),
                tokens: tokens.iter().map(|t| t.text.as_str()).collect(),
                shape: shape.clone(),
                aggregate: which.name(),
                fusion: a.fusion.name(),
                heads,
                layer,
                values: None,
            };
            if a.npy {
                write(out, &npy_f32(&shape, &values))?;
                let side = out.with_extension("tokens.json");
                write(&side, &serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?)?;
                wrote.extend([out.display().to_string(), side.display().to_string()]);
            } else {
                let n = s.seq.max(1);
                doc.values = Some(if which == Aggregate::Flow {
                    Nested::Matrix(values.chunks(n).collect())
                } else {
                    Nested::Layers(values.chunks(n * n).map(|m| m.chunks(n).collect()).collect())
                });
                write(out, &to_json(&doc)?)?;
                wrote.push(out.display().to_string());
            }
        } else if let Some(out) = &a.out {
            let doc = JsonExport::new(&model, &a.text, a.pair.as_deref(), tokens, run.encoded.truncated, &run.attention)
                .with_qk(&qk);
            if a.npy {
                write(out, &npy_f32(&[s.layers, s.heads, s.seq, s.seq], run.attention.data()))?;
                let side = out.with_extension("tokens.json");
                let meta = JsonExport { attention: Vec::new(), queries: Vec::new(), keys: Vec::new(), ..doc };
                write(&side, serde_json::to_string_pretty(&meta).map_err(|e| e.to_string())?.as_bytes())?;
                wrote.extend([out.display().to_string(), side.display().to_string()]);
                if a.qk {
                    let (q, k) = npy_qk(&qk).ok_or("the layers' queries and keys have different shapes")?;
                    let (qpath, kpath) = (out.with_extension("q.npy"), out.with_extension("k.npy"));
                    write(&qpath, &q)?;
                    write(&kpath, &k)?;
                    wrote.extend([qpath.display().to_string(), kpath.display().to_string()]);
                }
            } else {
                write(out, serde_json::to_string(&doc).map_err(|e| e.to_string())?.as_bytes())?;
                wrote.push(out.display().to_string());
            }
        }
        if let Some(path) = &a.stats {
            let kinds = TokenKinds::from_tokens(tokens);
            let doc = stats_doc(&model, &a, tokens, &kinds, s, run.attention.data())?;
            write(path, &serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?)?;
            wrote.push(path.display().to_string());
        }
        match wrote.as_slice() {
            [] => {}
            [one] => eprintln!("wrote {one}"),
            [rest @ .., last] => eprintln!("wrote {} and {last}", rest.join(", ")),
        }
        if run.encoded.truncated {
            eprintln!("note: the input was truncated to {} tokens", s.seq);
        }
        Ok(())
    }
}
