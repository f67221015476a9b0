//! Compare: two runs side by side — two texts on one model ("bank" by the money and by the
//! river), or one text on two models with the same tokenizer (before and after fine-tuning) —
//! with B − A on a diverging scale and a layers × heads grid of how much each head changed
//! (mean absolute difference or Jensen–Shannon divergence). Layer and head are shared by both
//! panes when the models' shapes match; where the tokenisations differ the page says so and
//! compares only the tokens that line up.

use std::time::Duration;

use leptos::callback::Callback;
use leptos::prelude::*;

use super::compare_state::{alignment_note, shape_note, CompareLoad, CompareMode};
use super::head_grid::{GridData, HeadGrid};
use super::heatmap_draw::Scale;
use super::matrix::{MatrixData, MatrixView};
use super::session::Session;
use super::state::{bundled_source, LoadState};
use crate::analysis::head_max;
use crate::catalog::CATALOG;
use crate::protocol::{ModelSource, SliceKind};
use crate::slice::compare_axes;
use crate::viz::{format_weight, ColourScale, DivergingScale};

#[component]
pub fn CompareView(session: Session) -> impl IntoView {
    let c = session.compare;
    let sel = session.selection;
    let metric_js = RwSignal::new(false);
    let b_sel = RwSignal::new((0usize, 0usize));
    let edits = StoredValue::new(0u64);
    c.open(session);
    on_cleanup(move || c.close(session));

    // Model B: the first bundled model other than A, unless the user chose one.
    let choices = move || {
        let url = session.models_url.get();
        let mut out: Vec<(String, ModelSource)> =
            session.bundled.get().iter().map(|b| (format!("{} (bundled)", b.name()), bundled_source(&url, b))).collect();
        let hub = session.source.with(|s| s.hub.clone());
        out.extend(CATALOG.iter().map(|e| {
            (format!("{} ({} MB)", e.label, e.megabytes), ModelSource { hub: hub.clone(), repo: e.repo.into(), revision: "main".into() })
        }));
        out
    };
    Effect::new(move |_| {
        if c.mode.get() == CompareMode::Models && c.model_b.with_untracked(Option::is_none) {
            let a = session.source.with(|s| s.repo.clone());
            if let Some((_, src)) = choices().into_iter().find(|(_, s)| s.repo != a) {
                c.model_b.set(Some(src));
            }
        }
    });
    // Keep side B up to date: a new run A (its text, in two-models mode), mode or model B.
    Effect::new(move |_| {
        session.run.track();
        c.mode.track();
        c.model_b.track();
        if matches!(session.load.get(), LoadState::Ready(_)) {
            c.sync(session);
        }
    });
    let on_text_b = move |text: String| {
        c.text_b.set(text);
        let g = edits.get_value() + 1;
        edits.set_value(g);
        set_timeout(move || if edits.get_value() == g { c.sync(session) }, Duration::from_millis(300));
    };

    let b_run = move || c.run.with(|r| r.as_ref().map(|r| (r.id, r.shape)));
    let a_shape = move || session.run.with(|r| r.as_ref().map(|r| r.shape));
    let shapes_match = move || match (a_shape(), b_run()) {
        (Some(a), Some((_, b))) => (a.layers, a.heads) == (b.layers, b.heads),
        _ => true,
    };
    let (layer_b, head_b) = (
        move || if shapes_match() { sel.with(|s| s.layer) } else { b_sel.get().0 },
        move || if shapes_match() { sel.with(|s| s.head) } else { b_sel.get().1 },
    );
    // The aligned axis (A's units that have a match in B) and the notes.
    let aligned = Memo::new(move |_| {
        let options = sel.with(|s| s.options);
        let a = session.run.with(|r| r.as_ref().map(|r| r.tokens.clone()))?;
        let b = c.run.with(|r| r.as_ref().map(|r| r.tokens.clone()))?;
        let (ua, ub, al) = compare_axes(&a, &b, options);
        let la: Vec<String> = ua.iter().map(|u| u.label.clone()).collect();
        let lb: Vec<String> = ub.iter().map(|u| u.label.clone()).collect();
        let note = alignment_note(&la, &lb, &al);
        let axis: Vec<_> = al.left().into_iter().filter_map(|i| ua.get(i).cloned()).collect();
        Some((axis, note))
    });
    let align_note = move || aligned.with(|a| a.as_ref().and_then(|(_, n)| n.clone()));
    let shape_text = move || match (a_shape(), b_run()) {
        (Some(a), Some((_, b))) => shape_note(a, b),
        _ => None,
    };
    let pair_kind = move || {
        let (id, _) = b_run()?;
        Some(SliceKind::CompareHead { other: id, layer: sel.with(|s| s.layer), head: sel.with(|s| s.head), layer_b: layer_b(), head_b: head_b() })
    };
    let pair = Memo::new(move |_| session.slice(pair_kind()?));
    let heads = Memo::new(move |_| session.slice(SliceKind::CompareHeads { other: b_run()?.0 }));
    let refused = move || {
        let mut reasons: Vec<String> = [pair_kind(), b_run().map(|(id, _)| SliceKind::CompareHeads { other: id })]
            .into_iter()
            .flatten()
            .filter_map(|k| session.refusal(k))
            .collect();
        reasons.dedup();
        (!reasons.is_empty()).then(|| reasons.join(" "))
    };
    let pane = move |part: usize| {
        let s = pair.get()?;
        let axis = aligned.with(|a| a.as_ref().map(|(axis, _)| axis.clone()))?;
        let [3, k, _] = s.dims[..] else { return None };
        if k != axis.len() {
            return None;
        }
        let values = s.data.get(part * k * k..(part + 1) * k * k)?.to_vec();
        let scale = if part == 2 {
            Scale::Signed(DivergingScale::for_values(&values))
        } else {
            Scale::Weights(ColourScale::new(head_max(s.data.get(..2 * k * k)?)))
        };
        Some(MatrixData { axis, values, scale })
    };
    let grid = move || {
        let s = heads.get()?;
        let [2, layers, hs] = s.dims[..] else { return None };
        let js = metric_js.get();
        let start = if js { layers * hs } else { 0 };
        let values = s.data.get(start..start + layers * hs)?.to_vec();
        let legend = if js { "JS divergence (bits)" } else { "mean |B − A|" };
        Some(GridData::from_zero(layers, hs, values, legend.into()))
    };
    let grid_tip = Callback::new(move |(l, h, v): (usize, usize, f32)| {
        let what = if metric_js.get_untracked() { "JS divergence" } else { "mean |B − A|" };
        format!("Layer {l} · Head {h} · {what} {}", format_weight(v))
    });
    let pick = Callback::new(move |(l, h): (usize, usize)| {
        sel.update(|s| {
            s.layer = l;
            s.head = h;
        });
        b_sel.set((l, h));
    });
    let name_a = move || match c.mode.get() {
        CompareMode::Texts => format!("A: \u{201c}{}\u{201d}", session.text.get()),
        CompareMode::Models => format!("A: {}", session.source.with(|s| s.repo.clone())),
    };
    let name_b = move || match c.mode.get() {
        CompareMode::Texts => format!("B: \u{201c}{}\u{201d}", c.text_b.get()),
        CompareMode::Models => format!("B: {}", c.model_b.with(|m| m.as_ref().map(|m| m.repo.clone()).unwrap_or_default())),
    };
    let where_a = move || sel.with(|s| format!("layer {}, head {}", s.layer, s.head));
    let where_b = move || format!("layer {}, head {}", layer_b(), head_b());
    let b_options = move |count: usize, current: usize| {
        (0..count).map(|k| view! { <option value=k.to_string() selected=k == current>{k.to_string()}</option> }).collect_view()
    };

    view! {
        <div class="view-controls compare-controls">
            <label>"Compare "<select data-testid="compare-mode" on:change=move |ev| {
                let mode = CompareMode::from_name(&event_target_value(&ev)).unwrap_or_default();
                c.forget_run();
                c.mode.set(mode);
            }>
                <option value="texts" selected=move || c.mode.get() == CompareMode::Texts>"two texts, this model"</option>
                <option value="models" selected=move || c.mode.get() == CompareMode::Models>"two models, this text"</option>
            </select></label>
            <Show when=move || c.mode.get() == CompareMode::Models>
                <label>"Model B "<select data-testid="compare-model-b" on:change=move |ev| {
                    let k: usize = event_target_value(&ev).parse().unwrap_or(0);
                    if let Some((_, src)) = choices().into_iter().nth(k) {
                        c.model_b.set(Some(src));
                    }
                }>{move || {
                    let current = c.model_b.get();
                    choices().into_iter().enumerate().map(|(k, (label, src))| {
                        view! { <option value=k.to_string() selected=current.as_ref() == Some(&src)>{label}</option> }
                    }).collect_view()
                }}</select></label>
                <span class="hint" data-testid="compare-status" data-state=move || c.load.with(CompareLoad::name)>{move || c.load.with(CompareLoad::describe)}</span>
                <Show when=move || matches!(c.load.get(), CompareLoad::Failed(_))>
                    <button data-testid="compare-retry" on:click=move |_| {
                        if let Some(src) = c.model_b.get_untracked() {
                            c.start_load(session, src);
                        }
                    }>"Retry"</button>
                </Show>
            </Show>
            <label>"Per-head change "<select data-testid="compare-metric" on:change=move |ev| metric_js.set(event_target_value(&ev) == "js")>
                <option value="mad">"mean absolute difference"</option>
                <option value="js">"Jensen–Shannon divergence"</option>
            </select></label>
        </div>
        <Show when=move || c.mode.get() == CompareMode::Texts>
            <label class="field grow">"Text B"
                <textarea data-testid="compare-text-b" rows="2" prop:value=move || c.text_b.get()
                    on:input=move |ev| on_text_b(event_target_value(&ev))></textarea>
            </label>
        </Show>
        <div data-testid="compare-panel" data-run-b=move || b_run().map(|(id, _)| id.to_string()).unwrap_or_default()
            data-busy=move || c.busy.get().to_string()>
            <Show when=move || c.error.get().is_some()>
                <p class="note error-note" data-testid="compare-error">{move || c.error.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || align_note().is_some()>
                <p class="note" data-testid="compare-align-note">{move || align_note().unwrap_or_default()}</p>
            </Show>
            <Show when=move || shape_text().is_some()>
                <p class="note" data-testid="compare-shape-note">{move || shape_text().unwrap_or_default()}</p>
                <div class="view-controls">
                    <label>"B: layer "<select data-testid="compare-layer-b" on:change=move |ev| b_sel.update(|b| b.0 = event_target_value(&ev).parse().unwrap_or(0))>
                        {move || b_options(b_run().map_or(0, |(_, s)| s.layers), b_sel.get().0)}</select></label>
                    <label>"head "<select data-testid="compare-head-b" on:change=move |ev| b_sel.update(|b| b.1 = event_target_value(&ev).parse().unwrap_or(0))>
                        {move || b_options(b_run().map_or(0, |(_, s)| s.heads), b_sel.get().1)}</select></label>
                </div>
            </Show>
            <Show when=move || refused().is_some()>
                <p class="note error-note" data-testid="slice-refused">{move || refused().unwrap_or_default()}</p>
            </Show>
            <div class="panes">
                <div class="pane">
                    <h3>"How much each head changed (click one to open it)"</h3>
                    <HeadGrid session=session testid="compare-grid" tip_testid="compare-grid-tooltip" data=Signal::derive(grid) tip=grid_tip on_pick=pick/>
                </div>
                <div class="pane">
                    <h3>{move || format!("B − A · {} (red: B attends more, blue: less)", where_a())}</h3>
                    <MatrixView session=session testid="compare-diff" tip_testid="compare-diff-tooltip" data=Signal::derive(move || pane(2))/>
                </div>
            </div>
            <div class="panes">
                <div class="pane">
                    <h3>{move || format!("{} · {}", name_a(), where_a())}</h3>
                    <MatrixView session=session testid="compare-a" tip_testid="compare-a-tooltip" data=Signal::derive(move || pane(0))/>
                </div>
                <div class="pane">
                    <h3>{move || format!("{} · {}", name_b(), where_b())}</h3>
                    <MatrixView session=session testid="compare-b" tip_testid="compare-b-tooltip" data=Signal::derive(move || pane(1))/>
                </div>
            </div>
        </div>
    }
}
