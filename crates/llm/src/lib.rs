//! mnemo's LLM backends, used to enrich the rule-based compressor's result
//! with one call per episode.
//!
//! One [`Client`] talks to one backend ([`BackendConfig`]): the `claude` CLI
//! (the user's existing Claude Code login, no key), the Anthropic Messages
//! API, or any OpenAI-compatible chat-completions endpoint. Every call asks
//! for one JSON object described by a JSON Schema and returns it only after
//! checking it against that schema ([`schema::validate`]).
//!
//! The code is blocking (it runs in mnemo's background worker or `mnemo
//! serve`'s enrichment thread, never in a hook). A call is bounded: its
//! input is estimated and refused above [`Limits::max_input_tokens`] before
//! anything is sent, each attempt has a
//! timeout, retries are few and only for transient failures, and every
//! attempt — failed ones too — is reported as a [`CallRecord`] so the caller
//! can account for every token against its daily budget.
//!
//! ```no_run
//! use mnemo_llm::{BackendConfig, Client, JsonRequest, Limits};
//! let client = Client::new(BackendConfig::claude_cli("/home/me/.mnemo/llm"), Limits::default());
//! let request = JsonRequest {
//!     system: "You summarise coding sessions.".into(),
//!     user: "…the episode…".into(),
//!     schema: serde_json::json!({"type": "object", "required": ["title"],
//!                                "properties": {"title": {"type": "string", "maxLength": 80}}}),
//!     schema_name: "observation".into(),
//! };
//! let estimate = Client::estimate_input_tokens(&request); // check the budget first
//! let (result, records) = client.complete_json(&request);
//! // persist every record in llm_calls, then use `result` if it is Ok
//! # let _ = (estimate, result, records);
//! ```

#![warn(missing_docs)]

mod answer;
mod anthropic;
mod cli;
mod error;
mod http;
mod openai;
pub mod schema;

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use cli::DISABLE_HOOKS_ENV;
pub use error::LlmError;

/// Default Anthropic API base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// Which LLM to talk to, and how.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// The `claude` CLI in print mode, using the user's existing Claude Code
    /// login (no API key). See [`BackendConfig::claude_cli`] for defaults.
    ClaudeCli {
        /// The program to run; `claude` looks it up on `PATH`.
        program: PathBuf,
        /// A model alias (`haiku`, `sonnet`) or a full model id.
        model: String,
        /// A private directory to run in (created 0700 when missing). It
        /// keeps the call away from any project's `CLAUDE.md` and settings.
        work_dir: PathBuf,
    },
    /// The Anthropic Messages API: `POST {base_url}/v1/messages` with headers
    /// `x-api-key` and `anthropic-version: 2023-06-01`.
    Anthropic {
        /// Default [`ANTHROPIC_BASE_URL`]; any prefix before `/v1/messages`.
        base_url: String,
        /// Sent as `x-api-key`; never logged or shown by `Debug`.
        api_key: String,
        /// A model id, e.g. `claude-haiku-4-5`.
        model: String,
    },
    /// Any OpenAI-compatible chat-completions endpoint (Ollama, llama.cpp
    /// server, vLLM, OpenRouter, OpenAI): `POST {base_url}/chat/completions`.
    OpenAiCompatible {
        /// Everything before `/chat/completions`, e.g. `http://127.0.0.1:11434/v1`.
        base_url: String,
        /// Sent as `Authorization: Bearer …` when set and not empty; never
        /// logged or shown by `Debug`.
        api_key: Option<String>,
        /// The server's model name, e.g. `qwen2.5:3b`.
        model: String,
    },
}

impl BackendConfig {
    /// The `claude` CLI found on `PATH`, model `haiku`, run in `work_dir`.
    pub fn claude_cli(work_dir: impl Into<PathBuf>) -> BackendConfig {
        BackendConfig::ClaudeCli {
            program: PathBuf::from("claude"),
            model: "haiku".into(),
            work_dir: work_dir.into(),
        }
    }

