//! Pure functions on attention tensors: what the views aggregate, filter and summarise.
//!
//! Everything here works on row-major `n × n` `&[f32]` matrices (row = "from", column = "to",
//! rows summing to 1) and never panics: mismatched lengths give an empty result or `None`.

mod filter;
mod neuron;
mod options;
mod stats;

pub use filter::{cutoff_for_budget, keep_strongest, passes, PairFilter, Strongest};
pub use neuron::{neuron_row, NeuronRow};
pub use options::{apply, apply_all, is_identity, units, Unit, ViewOptions};
pub use stats::{downsample, entropy, head_max};
