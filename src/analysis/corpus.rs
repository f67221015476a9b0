//! A small built-in corpus for averaging head statistics over several inputs.
//!
//! One input says little about what a head does in general; Clark et al. (2019) average their
//! head statistics over many sentences. `assets/corpus/sentences.txt` holds 42 varied English
//! sentences written for this project (public domain, CC0 1.0): questions, quotations, comma
//! lists, numbers, long subordinate clauses, names, garden paths, pronoun ambiguity and the
//! "bank" polysemy. Run each through the model, take [`super::head_stats`], then
//! [`super::mean_per_head`].

/// The corpus file as shipped (one sentence per line, `#` lines are comments).
pub const SENTENCES_TXT: &str = include_str!("../../assets/corpus/sentences.txt");

/// The sentences of a corpus text: its lines, trimmed, without blank lines and `#` comments.
pub fn parse_sentences(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// The built-in corpus's sentences.
pub fn sentences() -> Vec<&'static str> {
    parse_sentences(SENTENCES_TXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_has_varied_sentences() {
        let s = sentences();
        assert!((36..=48).contains(&s.len()), "{}", s.len());
        assert!(s.iter().all(|l| !l.starts_with('#') && l.len() > 10));
        assert!(s.iter().any(|l| l.ends_with('?')));
        assert!(s.iter().any(|l| l.contains('"')));
        assert!(s.iter().filter(|l| l.to_lowercase().contains("bank")).count() >= 3);
        assert!(s.iter().any(|l| l.chars().any(|c| c.is_ascii_digit())));
        assert!(SENTENCES_TXT.starts_with('#'));
        assert_eq!(parse_sentences("# c\n\n a \n#d\nb"), ["a", "b"]);
    }
}
