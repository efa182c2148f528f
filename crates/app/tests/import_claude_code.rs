//! Claude Code transcripts (fixtures written in the real format, see
//! crates/mnemo/tests/fixtures/claude-code/README.md) replayed through the
//! hook pipeline's importer into a real database: sessions, prompts and
//! events at their times, memories, reruns, grown and live transcripts,
//! sessions hooks already captured. What `mnemo import claude-code` prints,
//! its default directory and a killed import are tested through the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use crate::transcripts::*;

use mnemo_app::hook::HookPipeline;
use mnemo_app::memory::{Scope, SearchRequest, search};
use mnemo_import::claude_code::{Counts, discover};
use serde_json::{Value, json};

/// hook, tool, subagent, time, prompt text.
type EventRow = (String, Option<String>, Option<String>, i64, String);

/// A transcript written to this recently may belong to a running session
/// (what `mnemo import claude-code` passes).
const LIVE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The fixture transcripts, copied under the env's temp dir.
fn fixture_dir(env: &Env) -> PathBuf {
    copy_fixture_transcripts(&env.tmp.path().join("claude/projects"))
}

/// Import the transcripts of `dir` through the hook pipeline.
fn import(env: &Env, dir: &Path) -> Counts {
    let files = discover(dir, None).unwrap();
    let pipeline = HookPipeline::new(&env.parts, &env.process).unwrap();
    pipeline
        .import_claude_code(&files, false, LIVE_WINDOW, &mut |_| {})
        .unwrap()
}

