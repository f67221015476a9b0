//! Downloaded model files in Cache Storage, so the next visit needs no network.
//!
//! One cache, [`MODEL_CACHE`], one entry per file, keyed by the file's URL
//! (`{hub}/{repo}/resolve/{revision}/{file}`: hub, repo, revision and file in one key). Each
//! entry carries its size (`Content-Length` and `x-attention-viz-bytes`) and where it came from
//! (`x-attention-viz-*`), so the storage panel can list models without reading any body, and a
//! file whose body does not have the stored size is thrown away instead of used.
//!
//! The service worker's app-shell caches (`attention-viz-shell-*`, `sw.js`) are separate: it
//! never touches this one, and this code never touches those.
//!
//! web-sys, not gloo: gloo has no Cache Storage binding.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Headers, ResponseInit, StorageEstimate, StorageManager, TransformStream, WritableStreamDefaultWriter};

use super::fetch::{read_stream, ReadError, Sink};
use super::integrity::Sha256;
use crate::protocol::{CachedFile, CachedModel, ModelSource};

/// The Cache Storage cache holding model files.
pub const MODEL_CACHE: &str = "attention-viz-models-v1";

const H_BYTES: &str = "x-attention-viz-bytes";
const H_HUB: &str = "x-attention-viz-hub";
const H_REPO: &str = "x-attention-viz-repo";
const H_REVISION: &str = "x-attention-viz-revision";
const H_FILE: &str = "x-attention-viz-file";
const H_SAVED: &str = "x-attention-viz-saved";
/// The SHA-256 the host gave for the file when it was downloaded (see `integrity.rs`).
const H_SHA256: &str = "x-attention-viz-sha256";
/// Marks a check record ([`Check`]) and holds its XXH64.
const H_XXH64: &str = "x-attention-viz-xxh64";

/// A check record: the stored copy of a file, of `size` bytes, was found to have the SHA-256
/// `sha256` its host gives, and has the XXH64 `xxh64` (see `checksum.rs`: later reads compare
/// the cheap XXH64 instead of hashing the copy again). Kept in its own entry, at the file's URL
/// plus [`CHECK_SUFFIX`], with the file's hub, repo and revision headers (so deleting the model
/// deletes it) and no body; `list` does not count it as a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub size: u64,
    pub sha256: Sha256,
    pub xxh64: u64,
}

/// Appended to a file's URL for its [`Check`].
const CHECK_SUFFIX: &str = ".attention-viz-check";

fn describe(e: &JsValue) -> String {
    let name = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.name()));
    let message = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into());
    match name {
        Some(n) if n != "Error" && !message.contains(&n) => format!("{n}: {message}"),
        _ => message,
    }
}

/// The global `caches`, if this context has one (secure contexts only: https or localhost).
fn cache_storage() -> Result<CacheStorage, String> {
    let caches = Reflect::get(&js_sys::global(), &"caches".into()).unwrap_or(JsValue::UNDEFINED);
    if caches.is_undefined() || caches.is_null() {
        return Err("this browser offers no Cache Storage here (it needs https or localhost, and no private mode that disables it)".into());
    }
    Ok(caches.unchecked_into())
}

/// How much the browser lets this site store: `(usage, quota)` in bytes, from
/// `navigator.storage.estimate()`, when the browser says.
pub async fn estimate() -> (Option<u64>, Option<u64>) {
    let global = js_sys::global();
    let Ok(navigator) = Reflect::get(&global, &"navigator".into()) else { return (None, None) };
    let storage = Reflect::get(&navigator, &"storage".into()).unwrap_or(JsValue::UNDEFINED);
    if storage.is_undefined() || storage.is_null() {
        return (None, None);
    }
    let storage: StorageManager = storage.unchecked_into();
    let Ok(promise) = storage.estimate() else { return (None, None) };
    let Ok(est) = JsFuture::from(promise).await else { return (None, None) };
    let est: StorageEstimate = est.unchecked_into();
    let bytes = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64);
    (bytes(est.get_usage()), bytes(est.get_quota()))
}

