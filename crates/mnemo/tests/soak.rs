//! Soak: eight Claude Code sessions fire hooks side by side while `mnemo
//! serve` answers the viewer's requests and two `mnemo mcp` clients search,
//! then an exact accounting: every acknowledged event stored once, every
//! closed episode compressed once, no "database is locked" shown to the
//! agent, every search answered, no process left behind.
//!
//! CI runs a short soak (4 turns per session). For a long one:
//! `MNEMO_SOAK_TURNS=200 cargo test --release -p mnemo --test integration soak:: -- --nocapture`.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::mcp_client::{call, connect, text};
use common::*;
use serde_json::{Value, json};

const SESSIONS: usize = 8;
const TOOLS: [&str; 3] = ["Bash", "Edit", "Read"];
const WORDS: [&str; 8] = [
    "parser", "cache", "retry", "schema", "router", "billing", "upload", "metrics",
];

/// A small deterministic generator (no dependency for a few dice rolls).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn tool_payload(session: &str, cwd: &str, tool: &str, id: &str, word: &str) -> Value {
    let (input, response) = match tool {
        "Bash" => (
            json!({"command": format!("pytest tests/test_{word}.py -q")}),
            json!({"stdout": format!("3 passed in 0.41s ({word})"), "stderr": "", "interrupted": false}),
        ),
        "Edit" => (
            json!({"file_path": format!("{cwd}/src/{word}.py"), "old_string": "return None",
                   "new_string": format!("return {word}_default()")}),
            json!({"filePath": format!("{cwd}/src/{word}.py")}),
        ),
        _ => (
            json!({"file_path": format!("{cwd}/src/{word}.py")}),
            json!({"type": "text", "file": {"filePath": format!("{cwd}/src/{word}.py"),
                   "content": format!("def {word}():\n    return None\n")}}),
        ),
    };
    json!({"session_id": session, "cwd": cwd, "hook_event_name": "PostToolUse",
           "tool_name": tool, "tool_use_id": id, "tool_input": input, "tool_response": response})
}

/// What one session did: tool events fired, turns, and hook problems.
#[derive(Default)]
struct Fired {
    tool_ids: Vec<String>,
    turns: usize,
    problems: Vec<String>,
}

