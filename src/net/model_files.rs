//! A model's three files for the worker: from Cache Storage when a previous visit saved them
//! (checked against their stored size), from the network otherwise (resumed and retried, see
//! `download.rs`), saved to the cache as they arrive, with progress for the three together.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::cache::{Lookup, ModelCache};
use super::download::{download, Event};
use super::fetch::head_size;
use super::rate::RateMeter;
use super::resume::{backoff_ms, MAX_RETRIES};
use crate::protocol::{ModelSource, Origin, MODEL_FILES};

/// Progress messages at most this often per file (plus the first and the last).
const POST_EVERY_MS: f64 = 100.0;
/// The speed shown is measured over this window.
const RATE_WINDOW_MS: f64 = 3000.0;

/// What the loader tells the page.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadEvent {
    Progress {
        file: &'static str,
        received: u64,
        total: Option<u64>,
        all_received: u64,
        all_total: Option<u64>,
        bytes_per_sec: Option<f64>,
        origin: Origin,
    },
    /// Not a failure, but worth a line on the page (a resumed download, a broken cached file,
    /// a full storage).
    Note(String),
}

/// Why a file could not be had.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The load was cancelled or superseded (its AbortSignal fired).
    Aborted,
    /// The host answered nothing (offline, DNS, refused, CORS): the page offers a bundled model.
    Unreachable(String),
    /// A message for the page, naming the file.
    Message(String),
}

/// A file's bytes and whether they came from the cache.
#[derive(Debug, Default)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub from_cache: bool,
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Loads the files of one model for one load.
pub struct ModelFiles<'a, F: FnMut(LoadEvent)> {
    source: &'a ModelSource,
    signal: Option<&'a AbortSignal>,
    cache: Option<ModelCache>,
    /// Saving failed once in this load (a full storage): do not try again.
    save_failed: bool,
    sizes: [Option<u64>; 3],
    received: [u64; 3],
    /// Network bytes of this load so far (for the speed), and the meter.
    network_bytes: u64,
    meter: RateMeter,
    last_post_ms: f64,
    on: F,
}

impl<'a, F: FnMut(LoadEvent)> ModelFiles<'a, F> {
    /// Opens the cache and learns what it can of the three sizes: from the cache's entries, and
    /// by HEAD requests (in parallel, through gloo-net) for the files it does not hold.
    pub async fn new(source: &'a ModelSource, signal: Option<&'a AbortSignal>, mut on: F) -> Self {
        let cache = match ModelCache::open().await {
            Ok(c) => Some(c),
            Err(m) => {
                on(LoadEvent::Note(m));
                None
            }
        };
        let mut sizes = [None; 3];
        let mut missing = Vec::new();
        for (i, file) in MODEL_FILES.iter().enumerate() {
            let found = match &cache {
                Some(c) => match c.lookup(&source.file_url(file)).await {
                    Lookup::Found { size, .. } => Some(size),
                    _ => None,
                },
                None => None,
            };
            match found {
                Some(size) => sizes[i] = Some(size),
                None => missing.push(i),
            }
        }
        if !missing.is_empty() {
            // HEADs start at once (future_to_promise runs them concurrently); failures only mean
            // "size unknown": the GET reports errors properly.
            let promises = Array::new();
            for &i in &missing {
                let url = source.file_url(MODEL_FILES[i]);
                let signal = signal.cloned();
                promises.push(&wasm_bindgen_futures::future_to_promise(async move {
                    Ok(head_size(&url, signal.as_ref()).await.map(|s| JsValue::from_f64(s as f64)).unwrap_or(JsValue::NULL))
                }));
            }
            if let Ok(all) = JsFuture::from(js_sys::Promise::all(&promises)).await {
                for (k, &i) in missing.iter().enumerate() {
                    sizes[i] = Array::from(&all).get(k as u32).as_f64().map(|s| s as u64);
                }
            }
        }
        Self {
            source,
            signal,
            cache,
            save_failed: false,
            sizes,
            received: [0; 3],
            network_bytes: 0,
            meter: RateMeter::new(RATE_WINDOW_MS),
            last_post_ms: f64::NEG_INFINITY,
            on,
        }
    }

    fn progress(&mut self, i: usize, received: u64, origin: Origin, force: bool) {
        let Some(&file) = MODEL_FILES.get(i) else { return };
        self.received[i] = received;
        let now = now_ms();
        if origin == Origin::Network {
            self.meter.record(now, self.network_bytes);
        }
        let done = self.sizes[i] == Some(received);
        if !(force || done || now - self.last_post_ms >= POST_EVERY_MS) {
            return;
        }
        self.last_post_ms = now;
        let all_total = self.sizes.iter().try_fold(0u64, |a, s| s.map(|s| a + s));
        (self.on)(LoadEvent::Progress {
            file,
            received,
            total: self.sizes[i],
            all_received: self.received.iter().sum(),
            all_total,
            bytes_per_sec: if origin == Origin::Network { self.meter.rate() } else { None },
            origin,
        });
    }

