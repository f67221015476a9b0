//! Aggregates over heads and layers: head fusion, attention rollout and attention flow.
//!
//! Raw attention shows one head of one layer at a time, but what reaches layer `l` from the
//! input mixes every head and passes through the residual connections of every layer below.
//! Abnar & Zuidema (2020), "Quantifying Attention Flow in Transformers" (ACL 2020,
//! arXiv:2005.00928), approximate that with two aggregates over the heads' fused matrices:
//! **rollout** (products of residual-augmented matrices) and **flow** (max-flow in the layered
//! graph those matrices define). Both take *fused* heads: one `n × n` matrix per layer,
//! usually the mean of the heads ([`Fusion::Mean`], what the paper does); max and min are the
//! other two "head fusions" of Gildenblat's rollout tool `vit-explain`
//! (github.com/jacobgil/vit-explain).
//!
//! All functions take row-major `n × n` matrices (row = from/query, column = to/key) and work
//! on any of them, so they compose with [`super::apply_all`]: apply the view options (hide
//! specials, merge word pieces) to every head first, then fuse with `n = units.len()`. They
//! never panic; a length that does not match the shape gives `None`.
//!
//! The residual-augmented matrix of a layer is `Â = (A + I) / rowsum(A + I)`, the authors'
//! code (`compute_joint_attention` and the flow notebooks in github.com/samiraabnar/attention_flow):
//! for rows summing to 1 that is `0.5·A + 0.5·I`, and for rows that do not (max or min
//! fusion) it renormalises them. Negative and non-finite weights count as 0.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How to fuse several heads' `n × n` matrices into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Element-wise mean (Abnar & Zuidema 2020 average the heads): rows still sum to 1.
    #[default]
    Mean,
    /// Element-wise maximum: where *some* head looks. Rows sum to 1 or more.
    Max,
    /// Element-wise minimum: where *every* head looks. Rows sum to 1 or less.
    Min,
}

impl Fusion {
    pub const ALL: [Fusion; 3] = [Fusion::Mean, Fusion::Max, Fusion::Min];

    /// `"mean"`, `"max"` or `"min"` (the command line's and the JSON's spelling).
    pub fn name(self) -> &'static str {
        match self {
            Fusion::Mean => "mean",
            Fusion::Max => "max",
            Fusion::Min => "min",
        }
    }

    /// The inverse of [`Fusion::name`].
    pub fn parse(s: &str) -> Option<Fusion> {
        Fusion::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// `n · n` and `count · n · n`, or `None` on overflow or when `data` has another length.
fn check_len(data: &[f32], count: usize, n: usize) -> Option<usize> {
    let nn = n.checked_mul(n)?;
    (nn.checked_mul(count)? == data.len()).then_some(nn)
}

/// The chosen heads, ascending and without repeats; `None` if empty or one is `>= heads`.
fn chosen_set(heads: usize, chosen: &[usize]) -> Option<Vec<usize>> {
    let mut set = chosen.to_vec();
    set.sort_unstable();
    set.dedup();
    (!set.is_empty() && set.iter().all(|&h| h < heads)).then_some(set)
}

/// Fuses the `chosen` heads of one layer (`layer` is `[heads, n, n]`) element-wise into one
/// `n × n` matrix.
///
/// Each chosen head counts once (repeats are ignored). Rows are **not** renormalised: a mean
/// of rows summing to 1 still sums to 1, a max sums to 1 or more and a min to 1 or less
/// ([`rollout`] and [`flow`] renormalise after adding the residual). `None` if `layer` is not
/// `heads · n · n` long, `chosen` is empty, or a chosen head is `>= heads`.
pub fn fuse_heads(layer: &[f32], heads: usize, n: usize, chosen: &[usize], fusion: Fusion) -> Option<Vec<f32>> {
    let nn = check_len(layer, heads, n)?;
    let chosen = chosen_set(heads, chosen)?;
    let mut mats = chosen.iter().filter_map(|&h| layer.get(h * nn..(h + 1) * nn));
    let mut out = mats.next()?.to_vec();
    for m in mats {
        for (o, &w) in out.iter_mut().zip(m) {
            *o = match fusion {
                Fusion::Mean => *o + w,
                Fusion::Max => o.max(w),
                Fusion::Min => o.min(w),
            };
        }
    }
    if fusion == Fusion::Mean {
        let k = chosen.len() as f32;
        out.iter_mut().for_each(|o| *o /= k);
    }
    Some(out)
}

/// [`fuse_heads`] for every layer of a full run (`attn` is `[layers, heads, n, n]`, as
/// [`crate::attention::Attention::data`]): `[layers, n, n]`. `None` as for [`fuse_heads`].
pub fn head_fusion_all(
    attn: &[f32],
    layers: usize,
    heads: usize,
    n: usize,
    chosen: &[usize],
    fusion: Fusion,
) -> Option<Vec<f32>> {
    let nn = check_len(attn, layers.checked_mul(heads)?, n)?;
    let per = heads.checked_mul(nn)?;
    chosen_set(heads, chosen)?;
    let mut out = Vec::with_capacity(layers * nn);
    for layer in attn.chunks_exact(per.max(1)).take(layers) {
        out.extend(fuse_heads(layer, heads, n, chosen, fusion)?);
    }
    Some(out)
}

/// The residual-augmented matrix `Â = (A + I) / rowsum(A + I)` in f64 (see the module doc).
fn residual(a: &[f32], n: usize) -> Vec<f64> {
    let mut out: Vec<f64> = a.iter().map(|&w| if w.is_finite() && w > 0.0 { f64::from(w) } else { 0.0 }).collect();
    for (i, row) in out.chunks_exact_mut(n.max(1)).enumerate() {
        if let Some(d) = row.get_mut(i) {
            *d += 1.0;
        }
        // At least 1 (the identity), so the division is safe.
        let total: f64 = row.iter().sum();
        row.iter_mut().for_each(|w| *w /= total);
    }
    out
}

/// `a · b` for `n × n` row-major f64 matrices.
fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; a.len()];
    for (orow, arow) in out.chunks_exact_mut(n.max(1)).zip(a.chunks_exact(n.max(1))) {
        for (&aik, brow) in arow.iter().zip(b.chunks_exact(n.max(1))) {
            if aik != 0.0 {
                orow.iter_mut().zip(brow).for_each(|(o, &bkj)| *o += aik * bkj);
            }
        }
    }
    out
}

