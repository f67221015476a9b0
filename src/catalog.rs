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

/// BERT-architecture checkpoints on the Hub with `tokenizer.json` and `model.safetensors`.
pub const CATALOG: &[Entry] = &[
    Entry { repo: DEFAULT_REPO, label: "bert-base-uncased", megabytes: 440 },
    Entry { repo: "google-bert/bert-base-cased", label: "bert-base-cased", megabytes: 436 },
    Entry { repo: "sentence-transformers/all-MiniLM-L6-v2", label: "all-MiniLM-L6-v2", megabytes: 91 },
    Entry { repo: "google-bert/bert-large-uncased", label: "bert-large-uncased", megabytes: 1340 },
];

/// A model shipped inside the site (`models/index.json`), for use without the Hub.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Bundled {
    pub repo: String,
    pub revision: String,
    pub label: String,
    #[serde(default)]
    pub bytes: u64,
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
        assert!(parse_bundled("<!doctype html>").is_empty());
        assert!(CATALOG.iter().any(|e| e.repo == DEFAULT_REPO));
    }
}
