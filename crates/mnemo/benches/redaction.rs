//! Redaction benchmark: how much of the secrets corpus
//! (`tests/common/secrets/corpus.rs`) each carrier redacts, per family and
//! per carrier, how many benign look-alikes stay untouched, and what the
//! detectors cost on large realistic outputs.
//!
//! Run: `cargo bench -p mnemo --bench redaction` (add `-- --quick` for fewer
//! timing runs). It sends the corpus through every carrier with this build's
//! `mnemo` (as `tests/secrets.rs` does), then times `Redactor::clean_text` on
//! 1 MiB of a build log, a lockfile, minified JavaScript and a base64 image,
//! twice: scanning the whole text (no field cap) and as hooks run it (the
//! default 16 KiB field cap, which keeps a head and a tail window); last,
//! the median of `mnemo hook` for a typical PostToolUse(Bash) payload.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/secrets/mod.rs"]
mod secrets;
mod support;

use std::time::{Duration, Instant};

use mnemo_privacy::{PrivacyOptions, Redactor};
use secrets::Carrier;
use secrets::corpus::Gen;
use support::{Sample, report, results};

const MIB: usize = 1024 * 1024;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    corpus_figures();
    throughput(if quick { 5 } else { 21 });
    capture_median(if quick { 10 } else { 40 });
    results::save("redaction", if quick { "quick" } else { "full" });
}

/// Recall per carrier and family, benign kept, over the whole corpus.
fn corpus_figures() {
    let items = secrets::corpus();
    let start = Instant::now();
    let results = secrets::run_all(&items, &Carrier::ALL, 2);
    println!(
        "corpus: {} secret items, {} benign, {} carriers, {:.1} s\n",
        items.iter().filter(|i| !i.is_benign()).count(),
        items.iter().filter(|i| i.is_benign()).count(),
        results.len(),
        start.elapsed().as_secs_f64()
    );
    println!("{}", secrets::table(&items, &results));
    for r in &results {
        results::value(
            format!("redacted: {}", r.carrier.name()),
            "share",
            r.recall(),
        );
    }
    let mut redacted_pairs = 0;
    let mut touched_pairs = 0;
    for (family, _, _, kept, total) in secrets::family_figures(&items, &results) {
        if family == secrets::BENIGN {
            touched_pairs = total - kept;
            results::value(
                "benign untouched (all carriers)",
                "share",
                kept as f64 / total as f64,
            );
        } else {
            redacted_pairs += kept;
            results::value(
                format!("redacted: family {family}"),
                "share",
                kept as f64 / total as f64,
            );
        }
    }
    // Of everything replaced by a marker, the share that was a secret.
    let precision = redacted_pairs as f64 / (redacted_pairs + touched_pairs) as f64;
    println!("precision (secret pairs redacted / all pairs redacted): {precision:.4}\n");
    results::value("precision", "share", precision);
    let leaks = secrets::leaks(&items, &results);
    if !leaks.is_empty() {
        println!("leaks and touched look-alikes:\n{leaks}");
    }
}

/// A 1 MiB text of each realistic large kind.
fn large_inputs() -> Vec<(&'static str, String)> {
    let mut g = Gen::new(7);
    let fill = |make: &mut dyn FnMut(usize) -> String| {
        let mut out = String::with_capacity(MIB + 4096);
        let mut n = 0;
        while out.len() < MIB {
            out.push_str(&make(n));
            n += 1;
        }
        out.truncate(MIB);
        out
    };
    let build_log = fill(&mut |n| match n % 4 {
        0 => format!(
            "   Compiling shop-{} v0.{}.{} (/home/dev/shop/crates/part-{n})\n",
            g.lower(6),
            n % 9,
            n % 13
        ),
        1 => format!(
            "warning: unused variable: `token_{n}`\n  --> crates/api/src/handlers/orders.rs:{}:{}\n",
            n % 900,
            n % 80
        ),
        2 => format!(
            "[2026-12-05T10:{:02}:{:02}Z] INFO request_id={} GET /api/v1/orders/{n} 200 {}ms\n",
            n % 60,
            n % 60,
            g.uuid(),
            n % 500
        ),
        _ => format!(
            "npm WARN deprecated {}@{}.{}.0: use the secret-free API instead\n",
            g.lower(8),
            n % 7,
            n % 11
        ),
    });
    let lockfile = fill(&mut |n| {
        format!(
            "    \"node_modules/{0}\": {{\n      \"version\": \"{1}.{2}.0\",\n      \"resolved\": \"https://registry.npmjs.org/{0}/-/{0}-{1}.{2}.0.tgz\",\n      \"integrity\": \"sha512-{3}==\",\n      \"dev\": true\n    }},\n",
            g.lower(10),
            n % 9,
            n % 17,
            g.b64(86)
        )
    });
    let minified = fill(&mut |n| {
        format!(
            "function {0}(e,t,n){{var r=n({n}),o=r.{1}||\"{2}\";return t.exports={{key:o,token:e.{3},apiKey:null}}}}",
            g.alpha(2),
            g.alpha(5),
            g.alnum(12),
            g.alpha(4)
        )
    });
    let image = format!(
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{}",
        secrets::corpus::base64(&g.bytes(MIB * 3 / 4))
    );
    vec![
        ("build log", build_log),
        ("lockfile", lockfile),
        ("minified JS", minified),
        ("base64 image", image[..MIB].to_string()),
    ]
}

/// Median µs per MiB of `clean_text`, whole text and as capped in hooks.
fn throughput(runs: usize) {
    let whole = Redactor::new(&PrivacyOptions {
        max_field_bytes: 2 * MIB,
        max_event_bytes: 4 * MIB,
        ..PrivacyOptions::default()
    })
    .expect("redactor");
    let capped = Redactor::new(&PrivacyOptions::default()).expect("redactor");
    println!(
        "{:<16} {:>22} {:>22}",
        "1 MiB of", "whole text µs/MiB", "hook cap µs/MiB"
    );
    for (name, text) in large_inputs() {
        let time = |redactor: &Redactor| {
            let mut samples: Vec<Duration> = (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(redactor.clean_text(std::hint::black_box(&text)));
                    start.elapsed()
                })
                .collect();
            samples.sort();
            support::percentile(&samples, 0.5).as_secs_f64() * 1e6 * MIB as f64 / text.len() as f64
        };
        let (full, cap) = (time(&whole), time(&capped));
        println!("{name:<16} {full:>22.0} {cap:>22.0}");
        results::value(format!("clean_text, whole {name}"), "µs/MiB", full);
        results::value(format!("clean_text, capped {name}"), "µs/MiB", cap);
    }
    println!();
}

/// `mnemo hook` for a typical PostToolUse(Bash) event, as Claude Code spawns it.
fn capture_median(runs: usize) {
    let env = common::Env::new();
    let mut payload = env.fixture("post_tool_use__bash");
    let mut samples: Vec<Sample> = Vec::with_capacity(runs);
    for n in 0..runs {
        payload["tool_use_id"] = serde_json::json!(format!("toolu_bench_{n}"));
        let mut command = env.command(&["hook"]);
        let (sample, _) = support::spawn_hook(&mut command, payload.to_string().as_bytes());
        samples.push(sample);
    }
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "ms", "median", "p95", "min", "max", "RSS MiB", "peak MiB"
    );
    report("hook PostToolUse Bash", &samples);
}
