//! BERT-uncased tokenisation, as Hugging Face's fast `BertTokenizer` does it
//! for all-MiniLM-L6-v2 (`tokenizer.json`: `BertNormalizer` with lowercase,
//! `BertPreTokenizer`, `WordPiece` with `##` and 100 chars per word).
//!
//! Normalisation, per character of the input: drop NUL, U+FFFD and control
//! or format characters (Unicode Cc, Cf, Co; tab, CR and LF count as
//! whitespace); put CJK ideographs in words of their own; decompose (NFD) and
//! drop non-spacing marks (accents); lowercase. Then split on whitespace and
//! make every punctuation character (ASCII punctuation or Unicode P*) a word
//! of its own. Each word becomes the longest vocabulary pieces from the left,
//! later pieces prefixed with `##`; a word with an unmatched rest, or longer
//! than [`MAX_WORD_CHARS`], becomes one `[UNK]`.
//!
//! Decomposition is per character (no canonical reordering of a run of
//! combining marks); only the order of spacing marks that survive the accent
//! stripping could differ, which no text we have found depends on.

use unicode_categories::UnicodeCategories;

/// Words longer than this many characters become one `[UNK]` (WordPiece's
/// `max_input_chars_per_word`).
const MAX_WORD_CHARS: usize = 100;

/// A WordPiece vocabulary.
pub(crate) trait Vocab {
    /// The id of `piece`, looked up as `##piece` when `continuation`.
    fn lookup(&self, piece: &str, continuation: bool) -> Option<u32>;
    /// The id of `[UNK]`.
    fn unk(&self) -> u32;
}

/// Appends the token ids of `text` to `out`, without `[CLS]`/`[SEP]`.
pub(crate) fn tokenize(text: &str, vocab: &impl Vocab, out: &mut Vec<u32>) {
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        if !word.is_empty() {
            word_pieces(word, vocab, out);
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii() {
            // Fast path: ASCII needs no decomposition or category tables.
            match c {
                '\t' | '\n' | '\r' | ' ' => flush(&mut word),
                '\0'..='\x1f' | '\x7f' => {}
                c if c.is_ascii_punctuation() => {
                    flush(&mut word);
                    word.push(c);
                    flush(&mut word);
                }
                c => word.push(c.to_ascii_lowercase()),
            }
            continue;
        }
        if c == '\u{fffd}' || c.is_other() {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut word);
            continue;
        }
        let cjk = is_chinese_char(c);
        if cjk {
            flush(&mut word);
        }
        unicode_normalization::char::decompose_canonical(c, |d| {
            if d.is_mark_nonspacing() {
                return;
            }
            for l in d.to_lowercase() {
                if l.is_whitespace() {
                    flush(&mut word);
                } else if l.is_ascii_punctuation() || l.is_punctuation() {
                    flush(&mut word);
                    word.push(l);
                    flush(&mut word);
                } else {
                    word.push(l);
                }
            }
        });
        if cjk {
            flush(&mut word);
        }
    }
    flush(&mut word);
}

/// Greedy longest-match-first WordPiece over one word.
fn word_pieces(word: &str, vocab: &impl Vocab, out: &mut Vec<u32>) {
    // Only words with non-ASCII characters can have fewer chars than bytes.
    if word.len() > MAX_WORD_CHARS && word.chars().count() > MAX_WORD_CHARS {
        out.push(vocab.unk());
        return;
    }
    let first = out.len();
    let mut start = 0;
    while start < word.len() {
        let mut end = word.len();
        let found = loop {
            if let Some(id) = vocab.lookup(&word[start..end], start > 0) {
                break Some(id);
            }
            // Step back one character.
            end = word[start..end]
                .char_indices()
                .next_back()
                .map_or(start, |(i, _)| start + i);
            if end == start {
                break None;
            }
        };
        match found {
            Some(id) => {
                out.push(id);
                start = end;
            }
            None => {
                out.truncate(first);
                out.push(vocab.unk());
                return;
            }
        }
    }
}

/// The CJK ideograph blocks BERT isolates (the ranges of Hugging Face's
/// `BertNormalizer`, which differ from the original BERT's in one bound).
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Toy(HashMap<String, u32>);

    impl Toy {
        fn new(tokens: &[&str]) -> Toy {
            Toy(tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.to_string(), i as u32))
                .collect())
        }
    }

    impl Vocab for Toy {
        fn lookup(&self, piece: &str, continuation: bool) -> Option<u32> {
            let key = if continuation {
                format!("##{piece}")
            } else {
                piece.to_string()
            };
            self.0.get(&key).copied()
        }
        fn unk(&self) -> u32 {
            0
        }
    }

    fn ids(text: &str, vocab: &Toy) -> Vec<u32> {
        let mut out = Vec::new();
        tokenize(text, vocab, &mut out);
        out
    }

    #[test]
    fn longest_match_then_continuations() {
        let v = Toy::new(&["[UNK]", "un", "##aff", "##able", "unaff", "!", "a"]);
        assert_eq!(ids("Unaffable!", &v), vec![4, 3, 5]);
        // An unmatched rest turns the whole word into one [UNK].
        assert_eq!(ids("unaffablex a", &v), vec![0, 6]);
    }

    #[test]
    fn controls_dropped_accents_stripped_cjk_split() {
        let v = Toy::new(&["[UNK]", "cafe", "ab", "中", "文", "a"]);
        assert_eq!(ids("CAFÉ a\u{0}\u{b}b", &v), vec![1, 2]);
        assert_eq!(ids("中文", &v), vec![3, 4]);
        assert_eq!(ids("a\u{3000}a\u{200b}", &v), vec![5, 5]);
    }

    #[test]
    fn overlong_word_is_one_unk() {
        let v = Toy::new(&["[UNK]", "a", "##a"]);
        assert_eq!(ids(&"a".repeat(100), &v).len(), 100);
        assert_eq!(ids(&"a".repeat(101), &v), vec![0]);
    }
}
