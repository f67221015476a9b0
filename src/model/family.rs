//! The encoder families the engine runs, and where each keeps its weights.
//!
//! All four are post-LayerNorm Transformer encoders with absolute positions, so one forward pass
//! ([`super::Encoder`]) runs them all. They differ in small, named ways, which live here and in
//! [`super::Config`]:
//!
//! | | embeddings | position ids | segment ids | layers | tensor names |
//! |---|---|---|---|---|---|
//! | BERT | word + type + position | `0..n` | yes | own weights | `encoder.layer.N.attention.self.query` |
//! | DistilBERT | word + position | `0..n` | none | own weights | `transformer.layer.N.attention.q_lin` |
//! | RoBERTa | word + type + position | `pad + 1 + i` | always 0 | own weights | as BERT |
//! | ALBERT | factorised, projected | `0..n` | yes | shared group(s) | `encoder.albert_layer_groups.G.albert_layers.J.attention.query` |
//!
//! Every name is relative to the bare encoder, as `AutoModel.save_pretrained` writes it; the
//! task classes (`…ForMaskedLM`, `…ForSequenceClassification`) put the family's prefix (`bert.`,
//! `distilbert.`, `roberta.`, `albert.`) in front and add heads, which [`super::Checkpoint`]
//! strips and skips.

use serde::Serialize;

/// An encoder family, read from `config.json` (`model_type`, else `architectures`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    /// Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    /// Understanding", <https://arxiv.org/abs/1810.04805>.
    Bert,
    /// Sanh et al. 2019, "DistilBERT, a distilled version of BERT: smaller, faster, cheaper and
    /// lighter", <https://arxiv.org/abs/1910.01108>.
    DistilBert,
    /// Liu et al. 2019, "RoBERTa: A Robustly Optimized BERT Pretraining Approach",
    /// <https://arxiv.org/abs/1907.11692>.
    Roberta,
    /// Lan et al. 2020, "ALBERT: A Lite BERT for Self-supervised Learning of Language
    /// Representations", <https://arxiv.org/abs/1909.11942>.
    Albert,
}

/// The parts of one transformer layer, by role. Every family has exactly these eight (the
/// linear ones with a bias), under its own names: [`Family::layer_part`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Query,
    Key,
    Value,
    /// The projection of the attention's output back to the hidden size.
    AttnOut,
    /// The LayerNorm after attention + residual.
    AttnNorm,
    FfnIn,
    FfnOut,
    /// The LayerNorm after the feed-forward block + residual.
    FfnNorm,
}

impl Family {
    /// Every family, in the order messages list them.
    pub const ALL: [Family; 4] = [Family::Bert, Family::DistilBert, Family::Roberta, Family::Albert];

