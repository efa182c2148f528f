//! Secrets wrapped in base64: decoded *for the check only*, and the encoded
//! span redacted when what it decodes to holds a secret (a kubeconfig's
//! `client-key-data`, a docker config's `"auth"`, a base64 service-account
//! JSON, a Kubernetes Secret's `data:`).

use super::*;

/// Shortest run worth decoding: 16 characters are 12 bytes (`user:pass`).
const MIN_RUN: usize = 16;
/// Only this much of a run is decoded: enough to see a secret near the
/// start of a wrapped file, bounded on megabyte blobs.
const MAX_DECODE: usize = 8192;

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Decode base64 (either alphabet, padding optional, trailing partial
/// group dropped). `None` when a byte is outside the alphabet.
pub(super) fn decode_b64(s: &[u8]) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn is_b64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')
}

/// Text worth scanning: printable ASCII and line breaks only.
fn is_text(d: &[u8]) -> bool {
    d.iter()
        .all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t'))
}

/// `user:password` with nothing else: a docker `auth`, a Basic header.
fn is_credential_pair(d: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', d) else {
        return false;
    };
    let (user, pw) = (&d[..colon], &d[colon + 1..]);
    !user.is_empty()
        && user.len() <= 128
        && user
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._-@+$".contains(&c))
        && pw.len() >= 4
        && !d.iter().any(|c| c.is_ascii_whitespace())
        // `https://…` decoded is a URL, not a pair.
        && !pw.starts_with(b"//")
}

/// Spans of base64 runs in `b` whose decoded text holds a secret. The kind
/// is the one found inside; a bare `user:password` pair is `basic-auth`.
pub(crate) fn encoded_spans(b: &[u8], kinds: &[String], out: &mut Vec<Span>) {
    let mut i = 0;
    while i < b.len() {
        if !is_b64_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let r = run(b, i, is_b64_char);
        let mut end = start + r;
        i = end;
        if r < MIN_RUN {
            continue;
        }
        end += run(b, end, |c| c == b'=').min(2);
        if let Some(kind) = decoded_secret(&b[start..end], kinds) {
            out.push(span(start, end, kind, P_SPECIFIC));
        }
    }
}

/// The kind of secret that the base64 run `run` decodes to, if any.
fn decoded_secret(run: &[u8], kinds: &[String]) -> Option<u16> {
    // Plain words and identifiers are not base64 of anything readable; a
    // cheap look at the first group rules most of them out.
    let head = decode_b64(&run[..run.len().min(32)])?;
    if !is_text(&head) {
        return None;
    }
    let take = run.len().min(MAX_DECODE) & !3;
    let decoded = decode_b64(&run[..take.max(4).min(run.len())])?;
    if !is_text(&decoded) {
        return None;
    }
    if is_credential_pair(&decoded) {
        return Some(K_BASIC);
    }
    let text = std::str::from_utf8(&decoded).ok()?;
    let mut inner = Vec::new();
    scan_plain(text, Markers::find(&decoded, kinds), &mut inner);
    inner.iter().min_by_key(|sp| sp.prio).map(|sp| sp.kind)
}
