//! The view panel: tabs, the options every view shares, and the active view. All views read
//! one [`super::selection::Selection`], so switching keeps the layer, heads and token.

use leptos::prelude::*;

use super::compare_view::CompareView;
use super::export_bar::ExportBar;
use super::focus_view::FocusView;
use super::head_view::HeadView;
use super::heads_view::HeadsView;
use super::heatmap::HeatmapView;
use super::model_view::ModelView;
use super::neuron_view::NeuronView;
use super::selection::{ScaleMode, SourceKind, ViewKind};
use super::session::Session;
use super::source_controls::SourceControls;
use super::state::LoadState;
use crate::analysis::Strongest;

/// Which display filter the "Show" control is set to (its value lives in the slider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterMode {
    All,
    TopK,
    MinWeight,
}

fn strongest(mode: FilterMode, value: f64) -> Strongest {
    match mode {
        FilterMode::All => Strongest::All,
        FilterMode::TopK => Strongest::TopK(value.round().max(1.0) as usize),
        FilterMode::MinWeight => Strongest::MinWeight(value as f32),
    }
}

/// `embedded`: the view of an embed (no tabs, no export row; the link chose the view).
#[component]
pub fn ViewPanel(session: Session, #[prop(optional)] embedded: bool) -> impl IntoView {
    let sel = session.selection;
    // The "Show" control starts from the selection (a link may have set it).
    let (mode0, value0) = match sel.with_untracked(|s| s.strongest) {
        Strongest::All => (FilterMode::All, 0.1),
        Strongest::TopK(k) => (FilterMode::TopK, k as f64),
        Strongest::MinWeight(w) => (FilterMode::MinWeight, f64::from(w)),
    };
    let filter_mode = RwSignal::new(mode0);
    let filter_value = RwSignal::new(value0);
    let view = Memo::new(move |_| sel.with(|s| s.view));
    let shape = move || match session.load.get() {
        LoadState::Ready(i) => (i.layers, i.heads),
        _ => (0, 0),
    };
    let set_filter = move || sel.update(|s| s.strongest = strongest(filter_mode.get_untracked(), filter_value.get_untracked()));
    let source = Memo::new(move |_| sel.with(|s| s.source));
    // Which controls each view uses.
    let no_layer = move || matches!(view.get(), ViewKind::Model | ViewKind::Heads);
    let no_head = move || match view.get() {
        ViewKind::Model | ViewKind::Head | ViewKind::Heads => true,
        v => v.uses_source() && source.get() != SourceKind::Head,
    };
    let no_filter = move || !matches!(view.get(), ViewKind::Heatmap | ViewKind::Head | ViewKind::Model);

    let tabs = ViewKind::ALL
        .into_iter()
        .map(|v| {
            view! {
                <button role="tab" class="tab" data-testid=format!("view-tab-{}", v.name())
                    aria-selected=move || (view.get() == v).to_string()
                    on:click=move |_| sel.update(|s| s.view = v)>{v.label()}</button>
            }
        })
        .collect_view();
    // ALBERT runs one set of weights in every layer: say so wherever a layer is named.
    let weight_groups = move || match session.load.get() {
        LoadState::Ready(i) if i.shared_layers() => Some(i.weight_groups),
        _ => None,
    };
    let layer_options = move || {
        let groups = weight_groups();
        (0..shape().0)
            .map(|l| {
                let label = match groups.as_ref().and_then(|g| g.get(l)) {
                    Some(g) => format!("Layer {l} (weights {g})"),
                    None => format!("Layer {l}"),
                };
                view! { <option value=l.to_string() selected=move || sel.with(|s| s.layer == l)>{label}</option> }
            })
            .collect_view()
    };
    let head_options = move || {
        (0..shape().1)
            .map(|h| view! { <option value=h.to_string() selected=move || sel.with(|s| s.head == h)>{format!("Head {h}")}</option> })
            .collect_view()
    };
    let (min, max, step) = (
        move || if filter_mode.get() == FilterMode::TopK { "1" } else { "0" },
        move || if filter_mode.get() == FilterMode::TopK { "10" } else { "0.5" },
        move || if filter_mode.get() == FilterMode::TopK { "1" } else { "0.01" },
    );

    view! {
        <section class="view" data-testid="view-panel" data-view=move || view.get().name()
            data-layer=move || sel.with(|s| s.layer).to_string()
            data-head=move || sel.with(|s| s.head).to_string()
            data-token=move || sel.with(|s| s.token.map(|t| t.to_string()).unwrap_or_default())
            data-slice-requests=move || session.requests.get().to_string()
            data-run-id=move || session.run.with(|r| r.as_ref().map(|r| r.id.to_string()).unwrap_or_default())>
            <div class="tabs" role="tablist" class:hidden=embedded>{tabs}</div>
            <div class="view-controls">
                <label class:hidden=no_layer>"Layer "<select data-testid="layer-select"
                    prop:value=move || sel.with(|s| s.layer.to_string())
                    on:change=move |ev| sel.update(|s| s.layer = event_target_value(&ev).parse().unwrap_or(0))>{layer_options}</select></label>
                <label class:hidden=no_head>"Head "<select data-testid="head-select"
                    prop:value=move || sel.with(|s| s.head.to_string())
                    on:change=move |ev| sel.update(|s| s.head = event_target_value(&ev).parse().unwrap_or(0))>{head_options}</select></label>
                <label class:hidden=move || view.get() != ViewKind::Heatmap>"Colour scale "<select data-testid="scale-select"
                    prop:value=move || sel.with(|s| s.scale.name())
                    on:change=move |ev| sel.update(|s| s.scale = ScaleMode::from_name(&event_target_value(&ev)).unwrap_or_default())>
                    <option value="head" selected=move || sel.with(|s| s.scale == ScaleMode::HeadMax)>"0 – head maximum"</option>
                    <option value="unit" selected=move || sel.with(|s| s.scale == ScaleMode::Unit)>"0 – 1"</option>
                </select></label>
                <label class="check" class:hidden=move || view.get() == ViewKind::Neuron><input type="checkbox" data-testid="opt-hide-special"
                    prop:checked=move || sel.with(|s| s.options.hide_special)
                    on:change=move |ev| sel.update(|s| s.options.hide_special = event_target_checked(&ev))/>"Hide [CLS]/[SEP]"</label>
                <label class="check" class:hidden=move || view.get() == ViewKind::Neuron><input type="checkbox" data-testid="opt-merge-words"
                    prop:checked=move || sel.with(|s| s.options.merge_words)
                    on:change=move |ev| sel.update(|s| s.options.merge_words = event_target_checked(&ev))/>"Merge word pieces"</label>
                <label class:hidden=no_filter>"Show "<select data-testid="opt-filter"
                    prop:value=move || match filter_mode.get() { FilterMode::All => "all", FilterMode::TopK => "topk", FilterMode::MinWeight => "min" }
                    on:change=move |ev| {
                    let (mode, value) = match event_target_value(&ev).as_str() {
                        "topk" => (FilterMode::TopK, 3.0),
                        "min" => (FilterMode::MinWeight, 0.1),
                        _ => (FilterMode::All, 0.0),
                    };
                    filter_mode.set(mode);
                    filter_value.set(value);
                    set_filter();
                }>
                    <option value="all" selected=move || filter_mode.get() == FilterMode::All>"all weights"</option>
                    <option value="topk" selected=move || filter_mode.get() == FilterMode::TopK>"top k per row"</option>
                    <option value="min" selected=move || filter_mode.get() == FilterMode::MinWeight>"weights ≥ threshold"</option>
                </select></label>
                <label class:hidden=move || filter_mode.get() == FilterMode::All || no_filter()>
                    <input type="range" data-testid="opt-filter-value" min=min max=max step=step
                        prop:value=move || filter_value.get().to_string()
                        on:input=move |ev| { filter_value.set(event_target_value(&ev).parse().unwrap_or(0.0)); set_filter(); }/>
                    <span class="value">{move || match sel.with(|s| s.strongest) {
                        Strongest::TopK(k) => format!("top {k}"),
                        Strongest::MinWeight(w) => format!("≥ {w:.2}"),
                        Strongest::All => String::new(),
                    }}</span>
                </label>
            </div>
            <SourceControls session=session/>
            <Show when=move || weight_groups().is_some()>
                <p class="note" data-testid="shared-layers-note">{move || {
                    let sets = weight_groups().map(|mut g| { g.sort_unstable(); g.dedup(); g.len() }).unwrap_or(1);
                    format!("The layers of this model share weights ({sets} set(s) of weights run again and again, ALBERT's design): layers with the same weights still attend differently, because their input differs.")
                }}</p>
            </Show>
            <Show when=move || sel.with(|s| s.options.hide_special) && view.get() != ViewKind::Neuron>
                <p class="note" data-testid="renorm-note">"[CLS] and [SEP] are hidden; each remaining row is renormalised to sum to 1."</p>
            </Show>
            <Show when=move || sel.with(|s| s.options.merge_words) && view.get() != ViewKind::Neuron>
                <p class="note" data-testid="merge-note">"Word pieces merged into words: attention to a word is the sum over its pieces, attention from a word is the mean over its pieces (Clark et al., 2019)."</p>
            </Show>
            <Show when=move || session.slice_error.get().is_some()>
                <p class="note error-note" data-testid="slice-error">{move || session.slice_error.get().unwrap_or_default()}</p>
            </Show>
            {move || match view.get() {
                ViewKind::Heatmap => view! { <HeatmapView session=session/> }.into_any(),
                ViewKind::Head => view! { <HeadView session=session/> }.into_any(),
                ViewKind::Model => view! { <ModelView session=session/> }.into_any(),
                ViewKind::Neuron => view! { <NeuronView session=session/> }.into_any(),
                ViewKind::Focus => view! { <FocusView session=session/> }.into_any(),
                ViewKind::Heads => view! { <HeadsView session=session/> }.into_any(),
                ViewKind::Compare => view! { <CompareView session=session/> }.into_any(),
            }}
            {(!embedded).then(|| view! { <ExportBar session=session/> })}
        </section>
    }
}