/// Attention rollout (Abnar & Zuidema 2020, §3 "Attention Rollout").
///
/// `fused` is `[layers, n, n]` (one matrix per layer, e.g. from [`head_fusion_all`]). Each
/// layer's matrix becomes `Â_l = (A_l + I) / rowsum` (`0.5·A + 0.5·I` for rows summing to 1:
/// the residual connection carries as much as attention does), and the products are taken from
/// the first layer up: `R_0 = Â_0`, `R_l = Â_l · R_{l−1}`. Returns `[layers, n, n]`, entry `l`
/// being the rollout through layers `0..=l`: `R_l[i][j]` is how much of token `i`'s
/// representation after layer `l` comes from input token `j` (rows sum to 1). Computed in f64;
/// `n³` multiply-adds per layer. `None` if `fused.len() != layers · n · n`.
pub fn rollout(fused: &[f32], layers: usize, n: usize) -> Option<Vec<f32>> {
    let nn = check_len(fused, layers, n)?;
    let mut out = Vec::with_capacity(fused.len());
    let mut acc: Option<Vec<f64>> = None;
    for a in fused.chunks_exact(nn.max(1)).take(layers) {
        let hat = residual(a, n);
        let next = match &acc {
            None => hat,
            Some(r) => matmul(&hat, r, n),
        };
        out.extend(next.iter().map(|&w| w as f32));
        acc = Some(next);
    }
    Some(out)
}

/// Residual capacities at or below this are treated as saturated: f64 sums of f32 weights
/// leave residues of ~1e-17 that would otherwise be augmented forever. The error this allows
/// is far below the f32 output's resolution.
const FLOW_EPS: f64 = 1e-12;

