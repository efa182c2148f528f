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
    words.retain(|w| !is_filler(w));
    words
}

/// Whether `word` (lower-cased) is question filler ([`content_terms`]).
pub(crate) fn is_filler(word: &str) -> bool {
    FILLER_WORDS.contains(&word)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The days a text names, as inclusive Unix milliseconds (UTC): one day for
/// "25 May, 2022", "May 25, 2022" or "2022-05-25", a month for "August
/// 2023". A month or day without a year names nothing: which year is meant
/// is a guess. The first date in the text wins.
pub fn named_days(text: &str) -> Option<(i64, i64)> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let number = |i: usize, range: std::ops::RangeInclusive<u32>| {
        words
            .get(i)
            .and_then(|w| w.parse::<u32>().ok())
            .filter(|n| range.contains(n))
    };
    let year = |i: usize| number(i, 1900..=2200).and_then(|y| i32::try_from(y).ok());
    for (i, word) in words.iter().enumerate() {
        if let Some(y) = year(i)
            && let (Some(m), Some(d)) = (number(i + 1, 1..=12), number(i + 2, 1..=31))
        {
            return day_span(y, m, d); // 2022-05-25
        }
        let Some(month) = MONTHS.iter().position(|m| m == word) else {
            continue;
        };
        let month = month as u32 + 1;
        let before = i.checked_sub(1).and_then(|b| number(b, 1..=31));
        match (before, number(i + 1, 1..=31), year(i + 1), year(i + 2)) {
            (Some(d), _, Some(y), _) => return day_span(y, month, d), // 25 May, 2022
            (_, Some(d), _, Some(y)) => return day_span(y, month, d), // May 25, 2022
            (None, _, Some(y), _) => return month_span(y, month),     // August 2023
            _ => {}
        }
    }
    None
}

/// The milliseconds of one day.
fn day_span(year: i32, month: u32, day: u32) -> Option<(i64, i64)> {
    let start = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let start = start
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis();
    Some((start, start + 86_400_000 - 1))
}

/// The milliseconds of one month.
fn month_span(year: i32, month: u32) -> Option<(i64, i64)> {
    let (first, _) = day_span(year, month, 1)?;
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let (next, _) = day_span(next_year, next_month, 1)?;
    Some((first, next - 1))
}

/// The forms of `word` to search for: the word, and the spelling the
/// index's Porter stemmer does not reduce to it. Verbs ending in "-ic" take
/// a "k" before "-ed" and "-ing" ("panic", "panicked", "panicking"), and the
/// stemmer keeps that "k": "panicked" is indexed as "panick", "panics" as
/// "panic".
pub(crate) fn forms(word: &str) -> Vec<String> {
    let mut forms = vec![word.to_string()];
    let singular = word.strip_suffix('s').unwrap_or(word);
    if singular.chars().count() >= 4 && singular.ends_with("ic") {
        forms.push(format!("{singular}k"));
    } else if let Some(stem) = ["icked", "icking", "icker"]
        .iter()
        .find_map(|ending| word.strip_suffix(ending))
        .filter(|stem| stem.chars().count() >= 2)
    {
        forms.push(format!("{stem}ic"));
    }
    forms
}

/// An FTS5 expression matching any form of `word` ([`forms`]), and how many
/// phrases it holds (FTS5 numbers the phrases of a MATCH expression in
/// order; rankers give each its weight). Each form is an FTS5 string: only
/// `"` needs escaping (by doubling), and words never contain it anyway.
pub(crate) fn word_match(word: &str) -> (String, usize) {
    let forms = forms(word);
    let quoted: Vec<String> = forms
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    (quoted.join(" OR "), quoted.len())
}

/// An FTS5 MATCH expression for `text`, or `None` when nothing searchable is left.
pub fn fts_match(text: &str) -> Option<String> {
    let terms = terms(text);
    if terms.is_empty() {
        return None;
    }
    Some(
        terms
            .iter()
            .map(|t| word_match(t).0)
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

    #[test]
    fn word_forms_the_stemmer_misses_are_searched_too() {
        assert_eq!(forms("panic"), ["panic", "panick"]);
        assert_eq!(forms("panics"), ["panics", "panick"]);
        assert_eq!(forms("panicked"), ["panicked", "panic"]);
        assert_eq!(forms("trafficking"), ["trafficking", "traffic"]);
        assert_eq!(forms("fixed"), ["fixed"]);
        assert_eq!(forms("ic"), ["ic"]);
        assert_eq!(
            fts_match("panic in main").as_deref(),
            Some(r#""panic" OR "panick" OR "main""#)
        );
    }

    #[test]
    fn dates_people_write_name_their_days() {
        let day = |y, m, d| day_span(y, m, d).unwrap();
        assert_eq!(
            named_days("What did we ship on 25 May, 2022?"),
            Some(day(2022, 5, 25))
        );
        assert_eq!(
            named_days("what changed May 25, 2022"),
            Some(day(2022, 5, 25))
        );
        assert_eq!(
            named_days("the deploy of 2022-05-25"),
            Some(day(2022, 5, 25))
        );
        let august = named_days("What did Tim start in August 2023?").unwrap();
        assert_eq!(august.0, day(2023, 8, 1).0);
        assert_eq!(august.1, day(2023, 8, 31).1);
        assert_eq!(named_days("december 2023").unwrap().1, day(2023, 12, 31).1);
        assert_eq!(named_days("It may fail in June"), None, "no year: no date");
        assert_eq!(named_days("on 31 February, 2023"), None, "no such day");
        assert_eq!(named_days("version 2023 of the API"), None);
    }
}