/// What the cache holds for one file.
pub enum Lookup {
    Missing,
    /// An entry with its stored size and, when its host gave one, SHA-256; the body is read
    /// by [`ModelCache::read`].
    Found { size: u64, sha256: Option<Sha256>, response: web_sys::Response },
    /// An entry without a readable size: not ours, or written by hand. Evict it.
    Invalid(String),
}

/// The model cache, open (a handle: clones share the one cache).
#[derive(Clone)]
pub struct ModelCache {
    cache: Cache,
}

impl ModelCache {
    pub async fn open() -> Result<Self, String> {
        let storage = cache_storage()?;
        let cache = JsFuture::from(storage.open(MODEL_CACHE)).await.map_err(|e| {
            format!("the browser's storage cannot be opened ({}); models are downloaded every time", describe(&e))
        })?;
        Ok(Self { cache: cache.unchecked_into() })
    }

    /// Looks `url` up without reading its body.
    pub async fn lookup(&self, url: &str) -> Lookup {
        let Ok(found) = JsFuture::from(self.cache.match_with_str(url)).await else { return Lookup::Missing };
        let Ok(response) = found.dyn_into::<web_sys::Response>() else { return Lookup::Missing };
        let headers = response.headers();
        let size = |name: &str| headers.get(name).ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
        match (size("content-length"), size(H_BYTES)) {
            (Some(a), Some(b)) if a == b => {
                let sha256 = headers.get(H_SHA256).ok().flatten().and_then(|v| Sha256::parse(&v));
                Lookup::Found { size: a, sha256, response }
            }
            (a, b) => Lookup::Invalid(format!("its stored size is unreadable (Content-Length {a:?}, recorded {b:?})")),
        }
    }

    /// Reads a found entry's body into `sink`, checking it has `size` bytes.
    /// `progress(bytes so far)`.
    pub async fn read<S: Sink>(
        &self,
        response: &web_sys::Response,
        size: u64,
        sink: &mut S,
        mut progress: impl FnMut(u64),
    ) -> Result<(), String> {
        sink.restart(Some(size));
        if let Some(body) = response.body() {
            read_stream(&body, sink, |len, _| {
                progress(len);
                len <= size
            })
            .await
            .map_err(|e| match e {
                ReadError::Stream(e) => format!("reading it failed ({})", describe(&e)),
                ReadError::Sink(m) => m,
            })?;
        }
        if sink.received() != size {
            return Err(format!("it has {} bytes instead of the {size} it was saved with", sink.received()));
        }
        Ok(())
    }

    /// The headers of a stored file: its size and where it came from.
    fn headers(source: &ModelSource, file: &str, size: u64, sha256: Option<&Sha256>) -> Result<Headers, String> {
        let headers = Headers::new().map_err(|e| describe(&e))?;
        let len = size.to_string();
        for (name, value) in [
            ("content-type", "application/octet-stream"),
            ("content-length", len.as_str()),
            (H_BYTES, len.as_str()),
            (H_HUB, source.hub.as_str()),
            (H_REPO, source.repo.as_str()),
            (H_REVISION, source.revision.as_str()),
            (H_FILE, file),
            (H_SAVED, &format!("{}", js_sys::Date::now() as u64)),
        ] {
            headers.set(name, value).map_err(|e| describe(&e))?;
        }
        if let Some(h) = sha256 {
            headers.set(H_SHA256, h.as_str()).map_err(|e| describe(&e))?;
        }
        Ok(headers)
    }

