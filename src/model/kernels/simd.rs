//! Four f32 lanes: wasm32's `v128` when the build has simd128 (the page), plain arrays
//! elsewhere, which LLVM vectorises less well (native builds keep candle's matmul for the
//! linear layers, see `bert.rs`). The kernels are written once against [`F4`]; every
//! operation here is a single wasm SIMD instruction (or a few, for [`F4::hsum`]).
//!
//! Loads and stores go through `&[f32; 4]` (a checked slice, no `unsafe`): LLVM merges the four
//! lane reads into one `v128.load`.
//!
//! The cargo feature `relaxed-simd` (the site's second worker, `src/bin/worker_relaxed.rs`) adds
//! relaxed SIMD's `f32x4.relaxed_madd` to the matrix product ([`F4::madd`]): a browser without
//! relaxed SIMD refuses that whole module, so the page only loads it where
//! `WebAssembly.validate` accepts the instruction (`src/ui/engine_variant.rs`).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F4(v128);

    impl F4 {
        #[inline(always)]
        pub fn load(c: &[f32; 4]) -> Self {
            Self(f32x4(c[0], c[1], c[2], c[3]))
        }
        #[inline(always)]
        pub fn store(self, c: &mut [f32; 4]) {
            *c = [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ];
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self(f32x4_splat(v))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f32x4_div(self.0, o.0))
        }
        /// `self * m + a`, rounded twice (no FMA in simd128).
        #[inline(always)]
        pub fn mul_add(self, m: Self, a: Self) -> Self {
            Self(f32x4_add(f32x4_mul(self.0, m.0), a.0))
        }
        /// `self * m + a` for the matrix product's inner loop: relaxed SIMD's multiply-add in
        /// the `relaxed-simd` build (one instruction, fused on CPUs with FMA: one rounding; the
        /// engine may also round twice), [`F4::mul_add`] otherwise. Its caller needs
        /// `#[target_feature(enable = "relaxed-simd")]` too, or the intrinsic is not inlined.
        #[cfg(feature = "relaxed-simd")]
        #[inline]
        #[target_feature(enable = "relaxed-simd")]
        pub fn madd(self, m: Self, a: Self) -> Self {
            Self(f32x4_relaxed_madd(self.0, m.0, a.0))
        }
        #[cfg(not(feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn madd(self, m: Self, a: Self) -> Self {
            self.mul_add(m, a)
        }
        /// Lane-wise minimum (`o < self ? o : self`: one instruction in V8).
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            Self(f32x4_pmin(self.0, o.0))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(f32x4_pmax(self.0, o.0))
        }
        /// Per lane: `if self > o { a } else { b }`.
        #[inline(always)]
        pub fn gt_select(self, o: Self, a: Self, b: Self) -> Self {
            Self(v128_bitselect(a.0, b.0, f32x4_gt(self.0, o.0)))
        }
        /// `2^n` for lanes holding `n + ROUNDER` (`kernels::exp4`), `n` in `-126..=127`:
        /// the sum's bits are `0x4B40_0000 + n`, 2^n's are `(n + 127) << 23`.
        #[inline(always)]
        pub fn exp2_rounded(self) -> Self {
            Self(i32x4_shl(i32x4_sub(self.0, i32x4_splat(0x4B40_0000 - 127)), 23))
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            (f32x4_extract_lane::<0>(self.0) + f32x4_extract_lane::<2>(self.0))
                + (f32x4_extract_lane::<1>(self.0) + f32x4_extract_lane::<3>(self.0))
        }
        #[inline(always)]
        pub fn hmax(self) -> f32 {
            f32x4_extract_lane::<0>(self.0)
                .max(f32x4_extract_lane::<1>(self.0))
                .max(f32x4_extract_lane::<2>(self.0).max(f32x4_extract_lane::<3>(self.0)))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    #[inline(always)]
    fn map(a: [f32; 4], f: impl Fn(f32) -> f32) -> [f32; 4] {
        [f(a[0]), f(a[1]), f(a[2]), f(a[3])]
    }
    #[inline(always)]
    fn zip(a: [f32; 4], b: [f32; 4], f: impl Fn(f32, f32) -> f32) -> [f32; 4] {
        [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
    }

    impl F4 {
        #[inline(always)]
        pub fn load(c: &[f32; 4]) -> Self {
            Self(*c)
        }
        #[inline(always)]
        pub fn store(self, c: &mut [f32; 4]) {
            *c = self.0;
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self([v; 4])
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| a + b))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| a - b))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| a * b))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| a / b))
        }
        /// `self * m + a`, rounded twice, as on wasm.
        #[inline(always)]
        pub fn mul_add(self, m: Self, a: Self) -> Self {
            self.mul(m).add(a)
        }
        /// [`F4::mul_add`] (relaxed SIMD exists only in wasm).
        #[inline(always)]
        pub fn madd(self, m: Self, a: Self) -> Self {
            self.mul_add(m, a)
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| if b < a { b } else { a }))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(zip(self.0, o.0, |a, b| if a < b { b } else { a }))
        }
        #[inline(always)]
        pub fn gt_select(self, o: Self, a: Self, b: Self) -> Self {
            let (s, o, a, b) = (self.0, o.0, a.0, b.0);
            Self(std::array::from_fn(
                |i| if s[i] > o[i] { a[i] } else { b[i] },
            ))
        }
        /// See the wasm [`F4::exp2_rounded`].
        #[inline(always)]
        pub fn exp2_rounded(self) -> Self {
            Self(map(self.0, |t| f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)))
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            let a = self.0;
            (a[0] + a[2]) + (a[1] + a[3])
        }
        #[inline(always)]
        pub fn hmax(self) -> f32 {
            let a = self.0;
            a[0].max(a[1]).max(a[2].max(a[3]))
        }
    }
}

pub use imp::F4;