/// The largest [`flow_cost`] the page should run: about 1 s in wasm.
///
/// Measured natively (`cargo test` profile, opt-level 2, on a shared 2-core machine,
/// 2026-11-28; `cargo test --test analysis_golden flow_timing -- --ignored --nocapture`) on
/// all-MiniLM-L6-v2's mean-fused attention, 6 layers: 19 tokens (cost 0.54 M) 18–25 ms,
/// 29 tokens (2.9 M) 0.10 s, 39 tokens (9.4 M) 0.27–0.36 s, 47 tokens (20 M) 0.45–0.64 s,
/// 56 tokens (40 M) 0.8–1.15 s, 64 tokens (68 M) 1.2–1.8 s: 20–35 ns per cost unit (random
/// softmax rows are easier, 5–10 ns). Assuming wasm is 3× slower, ~100 ns per unit, so 10 M
/// units take about 1 s: a 6-layer model up to 39 tokens, a 12-layer one up to 31
/// ([`flow_max_tokens`]).
pub const FLOW_COST_LIMIT: u64 = 10_000_000;

/// An estimate of the work of [`flow`] through `layers` layers (`upto_layer + 1`) on `n`
/// tokens: `n²` max-flow problems, each on about `(layers − 2)·n² + 2n` edges. Compare it
/// with [`FLOW_COST_LIMIT`] ([`flow_fits`]) before running flow on a user's input.
pub fn flow_cost(layers: usize, n: usize) -> u64 {
    let n = n as u64;
    let edges = (layers as u64).saturating_sub(2).saturating_mul(n.saturating_mul(n)).saturating_add(n.saturating_mul(2));
    n.saturating_mul(n).saturating_mul(edges)
}

/// Whether [`flow`] through `layers` layers on `n` tokens stays within [`FLOW_COST_LIMIT`].
pub fn flow_fits(layers: usize, n: usize) -> bool {
    flow_cost(layers, n) <= FLOW_COST_LIMIT
}

/// The longest input (in tokens) [`flow_fits`] accepts for `layers` layers.
pub fn flow_max_tokens(layers: usize) -> usize {
    // flow_cost grows with n, so the answer is the last n that fits; inputs stop at 512+.
    let mut n = 0;
    while n < 4096 && flow_fits(layers, n + 1) {
        n += 1;
    }
    n
}

/// Attention flow (Abnar & Zuidema 2020, §3 "Attention Flow").
///
/// `fused` is `[layers, n, n]` as for [`rollout`]. The graph has a node `(l, i)` per token `i`
/// at every level `l = 0..=upto_layer + 1` (level 0 = the input tokens, level `l + 1` = the
/// output of layer `l`), and node `(l + 1, i)` has an edge to `(l, j)` with capacity
/// `Â_l[i][j]`, the residual-augmented, row-renormalised matrix of [`rollout`] — the
/// convention of the authors' code (`get_adjmat` on `(A + I)/rowsum`, then
/// `networkx.maximum_flow_value` from the upper node to the input node). Returns `n × n`: entry
/// `[i][j]` is the maximum flow between input token `j` and token `i` at level
/// `upto_layer + 1` (the value is the same in either direction). Entries are raw max-flow
/// values, each at most 1, and rows do *not* sum to 1: the authors' plots divide each row by
/// its sum, which [`normalize_rows`] does.
///
/// Exact max-flow (Dinic's algorithm in f64, residues below 1e-12 count as 0) for each of the
/// `n²` pairs, on one graph allocated once. It is costly — see [`flow_cost`] and check
/// [`flow_fits`] first. `None` if `fused.len() != layers · n · n` or `upto_layer >= layers`.
pub fn flow(fused: &[f32], layers: usize, n: usize, upto_layer: usize) -> Option<Vec<f32>> {
    let nn = check_len(fused, layers, n)?;
    if upto_layer >= layers {
        return None;
    }
    let hats: Vec<Vec<f64>> = fused.chunks_exact(nn.max(1)).take(upto_layer + 1).map(|a| residual(a, n)).collect();
    let mut out = vec![0.0f32; nn];
    match hats.as_slice() {
        [] => {}
        // One layer: the single edge (1, i) -> (0, j).
        [a0] => out.iter_mut().zip(a0).for_each(|(o, &w)| *o = w as f32),
        // Two layers: disjoint paths i -> k -> j, each limited by its smaller edge.
        [a0, a1] => {
            for (orow, r1) in out.chunks_exact_mut(n).zip(a1.chunks_exact(n)) {
                for (j, o) in orow.iter_mut().enumerate() {
                    let f: f64 = r1.iter().zip(a0.chunks_exact(n)).map(|(&x, r0)| x.min(r0.get(j).copied().unwrap_or(0.0))).sum();
                    *o = f as f32;
                }
            }
        }
        [a0, middle @ .., top] => {
            let mut g = FlowGraph::new(n, middle);
            for (i, orow) in out.chunks_exact_mut(n).enumerate() {
                let Some(src) = top.get(i * n..(i + 1) * n) else { continue };
                for (j, o) in orow.iter_mut().enumerate() {
                    let sink = a0.chunks_exact(n).map(|r| r.get(j).copied().unwrap_or(0.0));
                    *o = g.max_flow(src, sink) as f32;
                }
            }
        }
    }
    Some(out)
}

