//! mnemo's capture path: one Claude Code hook input in, one durable, redacted
//! record out.
//!
//! ```text
//! stdin bytes ─▶ normalize (parse, event name, session, skip/exclude rules,
//!                redact + cap, project identity) ─▶ HookRecord
//!             ─▶ persist (store, or spool when the store is unavailable)
//! ```
//!
//! Invariants: nothing reaches disk before [`mnemo_privacy`] has cleaned it;
//! an input that cannot be interpreted is kept (redacted) in
//! `rejected_inputs`, never silently dropped; no function here panics on any
//! input.

#![warn(missing_docs)]

pub mod lock;
pub mod project;
pub mod spool;

use std::cell::OnceCell;
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use globset::{Glob, GlobSet, GlobSetBuilder};
use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::event;
use mnemo_config::{Config, Paths};
use mnemo_platform::io::{Waitable, wait_readable};
use mnemo_privacy::{MAX_PAYLOAD_VALUES, PrivacyOptions, Redactor};
use mnemo_store::{HookRecord, ProjectRef, PromptText, Recorded, Store, StoreError, StoreOptions};
use serde_json::{Map, Value};

/// The agent name recorded on sessions captured from Claude Code hooks.
pub use mnemo_agent::claude_code::AGENT;

/// How much of an uninterpretable input is kept for diagnosis.
const REJECTED_HEAD_BYTES: usize = 4096;
/// How much of the end of an oversized input is kept for field scanning.
const TAIL_BYTES: usize = 64 * 1024;
/// Spooled events replayed by one hook run before its own event.
const DRAIN_BUDGET: usize = 1000;

/// Configuration problems found while building a [`Capturer`].
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The privacy options were rejected (an invalid redaction pattern or limit).
    #[error("{0}")]
    Privacy(#[from] mnemo_privacy::PrivacyError),
    /// A skip or exclude pattern in the configuration is not a valid glob.
    #[error("{key}: invalid glob {pattern:?}: {source}")]
    Glob {
        /// The configuration key the pattern came from.
        key: &'static str,
        /// The pattern as written.
        pattern: String,
        /// Why globset refused it.
        source: globset::Error,
    },
}

/// The raw hook input, read with a size cap.
#[derive(Debug)]
pub struct HookInput {
    /// At most `max_stdin_bytes` bytes.
    pub bytes: Vec<u8>,
    /// How many bytes the sender wrote in total.
    pub total_bytes: usize,
    /// When truncated: the last bytes of the input (up to 64 KiB), where
    /// fields after a huge one (e.g. `tool_use_id`) can still be found.
    pub tail: Vec<u8>,
    /// Why reading stopped before the sender closed stdin (it stalled or
    /// ran past the total deadline); `bytes` is what had arrived.
    pub stalled: Option<String>,
}

impl HookInput {
    /// Whether the input was larger than the cap (and `bytes` is only its head).
    pub fn truncated(&self) -> bool {
        self.total_bytes > self.bytes.len()
    }
}

/// Read all of `reader`, keeping at most `max` bytes and discarding the rest
/// (so the sender never blocks on a full pipe). A read that times out ends
/// the input: what arrived is returned, marked `stalled`.
pub fn read_input(reader: impl Read, max: usize) -> io::Result<HookInput> {
    let mut input = HookInput {
        bytes: Vec::with_capacity(64 * 1024),
        total_bytes: 0,
        tail: Vec::new(),
        stalled: None,
    };
    let mut chunk = vec![0u8; TAIL_BYTES];
    let mut reader = reader;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                input.stalled = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e),
        };
        input.total_bytes += n;
        let room = max.saturating_sub(input.bytes.len()).min(n);
        input.bytes.extend_from_slice(&chunk[..room]);
        input.tail.extend_from_slice(&chunk[room..n]);
        if input.tail.len() > 2 * TAIL_BYTES {
            input.tail.drain(..input.tail.len() - TAIL_BYTES);
        }
    }
    if input.tail.len() > TAIL_BYTES {
        input.tail.drain(..input.tail.len() - TAIL_BYTES);
    }
    Ok(input)
}

/// Reads a file descriptor, giving up with `TimedOut` when no byte arrives
/// for `idle`, or when the whole read takes longer than the total deadline
/// (a sender trickling a byte now and then must not keep a hook alive):
/// a hook must never hang on a sender that forgot to close stdin.
pub struct IdleTimeoutReader<R> {
    inner: R,
    idle: Duration,
    total: Duration,
    deadline: Option<Instant>,
}

