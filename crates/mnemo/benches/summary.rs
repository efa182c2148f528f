//! The one table: every benchmark's saved figures (see
//! `support/results.rs`), printed as Markdown. `scripts/bench.sh` runs the
//! benchmarks and then this; on its own it prints whatever was saved last.
//!
//! Run: `cargo bench -p mnemo --bench summary`.

mod support;

use serde_json::Value;
use support::results;

/// Sections in the order a reader wants them; anything else saved follows.
const ORDER: [&str; 15] = [
    "capture",
    "hook-cost",
    "compress",
    "transfer",
    "redaction",
    "retrieve-10k",
    "retrieve-100k",
    "retrieve-1m",
    "serve",
    "scale-100k",
    "scale-1m",
    "locomo",
    "locomo-cli",
    "coding-dev",
    "versus",
];

fn main() {
    let dir = results::dir();
    let mut saved: Vec<(usize, String, Value)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let bench = path.file_stem()?.to_str()?.to_string();
            (path.extension()? == "json").then_some(())?;
            let doc = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            let rank = ORDER
                .iter()
                .position(|o| *o == bench)
                .unwrap_or(ORDER.len());
            Some((rank, bench, doc))
        })
        .collect();
    if saved.is_empty() {
        println!("no results in {} yet: run scripts/bench.sh", dir.display());
        return;
    }
    saved.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (_, bench, doc) in saved {
        let setting = doc["setting"].as_str().unwrap_or("");
        println!("\n### {bench} ({setting})\n");
        let rows = doc["rows"].as_array().cloned().unwrap_or_default();
        if bench == "versus" {
            versus_table(&rows);
        } else {
            table(&rows);
        }
    }
}

fn number(v: &Value) -> String {
    match v.as_f64() {
        None => String::new(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn table(rows: &[Value]) {
    println!("| figure | value (median) | p95 | peak RSS MiB | unit |");
    println!("|---|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r["name"].as_str().unwrap_or("?"),
            number(&r["value"]),
            number(&r["p95"]),
            number(&r["peak_rss_mib"]),
            r["unit"].as_str().unwrap_or("")
        );
    }
}

/// The side-by-side run saves both systems' figures and their ratio.
fn versus_table(rows: &[Value]) {
    println!("| figure | unit | claude-mem | mnemo | claude-mem ÷ mnemo |");
    println!("|---|---|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r["name"].as_str().unwrap_or("?"),
            r["unit"].as_str().unwrap_or(""),
            number(&r["claude_mem"]),
            number(&r["mnemo"]),
            number(&r["ratio"])
        );
    }
}
