//! LLM enrichment in process: the hook pipeline compresses and asks for the
//! worker, the worker (run here, as `mnemo worker --once` runs it) calls a
//! local server speaking the OpenAI chat-completions wire format (or a fake
//! `claude` CLI), records every call, respects the daily budget and keeps
//! the rule-based result on bad answers. The detached worker a hook starts
//! is tested through the binary.

use crate::common::*;

use mnemo_app::worker::{Enrichment, WorkerRun, run_worker};
use serde_json::{Value, json};

/// Settings that send enrichment to `url` (a chat-completions API), with
/// `more` TOML after them.
fn llm_config(url: &str, more: &str) -> String {
    format!(
        "[llm]\nbackend = \"openai\"\nbase_url = \"{url}\"\nmodel = \"test-model\"\n\
         idle_exit_secs = 1\nmax_retries = 0\n{more}"
    )
}

/// What `mnemo worker --once` does, in process.
fn work_once(env: &Env) -> Enrichment {
    match run_worker(&env.parts, true).unwrap() {
        WorkerRun::Enriched(enrichment) => enrichment,
        other => panic!("the worker did not enrich: {other:?}"),
    }
}

fn enriched(env: &Env) -> i64 {
    env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'")
}

#[test]
fn the_worker_enriches_records_spend_and_embeds() {
    let mock = MockLlm::start(good_answer());
    let env = Env::configured(&llm_config(&mock.url, ""));
    env.replay_session();
    assert!(env.workers_started() >= 1, "hooks ask for the worker");
    assert_eq!(enriched(&env), 0, "no LLM on the hook path");
    let run = work_once(&env);
    assert_eq!((run.done, run.failed), (2, 0), "{run:?}");
    assert_eq!(enriched(&env), 2);
    assert_eq!(env.count("SELECT count(*) FROM llm_calls WHERE ok = 1"), 2);
    assert_eq!(env.count("SELECT sum(input_tokens) FROM llm_calls"), 2400);
    assert_eq!(
        env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'"),
        0,
        "rule-based records replaced"
    );
    assert!(
        env.count("SELECT count(*) FROM observations WHERE generated_by = 'llm:test-model'") >= 1
    );
    // The enriched observations have vectors, and only they.
    assert_eq!(env.count("SELECT count(*) FROM vector_queue"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM observation_vectors"),
        env.count("SELECT count(*) FROM observations")
    );
    assert_eq!(
        env.count("SELECT count(*) FROM summaries WHERE generated_by = 'llm:test-model'"),
        2
    );
    // What was sent: the episode digest with the draft, as chat completions.
    let requests = mock.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["model"], "test-model");
    let user = requests[0]["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("draft") && user.contains("fib"), "{user}");
    // Spend is visible.
    let status = mnemo_app::status::status(&env.parts, &env.store()).unwrap();
    assert_eq!(status.stats.llm_tokens_today, 2800);
    assert_eq!(status.stats.llm_calls_total, 2);
    assert_eq!(status.llm_backend, "openai");
}

#[test]
fn over_budget_calls_nothing_and_keeps_the_rules() {
    let mock = MockLlm::start(good_answer());
    let env = Env::configured(&llm_config(
        &mock.url,
        "daily_token_budget = 100\n[compress]\nin_hooks = false\n",
    ));
    env.replay_session();
    env.compress();
    work_once(&env);
    assert!(
        mock.requests.lock().unwrap().is_empty(),
        "no call over budget"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'pending'"),
        2
    );
    assert!(env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'") >= 2);
}

#[test]
fn an_invalid_answer_keeps_the_rules_and_is_recorded() {
    let mock = MockLlm::start("Sorry, I can't produce JSON today.".into());
    let env = Env::configured(&llm_config(&mock.url, "[compress]\nin_hooks = false\n"));
    env.replay_session();
    env.compress();
    let run = work_once(&env);
    assert_eq!((run.done, run.failed), (0, 2), "{run:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'failed'"),
        2
    );
    assert_eq!(env.count("SELECT count(*) FROM llm_calls WHERE ok = 0"), 2);
    assert!(env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'") >= 2);
}

#[test]
fn the_claude_cli_backend_runs_with_hooks_disabled() {
    let tmp = tempfile::tempdir().unwrap();
    let seen = tmp.path().join("claude-env.txt");
    let output = json!({
        "type": "result", "subtype": "success", "is_error": false, "duration_ms": 900,
        "num_turns": 1, "result": good_answer(), "session_id": "s-1", "total_cost_usd": 0.002,
        "usage": {"input_tokens": 900, "output_tokens": 150, "cache_read_input_tokens": 0,
                  "cache_creation_input_tokens": 0},
        "structured_output": serde_json::from_str::<Value>(&good_answer()).unwrap()
    });
    let script = format!(
        "#!/bin/sh\necho \"MNEMO_DISABLE_HOOKS=$MNEMO_DISABLE_HOOKS\" > '{}'\ncat > /dev/null\ncat <<'EOF'\n{}\nEOF\n",
        seen.display(),
        output
    );
    let claude = tmp.path().join("claude");
    std::fs::write(&claude, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = Env::configured(&format!(
        "[llm]\nbackend = \"claude-cli\"\nclaude_program = \"{}\"\n[compress]\nin_hooks = false\n",
        claude.display()
    ));
    env.replay_session();
    env.compress();
    assert_eq!(work_once(&env).done, 2);
    assert_eq!(enriched(&env), 2);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        "MNEMO_DISABLE_HOOKS=1"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM llm_calls WHERE backend = 'claude-cli' AND ok = 1"),
        2
    );
}
