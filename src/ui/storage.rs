//! Offline use: the storage panel (models kept in Cache Storage, with their sizes and a Delete
//! button each, and the site's quota), and the service worker that keeps the app shell
//! (`sw.js`, written by `scripts/service-worker.mjs` at build time), with the "new version"
//! notice for the progress area.
//!
//! The worker owns the model cache (`net::cache`); the panel asks it through the protocol
//! (`Request::Storage`, `Request::DeleteCached`), so there is one place that reads and writes it.

use js_sys::Reflect;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerRegistration, ServiceWorkerState};

use super::session::Session;
use super::state::{ShellState, StorageView};

/// The service worker, next to index.html (so its scope is the app's directory).
const SW_URL: &str = "./sw.js";
/// What the page posts to a waiting service worker to make it take over.
const SKIP_WAITING: &str = "skip-waiting";

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// `trunk serve` injects its live-reload script; there the service worker stays off, so that a
/// reload always shows the latest build.
fn under_trunk_serve() -> bool {
    // index.html's body holds no script of its own, so the first one is trunk's, if any.
    document()
        .body()
        .and_then(|b| b.query_selector("script").ok().flatten())
        .is_some_and(|s| s.inner_html().contains(".well-known/trunk/ws"))
}

fn has_service_workers() -> bool {
    Reflect::has(&window().navigator(), &"serviceWorker".into()).unwrap_or(false)
}

/// Registers the service worker and keeps `state` up to date with it.
pub fn register_service_worker(state: RwSignal<ShellState>) {
    if !has_service_workers() {
        state.set(ShellState::Unsupported(
            "this browser has no service workers here (they need https or localhost)".into(),
        ));
        return;
    }
    let container = window().navigator().service_worker();
    if under_trunk_serve() {
        state.set(ShellState::Development);
        // A service worker left from a release build on this address would serve old files.
        leptos::task::spawn_local(async move {
            if let Ok(reg) = JsFuture::from(container.get_registration()).await {
                if let Ok(reg) = reg.dyn_into::<ServiceWorkerRegistration>() {
                    if let Ok(p) = reg.unregister() {
                        let _ = JsFuture::from(p).await;
                    }
                }
            }
        });
        return;
    }
    leptos::task::spawn_local(async move {
        let reg = match JsFuture::from(container.register(SW_URL)).await {
            Ok(r) => match r.dyn_into::<ServiceWorkerRegistration>() {
                Ok(r) => r,
                Err(_) => return state.set(ShellState::Unsupported("the service worker did not register".into())),
            },
            Err(e) => return state.set(ShellState::Unsupported(format!("the service worker did not register ({})", describe(&e)))),
        };
        refresh(&reg, state);
        // A new version found while the page is open (or the first one still installing).
        watch_installing(&reg, state);
        let on_update = {
            let reg = reg.clone();
            Closure::<dyn FnMut()>::new(move || watch_installing(&reg, state))
        };
        reg.set_onupdatefound(Some(on_update.as_ref().unchecked_ref()));
        on_update.forget();
        if let Ok(ready) = container.ready() {
            let _ = JsFuture::from(ready).await;
            refresh(&reg, state);
        }
    });
}

/// Follows the installing worker's states.
fn watch_installing(reg: &ServiceWorkerRegistration, state: RwSignal<ShellState>) {
    let Some(worker) = reg.installing() else { return };
    let on_change = {
        let reg = reg.clone();
        let worker = worker.clone();
        Closure::<dyn FnMut()>::new(move || {
            if worker.state() == ServiceWorkerState::Redundant && reg.active().is_none() {
                state.set(ShellState::Unsupported(
                    "the app could not be saved (a file changed on the server meanwhile); the next visit tries again".into(),
                ));
            } else {
                refresh(&reg, state);
            }
        })
    };
    worker.set_onstatechange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();
    refresh(reg, state);
}

fn refresh(reg: &ServiceWorkerRegistration, state: RwSignal<ShellState>) {
    let controlled = window().navigator().service_worker().controller().is_some();
    let next = if reg.waiting().is_some() && controlled {
        ShellState::UpdateReady
    } else if reg.active().is_some() {
        ShellState::Ready
    } else {
        ShellState::Installing
    };
    if state.get_untracked() != next {
        state.set(next);
    }
}

/// Switches to the waiting new version: the page reloads once it has taken over, so old and
/// new files are never mixed in one page.
fn apply_update() {
    if !has_service_workers() {
        return;
    }
    let container = window().navigator().service_worker();
    let reload = Closure::once_into_js(|| {
        let _ = window().location().reload();
    });
    container.set_oncontrollerchange(Some(reload.unchecked_ref()));
    leptos::task::spawn_local(async move {
        let waiting = JsFuture::from(container.get_registration())
            .await
            .ok()
            .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok())
            .and_then(|r| r.waiting());
        match waiting {
            Some(w) => {
                let _ = w.post_message(&SKIP_WAITING.into());
            }
            None => {
                let _ = window().location().reload();
            }
        }
    });
}

/// "A new version is ready" with a button that switches to it (for the progress area).
#[component]
pub fn UpdateNotice(session: Session) -> impl IntoView {
    view! {
        <Show when=move || session.shell.get() == ShellState::UpdateReady>
            <span class="update-ready" data-testid="update-ready">
                "A new version of attention-viz is ready. "
                <button data-testid="update-reload" on:click=move |_| apply_update()>"Reload to update"</button>
            </span>
        </Show>
    }
}

/// The collapsible storage panel.
#[component]
pub fn StoragePanel(session: Session) -> impl IntoView {
    let storage = session.storage;
    let shell = session.shell;
    let view_of = move || storage.get().unwrap_or_default();
    let models = move || {
        let v = view_of();
        if storage.with(Option::is_none) {
            return view! { <p class="hint">"Reading the storage…"</p> }.into_any();
        }
        if v.models.is_empty() {
            return view! { <p class="hint" data-testid="storage-empty">"No models are stored in this browser yet."</p> }.into_any();
        }
        view! {
            <ul class="stored-models">
                {v.models.into_iter().map(|m| {
                    let source = m.source.clone();
                    view! {
                        <li data-testid="storage-model" data-repo=m.source.repo.clone() data-hub=m.source.hub.clone()
                            data-revision=m.source.revision.clone() data-bytes=m.bytes.to_string()
                            data-complete=m.is_complete().to_string()>
                            <span>{StorageView::label(&m)}</span>
                            <button data-testid="storage-delete" title="Remove this model's files from the browser"
                                on:click=move |_| session.delete_cached(source.clone())>"Delete"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <details class="storage" data-testid="storage-panel"
            on:toggle=move |ev| {
                if event_target::<web_sys::Element>(&ev).has_attribute("open") {
                    session.refresh_storage();
                }
            }>
            <summary>"Offline use and stored models"</summary>
            <p data-testid="offline-status" data-state=move || shell.get().name()>{move || shell.get().describe()}</p>
            <p data-testid="storage-quota">{move || view_of().describe_quota()}</p>
            {models}
            <Show when=move || view_of().error.is_some()>
                <p class="error-note" data-testid="storage-error">{move || view_of().error.unwrap_or_default()}</p>
            </Show>
            <p class="hint">
                "Models you load are saved in this browser and load from there next time, without a network. "
                "Delete frees their space; clearing this site's data in the browser's settings removes everything."
            </p>
            <button data-testid="storage-refresh" on:click=move |_| session.refresh_storage()>"Refresh"</button>
        </details>
    }
}
