//! The "Export" row under the views: the command line's files from the page. JSON and `.npy`
//! (with its `.tokens.json`) of the run; SVG of the heatmap, head view or model view as shown
//! (layer, heads, options, theme); PNG of that SVG at 1×, 2× or 4×, drawn on a canvas here.
//! The worker builds every file ([`crate::export::export_files`]); [`deliver`] saves it.

use std::time::Duration;

use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url};

use super::canvas;
use super::selection::ViewKind;
use super::session::Session;
use super::theme::Theme;
use crate::analysis::Strongest;
use crate::protocol::{ExportKind, Request, SvgView};

fn svg_view(v: ViewKind) -> Option<SvgView> {
    match v {
        ViewKind::Heatmap => Some(SvgView::Heatmap),
        ViewKind::Head => Some(SvgView::Head),
        ViewKind::Model => Some(SvgView::Model),
        _ => None,
    }
}

#[component]
pub fn ExportBar(session: Session) -> impl IntoView {
    let wrap_ref = NodeRef::<leptos::html::Div>::new();
    let sel = session.selection;
    let no_run = move || session.run.with(|r| r.is_none());
    let no_svg = move || no_run() || svg_view(sel.with(|s| s.view)).is_none();
    let ask = move |what: ExportKind| {
        let Some(run) = session.run.with_untracked(|r| r.as_ref().map(|r| r.id)) else { return };
        session.export_note.set(None);
        let model = session.source.with_untracked(|s| s.repo.clone());
        let pair = session.pair_on.get_untracked().then(|| session.pair.get_untracked());
        session.send(&Request::Export { run, what, model, text: session.text.get_untracked(), pair });
    };
    let svg = move |png: Option<u32>| {
        let Some(view) = svg_view(sel.with_untracked(|s| s.view)) else { return };
        let width = canvas::avail_width(wrap_ref.get_untracked().map(|w| w.unchecked_into()).as_ref());
        let what = sel.with_untracked(|s| {
            let (top_k, min_weight) = match s.strongest {
                Strongest::TopK(k) => (Some(k), None),
                Strongest::MinWeight(w) => (None, Some(w)),
                Strongest::All => (None, None),
            };
            ExportKind::Svg {
                view,
                layer: s.layer,
                source: s.source(),
                heads: s.active_heads(),
                options: s.options,
                dark: session.theme.get_untracked() == Theme::Dark,
                width,
                top_k,
                min_weight,
                png,
            }
        });
        ask(what);
    };
    let svg_title = move || if no_svg() { "SVG and PNG export the heatmap, head view and model view" } else { "The current view" };
    let pngs = [1u32, 2, 4]
        .into_iter()
        .map(|scale| {
            view! {
                <button data-testid=format!("export-png-{scale}") disabled=no_svg title=svg_title
                    on:click=move |_| svg(Some(scale))>{format!("PNG {scale}×")}</button>
            }
        })
        .collect_view();
    view! {
        <div class="export-bar view-controls" data-testid="export-bar" node_ref=wrap_ref>
            <span>"Export"</span>
            <button data-testid="export-json" disabled=no_run title="Tokens and attention as JSON"
                on:click=move |_| ask(ExportKind::Json)>"JSON"</button>
            <button data-testid="export-npy" disabled=no_run title="attention.npy and attention.tokens.json"
                on:click=move |_| ask(ExportKind::Npy)>".npy"</button>
            <button data-testid="export-svg" disabled=no_svg title=svg_title
                on:click=move |_| svg(None)>"SVG"</button>
            {pngs}
            <span class="note" data-testid="export-note">{move || session.export_note.get().unwrap_or_default()}</span>
        </div>
    }
}

/// Saves a file the worker built: as it is, or an SVG asked for as PNG drawn at its scale.
pub fn deliver(session: Session, what: &ExportKind, file_name: &str, mime: &str, bytes: &Uint8Array) {
    let result = match what {
        ExportKind::Svg { png: Some(scale), .. } => to_png(session, file_name, bytes, *scale),
        _ => blob(bytes, mime).and_then(|b| save(&b, file_name)),
    };
    match result {
        Ok(()) => session.export_note.set(Some(format!("Saved {file_name}"))),
        Err(e) => session.export_note.set(Some(format!("Export failed: {e}"))),
    }
}

fn js_err(e: JsValue) -> String {
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

fn blob(bytes: &Uint8Array, mime: &str) -> Result<Blob, String> {
    let bag = BlobPropertyBag::new();
    bag.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&Array::of1(bytes), &bag).map_err(js_err)
}

/// Downloads `blob` as `name` through an `<a download>` (its URL revoked a little later).
fn save(blob: &Blob, name: &str) -> Result<(), String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let url = Url::create_object_url_with_blob(blob).map_err(js_err)?;
    let a: HtmlAnchorElement = doc.create_element("a").map_err(js_err)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    set_timeout(move || { let _ = Url::revoke_object_url(&url); }, Duration::from_secs(10));
    Ok(())
}

/// Draws the SVG in an `<img>`, then on a canvas of its size × `scale`, and saves the PNG.
fn to_png(session: Session, svg_name: &str, bytes: &Uint8Array, scale: u32) -> Result<(), String> {
    let url = Url::create_object_url_with_blob(&blob(bytes, "image/svg+xml")?).map_err(js_err)?;
    let name = format!("{}@{scale}x.png", svg_name.trim_end_matches(".svg"));
    let img = HtmlImageElement::new().map_err(js_err)?;
    let (img2, url2) = (img.clone(), url.clone());
    let on_load = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url2);
        let note = match draw(&img2, scale, name.clone()) {
            Ok(()) => format!("Saved {name}"),
            Err(e) => format!("Export failed: {e}"),
        };
        session.export_note.set(Some(note));
    });
    let url3 = url.clone();
    let on_error = Closure::once_into_js(move || {
        let _ = Url::revoke_object_url(&url3);
        session.export_note.set(Some("Export failed: the SVG could not be drawn".into()));
    });
    img.set_onload(Some(on_load.unchecked_ref()));
    img.set_onerror(Some(on_error.unchecked_ref()));
    img.set_src(&url);
    Ok(())
}

fn draw(img: &HtmlImageElement, scale: u32, name: String) -> Result<(), String> {
    let (w, h) = (img.natural_width(), img.natural_height());
    if w == 0 || h == 0 {
        return Err("the SVG has no size".into());
    }
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let c: HtmlCanvasElement = doc.create_element("canvas").map_err(js_err)?.unchecked_into();
    c.set_width(w * scale);
    c.set_height(h * scale);
    let ctx: web_sys::CanvasRenderingContext2d =
        c.get_context("2d").map_err(js_err)?.ok_or("no 2d canvas")?.unchecked_into();
    ctx.scale(scale as f64, scale as f64).map_err(js_err)?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(img, 0.0, 0.0, w as f64, h as f64).map_err(js_err)?;
    let done = Closure::once_into_js(move |b: Option<Blob>| {
        if let Some(b) = b {
            let _ = save(&b, &name);
        }
    });
    c.to_blob(done.unchecked_ref()).map_err(js_err)
}
