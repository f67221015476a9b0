//! The top-level component: model picker, text input, progress, heatmap.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, MouseEvent};

use super::client::EngineClient;
use super::heatmap::{self, Frame};
use super::state::{bundled_source, HeadMatrix, LoadState, RunView, UrlParams};
use super::theme::Theme;
use crate::analysis::head_max;
use crate::catalog::{parse_bundled, Bundled, CATALOG};
use crate::protocol::{ModelSource, Request, Response, SliceKind, Stage, MODEL_FILES};
use crate::viz::{format_weight, ColourScale, HeatmapLayout};

/// Debounce for re-running while the user types.
const RUN_DELAY: Duration = Duration::from_millis(300);

/// How the colour bar is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScaleMode {
    HeadMax,
    Unit,
}

fn url_params() -> UrlParams {
    let search = window().location().search().unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    UrlParams::from_lookup(|k| params.as_ref().and_then(|p| p.get(k)))
}

/// `models/` next to the page, where `make serve` bundles a model.
fn site_models_url() -> String {
    let base = document().base_uri().ok().flatten().unwrap_or_default();
    web_sys::Url::new_with_base("models", &base).map(|u| u.href()).unwrap_or_else(|_| "models".into())
        .trim_end_matches('/')
        .to_string()
}

fn initial_theme() -> Theme {
    let dark = window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    if dark {
        Theme::Dark
    } else {
        Theme::Light
    }
}

