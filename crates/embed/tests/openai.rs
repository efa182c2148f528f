//! `OpenAiEmbedder` against a local server speaking the `/v1/embeddings`
//! wire format.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mnemo_embed::{EmbedError, Embedder, OpenAiEmbedder};
use serde_json::{Value, json};

/// What the server saw of one request.
struct Seen {
    request_line: String,
    headers: Vec<String>,
    body: Value,
}

/// Serves one request per reply in `replies` (status, body), then stops;
/// returns the base URL and what each request contained.
fn serve(replies: Vec<(u16, String)>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for (status, body) in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                let line = line.trim_end().to_string();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().expect("length");
                }
                headers.push(line);
            }
            let mut raw = vec![0; length];
            reader.read_exact(&mut raw).expect("body");
            let _ = tx.send(Seen {
                request_line: request_line.trim_end().to_string(),
                headers,
                body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            });
            let mut stream = reader.into_inner();
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, rx)
}

fn client(url: &str, dims: usize) -> OpenAiEmbedder {
    OpenAiEmbedder::new(
        url,
        "nomic-embed-text",
        dims,
        Some("sk-test".into()),
        Duration::from_secs(5),
    )
}

#[test]
fn batch_is_sent_once_and_answers_come_back_in_input_order() {
    // Answered out of order, not normalised.
    let body = json!({
        "object": "list",
        "data": [
            {"object": "embedding", "embedding": [0.0, 2.0, 0.0], "index": 1},
            {"object": "embedding", "embedding": [3.0, 0.0, 4.0], "index": 0},
        ],
        "model": "nomic-embed-text",
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    });
    let (url, seen) = serve(vec![(200, body.to_string())]);
    let embedder = client(&format!("{url}/"), 3);
    assert_eq!(embedder.model_id(), "openai:nomic-embed-text:d3");
    assert_eq!(embedder.dims(), 3);
    let vectors = embedder
        .embed_batch(&["first text", "second text"])
        .expect("embeds");
    assert_eq!(vectors, vec![vec![0.6, 0.0, 0.8], vec![0.0, 1.0, 0.0]]);

    let request = seen.recv().expect("one request");
    assert_eq!(request.request_line, "POST /v1/embeddings HTTP/1.1");
    assert!(
        request
            .headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("authorization: Bearer sk-test"))
    );
    assert_eq!(
        request.body,
        json!({"model": "nomic-embed-text", "input": ["first text", "second text"]})
    );
}

#[test]
fn http_errors_carry_status_and_the_servers_message() {
    let (url, _seen) = serve(vec![
        (
            401,
            json!({"error": {"message": "Incorrect API key", "type": "invalid_request_error"}})
                .to_string(),
        ),
        (503, "<html>upstream down</html>".to_string()),
    ]);
    let embedder = client(&url, 3);
    match embedder.embed("x") {
        Err(EmbedError::Http { status, message }) => {
            assert_eq!((status, message.as_str()), (401, "Incorrect API key"))
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    match embedder.embed("x") {
        Err(EmbedError::Http { status, message }) => {
            assert_eq!(
                (status, message.as_str()),
                (503, "<html>upstream down</html>")
            )
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[test]
fn malformed_answers_are_errors_not_vectors() {
    let bodies = [
        "this is not json".to_string(),
        json!({"object": "list"}).to_string(),
        json!({"data": []}).to_string(),
        json!({"data": [{"embedding": [1.0, 2.0], "index": 0}]}).to_string(),
        json!({"data": [{"embedding": [1.0, "a", 2.0], "index": 0}]}).to_string(),
        json!({"data": [{"embedding": [1.0, 0.0, 2.0], "index": 7}]}).to_string(),
    ];
    let (url, _seen) = serve(bodies.iter().map(|b| (200, b.clone())).collect());
    let embedder = client(&url, 3);
    for body in &bodies {
        match embedder.embed("x") {
            Err(EmbedError::Response(message)) => assert!(!message.is_empty()),
            other => panic!("{body}: expected a response error, got {other:?}"),
        }
    }
}

#[test]
fn unreachable_and_silent_servers_fail_within_the_timeout() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let embedder = client(&format!("http://127.0.0.1:{port}"), 3);
    assert!(matches!(embedder.embed("x"), Err(EmbedError::Transport(_))));

    // A server that accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let silent = thread::spawn(move || {
        let held = listener.accept();
        thread::sleep(Duration::from_secs(1));
        drop(held);
    });
    let embedder = OpenAiEmbedder::new(&url, "m", 3, None, Duration::from_millis(300));
    let started = Instant::now();
    match embedder.embed("x") {
        Err(EmbedError::Transport(message)) => assert_eq!(message, "timed out"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(1500));
    silent.join().expect("server thread");
}
