//! `mnemo import claude-code`: Claude Code transcripts (fixtures written in
//! the real format, see fixtures/claude-code/README.md, and generated ones)
//! replayed into the real database by the real binary.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, SystemTime};

use common::{Env, all_bytes, contains};
use serde_json::{Value, json};

/// hook, tool, subagent, time, prompt text.
type EventRow = (String, Option<String>, Option<String>, i64, String);

const SHOP_SESSION: &str = "7d3e2a10-5b4c-4f1e-9a2d-0c8b6e4f1a21";
const LEDGER_SESSION: &str = "0b6f9c44-2e71-4d8a-b3c5-91e7d2a4f608";

/// Built here so no key-shaped string sits in the repository.
fn aws_key() -> String {
    format!("AKIA{}", "Q7ZK3M2P9XW4T6RB")
}

/// Unix ms of an ISO time.
fn ms(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .timestamp_millis()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Mark `path` (every file under it) as last written an hour ago: finished sessions.
fn age(path: &Path) {
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap().flatten() {
            age(&entry.path());
        }
        return;
    }
    let then = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

/// The fixture transcripts copied under the env's temp dir (with a secret
/// planted in a Bash output), aged so they read as finished.
fn fixture_dir(env: &Env) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code/projects");
    let to = env.tmp.path().join("claude/projects");
    copy_dir(&from, &to);
    age(&to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            let text = fs::read_to_string(entry.path()).unwrap();
            fs::write(&target, text.replace("__AWS_KEY__", &aws_key())).unwrap();
        }
    }
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

fn import_json(env: &Env, dir: &Path) -> Value {
    let out = import(env, &[dir.to_str().unwrap(), "--json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every row of the tables an import writes, as text, for comparing databases.
fn dump(env: &Env) -> String {
    let db = env.db();
    let mut out = String::new();
    for (table, order) in [
        ("projects", "id"),
        ("sessions", "id"),
        ("prompts", "id"),
        ("events", "id"),
        ("episodes", "prompt_id"),
        ("observations", "id"),
        ("summaries", "id"),
        ("transcript_imports", "path"),
    ] {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut row = Vec::new();
                for i in 0..columns {
                    row.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(row.join("|"))
            })
            .unwrap();
        for row in rows {
            writeln!(out, "{table}: {}", row.unwrap()).unwrap();
        }
    }
    out
}

#[test]
fn a_transcript_dir_becomes_sessions_prompts_events_and_memories_at_their_times() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    let counts = import_json(&env, &dir);
    assert_eq!(counts["transcripts"], 4, "{counts}");
    assert_eq!(counts["sessions"], 2, "{counts}");
    assert_eq!(counts["prompts"], 4, "{counts}");
    assert_eq!(
        counts["lines_broken"], 2,
        "a broken line and a cut-off last line: {counts}"
    );
    assert_eq!(counts["lines_unknown"], 1, "{counts}");

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
    assert_eq!(counts["observations"], observations.len() as i64);
    let summaries = env.count("SELECT count(*) FROM summaries");
    assert_eq!(summaries, 4);
    assert_eq!(counts["summaries"], summaries);
    let summary_at: i64 = db
        .query_row(
            "SELECT s.created_at FROM summaries s JOIN prompts p ON p.id = s.prompt_id WHERE p.n = 1
               AND p.text LIKE 'Why does checkout%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(summary_at, ms("2025-03-04T09:00:45.200Z"));

    let out = env
        .command(&["search", "cart limit off-by-one", "--json"])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(
        found.contains("cart"),
        "search finds the imported work: {found}"
    );

    drop(db);
    let written = all_bytes(&env.home);
    assert!(
        !contains(&written, &aws_key()),
        "the planted key reached the data dir"
    );
}

#[test]
fn a_second_import_adds_nothing_and_a_grown_transcript_adds_only_its_new_turn() {
    let env = Env::new();
    let dir = fixture_dir(&env);
    import_json(&env, &dir);
    let before = dump(&env);
    let again = import_json(&env, &dir);
    assert_eq!(again["transcripts_unchanged"], 4, "{again}");
    assert_eq!(again["prompts"], 0);
    assert_eq!(dump(&env), before, "a second import changed the database");

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
    let grown = import_json(&env, &dir);
    assert_eq!(grown["transcripts_read"], 1, "{grown}");
    assert_eq!(grown["prompts"], 1);
    assert_eq!(grown["tool_events"], 1);
    assert_eq!(grown["duplicates"], 0);
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
    let third = import_json(&env, &dir);
    assert_eq!(third["transcripts_unchanged"], 4, "{third}");
}
