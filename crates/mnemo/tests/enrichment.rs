//! LLM enrichment across processes: hooks start the detached worker, which
//! calls a local server speaking the OpenAI chat-completions wire format and
//! exits when idle; `mnemo serve` hosts the worker as a thread; a worker
//! SIGKILLed mid-call loses nothing. What enrichment stores (budget, bad
//! answers, the claude CLI backend) is tested in process, in the app's tests.

use crate::common;

use std::time::{Duration, Instant};

use common::llm::*;
use common::*;

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
    assert_eq!(mock.requests.lock().unwrap().len(), 2);
    assert!(env.processes().is_empty(), "{:?}", env.processes());
    // Spend is visible.
    let stats = env.ok_json(&["stats", "--json"]);
    assert_eq!(stats["llm_tokens_today"], 2800);
    assert_eq!(stats["llm_calls_total"], 2);
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
