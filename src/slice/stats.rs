//! The head-statistics slice: [`HeadStats`] and the role of every head, after the view options,
//! packed as `[layers, heads, STAT_COLUMNS]` floats (and unpacked on the page by [`decode_stats`]).

use super::aggregate::{head_after, Axis};
use crate::analysis::{HeadStats, Role, TokenKinds};
use crate::attention::Attention;
use crate::model::Token;
use crate::protocol::STAT_COLUMNS;

/// Every role, in the order of the role index in the packed slice.
pub const ROLES: [Role; 8] = [
    Role::PreviousToken,
    Role::NextToken,
    Role::SelfToken,
    Role::SepSink,
    Role::ClsSink,
    Role::Punctuation,
    Role::Broad,
    Role::Unlabelled,
];

/// The statistics of every head of one run after the options: `[layers · heads]`.
pub fn run_stats(attention: &Attention, tokens: &[Token], axis: &Axis) -> Result<Vec<HeadStats>, String> {
    let shape = attention.shape();
    if axis.is_empty() {
        return Err("No tokens are left to compute statistics on (the options hide every token).".into());
    }
    let kinds = TokenKinds::from_tokens(tokens).for_units(axis.units);
    let m = axis.len();
    let mut out = Vec::with_capacity(shape.layers * shape.heads);
    for l in 0..shape.layers {
        for h in 0..shape.heads {
            let head = head_after(attention, axis, l, h).ok_or("the attention does not match its shape")?;
            out.push(HeadStats::of(&head, m, &kinds).ok_or("the statistics could not be computed")?);
        }
    }
    Ok(out)
}

/// The statistics as [`HeadStats`]' fields in their declared order.
fn columns(s: &HeadStats) -> [f32; 9] {
    [s.entropy_bits, s.entropy_norm, s.distance, s.to_cls, s.to_sep, s.to_punct, s.to_self, s.to_prev, s.to_next]
}

/// Packs per-head statistics (`layers · heads` of them) with each head's role: the nine fields,
/// then the role's index in [`ROLES`]. `dims = [layers, heads, STAT_COLUMNS]`.
pub fn encode_stats(stats: &[HeadStats], layers: usize, heads: usize) -> Result<(Vec<usize>, Vec<f32>), String> {
    if stats.len() != layers * heads {
        return Err(format!("{} head statistics for {layers} × {heads} heads", stats.len()));
    }
    let mut data = Vec::with_capacity(stats.len() * STAT_COLUMNS);
    for s in stats {
        data.extend(columns(s));
        let role = s.role();
        data.push(ROLES.iter().position(|r| *r == role).unwrap_or(ROLES.len() - 1) as f32);
    }
    Ok((vec![layers, heads, STAT_COLUMNS], data))
}

/// The inverse of [`encode_stats`]: per head (index `layer · heads + head`) its statistics and
/// role. `None` when `data` does not match `dims`.
pub fn decode_stats(dims: &[usize], data: &[f32]) -> Option<Vec<(HeadStats, Role)>> {
    let [layers, heads, STAT_COLUMNS] = dims[..] else { return None };
    if data.len() != layers.checked_mul(heads)?.checked_mul(STAT_COLUMNS)? {
        return None;
    }
    data.chunks_exact(STAT_COLUMNS)
        .map(|c| {
            let s = HeadStats {
                entropy_bits: c[0],
                entropy_norm: c[1],
                distance: c[2],
                to_cls: c[3],
                to_sep: c[4],
                to_punct: c[5],
                to_self: c[6],
                to_prev: c[7],
                to_next: c[8],
            };
            let role = ROLES.get(c[9] as usize).copied()?;
            Some((s, role))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{head_stats, units, ViewOptions};
    use crate::attention::Shape;

    fn token(text: &str, special: bool) -> Token {
        Token {
            text: text.into(),
            id: 0,
            type_id: 0,
            sequence: if special { None } else { Some(0) },
            start: 0,
            end: 0,
            special,
            word: if special { None } else { Some(0) },
            label: String::new(),
        }
    }

    #[test]
    fn stats_round_trip_with_roles() {
        // One layer, two heads over [CLS] a . [SEP]: head 0 looks at the previous token,
        // head 1 at [SEP].
        let shape = Shape { layers: 1, heads: 2, seq: 4 };
        #[rustfmt::skip]
        let data = vec![
            1.0, 0.0, 0.0, 0.0,  1.0, 0.0, 0.0, 0.0,  0.0, 1.0, 0.0, 0.0,  0.0, 0.0, 1.0, 0.0,
            0.0, 0.0, 0.0, 1.0,  0.0, 0.0, 0.0, 1.0,  0.0, 0.0, 0.0, 1.0,  0.0, 0.0, 0.0, 1.0,
        ];
        let a = Attention::new(shape, data).unwrap();
        let t = vec![token("[CLS]", true), token("a", false), token(".", false), token("[SEP]", true)];
        let us = units(&t, ViewOptions::default());
        let stats = run_stats(&a, &t, &Axis { units: &us, identity: true }).unwrap();
        assert_eq!(stats, head_stats(a.data(), 1, 2, 4, &TokenKinds::from_tokens(&t)));
        let (dims, packed) = encode_stats(&stats, 1, 2).unwrap();
        assert_eq!(dims, [1, 2, STAT_COLUMNS]);
        let back = decode_stats(&dims, &packed).unwrap();
        assert_eq!(back.iter().map(|(s, _)| *s).collect::<Vec<_>>(), stats);
        assert_eq!(back.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [Role::PreviousToken, Role::SepSink]);
        assert!(decode_stats(&[1, 2, 9], &packed).is_none());
        assert!(decode_stats(&dims, &packed[1..]).is_none());
        assert!(encode_stats(&stats, 2, 2).is_err());
        // Hiding the specials: [SEP] is gone, so head 1's rows have no mass left but stay finite.
        let hidden = units(&t, ViewOptions { hide_special: true, merge_words: false });
        let s = run_stats(&a, &t, &Axis { units: &hidden, identity: false }).unwrap();
        assert_eq!((s[1].to_sep, s[1].to_cls), (0.0, 0.0));
        assert!(run_stats(&a, &t, &Axis { units: &[], identity: false }).is_err());
    }
}
