//! Models the page offers by name, and how the page finds them.

use serde::Deserialize;

/// Where models come from when no `hub` parameter says otherwise (a build-time setting, so a
/// classroom or mirror deployment can bake in its own server).
pub const DEFAULT_HUB: &str = match option_env!("ATTENTION_VIZ_HUB") {
    Some(h) => h,
    None => "https://huggingface.co",
};

/// The model the page opens with.
pub const DEFAULT_REPO: &str = "google-bert/bert-base-uncased";

/// The sentence the page opens with (the seed notebook's example).
pub const DEFAULT_TEXT: &str = "He went to the bank to deposit money.";

/// A model offered in the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub repo: &'static str,
    pub label: &'static str,
    /// Approximate download size, to warn before a large download.
    pub megabytes: u32,
}

/// Checkpoints on the Hub with `tokenizer.json` and `model.safetensors`, with the size of
/// their `model.safetensors` (the bulk of the download), shown before anything is fetched.
pub const CATALOG: &[Entry] = &[
    Entry { repo: DEFAULT_REPO, label: "bert-base-uncased", megabytes: 440 },
    Entry { repo: "google-bert/bert-base-cased", label: "bert-base-cased", megabytes: 436 },
    Entry { repo: "google-bert/bert-large-uncased", label: "bert-large-uncased", megabytes: 1340 },
    Entry { repo: "distilbert/distilbert-base-uncased", label: "distilbert-base-uncased", megabytes: 268 },
    Entry { repo: "FacebookAI/roberta-base", label: "roberta-base", megabytes: 499 },
    Entry { repo: "albert/albert-base-v2", label: "albert-base-v2", megabytes: 47 },
    Entry { repo: "google-bert/bert-base-multilingual-cased", label: "bert-base-multilingual-cased", megabytes: 714 },
    Entry { repo: "sentence-transformers/all-MiniLM-L6-v2", label: "all-MiniLM-L6-v2", megabytes: 91 },
];

/// The catalogue entry of a repo, if it has one.
pub fn entry(repo: &str) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.repo == repo)
}

/// A model shipped inside the site (`models/index.json`), for use without the Hub.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bundled {
    pub repo: String,
    pub revision: String,
    pub label: String,
    #[serde(default)]
    pub bytes: u64,
}

impl Bundled {
    /// The model's name without the index's " (bundled)" tag (the page says "bundled" itself).
    pub fn name(&self) -> &str {
        self.label.trim_end_matches(" (bundled)")
    }
}

#[derive(Deserialize)]
struct BundledIndex {
    models: Vec<Bundled>,
}

/// Parses `models/index.json`; anything unreadable means "no bundled models".
pub fn parse_bundled(json: &str) -> Vec<Bundled> {
    serde_json::from_str::<BundledIndex>(json).map(|i| i.models).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_index_parses_and_tolerates_garbage() {
        let v = parse_bundled(
            r#"{"models":[{"repo":"sentence-transformers/all-MiniLM-L6-v2","revision":"main","label":"MiniLM","bytes":5}]}"#,
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].revision, "main");
        assert_eq!(Bundled { label: "MiniLM (bundled)".into(), ..v[0].clone() }.name(), "MiniLM");
        assert!(parse_bundled("<!doctype html>").is_empty());
        assert!(CATALOG.iter().any(|e| e.repo == DEFAULT_REPO));
        assert_eq!(entry(DEFAULT_REPO).map(|e| e.megabytes), Some(440));
        assert!(entry("nobody/nothing").is_none());
    }
}
