//! The markers an earlier pass left (`[REDACTED:<kind>]`). Cleaning clean
//! text must change nothing (memories are redacted again before they are
//! shared, and a second pass that changed one would send it again), so to
//! the detectors a marker is one opaque value, judged already: no trigger
//! inside it starts a scanner (its kind, `secret-assignment`, is not a
//! variable named like a secret), no span that lies inside a marker or cuts
//! one is kept (its colon is not the one of `user:password` after `-u`, nor
//! of `https://user:password@host`), and neither is a value that holds one
//! (`%secret:[REDACTED:…]`, no longer a `%VAR%`, is not the text the
//! earlier pass judged; a private key's block keeps its pieces around it);
//! a name whose value is a marker has been dealt with. Nor is a marker ever
//! part of a type (`token: <type> = x`) or of a program's name, and one
//! glued before a name is part of that name, as the longer word the
//! earlier pass saw there (`structure.rs`, `flags.rs`). What a marker still
//! changes in how its surroundings read, the redactor's next pass over the
//! string finds (`Redactor::clean`).
//!
//! Only the kinds the redactor knows make a marker: a made-up
//! `[REDACTED:<token>]` is text like any other, and its token is found.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;

use super::{Span, covers_region};

/// How every marker starts.
pub(crate) const MARKER_OPEN: &[u8] = b"[REDACTED:";

/// The markers of one text: byte ranges, in order, never overlapping.
#[derive(Debug, Default, Clone)]
pub(crate) struct Markers(Vec<Range<usize>>);

impl Markers {
    /// The markers in `b` whose kind is one of `kinds`.
    pub(crate) fn find(b: &[u8], kinds: &[String]) -> Markers {
        // Every string cleaned is searched, most of them short: the searcher
        // is built once.
        static OPENING: LazyLock<memmem::Finder<'static>> =
            LazyLock::new(|| memmem::Finder::new(MARKER_OPEN));
        let mut starts = OPENING.find_iter(b).peekable();
        if starts.peek().is_none() {
            return Markers::default();
        }
        let mut found = Vec::new();
        // The `]` is looked for no further than the longest kind reaches, so
        // many openings without one stay linear.
        let longest = kinds.iter().map(String::len).max().unwrap_or(0);
        for start in starts {
            if found.last().is_some_and(|m: &Range<usize>| start < m.end) {
                continue;
            }
            let kind_start = start + MARKER_OPEN.len();
            let reach = &b[kind_start..b.len().min(kind_start + longest + 1)];
            let Some(len) = memchr::memchr(b']', reach) else {
                continue;
            };
            let kind = &b[kind_start..kind_start + len];
            if kinds.iter().any(|k| k.as_bytes() == kind) {
                found.push(start..kind_start + len + 1);
            }
        }
        Markers(found)
    }

    /// Does byte `i` lie inside a marker?
    pub(crate) fn contains(&self, i: usize) -> bool {
        let k = self.0.partition_point(|m| m.end <= i);
        self.0.get(k).is_some_and(|m| m.start <= i)
    }

    /// Take out of `spans` what overlaps a marker. A span that covers a
    /// region whatever it holds ([`covers_region`]: a private key's block
    /// runs on past a marker inside it) keeps its pieces around the markers;
    /// any other span is a value judged on text that includes a marker, and
    /// is dropped.
    pub(crate) fn exclude(&self, spans: &mut Vec<Span>) {
        if self.0.is_empty() {
            return;
        }
        let mut pieces = Vec::new();
        spans.retain(|sp| {
            let first = self.0.partition_point(|m| m.end <= sp.start);
            let overlapping = self.0[first..].iter().take_while(|m| m.start < sp.end);
            if overlapping.clone().next().is_none() {
                return true;
            }
            if covers_region(sp.kind) {
                let mut from = sp.start;
                for m in overlapping {
                    if m.start > from {
                        pieces.push(Span {
                            end: m.start,
                            start: from,
                            ..*sp
                        });
                    }
                    from = m.end;
                }
                if sp.end > from {
                    pieces.push(Span { start: from, ..*sp });
                }
            }
            false
        });
        spans.append(&mut pieces);
    }

    /// The marker that ends at `i`, if any.
    pub(crate) fn ending_at(&self, i: usize) -> Option<&Range<usize>> {
        let k = self.0.partition_point(|m| m.end < i);
        self.0.get(k).filter(|m| m.end == i)
    }

    /// Is `r` one marker, exactly?
    pub(crate) fn is_one(&self, r: Range<usize>) -> bool {
        self.0
            .binary_search_by_key(&r.start, |m| m.start)
            .is_ok_and(|k| self.0[k] == r)
    }

    /// Does `r` overlap a marker?
    pub(crate) fn overlap(&self, r: Range<usize>) -> bool {
        let k = self.0.partition_point(|m| m.end <= r.start);
        self.0.get(k).is_some_and(|m| m.start < r.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Vec<String> {
        ["jwt", "secret-assignment"].map(String::from).to_vec()
    }

    fn sp(start: usize, end: usize, kind: u16) -> Span {
        Span {
            start,
            end,
            kind,
            prio: 0,
        }
    }

    #[test]
    fn finds_known_kinds_only() {
        let text = b"a [REDACTED:jwt] b [REDACTED:ghp_x] c [REDACTED:secret-assignment]";
        let m = Markers::find(text, &kinds());
        assert_eq!(m.0, vec![2..16, 38..66]);
        assert!(!m.contains(1) && m.contains(2) && m.contains(15) && !m.contains(16));
        assert!(!m.contains(25));
        assert!(Markers::find(b"[REDACTED:jwt", &kinds()).0.is_empty());
    }

    #[test]
    fn spans_overlapping_a_marker() {
        let m = Markers::find(b"x=[REDACTED:jwt] y [REDACTED:jwt] z", &kinds());
        let value = |s, e| sp(s, e, crate::detect::K_ASSIGN);
        // Inside, cutting, holding: dropped. Before, after, between: kept.
        let mut spans = vec![
            value(3, 8),
            value(12, 18),
            value(0, 18),
            value(0, 2),
            value(16, 18),
        ];
        m.exclude(&mut spans);
        assert_eq!(spans, vec![value(0, 2), value(16, 18)]);
        // A private key's block keeps what lies around the markers.
        let key = |s, e| sp(s, e, crate::detect::K_PRIVATE_KEY);
        let mut spans = vec![key(0, 35), key(5, 19)];
        m.exclude(&mut spans);
        assert_eq!(
            spans,
            vec![key(0, 2), key(16, 19), key(33, 35), key(16, 19)]
        );
    }
}
