//! XXH64, the 64-bit checksum that vouches for a model file read back from Cache Storage.
//!
//! Why not SHA-256 again: checking a cached bert-base against its host's SHA-256 meant a second
//! read of the 440 MB copy into one JS buffer (`crypto.subtle.digest` hashes whole buffers
//! only) and half a second of hashing: 1.3 s and +850 MB on every visit. Instead, when a copy
//! has been checked against the host's SHA-256 (after its download, or once on a later visit),
//! the XXH64 of the same bytes is recorded next to it (`cache.rs`, [`super::cache::Check`]),
//! and later reads compute the XXH64 of the bytes as they stream into the tensors, at memory
//! speed, with no extra buffer. A copy damaged on disk no longer matches its record and is
//! hashed with SHA-256 after all, which says what it is. (Who could rewrite the cached copy on
//! purpose could rewrite the SHA-256 stored with it too: the cache is the site's own storage.)
//!
//! The algorithm is Yann Collet's XXH64 with seed 0, fed in chunks of any size.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// A running XXH64 (seed 0).
#[derive(Clone, Debug)]
pub struct Xxh64 {
    v: [u64; 4],
    /// The start of a 32-byte stripe split between two chunks.
    buf: [u8; 32],
    buf_len: usize,
    total: u64,
}

impl Default for Xxh64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Xxh64 {
    pub fn new() -> Self {
        Self { v: [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)], buf: [0; 32], buf_len: 0, total: 0 }
    }

    /// Whole 32-byte stripes of `data` (its length a multiple of 32).
    fn stripes(&mut self, data: &[u8]) {
        let [mut a, mut b, mut c, mut d] = self.v;
        for s in data.chunks_exact(32) {
            a = round(a, u64_at(s, 0));
            b = round(b, u64_at(s, 8));
            c = round(c, u64_at(s, 16));
            d = round(d, u64_at(s, 24));
        }
        self.v = [a, b, c, d];
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buf_len > 0 {
            let take = (32 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 32 {
                return;
            }
            let stripe = self.buf;
            self.stripes(&stripe);
            self.buf_len = 0;
        }
        let whole = data.len() / 32 * 32;
        self.stripes(&data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The checksum of everything given so far.
    pub fn digest(&self) -> u64 {
        let [a, b, c, d] = self.v;
        let mut h = if self.total >= 32 {
            let h = a.rotate_left(1).wrapping_add(b.rotate_left(7)).wrapping_add(c.rotate_left(12)).wrapping_add(d.rotate_left(18));
            [a, b, c, d].into_iter().fold(h, merge)
        } else {
            P5
        };
        h = h.wrapping_add(self.total);
        let mut rest = &self.buf[..self.buf_len];
        while rest.len() >= 8 {
            h = (h ^ round(0, u64_at(rest, 0))).rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
            rest = &rest[8..];
        }
        if rest.len() >= 4 {
            let w = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            h = (h ^ u64::from(w).wrapping_mul(P1)).rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
            rest = &rest[4..];
        }
        for &byte in rest {
            h = (h ^ u64::from(byte).wrapping_mul(P5)).rotate_left(11).wrapping_mul(P1);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(P2);
        h ^= h >> 29;
        h = h.wrapping_mul(P3);
        h ^ (h >> 32)
    }
}

/// The XXH64 of `data` in one go.
pub fn xxh64(data: &[u8]) -> u64 {
    let mut h = Xxh64::new();
    h.update(data);
    h.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // The reference implementation's values (xxhsum -H1, python-xxhash).
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(xxh64(b"Nobody inspects the spammish repetition"), 0xFBCE_A83C_8A37_8BF1);
    }

    #[test]
    fn any_chunking_gives_the_same_digest() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = xxh64(&data);
        for size in [1, 3, 7, 31, 32, 33, 64, 100, 4096] {
            let mut h = Xxh64::new();
            for c in data.chunks(size) {
                h.update(c);
            }
            assert_eq!(h.digest(), whole, "chunks of {size}");
        }
        // One flipped bit anywhere changes it.
        for i in [0, 31, 32, 2500, 4999] {
            let mut d = data.clone();
            d[i] ^= 0x10;
            assert_ne!(xxh64(&d), whole, "bit flipped at {i}");
        }
    }
}
