//! Hooks finish what they acknowledge. Claude Code sends SIGTERM to async
//! hooks still running when a session ends, and to the processes they
//! started: an event a hook acknowledged (exit 0) is stored once, what a
//! stopped or killed hook did not get to (compression, enrichment) is caught
//! up by a later process, the background worker survives the signals, and
//! foreground hooks answer quickly while another process holds the store.

use crate::common;

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use common::llm::{MockLlm, good_answer, llm_env, worker_running};
use common::*;
use serde_json::{Value, json};

/// A small deterministic generator, so a failing run can be repeated with
/// `MNEMO_LIFECYCLE_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("MNEMO_LIFECYCLE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("MNEMO_LIFECYCLE_SEED={seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }
}

/// Spawn `mnemo hook` with `payload` written to its stdin at once, as
/// Claude Code does.
fn start_hook(env: &Env, payload: &Value) -> Child {
    let mut child = env.command(&["hook"]).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let body = payload.to_string();
    thread::spawn(move || {
        let _ = stdin.write_all(body.as_bytes());
    });
    child
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: signalling a process of this test.
    unsafe { libc::kill(pid, signal) };
}

/// Wait for `child`, at most 20 s (a hang is a failure, not a wait).
fn finish(mut child: Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "hook hung after a signal"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `pid` holds `signal` back (its `SigBlk` mask in /proc).
fn holds(pid: u32, signal: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// Work left, in one snapshot: closed episodes (a Stop, a later prompt or
/// the session's end) not compressed, and compressed ones not enriched.
const WORK_LEFT: &str = "SELECT
    (SELECT count(*) FROM prompts p WHERE p.compressed_at IS NULL AND (
        EXISTS (SELECT 1 FROM events e WHERE e.prompt_id = p.id AND e.hook = 'Stop')
        OR EXISTS (SELECT 1 FROM prompts q WHERE q.session_id = p.session_id AND q.n > p.n)
        OR EXISTS (SELECT 1 FROM events e WHERE e.session_id = p.session_id
                   AND e.hook = 'SessionEnd' AND e.created_at >= p.created_at)))
    + (SELECT count(*) FROM episodes WHERE enrich_state = 'pending')";

fn prompt(env: &Env, session: &str, n: u64) -> Value {
    let mut p = env.fixture("user_prompt_submit__basic");
    p["session_id"] = json!(session);
    p["prompt"] = json!(format!(
        "step {n}: the fibonacci function recurses forever, fix it"
    ));
    p
}

fn tool(env: &Env, session: &str, id: &str) -> Value {
    let mut p = env.fixture("post_tool_use__bash");
    p["session_id"] = json!(session);
    p["tool_use_id"] = json!(id);
    p
}

fn stop(env: &Env, session: &str, n: u64) -> Value {
    let mut p = env.fixture("stop__basic");
    p["session_id"] = json!(session);
    p["last_assistant_message"] = json!(format!("Fixed step {n}: fib() rejects negative n."));
    p
}

fn session_end(env: &Env, session: &str) -> Value {
    let mut p = env.fixture("session_end__exit");
    p["session_id"] = json!(session);
    p
}

/// How a hook run ended.
#[derive(Default, Debug)]
struct Tally {
    acknowledged: usize,
    /// SIGTERM reached it after it began holding the signal back: it must
    /// store its event and exit 0.
    terminated_while_holding: usize,
    killed: usize,
}

/// `pid` and every process below it, found through /proc.
fn tree(pid: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok())
            && let Some((parent, _, _)) = lineage(child)
        {
            parents.push((child, parent));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        found.extend(parents.iter().filter(|p| p.1 == current).map(|p| p.0));
        i += 1;
    }
    found
}

/// Run one hook and, most of the time, signal it 0–25 ms after it started
/// the way Claude Code ends a session: SIGTERM (sometimes SIGKILL) to the
/// hook and every process it started. A hook that SIGTERM reaches once it
/// holds the signal back must acknowledge. Returns whether the hook
/// acknowledged the event (exit 0).
fn run_signalled(env: &Env, payload: &Value, rng: &mut Rng, tally: &mut Tally) -> bool {
    let child = start_hook(env, payload);
    let pid = child.id() as i32;
    let which = match rng.below(10) {
        0 => None,
        1 | 2 => Some(libc::SIGKILL),
        _ => Some(libc::SIGTERM),
    };
    thread::sleep(Duration::from_micros(rng.below(25_000)));
    let mut while_holding = false;
    if let Some(sig) = which {
        while_holding = sig == libc::SIGTERM && holds(pid as u32, libc::SIGTERM);
        for process in tree(pid) {
            signal(process, sig);
        }
    }
    let status = finish(child);
    if while_holding {
        tally.terminated_while_holding += 1;
        assert_eq!(status.code(), Some(0), "SIGTERM once held: {status:?}");
    }
    if status.code() == Some(0) {
        tally.acknowledged += 1;
        true
    } else {
        assert!(
            matches!(status.signal(), Some(libc::SIGTERM | libc::SIGKILL)),
            "a hook ends with exit 0 or dies of the signal: {status:?}"
        );
        tally.killed += 1;
        false
    }
}

/// Stop, SessionEnd and PostToolUse hooks signalled at random moments,
/// hundreds of times (`MNEMO_LIFECYCLE_ROUNDS` prompts; 120 by default):
/// every acknowledged event is stored once; after a later session starts,
/// every closed episode is compressed and enriched, each exactly once.
#[test]
fn signalled_hooks_lose_nothing_acknowledged_and_catch_up_finishes_every_episode() {
    let rounds: u64 = std::env::var("MNEMO_LIFECYCLE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let mock = MockLlm::start(good_answer());
    // Each call costs 1,400 tokens: a long run would spend the default budget.
    let env = llm_env(Env::new(), &mock).env("MNEMO_LLM_DAILY_TOKEN_BUDGET", "1000000000");
    let mut rng = Rng::from_env();
    let mut tally = Tally::default();
    let (mut tools, mut stops, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    let per_session = 4;
    for n in 0..rounds {
        let session = format!("session-{}", n / per_session);
        env.hook(None, &prompt(&env, &session, n));
        let id = format!("toolu_{n}");
        let stored = run_signalled(&env, &tool(&env, &session, &id), &mut rng, &mut tally);
        tools.push((id, stored));
        let stored = run_signalled(&env, &stop(&env, &session, n), &mut rng, &mut tally);
        stops.push((n, stored));
        if n % per_session == per_session - 1 || n == rounds - 1 {
            let stored = run_signalled(&env, &session_end(&env, &session), &mut rng, &mut tally);
            ends.push((session, stored));
        }
    }
    eprintln!("{tally:?}");
    assert!(tally.killed > 0 && tally.terminated_while_holding > 0);

    // A crash takes any worker still running with it; then a new session
    // starts: its first hook sees what was left and starts the background
    // worker for it.
    let crashed = env.pids("worker");
    for &pid in &crashed {
        signal(pid, libc::SIGKILL);
    }
    let mut start = env.fixture("session_start__startup");
    start["session_id"] = json!("session-next");
    env.hook(None, &start);
    // Enrichment takes a while for a long run: allow time per round.
    let deadline =
        Instant::now() + Duration::from_secs(20) + Duration::from_millis(250) * rounds as u32;
    while env.spool_files() > 0 || env.count(WORK_LEFT) > 0 {
        assert!(
            Instant::now() < deadline,
            "work left: {} (spool {}, worker running {}, done {})",
            env.count(WORK_LEFT),
            env.spool_files(),
            worker_running(&env),
            env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'"),
        );
        thread::sleep(Duration::from_millis(50));
    }
    wait_until("the worker to exit when idle", || !worker_running(&env));
    assert_eq!(env.count(WORK_LEFT), 0);

    for (id, stored) in &tools {
        let n = env.count(&format!(
            "SELECT count(*) FROM events WHERE tool_use_id = '{id}'"
        ));
        assert!(n <= 1, "{id} stored {n} times");
        assert!(!stored || n == 1, "acknowledged {id} not stored");
    }
    for (n, stored) in &stops {
        let count = env.count(&format!(
            "SELECT count(*) FROM events WHERE hook = 'Stop' AND payload LIKE '%Fixed step {n}:%'"
        ));
        assert!(count <= 1, "Stop {n} stored {count} times");
        assert!(!stored || count == 1, "acknowledged Stop {n} not stored");
    }
    for (session, stored) in &ends {
        let count = env.count(&format!(
            "SELECT count(*) FROM events e JOIN sessions s ON s.id = e.session_id
             WHERE e.hook = 'SessionEnd' AND s.agent_session_id = '{session}'"
        ));
        assert!(count <= 1 && (!stored || count == 1), "{session}: {count}");
    }
    // Enriched once each: every episode with content (one of only a prompt
    // is not queued) has one successful call, as many requests as calls.
    let queued = env.count("SELECT count(*) FROM episodes WHERE enrich_state IS NOT NULL");
    let enriched = env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'");
    assert!(queued > 0 && enriched == queued, "{enriched}/{queued}");
    assert_eq!(
        env.count(
            "SELECT count(*) FROM (SELECT prompt_id FROM llm_calls WHERE ok = 1
             GROUP BY prompt_id HAVING count(*) > 1)"
        ),
        0,
        "an episode enriched twice"
    );
    // Every request is a recorded call, but for one in flight in each
    // crashed worker.
    let requests = mock.requests.lock().unwrap().len() as i64;
    let calls = env.count("SELECT count(*) FROM llm_calls");
    assert!(
        (calls..=calls + crashed.len() as i64).contains(&requests),
        "{requests} requests, {calls} calls"
    );
    let integrity: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(env.spool_files(), 0);
    assert!(env.processes().is_empty(), "{:?}", env.processes());
}

/// SIGTERM while the hook is still waiting for its input: the input is read
/// to the end and stored, the hook exits 0, and the episode its Stop closed
/// is compressed by the worker it leaves behind, with no later hook.
#[test]
fn a_stop_signalled_before_its_input_arrives_is_stored_and_compressed() {
    let env = Env::new();
    env.hook(None, &prompt(&env, SESSION, 1));
    env.hook(None, &tool(&env, SESSION, "toolu_before_stop"));
    let mut child = env.command(&["hook"]).spawn().unwrap();
    let pid = child.id();
    wait_until("the hook to hold SIGTERM", || holds(pid, libc::SIGTERM));
    signal(pid as i32, libc::SIGTERM);
    signal(pid as i32, libc::SIGHUP);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(stop(&env, SESSION, 1).to_string().as_bytes())
        .unwrap();
    drop(stdin);
    let status = finish(child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'Stop'"),
        1
    );
    wait_until("the episode compressed by the background worker", || {
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL") == 1
    });
    wait_until("the background worker to exit", || {
        env.processes().is_empty()
    });
}

/// An LLM that holds its first answer for `hold`, and a data directory
/// pointed at it holding one prompt and its tool call (the Stop is the
/// test's).
fn episode_with_llm(hold: Duration) -> (MockLlm, Env) {
    let mock = MockLlm::start_holding_first(good_answer(), hold);
    let env = llm_env(Env::new(), &mock);
    env.hook(None, &prompt(&env, SESSION, 1));
    env.hook(None, &tool(&env, SESSION, "toolu_1"));
    (mock, env)
}

/// A worker that dies mid-call leaves its episode pending; the next
/// session's first hook sees it and starts a worker that enriches it.
#[test]
fn the_next_session_resumes_enrichment_a_dead_worker_left() {
    let (mock, env) = episode_with_llm(Duration::from_secs(60));
    env.hook(None, &stop(&env, SESSION, 1));
    wait_until("the first call in flight", || {
        !mock.requests.lock().unwrap().is_empty()
    });
    for pid in env.pids("worker") {
        signal(pid, libc::SIGKILL);
    }
    wait_until("the worker to be gone", || !worker_running(&env));
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'pending'"),
        1
    );
    let mut start = env.fixture("session_start__startup");
    start["session_id"] = json!("session-next");
    env.hook(None, &start);
    wait_until("the episode enriched", || {
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'") == 1
    });
    wait_until("the worker to exit when idle", || {
        env.processes().is_empty()
    });
}

/// Parent, process group and session of `pid`, from /proc.
fn lineage(pid: i32) -> Option<(i32, i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(1);
    let mut next = || fields.next()?.parse().ok();
    Some((next()?, next()?, next()?))
}

/// Claude Code signals a hook and the processes it started when the
/// session ends. The worker a Stop hook starts is in a session of its own,
/// not the hook's descendant, and SIGTERM/SIGHUP sent to the hook's group
/// and to the worker itself do not stop its enrichment.
#[test]
fn the_worker_survives_the_signals_sent_to_the_hook_and_its_children() {
    let (mock, env) = episode_with_llm(Duration::from_millis(1500));
    let mut command = env.command(&["hook"]);
    command.process_group(0);
    let mut hook = command.spawn().unwrap();
    let hook_pid = hook.id() as i32;
    let mut stdin = hook.stdin.take().unwrap();
    stdin
        .write_all(stop(&env, SESSION, 1).to_string().as_bytes())
        .unwrap();
    drop(stdin);
    let started = Instant::now();
    let workers = loop {
        let found = env.pids("worker");
        if !found.is_empty() {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no worker started"
        );
        thread::sleep(Duration::from_millis(1));
    };
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        signal(-hook_pid, sig);
        for &worker in &workers {
            signal(worker, sig);
        }
    }
    // SAFETY: getsid(0) only reads this process's session id.
    let our_session = unsafe { libc::getsid(0) };
    for &worker in &workers {
        if let Some((parent, group, session)) = lineage(worker) {
            assert_ne!(parent, hook_pid, "the worker is not the hook's child");
            assert_ne!(group, hook_pid, "nor in its process group");
            assert_ne!(session, our_session, "nor in its session");
        }
    }
    assert_eq!(finish(hook).code(), Some(0));
    wait_until("the held call answered and applied", || {
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'done'") == 1
    });
    assert_eq!(mock.requests.lock().unwrap().len(), 1);
    wait_until("the worker to exit when idle", || {
        env.processes().is_empty()
    });
}

