//! `attention-export`: what the page shows, from the command line.
//!
//! ```text
//! attention-export --model DIR (--text "..." [--pair "..."] | --text-file FILE) --out PATH
//!                  [--format json|npy|svg|png] [--qk]
//!                  [--aggregate head-mean|rollout|flow [--fusion mean|max|min] [--heads 0,2,5] [--layer L]]
//!                  [--stats STATS.json]
//!                  [--view heatmap|head|model] [--layer L] [--head H|mean] [--heads 0,3] [--all-heads]
//!                  [--theme light|dark] [--hide-specials] [--merge-words] [--width PX] [--scale 1|2|4]
//! ```
//! DIR holds `config.json`, `tokenizer.json` and `model.safetensors`. `json` (the default)
//! writes tokens, ids, token_type_ids, offsets, shape and nested weights; `npy` writes float32
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
//! # Pictures
//!
//! `--format svg` and `--format png` draw one of the page's views to FILE, with the page's own
//! layout code (`attention_viz::viz::svg`); a PNG is that SVG rasterised
//! (`attention_viz::viz::png`, text in the embedded DejaVu Sans, no system fonts needed).
//! The title line (and the SVG's `<title>`) names the model, the layer and the head(s).
//! - `--view heatmap` (default): one head of `--layer` (default 0) as a matrix, rows = from,
//!   columns = to, viridis from 0 to the head's largest weight. `--head H` (default 0) picks
//!   the head; `--head mean` draws the `--fusion` (default mean) of the `--heads` (default all)
//!   instead. `--aggregate head-mean|rollout|flow` draws that aggregate's matrix at `--layer`
//!   (head-mean: default 0; rollout and flow: default the last layer, the whole model).
//! - `--view head`: BertViz's head view of `--layer` (default 0), the `--heads` (default all)
//!   one colour each, with the page's weight floor and line budget.
//! - `--view model`: every layer × head as thumbnails.
//! - `--all-heads` (heatmap and head views): one file per layer × head (heatmap:
//!   `L{l}-H{h}.EXT`, only the `--heads` if given) or per layer (head view: `L{l}.EXT`), in the
//!   directory `--out`; `--layer` keeps one layer.
//! - `--theme light|dark` (default light), `--hide-specials` (drop [CLS]/[SEP] and renormalise
//!   each row), `--merge-words` (word pieces into words: rows averaged, columns summed), as the
//!   page's options; `--width PX` the width the page would lay the view out in (CSS pixels,
//!   100 to 10000, default 900); `--scale 1|2|4` (png only, default 1) device pixels per CSS
//!   pixel.
//!
//! # Many inputs
//!
//! `--text-file FILE` runs every line of FILE (UTF-8; empty lines skipped; `A<TAB>B` is the
//! sentence pair A, B) with any format and view. `--out` is then a directory (made if missing):
//! input `i` (counted from 0 over the non-empty lines) writes `NNN.EXT` (`i` zero-padded to 3
//! digits, or more for 1000+ inputs; json/npy side files as above, `NNN.tokens.json`, …;
//! `--all-heads`: `NNN-L{l}-H{h}.EXT`), and `index.json` lists them: `{model, format, view,
//! inputs: [{index, line, text, pair, tokens, truncated, files}]}`, `line` counted from 1 and
//! `files` relative to the directory. `--stats` takes one input and cannot be combined with it.
//!
//! Bad arguments (an unknown view, format or theme, a layer or head the model does not have, an
//! unreadable or empty text file, …) exit with code 2 and a message, never a panic.
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
    use std::path::{Component, Path, PathBuf};

    use attention_viz::analysis::{
        apply, apply_all, flow, flow_cost, flow_max_tokens, fuse_heads, head_fusion_all, head_stats, is_identity,
        rollout, units, Fusion, HeadStats, Role, TokenKinds, Unit, ViewOptions, FLOW_COST_LIMIT,
    };
    use attention_viz::attention::Shape;
    use attention_viz::export::{npy_f32, npy_qk, JsonExport};
    use attention_viz::model::{Engine, Run, Token};
    use attention_viz::ui::theme::Theme;
    use attention_viz::viz::png::Rasterizer;
    use attention_viz::viz::svg::{head_view_svg, heatmap_svg, model_view_svg, SvgOptions};
    use serde::Serialize;

    const USAGE: &str = "usage: attention-export --model DIR (--text TEXT [--pair TEXT] | --text-file FILE) --out PATH\n  \
         [--format json|npy|svg|png] [--qk] [--stats STATS.json]\n  \
         [--aggregate head-mean|rollout|flow [--fusion mean|max|min] [--heads 0,2,5] [--layer L]]\n  \
         [--view heatmap|head|model] [--layer L] [--head H|mean] [--heads 0,3] [--all-heads]\n  \
         [--theme light|dark] [--hide-specials] [--merge-words] [--width PX] [--scale 1|2|4]\n  \
         --format     json (default): tokens, ids, offsets, shape and the weights nested [layer][head][from][to]; \
         npy: float32 [layers, heads, seq, seq] and the rest beside FILE as .tokens.json; \
         svg or png: a picture of one of the page's views (--view)\n  \
         --qk         also export every layer's per-head queries and keys (json: `queries`, `keys`; \
         npy: FILE.q.npy, FILE.k.npy)\n  \
         --aggregate  write an aggregate to FILE instead of the weights: head-mean (the chosen heads fused per layer, \
         [layers, seq, seq]), rollout (attention rollout of the fused heads, [layers, seq, seq]) or flow (attention flow \
         up to --layer, [seq, seq]); json: {model, text, pair, tokens, shape, aggregate, fusion, heads, layer, values}, \
         npy: the values, and the rest beside FILE as .tokens.json; svg/png: that aggregate's matrix at --layer as a \
         heatmap\n  \
         --fusion     how heads are fused: mean (default), max or min\n  \
         --heads      the heads to fuse, or to draw in the head view, comma-separated (default: all)\n  \
         --layer      flow: the layer whose output the flow reaches (default: the last); pictures: the layer drawn \
         (default 0; rollout and flow: the last)\n  \
         --stats      write per-head statistics and role labels to STATS.json: {model, text, pair, tokens, shape, \
         kinds: {cls, sep, punct}, roles: [{name, rule}], layers: [{layer, heads: [{head, entropy_bits, entropy_norm, \
         distance, to_cls, to_sep, to_punct, to_self, to_prev, to_next, role}]}]}; --out is optional with --stats\n  \
         --view       svg/png: heatmap (one head, default), head (BertViz's head view of --layer, the --heads one \
         colour each) or model (every layer × head as thumbnails)\n  \
         --head       heatmap: the head drawn (default 0), or mean: the --fusion of the --heads\n  \
         --all-heads  heatmap: one file per layer × head (L{l}-H{h}.EXT); head view: one per layer (L{l}.EXT); \
         --out is then a directory, --layer keeps one layer, --heads some heads\n  \
         --theme      light (default) or dark\n  \
         --hide-specials  drop [CLS]/[SEP] and renormalise each row (the page's option)\n  \
         --merge-words    merge word pieces into words: rows averaged, columns summed (the page's option)\n  \
         --width      the width the page would lay the view out in, CSS pixels, 100 to 10000 (default 900)\n  \
         --scale      png: 1 (default), 2 or 4 device pixels per CSS pixel\n  \
         --text-file  one input per line (empty lines skipped, A<TAB>B for a pair); --out is then a directory \
         that gets NNN.EXT per input (NNN-L{l}-H{h}.EXT with --all-heads) and index.json: {model, format, view, \
         inputs: [{index, line, text, pair, tokens, truncated, files}]}";

    /// How far past the page's flow budget the command line goes (natively, a few seconds).
    const CLI_FLOW_FACTOR: u64 = 20;
    /// The page's layout width when none is given (`SvgOptions::default`).
    const DEFAULT_WIDTH: f64 = 900.0;
    const WIDTHS: std::ops::RangeInclusive<f64> = 100.0..=10_000.0;

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

    #[derive(Clone, Copy, PartialEq)]
    enum Format {
        Json,
        Npy,
        Svg,
        Png,
    }

    impl Format {
        fn name(self) -> &'static str {
            match self {
                Format::Json => "json",
                Format::Npy => "npy",
                Format::Svg => "svg",
                Format::Png => "png",
            }
        }
        fn picture(self) -> bool {
            matches!(self, Format::Svg | Format::Png)
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum View {
        Heatmap,
        Head,
        Model,
    }

    impl View {
        fn name(self) -> &'static str {
            match self {
                View::Heatmap => "heatmap",
                View::Head => "head",
                View::Model => "model",
            }
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum HeadChoice {
        One(usize),
        /// The `--fusion` of the `--heads`.
        Fused,
    }

    /// One input: a text, maybe a pair, and its line in `--text-file` (1-based; 0 for `--text`).
    struct Input {
        text: String,
        pair: Option<String>,
        line: usize,
    }

    struct Args {
        model: PathBuf,
        text: Option<String>,
        pair: Option<String>,
        text_file: Option<PathBuf>,
        format: Format,
        qk: bool,
        out: Option<PathBuf>,
        aggregate: Option<Aggregate>,
        fusion: Fusion,
        heads: Option<Vec<usize>>,
        layer: Option<usize>,
        stats: Option<PathBuf>,
        view: View,
        head: Option<HeadChoice>,
        all_heads: bool,
        theme: Theme,
        options: ViewOptions,
        width: f64,
        scale: u32,
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
        let (mut text_file, mut view, mut head, mut theme, mut width, mut scale) = (None, None, None, None, None, None);
        let (mut qk, mut hide_specials, mut merge_words, mut all_heads) = (false, false, false, false);
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "-h" | "--help" => return Err(USAGE.into()),
                "--qk" => qk = true,
                "--hide-specials" => hide_specials = true,
                "--merge-words" => merge_words = true,
                "--all-heads" => all_heads = true,
                _ => {
                    let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
                    match flag.as_str() {
                        "--model" => model = Some(PathBuf::from(value)),
                        "--text" => text = Some(value),
                        "--pair" => pair = Some(value),
                        "--text-file" => text_file = Some(PathBuf::from(value)),
                        "--format" => {
                            format = Some(match value.as_str() {
                                "json" => Format::Json,
                                "npy" => Format::Npy,
                                "svg" => Format::Svg,
                                "png" => Format::Png,
                                _ => return Err(format!("--format must be json, npy, svg or png, not {value}")),
                            })
                        }
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
                            layer = Some(
                                value.trim().parse::<usize>().map_err(|_| format!("--layer must be a layer number, not {value:?}"))?,
                            )
                        }
                        "--stats" => stats = Some(PathBuf::from(value)),
                        "--view" => {
                            view = Some(match value.as_str() {
                                "heatmap" => View::Heatmap,
                                "head" => View::Head,
                                "model" => View::Model,
                                _ => return Err(format!("--view must be heatmap, head or model, not {value}")),
                            })
                        }
                        "--head" => {
                            head = Some(match value.trim() {
                                "mean" => HeadChoice::Fused,
                                v => HeadChoice::One(
                                    v.parse::<usize>().map_err(|_| format!("--head must be a head number or mean, not {value:?}"))?,
                                ),
                            })
                        }
                        "--theme" => {
                            theme = Some(Theme::from_name(&value).ok_or(format!("--theme must be light or dark, not {value}"))?)
                        }
                        "--width" => {
                            width = Some(value.trim().parse::<f64>().ok().filter(|w| WIDTHS.contains(w)).ok_or(format!(
                                "--width must be a width in CSS pixels from {} to {}, not {value:?}",
                                WIDTHS.start(),
                                WIDTHS.end()
                            ))?)
                        }
                        "--scale" => {
                            scale = Some(
                                value
                                    .trim()
                                    .parse::<u32>()
                                    .ok()
                                    .filter(|s| attention_viz::viz::png::SCALES.contains(s))
                                    .ok_or(format!("--scale must be 1, 2 or 4, not {value}"))?,
                            )
                        }
                        _ => return Err(format!("unknown option {flag}\n{USAGE}")),
                    }
                }
            }
        }
        let format = format.unwrap_or(Format::Json);
        let picture_only = [
            ("--view", view.is_some()),
            ("--head", head.is_some()),
            ("--all-heads", all_heads),
            ("--theme", theme.is_some()),
            ("--hide-specials", hide_specials),
            ("--merge-words", merge_words),
            ("--width", width.is_some()),
            ("--scale", scale.is_some()),
        ];
        if format.picture() {
            check_picture(format, view.unwrap_or(View::Heatmap), head, all_heads, aggregate, &heads, fusion, layer, qk, scale)?;
        } else {
            if let Some((flag, _)) = picture_only.iter().find(|(_, given)| *given) {
                return Err(format!("{flag} is for pictures: it needs --format svg or png"));
            }
            if aggregate.is_none() && (fusion.is_some() || heads.is_some()) {
                return Err("--fusion and --heads need --aggregate head-mean, rollout or flow".into());
            }
            if layer.is_some() && aggregate != Some(Aggregate::Flow) {
                return Err("--layer only applies to --aggregate flow (and to pictures, --format svg or png)".into());
            }
        }
        if qk && aggregate.is_some() {
            return Err("--qk exports the raw queries and keys; it cannot be combined with --aggregate".into());
        }
        if text_file.is_some() {
            if text.is_some() {
                return Err("--text and --text-file cannot be combined".into());
            }
            if pair.is_some() {
                return Err("--pair cannot be combined with --text-file: write each pair on its line as A<TAB>B".into());
            }
            if stats.is_some() {
                return Err("--stats takes one input (--text); it cannot be combined with --text-file".into());
            }
        }
        let needs_out = stats.is_none() || qk || aggregate.is_some() || format.picture() || text_file.is_some();
        if out.is_none() && needs_out {
            return Err(format!("--out is required\n{USAGE}"));
        }
        let model = model.ok_or(format!("--model is required\n{USAGE}"))?;
        if text.is_none() && text_file.is_none() {
            return Err(format!("--text (or --text-file) is required\n{USAGE}"));
        }
        Ok(Args {
            model,
            text,
            pair,
            text_file,
            format,
            qk,
            out,
            aggregate,
            fusion: fusion.unwrap_or_default(),
            heads,
            layer,
            stats,
            view: view.unwrap_or(View::Heatmap),
            head,
            all_heads,
            theme: theme.unwrap_or(Theme::Light),
            options: ViewOptions { hide_special: hide_specials, merge_words },
            width: width.unwrap_or(DEFAULT_WIDTH),
            scale: scale.unwrap_or(1),
        })
    }

    /// The combinations `--format svg|png` takes.
    #[allow(clippy::too_many_arguments)]
    fn check_picture(
        format: Format,
        view: View,
        head: Option<HeadChoice>,
        all_heads: bool,
        aggregate: Option<Aggregate>,
        heads: &Option<Vec<usize>>,
        fusion: Option<Fusion>,
        layer: Option<usize>,
        qk: bool,
        scale: Option<u32>,
    ) -> Result<(), String> {
        if qk {
            return Err("--qk exports queries and keys as json or npy; it cannot be combined with --format svg or png".into());
        }
        if scale.is_some() && format != Format::Png {
            return Err("--scale applies to --format png only (an SVG scales by itself)".into());
        }
        match view {
            View::Heatmap => {
                if aggregate.is_some() && head.is_some() {
                    return Err("--head cannot be combined with --aggregate: the aggregate fuses the --heads".into());
                }
                if all_heads && (aggregate.is_some() || head.is_some()) {
                    return Err("--all-heads draws every head; it cannot be combined with --head or --aggregate".into());
                }
            }
            View::Head | View::Model => {
                if aggregate.is_some() {
                    return Err("--aggregate draws its matrix as --view heatmap".into());
                }
                if head.is_some() {
                    return Err("--head picks the heatmap's head; the head view takes --heads, the model view draws them all".into());
                }
            }
        }
        if view == View::Model {
            if all_heads {
                return Err("--all-heads does not apply to --view model: it draws every layer and head in one picture".into());
            }
            if layer.is_some() || heads.is_some() {
                return Err("--layer and --heads do not apply to --view model: it draws every layer and head".into());
            }
        }
        let fused = aggregate.is_some() || head == Some(HeadChoice::Fused);
        if heads.is_some() && !(fused || view == View::Head || all_heads) {
            return Err("--heads needs --view head, --head mean, --all-heads or --aggregate".into());
        }
        if fusion.is_some() && !fused {
            return Err("--fusion needs --aggregate or --head mean".into());
        }
        Ok(())
    }

    /// The model's layers and heads against `--layer`, `--head` and `--heads`.
    fn check_ranges(a: &Args, layers: usize, heads: usize) -> Result<(), String> {
        if let Some(l) = a.layer.filter(|&l| l >= layers) {
            return Err(format!("--layer {l} does not exist: this model has {layers} layers, 0 to {}", layers.saturating_sub(1)));
        }
        let last_head = heads.saturating_sub(1);
        if let Some(HeadChoice::One(h)) = a.head {
            if h >= heads {
                return Err(format!("--head {h} does not exist: this model has {heads} heads per layer, 0 to {last_head}"));
            }
        }
        if let Some(bad) = a.heads.iter().flatten().find(|&&x| x >= heads) {
            return Err(format!("--heads: head {bad} does not exist: this model has {heads} heads per layer, 0 to {last_head}"));
        }
        Ok(())
    }

    /// `--heads` ascending without repeats, or every head.
    fn chosen_heads(a: &Args, heads: usize) -> Vec<usize> {
        match &a.heads {
            Some(h) => {
                let mut h = h.clone();
                h.sort_unstable();
                h.dedup();
                h
            }
            None => (0..heads).collect(),
        }
    }

    /// The inputs of `--text-file`: its non-empty lines, `A<TAB>B` a pair.
    fn read_inputs(path: &Path) -> Result<Vec<Input>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("--text-file {}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| format!("--text-file {}: not UTF-8 text ({e})", path.display()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let inputs: Vec<Input> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(k, l)| {
                let (a, b) = match l.split_once('\t') {
                    Some((a, b)) => (a, Some(b.to_string())),
                    None => (l, None),
                };
                Input { text: a.to_string(), pair: b, line: k + 1 }
            })
            .collect();
        if inputs.is_empty() {
            return Err(format!("--text-file {}: no inputs (every line is empty)", path.display()));
        }
        Ok(inputs)
    }

    /// A short name for titles: `org/name` for a Hub-style folder (`…/org/name/resolve/rev`),
    /// else the folder's name.
    fn model_name(dir: &Path) -> String {
        let parts: Vec<String> = dir
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if let Some(k) = parts.iter().rposition(|p| p == "resolve") {
            if let (Some(org), Some(name)) = (k.checked_sub(2).and_then(|i| parts.get(i)), k.checked_sub(1).and_then(|i| parts.get(i))) {
                return format!("{org}/{name}");
            }
        }
        match parts.last() {
            Some(last) if dir.components().next_back().is_some_and(|c| matches!(c, Component::Normal(_))) => last.clone(),
            _ => std::fs::canonicalize(dir)
                .ok()
                .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
                .unwrap_or_else(|| dir.display().to_string()),
        }
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

    /// `--text-file`'s `index.json`.
    #[derive(Serialize)]
    struct Index<'a> {
        model: &'a str,
        format: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        view: Option<&'static str>,
        inputs: Vec<IndexEntry>,
    }

    #[derive(Serialize)]
    struct IndexEntry {
        index: usize,
        line: usize,
        text: String,
        pair: Option<String>,
        tokens: usize,
        truncated: bool,
        files: Vec<String>,
    }

    /// An aggregate's shape, values and (flow only) layer.
    struct Computed {
        shape: Vec<usize>,
        values: Vec<f32>,
        layer: Option<usize>,
    }

    /// The aggregate `a` asks for, of `data` (`[layers, heads, seq, seq]` as `s` says).
    fn aggregate(a: &Args, which: Aggregate, data: &[f32], s: Shape, heads: &[usize]) -> Result<Computed, String> {
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
        input: &'a Input,
        tokens: &'a [Token],
        kinds: &'a TokenKinds,
        s: Shape,
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
            text: &input.text,
            pair: input.pair.as_deref(),
            tokens: tokens.iter().map(|t| t.text.as_str()).collect(),
            shape: [s.layers, s.heads, s.seq, s.seq],
            kinds,
            roles,
            layers,
        })
    }

    /// Where one input's files go.
    enum Dest {
        /// `--out FILE`: the one file (json/npy side files beside it).
        File(PathBuf),
        /// A directory: `{stem}{suffix}.EXT` (`--text-file`, stem `NNN`), or `{suffix}.EXT`
        /// without its leading `-` (`--all-heads` for one input).
        Dir { dir: PathBuf, stem: Option<String> },
    }

    impl Dest {
        /// The path of the file with `suffix` (`""`, `-L0-H3`, …) and extension `ext`.
        fn path(&self, suffix: &str, ext: &str) -> PathBuf {
            match self {
                Dest::File(p) => p.clone(),
                Dest::Dir { dir, stem: Some(stem) } => dir.join(format!("{stem}{suffix}.{ext}")),
                Dest::Dir { dir, stem: None } => dir.join(format!("{}.{ext}", suffix.trim_start_matches('-'))),
            }
        }
    }

    /// What runs once for every input.
    struct Ctx<'a> {
        a: &'a Args,
        engine: &'a Engine,
        /// The `--model` path as given (the JSON exports' `model`).
        model: String,
        /// The title's name for it.
        name: String,
        raster: Option<Rasterizer>,
    }

    /// One picture: the file name suffix (`""`, `-L{l}`, `-L{l}-H{h}`) and the SVG document.
    type Picture = (String, String);

    /// A view's axis after the options, and the tensor mapped onto it.
    struct Axis<'r> {
        run: &'r Run,
        units: Vec<Unit>,
        identity: bool,
    }

    impl Axis<'_> {
        fn m(&self) -> usize {
            self.units.len()
        }
        /// Every head of `layer` on the axis: `[heads, m, m]`.
        fn layer(&self, layer: usize) -> Result<Vec<f32>, String> {
            let s = self.run.attention.shape();
            let len = s.heads * s.head_len();
            let raw = (layer < s.layers)
                .then(|| self.run.attention.data().get(layer * len..(layer + 1) * len))
                .flatten()
                .ok_or_else(|| format!("layer {layer} is out of range ({} layers)", s.layers))?;
            Ok(if self.identity { raw.to_vec() } else { apply_all(raw, s.seq, s.heads, &self.units) })
        }
        /// One head on the axis: `[m, m]`.
        fn head(&self, layer: usize, head: usize) -> Result<Vec<f32>, String> {
            let s = self.run.attention.shape();
            let raw = self.run.attention.head(layer, head).ok_or_else(|| format!("layer {layer} head {head} is out of range"))?;
            Ok(if self.identity { raw.to_vec() } else { apply(raw, s.seq, &self.units) })
        }
        /// The whole tensor on the axis: `[layers, heads, m, m]`.
        fn all(&self) -> Result<Vec<f32>, String> {
            let s = self.run.attention.shape();
            let data = self.run.attention.data();
            Ok(if self.identity { data.to_vec() } else { apply_all(data, s.seq, s.layers * s.heads, &self.units) })
        }
    }

    /// "heads 0–11" (all of them) or "heads 0, 3, 5".
    fn heads_name(chosen: &[usize], total: usize) -> String {
        match chosen {
            [one] => format!("head {one}"),
            _ if chosen.len() == total && total > 1 => format!("heads 0–{}", total - 1),
            _ => format!("heads {}", chosen.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
        }
    }

    /// The SVG documents `--view` asks for, for one run.
    fn pictures(ctx: &Ctx, input: &Input, run: &Run) -> Result<Vec<Picture>, String> {
        let a = ctx.a;
        let s = run.attention.shape();
        let tokens = &run.encoded.tokens;
        let axis_units = units(tokens, a.options);
        let identity = is_identity(&axis_units, s.seq);
        let ax = Axis { run, units: axis_units, identity };
        let m = ax.m();
        let labels: Vec<String> = ax.units.iter().map(|u| u.label.clone()).collect();
        let mut notes = String::new();
        if a.options.hide_special {
            notes.push_str(" · special tokens hidden");
        }
        if a.options.merge_words {
            notes.push_str(" · word pieces merged");
        }
        let base = SvgOptions {
            theme: a.theme,
            width: a.width,
            special: ax.units.iter().map(|u| u.special).collect(),
            segments: if input.pair.is_some() { ax.units.iter().map(|u| u.segment).collect() } else { Vec::new() },
            ..SvgOptions::default()
        };
        let opts = |what: String| SvgOptions { title: format!("{} · {what}{notes}", ctx.name), ..base.clone() };
        let chosen = chosen_heads(a, s.heads);
        let layers: Vec<usize> = match (a.all_heads, a.layer) {
            (true, None) => (0..s.layers).collect(),
            (_, Some(l)) => vec![l],
            (false, None) => vec![0],
        };
        let mut out = Vec::new();
        match a.view {
            View::Model => {
                let all = ax.all()?;
                out.push((String::new(), model_view_svg(&all, s.layers, s.heads, m, &opts("all layers and heads".into()))?));
            }
            View::Head => {
                for &l in &layers {
                    let title = format!("layer {l} · {}", heads_name(&chosen, s.heads));
                    let svg = head_view_svg(&ax.layer(l)?, s.heads, m, &labels, &chosen, &opts(title))?;
                    out.push((if a.all_heads { format!("-L{l}") } else { String::new() }, svg));
                }
            }
            View::Heatmap if a.all_heads => {
                for &l in &layers {
                    let layer = ax.layer(l)?;
                    for &h in &chosen {
                        let m2 = m * m;
                        let matrix = layer.get(h * m2..(h + 1) * m2).ok_or("the attention tensor does not match its shape")?;
                        out.push((format!("-L{l}-H{h}"), heatmap_svg(matrix, m, &labels, &opts(format!("layer {l} · head {h}")))?));
                    }
                }
            }
            View::Heatmap => {
                let fusion = a.fusion.name();
                let (matrix, title) = match (a.aggregate, a.head) {
                    (Some(Aggregate::HeadMean), _) | (None, Some(HeadChoice::Fused)) => {
                        let l = a.layer.unwrap_or(0);
                        let fused = fuse_heads(&ax.layer(l)?, s.heads, m, &chosen, a.fusion)
                            .ok_or("the attention tensor does not match its shape")?;
                        (fused, format!("layer {l} · {fusion} of {}", heads_name(&chosen, s.heads)))
                    }
                    (Some(which @ (Aggregate::Rollout | Aggregate::Flow)), _) => {
                        let shape = Shape { layers: s.layers, heads: s.heads, seq: m };
                        let c = aggregate(a, which, &ax.all()?, shape, &chosen)?;
                        let l = c.layer.or(a.layer).unwrap_or(s.layers.saturating_sub(1));
                        let matrix = match c.layer {
                            Some(_) => c.values,
                            None => c.values.get(l * m * m..(l + 1) * m * m).ok_or("no such layer")?.to_vec(),
                        };
                        let what = if which == Aggregate::Flow { "flow" } else { "rollout" };
                        (matrix, format!("{what} to layer {l} · {fusion} of {}", heads_name(&chosen, s.heads)))
                    }
                    (None, head) => {
                        let (l, h) = (a.layer.unwrap_or(0), match head {
                            Some(HeadChoice::One(h)) => h,
                            _ => 0,
                        });
                        (ax.head(l, h)?, format!("layer {l} · head {h}"))
                    }
                };
                out.push((String::new(), heatmap_svg(&matrix, m, &labels, &opts(title))?));
            }
        }
        Ok(out)
    }

    /// One input's export: what it wrote, its token count and whether it was truncated.
    struct Done {
        wrote: Vec<PathBuf>,
        tokens: usize,
        truncated: bool,
    }

    fn export_one(ctx: &Ctx, input: &Input, dest: Option<&Dest>) -> Result<Done, String> {
        let a = ctx.a;
        let (run, qk) = if a.qk {
            ctx.engine.run_with_qk(&input.text, input.pair.as_deref())
        } else {
            ctx.engine.run(&input.text, input.pair.as_deref()).map(|run| (run, Vec::new()))
        }
        .map_err(|e| e.to_string())?;
        let model = ctx.model.as_str();
        let s = run.attention.shape();
        let tokens = &run.encoded.tokens;
        let mut wrote: Vec<PathBuf> = Vec::new();
        let ext = a.format.name();
        match (a.format.picture(), dest) {
            (_, None) => {}
            (true, Some(dest)) => {
                for (suffix, svg) in pictures(ctx, input, &run)? {
                    let path = dest.path(&suffix, ext);
                    match &ctx.raster {
                        Some(r) => write(&path, &r.png(&svg, a.scale)?)?,
                        None => write(&path, svg.as_bytes())?,
                    }
                    wrote.push(path);
                }
            }
            (false, Some(dest)) => {
                let out = dest.path("", ext);
                if let Some(which) = a.aggregate {
                    let heads = chosen_heads(a, s.heads);
                    let Computed { shape, values, layer } = aggregate(a, which, run.attention.data(), s, &heads)?;
                    let mut doc = AggregateExport {
                        model,
                        text: &input.text,
                        pair: input.pair.as_deref(),
                        tokens: tokens.iter().map(|t| t.text.as_str()).collect(),
                        shape: shape.clone(),
                        aggregate: which.name(),
                        fusion: a.fusion.name(),
                        heads,
                        layer,
                        values: None,
                    };
                    if a.format == Format::Npy {
                        write(&out, &npy_f32(&shape, &values))?;
                        let side = out.with_extension("tokens.json");
                        write(&side, &serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?)?;
                        wrote.extend([out, side]);
                    } else {
                        let n = s.seq.max(1);
                        doc.values = Some(if which == Aggregate::Flow {
                            Nested::Matrix(values.chunks(n).collect())
                        } else {
                            Nested::Layers(values.chunks(n * n).map(|m| m.chunks(n).collect()).collect())
                        });
                        write(&out, &to_json(&doc)?)?;
                        wrote.push(out);
                    }
                } else {
                    let doc = JsonExport::new(
                        model,
                        &input.text,
                        input.pair.as_deref(),
                        tokens,
                        run.encoded.truncated,
                        &run.attention,
                    )
                    .with_qk(&qk);
                    if a.format == Format::Npy {
                        write(&out, &npy_f32(&[s.layers, s.heads, s.seq, s.seq], run.attention.data()))?;
                        let side = out.with_extension("tokens.json");
                        let meta = JsonExport { attention: Vec::new(), queries: Vec::new(), keys: Vec::new(), ..doc };
                        write(&side, serde_json::to_string_pretty(&meta).map_err(|e| e.to_string())?.as_bytes())?;
                        wrote.extend([out.clone(), side]);
                        if a.qk {
                            let (q, k) = npy_qk(&qk).ok_or("the layers' queries and keys have different shapes")?;
                            let (qpath, kpath) = (out.with_extension("q.npy"), out.with_extension("k.npy"));
                            write(&qpath, &q)?;
                            write(&kpath, &k)?;
                            wrote.extend([qpath, kpath]);
                        }
                    } else {
                        write(&out, serde_json::to_string(&doc).map_err(|e| e.to_string())?.as_bytes())?;
                        wrote.push(out);
                    }
                }
            }
        }
        if let Some(path) = &a.stats {
            let kinds = TokenKinds::from_tokens(tokens);
            let doc = stats_doc(model, input, tokens, &kinds, s, run.attention.data())?;
            write(path, &serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?)?;
            wrote.push(path.clone());
        }
        let done = Done { wrote, tokens: s.seq, truncated: run.encoded.truncated };
        // The next input of a batch writes its attention into this one's memory.
        ctx.engine.reuse(run);
        Ok(done)
    }

    fn make_dir(dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: cannot make the directory: {e}", dir.display()))
    }

    /// Every input of `--text-file` into the directory `--out`, then `index.json`.
    fn export_all(ctx: &Ctx, inputs: &[Input], dir: &Path) -> Result<(), String> {
        make_dir(dir)?;
        let digits = inputs.len().saturating_sub(1).to_string().len().max(3);
        let mut entries = Vec::with_capacity(inputs.len());
        let mut files = 0;
        for (index, input) in inputs.iter().enumerate() {
            let dest = Dest::Dir { dir: dir.to_path_buf(), stem: Some(format!("{index:0digits$}")) };
            let done = export_one(ctx, input, Some(&dest)).map_err(|e| format!("line {}: {e}", input.line))?;
            if done.truncated {
                eprintln!("note: line {} was truncated to {} tokens", input.line, done.tokens);
            }
            files += done.wrote.len();
            entries.push(IndexEntry {
                index,
                line: input.line,
                text: input.text.clone(),
                pair: input.pair.clone(),
                tokens: done.tokens,
                truncated: done.truncated,
                files: done
                    .wrote
                    .iter()
                    .map(|p| p.file_name().map_or_else(|| p.display().to_string(), |f| f.to_string_lossy().into_owned()))
                    .collect(),
            });
        }
        let a = ctx.a;
        let view = a.format.picture().then_some(a.view.name());
        let index = Index { model: &ctx.model, format: a.format.name(), view, inputs: entries };
        let path = dir.join("index.json");
        write(&path, &serde_json::to_vec_pretty(&index).map_err(|e| e.to_string())?)?;
        eprintln!("wrote {files} files for {} inputs to {}, listed in {}", inputs.len(), dir.display(), path.display());
        Ok(())
    }

    pub fn main(args: Vec<String>) -> Result<(), String> {
        let a = parse(args)?;
        // Read the inputs first: a bad text file fails before the model loads.
        let inputs = match (&a.text_file, &a.text) {
            (Some(path), _) => read_inputs(path)?,
            (None, Some(text)) => vec![Input { text: text.clone(), pair: a.pair.clone(), line: 0 }],
            (None, None) => return Err(format!("--text (or --text-file) is required\n{USAGE}")),
        };
        let engine = Engine::from_bytes(
            &read(&a.model, "config.json")?,
            &read(&a.model, "tokenizer.json")?,
            &read(&a.model, "model.safetensors")?,
        )
        .map_err(|e| e.to_string())?;
        let config = engine.config();
        check_ranges(&a, config.num_hidden_layers, config.num_attention_heads)?;
        let ctx = Ctx {
            a: &a,
            engine: &engine,
            model: a.model.display().to_string(),
            name: model_name(&a.model),
            raster: (a.format == Format::Png).then(Rasterizer::new),
        };
        if let (Some(dir), true) = (&a.out, a.text_file.is_some()) {
            return export_all(&ctx, &inputs, dir);
        }
        let dest = match &a.out {
            Some(dir) if a.all_heads => {
                make_dir(dir)?;
                Some(Dest::Dir { dir: dir.clone(), stem: None })
            }
            Some(file) => Some(Dest::File(file.clone())),
            None => None,
        };
        let mut done = None;
        for input in &inputs {
            done = Some(export_one(&ctx, input, dest.as_ref())?);
        }
        let Some(done) = done else { return Ok(()) };
        let wrote: Vec<String> = done.wrote.iter().map(|p| p.display().to_string()).collect();
        match (wrote.as_slice(), &dest) {
            ([], _) => {}
            ([one], _) => eprintln!("wrote {one}"),
            (many, Some(Dest::Dir { dir, .. })) if many.len() > 4 => eprintln!("wrote {} files to {}", many.len(), dir.display()),
            ([rest @ .., last], _) => eprintln!("wrote {} and {last}", rest.join(", ")),
        }
        if done.truncated {
            eprintln!("note: the input was truncated to {} tokens", done.tokens);
        }
        Ok(())
    }
}
