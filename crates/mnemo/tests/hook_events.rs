//! Every hook event Claude Code sends, through the real binary into the real
//! database file.

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
fn a_whole_session_is_recorded_in_order_with_numbered_prompts() {
    let env = Env::new();
    let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
    let mut sent = 0;
    let mut prompts = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut payload: Value = serde_json::from_str(line).unwrap();
        payload["cwd"] = json!(env.project.to_str().unwrap());
        let event = payload["hook_event_name"].as_str().unwrap().to_string();
        prompts += i64::from(event == "UserPromptSubmit");
        sent += i64::from(event != "Notification"); // not recorded
        // Claude Code names the event on the command line too.
        let arg = event.clone();
        env.hook(Some(&arg), &payload);
    }
    assert_eq!(env.count("SELECT count(*) FROM events"), sent);
    assert_eq!(env.count("SELECT count(*) FROM sessions"), 1);
    assert_eq!(env.count("SELECT count(*) FROM prompts"), prompts);
    assert_eq!(
        env.count("SELECT max(n) FROM prompts"),
        prompts,
        "prompts numbered 1..n"
    );
    // Every tool event after the first prompt belongs to a prompt.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE tool_use_id IS NOT NULL AND prompt_id IS NULL"
        ),
        0
    );
    let (root, name): (String, String) = env
        .db()
        .query_row("SELECT root, name FROM projects", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(root, env.project.to_str().unwrap());
    assert_eq!(name, "shop");
    let (status, branch): (String, Option<String>) = env
        .db()
        .query_row("SELECT status, branch FROM sessions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(status, "ended");
    assert_eq!(branch.as_deref(), Some("main"));
}

#[test]
fn session_start_sources_and_session_end() {
    let env = Env::new();
    for source in ["startup", "resume", "clear", "compact", "fork"] {
        let mut p = env.fixture("session_start__startup");
        p["source"] = json!(source);
        p["session_id"] = json!(format!("s-{source}"));
        env.hook(Some("session-start"), &p);
        let stored: String = env
            .db()
            .query_row(
                "SELECT source FROM sessions WHERE agent_session_id = ?1",
                [format!("s-{source}")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, source);
    }
    let mut end = env.fixture("session_end__exit");
    end["session_id"] = json!("s-startup");
    env.hook(Some("SessionEnd"), &end);
    let (status, reason): (String, String) = env
        .db()
        .query_row(
            "SELECT status, end_reason FROM sessions WHERE agent_session_id = 's-startup'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("ended", "prompt_input_exit")
    );
}

#[test]
fn redelivered_events_are_stored_once() {
    let env = Env::new();
    let tool = env.fixture("post_tool_use__bash");
    let prompt = env.fixture("user_prompt_submit__basic");
    for _ in 0..3 {
        env.hook(None, &prompt);
        env.hook(None, &tool);
    }
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 1);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'PostToolUse'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'UserPromptSubmit'"),
        1
    );
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
fn private_prompts_are_not_kept() {
    let env = Env::new();
    let p = env.fixture("user_prompt_submit__private");
    env.hook(None, &p);
    let text: String = env
        .db()
        .query_row("SELECT text FROM prompts", [], |r| r.get(0))
        .unwrap();
    assert!(!text.contains("<private>"));
    let original = p["prompt"].as_str().unwrap();
    let start = original.find("<private>").unwrap() + "<private>".len();
    let end = original.find("</private>").unwrap();
    let secret_part = original[start..end].trim();
    assert!(!secret_part.is_empty());
    assert!(!contains(&all_bytes(&env.home), secret_part));

    let mut only = p.clone();
    only["prompt"] = json!("<private>the whole thing is private</private>");
    only["session_id"] = json!("other");
    env.hook(None, &only);
    let private: i64 = env.count(
        "SELECT private FROM prompts p JOIN sessions s ON s.id = p.session_id WHERE s.agent_session_id = 'other'",
    );
    assert_eq!(private, 1);
}

#[test]
fn subagent_events_carry_the_agent_id() {
    let env = Env::new();
    let p = env.fixture("post_tool_use__subagent_read");
    env.hook(None, &p);
    let agent_id: Option<String> = env
        .db()
        .query_row("SELECT agent_id FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(agent_id.as_deref(), p["agent_id"].as_str());
    assert!(agent_id.is_some());
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

#[test]
fn two_repositories_with_the_same_name_are_two_projects() {
    let env = Env::new();
    for (i, parent) in ["clients/a", "clients/b"].iter().enumerate() {
        let dir = env.tmp.path().join(parent).join("api");
        std::fs::create_dir_all(&dir).unwrap();
        std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&dir)
            .status()
            .unwrap();
        let mut p = env.fixture("session_start__startup");
        p["cwd"] = json!(dir.to_str().unwrap());
        p["session_id"] = json!(format!("api-{i}"));
        env.hook(None, &p);
    }
    assert_eq!(
        env.count("SELECT count(*) FROM projects WHERE name = 'api'"),
        2
    );
}

/// `claude mcp list` and other commands that are not sessions fire a lone
/// SessionEnd: it leaves no session behind. A session whose SessionStart was
/// missed is still kept from its first prompt on.
#[test]
fn a_lone_session_end_is_no_session() {
    let env = Env::new();
    env.hook(None, &env.fixture("session_start__startup")); // creates the database
    let before = env.count("SELECT count(*) FROM sessions");
    for name in ["session_end__exit", "stop__basic", "pre_compact__auto"] {
        let mut lone = env.fixture(name);
        lone["session_id"] = json!(format!("not-a-session-{name}"));
        let out = env.hook(None, &lone);
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(env.count("SELECT count(*) FROM sessions"), before);
    assert_eq!(
        env.count("SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id WHERE s.agent_session_id LIKE 'not-a-session-%'"),
        0
    );
    let stats = env.ok_json(&["stats", "--json"]);
    assert_eq!(stats["sessions"], json!(before), "{stats}");

    let mut prompt = env.fixture("user_prompt_submit__basic");
    prompt["session_id"] = json!("started-unseen");
    env.hook(None, &prompt);
    let mut end = env.fixture("session_end__exit");
    end["session_id"] = json!("started-unseen");
    env.hook(None, &end);
    let status: String = env
        .db()
        .query_row(
            "SELECT status FROM sessions WHERE agent_session_id = 'started-unseen'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "ended");
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