impl<R: Read + Waitable> IdleTimeoutReader<R> {
    /// At most `idle` between bytes, and `total` for the whole input,
    /// counted from the first read.
    pub fn new(inner: R, idle: Duration, total: Duration) -> Self {
        IdleTimeoutReader {
            inner,
            idle,
            total,
            deadline: None,
        }
    }
}

impl<R: Read + Waitable> Read for IdleTimeoutReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + self.total);
        let left = deadline.saturating_duration_since(Instant::now());
        let (wait, timeout) = if left < self.idle {
            (
                left,
                format!("input not complete after {} s", self.total.as_secs()),
            )
        } else {
            (self.idle, format!("no input for {} s", self.idle.as_secs()))
        };
        if wait_readable(&self.inner, wait)? {
            self.inner.read(buf)
        } else {
            Err(io::Error::new(io::ErrorKind::TimedOut, timeout))
        }
    }
}

/// What normalizing one input produced.
#[derive(Debug)]
pub enum Normalized {
    /// Ready to persist. `warning` explains anything the user should know
    /// (e.g. an input over the size cap stored as a stub).
    Record {
        /// The record to persist, already redacted.
        record: Box<HookRecord>,
        /// What the user should know about this input (see above).
        warning: Option<String>,
        /// The file the tool call names (`tool_input.file_path`), redacted
        /// like the payload: taken before the payload is serialised, so
        /// that nothing after capture parses it back.
        file_path: Option<String>,
    },
    /// A valid input mnemo deliberately does not store (event it does not
    /// record, skipped tool, excluded project).
    Ignored(String),
    /// An input that could not be interpreted; `head` is redacted.
    Rejected {
        /// The hook event name, when the input got far enough to name one.
        hook: Option<String>,
        /// Why the input was refused, in one line.
        reason: String,
        /// The size of the whole input in bytes.
        input_bytes: usize,
        /// The start of the input, redacted, kept for diagnosis.
        head: String,
    },
}

/// Turns hook inputs into records under one configuration.
pub struct Capturer {
    privacy: PrivacyOptions,
    redactor: OnceCell<Redactor>,
    skip_tools: Option<GlobSet>,
    exclude_projects: Option<GlobSet>,
}

impl Capturer {
    /// Validate the capture settings of `config` and the privacy options
    /// (`mnemo_app::parts::privacy_options` makes them from the same config).
    pub fn new(config: &Config, privacy: PrivacyOptions) -> Result<Capturer, CaptureError> {
        let capturer = Capturer {
            skip_tools: glob_set("capture.skip_tools", &config.capture.skip_tools)?,
            exclude_projects: glob_set(
                "capture.exclude_projects",
                &expand_home(&config.capture.exclude_projects),
            )?,
            redactor: OnceCell::new(),
            privacy,
        };
        // Build the redactor now only when user patterns need validating;
        // otherwise leave it for the first input that needs it.
        if !capturer.privacy.extra_patterns.is_empty() {
            let _ = capturer.redactor.set(Redactor::new(&capturer.privacy)?);
        }
        Ok(capturer)
    }

    /// The redactor of this configuration, built on first use: the one a
    /// process shares for everything it stores after capture (compression
    /// redacts transcript text with it).
    pub fn redactor(&self) -> &Redactor {
        self.redactor.get_or_init(|| {
            // Built-in patterns always compile; user patterns were checked in `new`.
            Redactor::new(&self.privacy)
                .or_else(|_| Redactor::new(&PrivacyOptions::default()))
                .expect("built-in privacy patterns compile")
        })
    }