#[component]
pub fn App() -> impl IntoView {
    let params = url_params();
    let source = RwSignal::new(params.source.clone());
    let load = RwSignal::new(LoadState::Starting);
    let text = RwSignal::new(params.text.clone());
    let pair_on = RwSignal::new(params.pair.is_some());
    let pair = RwSignal::new(params.pair.clone().unwrap_or_else(|| "The money was safe there.".into()));
    let run = RwSignal::new(None::<RunView>);
    let pending = RwSignal::new(None::<u64>);
    let run_error = RwSignal::new(None::<String>);
    let layer = RwSignal::new(0usize);
    let head = RwSignal::new(0usize);
    let matrix = RwSignal::new(None::<HeadMatrix>);
    let drawn = RwSignal::new(None::<(u64, usize, usize)>);
    let hover = RwSignal::new(None::<(usize, usize)>);
    let scale_mode = RwSignal::new(ScaleMode::HeadMax);
    let theme = RwSignal::new(initial_theme());
    let bundled = RwSignal::new(Vec::<Bundled>::new());
    let custom_repo = RwSignal::new(String::new());
    let width_tick = RwSignal::new(0u32);
    let tooltip_pos = RwSignal::new((0.0f64, 0.0f64));
    let next_id = StoredValue::new(0u64);
    let edit_generation = StoredValue::new(0u64);
    let client = StoredValue::new_local(None::<EngineClient>);
    let layout = StoredValue::new(None::<HeatmapLayout>);
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let wrap_ref = NodeRef::<leptos::html::Div>::new();

    let send = move |req: Request| client.with_value(|c| if let Some(c) = c { c.send(&req) });

    let start_run = move || {
        if !matches!(load.get_untracked(), LoadState::Ready(_)) {
            return;
        }
        let id = next_id.get_value() + 1;
        next_id.set_value(id);
        pending.set(Some(id));
        let p = pair_on.get_untracked().then(|| pair.get_untracked());
        send(Request::Run { id, text: text.get_untracked(), pair: p });
    };

    let start_load = move |src: ModelSource| {
        source.set(src.clone());
        run.set(None);
        matrix.set(None);
        run_error.set(None);
        load.set(LoadState::Starting);
        send(Request::Load { source: src });
    };

    let on_message = move |resp: Response, data: Option<Vec<f32>>| match resp {
        Response::WorkerReady => send(Request::Load { source: source.get_untracked() }),
        Response::Progress { file, received, total } => {
            let index = MODEL_FILES.iter().position(|f| *f == file).unwrap_or(0);
            load.set(LoadState::Downloading { file, index, received, total });
        }
        Response::Parsing => load.set(LoadState::Parsing),
        Response::Loaded { info } => {
            layer.set(layer.get_untracked().min(info.layers.saturating_sub(1)));
            head.set(head.get_untracked().min(info.heads.saturating_sub(1)));
            load.set(LoadState::Ready(info));
            start_run();
        }
        Response::Ran { id, tokens, truncated, shape, ms } => {
            if pending.get_untracked() == Some(id) {
                pending.set(None);
                run_error.set(None);
                run.set(Some(RunView { id, tokens, truncated, shape, ms }));
            }
        }
        Response::Slice { run: run_id, kind: SliceKind::Head { layer: l, head: h }, rows, .. } => {
            let current = run.get_untracked().map(|r| r.id);
            if current == Some(run_id) && layer.get_untracked() == l && head.get_untracked() == h {
                if let Some(data) = data.filter(|d| d.len() == rows * rows) {
                    matrix.set(Some(HeadMatrix { run: run_id, layer: l, head: h, n: rows, data }));
                }
            }
        }
        Response::Error { stage: Stage::Load, message, .. } => load.set(LoadState::Failed(message)),
        Response::Error { id, message, .. } => {
            if id.is_none() || id == pending.get_untracked() || id == run.get_untracked().map(|r| r.id) {
                pending.set(None);
                run_error.set(Some(message));
            }
        }
    };
    let on_crash = move |message: String| load.set(LoadState::Failed(message));
    match EngineClient::spawn("./worker_loader.js", on_message, on_crash) {
        Ok(c) => client.set_value(Some(c)),
        Err(e) => load.set(LoadState::Failed(e)),
    }

    // Bundled models, if the site carries any.
    let models_url = site_models_url();
    {
        let index = format!("{models_url}/index.json");
        leptos::task::spawn_local(async move {
            if let Ok(json) = crate::net::fetch_text(&index).await {
                bundled.set(parse_bundled(&json));
            }
        });
    }

    // Ask the worker for the selected head whenever the run or the selection changes.
    Effect::new(move |_| {
        let (Some(r), l, h) = (run.get(), layer.get(), head.get()) else { return };
        send(Request::Slice { run: r.id, kind: SliceKind::Head { layer: l, head: h } });
    });

    // Re-run shortly after the user stops typing.
    let schedule_run = move || {
        let generation = edit_generation.get_value() + 1;
        edit_generation.set_value(generation);
        set_timeout(
            move || {
                if edit_generation.get_value() == generation {
                    start_run();
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

    let _resize = window_event_listener(leptos::ev::resize, move |_| width_tick.update(|t| *t += 1));

    // Draw whenever anything the picture depends on changes.
    Effect::new(move |_| {
        width_tick.track();
        let (Some(canvas), Some(m), Some(r)) = (canvas_ref.get(), matrix.get(), run.get()) else { return };
        if m.run != r.id {
            return;
        }
        let max = match scale_mode.get() {
            ScaleMode::HeadMax => head_max(&m.data),
            ScaleMode::Unit => 1.0,
        };
        let avail = wrap_ref.get().map(|w| w.client_width() as f64).filter(|w| *w > 0.0).unwrap_or(900.0);
        let canvas: HtmlCanvasElement = canvas.unchecked_into();
        let frame = Frame {
            tokens: &r.tokens,
            matrix: &m,
            scale: ColourScale::new(max),
            hover: hover.get(),
            palette: theme.get().palette(),
            avail_width: avail,
        };
        layout.set_value(heatmap::draw(&canvas, &frame));
        drawn.set(Some((m.run, m.layer, m.head)));
    });

    // The hovered cell drives the redraw; the pointer position only moves the tooltip, so
    // moving within a cell does not redraw the canvas.
    let on_move = move |ev: MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        tooltip_pos.set((x, y));
        let cell = layout.with_value(|l| l.and_then(|l| l.cell_at(x, y)));
        if cell != hover.get_untracked() {
            hover.set(cell);
        }
    };
    let status = move || -> (&'static str, String) {
        let l = load.get();
        if let LoadState::Failed(_) = l {
            return ("error", "Could not load the model".into());
        }
        if l.is_loading() {
            return ("loading", l.describe());
        }
        if run_error.get().is_some() {
            return ("error", "Could not run this input".into());
        }
        let r = match run.get() {
            Some(r) if pending.get().is_none() && drawn.get() == Some((r.id, layer.get(), head.get())) => r,
            _ => return ("running", "Running…".into()),
        };
        let mut s = format!("{} tokens · forward pass {:.0} ms", r.tokens.len(), r.ms);
        if r.truncated {
            s.push_str(&format!(" · input truncated to {} tokens", r.tokens.len()));
        }
        ("ready", s)
    };

    let error_text = move || match load.get() {
        LoadState::Failed(m) => Some(m),
        _ => run_error.get(),
    };

    let tooltip = move || {
        let (i, j) = hover.get()?;
        let r = run.get()?;
        let w = matrix.get()?.get(i, j)?;
        Some(format!("{} → {} : {}", r.tokens.get(i)?.text, r.tokens.get(j)?.text, format_weight(w)))
    };

    let models_url_for_view = models_url.clone();
    let model_options = move || {
        let current = source.get();
        let mut opts: Vec<(String, String)> = CATALOG
            .iter()
            .map(|e| (format!("hub:{}", e.repo), format!("{} (Hub, {} MB)", e.label, e.megabytes)))
            .collect();
        for b in bundled.get() {
            opts.push((format!("bundled:{}", b.repo), format!("{} — bundled with this site", b.label)));
        }
        let key = if current.hub == models_url_for_view { format!("bundled:{}", current.repo) } else { format!("hub:{}", current.repo) };
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

    // Hub models always come from the URL's `hub` (or the build default), even when the
    // current model is a bundled one.
    let hub = StoredValue::new(params.source.hub.clone());
    let hub_model = move |repo: &str| ModelSource { hub: hub.get_value(), repo: repo.to_string(), revision: "main".into() };
    let models_url_pick = models_url.clone();
    let pick_model = move |value: String| {
        if let Some(repo) = value.strip_prefix("bundled:") {
            if let Some(b) = bundled.get_untracked().into_iter().find(|b| b.repo == repo) {
                start_load(bundled_source(&models_url_pick, &b));
            }
        } else if let Some(repo) = value.strip_prefix("hub:") {
            start_load(hub_model(repo));
        }
    };

    let models_url_fallback = models_url.clone();
    let fallback = move || {
        let failed = matches!(load.get(), LoadState::Failed(_));
        let on_hub = source.get().hub != models_url_fallback;
        let list = bundled.get();
        (failed && on_hub && !list.is_empty()).then(|| {
            let url = models_url_fallback.clone();
            view! {
                <div class="fallback" data-testid="bundled-offer">
                    "The model host could not be reached. This site bundles: "
                    {list.into_iter().map(|b| {
                        let url = url.clone();
                        let label = b.label.clone();
                        view! {
                            <button on:click=move |_| start_load(bundled_source(&url, &b))>{format!("Use {label}")}</button>
                        }
                    }).collect_view()}
                </div>
            }
        })
    };

    let layer_options = move || {
        let n = match load.get() { LoadState::Ready(i) => i.layers, _ => 0 };
        (0..n).map(|l| view! { <option value=l.to_string() selected=move || layer.get() == l>{format!("Layer {l}")}</option> }).collect_view()
    };
    let head_options = move || {
        let n = match load.get() { LoadState::Ready(i) => i.heads, _ => 0 };
        (0..n).map(|h| view! { <option value=h.to_string() selected=move || head.get() == h>{format!("Head {h}")}</option> }).collect_view()
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
            <section class="controls">
                <label class="field">
                    "Model"
                    <select data-testid="model-select" on:change=move |ev| pick_model(event_target_value(&ev))>
                        {model_options}
                    </select>
                </label>
                <form class="field custom" on:submit=move |ev| {
                    ev.prevent_default();
                    let repo = custom_repo.get_untracked().trim().to_string();
                    if !repo.is_empty() {
                        start_load(hub_model(&repo));
                    }
                }>
                    <input type="text" placeholder="or any Hub repo, e.g. google-bert/bert-base-multilingual-cased"
                        data-testid="repo-input"
                        prop:value=move || custom_repo.get()
                        on:input=move |ev| custom_repo.set(event_target_value(&ev))/>
                    <button type="submit">"Load"</button>
                </form>
                <label class="field grow">
                    "Text"
                    <textarea data-testid="text-input" rows="2"
                        prop:value=move || text.get()
                        on:input=move |ev| { text.set(event_target_value(&ev)); schedule_run(); }></textarea>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="pair-toggle" prop:checked=move || pair_on.get()
                        on:change=move |ev| { pair_on.set(event_target_checked(&ev)); schedule_run(); }/>
                    "Sentence pair"
                </label>
                <Show when=move || pair_on.get()>
                    <label class="field grow">
                        "Second sentence"
                        <textarea data-testid="pair-input" rows="2"
                            prop:value=move || pair.get()
                            on:input=move |ev| { pair.set(event_target_value(&ev)); schedule_run(); }></textarea>
                    </label>
                </Show>
            </section>

            <section class="progress" data-testid="progress-area">
                <progress data-testid="progress" max="1"
                    prop:value=move || load.get().fraction().unwrap_or(0.0)
                    class:hidden=move || !load.get().is_loading()></progress>
                <span data-testid="status" data-state=move || status().0>{move || status().1}</span>
                <span class="model-info" data-testid="model-info">
                    {move || match load.get() { LoadState::Ready(_) => load.get().describe(), _ => String::new() }}
                </span>
            </section>

            <Show when=move || error_text().is_some()>
                <div class="error" role="alert" data-testid="error">
                    <strong>"Problem: "</strong>{move || error_text().unwrap_or_default()}
                    <Show when=move || matches!(load.get(), LoadState::Failed(_))>
                        <button data-testid="retry" on:click=move |_| start_load(source.get_untracked())>"Retry"</button>
                    </Show>
                </div>
            </Show>
            {fallback}

            <section class="view">
                <div class="view-controls">
                    <label>"Layer "<select data-testid="layer-select"
                        on:change=move |ev| layer.set(event_target_value(&ev).parse().unwrap_or(0))>{layer_options}</select></label>
                    <label>"Head "<select data-testid="head-select"
                        on:change=move |ev| head.set(event_target_value(&ev).parse().unwrap_or(0))>{head_options}</select></label>
                    <label>"Colour scale "<select data-testid="scale-select" on:change=move |ev| {
                        scale_mode.set(if event_target_value(&ev) == "unit" { ScaleMode::Unit } else { ScaleMode::HeadMax })
                    }>
                        <option value="head">"0 – head maximum"</option>
                        <option value="unit">"0 – 1"</option>
                    </select></label>
                </div>
                <p class="caption">"Rows: the token attending (from). Columns: the token attended to. Hover a cell for its weight."</p>
                <div class="heatmap-wrap" node_ref=wrap_ref>
                    <canvas data-testid="heatmap" node_ref=canvas_ref
                        on:mousemove=on_move
                        on:mouseleave=move |_| hover.set(None)></canvas>
                    <Show when=move || tooltip().is_some()>
                        <div class="tooltip" data-testid="tooltip"
                            style:left=move || format!("{}px", tooltip_pos.get().0 + 14.0)
                            style:top=move || format!("{}px", tooltip_pos.get().1 + 14.0)>
                            {move || tooltip().unwrap_or_default()}
                        </div>
                    </Show>
                </div>
            </section>
        </main>
        <footer>
            "Runs entirely in this browser tab (Rust + WebAssembly, candle). Models from "
            {move || source.get().hub}
        </footer>
    }
}
