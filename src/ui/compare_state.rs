//! The compare view's plain state (natively tested): what is compared, model B's load, and how
//! the two runs' tokens and shapes line up.

use crate::analysis::Alignment;
use crate::attention::Shape;
use crate::protocol::ModelInfo;

/// What the compare view puts side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompareMode {
    /// One model, two texts (the sentence above and a second one).
    #[default]
    Texts,
    /// Two models (same tokenizer, e.g. before and after fine-tuning), one text.
    Models,
}

impl CompareMode {
    pub fn name(self) -> &'static str {
        match self {
            CompareMode::Texts => "texts",
            CompareMode::Models => "models",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [CompareMode::Texts, CompareMode::Models].into_iter().find(|m| m.name() == s)
    }
}

/// Model B's life cycle (two models).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CompareLoad {
    #[default]
    Idle,
    /// Downloading or reading from the cache: the three files' fraction once known.
    Loading(Option<f64>),
    Ready(ModelInfo),
    Failed(String),
}

impl CompareLoad {
    /// For `data-state`.
    pub fn name(&self) -> &'static str {
        match self {
            CompareLoad::Idle => "idle",
            CompareLoad::Loading(_) => "loading",
            CompareLoad::Ready(_) => "ready",
            CompareLoad::Failed(_) => "failed",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            CompareLoad::Idle => "Model B is not loaded.".into(),
            CompareLoad::Loading(None) => "Loading model B…".into(),
            CompareLoad::Loading(Some(f)) => format!("Loading model B… {:.0} %", f * 100.0),
            CompareLoad::Ready(i) => format!("Model B: {} · {} layers × {} heads", i.source.repo, i.layers, i.heads),
            CompareLoad::Failed(m) => format!("Model B could not be loaded: {m}"),
        }
    }
}

/// What the page says about how the two runs line up: `None` when every token and every head
/// of A has its match in B.
pub fn alignment_note(a: &[String], b: &[String], al: &Alignment) -> Option<String> {
    if al.identical {
        return None;
    }
    let left = al.left();
    let right = al.right();
    let dropped = |labels: &[String], kept: &[usize]| -> Vec<String> {
        labels.iter().enumerate().filter(|(i, _)| !kept.contains(i)).map(|(_, l)| l.clone()).collect()
    };
    let (da, db) = (dropped(a, &left), dropped(b, &right));
    let shown: Vec<&str> = left.iter().filter_map(|&i| a.get(i)).map(String::as_str).collect();
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(" ") };
    Some(format!(
        "The two inputs are tokenised differently ({} and {} tokens): only the {} tokens that line up are compared \
         ({}). Left out of A: {}; left out of B: {}.",
        a.len(),
        b.len(),
        al.pairs.len(),
        shown.join(" "),
        list(&da),
        list(&db)
    ))
}

/// What the page says when the two models' shapes differ: `None` when they match (then the
/// layer and head selection is shared by both panes).
pub fn shape_note(a: Shape, b: Shape) -> Option<String> {
    if (a.layers, a.heads) == (b.layers, b.heads) {
        return None;
    }
    Some(format!(
        "The models differ in shape (A: {} layers × {} heads, B: {} × {}): B's layer and head are chosen separately, \
         and the per-head grid covers the {} layers × {} heads both have.",
        a.layers,
        a.heads,
        b.layers,
        b.heads,
        a.layers.min(b.layers),
        a.heads.min(b.heads)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::align_tokens;

    fn labels(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn notes_say_what_lines_up() {
        let a = labels("[CLS] he went to the bank [SEP]");
        let b = labels("[CLS] the grassy bank [SEP]");
        let ra: Vec<&str> = a.iter().map(String::as_str).collect();
        let rb: Vec<&str> = b.iter().map(String::as_str).collect();
        let note = alignment_note(&a, &b, &align_tokens(&ra, &rb)).unwrap();
        assert!(note.contains("(7 and 5 tokens)") && note.contains("only the 4 tokens"), "{note}");
        assert!(note.contains("([CLS] the bank [SEP])") && note.contains("Left out of A: he went to; left out of B: grassy."), "{note}");
        assert_eq!(alignment_note(&a, &a, &align_tokens(&ra, &ra)), None);
        let s = |layers, heads| Shape { layers, heads, seq: 3 };
        assert_eq!(shape_note(s(6, 12), s(6, 12)), None);
        let n = shape_note(s(6, 12), s(12, 12)).unwrap();
        assert!(n.contains("6 layers × 12 heads both have"), "{n}");
        assert_eq!(CompareMode::from_name("models"), Some(CompareMode::Models));
        assert_eq!(CompareLoad::Loading(Some(0.5)).describe(), "Loading model B… 50 %");
        assert_eq!(CompareLoad::default().name(), "idle");
    }
}
