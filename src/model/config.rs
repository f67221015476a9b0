//! `config.json`, as Hugging Face writes it for the encoder families the engine runs.
//!
//! candle-transformers has a BERT `Config`, but it makes optional fields mandatory
//! (`initializer_range`, `hidden_dropout_prob`, …) and knows only three activations, so
//! checkpoints in the wild fail to parse. Here each family's `config.json` is read by a serde
//! mirror with Hugging Face's own defaults (BERT, RoBERTa and ALBERT share field names;
//! DistilBERT has its own), then checked and turned into one [`Config`] the encoder runs from.

use serde::Deserialize;

use super::{Error, Family, Result};

/// The feed-forward activation (`hidden_act`; DistilBERT's `activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// Exact GELU with `erf`: what Hugging Face calls `"gelu"`.
    #[serde(rename = "gelu", alias = "gelu_python")]
    Gelu,
    /// The tanh approximation of GELU (ALBERT's `"gelu_new"`).
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh", rename = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(alias = "swish", rename = "silu")]
    Silu,
}

/// How position ids are numbered for an unpadded input of `n` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// `0, 1, …, n - 1` (BERT, DistilBERT, ALBERT).
    FromZero,
    /// RoBERTa (fairseq's `make_positions`): each token that is not the padding token gets
    /// `padding_idx + 1 + (non-padding tokens before it)`; a padding token gets `padding_idx`.
    AfterPadding(u32),
}

/// The most transformer layers (attention planes) a config may ask for. The deepest public
/// encoders have 48; a config claiming millions is broken, and is refused before anything is
/// allocated for it.
pub const MAX_LAYERS: usize = 256;

/// The encoder's hyper-parameters, normalised across families.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub family: Family,
    pub vocab_size: usize,
    pub hidden_size: usize,
    /// Width of the embedding tables: `hidden_size`, except ALBERT's `embedding_size`, which is
    /// projected up to `hidden_size` before the first layer.
    pub embedding_size: usize,
    /// Transformer layers an input goes through, which is also the number of attention
    /// planes: `num_hidden_layers` (DistilBERT `n_layers`; ALBERT `num_hidden_layers ×
    /// inner_group_num`).
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub max_position_embeddings: usize,
    /// Rows of the segment embedding table; 0 for DistilBERT, which has none.
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub positions: Positions,
    /// For each layer, the weight set it runs (an index into the distinct layers the
    /// checkpoint holds): `0, 1, 2, …` unless layers share weights (ALBERT).
    layer_weights: Vec<usize>,
    /// Distinct layer weight sets in the checkpoint.
    weight_sets: usize,
    /// ALBERT's `inner_group_num` (1 elsewhere), to name its weight sets.
    inner_group_num: usize,
}

/// What every `config.json` is asked first: which family, and features the engine lacks.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    position_embedding_type: Option<String>,
    #[serde(default)]
    is_decoder: Option<bool>,
}

/// `config.json` of BERT, RoBERTa and ALBERT, which share field names. `None` means "absent":
/// the family's Hugging Face default applies ([`Defaults`]).
#[derive(Deserialize)]
struct BertJson {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_act: Option<Activation>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    /// May be `null` in the file.
    pad_token_id: Option<i64>,
    // ALBERT only.
    embedding_size: Option<usize>,
    num_hidden_groups: Option<usize>,
    inner_group_num: Option<usize>,
}

/// DistilBERT's `config.json` (`DistilBertConfig`): its own names, no segment embeddings, and
/// LayerNorm eps fixed at 1e-12 in the model code. `sinusoidal_pos_embds` needs nothing: the
/// sinusoids are saved in the checkpoint's position table like learned positions.
#[derive(Deserialize)]
struct DistilBertJson {
    #[serde(default = "distil::vocab")]
    vocab_size: usize,
    #[serde(default = "distil::dim")]
    dim: usize,
    #[serde(default = "distil::n_layers")]
    n_layers: usize,
    #[serde(default = "distil::n_heads")]
    n_heads: usize,
    #[serde(default = "distil::hidden_dim")]
    hidden_dim: usize,
    #[serde(default = "distil::activation")]
    activation: Activation,
    #[serde(default = "distil::max_pos")]
    max_position_embeddings: usize,
}

