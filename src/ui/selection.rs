//! What the user is looking at, shared by every view: switching views keeps the layer, the
//! heads, the focused token and the options (a plain type; the page holds it in one signal).

use crate::analysis::{PairFilter, Strongest, ViewOptions};

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
}

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [ViewKind::Heatmap, ViewKind::Head, ViewKind::Model, ViewKind::Neuron];

    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Heatmap => "heatmap",
            ViewKind::Head => "head",
            ViewKind::Model => "model",
            ViewKind::Neuron => "neuron",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ViewKind::Heatmap => "Heatmap",
            ViewKind::Head => "Head view",
            ViewKind::Model => "Model view",
            ViewKind::Neuron => "Neuron view",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
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
        }
    }
}

impl Selection {
    /// Fits the selection to a model's shape: indices clamped, the head set resized (all on
    /// when the head count changes).
    pub fn fit_model(&mut self, layers: usize, heads: usize) {
        self.layer = self.layer.min(layers.saturating_sub(1));
        self.head = self.head.min(heads.saturating_sub(1));
        if self.heads.len() != heads {
            self.heads = vec![true; heads];
        }
    }

    /// Fits the focused token to a run of `n` tokens.
    pub fn fit_run(&mut self, n: usize) {
        if self.token.is_some_and(|t| t >= n) {
            self.token = None;
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