/// Each row divided by its sum (rows summing to 0, or to a non-finite value, stay as they
/// are): the normalisation the attention-flow authors apply to [`flow`]'s rows before plotting.
/// `None` if `m.len() != n · n`.
pub fn normalize_rows(m: &[f32], n: usize) -> Option<Vec<f32>> {
    check_len(m, 1, n)?;
    let mut out = m.to_vec();
    for row in out.chunks_exact_mut(n.max(1)) {
        let total: f32 = row.iter().sum();
        if total > 0.0 && total.is_finite() {
            row.iter_mut().for_each(|w| *w /= total);
        }
    }
    Some(out)
}

/// The flow network of [`flow`] for `K ≥ 3` layers, built once and reused for all `n²` pairs.
///
/// Only the middle layers `1..K−1` are edges of the stored graph: the source (top node `i`)
/// reaches level `K − 1` through `n` edges whose capacities are row `i` of `Â_{K−1}`, and
/// level 1 reaches the sink (input `j`) through `n` edges whose capacities are column `j` of
/// `Â_0`; both sets are rewritten per pair. Node ids: `S = 0`, `T = 1`, then level `v`
/// (`1..=K−1`) token `t` at `2 + (v − 1)·n + t`. Edges come in pairs `e`, `e ^ 1` (forward and
/// reverse), and every index is built here, in range by construction.
struct FlowGraph {
    /// Head node of each edge.
    to: Vec<usize>,
    /// Capacities of the pair-independent edges (reverse edges 0), and the residuals in use.
    cap: Vec<f64>,
    res: Vec<f64>,
    /// CSR adjacency: the edges leaving node `v` are `adj[start[v]..start[v + 1]]`.
    start: Vec<usize>,
    fwd_end: Vec<usize>,
    adj: Vec<usize>,
    /// The edges S -> level K−1 and level 1 -> T, by token.
    src_edges: Vec<usize>,
    sink_edges: Vec<usize>,
    // Scratch reused by every max-flow.
    level: Vec<u32>,
    next: Vec<usize>,
    queue: VecDeque<usize>,
    path: Vec<usize>,
    /// Edges whose residuals differ from `cap` (besides the per-pair ones).
    touched: Vec<usize>,
    /// Tokens per level, and the number of edges on every S–T path (`K`).
    n: usize,
    depth: u32,
}

const UNSEEN: u32 = u32::MAX;

