//! The page's state as a link: `?hub=…&model=…&text=…&view=…&layer=…` (a plain type, natively
//! tested). [`Link::from_query`] reads a query string, keeps what is valid and says what it
//! ignored and why; [`Link::to_query`] writes only what differs from the defaults, so a link to
//! the opening view stays short. Nothing here touches the DOM: values are data, shown as text.

use super::compare_state::CompareMode;
use super::selection::{ScaleMode, Selection, SourceKind, ViewKind};
use super::theme::Theme;
use crate::analysis::{PairFilter, Strongest, ViewOptions};
use crate::catalog::{DEFAULT_HUB, DEFAULT_TEXT};
use crate::protocol::ModelSource;

mod check;
mod query;

pub use check::{check_hub, check_repo, check_revision, host_of, origin_of};
pub use query::{encode_component, parse_query};

/// Largest layer, head or token index a link may name (the checks against the model and the
/// text come when they exist; this only keeps absurd numbers out).
const MAX_INDEX: usize = 100_000;

/// Every parameter a link may carry ([`Link::to_query`] writes them in this order).
pub const KEYS: [&str; 24] = [
    "hub", "model", "revision", "text", "pair", "view", "layer", "head", "heads", "source",
    "token", "focus", "target", "hide", "merge", "show", "pairs", "scale", "theme", "compare",
    "text2", "model2", "embed", "load",
];

/// What a link carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The model the link names (`model=`), on `hub=` (default host otherwise). `None`: the link
    /// names no model, so a first visit waits for the user to pick one.
    pub model: Option<ModelSource>,
    /// The hub alone (`hub=` without `model=`: the picker offers that host's models).
    pub hub: String,
    pub text: String,
    /// Sentence B (`pair=`), when the sentence pair is on.
    pub pair: Option<String>,
    pub view: ViewKind,
    /// As linked; checked against the model once it is loaded ([`Selection::fit_model`]).
    pub layer: usize,
    pub head: usize,
    /// The head view's shown heads; `None`: all of them.
    pub heads: Option<Vec<usize>>,
    /// The focused token, and the token focus' chosen and target tokens (run token indices).
    pub token: Option<usize>,
    pub focus: Vec<usize>,
    pub target: Vec<usize>,
    pub options: ViewOptions,
    pub strongest: Strongest,
    pub pair_filter: PairFilter,
    pub source: SourceKind,
    pub scale: ScaleMode,
    /// `None`: follow the system's preference.
    pub theme: Option<Theme>,
    pub compare: CompareMode,
    /// The compare view's second text (two texts) and second model's id (two models, same hub).
    pub text_b: Option<String>,
    pub model_b: Option<String>,
    /// `embed=1`: only the view, sized to its iframe, with a link back to the full app.
    pub embed: bool,
    /// `load=click`: the model loads when the reader clicks (a light embed).
    pub click_to_load: bool,
}

impl Default for Link {
    fn default() -> Self {
        let s = Selection::default();
        Link {
            model: None,
            hub: DEFAULT_HUB.to_string(),
            text: DEFAULT_TEXT.to_string(),
            pair: None,
            view: s.view,
            layer: s.layer,
            head: s.head,
            heads: None,
            token: s.token,
            focus: s.focus,
            target: s.target,
            options: s.options,
            strongest: s.strongest,
            pair_filter: s.pair_filter,
            source: s.source,
            scale: s.scale,
            theme: None,
            compare: CompareMode::default(),
            text_b: None,
            model_b: None,
            embed: false,
            click_to_load: false,
        }
    }
}

