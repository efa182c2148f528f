//! The memory commands as a person meets them: which projects they cover,
//! the ids they print and accept, "not found", and how search says more
//! results exist. The real binary, run from the directories a person would
//! run it in.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::{Value, json};

/// Two projects, `shop` (the env's) and `blog`, each with a note about
/// its cache.
fn two_projects() -> (Env, PathBuf) {
    let env = Env::new();
    let blog = env.tmp.path().join("blog");
    std::fs::create_dir(&blog).unwrap();
    git_init(&blog);
    let blog = blog.canonicalize().unwrap();
    for (project, note) in [
        (&env.project, "Shop cache keys include the currency code"),
        (&blog, "Blog cache entries expire after one hour"),
    ] {
        env.ok(&["remember", "--project", project.to_str().unwrap(), note]);
    }
    (env, blog)
}

/// `mnemo <args>` run in `dir`.
fn run_in(env: &Env, dir: &Path, args: &[&str]) -> Output {
    env.command(args).current_dir(dir).output().unwrap()
}

fn stdout_in(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = run_in(env, dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_in(env: &Env, dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&stdout_in(env, dir, args)).unwrap()
}

/// The `project` of each item.
fn projects(items: &Value) -> Vec<String> {
    let mut roots: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["project"].as_str().unwrap().to_string())
        .collect();
    roots.sort();
    roots
}

/// A failed command's stderr, which must be one line.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn memory_commands_cover_the_current_project_unless_told_otherwise() {
    let (env, blog) = two_projects();
    let shop = env.project.to_str().unwrap().to_string();
    let blog_root = blog.to_str().unwrap().to_string();
    let inside = env.project.join("shop"); // a subdirectory of the project

    // Inside a project: that project, and the lines need not name it.
    let here = json_in(&env, &inside, &["search", "cache", "--json"]);
    assert_eq!(projects(&here["items"]), [shop.as_str()], "{here}");
    assert_eq!(here["project"], shop.as_str());
    let text = stdout_in(&env, &inside, &["search", "cache"]);
    assert!(
        !text.contains(&blog_root) && !text.contains(" · "),
        "{text}"
    );
    let timeline = json_in(&env, &inside, &["timeline", "--json"]);
    assert_eq!(projects(&timeline), [shop.as_str()]);

    // Every project: each result names its own.
    let mut both = vec![blog_root.clone(), shop.clone()];
    both.sort();
    for (dir, args) in [
        (inside.as_path(), vec!["search", "cache", "--all-projects"]),
        (env.tmp.path(), vec!["search", "cache"]), // outside any project
    ] {
        let mut json_args = args.clone();
        json_args.push("--json");
        let found = json_in(&env, dir, &json_args);
        assert_eq!(projects(&found["items"]), both, "{args:?} in {dir:?}");
        assert_eq!(found["project"], Value::Null);
        let text = stdout_in(&env, dir, &args);
        let line = |title: &str| {
            text.lines()
                .find(|l| l.contains(title))
                .unwrap_or_else(|| panic!("{title} in {text}"))
                .to_string()
        };
        assert!(
            line("Shop cache").ends_with(&format!(" · {shop}")),
            "{text}"
        );
        assert!(
            line("Blog cache").ends_with(&format!(" · {blog_root}")),
            "{text}"
        );
    }
    let timeline = json_in(&env, &inside, &["timeline", "--all-projects", "--json"]);
    assert_eq!(projects(&timeline), both);

    // Export follows the same rule, and its report says whose records it wrote.
    let exported = run_in(&env, &inside, &["export"]);
    let (records, report) = (
        String::from_utf8_lossy(&exported.stdout),
        String::from_utf8_lossy(&exported.stderr),
    );
    assert!(records.contains("Shop cache") && !records.contains("Blog cache"));
    assert!(
        report.contains(&format!("of {shop} (--all-projects exports every project)")),
        "{report}"
    );
    let everything = run_in(&env, &inside, &["export", "--all-projects"]);
    let records = String::from_utf8_lossy(&everything.stdout);
    assert!(records.contains("Shop cache") && records.contains("Blog cache"));
    assert!(String::from_utf8_lossy(&everything.stderr).contains("of every project"));

    // A note written inside a project belongs to it; a project's name works
    // where its directory would.
    let stored = json_in(&env, &inside, &["remember", "--json", "Shop carts expire"]);
    assert_eq!(stored["project"], shop.as_str());
    let by_name = json_in(
        &env,
        env.tmp.path(),
        &["search", "cache", "--project", "blog", "--json"],
    );
    assert_eq!(projects(&by_name["items"]), [blog_root]);
}

