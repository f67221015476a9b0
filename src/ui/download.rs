//! The progress area's download details: the current file's bar, the three files' total, the
//! speed and time left, Cancel (which aborts the request in the worker), Retry after a cancel,
//! and the notes of the current load (a resumed download, a broken cached file fetched again,
//! a full storage).

use leptos::prelude::*;

use super::session::Session;
use super::state::{megabytes, LoadState};

#[component]
pub fn DownloadDetails(session: Session) -> impl IntoView {
    let load = session.load;
    let downloading = move || matches!(load.get(), LoadState::Downloading { .. });
    let file_line = move || match load.get() {
        LoadState::Downloading { file, received, total, .. } => match total {
            Some(t) => format!("{file}: {} / {}", megabytes(received), megabytes(t)),
            None => format!("{file}: {}", megabytes(received)),
        },
        _ => String::new(),
    };
    let stats_line = move || match load.get() {
        LoadState::Downloading { stats, .. } => stats.describe(),
        _ => String::new(),
    };
    let notes = move || session.notes.get();
    view! {
        <Show when=downloading>
            <span class="file-progress" data-testid="file-progress">
                <progress max="1" prop:value=move || load.get().file_fraction().unwrap_or(0.0)></progress>
                {file_line}
            </span>
            <span class="download-stats" data-testid="download-stats">{stats_line}</span>
        </Show>
        <Show when=move || load.get().can_cancel()>
            <button class="cancel" data-testid="cancel" title="Stop the download"
                on:click=move |_| session.cancel_load()>"Cancel"</button>
        </Show>
        <Show when=move || load.get() == LoadState::Cancelled>
            <button data-testid="retry" title="Start the download again"
                on:click=move |_| session.retry()>"Retry"</button>
        </Show>
        <Show when=move || !notes().is_empty()>
            <ul class="load-notes" data-testid="load-notes">
                {move || notes().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
            </ul>
        </Show>
    }
}
