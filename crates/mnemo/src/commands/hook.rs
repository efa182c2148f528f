//! `mnemo hook [EVENT]`: Claude Code's hook entry point.
//!
//! Contract: whatever happens, exit 0 and print nothing but the documented
//! JSON on stdout (SessionStart: the memory index; UserPromptSubmit: memories
//! matching the prompt; PreToolUse on Read: memories of the file; all as
//! `additionalContext`). Problems are one line
//! on stderr (Claude Code sends that to its debug log) and a fuller line in
//! mnemo's log file.
//!
//! Signals: Claude Code sends SIGTERM to async hooks still running when a
//! session ends, often within milliseconds of starting them. The hook holds
//! SIGTERM, SIGHUP and SIGINT back from the moment it starts, so a signal
//! can only arrive as "pending": the event is committed (or spooled) first,
//! then the hook checks and, if told to stop, leaves everything derived
//! (compression, vectors, enrichment) to a detached catch-up worker and
//! exits 0. Reading stdin stays bounded by its own timeout meanwhile.
//!
//! This module is the process around the hook pipeline
//! (`mnemo_app::hook`): signals, stdin and its deadlines, the panic guard,
//! and printing what the pipeline answers.

use std::io::{self, IsTerminal};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use mnemo_app::hook::{HookPipeline, Process};
use mnemo_app::parts::Parts;
use mnemo_capture::IdleTimeoutReader;
use mnemo_config::{Config, Paths, hooks_disabled};
use mnemo_platform::signals::{self, Signal};

/// One line on stderr, `mnemo: ` first, with line breaks in the message
/// folded (Claude Code shows hook stderr line by line).
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("mnemo: {}", one_line(&format!($($arg)*)))
    };
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Claude Code writes the whole input at once and closes stdin; a sender that
/// stalls this long is not going to finish.
const STDIN_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Nor may a sender trickling bytes keep a hook alive longer than this.
const STDIN_TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The signals that would otherwise end a hook half-way: Claude Code's
/// SIGTERM at the end of a session, SIGHUP from a closing terminal, SIGINT.
const ENDING_SIGNALS: [Signal; 3] = [Signal::Terminate, Signal::Hangup, Signal::Interrupt];

/// Hold the ending signals back for this thread and every thread it starts:
/// they stay pending instead of killing the process. Children started with
/// `std::process::Command` get a clean mask.
fn hold_ending_signals() {
    if let Err(e) = signals::hold(&ENDING_SIGNALS) {
        tracing::warn!("cannot hold back ending signals: {e}");
    }
}

/// Whether an ending signal arrived while held back: the hook has been
/// asked to stop and should leave derived work to catch-up.
fn told_to_stop() -> bool {
    signals::pending(&ENDING_SIGNALS)
}

/// Run the hook; never fails.
pub fn run(event: Option<&str>) -> ExitCode {
    hold_ending_signals();
    if hooks_disabled() {
        return ExitCode::SUCCESS;
    }
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        say!("internal error{at}: {msg}");
    }));
    // A panic has already printed its one line; the agent must not notice.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| handle(event)));
    ExitCode::SUCCESS
}

fn handle(event: Option<&str>) {
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => return say!("{e}; event not recorded"),
    };
    if let Err(e) = paths.ensure_dirs() {
        say!("{e}");
    }
    let (config, config_error) = Config::load_or_default(&paths);
    crate::logging::init(&paths, &config);
    if let Some(e) = config_error {
        tracing::warn!("{e}; using defaults");
        say!("{e}; using defaults");
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return say!("`mnemo hook` reads a Claude Code hook event as JSON on stdin");
    }
    let reader = IdleTimeoutReader::new(stdin.lock(), STDIN_IDLE_TIMEOUT, STDIN_TOTAL_TIMEOUT);
    let parts = Parts::new(paths, config);
    let input = match mnemo_capture::read_input(reader, parts.max_hook_input_bytes()) {
        Ok(input) => input,
        Err(e) => return say!("could not read hook input: {e}"),
    };
    let at = event_time().unwrap_or_else(|| parts.now());
    let process = HookProcess {
        home: &parts.paths.home,
    };
    let pipeline = HookPipeline::failing_open(&parts, &process);
    let output = pipeline.run(event, &input, at);
    for problem in &output.problems {
        say!("{problem}");
    }
    if let Some(stdout) = output.stdout {
        println!("{stdout}");
    }
}

/// The hook process as the pipeline sees it: its held signals, and the
/// detached worker it may start.
struct HookProcess<'a> {
    home: &'a Path,
}

impl Process for HookProcess<'_> {
    fn told_to_stop(&self) -> bool {
        told_to_stop()
    }

    fn start_worker(&self) {
        super::worker::start_background(self.home);
    }

    fn start_sync(&self) {
        super::sync::start_background(self.home);
    }
}

/// The time [`mnemo_config::ENV_EVENT_TIME`] gives the event, if it is set
/// and readable.
fn event_time() -> Option<i64> {
    let value = std::env::var(mnemo_config::ENV_EVENT_TIME).ok()?;
    let at = mnemo_retrieve::time::parse_time(&value, false);
    if at.is_none() {
        tracing::warn!("${}: not a time: {value}", mnemo_config::ENV_EVENT_TIME);
    }
    at
}
