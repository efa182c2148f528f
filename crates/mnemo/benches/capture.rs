//! Capture benchmark: `mnemo hook` latency as Claude Code spawns it, and
//! ingest throughput.
//!
//! Run: `cargo bench -p mnemo --bench capture` (add `-- --quick` for a short
//! run). It seeds a database with 100,000 events through `mnemo ingest`
//! (printing events/s), then spawns `mnemo hook <event>` with realistic
//! payloads on stdin, one process at a time, and prints median, p95 and
//! peak RSS per event kind, next to the cost of spawning `/bin/true`; last,
//! the foreground hooks again while another connection holds the write
//! lock (they spool and answer instead of waiting out the busy timeout).

mod support;

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use support::{Sample, report, results, spawn_once};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// A realistic PostToolUse(Bash) payload of about `size` bytes.
fn post_tool_use(session: &str, cwd: &str, id: usize, size: usize) -> Value {
    let mut stdout = String::from(
        "============================= test session starts ==============================\nplatform linux -- Python 3.11.7, pytest-8.3.2\ncollected 14 items\n\n",
    );
    let mut i = 0;
    while stdout.len() < size.saturating_sub(700) {
        stdout.push_str(&format!(
            "tests/test_cart.py::test_discount_case_{i} PASSED                          [{:>3}%]\n",
            (i * 7) % 100
        ));
        i += 1;
    }
    stdout.push_str(
        "============================== 14 passed in 0.42s ==============================\n",
    );
    json!({
        "session_id": session,
        "transcript_path": format!("/home/dev/.claude/projects/-bench/{session}.jsonl"),
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "python -m pytest tests/test_cart.py -v", "description": "Run the cart tests"},
        "tool_response": {"stdout": stdout, "stderr": "", "interrupted": false, "isImage": false},
        "tool_use_id": format!("toolu_bench_{id:08}"),
        "duration_ms": 812
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (seed_events, runs) = if quick { (10_000, 40) } else { (100_000, 300) };
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let project = tmp.path().join("shop");
    std::fs::create_dir_all(&project).unwrap();
    Command::new("git")
        .args(["init", "-q"])
        .current_dir(&project)
        .status()
        .expect("git init");
    let cwd = project.to_str().unwrap().to_string();
    let envs = [("MNEMO_HOME", home.as_path())];

    // 1. Ingest throughput, which also seeds the database.
    // Streamed to disk: this process must stay small, because a spawned
    // child's peak RSS (from wait4) includes the parent's until it execs.
    let seed_file = tmp.path().join("seed.jsonl");
    let mut jsonl = std::io::BufWriter::new(std::fs::File::create(&seed_file).unwrap());
    for i in 0..seed_events {
        let session = format!("seed-session-{}", i / 200);
        let mut event = post_tool_use(&session, &cwd, i, 1024 + (i * 37) % 3072);
        if i % 200 == 0 {
            event = json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                "prompt": format!("step {i}: make the cart tests pass for discount case {i}")});
        }
        serde_json::to_writer(&mut jsonl, &event).unwrap();
        jsonl.write_all(b"\n").unwrap();
    }
    jsonl.flush().unwrap();
    drop(jsonl);
    let jsonl_bytes = std::fs::metadata(&seed_file).unwrap().len();
    let start = Instant::now();
    // Stored only, not compressed (as when hooks do not compress): the rate
    // is the capture path's, and the hooks below meet the same database.
    let out = Command::new(BIN)
        .args(["ingest", seed_file.to_str().unwrap()])
        .env("MNEMO_HOME", &home)
        .env("MNEMO_COMPRESS_IN_HOOKS", "false")
        .output()
        .expect("ingest");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db_mib =
        std::fs::metadata(home.join("mnemo.db")).map_or(0.0, |m| m.len() as f64 / 1048576.0);
    println!(
        "ingest: {seed_events} events ({:.1} MiB of JSONL) in {secs:.2} s = {:.0} events/s; database {db_mib:.1} MiB",
        jsonl_bytes as f64 / 1048576.0,
        seed_events as f64 / secs
    );
    results::value(
        "ingest replay (mnemo ingest)",
        "events/s",
        seed_events as f64 / secs,
    );

    // 2. Hook latency, one process at a time as Claude Code spawns them.
    println!("(peak RSS of a child includes this process's own RSS until exec: see the floor row)");
    println!(
        "\n{:<34} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "command (ms, MiB)", "median", "p95", "min", "max", "rss med", "rss max"
    );
    let floor: Vec<Sample> = (0..runs)
        .map(|_| spawn_once("/bin/true", &[], &[], b""))
        .collect();
    report("spawn floor: /bin/true", &floor);

    let session = "bench-session";
    let payload_4k: Vec<Vec<u8>> = (0..runs)
        .map(|i| {
            post_tool_use(session, &cwd, seed_events + i, 4096)
                .to_string()
                .into_bytes()
        })
        .collect();
    let size = payload_4k[0].len();
    let samples: Vec<Sample> = payload_4k
        .iter()
        .map(|p| spawn_once(BIN, &["hook", "post-tool-use"], &envs, p))
        .collect();
    report(
        &format!("hook post-tool-use ({:.1} KB)", size as f64 / 1024.0),
        &samples,
    );

    let prompts: Vec<Sample> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                "prompt": format!("prompt {i}: the fibonacci function recurses forever on negative n, fix it")});
            spawn_once(BIN, &["hook", "user-prompt-submit"], &envs, p.to_string().as_bytes())
        })
        .collect();
    report("hook user-prompt-submit", &prompts);

    let starts: Vec<Sample> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": format!("bench-start-{i}"), "cwd": cwd,
                "hook_event_name": "SessionStart", "source": "startup"});
            spawn_once(
                BIN,
                &["hook", "session-start"],
                &envs,
                p.to_string().as_bytes(),
            )
        })
        .collect();
    report("hook session-start", &starts);

    // Stop closes the episode and compresses it in the same (async) hook:
    // each run first records a prompt and a test run, untimed.
    let stops: Vec<Sample> = (0..runs)
        .map(|i| {
            let session = format!("bench-stop-{i}");
            let prompt = json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                "prompt": "run the cart tests and fix what fails"});
            spawn_once(BIN, &["hook"], &envs, prompt.to_string().as_bytes());
            let tool = post_tool_use(&session, &cwd, 10_000_000 + i, 4096);
            spawn_once(BIN, &["hook"], &envs, tool.to_string().as_bytes());
            let stop = json!({"session_id": session, "cwd": cwd, "hook_event_name": "Stop",
                "stop_hook_active": false,
                "last_assistant_message": "All 14 cart tests pass. I checked the discount cases because the last change touched rounding."});
            spawn_once(BIN, &["hook", "stop"], &envs, stop.to_string().as_bytes())
        })
        .collect();
    report("hook stop (+ compress episode)", &stops);

    let ignored: Vec<Sample> = (0..runs)
        .map(|_| {
            let p = json!({"session_id": session, "cwd": cwd, "hook_event_name": "Notification",
                "message": "Claude is waiting for your input"});
            spawn_once(BIN, &["hook"], &envs, p.to_string().as_bytes())
        })
        .collect();
    report("hook notification (ignored)", &ignored);

    // 3. Foreground hooks while another process holds the write lock (an
    // open `BEGIN IMMEDIATE`): their events go to the spool, which is left
    // for whatever runs next.
    let locker = rusqlite::Connection::open(home.join("mnemo.db")).expect("open the store");
    locker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let locked_starts: Vec<Sample> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": format!("bench-locked-{i}"), "cwd": cwd,
                "hook_event_name": "SessionStart", "source": "startup"});
            spawn_once(BIN, &["hook"], &envs, p.to_string().as_bytes())
        })
        .collect();
    report("hook session-start (write-locked)", &locked_starts);
    let locked_prompts: Vec<Sample> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": "bench-locked", "cwd": cwd, "hook_event_name": "UserPromptSubmit",
                "prompt": format!("prompt {i}: the fibonacci function recurses forever on negative n, fix it")});
            spawn_once(BIN, &["hook"], &envs, p.to_string().as_bytes())
        })
        .collect();
    report("hook user-prompt-submit (locked)", &locked_prompts);
    locker.execute_batch("ROLLBACK").expect("release the lock");
    results::save("capture", &format!("{seed_events} events in the store"));
}