    /// Saves a file held whole. Fails when the storage is full (`QuotaExceededError`) or
    /// unavailable.
    pub async fn put(&self, source: &ModelSource, file: &str, bytes: &mut [u8], sha256: Option<&Sha256>) -> Result<(), String> {
        let init = ResponseInit::new();
        init.set_status(200);
        let headers = Self::headers(source, file, bytes.len() as u64, sha256)?;
        init.set_headers(headers.as_ref());
        // The Response copies the bytes out of wasm memory once; `put` writes them to disk.
        let response = web_sys::Response::new_with_opt_u8_array_and_init(Some(bytes), &init).map_err(|e| describe(&e))?;
        JsFuture::from(self.cache.put_with_str(&source.file_url(file), &response)).await.map_err(|e| describe(&e))?;
        Ok(())
    }

    /// Starts saving a file of `size` bytes that is still downloading: the chunks given to
    /// [`CacheWriter::write`] flow through a `TransformStream` into `cache.put`, which writes
    /// them to disk as they come, so the file is never held whole (the weights are read
    /// into tensors from the same chunks).
    pub fn writer(&self, source: &ModelSource, file: &str, size: u64, sha256: Option<&Sha256>) -> Result<CacheWriter, String> {
        let init = ResponseInit::new();
        init.set_status(200);
        let headers = Self::headers(source, file, size, sha256)?;
        init.set_headers(headers.as_ref());
        let pipe = TransformStream::new().map_err(|e| describe(&e))?;
        let response = web_sys::Response::new_with_opt_readable_stream_and_init(Some(&pipe.readable()), &init)
            .map_err(|e| describe(&e))?;
        let writer = pipe.writable().get_writer().map_err(|e| describe(&e))?;
        let put = self.cache.put_with_str(&source.file_url(file), &response);
        // A failed put (full storage) is reported by `finish` or the next `write`; a handler
        // here keeps it from also showing as an "uncaught (in promise)" error.
        ignore_rejection(&put);
        Ok(CacheWriter { writer, put, written: 0 })
    }

    /// Removes one entry and its [`Check`] (missing is fine).
    pub async fn evict(&self, url: &str) {
        let _ = JsFuture::from(self.cache.delete_with_str(url)).await;
        let _ = JsFuture::from(self.cache.delete_with_str(&format!("{url}{CHECK_SUFFIX}"))).await;
    }

    /// The [`Check`] recorded for `url`'s stored copy, if any.
    pub async fn check(&self, url: &str) -> Option<Check> {
        let found = JsFuture::from(self.cache.match_with_str(&format!("{url}{CHECK_SUFFIX}"))).await.ok()?;
        let headers = found.dyn_into::<web_sys::Response>().ok()?.headers();
        let get = |n: &str| headers.get(n).ok().flatten();
        Some(Check {
            size: get(H_BYTES)?.parse().ok()?,
            sha256: Sha256::parse(&get(H_SHA256)?)?,
            xxh64: u64::from_str_radix(&get(H_XXH64)?, 16).ok()?,
        })
    }

    /// Records `check` for `file` of `source`.
    pub async fn put_check(&self, source: &ModelSource, file: &str, check: &Check) -> Result<(), String> {
        let headers = Self::headers(source, file, 0, Some(&check.sha256))?;
        for (name, value) in [(H_BYTES, check.size.to_string()), (H_XXH64, format!("{:016x}", check.xxh64))] {
            headers.set(name, &value).map_err(|e| describe(&e))?;
        }
        let init = ResponseInit::new();
        init.set_status(200);
        init.set_headers(headers.as_ref());
        let response = web_sys::Response::new_with_opt_str_and_init(None, &init).map_err(|e| describe(&e))?;
        let url = format!("{}{CHECK_SUFFIX}", source.file_url(file));
        JsFuture::from(self.cache.put_with_str(&url, &response)).await.map_err(|e| describe(&e))?;
        Ok(())
    }

