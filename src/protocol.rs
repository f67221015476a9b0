//! Messages between the page and the engine's Web Worker.
//!
//! Every message is a JSON string (serde, so both sides share one definition and the native
//! tests can check it), optionally followed by a `Float32Array` that is *transferred*, not
//! copied. The attention tensor itself never crosses: the worker keeps it and answers
//! [`Request::Slice`] with just the matrix a view draws.

use serde::{Deserialize, Serialize};

use crate::analysis::{Fusion, ViewOptions};
use crate::attention::Shape;
use crate::model::Token;

/// Where a model's files come from: `{hub}/{repo}/resolve/{revision}/{file}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSource {
    pub hub: String,
    pub repo: String,
    pub revision: String,
}

/// The files a model needs, in download order (small first, so a bad repo fails fast).
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

impl ModelSource {
    /// URL of one of the model's files.
    pub fn file_url(&self, file: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            self.hub.trim_end_matches('/'),
            self.repo.trim_matches('/'),
            self.revision,
            file
        )
    }
}

/// Where a view's `m × m` matrix of one layer comes from (after the view options). Heads are
/// indices into the layer; repeats count once (see [`crate::analysis::fuse_heads`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// One head of the layer, as it is.
    Head { head: usize },
    /// The chosen heads of the layer fused element-wise: their mean, max or min.
    Fusion { fusion: Fusion, heads: Vec<usize> },
    /// Attention rollout (Abnar & Zuidema 2020) through layers `0..=layer` of the chosen
    /// heads' fusion: rows sum to 1.
    Rollout { fusion: Fusion, heads: Vec<usize> },
    /// Attention flow (Abnar & Zuidema 2020) through layers `0..=layer` of the chosen heads'
    /// fusion: raw max-flow values (each at most 1; rows do not sum to 1). Refused
    /// ([`Response::SliceRefused`]) beyond [`crate::analysis::flow_fits`].
    Flow { fusion: Fusion, heads: Vec<usize> },
}

impl Source {
    /// Whether this source spans layers `0..=layer` (rollout, flow) rather than one layer.
    pub fn across_layers(&self) -> bool {
        matches!(self, Source::Rollout { .. } | Source::Flow { .. })
    }
}

/// Per head in [`SliceKind::HeadStats`]: the nine statistics of
/// [`crate::analysis::HeadStats`] in this order, then the role's index in
/// [`crate::slice::ROLES`].
pub const STAT_COLUMNS: usize = 10;

/// What a view can ask the worker for. Each view asks only for what it draws, so the page
/// never holds the whole `[layers, heads, seq, seq]` tensor (151 MB for bert-base at 512 tokens).
/// Token indices in requests (`rows`, `target`) are indices into the run's tokens, not into the
/// view's axis: the worker maps them to the units of the options (a unit is chosen when one of
/// its pieces is), so a selection survives toggling the options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SliceKind {
    /// One head's `m × m` probabilities (heatmap). `dims = [m, m]`.
    Head { layer: usize, head: usize },
    /// Every head of one layer (head view). `dims = [heads, m, m]`.
    Layer { layer: usize },
    /// Every head, each shrunk to at most `side × side` (model view), followed by one entropy
    /// per head computed at full resolution. `dims = [layers, heads, s, s]`, then
    /// `layers × heads` entropies.
    Thumbnails { side: usize },
    /// One head's queries and keys over the raw tokens (neuron view; options do not apply).
    /// `dims = [2, seq, head_dim]`: q then k.
    QueryKey { layer: usize, head: usize },
    /// One `m × m` matrix of `layer` from `source` (a head, a fusion of heads, rollout or flow:
    /// the heatmap's and head view's "source"). `dims = [m, m]`.
    Matrix { layer: usize, source: Source },
    /// Token focus. `dims = [m, layers, heads]`; data: where the `rows` attend in `source` at
    /// `layer` (`m`, [`crate::analysis::attends_to`]), who attends to them (`m`,
    /// [`crate::analysis::attended_by`]), then per head of every layer how much the rows attend
    /// to `target` (`layers · heads`, [`crate::analysis::relation_grid`]) and how much `target`
    /// attends to the rows (`layers · heads`).
    Focus { layer: usize, source: Source, rows: Vec<usize>, target: Vec<usize> },
    /// Per-head statistics and roles, of this run or averaged over the built-in corpus
    /// ([`crate::analysis::corpus`], run by the worker on its model, with
    /// [`Response::CorpusProgress`]). `dims = [layers, heads, STAT_COLUMNS]`.
    HeadStats { corpus: bool },
    /// One head of this run (A) against one head of compare run `other` (B, see
    /// [`Request::RunCompare`]), over the tokens that line up
    /// ([`crate::slice::compare_axes`]): `dims = [3, k, k]`, A, B and B − A.
    CompareHead { other: u64, layer: usize, head: usize, layer_b: usize, head_b: usize },
    /// Per head, how much run `other` (B) differs from this run (A) over the tokens that line
    /// up, for the layers and heads both models have: `dims = [2, layers, heads]`, the mean
    /// absolute difference then the Jensen–Shannon divergence in bits.
    CompareHeads { other: u64 },
}

