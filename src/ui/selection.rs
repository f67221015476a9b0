//! What the user is looking at, shared by every view: switching views keeps the layer, the
//! heads, the focused token and the options (a plain type; the page holds it in one signal).

use crate::analysis::{Fusion, PairFilter, Strongest, ViewOptions};
use crate::protocol::Source;

/// The views of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewKind {
    /// One head as a matrix (the seed notebook's Matplotlib plot).
    Heatmap,
    /// BertViz's head view: two token columns joined by lines, several heads at once.
    Head,
    /// BertViz's model view: every layer × head as a thumbnail.
    Model,
    /// BertViz's neuron view: why a head attends where it does (q, k, q∘k, softmax).
    Neuron,
    /// Token focus: where chosen tokens attend, who attends to them, and in which heads of
    /// which layers they attend to a chosen target.
    Focus,
    /// Per-head statistics and role labels: a sortable table and a layers × heads grid.
    Heads,
    /// Two runs side by side (two texts, or two models) with their difference.
    Compare,
}

impl ViewKind {
    pub const ALL: [ViewKind; 7] = [
        ViewKind::Heatmap,
        ViewKind::Head,
        ViewKind::Model,
        ViewKind::Neuron,
        ViewKind::Focus,
        ViewKind::Heads,
        ViewKind::Compare,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Heatmap => "heatmap",
            ViewKind::Head => "head",
            ViewKind::Model => "model",
            ViewKind::Neuron => "neuron",
            ViewKind::Focus => "focus",
            ViewKind::Heads => "heads",
            ViewKind::Compare => "compare",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ViewKind::Heatmap => "Heatmap",
            ViewKind::Head => "Head view",
            ViewKind::Model => "Model view",
            ViewKind::Neuron => "Neuron view",
            ViewKind::Focus => "Token focus",
            ViewKind::Heads => "Head statistics",
            ViewKind::Compare => "Compare",
        }
    }

    /// Whether the view draws a matrix from the "source" selector (a head or an aggregate).
    pub fn uses_source(self) -> bool {
        matches!(self, ViewKind::Heatmap | ViewKind::Head | ViewKind::Focus)
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// What the heatmap, the head view and the token focus draw for the selected layer: one head,
/// a fusion of the chosen heads, or an aggregate across layers (Abnar & Zuidema 2020).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SourceKind {
    /// The selected head (the head view: each shown head).
    #[default]
    Head,
    Mean,
    Max,
    Min,
    /// Attention rollout of the mean of the chosen heads, through layers 0..=layer.
    Rollout,
    /// Attention flow of the mean of the chosen heads, through layers 0..=layer.
    Flow,
}

impl SourceKind {
    pub const ALL: [SourceKind; 6] =
        [SourceKind::Head, SourceKind::Mean, SourceKind::Max, SourceKind::Min, SourceKind::Rollout, SourceKind::Flow];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Head => "head",
            SourceKind::Mean => "mean",
            SourceKind::Max => "max",
            SourceKind::Min => "min",
            SourceKind::Rollout => "rollout",
            SourceKind::Flow => "flow",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Head => "single head",
            SourceKind::Mean => "mean of heads",
            SourceKind::Max => "max of heads",
            SourceKind::Min => "min of heads",
            SourceKind::Rollout => "rollout (across layers)",
            SourceKind::Flow => "flow (across layers)",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether this is an aggregate of several heads (the head set matters).
    pub fn is_aggregate(self) -> bool {
        self != SourceKind::Head
    }
}

/// How the heatmap's colour bar is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScaleMode {
    /// 0 to the largest weight shown.
    #[default]
    HeadMax,
    /// 0 to 1.
    Unit,
}

impl ScaleMode {
    pub fn name(self) -> &'static str {
        match self {
            ScaleMode::HeadMax => "head",
            ScaleMode::Unit => "unit",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [ScaleMode::HeadMax, ScaleMode::Unit]
            .into_iter()
            .find(|m| m.name() == s)
    }
}

/// The shared selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub view: ViewKind,
    pub layer: usize,
    /// The head of the single-head views (heatmap, neuron view).
    pub head: usize,
    /// Which heads the head view shows (one flag per head of the model).
    pub heads: Vec<bool>,
    /// The focused token, as an index into the run's tokens (not into a merged axis, so it
    /// survives toggling the options).
    pub token: Option<usize>,
    pub options: ViewOptions,
    pub strongest: Strongest,
    pub pair_filter: PairFilter,
    /// What the heatmap, head view and token focus draw (a head or an aggregate).
    pub source: SourceKind,
    /// The token focus' chosen tokens, as indices into the run's tokens (summed).
    pub focus: Vec<usize>,
    /// The token focus' target tokens (the relation grid's "to").
    pub target: Vec<usize>,
    pub scale: ScaleMode,
    /// `heads` came from a link and the model's head count is not known yet: the first
    /// [`Selection::fit_model`] keeps it (and says what it had to drop) instead of showing all.
    heads_linked: bool,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            view: ViewKind::Heatmap,
            layer: 0,
            head: 0,
            heads: Vec::new(),
            token: None,
            options: ViewOptions::default(),
            strongest: Strongest::All,
            pair_filter: PairFilter::All,
            source: SourceKind::Head,
            focus: Vec::new(),
            target: Vec::new(),
            scale: ScaleMode::HeadMax,
            heads_linked: false,
        }
    }
}

