//! `mnemo import claude-code` as a process: its default directory, its
//! report and errors, and a SIGKILLed import converging on rerun. What an
//! import stores is tested in process, in the app's tests.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::Env;
use common::transcripts::*;
use serde_json::{Value, json};

/// The fixture transcripts, copied under the env's temp dir.
fn fixture_dir(env: &Env) -> PathBuf {
    copy_fixture_transcripts(&env.tmp.path().join("claude/projects"))
}

fn import(env: &Env, args: &[&str]) -> Output {
    let mut all = vec!["import", "claude-code"];
    all.extend(args);
    let out = env.command(&all).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Write `sessions` transcripts of `turns` turns each (12 lines a turn),
/// spread over ten projects, aged as finished. Returns the number of lines.
fn generate(dir: &Path, sessions: usize, turns: usize) -> usize {
    let start = ms("2025-01-06T08:00:00Z");
    let mut lines = 0;
    for s in 0..sessions {
        let project = format!("/home/dev/gen/service-{}", s % 10);
        let slug = project.replace('/', "-");
        let session = format!("00000000-0000-4000-8000-{s:012}");
        let mut at = start + s as i64 * 3_600_000;
        let mut text = String::new();
        let mut line = |kind: &str, at: i64, body: Value| {
            let mut v = json!({"type": kind, "sessionId": session, "cwd": project, "gitBranch": "main",
                "version": "2.0.14", "userType": "external", "isSidechain": false,
                "uuid": format!("{s}-{at}-{kind}"), "timestamp": iso(at)});
            v.as_object_mut()
                .unwrap()
                .extend(body.as_object().unwrap().clone());
            text.push_str(&v.to_string());
            text.push('\n');
            lines += 1;
        };
        for t in 0..turns {
            let file = format!("{project}/src/module_{t}.rs");
            let id = |n: usize| format!("toolu_{s}_{t}_{n}");
            let msg = |n: usize| json!({"id": format!("msg_{s}_{t}_{n}"), "role": "assistant", "model": "claude-sonnet-4-5", "content": []});
            let assistant = |n: usize, block: Value| {
                let mut m = msg(n);
                m["content"] = json!([block]);
                json!({"message": m, "requestId": format!("req_{s}_{t}_{n}")})
            };
            line(
                "user",
                at,
                json!({"message": {"role": "user", "content": format!("Fix the timeout handling in module {t} of service {}", s % 10)}}),
            );
            line(
                "assistant",
                at + 1000,
                assistant(
                    1,
                    json!({"type": "thinking", "thinking": "Look at the module first."}),
                ),
            );
            line(
                "assistant",
                at + 2000,
                assistant(
                    1,
                    json!({"type": "text", "text": format!("Reading module {t}.")}),
                ),
            );
            line(
                "assistant",
                at + 2500,
                assistant(
                    1,
                    json!({"type": "tool_use", "id": id(1), "name": "Read", "input": {"file_path": file}}),
                ),
            );
            line(
                "user",
                at + 3000,
                json!({"message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id(1), "content": "fn call() {}"}]},
                "toolUseResult": {"type": "text", "file": {"filePath": file, "content": format!("fn call_{t}() {{ retry(3) }}\n"), "numLines": 1, "startLine": 1, "totalLines": 1}}}),
            );
            line(
                "assistant",
                at + 4000,
                assistant(
                    2,
                    json!({"type": "tool_use", "id": id(2), "name": "Edit", "input": {"file_path": file, "old_string": "retry(3)", "new_string": format!("retry_with_timeout(3, {t}00)")}}),
                ),
            );
            line(
                "user",
                at + 5000,
                json!({"message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id(2), "content": "updated"}]},
                "toolUseResult": {"filePath": file, "oldString": "retry(3)", "newString": format!("retry_with_timeout(3, {t}00)"), "structuredPatch": [], "userModified": false, "replaceAll": false}}),
            );
            line(
                "assistant",
                at + 6000,
                assistant(
                    3,
                    json!({"type": "tool_use", "id": id(3), "name": "Bash", "input": {"command": format!("cargo test module_{t}"), "description": "Run tests"}}),
                ),
            );
            let out = format!(
                "running 4 tests\ntest result: ok. 4 passed; 0 failed; finished module_{t}"
            );
            line(
                "user",
                at + 9000,
                json!({"message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id(3), "content": out}]},
                "toolUseResult": {"stdout": out, "stderr": "", "interrupted": false, "isImage": false}}),
            );
            line(
                "assistant",
                at + 10_000,
                assistant(
                    4,
                    json!({"type": "text", "text": format!("Module {t} now retries with a {t}00 ms timeout.")}),
                ),
            );
            line(
                "assistant",
                at + 10_100,
                assistant(4, json!({"type": "text", "text": "The tests pass."})),
            );
            line(
                "file-history-snapshot",
                at + 10_200,
                json!({"messageId": "x", "snapshot": {}, "isSnapshotUpdate": false}),
            );
            at += 60_000;
        }
        let path = dir.join(slug).join(format!("{session}.jsonl"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }
    age(dir);
    lines
}

#[test]
fn a_killed_import_rerun_gives_the_same_database_as_an_uninterrupted_one() {
    let transcripts = tempfile::tempdir().unwrap();
    generate(transcripts.path(), 60, 8);
    let dir = transcripts.path().to_str().unwrap();

    let whole = Env::new();
    import(&whole, &[dir]);

    let interrupted = Env::new();
    let mut child = interrupted
        .command(&["import", "claude-code", dir])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let marks = |env: &Env| {
        rusqlite::Connection::open(env.db_path())
            .and_then(|db| {
                db.query_row("SELECT count(*) FROM transcript_imports", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0)
    };
    common::wait_until("the import to start writing", || marks(&interrupted) >= 5);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = marks(&interrupted);
    assert!(
        done < 60,
        "the kill came too late to interrupt anything ({done} files done)"
    );
    assert_eq!(
        interrupted.count("SELECT count(*) FROM observations"),
        0,
        "killed before compressing"
    );

    let rerun: Value =
        serde_json::from_slice(&import(&interrupted, &[dir, "--json"]).stdout).unwrap();
    assert!(
        rerun["transcripts_unchanged"].as_i64().unwrap() >= done - 1,
        "{rerun}"
    );
    assert_eq!(dump(&interrupted.db()), dump(&whole.db()));
}

#[test]
fn default_dir_project_filter_dry_run_and_errors() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    let claude_dir = dir.parent().unwrap().to_str().unwrap().to_string();
    let env = env.env("CLAUDE_CONFIG_DIR", &claude_dir);

    let dry: Value =
        serde_json::from_slice(&import(&env, &["--dry-run", "--json"]).stdout).unwrap();
    assert_eq!(
        dry["transcripts"], 4,
        "CLAUDE_CONFIG_DIR/projects is the default: {dry}"
    );
    assert_eq!(dry["prompts"], 4, "{dry}");
    assert_eq!(
        env.count("SELECT count(*) FROM prompts"),
        0,
        "a dry run writes nothing"
    );
    assert_eq!(env.count("SELECT count(*) FROM transcript_imports"), 0);

    let only: Value = serde_json::from_slice(
        &import(&env, &["--project", "/home/dev/src/ledger", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(only["transcripts"], 2, "{only}");
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 1);

    let text = String::from_utf8(import(&env, &[]).stdout).unwrap();
    assert!(
        text.contains("4 transcripts: 2 read, 2 unchanged"),
        "{text}"
    );
    assert!(text.contains("3 prompts"), "{text}");

    let missing = env
        .command(&["import", "claude-code", "/nonexistent/claude/projects"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no Claude Code transcripts at /nonexistent/claude/projects"),
        "{stderr}"
    );
}

#[test]
fn a_folder_without_transcripts_is_an_error() {
    let env = Env::new();
    let empty = env.tmp.path().join("claude/projects/-home-dev-empty");
    fs::create_dir_all(empty.join("notes")).unwrap();
    fs::write(empty.join("notes/readme.txt"), "not a transcript").unwrap();
    for dir in [&empty, &empty.parent().unwrap().to_path_buf()] {
        let out = env
            .command(&["import", "claude-code", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", dir.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("no Claude Code transcripts in {}", dir.display())),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Throughput on a generated directory (200 transcripts, 48,000 lines):
/// `cargo test --release -p mnemo --test integration import_claude_code:: -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn throughput() {
    let transcripts = tempfile::tempdir().unwrap();
    let lines = generate(transcripts.path(), 200, 20);
    let env = Env::new();
    let out = import(&env, &[transcripts.path().to_str().unwrap()]);
    println!(
        "{lines} generated lines\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