/// With another process holding the write lock, SessionStart and
/// UserPromptSubmit answer at once (SessionStart with the memory index,
/// read past the writer) instead of waiting out the busy timeout; their
/// events are spooled and stored once the lock is released.
#[test]
fn foreground_hooks_answer_quickly_while_the_store_is_write_locked() {
    let env = Env::new();
    let project = env.project.to_str().unwrap().to_string();
    env.ok(&[
        "remember",
        "--project",
        &project,
        "fib() raises ValueError for negative n",
    ]);
    let locker = env.db();
    // The write lock, as another process's open write transaction holds it.
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let timed = |payload: &Value| {
        let started = Instant::now();
        let out = env.hook(None, payload);
        (started.elapsed(), out)
    };
    let (start_took, start_out) = timed(&env.fixture("session_start__startup"));
    let (prompt_took, _) = timed(&prompt(&env, SESSION, 1));
    // The busy timeout is 2 s: anything near it means the hook waited.
    let bound = Duration::from_millis(1500);
    assert!(start_took < bound, "SessionStart took {start_took:?}");
    assert!(prompt_took < bound, "UserPromptSubmit took {prompt_took:?}");
    let context = String::from_utf8_lossy(&start_out.stdout);
    assert!(
        context.contains("ValueError"),
        "index from a read: {context}"
    );
    assert_eq!(env.spool_files(), 2);
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    env.hook(None, &tool(&env, SESSION, "toolu_after_lock"));
    assert_eq!(env.spool_files(), 0);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE hook IN ('SessionStart', 'UserPromptSubmit', 'PostToolUse')"
        ),
        3
    );
}