impl Selection {
    /// Fits the selection to a model's shape: indices clamped, the head set resized (all on
    /// when the head count changes, unless it came from a link). Returns what had to change, in
    /// words (the page shows it when the indices came from a link).
    pub fn fit_model(&mut self, layers: usize, heads: usize) -> Vec<String> {
        let mut notes = Vec::new();
        if layers > 0 && self.layer >= layers {
            notes.push(format!(
                "Layer {} does not exist: this model has {layers} layers (0–{}). Showing layer {}.",
                self.layer,
                layers - 1,
                layers - 1
            ));
        }
        if heads > 0 && self.head >= heads {
            notes.push(format!(
                "Head {} does not exist: this model has {heads} heads (0–{}). Showing head {}.",
                self.head,
                heads - 1,
                heads - 1
            ));
        }
        self.layer = self.layer.min(layers.saturating_sub(1));
        self.head = self.head.min(heads.saturating_sub(1));
        if std::mem::take(&mut self.heads_linked) && heads > 0 {
            let missing: Vec<String> = self
                .active_heads()
                .into_iter()
                .filter(|&h| h >= heads)
                .map(|h| h.to_string())
                .collect();
            self.heads.resize(heads, false);
            if !self.heads.iter().any(|on| *on) {
                self.heads = vec![true; heads];
            }
            if !missing.is_empty() {
                notes.push(format!(
                    "Head(s) {} do not exist in this model ({heads} heads): left out.",
                    missing.join(", ")
                ));
            }
        } else if self.heads.len() != heads {
            self.heads = vec![true; heads];
        }
        notes
    }

    /// Fits the focused token (and the token focus' choices) to a run of `n` tokens. Returns
    /// what had to go, in words.
    pub fn fit_run(&mut self, n: usize) -> Vec<String> {
        let mut gone: Vec<usize> = Vec::new();
        if let Some(t) = self.token.filter(|&t| t >= n) {
            gone.push(t);
            self.token = None;
        }
        gone.extend(self.focus.iter().chain(&self.target).filter(|&&t| t >= n));
        self.focus.retain(|&t| t < n);
        self.target.retain(|&t| t < n);
        gone.sort_unstable();
        gone.dedup();
        if gone.is_empty() {
            return Vec::new();
        }
        let list = gone
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        vec![format!(
            "Token(s) {list} do not exist: this text has {n} tokens (0–{}).",
            n.saturating_sub(1)
        )]
    }

    /// Sets the head view's heads from a link's list (the model's head count comes later).
    pub fn set_linked_heads(&mut self, heads: &[usize]) {
        let len = heads.iter().max().map_or(0, |m| m + 1);
        self.heads = (0..len).map(|h| heads.contains(&h)).collect();
        self.heads_linked = true;
    }

    /// The head set for a link: `None` when every head is shown (the default).
    pub fn linked_heads(&self) -> Option<Vec<usize>> {
        if self.heads.iter().all(|on| *on) && !self.heads_linked {
            None
        } else {
            Some(self.active_heads())
        }
    }

    /// The protocol's source for `kind` with this selection's head and head set; `head`
    /// overrides the selected head (the head view draws each shown head).
    pub fn source_for(&self, kind: SourceKind, head: usize) -> Source {
        let heads = self.active_heads();
        match kind {
            SourceKind::Head => Source::Head { head },
            SourceKind::Mean => Source::Fusion { fusion: Fusion::Mean, heads },
            SourceKind::Max => Source::Fusion { fusion: Fusion::Max, heads },
            SourceKind::Min => Source::Fusion { fusion: Fusion::Min, heads },
            SourceKind::Rollout => Source::Rollout { fusion: Fusion::Mean, heads },
            SourceKind::Flow => Source::Flow { fusion: Fusion::Mean, heads },
        }
    }

    /// The selected source (see [`Selection::source_for`]).
    pub fn source(&self) -> Source {
        self.source_for(self.source, self.head)
    }

    /// Toggles the tokens of one unit (its members) in the token focus' choice (`target`:
    /// the target instead).
    pub fn toggle_focus(&mut self, members: &[usize], target: bool) {
        let set = if target { &mut self.target } else { &mut self.focus };
        if members.iter().all(|m| set.contains(m)) {
            set.retain(|t| !members.contains(t));
        } else {
            set.extend(members.iter().filter(|m| !set.contains(m)).copied().collect::<Vec<_>>());
            set.sort_unstable();
        }
        if !target {
            self.token = self.focus.first().copied();
        }
    }

