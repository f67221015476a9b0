//! Resuming a download with HTTP Range, and how long to wait between tries. Pure, so the
//! decisions are tested natively; `download.rs` applies them to real responses.

/// Retries after the first attempt (so at most `MAX_RETRIES + 1` requests per file).
pub const MAX_RETRIES: u32 = 3;

/// How long to wait before retry `n` (1-based): 0.5 s, 1 s, 2 s.
pub fn backoff_ms(n: u32) -> u32 {
    500u32.saturating_mul(1 << n.clamp(1, 8).saturating_sub(1))
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub start: u64,
    pub end: u64,
    pub total: Option<u64>,
}

/// Parses a `Content-Range` header of a 206; `None` for anything else (`bytes */100` included,
/// which belongs to a 416).
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.trim().split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    if end < start || total.is_some_and(|t| end >= t) {
        return None;
    }
    Some(ContentRange { start, end, total })
}

/// Whether a later request for the rest of this response may use `Range`: the server says
/// `Accept-Ranges: bytes`, and the body is not content-encoded (ranges count encoded bytes,
/// while the reader sees decoded ones).
pub fn can_resume(accept_ranges: Option<&str>, content_encoding: Option<&str>) -> bool {
    let ranges = accept_ranges.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("bytes")));
    let plain = content_encoding.is_none_or(|e| e.trim().is_empty() || e.trim().eq_ignore_ascii_case("identity"));
    ranges && plain
}

/// What a response to a request for the bytes from `from` on gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The whole file (a 200): start again from byte 0 with this body.
    Whole,
    /// The rest, from exactly where it stopped (a 206 whose range starts at `from`); `total`
    /// from the `Content-Range`, when it says.
    Rest { total: Option<u64> },
    /// A 206 that does not continue where it stopped: throw it away and download the whole
    /// file instead. The string says why.
    Unusable(String),
}

/// Classifies a 2xx answer to a request that asked for the bytes from `from` (0: no `Range`).
/// `known_total` is the file's size from an earlier response, if any.
pub fn classify(from: u64, status: u16, content_range: Option<&str>, known_total: Option<u64>) -> Answer {
    if status != 206 {
        return Answer::Whole;
    }
    let Some(range) = content_range.and_then(parse_content_range) else {
        return Answer::Unusable(format!("the server sent part of the file without a readable Content-Range ({content_range:?})"));
    };
    if range.start != from {
        return Answer::Unusable(format!("asked for the bytes from {from}, the server sent them from {}", range.start));
    }
    if let (Some(a), Some(b)) = (range.total, known_total) {
        if a != b {
            return Answer::Unusable(format!("the file changed on the server ({b} bytes before, {a} now)"));
        }
    }
    Answer::Rest { total: range.total.or(known_total) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses_and_rejects_garbage() {
        assert_eq!(
            parse_content_range("bytes 27000000-90868375/90868376"),
            Some(ContentRange { start: 27_000_000, end: 90_868_375, total: Some(90_868_376) })
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some(ContentRange { start: 5, end: 9, total: None }));
        assert_eq!(parse_content_range(" bytes  0-0/1 "), Some(ContentRange { start: 0, end: 0, total: Some(1) }));
        for bad in ["", "bytes */100", "bytes 9-5/100", "bytes 5-100/100", "items 0-1/2", "bytes a-b/c", "bytes 1-2"] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn resuming_needs_byte_ranges_and_an_unencoded_body() {
        assert!(can_resume(Some("bytes"), None));
        assert!(can_resume(Some("Bytes"), Some("identity")));
        assert!(can_resume(Some("none, bytes"), Some("")));
        assert!(!can_resume(None, None), "no Accept-Ranges: no Range later");
        assert!(!can_resume(Some("none"), None));
        assert!(!can_resume(Some("bytes"), Some("gzip")), "ranges of a gzip body count gzip bytes");
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(0, 200, None, None), Answer::Whole);
        assert_eq!(classify(1000, 200, None, Some(5000)), Answer::Whole, "Range ignored: the whole file again");
        assert_eq!(classify(1000, 206, Some("bytes 1000-4999/5000"), Some(5000)), Answer::Rest { total: Some(5000) });
        assert_eq!(classify(1000, 206, Some("bytes 1000-4999/*"), Some(5000)), Answer::Rest { total: Some(5000) });
        assert_eq!(classify(1000, 206, Some("bytes 1000-4999/5000"), None), Answer::Rest { total: Some(5000) });
        assert!(matches!(classify(1000, 206, Some("bytes 0-4999/5000"), Some(5000)), Answer::Unusable(_)));
        assert!(matches!(classify(1000, 206, Some("bytes 1000-5999/6000"), Some(5000)), Answer::Unusable(_)));
        assert!(matches!(classify(1000, 206, None, Some(5000)), Answer::Unusable(_)), "a hidden Content-Range is not trusted");
    }

    #[test]
    fn backoff_doubles_and_stays_short() {
        assert_eq!((1..=MAX_RETRIES).map(backoff_ms).collect::<Vec<_>>(), vec![500, 1000, 2000]);
        assert_eq!(backoff_ms(0), 500);
        assert!(backoff_ms(100) <= 64_000);
    }
}