    /// Interpret one hook input received at `at` (Unix ms). `arg_event` is the
    /// event named on the command line; `hook_event_name` in the input wins.
    pub fn normalize(&self, arg_event: Option<&str>, input: &HookInput, at: i64) -> Normalized {
        if input.truncated() {
            return self.oversized(arg_event, input, at);
        }
        let reject = |hook: Option<&str>, reason: String| Normalized::Rejected {
            hook: hook.map(str::to_string),
            reason,
            input_bytes: input.total_bytes,
            head: self.redacted_head(&input.bytes),
        };
        // Bounded whatever the shape: a million tiny items would otherwise
        // cost a gigabyte as `Value`s before the event cap could cut them.
        let mut value = match mnemo_privacy::parse_bounded(&input.bytes, MAX_PAYLOAD_VALUES) {
            Ok(parsed) => {
                if parsed.values_cut > 0 {
                    tracing::warn!(cut = parsed.values_cut, "hook input has too many values");
                }
                parsed.value
            }
            Err(e) => {
                let reason = match &input.stalled {
                    Some(why) => format!("hook input incomplete ({why})"),
                    None => format!("hook input is not valid JSON ({e})"),
                };
                return reject(arg_event, reason);
            }
        };
        let Some(obj) = value.as_object() else {
            return reject(arg_event, "hook input is not a JSON object".into());
        };
        let named = obj.get("hook_event_name").and_then(Value::as_str);
        let Some(hook) = named.or(arg_event).map(event::canonical) else {
            return reject(
                None,
                "no event: pass it as an argument or in hook_event_name".into(),
            );
        };
        if let (Some(named), Some(arg)) = (named, arg_event)
            && event::canonical(arg) != event::canonical(named)
        {
            tracing::warn!(
                arg,
                named,
                "event argument differs from hook_event_name; using hook_event_name"
            );
        }
        if !event::is_recorded(&hook) {
            return Normalized::Ignored(format!("{hook} events are not recorded"));
        }
        if obj
            .get("session_id")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return reject(Some(&hook), "hook input has no session_id".into());
        }
        // Skip and exclude rules, and the project's identity, go by the raw
        // values; what is stored of them is cleaned with the rest below.
        if let (Some(tool), Some(skip)) = (str_field(obj, "tool_name"), &self.skip_tools)
            && skip.is_match(&tool)
        {
            return Normalized::Ignored(format!("tool {tool} is in capture.skip_tools"));
        }
        let project = str_field(obj, "cwd").map(|c| project::resolve(Path::new(&c)));
        if let (Some(p), Some(exclude)) = (&project, &self.exclude_projects)
            && exclude.is_match(&p.root)
        {
            return Normalized::Ignored(format!(
                "project {} is in capture.exclude_projects",
                p.root.display()
            ));
        }

