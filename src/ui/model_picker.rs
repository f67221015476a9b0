//! Where the model comes from: the curated list (sizes shown before anything is fetched), any
//! Hub repo and revision, local files (picked or dropped; they never leave the machine), and the
//! first-visit card that waits for a click instead of starting a 440 MB download unasked.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, File, FileList, HtmlInputElement};

use super::local_files;
use super::session::{Session, LOCAL_HUB};
use super::state::{bundled_source, megabytes, LoadState};
use crate::catalog::{entry, Bundled, CATALOG};
use crate::protocol::ModelSource;

#[component]
pub fn ModelPicker(session: Session, bundled: RwSignal<Vec<Bundled>>, hub: String, models_url: String) -> impl IntoView {
    let (source, load) = (session.source, session.load);
    let custom_repo = RwSignal::new(String::new());
    let custom_revision = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let hub = StoredValue::new(hub);
    let models_url = StoredValue::new(models_url);
    let hub_model = move |repo: &str, revision: &str| ModelSource {
        hub: hub.get_value(),
        repo: repo.trim().to_string(),
        revision: if revision.trim().is_empty() { "main".into() } else { revision.trim().to_string() },
    };

    // Download sizes from the host (metadata API or HEAD: `net::metadata`), asked once per model
    // when the list is opened or the start card shows; the catalog's built-in sizes stand in
    // until then, and when the host does not answer.
    let sizes = RwSignal::new(HashMap::<String, u64>::new());
    let asked = StoredValue::new(HashSet::<String>::new());
    let size_key = |s: &ModelSource| format!("{}|{}|{}", s.hub, s.repo, s.revision);
    let look_up = move |src: ModelSource| {
        let key = size_key(&src);
        if asked.with_value(|a| a.contains(&key)) {
            return;
        }
        asked.update_value(|a| {
            a.insert(key.clone());
        });
        leptos::task::spawn_local(async move {
            if let Some(total) = crate::net::metadata::remote_size(&src).await {
                sizes.update(|m| {
                    m.insert(key, total);
                });
            }
        });
    };
    let size_label = move |src: &ModelSource| -> String {
        match sizes.with(|m| m.get(&size_key(src)).copied()) {
            Some(b) => format!(" ({})", megabytes(b)),
            None => entry(&src.repo).map(|e| format!(" ({} MB)", e.megabytes)).unwrap_or_default(),
        }
    };
    let look_up_catalog = move || {
        for e in CATALOG {
            look_up(hub_model(e.repo, "main"));
        }
    };

    let model_options = move || {
        let current = source.get();
        let mut opts: Vec<(String, String)> =
            CATALOG.iter().map(|e| (format!("hub:{}", e.repo), format!("{}{}", e.label, size_label(&hub_model(e.repo, "main"))))).collect();
        for b in bundled.get() {
            opts.push((format!("bundled:{}", b.repo), format!("{} ({}, bundled with this site)", b.name(), megabytes(b.bytes))));
        }
        let key = if current.hub == models_url.get_value() {
            format!("bundled:{}", current.repo)
        } else if current.hub == LOCAL_HUB {
            format!("local:{}", current.repo)
        } else {
            format!("hub:{}", current.repo)
        };
        if !opts.iter().any(|(k, _)| *k == key) {
            opts.push((key.clone(), current.repo.clone()));
        }
        opts.into_iter()
            .map(|(k, label)| {
                let selected = k == key;
                view! { <option value=k selected=selected>{label}</option> }
            })
            .collect_view()
    };
    let pick_model = move |value: String| {
        local_error.set(None);
        if let Some(repo) = value.strip_prefix("bundled:") {
            if let Some(b) = bundled.get_untracked().into_iter().find(|b| b.repo == repo) {
                session.start_load(bundled_source(&models_url.get_value(), &b));
            }
        } else if let Some(repo) = value.strip_prefix("hub:") {
            session.start_load(hub_model(repo, "main"));
        }
    };

    // Local files: pick the three the engine needs (or say which is missing), read them, and
    // hand their bytes to the worker. A wrong pick leaves the current model as it is.
    let open_files = move |files: Vec<File>| {
        let paths: Vec<String> = files
            .iter()
            .map(|f| relative_path(f).unwrap_or_else(|| f.name()))
            .collect();
        let chosen = match local_files::pick(&paths) {
            Ok(c) => c,
            Err(e) => {
                local_error.set(Some(e));
                return;
            }
        };
        local_error.set(None);
        let name = local_files::label(&paths);
        let picked: Vec<File> = chosen.iter().filter_map(|i| files.get(*i).cloned()).collect();
        // The `File`s go to the worker by reference (structured clone); it streams them.
        session.load_local(name, picked);
    };
    let from_list = move |list: Option<FileList>| {
        let list = list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect::<Vec<File>>()).unwrap_or_default();
        open_files(list);
    };
    let on_input = move |ev: leptos::ev::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        from_list(input.as_ref().and_then(HtmlInputElement::files));
        if let Some(i) = input {
            i.set_value(""); // so choosing the same files again fires `change` again
        }
    };
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        from_list(ev.data_transfer().and_then(|d| d.files()));
    };

    let start_card = move || {
        (load.get() == LoadState::Idle).then(|| {
            let current = source.get_untracked();
            if current.hub != models_url.get_value() && current.hub != LOCAL_HUB {
                look_up(current.clone());
            }
            let label_source = current.clone();
            let label = move || format!("Load {}{}", label_source.repo, size_label(&label_source));
            let quick = bundled.get().into_iter().next();
            let quick_button = match quick {
                Some(b) => {
                    let label = format!("Quick start: {} ({}, bundled with this site)", b.name(), megabytes(b.bytes));
                    view! { <button data-testid="start-quick" on:click=move |_| session.start_load(bundled_source(&models_url.get_value(), &b))>{label}</button> }.into_any()
                }
                None => view! {
                    <button data-testid="start-quick" on:click=move |_| session.start_load(hub_model("sentence-transformers/all-MiniLM-L6-v2", "main"))>
                        "Quick start: all-MiniLM-L6-v2 (91 MB)"
                    </button>
                }
                .into_any(),
            };
            view! {
                <div class="start" data-testid="start-card">
                    <p>"The model runs in this tab. Nothing is downloaded until you choose:"</p>
                    <button class="primary" data-testid="start-default" on:click=move |_| session.start_load(current.clone())>
                        {label}
                    </button>
                    {quick_button}
                </div>
            }
        })
    };

    view! {
        <section class="controls" on:dragover=move |ev: DragEvent| ev.prevent_default() on:drop=on_drop>
            <label class="field model">
                "Model"
                <select data-testid="model-select" on:change=move |ev| pick_model(event_target_value(&ev))
                    on:focus=move |_| look_up_catalog() on:pointerdown=move |_| look_up_catalog()>
                    {model_options}
                </select>
            </label>
            <form class="field custom" on:submit=move |ev| {
                ev.prevent_default();
                let repo = custom_repo.get_untracked();
                if !repo.trim().is_empty() {
                    local_error.set(None);
                    session.start_load(hub_model(&repo, &custom_revision.get_untracked()));
                }
            }>
                <input type="text" class="repo" placeholder="or any Hub repo, e.g. google-bert/bert-base-multilingual-cased"
                    aria-label="Hub repo id" data-testid="repo-input"
                    prop:value=move || custom_repo.get() on:input=move |ev| custom_repo.set(event_target_value(&ev))/>
                <input type="text" class="revision" placeholder="main" aria-label="Revision (branch, tag or commit)"
                    data-testid="revision-input"
                    prop:value=move || custom_revision.get() on:input=move |ev| custom_revision.set(event_target_value(&ev))/>
                <button type="submit">"Load"</button>
            </form>
            <div class="field local">
                "Local model (never leaves this machine)"
                <span class="local-buttons">
                    <label class="button">"Folder…"<input type="file" class="visually-hidden" data-testid="local-folder"
                        prop:webkitdirectory=true on:change=on_input/></label>
                    <label class="button">"Files…"<input type="file" class="visually-hidden" data-testid="local-files" multiple=true
                        accept=".json,.safetensors,.bin" on:change=on_input/></label>
                    <span class="hint">"or drop config.json, tokenizer.json and model.safetensors here"</span>
                </span>
            </div>
            <Show when=move || local_error.get().is_some()>
                <p class="note error-note" role="alert" data-testid="local-error">{move || local_error.get().unwrap_or_default()}</p>
            </Show>
            {start_card}
        </section>
    }
}

/// The file's path inside a picked folder (`webkitRelativePath`, which web-sys does not bind);
/// `None` for files picked one by one or dropped.
fn relative_path(f: &File) -> Option<String> {
    js_sys::Reflect::get(f, &"webkitRelativePath".into()).ok()?.as_string().filter(|p| !p.is_empty())
}
