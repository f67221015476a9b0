//! Seeded random BERT checkpoints of any shape, for benchmarks and tests.
//!
//! No bert-base weights can be fetched here, but speed depends only on shapes, so a checkpoint
//! with bert-base's shapes and random values measures the same work.

use candle_core::{Device, Tensor};

use super::{Config, Result};

/// xorshift64*: tiny, seeded and identical on every platform.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal (sum of four uniforms), scaled to `std`.
    fn normal(&mut self, std: f32) -> f32 {
        let s: f32 = (0..4).map(|_| self.next_f32()).sum::<f32>() - 2.0;
        s * std * (3.0f32).sqrt()
    }
}

/// bert-base-uncased's `config.json` values.
pub fn bert_base_config_json() -> String {
    r#"{"model_type":"bert","vocab_size":30522,"hidden_size":768,"num_hidden_layers":12,
"num_attention_heads":12,"intermediate_size":3072,"hidden_act":"gelu",
"max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12}"#
        .to_string()
}

/// bert-large-uncased's `config.json` values (24 layers × 16 heads, hidden 1024: 335 M
/// parameters, 1.34 GB as f32), for the memory benchmark.
pub fn bert_large_config_json() -> String {
    r#"{"model_type":"bert","vocab_size":30522,"hidden_size":1024,"num_hidden_layers":24,
"num_attention_heads":16,"intermediate_size":4096,"hidden_act":"gelu",
"max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12}"#
        .to_string()
}

/// A safetensors file with every tensor `cfg` needs, filled with seeded N(0, 0.02) values
/// (LayerNorm weights 1, biases 0), in the bare MiniLM naming.
pub fn random_bert_safetensors(cfg: &Config, seed: u64) -> Result<Vec<u8>> {
    let mut rng = Rng(seed.max(1));
    let dev = Device::Cpu;
    let (h, m) = (cfg.hidden_size, cfg.intermediate_size);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![cfg.vocab_size, h]),
        ("embeddings.position_embeddings.weight".into(), vec![cfg.max_position_embeddings, h]),
        ("embeddings.token_type_embeddings.weight".into(), vec![cfg.type_vocab_size, h]),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for i in 0..cfg.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", m, h),
            ("output.dense", h, m),
        ] {
            shapes.push((format!("{p}.{name}.weight"), vec![out, inp]));
            shapes.push((format!("{p}.{name}.bias"), vec![out]));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            shapes.push((format!("{p}.{ln}.weight"), vec![h]));
            shapes.push((format!("{p}.{ln}.bias"), vec![h]));
        }
    }
    let mut tensors = Vec::with_capacity(shapes.len());
    for (name, dims) in shapes {
        let len: usize = dims.iter().product();
        let data: Vec<f32> = if name.ends_with("LayerNorm.weight") {
            vec![1.0; len]
        } else if name.ends_with(".bias") {
            vec![0.0; len]
        } else {
            (0..len).map(|_| rng.normal(0.02)).collect()
        };
        tensors.push((name, Tensor::from_vec(data, dims, &dev)?));
    }
    safetensors::tensor::serialize(tensors, None)
        .map_err(|e| super::Error::Weights(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_checkpoint_loads_and_is_seeded() {
        let cfg = Config::from_json(
            br#"{"vocab_size":50,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":32,"max_position_embeddings":20}"#,
        )
        .unwrap();
        let a = random_bert_safetensors(&cfg, 7).unwrap();
        assert_eq!(a, random_bert_safetensors(&cfg, 7).unwrap());
        assert_ne!(a, random_bert_safetensors(&cfg, 8).unwrap());
        let ck = super::super::Checkpoint::from_safetensors(&a, super::super::Family::Bert).unwrap();
        let enc = super::super::Encoder::load(&ck, &cfg).unwrap();
        let out = enc.forward(&[1, 5, 9, 2], &[0, 0, 1, 1]).unwrap();
        let s = out.attention.shape();
        assert_eq!((s.layers, s.heads, s.seq), (2, 4, 4));
        for row in out.attention.data().chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}