    /// `config.json`'s `model_type` for this family.
    pub fn model_type(self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::DistilBert => "distilbert",
            Family::Roberta => "roberta",
            Family::Albert => "albert",
        }
    }

    /// The name to show people: "BERT", "DistilBERT", "RoBERTa", "ALBERT".
    pub fn name(self) -> &'static str {
        match self {
            Family::Bert => "BERT",
            Family::DistilBert => "DistilBERT",
            Family::Roberta => "RoBERTa",
            Family::Albert => "ALBERT",
        }
    }

    /// The paper that introduced the family (authors, year, title, arXiv link).
    pub fn paper(self) -> &'static str {
        match self {
            Family::Bert => "Devlin et al. 2019, BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding, https://arxiv.org/abs/1810.04805",
            Family::DistilBert => "Sanh et al. 2019, DistilBERT, a distilled version of BERT: smaller, faster, cheaper and lighter, https://arxiv.org/abs/1910.01108",
            Family::Roberta => "Liu et al. 2019, RoBERTa: A Robustly Optimized BERT Pretraining Approach, https://arxiv.org/abs/1907.11692",
            Family::Albert => "Lan et al. 2020, ALBERT: A Lite BERT for Self-supervised Learning of Language Representations, https://arxiv.org/abs/1909.11942",
        }
    }

    /// "bert, distilbert, roberta, albert": what unsupported-model messages list.
    pub fn supported_list() -> String {
        Self::ALL.map(Family::model_type).join(", ")
    }

    /// The family of a `model_type`, if the engine runs it.
    pub fn from_model_type(model_type: &str) -> Option<Family> {
        Self::ALL.into_iter().find(|f| f.model_type() == model_type)
    }

    /// The family of an `architectures` entry (`RobertaForMaskedLM`, `BertModel`, …): the
    /// family's class prefix followed by `Model`, `LMHeadModel` or `For…`. Variants with their
    /// own architecture (`RobertaPreLayerNormModel`) are not matched.
    pub fn from_architecture(class: &str) -> Option<Family> {
        Self::ALL.into_iter().find(|f| {
            class.strip_prefix(f.class_prefix()).is_some_and(|rest| {
                rest == "Model" || rest == "LMHeadModel" || rest.starts_with("For")
            })
        })
    }

    fn class_prefix(self) -> &'static str {
        match self {
            Family::Bert => "Bert",
            Family::DistilBert => "DistilBert",
            Family::Roberta => "Roberta",
            Family::Albert => "Albert",
        }
    }

    /// The prefix task classes put before the bare encoder's names (`base_model_prefix`).
    pub fn base_prefix(self) -> &'static str {
        match self {
            Family::Bert => "bert.",
            Family::DistilBert => "distilbert.",
            Family::Roberta => "roberta.",
            Family::Albert => "albert.",
        }
    }

    /// Whether the tokenizer's segment ids reach the model. BERT and ALBERT add a segment
    /// embedding per id; RoBERTa's tokenizer does not pass them (`model_input_names`), so the
    /// model adds row 0 of its one-row table to every token; DistilBERT has no such table.
    pub fn uses_segment_ids(self) -> bool {
        matches!(self, Family::Bert | Family::Albert)
    }

    /// Whether the family has a token-type (segment) embedding table at all.
    pub fn has_token_type_embeddings(self) -> bool {
        !matches!(self, Family::DistilBert)
    }

    /// Whether the embeddings are smaller than the hidden size and projected up
    /// (`encoder.embedding_hidden_mapping_in`).
    pub fn projects_embeddings(self) -> bool {
        matches!(self, Family::Albert)
    }

    /// Where weight set `set` lives (with a trailing dot). ALBERT's sets are numbered group
    /// by group: set `g * inner_group_num + j` is `albert_layer_groups.g.albert_layers.j`.
    pub fn layer_prefix(self, set: usize, inner_group_num: usize) -> String {
        match self {
            Family::Bert | Family::Roberta => format!("encoder.layer.{set}."),
            Family::DistilBert => format!("transformer.layer.{set}."),
            Family::Albert => {
                let inner = inner_group_num.max(1);
                format!("encoder.albert_layer_groups.{}.albert_layers.{}.", set / inner, set % inner)
            }
        }
    }

    /// The name of one part of a layer, relative to [`Self::layer_prefix`].
    pub fn layer_part(self, part: Part) -> &'static str {
        use Part::*;
        match (self, part) {
            (Family::Bert | Family::Roberta, Query) => "attention.self.query",
            (Family::Bert | Family::Roberta, Key) => "attention.self.key",
            (Family::Bert | Family::Roberta, Value) => "attention.self.value",
            (Family::Bert | Family::Roberta, AttnOut) => "attention.output.dense",
            (Family::Bert | Family::Roberta, AttnNorm) => "attention.output.LayerNorm",
            (Family::Bert | Family::Roberta, FfnIn) => "intermediate.dense",
            (Family::Bert | Family::Roberta, FfnOut) => "output.dense",
            (Family::Bert | Family::Roberta, FfnNorm) => "output.LayerNorm",
            (Family::DistilBert, Query) => "attention.q_lin",
            (Family::DistilBert, Key) => "attention.k_lin",
            (Family::DistilBert, Value) => "attention.v_lin",
            (Family::DistilBert, AttnOut) => "attention.out_lin",
            (Family::DistilBert, AttnNorm) => "sa_layer_norm",
            (Family::DistilBert, FfnIn) => "ffn.lin1",
            (Family::DistilBert, FfnOut) => "ffn.lin2",
            (Family::DistilBert, FfnNorm) => "output_layer_norm",
            (Family::Albert, Query) => "attention.query",
            (Family::Albert, Key) => "attention.key",
            (Family::Albert, Value) => "attention.value",
            (Family::Albert, AttnOut) => "attention.dense",
            (Family::Albert, AttnNorm) => "attention.LayerNorm",
            (Family::Albert, FfnIn) => "ffn",
            (Family::Albert, FfnOut) => "ffn_output",
            (Family::Albert, FfnNorm) => "full_layer_layer_norm",
        }
    }

    /// ALBERT's projection from the embedding size to the hidden size.
    pub const EMBEDDING_PROJECTION: &'static str = "encoder.embedding_hidden_mapping_in";

    /// Whether the encoder reads the tensor `bare` (a name without the family prefix). Heads
    /// (`cls.*`, `lm_head.*`, `pooler.*`, `vocab_*`, `predictions.*`, `classifier.*`,
    /// `qa_outputs.*`, …) are not, so they are never converted or kept.
    pub fn uses_tensor(self, bare: &str) -> bool {
        let encoder: &[&str] = match self {
            Family::Bert | Family::Roberta => &["encoder.layer."],
            Family::DistilBert => &["transformer.layer."],
            Family::Albert => &["encoder.albert_layer_groups.", "encoder.embedding_hidden_mapping_in."],
        };
        bare.starts_with("embeddings.") || encoder.iter().any(|p| bare.starts_with(p))
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_name_their_family() {
        for (class, family) in [
            ("BertForMaskedLM", Some(Family::Bert)),
            ("BertModel", Some(Family::Bert)),
            ("BertLMHeadModel", Some(Family::Bert)),
            ("DistilBertForSequenceClassification", Some(Family::DistilBert)),
            ("RobertaForMaskedLM", Some(Family::Roberta)),
            ("AlbertForPreTraining", Some(Family::Albert)),
            ("RobertaPreLayerNormModel", None),
            ("GPT2LMHeadModel", None),
            ("BertGenerationEncoder", None),
        ] {
            assert_eq!(Family::from_architecture(class), family, "{class}");
        }
        assert_eq!(Family::from_model_type("distilbert"), Some(Family::DistilBert));
        assert_eq!(Family::from_model_type("deberta-v2"), None);
        assert_eq!(Family::supported_list(), "bert, distilbert, roberta, albert");
    }

    #[test]
    fn albert_weight_sets_are_numbered_group_by_group() {
        assert_eq!(Family::Albert.layer_prefix(0, 1), "encoder.albert_layer_groups.0.albert_layers.0.");
        assert_eq!(Family::Albert.layer_prefix(3, 2), "encoder.albert_layer_groups.1.albert_layers.1.");
        assert_eq!(Family::DistilBert.layer_prefix(2, 1), "transformer.layer.2.");
    }

    #[test]
    fn heads_are_not_encoder_tensors() {
        for name in ["cls.predictions.bias", "lm_head.dense.weight", "pooler.dense.weight", "classifier.weight"] {
            assert!(!Family::Bert.uses_tensor(name) && !Family::Roberta.uses_tensor(name), "{name}");
        }
        for name in ["vocab_transform.weight", "vocab_projector.bias", "pre_classifier.weight", "qa_outputs.weight"] {
            assert!(!Family::DistilBert.uses_tensor(name), "{name}");
        }
        assert!(!Family::Albert.uses_tensor("predictions.decoder.weight"));
        assert!(!Family::Albert.uses_tensor("sop_classifier.classifier.weight"));
        assert!(Family::Albert.uses_tensor("encoder.embedding_hidden_mapping_in.weight"));
        assert!(Family::DistilBert.uses_tensor("transformer.layer.0.ffn.lin1.weight"));
    }
}
