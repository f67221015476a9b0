//! Why a download failed, worded for the person looking at the page. Pure (no browser types),
//! so the retry policy is tested natively.

/// Why a download failed.
#[derive(Debug, Clone, PartialEq)]
pub enum NetError {
    /// No HTTP answer at all: offline, DNS, refused, or blocked by CORS.
    Unreachable { url: String, detail: String },
    /// An HTTP answer other than 2xx.
    Status {
        url: String,
        status: u16,
        text: String,
    },
    /// The body broke off while reading.
    Interrupted { url: String, detail: String },
    /// Neither the headers nor another byte of the body arrived for `seconds`: the server
    /// accepted the request and went silent (the request was aborted).
    Stalled { url: String, seconds: f64 },
    /// The caller aborted the request (a newer load replaced it, or Cancel).
    Aborted { url: String },
    /// The download kept failing: `tries` attempts, the last of which failed with `last`.
    GaveUp {
        url: String,
        tries: u32,
        received: u64,
        total: Option<u64>,
        last: Box<NetError>,
    },
}

impl NetError {
    /// No answer at all from the host (as opposed to an answer saying no).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, NetError::Unreachable { .. })
    }

    /// The HTTP status the server answered, if that is what failed.
    pub fn status(&self) -> Option<u16> {
        match self {
            NetError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether another attempt may succeed: a body that broke off, a server error or a busy
    /// server. An unreachable host is retried only once a response has been seen from it (a
    /// dropped connection while resuming), not on the first request: offline, DNS and CORS
    /// failures do not heal in a second, and the page should say so at once.
    pub fn is_transient(&self, seen_response: bool) -> bool {
        match self {
            NetError::Interrupted { .. } | NetError::Stalled { .. } => true,
            NetError::Unreachable { .. } => seen_response,
            NetError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            NetError::Aborted { .. } | NetError::GaveUp { .. } => false,
        }
    }

    pub fn is_abort(&self) -> bool {
        matches!(self, NetError::Aborted { .. })
    }
}

fn megabytes(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Unreachable { url, detail } => write!(
                f,
                "could not reach {url} ({detail}): the host is offline, unreachable, or does not allow cross-origin requests"
            ),
            NetError::Status { url, status: 404, .. } => write!(
                f,
                "{url} was not found (404): the repo or the revision does not exist, or the repo has no such file \
                 (a model needs config.json, tokenizer.json and model.safetensors)"
            ),
            // The Hub answers 401 to anonymous requests both for repos that do not exist and for
            // private or gated ones, so a 401 cannot say which.
            NetError::Status { url, status: 401, .. } => write!(
                f,
                "{url} answered 401: the repo was not found, or it is private or gated; check its name \
                 (this app downloads public files only)"
            ),
            NetError::Status { url, status: 403, .. } => write!(
                f,
                "{url} answered 403: the model is gated or private; this app downloads public files only"
            ),
            NetError::Status { url, status, text } => write!(f, "{url} answered {status} {text}"),
            NetError::Interrupted { url, detail } => write!(f, "download of {url} broke off: {detail}"),
            NetError::Stalled { url, seconds } => write!(
                f,
                "{url} stopped sending: nothing arrived for {seconds} s (the server or the connection stalled)"
            ),
            NetError::Aborted { url } => write!(f, "download of {url} was cancelled"),
            NetError::GaveUp { url, tries, received, total, last } => {
                let at = match total {
                    Some(t) => format!("{} of {}", megabytes(*received), megabytes(*t)),
                    None => megabytes(*received),
                };
                let last = match last.as_ref() {
                    NetError::Interrupted { detail, .. } | NetError::Unreachable { detail, .. } => detail.clone(),
                    NetError::Status { status, text, .. } => format!("{status} {text}"),
                    NetError::Stalled { seconds, .. } => format!("nothing arrived for {seconds} s"),
                    other => other.to_string(),
                };
                write!(
                    f,
                    "download of {url} failed {tries} times in a row and was given up at {at} (last error: {last}); \
                     check the connection and press Retry"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_failures_are_retried() {
        let url = "http://h/x/resolve/main/model.safetensors".to_string();
        let cut = NetError::Interrupted { url: url.clone(), detail: "network error".into() };
        assert!(cut.is_transient(true) && cut.is_transient(false));
        let down = NetError::Unreachable { url: url.clone(), detail: "Failed to fetch".into() };
        assert!(!down.is_transient(false), "a host that never answered is reported at once");
        assert!(down.is_transient(true), "a host that answered before is retried");
        for (status, transient) in [(404, false), (403, false), (416, false), (500, true), (503, true), (429, true), (408, true)] {
            let e = NetError::Status { url: url.clone(), status, text: String::new() };
            assert_eq!(e.is_transient(true), transient, "{status}");
        }
        assert!(!NetError::Aborted { url: url.clone() }.is_transient(true));
        let stalled = NetError::Stalled {
            url: url.clone(),
            seconds: 30.0,
        };
        assert!(
            stalled.is_transient(false),
            "a silent server is tried again, like a broken connection"
        );
        let m = stalled.to_string();
        assert!(
            m.contains("model.safetensors") && m.contains("nothing arrived for 30 s"),
            "{m}"
        );
        assert!(NetError::Aborted { url }.is_abort());
    }

    #[test]
    fn giving_up_says_where_and_why() {
        let url = "http://h/m/resolve/main/model.safetensors".to_string();
        let e = NetError::GaveUp {
            url: url.clone(),
            tries: 4,
            received: 27_400_000,
            total: Some(90_868_376),
            last: Box::new(NetError::Interrupted { url, detail: "network error".into() }),
        };
        let m = e.to_string();
        assert!(m.contains("model.safetensors"), "{m}");
        assert!(m.contains("4 times"), "{m}");
        assert!(m.contains("27.4 MB of 90.9 MB"), "{m}");
        assert!(m.contains("network error"), "{m}");
        let e = NetError::GaveUp {
            url: "u/config.json".into(),
            tries: 4,
            received: 0,
            total: None,
            last: Box::new(NetError::Stalled {
                url: "u/config.json".into(),
                seconds: 1.5,
            }),
        };
        assert!(
            e.to_string()
                .contains("last error: nothing arrived for 1.5 s"),
            "{e}"
        );
    }

    #[test]
    fn status_messages_name_the_real_cause() {
        let status = |status| NetError::Status { url: "u/model.safetensors".into(), status, text: String::new() }.to_string();
        assert!(status(401).contains("not found, or it is private or gated"), "{}", status(401));
        assert!(status(403).contains("gated or private"));
        assert!(status(404).contains("revision does not exist"));
        let down = NetError::Unreachable { url: "u".into(), detail: "Failed to fetch".into() };
        assert!(down.is_unreachable() && down.status().is_none());
        assert_eq!(NetError::Status { url: "u".into(), status: 404, text: String::new() }.status(), Some(404));
    }
}
