//! Transcript lines → the hook inputs Claude Code sent (or would have sent)
//! while the session ran, grouped in turns.
//!
//! A turn is what one prompt set off: `UserPromptSubmit`, a `PostToolUse`
//! (or `PostToolUseFailure`) per answered tool call, and a `Stop` carrying
//! the turn's last assistant text. A compaction closes the turn before it and
//! replays as `PreCompact` then `SessionStart` (source `compact`). A finished
//! main transcript ends with `SessionEnd`; a finished subagent transcript
//! with `SubagentStop`. Every input keeps the time of the line it came from.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::tool_call::{self, Outcome};
use mnemo_agent::claude_code::transcript::{Context, Line, ToolResult, block_type};

/// Which kind of transcript is being replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A session's own transcript: `<slug>/<session>.jsonl`.
    Main,
    /// A subagent's transcript; its events carry `agent_id`.
    Subagent {
        /// The subagent's id, from the file name `agent-<id>.jsonl`.
        agent_id: String,
    },
}

/// One hook input and when it fired (Unix ms).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedInput {
    /// When the line was written (Unix ms).
    pub at: i64,
    /// The hook input Claude Code would have sent.
    pub input: Value,
    /// The branch named on the line it came from.
    pub git_branch: Option<String>,
}

/// A group of inputs written together, and the byte offset in the file
/// where the next group starts (where a later import resumes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The turn's inputs, in file order.
    pub events: Vec<ReplayedInput>,
    /// Where in the file the next turn starts.
    pub end_offset: u64,
}

/// A tool call waiting for its result.
struct PendingCall {
    name: String,
    input: Value,
}

/// Replays one transcript file from some offset.
pub struct Replay {
    kind: Kind,
    session_id: Option<String>,
    /// The session's transcript (hooks in a subagent name the parent's);
    /// `None`: the one named after the session, next to this file.
    transcript_path: Option<String>,
    /// The subagent's own transcript, for `SubagentStop`.
    agent_transcript_path: Option<String>,
    context: Context,
    current: Vec<ReplayedInput>,
    /// Time of the last line of the open turn.
    turn_last_at: Option<i64>,
    /// The open turn saw assistant output (so it ends with a Stop).
    turn_answered: bool,
    calls: HashMap<String, PendingCall>,
    /// `(message id, text)` of the latest assistant message with text.
    last_message: Option<(String, String)>,
    /// The `SessionStart` source to replay at the first line.
    pending_start: Option<String>,
    /// The time of inputs before any line has one (the file's mtime).
    fallback_at: i64,
}

impl Replay {
    /// A replay of a transcript of `kind` whose hooks name `transcript_path`.
    /// `session_id` is the session when the file's place tells it; otherwise
    /// the lines do.
    pub fn new(
        kind: Kind,
        session_id: Option<String>,
        transcript_path: Option<String>,
        agent_transcript_path: Option<String>,
        fallback_at: i64,
    ) -> Replay {
        Replay {
            kind,
            session_id,
            transcript_path,
            agent_transcript_path,
            context: Context::default(),
            current: Vec::new(),
            turn_last_at: None,
            turn_answered: false,
            calls: HashMap::new(),
            last_message: None,
            pending_start: None,
            fallback_at,
        }
    }

    /// Whether any line with a context (a message or a compaction) was read.
    pub fn saw_messages(&self) -> bool {
        self.context.at.is_some() || self.context.cwd.is_some()
    }

    /// The session this transcript belongs to, once known.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// Open the session (`SessionStart` with `source`) at the first line
    /// read; call before the first line.
    pub fn start(&mut self, source: &str) {
        if self.kind == Kind::Main {
            self.pending_start = Some(source.to_string());
        }
    }

    /// Take one line starting at byte `offset`. Returns the turn it closed,
    /// if any (a new prompt or a compaction closes the open one).
    pub fn line(&mut self, line: Line, offset: u64) -> Option<Turn> {
        match line {
            Line::Prompt { context, text } => {
                self.see(&context);
                if self.kind != Kind::Main {
                    return None; // a subagent's task, sent by the main agent
                }
                let closed = self.close(offset);
                self.touch(&context);
                self.push(HookEvent::UserPromptSubmit, json!({ "prompt": text }));
                closed
            }
            Line::Assistant {
                context,
                message_id,
                blocks,
            } => {
                self.enter(&context);
                self.assistant(message_id, &blocks);
                None
            }
            Line::ToolResults {
                context,
                results,
                tool_use_result,
            } => {
                self.enter(&context);
                // The structured result belongs to the line's only result.
                let structured = (results.len() == 1).then_some(tool_use_result).flatten();
                for result in results {
                    self.tool_result(result, structured.clone());
                }
                None
            }
            Line::Compaction { context, trigger } => {
                let closed = self.close(offset);
                self.see(&context);
                if self.kind == Kind::Main {
                    self.push(HookEvent::PreCompact, json!({ "trigger": trigger }));
                    self.push(HookEvent::SessionStart, json!({ "source": "compact" }));
                }
                closed
            }
            Line::Housekeeping | Line::Unknown | Line::Broken => None,
        }
    }

