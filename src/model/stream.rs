//! Reading `model.safetensors` as its bytes arrive, without ever holding the file.
//!
//! The page used to download the whole file into memory and then copy every tensor out of it:
//! about twice the weights at the peak (0.9 GB for bert-base, 2.7 GB for bert-large, against
//! wasm32's 4 GB address space). [`WeightStream`] instead takes the file in chunks of any
//! size: it parses the header as soon as it has it, checks the sizes it declares, reserves
//! (fallibly) one f32 buffer per tensor the encoder reads, and converts each chunk straight
//! into those buffers. Bytes of tensors no family uses (`cls.*`, `lm_head.*`, poolers, integer
//! buffers) are skipped as they pass. The peak is the f32 weights plus one chunk, and a model
//! that cannot fit is refused after its first few kilobytes, before the download goes on.
//!
//! Format (<https://github.com/huggingface/safetensors>): an 8-byte little-endian header
//! length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}}` with
//! offsets relative to the data that follows, then the data.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::checkpoint::{canonical_name, is_pytorch_pickle, NEEDS_SAFETENSORS};
use super::{Checkpoint, Error, Family, Result};

/// A header larger than this is not a real checkpoint's (bert-large's is 40 kB).
const MAX_HEADER_BYTES: u64 = 64 << 20;

/// How much larger than the size its source states a file may describe itself before it is
/// refused on the header alone (see [`WeightStream::expect_len`]): compression of float
/// weights never comes near 4×, and 1 MB covers tiny files of zeros.
pub const DECLARED_SLACK: u64 = 4;

/// How many bytes of f32 weights a page loads. wasm32 addresses 4 GiB in all, and the same
/// memory holds the attention of a run (bert-large at 512 tokens: 400 MB), the activations and
/// the tokenizer; 2.6 GB of weights (≈ 650 M parameters) leaves room for them. bert-large
/// (335 M parameters, 1.34 GB) fits.
pub const WASM_WEIGHT_BUDGET: u64 = 2_600_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Dtype {
    F64,
    F32,
    F16,
    Bf16,
    /// Integer and other dtypes: their bytes are skipped.
    Other(usize),
}

