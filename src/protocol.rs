//! Messages between the page and the engine's Web Worker.
//!
//! Every message is a JSON string (serde, so both sides share one definition and the native
//! tests can check it), optionally followed by a `Float32Array` that is *transferred*, not
//! copied. The attention tensor itself never crosses: the worker keeps it and answers
//! [`Request::Slice`] with just the matrix a view draws.

use serde::{Deserialize, Serialize};

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

/// A matrix a view can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SliceKind {
    /// One head's `seq × seq` probabilities.
    Head { layer: usize, head: usize },
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Download (with progress) and load a model, replacing the current one.
    Load { source: ModelSource },
    /// Tokenize and run; `id` lets the page drop answers to superseded runs.
    Run { id: u64, text: String, pair: Option<String> },
    /// A matrix of the run `run`.
    Slice { run: u64, kind: SliceKind },
}

/// Which request an error answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Load,
    Run,
    Slice,
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
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker's wasm is initialised and listening (messages sent earlier would be lost).
    WorkerReady,
    /// Download progress of one file (`total` from `Content-Length`, when sent).
    Progress { file: String, received: u64, total: Option<u64> },
    /// Downloads are done; parsing and building the model.
    Parsing,
    Loaded { info: ModelInfo },
    Ran { id: u64, tokens: Vec<Token>, truncated: bool, shape: Shape, ms: f64 },
    /// The matrix follows as a transferred `Float32Array`.
    Slice { run: u64, kind: SliceKind, rows: usize, cols: usize },
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
        let e = Response::Error { stage: Stage::Load, id: None, message: "404".into() };
        assert_eq!(Response::from_json(&e.to_json()).unwrap(), e);
        assert!(Request::from_json("{}").is_err());
    }
}
