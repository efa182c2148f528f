//! Compression benchmark: the rule-based compressor's ratio over the
//! scenario fixtures and its throughput in episodes per second.
//!
//! Run: `cargo bench -p mnemo --bench compress` (`-- --quick` for fewer
//! copies). Each fixture session is recorded with `mnemo ingest` and
//! compressed with `mnemo compress`; sizes are read back from the database:
//! raw = the hook inputs as Claude Code sent them (and, second figure, the
//! stored event payloads after capture's caps), stored = the text of the
//! observations and summaries. Throughput replays every fixture many times
//! under fresh session ids and times one `mnemo compress` over all of them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::results;

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root.join("../compress/tests/fixtures/scenarios"))
            .expect("scenario fixtures")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "jsonl")
                    && !p.to_string_lossy().ends_with(".transcript.jsonl")
            })
            .collect();
    files.push(root.join("tests/fixtures/hooks/session.jsonl"));
    files.sort();
    files
}

fn transcript() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/no_last_message.transcript.jsonl")
}

/// Run mnemo on `home`. Hooks (and so `ingest`) do not compress here:
/// `mnemo compress` does all of it, which is what is measured.
fn mnemo(home: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("MNEMO_HOME", home)
        .env("MNEMO_COMPRESS_IN_HOOKS", "false")
        .output()
        .expect("mnemo runs");
    assert!(
        out.status.success(),
        "mnemo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stored_bytes(db: &Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(db).expect("db");
    conn.query_row(
        "SELECT (SELECT sum(length(payload)) FROM events),
                (SELECT coalesce(sum(length(title) + length(subtitle) + length(narrative) + length(facts)
                     + length(concepts) + length(files_read) + length(files_modified)), 0) FROM observations),
                (SELECT coalesce(sum(length(request) + length(investigated) + length(learned) + length(completed)
                     + length(next_steps) + length(files_read) + length(files_modified)), 0) FROM summaries)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("sizes")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let copies = if quick { 20 } else { 200 };
    let tmp = tempfile::tempdir().expect("tempdir");
    let transcript = transcript();

    println!(
        "{:<28} {:>10} {:>10} {:>8} {:>12} {:>12}",
        "fixture", "input B", "payload B", "stored B", "input/stored", "payload/stored"
    );
    let (mut input_total, mut payload_total, mut stored_total) = (0i64, 0i64, 0i64);
    let mut all_text = String::new();
    for (i, file) in fixtures().iter().enumerate() {
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace("__TRANSCRIPT__", transcript.to_str().unwrap());
        all_text.push_str(&text);
        let home = tmp.path().join(format!("ratio-{i}"));
        let input = tmp.path().join(format!("ratio-{i}.jsonl"));
        std::fs::write(&input, &text).unwrap();
        mnemo(&home, &["ingest", input.to_str().unwrap()]);
        mnemo(&home, &["compress"]);
        let (payload, obs, summaries) = stored_bytes(&home.join("mnemo.db"));
        let stored = obs + summaries;
        let name = file.file_name().unwrap().to_string_lossy();
        println!(
            "{name:<28} {:>10} {payload:>10} {stored:>8} {:>11.1}× {:>13.1}×",
            text.len(),
            text.len() as f64 / stored as f64,
            payload as f64 / stored as f64
        );
        input_total += text.len() as i64;
        payload_total += payload;
        stored_total += stored;
    }
    println!(
        "{:<28} {input_total:>10} {payload_total:>10} {stored_total:>8} {:>11.1}× {:>13.1}×",
        "all fixtures",
        input_total as f64 / stored_total as f64,
        payload_total as f64 / stored_total as f64
    );
    results::value(
        "compression ratio, transcript text ÷ stored",
        "×",
        input_total as f64 / stored_total as f64,
    );

    // Throughput: every fixture `copies` times, each copy its own sessions.
    let home = tmp.path().join("throughput");
    let input = tmp.path().join("throughput.jsonl");
    let mut big = String::with_capacity(all_text.len() * copies);
    for copy in 0..copies {
        for line in all_text.lines() {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            // Own sessions and projects per copy, so nothing deduplicates away.
            for key in ["session_id", "tool_use_id", "prompt_id", "cwd"] {
                if let Some(s) = v.get(key).and_then(|s| s.as_str()) {
                    v[key] = serde_json::json!(format!("{s}-{copy}"));
                }
            }
            big.push_str(&v.to_string());
            big.push('\n');
        }
    }
    std::fs::write(&input, big).unwrap();
    mnemo(&home, &["ingest", input.to_str().unwrap()]);
    let started = Instant::now();
    let report = mnemo(&home, &["compress", "--json"]);
    let secs = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    let episodes = report["episodes"].as_f64().unwrap();
    println!(
        "\nthroughput: {episodes} episodes ({} observations) compressed in {secs:.2} s = {:.0} episodes/s (one `mnemo compress`, including SQLite writes)",
        report["observations"],
        episodes / secs
    );
    results::value("compression throughput", "episodes/s", episodes / secs);
    results::save("compress", "scenario fixtures");
}
