//! The page's domain state as plain types (the Leptos signals hold these).

use crate::attention::Shape;
use crate::catalog::{Bundled, DEFAULT_HUB, DEFAULT_REPO, DEFAULT_TEXT};
use crate::model::Token;
use crate::protocol::{ModelInfo, ModelSource};

/// Where the model is in its life cycle.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadState {
    /// Waiting for the worker to start.
    Starting,
    Downloading { file: String, index: usize, received: u64, total: Option<u64> },
    Parsing,
    Ready(ModelInfo),
    Failed(String),
}

impl LoadState {
    pub fn is_loading(&self) -> bool {
        matches!(self, LoadState::Starting | LoadState::Downloading { .. } | LoadState::Parsing)
    }

    /// Fraction of the current file received, when known.
    pub fn fraction(&self) -> Option<f64> {
        match self {
            LoadState::Downloading { received, total: Some(t), .. } if *t > 0 => {
                Some((*received as f64 / *t as f64).min(1.0))
            }
            _ => None,
        }
    }

    /// One line for the progress area.
    pub fn describe(&self) -> String {
        match self {
            LoadState::Starting => "Starting the engine…".into(),
            LoadState::Downloading { file, index, received, total } => {
                let size = match total {
                    Some(t) => format!("{} / {}", megabytes(*received), megabytes(*t)),
                    None => megabytes(*received),
                };
                format!("Downloading {file} ({} of 3): {size}", index + 1)
            }
            LoadState::Parsing => "Building the model…".into(),
            LoadState::Ready(i) => format!(
                "{} · {} layers × {} heads · {} · loaded in {:.1} s",
                i.source.repo,
                i.layers,
                i.heads,
                megabytes(i.weight_bytes),
                i.load_ms / 1e3
            ),
            LoadState::Failed(m) => m.clone(),
        }
    }
}

pub fn megabytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The latest run, as the page knows it (the tensor itself stays in the worker).
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub id: u64,
    pub tokens: Vec<Token>,
    pub truncated: bool,
    pub shape: Shape,
    pub ms: f64,
}

/// What the URL asks for: `?hub=…&model=…&revision=…&text=…&pair=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlParams {
    pub source: ModelSource,
    pub text: String,
    pub pair: Option<String>,
}

impl UrlParams {
    /// Reads the parameters through `get` (so natively testable), with the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        UrlParams {
            source: ModelSource {
                hub: non_empty("hub").unwrap_or_else(|| DEFAULT_HUB.to_string()),
                repo: non_empty("model").unwrap_or_else(|| DEFAULT_REPO.to_string()),
                revision: non_empty("revision").unwrap_or_else(|| "main".to_string()),
            },
            text: get("text").unwrap_or_else(|| DEFAULT_TEXT.to_string()),
            pair: non_empty("pair"),
        }
    }
}

/// The source of a bundled model, served by the site itself under `models/`.
pub fn bundled_source(site_models_url: &str, b: &Bundled) -> ModelSource {
    ModelSource { hub: site_models_url.to_string(), repo: b.repo.clone(), revision: b.revision.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn url_params_fall_back_to_defaults() {
        let p = UrlParams::from_lookup(|_| None);
        assert_eq!(p.source.hub, DEFAULT_HUB);
        assert_eq!(p.source.repo, DEFAULT_REPO);
        assert_eq!(p.source.revision, "main");
        assert_eq!(p.text, DEFAULT_TEXT);
        assert_eq!(p.pair, None);
        let m: HashMap<&str, &str> =
            [("hub", "http://127.0.0.1:1/hub"), ("model", "a/b"), ("text", "hi"), ("pair", " "), ("revision", "")].into();
        let p = UrlParams::from_lookup(|k| m.get(k).map(|v| v.to_string()));
        assert_eq!((p.source.hub.as_str(), p.source.repo.as_str(), p.source.revision.as_str()), ("http://127.0.0.1:1/hub", "a/b", "main"));
        assert_eq!((p.text.as_str(), p.pair), ("hi", None));
    }

    #[test]
    fn load_state_reports_progress() {
        let d = LoadState::Downloading { file: "model.safetensors".into(), index: 2, received: 50_000_000, total: Some(200_000_000) };
        assert_eq!(d.fraction(), Some(0.25));
        assert_eq!(d.describe(), "Downloading model.safetensors (3 of 3): 50.0 MB / 200.0 MB");
        assert!(d.is_loading());
        let unknown = LoadState::Downloading { file: "config.json".into(), index: 0, received: 10, total: None };
        assert_eq!(unknown.fraction(), None);
        let over = LoadState::Downloading { file: "x".into(), index: 0, received: 12, total: Some(10) };
        assert_eq!(over.fraction(), Some(1.0));
        assert!(!LoadState::Failed("x".into()).is_loading());
    }
}
