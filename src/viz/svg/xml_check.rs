//! A minimal XML well-formedness checker for the SVG tests (no XML crate is in Cargo.lock):
//! one root element, properly nested and closed tags, quoted attributes without duplicates,
//! no raw `<` or stray `&` in text or attribute values, only the five named entities and
//! numeric references. Returns the tree with entities decoded, to look things up.

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Decoded text directly inside this element (children's text not included).
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every element named `name` in this subtree (this one included), in document order.
    pub fn find_all(&self, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if e.name == name {
                out.push(e)
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Element)) {
        f(self);
        for c in &self.children {
            c.walk(f);
        }
    }
}

fn decode(s: &str) -> Result<String, String> {
    if s.contains('<') {
        return Err(format!("raw < in {s:?}"));
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        out.push_str(&rest[..k]);
        let end = rest[k..].find(';').ok_or_else(|| format!("unterminated reference in {s:?}"))? + k;
        let name = &rest[k + 1..end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ if name.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&name[2..], 16).map_err(|e| e.to_string())?).ok_or("bad char")?
            }
            _ if name.starts_with('#') => {
                char::from_u32(name[1..].parse::<u32>().map_err(|e| e.to_string())?).ok_or("bad char")?
            }
            _ => return Err(format!("unknown entity &{name};")),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if let Some(c) = out.chars().find(|&c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(format!("control character {:?}", c as u32));
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// Parses a document (an optional `<?xml …?>` declaration, then one element).
pub fn parse(doc: &str) -> Result<Element, String> {
    let mut s = doc.trim_start();
    if s.starts_with("<?xml") {
        let end = s.find("?>").ok_or("unterminated declaration")?;
        s = s[end + 2..].trim_start();
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    while !s.is_empty() {
        if let Some(rest) = s.strip_prefix("</") {
            let end = rest.find('>').ok_or("unterminated end tag")?;
            let name = rest[..end].trim();
            let el = stack.pop().ok_or_else(|| format!("</{name}> closes nothing"))?;
            if el.name != name {
                return Err(format!("</{name}> closes <{}>", el.name));
            }
            s = &rest[end + 1..];
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None if root.is_none() => root = Some(el),
                None => return Err("two roots".into()),
            }
        } else if let Some(rest) = s.strip_prefix('<') {
            let name_end = rest.find(|c: char| !is_name_char(c)).ok_or("unterminated tag")?;
            let name = &rest[..name_end];
            if name.is_empty() {
                return Err(format!("bad tag at {:?}", &s[..s.len().min(30)]));
            }
            if root.is_some() {
                return Err("content after the root".into());
            }
            let mut el = Element { name: name.into(), attrs: Vec::new(), text: String::new(), children: Vec::new() };
            let mut r = &rest[name_end..];
            let self_closing = loop {
                r = r.trim_start();
                if let Some(after) = r.strip_prefix("/>") {
                    r = after;
                    break true;
                }
                if let Some(after) = r.strip_prefix('>') {
                    r = after;
                    break false;
                }
                let k_end = r.find(|c: char| !is_name_char(c)).ok_or("unterminated attribute")?;
                let key = &r[..k_end];
                if key.is_empty() {
                    return Err(format!("bad attribute in <{name}> at {:?}", &r[..r.len().min(30)]));
                }
                let after = r[k_end..].trim_start().strip_prefix('=').ok_or(format!("{key} has no ="))?.trim_start();
                let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'').ok_or(format!("{key} unquoted"))?;
                let v_end = after[1..].find(quote).ok_or(format!("{key} unterminated"))?;
                let value = decode(&after[1..1 + v_end])?;
                if el.attr(key).is_some() {
                    return Err(format!("duplicate attribute {key} in <{name}>"));
                }
                el.attrs.push((key.into(), value));
                r = &after[v_end + 2..];
            };
            s = r;
            if self_closing {
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            } else {
                stack.push(el);
            }
        } else {
            let end = s.find('<').unwrap_or(s.len());
            let text = decode(&s[..end])?;
            match stack.last_mut() {
                Some(el) => el.text.push_str(&text),
                None if text.trim().is_empty() => {}
                None => return Err(format!("text outside the root: {text:?}")),
            }
            s = &s[end..];
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{}> never closed", open.name));
    }
    root.ok_or_else(|| "no root element".into())
}

#[test]
fn the_checker_rejects_what_it_should() {
    assert!(parse("<a><b/></a>").is_ok());
    assert!(parse("<a x=\"1\" y='2'>t &amp; &#60;</a>").is_ok_and(|e| e.text == "t & <"));
    for bad in ["<a>", "<a></b>", "<a>x < y</a>", "<a>x & y</a>", "<a x=1/>", "<a x=\"<\"/>", "<a/><b/>", "<a x=\"1\" x=\"2\"/>", "<a>&nbsp;</a>", "<a>\u{1}</a>"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}
