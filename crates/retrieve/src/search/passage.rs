//! Memories cut into passages (the subtitle, each sentence of the
//! narrative, each fact, the files changed) and weighed against a query.
//!
//! A memory answers a question in one or two of its sentences, not in its
//! headline: recall hands over the passages that match the prompt best, and
//! judges a memory by how much of the prompt's distinctive vocabulary it
//! covers. Words count in some form ("fixed" ~ "fix", "refills" ~ "refill"):
//! same first three to five letters.

use crate::Observation;

/// A sentence longer than this is cut (at a word boundary) when shown.
const MAX_PASSAGE_CHARS: usize = 360;

/// Whether two words are forms of one another: they share their first
/// letters, at least three and up to five; shorter words must be equal, and
/// so must words with a digit, which name one version or variant ("node16"
/// is not "node", "es2022" not "es2020").
pub(crate) fn same_word(a: &str, b: &str) -> bool {
    let k = a.chars().count().min(b.chars().count()).min(5);
    if k < 3 {
        return a == b;
    }
    // Most pairs differ in their first letters: the rarer rules come after.
    if !a.chars().take(k).eq(b.chars().take(k)) {
        return false;
    }
    let numbered = |w: &str| w.chars().any(|c| c.is_ascii_digit());
    if numbered(a) || numbered(b) {
        return a == b;
    }
    !(agent_of(a, b) || agent_of(b, a))
}

/// Whether `agent` is the "-er" noun of the word `root` is a form of: a
/// limiter is a thing, not a limit, and a reporter is no report.
fn agent_of(agent: &str, root: &str) -> bool {
    let singular = agent.strip_suffix('s').unwrap_or(agent);
    let Some(stem) = singular.strip_suffix("er").filter(|stem| stem.len() >= 3) else {
        return false;
    };
    root.strip_prefix(stem)
        .is_some_and(|rest| ["", "s", "e", "es", "ed", "ing"].contains(&rest))
}

/// The lower-cased words of `text`; an identifier also gives its parts
/// (`read_trips` holds "read" and "trips", as the full-text index sees it;
/// `renderHtml` holds "render" and "html"), so a question in words finds the
/// code that names the thing.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        // camelCase parts, found by where a capital follows a small letter;
        // most words have none and cost no allocation here.
        let mut start = 0;
        let mut prev_lower = false;
        for (i, c) in word.char_indices() {
            if c.is_uppercase() && prev_lower {
                push_part(&mut out, &word[start..i]);
                start = i;
            }
            prev_lower = c.is_lowercase();
        }
        if start > 0 {
            push_part(&mut out, &word[start..]);
        }
        let word = word.to_lowercase();
        if word.contains('_') {
            out.extend(
                word.split('_')
                    .filter(|part| part.chars().count() >= 2)
                    .map(str::to_string),
            );
        }
        out.push(word);
    }
    out
}

/// A camelCase part of three letters or more, lower-cased, into `out`.
fn push_part(out: &mut Vec<String>, part: &str) {
    if part.chars().count() >= 3 {
        out.push(part.to_lowercase());
    }
}

/// The query's words with their weights (IDF in the searched scope).
pub(crate) struct WeightedQuery<'a> {
    pub terms: &'a [String],
    pub weights: &'a [f64],
}

impl WeightedQuery<'_> {
    /// The sum of all weights.
    fn total(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// Which query words occur in `text`, in some form.
    fn present(&self, text: &str) -> Vec<bool> {
        let words = words(text);
        self.terms
            .iter()
            .map(|t| words.iter().any(|w| same_word(t, w)))
            .collect()
    }

    /// The share of the query's weight that `present` covers, 0..=1.
    fn coverage(&self, present: &[bool]) -> f64 {
        let total = self.total();
        if total <= 0.0 {
            return 0.0;
        }
        let covered: f64 = self
            .weights
            .iter()
            .zip(present)
            .filter(|(_, p)| **p)
            .map(|(w, _)| w)
            .sum();
        covered / total
    }
}

/// One passage of a memory and how well it matches the query.
#[derive(Debug, Clone)]
pub(crate) struct Passage {
    pub text: String,
    /// Share of the query's weight this passage covers on its own.
    pub score: f64,
}

/// How well a whole memory matches the query.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    /// Share of the query's weight found anywhere in the memory.
    pub coverage: f64,
    /// Share of the query's weight its title covers.
    pub title_score: f64,
    /// How many query words the memory has, in some form.
    pub matched: usize,
    /// The subtitle, narrative sentences, facts and files, each once and
    /// scored (the title is not among them: it is always shown).
    pub passages: Vec<Passage>,
}

impl Evidence {
    /// The score of the best passage, the title included.
    pub fn best(&self) -> f64 {
        self.passages
            .iter()
            .map(|p| p.score)
            .fold(self.title_score, f64::max)
    }
}

/// The sentences of `text`: split after `.`, `!` or `?` followed by
/// white space, and at line breaks.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = c == '\n'
            || (matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()));
        if c != '\n' {
            current.push(c);
        }
        if ends {
            push_trimmed(&mut out, &current);
            current.clear();
        }
    }
    push_trimmed(&mut out, &current);
    out
}

fn push_trimmed(out: &mut Vec<String>, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push(cut(text));
    }
}

/// `text` cut to [`MAX_PASSAGE_CHARS`] at a word boundary, with an ellipsis.
pub(crate) fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_PASSAGE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_PASSAGE_CHARS).collect();
    let head = head.rsplit_once(' ').map_or(head.as_str(), |(h, _)| h);
    format!("{head} …")
}

/// `text` for comparison: lower-cased, without a trailing stop, an
/// ellipsis or white space.
fn same_text(text: &str) -> String {
    text.trim().trim_end_matches(['.', '…', ' ']).to_lowercase()
}

