//! The top-level component: model picker, text input, progress, errors, and the view panel.

use std::time::Duration;

use leptos::prelude::*;

use super::download::DownloadDetails;
use super::embed::{EmbedPage, HostConfirm};
use super::link::{origin_of, Link};
use super::model_picker::ModelPicker;
use super::session::Session;
use super::share::{current_link, follow_in_address_bar, page_url, LinkNotes, ShareBar};
use super::state::{bundled_source, LoadState};
use super::storage::{StoragePanel, UpdateNotice};
use super::theme::Theme;
use super::views::ViewPanel;
use crate::catalog::{parse_bundled, DEFAULT_HUB};

/// Debounce for re-running while the user types.
const RUN_DELAY: Duration = Duration::from_millis(300);

/// The link the page was opened with, and what it ignored.
fn opened_link() -> (Link, Vec<String>) {
    Link::from_query(&window().location().search().unwrap_or_default())
}

/// A host whose models load without asking: the default one, and this site itself.
fn trusted_host(hub: &str) -> bool {
    let page = window().location().origin().unwrap_or_default();
    let origin = origin_of(hub);
    origin == origin_of(DEFAULT_HUB) || origin == page
}

/// `models/` next to the page, where `make serve` bundles a model.
fn site_models_url() -> String {
    let base = document().base_uri().ok().flatten().unwrap_or_default();
    web_sys::Url::new_with_base("models", &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| "models".into())
        .trim_end_matches('/')
        .to_string()
}

fn initial_theme() -> Theme {
    let dark = window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches());
    if dark {
        Theme::Dark
    } else {
        Theme::Light
    }
}

