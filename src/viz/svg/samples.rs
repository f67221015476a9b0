//! Sample exports of a hand-made tensor, to look at (an ignored test) and to measure.

use super::*;

/// A BERT-like `[layers, heads, n, n]` tensor: softmax rows over head-specific patterns
/// (previous, next, self, [CLS]/[SEP] sinks, broad) plus hashed noise.
pub fn sample_attention(layers: usize, heads: usize, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(layers * heads * n * n);
    for l in 0..layers {
        for h in 0..heads {
            for i in 0..n {
                let logits: Vec<f32> = (0..n)
                    .map(|j| {
                        let noise = ((i * 7919 + j * 104_729 + (l * heads + h) * 1_299_709) % 1000) as f32 / 1000.0;
                        let pattern = match (l * heads + h) % 5 {
                            0 if j + 1 == i => 5.0,
                            1 if j == i + 1 => 5.0,
                            2 if j == i => 4.0,
                            3 if j == 0 || j + 1 == n => 4.5,
                            _ => 0.0,
                        };
                        pattern + 2.5 * noise
                    })
                    .collect();
                let max = logits.iter().copied().fold(f32::MIN, f32::max);
                let exp: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
                let sum: f32 = exp.iter().sum();
                out.extend(exp.iter().map(|x| x / sum));
            }
        }
    }
    out
}

/// Writes sample exports to $SVG_SAMPLES (default /tmp/svg-samples) to look at:
/// `cargo test --lib viz::svg::samples -- --ignored`.
#[test]
#[ignore]
fn write_samples() {
    let dir = std::env::var("SVG_SAMPLES").unwrap_or_else(|_| "/tmp/svg-samples".into());
    std::fs::create_dir_all(&dir).unwrap();
    let words = ["[CLS]", "the", "cat", "sat", "on", "the", "<mat>", "&", "\"dog's\"", "[SEP]", "it", "slept", ".", "[SEP]"];
    let labels: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    let n = labels.len();
    let special: Vec<bool> = words.iter().map(|w| w.starts_with('[')).collect();
    let segments: Vec<u8> = (0..n).map(|i| u8::from(i >= 10)).collect();
    let (layers, heads) = (12, 12);
    let attn = sample_attention(layers, heads, n);
    let layer = |l: usize| &attn[l * heads * n * n..(l + 1) * heads * n * n];
    for theme in [Theme::Light, Theme::Dark] {
        let t = theme.name();
        let base = SvgOptions { theme, special: special.clone(), ..Default::default() };
        let title = |what: &str| format!("sample-bert · {what}");
        let heat = heatmap_svg(&layer(3)[..n * n], n, &labels, &SvgOptions { title: title("layer 3 · head 0"), ..base.clone() }).unwrap();
        std::fs::write(format!("{dir}/heatmap-{t}.svg"), heat).unwrap();
        let pair = SvgOptions { title: title("layer 3 · heads 0–11"), segments: segments.clone(), ..base.clone() };
        let all: Vec<usize> = (0..heads).collect();
        let hv = head_view_svg(layer(3), heads, n, &labels, &all, &pair).unwrap();
        std::fs::write(format!("{dir}/head-view-{t}.svg"), hv).unwrap();
        let mv = model_view_svg(&attn, layers, heads, n, &SvgOptions { title: title("all layers"), ..base.clone() }).unwrap();
        std::fs::write(format!("{dir}/model-view-{t}.svg"), mv).unwrap();
        let mvh = SvgOptions { title: title("all layers"), model_style: ModelStyle::Heatmap, ..base.clone() };
        std::fs::write(format!("{dir}/model-view-heatmap-{t}.svg"), model_view_svg(&attn, layers, heads, n, &mvh).unwrap()).unwrap();
    }
    // Sizes of long inputs.
    for n in [128, 512] {
        let a = sample_attention(1, 1, n);
        let labels: Vec<String> = (0..n).map(|i| format!("tok{i}")).collect();
        let svg = heatmap_svg(&a, n, &labels, &SvgOptions { title: format!("{n} tokens"), ..Default::default() }).unwrap();
        std::fs::write(format!("{dir}/heatmap-{n}.svg"), &svg).unwrap();
        let noise: Vec<f32> = (0..n * n).map(|k| ((k * 2_654_435_761) % 1_000_003) as f32 / 1_000_003.0).collect();
        let worst = heatmap_svg(&noise, n, &labels, &SvgOptions::default()).unwrap();
        std::fs::write(format!("{dir}/heatmap-{n}-noise.svg"), &worst).unwrap();
        let a12 = sample_attention(1, 12, n);
        let all: Vec<usize> = (0..12).collect();
        let hv = head_view_svg(&a12, 12, n, &labels, &all, &SvgOptions::default()).unwrap();
        std::fs::write(format!("{dir}/head-view-{n}.svg"), &hv).unwrap();
        eprintln!("n={n}: heatmap {} bytes, uniform-noise heatmap {} bytes, head view {} bytes", svg.len(), worst.len(), hv.len());
    }
    let big = sample_attention(12, 12, 128);
    let mv = model_view_svg(&big, 12, 12, 128, &SvgOptions::default()).unwrap();
    std::fs::write(format!("{dir}/model-view-128.svg"), &mv).unwrap();
    eprintln!("model view 12×12 at 128 tokens: {} bytes", mv.len());
}
