//! Share and embed: the address bar follows the view (`history.replaceState`, no reload), the
//! Share button copies that link, and "Copy embed code" writes an `<iframe>` of the same view.
//! The link itself is the plain [`Link`] type; this file only reads the signals into one and
//! talks to the browser.

use std::time::Duration;

use leptos::prelude::*;

use super::compare_session::DEFAULT_TEXT_B;
use super::link::{embed_code, Link};
use super::session::{Session, LOCAL_HUB};
use super::state::LoadState;
use super::theme::Theme;

/// Quiet time before the address bar follows a change (Chromium refuses more than ~200
/// `replaceState` calls in 10 s, and typing would get there).
const URL_DELAY: Duration = Duration::from_millis(250);

/// The current view as a link. `opened`: the link the page was opened with (its embed flags,
/// and its hub when no model is named); `system_theme`: the theme a link without `theme=` gets.
pub fn current_link(session: Session, opened: &Link, system_theme: Theme) -> Link {
    let mut link = Link {
        embed: opened.embed,
        click_to_load: opened.click_to_load,
        hub: opened.hub.clone(),
        ..Link::default()
    };
    let source = session.source.get();
    let named = opened.model.is_some() || session.load.with(|l| *l != LoadState::Idle);
    if named && source.hub != LOCAL_HUB {
        link.hub = source.hub.clone();
        link.model = Some(source.clone());
    }
    link.text = session.text.with(|t| clip(t));
    link.pair = session.pair_on.get().then(|| session.pair.with(|t| clip(t)));
    session.selection.with(|s| link.set_selection(s));
    let theme = session.theme.get();
    // A theme chosen by a link or in the page is kept; otherwise the reader's own preference.
    link.theme = (theme != system_theme || opened.theme.is_some()).then_some(theme);
    let c = session.compare;
    link.compare = c.mode.get();
    link.text_b = c.text_b.with(|t| (t != DEFAULT_TEXT_B).then(|| t.clone()));
    link.model_b = c.model_b.with(|m| {
        m.as_ref()
            .filter(|m| m.hub == source.hub)
            .map(|m| m.repo.clone())
    });
    link
}

/// The most characters of a sentence a link carries: a pasted book would make an address of
/// megabytes, which browsers, chat apps and servers cut or refuse.
pub const MAX_LINK_TEXT: usize = 4000;

fn clip(t: &str) -> String {
    t.chars().take(MAX_LINK_TEXT).collect()
}

/// The page's address for `link` (same path, the link's query, no fragment).
pub fn page_url(link: &Link) -> String {
    let loc = window().location();
    let origin = loc.origin().unwrap_or_default();
    let path = loc.pathname().unwrap_or_default();
    let q = link.to_query();
    if q.is_empty() {
        format!("{origin}{path}")
    } else {
        format!("{origin}{path}?{q}")
    }
}

/// Keeps the address bar on the current view (replaceState: the back button is not flooded).
pub fn follow_in_address_bar(session: Session, opened: Link, system_theme: Theme) {
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let link = current_link(session, &opened, system_theme);
        let g = generation.get_value() + 1;
        generation.set_value(g);
        set_timeout(
            move || {
                if generation.get_value() != g {
                    return;
                }
                let query = link.to_query();
                let loc = window().location();
                let now = loc.search().unwrap_or_default();
                if now.trim_start_matches('?') == query {
                    return;
                }
                let path = loc.pathname().unwrap_or_default();
                let url = if query.is_empty() {
                    path
                } else {
                    format!("{path}?{query}")
                };
                if let Ok(history) = window().history() {
                    let _ = history.replace_state_with_url(
                        &wasm_bindgen::JsValue::NULL,
                        "",
                        Some(&url),
                    );
                }
            },
            URL_DELAY,
        );
    });
}

/// Writes `text` to the clipboard; `Err` when the browser refuses (no permission, or an
/// iframe without clipboard access): the page then shows the text to copy by hand.
async fn copy(text: &str) -> Result<(), String> {
    let clipboard = window().navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|e| {
            e.as_string()
                .unwrap_or_else(|| "the browser did not allow it".into())
        })
}

