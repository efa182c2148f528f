//! Every benchmark's headline figures, saved as JSON so that one command
//! (`scripts/bench.sh`) can print them all as one table (`--bench summary`).
//!
//! A benchmark [`add`]s rows as it measures (the shared [`report`](super::report)
//! does so for whole-process timings) and calls [`save`] at the end, which
//! writes `<results dir>/<bench>.json`: `$MNEMO_BENCH_RESULTS`, or
//! `target/bench-results` in the workspace.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

/// One figure: a median with its p95 and peak RSS where they apply.
pub struct Row {
    pub name: String,
    pub unit: &'static str,
    pub value: f64,
    pub p95: Option<f64>,
    pub peak_rss_mib: Option<f64>,
}

static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());

/// Where results are written and read.
pub fn dir() -> PathBuf {
    std::env::var_os("MNEMO_BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results")
        })
}

/// Record a figure.
pub fn add(row: Row) {
    ROWS.lock().expect("results").push(row);
}

/// Record the median and p95 of `sorted` timings, in ms.
pub fn timings(name: &str, sorted: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    add(Row {
        name: name.to_string(),
        unit: "ms",
        value: ms(super::percentile(sorted, 0.5)),
        p95: Some(ms(super::percentile(sorted, 0.95))),
        peak_rss_mib: None,
    });
}

/// Record a plain value (a throughput, a ratio, a recall).
pub fn value(name: impl Into<String>, unit: &'static str, value: f64) {
    add(Row {
        name: name.into(),
        unit,
        value,
        p95: None,
        peak_rss_mib: None,
    });
}

/// Write what was recorded as `<dir>/<bench>.json`, with the setting it ran
/// in (e.g. the store size), replacing the previous run's file.
pub fn save(bench: &str, setting: &str) {
    let rows: Vec<Value> = ROWS
        .lock()
        .expect("results")
        .iter()
        .map(|r| {
            json!({"name": r.name, "unit": r.unit, "value": r.value,
                   "p95": r.p95, "peak_rss_mib": r.peak_rss_mib})
        })
        .collect();
    let dir = dir();
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let doc = json!({"bench": bench, "setting": setting, "rows": rows});
        std::fs::write(dir.join(format!("{bench}.json")), format!("{doc:#}\n"))
    });
    match written {
        Ok(()) => println!(
            "\nresults saved to {}",
            dir.join(format!("{bench}.json")).display()
        ),
        Err(e) => println!("\ncannot save results in {}: {e}", dir.display()),
    }
}
