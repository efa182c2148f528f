//! The `claude` CLI backend: Claude Code in print mode, using the user's own
//! login (subscription or API key), no key of ours.
//!
//! Command line (the prompt goes on stdin, never on the command line):
//!
//! ```text
//! <program> -p --output-format json --model <model> --max-turns 2 --tools ""
//!     --strict-mcp-config --disable-slash-commands --no-session-persistence
//!     --json-schema <schema JSON> --system-prompt <system>
//! ```
//!
//! The request should carry mnemo's prompt and little else. `--system-prompt`
//! replaces Claude Code's own agent prompt (about 12 KB; appending to it
//! tripled the size of every call), `--tools ""` leaves the model no tool to
//! act with, `--strict-mcp-config` (with no `--mcp-config`) starts no MCP
//! server, `--disable-slash-commands` lists no skills,
//! `--no-session-persistence` keeps the call out of the user's session list.
//! `--max-turns 2`, not 1: the CLI implements `--json-schema` with a
//! synthetic `StructuredOutput` tool call, and the turn that closes it must
//! not be cut off; with no tools there is nothing else a second turn could do.
//!
//! Environment: `MNEMO_DISABLE_HOOKS=1` (mnemo's hooks exit at once, so the
//! call is never recorded as a session of its own), `CLAUDECODE` and
//! `CLAUDE_CODE_ENTRYPOINT` removed (the CLI refuses to start "inside another
//! Claude Code session" when they are inherited from a hook),
//! `CLAUDE_CODE_MAX_OUTPUT_TOKENS=<max_output_tokens>`,
//! `CLAUDE_CODE_DISABLE_THINKING=1` (no extended thinking: cheaper, and no
//! thinking budget above the output limit, whatever the user's settings say;
//! current CLIs ignore the older `MAX_THINKING_TOKENS=0`, still set for the
//! CLIs that read it), `ENABLE_TOOL_SEARCH=false` (no placeholder tool for
//! deferred tools) and `CLAUDE_CODE_DISABLE_CLAUDE_MDS=1` (the user's own
//! `~/.claude/CLAUDE.md` would otherwise ride along in every call). The
//! working directory is a private directory (created 0700), so no project's
//! `CLAUDE.md` or settings are read. `--bare` would trim Claude Code's
//! environment block too, but it ignores the user's login (API keys only).
//!
//! The child runs in its own process group. When it exits, or when the
//! timeout passes, the whole group is sent SIGKILL (the exited leader is
//! still unreaped then, so the group id cannot have been reused) and the
//! child is reaped: no helper process outlives a call. On Linux the child
//! also gets SIGKILL if the calling thread dies (`PR_SET_PDEATHSIG`), so a
//! crashed or killed worker leaves no `claude` behind either.
//!
//! Output (`--output-format json`): one object with `type: "result"`,
//! `subtype` (`success`, `error_max_turns`, `error_during_execution`, …),
//! `is_error`, `result` (the text answer or the error text),
//! `structured_output` (the schema-checked object, with `--json-schema`),
//! `usage` (`input_tokens`, `cache_creation_input_tokens`,
//! `cache_read_input_tokens`, `output_tokens`), `modelUsage` (per model id:
//! `inputTokens`, `outputTokens`, `cacheReadInputTokens`,
//! `cacheCreationInputTokens`, `costUSD`), `total_cost_usd`, `session_id`.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mnemo_platform::fs as platform_fs;
use mnemo_platform::process;

use serde_json::Value;

use crate::answer::{check, parse_answer};
use crate::error::one_line;
use crate::{Attempt, LlmError, Prompt};

/// Set to `1` in the child's environment; mnemo's hook exits 0 at once when
/// it sees it (the same name as `mnemo_config::ENV_DISABLE_HOOKS`).
pub const DISABLE_HOOKS_ENV: &str = "MNEMO_DISABLE_HOOKS";

/// The CLI's `--max-turns` (see the module documentation for why 2).
pub(crate) const MAX_TURNS: &str = "2";

/// Largest stdout/stderr kept from the child.
const MAX_OUTPUT_BYTES: u64 = 8 * 1024 * 1024;