#[test]
fn a_transcript_dir_becomes_sessions_prompts_events_and_memories_at_their_times() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    let counts = import(&env, &dir);
    assert_eq!(counts.transcripts, 4, "{counts:?}");
    assert_eq!(counts.sessions, 2, "{counts:?}");
    assert_eq!(counts.prompts, 4, "{counts:?}");
    assert_eq!(
        counts.lines_broken, 2,
        "a broken line and a cut-off last line: {counts:?}"
    );
    assert_eq!(counts.lines_unknown, 1, "{counts:?}");

    let db = env.db();
    let session = |id: &str| -> (String, Option<String>, i64, Option<i64>, String) {
        db.query_row(
            "SELECT pr.root, s.branch, s.started_at, s.ended_at, s.status
             FROM sessions s JOIN projects pr ON pr.id = s.project_id WHERE s.agent_session_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap()
    };
    // The projects' directories do not exist here: they still resolve.
    assert_eq!(
        session(SHOP_SESSION),
        (
            "/home/dev/src/shop".into(),
            Some("fix/cart-limit".into()),
            ms("2025-03-04T09:00:00Z"),
            Some(ms("2025-03-04T09:25:15Z")),
            "ended".into()
        )
    );
    assert_eq!(session(LEDGER_SESSION).2, ms("2024-11-20T14:00:00Z"));

    let prompts: Vec<(String, i64)> = db
        .prepare("SELECT text, created_at FROM prompts ORDER BY created_at")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        prompts,
        vec![
            (
                "Totals are off by a cent; check the rounding in ledger.py".to_string(),
                ms("2024-11-20T14:00:00Z")
            ),
            (
                "Why does checkout reject carts with exactly 100 items?".into(),
                ms("2025-03-04T09:00:00Z")
            ),
            (
                "Now ask a helper to find every other place that uses MAX_ITEMS".into(),
                ms("2025-03-04T09:10:00Z")
            ),
            (
                "Write the changelog entry for the cart limit fix".into(),
                ms("2025-03-04T09:25:00Z")
            ),
        ],
        "block prompts count; compact summaries and a cut-off line do not"
    );

    let events: Vec<EventRow> = db
        .prepare(
            "SELECT e.hook, e.tool_name, e.agent_id, e.created_at, p.text
             FROM events e JOIN prompts p ON p.id = e.prompt_id
             JOIN sessions s ON s.id = e.session_id
             WHERE s.agent_session_id = ?1 ORDER BY e.created_at, e.id",
        )
        .unwrap()
        .query_map([SHOP_SESSION], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let hooks: Vec<String> = events
        .iter()
        .map(|(hook, tool, agent, _, _)| {
            format!(
                "{hook}{}{}",
                tool.as_ref().map(|t| format!(":{t}")).unwrap_or_default(),
                agent.as_ref().map(|a| format!("@{a}")).unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        hooks,
        [
            "UserPromptSubmit",
            "PostToolUse:Read",
            "PostToolUseFailure:Bash",
            "PostToolUse:Edit",
            "PostToolUse:Bash",
            "Stop",
            "UserPromptSubmit",
            "PostToolUse:Grep@a4f2c91",
            "SubagentStop@a4f2c91",
            "PostToolUse:Task",
            "Stop",
            "PreCompact",
            "SessionStart",
            "UserPromptSubmit",
            "PostToolUse:Edit",
            "Stop",
            "SessionEnd",
        ]
    );
    let stop_at = events.iter().find(|e| e.0 == "Stop").unwrap().3;
    assert_eq!(
        stop_at,
        ms("2025-03-04T09:00:45.200Z"),
        "a Stop is the turn's last line"
    );
    let subagent = events.iter().find(|e| e.2.is_some()).unwrap();
    assert_eq!(
        subagent.4,
        "Now ask a helper to find every other place that uses MAX_ITEMS"
    );

    // The hook payloads: toolUseResult is the tool_response; errors carry the error text.
    let payload = |tool_use_id: &str| -> Value {
        let text: String = db
            .query_row(
                "SELECT payload FROM events WHERE tool_use_id = ?1",
                [tool_use_id],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let read = payload("toolu_01Read");
    assert_eq!(
        read["tool_input"]["file_path"],
        "/home/dev/src/shop/src/cart.rs"
    );
    assert_eq!(read["tool_response"]["file"]["numLines"], 8);
    let failed = payload("toolu_02Bash");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .starts_with("Exit code 101"),
        "{failed}"
    );
    let edit = payload("toolu_03Edit");
    assert_eq!(
        edit["tool_response"]["newString"],
        "    if items > MAX_ITEMS {"
    );
    let old_sidechain = payload("toolu_os1Bash");
    assert_eq!(old_sidechain["agent_id"], "5e8d1f3b", "{old_sidechain}");
    let ledger_transcript: String = db
        .query_row(
            "SELECT transcript_path FROM sessions WHERE agent_session_id = ?1",
            [LEDGER_SESSION],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        Path::new(&ledger_transcript),
        dir.join(format!("-home-dev-src-ledger/{LEDGER_SESSION}.jsonl"))
    );

    // Compressed into memories in the sessions' projects, at their own times.
    let observations: Vec<(String, i64)> = db
        .prepare(
            "SELECT pr.root, o.created_at FROM observations o JOIN projects pr ON pr.id = o.project_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!observations.is_empty());
    for (root, at) in &observations {
        let (from, to) = if root == "/home/dev/src/shop" {
            ("2025-03-04T09:00:00Z", "2025-03-04T09:30:00Z")
        } else {
            assert_eq!(root, "/home/dev/src/ledger");
            ("2024-11-20T14:00:00Z", "2024-11-20T14:05:00Z")
        };
        assert!((ms(from)..=ms(to)).contains(at), "{root} at {}", iso(*at));
    }
    assert_eq!(counts.observations, observations.len());
    let summaries = env.count("SELECT count(*) FROM summaries");
    assert_eq!(summaries, 4);
    assert_eq!(counts.summaries as i64, summaries);
    let summary_at: i64 = db
        .query_row(
            "SELECT s.created_at FROM summaries s JOIN prompts p ON p.id = s.prompt_id WHERE p.n = 1
               AND p.text LIKE 'Why does checkout%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(summary_at, ms("2025-03-04T09:00:45.200Z"));

    let request = SearchRequest::new("cart limit off-by-one", Scope::All, 10);
    let found = search(&env.parts, &env.store(), &request).unwrap();
    let found = serde_json::to_string(&found.hits).unwrap();
    assert!(
        found.contains("cart"),
        "search finds the imported work: {found}"
    );

    drop(db);
    let written = all_bytes(&env.parts.paths.home);
    assert!(
        !contains(&written, &aws_key()),
        "the planted key reached the data dir"
    );
}

#[test]
fn a_second_import_adds_nothing_and_a_grown_transcript_adds_only_its_new_turn() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    import(&env, &dir);
    let before = dump(&env.db());
    let again = import(&env, &dir);
    assert_eq!(again.transcripts_unchanged, 4, "{again:?}");
    assert_eq!(again.prompts, 0);
    assert_eq!(
        dump(&env.db()),
        before,
        "a second import changed the database"
    );

    // The ledger session is resumed and gets one more turn.
    let ledger = dir.join(format!("-home-dev-src-ledger/{LEDGER_SESSION}.jsonl"));
    let line = |kind: &str, at: &str, message: Value, extra: Value| {
        let mut v = json!({"type": kind, "sessionId": LEDGER_SESSION, "cwd": "/home/dev/src/ledger",
            "gitBranch": "main", "timestamp": at, "uuid": format!("new-{at}"), "message": message});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string() + "\n"
    };
    let mut text = fs::read_to_string(&ledger).unwrap();
    text += &line(
        "user",
        "2024-11-21T08:00:00.000Z",
        json!({"role": "user", "content": "Switch the totals to Decimal"}),
        json!({}),
    );
    text += &line(
        "assistant",
        "2024-11-21T08:00:05.000Z",
        json!({"id": "msg_n1", "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_n1", "name": "Edit", "input": {"file_path": "/home/dev/src/ledger/ledger.py", "old_string": "round(total, 2)", "new_string": "total.quantize(CENT, ROUND_HALF_UP)"}}]}),
        json!({}),
    );
    text += &line(
        "user",
        "2024-11-21T08:00:06.000Z",
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_n1", "content": "updated"}]}),
        json!({"toolUseResult": {"filePath": "/home/dev/src/ledger/ledger.py", "oldString": "round(total, 2)", "newString": "total.quantize(CENT, ROUND_HALF_UP)", "structuredPatch": []}}),
    );
    text += &line(
        "assistant",
        "2024-11-21T08:00:09.000Z",
        json!({"id": "msg_n2", "role": "assistant",
        "content": [{"type": "text", "text": "Totals now use Decimal quantize with ROUND_HALF_UP."}]}),
        json!({}),
    );
    fs::write(&ledger, text).unwrap();
    age(&ledger);
    let grown = import(&env, &dir);
    assert_eq!(grown.transcripts_read, 1, "{grown:?}");
    assert_eq!(grown.prompts, 1);
    assert_eq!(grown.tool_events, 1);
    assert_eq!(grown.duplicates, 0);
    let new_hooks: Vec<String> = env
        .db()
        .prepare(
            "SELECT e.hook || coalesce(':' || json_extract(e.payload, '$.source'), '')
             FROM events e JOIN sessions s ON s.id = e.session_id
             WHERE s.agent_session_id = ?1 AND e.created_at >= ?2 ORDER BY e.id",
        )
        .unwrap()
        .query_map(
            rusqlite::params![LEDGER_SESSION, ms("2024-11-21T00:00:00Z")],
            |r| r.get(0),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        new_hooks,
        [
            "SessionStart:resume",
            "UserPromptSubmit",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ]
    );
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 5);
    let third = import(&env, &dir);
    assert_eq!(third.transcripts_unchanged, 4, "{third:?}");
}

#[test]
fn a_session_captured_by_hooks_only_gets_what_they_missed() {
    let env = Env::new();
    let session = "5a1c7e22-9b0d-4c3f-8e6a-7d2b1f0c9e33";
    let cwd = env.project.to_str().unwrap().to_string();
    let hook = |event: &str, extra: Value| {
        let mut v = json!({"session_id": session, "cwd": cwd, "hook_event_name": event,
            "transcript_path": "/home/dev/.claude/projects/x.jsonl"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        env.hook(None, &v);
    };
    let t0 = chrono::Utc::now().timestamp_millis();
    hook("SessionStart", json!({"source": "startup"}));
    hook(
        "UserPromptSubmit",
        json!({"prompt": "Add a retry to the payment client"}),
    );
    hook(
        "PostToolUse",
        json!({"tool_name": "Bash", "tool_use_id": "toolu_L1",
        "tool_input": {"command": "cargo test payment"}, "tool_response": {"stdout": "test result: ok. 2 passed", "stderr": ""}}),
    );
    hook(
        "Stop",
        json!({"stop_hook_active": false, "last_assistant_message": "Added the retry."}),
    );
    hook("SessionEnd", json!({"reason": "prompt_input_exit"}));
    let events_before = env.count("SELECT count(*) FROM events");

    // Its transcript also has a Read the hooks never saw.
    let dir = env.tmp.path().join("claude/projects");
    let path = dir.join("-x").join(format!("{session}.jsonl"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let line = |kind: &str, dt: i64, body: Value| {
        let mut v =
            json!({"type": kind, "sessionId": session, "cwd": cwd, "timestamp": iso(t0 + dt)});
        v.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        v.to_string() + "\n"
    };
    let text = [
        line("user", 100, json!({"message": {"role": "user", "content": "Add a retry to the payment client"}})),
        line("assistant", 200, json!({"message": {"id": "m1", "content": [{"type": "tool_use", "id": "toolu_L0", "name": "Read", "input": {"file_path": format!("{cwd}/payment.rs")}}]}})),
        line("user", 300, json!({"message": {"content": [{"type": "tool_result", "tool_use_id": "toolu_L0", "content": "fn pay() {}"}]}})),
        line("assistant", 400, json!({"message": {"id": "m2", "content": [{"type": "tool_use", "id": "toolu_L1", "name": "Bash", "input": {"command": "cargo test payment"}}]}})),
        line("user", 500, json!({"message": {"content": [{"type": "tool_result", "tool_use_id": "toolu_L1", "content": "test result: ok. 2 passed"}]},
            "toolUseResult": {"stdout": "test result: ok. 2 passed", "stderr": ""}})),
        line("assistant", 600, json!({"message": {"id": "m3", "content": [{"type": "text", "text": "Added the retry."}]}})),
    ]
    .concat();
    fs::write(&path, text).unwrap();
    age(&path);
    let counts = import(&env, &dir);
    assert_eq!(counts.tool_events, 1, "{counts:?}");
    assert_eq!(counts.prompts, 0, "{counts:?}");
    assert_eq!(env.count("SELECT count(*) FROM sessions"), 1);
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 1);
    assert_eq!(env.count("SELECT count(*) FROM events"), events_before + 1);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE tool_use_id = 'toolu_L0'"),
        1
    );
    for hook in ["SessionStart", "Stop", "SessionEnd"] {
        assert_eq!(
            env.count(&format!(
                "SELECT count(*) FROM events WHERE hook = '{hook}'"
            )),
            1,
            "{hook} doubled"
        );
    }
}

#[test]
fn a_transcript_still_being_written_keeps_its_open_turn_for_later() {
    let env = Env::new();
    let dir = env.tmp.path().join("claude/projects");
    let session = "3e9f0a55-1c2d-4b6e-8f7a-0a1b2c3d4e5f";
    let path = dir
        .join("-home-dev-src-notes")
        .join(format!("{session}.jsonl"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let line = |kind: &str, at: &str, content: Value| {
        json!({"type": kind, "sessionId": session, "cwd": "/home/dev/src/notes", "timestamp": at,
            "message": {"id": format!("m-{at}"), "role": kind, "content": content}})
        .to_string()
            + "\n"
    };
    let text = [
        line(
            "user",
            "2025-05-01T10:00:00Z",
            json!("Summarise the meeting notes"),
        ),
        line(
            "assistant",
            "2025-05-01T10:00:05Z",
            json!([{"type": "text", "text": "Three decisions were taken."}]),
        ),
        line(
            "user",
            "2025-05-01T10:01:00Z",
            json!("Which one is the riskiest?"),
        ),
        line(
            "assistant",
            "2025-05-01T10:01:04Z",
            json!([{"type": "text", "text": "The database move."}]),
        ),
    ]
    .concat();
    fs::write(&path, text).unwrap(); // written just now: a live session
    let live = import(&env, &dir);
    assert_eq!(live.prompts, 1, "{live:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'SessionEnd'"),
        0
    );
    let status: String = env
        .db()
        .query_row("SELECT status FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "active");

    age(&path); // the session is over
    let finished = import(&env, &dir);
    assert_eq!(finished.prompts, 1, "{finished:?}");
    assert_eq!(finished.duplicates, 0, "{finished:?}");
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 2);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'Stop'"),
        2
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'SessionStart'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'SessionEnd'"),
        1
    );
}

#[test]
fn one_projects_folder_imports_its_transcripts() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    // `~/.claude/projects/-home-dev-src-shop`: the transcripts sit directly
    // in it, the session's subagents one folder down.
    let shop = dir.join("-home-dev-src-shop");
    let counts = import(&env, &shop);
    assert_eq!(counts.transcripts, 2, "{counts:?}");
    assert_eq!(counts.transcripts_read, 2, "{counts:?}");
    assert!(counts.prompts > 0, "{counts:?}");
    let roots = || {
        let db = env.db();
        let mut query = db
            .prepare("SELECT DISTINCT pr.root FROM prompts p JOIN sessions s ON s.id = p.session_id JOIN projects pr ON pr.id = s.project_id")
            .unwrap();
        query
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(roots(), ["/home/dev/src/shop"], "only that project's");

    // The same folder again adds nothing; the whole directory adds the rest.
    let again = import(&env, &shop);
    assert_eq!(again.transcripts_unchanged, 2, "{again:?}");
    assert_eq!(again.prompts, 0, "{again:?}");
    import(&env, &dir);
    assert_eq!(roots().len(), 2);
}
