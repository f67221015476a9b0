//! Pure functions on attention tensors: what the views aggregate, filter and summarise.
//!
//! Everything here works on row-major `n × n` `&[f32]` matrices (row = "from", column = "to",
//! rows summing to 1) and never panics: mismatched lengths give an empty result or `None`.
//! Because they take any `n × n` matrix, they compose with the view options: map a head (or a
//! whole run, [`apply_all`]) to [`units`] first and pass `n = units.len()`.
//!
//! - view options ([`apply`]), filters, entropy and thumbnails, the neuron view's terms;
//! - aggregates over heads and layers: [`fuse_heads`], [`rollout`], [`flow`] (Abnar &
//!   Zuidema 2020);
//! - token focus: [`attends_to`], [`attended_by`], [`relation_grid`];
//! - per-head statistics and role labels: [`HeadStats`], [`Role`] (Clark et al. 2019), with a
//!   small built-in [`corpus`] to average them over;
//! - comparing runs: [`mean_abs_diff`], [`jensen_shannon`], [`align_tokens`].

mod aggregate;
mod compare;
pub mod corpus;
mod filter;
mod focus;
mod head_stats;
mod neuron;
mod options;
mod punct;
mod stats;

pub use aggregate::{
    flow, flow_cost, flow_fits, flow_max_tokens, fuse_heads, head_fusion_all, normalize_rows, rollout, Fusion,
    FLOW_COST_LIMIT,
};
pub use compare::{align_tokens, difference, jensen_shannon, js_divergence, mean_abs_diff, pick, Alignment};
pub use filter::{cutoff_for_budget, keep_strongest, passes, PairFilter, Strongest};
pub use focus::{attended_by, attends_to, relation_grid};
pub use head_stats::{
    head_stats, is_punctuation_label, mean_per_head, roles, HeadStats, Role, TokenKinds, BROAD_ENTROPY, ROLE_SHARE,
};
pub use neuron::{neuron_row, NeuronRow};
pub use options::{apply, apply_all, is_identity, units, Unit, ViewOptions};
pub use punct::is_punctuation;
pub use stats::{downsample, entropy, head_max};