/// How long to wait for the output pipes to close after the child is gone.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// The arguments after the program name.
pub(crate) fn args(model: &str, prompt: &Prompt<'_>) -> Vec<OsString> {
    [
        "-p",
        "--output-format",
        "json",
        "--model",
        model,
        "--max-turns",
        MAX_TURNS,
        "--tools",
        "",
        "--strict-mcp-config",
        "--disable-slash-commands",
        "--no-session-persistence",
        "--json-schema",
        &prompt.schema_json,
        "--system-prompt",
        // The schema goes once, with `--json-schema`: the CLI turns it into
        // the StructuredOutput tool the model must call.
        prompt.instructions,
    ]
    .iter()
    .map(OsString::from)
    .collect()
}

/// One run of the CLI.
pub(crate) fn attempt(
    program: &Path,
    model: &str,
    work_dir: &Path,
    timeout: Duration,
    max_output_tokens: u32,
    prompt: &Prompt<'_>,
) -> Attempt {
    if let Err(e) = private_dir(work_dir) {
        return Attempt::failed(LlmError::Transport(one_line(&format!(
            "cannot prepare {}: {e}",
            work_dir.display()
        ))));
    }
    let mut command = Command::new(program);
    command
        .args(args(model, prompt))
        .current_dir(work_dir)
        .env(DISABLE_HOOKS_ENV, "1")
        .env(
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            max_output_tokens.to_string(),
        )
        .env("CLAUDE_CODE_DISABLE_THINKING", "1")
        .env("MAX_THINKING_TOKENS", "0")
        .env("ENABLE_TOOL_SEARCH", "false")
        .env("CLAUDE_CODE_DISABLE_CLAUDE_MDS", "1")
        .env_remove("CLAUDECODE")
        .env_remove("CLAUDE_CODE_ENTRYPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills whatever it started too.
    process::isolate_child(&mut command);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Attempt::failed(spawn_error(program, &e)),
    };
    let run = run(child, prompt.user, timeout);
    match run {
        Ok(run) => read_output(&run, model, prompt),
        Err(error) => Attempt::failed(error),
    }
}

fn spawn_error(program: &Path, error: &io::Error) -> LlmError {
    match error.kind() {
        io::ErrorKind::NotFound => {
            LlmError::NotInstalled(one_line(&format!("{} not found", program.display())))
        }
        io::ErrorKind::PermissionDenied => LlmError::NotInstalled(one_line(&format!(
            "{} is not executable",
            program.display()
        ))),
        _ => LlmError::Transport(one_line(&format!(
            "cannot start {}: {error}",
            program.display()
        ))),
    }
}

/// Creates `dir` (and its parents) and makes `dir` itself 0700.
fn private_dir(dir: &Path) -> io::Result<()> {
    platform_fs::dir_mode(fs::DirBuilder::new().recursive(true), 0o700).create(dir)?;
    if platform_fs::permission_bits(&fs::metadata(dir)?).is_some_and(|bits| bits != 0o700) {
        platform_fs::set_permission_bits(dir, 0o700)?;
    }
    Ok(())
}

/// What a finished (or killed) child left.
struct Run {
    success: bool,
    exit: String,
    stdout: String,
    stderr: String,
}

/// Feeds `input` to the child, waits for it at most `timeout`, then kills
/// its process group and reaps it.
fn run(mut child: Child, input: &str, timeout: Duration) -> Result<Run, LlmError> {
    let started = Instant::now();

    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_owned();
        // A child that exits without reading gives EPIPE: nothing to do then.
        thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);

    let mut timed_out = false;
    let mut pause = Duration::from_millis(5);
    loop {
        match process::has_exited(&mut child) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not check on the claude process; killing it");
                break;
            }
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            timed_out = true;
            break;
        }
        thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    process::kill_tree(&mut child);
    let status = child
        .wait()
        .map_err(|e| LlmError::Transport(one_line(&format!("wait failed: {e}"))))?;

    let deadline = Instant::now() + PIPE_GRACE;
    let take = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| {
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok()
        })
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
    };
    let stdout = take(stdout);
    let stderr = take(stderr);
    if timed_out {
        return Err(LlmError::Timeout);
    }
    let exit = match status.code() {
        Some(code) => format!("status {code}"),
        None => status.to_string(),
    };
    Ok(Run {
        success: status.success(),
        exit,
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end (or the size cap) on a thread.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(MAX_OUTPUT_BYTES).read_to_end(&mut bytes);
        // Drain the rest so the writer is never blocked on a full pipe.
        let _ = io::copy(&mut pipe, &mut io::sink());
        let _ = tx.send(bytes);
    });
    rx
}

