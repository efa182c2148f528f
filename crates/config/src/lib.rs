//! The mnemo data directory and its configuration file.
//!
//! * [`Paths`]: where the database, config file, spool and logs live
//!   (`$MNEMO_HOME`, default `~/.mnemo`), and [`Paths::ensure_dirs`] to create
//!   them with owner-only permissions.
//! * [`Config`]: the settings of `$MNEMO_HOME/config.toml`, with
//!   `MNEMO_<SECTION>_<KEY>` environment overrides. Precedence: built-in
//!   defaults < file < environment. [`DOCUMENTED_DEFAULTS`] is the commented
//!   default file.
//!
//! # Environment overrides
//!
//! Every key that is not a table can be overridden by `MNEMO_<SECTION>_<KEY>`
//! in upper case, e.g. `MNEMO_CAPTURE_MAX_FIELD_BYTES=8192`,
//! `MNEMO_STORE_SYNCHRONOUS=full`, `MNEMO_LOG_LEVEL=debug`. The value is
//! parsed by the type of the key: integers (`_` separators allowed), strings
//! and enums as is, lists comma-separated (`MNEMO_CAPTURE_SKIP_TOOLS=TodoWrite,mcp__*`;
//! items are trimmed and empty items dropped). An empty value leaves a scalar
//! unchanged and makes a list empty. Tables (`privacy.extra_patterns`) have no
//! override. This is derived from the serialized form of [`Config`], so a new
//! key gets its variable without further code.
//!
//! An invalid value is an error naming the variable, and so is a
//! `MNEMO_<SECTION>_...` variable (for one of the config's sections, e.g.
//! `CAPTURE` or `SERVE`) that matches no key; other `MNEMO_*` variables,
//! such as [`ENV_HOME`], [`ENV_DISABLE_HOOKS`] and [`ENV_EVENT_TIME`], are not overrides and are
//! ignored here.
//!
//! Everything here runs in every hook process, so it is kept cheap: loading a
//! missing or small config file takes tens of microseconds in a release
//! build (`cargo run --release -p mnemo-config --example load_time`) and does
//! no regex compilation or globbing (patterns are stored as strings and compiled by
//! the crates that use them).

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod bounded;
mod error;
mod overrides;
mod paths;

#[cfg(test)]
mod tests;

pub use error::ConfigError;
pub use paths::Paths;

use error::one_line;

/// The environment variable naming the data directory (default `~/.mnemo`).
pub const ENV_HOME: &str = "MNEMO_HOME";

/// When set to a non-empty value other than "0", every `mnemo hook` is a
/// no-op (used by mnemo's own LLM subprocesses so they never record
/// themselves). See [`hooks_disabled`].
pub const ENV_DISABLE_HOOKS: &str = "MNEMO_DISABLE_HOOKS";

/// When set, `mnemo hook` dates its event at this time (RFC 3339 or Unix
/// milliseconds) instead of the clock's: for replaying recorded hook input,
/// so memories carry the time their events happened. Claude Code leaves it
/// unset, and then the event happened now.
pub const ENV_EVENT_TIME: &str = "MNEMO_EVENT_TIME";

/// The documented default config file: every key with its default value and a
/// one-line explanation, plus a header on file location, environment
/// overrides and precedence. It parses to exactly [`Config::default()`]
/// (checked by tests), so it can be written out as a starting point.
pub const DOCUMENTED_DEFAULTS: &str = include_str!("../config.example.toml");

/// Whether [`ENV_DISABLE_HOOKS`] is set in this process's environment to a
/// non-empty value other than "0".
pub fn hooks_disabled() -> bool {
    disables_hooks(std::env::var_os(ENV_DISABLE_HOOKS).as_deref())
}

/// [`hooks_disabled`] for a given value of the variable.
pub(crate) fn disables_hooks(value: Option<&OsStr>) -> bool {
    matches!(value, Some(v) if !v.is_empty() && v != "0")
}