#[component]
pub fn App() -> impl IntoView {
    let (opened, notes) = opened_link();
    let trusted = opened.model.as_ref().is_none_or(|m| trusted_host(&m.hub));
    let autoload = opened.model.is_some() && trusted && !opened.click_to_load;
    let system_theme = initial_theme();
    let session = Session::new(
        &opened,
        autoload,
        trusted,
        opened.theme.unwrap_or(system_theme),
    );
    session.add_link_notes(notes);
    let (load, source, theme) = (session.load, session.source, session.theme);
    let bundled = session.bundled;
    let edit_generation = StoredValue::new(0u64);

    // Bundled models, if the site carries any.
    let models_url = site_models_url();
    session.models_url.set(models_url.clone());
    {
        let index = format!("{models_url}/index.json");
        leptos::task::spawn_local(async move {
            if let Ok(json) = crate::net::fetch_text(&index).await {
                bundled.set(parse_bundled(&json));
            }
        });
    }

    // Re-run shortly after the user stops typing.
    let schedule_run = move || {
        let generation = edit_generation.get_value() + 1;
        edit_generation.set_value(generation);
        set_timeout(
            move || {
                if edit_generation.get_value() == generation {
                    session.request_run();
                }
            },
            RUN_DELAY,
        );
    };

    // Theme on <html data-theme>, so CSS follows.
    Effect::new(move |_| {
        if let Some(el) = document().document_element() {
            let _ = el.set_attribute("data-theme", theme.get().name());
        }
    });
    let _resize = window_event_listener(leptos::ev::resize, move |_| {
        session.width_tick.update(|t| *t += 1)
    });

    let status = move || status_line(session);
    follow_in_address_bar(session, opened.clone(), system_theme);
    if opened.embed {
        if let Some(el) = document().document_element() {
            let _ = el.set_attribute("data-embed", "1");
        }
        let link = opened.clone();
        let full_url = Signal::derive(move || {
            page_url(&current_link(session, &link, system_theme).full_app())
        });
        return view! {
            <EmbedPage session=session opened=opened.clone() full_url=full_url trusted=trusted/>
        }
        .into_any();
    }
    let error_text = move || match load.get() {
        LoadState::Failed(m) => Some(m),
        _ => session
            .load_failure
            .get()
            .map(|f| f.describe(&source.get()))
            .or_else(|| session.run_error.get()),
    };
    // Retry after a failed load; when the model before it is back on screen, Retry loads the
    // one that failed again.
    let can_retry = move || matches!(load.get(), LoadState::Failed(_)) || session.load_failure.with(Option::is_some);
    let retry = move || match session.load_failure.get_untracked() {
        Some(f) => session.start_load(f.source),
        None => session.retry(),
    };

    let models_url_fallback = models_url.clone();
    let fallback = move || {
        let failed = can_retry() && session.unreachable.get();
        let failed_hub = session.load_failure.get().map(|f| f.source.hub);
        let on_hub = failed_hub.unwrap_or_else(|| source.get().hub) != models_url_fallback;
        let list = bundled.get();
        (failed && on_hub && !list.is_empty()).then(|| {
            let url = models_url_fallback.clone();
            view! {
                <div class="fallback" data-testid="bundled-offer">
                    "The model host could not be reached. This site bundles: "
                    {list.into_iter().map(|b| {
                        let url = url.clone();
                        let label = b.name().to_string();
                        view! {
                            <button on:click=move |_| session.start_load(bundled_source(&url, &b))>{format!("Use {label}")}</button>
                        }
                    }).collect_view()}
                </div>
            }
        })
    };

    view! {
        <header class="top">
            <h1>"attention-viz"</h1>
            <p class="tagline">"BERT self-attention, computed in your browser."</p>
            <button class="theme" data-testid="theme-toggle" on:click=move |_| theme.update(|t| *t = t.toggled())>
                {move || if theme.get() == Theme::Dark { "☀ Light" } else { "☾ Dark" }}
            </button>
        </header>
        <main>
            <LinkNotes session=session/>
            {(!trusted).then(|| view! { <HostConfirm session=session/> })}
            <ModelPicker session=session bundled=bundled hub=opened.hub.clone() models_url=models_url.clone()/>
            <section class="controls text">
                <label class="field grow">
                    "Text"
                    <textarea data-testid="text-input" rows="2"
                        prop:value=move || session.text.get()
                        on:input=move |ev| { session.text.set(event_target_value(&ev)); schedule_run(); }></textarea>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="pair-toggle" prop:checked=move || session.pair_on.get()
                        on:change=move |ev| { session.pair_on.set(event_target_checked(&ev)); schedule_run(); }/>
                    "Sentence pair"
                </label>
                <Show when=move || session.pair_on.get()>
                    <label class="field grow">
                        "Second sentence"
                        <textarea data-testid="pair-input" rows="2"
                            prop:value=move || session.pair.get()
                            on:input=move |ev| { session.pair.set(event_target_value(&ev)); schedule_run(); }></textarea>
                    </label>
                </Show>
            </section>

            <section class="progress" data-testid="progress-area">
                <progress data-testid="progress" max="1"
                    prop:value=move || load.get().fraction().unwrap_or(0.0)
                    class:hidden=move || !load.get().is_loading()></progress>
                <span data-testid="status" data-state=move || status().0>{move || status().1}</span>
                <DownloadDetails session=session/>
                <UpdateNotice session=session/>
                <span class="model-info" data-testid="model-info">
                    {move || match load.get() { LoadState::Ready(_) => load.get().describe(), _ => String::new() }}
                </span>
            </section>

            <Show when=move || error_text().is_some()>
                <div class="error" role="alert" data-testid="error">
                    <strong>"Problem: "</strong>{move || error_text().unwrap_or_default()}
                    <Show when=can_retry>
                        <button data-testid="retry" on:click=move |_| retry()>"Retry"</button>
                    </Show>
                </div>
            </Show>
            {fallback}

            <ViewPanel session=session/>
            <ShareBar session=session opened=opened.clone() system_theme=system_theme/>
            <StoragePanel session=session/>
        </main>
        <footer>
            "Runs entirely in this browser tab (Rust + WebAssembly, candle). Models from "
            {move || source.get().hub}
            // Which engine worker runs: threads where the page is cross-origin isolated, relaxed
            // SIMD where the browser has it (src/ui/engine.rs).
            {move || session.engine.get().map(|e| view! {
                ". Engine: "
                <span class="engine" data-testid="engine" data-variant=e.name() data-threads=e.threads().to_string()
                    data-prestarted=move || session.prestarted.get().to_string()>{e.describe()}</span>
            })}
        </footer>
    }
    .into_any()
}

/// The status line: a state name (`data-state`) and its words.
pub(super) fn status_line(session: Session) -> (&'static str, String) {
    let load = session.load;
    let l = load.get();
    if let LoadState::Failed(_) = l {
        return ("error", "Could not load the model".into());
    }
    if let Some(f) = session.load_failure.get() {
        return ("error", format!("Could not load {} · showing {}", f.source.repo, session.source.get().repo));
    }
    if l == LoadState::Idle {
        return ("idle", l.describe());
    }
    if l == LoadState::Cancelled {
        return ("cancelled", l.describe());
    }
    if l.is_loading() {
        return ("loading", l.describe());
    }
    if session.run_error.get().is_some() {
        return ("error", "Could not run this input".into());
    }
    let r = match session.run.get() {
        Some(r) if !session.busy.get() && session.drawn.get() == Some(r.id) => r,
        _ => return ("running", "Running…".into()),
    };
    let mut s = format!("{} tokens · forward pass {:.0} ms", r.tokens.len(), r.ms);
    if r.truncated {
        s.push_str(&format!(" · input truncated to {} tokens: {} tokens dropped", r.tokens.len(), r.dropped));
    }
    ("ready", s)
}