impl Dtype {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "F64" => Self::F64,
            "F32" => Self::F32,
            "F16" => Self::F16,
            "BF16" => Self::Bf16,
            "I64" | "U64" => Self::Other(8),
            "I32" | "U32" => Self::Other(4),
            "I16" | "U16" => Self::Other(2),
            "I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => Self::Other(1),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::F64 => 8,
            Self::F32 => 4,
            Self::F16 | Self::Bf16 => 2,
            Self::Other(n) => n,
        }
    }

    fn is_float(self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// One element of this dtype (exactly `size()` little-endian bytes) as f32.
    fn to_f32(self, b: &[u8]) -> f32 {
        match (self, b) {
            (Self::F32, &[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
            (Self::F16, &[a, b]) => half::f16::from_le_bytes([a, b]).to_f32(),
            (Self::Bf16, &[a, b]) => half::bf16::from_le_bytes([a, b]).to_f32(),
            (Self::F64, &[a, b, c, d, e, f, g, h]) => f64::from_le_bytes([a, b, c, d, e, f, g, h]) as f32,
            _ => f32::NAN,
        }
    }

    /// Appends the elements of `bytes` (a whole number of them) to `data` as f32. One loop per
    /// dtype, with the element's width known to the compiler: matching the dtype per element
    /// (`to_f32`) made bert-base's 440 MB take 390 ms natively, most of a cached load's time.
    fn extend_f32(self, data: &mut Vec<f32>, bytes: &[u8]) {
        fn each<const N: usize>(data: &mut Vec<f32>, bytes: &[u8], f: impl Fn([u8; N]) -> f32) {
            data.extend(bytes.chunks_exact(N).map(|e| <[u8; N]>::try_from(e).map_or(f32::NAN, &f)));
        }
        match self {
            Self::F32 => each(data, bytes, f32::from_le_bytes),
            Self::F16 => each(data, bytes, |b| half::f16::from_le_bytes(b).to_f32()),
            Self::Bf16 => each(data, bytes, |b| half::bf16::from_le_bytes(b).to_f32()),
            Self::F64 => each(data, bytes, |b| f64::from_le_bytes(b) as f32),
            Self::Other(_) => {}
        }
    }
}

/// One tensor the encoder reads, filling up as its bytes pass.
struct Wanted {
    key: String,
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
    data: Vec<f32>,
    /// The first bytes of an element split between two chunks.
    carry: Vec<u8>,
}

impl Wanted {
    /// Converts the part of `chunk` (which starts at data offset `at`) inside this tensor.
    fn take(&mut self, chunk: &[u8], at: u64) {
        let from = self.begin.max(at);
        let to = self.end.min(at + chunk.len() as u64);
        if from >= to {
            return;
        }
        let mut bytes = &chunk[(from - at) as usize..(to - at) as usize];
        let size = self.dtype.size();
        if !self.carry.is_empty() {
            let need = (size - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..need]);
            bytes = &bytes[need..];
            if self.carry.len() == size {
                self.data.push(self.dtype.to_f32(&self.carry));
                self.carry.clear();
            }
        }
        let whole = bytes.len() / size * size;
        self.dtype.extend_f32(&mut self.data, &bytes[..whole]);
        self.carry.extend_from_slice(&bytes[whole..]);
    }
}

enum Phase {
    /// Collecting the length prefix and the JSON header.
    Header(Vec<u8>),
    /// Header parsed: `data_start` is the file offset of the data section, `data_len` its size.
    Data { data_start: u64, data_len: u64 },
}

/// A safetensors file read chunk by chunk into the tensors `family`'s encoder uses.
pub struct WeightStream {
    family: Family,
    budget: Option<u64>,
    phase: Phase,
    /// File bytes consumed so far.
    received: u64,
    /// Sorted by `begin`; `next` is the first one not complete.
    wanted: Vec<Wanted>,
    next: usize,
    floats: usize,
    /// The file's size as its source states it (`Content-Length`, a local file's size), if known.
    declared: Option<u64>,
}

fn bad(message: impl Into<String>) -> Error {
    Error::Weights(message.into())
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

impl WeightStream {
    /// A reader for `family`'s tensors. `budget` caps the f32 bytes of the tensors kept (the
    /// page passes [`WASM_WEIGHT_BUDGET`]); `None` for no cap (the command line).
    pub fn new(family: Family, budget: Option<u64>) -> Self {
        Self {
            family,
            budget,
            phase: Phase::Header(Vec::new()),
            received: 0,
            wanted: Vec::new(),
            next: 0,
            floats: 0,
            declared: None,
        }
    }

    /// The size the file's source states (`Content-Length` of a plain body, a local file's
    /// size). The header is checked against it before anything is reserved for the tensors:
    /// a file shorter than its header says is refused at once. A body whose encoding the page
    /// cannot see (a compressed cross-origin response states its compressed length) may
    /// legitimately be shorter on the wire, so only a header that describes more than
    /// [`DECLARED_SLACK`] times the stated size, or less than the stated size, is refused here;
    /// a file that then ends early is refused by [`Self::finish`].
    pub fn expect_len(&mut self, len: Option<u64>) {
        self.declared = len;
    }

    /// File bytes taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The file's whole size, once the header has said it.
    pub fn expected_len(&self) -> Option<u64> {
        match self.phase {
            Phase::Data { data_start, data_len } => Some(data_start + data_len),
            Phase::Header(_) => None,
        }
    }

    /// Forgets everything taken (a download that starts again from byte 0).
    pub fn reset(&mut self) {
        *self = Self::new(self.family, self.budget);
    }

    /// Takes the next `chunk` of the file. An error (not safetensors, inconsistent sizes, too
    /// large, out of memory) means the file cannot load: stop sending it.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<()> {
        if let Phase::Header(head) = &mut self.phase {
            let before = head.len();
            let need = match header_len(head) {
                Some(n) => 8 + n as usize,
                None => 8,
            };
            let take = need.saturating_sub(before).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            self.received += take as u64;
            if head.len() >= 8 && before < 8 {
                if is_pytorch_pickle(head) {
                    return Err(Error::NeedsSafetensors(
                        NEEDS_SAFETENSORS.replace("\"REPO\"", "<repo or folder>"),
                    ));
                }
                if super::looks_like_html(head) {
                    return Err(bad(super::HTML_INSTEAD));
                }
                let n = header_len(head).unwrap_or(0);
                if n == 0 || n > MAX_HEADER_BYTES {
                    return Err(bad(format!(
                        "it does not start like a safetensors file (its first 8 bytes give a header length of {n} bytes; \
                         is it an HTML page or another format?)"
                    )));
                }
                if let Some(len) = self.declared.filter(|&len| {
                    8 + n > len.saturating_mul(DECLARED_SLACK).saturating_add(1 << 20)
                }) {
                    return Err(bad(format!(
                        "its first 8 bytes give a header of {n} bytes, but the file is only {len} bytes long \
                         (not a safetensors file, or an incomplete copy)"
                    )));
                }
                // The rest of the header may be in this same chunk.
                let more = (n as usize).min(chunk.len());
                head.extend_from_slice(&chunk[..more]);
                chunk = &chunk[more..];
                self.received += more as u64;
            }
            match header_len(head) {
                Some(n) if head.len() as u64 == 8 + n => {
                    let json = std::mem::take(head);
                    self.plan(&json[8..], 8 + n)?;
                }
                _ => return Ok(()),
            }
        }
        let Phase::Data { data_start, data_len } = self.phase else { return Ok(()) };
        if chunk.is_empty() {
            return Ok(());
        }
        let at = self.received - data_start;
        if at + chunk.len() as u64 > data_len {
            return Err(bad(format!(
                "it is longer than its header says ({} bytes of data expected)",
                data_len
            )));
        }
        let end = at + chunk.len() as u64;
        while let Some(w) = self.wanted.get_mut(self.next) {
            if w.begin >= end {
                break;
            }
            w.take(chunk, at);
            if w.end <= end {
                self.next += 1;
            } else {
                break;
            }
        }
        self.received = data_start + end;
        Ok(())
    }

    /// Reads the JSON header: which tensors to keep, where they are, and whether they fit.
    fn plan(&mut self, json: &[u8], data_start: u64) -> Result<()> {
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(json).map_err(|e| bad(format!("its header is not valid JSON ({e})")))?;
        let mut wanted: Vec<Wanted> = Vec::new();
        let mut data_len = 0u64;
        let mut extents: Vec<(u64, u64)> = Vec::new();
        for (name, entry) in &header {
            if name == "__metadata__" {
                continue;
            }
            let (dtype, shape, begin, end) = describe(name, entry)?;
            data_len = data_len.max(end);
            extents.push((begin, end));
            if !dtype.is_float() {
                continue;
            }
            self.floats += 1;
            let Some(key) = canonical_name(self.family, name) else {
                continue;
            };
            wanted.push(Wanted {
                key,
                name: name.clone(),
                dtype,
                shape,
                begin,
                end,
                data: Vec::new(),
                carry: Vec::new(),
            });
        }
        extents.sort_unstable();
        if let Some(w) = extents.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(bad(format!(
                "its header gives tensors overlapping byte ranges ({}..{} and {}..{})",
                w[0].0, w[0].1, w[1].0, w[1].1
            )));
        }
        if let Some(len) = self.declared {
            let described = data_start + data_len;
            // (A compressed body may be a little longer than what it holds: a few bytes per block.)
            if described
                .saturating_add(described / 64)
                .saturating_add(1024)
                < len
            {
                return Err(bad(format!(
                    "its header describes {described} bytes, but the file is {len} bytes long \
                     (tensors out of place, or not the file its header belongs to)"
                )));
            }
            if described > len.saturating_mul(DECLARED_SLACK).saturating_add(1 << 20) {
                return Err(bad(format!(
                    "its header describes {described} bytes of tensors, but the file is only {len} bytes long \
                     (an incomplete copy, or offsets out of range)"
                )));
            }
        }
        // Two names for one tensor (`bert.x` and `x`): keep the first in the file.
        wanted.sort_by_key(|w| w.begin);
        let mut seen = std::collections::HashSet::new();
        wanted.retain(|w| seen.insert(w.key.clone()));
        if self.floats == 0 {
            return Err(bad("it holds no floating-point tensors"));
        }
        if wanted.is_empty() {
            return Err(bad(format!(
                "none of its tensors belong to a {} encoder (is it the checkpoint config.json describes?)",
                self.family.name()
            )));
        }
        let need: u64 = wanted.iter().map(|w| (w.end - w.begin) / w.dtype.size() as u64 * 4).sum();
        if let Some(budget) = self.budget.filter(|&b| need > b) {
            let params = need / 4;
            return Err(Error::TooLarge(format!(
                "this model is too large for a browser tab: its encoder has {:.0} M parameters, {} as 32-bit floats. \
                 A page runs WebAssembly in a 4 GB address space (wasm32) that must also hold the attention and the app, \
                 so attention-viz loads at most {} of weights (about {:.0} M parameters; bert-large's 335 M fit). \
                 Choose a smaller model, or run the command line `attention-export`, which has no such limit.",
                params as f64 / 1e6,
                mb(need),
                mb(budget),
                budget as f64 / 4e6,
            )));
        }
        for w in &mut wanted {
            let n = ((w.end - w.begin) / w.dtype.size() as u64) as usize;
            w.data.try_reserve_exact(n).map_err(|_| {
                Error::TooLarge(format!(
                    "out of memory: this tab could not allocate {} for tensor \"{}\" ({} needed in all). \
                     Close other tabs, or choose a smaller model.",
                    mb(n as u64 * 4),
                    w.name,
                    mb(need)
                ))
            })?;
        }
        self.wanted = wanted;
        self.phase = Phase::Data { data_start, data_len };
        Ok(())
    }

    /// The tensors, once every byte has arrived.
    pub fn finish(self) -> Result<Checkpoint> {
        let expected = self.expected_len();
        if expected != Some(self.received) {
            return Err(bad(match expected {
                Some(e) => format!("it ends after {} of its {e} bytes (an incomplete copy?)", self.received),
                None => format!("it ends after {} bytes, inside its header (an incomplete copy?)", self.received),
            }));
        }
        let mut tensors = HashMap::with_capacity(self.wanted.len());
        for w in self.wanted {
            let t = Tensor::from_vec(w.data, w.shape.as_slice(), &Device::Cpu)
                .map_err(|e| bad(format!("tensor \"{}\": {e}", w.name)))?;
            tensors.insert(w.key, t);
        }
        Ok(Checkpoint::from_tensors(self.family, tensors))
    }
}

