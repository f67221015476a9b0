//! A model's three files for the worker: from Cache Storage when a previous visit saved them
//! (checked against their stored size), from the network otherwise (resumed and retried, see
//! `download.rs`), saved to the cache as they arrive, with progress for the three together.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::cache::{CacheWriter, Lookup, ModelCache};
use super::download::{download, Event, Failed};
use super::fetch::{head, head_size, Sink, OUT_OF_MEMORY};
use super::checksum::Xxh64;
use super::integrity::{self, Sha256};
use super::timing;
use super::verify::{record, verify, Plan};
use crate::model::{Checkpoint, Family, WeightStream};
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
    /// The cache's answers for the files it held when the load began, their bodies unread:
    /// the first read of each uses them instead of asking the cache again.
    found: [Option<Lookup>; 3],
    /// The SHA-256 the host gives for each file (the cache entry keeps it), when it gives one.
    expected: [Option<Sha256>; 3],
    /// Downloaded weights still to be checked against their SHA-256 ([`Self::check_weights`]):
    /// the hash, whether the copy was saved, and its XXH64.
    unchecked: Option<(Sha256, bool, Option<u64>)>,
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
        let mut found: [Option<Lookup>; 3] = Default::default();
        let mut expected: [Option<Sha256>; 3] = Default::default();
        let mut missing = Vec::new();
        for (i, file) in MODEL_FILES.iter().enumerate() {
            let found = match &cache {
                Some(c) => match c.lookup(&source.file_url(file)).await {
                    Lookup::Found { size, sha256, response } => {
                        found[i] = Some(Lookup::Found { size, sha256: sha256.clone(), response });
                        Some((size, sha256))
                    }
                    _ => None,
                },
                None => None,
            };
            match found {
                Some((size, sha256)) => (sizes[i], expected[i]) = (Some(size), sha256),
                None => missing.push(i),
            }
        }
        if !missing.is_empty() {
            // HEADs start at once (future_to_promise runs them concurrently), with the Hub's
            // metadata API for the files' SHA-256; failures only mean "size or hash unknown":
            // the GET reports errors properly.
            let promises = Array::new();
            for &i in &missing {
                let url = source.file_url(MODEL_FILES[i]);
                let signal = signal.cloned();
                promises.push(&wasm_bindgen_futures::future_to_promise(async move {
                    let got = head(&url, signal.as_ref()).await;
                    let size = got.as_ref().and_then(|h| h.size).map(|s| JsValue::from_f64(s as f64)).unwrap_or(JsValue::NULL);
                    let sha = got.and_then(|h| h.sha256).map(|h| JsValue::from_str(h.as_str())).unwrap_or(JsValue::NULL);
                    Ok(Array::of2(&size, &sha).into())
                }));
            }
            let api = super::metadata::api_url(&source.hub, &source.repo, &source.revision);
            if let Some(url) = api.clone() {
                promises.push(&wasm_bindgen_futures::future_to_promise(async move {
                    Ok(super::fetch_text(&url).await.map(|t| JsValue::from_str(&t)).unwrap_or(JsValue::NULL))
                }));
            }
            if let Ok(all) = JsFuture::from(js_sys::Promise::all(&promises)).await {
                let all = Array::from(&all);
                let listing = api.and_then(|_| all.get(missing.len() as u32).as_string());
                for (k, &i) in missing.iter().enumerate() {
                    let pair = Array::from(&all.get(k as u32));
                    sizes[i] = pair.get(0).as_f64().map(|s| s as u64);
                    expected[i] = pair
                        .get(1)
                        .as_string()
                        .and_then(|h| Sha256::parse(&h))
                        .or_else(|| listing.as_deref().and_then(|j| integrity::from_api(j, MODEL_FILES[i])));
                }
            }
        }
        Self {
            source,
            signal,
            cache,
            save_failed: false,
            sizes,
            found,
            expected,
            unchecked: None,
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

    /// File `i`'s size, when known.
    pub fn size(&self, i: usize) -> Option<u64> {
        self.sizes.get(i).copied().flatten()
    }

    fn note(&mut self, m: String) {
        (self.on)(LoadEvent::Note(m));
    }

    fn aborted(&self) -> bool {
        self.signal.is_some_and(|s| s.aborted())
    }

    /// File `i` of [`MODEL_FILES`], held whole (the small files): from the cache if it holds a
    /// good copy, else downloaded (and then saved).
    pub async fn get(&mut self, i: usize) -> Result<Fetched, Failure> {
        let mut bytes = Vec::new();
        if self.fetch(i, &mut bytes).await? {
            return Ok(Fetched { bytes, from_cache: true });
        }
        if let Some(want) = self.expected.get(i).cloned().flatten() {
            let data = js_sys::Uint8Array::from(bytes.as_slice());
            let got = match integrity::digest(&data) {
                Ok(p) => integrity::finish(p).await,
                Err(e) => Err(e),
            };
            match got {
                Ok(got) if got != want => return Err(Failure::Message(integrity::mismatch(MODEL_FILES[i], &want, &got))),
                Ok(_) => {}
                Err(why) => self.note(format!("{} could not be checked against its SHA-256 ({why}).", MODEL_FILES[i])),
            }
        }
        self.save(i, &mut bytes).await;
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        Ok(Fetched { bytes, from_cache: false })
    }

    /// The weights (`model.safetensors`), read into `family`'s tensors as they arrive
    /// ([`WeightStream`]): the file itself is never held. A download is saved to the cache
    /// from the same chunks. A cached copy that does not read is evicted and downloaded again.
    /// A download is checked against its SHA-256 afterwards: call [`Self::check_weights`].
    pub async fn weights(&mut self, family: Family, budget: Option<u64>) -> Result<Checkpoint, Failure> {
        const W: usize = 2;
        let mut sink = WeightSink::new(family, budget);
        if self.expected[W].is_some() {
            sink = sink.with_checksum();
        }
        if self.read_cached(W, &mut sink).await {
            match sink.stream.finish() {
                Ok(ck) => return Ok(ck),
                Err(e) => {
                    self.note(format!("The saved copy of {} could not be used ({e}); it was removed and is downloaded again.", MODEL_FILES[W]));
                    self.evict(W).await;
                    sink.stream = WeightStream::new(family, budget);
                }
            }
        }
        if !self.save_failed {
            let sha256 = self.expected[W].clone();
            sink.saver = self.cache.as_ref().map(|c| Saver { cache: c.clone(), source: self.source.clone(), sha256, writer: None, failed: None });
        }
        let downloaded = self.fetch_network(W, &mut sink).await;
        let saver = sink.saver.take();
        if let Err(e) = downloaded {
            if let Some(w) = saver.and_then(|s| s.writer) {
                w.abort();
            }
            return Err(match (e, sink.error) {
                (Failure::Message(_), Some(model_error)) => Failure::Message(model_error.to_string()),
                (e, _) => e,
            });
        }
        let mut saved = false;
        if let Some(saver) = saver {
            let result = match (saver.failed, saver.writer) {
                (Some(why), _) => Err(why),
                (None, Some(w)) => w.finish().await,
                (None, None) => Err("the server did not say the file's size".into()),
            };
            saved = result.is_ok();
            if let Err(why) = result {
                self.save_failed = true;
                self.note(format!(
                    "Could not save {} in the browser's storage ({why}). The model runs from memory and will be \
                     downloaded again next time; the storage panel shows what is stored and can free space.",
                    MODEL_FILES[W]
                ));
                self.evict(W).await;
            }
        }
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        let xxh64 = sink.checksum();
        // A file that does not parse says more than its hash would (truncated, bad header), and
        // so does one whose tensors do not fit the config: the caller checks the hash after
        // building the model ([`Self::check_weights`]).
        let checkpoint = sink.stream.finish().map_err(|e| Failure::Message(e.to_string()))?;
        self.unchecked = self.expected[W].clone().map(|want| (want, saved, xxh64));
        Ok(checkpoint)
    }

    /// Checks downloaded weights against the SHA-256 their host gives (nothing to do for a
    /// cached copy, checked as it was read, or a host that gives none): a mismatch fails the
    /// load, and the copy is not kept.
    pub async fn check_weights(&mut self) -> Result<(), Failure> {
        match self.unchecked.take() {
            Some((want, saved, xxh64)) => self.check_download(2, &want, saved, xxh64).await,
            None => Ok(()),
        }
    }

    /// Checks a downloaded file against the SHA-256 its host gives, by hashing the copy just
    /// saved (off this thread); a copy that does not match is removed and the load fails. A
    /// download that could not be saved is not hashed (the bytes are already in tensors), and
    /// the page says so. A copy that matches is recorded with `xxh64`, its XXH64 as it was
    /// saved, when known (`verify.rs`: the next visit checks that instead of hashing it).
    async fn check_download(&mut self, i: usize, want: &Sha256, saved: bool, xxh64: Option<u64>) -> Result<(), Failure> {
        let file = MODEL_FILES[i];
        let stored = match (&self.cache, saved) {
            (Some(c), true) => match c.lookup(&self.source.file_url(file)).await {
                Lookup::Found { response, .. } => Some(response),
                _ => None,
            },
            _ => None,
        };
        let Some(response) = stored else {
            self.note(format!("{file} could not be checked against its SHA-256, as it could not be saved."));
            return Ok(());
        };
        let got = match integrity::digest_response(&response) {
            Ok(p) => integrity::finish(p).await,
            Err(e) => Err(e),
        };
        match got {
            Ok(got) if &got != want => {
                self.evict(i).await;
                Err(Failure::Message(format!("{}; it was not kept. Retry downloads it again.", integrity::mismatch(file, want, &got))))
            }
            Ok(_) => {
                if let (Some(cache), Some(size)) = (&self.cache, self.sizes[i]) {
                    record(cache, self.source, file, size, want, xxh64).await;
                }
                Ok(())
            }
            Err(why) => {
                self.note(format!("{file} could not be checked against its SHA-256 ({why})."));
                Ok(())
            }
        }
    }

    /// Fills `sink` with file `i`: from the cache (`Ok(true)`) or the network (`Ok(false)`).
    async fn fetch<S: Sink>(&mut self, i: usize, sink: &mut S) -> Result<bool, Failure> {
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        if self.read_cached(i, sink).await {
            return Ok(true);
        }
        self.fetch_network(i, sink).await.map(|()| false)
    }

    /// Downloads file `i` into `sink`.
    async fn fetch_network<S: Sink>(&mut self, i: usize, sink: &mut S) -> Result<(), Failure> {
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        let Some(&file) = MODEL_FILES.get(i) else {
            return Err(Failure::Message(format!("there is no model file number {i}")));
        };
        let url = self.source.file_url(file);
        self.progress(i, 0, Origin::Network, true);
        let signal = self.signal;
        let base = self.network_bytes;
        let result = download(&url, signal, sink, |ev| match ev {
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
        match result {
            Ok(()) => {}
            Err(Failed::Sink(m)) => return Err(Failure::Message(format!("{file}: {m}"))),
            Err(Failed::Net(e)) if e.is_abort() || self.aborted() => return Err(Failure::Aborted),
            Err(Failed::Net(e)) if e.is_unreachable() => return Err(Failure::Unreachable(e.to_string())),
            Err(Failed::Net(e)) if e.status() == Some(404) && file == "model.safetensors" => {
                // A repo with PyTorch weights only: say what to do rather than "not found".
                let pickle = self.source.file_url("pytorch_model.bin");
                let message = match head_size(&pickle, self.signal).await {
                    Some(_) => crate::model::needs_safetensors(&self.source.repo),
                    None => e.to_string(),
                };
                return Err(Failure::Message(message));
            }
            Err(Failed::Net(e)) => return Err(Failure::Message(e.to_string())),
        }
        let len = sink.received();
        self.sizes[i] = Some(len);
        self.progress(i, len, Origin::Network, true);
        if self.aborted() {
            return Err(Failure::Aborted);
        }
        Ok(())
    }

    /// Reads file `i` from the cache into `sink` when it holds a good copy (true); a bad copy
    /// is evicted (with a note) and false returned, so the caller downloads it.
    async fn read_cached<S: Sink>(&mut self, i: usize, sink: &mut S) -> bool {
        let Some(file) = MODEL_FILES.get(i) else { return false };
        let url = self.source.file_url(file);
        // A handle (clones share the cache), so that `self` stays free for the progress closure.
        let Some(cache) = self.cache.clone() else { return false };
        let looked = match self.found.get_mut(i).and_then(Option::take) {
            Some(found) => found,
            None => cache.lookup(&url).await,
        };
        let problem = match looked {
            Lookup::Missing => return false,
            Lookup::Invalid(why) => why,
            Lookup::Found { size, sha256, response } => {
                self.sizes[i] = Some(size);
                self.progress(i, 0, Origin::Cache, true);
                // Against its host's SHA-256, when it gave one (`verify.rs`): by a record of
                // the copy's XXH64, else hashed by the browser (off this thread) while it is read.
                let plan = Plan::new(&cache, &url, size, sha256.as_ref(), &response, sink.checksum().is_some()).await;
                let read = cache.read(&response, size, sink, |n| self.progress(i, n, Origin::Cache, false)).await;
                timing::mark(&format!("read-{file}"));
                let checked = match (read, sha256) {
                    (Err(why), _) => Err(why),
                    (Ok(()), None) => Ok(()),
                    (Ok(()), Some(want)) => verify(&cache, self.source, file, size, &want, plan, sink.checksum()).await,
                };
                timing::mark(&format!("checked-{file}"));
                match checked {
                    Ok(()) => {
                        self.progress(i, size, Origin::Cache, true);
                        return true;
                    }
                    Err(why) => why,
                }
            }
        };
        self.note(format!("The saved copy of {file} could not be used ({problem}); it was removed and is downloaded again."));
        self.evict(i).await;
        sink.restart(None);
        false
    }

    /// Saves a downloaded file; a failure (full storage) becomes a note, and the model runs
    /// from memory.
    async fn save(&mut self, i: usize, bytes: &mut [u8]) {
        if self.save_failed {
            return;
        }
        let Some(cache) = &self.cache else { return };
        let file = MODEL_FILES[i];
        if let Err(why) = cache.put(self.source, file, bytes, self.expected[i].as_ref()).await {
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
        self.found[i] = None;
        if let Some(cache) = &self.cache {
            cache.evict(&self.source.file_url(file)).await;
        }
    }
}

/// Where a download of the weights is being saved, if anywhere.
struct Saver {
    cache: ModelCache,
    source: ModelSource,
    /// Recorded with the saved copy.
    sha256: Option<Sha256>,
    writer: Option<CacheWriter>,
    /// Saving failed (full storage): the download goes on, unsaved.
    failed: Option<String>,
}

/// The weights' [`Sink`]: each chunk is copied into a small scratch buffer, converted into the
/// tensors by the [`WeightStream`], and passed on (the same JS buffer) to the cache.
pub struct WeightSink {
    stream: WeightStream,
    scratch: Vec<u8>,
    /// The XXH64 of the bytes so far, when asked for ([`Self::with_checksum`]).
    xxh64: Option<Xxh64>,
    /// Why the stream refused the file (for the page: the typed error says more than a string).
    error: Option<crate::model::Error>,
    saver: Option<Saver>,
}

impl WeightSink {
    /// A sink for `family`'s weights that saves nothing (local files).
    pub fn new(family: Family, budget: Option<u64>) -> Self {
        Self { stream: WeightStream::new(family, budget), scratch: Vec::new(), xxh64: None, error: None, saver: None }
    }

    /// Also computes the XXH64 of the bytes as they pass ([`Sink::checksum`]): a cached copy is
    /// checked with it, a saved one recorded with it (`verify.rs`). About 50 ms for 440 MB.
    pub fn with_checksum(mut self) -> Self {
        self.xxh64 = Some(Xxh64::new());
        self
    }

    /// Why the weights were refused, once: a typed error says more than the stream's string.
    pub fn take_error(&mut self) -> Option<crate::model::Error> {
        self.error.take()
    }

    /// The tensors, once every byte has arrived.
    pub fn finish(self) -> crate::model::Result<Checkpoint> {
        self.stream.finish()
    }
}

impl Sink for WeightSink {
    fn received(&self) -> u64 {
        self.stream.received()
    }

    fn restart(&mut self, total: Option<u64>) {
        self.stream.reset();
        self.stream.expect_len(total);
        self.error = None;
        if let Some(h) = &mut self.xxh64 {
            *h = Xxh64::new();
        }
        if let Some(s) = &mut self.saver {
            if let Some(w) = s.writer.take() {
                w.abort();
            }
            if s.failed.is_none() {
                if let Some(size) = total {
                    match s.cache.writer(&s.source, MODEL_FILES[2], size, s.sha256.as_ref()) {
                        Ok(w) => s.writer = Some(w),
                        Err(why) => s.failed = Some(why),
                    }
                }
            }
        }
    }

    fn keeps_chunks(&self) -> bool {
        self.saver.as_ref().is_some_and(|s| s.writer.is_some())
    }

    fn checksum(&self) -> Option<u64> {
        self.xxh64.as_ref().map(Xxh64::digest)
    }

    async fn write(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), String> {
        let n = chunk.length() as usize;
        if self.scratch.len() < n {
            self.scratch.try_reserve(n - self.scratch.len()).map_err(|_| OUT_OF_MEMORY.to_string())?;
            self.scratch.resize(n, 0);
        }
        let part = &mut self.scratch[..n];
        chunk.copy_to(part);
        if let Some(h) = &mut self.xxh64 {
            h.update(part);
        }
        if let Err(e) = self.stream.push(part) {
            let message = e.to_string();
            self.error = Some(e);
            return Err(message);
        }
        if let Some(s) = &mut self.saver {
            if let Some(w) = &mut s.writer {
                if let Err(why) = w.write(chunk).await {
                    s.failed = Some(why);
                    if let Some(w) = s.writer.take() {
                        w.abort();
                    }
                }
            }
        }
        Ok(())
    }
}
