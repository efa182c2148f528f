//! The Anthropic Messages API backend against a local server speaking its
//! wire format.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mnemo_llm::{BackendConfig, Client, Limits, LlmError};
use serde_json::{Value, json};

const MODEL: &str = "claude-haiku-4-5";

fn client(url: &str, limits: Limits) -> Client {
    let backend = BackendConfig::Anthropic {
        base_url: url.to_string(),
        api_key: "sk-ant-test".into(),
        model: MODEL.into(),
    };
    Client::new(backend, limits)
}

/// A Messages API success whose text is `text`.
fn message(text: &str) -> Value {
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 412, "output_tokens": 57, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    })
}

fn ok_reply() -> Reply {
    json_reply(200, message(&answer().to_string()))
}

fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

#[test]
fn success_sends_the_documented_request_and_reads_the_answer() {
    let server = MockServer::start(vec![ok_reply()]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    let response = result.expect("success");
    assert_eq!(response.value, answer());
    assert_eq!(response.model, "claude-haiku-4-5-20251001");
    assert_eq!((response.input_tokens, response.output_tokens), (412, 57));

    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.backend, "anthropic");
    assert_eq!(record.model, "claude-haiku-4-5-20251001");
    assert!(record.ok);
    assert_eq!(record.error, None);
    assert_eq!((record.input_tokens, record.output_tokens), (412, 57));

    let received = server.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
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
        ["max_tokens", "messages", "model", "system"],
        "no temperature, no prefill, nothing else"
    );
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 1500);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": request().user}])
    );
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with("You compress coding episodes into observations.\n\n"));
    assert!(
        system.contains(&serde_json::to_string(&schema()).unwrap()),
        "the schema is in the system prompt"
    );
}

#[test]
fn base_url_with_trailing_slash_and_fenced_answer() {
    let server = MockServer::start(vec![json_reply(
        200,
        message(&format!("```json\n{}\n```", answer())),
    )]);
    let url = format!("{}/", server.url);
    let (result, _) = client(&url, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    assert_eq!(server.received()[0].path, "/v1/messages");
}

#[test]
fn rate_limit_honours_retry_after_then_succeeds() {
    let server = MockServer::start(vec![
        json_reply_with(
            429,
            &[("retry-after", "1")],
            error_body(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
        ),
        ok_reply(),
    ]);
    let started = Instant::now();
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After"
    );
    assert_eq!(records.len(), 2);
    assert!(!records[0].ok);
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("rate limited: HTTP 429 rate_limit_error")
    );
    assert_eq!(
        records[0].model, MODEL,
        "no model reported: the configured one"
    );
    assert!(records[1].ok);
}

#[test]
fn retry_after_beyond_the_cap_gives_up_at_once() {
    let server = MockServer::start(vec![
        json_reply_with(
            429,
            &[("retry-after", "600")],
            error_body("rate_limit_error", "slow down"),
        ),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::RateLimited(_))));
    assert_eq!(records.len(), 1);
}

#[test]
fn server_errors_are_retried_until_success() {
    let server = MockServer::start(vec![
        json_reply(500, error_body("api_error", "Internal server error")),
        json_reply(529, error_body("overloaded_error", "Overloaded")),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    let oks: Vec<bool> = records.iter().map(|r| r.ok).collect();
    assert_eq!(oks, [false, false, true]);
    assert_eq!(
        records[1].error.as_deref(),
        Some("server error: HTTP 529 overloaded_error: Overloaded")
    );
}

#[test]
fn server_errors_forever_give_up_after_max_retries() {
    let server = MockServer::start(vec![raw_reply(500, "<html>oops</html>")]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert_eq!(result.unwrap_err(), LlmError::Server("HTTP 500".into()));
    assert_eq!(records.len(), 3, "1 + max_retries attempts");
    assert_eq!(server.received().len(), 3);

    let limits = Limits {
        max_retries: 0,
        ..fast_limits()
    };
    let server = MockServer::start(vec![raw_reply(503, "")]);
    let (_, records) = client(&server.url, limits).complete_json(&request());
    assert_eq!(records.len(), 1);
}

#[test]
fn auth_errors_are_not_retried() {
    for (status, kind) in [(401, "authentication_error"), (403, "permission_error")] {
        let server = MockServer::start(vec![
            json_reply(status, error_body(kind, "invalid x-api-key")),
            ok_reply(),
        ]);
        let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
        assert!(matches!(result, Err(LlmError::Auth(_))), "{status}");
        assert_eq!(records.len(), 1);
        assert_eq!(server.received().len(), 1);
    }
}

#[test]
fn quota_errors_are_not_retried() {
    let credit = error_body(
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
    );
    let spend_cap = json!({
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "You have reached your monthly limit.",
                  "details": {"error_code": "enforced_spend_limit_reached"}}
    });
    for (status, body) in [
        (400, credit),
        (402, error_body("billing_error", "payment method declined")),
        (429, spend_cap),
    ] {
        let server = MockServer::start(vec![json_reply(status, body), ok_reply()]);
        let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
        assert!(
            matches!(result, Err(LlmError::Quota(_))),
            "{status}: {result:?}"
        );
        assert_eq!(records.len(), 1);
    }
}

#[test]
fn bad_requests_are_not_retried() {
    let server = MockServer::start(vec![
        json_reply(
            400,
            error_body(
                "invalid_request_error",
                "max_tokens: 100000 > 64000, which is the maximum",
            ),
        ),
        ok_reply(),
    ]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Rejected(_))));
    assert_eq!(records.len(), 1);
}

