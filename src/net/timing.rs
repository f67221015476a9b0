//! Named moments of a visit, as `performance.mark("av:…")` entries in the page's and the
//! worker's own timelines.
//!
//! Why marks and not logging: they cost a microsecond, print nothing, and stay in the
//! browser's performance timeline, where `scripts/bench_first_heatmap.mjs` reads them from
//! both sides (each with its `performance.timeOrigin`) to break the first heatmap's time down:
//! page start, worker start, cache lookup, config and tokenizer, weights, hash check, engine,
//! run, slice. Each name is marked once, the first time (what the first heatmap waits for), so
//! a long session does not pile up entries. A mark that cannot be made (no `performance`) is
//! skipped.

/// Records `av:{name}` now, unless it was recorded before in this page or worker. A no-op
/// outside the browser.
pub fn mark(name: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        thread_local! {
            static MARKED: std::cell::RefCell<std::collections::HashSet<String>> = Default::default();
        }
        if !MARKED.with(|m| !m.borrow().contains(name) && m.borrow_mut().insert(name.to_string())) {
            return;
        }
        let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or_default();
        if performance.is_object() {
            let _ = performance.unchecked_into::<web_sys::Performance>().mark(&format!("av:{name}"));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = name;
}
