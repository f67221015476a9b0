//! The attention tensor: probabilities `[layers, heads, seq, seq]`, row = "from", column = "to".

use serde::{Deserialize, Serialize};

/// The shape of an attention tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub layers: usize,
    pub heads: usize,
    pub seq: usize,
}

impl Shape {
    /// Number of weights in one head's `seq × seq` matrix.
    pub fn head_len(&self) -> usize {
        self.seq * self.seq
    }
    /// Number of weights in the whole tensor.
    pub fn len(&self) -> usize {
        self.layers * self.heads * self.head_len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every layer's attention probabilities, stored flat in row-major `[layers, heads, seq, seq]`
/// order (the order of `numpy.stack(outputs.attentions)[:, 0]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    shape: Shape,
    data: Vec<f32>,
}

impl Attention {
    /// Wraps flat data; `None` if its length does not match the shape.
    pub fn new(shape: Shape, data: Vec<f32>) -> Option<Self> {
        (data.len() == shape.len()).then_some(Self { shape, data })
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The flat `[layers, heads, seq, seq]` weights.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The flat weights, given up (to be reused for another run's, [`crate::model::Engine::reuse`]).
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// One head's `seq × seq` matrix (row-major), or `None` when out of range.
    pub fn head(&self, layer: usize, head: usize) -> Option<&[f32]> {
        if layer >= self.shape.layers || head >= self.shape.heads {
            return None;
        }
        let n = self.shape.head_len();
        let start = (layer * self.shape.heads + head) * n;
        self.data.get(start..start + n)
    }

    /// One weight, or `None` when any index is out of range.
    pub fn get(&self, layer: usize, head: usize, from: usize, to: usize) -> Option<f32> {
        if from >= self.shape.seq || to >= self.shape.seq {
            return None;
        }
        self.head(layer, head)?.get(from * self.shape.seq + to).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexing_is_row_major_layers_heads_from_to() {
        let shape = Shape { layers: 2, heads: 3, seq: 2 };
        let data: Vec<f32> = (0..shape.len()).map(|i| i as f32).collect();
        let a = Attention::new(shape, data).unwrap();
        assert_eq!(a.get(0, 0, 0, 1), Some(1.0));
        assert_eq!(a.get(1, 2, 1, 0), Some((5 * 4 + 2) as f32));
        assert_eq!(a.head(1, 0).unwrap(), &[12.0, 13.0, 14.0, 15.0]);
        assert_eq!(a.get(2, 0, 0, 0), None);
        assert_eq!(a.get(0, 0, 2, 0), None);
        assert!(Attention::new(shape, vec![0.0; 3]).is_none());
    }
}
