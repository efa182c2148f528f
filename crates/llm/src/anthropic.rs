//! The Anthropic Messages API backend.
//!
//! Request: `POST {base_url}/v1/messages` with headers `x-api-key`,
//! `anthropic-version: 2023-06-01`, `content-type: application/json` and body
//! `{"model", "max_tokens", "system", "messages": [{"role": "user", "content"}]}`.
//! The schema travels in the system prompt: no assistant prefill (Claude 4.6
//! and later reject a conversation that ends with an assistant turn), no
//! `temperature` (some newer models reject it), no `output_config` (not every
//! model supports structured outputs).
//!
//! Answer: the `text` blocks of `content` joined; `usage.input_tokens` (plus
//! the cache counters, zero here) and `usage.output_tokens`; `model`;
//! `stop_reason` (`max_tokens` means the answer was cut). Errors:
//! `{"type": "error", "error": {"type", "message"}}`, mapped by status and
//! type (see [`crate::http::classify`]); a 429 whose
//! `error.details.error_code` is `enforced_spend_limit_reached` is a quota.

use serde_json::{Value, json};

use crate::answer::parse_answer;
use crate::http::{Reply, classify, join_url, post_json, u64_at};
use crate::{Attempt, LlmError, Prompt};

/// The API version header value this module speaks.
pub(crate) const API_VERSION: &str = "2023-06-01";

/// The request body for `prompt`.
pub(crate) fn request_body(model: &str, max_tokens: u32, prompt: &Prompt<'_>) -> Value {
    json!({
        "model": model,
        "max_tokens": max_tokens,
        "system": prompt.system,
        "messages": [{"role": "user", "content": prompt.user}],
    })
}

/// One attempt against the Messages API.
pub(crate) fn attempt(
    agent: &ureq::Agent,
    base_url: &str,
    api_key: &str,
    model: &str,
    max_tokens: u32,
    prompt: &Prompt<'_>,
) -> Attempt {
    let url = join_url(base_url, "v1/messages");
    let headers = [("x-api-key", api_key), ("anthropic-version", API_VERSION)];
    match post_json(
        agent,
        &url,
        &headers,
        &request_body(model, max_tokens, prompt),
    ) {
        Ok(reply) => read_reply(reply, prompt),
        Err(error) => Attempt::failed(error),
    }
}

fn read_reply(reply: Reply, prompt: &Prompt<'_>) -> Attempt {
    let body: Option<Value> = serde_json::from_str(&reply.body).ok();
    if !(200..300).contains(&reply.status) {
        let body = body.unwrap_or(Value::Null);
        let kind = body
            .pointer("/error/details/error_code")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = if kind.is_empty() {
            body.pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("")
        } else {
            kind
        };
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut attempt = Attempt::failed(classify(reply.status, kind, message));
        attempt.retry_after = reply.retry_after;
        return attempt;
    }
    let Some(body) = body else {
        return Attempt::failed(LlmError::InvalidResponse(
            "the response body is not JSON".into(),
        ));
    };
    let usage_in = u64_at(&body, "/usage/input_tokens")
        + u64_at(&body, "/usage/cache_creation_input_tokens")
        + u64_at(&body, "/usage/cache_read_input_tokens");
    let usage_out = u64_at(&body, "/usage/output_tokens");
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string);
    let result = answer(&body, prompt);
    Attempt {
        model,
        input_tokens: usage_in,
        output_tokens: usage_out,
        result,
        retry_after: None,
        adapted: false,
    }
}

fn answer(body: &Value, prompt: &Prompt<'_>) -> Result<Value, LlmError> {
    let Some(blocks) = body.get("content").and_then(Value::as_array) else {
        return Err(LlmError::InvalidResponse(
            "the response has no content array".into(),
        ));
    };
    let text: String = blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    match body.get("stop_reason").and_then(Value::as_str) {
        Some("max_tokens") => {
            return Err(LlmError::InvalidResponse(
                "the answer was cut at max_tokens".into(),
            ));
        }
        Some("refusal") => {
            return Err(LlmError::InvalidResponse(
                "the model refused to answer".into(),
            ));
        }
        _ => {}
    }
    if text.trim().is_empty() {
        return Err(LlmError::InvalidResponse("the answer has no text".into()));
    }
    parse_answer(&text, prompt.schema)
}
