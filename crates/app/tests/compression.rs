//! Compression through the hook pipeline: episode-ending hooks compress
//! episodes as they end, exactly once; stale and late episodes are handled;
//! private ones leave nothing; ingested input is compressed as hooked input is.

use crate::common::*;

use mnemo_agent::claude_code::HookEvent;
use serde_json::{Value, json};

#[test]
fn hooks_compress_each_episode_once_as_it_ends() {
    let env = Env::new();
    env.replay_session();
    // No separate compression: the Stop hooks did it.
    assert_eq!(env.count("SELECT count(*) FROM episodes"), 2);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 2);
    assert!(env.count("SELECT count(*) FROM observations") >= 2);
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE close_reason = 'stop'"),
        2
    );
    let bugfix: String = env
        .db()
        .query_row(
            "SELECT title FROM observations WHERE type = 'bugfix'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(bugfix.contains("ValueError"), "{bugfix}");
    // FTS is in sync.
    assert_eq!(
        env.count("SELECT count(*) FROM observations_fts"),
        env.count("SELECT count(*) FROM observations")
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM observations_fts f JOIN observations o ON o.id = f.rowid
             WHERE observations_fts MATCH 'recursion' AND o.type = 'bugfix'"
        ),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'fibonacci'"),
        1
    );
    assert_eq!(env.workers_started(), 0, "nothing was left over");

    // Compressing again finds nothing to do and changes nothing.
    let before = env.count("SELECT count(*) FROM observations");
    assert_eq!(env.compress().episodes, 0);
    assert_eq!(env.count("SELECT count(*) FROM observations"), before);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 2);
}

/// The fixture session as recorded hook input, in `env`'s project.
fn session_input(env: &Env) -> String {
    let lines: Vec<String> = env.session_inputs().iter().map(Value::to_string).collect();
    lines.join("\n")
}

#[test]
fn ingested_sessions_become_observations_as_hooked_ones_do() {
    let env = Env::new();
    let input = session_input(&env);
    let ingested = env.ingest(&input);
    // Ingest closed the episodes as the Stop hooks do, and says so.
    assert_eq!(ingested.episodes, 2, "{ingested:?}");
    assert_eq!(env.count("SELECT count(*) FROM episodes"), 2);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 2);
    let observations = env.count("SELECT count(*) FROM observations");
    assert!(observations >= 2, "{observations}");
    assert_eq!(ingested.observations as i64, observations);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM observations WHERE type = 'bugfix' AND title LIKE '%ValueError%'"
        ),
        1
    );
    // And embedded them, as hooks do after compressing.
    assert_eq!(env.count("SELECT count(*) FROM vector_queue"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM observation_vectors"),
        observations
    );
    // The same input again is redeliveries: no episode to compress again.
    let again = env.ingest(&input);
    assert_eq!(again.episodes, 0, "{again:?}");
    assert_eq!(env.count("SELECT count(*) FROM observations"), observations);

    // When hooks leave compression to `mnemo serve`, so does ingest.
    let deferred = Env::configured("[compress]\nin_hooks = false\n");
    deferred.ingest(&session_input(&deferred));
    assert!(deferred.count("SELECT count(*) FROM events") > 0);
    assert_eq!(deferred.count("SELECT count(*) FROM observations"), 0);
}

