//! A deliberately small HTTP/1.1 client over a raw `TcpStream`, for testing
//! `mnemo serve` as any client could reach it: every header is under the
//! test's control (a forged `Host` or `Origin` goes out exactly as
//! written), and Server-Sent Events are read as they arrive.
//! Also used by the serve benchmark (`benches/serve.rs`).
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }
}

/// Send one request to 127.0.0.1:`port`. `headers` may override `Host`
/// (default `127.0.0.1:<port>`); the connection is closed after the answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = send(port, method, path, headers, body, "close");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete HTTP head");
    let (status, headers) = parse_head(head);
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    connection: &str,
) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to mnemo serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str(&format!("Connection: {connection}\r\n\r\n"));
    stream.write_all(head.as_bytes()).unwrap();
    if let Some(body) = body {
        stream.write_all(body.as_bytes()).unwrap();
    }
    stream
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: String,
}

impl Event {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

/// An open `GET` whose body is an event stream.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    pending: Vec<u8>,
}

impl EventStream {
    /// Open `path` on 127.0.0.1:`port` with `headers`; panics unless the
    /// answer is 200 `text/event-stream`.
    pub fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut stream = send(port, "GET", path, headers, None, "keep-alive");
        stream.flush().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read head");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let (status, headers) = parse_head(head.trim_end());
        assert_eq!(status, 200, "event stream refused: {head}");
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream")),
            "{head}"
        );
        EventStream {
            reader,
            chunk_left: 0,
            pending: Vec::new(),
        }
    }

    /// The next event (comments and keep-alives skipped), or `None` if
    /// none arrives within `timeout` or the stream ends.
    pub fn next(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let block = String::from_utf8_lossy(&block);
                let mut event = Event {
                    name: "message".into(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event.name = name.trim().to_string();
                        any = true;
                    } else if let Some(data) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            if !self.read_some()? {
                return None;
            }
        }
    }

    /// Wait for the next event named `name`, skipping others.
    pub fn next_named(&mut self, name: &str, timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let event = self.next(left)?;
            if event.name == name {
                return Some(event);
            }
        }
    }

    /// Read more of the chunked body into `pending`; `None` on timeout,
    /// `Some(false)` at the end of the stream.
    fn read_some(&mut self) -> Option<bool> {
        if self.chunk_left == 0 {
            let mut size = String::new();
            match self.reader.read_line(&mut size) {
                Ok(0) => return Some(false),
                Ok(_) => {}
                Err(_) => return None,
            }
            if size.trim().is_empty() {
                return Some(true); // the CRLF closing the previous chunk
            }
            self.chunk_left = usize::from_str_radix(size.trim(), 16).ok()?;
            if self.chunk_left == 0 {
                return Some(false);
            }
        }
        let mut buf = vec![0; self.chunk_left.min(8192)];
        match self.reader.read(&mut buf) {
            Ok(0) => Some(false),
            Ok(n) => {
                self.chunk_left -= n;
                self.pending.extend_from_slice(&buf[..n]);
                Some(true)
            }
            Err(_) => None,
        }
    }
}
