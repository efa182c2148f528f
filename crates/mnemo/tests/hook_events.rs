//! The hook contract, through the real binary into the real database file:
//! every event Claude Code sends is accepted, the event named on the command
//! line, owner-only files, replayed input dated by `MNEMO_EVENT_TIME`. What
//! the events store is tested in process (`crates/app/tests/capture.rs`).

use crate::common;

use common::*;
use serde_json::{Value, json};

/// Each fixture (one per event and tool shape) is accepted under the hook
/// contract; recorded events leave exactly one row with their tool fields.
#[test]
fn every_fixture_is_accepted_and_recorded_events_are_stored() {
    let env = Env::new();
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    env.hook(None, &env.fixture("session_start__startup")); // creates the database
    assert!(
        names.len() >= 25,
        "expected the full fixture set, got {names:?}"
    );
    let recorded = [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "Stop",
        "StopFailure",
        "SubagentStop",
        "PreCompact",
        "SessionEnd",
    ];
    for (i, name) in names.iter().enumerate() {
        let mut payload = env.fixture(name);
        let session = format!("fixture-session-{i}");
        payload["session_id"] = json!(session);
        let event = payload["hook_event_name"].as_str().unwrap().to_string();
        if event != "SessionStart" {
            // Each event arrives in a session that has begun, as in Claude Code.
            let mut start = env.fixture("session_start__startup");
            start["session_id"] = json!(session);
            env.hook(None, &start);
        }
        env.hook(None, &payload);
        let rows = env.count(&format!(
            "SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id
             WHERE s.agent_session_id = '{session}' AND e.hook = '{event}'"
        ));
        let expected = i64::from(recorded.contains(&event.as_str()));
        assert_eq!(rows, expected, "{name}: rows for {event}");
        if expected == 1 {
            let (tool_name, tool_use_id, stored): (Option<String>, Option<String>, String) = env
                .db()
                .query_row(
                    "SELECT tool_name, tool_use_id, payload FROM events e JOIN sessions s ON s.id = e.session_id
                     WHERE s.agent_session_id = ?1 AND e.hook = ?2",
                    [&session, &event],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            assert_eq!(
                tool_name.as_deref(),
                payload["tool_name"].as_str(),
                "{name}"
            );
            assert_eq!(
                tool_use_id.as_deref(),
                payload["tool_use_id"].as_str(),
                "{name}"
            );
            let stored: Value = serde_json::from_str(&stored).unwrap();
            for key in [
                "tool_input",
                "tool_response",
                "error",
                "last_assistant_message",
            ] {
                assert_eq!(
                    stored.get(key).is_some(),
                    payload.get(key).is_some_and(|v| !v.is_null()),
                    "{name}: {key} kept in payload"
                );
            }
        }
    }
}

#[test]
fn event_comes_from_the_argument_when_the_input_has_none() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__read");
    p.as_object_mut().unwrap().remove("hook_event_name");
    env.hook(Some("post-tool-use"), &p);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'PostToolUse'"),
        1
    );
    // With neither, the input is kept as rejected, not stored as an event.
    let out = env.hook(None, &p);
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert_eq!(env.count("SELECT count(*) FROM rejected_inputs"), 1);
}

#[test]
fn data_dir_and_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.hook(None, &env.fixture("session_start__startup"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.home), 0o700);
    assert_eq!(mode(&env.db_path()), 0o600);

    // Any command that creates the store does the same.
    let other = Env::new();
    let out = other
        .command(&[
            "ingest",
            fixtures_dir().join("session.jsonl").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(mode(&other.home), 0o700);
    assert_eq!(mode(&other.db_path()), 0o600);
}

/// Replayed hook input dated with `MNEMO_EVENT_TIME` keeps its own times:
/// the events, and the memories compressed from them.
#[test]
fn replayed_events_and_their_memories_carry_the_time_they_happened() {
    let env = Env::new();
    let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
    let start = 1_775_548_127_000_i64; // 2026-04-07T07:48:47Z
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let mut payload: Value = serde_json::from_str(line).unwrap();
        payload["cwd"] = json!(env.project.to_str().unwrap());
        let at = start + i as i64 * 60_000;
        let mut child = env
            .command(&["hook"])
            .env("MNEMO_EVENT_TIME", at.to_string())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(payload.to_string().as_bytes()).unwrap();
        drop(stdin);
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let end = start + 60 * 60_000;
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM events WHERE created_at NOT BETWEEN {start} AND {end}"
        )),
        0
    );
    assert!(env.count("SELECT count(*) FROM observations") > 0);
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM observations WHERE created_at NOT BETWEEN {start} AND {end}"
        )),
        0,
        "memories are dated by their events, not by when they were compressed"
    );
}
