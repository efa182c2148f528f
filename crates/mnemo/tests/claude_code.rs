//! mnemo inside the real Claude Code CLI (the npm package pinned in
//! `tests/claude-code/`), headless (`claude -p`), against a mock Messages
//! API on loopback that plays a scripted model. Both ways of registering
//! mnemo are covered: `mnemo install` and the plugin of this repository.
//!
//! The sessions: the fibonacci story of `mnemo demo` (three prompts, the
//! model's tool calls and closing messages taken from the recorded
//! session), a session that reads a file mnemo knows about, and a recall
//! session that finds mnemo's MCP tools through ToolSearch and calls search
//! then get_observations. Enrichment goes through the real CLI
//! (`[llm] backend = "claude-cli"`).
//!
//! Assertions come from the database and from the requests the mock
//! received. Without the package (`npm ci` in `tests/claude-code/`) each
//! test prints a SKIPPED line to stderr and passes, unless
//! `MNEMO_REQUIRE_CLAUDE=1` (set by `.ci/run`).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::claude_code::{ClaudeCode, Route, claude_or_skip};
use common::llm::good_answer;
use common::messages_api::{Recorded, Script, Step, tool_results, user_texts};
use serde_json::{Value, json};

/// The project directory of the recorded fibonacci session.
const RECORDED_PROJECT: &str = "/home/dev/fib-cli";

const RECALL_PROMPT: &str = "Tell me about the fibonacci bug we fixed";
/// Worded so that prompt recall stays quiet and the note before the Read is
/// what brings the file's memories (a memory given once is not given again).
const READ_PROMPT: &str = "Summarize the script in this folder";
const HELLO_PROMPT: &str = "Say hello; this session does no work";

/// The opening of Claude Code's own agent system prompt.
const CLAUDE_CODE_AGENT_PROMPT: &str = "You are an agent working with the user";

/// How long enrichment and the processes of a session may take to finish
/// after the last session ended.
const SETTLE: Duration = Duration::from_secs(60);

/// Broken properties, collected so that one run reports all of them.
type Problems = Vec<String>;

/// Record a problem unless `condition` holds.
macro_rules! check {
    ($problems:expr, $condition:expr, $($message:tt)+) => {
        if !$condition {
            $problems.push(format!($($message)+));
        }
    };
}

/// The fibonacci story as (prompt, model steps), from the recorded session
/// `mnemo demo` replays: each prompt's tool calls (paths moved into
/// `project`), then its closing message.
fn fibonacci_story(project: &str) -> Vec<(String, Vec<Step>)> {
    let recorded = include_str!("../../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    let mut story: Vec<(String, Vec<Step>)> = Vec::new();
    for line in recorded.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value = serde_json::from_str(&line.replace(RECORDED_PROJECT, project)).unwrap();
        match event["hook_event_name"].as_str().unwrap() {
            "UserPromptSubmit" => {
                story.push((event["prompt"].as_str().unwrap().into(), Vec::new()))
            }
            "PreToolUse" => story.last_mut().unwrap().1.push(Step::tool(
                event["tool_name"].as_str().unwrap(),
                event["tool_input"].clone(),
            )),
            "Stop" => story.last_mut().unwrap().1.push(Step::Say(
                event["last_assistant_message"].as_str().unwrap().into(),
            )),
            _ => {}
        }
    }
    story
}