impl FlowGraph {
    /// `middle` holds `Â_1 … Â_{K−2}` (at least one).
    fn new(n: usize, middle: &[Vec<f64>]) -> Self {
        let levels = middle.len() + 1; // levels 1..=K−1
        let nodes = 2 + levels * n;
        let node = |v: usize, t: usize| 2 + (v - 1) * n + t;
        let mut edges: Vec<(usize, usize, f64)> = Vec::new();
        let mut src_edges = Vec::with_capacity(n);
        let mut sink_edges = Vec::with_capacity(n);
        for t in 0..n {
            src_edges.push(edges.len() * 2);
            edges.push((0, node(levels, t), 0.0));
        }
        for t in 0..n {
            sink_edges.push(edges.len() * 2);
            edges.push((node(1, t), 1, 0.0));
        }
        // Â_l (l = 1..=K−2) links level l + 1 (from) to level l (to).
        for (k, hat) in middle.iter().enumerate() {
            let l = k + 1;
            for (i, row) in hat.chunks_exact(n).enumerate() {
                for (j, &c) in row.iter().enumerate() {
                    if c > FLOW_EPS {
                        edges.push((node(l + 1, i), node(l, j), c));
                    }
                }
            }
        }
        let mut to = Vec::with_capacity(edges.len() * 2);
        let mut cap = Vec::with_capacity(edges.len() * 2);
        let mut degree = vec![0usize; nodes + 1];
        for &(u, v, c) in &edges {
            to.extend([v, u]);
            cap.extend([c, 0.0]);
            degree[u + 1] += 1;
            degree[v + 1] += 1;
        }
        let mut start = degree;
        for v in 1..start.len() {
            start[v] += start[v - 1];
        }
        // Each node's forward edges first, then its reverse ones (`fwd_end` marks the split):
        // the first phase only needs the forward ones.
        let mut fill = start.clone();
        let mut adj = vec![0usize; to.len()];
        for (k, &(u, _, _)) in edges.iter().enumerate() {
            adj[fill[u]] = 2 * k;
            fill[u] += 1;
        }
        let fwd_end = fill[..nodes].to_vec();
        for (k, &(_, v, _)) in edges.iter().enumerate() {
            adj[fill[v]] = 2 * k + 1;
            fill[v] += 1;
        }
        Self {
            res: cap.clone(),
            to,
            cap,
            start,
            fwd_end,
            adj,
            src_edges,
            sink_edges,
            level: vec![UNSEEN; nodes],
            next: vec![0; nodes],
            queue: VecDeque::with_capacity(nodes),
            path: Vec::with_capacity(nodes),
            touched: Vec::new(),
            n,
            depth: u32::try_from(levels + 1).unwrap_or(u32::MAX),
        }
    }

    /// Max flow from S to T with the source edges' capacities `src` (`n` values) and the sink
    /// edges' `sink` (one per token).
    ///
    /// The first phase needs no search: every S–T path of the untouched graph has one edge per
    /// layer, so the layer structure *is* the level graph (S at 0, level `K − 1` at 1, …, T at
    /// `K`). Later phases search breadth-first as usual, and the last search, which fails, is
    /// what proves the flow maximal. Only the edges augmenting paths touched are restored for
    /// the next pair.
    fn max_flow(&mut self, src: &[f64], sink: impl Iterator<Item = f64>) -> f64 {
        for e in self.touched.drain(..) {
            self.res[e] = self.cap[e];
            self.res[e ^ 1] = self.cap[e ^ 1];
        }
        for (&e, &c) in self.src_edges.iter().zip(src) {
            self.res[e] = c;
        }
        for (&e, c) in self.sink_edges.iter().zip(sink) {
            self.res[e] = c;
        }
        let depth = self.depth;
        for (v, l) in self.level.iter_mut().enumerate() {
            // Node 2 + (v − 1)·n + t is level v, at distance `depth − v` from S.
            *l = match v {
                0 => 0,
                1 => depth,
                _ => depth - 1 - ((v - 2) / self.n.max(1)) as u32,
            };
        }
        // No flow exceeds what leaves S or what enters T: reaching that bound ends the search
        // without the final (often whole-graph) breadth-first pass.
        let out_of_s: f64 = src.iter().filter(|&&c| c > FLOW_EPS).sum();
        let into_t: f64 = self.sink_edges.iter().map(|&e| self.res[e]).filter(|&c| c > FLOW_EPS).sum();
        let bound = out_of_s.min(into_t) - FLOW_EPS;
        let mut total = 0.0;
        let mut first = true;
        loop {
            self.next.copy_from_slice(&self.start[..self.level.len()]);
            total += self.blocking_flow(first, bound - total);
            first = false;
            if total >= bound || !self.levels() {
                break;
            }
        }
        total
    }

    /// Breadth-first levels from S over edges with residual capacity; whether T is reached.
    /// Nodes as far from S as T (or farther) other than T are left unseen: they cannot lie on
    /// a shortest augmenting path.
    fn levels(&mut self) -> bool {
        self.level.fill(UNSEEN);
        self.queue.clear();
        self.level[0] = 0;
        self.queue.push_back(0);
        let mut sink_level = UNSEEN;
        while let Some(u) = self.queue.pop_front() {
            let lu = self.level[u];
            if lu.saturating_add(1) >= sink_level {
                break;
            }
            for &e in &self.adj[self.start[u]..self.start[u + 1]] {
                let v = self.to[e];
                if self.res[e] > FLOW_EPS && self.level[v] == UNSEEN {
                    self.level[v] = lu.saturating_add(1);
                    if v == 1 {
                        sink_level = lu.saturating_add(1);
                    } else {
                        self.queue.push_back(v);
                    }
                }
            }
        }
        sink_level != UNSEEN
    }

