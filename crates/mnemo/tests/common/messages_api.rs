//! A stand-in for the Anthropic Messages API on loopback, for driving the
//! real Claude Code CLI (`ANTHROPIC_BASE_URL`) without a network or a model.
//!
//! It speaks the wire format the CLI uses: `POST /v1/messages` with
//! `stream: true` is answered by Server-Sent Events (`message_start`,
//! `content_block_start`, `content_block_delta` with `text_delta` or
//! `input_json_delta`, `content_block_stop`, `message_delta` with the stop
//! reason and usage, `message_stop`); without `stream` by one JSON message;
//! `POST /v1/messages/count_tokens` by a token count; anything else by a
//! 404 in the API's error shape. Connections are kept alive, as the CLI
//! expects. Every request is recorded for assertions.
//!
//! The "model" is a [`Script`] chosen by the prompt (a user text block): its steps are played
//! one per request, the step being the number of tool results the
//! conversation already holds, so a turn is decided from the conversation
//! alone. A request offering the `StructuredOutput` tool (`claude -p
//! --json-schema`) is answered with that tool holding the configured
//! structured answer.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// The tool `claude -p --json-schema` offers for the final answer.
pub const STRUCTURED_OUTPUT: &str = "StructuredOutput";

/// Computes the `StructuredOutput` answer of the n-th such call.
pub type StructuredFn = Box<dyn Fn(usize) -> Value + Send + Sync>;

/// Computes a tool's input from the request that asks for it (e.g. ids
/// read from an earlier tool result).
pub type InputFn = Box<dyn Fn(&Value) -> Value + Send + Sync>;

/// One answer of the scripted model.
pub enum Step {
    /// Call a tool (stop reason `tool_use`), after a short text block.
    Tool { name: String, input: InputFn },
    /// Answer with text and end the turn.
    Say(String),
}

impl Step {
    /// A tool call with a fixed input.
    pub fn tool(name: &str, input: Value) -> Step {
        Step::Tool {
            name: name.into(),
            input: Box::new(move |_| input.clone()),
        }
    }

    /// A tool call whose input is computed from the request.
    pub fn tool_with(name: &str, input: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Step {
        Step::Tool {
            name: name.into(),
            input: Box::new(input),
        }
    }
}

/// The model's part of a conversation whose prompt is `prompt`.
pub struct Script {
    pub prompt: String,
    pub steps: Vec<Step>,
}

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path with query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// Size of the body in bytes.
    pub bytes: usize,
}

impl Recorded {
    /// Whether this is a Messages call (not count_tokens or anything else).
    pub fn is_messages(&self) -> bool {
        self.method == "POST" && self.path.split('?').next() == Some("/v1/messages")
    }

    /// Whether the request offers the `--json-schema` answer tool.
    pub fn is_structured(&self) -> bool {
        offers_tool(&self.body, STRUCTURED_OUTPUT)
    }
}

struct Brain {
    scripts: Mutex<Vec<Script>>,
    structured: Mutex<StructuredFn>,
    structured_calls: AtomicUsize,
    calls: AtomicUsize,
}

/// The running mock; it serves until the test process exits.
pub struct MessagesApi {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    brain: Arc<Brain>,
}

impl MessagesApi {
    /// Listen on a free loopback port.
    pub fn start() -> MessagesApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let brain = Arc::new(Brain {
            scripts: Mutex::new(Vec::new()),
            structured: Mutex::new(Box::new(|_| json!({}))),
            structured_calls: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        });
        let (seen, thinker) = (requests.clone(), brain.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let (seen, thinker) = (seen.clone(), thinker.clone());
                std::thread::spawn(move || serve_connection(stream, &seen, &thinker));
            }
        });
        MessagesApi {
            url,
            requests,
            brain,
        }
    }

    /// Add a script (the first whose prompt matches wins).
    pub fn script(&self, script: Script) {
        self.brain.scripts.lock().unwrap().push(script);
    }

    /// What the n-th `StructuredOutput` call (from 0) answers with.
    pub fn structured_answer(&self, answer: impl Fn(usize) -> Value + Send + Sync + 'static) {
        *self.brain.structured.lock().unwrap() = Box::new(answer);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Forget the recorded requests.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

/// Whether `body` offers a tool called `name`.
pub fn offers_tool(body: &Value, name: &str) -> bool {
    body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == name))
}

/// The text of every `tool_result` block in the conversation, in order.
pub fn tool_results(body: &Value) -> Vec<String> {
    blocks(body, "user")
        .filter(|b| b["type"] == "tool_result")
        .map(|b| match &b["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
        .collect()
}

/// The text blocks of the user's messages (the prompt is one of them;
/// tool results are not).
pub fn user_texts(body: &Value) -> Vec<String> {
    blocks(body, "user")
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str().map(str::to_string))
        .collect()
}

/// Content blocks of the messages with `role` (a string content counts as
/// one text block).
fn blocks<'a>(body: &'a Value, role: &'a str) -> impl Iterator<Item = Value> + 'a {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |m| m["role"] == role)
        .flat_map(|m| match &m["content"] {
            Value::Array(parts) => parts.clone(),
            Value::String(s) => vec![json!({"type": "text", "text": s})],
            _ => Vec::new(),
        })
}