impl SliceKind {
    /// Whether the view options (merge, hide specials) change this slice.
    pub fn uses_options(&self) -> bool {
        !matches!(self, SliceKind::QueryKey { .. })
    }

    /// How many floats a slice of these `dims` carries (see each variant).
    pub fn expected_len(&self, dims: &[usize]) -> Option<usize> {
        let product = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d))?;
        match (self, dims) {
            (SliceKind::Head { .. } | SliceKind::Matrix { .. }, [_, _]) | (SliceKind::Layer { .. }, [_, _, _]) => Some(product),
            (SliceKind::QueryKey { .. } | SliceKind::CompareHeads { .. }, [2, _, _]) => Some(product),
            (SliceKind::CompareHead { .. }, [3, _, _]) => Some(product),
            (SliceKind::HeadStats { .. }, [_, _, STAT_COLUMNS]) => Some(product),
            (SliceKind::Thumbnails { .. }, [l, h, _, _]) => product.checked_add(l.checked_mul(*h)?),
            (SliceKind::Focus { .. }, [m, l, h]) => m.checked_mul(2)?.checked_add(l.checked_mul(*h)?.checked_mul(2)?),
            _ => None,
        }
    }
}

/// Page → worker. Loads and runs carry ids chosen by the page; every answer names the id it
/// belongs to, so the page can tell a current answer from a superseded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Download (with progress) and load a model, replacing the current one. A load still in
    /// progress is aborted.
    Load { id: u64, source: ModelSource },
    /// Load a model from local files: their bytes follow the message as transferred
    /// `ArrayBuffer`s, in the order of `files` (config.json, tokenizer.json, model.safetensors).
    /// `name` labels the model in the page.
    LoadLocal { id: u64, name: String, files: Vec<String> },
    /// Tokenize and run. The previous run's tensor stays until this one succeeds.
    Run { id: u64, text: String, pair: Option<String> },
    /// A slice of run `run`, with the view options applied.
    Slice { run: u64, kind: SliceKind, options: ViewOptions },
    /// Cancel load `id`: its download stops on the wire; the worker answers
    /// [`Response::Cancelled`] (nothing if the load is already over or superseded).
    Cancel { id: u64 },
    /// What the model cache holds, and the storage quota: answered by [`Response::Storage`].
    Storage,
    /// Delete a model's files from the cache; answered by [`Response::Storage`].
    DeleteCached { source: ModelSource },
    /// Load a second model, "B", into the compare slot (the compare view's two-models mode),
    /// beside the main one; answered by [`Response::CompareProgress`] and
    /// [`Response::CompareLoaded`] or an error of [`Stage::CompareLoad`]. Replaces the slot's
    /// model (and aborts its download in progress).
    LoadCompare { id: u64, source: ModelSource },
    /// Run `text` (and `pair`) for the compare view's side B: on model B when `model_b`, else
    /// on the main model (two texts, one model). Answered by [`Response::CompareRan`] or an
    /// error of [`Stage::CompareRun`]; the run is kept until the next one or `CloseCompare`.
    RunCompare { id: u64, text: String, pair: Option<String>, model_b: bool },
    /// The compare view closed: drop model B and run B (memory).
    CloseCompare,
    /// A file of run `run` to download (the command line's formats): answered by one or more
    /// [`Response::Export`] (`.npy` also sends its `.tokens.json`), or an error of
    /// [`Stage::Export`]. `model`, `text` and `pair` label the JSON documents.
    Export { run: u64, what: ExportKind, model: String, text: String, pair: Option<String> },
}

/// Which view an SVG export draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SvgView {
    Heatmap,
    Head,
    Model,
}

