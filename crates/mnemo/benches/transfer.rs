//! Export and import throughput: `mnemo export` of a large store, `mnemo
//! import` of that file into an empty data directory and again into the
//! same one (everything already present), each as its own process, with
//! wall time and peak memory. The restored store is exported again and
//! must match the original record for record.
//!
//! Run: `cargo bench -p mnemo --bench transfer` (100,000 observations with
//! 20,000 prompts and 200,000 tool events; add `-- --quick` for a tenth of
//! that: the peak memory should not grow with the store).

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use mnemo_store::{HookRecord, PromptText, Store, StoreOptions};
use support::corpus;
use support::{Sample, results, spawn_once};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// Prompts per session, observations per prompt, tool events per prompt.
const PROMPTS_PER_SESSION: usize = 10;
const OBSERVATIONS_PER_PROMPT: usize = 5;
const EVENTS_PER_PROMPT: usize = 10;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let count = if quick { 10_000 } else { 100_000 };
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    corpus::seed(&home, count);
    let events = add_sessions(&home, count / OBSERVATIONS_PER_PROMPT);

    let file = tmp.path().join("export.jsonl");
    let export = run(
        &home,
        &[
            "export",
            "--all-projects",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::metadata(&file).expect("export").len();
    // Counted, not kept: a child's peak memory includes its parent's until
    // it execs, so this process must stay small while it spawns mnemo.
    let lines = BufReader::new(File::open(&file).expect("export"))
        .lines()
        .count()
        - 1;
    println!(
        "archive: {lines} records ({count} observations, {events} events), {:.0} MiB\n",
        bytes as f64 / 1048576.0
    );
    println!(
        "{:<44} {:>8} {:>12} {:>9} {:>9}",
        "", "seconds", "records/s", "MiB/s", "peak MiB"
    );
    let line = |label: &str, s: &Sample| {
        let secs = s.wall.as_secs_f64();
        println!(
            "{label:<44} {secs:>8.1} {:>12.0} {:>9.1} {:>9.1}",
            lines as f64 / secs,
            bytes as f64 / 1048576.0 / secs,
            s.max_rss_kib as f64 / 1024.0
        );
        results::add(results::Row {
            name: label.to_string(),
            unit: "records/s",
            value: lines as f64 / secs,
            p95: None,
            peak_rss_mib: Some(s.max_rss_kib as f64 / 1024.0),
        });
    };
    line("mnemo export --output FILE", &export);

    let restored = tmp.path().join("restored");
    let file_arg = file.to_str().unwrap();
    line(
        "mnemo import FILE (empty store, embeds too)",
        &run(&restored, &["import", file_arg]),
    );
    line(
        "mnemo import FILE (again: all present)",
        &run(&restored, &["import", file_arg]),
    );

    let again = tmp.path().join("again.jsonl");
    run(
        &restored,
        &[
            "export",
            "--all-projects",
            "--output",
            again.to_str().unwrap(),
        ],
    );
    let records = |path: &Path| {
        let text = std::fs::read_to_string(path).expect("read");
        text.split_once('\n').map_or("", |(_, r)| r).to_string()
    };
    assert!(
        records(&again) == records(&file),
        "the restored store exports differently"
    );
    println!("\nexport → import → export: identical records");
    results::save(
        "transfer",
        &format!("{lines} records, {count} observations"),
    );
}

fn run(home: &Path, args: &[&str]) -> Sample {
    spawn_once(BIN, args, &[("MNEMO_HOME", home)], b"")
}

/// Sessions of `prompts` prompts in all, each prompt with its tool events
/// (payloads the size of a small edit), recorded as the hooks record them.
/// Returns the number of tool events.
fn add_sessions(home: &Path, prompts: usize) -> usize {
    let started = Instant::now();
    let mut store = Store::open(&home.join("mnemo.db"), &StoreOptions::default()).expect("store");
    store
        .conn()
        .execute_batch("PRAGMA synchronous = OFF")
        .expect("pragma");
    let body = "    if n < 0:\n        raise ValueError(f\"negative: {n}\")\n".repeat(6);
    let mut events = 0;
    for p in 0..prompts {
        let session = format!("bench-session-{}", p / PROMPTS_PER_SESSION);
        let at = 1_700_000_000_000 + (p * 60_000) as i64;
        let mut batch = Vec::with_capacity(EVENTS_PER_PROMPT + 1);
        let mut prompt = HookRecord::new("UserPromptSubmit", "claude-code", &session, at);
        prompt.prompt = Some(PromptText {
            text: format!("fix the failing test number {p} in the billing module"),
            private: false,
        });
        batch.push(prompt);
        for e in 0..EVENTS_PER_PROMPT {
            let mut event =
                HookRecord::new("PostToolUse", "claude-code", &session, at + e as i64 + 1);
            event.tool_name = Some("Edit".into());
            event.tool_use_id = Some(format!("toolu_{p}_{e}"));
            event.payload = serde_json::json!({
                "tool_input": {"file_path": format!("/bench/src/module_{e}.py"), "new_string": body},
                "tool_response": {"filePath": format!("/bench/src/module_{e}.py"), "userModified": false},
            })
            .to_string();
            batch.push(event);
        }
        events += EVENTS_PER_PROMPT;
        store.record_batch(&batch, 0).expect("record");
    }
    println!(
        "sessions: {prompts} prompts, {events} tool events, added in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    events
}
