//! Export formats shared by the command line and (later) the page: JSON and NumPy `.npy`.

use serde::Serialize;

use crate::attention::Attention;
use crate::model::Token;

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
    pub attention: Vec<Vec<Vec<&'a [f32]>>>,
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
        }
    }
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
}
