//! The page's exports ([`crate::protocol::Request::Export`]): the command line's files, built
//! by the worker from its latest run with the same writers (`attention-export --format
//! json|npy|svg`).

use crate::analysis::{apply_all, is_identity, units, PairFilter, Strongest};
use crate::model::Run;
use crate::protocol::{ExportKind, SliceKind, SvgView};
use crate::slice::{cut_with, Memo};
use crate::ui::theme::Theme;
use crate::viz::svg::{head_view_svg, heatmap_svg, model_view_svg, SvgOptions};

use super::{npy_f32, JsonExport};

/// One file to download: its name, MIME type and bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

fn file(name: &str, mime: &str, bytes: Vec<u8>) -> ExportFile {
    ExportFile { name: name.into(), mime: mime.into(), bytes }
}

/// The files `what` asks for, of `run` (`model`, `text`, `pair` label the JSON documents).
pub fn export_files(run: &Run, what: &ExportKind, model: &str, text: &str, pair: Option<&str>) -> Result<Vec<ExportFile>, String> {
    let tokens = &run.encoded.tokens;
    let doc = || JsonExport::new(model, text, pair, tokens, run.encoded.truncated, &run.attention);
    let to_err = |e: serde_json::Error| e.to_string();
    match what {
        ExportKind::Json => Ok(vec![file("attention.json", "application/json", serde_json::to_vec(&doc()).map_err(to_err)?)]),
        ExportKind::Npy => {
            let s = run.attention.shape();
            let meta = JsonExport { attention: Vec::new(), ..doc() };
            Ok(vec![
                file("attention.npy", "application/octet-stream", npy_f32(&[s.layers, s.heads, s.seq, s.seq], run.attention.data())),
                file("attention.tokens.json", "application/json", serde_json::to_vec_pretty(&meta).map_err(to_err)?),
            ])
        }
        ExportKind::Svg { view, layer, source, heads, options, dark, width, top_k, min_weight, png: _ } => {
            let s = run.attention.shape();
            let axis = units(tokens, *options);
            let m = axis.len();
            if m == 0 {
                return Err("no tokens are left to draw after the view options".into());
            }
            let labels: Vec<String> = axis.iter().map(|u| u.label.clone()).collect();
            let mut notes = String::new();
            if options.hide_special {
                notes.push_str(" · special tokens hidden");
            }
            if options.merge_words {
                notes.push_str(" · word pieces merged");
            }
            let strongest = match (top_k, min_weight) {
                (Some(k), _) => Strongest::TopK(*k),
                (None, Some(w)) => Strongest::MinWeight(*w),
                (None, None) => Strongest::All,
            };
            let opts = |what: String| SvgOptions {
                theme: if *dark { Theme::Dark } else { Theme::Light },
                title: format!("{model} · {what}{notes}"),
                width: *width,
                special: axis.iter().map(|u| u.special).collect(),
                segments: if pair.is_some() { axis.iter().map(|u| u.segment).collect() } else { Vec::new() },
                strongest,
                pair_filter: PairFilter::All,
                ..SvgOptions::default()
            };
            let mut memo = Memo::default();
            let svg = match view {
                SvgView::Heatmap => {
                    let cut = cut_with(&run.attention, tokens, &SliceKind::Matrix { layer: *layer, source: source.clone() }, *options, &mut memo)?;
                    heatmap_svg(&cut.data, m, &labels, &opts(format!("layer {layer}")))?
                }
                SvgView::Head => {
                    let cut = cut_with(&run.attention, tokens, &SliceKind::Layer { layer: *layer }, *options, &mut memo)?;
                    head_view_svg(&cut.data, s.heads, m, &labels, heads, &opts(format!("layer {layer}")))?
                }
                SvgView::Model => {
                    let all = if is_identity(&axis, s.seq) {
                        run.attention.data().to_vec()
                    } else {
                        apply_all(run.attention.data(), s.seq, s.layers * s.heads, &axis)
                    };
                    model_view_svg(&all, s.layers, s.heads, m, &opts("all layers and heads".into()))?
                }
            };
            let name = match view {
                SvgView::Heatmap => "heatmap.svg",
                SvgView::Head => "head-view.svg",
                SvgView::Model => "model-view.svg",
            };
            Ok(vec![file(name, "image/svg+xml", svg.into_bytes())])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ViewOptions;
    use crate::attention::{Attention, Shape};
    use crate::model::{Encoded, Token};
    use crate::protocol::Source;

    fn run() -> Run {
        let tokens = vec![Token::for_test("[CLS]", true, None), Token::for_test("a<b", false, Some(0)), Token::for_test("[SEP]", true, None)];
        let data: Vec<f32> = (0..2 * 2 * 9).map(|i| (i % 9) as f32 / 8.0).collect();
        let attention = Attention::new(Shape { layers: 2, heads: 2, seq: 3 }, data).unwrap();
        Run { encoded: Encoded { tokens, truncated: false, dropped: 0 }, attention }
    }

    #[test]
    fn page_exports_are_the_command_line_files() {
        let r = run();
        let json = export_files(&r, &ExportKind::Json, "m", "a<b", None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json[0].bytes).unwrap();
        assert_eq!(v["shape"], serde_json::json!([2, 2, 3, 3]));
        assert_eq!(v["attention"][1][1][2][1], serde_json::json!(7.0f32 / 8.0));
        let npy = export_files(&r, &ExportKind::Npy, "m", "a<b", None).unwrap();
        assert_eq!(npy.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["attention.npy", "attention.tokens.json"]);
        assert_eq!(npy[0].bytes, npy_f32(&[2, 2, 3, 3], r.attention.data()));
        let meta: serde_json::Value = serde_json::from_slice(&npy[1].bytes).unwrap();
        assert!(meta.get("attention").is_none() && meta["tokens"][1] == "a<b");
        for view in [SvgView::Heatmap, SvgView::Head, SvgView::Model] {
            let what = ExportKind::Svg {
                view,
                layer: 1,
                source: Source::Head { head: 1 },
                heads: vec![0, 1],
                options: ViewOptions::default(),
                dark: true,
                width: 600.0,
                top_k: None,
                min_weight: None,
                png: None,
            };
            let svg = String::from_utf8(export_files(&r, &what, "m", "a<b", None).unwrap().remove(0).bytes).unwrap();
            assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{view:?}");
            assert!(view == SvgView::Model || svg.contains("a&lt;b"), "{view:?}");
        }
    }
}
