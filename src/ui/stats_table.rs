//! The head-statistics table: one row per head, sortable by any column (click a header; its
//! `aria-sort` says how), the role label with its rule in a tooltip.

use leptos::prelude::*;

use crate::analysis::{HeadStats, Role};

/// A statistic: its key (`data-col`), header, explanation and value.
pub struct Stat {
    pub key: &'static str,
    pub header: &'static str,
    pub title: &'static str,
    pub get: fn(&HeadStats) -> f32,
}

/// The statistics, in table order (Clark et al. 2019; Kovaleva et al. 2019 for the distance).
pub const STATS: [Stat; 9] = [
    Stat { key: "entropy_bits", header: "Entropy (bits)", title: "Mean over tokens of the entropy of their attention, in bits (0: each token looks at one token)", get: |s| s.entropy_bits },
    Stat { key: "entropy_norm", header: "Entropy / log₂ n", title: "The entropy as a share of its maximum log2 n (1: uniform attention)", get: |s| s.entropy_norm },
    Stat { key: "distance", header: "Mean distance", title: "Mean over tokens of Σ_j a_ij |i − j|: how many positions away attention goes", get: |s| s.distance },
    Stat { key: "to_cls", header: "→ [CLS]", title: "Share of attention to [CLS] (the first token)", get: |s| s.to_cls },
    Stat { key: "to_sep", header: "→ [SEP]", title: "Share of attention to [SEP] (every separator/end token)", get: |s| s.to_sep },
    Stat { key: "to_punct", header: "→ punct.", title: "Share of attention to punctuation tokens", get: |s| s.to_punct },
    Stat { key: "to_self", header: "→ self", title: "Share of attention to the token itself", get: |s| s.to_self },
    Stat { key: "to_prev", header: "→ previous", title: "Share of attention to the previous token (tokens that have one)", get: |s| s.to_prev },
    Stat { key: "to_next", header: "→ next", title: "Share of attention to the next token (tokens that have one)", get: |s| s.to_next },
];

/// A role's short name for the grid's cells.
pub fn role_mark(r: Role) -> &'static str {
    match r {
        Role::PreviousToken => "prev",
        Role::NextToken => "next",
        Role::SelfToken => "self",
        Role::SepSink => "SEP",
        Role::ClsSink => "CLS",
        Role::Punctuation => "punct",
        Role::Broad => "broad",
        Role::Unlabelled => "",
    }
}

/// What the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Layer,
    Role,
    Stat(usize),
}

/// One head's row.
#[derive(Clone, PartialEq)]
pub struct Row {
    pub layer: usize,
    pub head: usize,
    pub stats: HeadStats,
    pub role: Role,
}

fn sorted(rows: &[Row], by: Column, descending: bool) -> Vec<Row> {
    let mut out = rows.to_vec();
    out.sort_by(|a, b| {
        let o = match by {
            Column::Layer => (a.layer, a.head).cmp(&(b.layer, b.head)),
            Column::Role => a.role.name().cmp(b.role.name()).then((a.layer, a.head).cmp(&(b.layer, b.head))),
            Column::Stat(k) => {
                let get = STATS.get(k).map_or((|_| 0.0) as fn(&HeadStats) -> f32, |s| s.get);
                get(&a.stats).total_cmp(&get(&b.stats))
            }
        };
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    out
}

#[component]
pub fn StatsTable(#[prop(into)] rows: Signal<Vec<Row>>, on_pick: impl Fn(usize, usize) + Copy + Send + Sync + 'static) -> impl IntoView {
    let sort = RwSignal::new((Column::Layer, false));
    let header = move |col: Column, key: &'static str, text: &'static str, title: &'static str| {
        let aria = move || match sort.get() {
            (c, true) if c == col => "descending",
            (c, false) if c == col => "ascending",
            _ => "none",
        };
        view! {
            <th aria-sort=aria data-col=key title=title>
                <button class="sort" data-testid=format!("sort-{key}") on:click=move |_| sort.update(|(c, d)| {
                    // Numbers start from the largest; the layer and the role from the top.
                    *d = if *c == col { !*d } else { matches!(col, Column::Stat(_)) };
                    *c = col;
                })>{text}</button>
            </th>
        }
    };
    let heads = STATS.iter().enumerate().map(|(k, s)| header(Column::Stat(k), s.key, s.header, s.title)).collect_view();
    let body = move || {
        let (by, desc) = sort.get();
        sorted(&rows.get(), by, desc)
            .into_iter()
            .map(|r| {
                let (layer, head) = (r.layer, r.head);
                let cells = STATS
                    .iter()
                    .map(|s| view! { <td data-col=s.key>{format!("{:.3}", (s.get)(&r.stats))}</td> })
                    .collect_view();
                view! {
                    <tr data-testid="stats-row" data-layer=layer.to_string() data-head=head.to_string() on:click=move |_| on_pick(layer, head)>
                        <td data-col="layer">{format!("L{layer} · H{head}")}</td>
                        <td data-col="role"><span class="role" data-testid="role-label" data-role=r.role.name() title=r.role.rule()>{r.role.name()}</span></td>
                        {cells}
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <div class="table-wrap">
            <table class="stats" data-testid="stats-table">
                <thead><tr>
                    {header(Column::Layer, "layer", "Head", "Layer and head")}
                    {header(Column::Role, "role", "Role", "The first rule that holds (hover a label for its rule)")}
                    {heads}
                </tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
