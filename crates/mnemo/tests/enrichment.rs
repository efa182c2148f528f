//! LLM enrichment end to end: hooks compress and start the worker, the
//! worker calls a local server speaking the OpenAI chat-completions wire
//! format (or a fake `claude` CLI), records every call, respects the daily
//! budget, keeps the rule-based result on bad answers, and exits when idle.

use crate::common;

use std::time::{Duration, Instant};

use common::llm::*;
use common::*;
use serde_json::{Value, json};

/// Run `mnemo worker --once`; both episodes of the session are enriched.
fn work_once_and_see_both_enriched(env: &Env) {
    let out = env.command(&["worker", "--once"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'"),
        2
    );
}

#[test]
fn hooks_start_a_worker_that_enriches_records_spend_and_exits() {
    let mock = MockLlm::start(good_answer());
    let env = llm_env(Env::new(), &mock);
    env.replay_session();
    wait_until("enrichment", || {
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'") == 2
    });
    wait_until("the worker to exit", || !worker_running(&env));
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
    let out = env.command(&["stats", "--json"]).output().unwrap();
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["llm_tokens_today"], 2800);
    assert_eq!(stats["llm_calls_total"], 2);
}

#[test]
fn over_budget_calls_nothing_and_keeps_the_rules() {
    let mock = MockLlm::start(good_answer());
    let env = llm_env(Env::new(), &mock)
        .env("MNEMO_LLM_DAILY_TOKEN_BUDGET", "100")
        .env("MNEMO_COMPRESS_IN_HOOKS", "false");
    env.replay_session();
    assert!(
        env.command(&["compress"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = env.command(&["worker", "--once"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let env = llm_env(Env::new(), &mock).env("MNEMO_COMPRESS_IN_HOOKS", "false");
    env.replay_session();
    env.command(&["compress"]).output().unwrap();
    let out = env.command(&["worker", "--once"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'failed'"),
        2
    );
    assert_eq!(env.count("SELECT count(*) FROM llm_calls WHERE ok = 0"), 2);
    assert!(env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'") >= 2);
}

#[test]
fn the_claude_cli_backend_runs_with_hooks_disabled() {
    let env = Env::new();
    let bin = env.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = env.tmp.path().join("claude-env.txt");
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
    let claude = bin.join("claude");
    std::fs::write(&claude, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = env
        .env("MNEMO_LLM_BACKEND", "claude-cli")
        .env("MNEMO_LLM_CLAUDE_PROGRAM", claude.to_str().unwrap())
        .env("MNEMO_COMPRESS_IN_HOOKS", "false");
    env.replay_session();
    env.command(&["compress"]).output().unwrap();
    work_once_and_see_both_enriched(&env);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        "MNEMO_DISABLE_HOOKS=1"
    );
    assert!(
        env.count("SELECT count(*) FROM llm_calls WHERE backend = 'claude-cli' AND ok = 1") == 2
    );
}

#[test]
fn the_server_hosts_the_worker_as_a_thread_and_leaves_nothing_behind() {
    let mock = MockLlm::start(good_answer());
    let env = llm_env(Env::new(), &mock).env("MNEMO_COMPRESS_STOP_WAIT_MS", "0");
    let mut server = env.serve();
    wait_until("the server to take the worker lock", || {
        worker_running(&env)
    });
    // Hooks compress, see the lock held and start no worker of their own.
    env.replay_session();
    wait_until("enrichment by the server", || {
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'") == 2
    });
    let processes = env.processes();
    assert_eq!(processes.len(), 1, "only the server runs: {processes:?}");
    assert!(processes[0].contains("serve"), "{processes:?}");
    let stats = server.get("/api/stats");
    assert_eq!(stats["llm_calls_total"], 2);
    assert_eq!(stats["llm_tokens_today"], 2800);
    let asked = Instant::now();
    assert!(server.stop_with(libc::SIGTERM).success());
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(!worker_running(&env), "the lock went with the server");
    assert!(env.processes().is_empty());
}

#[test]
fn the_server_compresses_when_hooks_do_not() {
    let env = Env::new().env("MNEMO_COMPRESS_IN_HOOKS", "false");
    let server = env.serve();
    env.replay_session();
    assert_eq!(
        env.count("SELECT count(*) FROM episodes"),
        0,
        "hooks only capture"
    );
    wait_until("compression by the server", || {
        env.count("SELECT count(*) FROM episodes") == 2
    });
    assert_eq!(server.get("/api/stats")["observations"], 2);
}

/// Chaos: the worker is SIGKILLed while its LLM call is in flight. Nothing
/// is lost (the rule-based memories stand meanwhile) and the next worker
/// enriches every episode exactly once.
#[test]
fn a_worker_killed_mid_call_leaves_the_rules_and_the_next_one_finishes() {
    let mock = MockLlm::start_holding_first(good_answer(), Duration::from_secs(60));
    let env = llm_env(Env::new(), &mock);
    env.replay_session();
    wait_until("the first call to be in flight", || {
        !mock.requests.lock().unwrap().is_empty()
    });
    // The lock holder, and any later starter still on its way out.
    let workers = env.pids("worker");
    assert!(!workers.is_empty(), "{:?}", env.processes());
    for pid in workers {
        // SAFETY: killing processes this test started (through the hooks).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    wait_until("the worker to be gone", || !worker_running(&env));
    let rules = env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'");
    assert!(rules >= 1, "the rule-based memories stand");
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'"),
        0
    );

    work_once_and_see_both_enriched(&env);
    assert_eq!(env.count("SELECT count(*) FROM llm_calls WHERE ok = 1"), 2);
    assert_eq!(
        env.count("SELECT count(*) FROM observations WHERE generated_by = 'rules'"),
        0,
        "replaced, not doubled"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM summaries"),
        2,
        "one summary per episode"
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM (SELECT 1 FROM observations
             GROUP BY coalesce(project_id, 0), content_hash HAVING count(*) > 1)"
        ),
        0
    );
    assert!(env.processes().is_empty(), "{:?}", env.processes());
}
