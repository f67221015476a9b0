//! Small helpers every canvas view shares: sizing for the screen's pixel ratio, text fitting,
//! timing and the `data-*` hooks the tests read.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

pub type Ctx = CanvasRenderingContext2d;

pub const FONT_PX: f64 = 12.0;
pub const FONT: &str = "12px system-ui, sans-serif";

pub fn context(canvas: &HtmlCanvasElement) -> Option<Ctx> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// The screen's device pixel ratio (at least 1).
pub fn pixel_ratio() -> f64 {
    web_sys::window().map(|w| w.device_pixel_ratio()).unwrap_or(1.0).max(1.0)
}

/// Sizes `canvas` to `w × h` CSS pixels with a backing store at the screen's pixel ratio (crisp
/// on high-DPI screens), clears it and returns a context that draws in CSS pixels.
pub fn prepare(canvas: &HtmlCanvasElement, w: f64, h: f64) -> Option<Ctx> {
    let dpr = pixel_ratio();
    let (bw, bh) = ((w * dpr).ceil().max(1.0) as u32, (h * dpr).ceil().max(1.0) as u32);
    if canvas.width() != bw || canvas.height() != bh {
        canvas.set_width(bw);
        canvas.set_height(bh);
    }
    let style = canvas.style();
    let _ = style.set_property("width", &format!("{w}px"));
    let _ = style.set_property("height", &format!("{h}px"));
    let ctx = context(canvas)?;
    let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, bw as f64, bh as f64);
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_font(FONT);
    Some(ctx)
}

/// Clears an overlay canvas without resizing it, ready to draw in CSS pixels.
pub fn clear(canvas: &HtmlCanvasElement) -> Option<Ctx> {
    let ctx = context(canvas)?;
    let _ = ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    let dpr = pixel_ratio();
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.set_font(FONT);
    Some(ctx)
}

pub fn text_width(ctx: &Ctx, text: &str) -> f64 {
    ctx.measure_text(text).map(|m| m.width()).unwrap_or(0.0)
}

/// Shortens a label with an ellipsis to fit `max` pixels.
pub fn fit(ctx: &Ctx, text: &str, max: f64) -> String {
    if text_width(ctx, text) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() && text_width(ctx, &format!("{}…", chars.iter().collect::<String>())) > max {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>())
}

/// Fits every label to `max` pixels; returns them and the widest one's width.
pub fn fit_all(ctx: &Ctx, labels: impl Iterator<Item = String>, max: f64) -> (Vec<String>, f64) {
    let fitted: Vec<String> = labels.map(|l| fit(ctx, &l, max)).collect();
    let widest = fitted.iter().map(|l| text_width(ctx, l)).fold(0.0, f64::max);
    (fitted, widest)
}

/// Labels as given, the width they were fitted to, the fitted labels and the widest one.
type Fitted = (Vec<String>, f64, Vec<String>, f64);

thread_local! {
    /// The last labels each view fitted, with the result: a redraw of the same tokens (a
    /// resize, a head change, a theme switch) skips measuring 512 labels again.
    static FITTED: std::cell::RefCell<std::collections::HashMap<&'static str, Fitted>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`fit_all`], remembered per view (`site`) for the last set of labels.
pub fn fit_all_cached(site: &'static str, ctx: &Ctx, labels: Vec<String>, max: f64) -> (Vec<String>, f64) {
    let hit = FITTED.with(|f| {
        f.borrow().get(site).filter(|(raw, m, _, _)| *raw == labels && *m == max).map(|(_, _, fitted, w)| (fitted.clone(), *w))
    });
    if let Some(found) = hit {
        return found;
    }
    let (fitted, w) = fit_all(ctx, labels.iter().cloned(), max);
    FITTED.with(|f| f.borrow_mut().insert(site, (labels, max, fitted.clone(), w)));
    (fitted, w)
}

/// A millisecond clock with sub-millisecond resolution where the browser gives it.
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Sets `data-*` hooks (read by the tests and the benchmark).
pub fn set_attrs(el: &web_sys::Element, attrs: &[(&str, String)]) {
    for (k, v) in attrs {
        let _ = el.set_attribute(k, v);
    }
}

/// Marks a finished base drawing: counts draws and records how long the last one took.
pub fn record_draw(canvas: &HtmlCanvasElement, started_ms: f64) {
    let draws = canvas.get_attribute("data-draws").and_then(|d| d.parse::<u64>().ok()).unwrap_or(0) + 1;
    set_attrs(canvas, &[("data-draws", draws.to_string()), ("data-draw-ms", format!("{:.3}", now_ms() - started_ms))]);
}

/// Width available to a view: its wrapper's width, or a sensible default before layout.
pub fn avail_width(wrap: Option<&web_sys::HtmlElement>) -> f64 {
    wrap.map(|w| w.client_width() as f64).filter(|w| *w > 0.0).unwrap_or(900.0)
}

/// In an embed (`<html data-embed>`): the height left for a view whose wrapper is `wrap`, from
/// its top to the bottom of the iframe, so the whole matrix shows without scrolling. `None` in
/// the full app, where the page scrolls.
pub fn embed_room(wrap: Option<&web_sys::HtmlElement>) -> Option<f64> {
    let embedded = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .is_some_and(|e| e.has_attribute("data-embed"));
    let top = wrap.map(|w| w.get_bounding_client_rect().top()).unwrap_or(0.0);
    embedded.then(|| (window_height() - top - 6.0).max(160.0))
}

/// Height of the browser window (the model view fits its grid in it).
pub fn window_height() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(768.0)
}