/// `DistilBertConfig`'s defaults (distilbert-base-uncased).
mod distil {
    use super::Activation;
    pub fn vocab() -> usize {
        30522
    }
    pub fn dim() -> usize {
        768
    }
    pub fn n_layers() -> usize {
        6
    }
    pub fn n_heads() -> usize {
        12
    }
    pub fn hidden_dim() -> usize {
        3072
    }
    pub fn activation() -> Activation {
        Activation::Gelu
    }
    pub fn max_pos() -> usize {
        512
    }
}

/// A family's Hugging Face config defaults (`BertConfig`, `RobertaConfig`, `AlbertConfig`).
struct Defaults {
    vocab: usize,
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
    act: Activation,
    embedding: Option<usize>,
    pad: i64,
}

fn defaults(family: Family) -> Defaults {
    let bert = Defaults {
        vocab: 30522,
        hidden: 768,
        layers: 12,
        heads: 12,
        intermediate: 3072,
        act: Activation::Gelu,
        embedding: None,
        pad: 0,
    };
    match family {
        Family::Roberta => Defaults { vocab: 50265, pad: 1, ..bert },
        Family::Albert => Defaults {
            vocab: 30000,
            hidden: 4096,
            heads: 64,
            intermediate: 16384,
            act: Activation::GeluTanh,
            embedding: Some(128),
            ..bert
        },
        Family::Bert | Family::DistilBert => bert,
    }
}

fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    if super::looks_like_html(bytes) {
        return Err(Error::Config(super::HTML_INSTEAD.into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde says what is wrong and where, not which field: name it (a value of the wrong
        // type, or a number too large for this machine).
        let field = (e.classify() == serde_json::error::Category::Data)
            .then(|| field_before(bytes, e.line(), e.column()))
            .flatten();
        Error::Config(match field {
            Some(f) => format!("\"{f}\": {e}"),
            None => e.to_string(),
        })
    })
}

/// The JSON key whose value ends at (`line`, `column`) (1-based, as serde_json reports an
/// error): the last `"key":` before that point.
fn field_before(bytes: &[u8], line: usize, column: usize) -> Option<String> {
    let line_start = if line <= 1 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map(|(i, _)| i + 1)?
    };
    let end = (line_start + column).min(bytes.len());
    let text = std::str::from_utf8(bytes.get(..end)?).ok()?;
    let mut rest = text;
    while let Some(colon) = rest.rfind(':') {
        let before = rest[..colon].trim_end();
        if let Some(key_end) = before.strip_suffix('"') {
            if let Some(open) = key_end.rfind('"') {
                let key = &key_end[open + 1..];
                if !key.is_empty()
                    && key.len() <= 64
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Some(key.to_string());
                }
            }
        }
        rest = &rest[..colon];
    }
    None
}

/// The family `config.json` names: `model_type`, else the first `architectures` entry, else
/// BERT (old exports have neither).
fn family_of(probe: &Probe) -> Result<Family> {
    let supported = Family::supported_list();
    if let Some(mt) = probe.model_type.as_deref() {
        return Family::from_model_type(mt).ok_or_else(|| {
            Error::Unsupported(format!(
                "model_type \"{mt}\" is not a family this engine runs (it runs: {supported})"
            ))
        });
    }
    match probe.architectures.as_deref().and_then(<[String]>::first) {
        None => Ok(Family::Bert),
        Some(class) => Family::from_architecture(class).ok_or_else(|| {
            Error::Unsupported(format!(
                "architecture \"{class}\" is not a family this engine runs (it runs: {supported})"
            ))
        }),
    }
}