        let report = self.redactor().clean_event(&mut value);
        tracing::debug!(?report, "cleaned hook input");
        let Some(obj) = value.as_object_mut() else {
            return reject(Some(&hook), "hook input is not a JSON object".into());
        };
        let prompt = HookEvent::UserPromptSubmit.is(&hook).then(|| {
            let text = match obj.remove("prompt") {
                Some(Value::String(s)) => s,
                _ => String::new(),
            };
            PromptText {
                private: report.private_spans > 0 && text.trim().is_empty(),
                text,
            }
        });
        let transcript_path = take_str(obj, "transcript_path");
        let Some(session) = take_str(obj, "session_id").filter(|s| !s.trim().is_empty()) else {
            return reject(
                Some(&hook),
                "session_id is empty once private blocks are dropped".into(),
            );
        };
        obj.remove("hook_event_name");
        let tool_name = take_str(obj, "tool_name");
        if tool_name.as_deref().is_some_and(mnemo_privacy::is_own_tool) {
            // mnemo's own recall: what it returned is memory already kept.
            // Only the call (which query, which ids) stays, as a sign the
            // turn recalled memory.
            obj.remove("tool_response");
        }
        let tool_use_id = take_str(obj, "tool_use_id");
        let cwd = str_field(obj, "cwd");
        let file_path = obj
            .get("tool_input")
            .and_then(|input| input.get("file_path"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let (project, branch) = self.clean_project(project);
        Normalized::Record {
            warning: None,
            file_path,
            record: Box::new(HookRecord {
                agent: AGENT.into(),
                agent_session_id: session,
                at,
                project,
                branch,
                transcript_path,
                tool_name,
                tool_use_id,
                agent_id: str_field(obj, "agent_id"),
                agent_prompt_id: str_field(obj, "prompt_id"),
                prompt,
                source: HookEvent::SessionStart
                    .is(&hook)
                    .then(|| str_field(obj, "source"))
                    .flatten(),
                end_reason: HookEvent::SessionEnd
                    .is(&hook)
                    .then(|| str_field(obj, "reason"))
                    .flatten(),
                cwd,
                payload: Value::Object(std::mem::take(obj)).to_string(),
                hook,
            }),
        }
    }

    /// An input over `capture.max_stdin_bytes`: not parsed, but recorded as a
    /// stub naming its size when its session can be found in the head.
    fn oversized(&self, arg_event: Option<&str>, input: &HookInput, at: i64) -> Normalized {
        let head = &input.bytes[..input.bytes.len().min(TAIL_BYTES)];
        let scan =
            |key| scan_string_field(head, key).or_else(|| scan_string_field(&input.tail, key));
        let hook = scan("hook_event_name")
            .as_deref()
            .or(arg_event)
            .map(event::canonical);
        let reason = format!(
            "hook input of {} bytes is over capture.max_stdin_bytes ({})",
            input.total_bytes,
            input.bytes.len()
        );
        let (Some(hook), Some(session)) = (hook, scan("session_id")) else {
            return Normalized::Rejected {
                hook: arg_event.map(str::to_string),
                reason,
                input_bytes: input.total_bytes,
                head: self.redacted_head(&input.bytes),
            };
        };
        if !event::is_recorded(&hook) {
            return Normalized::Ignored(format!("{hook} events are not recorded"));
        }
        let cwd = scan("cwd");
        let (project, branch) =
            self.clean_project(cwd.as_deref().map(|c| project::resolve(Path::new(c))));
        let clean = |s: Option<String>| s.map(|s| self.redactor().clean_text(&s));
        let payload = serde_json::json!({
            "mnemo_input_too_large": { "bytes": input.total_bytes, "limit": input.bytes.len() }
        });
        Normalized::Record {
            record: Box::new(HookRecord {
                agent: AGENT.into(),
                agent_session_id: self.redactor().clean_text(&session),
                at,
                project,
                branch,
                cwd: clean(cwd),
                transcript_path: None,
                tool_name: clean(scan("tool_name")),
                tool_use_id: clean(scan("tool_use_id")),
                agent_id: None,
                agent_prompt_id: None,
                prompt: HookEvent::UserPromptSubmit.is(&hook).then(|| PromptText {
                    text: format!("[mnemo: prompt of {} bytes not stored]", input.total_bytes),
                    private: false,
                }),
                source: None,
                end_reason: None,
                payload: payload.to_string(),
                hook,
            }),
            warning: Some(format!("{reason}; stored a stub event without its content")),
            file_path: None,
        }
    }

    /// The store's view of `project`, and its branch, cleaned like every
    /// other stored string (a directory may be named like a token).
    fn clean_project(
        &self,
        project: Option<project::ProjectIdentity>,
    ) -> (Option<ProjectRef>, Option<String>) {
        let Some(project) = project else {
            return (None, None);
        };
        let r = self.redactor();
        let mut reference = project.to_ref();
        reference.root = r.clean_text(&reference.root);
        reference.name = r.clean_text(&reference.name);
        (Some(reference), project.branch.map(|b| r.clean_text(&b)))
    }

    fn redacted_head(&self, bytes: &[u8]) -> String {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(REJECTED_HEAD_BYTES)]);
        self.redactor().clean_text(&head)
    }
}

/// What happened to a record on its way to disk.
#[derive(Debug)]
pub enum Persisted {
    /// In the database (or recognised as a redelivery of a stored event).
    Stored(Recorded),
    /// Written to the spool behind an older backlog that is still draining;
    /// it will be stored in arrival order.
    Queued,
    /// The database could not take it; it waits in the spool.
    Spooled(mnemo_store::StoreError),
    /// Neither the database nor the data directory's spool could take it
    /// (its filesystem is full or read-only); it waits in the fallback spool
    /// `dir` and is stored by the next hook that can write the database.
    SpooledElsewhere {
        /// Why the database refused it, when it was tried at all.
        store: Option<mnemo_store::StoreError>,
        /// Why the data directory's spool refused it.
        spool: io::Error,
        /// The fallback spool directory now holding the event.
        dir: std::path::PathBuf,
    },
    /// Neither the database nor either spool could take it.
    Lost {
        /// Why the database refused it, when it was tried at all.
        store: Option<mnemo_store::StoreError>,
        /// Why the last spool tried refused it.
        spool: io::Error,
    },
}

/// How long one attempt to store an event waits for another writer before
/// [`persist`] checks whether it should give up.
const BUSY_SLICE: std::time::Duration = std::time::Duration::from_millis(50);

/// One try of [`persist`] at the database.
enum Attempt {
    Stored(Recorded),
    /// The spool holds more than one replay takes: the event goes to the
    /// spool, behind the rest.
    Queue,
    /// Another hook is replaying the spool right now: the event goes to the
    /// spool, where that replay finds it.
    BehindReplay,
}

