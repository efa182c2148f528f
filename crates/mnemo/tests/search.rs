//! What the memory commands print and exit with: `mnemo search` (plain text
//! that points at `show`, colour only when asked) and its flags' errors,
//! `remember`, `show`, `forget` and its undo, and `reindex` with vectors on,
//! off and unreachable. What they find and store is tested in process, in
//! the app's tests (`crates/app/tests/memory.rs`).

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn fib_memories() -> Env {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    env.ok(&["ingest", fixture.to_str().unwrap()]);
    env.ok(&["compress"]);
    env
}

/// A command that must fail with one line on stderr; that line.
fn one_line_error(env: &Env, args: &[&str]) -> String {
    let out = env.command(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    stderr
}

#[test]
fn search_points_at_show_and_colours_only_when_asked() {
    let env = fib_memories();
    // Human output points at `show`, in plain text when not on a terminal.
    let printed = env.ok(&["search", "recursion"]);
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
    // Flags that cannot work are refused, saying which.
    let err = one_line_error(&env, &["search", "x", "--since", "last week"]);
    assert!(err.contains("--since \"last week\""), "{err}");
    one_line_error(
        &env,
        &["search", "--in", "prompts", "--type", "bugfix", "x"],
    );
    one_line_error(&env, &["show", "nope"]);
}

const NOTES: &[&str] = &[
    "Switched the database driver from psycopg2 to asyncpg for connection pooling",
    "The login page now rejects expired passwords",
];

fn remember_notes(env: &Env) {
    for note in NOTES {
        env.ok(&["remember", note]);
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
fn remember_forget_and_undo_say_what_they_did() {
    let env = Env::new();
    remember_notes(&env);
    let again = env.ok_json(&["remember", NOTES[0], "--json"]);
    assert_eq!(again["stored"], false, "identical memory stored once");
    one_line_error(&env, &["remember", "x", "--type", "nonsense"]);

    let hits = env.ok_json(&["search", "asyncpg", "--json"])["items"].clone();
    let id = hits[0]["id"].as_i64().unwrap().to_string();
    let said = env.ok(&["forget", &format!("#{id}")]);
    assert!(
        said.starts_with(&format!(
            "Forgot #{id}. Undo with: mnemo forget --undo {id}"
        )),
        "{said}"
    );
    assert_eq!(
        titles(&env.ok_json(&["search", "asyncpg", "--json"])["items"]).len(),
        0
    );
    assert_eq!(
        one_line_error(&env, &["show", &id, "--json"]),
        format!("mnemo: no observation #{id}")
    );
    assert_eq!(
        one_line_error(&env, &["forget", &id]),
        format!("mnemo: no live observation #{id}")
    );
    let restored = env.ok(&["forget", "--undo", &id]);
    assert!(
        restored.starts_with(&format!("Restored #{id}")),
        "{restored}"
    );
    assert_eq!(
        titles(&env.ok_json(&["search", "asyncpg", "--json"])["items"]),
        [NOTES[0]]
    );
    one_line_error(&env, &["forget", "nope"]);
}

#[test]
fn reindex_says_what_it_embedded_or_why_it_cannot() {
    let env = Env::new();
    remember_notes(&env);
    let out = env.ok(&["reindex"]);
    assert!(
        out.starts_with("2 memories embedded with minilm-l6-static"),
        "{out}"
    );
    // Rebuilding gives the same answers.
    let hits =
        env.ok_json(&["search", "authentication credentials too old", "--json"])["items"].clone();
    assert_eq!(titles(&hits)[0], NOTES[1]);

    let off = Env::new().env("MNEMO_EMBED_BACKEND", "off");
    remember_notes(&off);
    let err = one_line_error(&off, &["reindex"]);
    assert!(err.contains("vector search is off"), "{err}");

    // An embedding endpoint that is down: reindex says what is wrong.
    let down = Env::new()
        .env("MNEMO_EMBED_BACKEND", "openai")
        .env("MNEMO_EMBED_BASE_URL", "http://127.0.0.1:9")
        .env("MNEMO_EMBED_MODEL", "nomic-embed-text")
        .env("MNEMO_EMBED_DIMS", "768");
    remember_notes(&down);
    let err = one_line_error(&down, &["reindex"]);
    assert!(
        err.starts_with("mnemo: embedding endpoint unreachable"),
        "{err}"
    );
}
