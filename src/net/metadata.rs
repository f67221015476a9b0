//! A model's download size before anything is downloaded, from the Hub's metadata API
//! (`/api/models/<repo>/revision/<rev>?blobs=true` lists every file with its size). The picker
//! shows it beside each model; the built-in sizes of `catalog.rs` stand in for other hosts and
//! when the Hub does not answer, and the worker's HEAD requests give the exact total as soon as
//! a load starts.

use crate::protocol::MODEL_FILES;

/// The metadata URL for `repo` at `revision` when `hub` is huggingface.co (or a host that
/// mirrors its API under the same origin), else `None`.
pub fn api_url(hub: &str, repo: &str, revision: &str) -> Option<String> {
    let hub = hub.trim_end_matches('/');
    let host = hub.split("://").nth(1)?.split('/').next()?;
    (host == "huggingface.co" || host.ends_with(".huggingface.co"))
        .then(|| format!("{hub}/api/models/{}/revision/{}?blobs=true", repo.trim_matches('/'), revision))
}

/// The total size of [`MODEL_FILES`] in a metadata answer (`siblings: [{rfilename, size}]`,
/// LFS files also under `lfs.size`), or `None` if one of them is missing or has no size.
pub fn total_from_api(json: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let siblings = v.get("siblings")?.as_array()?;
    MODEL_FILES.iter().try_fold(0u64, |sum, file| {
        let s = siblings.iter().find(|s| s.get("rfilename").and_then(|n| n.as_str()) == Some(*file))?;
        let size = s.get("size").and_then(|x| x.as_u64()).or_else(|| s.get("lfs")?.get("size")?.as_u64())?;
        Some(sum + size)
    })
}

/// Asks the Hub's metadata API for the size of `source`'s three files: `None` when the host is
/// not the Hub or does not answer. (The picker asks before anything is downloaded, so it sends
/// nothing to other hosts, where it would cost a HEAD per file and, for a repo the host lacks,
/// 404s in the console; the worker's HEAD requests give the exact size once a load starts.)
#[cfg(target_arch = "wasm32")]
pub async fn remote_size(source: &crate::protocol::ModelSource) -> Option<u64> {
    let url = api_url(&source.hub, &source.repo, &source.revision)?;
    super::fetch_text(&url).await.ok().as_deref().and_then(total_from_api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hub_has_a_metadata_api() {
        assert_eq!(
            api_url("https://huggingface.co", "google-bert/bert-base-uncased", "main").as_deref(),
            Some("https://huggingface.co/api/models/google-bert/bert-base-uncased/revision/main?blobs=true")
        );
        assert_eq!(api_url("http://127.0.0.1:8080/hub", "x/y", "main"), None);
        assert_eq!(api_url("not a url", "x/y", "main"), None);
    }

    #[test]
    fn the_three_files_are_summed_or_nothing() {
        let json = r#"{"siblings":[{"rfilename":"config.json","size":570},{"rfilename":"tokenizer.json","size":466062},
            {"rfilename":"model.safetensors","size":440449768,"lfs":{"size":440449768}},{"rfilename":"pytorch_model.bin","size":1}]}"#;
        assert_eq!(total_from_api(json), Some(570 + 466062 + 440449768));
        let lfs_only = r#"{"siblings":[{"rfilename":"config.json","size":1},{"rfilename":"tokenizer.json","size":2},{"rfilename":"model.safetensors","lfs":{"size":3}}]}"#;
        assert_eq!(total_from_api(lfs_only), Some(6));
        assert_eq!(total_from_api(r#"{"siblings":[{"rfilename":"config.json","size":1}]}"#), None);
        assert_eq!(total_from_api("{}"), None);
        assert_eq!(total_from_api("garbage"), None);
    }
}
