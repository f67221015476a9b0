//! One file, downloaded to the end: a connection that breaks is resumed with HTTP Range from
//! where it stopped (when the server allows it), with a bounded number of retries.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::fetch::{discard, open, read_stream, NetError, ReadError, Sink};
use super::resume::{backoff_ms, can_resume, classify, Answer, MAX_RETRIES};
use super::watchdog::{stall_ms, Watchdog};

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (window and worker alike).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32) -> JsValue;
}

/// What happens during a download, for progress and notes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `received` bytes of the file so far (`total` when known); `transferred` counts every
    /// byte read from the network for this file, including any thrown away by a restart.
    Bytes { received: u64, total: Option<u64>, transferred: u64 },
    /// Attempt `retry` of [`MAX_RETRIES`] follows after a pause, because of `reason`; it resumes
    /// from `resume_from` (a Range request) or starts over (`None`).
    Retry { retry: u32, resume_from: Option<u64>, total: Option<u64>, reason: String },
    /// The server did not continue where the download stopped; it starts over.
    Restart { reason: String },
}

/// Waits `ms`, or less if `signal` aborts meanwhile.
async fn sleep(ms: u32, signal: Option<&AbortSignal>) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout(&resolve, ms.min(i32::MAX as u32) as i32);
        if let Some(s) = signal {
            let _ = s.add_event_listener_with_callback("abort", &resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// The state of one file's download across attempts (the bytes themselves are in the sink).
struct Progress {
    total: Option<u64>,
    /// The server takes `Range` and the body is not content-encoded.
    resumable: bool,
    /// Some request for this file got an HTTP answer.
    seen_response: bool,
    transferred: u64,
}

/// Why an attempt ended without the whole file.
enum Stop {
    Net(NetError),
    /// Download the whole file again (the server did not continue where it stopped).
    Restart(String),
    /// The sink refused the bytes: the file cannot be used, and fetching it again won't help.
    Sink(String),
}

/// Why a download failed.
#[derive(Debug)]
pub enum Failed {
    Net(NetError),
    /// The sink refused the bytes (see [`Sink::write`]); its message.
    Sink(String),
}

/// Downloads `url` to its end into `sink`. A connection that breaks mid-body, a server that
/// goes silent for [`stall_ms`] (no headers, or no body byte), a 5xx or a 408/429 is tried
/// again up to [`MAX_RETRIES`] times after a short pause, each time from where the bytes
/// stopped when the server said `Accept-Ranges: bytes` (checking that the 206's
/// `Content-Range` starts there), from the start otherwise (the sink is restarted). Aborting
/// `signal` stops everything and gives [`NetError::Aborted`].
pub async fn download<S: Sink>(
    url: &str,
    signal: Option<&AbortSignal>,
    sink: &mut S,
    mut on: impl FnMut(Event),
) -> Result<(), Failed> {
    let mut p = Progress { total: None, resumable: false, seen_response: false, transferred: 0 };
    let mut failures = 0u32;
    let mut restarts = 0u32;
    loop {
        let from = if p.resumable { sink.received() } else { 0 };
        match attempt(url, signal, from, &mut p, sink, &mut on).await {
            Ok(()) => return Ok(()),
            Err(Stop::Sink(m)) => return Err(Failed::Sink(m)),
            Err(Stop::Restart(reason)) if restarts < 2 => {
                restarts += 1;
                p.resumable = false;
                on(Event::Restart { reason });
            }
            Err(Stop::Restart(reason)) => return Err(Failed::Net(NetError::Interrupted { url: url.into(), detail: reason })),
            Err(Stop::Net(e)) if e.is_abort() => return Err(Failed::Net(e)),
            Err(Stop::Net(e)) if e.is_transient(p.seen_response) => {
                if failures >= MAX_RETRIES {
                    return Err(Failed::Net(NetError::GaveUp {
                        url: url.into(),
                        tries: failures + 1,
                        received: sink.received(),
                        total: p.total,
                        last: Box::new(e),
                    }));
                }
                failures += 1;
                let resume_from = (p.resumable && sink.received() > 0).then_some(sink.received());
                on(Event::Retry { retry: failures, resume_from, total: p.total, reason: e.to_string() });
                sleep(backoff_ms(failures), signal).await;
                if signal.is_some_and(|s| s.aborted()) {
                    return Err(Failed::Net(NetError::Aborted { url: url.into() }));
                }
            }
            Err(Stop::Net(e)) => return Err(Failed::Net(e)),
        }
    }
}

/// One request, under a stall [`Watchdog`]: a stall aborts it and becomes
/// [`NetError::Stalled`] (the caller's own abort stays [`NetError::Aborted`]).
async fn attempt<S: Sink>(
    url: &str,
    signal: Option<&AbortSignal>,
    from: u64,
    p: &mut Progress,
    sink: &mut S,
    on: &mut impl FnMut(Event),
) -> Result<(), Stop> {
    let dog = Watchdog::new(signal, stall_ms());
    let inner = dog.signal(signal);
    let result = attempt_once(url, inner.as_ref(), from, p, sink, on, &dog).await;
    match result {
        Err(Stop::Net(NetError::Aborted { .. }))
            if dog.stalled() && !signal.is_some_and(AbortSignal::aborted) =>
        {
            Err(Stop::Net(NetError::Stalled {
                url: url.into(),
                seconds: dog.seconds(),
            }))
        }
        other => other,
    }
}

async fn attempt_once<S: Sink>(
    url: &str,
    signal: Option<&AbortSignal>,
    from: u64,
    p: &mut Progress,
    sink: &mut S,
    on: &mut impl FnMut(Event),
    dog: &Watchdog,
) -> Result<(), Stop> {
    let mut opened = open(url, signal, from).await.map_err(Stop::Net)?;
    dog.touch();
    p.seen_response = true;
    let status = opened.status;
    if from > 0 && status == 416 {
        discard(opened.take_body());
        return Err(Stop::Restart(format!("the server cannot send the bytes from {from} (416)")));
    }
    if !(200..300).contains(&status) {
        discard(opened.take_body());
        return Err(Stop::Net(NetError::Status { url: url.into(), status, text: opened.status_text.clone() }));
    }
    match classify(from, status, opened.header("content-range").as_deref(), p.total) {
        Answer::Whole => {
            let encoding = opened.header("content-encoding");
            let plain = encoding.as_deref().is_none_or(|e| e.trim().is_empty() || e.eq_ignore_ascii_case("identity"));
            p.resumable = can_resume(opened.header("accept-ranges").as_deref(), encoding.as_deref());
            // Content-Length counts encoded bytes: only a plain body's length is the file's size.
            p.total = if plain { opened.content_length() } else { None };
            sink.restart(p.total);
        }
        Answer::Rest { total } => p.total = total.or(p.total),
        Answer::Unusable(why) => {
            discard(opened.take_body());
            return Err(Stop::Restart(why));
        }
    }
    on(Event::Bytes { received: sink.received(), total: p.total, transferred: p.transferred });
    if let Some(body) = opened.take_body() {
        let total = &mut p.total;
        let resumable = &mut p.resumable;
        let transferred = &mut p.transferred;
        let read = read_stream(&body, sink, |len, n| {
            dog.touch();
            *transferred += n;
            if total.is_some_and(|t| len > t) {
                // More bytes than Content-Length: the body was encoded after all (the header was
                // not visible). The length says nothing and a Range would be wrong.
                *total = None;
                *resumable = false;
            }
            on(Event::Bytes { received: len, total: *total, transferred: *transferred });
            true
        })
        .await;
        match read {
            Ok(()) => {}
            Err(ReadError::Sink(m)) => return Err(Stop::Sink(m)),
            Err(e) => {
                // Say how far it got: "network error" alone does not tell a cut from a refusal.
                let got = sink.received();
                return Err(Stop::Net(match (e.into_net(url, signal), p.total) {
                    (NetError::Interrupted { url, detail }, Some(t)) if got < t => NetError::Interrupted {
                        url,
                        detail: format!("the connection closed after {got} of {t} bytes ({detail})"),
                    },
                    (other, _) => other,
                }));
            }
        }
    }
    match p.total {
        Some(t) if sink.received() != t => Err(Stop::Net(NetError::Interrupted {
            url: url.into(),
            detail: format!("the body ended at {} of {t} bytes", sink.received()),
        })),
        _ => Ok(()),
    }
}