fn read_output(run: &Run, model: &str, prompt: &Prompt<'_>) -> Attempt {
    let Some(output) = parse_output(&run.stdout) else {
        let error = if run.success {
            LlmError::InvalidResponse(format!(
                "the claude CLI printed no JSON result ({} bytes)",
                run.stdout.len()
            ))
        } else {
            let said = if run.stderr.trim().is_empty() {
                run.stdout.trim()
            } else {
                run.stderr.trim()
            };
            classify_text(said).unwrap_or_else(|| {
                LlmError::Transport(one_line(&format!(
                    "claude exited with {}: {said}",
                    run.exit
                )))
            })
        };
        return Attempt::failed(error);
    };

    let (input_tokens, output_tokens, used_model) = usage(&output);
    if let Some(cost) = output.get("total_cost_usd").and_then(Value::as_f64) {
        tracing::debug!(cost_usd = cost, session = ?output.get("session_id"), "claude CLI call");
    }
    let result_text = output.get("result").and_then(Value::as_str).unwrap_or("");
    let subtype = output.get("subtype").and_then(Value::as_str).unwrap_or("");
    let is_error = output
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let result = if let Some(structured) = output.get("structured_output").filter(|v| !v.is_null())
    {
        // A schema-checked object is the answer, whatever turn limit followed it.
        check(structured.clone(), prompt.schema)
    } else if subtype.starts_with("error_max") {
        // error_max_turns, error_max_budget_usd, error_max_structured_output_retries:
        // the same request would end the same way.
        Err(LlmError::InvalidResponse(one_line(&format!(
            "the claude CLI ended with {subtype}"
        ))))
    } else if is_error {
        let said = if result_text.trim().is_empty() {
            subtype
        } else {
            result_text
        };
        Err(classify_text(said)
            .unwrap_or_else(|| LlmError::Server(one_line(&format!("claude CLI: {said}")))))
    } else if !result_text.trim().is_empty() {
        parse_answer(result_text, prompt.schema)
    } else if subtype.starts_with("error") {
        Err(LlmError::InvalidResponse(one_line(&format!(
            "the claude CLI ended with {subtype}"
        ))))
    } else {
        Err(LlmError::InvalidResponse(
            "the claude CLI returned no answer".into(),
        ))
    };
    Attempt {
        model: Some(used_model.unwrap_or_else(|| model.to_string())),
        input_tokens,
        output_tokens,
        result,
        retry_after: None,
        adapted: false,
    }
}

/// The result object: the whole stdout, or else its last line that is one.
fn parse_output(stdout: &str) -> Option<Value> {
    let is_result = |v: &Value| v.is_object();
    if let Ok(value) = serde_json::from_str::<Value>(stdout.trim())
        && is_result(&value)
    {
        return Some(value);
    }
    stdout
        .lines()
        .rev()
        .filter(|line| !line.trim().is_empty())
        .find_map(|line| {
            serde_json::from_str::<Value>(line.trim())
                .ok()
                .filter(is_result)
        })
}

/// `(input tokens incl. cache reads and writes, output tokens, main model id)`.
fn usage(output: &Value) -> (u64, u64, Option<String>) {
    let n = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    if let Some(models) = output
        .get("modelUsage")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    {
        let mut input = 0;
        let mut out = 0;
        let mut main: Option<(&String, u64)> = None;
        for (id, used) in models {
            input += n(used, "inputTokens")
                + n(used, "cacheReadInputTokens")
                + n(used, "cacheCreationInputTokens");
            let produced = n(used, "outputTokens");
            out += produced;
            if main.is_none_or(|(_, best)| produced > best) {
                main = Some((id, produced));
            }
        }
        return (input, out, main.map(|(id, _)| id.clone()));
    }
    let Some(usage) = output.get("usage") else {
        return (0, 0, None);
    };
    let input = n(usage, "input_tokens")
        + n(usage, "cache_creation_input_tokens")
        + n(usage, "cache_read_input_tokens");
    (input, n(usage, "output_tokens"), None)
}

