//! Engine errors: every message is meant to be shown to the user as it is.

/// What went wrong while loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config.json is not valid: {0}")]
    Config(String),
    #[error("tokenizer.json is not valid: {0}")]
    Tokenizer(String),
    #[error("the tokenizer rejected the text: {0}")]
    Tokenize(String),
    #[error("model.safetensors is not valid: {0}")]
    Weights(String),
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The weights are PyTorch's pickle format (`pytorch_model.bin`), not safetensors; the
    /// message says how to convert them ([`super::NEEDS_SAFETENSORS`]).
    #[error("{0}")]
    NeedsSafetensors(String),
    /// The model cannot fit in this process (the page's wasm32 memory): the message says how
    /// large it is and what fits. Downloading it again would not help.
    #[error("{0}")]
    TooLarge(String),
    #[error("inference failed: {0}")]
    Compute(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// What a file that starts like a web page is said to be: a server (a captive portal, a login
/// wall, a wrong URL that falls back to a site's index page) answered with HTML instead of the
/// model file.
pub const HTML_INSTEAD: &str =
    "it is an HTML page, not the model file (a Wi-Fi login or captive portal, a proxy's error page, or a wrong URL?)";

/// Whether `bytes` start like an HTML document (`<!doctype`, `<html`, `<head`, … after any
/// byte-order mark and white space).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let head: Vec<u8> = b[start..]
        .iter()
        .take(9)
        .map(u8::to_ascii_lowercase)
        .collect();
    // A short start (the 8 bytes of a safetensors length prefix) matches a tag's beginning.
    [
        &b"<!doctype"[..],
        b"<html",
        b"<head",
        b"<body",
        b"<!--",
        b"<?xml",
        b"<meta",
        b"<title",
        b"<script",
    ]
    .iter()
    .any(|p| {
        let k = head.len().min(p.len());
        k >= 4 && head[..k] == p[..k]
    })
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Compute(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_html;

    #[test]
    fn html_is_recognised_even_from_its_first_bytes() {
        for html in [
            &b"<!DOCTYPE html>"[..],
            b"\xEF\xBB\xBF<html>",
            b"\r\n  <HTML lang=en>",
            b"<!doctyp",
            b"\n<head>",
            b"<!-- portal -->",
        ] {
            assert!(looks_like_html(html), "{:?}", String::from_utf8_lossy(html));
        }
        // A safetensors length prefix of 0x683C (bytes 3C 68 00 …), JSON, nothing.
        for other in [
            &[0x3C, 0x68, 0, 0, 0, 0, 0, 0][..],
            b"{\"a\":1}",
            b"",
            b"  ",
            b"<h",
            b"PK\x03\x04",
        ] {
            assert!(!looks_like_html(other), "{other:?}");
        }
    }
}