#[test]
fn an_episode_left_open_by_a_crash_is_swept() {
    let env = Env::configured("[compress]\nstale_after_secs = 0\n");
    env.hook(None, &env.fixture("user_prompt_submit__basic"));
    env.hook(None, &env.fixture("post_tool_use__edit"));
    // The session never stops; another session's Stop sweeps it.
    let mut other = env.fixture("stop__basic");
    other["session_id"] = json!("another-session");
    env.hook(None, &other);
    let reason: String = env
        .db()
        .query_row("SELECT close_reason FROM episodes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reason, "stale");
}

#[test]
fn late_events_recompress_the_episode_without_duplicates() {
    let env = Env::new();
    env.hook(None, &env.fixture("user_prompt_submit__basic"));
    env.hook(None, &env.fixture("post_tool_use__edit"));
    let mut stop = env.fixture("stop__basic");
    stop["session_id"] = json!(SESSION);
    env.hook(None, &stop);
    assert_eq!(env.count("SELECT count(*) FROM episodes"), 1);
    let obs_before = env.count("SELECT count(*) FROM observations");
    assert!(obs_before >= 1);
    // An async PostToolUse of the same prompt lands after the Stop.
    let mut late = env.fixture("post_tool_use__bash");
    late["tool_use_id"] = json!("toolu_late_arrival");
    env.hook(None, &late);
    // The next episode-ending hook (here the session's end) folds it in.
    env.hook(None, &env.fixture("session_end__exit"));
    assert_eq!(env.count("SELECT count(*) FROM episodes"), 1);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 1);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE processed_at IS NULL AND prompt_id IS NOT NULL"
        ),
        0,
        "the late event was folded in"
    );
    let obs_after = env.count("SELECT count(*) FROM observations");
    assert!(obs_after >= 1 && obs_after <= obs_before + 1);
    let investigated: String = env
        .db()
        .query_row("SELECT investigated FROM summaries", [], |r| r.get(0))
        .unwrap();
    assert!(investigated.contains("pytest"), "{investigated}");
}

#[test]
fn private_episodes_leave_no_memory() {
    let env = Env::new();
    let mut p = env.fixture("user_prompt_submit__basic");
    p["prompt"] = json!("<private>rotate the prod credentials for acme</private>");
    env.hook(None, &p);
    env.hook(None, &env.fixture("post_tool_use__edit"));
    env.hook(None, &env.fixture("stop__basic"));
    assert_eq!(env.count("SELECT count(*) FROM episodes"), 1);
    assert_eq!(env.count("SELECT count(*) FROM observations"), 0);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 0);
}

#[test]
fn status_shows_memories_and_llm_spend() {
    let env = Env::new();
    env.replay_session();
    let status = mnemo_app::status::status(&env.parts, &env.store()).unwrap();
    assert_eq!(status.stats.summaries, 2);
    assert!(status.stats.observations >= 2);
    assert_eq!(status.stats.llm_tokens_today, 0);
    assert_eq!(status.stats.events_pending, 0);
    assert_eq!(status.spooled, 0);
}

/// A turn that ends on an API error sends StopFailure instead of Stop: the
/// episode is closed and compressed by that hook, once.
#[test]
fn a_stop_failure_ends_the_episode() {
    let env = Env::new();
    env.hook(None, &env.fixture("session_start__startup"));
    env.hook(None, &env.fixture("user_prompt_submit__basic"));
    env.hook(None, &env.fixture("post_tool_use__edit"));
    env.hook(
        Some("stop-failure"),
        &env.fixture("stop_failure__api_error"),
    );
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE close_reason = 'stop'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NULL"),
        0
    );
    assert!(env.count("SELECT count(*) FROM observations") >= 1);
}

/// Every event the event table says closes an episode does close it (the
/// store's own test of what closed an episode agrees with the table), and its
/// hook compresses the episode at once.
#[test]
fn every_event_that_closes_an_episode_closes_and_compresses_it() {
    let env = Env::new();
    let fixtures: Vec<Value> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            Some(env.fixture(name.strip_suffix(".json")?))
        })
        .collect();
    let closing = HookEvent::ALL
        .iter()
        .filter(|event| event.roles().closes_episode);
    for event in closing {
        let session = format!("closed-by-{}", event.name());
        let mut payload = fixtures
            .iter()
            .find(|f| f["hook_event_name"] == event.name())
            .unwrap_or_else(|| panic!("a fixture of {}", event.name()))
            .clone();
        for name in [
            "session_start__startup",
            "user_prompt_submit__basic",
            "post_tool_use__edit",
        ] {
            let mut before = env.fixture(name);
            before["session_id"] = json!(session);
            env.hook(None, &before);
        }
        payload["session_id"] = json!(session);
        env.hook(None, &payload);
        let (reason, compressed): (String, bool) = env
            .db()
            .query_row(
                "SELECT e.close_reason, p.compressed_at IS NOT NULL
                 FROM prompts p JOIN sessions s ON s.id = p.session_id
                 JOIN episodes e ON e.prompt_id = p.id
                 WHERE s.agent_session_id = ?1",
                [&session],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{}: no episode ({e})", event.name()));
        assert!(compressed, "{}", event.name());
        assert_ne!(reason, "stale", "{}", event.name());
    }
}
