//! Malformed, truncated, huge and junk inputs: one stderr line, exit 0,
//! nothing on stdout, and nothing lost that could be kept.

use crate::common;

use common::*;
use serde_json::json;

fn one_stderr_line(out: &std::process::Output) -> String {
    assert_contract(out);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.lines().count(),
        1,
        "expected one explanatory line, got {err:?}"
    );
    err
}

#[test]
fn malformed_and_truncated_json_are_rejected_and_kept() {
    let env = Env::new();
    let full = env.fixture("post_tool_use__bash").to_string();
    let truncated = &full.as_bytes()[..full.len() / 2];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"this is not json".to_vec()),
        ("truncated", truncated.to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1,2,3]".to_vec()),
        (
            "binary",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
    ];
    for (i, (name, input)) in cases.iter().enumerate() {
        let err = one_stderr_line(&env.hook_raw(Some("post-tool-use"), input));
        assert!(err.starts_with("mnemo: "), "{name}: {err}");
        assert_eq!(
            env.count("SELECT count(*) FROM rejected_inputs"),
            i as i64 + 1,
            "{name} kept for diagnosis"
        );
    }
    assert_eq!(env.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn missing_session_id_is_rejected() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__bash");
    p.as_object_mut().unwrap().remove("session_id");
    let err = one_stderr_line(&env.hook_raw(None, p.to_string().as_bytes()));
    assert!(err.contains("session_id"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM events"), 0);
    assert_eq!(env.count("SELECT count(*) FROM rejected_inputs"), 1);
}

#[test]
fn a_50_mb_tool_response_is_stored_capped() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__bash");
    let big = "x".repeat(50 * 1024 * 1024);
    p["tool_response"]["stdout"] = json!(format!("BEGIN-MARK\n{big}\nEND-MARK"));
    let out = env.hook_raw(None, p.to_string().as_bytes());
    assert_contract(&out);
    let payload: String = env
        .db()
        .query_row("SELECT payload FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(
        payload.len() < 300 * 1024,
        "payload capped, got {} bytes",
        payload.len()
    );
    assert!(
        payload.contains("BEGIN-MARK") && payload.contains("END-MARK"),
        "head and tail kept"
    );
    assert!(payload.contains("cut"), "marker says how much was cut");
}

#[test]
fn input_over_the_stdin_cap_leaves_a_stub_event() {
    let env = Env::new().env("MNEMO_CAPTURE_MAX_STDIN_BYTES", "100000");
    let mut p = env.fixture("post_tool_use__bash");
    p["tool_response"]["stdout"] = json!("y".repeat(300_000));
    let out = env.hook_raw(None, p.to_string().as_bytes());
    one_stderr_line(&out);
    let (tool, payload): (Option<String>, String) = env
        .db()
        .query_row("SELECT tool_use_id, payload FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(tool.as_deref(), p["tool_use_id"].as_str());
    assert!(payload.contains("mnemo_input_too_large"));
}

#[test]
fn unknown_events_are_accepted_and_ignored() {
    let env = Env::new();
    let mut p = env.fixture("notification__idle");
    let out = env.hook(None, &p);
    assert!(out.stderr.is_empty());
    p["hook_event_name"] = json!("SomeFutureEvent");
    let out = env.hook(None, &p);
    assert!(out.stderr.is_empty());
    assert!(
        !env.db_path().exists() || env.count("SELECT count(*) FROM events") == 0,
        "nothing stored"
    );
}

#[test]
fn the_disable_variable_makes_hooks_a_no_op() {
    let env = Env::new().env("MNEMO_DISABLE_HOOKS", "1");
    let out = env.hook(None, &env.fixture("user_prompt_submit__basic"));
    assert!(out.stderr.is_empty());
    assert!(!env.home.exists(), "nothing created at all");
}

#[test]
fn an_invalid_config_names_the_key_and_hooks_use_defaults() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[capture]\nmax_field_bytes = \"lots\"\n",
    )
    .unwrap();
    let out = env.hook(None, &env.fixture("user_prompt_submit__basic"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("capture.max_field_bytes"), "{err}");
    assert_eq!(
        env.count("SELECT count(*) FROM prompts"),
        1,
        "still recorded"
    );
    // Interactive commands refuse it instead.
    let out = env.command(&["stats"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("capture.max_field_bytes"));
}

#[test]
fn skipped_tools_and_excluded_projects_are_not_recorded() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        format!(
            "[capture]\nskip_tools = [\"TodoWrite\", \"mcp__*\"]\nexclude_projects = [\"{}/secret-*\"]\n",
            env.tmp.path().display()
        ),
    )
    .unwrap();
    env.hook(None, &env.fixture("post_tool_use__todowrite"));
    env.hook(None, &env.fixture("post_tool_use__mcp"));
    let secret = env.tmp.path().join("secret-client");
    std::fs::create_dir_all(&secret).unwrap();
    let mut p = env.fixture("user_prompt_submit__basic");
    p["cwd"] = json!(secret.to_str().unwrap());
    env.hook(None, &p);
    env.hook(None, &env.fixture("post_tool_use__bash"));
    assert_eq!(
        env.count("SELECT count(*) FROM events"),
        1,
        "only the Bash event"
    );
    assert_eq!(env.count("SELECT count(*) FROM projects"), 1);
}

