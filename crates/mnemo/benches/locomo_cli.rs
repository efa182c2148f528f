//! LoCoMo retrieval the way users' data reaches mnemo: any-hit recall@5 and
//! @10 of the real binary's `mnemo search` on the dev set in
//! `../shared/eval/locomo-dev.json` (see that folder's README for the
//! metric).
//!
//! Every dialogue turn is one plain observation line for `mnemo import`
//! (docs/EXPORT.md): a short title (the turn's first sentence, at most about
//! 80 characters), the whole turn "<speaker>: <text>" as narrative, dated by
//! its session, with its dialogue id as `ref`. Each conversation is one
//! project and one `mnemo import`, into a temporary MNEMO_HOME; every
//! question with evidence, except category 5, is one
//! `mnemo search --json --limit 10 --project ROOT QUESTION`, and a hit is a
//! result whose `ref` is an evidence turn. Skips with a message when the
//! file is absent. Run: `cargo bench -p mnemo --bench locomo_cli`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use support::results;

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// Titles are cut near this many characters, as a short headline would be.
const TITLE_CHARS: usize = 80;

/// One conversation: its project root and its questions with evidence turns.
struct Conversation {
    root: String,
    questions: Vec<(String, Vec<String>)>,
}

/// The first sentence of `text`, cut at a word boundary near
/// [`TITLE_CHARS`].
fn title_of(text: &str) -> String {
    let sentence_end = text
        .char_indices()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && text[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })
        .map_or(text.len(), |(i, c)| i + c.len_utf8());
    let sentence = &text[..sentence_end];
    if sentence.chars().count() <= TITLE_CHARS {
        return sentence.to_string();
    }
    let head: String = sentence.chars().take(TITLE_CHARS).collect();
    match head.rsplit_once(' ') {
        Some((words, _)) => format!("{words} …"),
        None => head,
    }
}

/// A session's "1:56 pm on 8 May, 2023" as Unix milliseconds (UTC).
fn session_time(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(text.trim(), "%I:%M %p on %d %B, %Y")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// Observation lines of one conversation, one per turn.
fn observation_lines(root: &str, conversation: &Value) -> String {
    let mut lines = String::new();
    let mut n = 1;
    while let Some(turns) = conversation
        .get(format!("session_{n}"))
        .and_then(Value::as_array)
    {
        let date = conversation[format!("session_{n}_date_time")]
            .as_str()
            .and_then(session_time)
            .expect("session date");
        for turn in turns {
            let text = turn["text"].as_str().unwrap_or_default();
            let line = json!({
                "project": root,
                "title": title_of(text),
                "narrative": format!("{}: {text}", turn["speaker"].as_str().unwrap_or_default()),
                "created_at": date,
                "ref": turn["dia_id"],
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        n += 1;
    }
    lines
}

fn mnemo(home: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("MNEMO_HOME", home)
        .output()
        .expect("spawn mnemo");
    assert!(
        out.status.success(),
        "mnemo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn main() {
    let Some(data) = support::locomo::conversations() else {
        return;
    };
    let show_misses = std::env::args().any(|a| a == "--misses");
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");

    let started = Instant::now();
    let mut conversations = Vec::new();
    for (c, conversation) in data.iter().enumerate() {
        let root = format!("/locomo/{c}");
        let file = tmp.path().join(format!("conversation-{c}.jsonl"));
        std::fs::write(
            &file,
            observation_lines(&root, &conversation["conversation"]),
        )
        .expect("write lines");
        mnemo(
            &home,
            &["import", "--format", "jsonl", &file.to_string_lossy()],
        );
        conversations.push(Conversation {
            root,
            questions: support::locomo::questions(conversation),
        });
    }
    let import_time = started.elapsed();

    let (mut asked, mut hit5, mut hit10) = (0usize, 0usize, 0usize);
    let mut latencies: Vec<Duration> = Vec::new();
    for c in &conversations {
        for (question, evidence) in &c.questions {
            let started = Instant::now();
            let out = mnemo(
                &home,
                &[
                    "search",
                    "--json",
                    "--limit",
                    "10",
                    "--project",
                    &c.root,
                    question,
                ],
            );
            latencies.push(started.elapsed());
            let answer: Value = serde_json::from_str(&out).expect("search JSON");
            let hits = answer["items"].as_array().expect("search items");
            let found: Vec<bool> = hits
                .iter()
                .map(|h| {
                    h["ref"]
                        .as_str()
                        .is_some_and(|r| evidence.iter().any(|e| e == r))
                })
                .collect();
            asked += 1;
            hit5 += usize::from(found.iter().take(5).any(|&f| f));
            hit10 += usize::from(found.iter().any(|&f| f));
            if show_misses && !found.iter().take(5).any(|&f| f) {
                let titles: Vec<&str> = hits
                    .iter()
                    .take(5)
                    .filter_map(|h| h["title"].as_str())
                    .collect();
                println!("miss: {question} {evidence:?}\n      {titles:?}");
            }
        }
    }
    latencies.sort();
    let (r5, r10) = (hit5 as f64 / asked as f64, hit10 as f64 / asked as f64);
    println!(
        "LoCoMo dev through `mnemo import` and `mnemo search`: {asked} questions  R@5 {r5:.3}  R@10 {r10:.3}"
    );
    println!(
        "import {:.1} s for {} conversations; search median {:.1} ms per process",
        import_time.as_secs_f64(),
        conversations.len(),
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0
    );
    results::value("LoCoMo dev R@5, CLI import and search", "recall", r5);
    results::value("LoCoMo dev R@10, CLI import and search", "recall", r10);
    results::save(
        "locomo-cli",
        &format!("{} conversations", conversations.len()),
    );
}
