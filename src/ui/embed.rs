//! `embed=1`: the chosen view alone, sized to its iframe, with a link back to the full app; and
//! the two cards that stand between a link and a download: the light embed's "load on a click"
//! placeholder (`load=click`, with the model's size) and the confirmation a link to a model host
//! other than the default or this site gets before anything is fetched from it.

use leptos::prelude::*;

use super::link::{host_of, Link};
use super::session::Session;
use super::state::{megabytes, LoadState};
use super::views::ViewPanel;
use crate::catalog::{entry, DEFAULT_HUB};
use crate::protocol::{ModelSource, MODEL_FILES};

/// The model's download size, from what is known without touching an unconfirmed host: the
/// site's bundled list, the Hub's metadata API, HEAD requests on this site or the default host,
/// then the catalog's built-in figure.
fn look_up_size(session: Session, src: ModelSource, trusted: bool, size: RwSignal<Option<u64>>) {
    leptos::task::spawn_local(async move {
        let bundled = session.bundled.with_untracked(|b| {
            (src.hub == session.models_url.get_untracked())
                .then(|| b.iter().find(|m| m.repo == src.repo).map(|m| m.bytes))
                .flatten()
        });
        let mut found = bundled.filter(|b| *b > 0);
        if found.is_none() && trusted {
            found = crate::net::metadata::remote_size(&src).await;
        }
        if found.is_none() && trusted {
            let mut total = 0;
            for f in MODEL_FILES {
                match crate::net::head_size(&src.file_url(f), None).await {
                    Some(b) => total += b,
                    None => {
                        total = 0;
                        break;
                    }
                }
            }
            found = (total > 0).then_some(total);
        }
        let found = found.or_else(|| entry(&src.repo).map(|e| u64::from(e.megabytes) * 1_000_000));
        size.set(found);
    });
}

/// "Load <model> (91.3 MB) from <host>": a click starts the download.
#[component]
pub fn LoadCard(session: Session, trusted: bool) -> impl IntoView {
    let size = RwSignal::new(None::<u64>);
    let src = session.source.get_untracked();
    look_up_size(session, src.clone(), trusted, size);
    let repo = src.repo.clone();
    let host = host_of(&src.hub).to_string();
    view! {
        <div class="load-card" data-testid="embed-placeholder">
            <button class="primary" data-testid="embed-load" on:click=move |_| session.start_load(session.source.get_untracked())>
                {move || format!("▶ Load {repo}{}", size.get().map(|b| format!(" ({})", megabytes(b))).unwrap_or_default())}
            </button>
            <p class="hint" data-testid="embed-size">{move || match size.get() {
                Some(_) => format!("Downloads from {host} (once; the browser keeps it). The model runs in this tab: the text never leaves it."),
                None => format!("Downloads the model from {host} (once; the browser keeps it). It runs in this tab: the text never leaves it."),
            }}</p>
        </div>
    }
}

/// A link names a model on a host that is neither the default one nor this site: say so, and
/// fetch nothing until the user agrees.
#[component]
pub fn HostConfirm(session: Session) -> impl IntoView {
    let dismissed = RwSignal::new(false);
    let show = move || !dismissed.get() && session.load.with(|l| *l == LoadState::Idle);
    let src = session.source.get_untracked();
    let host = host_of(&src.hub).to_string();
    let default_host = host_of(DEFAULT_HUB).to_string();
    let label = format!("Load from {host}");
    let message = format!(
        "This link loads the model {} from {host}, a server other than {default_host} and this site. The model runs only in this tab, but {host} sees the download.",
        src.repo
    );
    view! {
        <Show when=show>
            <div class="fallback host-confirm" role="alert" data-testid="host-confirm">
                <span data-testid="host-confirm-text">{message.clone()}</span>
                <button class="primary" data-testid="host-confirm-load" on:click=move |_| session.start_load(session.source.get_untracked())>{label.clone()}</button>
                <button data-testid="host-confirm-dismiss" on:click=move |_| dismissed.set(true)>"Not now"</button>
            </div>
        </Show>
    }
}

/// The embedded page: a slim bar (model, status, "open in attention-viz"), the load card or the
/// error, and the view without tabs or the export row.
#[component]
pub fn EmbedPage(
    session: Session,
    opened: Link,
    full_url: Signal<String>,
    trusted: bool,
) -> impl IntoView {
    let load = session.load;
    let error = move || match load.get() {
        LoadState::Failed(m) => Some(m),
        _ => session.run_error.get(),
    };
    let (state, status) = (
        move || super::app::status_line(session).0,
        move || super::app::status_line(session).1,
    );
    // "all-MiniLM-L6-v2", not "sentence-transformers/all-MiniLM-L6-v2": the bar is narrow.
    let title = move || {
        session
            .source
            .with(|s| s.repo.rsplit('/').next().unwrap_or(&s.repo).to_string())
    };
    let _ = opened;
    view! {
        <div class="embed" data-testid="embed">
            <div class="embed-bar">
                <strong class="embed-model" data-testid="embed-model">{title}</strong>
                <span class="embed-status" data-testid="status" data-state=state
                    data-threads=move || session.engine.get().map(|e| e.threads().to_string())
                    title=move || session.engine.get().map(|e| e.describe())>{status}</span>
                <a class="embed-open" data-testid="embed-open" target="_blank" rel="noopener" href=move || full_url.get()>"Open in attention-viz ↗"</a>
            </div>
            <Show when=move || load.with(|l| *l == LoadState::Idle || *l == LoadState::Cancelled)>
                <LoadCard session=session trusted=trusted/>
            </Show>
            <Show when=move || load.with(|l| l.is_loading())>
                <progress class="embed-progress" data-testid="progress" max="1" prop:value=move || load.get().fraction().unwrap_or(0.0)></progress>
            </Show>
            <Show when=move || error().is_some()>
                <div class="error" role="alert" data-testid="error">
                    {move || error().unwrap_or_default()}
                    <Show when=move || matches!(load.get(), LoadState::Failed(_))>
                        <button data-testid="retry" on:click=move |_| session.retry()>"Retry"</button>
                    </Show>
                </div>
            </Show>
            <Show when=move || matches!(load.get(), LoadState::Ready(_))>
                <ViewPanel session=session embedded=true/>
            </Show>
        </div>
    }
}
