//! Token focus: choose tokens (several are summed) and see where they attend in the selected
//! layer and source (a head, a fusion of heads, rollout or flow), who attends to them, and per
//! head of every layer how much they attend to a chosen target and the target to them — where
//! in the network a relation such as bank → deposit lives. Works on the options' axis: merged
//! words are chosen as one, hidden specials cannot be chosen.

use leptos::callback::Callback;
use leptos::prelude::*;

use super::bars::{BarChart, BarsData};
use super::head_grid::{GridData, HeadGrid};
use super::selection::SourceKind;
use super::session::Session;
use crate::analysis::Unit;
use crate::protocol::SliceKind;
use crate::viz::format_weight;

/// The chosen units' labels, joined ("bank", "bank + money"), or a dash.
fn names(axis: &[Unit], picked: &[usize]) -> String {
    let chosen: Vec<&str> =
        axis.iter().filter(|u| u.members.iter().any(|m| picked.contains(m))).map(|u| u.label.as_str()).collect();
    if chosen.is_empty() {
        "–".into()
    } else {
        chosen.join(" + ")
    }
}

#[component]
pub fn FocusView(session: Session) -> impl IntoView {
    let sel = session.selection;
    // Start from the shared focused token, else the first word.
    Effect::new(move |_| {
        let first = session.run.with(|r| r.as_ref().and_then(|r| r.tokens.iter().position(|t| !t.special)));
        if sel.with_untracked(|s| s.focus.is_empty()) {
            let start = sel.with_untracked(|s| s.token).or(first);
            if let Some(t) = start {
                sel.update(|s| s.toggle_focus(&[t], false));
            }
        }
    });
    let kind = Memo::new(move |_| {
        sel.with(|s| SliceKind::Focus { layer: s.layer, source: s.source(), rows: s.focus.clone(), target: s.target.clone() })
    });
    let slice = Memo::new(move |_| session.slice(kind.get()));
    let refused = move || session.refusal(kind.get());
    // A refusal is this run's answer too: the status must not wait for a picture.
    Effect::new(move |_| {
        if refused().is_some() {
            session.mark_drawn();
        }
    });
    let shape = move || session.run.with(|r| r.as_ref().map(|r| (r.shape.layers, r.shape.heads)).unwrap_or((0, 0)));
    let chosen_flags = move |target: bool| {
        let axis = session.axis.get();
        sel.with(|s| {
            let set = if target { &s.target } else { &s.focus };
            axis.iter().map(|u| u.members.iter().any(|m| set.contains(m))).collect::<Vec<bool>>()
        })
    };
    let bars = move |part: usize| {
        let s = slice.get()?;
        let axis = session.axis.get();
        let m = axis.len();
        if s.dims.first() != Some(&m) {
            return None;
        }
        Some(BarsData {
            labels: axis.iter().map(|u| u.label.clone()).collect(),
            special: axis.iter().map(|u| u.special).collect(),
            values: s.data.get(part * m..(part + 1) * m)?.to_vec(),
            chosen: chosen_flags(false),
            target: chosen_flags(true),
        })
    };
    let grid = move |part: usize| {
        let s = slice.get()?;
        let [m, layers, heads] = s.dims[..] else { return None };
        let start = 2 * m + part * layers * heads;
        let values = s.data.get(start..start + layers * heads)?.to_vec();
        let legend = if part == 0 { "chosen → target" } else { "target → chosen" };
        Some(GridData::from_zero(layers, heads, values, legend.into()))
    };
    let who = move || session.axis.with(|a| sel.with(|s| names(a, &s.focus)));
    let target_names = move || session.axis.with(|a| sel.with(|s| names(a, &s.target)));
    let place = move || {
        sel.with(|s| match s.source {
            SourceKind::Head => format!("layer {}, head {}", s.layer, s.head),
            k => format!("layer {}, {}", s.layer, k.label()),
        })
    };
    let pick = Callback::new(move |(layer, head): (usize, usize)| {
        sel.update(|s| {
            s.layer = layer;
            s.head = head;
            s.source = SourceKind::Head;
        })
    });
    let grid_tip = move |dir: usize| {
        Callback::new(move |(l, h, v): (usize, usize, f32)| {
            let (a, b) = if dir == 0 { (who(), target_names()) } else { (target_names(), who()) };
            format!("Layer {l} · Head {h} · {a} → {b} : {}", format_weight(v))
        })
    };
    let chips = move |target: bool| {
        let axis = session.axis.get();
        let flags = chosen_flags(target);
        axis.into_iter()
            .enumerate()
            .map(|(i, u)| {
                let on = flags.get(i).copied().unwrap_or(false);
                let id = if target { format!("focus-target-{i}") } else { format!("focus-token-{i}") };
                let members = u.members.clone();
                view! {
                    <button class="token-chip" class:special=u.special data-testid=id aria-pressed=on.to_string()
                        on:click=move |_| sel.update(|s| s.toggle_focus(&members, target))>{u.label.clone()}</button>
                }
            })
            .collect_view()
    };
    let (lh_layers, lh_heads) = (move || shape().0, move || shape().1);

    view! {
        <p class="caption">"Click tokens to choose them (several are summed). Pick a target to see, in every head of every \
            layer, how much the chosen tokens attend to it. Click a cell of a grid to open that head."</p>
        <div class="token-picker" data-testid="focus-tokens"><span class="picker-label">"Chosen"</span>{move || chips(false)}</div>
        <div class="token-picker targets" data-testid="focus-targets"><span class="picker-label">"Target"</span>{move || chips(true)}</div>
        <Show when=move || refused().is_some()>
            <p class="note error-note" data-testid="slice-refused">{move || refused().unwrap_or_default()}</p>
        </Show>
        <div class="panes" class:hidden=move || refused().is_some()>
            <div class="pane">
                <h3 data-testid="focus-to-title">{move || format!("Where {} attends · {}", who(), place())}</h3>
                <BarChart session=session testid="focus-bars-to" tip_testid="focus-bars-to-tooltip" label="to"
                    data=Signal::derive(move || bars(0))/>
            </div>
            <div class="pane">
                <h3>{move || format!("Who attends to {} · {}", who(), place())}</h3>
                <BarChart session=session testid="focus-bars-by" tip_testid="focus-bars-by-tooltip" label="from"
                    data=Signal::derive(move || bars(1))/>
            </div>
        </div>
        <div class="panes">
            <div class="pane">
                <h3 data-testid="focus-grid-title">{move || format!("{} → {} in each of the {} × {} heads", who(), target_names(), lh_layers(), lh_heads())}</h3>
                <Show when=move || sel.with(|s| s.target.is_empty())>
                    <p class="hint">"Pick a target above."</p>
                </Show>
                <HeadGrid session=session testid="focus-grid" tip_testid="focus-grid-tooltip" data=Signal::derive(move || grid(0))
                    tip=grid_tip(0) on_pick=pick/>
            </div>
            <div class="pane">
                <h3>{move || format!("The reverse: {} → {}", target_names(), who())}</h3>
                <HeadGrid session=session testid="focus-grid-back" tip_testid="focus-grid-back-tooltip" data=Signal::derive(move || grid(1))
                    tip=grid_tip(1) on_pick=pick/>
            </div>
        </div>
    }
}