impl Link {
    /// Reads a query string (`?a=b&…` or `a=b&…`). Invalid values fall back to the defaults; each
    /// one ignored gets a note for the page to show.
    pub fn from_query(query: &str) -> (Link, Vec<String>) {
        let pairs = parse_query(query);
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let mut notes = Vec::new();
        let mut link = Link::default();
        let mut ignore = |key: &str, value: &str, why: &str| {
            notes.push(format!("Ignored {key}={}: {why}.", shorten(value)))
        };

        if let Some(h) = get("hub").filter(|h| !h.trim().is_empty()) {
            match check_hub(h) {
                Ok(h) => link.hub = h,
                Err(why) => ignore("hub", h, &why),
            }
        }
        if let Some(m) = get("model").filter(|m| !m.trim().is_empty()) {
            let revision = match get("revision").filter(|r| !r.trim().is_empty()) {
                None => "main".to_string(),
                Some(r) => match check_revision(r) {
                    Ok(r) => r,
                    Err(why) => {
                        ignore("revision", r, &why);
                        "main".to_string()
                    }
                },
            };
            match check_repo(m) {
                Ok(repo) => {
                    link.model = Some(ModelSource {
                        hub: link.hub.clone(),
                        repo,
                        revision,
                    })
                }
                Err(why) => ignore("model", m, &why),
            }
        }
        if let Some(t) = get("text") {
            link.text = t.to_string();
        }
        link.pair = get("pair")
            .filter(|p| !p.trim().is_empty())
            .map(str::to_string);
        if let Some(v) = get("view") {
            match ViewKind::from_name(v) {
                Some(v) => link.view = v,
                None => ignore(
                    "view",
                    v,
                    &format!("the views are {}", names(ViewKind::ALL.map(ViewKind::name))),
                ),
            }
        }
        let index = |key: &str, notes: &mut Vec<String>| -> Option<usize> {
            let v = get(key)?;
            match v.trim().parse::<usize>() {
                Ok(i) if i <= MAX_INDEX => Some(i),
                Ok(_) => {
                    notes.push(format!("Ignored {key}={}: too large.", shorten(v)));
                    None
                }
                Err(_) => {
                    notes.push(format!(
                        "Ignored {key}={}: not a number (0, 1, 2, …).",
                        shorten(v)
                    ));
                    None
                }
            }
        };
        link.layer = index("layer", &mut notes).unwrap_or(0);
        link.head = index("head", &mut notes).unwrap_or(0);
        link.token = index("token", &mut notes);
        let list = |key: &str, notes: &mut Vec<String>| -> Option<Vec<usize>> {
            let v = get(key)?;
            match parse_list(v) {
                Some(l) => Some(l),
                None => {
                    notes.push(format!(
                        "Ignored {key}={}: not a list of numbers (like 0,2,5).",
                        shorten(v)
                    ));
                    None
                }
            }
        };
        link.heads = list("heads", &mut notes).filter(|h| !h.is_empty());
        link.focus = list("focus", &mut notes).unwrap_or_default();
        link.target = list("target", &mut notes).unwrap_or_default();
        let flag = |key: &str, notes: &mut Vec<String>| -> bool {
            match get(key) {
                None | Some("0") | Some("false") => false,
                Some("1") | Some("true") | Some("") => true,
                Some(v) => {
                    notes.push(format!(
                        "Ignored {key}={}: use {key}=1 or {key}=0.",
                        shorten(v)
                    ));
                    false
                }
            }
        };
        link.options = ViewOptions {
            hide_special: flag("hide", &mut notes),
            merge_words: flag("merge", &mut notes),
        };
        link.embed = flag("embed", &mut notes);
        match get("load") {
            None | Some("auto") => {}
            Some("click") => link.click_to_load = true,
            Some(v) => notes.push(format!(
                "Ignored load={}: use load=click (or leave it out).",
                shorten(v)
            )),
        }
        if let Some(v) = get("show") {
            match parse_strongest(v) {
                Some(s) => link.strongest = s,
                None => notes.push(format!(
                    "Ignored show={}: use show=top:3 or show=min:0.1.",
                    shorten(v)
                )),
            }
        }
        if let Some(v) = get("pairs") {
            match PairFilter::from_name(v) {
                Some(f) => link.pair_filter = f,
                None => notes.push(format!(
                    "Ignored pairs={}: use {}.",
                    shorten(v),
                    names(PairFilter::ALL.map(PairFilter::name))
                )),
            }
        }
        if let Some(v) = get("source") {
            match SourceKind::from_name(v) {
                Some(k) => link.source = k,
                None => notes.push(format!(
                    "Ignored source={}: use {}.",
                    shorten(v),
                    names(SourceKind::ALL.map(SourceKind::name))
                )),
            }
        }
        if let Some(v) = get("scale") {
            match ScaleMode::from_name(v) {
                Some(s) => link.scale = s,
                None => notes.push(format!(
                    "Ignored scale={}: use scale=head or scale=unit.",
                    shorten(v)
                )),
            }
        }
        if let Some(v) = get("theme") {
            match Theme::from_name(v) {
                Some(t) => link.theme = Some(t),
                None => notes.push(format!(
                    "Ignored theme={}: use theme=light or theme=dark.",
                    shorten(v)
                )),
            }
        }
        if let Some(v) = get("compare") {
            match CompareMode::from_name(v) {
                Some(m) => link.compare = m,
                None => notes.push(format!(
                    "Ignored compare={}: use compare=texts or compare=models.",
                    shorten(v)
                )),
            }
        }
        link.text_b = get("text2").map(str::to_string);
        if let Some(m) = get("model2").filter(|m| !m.trim().is_empty()) {
            match check_repo(m) {
                Ok(repo) => link.model_b = Some(repo),
                Err(why) => notes.push(format!("Ignored model2={}: {why}.", shorten(m))),
            }
        }
        let mut unknown: Vec<&str> = pairs
            .iter()
            .map(|(k, _)| k.as_str())
            // Campaign tags that sites add to shared links are not the user's doing.
            .filter(|k| !KEYS.contains(k) && !k.starts_with("utm_"))
            .collect();
        unknown.dedup();
        if !unknown.is_empty() {
            let list = unknown
                .iter()
                .take(5)
                .map(|k| shorten(k))
                .collect::<Vec<_>>()
                .join(", ");
            notes.push(format!("Ignored {list}: not a setting of this page."));
        }
        (link, notes)
    }