/// Maps what the CLI said about a failure, when it is recognisable.
fn classify_text(text: &str) -> Option<LlmError> {
    let lower = text.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let detail = || one_line(text);
    if has(&["unknown option", "unknown argument"]) {
        // A CLI too old (or too new) for the flags above fails every call alike.
        return Some(LlmError::NotInstalled(one_line(&format!(
            "the claude CLI does not accept mnemo's flags: {text}"
        ))));
    }
    if has(&[
        "credit balance",
        "usage limit",
        "hit your limit",
        "spend limit",
        "billing",
        "quota",
        "out of extra usage",
    ]) {
        return Some(LlmError::Quota(detail()));
    }
    if has(&["rate limit", "rate_limit", "api error: 429"]) {
        return Some(LlmError::RateLimited(detail()));
    }
    if has(&["limit reached"]) {
        return Some(LlmError::Quota(detail()));
    }
    if has(&[
        "invalid api key",
        "/login",
        "not logged in",
        "authentication",
        "unauthorized",
        "oauth token",
        "api error: 401",
        "api error: 403",
    ]) {
        return Some(LlmError::Auth(detail()));
    }
    if has(&[
        "overloaded",
        "api error: 5",
        "internal server error",
        "service unavailable",
    ]) {
        return Some(LlmError::Server(detail()));
    }
    if has(&[
        "prompt is too long",
        "api error: 400",
        "api error: 404",
        "invalid model",
        "model not found",
    ]) {
        return Some(LlmError::Rejected(detail()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classify_text_recognises_the_cli_messages() {
        let cases = [
            ("Credit balance is too low", "Quota"),
            ("Claude AI usage limit reached|1736512800", "Quota"),
            (
                "You've hit your limit · resets 3pm (Europe/Berlin)",
                "Quota",
            ),
            ("5-hour limit reached ∙ resets 3pm", "Quota"),
            ("API Error: Rate limit reached", "RateLimited"),
            ("Invalid API key · Please run /login", "Auth"),
            ("Not logged in · Please run /login", "Auth"),
            (
                "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}",
                "Server",
            ),
            ("API Error: 500 Internal server error", "Server"),
            ("Prompt is too long", "Rejected"),
            (
                "error: unknown option '--no-session-persistence'",
                "NotInstalled",
            ),
        ];
        for (text, kind) in cases {
            let error = classify_text(text).unwrap_or_else(|| panic!("{text}"));
            assert!(format!("{error:?}").starts_with(kind), "{text}: {error:?}");
        }
        assert_eq!(classify_text("something else entirely"), None);
    }

    #[test]
    fn usage_prefers_model_usage_totals() {
        let output = json!({
            "usage": {"input_tokens": 3, "cache_read_input_tokens": 100, "output_tokens": 7},
            "modelUsage": {
                "claude-haiku-4-5-20251001": {"inputTokens": 10, "outputTokens": 50, "cacheReadInputTokens": 1000, "cacheCreationInputTokens": 5},
                "claude-3-5-haiku-20241022": {"inputTokens": 2, "outputTokens": 1}
            }
        });
        assert_eq!(
            usage(&output),
            (1017, 51, Some("claude-haiku-4-5-20251001".into()))
        );
        let output = json!({"usage": {"input_tokens": 3, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 1, "output_tokens": 7}});
        assert_eq!(usage(&output), (104, 7, None));
        assert_eq!(usage(&json!({})), (0, 0, None));
    }

    #[test]
    fn parse_output_takes_the_last_json_line() {
        assert!(parse_output("{\"type\":\"result\"}").is_some());
        assert!(parse_output("warning: x\n{\"type\":\"result\"}\n").is_some());
        assert!(parse_output("hello").is_none());
        assert!(parse_output("[1]").is_none());
    }
}