/// Observation ids (`#12`) in `text`.
fn hash_ids(text: &str) -> Vec<i64> {
    text.split('#')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// The recall session: ToolSearch loads mnemo's tools, then search, then
/// get_observations of the ids search returned, then an answer.
fn recall_steps(route: Route) -> Vec<Step> {
    let prefix = route.mcp_prefix();
    vec![
        Step::tool(
            "ToolSearch",
            json!({"query": format!("select:{prefix}search,{prefix}get_observations"), "max_results": 5}),
        ),
        Step::tool(
            &format!("{prefix}search"),
            json!({"query": "fibonacci negative recursion"}),
        ),
        Step::tool_with(&format!("{prefix}get_observations"), |request| {
            let results = tool_results(request);
            let ids = hash_ids(results.last().map(String::as_str).unwrap_or_default());
            json!({"ids": ids})
        }),
        Step::Say(
            "From memory: fibonacci() recursed forever on negative n; it now raises ValueError."
                .into(),
        ),
    ]
}

/// What the `n`-th enrichment call answers: a valid enrichment of any
/// episode, numbered so that no two are the same memory.
fn enrichment(n: usize) -> Value {
    let mut answer: Value = serde_json::from_str(&good_answer()).unwrap();
    answer["observations"][0]["title"] =
        json!(format!("fib() rejects negative n (enrichment {n})"));
    // The files of this project, so that what enrichment writes still
    // answers the note before a Read of them.
    answer["observations"][0]["files_modified"] = json!(["fibonacci.py"]);
    answer["summary"]["investigated"] = json!("fibonacci.py");
    answer
}

/// A HOME with mnemo registered by `route` and the model's scripts.
fn setup(claude: std::path::PathBuf, route: Route) -> ClaudeCode {
    let mut cc = ClaudeCode::new(claude);
    for (key, value) in [
        ("GIT_AUTHOR_NAME", "test"),
        ("GIT_AUTHOR_EMAIL", "test@mnemo.invalid"),
        ("GIT_COMMITTER_NAME", "test"),
        ("GIT_COMMITTER_EMAIL", "test@mnemo.invalid"),
    ] {
        cc.envs.push((key.into(), value.into()));
    }
    cc.register(route);
    let project = cc.project.to_str().unwrap().to_string();
    for (prompt, steps) in fibonacci_story(&project) {
        cc.api.script(Script { prompt, steps });
    }
    cc.api.script(Script {
        prompt: READ_PROMPT.into(),
        steps: vec![
            Step::tool(
                "Read",
                json!({"file_path": format!("{project}/fibonacci.py")}),
            ),
            Step::Say("It prints the n-th Fibonacci number and rejects negative n.".into()),
        ],
    });
    cc.api.script(Script {
        prompt: RECALL_PROMPT.into(),
        steps: recall_steps(route),
    });
    cc.api.script(Script {
        prompt: HELLO_PROMPT.into(),
        steps: vec![Step::Say("Hello.".into())],
    });
    cc.api.structured_answer(enrichment);
    cc
}

/// Run one headless session, which must exit 0; its Claude Code session id
/// (from the requests it made).
fn run_session(cc: &ClaudeCode, prompt: &str) -> String {
    let before = cc.api.requests().len();
    let run = cc.session(prompt, &[]);
    assert!(
        run.status.success(),
        "claude -p {prompt:?}: {}\n{}",
        run.stdout,
        run.stderr
    );
    let requests = cc.api.requests();
    let ours = requests[before..]
        .iter()
        .find(|r| asks(r, prompt))
        .unwrap_or_else(|| panic!("no request of the session {prompt:?} reached the mock"));
    let user_id: Value =
        serde_json::from_str(ours.body["metadata"]["user_id"].as_str().unwrap()).unwrap();
    user_id["session_id"].as_str().unwrap().to_string()
}

/// Whether `request` belongs to the conversation started by `prompt` (a
/// user text block of exactly that text; tool results may quote it).
fn asks(request: &Recorded, prompt: &str) -> bool {
    request.is_messages()
        && !request.is_structured()
        && user_texts(&request.body).iter().any(|t| t.trim() == prompt)
}

/// The model-facing requests (not enrichment) of the conversation that
/// started with `prompt`.
fn conversation(cc: &ClaudeCode, prompt: &str) -> Vec<Recorded> {
    cc.api
        .requests()
        .into_iter()
        .filter(|r| asks(r, prompt))
        .collect()
}

/// The tool calls the mock made the model issue, by tool_use id.
fn tool_calls(cc: &ClaudeCode) -> BTreeMap<String, String> {
    let mut calls = BTreeMap::new();
    for request in cc.api.requests() {
        for message in request.body["messages"].as_array().into_iter().flatten() {
            for block in message["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_use" {
                    calls.insert(
                        block["id"].as_str().unwrap().to_string(),
                        block["name"].as_str().unwrap().to_string(),
                    );
                }
            }
        }
    }
    calls
}

fn is_mnemo_tool(name: &str) -> bool {
    name.starts_with(Route::Install.mcp_prefix()) || name.starts_with(Route::Plugin.mcp_prefix())
}

/// Every hook event of every session is in the store, once: SessionStart,
/// UserPromptSubmit, Stop and SessionEnd per session, and a PostToolUse (or
/// PostToolUseFailure) for each tool call that was work, none for mnemo's
/// own MCP tools.
fn check_every_event_stored(cc: &ClaudeCode, sessions: &[String], problems: &mut Problems) {
    let db = cc.db();
    for session in sessions {
        let count = |hook: &str| -> i64 {
            db.query_row(
                "SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id
                 WHERE s.agent_session_id = ?1 AND e.hook = ?2",
                (session, hook),
                |r| r.get(0),
            )
            .unwrap()
        };
        for hook in ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"] {
            let n = count(hook);
            check!(
                problems,
                n == 1,
                "{n} {hook} events stored for session {session}, expected 1"
            );
        }
    }
    let stored: BTreeSet<String> = db
        .prepare("SELECT tool_use_id FROM events WHERE hook IN ('PostToolUse', 'PostToolUseFailure') AND tool_use_id IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, name) in tool_calls(cc) {
        if name == "ToolSearch" || is_mnemo_tool(&name) {
            continue;
        }
        check!(
            problems,
            stored.contains(&id),
            "no PostToolUse stored for {name} {id}"
        );
    }
    // mnemo's own MCP calls are kept as a record of what was recalled, never
    // with what they returned: recall must not become memory.
    let own_with_answers: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE tool_name LIKE 'mcp\\_\\_%mnemo%' ESCAPE '\\'
             AND json_extract(payload, '$.tool_response') IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    check!(
        problems,
        own_with_answers == 0,
        "{own_with_answers} of mnemo's own MCP calls were stored with what they returned"
    );
    let phantom: i64 = db
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    check!(
        problems,
        phantom == sessions.len() as i64,
        "{phantom} sessions in the store for {} run",
        sessions.len()
    );
}