/// Weigh `memory` against `query`.
pub(crate) fn evidence(memory: &Observation, query: &WeightedQuery) -> Evidence {
    let mut texts = vec![cut(memory.subtitle.trim())];
    texts.extend(sentences(&memory.narrative));
    texts.extend(memory.facts.iter().map(|f| cut(f.trim())));
    if !memory.files_modified.is_empty() {
        texts.push(cut(&format!(
            "Files changed: {}",
            memory.files_modified.join(", ")
        )));
    }
    // Rules often state a sentence of the narrative again as a fact, and the
    // subtitle is usually the narrative's first sentence, perhaps cut short:
    // each once, the longest form.
    let title = same_text(&memory.title);
    let mut kept: Vec<(String, String)> = Vec::new();
    for text in texts {
        let key = same_text(&text);
        if key.is_empty()
            || title.starts_with(&key)
            || kept.iter().any(|(k, _)| k.starts_with(&key))
        {
            continue;
        }
        match kept.iter_mut().find(|(k, _)| key.starts_with(k.as_str())) {
            Some(shorter) => *shorter = (key, text),
            None => kept.push((key, text)),
        }
    }
    let in_title = query.present(&memory.title);
    let title_score = query.coverage(&in_title);
    let mut anywhere = query.present(&format!("{} {}", memory.kind, memory.concepts.join(" ")));
    for (seen, here) in anywhere.iter_mut().zip(&in_title) {
        *seen |= here;
    }
    let passages = kept
        .into_iter()
        .map(|(_, text)| {
            let present = query.present(&text);
            for (seen, here) in anywhere.iter_mut().zip(&present) {
                *seen |= here;
            }
            Passage {
                score: query.coverage(&present),
                text,
            }
        })
        .collect();
    Evidence {
        title_score,
        coverage: query.coverage(&anywhere),
        matched: anywhere.iter().filter(|p| **p).count(),
        passages,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A bugfix memory with `narrative` and `facts` (for tests elsewhere too).
    pub(crate) fn memory(narrative: &str, facts: &[&str]) -> Observation {
        Observation {
            id: 1,
            kind: "bugfix".into(),
            title: "Fixed the limiter".into(),
            subtitle: String::new(),
            narrative: narrative.into(),
            facts: facts.iter().map(|f| f.to_string()).collect(),
            concepts: Vec::new(),
            files_read: Vec::new(),
            files_modified: vec!["internal/limit/bucket.go".into()],
            project: None,
            session_id: None,
            prompt: None,
            generated_by: "rules".into(),
            created_at: 0,
            reference: None,
            author: None,
        }
    }

    #[test]
    fn sentences_split_on_stops_not_on_versions() {
        assert_eq!(
            sentences("Bumped to v1.4.1. Then what?\nNext line! e.g.x"),
            ["Bumped to v1.4.1.", "Then what?", "Next line!", "e.g.x"]
        );
        let long = "word ".repeat(200);
        assert!(sentences(&long)[0].ends_with(" …"));
        assert!(sentences(&long)[0].chars().count() <= MAX_PASSAGE_CHARS + 2);
    }

    #[test]
    fn the_answering_sentence_scores_highest() {
        let terms = crate::search::query::content_terms(
            "why did the goroutines pile up in the refill loop",
        );
        let weights = vec![3.0; terms.len()];
        let query = WeightedQuery {
            terms: &terms,
            weights: &weights,
        };
        let found = evidence(
            &memory(
                "Staging was restarted daily. Each bucket ran a refill goroutine on a ticker, \
                 so goroutines piled up. Buckets now refill lazily.",
                &["Buckets now refill lazily", "bucket.go: rewrote 12 line(s)"],
            ),
            &query,
        );
        let best = found
            .passages
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .unwrap();
        assert!(best.text.starts_with("Each bucket ran"), "{best:?}");
        // "up" is a stop word, "loop" is nowhere.
        assert_eq!(terms, ["goroutines", "pile", "refill", "loop"]);
        assert_eq!(found.matched, 3);
        assert!((found.coverage - 0.75).abs() < 1e-9);
        assert!((found.best() - 0.75).abs() < 1e-9);
        // The fact repeating a sentence is kept once.
        let texts: Vec<&str> = found.passages.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Staging was restarted daily.",
                "Each bucket ran a refill goroutine on a ticker, so goroutines piled up.",
                "Buckets now refill lazily.",
                "bucket.go: rewrote 12 line(s)",
                "Files changed: internal/limit/bucket.go",
            ]
        );
    }

    #[test]
    fn word_forms_match() {
        assert!(same_word("recursion", "recursive") && !same_word("go", "good"));
        assert!(same_word("fixed", "fix") && !same_word("stats", "state"));
        assert!(same_word("node16", "node16") && !same_word("node16", "node"));
        assert!(!same_word("es2022", "es2020") && !same_word("v2", "v20"));
        assert!(!same_word("limiter", "limit") && !same_word("reports", "reporters"));
        assert!(!same_word("parse", "parser") && same_word("filtered", "filter"));
    }

    #[test]
    fn identifiers_hold_their_words() {
        assert_eq!(
            words("added read_trips(), _x"),
            ["added", "read", "trips", "read_trips", "_x"]
        );
        assert_eq!(
            words("renderHtml iOS"),
            ["render", "html", "renderhtml", "ios"]
        );
        let terms = ["reads".to_string(), "trip".to_string()];
        let query = WeightedQuery {
            terms: &terms,
            weights: &[1.0, 1.0],
        };
        assert_eq!(
            query.present("src/load.py: added read_trips()"),
            [true, true]
        );
    }
}