/// What [`Request::Export`] asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExportKind {
    /// The attention and tokens as JSON (`attention-export --format json`).
    Json,
    /// `attention.npy` (float32 `[layers, heads, seq, seq]`) and `attention.tokens.json`.
    Npy,
    /// One view as SVG, under the view options: the heatmap of `source` at `layer`, the head
    /// view of `heads` at `layer`, or the model view. `top_k` / `min_weight`: the display
    /// filter; `width`: the page's layout width; `png`: the page rasterises it at this scale.
    Svg {
        view: SvgView,
        layer: usize,
        source: Source,
        heads: Vec<usize>,
        options: ViewOptions,
        dark: bool,
        width: f64,
        top_k: Option<usize>,
        min_weight: Option<f32>,
        png: Option<u32>,
    },
}

/// Which request an error answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Load,
    Run,
    Slice,
    /// [`Request::LoadCompare`] (id = its id).
    CompareLoad,
    /// [`Request::RunCompare`] (id = its id).
    CompareRun,
    /// [`Request::Export`] (id = its run id).
    Export,
}

/// A summary of the loaded model for the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub source: ModelSource,
    pub layers: usize,
    pub heads: usize,
    pub hidden: usize,
    pub max_tokens: usize,
    pub weight_bytes: u64,
    pub load_ms: f64,
    /// "BERT", "DistilBERT", "RoBERTa", "ALBERT".
    #[serde(default)]
    pub family: String,
    /// Which weight set each layer runs: ALBERT's layers share one (or a few), which the views
    /// say; every other family has one set per layer.
    #[serde(default)]
    pub weight_groups: Vec<usize>,
}

impl ModelInfo {
    /// Whether some layers run the same weights (ALBERT).
    pub fn shared_layers(&self) -> bool {
        let mut seen: Vec<usize> = self.weight_groups.clone();
        seen.sort_unstable();
        seen.dedup();
        seen.len() < self.weight_groups.len()
    }
}

/// Where a model file's bytes come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    #[default]
    Network,
    /// The browser's Cache Storage (a previous visit downloaded it).
    Cache,
}

/// One file of a cached model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFile {
    pub file: String,
    pub bytes: u64,
}

/// A model in the cache (possibly incomplete: a download that did not finish, or a full
/// storage, leaves some of its files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedModel {
    pub source: ModelSource,
    pub files: Vec<CachedFile>,
    pub bytes: u64,
    /// When its newest file was saved (ms since the epoch).
    pub saved_ms: f64,
}

impl CachedModel {
    /// All of [`MODEL_FILES`] are there.
    pub fn is_complete(&self) -> bool {
        MODEL_FILES.iter().all(|f| self.files.iter().any(|c| c.file == *f))
    }
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker's wasm is initialised and listening (messages sent earlier would be lost).
    WorkerReady,
    /// Download progress of one file of load `load` (`total` from `Content-Length`, when sent).
    /// `all_received` / `all_total`: the three files together (files read from the cache count
    /// too; the total once every size is known). `bytes_per_sec`: the network speed over the
    /// last seconds, once measured. `origin`: where this file's bytes come from.
    Progress {
        load: u64,
        file: String,
        received: u64,
        total: Option<u64>,
        #[serde(default)]
        all_received: u64,
        #[serde(default)]
        all_total: Option<u64>,
        #[serde(default)]
        bytes_per_sec: Option<f64>,
        #[serde(default)]
        origin: Origin,
    },
    /// Something about load `load` worth telling that is not a failure: a broken connection
    /// being resumed, a cached file that was broken and is fetched again, a full storage.
    Notice { load: u64, message: String },
    /// Load `load` was cancelled ([`Request::Cancel`]); its download has stopped.
    Cancelled { load: u64 },
    /// The model cache's contents and the site's storage use (`usage`, `quota` in bytes, from
    /// `navigator.storage.estimate()`); `error` when the cache cannot be read.
    Storage { models: Vec<CachedModel>, usage: Option<u64>, quota: Option<u64>, error: Option<String> },
    /// Load `load` has its files; parsing and building the model.
    Parsing { load: u64 },
    Loaded { load: u64, info: ModelInfo },
    /// Load `load` failed or was cancelled (said just before), and the model that was loaded
    /// before it is still in memory and answers runs: the page goes back to it.
    Restored { load: u64 },
    /// `dropped`: how many input tokens the model's position limit cut off.
    Ran {
        id: u64,
        tokens: Vec<Token>,
        truncated: bool,
        #[serde(default)]
        dropped: usize,
        shape: Shape,
        ms: f64,
    },
    /// The data follows as a transferred `Float32Array` laid out as `kind` says.
    Slice { run: u64, kind: SliceKind, options: ViewOptions, dims: Vec<usize> },
    /// The worker will not cut this slice, and says why in words the page shows (attention
    /// flow beyond its limit, a head out of range, no tokens left after the options, …). Asking
    /// again gives the same answer, so the page does not.
    SliceRefused { run: u64, kind: SliceKind, options: ViewOptions, message: String },
    /// Head statistics over the corpus for run `run`: `done` of `total` sentences so far.
    CorpusProgress { run: u64, done: usize, total: usize },
    /// Download progress of model B (compare load `load`): the three files together once
    /// their sizes are known.
    CompareProgress { load: u64, file: String, all_received: u64, all_total: Option<u64> },
    /// Model B is loaded.
    CompareLoaded { load: u64, info: ModelInfo },
    /// Run B is ready (slices name it as `other`).
    CompareRan { id: u64, tokens: Vec<Token>, truncated: bool, shape: Shape, ms: f64 },
    /// A file answering [`Request::Export`]: its bytes follow as a transferred `Uint8Array`.
    Export { run: u64, what: ExportKind, file_name: String, mime: String },
    /// Load `load` failed because the model host answered nothing (offline, DNS, refused, or
    /// not allowing cross-origin requests): the page can offer a model bundled with the site.
    Unreachable { load: u64, message: String },
    /// `id` is the load id for [`Stage::Load`], the run id for [`Stage::Run`] and
    /// [`Stage::Slice`]; `None` when the worker cannot tell (a crash).
    Error { stage: Stage, id: Option<u64>, message: String },
}

