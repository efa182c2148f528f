//! The OpenAI-compatible backend against a local server speaking the
//! chat-completions wire format.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mnemo_llm::{BackendConfig, Client, Limits, LlmError};
use serde_json::{Value, json};

const MODEL: &str = "qwen2.5:3b";

fn client(url: &str, key: Option<&str>, limits: Limits) -> Client {
    let backend = BackendConfig::OpenAiCompatible {
        base_url: format!("{url}/v1"),
        api_key: key.map(str::to_string),
        model: MODEL.into(),
    };
    Client::new(backend, limits)
}

/// A chat completion whose content is `content`.
fn completion(content: Value) -> Value {
    json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_741_569_952,
        "model": "qwen2.5:3b-instruct-q4_K_M",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 380, "completion_tokens": 44, "total_tokens": 424}
    })
}

fn ok_reply() -> Reply {
    json_reply(200, completion(json!(answer().to_string())))
}

fn error_body(message: &str, kind: &str, code: Value) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[test]
fn success_sends_the_documented_request_and_reads_the_answer() {
    let server = MockServer::start(vec![ok_reply()]);
    let (result, records) =
        client(&server.url, Some("sk-test"), fast_limits()).complete_json(&request());
    let response = result.expect("success");
    assert_eq!(response.value, answer());
    assert_eq!(response.model, "qwen2.5:3b-instruct-q4_K_M");
    assert_eq!((response.input_tokens, response.output_tokens), (380, 44));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].backend, "openai");
    assert!(records[0].ok);
    assert_eq!(
        (records[0].input_tokens, records[0].output_tokens),
        (380, 44)
    );

    let sent = &server.received()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body = sent.json();
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "max_tokens",
            "messages",
            "model",
            "response_format",
            "temperature"
        ]
    );
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 1500);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "observation", "schema": schema(), "strict": false}})
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().unwrap();
    assert!(system.starts_with("You compress coding episodes into observations."));
    assert!(system.contains(&serde_json::to_string(&schema()).unwrap()));
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": request().user})
    );
}

#[test]
fn no_key_means_no_authorization_header() {
    let server = MockServer::start(vec![ok_reply()]);
    let (result, _) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(server.received()[0].header("authorization"), None);
    let server = MockServer::start(vec![ok_reply()]);
    let (_, _) = client(&server.url, Some(""), fast_limits()).complete_json(&request());
    assert_eq!(server.received()[0].header("authorization"), None);
}

#[test]
fn content_as_text_parts_and_fences_is_accepted() {
    let parts = json!([{"type": "text", "text": "```json\n"}, {"type": "text", "text": format!("{}\n```", answer())}]);
    let server = MockServer::start(vec![json_reply(200, completion(parts))]);
    let (result, _) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
}

#[test]
fn rate_limit_honours_retry_after_then_succeeds() {
    let server = MockServer::start(vec![
        json_reply_with(
            429,
            &[("retry-after", "1")],
            error_body(
                "Rate limit reached for requests",
                "requests",
                json!("rate_limit_exceeded"),
            ),
        ),
        ok_reply(),
    ]);
    let started = Instant::now();
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(
        records.iter().map(|r| r.ok).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("rate limited: HTTP 429")
    );
}

#[test]
fn retry_after_ms_is_honoured() {
    let server = MockServer::start(vec![
        json_reply_with(
            429,
            &[("retry-after-ms", "300")],
            error_body("slow down", "requests", Value::Null),
        ),
        ok_reply(),
    ]);
    let started = Instant::now();
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(records.len(), 2);
}

#[test]
fn server_errors_are_retried_until_success() {
    let server = MockServer::start(vec![
        json_reply(
            500,
            error_body("The server had an error", "server_error", Value::Null),
        ),
        json_reply(502, json!({"error": "bad gateway"})),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(
        records.iter().map(|r| r.ok).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(
        records[1].error.as_deref(),
        Some("server error: HTTP 502: bad gateway")
    );
}

#[test]
fn server_errors_forever_give_up_after_max_retries() {
    let server = MockServer::start(vec![json_reply(
        503,
        error_body("loading model", "unavailable_error", json!(503)),
    )]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Server(_))));
    assert_eq!(records.len(), 3);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn auth_errors_are_not_retried() {
    let server = MockServer::start(vec![
        json_reply(
            401,
            error_body(
                "Incorrect API key provided: sk-test.",
                "invalid_request_error",
                json!("invalid_api_key"),
            ),
        ),
        ok_reply(),
    ]);
    let (result, records) =
        client(&server.url, Some("sk-test"), fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Auth(_))));
    assert_eq!(records.len(), 1);
}

#[test]
fn quota_errors_are_not_retried() {
    let openai = error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        json!("insufficient_quota"),
    );
    let openrouter = json!({"error": {"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/settings/credits"}});
    for (status, body) in [(429, openai), (402, openrouter)] {
        let server = MockServer::start(vec![json_reply(status, body), ok_reply()]);
        let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
        assert!(
            matches!(result, Err(LlmError::Quota(_))),
            "{status}: {result:?}"
        );
        assert_eq!(records.len(), 1);
    }
}

