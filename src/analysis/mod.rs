//! Pure functions on attention tensors: what the views aggregate and summarise.

mod stats;

pub use stats::head_max;
