//! What hook events store, through the hook pipeline: a whole session in
//! order, session sources and ends, redeliveries once, private prompts,
//! subagents, projects told apart by path, and events of sessions never
//! seen. That every event is accepted by the `mnemo hook` process (exit 0,
//! its answer, its argument) is tested through the binary.

use crate::common::*;

use serde_json::{Value, json};

#[test]
fn a_whole_session_is_recorded_in_order_with_numbered_prompts() {
    let env = Env::new();
    let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
    let mut sent = 0;
    let mut prompts = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut payload: Value = serde_json::from_str(line).unwrap();
        payload["cwd"] = json!(env.project_dir());
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
    assert_eq!(root, env.project_dir());
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
    assert!(!contains(&all_bytes(&env.parts.paths.home), secret_part));

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
        assert_eq!(out.stdout, None, "{name}");
    }
    assert_eq!(env.count("SELECT count(*) FROM sessions"), before);
    assert_eq!(
        env.count("SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id WHERE s.agent_session_id LIKE 'not-a-session-%'"),
        0
    );
    let status = mnemo_app::status::status(&env.parts, &env.store()).unwrap();
    assert_eq!(status.stats.sessions, before);

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
