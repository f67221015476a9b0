//! Which engine worker the page starts. The site has two builds of the same worker: `worker`
//! (wasm simd128: the matrix product multiplies, then adds) and `worker_relaxed` (feature
//! `relaxed-simd`: the same product with relaxed SIMD's `f32x4.relaxed_madd`, one fused
//! multiply-add on CPUs with FMA). A browser without relaxed SIMD refuses the second module
//! outright, so the page asks first: `WebAssembly.validate` on [`PROBE`], a tiny module that
//! uses that very instruction. If the relaxed worker still does not start, the session falls
//! back to the plain one ([`super::engine::EngineChoice::without`]).

/// A whole wasm module (37 bytes) with one function `(v128, v128, v128) -> v128` whose body is
/// `f32x4.relaxed_madd` of its three parameters: valid exactly where relaxed SIMD is.
pub const PROBE: [u8; 37] = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // types: (v128 ×3) -> v128
    0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
    0x0a, 0x0d, 0x01, 0x0b, 0x00, // code: one body of 11 bytes, no locals
    0x20, 0x00, 0x20, 0x01, 0x20, 0x02, // local.get 0, 1, 2
    0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd prefix, opcode 0x105 as LEB128)
    0x0b, // end
];

/// An engine build the page can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Relaxed,
    Plain,
}

impl Variant {
    /// The loader of the worker binary (src/boot/, next to index.html).
    pub fn loader(self) -> &'static str {
        match self {
            Variant::Relaxed => "./worker_relaxed_loader.js",
            Variant::Plain => "./worker_loader.js",
        }
    }

    /// What the footer says.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Relaxed => "wasm simd128 + relaxed FMA",
            Variant::Plain => "wasm simd128",
        }
    }

    /// The footer's `data-variant`, for the tests.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Relaxed => "relaxed",
            Variant::Plain => "plain",
        }
    }
}

/// Whether this browser validates relaxed SIMD ([`PROBE`]).
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub fn relaxed_simd_validates() -> bool {
    let bytes = js_sys::Uint8Array::from(&PROBE[..]);
    matches!(js_sys::WebAssembly::validate(&bytes), Ok(true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An unsigned LEB128 at `at`: (value, bytes read).
    fn leb(b: &[u8], at: usize) -> (usize, usize) {
        let (mut v, mut shift, mut n) = (0usize, 0, 0);
        loop {
            let byte = b[at + n];
            v |= ((byte & 0x7f) as usize) << shift;
            n += 1;
            if byte & 0x80 == 0 {
                return (v, n);
            }
            shift += 7;
        }
    }

    #[test]
    fn the_probe_is_a_well_formed_module_with_one_relaxed_madd() {
        assert_eq!(&PROBE[..8], b"\0asm\x01\0\0\0");
        // Sections: id, LEB128 size, then exactly that many bytes, up to the end.
        let (mut at, mut ids) = (8, Vec::new());
        let mut code = &PROBE[..0];
        while at < PROBE.len() {
            let id = PROBE[at];
            let (size, n) = leb(&PROBE, at + 1);
            let body = &PROBE[at + 1 + n..at + 1 + n + size];
            if id == 10 {
                code = body;
            }
            ids.push(id);
            at += 1 + n + size;
        }
        assert_eq!(at, PROBE.len());
        assert_eq!(ids, [1, 3, 10], "type, function, code");
        // One body, sized to the rest of the section: no locals, then the instructions.
        let (count, n) = leb(code, 0);
        let (size, m) = leb(code, n);
        assert_eq!((count, n + m + size), (1, code.len()));
        let body = &code[n + m..];
        assert_eq!(body[0], 0, "no locals");
        // The 0xfd-prefixed opcode 0x105 is f32x4.relaxed_madd (relaxed SIMD proposal).
        assert_eq!(body[7], 0xfd);
        assert_eq!(leb(body, 8), (0x105, 2));
        assert_eq!(body.last(), Some(&0x0b), "end");
    }

    #[test]
    fn each_variant_has_its_own_worker() {
        assert_ne!(Variant::Relaxed.loader(), Variant::Plain.loader());
        assert!(Variant::Plain.loader().ends_with("/worker_loader.js"));
        assert!(Variant::Relaxed.label().starts_with(Variant::Plain.label()));
    }
}