fn serve_connection(stream: TcpStream, seen: &Mutex<Vec<Recorded>>, brain: &Brain) {
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    // Keep-alive: one request after another until the client hangs up.
    while let Some(request) = read_request(&mut reader) {
        let (status, content_type, body) = answer(&request, brain);
        seen.lock().unwrap().push(request);
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nrequest-id: req_mock\r\nconnection: keep-alive\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut raw = vec![0; length];
    reader.read_exact(&mut raw).ok()?;
    Some(Recorded {
        method,
        path,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        bytes: length,
    })
}

/// Status line, content type and body for one request.
fn answer(request: &Recorded, brain: &Brain) -> (&'static str, &'static str, Vec<u8>) {
    let route = request.path.split('?').next().unwrap_or_default();
    match (request.method.as_str(), route) {
        ("POST", "/v1/messages") => {
            let n = brain.calls.fetch_add(1, Ordering::Relaxed);
            let reply = decide(&request.body, brain, n);
            let model = request.body["model"].as_str().unwrap_or("claude-mock");
            if request.body["stream"] == true {
                ("200 OK", "text/event-stream", sse(&reply, model, n))
            } else {
                ("200 OK", "application/json", message(&reply, model, n))
            }
        }
        ("POST", "/v1/messages/count_tokens") => {
            let tokens = request.bytes / 4;
            (
                "200 OK",
                "application/json",
                json!({"input_tokens": tokens}).to_string().into_bytes(),
            )
        }
        _ => (
            "404 Not Found",
            "application/json",
            json!({"type": "error", "error": {"type": "not_found_error",
                   "message": format!("the mock serves no {} {}", request.method, route)}})
            .to_string()
            .into_bytes(),
        ),
    }
}

/// What the model says: optional text, then optionally one tool call.
struct Reply {
    text: String,
    tool: Option<(String, Value)>,
}

fn decide(body: &Value, brain: &Brain, n: usize) -> Reply {
    if offers_tool(body, STRUCTURED_OUTPUT) {
        let answered = blocks(body, "assistant")
            .any(|b| b["type"] == "tool_use" && b["name"] == STRUCTURED_OUTPUT);
        if answered {
            return Reply {
                text: "Done.".into(),
                tool: None,
            };
        }
        let nth = brain.structured_calls.fetch_add(1, Ordering::Relaxed);
        return Reply {
            text: String::new(),
            tool: Some((
                STRUCTURED_OUTPUT.into(),
                (brain.structured.lock().unwrap())(nth),
            )),
        };
    }
    let texts = user_texts(body);
    let scripts = brain.scripts.lock().unwrap();
    let Some(script) = scripts
        .iter()
        .find(|s| texts.iter().any(|t| t.trim() == s.prompt))
    else {
        return Reply {
            text: format!("(mock: no script for this conversation, request {n})"),
            tool: None,
        };
    };
    let done = tool_results(body).len();
    match script.steps.get(done) {
        Some(Step::Tool { name, input }) => Reply {
            text: format!("Step {}.", done + 1),
            tool: Some((name.clone(), input(body))),
        },
        Some(Step::Say(text)) => Reply {
            text: text.clone(),
            tool: None,
        },
        None => Reply {
            text: "(mock: the script is over)".into(),
            tool: None,
        },
    }
}

const USAGE_IN: u64 = 1200;

fn output_tokens(reply: &Reply) -> usize {
    let tool_len = reply
        .tool
        .as_ref()
        .map_or(0, |(_, input)| input.to_string().len());
    (reply.text.len() + tool_len) / 4 + 1
}

fn content(reply: &Reply, n: usize) -> Vec<Value> {
    let mut blocks = Vec::new();
    if !reply.text.is_empty() {
        blocks.push(json!({"type": "text", "text": reply.text}));
    }
    if let Some((name, input)) = &reply.tool {
        blocks.push(json!({"type": "tool_use", "id": format!("toolu_mock{n:04}"), "name": name, "input": input}));
    }
    blocks
}

fn stop_reason(reply: &Reply) -> &'static str {
    if reply.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

fn message(reply: &Reply, model: &str, n: usize) -> Vec<u8> {
    json!({
        "id": format!("msg_mock{n:04}"), "type": "message", "role": "assistant", "model": model,
        "content": content(reply, n), "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": {"input_tokens": USAGE_IN, "output_tokens": output_tokens(reply)}
    })
    .to_string()
    .into_bytes()
}

/// The streamed form of `reply`: each block opened, filled by deltas (a
/// tool's input in two `input_json_delta` pieces, as real streams split
/// it) and closed.
fn sse(reply: &Reply, model: &str, n: usize) -> Vec<u8> {
    let mut events = vec![json!({"type": "message_start", "message": {
        "id": format!("msg_mock{n:04}"), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": USAGE_IN, "output_tokens": 1}}})];
    for (index, block) in content(reply, n).into_iter().enumerate() {
        let (start, deltas) = if block["type"] == "text" {
            let text = block["text"].as_str().unwrap_or_default();
            (
                json!({"type": "text", "text": ""}),
                vec![json!({"type": "text_delta", "text": text})],
            )
        } else {
            let input = block["input"].to_string();
            let cut = input
                .char_indices()
                .nth(input.len() / 2)
                .map_or(0, |(i, _)| i);
            let mut start = block.clone();
            start["input"] = json!({});
            (
                start,
                vec![
                    json!({"type": "input_json_delta", "partial_json": &input[..cut]}),
                    json!({"type": "input_json_delta", "partial_json": &input[cut..]}),
                ],
            )
        };
        events.push(json!({"type": "content_block_start", "index": index, "content_block": start}));
        for delta in deltas {
            events.push(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    events.push(json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null},
        "usage": {"output_tokens": output_tokens(reply)}}));
    events.push(json!({"type": "message_stop"}));
    events
        .iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or_default()
            )
        })
        .collect::<String>()
        .into_bytes()
}
