//! Rendering redactions and cutting long strings to head + tail.

use std::borrow::Cow;

use crate::detect::Span;

/// Extra bytes redacted on the inner side of each kept window, so that a
/// secret straddling the cut point is seen whole by the detectors; this
/// margin itself is never emitted.
pub(crate) const MARGIN: usize = 4096;

/// Room kept for the cut marker (`\n…[mnemo: N bytes cut]…\n` is at most 47 bytes).
const MARKER_RESERVE: usize = 48;

/// The smallest per-field cap honoured (a cut marker must fit).
pub(crate) const MIN_FIELD_CAP: usize = 64;

/// The marker put where bytes were cut.
pub(crate) fn cut_marker(cut: usize) -> String {
    format!("\n…[mnemo: {cut} bytes cut]…\n")
}

/// Head and tail byte budgets for a cap: about 3/4 and 1/4 of what is left
/// after the marker.
pub(crate) fn budgets(cap: usize) -> (usize, usize) {
    let avail = cap.max(MIN_FIELD_CAP).saturating_sub(MARKER_RESERVE);
    let head = avail * 3 / 4;
    (head, avail - head)
}

/// The largest char boundary `<= i`.
pub(crate) fn floor_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary `>= i`.
pub(crate) fn ceil_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Sort spans and merge overlaps into their union; the most specific kind
/// (lowest priority number) names the merged span. Spans are widened to
/// char boundaries.
pub(crate) fn merge(s: &str, spans: &mut Vec<Span>) {
    if spans.is_empty() {
        return;
    }
    for sp in spans.iter_mut() {
        sp.start = floor_boundary(s, sp.start);
        sp.end = ceil_boundary(s, sp.end);
    }
    spans.sort_unstable_by_key(|sp| (sp.start, sp.prio, std::cmp::Reverse(sp.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for sp in spans.drain(..) {
        match merged.last_mut() {
            Some(last) if sp.start < last.end => {
                last.end = last.end.max(sp.end);
                if sp.prio < last.prio {
                    last.prio = sp.prio;
                    last.kind = sp.kind;
                }
            }
            _ => merged.push(sp),
        }
    }
    *spans = merged;
}

/// Replace every span of `s` with its marker. `emit` is told each kind used.
pub(crate) fn render_all(
    s: &str,
    spans: &[Span],
    markers: &[String],
    emit: &mut dyn FnMut(u16),
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for sp in spans {
        out.push_str(&s[pos..sp.start]);
        out.push_str(&markers[usize::from(sp.kind)]);
        emit(sp.kind);
        pos = sp.end;
    }
    out.push_str(&s[pos..]);
    out
}

/// Render the head of window `w` into at most `budget` bytes, never emitting
/// raw text at or past `safe_end`. Returns the text and how many input bytes
/// it stands for.
pub(crate) fn render_head(
    w: &str,
    spans: &[Span],
    budget: usize,
    safe_end: usize,
    markers: &[String],
    emit: &mut dyn FnMut(u16),
) -> (String, usize) {
    let mut out = String::with_capacity(budget);
    let mut pos = 0;
    for sp in spans {
        if sp.start >= safe_end {
            break;
        }
        let lit = &w[pos..sp.start];
        let room = budget - out.len();
        if lit.len() > room {
            let k = floor_boundary(lit, room);
            out.push_str(&lit[..k]);
            return (out, pos + k);
        }
        out.push_str(lit);
        pos = sp.start;
        let m = markers[usize::from(sp.kind)].as_str();
        if out.len() + m.len() > budget {
            return (out, pos);
        }
        out.push_str(m);
        emit(sp.kind);
        pos = sp.end;
    }
    if pos < safe_end {
        let lit = &w[pos..safe_end];
        let room = budget - out.len();
        let k = floor_boundary(lit, room);
        out.push_str(&lit[..k]);
        pos += k;
    }
    (out, pos)
}

/// Render the tail of window `w` into at most `budget` bytes, never emitting
/// raw text before `safe_start`. Returns the text and the input index where
/// it starts.
pub(crate) fn render_tail(
    w: &str,
    spans: &[Span],
    budget: usize,
    safe_start: usize,
    markers: &[String],
    emit: &mut dyn FnMut(u16),
) -> (String, usize) {
    let mut pieces: Vec<&str> = Vec::new();
    let mut used = 0;
    let mut pos = w.len();
    let mut done = false;
    for sp in spans.iter().rev() {
        if sp.end <= safe_start {
            break;
        }
        let lit = &w[sp.end..pos];
        let room = budget - used;
        if lit.len() > room {
            let k = ceil_boundary(lit, lit.len() - room);
            pieces.push(&lit[k..]);
            pos = sp.end + k;
            done = true;
            break;
        }
        pieces.push(lit);
        used += lit.len();
        pos = sp.end;
        let m = markers[usize::from(sp.kind)].as_str();
        if used + m.len() > budget {
            done = true;
            break;
        }
        pieces.push(m);
        emit(sp.kind);
        used += m.len();
        pos = sp.start;
    }
    if !done && pos > safe_start {
        let lit = &w[safe_start..pos];
        let room = budget - used;
        let k = ceil_boundary(lit, lit.len().saturating_sub(room));
        pieces.push(&lit[k..]);
        pos = safe_start + k;
    }
    let mut out = String::with_capacity(used + 16);
    for p in pieces.iter().rev() {
        out.push_str(p);
    }
    (out, pos)
}

/// Cut an already clean string to `cap` bytes: head, marker, tail. Returns
/// `None` when it fits.
pub(crate) fn cap_plain(s: &str, cap: usize) -> Option<(String, usize)> {
    if s.len() <= cap {
        return None;
    }
    let (hb, tb) = budgets(cap);
    let h = floor_boundary(s, hb);
    let t = ceil_boundary(s, s.len() - tb);
    let cut = t - h;
    let marker = cut_marker(cut);
    let mut out = String::with_capacity(h + marker.len() + s.len() - t);
    out.push_str(&s[..h]);
    out.push_str(&marker);
    out.push_str(&s[t..]);
    Some((out, cut))
}

/// [`cap_plain`] on a `Cow`, adding the cut to `bytes_cut`.
pub(crate) fn cap_cow<'a>(s: Cow<'a, str>, cap: usize, bytes_cut: &mut usize) -> Cow<'a, str> {
    match cap_plain(&s, cap) {
        Some((out, cut)) => {
            *bytes_cut += cut;
            Cow::Owned(out)
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        let s = "a😀b";
        assert_eq!(floor_boundary(s, 2), 1);
        assert_eq!(ceil_boundary(s, 2), 5);
        assert_eq!(floor_boundary(s, 99), s.len());
    }

    #[test]
    fn plain_cap_utf8() {
        let s = "日本語🎉".repeat(1000);
        let (out, cut) = cap_plain(&s, 1000).unwrap();
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.contains(&format!("[mnemo: {cut} bytes cut]")));
        assert!(cap_plain("short", 1000).is_none());
    }

    #[test]
    fn merge_prefers_specific() {
        let s = "0123456789";
        let mut v = vec![
            Span {
                start: 2,
                end: 8,
                kind: 7,
                prio: 5,
            },
            Span {
                start: 2,
                end: 6,
                kind: 3,
                prio: 1,
            },
            Span {
                start: 9,
                end: 10,
                kind: 1,
                prio: 1,
            },
        ];
        merge(s, &mut v);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].start, v[0].end, v[0].kind), (2, 8, 3));
    }
}
