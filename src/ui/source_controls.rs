//! The "source" selector of the heatmap, the head view and the token focus: one head, the
//! mean, max or min of the chosen heads (per layer), or attention rollout or flow across the
//! layers (Abnar & Zuidema 2020), with the chosen heads and what each aggregate means.

use leptos::prelude::*;

use super::head_chips::HeadChips;
use super::selection::{SourceKind, ViewKind};
use super::session::Session;
use crate::analysis::{flow_fits, flow_max_tokens};

#[component]
pub fn SourceControls(session: Session) -> impl IntoView {
    let sel = session.selection;
    let view = Memo::new(move |_| sel.with(|s| s.view));
    let kind = Memo::new(move |_| sel.with(|s| s.source));
    let options = SourceKind::ALL
        .into_iter()
        .map(|k| view! { <option value=k.name() selected=move || kind.get() == k>{k.label()}</option> })
        .collect_view();
    // The head view has its chips already (they choose the heads it shows, and combines).
    let chips = move || kind.get().is_aggregate() && view.get() != ViewKind::Head;
    let explain = move || {
        let layer = sel.with(|s| s.layer);
        let heads = sel.with(|s| s.active_heads().len());
        let m = session.axis.with(Vec::len);
        let through = if layer == 0 { "layer 0".to_string() } else { format!("layers 0–{layer}") };
        match kind.get() {
            SourceKind::Head => None,
            SourceKind::Mean | SourceKind::Max | SourceKind::Min => Some(format!(
                "The element-wise {} of the {heads} chosen heads of layer {layer} (the {} shows where {} head looks).",
                kind.get().name(),
                kind.get().name(),
                match kind.get() {
                    SourceKind::Max => "some",
                    SourceKind::Min => "every",
                    _ => "the average",
                }
            )),
            SourceKind::Rollout => Some(format!(
                "Attention rollout (Abnar & Zuidema 2020) through {through}: each layer's mean of the {heads} chosen heads, \
                 with the residual connection added as 0.5·A + 0.5·I, multiplied from the first layer up. Row i: how much of \
                 token i after layer {layer} comes from each input token (rows sum to 1)."
            )),
            SourceKind::Flow => Some(format!(
                "Attention flow (Abnar & Zuidema 2020) through {through}: the maximum flow from each input token to each token \
                 after layer {layer} in the graph of the residual-augmented mean of the {heads} chosen heads (raw values, each \
                 at most 1). It runs only on inputs short enough to finish in about a second: up to {} tokens through \
                 {through}{}.",
                flow_max_tokens(layer + 1),
                if flow_fits(layer + 1, m) { format!(" (this input: {m})") } else { format!("; this input has {m}") }
            )),
        }
    };

    view! {
        <div class="source-controls" class:hidden=move || !view.get().uses_source()>
            <label>"Source "<select data-testid="source-select" on:change=move |ev| {
                let k = SourceKind::from_name(&event_target_value(&ev)).unwrap_or_default();
                sel.update(|s| s.source = k);
            }>{options}</select></label>
            <Show when=chips>
                <span class="hint">"Heads to combine:"</span>
                <HeadChips session=session/>
            </Show>
        </div>
        <Show when=move || view.get().uses_source() && explain().is_some()>
            <p class="note" data-testid=move || if kind.get() == SourceKind::Flow { "flow-limit" } else { "source-note" }>
                {move || explain().unwrap_or_default()}
            </p>
        </Show>
    }
}