    /// The end of what was read, at byte `offset`: the open turn is closed,
    /// and when the transcript is finished the session (or subagent) ends.
    pub fn finish(&mut self, offset: u64, finished: bool) -> Option<Turn> {
        if !finished {
            return None;
        }
        let mut turn = self.close(offset).unwrap_or_default();
        let last = self.last_message.take().map(|(_, text)| text);
        match self.kind.clone() {
            Kind::Main => self.push(HookEvent::SessionEnd, json!({ "reason": "other" })),
            Kind::Subagent { agent_id } => self.push(
                HookEvent::SubagentStop,
                json!({
                    "agent_id": agent_id,
                    "agent_transcript_path": self.agent_transcript_path,
                    "stop_hook_active": false,
                    "last_assistant_message": last,
                }),
            ),
        }
        turn.events.append(&mut self.current);
        turn.end_offset = offset;
        (!turn.events.is_empty()).then_some(turn)
    }

    fn see(&mut self, context: &Context) {
        if self.session_id.is_none() {
            self.session_id.clone_from(&context.session_id);
        }
        let merged = Context {
            session_id: None,
            cwd: context.cwd.clone().or(self.context.cwd.take()),
            git_branch: context
                .git_branch
                .clone()
                .or(self.context.git_branch.take()),
            agent_id: context.agent_id.clone().or(self.context.agent_id.take()),
            permission_mode: context
                .permission_mode
                .clone()
                .or(self.context.permission_mode.take()),
            at: context.at.or(self.context.at),
        };
        self.context = merged;
        if let Some(source) = self.pending_start.take() {
            self.push(HookEvent::SessionStart, json!({ "source": source }));
        }
    }

    /// A line of the open turn: its context, and its time.
    fn enter(&mut self, context: &Context) {
        self.see(context);
        self.touch(context);
    }

    /// The open turn was active at this line's time (its Stop comes then).
    fn touch(&mut self, context: &Context) {
        if context.at.is_some() {
            self.turn_last_at = context.at;
        }
    }