/// How often a hook that queued behind another's replay looks whether the
/// replay is over.
const REPLAY_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Write `record` to the database, first replaying any spooled backlog so
/// events land in the order they were received; fall back to the spool.
/// `dedupe_window_ms` is the redelivery window (see `Store::record`);
/// `options` sets how long to wait in all for another writer (shorter for
/// a hook the agent waits for); the wait is taken in slices, and
/// `give_up` is asked between them: a hook told to stop spools its event at
/// once rather than be killed while it waits.
///
/// A hook that finds another replaying the spool queues its event there:
/// the replay lists the spool again before it stores its own event, so the
/// order of arrival holds. Should the replay have finished its last listing
/// already, the hook waits for it to end and replays what is left itself.
///
/// `store` is the caller's connection: opened here if it is `None`, kept
/// across attempts, and left open (with `options`' busy timeout) for the
/// caller's next steps, whatever became of the record.
pub fn persist(
    paths: &Paths,
    dedupe_window_ms: i64,
    options: &StoreOptions,
    record: &HookRecord,
    give_up: &dyn Fn() -> bool,
    store: &mut Option<Store>,
) -> Persisted {
    let window = dedupe_window_ms;
    let started = std::time::Instant::now();
    let slice = StoreOptions {
        busy_timeout: options.busy_timeout.min(BUSY_SLICE),
        ..options.clone()
    };
    let waiting = || started.elapsed() < options.busy_timeout && !give_up();
    let replay = |store: &mut Store| {
        spool::drain(
            &paths.spool_dir,
            Some(&paths.fallback_spool_dir),
            store,
            DRAIN_BUDGET,
            window,
        )
    };
    let mut try_once = || -> Result<Attempt, StoreError> {
        let store = opened(store, &paths.db, &slice)?;
        if spool::pending_all(paths) > 0 {
            let drained = replay(store)?;
            tracing::info!(?drained, "replayed spooled events");
            if drained.drained_elsewhere {
                return Ok(Attempt::BehindReplay);
            }
            if drained.remaining > 0 {
                return Ok(Attempt::Queue); // join the queue rather than jump it
            }
        }
        store.record(record, window).map(Attempt::Stored)
    };
    // Every attempt is idempotent (replay and record dedupe), so a busy
    // one is simply made again.
    let attempt = loop {
        match try_once() {
            Err(StoreError::Busy(_)) if waiting() => {}
            other => break other,
        }
    };
    let behind_replay = matches!(attempt, Ok(Attempt::BehindReplay));
    let store_error = match attempt {
        Ok(Attempt::Stored(recorded)) => return Persisted::Stored(recorded),
        Ok(Attempt::Queue | Attempt::BehindReplay) => None,
        Err(e) => Some(e),
    };
    let persisted = match (spool::write(&paths.spool_dir, record).err(), store_error) {
        (None, None) => Persisted::Queued,
        (None, Some(e)) => Persisted::Spooled(e),
        // The data directory's filesystem is full or read-only: elsewhere.
        (Some(spool), store) => match spool::write_fallback(&paths.fallback_spool_dir, record) {
            Ok(_) => Persisted::SpooledElsewhere {
                store,
                spool,
                dir: paths.fallback_spool_dir.clone(),
            },
            Err(fallback) => {
                tracing::warn!("fallback spool: {fallback}");
                Persisted::Lost { store, spool }
            }
        },
    };
    if behind_replay && matches!(persisted, Persisted::Queued) {
        // Should the replay have listed the spool for the last time already,
        // the event must not wait for the next hook.
        while spool::draining(&paths.spool_dir) && waiting() {
            std::thread::sleep(REPLAY_POLL);
        }
        if waiting()
            && let Ok(store) = opened(store, &paths.db, &slice)
            && let Err(e) = replay(store)
        {
            tracing::info!("the spool is left to the next hook: {e}");
        }
    }
    if let Some(store) = store
        && let Err(e) = store.conn().busy_timeout(options.busy_timeout)
    {
        tracing::warn!("cannot set the busy timeout: {e}");
    }
    persisted
}

/// The connection in `slot`, opened with `options` if there is none yet.
fn opened<'s>(
    slot: &'s mut Option<Store>,
    path: &Path,
    options: &StoreOptions,
) -> Result<&'s mut Store, StoreError> {
    let store = match slot.take() {
        Some(store) => store,
        None => Store::open(path, options)?,
    };
    Ok(slot.insert(store))
}

fn glob_set(key: &'static str, patterns: &[String]) -> Result<Option<GlobSet>, CaptureError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|source| CaptureError::Glob {
            key,
            pattern: pattern.clone(),
            source,
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|source| CaptureError::Glob {
            key,
            pattern: patterns.join(", "),
            source,
        })
}

