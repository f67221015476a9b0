//! Faulting in the first pages of wasm memory while the worker waits for the page.
//!
//! Reading a cached bert-base spends about 300 ms of its 520 in first touches of fresh wasm
//! memory (the kernel maps and zeroes each 4 KB page as the weights are first written), on the
//! worker's thread. Between its `WorkerReady` and the page's first request the worker has nothing
//! to do (about 45 ms on two cores, while the page mounts on the other core), so it touches the
//! pages of one large allocation there, slice by slice, yielding to its event loop between
//! slices, and frees it at the first message: the allocator hands that memory, now mapped, to
//! the weights that follow. Measured as paired visits (first heatmap, bert-base, cached): 13, 44
//! and 33 ms sooner in three runs. Tried and dropped: going on until the weights begin (slices between
//! the load's own awaits delay them as much as they save), and touching on a thread of the
//! threaded engine's pool instead (29 ms later: it competes with the page's start).
//!
//! Bounded ([`MAX_BYTES`]): wasm memory never shrinks, and a visit that loads no model keeps it.

use std::cell::{Cell, RefCell};

use wasm_bindgen_futures::JsFuture;

/// At most this much memory is touched in advance: about the smallest model's weights (MiniLM,
/// 91 MB), more than the wait usually allows.
const MAX_BYTES: usize = 96 << 20;
/// Touched between two yields to the event loop: about 3 ms in this VM.
const SLICE_BYTES: usize = 4 << 20;

thread_local! {
    /// A message has come: stop touching.
    static STOP: Cell<bool> = const { Cell::new(false) };
    /// The memory touched so far.
    static MEMORY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Stops the warming (a message has come) and frees what it touched, at once: the load that
/// follows allocates its weights from it.
pub fn on_message() {
    STOP.with(|s| s.set(true));
    let memory = MEMORY.with(|m| std::mem::take(&mut *m.borrow_mut()));
    // The writes were only there for their effect on the memory's pages.
    std::hint::black_box(&memory);
    drop(memory);
}

/// A task on the worker's event loop after the one running now (a timer of 0 ms).
async fn yield_to_events() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = super::scope().set_timeout_with_callback(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

/// Starts touching pages until [`on_message`] or [`MAX_BYTES`]; returns at once.
pub fn start() {
    wasm_bindgen_futures::spawn_local(async {
        let reserved = MEMORY.with(|m| m.borrow_mut().try_reserve_exact(MAX_BYTES).is_ok());
        if !reserved {
            return;
        }
        // Growing `len` writes the slice's bytes, which maps its pages.
        while !STOP.with(Cell::get) {
            let more = MEMORY.with(|m| {
                let mut m = m.borrow_mut();
                let len = (m.len() + SLICE_BYTES).min(MAX_BYTES);
                m.resize(len, 0);
                m.len() < MAX_BYTES
            });
            if !more {
                break;
            }
            yield_to_events().await;
        }
        crate::net::timing::mark("warm-end");
    });
}
