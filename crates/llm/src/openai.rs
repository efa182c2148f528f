//! The OpenAI-compatible chat-completions backend (OpenAI, Ollama,
//! llama.cpp's `llama-server`, vLLM, OpenRouter, …).
//!
//! Request: `POST {base_url}/chat/completions`, `content-type:
//! application/json`, `authorization: Bearer <key>` when a key is set, body
//! `{"model", "messages": [{"role": "system"}, {"role": "user"}],
//! "max_tokens", "temperature": 0.2, "response_format": {"type":
//! "json_schema", "json_schema": {"name", "schema", "strict": false}}}`. The
//! schema is also in the system message, so every fallback below still asks
//! for the same JSON.
//!
//! Servers differ in what they accept. When one answers 400 or 422 with a
//! message naming a parameter we sent, the request is adapted and sent again
//! at once (the adaptation is remembered by the [`Client`](crate::Client) and
//! does not count as a retry): `response_format` goes from `json_schema` to
//! `{"type": "json_object"}` to absent; `temperature` is dropped; `max_tokens`
//! becomes `max_completion_tokens` when the message asks for it.
//!
//! Answer: `choices[0].message.content` (a string, or a list of text parts),
//! `choices[0].finish_reason` (`length` means cut), `usage.prompt_tokens`,
//! `usage.completion_tokens`, `model`. Errors: `{"error": {"message", "type",
//! "code"}}` (`code` may be a string, a number or null; some servers send
//! `{"error": "text"}`); `insufficient_quota` is a quota.

use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::answer::parse_answer;
use crate::http::{Reply, classify, join_url, post_json, u64_at};
use crate::{Attempt, LlmError, Prompt};

/// The sampling temperature asked for (low: we want a faithful summary).
pub(crate) const TEMPERATURE: f64 = 0.2;

/// How structured output is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseFormat {
    /// `{"type": "json_schema", "json_schema": {…}}`.
    JsonSchema,
    /// `{"type": "json_object"}`.
    JsonObject,
    /// No `response_format`: the schema in the prompt only.
    Omitted,
}

/// What the server has been found to accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Compat {
    pub response_format: ResponseFormat,
    pub temperature: bool,
    pub max_completion_tokens: bool,
}

impl Default for Compat {
    fn default() -> Self {
        Compat {
            response_format: ResponseFormat::JsonSchema,
            temperature: true,
            max_completion_tokens: false,
        }
    }
}

impl Compat {
    /// The settings to try after the server rejected a request with
    /// `message`, or `None` when the message names nothing we can drop.
    pub(crate) fn adapt(self, message: &str) -> Option<Compat> {
        let message = message.to_ascii_lowercase();
        let mut next = self;
        if self.response_format != ResponseFormat::Omitted
            && [
                "response_format",
                "json_schema",
                "json_object",
                "response format",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        {
            next.response_format = match self.response_format {
                ResponseFormat::JsonSchema => ResponseFormat::JsonObject,
                _ => ResponseFormat::Omitted,
            };
            return Some(next);
        }
        if self.temperature && message.contains("temperature") {
            next.temperature = false;
            return Some(next);
        }
        if !self.max_completion_tokens && message.contains("max_completion_tokens") {
            next.max_completion_tokens = true;
            return Some(next);
        }
        None
    }
}

/// A schema name as OpenAI accepts it: `[A-Za-z0-9_-]{1,64}`.
fn schema_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "answer".to_string()
    } else {
        cleaned
    }
}

/// The request body for `prompt` under `compat`.
pub(crate) fn request_body(
    model: &str,
    max_tokens: u32,
    prompt: &Prompt<'_>,
    compat: Compat,
) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "messages".into(),
        json!([
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ]),
    );
    let tokens_field = if compat.max_completion_tokens {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    body.insert(tokens_field.into(), json!(max_tokens));
    if compat.temperature {
        body.insert("temperature".into(), json!(TEMPERATURE));
    }
    match compat.response_format {
        ResponseFormat::JsonSchema => {
            body.insert(
                "response_format".into(),
                json!({
                    "type": "json_schema",
                    "json_schema": {"name": schema_name(prompt.schema_name), "schema": prompt.schema, "strict": false},
                }),
            );
        }
        ResponseFormat::JsonObject => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        ResponseFormat::Omitted => {}
    }
    Value::Object(body)
}