/// The whole configuration: `$MNEMO_HOME/config.toml` plus environment
/// overrides. Every field has a default, so a missing file, an empty file or a
/// missing section or key means "default"; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[capture]`: what is recorded and size limits.
    pub capture: CaptureConfig,
    /// `[privacy]`: redaction beyond the built-in rules.
    pub privacy: PrivacyConfig,
    /// `[store]`: the SQLite database.
    pub store: StoreConfig,
    /// `[compress]`: turning episodes into observations and summaries.
    pub compress: CompressConfig,
    /// `[llm]`: optional LLM enrichment of compressed episodes.
    pub llm: LlmConfig,
    /// `[embed]`: the embedder behind vector search.
    pub embed: EmbedConfig,
    /// `[context]`: what new sessions are told at start.
    pub context: ContextConfig,
    /// `[serve]`: the local web viewer and HTTP API.
    pub serve: ServeConfig,
    /// `[log]`: mnemo's own log files.
    pub log: LogConfig,
    /// `[team]`: sharing joined projects' memories through a team server.
    pub team: TeamConfig,
}

/// `[capture]`: what is recorded and size limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// Per-string cap, in bytes, of stored payload fields; longer strings keep
    /// their head and tail. Default 16384.
    pub max_field_bytes: usize,
    /// Cap, in bytes, for one whole stored event. Default 262144.
    pub max_event_bytes: usize,
    /// Hook input larger than this many bytes is not parsed; a stub event
    /// records its size instead. Default 67108864 (64 MiB).
    pub max_stdin_bytes: usize,
    /// An identical prompt or event re-delivered within this many seconds is
    /// stored once. Default 10.
    pub dedupe_window_secs: u64,
    /// Tool names (globs, e.g. `"mcp__*"`) whose calls are never recorded.
    /// Default empty.
    pub skip_tools: Vec<String>,
    /// Globs on the project root path (a leading `~/` expands to `$HOME`);
    /// matching projects are not recorded at all. Default empty.
    pub exclude_projects: Vec<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            max_field_bytes: 16 * 1024,
            max_event_bytes: 256 * 1024,
            max_stdin_bytes: 64 * 1024 * 1024,
            dedupe_window_secs: 10,
            skip_tools: Vec::new(),
            exclude_projects: Vec::new(),
        }
    }
}

/// `[privacy]`: redaction beyond the built-in rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Extra secret patterns, `name = "regex"`; matches are replaced by
    /// `[REDACTED:name]`. Not compiled or validated here. Default empty. Has
    /// no environment override (it is a table).
    pub extra_patterns: BTreeMap<String, String>,
    /// Extra file-name globs whose contents are never stored, added to the
    /// built-ins (`.env*`, `*.pem`, `id_rsa*`, ...). Default empty.
    pub secret_files: Vec<String>,
}

/// `[compress]`: turning episodes into observations and summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressConfig {
    /// Compress closed episodes inside the hooks that end one (Stop,
    /// StopFailure, PreCompact, SessionEnd) and the worker's catch-up. Off:
    /// only `mnemo compress` and `mnemo serve` do it. Default true.
    pub in_hooks: bool,
    /// An episode with no activity for this many seconds counts as closed
    /// (a crashed session never sends its Stop). Default 1800.
    pub stale_after_secs: u64,
    /// How long the Stop hook waits, in milliseconds, for tool events still
    /// in flight before it compresses the episode. Default 2000.
    pub stop_wait_ms: u64,
}

impl Default for CompressConfig {
    fn default() -> Self {
        CompressConfig {
            in_hooks: true,
            stale_after_secs: 1800,
            stop_wait_ms: 2000,
        }
    }
}

/// `[context]`: the memory index injected when a session starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// Inject the index at SessionStart. Default true.
    pub enabled: bool,
    /// Hard limit on the injected text, in tokens (≈ 4 characters each).
    /// Default 1000.
    pub max_tokens: usize,
    /// Most observations listed. Default 50.
    pub max_observations: usize,
    /// On each prompt, add the project's memories that match it (each at
    /// most once per session). Default true.
    pub recall: bool,
    /// Hard limit on what one prompt's recall adds, in tokens. Default 500.
    pub recall_max_tokens: usize,
    /// Before Claude reads a file, add what the memories say about it (each
    /// memory at most once per session; the read is never blocked). Default true.
    pub file_notes: bool,
    /// Hard limit on one file note, in tokens. Default 300.
    pub file_note_max_tokens: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            enabled: true,
            max_tokens: 1000,
            max_observations: 50,
            recall: true,
            recall_max_tokens: 500,
            file_notes: true,
            file_note_max_tokens: 300,
        }
    }
}

