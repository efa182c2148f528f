//! Crate-level tests. Secret-looking strings are built at run time from
//! pieces and a tiny deterministic generator, so no literal secret sits in
//! the source for repository scanners to flag.

mod benign;
mod corpus;
mod events;
mod idempotence;
mod negative;
mod providers;
mod sessions;
mod sizes;
mod structure;

use crate::{PrivacyOptions, Redactor};

pub(crate) fn redactor() -> Redactor {
    Redactor::new(&PrivacyOptions::default()).unwrap()
}

/// Deterministic pseudo-random text over `alphabet`.
pub(crate) fn gen_from(alphabet: &str, n: usize, seed: u64) -> String {
    let a = alphabet.as_bytes();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[(x % a.len() as u64) as usize] as char
        })
        .collect()
}

pub(crate) const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` alphanumerics mixing upper, lower and digits (the first three are
/// forced so short strings qualify too).
pub(crate) fn alnum(n: usize, seed: u64) -> String {
    let mut s = String::from("Q7k");
    s.push_str(&gen_from(ALNUM, n.saturating_sub(3), seed));
    s.truncate(n);
    s
}

/// Assert that `secret` is gone from `out`, no long piece of it survives,
/// and `kind`'s marker is there.
#[track_caller]
pub(crate) fn assert_redacted(input: &str, out: &str, secret: &str, kind: &str) {
    assert!(
        !out.contains(secret),
        "secret survived ({kind}):\n input: {input}\n output: {out}"
    );
    if secret.len() >= 16 && secret.is_ascii() {
        for i in 0..=secret.len() - 12 {
            let piece = &secret[i..i + 12];
            assert!(
                !out.contains(piece),
                "a piece of the secret survived ({kind}): {piece}\n input: {input}\n output: {out}"
            );
        }
    }
    let marker = format!("[REDACTED:{kind}]");
    assert!(
        out.contains(&marker),
        "missing {marker}:\n input: {input}\n output: {out}"
    );
}