impl Request {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("bad request: {e}"))
    }
}

impl Response {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("bad response: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_follow_the_hub_layout() {
        let s = ModelSource {
            hub: "http://127.0.0.1:9000/hub/".into(),
            repo: "sentence-transformers/all-MiniLM-L6-v2".into(),
            revision: "main".into(),
        };
        assert_eq!(
            s.file_url("config.json"),
            "http://127.0.0.1:9000/hub/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json"
        );
    }

    #[test]
    fn messages_round_trip_through_json() {
        let r = Request::Run { id: 7, text: "a \"b\"".into(), pair: Some("c".into()) };
        assert_eq!(Request::from_json(&r.to_json()).unwrap(), r);
        let s = Request::Slice {
            run: 3,
            kind: SliceKind::Thumbnails { side: 48 },
            options: ViewOptions { hide_special: true, merge_words: false },
        };
        assert_eq!(Request::from_json(&s.to_json()).unwrap(), s);
        let e = Response::Error { stage: Stage::Load, id: None, message: "404".into() };
        assert_eq!(Response::from_json(&e.to_json()).unwrap(), e);
        assert!(Request::from_json("{}").is_err());
    }

    #[test]
    fn download_and_cache_messages_round_trip() {
        let source = ModelSource { hub: "http://h/hub".into(), repo: "a/b".into(), revision: "main".into() };
        for r in [Request::Cancel { id: 4 }, Request::Storage, Request::DeleteCached { source: source.clone() }] {
            assert_eq!(Request::from_json(&r.to_json()).unwrap(), r);
        }
        let model = CachedModel {
            source,
            files: MODEL_FILES.iter().map(|f| CachedFile { file: f.to_string(), bytes: 10 }).collect(),
            bytes: 30,
            saved_ms: 1.5e12,
        };
        assert!(model.is_complete());
        let mut partial = model.clone();
        partial.files.pop();
        assert!(!partial.is_complete());
        for r in [
            Response::Cancelled { load: 2 },
            Response::Restored { load: 2 },
            Response::Notice { load: 2, message: "resuming".into() },
            Response::Storage { models: vec![model, partial], usage: Some(5), quota: None, error: None },
            Response::Progress {
                load: 2,
                file: "model.safetensors".into(),
                received: 5,
                total: Some(9),
                all_received: 7,
                all_total: Some(11),
                bytes_per_sec: Some(2e6),
                origin: Origin::Cache,
            },
        ] {
            assert_eq!(Response::from_json(&r.to_json()).unwrap(), r);
        }
        // A progress message without the totals (an older worker) still reads.
        let old = r#"{"Progress":{"load":1,"file":"config.json","received":3,"total":null}}"#;
        let Response::Progress { all_total, origin, .. } = Response::from_json(old).unwrap() else { panic!() };
        assert_eq!((all_total, origin), (None, Origin::Network));
    }

