//! Geometry of the model view: a layers × heads grid of square thumbnails sized so the whole
//! grid fits the space given (12 × 12 for bert-base fits a 1366 × 768 screen).

use super::Rect;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridLayout {
    pub layers: usize,
    pub heads: usize,
    /// Side of one thumbnail.
    pub thumb: f64,
    pub gap: f64,
    /// Top-left of thumbnail (0, 0); layer labels sit left of it, head labels above.
    pub origin: (f64, f64),
    pub width: f64,
    pub height: f64,
}

const LABEL_W: f64 = 34.0;
const LABEL_H: f64 = 18.0;
const PAD: f64 = 4.0;
const MIN_THUMB: f64 = 16.0;
const MAX_THUMB: f64 = 110.0;

impl GridLayout {
    pub fn new(layers: usize, heads: usize, avail_width: f64, avail_height: f64) -> Self {
        let gap = 4.0;
        let origin = (PAD + LABEL_W, PAD + LABEL_H);
        let fit = |room: f64, count: usize| {
            if count == 0 {
                MAX_THUMB
            } else {
                (room - gap * (count as f64 - 1.0)) / count as f64
            }
        };
        let by_w = fit(avail_width - origin.0 - PAD, heads);
        let by_h = fit(avail_height - origin.1 - PAD, layers);
        let thumb = by_w.min(by_h).clamp(MIN_THUMB, MAX_THUMB).floor();
        let span = |count: usize| if count == 0 { 0.0 } else { count as f64 * thumb + (count as f64 - 1.0) * gap };
        Self {
            layers,
            heads,
            thumb,
            gap,
            origin,
            width: origin.0 + span(heads) + PAD,
            height: origin.1 + span(layers) + PAD,
        }
    }

    pub fn rect(&self, layer: usize, head: usize) -> Rect {
        Rect {
            x: self.origin.0 + head as f64 * (self.thumb + self.gap),
            y: self.origin.1 + layer as f64 * (self.thumb + self.gap),
            w: self.thumb,
            h: self.thumb,
        }
    }

    /// The (layer, head) whose thumbnail is under a point (the gaps belong to no one).
    pub fn at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let pitch = self.thumb + self.gap;
        let (cx, cy) = ((x - self.origin.0) / pitch, (y - self.origin.1) / pitch);
        if !(cx >= 0.0 && cy >= 0.0) {
            return None;
        }
        let (head, layer) = (cx as usize, cy as usize);
        if head >= self.heads || layer >= self.layers {
            return None;
        }
        self.rect(layer, head).contains(x, y).then_some((layer, head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bert_base_fits_a_laptop_screen() {
        // 1366 × 768 with the page's margins: about 1300 × 700 for the grid.
        let g = GridLayout::new(12, 12, 1300.0, 700.0);
        assert!(g.width <= 1300.0 && g.height <= 700.0, "{g:?}");
        assert!(g.thumb >= 40.0, "{g:?}");
    }

    #[test]
    fn hit_testing_inverts_rects() {
        let g = GridLayout::new(6, 12, 900.0, 600.0);
        for (l, h) in [(0, 0), (5, 11), (2, 7)] {
            let r = g.rect(l, h);
            assert_eq!(g.at(r.x + r.w / 2.0, r.y + r.h / 2.0), Some((l, h)));
        }
        let r = g.rect(0, 0);
        assert_eq!(g.at(r.x + r.w + g.gap / 2.0, r.y + 2.0), None, "gap");
        assert_eq!(g.at(0.0, 0.0), None);
        assert_eq!(g.at(g.width + 50.0, g.origin.1 + 1.0), None);
    }
}
