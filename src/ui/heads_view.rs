//! Head statistics and roles: for every head its entropy, mean attention distance and shares of
//! attention to [CLS], [SEP], punctuation, itself and its neighbours (Clark et al. 2019), as a
//! layers × heads grid coloured by any of them (Dodrio's head overview) and a sortable table,
//! with the role each head's numbers earn and the rule behind it. Over this input, or averaged
//! over the built-in corpus, which the worker runs through the model.

use leptos::callback::Callback;
use leptos::prelude::*;

use super::head_grid::{GridData, HeadGrid};
use super::selection::ViewKind;
use super::session::Session;
use super::stats_table::{role_mark, Row, StatsTable, STATS};
use crate::analysis::corpus;
use crate::protocol::SliceKind;
use crate::slice::{decode_stats, ROLES};

#[component]
pub fn HeadsView(session: Session) -> impl IntoView {
    let corpus_on = RwSignal::new(false);
    let colour_by = RwSignal::new(7usize); // previous-token share: a role that shows at once
    let kind = Memo::new(move |_| SliceKind::HeadStats { corpus: corpus_on.get() });
    let rows = Memo::new(move |_| {
        let Some(s) = session.slice(kind.get()) else { return Vec::new() };
        let [_, heads, _] = s.dims[..] else { return Vec::new() };
        decode_stats(&s.dims, &s.data)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(k, (stats, role))| Row { layer: k / heads.max(1), head: k % heads.max(1), stats, role })
            .collect::<Vec<_>>()
    });
    let refused = move || session.refusal(kind.get());
    // A refusal is this run's answer too: the status must not wait for a picture.
    Effect::new(move |_| {
        if refused().is_some() {
            session.mark_drawn();
        }
    });
    let shape = move || session.run.with(|r| r.as_ref().map(|r| (r.shape.layers, r.shape.heads)).unwrap_or((0, 0)));
    let grid = move || {
        let rows = rows.get();
        let (layers, heads) = shape();
        if rows.len() != layers * heads || rows.is_empty() {
            return None;
        }
        let stat = STATS.get(colour_by.get())?;
        let values: Vec<f32> = rows.iter().map(|r| (stat.get)(&r.stats)).collect();
        let mut g = GridData::from_zero(layers, heads, values, stat.header.to_string());
        if stat.key != "entropy_bits" && stat.key != "distance" {
            g.range = (0.0, 1.0);
        }
        g.marks = rows.iter().map(|r| role_mark(r.role).to_string()).collect();
        Some(g)
    };
    let pick = move |layer: usize, head: usize| {
        session.selection.update(|s| {
            s.layer = layer;
            s.head = head;
            s.view = ViewKind::Heatmap;
        })
    };
    let tip = Callback::new(move |(l, h, v): (usize, usize, f32)| {
        let role = rows.with(|r| r.get(l * shape().1 + h).map(|r| r.role));
        let stat = STATS.get(colour_by.get_untracked()).map_or("", |s| s.header);
        let role = role.map_or(String::new(), |r| format!(" · {}", r.rule()));
        format!("Layer {l} · Head {h} · {stat} {v:.3}{role}")
    });
    let stat_options = STATS
        .iter()
        .enumerate()
        .map(|(k, s)| view! { <option value=k.to_string() selected=move || colour_by.get() == k>{s.header}</option> })
        .collect_view();
    let sentences = corpus::sentences().len();
    let rules = ROLES
        .iter()
        .map(|r| view! { <li><span class="role" title=r.rule()>{r.name()}</span>" — "{r.rule()}</li> })
        .collect_view();

    view! {
        <div class="view-controls">
            <label>"Statistics of "<select data-testid="stats-source" on:change=move |ev| corpus_on.set(event_target_value(&ev) == "corpus")>
                <option value="input">"this input"</option>
                <option value="corpus">{format!("the built-in corpus ({sentences} sentences)")}</option>
            </select></label>
            <label>"Colour the grid by "<select data-testid="stats-colour" on:change=move |ev| {
                colour_by.set(event_target_value(&ev).parse().unwrap_or(0));
            }>{stat_options}</select></label>
        </div>
        <Show when=move || corpus_on.get()>
            <p class="note" data-testid="corpus-note">{format!(
                "Averaged over {sentences} varied English sentences written for this project and placed in the public domain \
                 (CC0; assets/corpus/sentences.txt): questions, quotations, lists, numbers, names, long clauses, garden paths, \
                 ambiguous pronouns and both senses of \u{201c}bank\u{201d}. The model runs them here, in this browser."
            )}</p>
        </Show>
        <Show when=move || corpus_on.get() && session.corpus.get().is_some()>
            <p class="note" data-testid="corpus-progress">{move || {
                let (done, total) = session.corpus.get().unwrap_or((0, 0));
                format!("Running the model over the corpus: {done} of {total} sentences…")
            }}</p>
        </Show>
        <Show when=move || refused().is_some()>
            <p class="note error-note" data-testid="slice-refused">{move || refused().unwrap_or_default()}</p>
        </Show>
        <p class="caption">"Each cell is a head (rows: layers, columns: heads), coloured by the chosen statistic and labelled with \
            its role. Hover for the numbers and the role's rule; click a head, or a row of the table, to open it in the heatmap."</p>
        <HeadGrid session=session testid="stats-grid" tip_testid="stats-grid-tooltip" data=Signal::derive(grid) tip=tip
            on_pick=Callback::new(move |(l, h): (usize, usize)| pick(l, h))/>
        <details class="rules" data-testid="role-rules">
            <summary>"Role labels and their rules (a head gets the first that holds)"</summary>
            <ul>{rules}</ul>
        </details>
        <StatsTable rows=Signal::derive(move || rows.get()) on_pick=pick/>
    }
}
