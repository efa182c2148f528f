//! `mnemo search` and `mnemo show` through the real binary, on the seed
//! scenario's memories.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

fn fib_memories() -> Env {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    for args in [vec!["ingest", fixture.to_str().unwrap()], vec!["compress"]] {
        let out = env.command(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    env
}

#[test]
fn the_fibonacci_bug_is_found_and_shown() {
    let env = fib_memories();
    let hits = env.ok_json(&[
        "search",
        "Tell me about the fibonacci bug we fixed last time",
        "--json",
    ])["items"]
        .clone();
    let first = &hits[0];
    assert_eq!(first["type"], "bugfix", "{hits}");
    let id = first["id"].as_i64().unwrap().to_string();
    let full = env.ok_json(&["show", &format!("#{id}"), "--json"]);
    let text = full[0].to_string();
    assert!(
        text.contains("RecursionError") && text.contains("ValueError"),
        "{text}"
    );
    // Filters.
    let features =
        env.ok_json(&["search", "fibonacci", "--type", "feature", "--json"])["items"].clone();
    assert!(
        features
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["type"] == "feature")
    );
    let by_file =
        env.ok_json(&["search", "--file", "test_fibonacci.py", "--json"])["items"].clone();
    assert_eq!(by_file.as_array().unwrap().len(), 1);
    // Human output points at `show`, in plain text when not on a terminal.
    let out = env.command(&["search", "recursion"]).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("mnemo show") && !printed.contains('\x1b'),
        "{printed}"
    );
    let coloured = env
        .command(&["search", "recursion"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\x1b[31mbugfix"));
}

#[test]
fn a_short_query_naming_a_kind_prefers_that_kind() {
    let env = fib_memories();
    let hits = env.ok_json(&["search", "fibonacci bug", "--json"])["items"].clone();
    assert_eq!(hits[0]["type"], "bugfix", "{hits}");
}

#[test]
fn prompts_sessions_and_dates() {
    let env = fib_memories();
    let prompts =
        env.ok_json(&["search", "--in", "prompts", "traceback", "--json"])["items"].clone();
    assert_eq!(prompts.as_array().unwrap().len(), 1, "{prompts}");
    assert!(
        prompts[0]["title"]
            .as_str()
            .unwrap()
            .contains("crashes with a giant traceback")
    );
    let sessions = env.ok_json(&["search", "--in", "sessions", "--json"])["items"].clone();
    assert_eq!(sessions.as_array().unwrap().len(), 3, "{sessions}");
    let future =
        env.ok_json(&["search", "fibonacci", "--since", "2999-01-01", "--json"])["items"].clone();
    assert_eq!(future, json!([]));
    let past =
        env.ok_json(&["search", "fibonacci", "--until", "2000-01-01", "--json"])["items"].clone();
    assert_eq!(past, json!([]));
    let all =
        env.ok_json(&["search", "fibonacci", "--since", "2000-01-01", "--json"])["items"].clone();
    assert!(!all.as_array().unwrap().is_empty());
    let out = env
        .command(&["search", "x", "--since", "last week"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since \"last week\""));
    let out = env
        .command(&["search", "--in", "prompts", "--type", "bugfix", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn any_query_text_is_safe() {
    let env = fib_memories();
    let long = "x(\"y -z:w ".repeat(1200);
    for q in [
        "\"unbalanced",
        "a:b -c (d",
        "NEAR(x y)",
        "🦀 fibonacci 🦀",
        "'; DROP TABLE observations; --",
        long.as_str(),
    ] {
        let out = env.command(&["search", q, "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{q:.40}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    }
    assert!(
        env.count("SELECT count(*) FROM observations") > 0,
        "nothing was dropped"
    );
    let out = env.command(&["show", "nope"]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn remember_and_timeline() {
    let env = fib_memories();
    let token = format!("ghp_{}", "Q1w2E3r4T5".repeat(4));
    let text =
        format!("Release builds need RUSTFLAGS=-Ctarget-cpu=native on the CI box. Token {token}");
    let remember = [
        "remember",
        &text,
        "--type",
        "decision",
        "--project",
        "/home/dev/fib-cli",
        "--json",
    ];
    let out = env.ok_json(&remember);
    let id = out["id"].as_i64().expect("stored");
    let again = env.ok_json(&remember);
    assert_eq!(again["stored"], false, "identical memory stored once");
    let full = env.ok_json(&["show", &id.to_string(), "--json"]);
    assert_eq!(full[0]["type"], "decision");
    assert_eq!(full[0]["generated_by"], "user");
    assert!(!full[0].to_string().contains(&token), "redacted");
    let hits = env.ok_json(&["search", "target-cpu native", "--json"])["items"].clone();
    assert_eq!(hits[0]["id"].as_i64(), Some(id));
    // The timeline around the bugfix shows its neighbours in order.
    let bug = env.ok_json(&["search", "fibonacci bug", "--type", "bugfix", "--json"])["items"]
        .clone()[0]["id"]
        .as_i64()
        .unwrap();
    let around = env.ok_json(&[
        "timeline",
        "--around",
        &bug.to_string(),
        "--before",
        "1",
        "--after",
        "1",
        "--json",
    ]);
    let ids: Vec<i64> = around
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], bug);
    assert!(ids[0] < bug && bug < ids[2]);
    let bad = env
        .command(&["remember", "x", "--type", "nonsense"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

const NOTES: &[&str] = &[
    "Switched the database driver from psycopg2 to asyncpg for connection pooling",
    "The login page now rejects expired passwords",
    "Fixed a crash when the user uploads an empty image",
    "Decided to use tabs for indentation in the Makefile",
];

fn remember_notes(env: &Env) {
    for note in NOTES {
        let out = env.command(&["remember", note]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn titles(hits: &Value) -> Vec<String> {
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn vectors_find_memories_that_share_no_word_with_the_query() {
    let env = Env::new();
    remember_notes(&env);
    assert_eq!(env.count("SELECT count(*) FROM observation_vectors"), 4);
    assert_eq!(env.count("SELECT count(*) FROM vector_queue"), 0);
    for (query, expected) in [
        ("authentication credentials too old", NOTES[1]),
        ("postgres library", NOTES[0]),
    ] {
        let hits = env.ok_json(&["search", query, "--json"])["items"].clone();
        assert_eq!(
            titles(&hits).first().map(String::as_str),
            Some(expected),
            "{query}: {hits}"
        );
    }
    // Rebuilding gives the same answers.
    let out = env.command(&["reindex"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("4 memories embedded with minilm-l6-static")
    );
    let hits =
        env.ok_json(&["search", "authentication credentials too old", "--json"])["items"].clone();
    assert_eq!(titles(&hits)[0], NOTES[1]);
}

#[test]
fn without_vectors_search_is_full_text_and_nothing_is_lost() {
    let off = Env::new().env("MNEMO_EMBED_BACKEND", "off");
    remember_notes(&off);
    assert_eq!(off.count("SELECT count(*) FROM observation_vectors"), 0);
    assert_eq!(
        off.ok_json(&["search", "authentication credentials too old", "--json"])["items"].clone(),
        json!([])
    );
    assert_eq!(
        titles(&off.ok_json(&["search", "expired", "--json"])["items"].clone()),
        [NOTES[1]]
    );
    let out = off.command(&["reindex"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("vector search is off"));

    // An embedding endpoint that is down: memories are kept, queued for
    // vectors, and found by full text; reindex says what is wrong.
    let down = Env::new()
        .env("MNEMO_EMBED_BACKEND", "openai")
        .env("MNEMO_EMBED_BASE_URL", "http://127.0.0.1:9")
        .env("MNEMO_EMBED_MODEL", "nomic-embed-text")
        .env("MNEMO_EMBED_DIMS", "768");
    remember_notes(&down);
    assert_eq!(down.count("SELECT count(*) FROM observations"), 4);
    assert_eq!(down.count("SELECT count(*) FROM vector_queue"), 4);
    let stats = down.ok_json(&["stats", "--json"]);
    assert_eq!(
        (stats["vectors"].as_i64(), stats["vectors_pending"].as_i64()),
        (Some(0), Some(4))
    );
    assert_eq!(
        titles(&down.ok_json(&["search", "asyncpg", "--json"])["items"].clone()),
        [NOTES[0]]
    );
    let out = down.command(&["reindex"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("mnemo: embedding endpoint unreachable"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn forget_and_undo_from_the_command_line() {
    let env = Env::new();
    remember_notes(&env);
    let hits = env.ok_json(&["search", "asyncpg", "--json"])["items"].clone();
    let id = hits[0]["id"].as_i64().unwrap().to_string();
    let out = env
        .command(&["forget", &format!("#{id}")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(&format!(
            "Forgot #{id}. Undo with: mnemo forget --undo {id}"
        )),
        "{said}"
    );
    assert_eq!(
        env.ok_json(&["search", "asyncpg", "--json"])["items"].clone(),
        json!([])
    );
    // A forgotten memory is not found, and forgetting it again is an error.
    let shown = env.command(&["show", &id, "--json"]).output().unwrap();
    assert!(!shown.status.success());
    assert_eq!(
        String::from_utf8_lossy(&shown.stderr).trim(),
        format!("mnemo: no observation #{id}")
    );
    let again = env.command(&["forget", &id]).output().unwrap();
    assert!(!again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        format!("mnemo: no live observation #{id}")
    );
    let out = env.command(&["forget", "--undo", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("Restored #{id}")));
    assert_eq!(
        titles(&env.ok_json(&["search", "asyncpg", "--json"])["items"].clone()),
        [NOTES[0]]
    );
    let bad = env.command(&["forget", "nope"]).output().unwrap();
    assert!(!bad.status.success());
}

/// A conversation imported one message per memory, as observation lines.
fn imported_chat(env: &Env) {
    let day = |d: u32| format!("2023-05-{d:02}T10:00:00Z");
    let messages = [
        (
            "m1",
            8,
            "Ana: I finally repainted the kitchen. Do you keep any pets at home?",
        ),
        ("m2", 8, "Ben: We got another cat named Bailey last spring."),
        (
            "m3",
            8,
            "Ana: Pets at the shelter need homes too, I keep visiting them.",
        ),
        (
            "m4",
            9,
            "Ben: The vet said pets need their shots every year.",
        ),
        ("m5", 9, "Ana: My neighbour keeps pets in a tiny flat."),
        ("m6", 20, "Ben: Went hiking by the lake with my brother."),
        ("m7", 25, "Ben: Went hiking by the lake again, in the rain."),
    ];
    let lines: String = messages
        .iter()
        .map(|(id, d, text)| {
            let line = json!({
                "project": "/chat",
                "title": text.split(". ").next().unwrap(),
                "narrative": text,
                "created_at": day(*d),
                "ref": id,
            });
            format!("{line}\n")
        })
        .collect();
    let file = env.tmp.path().join("chat.jsonl");
    std::fs::write(&file, lines).unwrap();
    env.ok(&["import", "--format", "jsonl", file.to_str().unwrap()]);
}

fn refs(env: &Env, query: &str) -> Vec<String> {
    let hits = env.ok_json(&["search", "--json", "--project", "/chat", query])["items"].clone();
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["ref"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn in_an_imported_chat_the_reply_to_a_question_answers_it() {
    let env = Env::new();
    imported_chat(&env);
    // The reply shares no word with the search; the question before it does.
    let found = refs(&env, "Which pets does he keep at home?");
    assert!(found.iter().take(3).any(|r| r == "m2"), "{found:?}");
    // A date in the search favours that day's messages.
    assert_eq!(
        refs(&env, "Where did Ben go hiking on 25 May, 2023?")[0],
        "m7"
    );
    assert_eq!(
        refs(&env, "Where did Ben go hiking on 20 May, 2023?")[0],
        "m6"
    );
}

#[test]
fn a_word_finds_its_forms_the_stemmer_keeps_apart() {
    let env = Env::new();
    let project = env.project.to_str().unwrap();
    let out = env.ok_json(&[
        "remember",
        "The worker panicked on an empty queue; a guard now returns early.",
        "--project",
        project,
        "--json",
    ]);
    let id = format!("#{}", out["id"].as_i64().expect("stored"));
    for query in ["panic", "panics", "panicking", "panicked"] {
        let found = env.ok(&["search", query, "--project", project]);
        assert!(found.contains(&id), "{query:?} finds {id}:\n{found}");
    }
}