/// One attempt against `{base_url}/chat/completions`.
pub(crate) fn attempt(
    agent: &ureq::Agent,
    base_url: &str,
    api_key: Option<&str>,
    model: &str,
    max_tokens: u32,
    prompt: &Prompt<'_>,
    compat: &Mutex<Compat>,
) -> Attempt {
    let current = *compat
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let url = join_url(base_url, "chat/completions");
    let bearer = api_key
        .filter(|k| !k.is_empty())
        .map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| ("authorization", b))
        .into_iter()
        .collect();
    let reply = match post_json(
        agent,
        &url,
        &headers,
        &request_body(model, max_tokens, prompt, current),
    ) {
        Ok(reply) => reply,
        Err(error) => return Attempt::failed(error),
    };
    read_reply(reply, prompt, current, compat)
}

fn read_reply(
    reply: Reply,
    prompt: &Prompt<'_>,
    current: Compat,
    compat: &Mutex<Compat>,
) -> Attempt {
    let body: Option<Value> = serde_json::from_str(&reply.body).ok();
    if !(200..300).contains(&reply.status) {
        let body = body.unwrap_or(Value::Null);
        let (kind, message) = error_words(&body);
        let mut attempt = Attempt::failed(classify(reply.status, &kind, &message));
        attempt.retry_after = reply.retry_after;
        if matches!(reply.status, 400 | 422)
            && matches!(attempt.result, Err(LlmError::Rejected(_)))
            && let Some(next) = current.adapt(&message)
        {
            tracing::debug!(
                ?next,
                "OpenAI-compatible server rejected a parameter; adapting"
            );
            *compat
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
            attempt.adapted = true;
        }
        return attempt;
    }
    let Some(body) = body else {
        return Attempt::failed(LlmError::InvalidResponse(
            "the response body is not JSON".into(),
        ));
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string);
    let result = answer(&body, prompt);
    Attempt {
        model,
        input_tokens: u64_at(&body, "/usage/prompt_tokens"),
        output_tokens: u64_at(&body, "/usage/completion_tokens"),
        result,
        retry_after: None,
        adapted: false,
    }
}

/// `(code or type, message)` of an error body.
fn error_words(body: &Value) -> (String, String) {
    match body.get("error") {
        Some(Value::String(message)) => (String::new(), message.clone()),
        Some(error) => {
            let code = match error.get("code") {
                Some(Value::String(code)) => code.clone(),
                _ => String::new(),
            };
            let kind = if code.is_empty() {
                error
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            } else {
                code
            };
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (kind, message)
        }
        None => (
            String::new(),
            body.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
    }
}

fn answer(body: &Value, prompt: &Prompt<'_>) -> Result<Value, LlmError> {
    let Some(choice) = body.pointer("/choices/0") else {
        return Err(LlmError::InvalidResponse(
            "the response has no choices".into(),
        ));
    };
    if choice.get("finish_reason").and_then(Value::as_str) == Some("length") {
        return Err(LlmError::InvalidResponse(
            "the answer was cut at max_tokens".into(),
        ));
    }
    let text = match choice.pointer("/message/content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    };
    if text.trim().is_empty() {
        if choice
            .pointer("/message/refusal")
            .is_some_and(|r| !r.is_null())
        {
            return Err(LlmError::InvalidResponse(
                "the model refused to answer".into(),
            ));
        }
        return Err(LlmError::InvalidResponse("the answer has no text".into()));
    }
    parse_answer(&text, prompt.schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapt_steps_down_one_parameter_at_a_time() {
        let start = Compat::default();
        let one = start
            .adapt("response_format json_schema is not supported")
            .unwrap();
        assert_eq!(one.response_format, ResponseFormat::JsonObject);
        let two = one.adapt("Invalid value for response_format").unwrap();
        assert_eq!(two.response_format, ResponseFormat::Omitted);
        assert_eq!(two.adapt("bad response_format"), None);
        let three = two
            .adapt("Unsupported value: 'temperature' does not support 0.2")
            .unwrap();
        assert!(!three.temperature);
        let four = three
            .adapt("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
            .unwrap();
        assert!(four.max_completion_tokens);
        assert_eq!(four.adapt("model not found"), None);
    }

    #[test]
    fn schema_names_are_sanitized() {
        assert_eq!(schema_name("episode observation!"), "episode_observation_");
        assert_eq!(schema_name(""), "answer");
        assert_eq!(schema_name(&"a".repeat(80)).len(), 64);
    }
}
