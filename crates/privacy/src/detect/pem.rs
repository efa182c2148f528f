//! PEM / PGP private key blocks.

use memchr::memmem;

use super::*;

/// Find PEM / PGP private key blocks.
///
/// `-----BEGIN <label>-----` where the label contains `PRIVATE KEY` starts a
/// block, provided key material follows (base64, or `Proc-Type:`-style
/// headers), so that a PEM parser's source code mentioning the marker as a
/// string literal is not eaten. The block runs to the matching
/// `-----END ...PRIVATE KEY...-----`, or to the end of the string when there
/// is none. An `END` line with no `BEGIN` before it (the start was cut off)
/// redacts from the start of the string.
pub(super) fn private_keys(b: &[u8], out: &mut Vec<Span>) {
    let begin = memmem::Finder::new(b"-----BEGIN ");
    let end = memmem::Finder::new(b"-----END ");
    // Each search result stays valid until `pos` passes it, so no part of
    // the string is searched twice for the same marker.
    let mut begin_cache: Option<Option<(usize, usize)>> = None;
    let mut end_cache: Option<Option<(usize, usize)>> = None;
    let mut pos = 0;
    loop {
        let next_begin = cached_marker(b, pos, &begin, &mut begin_cache);
        let next_end = cached_marker(b, pos, &end, &mut end_cache);
        match (next_begin, next_end) {
            (_, Some((e, e_end))) if next_begin.is_none_or(|(s, _)| e < s) => {
                // Orphan END: the key started before this string (or window).
                if material_before(b, e) {
                    out.push(key_span(pos, e_end));
                }
                pos = e_end;
            }
            (Some((s, s_end)), _) => {
                if !material_after(b, s_end) {
                    pos = s_end;
                    continue;
                }
                let stop =
                    cached_marker(b, s_end, &end, &mut end_cache).map_or(b.len(), |(_, e)| e);
                out.push(key_span(s, stop));
                pos = stop;
            }
            _ => return,
        }
        if pos >= b.len() {
            return;
        }
    }
}

/// [`next_private_marker`] from `pos`, reusing an earlier result that is
/// still ahead of `pos` (or an earlier "none").
fn cached_marker(
    b: &[u8],
    pos: usize,
    finder: &memmem::Finder<'_>,
    cache: &mut Option<Option<(usize, usize)>>,
) -> Option<(usize, usize)> {
    match *cache {
        Some(None) => None,
        Some(Some(m)) if m.0 >= pos => Some(m),
        _ => {
            let m = next_private_marker(b, pos, finder);
            *cache = Some(m);
            m
        }
    }
}

fn key_span(start: usize, end: usize) -> Span {
    Span {
        start,
        end,
        kind: K_PRIVATE_KEY,
        prio: 0,
    }
}

/// The next `-----BEGIN/END <label>-----` at or after `from` whose label
/// names a private key: (start, index past the closing dashes).
fn next_private_marker(
    b: &[u8],
    mut from: usize,
    finder: &memmem::Finder<'_>,
) -> Option<(usize, usize)> {
    while from < b.len() {
        let at = from + finder.find(&b[from..])?;
        let label_start = at + finder.needle().len();
        let window = &b[label_start..b.len().min(label_start + 80)];
        if let Some(close) = memmem::find(window, b"-----") {
            let label = &window[..close];
            if !label.contains(&b'\n') && memmem::find(label, b"PRIVATE KEY").is_some() {
                return Some((at, label_start + close + 5));
            }
        }
        from = label_start;
    }
    None
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Skip whitespace, quotes and literal `\n` / `\r` escapes.
fn skip_gap(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\n' => i += 1 + line_prefix_len(b, i + 1),
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if matches!(b.get(i + 1), Some(b'n' | b'r')) => i += 2,
            _ => break,
        }
    }
    i
}

/// Does key material follow a BEGIN marker that ends at `i`?
fn material_after(b: &[u8], i: usize) -> bool {
    let i = skip_gap(b, i);
    let run = b[i..].iter().take_while(|&&c| is_b64(c)).count();
    if run >= 16 {
        return true;
    }
    // Armor headers: `Proc-Type: 4,ENCRYPTED`, `Version: ...`, `Comment: ...`.
    let word = b[i..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-')
        .count();
    word > 0 && b.get(i + word) == Some(&b':')
}

/// Does key material precede an END marker at `i`?
fn material_before(b: &[u8], i: usize) -> bool {
    let mut j = i;
    loop {
        while j > 0 && matches!(b[j - 1], b' ' | b'\t' | b'\r' | b'\n') {
            j -= 1;
        }
        if j >= 2 && b[j - 2] == b'\\' && matches!(b[j - 1], b'n' | b'r') {
            j -= 2;
            continue;
        }
        break;
    }
    b[..j].iter().rev().take_while(|&&c| is_b64(c)).count() >= 16
}
