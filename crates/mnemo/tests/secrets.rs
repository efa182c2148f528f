//! The secrets corpus (`common/secrets/corpus.rs`) through every way text
//! reaches mnemo, by the real binary: at least 99 % of the secrets are
//! redacted on each carrier, and at least 97 % of the benign look-alikes
//! are kept untouched. A failure lists every leak by kind and carrier.
//!
//! `MNEMO_LEAKS_FILE=path` also writes that list (values masked) to a file;
//! `MNEMO_CORPUS_CARRIERS=Read` runs only the carriers whose name contains
//! that text.

#[path = "common/secrets/mod.rs"]
pub(crate) mod secret_corpus;

use std::collections::HashSet;

use secret_corpus::{Carrier, corpus};

#[test]
fn the_corpus_is_large_varied_and_unambiguous() {
    let items = corpus();
    let secret: Vec<_> = items.iter().filter(|i| !i.is_benign()).collect();
    let benign = items.len() - secret.len();
    let kinds: HashSet<&str> = secret.iter().map(|i| i.kind).collect();
    assert!(secret.len() >= 150, "{} secret items", secret.len());
    assert!(kinds.len() >= 90, "{} kinds", kinds.len());
    assert!(benign >= 40, "{benign} benign items");
    for family in secret_corpus::FAMILIES {
        assert!(
            secret.iter().filter(|i| i.family == *family).count() >= 4,
            "family {family} has too few items"
        );
    }
    // Every value is distinct, so a value found names its item.
    let mut seen = HashSet::new();
    for item in &items {
        for v in &item.values {
            assert!(seen.insert(v.as_str()), "{}: value repeated", item.kind);
        }
    }
}

#[test]
fn every_carrier_redacts_the_corpus() {
    let items = corpus();
    let only = std::env::var("MNEMO_CORPUS_CARRIERS").unwrap_or_default();
    let carriers: Vec<Carrier> = Carrier::ALL
        .into_iter()
        .filter(|c| c.name().contains(only.as_str()))
        .collect();
    let results = secret_corpus::run_all(&items, &carriers, 2);
    let table = secret_corpus::table(&items, &results);
    let leaks = secret_corpus::leaks(&items, &results);
    eprintln!("{table}\n{leaks}");
    if let Ok(path) = std::env::var("MNEMO_LEAKS_FILE") {
        secret_corpus::write_file(std::path::Path::new(&path), &format!("{table}\n{leaks}"));
    }
    let failing: Vec<String> = results
        .iter()
        .filter(|r| r.recall() < 0.99 || r.benign_kept() < 0.97)
        .map(|r| {
            format!(
                "{}: {:.1}% redacted, {:.1}% of benign kept",
                r.carrier.name(),
                100.0 * r.recall(),
                100.0 * r.benign_kept()
            )
        })
        .collect();
    assert!(
        failing.is_empty(),
        "below target (99% redacted, 97% benign kept):\n{}\n\nleaks:\n{leaks}",
        failing.join("\n")
    );
}