fn run_session(env: &Env, index: usize, turns: usize) -> Fired {
    let session = format!("soak-{index}");
    let cwd = env.project.to_str().unwrap().to_string();
    let mut dice = Dice(index as u64 + 1);
    let mut fired = Fired::default();
    let fire = |payload: Value, fired: &mut Fired, pause_ms: u64| {
        let out = env.hook_raw(None, payload.to_string().as_bytes());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(0) || stderr.to_ascii_lowercase().contains("locked") {
            fired.problems.push(format!("{:?}: {stderr}", out.status));
        }
        // Sessions pause between events, as a person and a model do.
        std::thread::sleep(Duration::from_millis(2 + pause_ms));
    };
    for turn in 0..turns {
        let word = WORDS[(index + turn) % WORDS.len()];
        fire(
            json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                   "prompt": format!("make the {word} module handle empty input (turn {turn})")}),
            &mut fired,
            dice.roll(15),
        );
        for call in 0..2 + dice.roll(4) as usize {
            let id = format!("toolu_{session}_{turn}_{call}");
            let tool = TOOLS[dice.roll(3) as usize];
            let pause = dice.roll(15);
            fire(
                tool_payload(&session, &cwd, tool, &id, word),
                &mut fired,
                pause,
            );
            fired.tool_ids.push(id);
        }
        fire(
            json!({"session_id": session, "cwd": cwd, "hook_event_name": "Stop",
                   "last_assistant_message": format!("The {word} module now handles empty input.")}),
            &mut fired,
            dice.roll(15),
        );
        fired.turns += 1;
    }
    fired
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_a_server_and_two_mcp_clients_account_exactly() {
    let turns: usize = std::env::var("MNEMO_SOAK_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let env = Arc::new(Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "0"));
    let server = env.serve();
    let (first, _) = connect(&env, &[]).await;
    let (second, _) = connect(&env, &[]).await;
    let done = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    // Two MCP clients search while the sessions run.
    let mut searchers = Vec::new();
    for client in [first, second] {
        let (done, answered) = (done.clone(), answered.clone());
        searchers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let query = format!("{} empty input", WORDS[n % WORDS.len()]);
                let result = call(&client, "search", json!({"query": query, "limit": 10})).await;
                if result.is_error == Some(true) {
                    failures.push(text(&result));
                }
                answered.fetch_add(1, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            client.cancel().await.expect("close the MCP client");
            failures
        }));
    }
    // The viewer polls the API meanwhile.
    let viewer = {
        let (done, port, bearer) = (done.clone(), server.port, server.bearer());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                let path = if n % 2 == 0 {
                    "/api/observations?limit=50".to_string()
                } else {
                    format!("/api/search?q={}&limit=20", WORDS[n % WORDS.len()])
                };
                let r = http::request(port, "GET", &path, &[("Authorization", &bearer)], None);
                statuses.push(r.status);
                n += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            statuses
        })
    };

    let sessions: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || run_session(&env, i, turns))
        })
        .collect();
    let fired: Vec<Fired> = sessions.into_iter().map(|t| t.join().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    let mut search_failures = Vec::new();
    for searcher in searchers {
        search_failures.extend(searcher.await.unwrap());
    }
    let statuses = viewer.join().unwrap();
    eprintln!(
        "soak: {SESSIONS} sessions × {turns} turns in {:.1} s; {} MCP searches, {} API requests",
        started.elapsed().as_secs_f64(),
        answered.load(Ordering::Relaxed),
        statuses.len()
    );

    // The agent never saw a failure or a lock.
    let problems: Vec<&String> = fired.iter().flat_map(|f| &f.problems).collect();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(search_failures.is_empty(), "{search_failures:?}");
    assert!(answered.load(Ordering::Relaxed) > 0);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    // Anything a busy moment spooled is stored by the next hook.
    if env.spool_files() > 0 {
        let mut resume = env.fixture("session_start__startup");
        resume["session_id"] = json!("soak-0");
        env.hook(None, &resume);
    }
    assert_eq!(env.spool_files(), 0);

    let tool_ids: Vec<&String> = fired.iter().flat_map(|f| &f.tool_ids).collect();
    let turns_total: usize = fired.iter().map(|f| f.turns).sum();
    assert_eq!(turns_total, SESSIONS * turns);
    // Every acknowledged event stored exactly once; every closed episode
    // compressed once: one episode row and one summary per prompt, no
    // observation twice.
    let n = tool_ids.len() as i64;
    let t = turns_total as i64;
    for (sql, expected) in [
        ("SELECT count(*) FROM events WHERE hook = 'PostToolUse'", n),
        (
            "SELECT count(DISTINCT tool_use_id) FROM events WHERE hook = 'PostToolUse'",
            n,
        ),
        ("SELECT count(*) FROM events WHERE hook = 'Stop'", t),
        ("SELECT count(*) FROM prompts", t),
        ("SELECT count(*) FROM sessions", SESSIONS as i64),
        (
            "SELECT count(*) FROM prompts WHERE compressed_at IS NULL",
            0,
        ),
        ("SELECT count(*) FROM episodes", t),
        ("SELECT count(*) FROM summaries", t),
        (
            "SELECT count(*) FROM (SELECT 1 FROM observations
             GROUP BY coalesce(project_id, 0), content_hash HAVING count(*) > 1)",
            0,
        ),
    ] {
        assert_eq!(env.count(sql), expected, "{sql}");
    }
    assert_eq!(
        env.db()
            .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );

    // Nothing left running once the server stops.
    let mut server = server;
    assert!(server.stop_with(libc::SIGTERM).success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !env.processes().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(env.processes().is_empty(), "{:?}", env.processes());
}