    #[test]
    fn slice_lengths_follow_their_dims() {
        let head = SliceKind::Head { layer: 0, head: 0 };
        assert_eq!(head.expected_len(&[3, 3]), Some(9));
        assert_eq!(head.expected_len(&[2, 3, 3]), None);
        assert_eq!(SliceKind::Layer { layer: 1 }.expected_len(&[12, 4, 4]), Some(192));
        assert_eq!(SliceKind::Thumbnails { side: 2 }.expected_len(&[6, 12, 2, 2]), Some(6 * 12 * 4 + 72));
        assert_eq!(SliceKind::QueryKey { layer: 0, head: 0 }.expected_len(&[2, 5, 32]), Some(320));
        assert_eq!(SliceKind::QueryKey { layer: 0, head: 0 }.expected_len(&[3, 5, 32]), None);
        assert_eq!(head.expected_len(&[usize::MAX, 2]), None);
        assert!(!SliceKind::QueryKey { layer: 0, head: 0 }.uses_options());
    }

    #[test]
    fn analysis_slices_have_their_lengths() {
        let mean = Source::Fusion { fusion: Fusion::Mean, heads: vec![0, 2] };
        assert_eq!(SliceKind::Matrix { layer: 1, source: mean.clone() }.expected_len(&[4, 4]), Some(16));
        assert_eq!(SliceKind::Matrix { layer: 1, source: mean.clone() }.expected_len(&[1, 4, 4]), None);
        let focus = SliceKind::Focus { layer: 0, source: mean, rows: vec![5], target: vec![7, 8] };
        assert_eq!(focus.expected_len(&[11, 6, 12]), Some(2 * 11 + 2 * 72));
        assert_eq!(focus.expected_len(&[11, 6]), None);
        assert_eq!(SliceKind::HeadStats { corpus: true }.expected_len(&[6, 12, STAT_COLUMNS]), Some(720));
        assert_eq!(SliceKind::HeadStats { corpus: false }.expected_len(&[6, 12, 9]), None);
        let pair = SliceKind::CompareHead { other: 3, layer: 0, head: 1, layer_b: 0, head_b: 1 };
        assert_eq!(pair.expected_len(&[3, 5, 5]), Some(75));
        assert_eq!(pair.expected_len(&[2, 5, 5]), None);
        assert_eq!(SliceKind::CompareHeads { other: 3 }.expected_len(&[2, 6, 12]), Some(144));
        assert!(Source::Rollout { fusion: Fusion::Max, heads: vec![1] }.across_layers());
        assert!(!Source::Head { head: 1 }.across_layers());
    }

    #[test]
    fn analysis_and_compare_messages_round_trip() {
        let source = ModelSource { hub: "http://h/models".into(), repo: "attention-viz/minilm-bank-finetuned".into(), revision: "main".into() };
        for r in [
            Request::Slice {
                run: 2,
                kind: SliceKind::Focus { layer: 3, source: Source::Flow { fusion: Fusion::Min, heads: vec![0, 5] }, rows: vec![1, 2], target: vec![] },
                options: ViewOptions { hide_special: false, merge_words: true },
            },
            Request::LoadCompare { id: 1, source },
            Request::RunCompare { id: 2, text: "bank".into(), pair: None, model_b: true },
            Request::CloseCompare,
        ] {
            assert_eq!(Request::from_json(&r.to_json()).unwrap(), r);
        }
        let kind = SliceKind::Matrix { layer: 5, source: Source::Flow { fusion: Fusion::Mean, heads: vec![0] } };
        for r in [
            Response::SliceRefused { run: 1, kind, options: ViewOptions::default(), message: "too long".into() },
            Response::CorpusProgress { run: 1, done: 3, total: 42 },
            Response::CompareProgress { load: 1, file: "model.safetensors".into(), all_received: 5, all_total: Some(9) },
            Response::CompareRan { id: 4, tokens: vec![], truncated: false, shape: Shape { layers: 6, heads: 12, seq: 0 }, ms: 1.0 },
            Response::Error { stage: Stage::CompareRun, id: Some(4), message: "no model B".into() },
        ] {
            assert_eq!(Response::from_json(&r.to_json()).unwrap(), r);
        }
    }
}