    /// The Anthropic API at [`ANTHROPIC_BASE_URL`].
    pub fn anthropic(api_key: impl Into<String>, model: impl Into<String>) -> BackendConfig {
        BackendConfig::Anthropic {
            base_url: ANTHROPIC_BASE_URL.into(),
            api_key: api_key.into(),
            model: model.into(),
        }
    }

    /// An OpenAI-compatible endpoint without an API key (a local server).
    pub fn openai_compatible(
        base_url: impl Into<String>,
        model: impl Into<String>,
    ) -> BackendConfig {
        BackendConfig::OpenAiCompatible {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
        }
    }

    /// The backend's name as recorded in [`CallRecord::backend`]:
    /// `claude-cli`, `anthropic` or `openai`.
    pub fn name(&self) -> &'static str {
        match self {
            BackendConfig::ClaudeCli { .. } => "claude-cli",
            BackendConfig::Anthropic { .. } => "anthropic",
            BackendConfig::OpenAiCompatible { .. } => "openai",
        }
    }

    /// The configured model.
    pub fn model(&self) -> &str {
        match self {
            BackendConfig::ClaudeCli { model, .. }
            | BackendConfig::Anthropic { model, .. }
            | BackendConfig::OpenAiCompatible { model, .. } => model,
        }
    }
}

impl fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendConfig::ClaudeCli {
                program,
                model,
                work_dir,
            } => f
                .debug_struct("ClaudeCli")
                .field("program", program)
                .field("model", model)
                .field("work_dir", work_dir)
                .finish(),
            BackendConfig::Anthropic {
                base_url, model, ..
            } => f
                .debug_struct("Anthropic")
                .field("base_url", base_url)
                .field("api_key", &"<redacted>")
                .field("model", model)
                .finish(),
            BackendConfig::OpenAiCompatible {
                base_url,
                api_key,
                model,
            } => f
                .debug_struct("OpenAiCompatible")
                .field("base_url", base_url)
                .field("api_key", &api_key.as_ref().map(|_| "<redacted>"))
                .field("model", model)
                .finish(),
        }
    }
}

/// Bounds on one logical call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest one attempt may take (HTTP exchange or CLI run). Default 60 s.
    pub timeout: Duration,
    /// Retries after the first attempt, for transient failures only. Default 2.
    pub max_retries: u32,
    /// Requests estimated above this are refused without a call. Default 8000.
    pub max_input_tokens: u32,
    /// The answer's token limit (`max_tokens`; `CLAUDE_CODE_MAX_OUTPUT_TOKENS`
    /// for the CLI). Default 1500.
    pub max_output_tokens: u32,
    /// First backoff; retry `n` (from 0) waits a random time between half
    /// and all of `backoff_base × 2ⁿ`. Default 500 ms.
    pub backoff_base: Duration,
    /// Longest wait before a retry. A `Retry-After` longer than this ends the
    /// call with [`LlmError::RateLimited`] instead of waiting. Default 30 s.
    pub retry_after_cap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            max_retries: 2,
            max_input_tokens: 8000,
            max_output_tokens: 1500,
            backoff_base: Duration::from_millis(500),
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

/// What to ask: instructions, the material, and the shape of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRequest {
    /// Instructions (the system prompt). The schema and a "JSON only"
    /// instruction are appended to it.
    pub system: String,
    /// The material to work on (the user message).
    pub user: String,
    /// JSON Schema of the expected object (the subset [`schema::validate`] checks).
    pub schema: Value,
    /// A short name for the schema (`[A-Za-z0-9_-]`, used by OpenAI's `json_schema`).
    pub schema_name: String,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonResponse {
    /// The answer, validated against the request's schema.
    pub value: Value,
    /// The model that answered, as the backend reports it (else the configured one).
    pub model: String,
    /// Input tokens of the successful attempt (cache reads and writes
    /// included). Earlier failed attempts are in the [`CallRecord`]s.
    pub input_tokens: u64,
    /// Output tokens of the successful attempt.
    pub output_tokens: u64,
}