/// The header length N from the first 8 bytes, once there are 8.
fn header_len(head: &[u8]) -> Option<u64> {
    let b: [u8; 8] = head.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// A header entry's dtype, shape and byte range, checked against each other.
fn describe(name: &str, entry: &serde_json::Value) -> Result<(Dtype, Vec<usize>, u64, u64)> {
    let field = |k: &str| entry.get(k).ok_or_else(|| bad(format!("tensor \"{name}\" has no \"{k}\" in the header")));
    let dtype_name = field("dtype")?.as_str().unwrap_or("?");
    let dtype = Dtype::parse(dtype_name).ok_or_else(|| bad(format!("tensor \"{name}\" has the unknown dtype {dtype_name}")))?;
    let numbers = |k: &str| -> Result<Vec<u64>> {
        field(k)?
            .as_array()
            .and_then(|a| a.iter().map(serde_json::Value::as_u64).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| bad(format!("tensor \"{name}\" has an unreadable \"{k}\"")))
    };
    let shape = numbers("shape")?;
    let offsets = numbers("data_offsets")?;
    let &[begin, end] = offsets.as_slice() else {
        return Err(bad(format!("tensor \"{name}\" has {} data offsets instead of 2", offsets.len())));
    };
    let elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let bytes = elements.and_then(|e| e.checked_mul(dtype.size() as u64));
    if end < begin || bytes != Some(end - begin) {
        return Err(bad(format!(
            "tensor \"{name}\" ({dtype_name}, shape {shape:?}) does not match its byte range {begin}..{end}"
        )));
    }
    let shape = shape.into_iter().map(usize::try_from).collect::<std::result::Result<Vec<_>, _>>().map_err(|_| bad("a shape is too large"))?;
    Ok((dtype, shape, begin, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    /// A BERT-named checkpoint with tensors of several dtypes, written by the safetensors crate.
    fn file() -> (Vec<u8>, Vec<f32>) {
        let values: Vec<f32> = (0..24).map(|i| i as f32 * 0.37 - 3.0).collect();
        let f32s: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let f16s: Vec<u8> = values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
        let bf16s: Vec<u8> = values.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect();
        let f64s: Vec<u8> = values.iter().flat_map(|v| f64::from(*v).to_le_bytes()).collect();
        let ids: Vec<u8> = (0..6i64).flat_map(|v| v.to_le_bytes()).collect();
        let views = vec![
            ("bert.embeddings.position_embeddings.weight", TensorView::new(safetensors::Dtype::F64, vec![4, 6], &f64s).unwrap()),
            ("bert.embeddings.word_embeddings.weight", TensorView::new(safetensors::Dtype::F32, vec![4, 6], &f32s).unwrap()),
            ("bert.encoder.layer.0.attention.self.query.weight", TensorView::new(safetensors::Dtype::F16, vec![6, 4], &f16s).unwrap()),
            ("bert.encoder.layer.0.attention.self.query.bias", TensorView::new(safetensors::Dtype::BF16, vec![24], &bf16s).unwrap()),
            ("cls.predictions.bias", TensorView::new(safetensors::Dtype::F32, vec![24], &f32s).unwrap()),
            ("bert.embeddings.position_ids", TensorView::new(safetensors::Dtype::I64, vec![1, 6], &ids).unwrap()),
        ];
        (safetensors::serialize(views, None).unwrap(), values)
    }

    fn values(ck: &Checkpoint, name: &str, dims: &[usize]) -> Vec<f32> {
        ck.get(name, dims).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn any_chunking_gives_the_same_tensors() {
        let (bytes, expect) = file();
        for size in [1, 2, 3, 7, 64, 1000, bytes.len()] {
            let mut s = WeightStream::new(Family::Bert, None);
            for c in bytes.chunks(size) {
                s.push(c).unwrap();
            }
            assert_eq!(s.received(), bytes.len() as u64);
            let ck = s.finish().unwrap();
            assert_eq!(ck.len(), 4, "cls.* and the integer buffer are skipped");
            assert_eq!(values(&ck, "embeddings.word_embeddings.weight", &[4, 6]), expect);
            assert_eq!(values(&ck, "embeddings.position_embeddings.weight", &[4, 6]), expect, "f64 of f32 values is exact");
            let f16: Vec<f32> = expect.iter().map(|v| half::f16::from_f32(*v).to_f32()).collect();
            assert_eq!(values(&ck, "encoder.layer.0.attention.self.query.weight", &[6, 4]), f16);
            let bf16: Vec<f32> = expect.iter().map(|v| half::bf16::from_f32(*v).to_f32()).collect();
            assert_eq!(values(&ck, "encoder.layer.0.attention.self.query.bias", &[24]), bf16);
        }
    }

    #[test]
    fn a_cut_file_is_an_error_and_reset_starts_over() {
        let (bytes, _) = file();
        let mut s = WeightStream::new(Family::Bert, None);
        s.push(&bytes[..bytes.len() - 5]).unwrap();
        s.reset();
        s.push(&bytes).unwrap();
        assert!(s.finish().is_ok());
        for cut in [4, 20, bytes.len() - 1] {
            let mut s = WeightStream::new(Family::Bert, None);
            s.push(&bytes[..cut]).unwrap();
            let e = s.finish().err().unwrap().to_string();
            assert!(e.contains("incomplete"), "{e}");
        }
        let mut s = WeightStream::new(Family::Bert, None);
        let mut long = bytes.clone();
        long.push(0);
        assert!(s.push(&long).err().unwrap().to_string().contains("longer than its header"));
    }

    #[test]
    fn too_large_fails_on_the_header_with_the_reason() {
        let (bytes, _) = file();
        let mut s = WeightStream::new(Family::Bert, Some(100));
        // The header alone is enough to refuse: no data byte is needed.
        let n = header_len(&bytes).unwrap() as usize;
        let e = s.push(&bytes[..8 + n]).err().unwrap();
        assert!(matches!(e, Error::TooLarge(_)), "{e:?}");
        let m = e.to_string();
        assert!(m.contains("4 GB") && m.contains("wasm32") && m.contains("attention-export"), "{m}");
    }

    #[test]
    fn inconsistent_headers_are_refused() {
        let make = |json: &str| {
            let mut b = (json.len() as u64).to_le_bytes().to_vec();
            b.extend_from_slice(json.as_bytes());
            b.extend_from_slice(&[0; 64]);
            b
        };
        for (json, says) in [
            (r#"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, "does not match"),
            (r#"{"embeddings.word_embeddings.weight":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#, "unknown dtype"),
            (r#"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, "data offsets"),
            (r#"{"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, "overlapping"),
            (r#"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#, "does not match"),
            (r#"not json at all"#, "not valid JSON"),
            (r#"{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, "no floating-point"),
            (r#"{"x.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, "none of its tensors"),
        ] {
            let mut s = WeightStream::new(Family::Bert, None);
            let m = s.push(&make(json)).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(m.contains(says), "{json}: {m}");
        }
        let mut s = WeightStream::new(Family::Bert, None);
        let m = s.push(&u64::MAX.to_le_bytes()).err().unwrap().to_string();
        assert!(m.contains("does not start like a safetensors file"), "{m}");
    }

    #[test]
    fn the_header_is_checked_against_the_stated_size_before_reserving() {
        let (bytes, _) = file();
        let len = bytes.len() as u64;
        // The right size, and a compressed body's few bytes more, load.
        for stated in [len, len + 20] {
            let mut s = WeightStream::new(Family::Bert, None);
            s.expect_len(Some(stated));
            s.push(&bytes).unwrap();
            assert!(s.finish().is_ok());
        }
        // A stated size far past what the header describes (a Content-Length that lies).
        let mut s = WeightStream::new(Family::Bert, None);
        s.expect_len(Some(len * 3));
        let m = s.push(&bytes).err().unwrap().to_string();
        assert!(
            m.contains(&format!(
                "header describes {len} bytes, but the file is {} bytes long",
                len * 3
            )),
            "{m}"
        );
        // Offsets far past the file: refused on the header, before any tensor is reserved.
        let json = r#"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[100000000],"data_offsets":[0,400000000]}}"#;
        let mut big = (json.len() as u64).to_le_bytes().to_vec();
        big.extend_from_slice(json.as_bytes());
        let mut s = WeightStream::new(Family::Bert, None);
        s.expect_len(Some(big.len() as u64 + 64));
        let m = s.push(&big).err().unwrap().to_string();
        assert!(
            m.contains("400000") && m.contains("only") && m.contains("bytes long"),
            "{m}"
        );
        // A header length past the file's end.
        let mut s = WeightStream::new(Family::Bert, None);
        s.expect_len(Some(1000));
        let m = s
            .push(&(50u64 << 20).to_le_bytes())
            .err()
            .unwrap()
            .to_string();
        assert!(
            m.contains("header of 52428800 bytes, but the file is only 1000 bytes long"),
            "{m}"
        );
    }

    #[test]
    fn an_html_page_is_named_as_such() {
        let mut s = WeightStream::new(Family::Bert, None);
        let m = s
            .push(b"<!DOCTYPE html><html><body>Please sign in</body></html>")
            .err()
            .unwrap()
            .to_string();
        assert!(
            m.starts_with("model.safetensors is not valid: it is an HTML page"),
            "{m}"
        );
    }

    /// A tiny deterministic generator (xorshift64*), so the mutation tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// One mutation of a valid file: flipped bytes, a digit of the header changed, cut or
    /// extended, a header length rewritten; then fed in random chunks. Every outcome must be an
    /// `Ok` or an `Err`, never a panic, and nothing may be reserved beyond what the header
    /// declares (which `plan` checks against the budget).
    fn mutate_and_read(rng: &mut Rng, file: &[u8]) {
        let mut b = file.to_vec();
        for _ in 0..1 + rng.below(4) {
            match rng.below(6) {
                0 if !b.is_empty() => {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
                1 => {
                    // A digit inside the JSON header (shapes, offsets).
                    let n = header_len(&b).unwrap_or(0).min(b.len() as u64) as usize;
                    if let Some(i) = (8..n.max(9)).map(|_| 8 + rng.below(n.saturating_sub(8).max(1))).find(|&i| b.get(i).is_some_and(u8::is_ascii_digit)) {
                        b[i] = b'0' + rng.below(10) as u8;
                    }
                }
                2 => b.truncate(rng.below(b.len())),
                3 => b.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
                4 => {
                    let v = match rng.below(3) {
                        0 => rng.next(),
                        1 => rng.below(b.len() * 2) as u64,
                        _ => 0,
                    };
                    if b.len() >= 8 {
                        b[..8].copy_from_slice(&v.to_le_bytes());
                    }
                }
                _ => {
                    let i = rng.below(b.len());
                    b.insert(i, rng.next() as u8);
                }
            }
        }
        let mut s = WeightStream::new(Family::Bert, Some(1 << 20));
        // Half the time the size is stated, as a download's Content-Length or a local file's.
        if rng.below(2) == 0 {
            s.expect_len(Some(b.len() as u64));
        }
        let mut rest = &b[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(200));
            if s.push(&rest[..n]).is_err() {
                return;
            }
            rest = &rest[n..];
        }
        let _ = s.finish();
    }

    #[test]
    fn mutated_files_are_errors_never_panics() {
        let (file, _) = file();
        let mut rng = Rng(0x5eed);
        for _ in 0..3000 {
            mutate_and_read(&mut rng, &file);
        }
    }

    /// The long run (not in CI): `AV_FUZZ_SECONDS=600 cargo test --release --lib
    /// stream::tests::fuzz -- --ignored --nocapture`. Prints how many files it tried.
    #[test]
    #[ignore = "a bounded fuzzing run, started by hand"]
    fn fuzz() {
        let secs: u64 = std::env::var("AV_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
        let (file, _) = file();
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
        let mut rng = Rng(seed);
        let start = std::time::Instant::now();
        let mut tried = 0u64;
        while start.elapsed().as_secs() < secs {
            mutate_and_read(&mut rng, &file);
            tried += 1;
        }
        println!("fuzz: {tried} mutated files in {secs} s (seed {seed:#x}), no panic");
    }
}