/// `[serve]`: the local web viewer and HTTP API (`mnemo serve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The port on 127.0.0.1 (the only address it listens on); 0 picks a
    /// free one. Default 37373.
    pub port: u16,
    /// Seconds a client may take to send a request's headers, and then its
    /// body; also how long an idle keep-alive connection stays open.
    /// Default 10.
    pub header_timeout_secs: u64,
    /// Connections served at once; more are answered 503 and closed.
    /// Default 64.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            port: 37373,
            header_timeout_secs: 10,
            max_connections: 64,
        }
    }
}

/// `[llm]`: optional LLM enrichment, one call per episode, within a budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Which backend enriches episodes. Default [`LlmBackend::Off`].
    pub backend: LlmBackend,
    /// Model name; empty means the backend's default (`haiku` for the
    /// claude CLI, `claude-haiku-4-5` for Anthropic). Required for openai.
    pub model: String,
    /// Base URL of the API; empty means the backend's default
    /// (`https://api.anthropic.com`). Required for openai, e.g.
    /// `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the API key (keys never go
    /// in this file). Empty means `ANTHROPIC_API_KEY` / `OPENAI_API_KEY`.
    pub api_key_env: String,
    /// The `claude` executable for the claude-cli backend. Default "claude".
    pub claude_program: String,
    /// Tokens (input + output) the LLM may use per UTC day; enrichment stops
    /// for the day when it is reached. Default 200000.
    pub daily_token_budget: u64,
    /// Largest input one call may send, in tokens. Default 8000.
    pub max_input_tokens: u32,
    /// Largest answer asked for, in tokens. Default 1500.
    pub max_output_tokens: u32,
    /// Seconds before one attempt is abandoned. Default 60.
    pub timeout_secs: u64,
    /// Retries after a rate limit, server error or timeout. Default 2.
    pub max_retries: u32,
    /// The enrichment worker exits after this many idle seconds. Default 60.
    pub idle_exit_secs: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            backend: LlmBackend::Off,
            model: String::new(),
            base_url: String::new(),
            api_key_env: String::new(),
            claude_program: "claude".into(),
            daily_token_budget: 200_000,
            max_input_tokens: 8000,
            max_output_tokens: 1500,
            timeout_secs: 60,
            max_retries: 2,
            idle_exit_secs: 60,
        }
    }
}

/// The LLM enrichment backend. Written `"off"`, `"claude-cli"`,
/// `"anthropic"` or `"openai"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LlmBackend {
    /// No enrichment: the rule-based result stands (the default).
    #[default]
    Off,
    /// The `claude` CLI in print mode, with the user's Claude Code login.
    ClaudeCli,
    /// The Anthropic Messages API.
    Anthropic,
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
}

/// `[embed]`: which embedder turns memories and queries into vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedConfig {
    /// Which embedder. Default [`EmbedBackend::Builtin`].
    pub backend: EmbedBackend,
    /// Model name for `openai` (required there), e.g. `nomic-embed-text`.
    pub model: String,
    /// Vector length of the `openai` model (required there).
    pub dims: usize,
    /// Base URL for `openai` (required there), e.g. `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Name of the environment variable holding the API key; empty means
    /// `OPENAI_API_KEY` (and no key when that is unset).
    pub api_key_env: String,
    /// A sentence-transformers model directory, for `local`.
    pub model_dir: String,
    /// Seconds before an `openai` request is abandoned. Default 10.
    pub timeout_secs: u64,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            backend: EmbedBackend::Builtin,
            model: String::new(),
            dims: 0,
            base_url: String::new(),
            api_key_env: String::new(),
            model_dir: String::new(),
            timeout_secs: 10,
        }
    }
}

/// The embedder. Written `"builtin"`, `"off"`, `"openai"` or `"local"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbedBackend {
    /// The static table compiled into mnemo (the default): offline, microseconds.
    #[default]
    Builtin,
    /// Full-text search only.
    Off,
    /// Any OpenAI-compatible `/v1/embeddings` endpoint.
    Openai,
    /// The full transformer from `model_dir`, on CPU (a build with the
    /// `candle` feature).
    Local,
}