#[test]
fn environment_overrides_apply() {
    let env = Env::new().env("MNEMO_CAPTURE_MAX_FIELD_BYTES", "2048");
    let mut p = env.fixture("post_tool_use__bash");
    p["tool_response"]["stdout"] = json!("z".repeat(50_000));
    env.hook(None, &p);
    let payload: String = env
        .db()
        .query_row("SELECT payload FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(payload.len() < 8 * 1024, "{} bytes", payload.len());
}

// ---- Hostile files and senders: every case returns in bounded time and
// memory, exits 0, and leaves the project's later episodes working.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// Generous bound on one hook run: far above normal, far below "forever".
const HANG_BOUND: Duration = Duration::from_secs(15);
/// Address-space limit for hooks fed inputs that once grew without bound.
const MEMORY_LIMIT: libc::rlim_t = 512 * 1024 * 1024;

/// Run `mnemo hook` under [`MEMORY_LIMIT`], feeding `input` from a thread
/// with `feed` (so a slow sender can be simulated); panics if it runs past
/// [`HANG_BOUND`] (after killing it). Returns the output and the time taken.
fn hook_bounded(
    env: &Env,
    feed: impl FnOnce(&mut std::process::ChildStdin) + Send + 'static,
) -> (Output, Duration) {
    let mut cmd = env.command(&["hook"]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn mnemo");
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || feed(&mut stdin));
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > HANG_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hook still running after {HANG_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().unwrap();
    let _ = feeder.join();
    (out, elapsed)
}

/// [`hook_bounded`] with `payload` written at once, checking the hook contract.
fn hook_json_bounded(env: &Env, payload: &serde_json::Value) -> Output {
    let bytes = payload.to_string().into_bytes();
    let (out, _) = hook_bounded(env, move |stdin| {
        let _ = stdin.write_all(&bytes);
    });
    assert_contract(&out);
    out
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) },
        0,
        "mkfifo {path:?}"
    );
}

/// A prompt, then a Stop that carries no closing message, so compression
/// reads `transcript_path`.
fn prompt_then_stop(env: &Env, prompt: &str, transcript: &Path) {
    let mut p = env.fixture("user_prompt_submit__basic");
    p["prompt"] = json!(prompt);
    hook_json_bounded(env, &p);
    let mut stop = env.fixture("stop__no_message");
    stop["transcript_path"] = json!(transcript.to_str().unwrap());
    hook_json_bounded(env, &stop);
}

fn compressed_episodes(env: &Env) -> i64 {
    env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL")
}

#[test]
fn hostile_transcripts_neither_hang_nor_exhaust_memory() {
    let env = Env::new();
    let fifo = env.tmp.path().join("transcript-fifo.jsonl");
    mkfifo(&fifo);
    let sparse = env.tmp.path().join("sparse.jsonl");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(1536 * 1024 * 1024)
        .unwrap();
    let hostile = [fifo.as_path(), Path::new("/dev/zero"), sparse.as_path()];
    for (i, transcript) in hostile.iter().enumerate() {
        prompt_then_stop(&env, &format!("hostile transcript {i}"), transcript);
        assert_eq!(
            compressed_episodes(&env),
            i as i64 + 1,
            "episode with transcript {transcript:?} compressed"
        );
    }
    // A later, ordinary turn of the same project reads its real transcript.
    let real = env.tmp.path().join("real.jsonl");
    std::fs::write(
        &real,
        [
            r#"{"type":"user","message":{"role":"user","content":"explain the cache"}}"#,
            r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"The cache is keyed by visit number because points depend on it."}]}}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    prompt_then_stop(&env, "explain the cache", &real);
    assert_eq!(compressed_episodes(&env), 4);
}