/// What the share row last produced: the text, and whether it reached the clipboard.
#[derive(Clone, PartialEq)]
struct Copied {
    what: &'static str,
    text: String,
    ok: bool,
}

#[component]
pub fn ShareBar(session: Session, opened: Link, system_theme: Theme) -> impl IntoView {
    let opened = StoredValue::new(opened);
    let light = RwSignal::new(true);
    let copied = RwSignal::new(None::<Copied>);
    let do_copy = move |what: &'static str, text: String| {
        leptos::task::spawn_local(async move {
            let ok = copy(&text).await.is_ok();
            copied.set(Some(Copied { what, text, ok }));
        });
    };
    let share = move |_| {
        let link = opened
            .with_value(|o| current_link(session, o, system_theme))
            .full_app();
        do_copy("link", page_url(&link));
    };
    let embed = move |_| {
        let link = opened
            .with_value(|o| current_link(session, o, system_theme))
            .embedded(light.get_untracked());
        let title = format!(
            "Attention in {}: {}",
            link.model.as_ref().map_or("BERT", |m| m.repo.as_str()),
            short(&link.text)
        );
        let height = if matches!(link.view, super::selection::ViewKind::Head) {
            640
        } else {
            720
        };
        do_copy(
            "embed code",
            embed_code(&page_url(&link), 640, height, &title),
        );
    };
    let local = move || session.source.with(|s| s.hub == LOCAL_HUB);
    view! {
        <div class="share-bar" data-testid="share-bar">
            <button data-testid="share-link" on:click=share title="Copy a link to exactly this view">"Share link"</button>
            <button data-testid="copy-embed" on:click=embed title="Copy an <iframe> of this view for a blog or course page">"</> Copy embed code"</button>
            <label class="check" title="The embedded view waits for a click before it downloads the model">
                <input type="checkbox" data-testid="embed-light" prop:checked=move || light.get()
                    on:change=move |ev| light.set(event_target_checked(&ev))/>
                "embed loads the model on a click"
            </label>
            {move || copied.get().map(|c| {
                let label = if c.ok { format!("Copied the {} to the clipboard:", c.what) } else { format!("Copy the {} below (the browser did not allow the clipboard):", c.what) };
                view! {
                    <div class="copied" data-testid="share-result" data-what=c.what data-ok=c.ok.to_string()>
                        <span>{label}</span>
                        <input readonly=true data-testid="share-text" prop:value=c.text.clone()
                            on:focus=move |ev| { event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
                    </div>
                }
            })}
            <Show when=move || session.text.with(|t| t.chars().count() > MAX_LINK_TEXT) || session.pair.with(|t| session.pair_on.get() && t.chars().count() > MAX_LINK_TEXT)>
                <p class="note" data-testid="share-long-note">{format!("The text is longer than a link can carry: links keep its first {MAX_LINK_TEXT} characters.")}</p>
            </Show>
            <Show when=local>
                <p class="note" data-testid="share-local-note">"This model came from files on this computer: a link cannot carry it. The link keeps the text and the view; the reader picks the files."</p>
            </Show>
        </div>
    }
}

fn short(text: &str) -> String {
    let s: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        format!("{s}…")
    } else {
        s
    }
}

/// What the page could not honour of its link, until dismissed.
#[component]
pub fn LinkNotes(session: Session) -> impl IntoView {
    view! {
        <Show when=move || session.link_notes.with(|n| !n.is_empty())>
            <div class="link-notes" role="status" data-testid="link-notes">
                <strong>"This link asked for things the page could not show; it opened the closest view instead:"</strong>
                <ul>{move || session.link_notes.get().into_iter().map(|n| view! { <li data-testid="link-note">{n}</li> }).collect_view()}</ul>
                <button data-testid="link-notes-close" on:click=move |_| session.link_notes.set(Vec::new())>"OK"</button>
            </div>
        </Show>
    }
}