#[test]
fn a_hang_past_the_timeout_is_retried() {
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..fast_limits()
    };
    let server = MockServer::start(vec![Reply::Hang(Duration::from_secs(3)), ok_reply()]);
    let (result, records) = client(&server.url, None, limits.clone()).complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].error.as_deref(), Some("timed out"));

    let server = MockServer::start(vec![Reply::Hang(Duration::from_secs(3))]);
    let (result, records) = client(&server.url, None, limits).complete_json(&request());
    assert_eq!(result.unwrap_err(), LlmError::Timeout);
    assert_eq!(records.len(), 3);
}

#[test]
fn malformed_body_is_an_invalid_response() {
    let server = MockServer::start(vec![raw_reply(200, "data: {\"choices\": [")]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert_eq!(
        result.unwrap_err(),
        LlmError::InvalidResponse("the response body is not JSON".into())
    );
    assert_eq!(records.len(), 1);
}

#[test]
fn answers_that_are_not_json_or_fail_the_schema_are_invalid() {
    let not_json = completion(json!("Sure! Here is a summary of the episode."));
    let missing = completion(json!(json!({"type": "bugfix", "title": "x"}).to_string()));
    let too_many = completion(json!(
        json!({"type": "bugfix", "title": "x", "facts": ["a", "b", "c", "d", "e", "f"]})
            .to_string()
    ));
    let mut cut = completion(json!("{\"type\": \"bug"));
    cut["choices"][0]["finish_reason"] = json!("length");
    let mut refused = completion(Value::Null);
    refused["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    let no_choices =
        json!({"id": "x", "choices": [], "usage": {"prompt_tokens": 380, "completion_tokens": 44}});
    for body in [not_json, missing, too_many, cut, refused, no_choices] {
        let server = MockServer::start(vec![json_reply(200, body.clone()), ok_reply()]);
        let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
        assert!(
            matches!(result, Err(LlmError::InvalidResponse(_))),
            "{body}: {result:?}"
        );
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].input_tokens, records[0].output_tokens),
            (380, 44)
        );
    }
}

#[test]
fn response_format_falls_back_to_json_object_then_none_and_remembers() {
    let rejected = |what: &str| {
        json_reply(
            400,
            error_body(
                &format!("response_format of type '{what}' is not supported by this model"),
                "invalid_request_error",
                Value::Null,
            ),
        )
    };
    let server = MockServer::start(vec![
        rejected("json_schema"),
        rejected("json_object"),
        ok_reply(),
    ]);
    let client = client(
        &server.url,
        None,
        Limits {
            max_retries: 0,
            ..fast_limits()
        },
    );
    let (result, records) = client.complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    assert_eq!(
        records.iter().map(|r| r.ok).collect::<Vec<_>>(),
        [false, false, true],
        "fallbacks cost no retry"
    );
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("request rejected: HTTP 400")
    );

    let formats: Vec<Value> = server
        .received()
        .iter()
        .map(|r| r.json()["response_format"].clone())
        .collect();
    assert_eq!(formats[0]["type"], "json_schema");
    assert_eq!(formats[1], json!({"type": "json_object"}));
    assert_eq!(formats[2], Value::Null, "absent");

    // The next call starts from what worked.
    let (result, records) = client.complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(records.len(), 1);
    assert_eq!(server.received()[3].json().get("response_format"), None);
}

#[test]
fn temperature_and_max_tokens_rejections_are_adapted() {
    let server = MockServer::start(vec![
        json_reply(
            400,
            error_body(
                "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
                "invalid_request_error",
                json!("unsupported_value"),
            ),
        ),
        json_reply(
            400,
            error_body(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                "invalid_request_error",
                json!("unsupported_parameter"),
            ),
        ),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(result.is_ok());
    assert_eq!(records.len(), 3);
    let last = server.received()[2].json();
    assert_eq!(last.get("temperature"), None);
    assert_eq!(last.get("max_tokens"), None);
    assert_eq!(last["max_completion_tokens"], 1500);
}

#[test]
fn other_bad_requests_are_not_retried() {
    // llama.cpp's error body: a numeric code.
    let server = MockServer::start(vec![
        json_reply(
            400,
            json!({"error": {"code": 400, "message": "the request exceeds the available context size", "type": "exceed_context_size_error"}}),
        ),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Rejected(_))), "{result:?}");
    assert_eq!(records.len(), 1);
    let server = MockServer::start(vec![json_reply(
        404,
        json!({"error": {"message": "model \"qwen2.5:3b\" not found, try pulling it first", "type": "api_error"}}),
    )]);
    let (result, records) = client(&server.url, None, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Rejected(_))));
    assert_eq!(records.len(), 1);
}

#[test]
fn connection_refused_is_a_retried_transport_error() {
    let (result, records) = client(&dead_url(), None, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Transport(_))), "{result:?}");
    assert_eq!(records.len(), 3);
}

#[test]
fn redirects_are_not_followed() {
    let target = MockServer::start(vec![ok_reply()]);
    let server = MockServer::start(vec![Reply::Respond {
        status: 307,
        headers: vec![(
            "location".into(),
            format!("{}/v1/chat/completions", target.url),
        )],
        body: String::new(),
    }]);
    let (result, records) =
        client(&server.url, Some("sk-test"), fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap_err(), LlmError::Rejected("HTTP 307".into()));
    assert_eq!(records.len(), 1);
    assert!(target.received().is_empty(), "the key never went elsewhere");
}
