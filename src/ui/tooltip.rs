//! The small floating label every picture shows next to the pointer (or the keyboard's cell).

use leptos::prelude::*;

/// Shows `text` at `pos` (offset so the pointer does not cover it) while there is any.
#[component]
pub fn Tooltip(
    testid: &'static str,
    #[prop(into)] text: Signal<Option<String>>,
    pos: RwSignal<(f64, f64)>,
    /// How far below the point the label sits.
    #[prop(default = 14.0)]
    dy: f64,
) -> impl IntoView {
    view! {
        <Show when=move || text.with(Option::is_some)>
            <div class="tooltip" data-testid=testid
                style:left=move || format!("{}px", pos.get().0 + 14.0)
                style:top=move || format!("{}px", pos.get().1 + dy)>
                {move || text.get().unwrap_or_default()}
            </div>
        </Show>
    }
}