    /// Every cached model, from the entries' headers (no body is read).
    pub async fn list(&self) -> Result<Vec<CachedModel>, String> {
        let responses = JsFuture::from(self.cache.match_all()).await.map_err(|e| describe(&e))?;
        let mut models: Vec<CachedModel> = Vec::new();
        for r in Array::from(&responses).iter() {
            let Ok(r) = r.dyn_into::<web_sys::Response>() else { continue };
            let h = r.headers();
            let get = |n: &str| h.get(n).ok().flatten();
            if get(H_XXH64).is_some() {
                continue; // a check record, not a file
            }
            let (Some(hub), Some(repo), Some(revision), Some(file)) = (get(H_HUB), get(H_REPO), get(H_REVISION), get(H_FILE)) else {
                continue;
            };
            let bytes = get(H_BYTES).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let saved_ms = get(H_SAVED).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            let source = ModelSource { hub, repo, revision };
            let entry = match models.iter_mut().position(|m| m.source == source) {
                Some(i) => &mut models[i],
                None => {
                    models.push(CachedModel { source, files: Vec::new(), bytes: 0, saved_ms: 0.0 });
                    let last = models.len() - 1;
                    &mut models[last]
                }
            };
            entry.bytes += bytes;
            entry.saved_ms = entry.saved_ms.max(saved_ms);
            entry.files.push(CachedFile { file, bytes });
        }
        models.sort_by(|a, b| b.saved_ms.total_cmp(&a.saved_ms));
        Ok(models)
    }

    /// Removes every file of `source`; how many there were.
    pub async fn delete_model(&self, source: &ModelSource) -> Result<usize, String> {
        let keys = JsFuture::from(self.cache.keys()).await.map_err(|e| describe(&e))?;
        let mut removed = 0;
        for key in Array::from(&keys).iter() {
            let Ok(req) = key.dyn_into::<web_sys::Request>() else { continue };
            let url = req.url();
            let Ok(found) = JsFuture::from(self.cache.match_with_str(&url)).await else { continue };
            let Ok(resp) = found.dyn_into::<web_sys::Response>() else { continue };
            let h = resp.headers();
            let get = |n: &str| h.get(n).ok().flatten();
            if get(H_HUB).as_deref() == Some(source.hub.as_str())
                && get(H_REPO).as_deref() == Some(source.repo.as_str())
                && get(H_REVISION).as_deref() == Some(source.revision.as_str())
            {
                let deleted = JsFuture::from(self.cache.delete_with_str(&url)).await.map_err(|e| describe(&e))?;
                if deleted.is_truthy() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

thread_local! {
    /// One do-nothing handler for every promise whose failure is reported elsewhere; it lives as
    /// long as the worker, as the promises may settle after their writer is gone.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// Marks `p`'s rejection as handled (no "uncaught (in promise)" in the console).
fn ignore_rejection(p: &js_sys::Promise) {
    IGNORE.with(|f| {
        let _ = p.catch(f);
    });
}

/// A file being saved while it downloads ([`ModelCache::writer`]).
pub struct CacheWriter {
    writer: WritableStreamDefaultWriter,
    put: js_sys::Promise,
    written: u64,
}

impl CacheWriter {
    /// Passes a chunk on to the cache (the same JS buffer: no copy). Waits while the cache is
    /// behind, so chunks do not pile up in memory.
    pub async fn write(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), String> {
        // Race the put: a put that fails without reading the body (a full storage) would
        // otherwise leave `ready` pending for ever.
        let ready = js_sys::Promise::race(&js_sys::Array::of2(&self.writer.ready(), &self.put));
        JsFuture::from(ready).await.map_err(|e| describe(&e))?;
        ignore_rejection(&self.writer.write_with_chunk(chunk));
        self.written += u64::from(chunk.length());
        Ok(())
    }

    /// Bytes passed on so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Ends the file and waits until the cache has stored it.
    pub async fn finish(self) -> Result<(), String> {
        // `put` settles once it has read the closed stream to its end, or failed.
        ignore_rejection(&self.writer.close());
        JsFuture::from(self.put).await.map_err(|e| describe(&e))?;
        Ok(())
    }

    /// Gives up: the cache stores nothing for this file.
    pub fn abort(self) {
        ignore_rejection(&self.writer.abort());
    }
}
