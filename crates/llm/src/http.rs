//! The blocking HTTP plumbing the two HTTP backends share.

use std::io;
use std::time::Duration;

use serde_json::Value;

use crate::LlmError;
use crate::error::one_line;

/// Largest response body read (an answer is a few KB; an error page more).
const MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

/// One HTTP exchange that produced a status line.
pub(crate) struct Reply {
    pub status: u16,
    /// `Retry-After` (delta-seconds, fractions accepted) or `retry-after-ms`.
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Builds the agent used for every attempt of one [`Client`](crate::Client):
/// the whole exchange (connect, send, receive) is bounded by `timeout`;
/// HTTP error statuses are returned as replies, not errors; redirects are
/// not followed (an API key must not travel to another host; a 3xx is a
/// rejected request); proxies come from the usual environment variables
/// (`HTTPS_PROXY`, `NO_PROXY`, …).
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("mnemo/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::new_with_config(config)
}

/// POSTs `body` as JSON to `url` with extra `headers`.
pub(crate) fn post_json(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<Reply, LlmError> {
    let bytes =
        serde_json::to_vec(body).map_err(|e| LlmError::Transport(one_line(&e.to_string())))?;
    let mut request = agent.post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(&bytes[..]).map_err(map_error)?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(map_error)?;
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    // An HTTP-date is not parsed: the computed backoff applies instead.
    let secs = text("retry-after")?.parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn map_error(error: ureq::Error) -> LlmError {
    match error {
        ureq::Error::Timeout(_) => LlmError::Timeout,
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            LlmError::Timeout
        }
        ureq::Error::BodyExceedsLimit(limit) => {
            LlmError::InvalidResponse(format!("response body larger than {limit} bytes"))
        }
        ureq::Error::BadUri(uri) => LlmError::Rejected(one_line(&format!("bad URL {uri}"))),
        other => LlmError::Transport(one_line(&other.to_string())),
    }
}

/// Joins a configured base URL and an endpoint path with exactly one `/`.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Reads a JSON number field as u64 (absent, negative or fractional → 0).
pub(crate) fn u64_at(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// Words in an error that mean money or plan limits, not a transient condition.
pub(crate) fn mentions_quota(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "credit balance",
        "insufficient_quota",
        "quota",
        "billing",
        "spend limit",
        "spend_limit",
        "usage limit",
        "payment",
        "insufficient credits",
        "out of credits",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Maps an HTTP error status and the backend's own error words to an error.
/// `kind` is the body's error type/code (`rate_limit_error`,
/// `insufficient_quota`, …) and `message` its human text; both may be empty.
pub(crate) fn classify(status: u16, kind: &str, message: &str) -> LlmError {
    let detail = match (kind.is_empty(), message.is_empty()) {
        (true, true) => format!("HTTP {status}"),
        (false, true) => format!("HTTP {status} {kind}"),
        (true, false) => format!("HTTP {status}: {message}"),
        (false, false) => format!("HTTP {status} {kind}: {message}"),
    };
    let detail = one_line(&detail);
    let quota = mentions_quota(kind) || mentions_quota(message);
    match status {
        402 => LlmError::Quota(detail),
        400..=499 if quota => LlmError::Quota(detail),
        401 | 403 => LlmError::Auth(detail),
        408 => LlmError::Timeout,
        429 => LlmError::RateLimited(detail),
        500..=599 => LlmError::Server(detail),
        _ => LlmError::Rejected(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_maps_statuses_and_quota_words() {
        assert!(matches!(
            classify(401, "authentication_error", "invalid x-api-key"),
            LlmError::Auth(_)
        ));
        assert!(matches!(
            classify(403, "permission_error", ""),
            LlmError::Auth(_)
        ));
        assert!(matches!(
            classify(402, "billing_error", ""),
            LlmError::Quota(_)
        ));
        assert!(matches!(
            classify(
                400,
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API."
            ),
            LlmError::Quota(_)
        ));
        assert!(matches!(
            classify(429, "insufficient_quota", "You exceeded your current quota"),
            LlmError::Quota(_)
        ));
        assert!(matches!(
            classify(429, "rate_limit_error", "slow down"),
            LlmError::RateLimited(_)
        ));
        assert!(matches!(
            classify(529, "overloaded_error", "Overloaded"),
            LlmError::Server(_)
        ));
        assert!(matches!(classify(500, "", ""), LlmError::Server(_)));
        assert!(matches!(
            classify(400, "invalid_request_error", "max_tokens: too big"),
            LlmError::Rejected(_)
        ));
        assert!(matches!(
            classify(404, "not_found_error", "model: nope"),
            LlmError::Rejected(_)
        ));
        assert_eq!(classify(503, "", ""), LlmError::Server("HTTP 503".into()));
        assert_eq!(classify(408, "", ""), LlmError::Timeout);
    }

    #[test]
    fn join_url_has_one_slash() {
        assert_eq!(
            join_url("http://h:1/v1/", "/chat/completions"),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            join_url("https://api.anthropic.com", "v1/messages"),
            "https://api.anthropic.com/v1/messages"
        );
    }
}