    fn note(&mut self, m: String) {
        (self.on)(LoadEvent::Note(m));
    }

    fn aborted(&self) -> bool {
        self.signal.is_some_and(|s| s.aborted())
    }

    /// File `i` of [`MODEL_FILES`]: from the cache if it holds a good copy, else downloaded
    /// (and then saved).
    pub async fn get(&mut self, i: usize) -> Result<Fetched, Failure> {
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        let Some(&file) = MODEL_FILES.get(i) else {
            return Err(Failure::Message(format!("there is no model file number {i}")));
        };
        let url = self.source.file_url(file);
        if let Some(bytes) = self.read_cached(i, &url).await {
            return Ok(Fetched { bytes, from_cache: true });
        }
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        self.progress(i, 0, Origin::Network, true);
        let signal = self.signal;
        let base = self.network_bytes;
        let result = download(&url, signal, |ev| match ev {
            Event::Bytes { received, total, transferred } => {
                if total.is_some() {
                    self.sizes[i] = total;
                }
                self.network_bytes = base + transferred;
                self.progress(i, received, Origin::Network, false);
            }
            Event::Retry { retry, resume_from, total, reason } => {
                self.meter.reset();
                let how = match (resume_from, total) {
                    (Some(at), Some(t)) => format!("resuming at {} of {}", mb(at), mb(t)),
                    (Some(at), None) => format!("resuming at {}", mb(at)),
                    (None, _) => "from the start (this server cannot resume)".into(),
                };
                let wait = f64::from(backoff_ms(retry)) / 1000.0;
                (self.on)(LoadEvent::Note(format!("{file}: {reason}. Trying again in {wait} s ({retry} of {MAX_RETRIES}), {how}.")));
            }
            Event::Restart { reason } => {
                (self.on)(LoadEvent::Note(format!("{file}: {reason}; downloading the whole file again.")));
            }
        })
        .await;
        let mut bytes = match result {
            Ok(b) => b,
            Err(e) if e.is_abort() || self.aborted() => return Err(Failure::Aborted),
            Err(e) if e.is_unreachable() => return Err(Failure::Unreachable(e.to_string())),
            Err(e) if e.status() == Some(404) && file == "model.safetensors" => {
                // A repo with PyTorch weights only: say what to do rather than "not found".
                let pickle = self.source.file_url("pytorch_model.bin");
                let message = match head_size(&pickle, self.signal).await {
                    Some(_) => crate::model::needs_safetensors(&self.source.repo),
                    None => e.to_string(),
                };
                return Err(Failure::Message(message));
            }
            Err(e) => return Err(Failure::Message(e.to_string())),
        };
        self.sizes[i] = Some(bytes.len() as u64);
        self.progress(i, bytes.len() as u64, Origin::Network, true);
        self.save(i, &mut bytes).await;
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        Ok(Fetched { bytes, from_cache: false })
    }

    /// Reads file `i` from the cache when it holds a good copy; a bad copy is evicted (with a
    /// note) and `None` returned, so the caller downloads it.
    async fn read_cached(&mut self, i: usize, url: &str) -> Option<Vec<u8>> {
        let file = MODEL_FILES.get(i)?;
        let cache = self.cache.as_ref()?;
        let problem = match cache.lookup(url).await {
            Lookup::Missing => return None,
            Lookup::Invalid(why) => why,
            Lookup::Found { size, response } => {
                self.sizes[i] = Some(size);
                self.progress(i, 0, Origin::Cache, true);
                // Borrow the cache separately from `self` (the progress closure needs `self`).
                let cache = self.cache.take()?;
                let read = cache.read(&response, size, |n| self.progress(i, n, Origin::Cache, false)).await;
                self.cache = Some(cache);
                match read {
                    Ok(bytes) => {
                        self.progress(i, size, Origin::Cache, true);
                        return Some(bytes);
                    }
                    Err(why) => why,
                }
            }
        };
        self.note(format!("The saved copy of {file} could not be used ({problem}); it was removed and is downloaded again."));
        self.evict(i).await;
        None
    }

    /// Saves a downloaded file; a failure (full storage) becomes a note, and the model runs
    /// from memory.
    async fn save(&mut self, i: usize, bytes: &mut [u8]) {
        if self.save_failed {
            return;
        }
        let Some(cache) = &self.cache else { return };
        let file = MODEL_FILES[i];
        if let Err(why) = cache.put(self.source, file, bytes).await {
            self.save_failed = true;
            self.note(format!(
                "Could not save {file} in the browser's storage ({why}). The model runs from memory and will be \
                 downloaded again next time; the storage panel shows what is stored and can free space."
            ));
        }
    }

    /// Removes file `i` from the cache (it proved broken), so the next `get` downloads it.
    pub async fn evict(&mut self, i: usize) {
        let Some(&file) = MODEL_FILES.get(i) else { return };
        self.received[i] = 0;
        if let Some(cache) = &self.cache {
            cache.evict(&self.source.file_url(file)).await;
        }
    }
}
