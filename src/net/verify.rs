//! Is a copy read back from Cache Storage the file its host describes?
//!
//! A copy whose host gave a SHA-256 is checked against it before the model is used. The first
//! time (no [`Check`] record yet), the browser hashes it with SHA-256 while it is read; once
//! that matched, the copy's XXH64 (which the weights' sink computes as the bytes stream into the
//! tensors) is recorded next to it, and later visits only compare that: no second read of the
//! file, no 440 MB buffer, no half second of hashing (`checksum.rs` says why this is enough). A
//! copy that no longer matches its record is hashed with SHA-256 after all, and the SHA-256
//! decides: a mismatch is refused with both hashes named, a match renews the record.

use js_sys::Promise;

use super::cache::{Check, Lookup, ModelCache};
use super::integrity::{self, Sha256};
use crate::protocol::ModelSource;

/// How a cached copy is to be checked, decided before its body is read.
pub enum Plan {
    /// The host gave no SHA-256: its size was checked, nothing more can be.
    SizeOnly,
    /// Compare the XXH64 of the bytes read with this record.
    Record(Check),
    /// The browser's SHA-256 of a clone of the body, started before the body is read.
    Hash(Result<Promise, String>),
}

impl Plan {
    /// The plan for the copy `response` of `url` (`size` bytes, SHA-256 `sha256` from its
    /// host). `checksums`: the sink computes the XXH64 of what it reads.
    pub async fn new(cache: &ModelCache, url: &str, size: u64, sha256: Option<&Sha256>, response: &web_sys::Response, checksums: bool) -> Self {
        let Some(want) = sha256 else { return Self::SizeOnly };
        if checksums {
            if let Some(check) = cache.check(url).await.filter(|c| c.size == size && &c.sha256 == want) {
                return Self::Record(check);
            }
        }
        Self::Hash(integrity::digest_response(response))
    }
}

/// Checks the copy of `file` just read whole (`size` bytes, whose XXH64 was `xxh64` when the
/// sink computes it) against `want`, the SHA-256 its host gives, as `plan` says.
pub async fn verify(
    cache: &ModelCache,
    source: &ModelSource,
    file: &str,
    size: u64,
    want: &Sha256,
    plan: Plan,
    xxh64: Option<u64>,
) -> Result<(), String> {
    let hashing = match plan {
        Plan::SizeOnly => return Ok(()),
        Plan::Record(check) if Some(check.xxh64) == xxh64 => return Ok(()),
        Plan::Hash(hashing) => hashing,
        // Changed since it was checked (or a record gone wrong): its SHA-256 decides. The body
        // read is used up, so the copy is read again.
        Plan::Record(_) => match cache.lookup(&source.file_url(file)).await {
            Lookup::Found { response, .. } => integrity::digest_response(&response),
            _ => Err("it disappeared while it was read".into()),
        },
    };
    let got = integrity::finish(hashing?).await?;
    if &got != want {
        return Err(format!("its contents do not match the SHA-256 its host gave ({got}, expected {want})"));
    }
    record(cache, source, file, size, want, xxh64).await;
    Ok(())
}

/// Once the stored copy of `file` (`size` bytes, XXH64 `xxh64` if computed) has matched `want`,
/// its host's SHA-256: records its [`Check`], so that the next visit need not hash it. Only a
/// shortcut: if it cannot be written, that visit hashes the copy again.
pub async fn record(cache: &ModelCache, source: &ModelSource, file: &str, size: u64, want: &Sha256, xxh64: Option<u64>) {
    if let Some(xxh64) = xxh64 {
        let _ = cache.put_check(source, file, &Check { size, sha256: want.clone(), xxh64 }).await;
    }
}
