//! Secrets split across pieces of text: string concatenation
//! (`"abc" + "def"`, Python's implicit `"abc" "def"`), a shell `\`
//! continuation, a token folded over several lines. The pieces are joined
//! in a copy of the text around each join, the detectors run on the copy,
//! and what they find *across* a join is mapped back to the original bytes.

use super::*;
use crate::cap;
use memchr::memmem;

/// Text looked at on each side of a join.
const REACH: usize = 512;
/// A folded line must end with at least this many token bytes.
const FOLD_MIN: usize = 16;

/// A piece of text removed when joining.
#[derive(Clone, Copy)]
struct Join {
    start: usize,
    end: usize,
    /// A line fold (not an explicit join): only specific kinds may cross it,
    /// since two lines of ordinary text also meet this way.
    fold: bool,
}

/// Find the joins of `b`.
fn joins(b: &[u8]) -> Vec<Join> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') if i > 0 && b[i - 1] != b'\\' && b[i - 1] != q => {
                // A closing quote, blanks, an optional `+` or `.`, an opening
                // quote of the same kind, with something in between.
                let mut j = skip_space_lines(b, i + 1);
                let operator = matches!(b.get(j), Some(b'+' | b'.'));
                if operator {
                    j = skip_space_lines(b, j + 1);
                }
                if j > i + 1
                    && b.get(j) == Some(&q)
                    && b.get(j + 1).is_some_and(|&c| c != q)
                    && (operator || implicit_concatenation(b, i, j, q))
                {
                    out.push(Join {
                        start: i,
                        end: j + 1,
                        fold: false,
                    });
                    i = j + 1;
                    continue;
                }
            }
            b'\\' if matches!(b.get(i + 1), Some(b'\n')) => {
                let next = i + 2 + line_prefix_len(b, i + 2);
                let end = next + run(b, next, |c| c == b' ' || c == b'\t');
                out.push(Join {
                    start: i,
                    end,
                    fold: false,
                });
                i = end;
                continue;
            }
            b'\n' => {
                let line_end = if i > 0 && b[i - 1] == b'\r' { i - 1 } else { i };
                let tail = b[..line_end]
                    .iter()
                    .rev()
                    .take_while(|&&c| b64url(c) || c == b'.')
                    .count();
                let next = i + 1 + line_prefix_len(b, i + 1);
                let end = next + run(b, next, |c| c == b' ' || c == b'\t');
                // Both lines hold nothing but the pieces: a token ending a
                // line of other text is complete, and the next line's first
                // word is not its continuation.
                let ls = line_start(b, line_end);
                let ls = ls + line_prefix_len(b, ls);
                let own = &b[ls.min(line_end)..line_end];
                let prev_pure = own.trim_ascii_start().len() == tail;
                let piece = run(b, end, |c| b64url(c) || c == b'.');
                let next_pure = matches!(b.get(end + piece), None | Some(b'\n' | b'\r'));
                if tail >= FOLD_MIN && piece > 0 && prev_pure && next_pure {
                    out.push(Join {
                        start: line_end,
                        end,
                        fold: true,
                    });
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether two string literals that meet with only blanks between them
/// (a closing quote at `close`, an opening one at `open`) are one string
/// written in two pieces: not when a blank line parts them (two separate
/// values), nor when the second is a key (`"a"` then `"b": …` in JSON or
/// YAML).
fn implicit_concatenation(b: &[u8], close: usize, open: usize, quote: u8) -> bool {
    let gap = &b[close + 1..open];
    if memmem::find(gap, b"\n\n").is_some() || memmem::find(gap, b"\n\r\n").is_some() {
        return false;
    }
    let line = &b[open + 1..line_end(b, open + 1)];
    let Some(end) = line.iter().position(|&c| c == quote) else {
        return true;
    };
    line[end + 1..].trim_ascii_start().first() != Some(&b':')
}

/// Spans found in the joined text that cross a join, in original offsets.
pub(super) fn joined_spans(s: &str, kinds: &[String], out: &mut Vec<Span>) {
    let b = s.as_bytes();
    let all = joins(b);
    let mut k = 0;
    while k < all.len() {
        // Joins close together share one region.
        let first = k;
        while k + 1 < all.len() && all[k + 1].start <= all[k].end + 2 * REACH {
            k += 1;
        }
        let group = &all[first..=k];
        k += 1;
        let lo = cap::floor_boundary(s, group[0].start.saturating_sub(REACH));
        let hi = cap::ceil_boundary(s, group[group.len() - 1].end + REACH);
        region(s, lo, hi, group, kinds, out);
    }
}

/// Join the pieces of `s[lo..hi]`, detect, map back.
fn region(s: &str, lo: usize, hi: usize, group: &[Join], kinds: &[String], out: &mut Vec<Span>) {
    // (offset in the joined text, offset in `s`) at the start of each piece.
    let mut pieces: Vec<(usize, usize)> = Vec::with_capacity(group.len() + 1);
    let mut text = String::with_capacity(hi - lo);
    let mut pos = lo;
    for j in group {
        pieces.push((text.len(), pos));
        text.push_str(&s[pos..j.start]);
        pos = j.end;
    }
    pieces.push((text.len(), pos));
    text.push_str(&s[pos..hi]);

    let to_orig = |jpos: usize| {
        let p = pieces.partition_point(|&(jp, _)| jp <= jpos) - 1;
        pieces[p].1 + (jpos - pieces[p].0)
    };
    let mut found = Vec::new();
    scan_plain(&text, Markers::find(text.as_bytes(), kinds), &mut found);
    encoded::encoded_spans(text.as_bytes(), kinds, &mut found);
    for sp in found {
        if sp.start >= sp.end {
            continue;
        }
        let start = to_orig(sp.start);
        let end = to_orig(sp.end - 1) + 1;
        let crossed = group.iter().filter(|j| start <= j.start && j.end <= end);
        let mut any = false;
        let mut only_folds = true;
        for j in crossed {
            any = true;
            only_folds &= j.fold;
        }
        if any && (!only_folds || sp.prio <= P_SPECIFIC) {
            out.push(span(start, end, sp.kind, sp.prio));
        }
    }
}