    /// The query string (without `?`) for this state: only what differs from the defaults.
    pub fn to_query(&self) -> String {
        let d = Link::default();
        let mut q: Vec<(&str, String)> = Vec::new();
        let hub = self
            .model
            .as_ref()
            .map(|m| m.hub.as_str())
            .unwrap_or(self.hub.as_str());
        if hub != d.hub {
            q.push(("hub", hub.to_string()));
        }
        if let Some(m) = &self.model {
            q.push(("model", m.repo.clone()));
            if m.revision != "main" && !m.revision.is_empty() {
                q.push(("revision", m.revision.clone()));
            }
        }
        if self.text != d.text {
            q.push(("text", self.text.clone()));
        }
        if let Some(p) = &self.pair {
            q.push(("pair", p.clone()));
        }
        if self.view != d.view {
            q.push(("view", self.view.name().to_string()));
        }
        if self.layer != d.layer {
            q.push(("layer", self.layer.to_string()));
        }
        if self.head != d.head {
            q.push(("head", self.head.to_string()));
        }
        if let Some(h) = &self.heads {
            q.push(("heads", join(h)));
        }
        if self.source != d.source {
            q.push(("source", self.source.name().to_string()));
        }
        if let Some(t) = self.token {
            q.push(("token", t.to_string()));
        }
        if !self.focus.is_empty() {
            q.push(("focus", join(&self.focus)));
        }
        if !self.target.is_empty() {
            q.push(("target", join(&self.target)));
        }
        if self.options.hide_special {
            q.push(("hide", "1".into()));
        }
        if self.options.merge_words {
            q.push(("merge", "1".into()));
        }
        match self.strongest {
            Strongest::All => {}
            Strongest::TopK(k) => q.push(("show", format!("top:{k}"))),
            Strongest::MinWeight(w) => q.push(("show", format!("min:{}", trim_float(w)))),
        }
        if self.pair_filter != d.pair_filter {
            q.push(("pairs", self.pair_filter.name().to_string()));
        }
        if self.scale != d.scale {
            q.push(("scale", self.scale.name().to_string()));
        }
        if let Some(t) = self.theme {
            q.push(("theme", t.name().to_string()));
        }
        if self.compare != d.compare {
            q.push(("compare", self.compare.name().to_string()));
        }
        if let Some(t) = &self.text_b {
            q.push(("text2", t.clone()));
        }
        if let Some(m) = &self.model_b {
            q.push(("model2", m.clone()));
        }
        if self.embed {
            q.push(("embed", "1".into()));
        }
        if self.click_to_load {
            q.push(("load", "click".into()));
        }
        q.iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The selection this link opens with (indices as linked, checked later against the model
    /// and the run).
    pub fn selection(&self) -> Selection {
        let mut s = Selection::default();
        s.view = self.view;
        s.layer = self.layer;
        s.head = self.head;
        s.token = self.token;
        s.options = self.options;
        s.strongest = self.strongest;
        s.pair_filter = self.pair_filter;
        s.source = self.source;
        s.scale = self.scale;
        s.focus = sorted(&self.focus);
        s.target = sorted(&self.target);
        if let Some(h) = &self.heads {
            s.set_linked_heads(h);
        }
        s
    }

    /// Copies a selection's shareable parts into the link.
    pub fn set_selection(&mut self, s: &Selection) {
        self.view = s.view;
        self.layer = s.layer;
        self.head = s.head;
        self.heads = s.linked_heads();
        self.token = s.token;
        self.focus = s.focus.clone();
        self.target = s.target.clone();
        self.options = s.options;
        self.strongest = s.strongest;
        self.pair_filter = s.pair_filter;
        self.source = s.source;
        self.scale = s.scale;
    }

    /// The link for an `<iframe>`: this view, embedded (`light`: the model loads on a click).
    pub fn embedded(&self, light: bool) -> Link {
        Link {
            embed: true,
            click_to_load: light,
            ..self.clone()
        }
    }

    /// The full app's link for this view (the embed's "open in attention-viz").
    pub fn full_app(&self) -> Link {
        Link {
            embed: false,
            click_to_load: false,
            ..self.clone()
        }
    }
}

/// The `<iframe>` snippet that embeds `url` (escaped for an HTML attribute). The sandbox is the
/// least the page needs (scripts and its own storage) plus popups, so the "open" link works.
pub fn embed_code(url: &str, width: u32, height: u32, title: &str) -> String {
    format!(
        "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" title=\"{}\" style=\"border:1px solid #ddd;border-radius:6px;max-width:100%\" loading=\"lazy\" sandbox=\"allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox\"></iframe>",
        escape_attr(url),
        escape_attr(title)
    )
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn parse_list(v: &str) -> Option<Vec<usize>> {
    let v = v.trim();
    if v.is_empty() {
        return Some(Vec::new());
    }
    let items: Option<Vec<usize>> = v
        .split(',')
        .map(|p| p.trim().parse::<usize>().ok().filter(|i| *i <= MAX_INDEX))
        .collect();
    let mut items = items?;
    if items.len() > 4096 {
        return None;
    }
    items.sort_unstable();
    items.dedup();
    Some(items)
}

fn parse_strongest(v: &str) -> Option<Strongest> {
    let (kind, value) = v.split_once(':')?;
    match kind {
        "top" => value
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=512).contains(k))
            .map(Strongest::TopK),
        "min" => value
            .parse::<f32>()
            .ok()
            .filter(|w| w.is_finite() && (0.0..=1.0).contains(w))
            .map(Strongest::MinWeight),
        _ => None,
    }
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn join(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.join(", ")
}

fn trim_float(w: f32) -> String {
    let s = format!("{w:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value quoted in a note: at most 40 characters.
fn shorten(v: &str) -> String {
    let mut s: String = v.chars().take(40).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    s
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