/// `[store]`: the SQLite database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// How long, in milliseconds, a writer waits for the SQLite lock before
    /// the event goes to the spool instead. Default 2000.
    pub busy_timeout_ms: u64,
    /// SQLite `synchronous` mode. Default [`Synchronous::Normal`].
    pub synchronous: Synchronous,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            busy_timeout_ms: 2000,
            synchronous: Synchronous::Normal,
        }
    }
}

/// SQLite `PRAGMA synchronous` mode of the database (which runs in WAL mode).
/// Written in lower case in the file and environment: `"normal"`, `"full"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Durable across application crashes; the last events may be lost on
    /// power loss or OS crash. No fsync per event.
    #[default]
    Normal,
    /// Also survives power loss, at the cost of an fsync per event.
    Full,
}

impl Synchronous {
    /// The lower-case name, as in the config file; also a valid value for
    /// `PRAGMA synchronous`.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        }
    }
}

impl fmt::Display for Synchronous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[log]`: mnemo's own log files (in [`Paths::log_dir`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// The most verbose level written. Default [`LogLevel::Info`].
    pub level: LogLevel,
    /// Size in bytes at which the log file is rotated. Default 1048576.
    pub max_bytes: u64,
    /// How many rotated files are kept. Default 3.
    pub keep: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LogLevel::Info,
            max_bytes: 1024 * 1024,
            keep: 3,
        }
    }
}

/// `[team]`: sharing joined projects' memories through a PostgreSQL server
/// (`mnemo team`, `mnemo sync`). Empty strings mean "not set".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    /// The team server's PostgreSQL connection URL. Empty: no team. Never
    /// shown with its password (see [`mask_url_password`]). Default empty.
    pub url: String,
    /// The name shared memories carry. Empty: git's `user.name` of the
    /// project, else the OS user. Default empty.
    pub author: String,
    /// A file whose first line is the server's password, when it is neither
    /// in the URL nor in `PGPASSWORD`/`~/.pgpass`. Default empty.
    pub password_file: String,
    /// A `mnemo sync` started in the background exits after this many
    /// seconds without a change to sync. Default 120.
    pub idle_exit_secs: u64,
}

impl Default for TeamConfig {
    fn default() -> Self {
        TeamConfig {
            url: String::new(),
            author: String::new(),
            password_file: String::new(),
            idle_exit_secs: 120,
        }
    }
}

/// `url` with the password of its user-info part (`scheme://user:PASSWORD@host`)
/// and the value of any `password=` parameter (in the query, or in a
/// `key=value` connection string) replaced by `***`, for showing it.
pub fn mask_url_password(url: &str) -> String {
    let mut masked = url.to_string();
    if let Some(scheme_end) = masked.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = masked[authority_start..]
            .find(['/', '?', '#'])
            .map_or(masked.len(), |i| authority_start + i);
        if let Some(at) = masked[authority_start..authority_end].rfind('@') {
            let userinfo = &masked[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                masked.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    const KEY: &str = "password=";
    let mut from = 0;
    while let Some(found) = masked[from..].to_ascii_lowercase().find(KEY) {
        let start = from + found;
        let value_start = start + KEY.len();
        let at_boundary = masked[..start]
            .chars()
            .next_back()
            .is_none_or(|c| matches!(c, '?' | '&' | ';') || c.is_whitespace());
        let value_end = masked[value_start..]
            .find(|c: char| c == '&' || c == ';' || c.is_whitespace())
            .map_or(masked.len(), |i| value_start + i);
        if at_boundary {
            masked.replace_range(value_start..value_end, "***");
            from = value_start + 3;
        } else {
            from = value_start;
        }
    }
    masked
}

/// A log verbosity, from least to most verbose (so `a <= b` means `a` is at
/// most as verbose as `b`). Written in lower case: `"error"`, `"warn"`,
/// `"info"`, `"debug"`, `"trace"`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Only errors.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also informational messages (the default).
    #[default]
    Info,
    /// Also debugging detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The lower-case name, as in the config file (also accepted by
    /// `tracing`'s level filters).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name used for TOML text that did not come from a file.
const STRING_ORIGIN: &str = "<config>";

impl Config {
    /// Reads `paths.config_file` (a missing file means all defaults), then
    /// applies the `MNEMO_<SECTION>_<KEY>` environment overrides.
    ///
    /// Errors name the file and the dotted key (or the environment
    /// variable); syntax errors give the line. A `MNEMO_<SECTION>_*` variable
    /// that matches no key is an error too (see [`ConfigError::UnknownEnv`]).
    pub fn load(paths: &Paths) -> Result<Config, ConfigError> {
        Self::load_with_env(&paths.config_file, std::env::vars_os())
    }

    /// For hooks: never fails. On error returns the error (the first one
    /// found) together with a best-effort config: the valid keys of the file
    /// over the defaults (all defaults if the file is unreadable or not valid
    /// TOML), then the valid environment overrides. Invalid or unknown keys
    /// and variables are skipped, so e.g. a typo in `[log]` does not drop
    /// `capture.exclude_projects`. The caller should log the error and go on.
    pub fn load_or_default(paths: &Paths) -> (Config, Option<ConfigError>) {
        Self::load_or_default_with_env(&paths.config_file, std::env::vars_os())
    }

    /// Parses config text (no environment overrides). Errors name the key as
    /// [`Config::load`]'s do, with `<config>` in place of the file name.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        parse(text, STRING_ORIGIN)
    }

    /// The effective config as TOML (every key, no comments), for
    /// `mnemo config`. It parses back to `self`, except that a password in
    /// `team.url` is masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.team.url = mask_url_password(&self.team.url);
        // Cannot fail for configs built from TOML and the environment; an
        // integer above i64::MAX set in code is the only way to fail.
        toml::to_string(&shown).unwrap_or_else(|e| {
            format!(
                "# cannot render the config as TOML: {}\n",
                one_line(&e.to_string())
            )
        })
    }

    /// [`Config::load`] with the environment passed in.
    pub(crate) fn load_with_env<I, K, V>(file: &Path, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let vars = overrides::candidate_vars(env);
        let config = match read_file(file)? {
            None => Config::default(),
            Some(text) => parse(&text, &file.display().to_string())?,
        };
        overrides::apply_env(config, &vars, &mut Err)
    }

    /// [`Config::load_or_default`] with the environment passed in.
    pub(crate) fn load_or_default_with_env<I, K, V>(
        file: &Path,
        env: I,
    ) -> (Config, Option<ConfigError>)
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let vars = overrides::candidate_vars(env);
        let mut first_error = None;
        let config = match read_file(file) {
            Ok(None) => Config::default(),
            Ok(Some(text)) => match parse(&text, &file.display().to_string()) {
                Ok(config) => config,
                Err(e) => {
                    first_error = Some(e);
                    overrides::salvage(&text)
                }
            },
            Err(e) => {
                first_error = Some(e);
                Config::default()
            }
        };
        let mut keep_first = |e: ConfigError| {
            first_error.get_or_insert(e);
            Ok(())
        };
        let config = match overrides::apply_env(config.clone(), &vars, &mut keep_first) {
            Ok(config) => config,
            Err(e) => {
                // Unreachable: `keep_first` never stops. Keep the file config.
                first_error.get_or_insert(e);
                config
            }
        };
        (config, first_error)
    }
}

