//! `fetch` with streamed progress, usable from any global scope (window or worker).

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStreamDefaultReader, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`: `Window` and `WorkerGlobalScope` both have it, but web-sys binds it
    /// per type; binding the global directly keeps one code path for both.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// Why a download failed, worded for the person looking at the page.
#[derive(Debug, Clone, PartialEq)]
pub enum NetError {
    /// No HTTP answer at all: offline, DNS, refused, or blocked by CORS.
    Unreachable { url: String, detail: String },
    /// An HTTP answer other than 2xx.
    Status { url: String, status: u16, text: String },
    /// The body broke off while reading.
    Interrupted { url: String, detail: String },
    /// The caller aborted the request (a newer load replaced it, or Cancel).
    Aborted { url: String },
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Unreachable { url, detail } => write!(
                f,
                "could not reach {url} ({detail}): the host is offline, unreachable, or does not allow cross-origin requests"
            ),
            NetError::Status { url, status: 404, .. } => {
                write!(f, "{url} was not found (404): check the model name and revision")
            }
            NetError::Status { url, status: 401 | 403, .. } => write!(
                f,
                "{url} needs permission (gated or private model); this app only downloads public files"
            ),
            NetError::Status { url, status, text } => write!(f, "{url} answered {status} {text}"),
            NetError::Interrupted { url, detail } => write!(f, "download of {url} broke off: {detail}"),
            NetError::Aborted { url } => write!(f, "download of {url} was cancelled"),
        }
    }
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn is_abort(e: &JsValue, signal: Option<&AbortSignal>) -> bool {
    signal.is_some_and(|s| s.aborted())
        || e.dyn_ref::<js_sys::Error>().is_some_and(|e| e.name() == "AbortError")
}

/// Downloads `url` fully, calling `progress(received, total)` as chunks arrive
/// (`total` from `Content-Length`, when the server sends it). Aborting `signal` stops the
/// request on the wire (the server sees the connection close) and gives [`NetError::Aborted`].
pub async fn fetch_bytes(
    url: &str,
    signal: Option<&AbortSignal>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, NetError> {
    let aborted = || NetError::Aborted { url: url.to_string() };
    let unreachable = |e: JsValue| {
        if is_abort(&e, signal) {
            aborted()
        } else {
            NetError::Unreachable { url: url.to_string(), detail: describe(&e) }
        }
    };
    let init = RequestInit::new();
    init.set_signal(signal);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(unreachable)?;
    let resp: Response = JsFuture::from(global_fetch(&request))
        .await
        .map_err(unreachable)?
        .dyn_into()
        .map_err(|_| NetError::Unreachable { url: url.into(), detail: "not a Response".into() })?;
    if !resp.ok() {
        return Err(NetError::Status { url: url.into(), status: resp.status(), text: resp.status_text() });
    }
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let interrupted = |e: JsValue| {
        if is_abort(&e, signal) {
            aborted()
        } else {
            NetError::Interrupted { url: url.to_string(), detail: describe(&e) }
        }
    };
    let Some(body) = resp.body() else {
        progress(0, total);
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    // Content-Length is the *encoded* size, so it is only a capacity hint. Reserve with
    // try_reserve: a failed allocation must become a message, not an abort of the worker.
    let mut buf: Vec<u8> = Vec::new();
    let _ = buf.try_reserve_exact(total.unwrap_or(0) as usize);
    let too_big = || NetError::Interrupted {
        url: url.to_string(),
        detail: "out of memory: the file is too large for this browser tab".into(),
    };
    progress(0, total);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(interrupted)?;
        if Reflect::get(&chunk, &"done".into()).map_err(interrupted)?.is_truthy() {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(interrupted)?.unchecked_into();
        let start = buf.len();
        buf.try_reserve(value.length() as usize).map_err(|_| too_big())?;
        buf.resize(start + value.length() as usize, 0);
        value.copy_to(&mut buf[start..]);
        progress(buf.len() as u64, total);
    }
    Ok(buf)
}

/// Downloads a small text file (no progress).
pub async fn fetch_text(url: &str) -> Result<String, NetError> {
    let bytes = fetch_bytes(url, None, |_, _| {}).await?;
    String::from_utf8(bytes).map_err(|e| NetError::Interrupted { url: url.into(), detail: e.to_string() })
}