#[test]
fn a_project_that_does_not_exist_is_an_error() {
    let (env, _) = two_projects();
    let file = env.tmp.path().join("notes.txt");
    std::fs::write(&file, "not a project").unwrap();
    let file = file.to_str().unwrap();
    for args in [
        vec!["search", "cache"],
        vec!["timeline"],
        vec!["context"],
        vec!["remember", "a note"],
        vec!["export"],
    ] {
        for project in ["/nonexistent/project", file] {
            let mut args = args.clone();
            args.extend(["--project", project]);
            let err = one_line_error(&run_in(&env, env.tmp.path(), &args));
            assert!(
                err.starts_with("mnemo: ") && err.contains(project),
                "{args:?}: {err}"
            );
        }
    }
    // The MCP server refuses to start on a project that does not exist.
    let mcp = env
        .command(&["mcp", "--project", "/nonexistent/project"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(one_line_error(&mcp).contains("/nonexistent/project"));
    let both = run_in(
        &env,
        env.tmp.path(),
        &["search", "x", "--project", ".", "--all-projects"],
    );
    assert_eq!(both.status.code(), Some(2), "a usage error");
}

/// The fib scenario, ingested and compressed: observations, summaries and
/// prompts.
fn fib_memories() -> Env {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    env.ok(&["ingest", fixture.to_str().unwrap()]);
    env.ok(&["compress"]);
    env
}

#[test]
fn every_printed_id_is_accepted() {
    let env = fib_memories();
    let dir = env.tmp.path();
    let sessions = json_in(
        &env,
        dir,
        &["search", "--in", "sessions", "fibonacci", "--json"],
    );
    let summary = sessions["items"][0]["id"].as_i64().unwrap();
    let printed = stdout_in(&env, dir, &["search", "--in", "sessions", "fibonacci"]);
    assert!(printed.contains(&format!("#S{summary}")), "{printed}");
    let prompts = json_in(
        &env,
        dir,
        &["search", "--in", "prompts", "traceback", "--json"],
    );
    let prompt = prompts["items"][0]["id"].as_i64().unwrap();

    let shown = stdout_in(&env, dir, &["show", &format!("#S{summary}")]);
    assert!(
        shown.starts_with(&format!("#S{summary} session summary")),
        "{shown}"
    );
    assert!(
        shown.contains("mnemo show "),
        "points at the turn's memories: {shown}"
    );
    let shown = json_in(&env, dir, &["show", &format!("P{prompt}"), "--json"]);
    assert_eq!(shown[0]["kind"], "prompt");
    assert!(shown[0]["title"].as_str().unwrap().contains("traceback"));

    for id in [format!("#S{summary}"), format!("#P{prompt}")] {
        let around = json_in(&env, dir, &["timeline", "--around", &id, "--json"]);
        assert!(!around.as_array().unwrap().is_empty(), "{id}: {around}");
    }
    let err = one_line_error(&run_in(&env, dir, &["show", "#S99999"]));
    assert_eq!(err, "mnemo: no session summary #S99999");
    let err = one_line_error(&run_in(&env, dir, &["timeline", "--around", "#P99999"]));
    assert_eq!(err, "mnemo: no prompt #P99999");
}

#[test]
fn not_found_is_an_error_with_one_clear_line() {
    let env = fib_memories();
    let dir = env.tmp.path();
    let usage = run_in(&env, dir, &["show"]);
    assert_eq!(usage.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&usage.stderr).contains("Usage"));
    for (args, said) in [
        (vec!["show", "99"], "mnemo: no observation #99"),
        (vec!["show", "#99", "#98"], "mnemo: no observation #99, #98"),
        (vec!["forget", "99"], "mnemo: no live observation #99"),
        (
            vec!["forget", "--undo", "99"],
            "mnemo: no forgotten observation #99",
        ),
        (
            vec!["timeline", "--around", "999"],
            "mnemo: no observation #999",
        ),
    ] {
        assert_eq!(one_line_error(&run_in(&env, dir, &args)), said, "{args:?}");
    }
    let err = one_line_error(&run_in(&env, dir, &["show", "fib"]));
    assert!(err.contains("\"fib\" is not an id"), "{err}");
    // Found and missing together: what exists is shown, and the exit says
    // what was not.
    let out = run_in(&env, dir, &["show", "1", "99"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("#1 "));
    assert_eq!(one_line_error(&out), "mnemo: no observation #99");
}

#[test]
fn search_says_when_more_results_exist() {
    let env = Env::new();
    for i in 0..12 {
        env.ok(&[
            "remember",
            "--project",
            env.project.to_str().unwrap(),
            &format!("Zebra crossing number {i} was repainted"),
        ]);
    }
    let dir = env.project.as_path();
    let first = stdout_in(&env, dir, &["search", "zebra", "--limit", "5"]);
    assert!(
        first.ends_with("… 7 more; --limit or --offset to see them\n"),
        "{first}"
    );
    let json = json_in(&env, dir, &["search", "zebra", "--limit", "5", "--json"]);
    assert_eq!(json["items"].as_array().unwrap().len(), 5);
    assert_eq!(json["more"], json!({"count": 7, "at_least": false}));
    let last = stdout_in(
        &env,
        dir,
        &["search", "zebra", "--limit", "5", "--offset", "10"],
    );
    assert!(!last.contains("more;"), "{last}");
    let json = json_in(&env, dir, &["search", "zebra", "--offset", "10", "--json"]);
    assert_eq!(json["more"]["count"], 0);
    let nothing = stdout_in(&env, dir, &["search", "giraffe"]);
    assert!(
        nothing.contains("--all-projects"),
        "says how to widen: {nothing}"
    );
}

/// What `ingest`, `compress` and `stats` print about the work they did
/// (what that work stores is tested in process, in the app's tests).
#[test]
fn batch_commands_report_what_they_did() {
    let env = Env::new();
    let lines: Vec<String> = std::fs::read_to_string(fixtures_dir().join("session.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut payload: Value = serde_json::from_str(line).unwrap();
            payload["cwd"] = json!(env.project.to_str().unwrap());
            payload.to_string()
        })
        .collect();
    let input = env.tmp.path().join("session-input.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = env.ok(&["ingest", input.to_str().unwrap()]);
    assert!(
        out.contains("2 episodes compressed into"),
        "ingest says what compression made: {out}"
    );
    let again = env.ok(&["ingest", input.to_str().unwrap()]);
    assert!(again.contains("0 episodes compressed"), "{again}");
    let out = env.ok(&["compress"]);
    assert!(out.starts_with("0 episodes"), "{out}");
    let stats = env.ok_json(&["stats", "--json"]);
    assert_eq!(stats["summaries"], 2);
    assert!(stats["observations"].as_i64().unwrap() >= 2);
    assert_eq!(stats["llm_tokens_today"], 0);
    assert_eq!(stats["events_pending"], 0);
}

/// `mnemo context` prints exactly what a new session in the project is told.
#[test]
fn context_prints_what_a_new_session_is_told() {
    let env = fib_memories();
    let mut start = env.fixture("session_start__startup");
    start["cwd"] = json!("/home/dev/fib-cli");
    start["session_id"] = json!("new-session");
    let out = env.hook(Some("session-start"), &start);
    let told: Value = serde_json::from_slice(&out.stdout).unwrap();
    let context = told["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.starts_with("<mnemo-context>"), "{context}");
    let printed = env.ok(&["context", "--project", "/home/dev/fib-cli"]);
    assert_eq!(printed.trim_end(), context);
}
