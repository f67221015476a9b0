//! HTTP requests, usable from any global scope (window or worker).
//!
//! The design card names gloo-net for HTTP, and it serves for building and sending requests:
//! its `RequestBuilder` takes headers (`Range`), the cache mode and an `AbortSignal`, and uses
//! the global `fetch`, so the same code runs in the page and in the worker. Its `Response`
//! only reads a body whole (`text`, `binary`), though: no progress, and a 440 MB file would
//! sit in JS memory and again in wasm memory. So the body is read here as a web-sys
//! `ReadableStream`, chunk by chunk, straight into wasm memory (`read_stream`); Cache Storage
//! is web-sys too (`cache.rs`), as gloo has no binding for it.

use gloo_net::http::{Method, Request};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader, RequestCache};

pub use super::error::NetError;

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn is_abort(e: &JsValue, signal: Option<&AbortSignal>) -> bool {
    signal.is_some_and(|s| s.aborted()) || e.dyn_ref::<js_sys::Error>().is_some_and(|e| e.name() == "AbortError")
}

/// A gloo-net failure to send (no HTTP answer) as a [`NetError`].
fn send_error(url: &str, e: gloo_net::Error, signal: Option<&AbortSignal>) -> NetError {
    let aborted = signal.is_some_and(|s| s.aborted());
    match e {
        gloo_net::Error::JsError(js) if aborted || js.name == "AbortError" => NetError::Aborted { url: url.into() },
        gloo_net::Error::JsError(js) => NetError::Unreachable { url: url.into(), detail: js.message },
        _ if aborted => NetError::Aborted { url: url.into() },
        other => NetError::Unreachable { url: url.into(), detail: other.to_string() },
    }
}

/// A response whose headers have arrived; the body is still to be read.
pub struct Opened {
    pub status: u16,
    pub status_text: String,
    headers: gloo_net::http::Headers,
    body: Option<ReadableStream>,
}

impl Opened {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }

    /// `Content-Length`, when the server sends it (and, cross-origin, exposes it).
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.trim().parse().ok())
    }

    pub fn take_body(&mut self) -> Option<ReadableStream> {
        self.body.take()
    }
}

/// Sends a GET for `url`, asking for the bytes from `from` on when `from > 0`. The request
/// bypasses the HTTP cache: model files are kept in Cache Storage, not twice.
pub async fn open(url: &str, signal: Option<&AbortSignal>, from: u64) -> Result<Opened, NetError> {
    let mut req = Request::get(url)
        .abort_signal(signal)
        .cache(RequestCache::NoStore);
    if from > 0 {
        req = req.header("Range", &format!("bytes={from}-"));
    }
    // gloo-net turns a rejected fetch into its error type; an abort rejects with a DOMException
    // (an `Error`), never with another value, since we abort without a reason.
    let resp = req.send().await.map_err(|e| send_error(url, e, signal))?;
    Ok(Opened {
        status: resp.status(),
        status_text: resp.status_text(),
        headers: resp.headers(),
        body: resp.body(),
    })
}

/// The size of `url` from a HEAD request (`Content-Length`), or `None` if the server does not
/// say or cannot be asked. Only a hint for the total: the GET's own answer decides.
/// A HEAD that gets no answer within the stall time is given up (the GET reports the stall).
pub async fn head_size(url: &str, signal: Option<&AbortSignal>) -> Option<u64> {
    head(url, signal).await?.size
}

/// What a HEAD request tells of a file before its GET.
pub struct Head {
    /// `Content-Length`: only a hint for the total (the GET's own answer decides).
    pub size: Option<u64>,
    /// The SHA-256 the host gives for it (`X-Linked-Etag`, or an `ETag` that is one).
    pub sha256: Option<super::integrity::Sha256>,
}