/// Hook context reached the model: SessionStart in every conversation,
/// UserPromptSubmit in the recall session, the PreToolUse note on reading
/// a file mnemo has memories of; and the MCP tools' results.
fn check_context_reached_the_model(cc: &ClaudeCode, problems: &mut Problems) {
    for request in cc
        .api
        .requests()
        .iter()
        .filter(|r| r.is_messages() && !r.is_structured())
    {
        let body = request.body.to_string();
        check!(
            problems,
            body.contains("SessionStart hook additional context")
                && body.contains("<mnemo-context>"),
            "a request without SessionStart context: {}",
            &body[..body.len().min(400)]
        );
    }
    let recall = conversation(cc, RECALL_PROMPT);
    let first = recall
        .first()
        .expect("recall session requests")
        .body
        .to_string();
    check!(
        problems,
        first.contains("UserPromptSubmit hook additional context"),
        "no UserPromptSubmit context in the recall session's first request"
    );
    let last = recall.last().unwrap();
    let results = tool_results(&last.body);
    if results.len() != 3 {
        problems.push(format!(
            "expected ToolSearch, search and get_observations results: {results:?}"
        ));
        return;
    }
    check!(
        problems,
        !hash_ids(&results[1]).is_empty(),
        "search found nothing: {}",
        results[1]
    );
    check!(
        problems,
        results[2].contains("ValueError") || results[2].contains("RecursionError"),
        "get_observations did not bring the fibonacci fix back: {}",
        results[2]
    );
    let read = conversation(cc, READ_PROMPT);
    let after_read = read.last().expect("read session requests").body.to_string();
    check!(
        problems,
        after_read.contains("PreToolUse:Read hook additional context")
            && after_read.contains("fibonacci"),
        "no PreToolUse note about fibonacci.py in the request after Read"
    );
}

/// How many live observations session `session` produced.
fn observations_of(cc: &ClaudeCode, session: &str) -> i64 {
    cc.db()
        .query_row(
            "SELECT count(*) FROM observations o JOIN sessions s ON s.id = o.session_id
             WHERE s.agent_session_id = ?1 AND o.deleted_at IS NULL",
            [session],
            |r| r.get(0),
        )
        .unwrap()
}

/// Every closed episode was enriched through the real CLI, each session
/// that did work has an LLM-written observation, and the enrichment
/// requests carry no thinking and no agent prompt. Waits for the workers to
/// finish.
fn check_enriched(cc: &ClaudeCode, working_sessions: &[String], problems: &mut Problems) {
    let started = std::time::Instant::now();
    // Episodes still to compress or enrich (a failed read counts as work
    // left: the workers may hold the database).
    let unfinished = || -> i64 {
        cc.db()
            .query_row(
                "SELECT (SELECT count(*) FROM prompts WHERE compressed_at IS NULL)
                      + (SELECT count(*) FROM episodes WHERE enrich_state = 'pending')",
                [],
                |r| r.get(0),
            )
            .unwrap_or(1)
    };
    while unfinished() > 0 && started.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(250));
    }
    let db = cc.db();
    // An episode without content to enrich has no state; every other one
    // must have been enriched.
    let states: Vec<(String, Option<String>, Option<String>)> = db
        .prepare(
            "SELECT s.agent_session_id, coalesce(e.enrich_state, iif(e.prompt_id IS NULL, 'not compressed', 'done')),
                    e.enrich_error
             FROM prompts p JOIN sessions s ON s.id = p.session_id LEFT JOIN episodes e ON e.prompt_id = p.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (session, state, error) in &states {
        check!(
            problems,
            matches!(state.as_deref(), Some("done") | Some("skipped")),
            "episode of session {session} not enriched: {state:?} {error:?}"
        );
    }
    for session in working_sessions {
        let llm: i64 = db
            .query_row(
                "SELECT count(*) FROM observations o JOIN sessions s ON s.id = o.session_id
                 WHERE s.agent_session_id = ?1 AND o.generated_by LIKE 'llm:%'",
                [session],
                |r| r.get(0),
            )
            .unwrap();
        check!(
            problems,
            llm > 0,
            "no LLM-written observation for session {session}"
        );
    }
    // The backend's true cost: thinking off, and mnemo's own system prompt
    // instead of Claude Code's agent prompt.
    let enrichments: Vec<Recorded> = cc
        .api
        .requests()
        .into_iter()
        .filter(Recorded::is_structured)
        .collect();
    let thinking = enrichments
        .iter()
        .filter(|r| !(r.body["thinking"].is_null() || r.body["thinking"]["type"] == "disabled"))
        .count();
    check!(
        problems,
        thinking == 0,
        "{thinking} of {} enrichment requests ask for thinking",
        enrichments.len()
    );
    let agent_prompt = enrichments
        .iter()
        .filter(|r| {
            r.body["system"]
                .to_string()
                .contains(CLAUDE_CODE_AGENT_PROMPT)
        })
        .count();
    check!(
        problems,
        agent_prompt == 0,
        "{agent_prompt} of {} enrichment requests carry Claude Code's agent prompt (the first is {} bytes)",
        enrichments.len(),
        enrichments.first().map_or(0, |r| r.bytes)
    );
    let calls = enrichments.len();
    check!(
        problems,
        calls >= working_sessions.len(),
        "{calls} enrichment requests for {} sessions",
        working_sessions.len()
    );
}

