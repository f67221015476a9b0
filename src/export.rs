//! Export formats shared by the command line and (later) the page: JSON and NumPy `.npy`, for
//! the attention and, on request, the per-head queries and keys.

use serde::Serialize;

use crate::attention::Attention;
use crate::model::{QueryKey, Token};

mod page;
pub use page::{export_files, ExportFile};

/// Nested `[layer][head][row]` slices of a flat row-major tensor.
type Nested<'a> = Vec<Vec<Vec<&'a [f32]>>>;

/// Everything a script needs to redraw what the page shows.
#[derive(Serialize)]
pub struct JsonExport<'a> {
    pub model: &'a str,
    pub text: &'a str,
    pub pair: Option<&'a str>,
    pub tokens: Vec<&'a str>,
    pub ids: Vec<u32>,
    pub token_type_ids: Vec<u32>,
    /// `[start, end)` in Unicode scalar values of the input the token came from.
    pub offsets: Vec<[usize; 2]>,
    /// Which input each token came from (0, 1, or null for special tokens).
    pub sequence_ids: Vec<Option<usize>>,
    pub truncated: bool,
    /// `[layers, heads, seq, seq]`.
    pub shape: [usize; 4],
    /// Nested `[layer][head][from][to]`, so `numpy.array(doc["attention"])` has `shape`
    /// (left out of the `.npy` export's side file, which holds only the metadata).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attention: Nested<'a>,
    /// Per-head query vectors (`--qk` only), nested `[layer][head][token][dim]`: the outputs of
    /// the query projection, after its bias and before the 1/√head_dim scaling.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Nested<'a>,
    /// Per-head key vectors (`--qk` only), nested like `queries`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Nested<'a>,
}

impl<'a> JsonExport<'a> {
    pub fn new(
        model: &'a str,
        text: &'a str,
        pair: Option<&'a str>,
        tokens: &'a [Token],
        truncated: bool,
        attention: &'a Attention,
    ) -> Self {
        let s = attention.shape();
        let nested = (0..s.layers)
            .map(|l| {
                (0..s.heads)
                    .map(|h| attention.head(l, h).map(|m| m.chunks(s.seq.max(1)).collect()).unwrap_or_default())
                    .collect()
            })
            .collect();
        Self {
            model,
            text,
            pair,
            tokens: tokens.iter().map(|t| t.text.as_str()).collect(),
            ids: tokens.iter().map(|t| t.id).collect(),
            token_type_ids: tokens.iter().map(|t| t.type_id).collect(),
            offsets: tokens.iter().map(|t| [t.start, t.end]).collect(),
            sequence_ids: tokens.iter().map(|t| t.sequence).collect(),
            truncated,
            shape: [s.layers, s.heads, s.seq, s.seq],
            attention: nested,
            queries: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Adds every layer's queries and keys (one [`QueryKey`] per layer, in order).
    pub fn with_qk(self, qk: &'a [QueryKey]) -> Self {
        let nest = |data: fn(&QueryKey) -> &[f32]| -> Nested<'a> {
            qk.iter()
                .map(|l| data(l).chunks(l.head_dim.max(1)).collect::<Vec<_>>().chunks(l.seq.max(1)).map(<[_]>::to_vec).collect())
                .collect()
        };
        Self { queries: nest(|l| &l.q), keys: nest(|l| &l.k), ..self }
    }
}

/// Every layer's queries and keys as two float32 `.npy` files, each
/// `[layers, heads, seq, head_dim]`; `None` when the layers' shapes differ.
pub fn npy_qk(qk: &[QueryKey]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (heads, seq, head_dim) = qk.first().map_or((0, 0, 0), |l| (l.heads, l.seq, l.head_dim));
    if qk.iter().any(|l| (l.heads, l.seq, l.head_dim) != (heads, seq, head_dim)) {
        return None;
    }
    let shape = [qk.len(), heads, seq, head_dim];
    let q: Vec<f32> = qk.iter().flat_map(|l| l.q.iter().copied()).collect();
    let k: Vec<f32> = qk.iter().flat_map(|l| l.k.iter().copied()).collect();
    Some((npy_f32(&shape, &q), npy_f32(&shape, &k)))
}

/// A float32 `.npy` file (format version 1.0) holding `data` with the given C-order shape.
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_describes_the_array() {
        let b = npy_f32(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.ends_with('\n'), "{header}");
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(&b[10 + hlen + 4..10 + hlen + 8], &1.0f32.to_le_bytes());
        assert!(std::str::from_utf8(&npy_f32(&[4], &[0.0; 4])[10..]).unwrap().contains("(4,)"));
    }

    fn qk(layer: f32) -> QueryKey {
        // 2 heads, 3 tokens, 2 dims; value = layer*100 + head*10 + token + dim/10.
        let v = |base: f32| -> Vec<f32> {
            (0..2).flat_map(|h| (0..3).flat_map(move |t| (0..2).map(move |d| base + (h * 10 + t) as f32 + d as f32 / 10.0))).collect()
        };
        QueryKey { heads: 2, seq: 3, head_dim: 2, q: v(layer * 100.0), k: v(-layer * 100.0) }
    }

    #[test]
    fn queries_and_keys_nest_as_layer_head_token_dim() {
        let a = Attention::new(crate::attention::Shape { layers: 2, heads: 2, seq: 3 }, vec![0.0; 36]).unwrap();
        let layers = [qk(0.0), qk(1.0)];
        let doc = JsonExport::new("m", "t", None, &[], false, &a).with_qk(&layers);
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["queries"][1][1][2], serde_json::json!([112.0, 112.1f32]));
        assert_eq!(v["keys"][1][0][1], serde_json::json!([-99.0, -98.9f32]));
        assert_eq!(v["queries"].as_array().unwrap().len(), 2);
        assert_eq!(v["queries"][0].as_array().unwrap().len(), 2);
        assert_eq!(v["queries"][0][0].as_array().unwrap().len(), 3);
        let plain = serde_json::to_value(JsonExport::new("m", "t", None, &[], false, &a)).unwrap();
        assert!(plain.get("queries").is_none() && plain.get("keys").is_none());
    }

    #[test]
    fn npy_qk_stacks_layers() {
        let (q, k) = npy_qk(&[qk(0.0), qk(1.0)]).unwrap();
        let hlen = u16::from_le_bytes([q[8], q[9]]) as usize;
        assert!(std::str::from_utf8(&q[10..10 + hlen]).unwrap().contains("'shape': (2, 2, 3, 2)"));
        assert_eq!(q.len(), 10 + hlen + 2 * 12 * 4);
        assert_eq!(k.len(), q.len());
        // Layer 1, head 1, token 2, dim 1: flat index ((1·2 + 1)·3 + 2)·2 + 1 = 23.
        let at = 10 + hlen + 23 * 4;
        assert_eq!(&q[at..at + 4], &112.1f32.to_le_bytes());
        let mut odd = qk(1.0);
        odd.seq = 2;
        assert!(npy_qk(&[qk(0.0), odd]).is_none());
    }
}