/// One attempt (so retries are accounted), for the caller to persist in its
/// `llm_calls` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// `claude-cli`, `anthropic` or `openai`.
    pub backend: &'static str,
    /// The model that answered, or the configured one when none did.
    pub model: String,
    /// Input tokens the backend reported for this attempt (0 when it
    /// reported none, e.g. on an HTTP error).
    pub input_tokens: u64,
    /// Output tokens the backend reported for this attempt.
    pub output_tokens: u64,
    /// Whether this attempt produced the returned answer.
    pub ok: bool,
    /// The attempt's error as one line ([`LlmError`]'s message), when not ok.
    pub error: Option<String>,
    /// Wall time of the attempt, not counting backoff.
    pub duration_ms: u64,
}

/// A configured backend, ready for calls. Cheap to share across threads.
pub struct Client {
    backend: BackendConfig,
    limits: Limits,
    agent: Option<ureq::Agent>,
    openai_compat: Mutex<openai::Compat>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("backend", &self.backend)
            .field("limits", &self.limits)
            .finish()
    }
}

/// The texts actually sent, built once per call.
pub(crate) struct Prompt<'a> {
    /// The request's system text plus the schema instructions.
    pub system: String,
    /// The request's system text alone, for a backend that is given the
    /// schema another way (the CLI's `--json-schema`).
    pub instructions: &'a str,
    pub user: &'a str,
    pub schema: &'a Value,
    /// The schema as compact JSON.
    pub schema_json: String,
    pub schema_name: &'a str,
}

impl<'a> Prompt<'a> {
    fn new(request: &'a JsonRequest) -> Prompt<'a> {
        let schema_json = serde_json::to_string(&request.schema).unwrap_or_else(|_| "{}".into());
        let mut system = String::new();
        let instructions = request.system.trim();
        if !instructions.is_empty() {
            system.push_str(instructions);
            system.push_str("\n\n");
        }
        let name = request.schema_name.trim();
        let named = if name.is_empty() {
            String::new()
        } else {
            format!(" (\"{name}\")")
        };
        system.push_str(&format!(
            "Answer with exactly one JSON object{named} that conforms to the JSON Schema below. \
             Output only the JSON object: no prose, no Markdown fences.\nJSON Schema: {schema_json}"
        ));
        Prompt {
            system,
            instructions,
            user: &request.user,
            schema: &request.schema,
            schema_json,
            schema_name: &request.schema_name,
        }
    }

    fn estimated_tokens(&self) -> u64 {
        let bytes = (self.system.len() + self.user.len()) as u64;
        bytes.div_ceil(4)
    }
}

/// What one attempt produced.
pub(crate) struct Attempt {
    /// The model the backend reported, if it got that far.
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The validated answer, or why there is none.
    pub result: Result<Value, LlmError>,
    /// The backend's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The request was rejected for a parameter the client has now dropped:
    /// try again at once, without counting a retry.
    pub adapted: bool,
}

impl Attempt {
    pub(crate) fn failed(error: LlmError) -> Attempt {
        Attempt {
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            result: Err(error),
            retry_after: None,
            adapted: false,
        }
    }
}

/// At most this many parameter adaptations per call (there are four steps).
const MAX_ADAPTATIONS: u32 = 4;

impl Client {
    /// A client for `backend` within `limits`. Nothing is contacted yet.
    pub fn new(backend: BackendConfig, limits: Limits) -> Client {
        let agent = match backend {
            BackendConfig::ClaudeCli { .. } => None,
            _ => Some(http::agent(limits.timeout)),
        };
        Client {
            backend,
            limits,
            agent,
            openai_compat: Mutex::new(openai::Compat::default()),
        }
    }

    /// The backend this client talks to.
    pub fn backend(&self) -> &BackendConfig {
        &self.backend
    }

    /// The limits this client applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Estimated input tokens of a request: the UTF-8 bytes of everything
    /// sent (system text, schema instructions, schema, user text) divided by
    /// 4, rounded up. That is the usual "4 characters a token" for English
    /// and errs high for other scripts. The caller checks its daily budget
    /// with this BEFORE calling.
    ///
    /// The `claude` CLI adds Claude Code's own system prompt on top (several
    /// thousand tokens, mostly cache reads), which no estimate here covers:
    /// the [`CallRecord`]s carry what was really used.
    pub fn estimate_input_tokens(req: &JsonRequest) -> u64 {
        Prompt::new(req).estimated_tokens()
    }