    /// The heads the head view shows, ascending.
    pub fn active_heads(&self) -> Vec<usize> {
        self.heads.iter().enumerate().filter(|(_, on)| **on).map(|(h, _)| h).collect()
    }

    /// Click on a head chip: toggles it.
    pub fn toggle_head(&mut self, h: usize) {
        if let Some(on) = self.heads.get_mut(h) {
            *on = !*on;
        }
    }

    /// Double-click on a head chip: shows only that head; on a head already shown alone,
    /// shows all heads again (BertViz's behaviour).
    pub fn solo_head(&mut self, h: usize) {
        if h >= self.heads.len() {
            return;
        }
        let alone = self.active_heads() == [h];
        for (k, on) in self.heads.iter_mut().enumerate() {
            *on = alone || k == h;
        }
    }

    /// Moves the layer by `delta` within `0..layers` (keyboard).
    pub fn step_layer(&mut self, delta: isize, layers: usize) {
        self.layer = step(self.layer, delta, layers);
    }

    /// Moves the single-view head by `delta` within `0..heads` (keyboard).
    pub fn step_head(&mut self, delta: isize, heads: usize) {
        self.head = step(self.head, delta, heads);
    }
}

/// `i + delta`, clamped to `0..len` (0 for an empty range).
pub fn step(i: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let moved = if delta < 0 { i.saturating_sub(delta.unsigned_abs()) } else { i.saturating_add(delta as usize) };
    moved.min(len - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_names() {
        for v in ViewKind::ALL {
            assert_eq!(ViewKind::from_name(v.name()), Some(v));
        }
        assert_eq!(ViewKind::from_name("nope"), None);
    }

    #[test]
    fn head_chips_toggle_solo_and_restore() {
        let mut s = Selection::default();
        s.fit_model(6, 4);
        assert_eq!(s.active_heads(), vec![0, 1, 2, 3]);
        s.toggle_head(1);
        assert_eq!(s.active_heads(), vec![0, 2, 3]);
        s.solo_head(2);
        assert_eq!(s.active_heads(), vec![2]);
        s.solo_head(2);
        assert_eq!(s.active_heads(), vec![0, 1, 2, 3]);
        s.toggle_head(9);
        s.solo_head(9);
        assert_eq!(s.active_heads().len(), 4);
    }

    #[test]
    fn fitting_keeps_what_still_exists() {
        let mut s = Selection { layer: 10, head: 11, token: Some(30), ..Selection::default() };
        s.fit_model(6, 12);
        assert_eq!((s.layer, s.head, s.heads.len()), (5, 11, 12));
        s.toggle_head(0);
        s.fit_model(6, 12);
        assert_eq!(s.active_heads().len(), 11, "same head count keeps the set");
        s.fit_run(31);
        assert_eq!(s.token, Some(30));
        s.fit_run(12);
        assert_eq!(s.token, None);
    }

    #[test]
    fn sources_and_focus_choices() {
        let mut s = Selection::default();
        s.fit_model(6, 4);
        s.head = 2;
        assert_eq!(s.source(), Source::Head { head: 2 });
        s.toggle_head(1);
        s.source = SourceKind::Max;
        assert_eq!(s.source(), Source::Fusion { fusion: Fusion::Max, heads: vec![0, 2, 3] });
        s.source = SourceKind::Flow;
        assert_eq!(s.source(), Source::Flow { fusion: Fusion::Mean, heads: vec![0, 2, 3] });
        assert_eq!(s.source_for(SourceKind::Head, 3), Source::Head { head: 3 });
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::from_name(k.name()), Some(k));
        }
        assert!(SourceKind::Rollout.is_aggregate() && !SourceKind::Head.is_aggregate());
        assert!(ViewKind::Focus.uses_source() && !ViewKind::Compare.uses_source());
        // A merged word toggles as one; the focus' first token is the shared focused token.
        s.toggle_focus(&[7, 8], false);
        s.toggle_focus(&[2], false);
        assert_eq!((s.focus.clone(), s.token), (vec![2, 7, 8], Some(2)));
        s.toggle_focus(&[7, 8], false);
        assert_eq!(s.focus, [2]);
        s.toggle_focus(&[9], true);
        assert_eq!((s.target.clone(), s.token), (vec![9], Some(2)));
        s.fit_run(5);
        assert_eq!((s.focus.clone(), s.target.clone()), (vec![2], vec![]));
    }

    #[test]
    fn keyboard_steps_are_clamped() {
        assert_eq!(step(0, -1, 5), 0);
        assert_eq!(step(4, 1, 5), 4);
        assert_eq!(step(2, 1, 5), 3);
        assert_eq!(step(3, -10, 5), 0);
        assert_eq!(step(3, 1, 0), 0);
        let mut s = Selection::default();
        s.step_layer(3, 6);
        s.step_head(-1, 12);
        assert_eq!((s.layer, s.head), (3, 0));
    }
}