/// `~/x` → `$HOME/x`, so exclusion globs can be written the way people think.
fn expand_home(patterns: &[String]) -> Vec<String> {
    let home = std::env::var("HOME").ok();
    patterns
        .iter()
        .map(|p| match (p.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => format!("{}/{rest}", home.trim_end_matches('/')),
            _ => p.clone(),
        })
        .collect()
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn take_str(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Find `"key": "value"` in the head of a JSON text too large to parse. Only
/// plain values are returned (an escaped quote ends the scan).
fn scan_string_field(head: &[u8], key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = memchr::memmem::find(head, needle.as_bytes())? + needle.len();
    let rest = &head[at..];
    let rest = trim_start(rest).strip_prefix(b":")?;
    let rest = trim_start(rest).strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest.get(end) == Some(&b'"'))
        .then(|| String::from_utf8_lossy(&rest[..end]).into_owned())
        .filter(|s| !s.is_empty())
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_fields_from_a_truncated_head() {
        let head = br#"{"session_id" : "abc-1", "hook_event_name":"PostToolUse", "tool_response": {"stdout": "xxxx"#;
        assert_eq!(
            scan_string_field(head, "session_id").as_deref(),
            Some("abc-1")
        );
        assert_eq!(
            scan_string_field(head, "hook_event_name").as_deref(),
            Some("PostToolUse")
        );
        assert_eq!(
            scan_string_field(head, "stdout"),
            None,
            "unterminated value"
        );
        assert_eq!(scan_string_field(head, "cwd"), None);
    }

    #[test]
    fn a_sender_that_never_closes_times_out() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut writer, b"{\"partial\":").unwrap();
        let started = Instant::now();
        let reader =
            IdleTimeoutReader::new(reader, Duration::from_millis(200), Duration::from_secs(60));
        let input = read_input(reader, 1 << 20).unwrap();
        assert_eq!(input.bytes, b"{\"partial\":");
        assert!(input.stalled.unwrap().contains("no input"));
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(writer);
    }

    #[test]
    fn a_trickling_sender_meets_the_total_deadline() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let trickle = std::thread::spawn(move || {
            for _ in 0..40 {
                if std::io::Write::write_all(&mut writer, b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        let reader = IdleTimeoutReader::new(
            reader,
            Duration::from_millis(500),
            Duration::from_millis(300),
        );
        let input = read_input(reader, 1 << 20).unwrap();
        let elapsed = started.elapsed();
        assert!(input.stalled.unwrap().contains("not complete"));
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
        trickle.join().unwrap();
    }

    #[test]
    fn read_input_caps_and_counts() {
        let data = vec![b'x'; 10_000];
        let input = read_input(&data[..], 4096).unwrap();
        assert_eq!(input.bytes.len(), 4096);
        assert_eq!(input.tail.len(), 10_000 - 4096);
        assert_eq!(input.total_bytes, 10_000);
        assert!(input.truncated());
    }

    /// Found by the capture property: the session id, tool name, cwd and
    /// project were stored as sent, before redaction, on both the parsed
    /// and the oversized path.
    #[test]
    fn identifiers_and_paths_are_cleaned_too() {
        // Built at run time so that no literal token sits in the source.
        let token = format!("{}{}", "ghp_", "Q7kx".repeat(9));
        let hook = serde_json::json!({
            "session_id": format!("s-{token}"),
            "hook_event_name": "PostToolUse",
            "tool_name": token,
            "tool_use_id": format!("t {token}"),
            "cwd": format!("/nonexistent/{token}/app"),
            "tool_input": {},
        })
        .to_string();
        let capturer = Capturer::new(&Config::default(), PrivacyOptions::default()).unwrap();
        for max in [usize::MAX, hook.len() - 10] {
            let input = read_input(hook.as_bytes(), max).unwrap();
            let Normalized::Record { record, .. } = capturer.normalize(None, &input, 1) else {
                panic!("not recorded (max {max})");
            };
            let project = record.project.as_ref().unwrap();
            for field in [
                Some(&record.agent_session_id),
                record.tool_name.as_ref(),
                record.tool_use_id.as_ref(),
                record.cwd.as_ref(),
                Some(&project.root),
                Some(&record.payload),
            ]
            .into_iter()
            .flatten()
            {
                assert!(!field.contains(&token), "{field} (max {max})");
            }
            assert!(record.agent_session_id.contains("[REDACTED:github-token]"));
            assert!(record.cwd.is_some() && record.tool_name.is_some());
        }
    }
}
