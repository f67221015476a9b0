//! The head chips: one toggle per head of the model, in its head-view colour. They choose the
//! heads the head view shows and the heads an aggregate (mean, max, min, rollout, flow) combines.

use leptos::prelude::*;

use super::session::Session;
use crate::viz::head_colour;

#[component]
pub fn HeadChips(session: Session) -> impl IntoView {
    let heads_count = move || session.selection.with(|s| s.heads.len());
    let chips = move || {
        (0..heads_count())
            .map(|h| {
                let on = move || session.selection.with(|s| s.heads.get(h).copied().unwrap_or(false));
                let c = head_colour(h);
                view! {
                    <button class="chip" data-testid=format!("head-chip-{h}") aria-pressed=move || on().to_string()
                        class:off=move || !on()
                        title="Click: show or hide this head. Double-click: only this head (again: all heads)."
                        on:click=move |_| session.selection.update(|s| s.toggle_head(h))
                        on:dblclick=move |_| session.selection.update(|s| s.solo_head(h))>
                        <span class="swatch" style:background=c.css()></span>{h.to_string()}
                    </button>
                }
            })
            .collect_view()
    };
    view! { <div class="chips" role="group" aria-label="Heads">{chips}</div> }
}