#[test]
fn hostile_git_metadata_neither_hangs_nor_floods() {
    let env = Env::new();
    let repo = |name: &str| {
        let dir = env.tmp.path().join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        dir
    };
    // .git/HEAD is a FIFO.
    let fifo_head = repo("fifo-head");
    std::fs::create_dir(fifo_head.join(".git")).unwrap();
    mkfifo(&fifo_head.join(".git/HEAD"));
    // .git/HEAD is a symlink to an endless device.
    let zero_head = repo("zero-head");
    std::fs::create_dir(zero_head.join(".git")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero_head.join(".git/HEAD")).unwrap();
    // .git itself is a FIFO (where a gitdir file would be).
    let fifo_dot_git = repo("fifo-dot-git");
    mkfifo(&fifo_dot_git.join(".git"));
    // A worktree whose gitdir's commondir and HEAD are FIFOs.
    let worktree = repo("worktree");
    let gitdir = env.tmp.path().join("worktree-gitdir");
    std::fs::create_dir(&gitdir).unwrap();
    mkfifo(&gitdir.join("commondir"));
    mkfifo(&gitdir.join("HEAD"));
    std::fs::write(
        worktree.join(".git"),
        format!("gitdir: {}\n", gitdir.display()),
    )
    .unwrap();
    // A gitdir file that is an endless device.
    let zero_dot_git = repo("zero-dot-git");
    std::os::unix::fs::symlink("/dev/zero", zero_dot_git.join(".git")).unwrap();

    let cases = [
        &fifo_head,
        &zero_head,
        &fifo_dot_git,
        &worktree,
        &zero_dot_git,
    ];
    for (i, dir) in cases.iter().enumerate() {
        let mut p = env.fixture("session_start__startup");
        p["cwd"] = json!(dir.join("src").to_str().unwrap());
        hook_json_bounded(&env, &p);
        let mut p = env.fixture("user_prompt_submit__basic");
        p["cwd"] = json!(dir.join("src").to_str().unwrap());
        p["prompt"] = json!(format!("prompt {i}"));
        hook_json_bounded(&env, &p);
        assert_eq!(
            env.count("SELECT count(*) FROM prompts"),
            i as i64 + 1,
            "{dir:?}"
        );
    }
}

#[test]
fn a_config_file_that_is_a_fifo_or_a_device_gives_one_line_and_defaults() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    let config = env.home.join("config.toml");
    mkfifo(&config);
    let out = hook_json_bounded(&env, &env.fixture("user_prompt_submit__basic"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    let mut p = env.fixture("user_prompt_submit__basic");
    p["prompt"] = json!("a second prompt");
    let out = hook_json_bounded(&env, &p);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a regular file"), "{err}");
    assert_eq!(
        env.count("SELECT count(*) FROM prompts"),
        2,
        "both recorded"
    );
}

#[test]
fn a_log_file_that_is_a_fifo_does_not_block_the_hook() {
    let env = Env::new().env("MNEMO_LOG_LEVEL", "debug");
    std::fs::create_dir_all(env.home.join("logs")).unwrap();
    mkfifo(&env.home.join("logs/mnemo.log"));
    hook_json_bounded(&env, &env.fixture("user_prompt_submit__basic"));
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 1);
}

#[test]
fn a_trickling_sender_cannot_keep_a_hook_alive() {
    let env = Env::new();
    // Never idle for long, never complete: one byte every 2 s.
    let (out, elapsed) = hook_bounded(&env, |stdin| {
        let _ = stdin.write_all(br#"{"session_id": "#);
        for _ in 0..10 {
            std::thread::sleep(Duration::from_secs(2));
            if stdin.write_all(b" ").is_err() {
                return; // the hook gave up and closed its end
            }
        }
    });
    let err = one_stderr_line(&out);
    assert!(err.contains("not complete after 10 s"), "{err}");
    assert!(elapsed < Duration::from_secs(13), "{elapsed:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM rejected_inputs"),
        1,
        "kept for diagnosis"
    );
}

