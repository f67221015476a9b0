//! Choosing a model from local files (a picked folder, picked files, or files dropped on the
//! page): which of the given files are the three the engine needs, and what to say when one is
//! missing. Plain logic, natively tested; the files never leave the machine.

use crate::protocol::MODEL_FILES;

/// What to do with a pytorch-only model: the engine reads safetensors only.
pub const SAFETENSORS_NEEDED: &str = "this model has only pytorch_model.bin; attention-viz reads model.safetensors \
(pickle files can run code, safetensors cannot). Convert it once in Python with \
`AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`, or use the Hub's \
\"convert to safetensors\" space for a Hub model";

/// The base name of a path as a browser gives it (`folder/sub/config.json` → `config.json`).
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// How deep a path is (a folder pick gives `folder/…` paths; the shallowest copy wins).
fn depth(path: &str) -> usize {
    path.matches(['/', '\\']).count()
}

/// For each of [`MODEL_FILES`] (in that order), the index in `paths` of the file to use.
/// Errors name what is missing and what was found.
pub fn pick(paths: &[String]) -> Result<[usize; 3], String> {
    let find = |name: &str| {
        paths
            .iter()
            .enumerate()
            .filter(|(_, p)| base_name(p) == name)
            .min_by_key(|(_, p)| depth(p))
            .map(|(i, _)| i)
    };
    let found: Vec<Option<usize>> = MODEL_FILES.iter().map(|f| find(f)).collect();
    let missing: Vec<&str> = MODEL_FILES.iter().zip(&found).filter(|(_, i)| i.is_none()).map(|(f, _)| *f).collect();
    if missing.is_empty() {
        if let [Some(a), Some(b), Some(c)] = found[..] {
            return Ok([a, b, c]);
        }
    }
    if missing == ["model.safetensors"] && paths.iter().any(|p| base_name(p) == "pytorch_model.bin") {
        return Err(format!("The chosen files cannot be used: {SAFETENSORS_NEEDED}."));
    }
    let shown: Vec<&str> = paths.iter().map(|p| base_name(p)).take(8).collect();
    let more = if paths.len() > 8 { format!(" and {} more", paths.len() - 8) } else { String::new() };
    Err(format!(
        "Missing {} among the chosen files (found: {}{more}). A model needs config.json, tokenizer.json and model.safetensors.",
        missing.join(", "),
        if shown.is_empty() { "nothing".to_string() } else { shown.join(", ") }
    ))
}

/// A name for a local model in the status line: the folder's name, else "local files".
pub fn label(paths: &[String]) -> String {
    paths
        .iter()
        .find_map(|p| p.split(['/', '\\']).next().filter(|first| !first.is_empty() && *first != base_name(p)))
        .map(|folder| format!("{folder} (local)"))
        .unwrap_or_else(|| "local files".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_three_files_in_order() {
        let files = v(&["model.safetensors", "README.md", "config.json", "tokenizer.json"]);
        assert_eq!(pick(&files).unwrap(), [2, 3, 0]);
        assert_eq!(label(&files), "local files");
    }

    #[test]
    fn a_folder_prefers_its_top_level_files() {
        let files = v(&[
            "bert/onnx/config.json",
            "bert/config.json",
            "bert/tokenizer.json",
            "bert/model.safetensors",
            "bert/1_Pooling/config.json",
        ]);
        assert_eq!(pick(&files).unwrap(), [1, 2, 3]);
        assert_eq!(label(&files), "bert (local)");
    }

    #[test]
    fn missing_files_are_named() {
        let e = pick(&v(&["config.json", "vocab.txt"])).unwrap_err();
        assert!(e.contains("Missing tokenizer.json, model.safetensors"), "{e}");
        assert!(e.contains("found: config.json, vocab.txt"), "{e}");
        let e = pick(&[]).unwrap_err();
        assert!(e.contains("found: nothing"), "{e}");
        let e = pick(&v(&["config.json", "tokenizer.json", "pytorch_model.bin"])).unwrap_err();
        assert!(e.contains("only pytorch_model.bin") && e.contains("safe_serialization=True"), "{e}");
    }

    #[test]
    fn base_names_handle_both_separators() {
        assert_eq!(base_name("a/b/c.json"), "c.json");
        assert_eq!(base_name("a\\c.json"), "c.json");
        assert_eq!(base_name("c.json"), "c.json");
    }
}
