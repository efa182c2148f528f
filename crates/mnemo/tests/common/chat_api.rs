//! A chat-completions server on loopback for tests that need LLM
//! enrichment, and the answer it gives. Shared by the binary's and the
//! app's integration tests (the app's includes this file by path).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// A chat-completions server on loopback answering every request with
/// `content` (and recording the request bodies).
pub struct MockLlm {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Value>>>,
}

impl MockLlm {
    pub fn start(content: String) -> MockLlm {
        Self::start_holding_first(content, Duration::ZERO)
    }

    /// Like [`start`](Self::start), but the first request gets its answer
    /// only after `hold` (a call still in flight when its caller dies).
    pub fn start_holding_first(content: String, hold: Duration) -> MockLlm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { break };
                let (seen, content) = (seen.clone(), content.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    seen.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    let answer = json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1200, "completion_tokens": 200, "total_tokens": 1400}
                })
                .to_string();
                    if n == 0 {
                        std::thread::sleep(hold);
                    }
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                });
            }
        });
        MockLlm { url, requests }
    }
}

pub fn good_answer() -> String {
    json!({
        "observations": [{
            "type": "bugfix",
            "title": "fib() raises ValueError for negative n instead of recursing forever",
            "subtitle": "Negative input used to hit RecursionError.",
            "facts": ["fib(-1) raised RecursionError before the fix", "fib() now raises ValueError for n < 0"],
            "narrative": "The recurrence only walks down, so negative n never reached a base case.",
            "concepts": ["problem-solution", "gotcha"],
            "files_modified": ["shop/fibonacci.py"]
        }],
        "summary": {"request": "Fix fib for negative n", "investigated": "shop/fibonacci.py",
                    "learned": "Negative n never reaches a base case", "completed": "fib() rejects negative n",
                    "next_steps": ""}
    })
    .to_string()
}