#[test]
fn a_hang_past_the_timeout_is_retried() {
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..fast_limits()
    };
    let server = MockServer::start(vec![Reply::Hang(Duration::from_secs(3)), ok_reply()]);
    let started = Instant::now();
    let (result, records) = client(&server.url, limits.clone()).complete_json(&request());
    assert_eq!(result.unwrap().value, answer());
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].error.as_deref(), Some("timed out"));
    assert!(
        records[0].duration_ms >= 450 && records[0].duration_ms < 2500,
        "{}",
        records[0].duration_ms
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    let server = MockServer::start(vec![Reply::Hang(Duration::from_secs(3))]);
    let (result, records) = client(&server.url, limits).complete_json(&request());
    assert_eq!(result.unwrap_err(), LlmError::Timeout);
    assert_eq!(records.len(), 3);
}

#[test]
fn malformed_body_is_an_invalid_response() {
    let server = MockServer::start(vec![raw_reply(
        200,
        "{\"type\": \"message\", \"content\": [",
    )]);
    let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
    assert_eq!(
        result.unwrap_err(),
        LlmError::InvalidResponse("the response body is not JSON".into())
    );
    assert_eq!(records.len(), 1, "invalid content is not retried");
}

#[test]
fn answers_that_are_not_json_or_fail_the_schema_are_invalid() {
    let not_json = message("I'm sorry, I can't summarise that.");
    let wrong_enum = message(&json!({"type": "chore", "title": "x", "facts": []}).to_string());
    let too_long =
        message(&json!({"type": "bugfix", "title": "x".repeat(81), "facts": []}).to_string());
    let mut cut = message("{\"type\": \"bugfix\", \"title\": \"x");
    cut["stop_reason"] = json!("max_tokens");
    let mut empty = message("");
    empty["content"] = json!([]);
    for body in [not_json, wrong_enum, too_long, cut, empty] {
        let server = MockServer::start(vec![json_reply(200, body.clone()), ok_reply()]);
        let (result, records) = client(&server.url, fast_limits()).complete_json(&request());
        assert!(
            matches!(result, Err(LlmError::InvalidResponse(_))),
            "{body}: {result:?}"
        );
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].input_tokens, records[0].output_tokens),
            (412, 57),
            "tokens spent are recorded"
        );
        assert!(!records[0].ok);
    }
}

#[test]
fn connection_refused_is_a_retried_transport_error() {
    let (result, records) = client(&dead_url(), fast_limits()).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Transport(_))), "{result:?}");
    assert_eq!(records.len(), 3);
}

#[test]
fn https_urls_go_through_tls() {
    // A plain-text server on an https:// URL: the TLS client must run (the
    // crypto provider is built in) and fail the handshake cleanly.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 400 Bad Request\r\n\r\nplain text\r\n",
            );
        }
    });
    let limits = Limits {
        max_retries: 0,
        ..fast_limits()
    };
    let (result, records) = client(&url, limits).complete_json(&request());
    assert!(matches!(result, Err(LlmError::Transport(_))), "{result:?}");
    assert_eq!(records.len(), 1);
}
