//! Turning whatever a person or an agent typed into a safe FTS5 query.
//!
//! User text never reaches FTS5 syntax: it is split into words (letters and
//! digits, any script), common function words are dropped, and each word is
//! quoted as a string, so `-`, `:`, `"`, `(`, `*`, `NEAR`, emoji or 10 KB of
//! text can neither cause a syntax error nor change the query's meaning.
//! Words are OR-ed: BM25 ranks documents matching more of them higher.

/// At most this many words are searched (a 10 KB paste is not 2,000 terms).
const MAX_TERMS: usize = 32;

const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in",
    "into", "is", "it", "its", "last", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "time", "to", "us", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// The filler of questions about past work ("what made it", "how did we
/// get", "tell me", "right after"): such words rank fine as full text, but
/// say nothing about which memory answers, so they carry no weight as
/// evidence ([`content_terms`]).
const FILLER_WORDS: &[&str] = &[
    "after", "again", "already", "also", "before", "being", "came", "couldn", "didn", "doesn",
    "done", "down", "each", "even", "ever", "every", "exactly", "get", "got", "isn", "just",
    "made", "make", "many", "much", "now", "once", "over", "remind", "right", "s", "same", "see",
    "should", "some", "still", "t", "take", "tell", "than", "those", "though", "up", "very",
    "wasn", "way", "well", "went", "while",
];

/// The words of `text` worth searching for, lower-cased, in order, unique.
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        let word = word.to_lowercase();
        if word.is_empty() || STOP_WORDS.contains(&word.as_str()) || out.contains(&word) {
            continue;
        }
        out.push(word);
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// [`terms`] without the filler of questions: the words that can be
/// evidence of what a memory is about.
pub fn content_terms(text: &str) -> Vec<String> {
    let mut words = terms(text);
    words.retain(|w| !FILLER_WORDS.contains(&w.as_str()));
    words
}

/// An FTS5 MATCH expression for `text`, or `None` when nothing searchable is left.
pub fn fts_match(text: &str) -> Option<String> {
    let terms = terms(text);
    if terms.is_empty() {
        return None;
    }
    // Each term is an FTS5 string: only `"` needs escaping (by doubling), and
    // terms never contain it anyway.
    Some(
        terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_and_operators_become_plain_words() {
        assert_eq!(
            fts_match(r#"fix "NEAR(a b)" -foo title:bar (unbalanced *"#).as_deref(),
            Some(r#""fix" OR "near" OR "b" OR "foo" OR "title" OR "bar" OR "unbalanced""#)
        );
        assert_eq!(fts_match("🦀 ?? --- ()"), None);
        assert_eq!(
            terms("What was the fibonacci bug we fixed?"),
            ["fibonacci", "bug", "fixed"]
        );
        assert_eq!(
            terms("RecursionError in fibonacci.py"),
            ["recursionerror", "fibonacci", "py"]
        );
        assert_eq!(terms(&"word ".repeat(5000)), ["word"]);
        assert_eq!(
            terms(
                &(0..100)
                    .map(|i| format!("w{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
            .len(),
            MAX_TERMS
        );
        assert_eq!(terms("über straße 東京"), ["über", "straße", "東京"]);
    }
}