    fn assistant(&mut self, message_id: String, blocks: &[Value]) {
        self.turn_answered = true;
        for block in blocks {
            match block_type(block) {
                "text" => {
                    let Some(text) = block.get("text").and_then(Value::as_str) else {
                        continue;
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    self.last_message = match self.last_message.take() {
                        Some((id, before)) if id == message_id && !id.is_empty() => {
                            Some((id, format!("{before}\n{text}")))
                        }
                        _ => Some((message_id.clone(), text.to_string())),
                    };
                }
                "tool_use" => {
                    let (Some(id), Some(name)) = (
                        block.get("id").and_then(Value::as_str),
                        block.get("name").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                    self.calls.insert(
                        id.to_string(),
                        PendingCall {
                            name: name.to_string(),
                            input,
                        },
                    );
                }
                _ => {} // thinking and anything newer: not part of any hook
            }
        }
    }

    /// A tool result answers its call: `PostToolUse`, or
    /// `PostToolUseFailure` when the tool failed. Results of calls this
    /// replay never saw (they began before the resume point) are dropped.
    fn tool_result(&mut self, result: ToolResult, structured: Option<Value>) {
        let Some(call) = self.calls.remove(&result.tool_use_id) else {
            return;
        };
        let outcome = if result.is_error {
            Outcome::Failed(content_text(&result.content))
        } else {
            Outcome::Answered(structured.unwrap_or(result.content))
        };
        let (hook, fields) =
            tool_call::finished(&call.name, call.input, &result.tool_use_id, outcome);
        self.push(hook, fields);
    }

    /// Close the open turn (adding its Stop when Claude answered in it);
    /// the next one starts at `offset`.
    fn close(&mut self, offset: u64) -> Option<Turn> {
        if self.turn_answered && self.kind == Kind::Main {
            // This turn's text only: a turn that ended in a tool call has none.
            let last = self.last_message.take().map(|(_, text)| text);
            self.push(
                HookEvent::Stop,
                json!({ "stop_hook_active": false, "last_assistant_message": last }),
            );
        }
        self.turn_answered = false;
        self.calls.clear();
        if self.current.is_empty() {
            return None;
        }
        Some(Turn {
            events: std::mem::take(&mut self.current),
            end_offset: offset,
        })
    }

    /// Append the hook input `hook` with its own `fields`, the common fields
    /// and the current line's time.
    fn push(&mut self, hook: HookEvent, fields: Value) {
        let mut input = Map::new();
        if let Some(session) = &self.session_id {
            input.insert("session_id".into(), Value::from(session.as_str()));
        }
        if let Some(path) = self.session_transcript() {
            input.insert("transcript_path".into(), Value::from(path));
        }
        if let Some(cwd) = &self.context.cwd {
            input.insert("cwd".into(), Value::from(cwd.as_str()));
        }
        if let Some(mode) = &self.context.permission_mode {
            input.insert("permission_mode".into(), Value::from(mode.as_str()));
        }
        input.insert("hook_event_name".into(), Value::from(hook.name()));
        if let Kind::Subagent { agent_id } = &self.kind {
            input.insert("agent_id".into(), Value::from(agent_id.as_str()));
        }
        if let Value::Object(fields) = fields {
            input.extend(fields);
        }
        let at = match hook {
            HookEvent::Stop => self.turn_last_at.or(self.context.at),
            _ => self.context.at,
        };
        self.current.push(ReplayedInput {
            at: at.unwrap_or(self.fallback_at),
            input: Value::Object(input),
            git_branch: self.context.git_branch.clone(),
        });
    }
}

impl Replay {
    fn session_transcript(&self) -> Option<String> {
        if let Some(path) = &self.transcript_path {
            return Some(path.clone());
        }
        let dir = Path::new(self.agent_transcript_path.as_deref()?).parent()?;
        let session = self.session_id.as_deref()?;
        Some(
            dir.join(format!("{session}.jsonl"))
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// The text of a tool result's content: a string, or its text blocks.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_agent::claude_code::transcript::parse;

    /// Replay `lines` (one JSON text each) from offset 0 to a finished end.
    fn replay(kind: Kind, lines: &[&str]) -> Vec<Turn> {
        let mut replay = Replay::new(kind, Some("s".into()), Some("/t/s.jsonl".into()), None, 5);
        replay.start("startup");
        let mut turns = Vec::new();
        let mut offset = 0;
        for line in lines {
            turns.extend(replay.line(parse(line.as_bytes()), offset));
            offset += line.len() as u64 + 1;
        }
        turns.extend(replay.finish(offset, true));
        turns
    }

    fn hooks(turn: &Turn) -> Vec<String> {
        let name = |e: &ReplayedInput| {
            let hook = e.input["hook_event_name"].as_str().unwrap_or_default();
            match e.input["tool_name"].as_str() {
                Some(tool) => format!("{hook}:{tool}@{}", e.at),
                None => format!("{hook}@{}", e.at),
            }
        };
        turn.events.iter().map(name).collect()
    }

    const PROMPT_1: &str = r#"{"type":"user","timestamp":"1970-01-01T00:00:01Z","cwd":"/p","message":{"content":"one"}}"#;
    const TOOL_USE: &str = r#"{"type":"assistant","timestamp":"1970-01-01T00:00:02Z","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]}}"#;
    const RESULT: &str = r#"{"type":"user","timestamp":"1970-01-01T00:00:03Z","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"a b"}]},"toolUseResult":{"stdout":"a b","stderr":""}}"#;
    const PROMPT_2: &str =
        r#"{"type":"user","timestamp":"1970-01-01T00:00:09Z","message":{"content":"two"}}"#;

    #[test]
    fn turns_end_where_the_next_prompt_starts() {
        let turns = replay(Kind::Main, &[PROMPT_1, TOOL_USE, RESULT, PROMPT_2]);
        let offsets: Vec<u64> = turns.iter().map(|t| t.end_offset).collect();
        let second_prompt_at = (PROMPT_1.len() + TOOL_USE.len() + RESULT.len() + 3) as u64;
        assert_eq!(
            offsets,
            [
                0,
                second_prompt_at,
                second_prompt_at + PROMPT_2.len() as u64 + 1
            ]
        );
        assert_eq!(hooks(&turns[0]), ["SessionStart@1000"]);
        assert_eq!(
            hooks(&turns[1]),
            [
                "UserPromptSubmit@1000",
                "PostToolUse:Bash@3000",
                "Stop@3000"
            ]
        );
        let stop = &turns[1].events[2].input;
        assert_eq!(
            stop["last_assistant_message"],
            Value::Null,
            "the turn ended in a tool call"
        );
        assert_eq!(turns[1].events[1].input["tool_response"]["stdout"], "a b");
        assert_eq!(
            hooks(&turns[2]),
            ["UserPromptSubmit@9000", "SessionEnd@9000"]
        );
    }

    #[test]
    fn a_subagent_replays_its_tools_and_its_stop_but_no_prompt() {
        let agent = Kind::Subagent {
            agent_id: "a1".into(),
        };
        let turns = replay(agent, &[PROMPT_1, TOOL_USE, RESULT]);
        assert_eq!(turns.len(), 1);
        assert_eq!(
            hooks(&turns[0]),
            ["PostToolUse:Bash@3000", "SubagentStop@3000"]
        );
        assert!(turns[0].events.iter().all(|e| e.input["agent_id"] == "a1"));
    }
}