/// The whole story on one route: the fibonacci sessions, reading the file,
/// recalling, then `extra_hello` sessions that do no work, each a separate
/// headless run; then every check, failing with all broken properties.
fn story(test: &str, route: Route, extra_hello: usize) {
    let Some(claude) = claude_or_skip(test) else {
        return;
    };
    let cc = setup(claude, route);
    let project = cc.project.to_str().unwrap().to_string();
    let mut sessions = Vec::new();
    let mut working = Vec::new();
    for (prompt, _) in fibonacci_story(&project) {
        let id = run_session(&cc, &prompt);
        sessions.push(id.clone());
        working.push(id);
    }
    let id = run_session(&cc, READ_PROMPT);
    sessions.push(id.clone());
    working.push(id);
    let recall = run_session(&cc, RECALL_PROMPT);
    sessions.push(recall.clone());
    for _ in 0..extra_hello {
        sessions.push(run_session(&cc, HELLO_PROMPT));
    }
    // A command that is not a session fires SessionEnd; it must not become one.
    cc.run(&cc.claude.clone(), &["mcp", "list"]);

    let left = cc.wait_for_no_processes(SETTLE);
    let mut problems = Problems::new();
    check_every_event_stored(&cc, &sessions, &mut problems);
    check_context_reached_the_model(&cc, &mut problems);
    check_enriched(&cc, &working, &mut problems);
    let remembered_recall = observations_of(&cc, &recall);
    check!(
        problems,
        remembered_recall == 0,
        "the recall session became {remembered_recall} new memories"
    );
    check!(
        problems,
        left.is_empty(),
        "processes left behind: {left:#?}"
    );
    if !problems.is_empty() {
        problems.push(format!(
            "the store and the requests are kept in {}",
            keep_evidence(&cc, test)
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Copy the store and every recorded request under the target directory,
/// for a failed run to be read afterwards; the directory.
fn keep_evidence(cc: &ClaudeCode, test: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(test.replace("::", "-"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    cc.db()
        .execute("VACUUM INTO ?1", [dir.join("mnemo.db").to_str().unwrap()])
        .unwrap();
    let requests: Vec<Value> = cc
        .api
        .requests()
        .into_iter()
        .map(|r| json!({"method": r.method, "path": r.path, "body": r.body}))
        .collect();
    std::fs::write(
        dir.join("requests.json"),
        serde_json::to_vec_pretty(&requests).unwrap(),
    )
    .unwrap();
    // mnemo's log and Claude Code's debug logs (which say when a hook was
    // started, finished or cancelled).
    for (from, to) in [
        (cc.mnemo_home.join("logs"), dir.join("mnemo-logs")),
        (cc.debug_dir(), dir.join("claude-debug")),
    ] {
        if let Ok(entries) = std::fs::read_dir(&from) {
            std::fs::create_dir_all(&to).unwrap();
            for entry in entries.flatten() {
                let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
            }
        }
    }
    dir.display().to_string()
}

#[test]
fn ten_headless_sessions_through_mnemo_install_lose_nothing() {
    story(
        "claude_code::ten_headless_sessions_through_mnemo_install_lose_nothing",
        Route::Install,
        5,
    );
}

#[test]
fn the_plugin_route_records_recalls_and_enriches() {
    story(
        "claude_code::the_plugin_route_records_recalls_and_enriches",
        Route::Plugin,
        0,
    );
}
