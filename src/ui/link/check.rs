//! What a link's model host, model id and revision may be: checked before anything is fetched,
//! so `javascript:`, relative tricks and path climbing (`../`) never reach a request.

/// Longest hub address, model id and revision a link may carry.
const MAX_HUB: usize = 2048;
const MAX_ID_PART: usize = 96;
const MAX_REVISION: usize = 100;

/// A model host must be an absolute http(s) address: no `javascript:`, no relative tricks, no
/// user name (`https://huggingface.co@evil.example` reads as one host and is another).
pub fn check_hub(h: &str) -> Result<String, String> {
    let h = h.trim();
    let rest = h
        .strip_prefix("https://")
        .or_else(|| h.strip_prefix("http://"))
        .ok_or_else(|| "the model host must be an http:// or https:// address".to_string())?;
    if h.len() > MAX_HUB {
        return Err("the address is too long".into());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err("the address names no host".into());
    }
    if host.contains('@') {
        return Err("the address carries a user name, which can disguise the real host".into());
    }
    if h.chars().any(|c| {
        c.is_whitespace() || c.is_control() || c == '\\' || c == '"' || c == '<' || c == '>'
    }) {
        return Err("the address contains characters an address cannot have".into());
    }
    if h.contains(['?', '#']) {
        return Err("the host address cannot carry a query or fragment".into());
    }
    Ok(h.trim_end_matches('/').to_string())
}

/// `owner/name` or `name`: letters, digits, `-`, `_`, `.`, each part at most 96 characters, not
/// starting with `.` or `-` (so no `..`).
pub fn check_repo(id: &str) -> Result<String, String> {
    let id = id.trim();
    let parts: Vec<&str> = id.split('/').collect();
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= MAX_ID_PART
            && !p.starts_with(['.', '-'])
            && !p.contains("..")
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() > 2 || !parts.iter().all(|p| part_ok(p)) {
        return Err("not a model id (like owner/name: letters, digits, - _ .)".into());
    }
    Ok(id.to_string())
}

/// A branch, tag or commit: letters, digits, `-`, `_`, `.`, `/`, no `..`, no leading `/`.
pub fn check_revision(r: &str) -> Result<String, String> {
    let r = r.trim();
    let ok = r.len() <= MAX_REVISION
        && !r.starts_with(['/', '.', '-'])
        && !r.contains("..")
        && !r.contains("//")
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(r.to_string())
    } else {
        Err("not a revision (a branch, tag or commit)".into())
    }
}

/// The host part of an address, for "loads a model from <host>".
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// `scheme://host[:port]` of an address.
pub fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://{}", host_of(url)),
        None => String::new(),
    }
}
