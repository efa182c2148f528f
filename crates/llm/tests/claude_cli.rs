//! The `claude` CLI backend against fake `claude` scripts that check what
//! they are given and print the CLI's `--output-format json` result.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use common::*;
use mnemo_llm::{BackendConfig, Client, Limits, LlmError};
use serde_json::{Value, json};

/// Every test runs with `CLAUDECODE` set, as a worker started from a hook
/// would; the client must not pass it on.
fn inherit_claudecode() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any test of this binary spawns a process;
    // nothing in this binary reads the environment outside std's lock.
    ONCE.call_once(|| unsafe { std::env::set_var("CLAUDECODE", "1") });
}

/// A fake `claude` in a fresh temp dir: it records its argv (NUL-separated),
/// environment, cwd and stdin next to itself, then runs `body`.
struct Fake {
    dir: tempfile::TempDir,
    program: PathBuf,
    work_dir: PathBuf,
}

impl Fake {
    fn new(body: &str) -> Fake {
        inherit_claudecode();
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("claude");
        let log = dir.path().display().to_string();
        let script = format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{log}/argv'\n\
             printf '%s' \"${{MNEMO_DISABLE_HOOKS-unset}}\" > '{log}/hooks_env'\n\
             printf '%s' \"${{CLAUDECODE-unset}}\" > '{log}/claudecode_env'\n\
             printf '%s' \"${{CLAUDE_CODE_MAX_OUTPUT_TOKENS-unset}}\" > '{log}/max_output_env'\n\
             printf '%s' \"${{MAX_THINKING_TOKENS-unset}}\" > '{log}/thinking_env'\n\
             printf '%s' \"${{CLAUDE_CODE_DISABLE_THINKING-unset}}\" > '{log}/disable_thinking_env'\n\
             printf '%s' \"${{ENABLE_TOOL_SEARCH-unset}}\" > '{log}/tool_search_env'\n\
             printf '%s' \"${{CLAUDE_CODE_DISABLE_CLAUDE_MDS-unset}}\" > '{log}/claude_mds_env'\n\
             pwd > '{log}/cwd'\n\
             {body}\n"
        );
        fs::write(&program, script).unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        let work_dir = dir.path().join("state").join("llm-work");
        Fake {
            dir,
            program,
            work_dir,
        }
    }

    /// A fake that reads stdin into `stdin` and prints `output`.
    fn printing(output: &Value) -> Fake {
        Fake::printing_text(&output.to_string())
    }

    fn printing_text(output: &str) -> Fake {
        let out = output.replace('\'', "'\\''");
        let log = "\"$(dirname \"$0\")\"";
        Fake::new(&format!("cat > {log}/stdin\nprintf '%s\\n' '{out}'"))
    }

    fn client(&self, limits: Limits) -> Client {
        let backend = BackendConfig::ClaudeCli {
            program: self.program.clone(),
            model: "haiku".into(),
            work_dir: self.work_dir.clone(),
        };
        Client::new(backend, limits)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn argv(&self) -> Vec<String> {
        self.read("argv").split('\0').map(str::to_string).collect()
    }
}

/// What `claude -p --output-format json --json-schema …` prints on success.
fn cli_result(structured: Value) -> Value {
    json!({
        "type": "result",
        "subtype": "success",
        "is_error": false,
        "duration_ms": 2844,
        "duration_api_ms": 2790,
        "num_turns": 2,
        "result": "",
        "stop_reason": "end_turn",
        "session_id": "0e639165-79b1-4bd4-bb0f-4cb4c15115d4",
        "total_cost_usd": 0.0079825,
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 15635,
            "output_tokens": 96,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard"
        },
        "modelUsage": {
            "claude-haiku-4-5-20251001": {
                "inputTokens": 12, "outputTokens": 96, "cacheReadInputTokens": 15635,
                "cacheCreationInputTokens": 1200, "webSearchRequests": 0, "costUSD": 0.0079825,
                "contextWindow": 200000
            }
        },
        "permission_denials": [],
        "structured_output": structured,
        "uuid": "2d6ab0b4-7a3c-4a9e-9d49-3bd1a0b6f3c1"
    })
}