impl Config {
    /// Parses and checks `config.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let probe: Probe = parse(bytes)?;
        let family = family_of(&probe)?;
        if let Some(p) = probe.position_embedding_type.as_deref().filter(|p| *p != "absolute") {
            return Err(Error::Unsupported(format!(
                "position_embedding_type \"{p}\" (this engine runs absolute positions only)"
            )));
        }
        if probe.is_decoder == Some(true) {
            return Err(Error::Unsupported(format!(
                "a {} decoder (is_decoder: true, causal attention); this engine runs encoders",
                family.name()
            )));
        }
        let cfg = match family {
            Family::DistilBert => Self::from_distilbert(parse(bytes)?)?,
            _ => Self::from_bert_like(family, parse(bytes)?)?,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn from_distilbert(j: DistilBertJson) -> Result<Self> {
        let layers = bounded_layers("n_layers", j.n_layers)?;
        Ok(Self {
            family: Family::DistilBert,
            vocab_size: j.vocab_size,
            hidden_size: j.dim,
            embedding_size: j.dim,
            num_hidden_layers: layers,
            num_attention_heads: j.n_heads,
            intermediate_size: j.hidden_dim,
            hidden_act: j.activation,
            max_position_embeddings: j.max_position_embeddings,
            type_vocab_size: 0,
            layer_norm_eps: 1e-12,
            positions: Positions::FromZero,
            layer_weights: (0..layers).collect(),
            weight_sets: layers,
            inner_group_num: 1,
        })
    }

    fn from_bert_like(family: Family, j: BertJson) -> Result<Self> {
        let d = defaults(family);
        let hidden = j.hidden_size.unwrap_or(d.hidden);
        let layers = bounded_layers("num_hidden_layers", j.num_hidden_layers.unwrap_or(d.layers))?;
        let positions = match family {
            Family::Roberta => {
                let pad = j.pad_token_id.unwrap_or(d.pad);
                Positions::AfterPadding(u32::try_from(pad).map_err(|_| {
                    Error::Config(format!("pad_token_id {pad} cannot be RoBERTa's padding index"))
                })?)
            }
            _ => Positions::FromZero,
        };
        let (layer_weights, weight_sets, inner) = if family == Family::Albert {
            let groups = j.num_hidden_groups.unwrap_or(1);
            let inner = j.inner_group_num.unwrap_or(1);
            let (weights, sets) = albert_schedule(layers, groups, inner)?;
            (weights, sets, inner)
        } else {
            ((0..layers).collect(), layers, 1)
        };
        Ok(Self {
            family,
            vocab_size: j.vocab_size.unwrap_or(d.vocab),
            hidden_size: hidden,
            embedding_size: match family {
                Family::Albert => j.embedding_size.or(d.embedding).unwrap_or(hidden),
                _ => hidden,
            },
            num_hidden_layers: layer_weights.len(),
            num_attention_heads: j.num_attention_heads.unwrap_or(d.heads),
            intermediate_size: j.intermediate_size.unwrap_or(d.intermediate),
            hidden_act: j.hidden_act.unwrap_or(d.act),
            max_position_embeddings: j.max_position_embeddings.unwrap_or(512),
            type_vocab_size: j.type_vocab_size.unwrap_or(2),
            layer_norm_eps: j.layer_norm_eps.unwrap_or(1e-12),
            positions,
            layer_weights,
            weight_sets,
            inner_group_num: inner,
        })
    }

    fn validate(&self) -> Result<()> {
        let mut positive = vec![
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("embedding_size", self.embedding_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        if self.family.has_token_type_embeddings() {
            positive.push(("type_vocab_size", self.type_vocab_size));
        }
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(Error::Config(format!("{name} must be positive")));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(Error::Config(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return Err(Error::Config(format!("layer_norm_eps {} is not a finite, non-negative number", self.layer_norm_eps)));
        }
        // Every tensor the encoder reads has this many elements at most; they must be
        // addressable (on wasm32 `usize` is 32 bits) before anything compares shapes.
        let h = self.hidden_size;
        for (what, a, b) in [
            ("vocab_size × embedding_size", self.vocab_size, self.embedding_size),
            ("max_position_embeddings × embedding_size", self.max_position_embeddings, self.embedding_size),
            ("intermediate_size × hidden_size", self.intermediate_size, h),
            ("hidden_size × hidden_size", h, h),
        ] {
            if a.checked_mul(b).and_then(|n| n.checked_mul(4)).is_none_or(|n| n > isize::MAX as usize) {
                return Err(Error::Config(format!("{what} ({a} × {b}) is too large for this machine")));
            }
        }
        if self.max_tokens() == 0 {
            return Err(Error::Config(format!(
                "max_position_embeddings {} leaves no positions after RoBERTa's padding index",
                self.max_position_embeddings
            )));
        }
        Ok(())
    }

    /// Size of one head's query/key/value vectors.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// The longest input the model takes, in tokens (special tokens included):
    /// `max_position_embeddings`, less RoBERTa's `pad_token_id + 1` (514 − 2 = 512 for
    /// roberta-base).
    pub fn max_tokens(&self) -> usize {
        match self.positions {
            Positions::FromZero => self.max_position_embeddings,
            Positions::AfterPadding(pad) => {
                self.max_position_embeddings.saturating_sub(pad as usize).saturating_sub(1)
            }
        }
    }

    /// Whether some layers run the same weights (ALBERT).
    pub fn shared_layers(&self) -> bool {
        self.weight_sets < self.layer_weights.len()
    }

    /// The weight set layer `layer` runs, or `None` past the last layer. Layers with the same
    /// weight set share all their weights; without sharing, layer `i` runs set `i`.
    pub fn weight_group(&self, layer: usize) -> Option<usize> {
        self.layer_weights.get(layer).copied()
    }

    /// For each layer in order, its weight set ([`Self::weight_group`]).
    pub fn layer_weights(&self) -> &[usize] {
        &self.layer_weights
    }

    /// Number of distinct layer weight sets the checkpoint must hold.
    pub fn weight_sets(&self) -> usize {
        self.weight_sets
    }

    /// Where weight set `set` lives in the checkpoint (bare name, trailing dot).
    pub fn layer_prefix(&self, set: usize) -> String {
        self.family.layer_prefix(set, self.inner_group_num)
    }

    /// The weights' size in memory as `f32`, estimated from the shapes (embeddings, each weight
    /// set's attention, feed-forward and LayerNorms, biases included; no pooler): what holding
    /// this model costs the worker, known from `config.json` before the weights arrive.
    pub fn f32_weight_bytes(&self) -> u64 {
        let (h, i) = (self.hidden_size as u64, self.intermediate_size as u64);
        let rows = (self.vocab_size as u64)
            .saturating_add(self.max_position_embeddings as u64)
            .saturating_add(self.type_vocab_size as u64);
        let embeddings = rows.saturating_mul(h).saturating_add(2 * h);
        // Q, K, V and the output projection with biases; the two FFN matrices and biases; two LayerNorms.
        let layer = (4 * h)
            .saturating_mul(h + 1)
            .saturating_add((2 * h).saturating_mul(i))
            .saturating_add(i + 5 * h);
        embeddings
            .saturating_add(layer.saturating_mul(self.weight_sets as u64))
            .saturating_mul(4)
    }
}

fn bounded_layers(field: &str, layers: usize) -> Result<usize> {
    if layers > MAX_LAYERS {
        return Err(Error::Config(format!(
            "{field} {layers} is more layers than this engine takes (at most {MAX_LAYERS})"
        )));
    }
    Ok(layers)
}

/// ALBERT's layer sharing (`AlbertTransformer.forward`): step `i` of `num_hidden_layers` runs
/// group `int(i / (num_hidden_layers / num_hidden_groups))` (float division, as in Python),
/// and each group runs its `inner_group_num` layers in turn. Returns the weight set of every
/// layer run, and the number of sets (`num_hidden_groups × inner_group_num`).
fn albert_schedule(layers: usize, groups: usize, inner: usize) -> Result<(Vec<usize>, usize)> {
    if groups == 0 || inner == 0 {
        return Err(Error::Config("num_hidden_groups and inner_group_num must be positive".into()));
    }
    let total = layers.checked_mul(inner).filter(|t| *t <= MAX_LAYERS).ok_or_else(|| {
        Error::Config(format!(
            "num_hidden_layers {layers} × inner_group_num {inner} is more layers than this engine takes (at most {MAX_LAYERS})"
        ))
    })?;
    let sets = groups.checked_mul(inner).filter(|s| *s <= MAX_LAYERS).ok_or_else(|| {
        Error::Config(format!(
            "num_hidden_groups {groups} × inner_group_num {inner} is more weight sets than this engine takes (at most {MAX_LAYERS})"
        ))
    })?;
    let per_group = layers as f64 / groups as f64;
    let mut schedule = Vec::with_capacity(total);
    for i in 0..layers {
        // `int()` truncates; the cast saturates, and `min` keeps a group that exists.
        let group = ((i as f64 / per_group) as usize).min(groups - 1);
        schedule.extend((0..inner).map(|j| group * inner + j));
    }
    Ok((schedule, sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERT_BASE: &str = r#"{"architectures":["BertForMaskedLM"],"attention_probs_dropout_prob":0.1,
      "gradient_checkpointing":false,"hidden_act":"gelu","hidden_dropout_prob":0.1,"hidden_size":768,
      "initializer_range":0.02,"intermediate_size":3072,"layer_norm_eps":1e-12,
      "max_position_embeddings":512,"model_type":"bert","num_attention_heads":12,
      "num_hidden_layers":12,"pad_token_id":0,"position_embedding_type":"absolute",
      "transformers_version":"4.6.0.dev0","type_vocab_size":2,"use_cache":true,"vocab_size":30522}"#;

    const ROBERTA_BASE: &str = r#"{"architectures":["RobertaForMaskedLM"],"attention_probs_dropout_prob":0.1,
      "bos_token_id":0,"eos_token_id":2,"hidden_act":"gelu","hidden_dropout_prob":0.1,"hidden_size":768,
      "initializer_range":0.02,"intermediate_size":3072,"layer_norm_eps":1e-05,"max_position_embeddings":514,
      "model_type":"roberta","num_attention_heads":12,"num_hidden_layers":12,"pad_token_id":1,
      "type_vocab_size":1,"vocab_size":50265}"#;

    const DISTILBERT_BASE: &str = r#"{"activation":"gelu","architectures":["DistilBertForMaskedLM"],
      "attention_dropout":0.1,"dim":768,"dropout":0.1,"hidden_dim":3072,"initializer_range":0.02,
      "max_position_embeddings":512,"model_type":"distilbert","n_heads":12,"n_layers":6,"pad_token_id":0,
      "qa_dropout":0.1,"seq_classif_dropout":0.2,"sinusoidal_pos_embds":false,"tie_weights_":true,
      "transformers_version":"4.10.0.dev0","vocab_size":30522}"#;

    const ALBERT_BASE_V2: &str = r#"{"architectures":["AlbertForMaskedLM"],"attention_probs_dropout_prob":0,
      "bos_token_id":2,"classifier_dropout_prob":0.1,"down_scale_factor":1,"embedding_size":128,"eos_token_id":3,
      "gap_size":0,"hidden_act":"gelu_new","hidden_dropout_prob":0,"hidden_size":768,"initializer_range":0.02,
      "inner_group_num":1,"intermediate_size":3072,"layer_norm_eps":1e-12,"max_position_embeddings":512,
      "model_type":"albert","net_structure_type":0,"num_attention_heads":12,"num_hidden_groups":1,
      "num_hidden_layers":12,"num_memory_blocks":0,"pad_token_id":0,"type_vocab_size":2,"vocab_size":30000}"#;

    #[test]
    fn parses_bert_base_uncased_config() {
        let c = Config::from_json(BERT_BASE.as_bytes()).unwrap();
        assert_eq!(c.family, Family::Bert);
        assert_eq!((c.num_hidden_layers, c.num_attention_heads, c.head_dim()), (12, 12, 64));
        assert_eq!(c.hidden_act, Activation::Gelu);
        assert_eq!((c.max_tokens(), c.shared_layers(), c.weight_group(11)), (512, false, Some(11)));
    }

    #[test]
    fn weight_bytes_match_the_published_parameter_counts() {
        // bert-base-uncased has 109 482 240 parameters, 590 592 of them in the pooler (unused here).
        let c = Config::from_json(BERT_BASE.as_bytes()).unwrap();
        assert_eq!(c.f32_weight_bytes(), (109_482_240 - 590_592) * 4);
        // ALBERT holds one weight set for its 12 layers: far less than bert-base.
        let a = Config::from_json(ALBERT_BASE_V2.as_bytes()).unwrap();
        assert!(a.f32_weight_bytes() < c.f32_weight_bytes() / 3);
    }

    #[test]
    fn parses_roberta_distilbert_and_albert_configs() {
        let r = Config::from_json(ROBERTA_BASE.as_bytes()).unwrap();
        assert_eq!((r.family, r.positions, r.type_vocab_size, r.layer_norm_eps), (Family::Roberta, Positions::AfterPadding(1), 1, 1e-5));
        assert_eq!(r.max_tokens(), 512);

        let d = Config::from_json(DISTILBERT_BASE.as_bytes()).unwrap();
        assert_eq!(d.family, Family::DistilBert);
        assert_eq!((d.hidden_size, d.num_hidden_layers, d.num_attention_heads, d.intermediate_size), (768, 6, 12, 3072));
        assert_eq!((d.type_vocab_size, d.layer_norm_eps, d.max_tokens()), (0, 1e-12, 512));

        let a = Config::from_json(ALBERT_BASE_V2.as_bytes()).unwrap();
        assert_eq!(a.family, Family::Albert);
        assert_eq!((a.embedding_size, a.hidden_size, a.num_hidden_layers), (128, 768, 12));
        assert_eq!(a.hidden_act, Activation::GeluTanh);
        assert!(a.shared_layers());
        assert_eq!((a.weight_sets(), a.weight_group(0), a.weight_group(11), a.weight_group(12)), (1, Some(0), Some(0), None));
        assert_eq!(a.layer_prefix(0), "encoder.albert_layer_groups.0.albert_layers.0.");
    }

    #[test]
    fn albert_groups_follow_hugging_face() {
        // 4 steps over 2 groups of 2 layers: steps 0-1 run group 0, 2-3 group 1; 8 layers in all.
        let j = ALBERT_BASE_V2.replace("\"num_hidden_groups\":1", "\"num_hidden_groups\":2")
            .replace("\"inner_group_num\":1", "\"inner_group_num\":2")
            .replace("\"num_hidden_layers\":12", "\"num_hidden_layers\":4");
        let a = Config::from_json(j.as_bytes()).unwrap();
        assert_eq!(a.num_hidden_layers, 8);
        assert_eq!(a.layer_weights(), &[0, 1, 0, 1, 2, 3, 2, 3]);
        assert_eq!(a.layer_prefix(3), "encoder.albert_layer_groups.1.albert_layers.1.");
        // 12 steps over 5 groups: Python's int(i / 2.4).
        assert_eq!(albert_schedule(12, 5, 1).unwrap().0, vec![0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn family_comes_from_model_type_then_architectures() {
        let no_type = ROBERTA_BASE.replace("\"model_type\":\"roberta\",", "");
        assert_eq!(Config::from_json(no_type.as_bytes()).unwrap().family, Family::Roberta);
        let neither = DISTILBERT_BASE.replace("\"model_type\":\"distilbert\",", "").replace("DistilBertForMaskedLM", "");
        let e = Config::from_json(neither.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("architecture \"\""), "{e}");
        let bare = r#"{"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16}"#;
        assert_eq!(Config::from_json(bare.as_bytes()).unwrap().family, Family::Bert);
    }

    #[test]
    fn unsupported_families_are_named_with_the_supported_list() {
        for (json, named) in [
            (BERT_BASE.replace("\"bert\"", "\"gpt2\""), "model_type \"gpt2\""),
            (BERT_BASE.replace("\"bert\"", "\"deberta-v2\""), "model_type \"deberta-v2\""),
            (r#"{"model_type":"t5","d_model":512}"#.to_string(), "model_type \"t5\""),
            (r#"{"architectures":["GPT2LMHeadModel"],"n_embd":768}"#.to_string(), "architecture \"GPT2LMHeadModel\""),
        ] {
            let e = Config::from_json(json.as_bytes()).unwrap_err();
            assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
            let m = e.to_string();
            assert!(m.contains(named) && m.contains("bert, distilbert, roberta, albert"), "{m}");
        }
        let m = Config::from_json(BERT_BASE.replace("\"absolute\"", "\"relative_key\"").as_bytes()).unwrap_err().to_string();
        assert!(m.contains("relative_key"), "{m}");
        let m = Config::from_json(ROBERTA_BASE.replace("\"pad_token_id\":1", "\"is_decoder\":true").as_bytes()).unwrap_err().to_string();
        assert!(m.contains("decoder"), "{m}");
    }

    #[test]
    fn minimal_config_gets_hf_defaults() {
        let c = Config::from_json(
            br#"{"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"hidden_act":"gelu_new"}"#,
        )
        .unwrap();
        assert_eq!(c.max_position_embeddings, 512);
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.hidden_act, Activation::GeluTanh);
        let r = Config::from_json(br#"{"model_type":"roberta"}"#).unwrap();
        assert_eq!((r.vocab_size, r.positions), (50265, Positions::AfterPadding(1)));
        let a = Config::from_json(br#"{"model_type":"albert"}"#).unwrap();
        assert_eq!((a.embedding_size, a.hidden_size, a.num_attention_heads), (128, 4096, 64));
    }

    #[test]
    fn rejects_bad_configs_with_readable_messages() {
        let e = Config::from_json(b"not json").unwrap_err().to_string();
        assert!(e.starts_with("config.json is not valid"), "{e}");
        let e =
            Config::from_json(b"\n  <!DOCTYPE html><html><body>Sign in to the Wi-Fi</body></html>")
                .unwrap_err()
                .to_string();
        assert!(
            e.starts_with("config.json is not valid: it is an HTML page"),
            "{e}"
        );
        let e = Config::from_json(br#"{"model_type":"bert","hidden_size":"large"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config.json is not valid: \"hidden_size\": invalid type"),
            "{e}"
        );
        let e = Config::from_json(
            b"{\"model_type\": \"bert\",\n  \"num_attention_heads\": 4,\n  \"vocab_size\": 1e40\n}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("config.json is not valid: \"vocab_size\": invalid type: floating point"),
            "{e}"
        );
        let e = Config::from_json(b"{\"model_type\": \"bert\", hidden_size: 3}")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config.json is not valid: key must be a string"),
            "a syntax error names no field: {e}"
        );
        let e = Config::from_json(BERT_BASE.replace("768", "770").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("not divisible"), "{e}");
        let e = Config::from_json(
            DISTILBERT_BASE
                .replace("\"n_heads\":12", "\"n_heads\":7")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not divisible"), "{e}");
        for (json, says) in [
            (
                BERT_BASE.replace(
                    "\"num_hidden_layers\":12",
                    "\"num_hidden_layers\":1000000000",
                ),
                "at most 256",
            ),
            (
                DISTILBERT_BASE.replace("\"n_layers\":6", "\"n_layers\":1000000000"),
                "at most 256",
            ),
            (
                ALBERT_BASE_V2.replace(
                    "\"num_hidden_layers\":12",
                    "\"num_hidden_layers\":1000000000",
                ),
                "at most 256",
            ),
            (
                ALBERT_BASE_V2.replace("\"inner_group_num\":1", "\"inner_group_num\":100000"),
                "at most 256",
            ),
            (
                ALBERT_BASE_V2.replace("\"num_hidden_groups\":1", "\"num_hidden_groups\":0"),
                "must be positive",
            ),
            (
                BERT_BASE.replace("\"num_attention_heads\":12", "\"num_attention_heads\":0"),
                "must be positive",
            ),
            (
                BERT_BASE.replace("\"vocab_size\":30522", "\"vocab_size\":4000000000000000000"),
                "too large",
            ),
            (
                ROBERTA_BASE.replace(
                    "\"max_position_embeddings\":514",
                    "\"max_position_embeddings\":2",
                ),
                "no positions",
            ),
            (
                ROBERTA_BASE.replace("\"pad_token_id\":1", "\"pad_token_id\":-1"),
                "pad_token_id -1",
            ),
            (BERT_BASE.replace("\"gelu\"", "\"gelu_10\""), "gelu_10"),
            (
                BERT_BASE.replace("\"num_hidden_layers\":12", "\"num_hidden_layers\":-12"),
                "invalid value",
            ),
        ] {
            let e = Config::from_json(json.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(says), "{says}: {e}");
        }
    }
}