    /// One logical call: at most `1 + max_retries` attempts, each reported
    /// in the returned records (empty when the request was refused up front).
    ///
    /// - Requests estimated above [`Limits::max_input_tokens`] are refused
    ///   with [`LlmError::InputTooLarge`] without any call.
    /// - Retried, with exponential backoff and jitter: rate limits (429,
    ///   honouring `Retry-After` up to [`Limits::retry_after_cap`]), server
    ///   errors (5xx, 529), timeouts and connection failures.
    /// - Never retried: authentication (401/403), quota and billing (402,
    ///   credit/quota/billing messages), rejected requests (400), and invalid
    ///   content. An answer that is not JSON or fails the schema is
    ///   [`LlmError::InvalidResponse`] at once: a second try costs as much as
    ///   the first and the rule-based result stands anyway.
    /// - An OpenAI-compatible server that rejects a parameter (400/422 naming
    ///   `response_format`, `temperature` or `max_tokens`) is asked again at
    ///   once without it; that costs no retry (see the `openai` module docs).
    pub fn complete_json(
        &self,
        req: &JsonRequest,
    ) -> (Result<JsonResponse, LlmError>, Vec<CallRecord>) {
        let prompt = Prompt::new(req);
        let estimated_tokens = prompt.estimated_tokens();
        if estimated_tokens > u64::from(self.limits.max_input_tokens) {
            let error = LlmError::InputTooLarge {
                estimated_tokens,
                limit: self.limits.max_input_tokens,
            };
            return (Err(error), Vec::new());
        }

        let mut records = Vec::new();
        let mut retries = 0;
        let mut adaptations = 0;
        loop {
            let started = Instant::now();
            let attempt = self.attempt(&prompt);
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let model = attempt
                .model
                .clone()
                .unwrap_or_else(|| self.backend.model().to_string());
            records.push(CallRecord {
                backend: self.backend.name(),
                model: model.clone(),
                input_tokens: attempt.input_tokens,
                output_tokens: attempt.output_tokens,
                ok: attempt.result.is_ok(),
                error: attempt.result.as_ref().err().map(ToString::to_string),
                duration_ms,
            });
            let error = match attempt.result {
                Ok(value) => {
                    let response = JsonResponse {
                        value,
                        model,
                        input_tokens: attempt.input_tokens,
                        output_tokens: attempt.output_tokens,
                    };
                    return (Ok(response), records);
                }
                Err(error) => error,
            };
            tracing::debug!(backend = self.backend.name(), %error, attempt = records.len(), "LLM attempt failed");
            if attempt.adapted && adaptations < MAX_ADAPTATIONS {
                adaptations += 1;
                continue;
            }
            if !error.is_retryable() || retries >= self.limits.max_retries {
                return (Err(error), records);
            }
            let wait = match attempt.retry_after {
                Some(wait) if wait > self.limits.retry_after_cap => return (Err(error), records),
                Some(wait) => wait,
                None => backoff(
                    self.limits.backoff_base,
                    retries,
                    self.limits.retry_after_cap,
                ),
            };
            retries += 1;
            thread::sleep(wait);
        }
    }

    fn attempt(&self, prompt: &Prompt<'_>) -> Attempt {
        let limits = &self.limits;
        match (&self.backend, &self.agent) {
            (
                BackendConfig::ClaudeCli {
                    program,
                    model,
                    work_dir,
                },
                _,
            ) => cli::attempt(
                program,
                model,
                work_dir,
                limits.timeout,
                limits.max_output_tokens,
                prompt,
            ),
            (
                BackendConfig::Anthropic {
                    base_url,
                    api_key,
                    model,
                },
                Some(agent),
            ) => anthropic::attempt(
                agent,
                base_url,
                api_key,
                model,
                limits.max_output_tokens,
                prompt,
            ),
            (
                BackendConfig::OpenAiCompatible {
                    base_url,
                    api_key,
                    model,
                },
                Some(agent),
            ) => openai::attempt(
                agent,
                base_url,
                api_key.as_deref(),
                model,
                limits.max_output_tokens,
                prompt,
                &self.openai_compat,
            ),
            (_, None) => Attempt::failed(LlmError::Transport("no HTTP agent".into())),
        }
    }
}

/// The wait before retry number `retry` (from 0): uniformly random between
/// half and all of `base × 2^retry`, never above `cap`.
fn backoff(base: Duration, retry: u32, cap: Duration) -> Duration {
    let full = base
        .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
        .min(cap);
    let half = full / 2;
    half + (full - half).mul_f64(random_fraction())
}

/// A random number in [0, 1), from the standard library's per-instance
/// random hash keys (no RNG dependency for a jitter).
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(user: &str) -> JsonRequest {
        JsonRequest {
            system: "Summarise.".into(),
            user: user.into(),
            schema: json!({"type": "object"}),
            schema_name: "obs".into(),
        }
    }