/// The largest config file read; a real one is a few KiB.
const MAX_CONFIG_BYTES: usize = 1024 * 1024;
/// How long reading the config file may take.
const CONFIG_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The config file's text, `None` if it does not exist. Anything but a
/// regular file of at most [`MAX_CONFIG_BYTES`] is an error (a FIFO or a
/// device there must not hang or flood a hook).
fn read_file(file: &Path) -> Result<Option<String>, ConfigError> {
    match bounded::read_regular_string(file, MAX_CONFIG_BYTES, CONFIG_READ_TIMEOUT) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::io(file, e)),
    }
}

/// Strictly parses config text; `origin` names it in errors.
fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ConfigError::Syntax {
            file: origin.to_owned(),
            line,
            column,
            message: one_line(e.message()),
        }
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.inner();
        let line = inner.span().map(|s| line_col(text, s.start).0);
        let message = one_line(inner.message());
        match message.strip_prefix("unknown field `") {
            Some(rest) => ConfigError::UnknownKey {
                file: origin.to_owned(),
                key,
                line,
                expected: rest
                    .split_once(", expected ")
                    .map_or("", |(_, expected)| expected)
                    .to_owned(),
            },
            None => ConfigError::InvalidValue {
                file: origin.to_owned(),
                key,
                line,
                message,
            },
        }
    })
}

/// The 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
