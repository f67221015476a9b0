//! Checksums of model files: the SHA-256 a host publishes for a file, checked against the
//! bytes that arrive and, on later visits, against the copy read back from Cache Storage.
//!
//! Where the SHA-256 comes from: the Hugging Face Hub's metadata API lists it for every LFS
//! file (`siblings[].lfs.sha256`: the weights, and large tokenizers); other hosts (mirrors,
//! proxies that follow the Hub's redirect, our own test servers) may send it as
//! `X-Linked-Etag` or as a 64-hex `ETag`, as the Hub's resolve endpoint does. A file whose host
//! gives none is checked for its size only. The expected hash is stored with the cached copy
//! (`x-attention-viz-sha256`), so an offline visit checks against what the host said.
//!
//! The digest itself is the browser's (`crypto.subtle.digest`): it runs off the worker's
//! thread, so hashing the 440 MB of a cached bert-base overlaps with reading it into tensors.
//! Parsing and messages are pure and tested natively.

use std::fmt;

/// A SHA-256 digest as 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sha256(String);

impl Sha256 {
    /// A digest from a header or API value: 64 hex digits, optionally quoted and with a weak
    /// `W/` prefix (ETag syntax), any case. Anything else (an MD5 ETag, a git SHA-1) is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim();
        let v = v.strip_prefix("W/").unwrap_or(v).trim_matches('"');
        (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(v.to_ascii_lowercase()))
    }

    /// From the 32 bytes of a digest.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (bytes.len() == 32).then(|| Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 a host gives in a file's response headers: `X-Linked-Etag` (the Hub's name for
/// an LFS file's hash) first, else an `ETag` that is a SHA-256.
pub fn from_headers(x_linked_etag: Option<&str>, etag: Option<&str>) -> Option<Sha256> {
    x_linked_etag.and_then(Sha256::parse).or_else(|| etag.and_then(Sha256::parse))
}

/// The SHA-256 of `file` in a Hub metadata answer (`/api/models/<repo>/revision/<rev>?blobs=true`:
/// `siblings: [{rfilename, lfs: {sha256, size}}]`); `None` for a file stored in git itself.
pub fn from_api(json: &str, file: &str) -> Option<Sha256> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let sibling = v
        .get("siblings")?
        .as_array()?
        .iter()
        .find(|s| s.get("rfilename").and_then(|n| n.as_str()) == Some(file))?;
    let lfs = sibling.get("lfs")?;
    lfs.get("sha256").or_else(|| lfs.get("oid")).and_then(|h| h.as_str()).and_then(Sha256::parse)
}

/// Why a file was refused: its bytes are not the ones the host describes.
pub fn mismatch(file: &str, expected: &Sha256, actual: &Sha256) -> String {
    format!(
        "{file} does not match the checksum its host gives (SHA-256 {actual}, expected {expected}): it was changed or \
         damaged on the way"
    )
}

/// Starts hashing `data` (an `ArrayBuffer` or a typed array) with the browser's SHA-256.
#[cfg(target_arch = "wasm32")]
pub fn digest(data: &js_sys::Object) -> Result<js_sys::Promise, String> {
    use wasm_bindgen::JsCast;
    let subtle = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .and_then(|c| js_sys::Reflect::get(&c, &"subtle".into()))
        .ok()
        .and_then(|s| s.dyn_into::<web_sys::SubtleCrypto>().ok())
        .ok_or("this browser offers no crypto.subtle here (it needs https or localhost)")?;
    subtle
        .digest_with_str_and_buffer_source("SHA-256", data)
        .map_err(|e| format!("SHA-256 could not start ({e:?})"))
}

/// The digest a [`digest`] promise resolves to.
#[cfg(target_arch = "wasm32")]
pub async fn finish(promise: js_sys::Promise) -> Result<Sha256, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("SHA-256 failed ({e:?})"))?;
    Sha256::from_bytes(&js_sys::Uint8Array::new(&buffer).to_vec()).ok_or_else(|| "SHA-256 gave no digest".into())
}

/// Starts hashing a stored response's body: a clone of it is read whole by the browser and
/// hashed off this thread while the caller streams the original.
#[cfg(target_arch = "wasm32")]
pub fn digest_response(response: &web_sys::Response) -> Result<js_sys::Promise, String> {
    use wasm_bindgen::JsCast;
    let copy = response.clone().map_err(|e| format!("the stored copy cannot be read twice ({e:?})"))?;
    let body = copy.array_buffer().map_err(|e| format!("the stored copy cannot be read ({e:?})"))?;
    // Runs on its own (like spawn_local): the read and the digest are the browser's work, this
    // only chains them.
    Ok(wasm_bindgen_futures::future_to_promise(async move {
        let buffer = wasm_bindgen_futures::JsFuture::from(body).await?;
        let buffer: js_sys::Object = buffer.dyn_into()?;
        let hashing = digest(&buffer).map_err(|e| wasm_bindgen::JsValue::from_str(&e))?;
        wasm_bindgen_futures::JsFuture::from(hashing).await
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM_WEIGHTS: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

    #[test]
    fn digests_parse_from_header_and_api_forms() {
        let want = Sha256::parse(MINILM_WEIGHTS).unwrap();
        assert_eq!(Sha256::parse(&format!("\"{MINILM_WEIGHTS}\"")), Some(want.clone()));
        assert_eq!(Sha256::parse(&format!("W/\"{}\"", MINILM_WEIGHTS.to_uppercase())), Some(want.clone()));
        // A git blob SHA-1 (the Hub's ETag for small files), an MD5 ETag, and junk are not SHA-256.
        assert_eq!(Sha256::parse("\"72b987fd805cfa2b58c4c8c952b274a11bfd5a00\""), None);
        assert_eq!(Sha256::parse("\"d41d8cd98f00b204e9800998ecf8427e\""), None);
        assert_eq!(Sha256::parse(&format!("{}zz", &MINILM_WEIGHTS[..62])), None);
        assert_eq!(from_headers(None, Some(&format!("\"{MINILM_WEIGHTS}\""))), Some(want.clone()));
        assert_eq!(from_headers(Some("\"72b987fd805cfa2b58c4c8c952b274a11bfd5a00\""), None), None);
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(
            Sha256::from_bytes(&bytes).unwrap().as_str(),
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        );
        assert_eq!(Sha256::from_bytes(&bytes[..31]), None);
    }

    #[test]
    fn the_api_gives_hashes_of_lfs_files_only() {
        let json = format!(
            r#"{{"siblings":[{{"rfilename":"config.json","blobId":"72b987fd805cfa2b58c4c8c952b274a11bfd5a00","size":612}},
            {{"rfilename":"model.safetensors","size":90868376,"lfs":{{"sha256":"{MINILM_WEIGHTS}","size":90868376,"pointerSize":135}}}}]}}"#
        );
        assert_eq!(from_api(&json, "model.safetensors").unwrap().as_str(), MINILM_WEIGHTS);
        assert_eq!(from_api(&json, "config.json"), None);
        assert_eq!(from_api(&json, "tokenizer.json"), None);
        assert_eq!(from_api("not json", "model.safetensors"), None);
        let message = mismatch("model.safetensors", &Sha256::parse(MINILM_WEIGHTS).unwrap(), &Sha256::from_bytes(&[0; 32]).unwrap());
        assert!(message.starts_with("model.safetensors does not match the checksum its host gives (SHA-256 0000"), "{message}");
        assert!(message.contains(&format!("expected {MINILM_WEIGHTS}")), "{message}");
    }
}
