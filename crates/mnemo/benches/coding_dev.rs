//! Coding-session memory quality: replays the development set of
//! `../shared/eval/coding-dev` (realistic Claude Code sessions sent as hook
//! input, questions about the past work, about 2,000 real distractor
//! memories per project) into this build's `mnemo` with the set's own
//! runner, and records search@1/3/5, injected recall, quiet negatives and
//! injected tokens, without and with the distractors.
//!
//! Two replays: as Claude Code would have sent the events (dated by the
//! clock at replay), and dated by the events' own times
//! (`MNEMO_EVENT_TIME`, what a live session gets). Skips with a message
//! when the set or `python3` is absent.
//!
//! Run: `cargo bench -p mnemo --bench coding_dev`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use support::results;

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// The figures of one replay's summary (`summary_with` or `summary_without`).
fn record(label: &str, summary: &Value) {
    for (key, name) in [
        ("search_at_1", "search@1"),
        ("search_at_3", "search@3"),
        ("search_at_5", "search@5"),
        ("inject_recall", "injected recall"),
    ] {
        if let Some(v) = summary[key].as_f64() {
            println!("{label:<34} {name:<16} {v:.3}");
            results::value(format!("{label}: {name}"), "share", v);
        }
    }
    // "3/4": how many of the questions about work never done got nothing.
    if let Some((quiet, _)) = summary["negatives_quiet"]
        .as_str()
        .and_then(|s| s.split_once('/'))
        && let Ok(quiet) = quiet.parse::<f64>()
    {
        println!("{label:<34} negatives quiet  {quiet}");
        results::value(format!("{label}: negatives quiet"), "of 4", quiet);
    }
    if let Some(tokens) = summary["inject_tokens_mean"].as_f64() {
        println!("{label:<34} injected tokens  {tokens:.0}");
        results::value(format!("{label}: mean injected tokens"), "tokens", tokens);
    }
}

fn main() {
    let set = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/coding-dev");
    let runner = set.join("run.py");
    if !runner.is_file() {
        println!("skipped: {} not found", runner.display());
        return;
    }
    let out = std::env::temp_dir().join(format!("mnemo-coding-dev-{}.json", std::process::id()));
    for (label, extra) in [
        ("replayed now", &[][..]),
        ("dated by event", &["--ts-env", "MNEMO_EVENT_TIME"][..]),
    ] {
        let started = Instant::now();
        let status = Command::new("python3")
            .arg(&runner)
            .arg(BIN)
            .arg("--json")
            .arg(&out)
            .args(extra)
            .stdout(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                println!("skipped: the set's runner failed ({s})");
                return;
            }
            Err(e) => {
                println!("skipped: cannot run python3: {e}");
                return;
            }
        }
        let doc: Value = std::fs::read(&out)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        println!(
            "{label}: replayed and scored in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        record(&format!("{label}, no distractors"), &doc["summary_without"]);
        record(&format!("{label}, 6,000 distractors"), &doc["summary_with"]);
    }
    results::save("coding-dev", "../shared/eval/coding-dev");
}