    #[test]
    fn estimate_counts_every_byte_sent_over_four() {
        let req = request("abcd");
        let prompt = Prompt::new(&req);
        let bytes = prompt.system.len() + 4;
        assert_eq!(
            Client::estimate_input_tokens(&req),
            bytes.div_ceil(4) as u64
        );
        assert!(
            prompt
                .system
                .starts_with("Summarise.\n\nAnswer with exactly one JSON object (\"obs\")")
        );
        assert!(
            prompt
                .system
                .ends_with("JSON Schema: {\"type\":\"object\"}")
        );
        // Non-ASCII text counts by bytes: 1000 'é' are 2000 bytes.
        let wide = Client::estimate_input_tokens(&request(&"é".repeat(1000)));
        let narrow = Client::estimate_input_tokens(&request(&"e".repeat(1000)));
        assert_eq!(wide - narrow, 250);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for retry in 0..3 {
            let full = base * 2u32.pow(retry);
            for _ in 0..20 {
                let wait = backoff(base, retry, cap);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "{wait:?} for retry {retry}"
                );
            }
        }
        assert!(backoff(base, 10, cap) <= cap);
        assert!(backoff(base, u32::MAX, cap) <= cap);
        let samples: std::collections::HashSet<_> =
            (0..20).map(|_| backoff(base, 2, cap)).collect();
        assert!(samples.len() > 1, "jitter varies");
    }

    #[test]
    fn debug_never_shows_keys() {
        let anthropic = BackendConfig::anthropic("sk-ant-secret", "claude-haiku-4-5");
        let openai = BackendConfig::OpenAiCompatible {
            base_url: "http://x".into(),
            api_key: Some("sk-secret".into()),
            model: "m".into(),
        };
        for backend in [anthropic, openai] {
            let shown = format!("{:?}", Client::new(backend, Limits::default()));
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("<redacted>"));
        }
    }

    #[test]
    fn defaults_match_the_documentation() {
        let limits = Limits::default();
        assert_eq!(limits.timeout, Duration::from_secs(60));
        assert_eq!(
            (
                limits.max_retries,
                limits.max_input_tokens,
                limits.max_output_tokens
            ),
            (2, 8000, 1500)
        );
        assert_eq!(limits.backoff_base, Duration::from_millis(500));
        let BackendConfig::ClaudeCli { program, model, .. } = BackendConfig::claude_cli("/tmp/x")
        else {
            panic!("not the CLI")
        };
        assert_eq!(
            (program, model.as_str()),
            (PathBuf::from("claude"), "haiku")
        );
        assert_eq!(BackendConfig::anthropic("k", "m").name(), "anthropic");
        fn shareable<T: Send + Sync>() {}
        shareable::<Client>();
    }

    #[test]
    fn oversized_input_is_refused_without_a_call() {
        // The base URL would fail to connect if anything were sent.
        let backend = BackendConfig::openai_compatible("http://127.0.0.1:9/v1", "m");
        let limits = Limits {
            max_input_tokens: 100,
            ..Limits::default()
        };
        let client = Client::new(backend, limits);
        let (result, records) = client.complete_json(&request(&"x".repeat(2000)));
        assert!(
            matches!(result, Err(LlmError::InputTooLarge { limit: 100, estimated_tokens }) if estimated_tokens > 500)
        );
        assert!(records.is_empty());
    }
}