/// A Stop whose episode still has a tool call in flight waits (up to
/// `compress.stop_wait_ms`, 30 s here) before compressing: send it
/// `signal_to_send` in that wait, once its event is stored. Returns the
/// env, how long the hook took to go after the signal, and how it ended.
fn stop_interrupted_while_waiting(signal_to_send: i32) -> (Env, Duration, ExitStatus) {
    let env = Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "30000");
    env.hook(None, &prompt(&env, SESSION, 1));
    env.hook(None, &env.fixture("pre_tool_use__bash"));
    let child = start_hook(&env, &stop(&env, SESSION, 1));
    let pid = child.id() as i32;
    wait_until("the Stop stored", || {
        env.count("SELECT count(*) FROM events WHERE hook = 'Stop'") == 1
    });
    let signalled = Instant::now();
    signal(pid, signal_to_send);
    let status = finish(child);
    (env, signalled.elapsed(), status)
}

/// SIGTERM while a Stop waits for a tool result: the hook exits 0 at once
/// instead of finishing its wait, and the worker it leaves compresses the
/// episode.
#[test]
fn a_stop_told_to_stop_mid_wait_exits_and_the_worker_compresses() {
    let (env, took, status) = stop_interrupted_while_waiting(libc::SIGTERM);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after SIGTERM"
    );
    wait_until("the episode compressed by the worker", || {
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL") == 1
    });
    wait_until("the worker to exit", || env.processes().is_empty());
}

/// A Stop SIGKILLed after storing its event leaves its episode closed but
/// uncompressed; `mnemo serve` compresses it as it starts.
#[test]
fn mnemo_serve_catches_up_on_what_a_killed_hook_left() {
    let (env, _, status) = stop_interrupted_while_waiting(libc::SIGKILL);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL"),
        0
    );
    let _server = env.serve();
    wait_until("the episode compressed by the server", || {
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL") == 1
    });
}
