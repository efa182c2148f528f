//! A scripted HTTP/1.1 server on 127.0.0.1 for the backend tests, and the
//! shared request fixture.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mnemo_llm::{JsonRequest, Limits};
use serde_json::{Value, json};

/// What the server does with the n-th request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with this status, extra headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then say nothing for this long and close.
    Hang(Duration),
}

/// A JSON reply.
pub fn json_reply(status: u16, body: Value) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// A reply with a raw body.
pub fn raw_reply(status: u16, body: &str) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// A JSON reply with extra headers.
pub fn json_reply_with(status: u16, headers: &[(&str, &str)], body: Value) -> Reply {
    Reply::Respond {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// The server: `url` is `http://127.0.0.1:PORT`.
pub struct MockServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl MockServer {
    /// Serves `script` in order; once it runs out, the last reply repeats.
    pub fn start(script: Vec<Reply>) -> MockServer {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let next = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (script, next, log) =
                    (Arc::clone(&script), Arc::clone(&next), Arc::clone(&log));
                // One thread per connection: a hanging reply must not block the next attempt.
                thread::spawn(move || serve(stream, &script, &next, &log));
            }
        });
        MockServer { url, received }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, script: &[Reply], next: &AtomicUsize, log: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    log.lock().unwrap().push(request);
    let index = next.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
    let mut stream = stream;
    match &script[index] {
        Reply::Hang(duration) => thread::sleep(*duration),
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(*status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Whatever",
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = find("content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

/// A 127.0.0.1 URL nothing listens on (connection refused).
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// The schema used by every test.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "facts"],
        "properties": {
            "type": {"type": "string", "enum": ["bugfix", "feature", "discovery"]},
            "title": {"type": "string", "maxLength": 80},
            "facts": {"type": "array", "maxItems": 5, "items": {"type": "string"}}
        }
    })
}

/// A valid answer.
pub fn answer() -> Value {
    json!({"type": "bugfix", "title": "Fixed the flaky test", "facts": ["retry was missing"]})
}

/// The request used by every test.
pub fn request() -> JsonRequest {
    JsonRequest {
        system: "You compress coding episodes into observations.".into(),
        user: "User asked to fix a flaky test; Edit src/lib.rs; cargo test passed.".into(),
        schema: schema(),
        schema_name: "observation".into(),
    }
}

/// Fast limits: tiny backoff, short timeout.
pub fn fast_limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(3),
        max_retries: 2,
        max_input_tokens: 8000,
        max_output_tokens: 1500,
        backoff_base: Duration::from_millis(2),
        retry_after_cap: Duration::from_secs(5),
    }
}