/// The stored payload of the event of `tool_use_id`.
fn payload_of(env: &Env, tool_use_id: &str) -> String {
    env.db()
        .query_row(
            "SELECT payload FROM events WHERE tool_use_id = ?1",
            [tool_use_id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn an_object_of_600k_keys_is_stored_within_the_event_cap() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__bash");
    let wide: serde_json::Map<String, serde_json::Value> = (0..600_000)
        .map(|i| (format!("k{i:06}"), json!("v")))
        .collect();
    p["tool_input"] = serde_json::Value::Object(wide.clone());
    hook_json_bounded(&env, &p);
    let payload = payload_of(&env, p["tool_use_id"].as_str().unwrap());
    assert!(payload.len() <= 256 * 1024, "{} bytes", payload.len());
    assert!(payload.contains("keys cut"), "the cut is recorded");
    let stored: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(stored["tool_input"]["k000000"], "v", "the head is kept");

    // The same keys at the top level, the envelope sent after them.
    let env = Env::new();
    let keys: Vec<String> = (0..600_000).map(|i| format!(r#""k{i:06}":"v""#)).collect();
    let text = format!(
        r#"{{{},"hook_event_name":"PostToolUse","session_id":"{SESSION}","cwd":{},"tool_name":"Bash","tool_use_id":"toolu_wide"}}"#,
        keys.join(","),
        json!(env.project.to_str().unwrap()),
    );
    let (out, _) = hook_bounded(&env, move |stdin| {
        let _ = stdin.write_all(text.as_bytes());
    });
    assert_contract(&out);
    assert!(payload_of(&env, "toolu_wide").len() <= 256 * 1024);
}

#[test]
fn an_array_of_a_million_items_is_parsed_in_bounded_memory() {
    let env = Env::new();
    // One-entry objects cost the most per input byte (~760 MB once).
    let shapes = [json!({"a": "b"}), json!(0), json!([])];
    for (i, item) in shapes.into_iter().enumerate() {
        let mut p = env.fixture("post_tool_use__bash");
        p["tool_use_id"] = json!(format!("toolu_many_{i}"));
        p["tool_response"]["items"] = json!(vec![item; 1_000_000]);
        hook_json_bounded(&env, &p);
        let payload = payload_of(&env, &format!("toolu_many_{i}"));
        assert!(payload.len() <= 256 * 1024, "{} bytes", payload.len());
        assert!(payload.contains("items cut"), "the cut is recorded");
    }
}

#[test]
fn an_episode_that_cannot_be_compressed_is_set_aside_and_the_next_ones_compress() {
    let env = Env::new();
    let mut p = env.fixture("user_prompt_submit__basic");
    p["prompt"] = json!("the poisoned turn");
    env.hook(None, &p);
    env.hook(None, &env.fixture("post_tool_use__bash"));
    // Damage the episode's stored event so that loading it fails.
    env.db()
        .execute(
            "UPDATE events SET payload = X'00FF' WHERE hook = 'PostToolUse'",
            [],
        )
        .unwrap();
    // The next turns close it (by their prompt) and compress.
    for turn in ["a healthy turn", "another healthy turn"] {
        let mut p = env.fixture("user_prompt_submit__basic");
        p["prompt"] = json!(turn);
        env.hook(None, &p);
        env.hook(None, &env.fixture("stop__basic"));
    }
    let reason: Option<String> = env
        .db()
        .query_row(
            "SELECT compress_skipped FROM prompts WHERE text = 'the poisoned turn'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        reason.is_some_and(|r| r.contains("payload")),
        "marked with the reason"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL"),
        2,
        "both healthy turns compressed"
    );
    let stats = env.ok_json(&["stats", "--json"]);
    assert_eq!(stats["episodes_skipped"], 1, "{stats}");
    assert!(
        env.ok(&["stats"])
            .contains("1 episodes could not be compressed")
    );
}