    /// One blocking flow on the level graph (iterative depth-first search with current-arc
    /// pointers, so no recursion depth to worry about), stopping early once `enough` is
    /// pushed. In the `first` phase only forward edges can be admissible. Returns the flow
    /// pushed.
    fn blocking_flow(&mut self, first: bool, enough: f64) -> f64 {
        let mut pushed = 0.0;
        let sink_level = self.level[1];
        self.path.clear();
        let mut u = 0usize;
        loop {
            if u == 1 {
                let f = self.path.iter().map(|&e| self.res[e]).fold(f64::INFINITY, f64::min);
                let mut cut = self.path.len();
                for (k, &e) in self.path.iter().enumerate() {
                    self.res[e] -= f;
                    self.res[e ^ 1] += f;
                    self.touched.push(e);
                    if self.res[e] <= FLOW_EPS && k < cut {
                        cut = k;
                    }
                }
                pushed += f;
                if pushed >= enough {
                    break;
                }
                // Resume from the tail of the first saturated edge.
                self.path.truncate(cut);
                u = self.path.last().map_or(0, |&e| self.to[e]);
                continue;
            }
            let mut advanced = false;
            let end = if first { self.fwd_end[u] } else { self.start[u + 1] };
            while self.next[u] < end {
                let e = self.adj[self.next[u]];
                let v = self.to[e];
                let lv = self.level[v];
                if self.res[e] > FLOW_EPS && lv == self.level[u].saturating_add(1) && (lv < sink_level || v == 1) {
                    self.path.push(e);
                    u = v;
                    advanced = true;
                    break;
                }
                self.next[u] += 1;
            }
            if !advanced {
                // Dead end: never enter u again in this phase, and step back.
                self.level[u] = UNSEEN;
                match self.path.pop() {
                    None => break,
                    Some(e) => {
                        u = self.to[e ^ 1];
                        self.next[u] += 1;
                    }
                }
            }
        }
        pushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    /// Two heads of a 2-token layer.
    const LAYER: [f32; 8] = [0.5, 0.5, 0.25, 0.75, 1.0, 0.0, 0.0, 1.0];

    #[test]
    fn fusion_is_elementwise_over_the_chosen_heads() {
        let mean = fuse_heads(&LAYER, 2, 2, &[0, 1], Fusion::Mean).unwrap();
        assert!(close(&mean, &[0.75, 0.25, 0.125, 0.875], 1e-7), "{mean:?}");
        assert_eq!(fuse_heads(&LAYER, 2, 2, &[1, 0], Fusion::Max).unwrap(), [1.0, 0.5, 0.25, 1.0]);
        assert_eq!(fuse_heads(&LAYER, 2, 2, &[0, 1], Fusion::Min).unwrap(), [0.5, 0.0, 0.0, 0.75]);
        // One head, and repeats counted once.
        assert_eq!(fuse_heads(&LAYER, 2, 2, &[1, 1], Fusion::Mean).unwrap(), [1.0, 0.0, 0.0, 1.0]);
        // Bad input.
        assert_eq!(fuse_heads(&LAYER, 2, 2, &[], Fusion::Mean), None);
        assert_eq!(fuse_heads(&LAYER, 2, 2, &[2], Fusion::Mean), None);
        assert_eq!(fuse_heads(&LAYER[..7], 2, 2, &[0], Fusion::Mean), None);
        assert_eq!(fuse_heads(&LAYER, 3, 2, &[0], Fusion::Mean), None);
    }

    #[test]
    fn head_fusion_all_goes_layer_by_layer() {
        let mut two = LAYER.to_vec();
        two.extend([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        let out = head_fusion_all(&two, 2, 2, 2, &[0, 1], Fusion::Max).unwrap();
        assert_eq!(out, [1.0, 0.5, 0.25, 1.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(head_fusion_all(&two, 2, 2, 2, &[1], Fusion::Min).unwrap(), [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
        assert_eq!(head_fusion_all(&two, 3, 2, 2, &[0], Fusion::Mean), None);
        assert_eq!(head_fusion_all(&two, 2, 2, 2, &[5], Fusion::Mean), None);
        assert_eq!(head_fusion_all(&[], 0, 2, 2, &[0], Fusion::Mean), Some(vec![]));
        assert_eq!(head_fusion_all(&[], 2, 0, 2, &[], Fusion::Mean), None);
        assert_eq!(head_fusion_all(&[0.0; 2], 2, 1, 1, &[0], Fusion::Max), Some(vec![0.0; 2]));
        assert_eq!(Fusion::parse("max"), Some(Fusion::Max));
        assert_eq!(Fusion::parse("avg"), None);
        assert!(Fusion::ALL.iter().all(|f| Fusion::parse(f.name()) == Some(*f)));
    }

    #[test]
    fn rollout_by_hand() {
        // Layer 0: everyone looks at token 0. Â_0 = 0.5·A + 0.5·I = [[1, 0], [0.5, 0.5]].
        // Layer 1: everyone looks at token 1. Â_1 = [[0.5, 0.5], [0, 1]].
        // R_1 = Â_1 · Â_0 = [[0.5·1 + 0.5·0.5, 0.5·0.5], [0.5, 0.5]] = [[0.75, 0.25], [0.5, 0.5]].
        let fused = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let r = rollout(&fused, 2, 2).unwrap();
        assert!(close(&r, &[1.0, 0.0, 0.5, 0.5, 0.75, 0.25, 0.5, 0.5], 1e-7), "{r:?}");
        // Rows that do not sum to 1 (max fusion) are renormalised after adding I:
        // [[1, 1], [0, 1]] + I = [[2, 1], [0, 2]] -> [[2/3, 1/3], [0, 1]].
        let r = rollout(&[1.0, 1.0, 0.0, 1.0], 1, 2).unwrap();
        assert!(close(&r, &[2.0 / 3.0, 1.0 / 3.0, 0.0, 1.0], 1e-7), "{r:?}");
        // Rows of every rollout sum to 1.
        let r = rollout(&[0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.6, 0.2, 0.2].repeat(3), 3, 3).unwrap();
        for row in r.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert_eq!(rollout(&fused, 3, 2), None);
        assert_eq!(rollout(&[], 0, 0), Some(vec![]));
        // NaN and negative weights count as 0.
        let r = rollout(&[f32::NAN, -1.0, 0.0, 1.0], 1, 2).unwrap();
        assert_eq!(r, [1.0, 0.0, 0.0, 1.0]);
    }

    /// Brute force: max flow = min cut over all S-side subsets of the middle nodes, for tiny
    /// graphs (checks Dinic on dense random matrices).
    fn min_cut_brute(fused: &[f32], layers: usize, n: usize, upto: usize) -> Vec<f32> {
        let hats: Vec<Vec<f64>> = fused.chunks(n * n).take(upto + 1).map(|a| residual(a, n)).collect();
        // Nodes: levels 0..=upto+1, n each. Source (upto+1, i), sink (0, j).
        let levels = upto + 2;
        let nodes = levels * n;
        let _ = layers;
        let mut out = vec![0.0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                let src = (upto + 1) * n + i;
                let dst = j;
                let mut best = f64::INFINITY;
                // Free nodes: everything except src and dst; enumerate subsets on the S side.
                let free: Vec<usize> = (0..nodes).filter(|&v| v != src && v != dst).collect();
                for mask in 0u64..(1 << free.len()) {
                    let mut side = vec![false; nodes];
                    side[src] = true;
                    for (b, &v) in free.iter().enumerate() {
                        side[v] = mask >> b & 1 == 1;
                    }
                    let mut cut = 0.0;
                    for (l, hat) in hats.iter().enumerate() {
                        for a in 0..n {
                            for b in 0..n {
                                let (u, v) = ((l + 1) * n + a, l * n + b);
                                if side[u] && !side[v] {
                                    cut += hat[a * n + b];
                                }
                            }
                        }
                    }
                    best = best.min(cut);
                }
                out[i * n + j] = best as f32;
            }
        }
        out
    }

    fn softmaxish(seed: &mut u64, count: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for _ in 0..count * n {
            let row: Vec<f32> = (0..n)
                .map(|_| {
                    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((*seed >> 33) as f32 / (1u64 << 31) as f32 * 4.0).exp()
                })
                .collect();
            let s: f32 = row.iter().sum();
            out.extend(row.iter().map(|w| w / s));
        }
        out
    }

    #[test]
    fn flow_matches_brute_force_min_cut() {
        let mut seed = 7;
        for (layers, n) in [(1, 3), (2, 3), (3, 2), (3, 3), (4, 2)] {
            let fused = softmaxish(&mut seed, layers, n);
            for upto in 0..layers {
                let f = flow(&fused, layers, n, upto).unwrap();
                let want = min_cut_brute(&fused, layers, n, upto);
                assert!(close(&f, &want, 1e-6), "layers {layers} n {n} upto {upto}: {f:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn flow_by_hand() {
        // One layer: the flow is Â_0 itself.
        let f = flow(&[1.0, 0.0, 1.0, 0.0], 1, 2, 0).unwrap();
        assert_eq!(f, [1.0, 0.0, 0.5, 0.5]);
        // Identity layers: Â = I, so each token only reaches itself, with flow 1.
        let eye = [1.0, 0.0, 0.0, 1.0].repeat(4);
        assert_eq!(flow(&eye, 4, 2, 3).unwrap(), [1.0, 0.0, 0.0, 1.0]);
        // Three layers of "look at token 0" (Â = [[1, 0], [0.5, 0.5]]): from top token 1 to
        // input 0 every path ends through (1, ·) -> (0, 0); top 1 -> (2,0) 0.5 -> ... -> 0.5 via
        // token 0's chain, plus 0.5 down token 1's chain whose last hop (1,1)->(0,0) has 0.5:
        // total 1. Top 1 to input 1: only the chain 1 -> 1 -> 1 -> 1, bottleneck 0.5.
        let look0 = [1.0, 0.0, 1.0, 0.0].repeat(3);
        let f = flow(&look0, 3, 2, 2).unwrap();
        assert!(close(&f, &[1.0, 0.0, 1.0, 0.5], 1e-7), "{f:?}");
        assert_eq!(flow(&look0, 3, 2, 3), None);
        assert_eq!(flow(&look0[..11], 3, 2, 0), None);
        let r = normalize_rows(&f, 2).unwrap();
        assert!(close(&r, &[1.0, 0.0, 2.0 / 3.0, 1.0 / 3.0], 1e-7), "{r:?}");
        assert_eq!(normalize_rows(&[0.0; 4], 2).unwrap(), [0.0; 4]);
        assert_eq!(normalize_rows(&[0.0; 3], 2), None);
        assert_eq!(flow(&[], 1, 0, 0), Some(vec![]));
    }

    #[test]
    fn flow_is_bounded_by_rollout_support_and_one() {
        let mut seed = 3;
        let fused = softmaxish(&mut seed, 6, 8);
        let f = flow(&fused, 6, 8, 5).unwrap();
        assert!(f.iter().all(|&v| v > 0.0 && v <= 1.0 + 1e-6), "{f:?}");
    }

    #[test]
    fn flow_cost_and_limits() {
        assert_eq!(flow_cost(1, 10), 100 * 20);
        assert_eq!(flow_cost(6, 10), 100 * (4 * 100 + 20));
        assert!(flow_fits(6, 21) && flow_fits(12, 21));
        assert_eq!((flow_max_tokens(6), flow_max_tokens(12)), (39, 31));
        assert!(!flow_fits(6, 512) && !flow_fits(24, 512));
        let m6 = flow_max_tokens(6);
        assert!(flow_fits(6, m6) && !flow_fits(6, m6 + 1));
        assert!(flow_max_tokens(12) < m6);
        assert_eq!(flow_cost(usize::MAX, usize::MAX), u64::MAX);
    }

    /// Timing for FLOW_COST_LIMIT's doc: `cargo test --lib flow_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn flow_timing() {
        let mut seed = 11;
        for (layers, n) in [(6, 16), (6, 32), (6, 48), (6, 64), (12, 32), (12, 48)] {
            let fused = softmaxish(&mut seed, layers, n);
            let t = std::time::Instant::now();
            let f = flow(&fused, layers, n, layers - 1).unwrap();
            let s = t.elapsed().as_secs_f64();
            let c = flow_cost(layers, n);
            println!("layers {layers:>2} n {n:>3}: cost {c:>11}, {s:.3} s, {:.2} ns/unit ({})", s * 1e9 / c as f64, f[0]);
        }
    }
}
