//! The one error type of this crate.

/// Why a call failed. Every message is one line (newlines are replaced and
/// long texts cut), so it can go straight into a log line or the `error`
/// column of `llm_calls`. No message carries the prompt, the model's answer
/// or an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The credentials were refused (HTTP 401/403, `authentication_error`,
    /// `permission_error`, or the CLI is not logged in). Not retried.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The account is out of credit, over a spend limit or a plan's usage
    /// limit (HTTP 402, `billing_error`, `insufficient_quota`, "credit balance
    /// is too low", "usage limit reached"). Not retried: waiting seconds will
    /// not help.
    #[error("quota or billing limit reached: {0}")]
    Quota(String),
    /// The backend asked us to slow down (HTTP 429 that is not a quota).
    /// Retried, honouring `Retry-After` up to [`Limits::retry_after_cap`](crate::Limits::retry_after_cap).
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// The backend failed or is overloaded (HTTP 5xx, 529 `overloaded_error`).
    /// Retried.
    #[error("server error: {0}")]
    Server(String),
    /// An attempt took longer than [`Limits::timeout`](crate::Limits::timeout)
    /// (the HTTP request was abandoned or the CLI process killed). Retried.
    #[error("timed out")]
    Timeout,
    /// The backend answered, but not with what we asked for: a body that is
    /// not the documented JSON, an answer that is not JSON, fails the schema,
    /// was cut at the output token limit, or was refused. Not retried.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The request was refused before any call because its estimated size
    /// exceeds [`Limits::max_input_tokens`](crate::Limits::max_input_tokens).
    #[error("input too large: about {estimated_tokens} tokens, limit {limit}")]
    InputTooLarge {
        /// [`Client::estimate_input_tokens`](crate::Client::estimate_input_tokens) of the request.
        estimated_tokens: u64,
        /// The configured limit.
        limit: u32,
    },
    /// The backend refused the request itself as invalid (HTTP 400, 404,
    /// 413, 422 that is not a quota: unknown model, context too long, bad
    /// parameter). Not retried: the same request would fail the same way.
    #[error("request rejected: {0}")]
    Rejected(String),
    /// The connection failed (refused, reset, DNS) or the CLI process failed
    /// without saying why. Retried: these are usually passing.
    #[error("transport error: {0}")]
    Transport(String),
    /// The backend is not available on this machine (the `claude` program is
    /// not on `PATH` or not executable). Not retried.
    #[error("backend not installed: {0}")]
    NotInstalled(String),
}

impl LlmError {
    /// Whether another attempt may succeed: true for [`RateLimited`](Self::RateLimited),
    /// [`Server`](Self::Server), [`Timeout`](Self::Timeout) and
    /// [`Transport`](Self::Transport).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited(_)
                | LlmError::Server(_)
                | LlmError::Timeout
                | LlmError::Transport(_)
        )
    }
}

/// At most this many characters of a backend's message are kept.
const MAX_MESSAGE_CHARS: usize = 300;

/// Makes `text` one trimmed line of at most [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_CHARS + 3));
    let mut last_space = true;
    let mut count = 0;
    for ch in text.chars() {
        let ch = if ch.is_control() || ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        if ch == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        if count == MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        out.push(ch);
        count += 1;
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_collapses_whitespace_and_cuts() {
        assert_eq!(one_line("  a\n\n b\tc  "), "a b c");
        let long = "x".repeat(1000);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn messages_are_one_line() {
        let e = LlmError::InputTooLarge {
            estimated_tokens: 9000,
            limit: 8000,
        };
        assert_eq!(
            e.to_string(),
            "input too large: about 9000 tokens, limit 8000"
        );
        assert_eq!(LlmError::Timeout.to_string(), "timed out");
        assert!(LlmError::Server("x".into()).is_retryable());
        assert!(!LlmError::Quota("x".into()).is_retryable());
        assert!(!LlmError::InvalidResponse("x".into()).is_retryable());
    }
}
