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

use std::io::{self, IsTerminal};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Duration;

use mnemo_app::parts::{
    dedupe_window_ms, foreground_store_options, privacy_options, store_options,
};
use mnemo_capture::{Capturer, IdleTimeoutReader, Normalized, Persisted, persist};
use mnemo_config::{Config, Paths, hooks_disabled};
use mnemo_store::{HookRecord, Recorded, Store, StoreError};

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
const ENDING_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT];

/// Hold the ending signals back for this thread and every thread it starts:
/// they stay pending instead of killing the process. Children started with
/// `std::process::Command` get a clean mask.
fn hold_ending_signals() {
    if let Err(e) = crate::signals::hold(&ENDING_SIGNALS) {
        tracing::warn!("cannot hold back ending signals: {e}");
    }
}

/// Whether an ending signal arrived while held back: the hook has been
/// asked to stop and should leave derived work to catch-up.
pub(super) fn told_to_stop() -> bool {
    crate::signals::pending(&ENDING_SIGNALS)
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
    let input = match mnemo_capture::read_input(reader, config.capture.max_stdin_bytes) {
        Ok(input) => input,
        Err(e) => return say!("could not read hook input: {e}"),
    };
    let at = event_time().unwrap_or_else(mnemo_app::parts::now_ms);
    let capturer = Capturer::new(&config, privacy_options(&config)).unwrap_or_else(|e| {
        tracing::warn!("{e}; capturing with default settings");
        say!("{e}; capturing with default settings");
        Capturer::new(&Config::default(), Default::default()).expect("default settings are valid")
    });
    match capturer.normalize(event, &input, at) {
        Normalized::Record { record, warning } => {
            // Hooks the agent waits for answer quickly even when another process
            // holds the database's write lock.
            let foreground = mnemo_capture::event::injects_context(&record.hook);
            let options = if foreground {
                foreground_store_options(&config)
            } else {
                store_options(&config)
            };
            let persisted = persist(
                &paths,
                dedupe_window_ms(&config),
                &options,
                &record,
                &told_to_stop,
            );
            // The event is durable (or lost, said below); a signal that
            // arrived meanwhile ends the hook now.
            let stop = told_to_stop();
            let spooled = match persisted {
                Persisted::Stored(outcome) => {
                    tracing::debug!(hook = %record.hook, ?outcome, "recorded");
                    if let Some(warning) = warning {
                        tracing::warn!("{warning}");
                        say!("{warning}");
                    }
                    return after_storing(&paths, &config, &record, outcome, stop);
                }
                Persisted::Queued => {
                    tracing::info!(hook = %record.hook, "queued behind the spool backlog");
                    true
                }
                // The fast way out for a hook the agent waits for, not a problem.
                Persisted::Spooled(e @ StoreError::Busy(_)) if foreground => {
                    tracing::info!(hook = %record.hook, "{e}; event spooled, not waited for");
                    true
                }
                Persisted::Spooled(e) => {
                    tracing::warn!(hook = %record.hook, "{e}; event spooled");
                    say!(
                        "{e}; event saved to {} and will be stored by the next hook",
                        paths.spool_dir.display()
                    );
                    true
                }
                Persisted::SpooledElsewhere { store, spool, dir } => {
                    let why = store.map_or_else(String::new, |e| format!("{e}; "));
                    tracing::warn!(hook = %record.hook, "{why}spool: {spool}; event spooled to {}", dir.display());
                    say!(
                        "{why}cannot write {} ({spool}); event saved to {} and will be stored by the next hook",
                        paths.spool_dir.display(),
                        dir.display()
                    );
                    true
                }
                Persisted::Lost { store, spool } => {
                    let why = store.map_or_else(String::new, |e| format!("{e}; "));
                    tracing::error!(hook = %record.hook, "{why}spool: {spool}; event lost");
                    say!("{why}could not spool the event either ({spool}); event lost");
                    false
                }
            };
            if spooled && !stop {
                answer_from_snapshot(&paths, &config, &record);
            }
        }
        Normalized::Ignored(why) => tracing::debug!("ignored: {why}"),
        Normalized::Rejected {
            hook,
            reason,
            input_bytes,
            head,
        } => {
            say!("{reason}; input kept in rejected_inputs");
            tracing::warn!(?hook, input_bytes, "{reason}");
            let kept = Store::open(&paths.db, &store_options(&config)).and_then(|mut s| {
                s.record_rejected(hook.as_deref(), &reason, input_bytes, &head, at)
            });
            if let Err(e) = kept {
                tracing::error!("could not keep rejected input: {e}");
            }
        }
    }
}

/// What follows a stored event: nothing more if the hook was told to stop
/// (a detached worker takes over), else compression or catch-up, then the
/// hook's answer.
fn after_storing(
    paths: &Paths,
    config: &Config,
    record: &HookRecord,
    outcome: Recorded,
    stop: bool,
) {
    if stop {
        tracing::info!(hook = %record.hook, "asked to stop after storing");
        return super::compress::leave_to_catch_up(paths, config, record);
    }
    let prompt_id = match outcome {
        Recorded::Stored { prompt_id, .. } => prompt_id,
        Recorded::Duplicate | Recorded::NoSession => None,
    };
    super::compress::after_hook(paths, config, record, prompt_id);
    let output = match (record.hook.as_str(), outcome) {
        ("SessionStart", _) => super::context::session_start_output(paths, config, record),
        // A redelivered prompt already got its recall.
        ("UserPromptSubmit", Recorded::Stored { .. }) => {
            super::context::prompt_recall_output(paths, config, record)
        }
        ("PreToolUse", Recorded::Stored { .. }) => {
            super::context::file_note_output(paths, config, record)
        }
        _ => None,
    };
    if let Some(output) = output {
        println!("{output}");
    }
}

/// The answer of a hook whose event went to the spool (the store is locked
/// or behind a backlog): SessionStart's index still comes from a read of
/// the database, which a writer does not block in WAL mode; prompt recall
/// and file notes record what they hand over, so they wait for next time.
fn answer_from_snapshot(paths: &Paths, config: &Config, record: &HookRecord) {
    if record.hook != "SessionStart" {
        return;
    }
    if let Some(output) = super::context::session_start_output(paths, config, record) {
        println!("{output}");
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