/// What the CLI prints when the API call failed.
fn cli_error(text: &str) -> Value {
    json!({
        "type": "result", "subtype": "success", "is_error": true, "duration_ms": 310,
        "duration_api_ms": 0, "num_turns": 1, "result": text,
        "session_id": "8c1f8d3e-0000-4000-8000-000000000000", "total_cost_usd": 0,
        "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}
    })
}

#[test]
fn success_passes_the_flags_env_and_stdin_and_reads_structured_output() {
    let fake = Fake::printing(&cli_result(answer()));
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    let response = result.expect("success");
    assert_eq!(response.value, answer());
    assert_eq!(response.model, "claude-haiku-4-5-20251001");
    assert_eq!(
        (response.input_tokens, response.output_tokens),
        (12 + 1200 + 15635, 96)
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].backend, "claude-cli");
    assert!(records[0].ok);

    let argv = fake.argv();
    let schema_json = serde_json::to_string(&schema()).unwrap();
    let expected_head = [
        "-p",
        "--output-format",
        "json",
        "--model",
        "haiku",
        "--max-turns",
        "2",
        "--tools",
        "",
        "--strict-mcp-config",
        "--disable-slash-commands",
        "--no-session-persistence",
        "--json-schema",
        schema_json.as_str(),
        // mnemo's own system prompt replaces Claude Code's agent prompt.
        "--system-prompt",
    ];
    // The empty `--tools` value is an argument of its own.
    let raw = fake.read("argv");
    let args: Vec<&str> = raw.strip_suffix('\0').unwrap().split('\0').collect();
    assert_eq!(args.len(), expected_head.len() + 1, "{args:?}");
    assert_eq!(&args[..expected_head.len()], &expected_head);
    let system = args[expected_head.len()];
    assert_eq!(system, "You compress coding episodes into observations.");
    assert!(
        !system.contains(&schema_json),
        "the schema is sent once, with --json-schema"
    );
    assert!(
        !argv.iter().any(|a| a.contains("flaky test")),
        "the prompt is not on the command line"
    );

    assert_eq!(
        fake.read("stdin"),
        request().user,
        "the prompt goes on stdin"
    );
    // The child's environment: mnemo's hooks off, not "inside" the calling
    // session, the output limit, thinking off (current CLIs read only
    // CLAUDE_CODE_DISABLE_THINKING), no deferred-tool placeholder, no CLAUDE.md.
    for (variable, expected) in [
        ("hooks_env", "1"),
        ("claudecode_env", "unset"),
        ("max_output_env", "1500"),
        ("thinking_env", "0"),
        ("disable_thinking_env", "1"),
        ("tool_search_env", "false"),
        ("claude_mds_env", "1"),
    ] {
        assert_eq!(fake.read(variable), expected, "{variable}");
    }
    let cwd = fake.read("cwd");
    assert_eq!(Path::new(cwd.trim()), fake.work_dir.canonicalize().unwrap());
    let mode = fs::metadata(&fake.work_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn an_existing_work_dir_is_made_private() {
    let fake = Fake::printing(&cli_result(answer()));
    fs::create_dir_all(&fake.work_dir).unwrap();
    fs::set_permissions(&fake.work_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (result, _) = fake.client(fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(
        fs::metadata(&fake.work_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn a_json_answer_in_result_is_used_when_there_is_no_structured_output() {
    let mut output = cli_result(Value::Null);
    output.as_object_mut().unwrap().remove("structured_output");
    output["result"] = json!(format!("```json\n{}\n```", answer()));
    let fake = Fake::printing(&output);
    let (result, _) = fake.client(fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
}

#[test]
fn structured_output_failing_the_schema_is_invalid() {
    let fake = Fake::printing(&cli_result(
        json!({"type": "bugfix", "title": 3, "facts": []}),
    ));
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    assert!(
        matches!(result, Err(LlmError::InvalidResponse(_))),
        "{result:?}"
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].output_tokens, 96, "tokens spent are recorded");
}

#[test]
fn max_turns_without_an_answer_is_invalid_and_not_retried() {
    let mut output = cli_result(Value::Null);
    output["subtype"] = json!("error_max_turns");
    output["is_error"] = json!(true);
    output.as_object_mut().unwrap().remove("result");
    let fake = Fake::printing(&output);
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    assert_eq!(
        result.unwrap_err(),
        LlmError::InvalidResponse("the claude CLI ended with error_max_turns".into())
    );
    assert_eq!(records.len(), 1);
}

#[test]
fn is_error_results_are_mapped() {
    let overloaded = "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    let cases = [
        ("Credit balance is too low", "Quota", 1),
        ("Claude AI usage limit reached|1767225600", "Quota", 1),
        ("Invalid API key · Please run /login", "Auth", 1),
        ("API Error: Rate limit reached", "RateLimited", 3),
        (overloaded, "Server", 3),
    ];
    for (text, kind, attempts) in cases {
        let fake = Fake::printing(&cli_error(text));
        let (result, records) = fake.client(fast_limits()).complete_json(&request());
        let error = result.unwrap_err();
        assert!(format!("{error:?}").starts_with(kind), "{text}: {error:?}");
        assert_eq!(records.len(), attempts, "{text}");
        assert!(records.iter().all(|r| !r.ok && r.error.is_some()));
    }
}

#[test]
fn non_json_output_is_invalid() {
    let fake = Fake::printing_text("Hello! How can I help you today?");
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    assert!(
        matches!(result, Err(LlmError::InvalidResponse(_))),
        "{result:?}"
    );
    assert_eq!(records.len(), 1);
}

#[test]
fn a_failing_process_is_a_retried_transport_error() {
    let fake = Fake::new("echo 'Error: something went wrong' >&2\nexit 1");
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    let error = result.unwrap_err();
    assert_eq!(
        error,
        LlmError::Transport("claude exited with status 1: Error: something went wrong".into())
    );
    assert_eq!(records.len(), 3);

    let fake = Fake::new("echo 'Not logged in · Please run /login' >&2\nexit 1");
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Auth(_))));
    assert_eq!(records.len(), 1);
}

#[test]
fn a_child_that_ignores_stdin_does_not_break_the_call() {
    let output = cli_result(answer()).to_string().replace('\'', "'\\''");
    let fake = Fake::new(&format!("printf '%s\\n' '{output}'"));
    let big = mnemo_llm::JsonRequest {
        user: "x".repeat(30_000),
        ..request()
    };
    let (result, _) = fake.client(fast_limits()).complete_json(&big);
    assert_eq!(result.unwrap().value, answer());
}

/// Whether `pid` is gone (or a zombie nobody of ours will reap: dead).
fn is_dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_dead(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if is_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_hanging_claude_is_killed_with_its_children_and_reaped() {
    let log = "\"$(dirname \"$0\")\"";
    let fake = Fake::new(&format!(
        "echo $$ > {log}/pid\nsleep 30 &\necho $! > {log}/child_pid\nwait"
    ));
    let limits = Limits {
        timeout: Duration::from_millis(500),
        max_retries: 0,
        ..fast_limits()
    };
    let started = Instant::now();
    let (result, records) = fake.client(limits).complete_json(&request());
    let elapsed = started.elapsed();
    assert_eq!(result.unwrap_err(), LlmError::Timeout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].error.as_deref(), Some("timed out"));
    assert!(
        elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );

    let pid: u32 = fake.read("pid").trim().parse().unwrap();
    let child: u32 = fake.read("child_pid").trim().parse().unwrap();
    // Our direct child is reaped before complete_json returns: no zombie.
    assert!(
        fs::metadata(format!("/proc/{pid}")).is_err(),
        "the claude process was reaped"
    );
    // Its own child was in the same process group and got the SIGKILL too.
    assert!(wait_dead(child), "the grandchild was killed");
}

#[test]
fn a_timeout_is_retried() {
    let fake = Fake::new("exec sleep 30");
    let limits = Limits {
        timeout: Duration::from_millis(300),
        max_retries: 1,
        ..fast_limits()
    };
    let (result, records) = fake.client(limits).complete_json(&request());
    assert_eq!(result.unwrap_err(), LlmError::Timeout);
    assert_eq!(records.len(), 2);
}

#[test]
fn leftover_helpers_of_a_finished_claude_are_killed() {
    let output = cli_result(answer()).to_string().replace('\'', "'\\''");
    let log = "\"$(dirname \"$0\")\"";
    let fake = Fake::new(&format!(
        "sleep 30 > /dev/null 2>&1 &\necho $! > {log}/child_pid\nprintf '%s\\n' '{output}'"
    ));
    let (result, _) = fake.client(fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    let child: u32 = fake.read("child_pid").trim().parse().unwrap();
    assert!(wait_dead(child), "no helper outlives the call");
}

#[test]
fn a_missing_program_is_not_installed_and_not_retried() {
    let fake = Fake::printing(&cli_result(answer()));
    let backend = BackendConfig::ClaudeCli {
        program: fake.dir.path().join("no-such-claude"),
        model: "haiku".into(),
        work_dir: fake.work_dir.clone(),
    };
    let (result, records) = Client::new(backend, fast_limits()).complete_json(&request());
    assert!(
        matches!(result, Err(LlmError::NotInstalled(ref m)) if m.ends_with("no-such-claude not found")),
        "{result:?}"
    );
    assert_eq!(records.len(), 1);

    let backend = BackendConfig::ClaudeCli {
        program: PathBuf::from("mnemo-test-no-such-program-on-path"),
        model: "haiku".into(),
        work_dir: fake.work_dir.clone(),
    };
    let (result, _) = Client::new(backend, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::NotInstalled(_))));

    fs::set_permissions(&fake.program, fs::Permissions::from_mode(0o644)).unwrap();
    let (result, records) = fake.client(fast_limits()).complete_json(&request());
    assert!(
        matches!(result, Err(LlmError::NotInstalled(ref m)) if m.ends_with("is not executable")),
        "{result:?}"
    );
    assert_eq!(records.len(), 1);
}

#[test]
fn oversized_input_is_refused_without_running_claude() {
    let fake = Fake::printing(&cli_result(answer()));
    let limits = Limits {
        max_input_tokens: 50,
        ..fast_limits()
    };
    let (result, records) = fake.client(limits).complete_json(&request());
    assert!(matches!(
        result,
        Err(LlmError::InputTooLarge { limit: 50, .. })
    ));
    assert!(records.is_empty());
    assert!(!fake.dir.path().join("argv").exists(), "claude never ran");
}

const HELPER_PROGRAM: &str = "MNEMO_LLM_TEST_HELPER_PROGRAM";
const HELPER_WORK_DIR: &str = "MNEMO_LLM_TEST_HELPER_WORK_DIR";

/// Does nothing in a normal run. As the helper process of
/// `a_killed_worker_leaves_no_claude_behind`, it is a worker stuck in a
/// call to a claude that never answers.
#[test]
fn helper_worker_stuck_in_a_call() {
    let (Some(program), Some(work_dir)) = (
        std::env::var_os(HELPER_PROGRAM),
        std::env::var_os(HELPER_WORK_DIR),
    ) else {
        return;
    };
    let backend = BackendConfig::ClaudeCli {
        program: program.into(),
        model: "haiku".into(),
        work_dir: work_dir.into(),
    };
    let limits = Limits {
        timeout: Duration::from_secs(60),
        max_retries: 0,
        ..fast_limits()
    };
    let _ = Client::new(backend, limits).complete_json(&request());
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_worker_leaves_no_claude_behind() {
    let log = "\"$(dirname \"$0\")\"";
    let fake = Fake::new(&format!("echo $$ > {log}/pid\nexec sleep 30"));
    let mut worker = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_worker_stuck_in_a_call",
            "--test-threads=1",
        ])
        .env(HELPER_PROGRAM, &fake.program)
        .env(HELPER_WORK_DIR, &fake.work_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = fake.dir.path().join("pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid: u32 = loop {
        if let Some(pid) = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the fake claude never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!is_dead(pid));
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(wait_dead(pid), "the claude process died with its worker");
}
