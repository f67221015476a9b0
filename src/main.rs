//! The page's entry point (trunk builds it for wasm32). Everything lives in the library.

#[cfg(all(target_arch = "wasm32", feature = "page"))]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(attention_viz::ui::App);
    attention_viz::net::timing::mark("page-mounted");
}

#[cfg(not(all(target_arch = "wasm32", feature = "page")))]
fn main() {
    eprintln!("attention-viz is a web page: run `make serve` (or `trunk serve`) to build and open it");
}