/// A HEAD request for `url`: `None` when it fails or answers an error (the GET reports those).
pub async fn head(url: &str, signal: Option<&AbortSignal>) -> Option<Head> {
    let dog = super::watchdog::Watchdog::new(signal, super::watchdog::stall_ms());
    let inner = dog.signal(signal);
    let resp = Request::get(url)
        .method(Method::HEAD)
        .abort_signal(inner.as_ref())
        .cache(RequestCache::NoStore)
        .send()
        .await
        .ok()?;
    if !resp.ok() {
        return None;
    }
    let h = resp.headers();
    // A compressed answer's length is not the file's.
    let encoded = h.get("content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
    Some(Head {
        size: if encoded { None } else { h.get("content-length").and_then(|v| v.trim().parse().ok()) },
        sha256: super::integrity::from_headers(h.get("x-linked-etag").as_deref(), h.get("etag").as_deref()),
    })
}

/// Why reading a body stopped early.
#[derive(Debug)]
pub enum ReadError {
    /// The stream failed (connection lost, aborted): the JS error.
    Stream(JsValue),
    /// The sink refused a chunk (no memory for it, or bytes that cannot be the file).
    Sink(String),
}

impl ReadError {
    /// As a [`NetError`] for `url`.
    pub fn into_net(self, url: &str, signal: Option<&AbortSignal>) -> NetError {
        match self {
            ReadError::Stream(e) if is_abort(&e, signal) => NetError::Aborted { url: url.into() },
            ReadError::Stream(e) => NetError::Interrupted { url: url.into(), detail: describe(&e) },
            ReadError::Sink(detail) => NetError::Interrupted { url: url.into(), detail },
        }
    }
}

/// Where a body's bytes go as they arrive: a `Vec<u8>` for the small files, the streaming
/// safetensors reader for the weights (`model_files::WeightSink`), which never holds the file.
#[allow(async_fn_in_trait, reason = "implemented and called only inside this crate, on one thread")]
pub trait Sink {
    /// Bytes taken so far: a resumed request asks for the rest from here.
    fn received(&self) -> u64;
    /// Forgets everything: the body starts again at byte 0 (`total` bytes, when known).
    fn restart(&mut self, total: Option<u64>);
    /// Takes the next chunk. An error means the file cannot be used: stop reading.
    async fn write(&mut self, chunk: &Uint8Array) -> Result<(), String>;
    /// Whether `write` keeps the chunk's JS buffer (passes it on) rather than copying it out.
    fn keeps_chunks(&self) -> bool {
        false
    }
    /// The XXH64 of the bytes taken since the last restart, for a sink that computes it as they
    /// pass (the weights: see `verify.rs`).
    fn checksum(&self) -> Option<u64> {
        None
    }
}

pub const OUT_OF_MEMORY: &str = "out of memory: the file is too large for this browser tab";

impl Sink for Vec<u8> {
    fn received(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn restart(&mut self, total: Option<u64>) {
        self.clear();
        if let Some(t) = total {
            let _ = self.try_reserve_exact(t as usize);
        }
    }

    /// Memory is reserved fallibly: a failed allocation is an error, not an abort of the wasm
    /// instance.
    async fn write(&mut self, chunk: &Uint8Array) -> Result<(), String> {
        let n = chunk.length() as usize;
        let start = self.as_slice().len();
        self.try_reserve(n).map_err(|_| OUT_OF_MEMORY.to_string())?;
        self.resize(start + n, 0);
        chunk.copy_to(&mut self[start..]);
        Ok(())
    }
}

/// Bytes asked for per read from a byte stream.
const READ_CHUNK: u32 = 1 << 20;

/// Reads `body` to its end into `sink`, calling `on_chunk(sink.received(), chunk_len)` after
/// each chunk; `on_chunk` returning false stops the reading early (the caller has seen enough).
///
/// A byte stream (Chromium's response and blob bodies) is read with a BYOB reader into one
/// reused 1 MB buffer when the sink copies each chunk out: a default reader hands over a new
/// buffer per chunk, and a fast source (Cache Storage, a local file) turns out garbage faster
/// than the worker's GC collects it — 440 MB of it while reading bert-base from the cache,
/// doubling the peak memory. A sink that keeps chunks (the cache writer) gets a new buffer each
/// time.
pub async fn read_stream<S: Sink>(
    body: &ReadableStream,
    sink: &mut S,
    mut on_chunk: impl FnMut(u64, u64) -> bool,
) -> Result<(), ReadError> {
    if let Ok(reader) = ReadableStreamByobReader::new(body) {
        let mut buffer = js_sys::ArrayBuffer::new(READ_CHUNK);
        loop {
            if sink.keeps_chunks() {
                buffer = js_sys::ArrayBuffer::new(READ_CHUNK);
            }
            let view = Uint8Array::new(&buffer);
            let chunk = JsFuture::from(reader.read_with_array_buffer_view(&view)).await.map_err(ReadError::Stream)?;
            let value = Reflect::get(&chunk, &"value".into()).map_err(ReadError::Stream)?;
            let done = Reflect::get(&chunk, &"done".into()).map_err(ReadError::Stream)?.is_truthy();
            if value.is_undefined() {
                return Ok(());
            }
            let value: Uint8Array = value.unchecked_into();
            // The read moved the buffer into `value`: read into it again next time.
            buffer = value.buffer();
            if value.length() > 0 && !take(sink, &value, &mut on_chunk).await.inspect_err(|_| cancel(reader.cancel()))? {
                cancel(reader.cancel());
                return Ok(());
            }
            if done {
                return Ok(());
            }
        }
    }
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(ReadError::Stream)?;
        if Reflect::get(&chunk, &"done".into()).map_err(ReadError::Stream)?.is_truthy() {
            return Ok(());
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(ReadError::Stream)?.unchecked_into();
        if !take(sink, &value, &mut on_chunk).await.inspect_err(|_| cancel(reader.cancel()))? {
            cancel(reader.cancel());
            return Ok(());
        }
    }
}

/// Gives one chunk to `sink` and reports it; false when `on_chunk` has seen enough.
async fn take<S: Sink>(sink: &mut S, value: &Uint8Array, on_chunk: &mut impl FnMut(u64, u64) -> bool) -> Result<bool, ReadError> {
    sink.write(value).await.map_err(ReadError::Sink)?;
    Ok(on_chunk(sink.received(), u64::from(value.length())))
}

/// A reader's `cancel()`: nothing to wait for (the body is being dropped).
fn cancel(_: js_sys::Promise) {}

/// Closes a body that will not be read (the connection is released).
pub fn discard(body: Option<ReadableStream>) {
    if let Some(b) = body {
        let _ = b.cancel();
    }
}

/// Downloads `url` in full (no resume, no retry), calling `progress(received, total)` as chunks
/// arrive (`total` from `Content-Length`, when the server sends it). Aborting `signal` stops
/// the request on the wire and gives [`NetError::Aborted`].
pub async fn fetch_bytes(
    url: &str,
    signal: Option<&AbortSignal>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, NetError> {
    let mut opened = open(url, signal, 0).await?;
    if !(200..300).contains(&opened.status) {
        discard(opened.take_body());
        return Err(NetError::Status { url: url.into(), status: opened.status, text: opened.status_text.clone() });
    }
    let total = opened.content_length();
    let mut buf = Vec::new();
    progress(0, total);
    if let Some(body) = opened.take_body() {
        read_stream(&body, &mut buf, |len, _| {
            progress(len, total);
            true
        })
        .await
        .map_err(|e| e.into_net(url, signal))?;
    }
    Ok(buf)
}

/// Downloads a small text file (gloo-net reads it whole).
pub async fn fetch_text(url: &str) -> Result<String, NetError> {
    let resp = Request::get(url).send().await.map_err(|e| send_error(url, e, None))?;
    if !resp.ok() {
        return Err(NetError::Status { url: url.into(), status: resp.status(), text: resp.status_text() });
    }
    resp.text().await.map_err(|e| NetError::Interrupted { url: url.into(), detail: e.to_string() })
}
