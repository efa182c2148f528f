//! One line of a Claude Code transcript, read tolerantly.
//!
//! A transcript is JSONL with one line per message part: `user` lines carry a
//! prompt (a string or text blocks) or tool results; `assistant` lines carry
//! one content block each (`text`, `thinking`, `tool_use`), the blocks of one
//! message sharing `message.id`; `system` lines mark compactions among other
//! things. Housekeeping lines (`summary`, `file-history-snapshot`, …), types
//! this parser does not know and lines that are not JSON are reported as such
//! and never stop the reading.

use serde_json::{Map, Value};

/// Line types Claude Code writes that carry nothing to replay.
const HOUSEKEEPING: &[&str] = &[
    "summary",
    "file-history-snapshot",
    "queue-operation",
    "progress",
    "attachment",
    "last-prompt",
    "ai-title",
    "custom-title",
    "permission-mode",
    "mode",
    "worktree-state",
    "pr-link",
];

/// Where a line was written: the fields every message line repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// `sessionId`: the session the line belongs to.
    pub session_id: Option<String>,
    /// `cwd`: the working directory when it was written.
    pub cwd: Option<String>,
    /// `gitBranch`: the branch checked out then.
    pub git_branch: Option<String>,
    /// The subagent that wrote the line (subagent transcripts).
    pub agent_id: Option<String>,
    /// `permissionMode` at the time.
    pub permission_mode: Option<String>,
    /// `timestamp`, Unix ms.
    pub at: Option<i64>,
}

/// The result of one tool call, from a `tool_result` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The `id` of the `tool_use` block this answers.
    pub tool_use_id: String,
    /// The block's `content` (a string or content blocks).
    pub content: Value,
    /// Whether the tool failed.
    pub is_error: bool,
}

/// What a line means for the replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A prompt the person typed (or a slash command they ran).
    Prompt {
        /// Where and when.
        context: Context,
        /// The prompt (`/name args` for a slash command).
        text: String,
    },
    /// One or more blocks of an assistant message.
    Assistant {
        /// Where and when.
        context: Context,
        /// `message.id`, shared by the lines of one message.
        message_id: String,
        /// The content blocks (`text`, `thinking`, `tool_use`, …).
        blocks: Vec<Value>,
    },
    /// Tool results sent back to the model.
    ToolResults {
        /// Where and when.
        context: Context,
        /// One per `tool_result` block.
        results: Vec<ToolResult>,
        /// `toolUseResult`: the structured result hooks see as
        /// `tool_response`.
        tool_use_result: Option<Value>,
    },
    /// The conversation was compacted here.
    Compaction {
        /// Where and when.
        context: Context,
        /// `manual` or `auto`.
        trigger: String,
    },
    /// A valid line with nothing to replay (meta and summary lines too).
    Housekeeping,
    /// A valid JSON line of a type this reader does not know.
    Unknown,
    /// Not a JSON object: a damaged or truncated line.
    Broken,
}

/// Read one transcript line.
pub fn parse(line: &[u8]) -> Line {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(line) else {
        return Line::Broken;
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "user" => user_line(&obj),
        "assistant" => assistant_line(&obj),
        "system" => system_line(&obj),
        _ if HOUSEKEEPING.contains(&kind) => Line::Housekeeping,
        _ => Line::Unknown,
    }
}

fn context(obj: &Map<String, Value>) -> Context {
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Context {
        session_id: text("sessionId"),
        cwd: text("cwd"),
        git_branch: text("gitBranch"),
        agent_id: text("agentId"),
        permission_mode: text("permissionMode"),
        at: obj
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_time),
    }
}

/// ISO-8601 (`2025-06-01T09:30:00.123Z`) → Unix ms.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn flag(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool) == Some(true)
}

fn user_line(obj: &Map<String, Value>) -> Line {
    // Expanded commands, compaction summaries and display-only lines were
    // never typed by the person.
    if flag(obj, "isMeta")
        || flag(obj, "isCompactSummary")
        || flag(obj, "isVisibleInTranscriptOnly")
    {
        return Line::Housekeeping;
    }
    let Some(content) = obj.get("message").and_then(|m| m.get("content")) else {
        return Line::Unknown;
    };
    let context = context(obj);
    let blocks = match content {
        Value::String(text) => {
            return prompt_text(text)
                .map_or(Line::Housekeeping, |text| Line::Prompt { context, text });
        }
        Value::Array(blocks) => blocks,
        _ => return Line::Unknown,
    };
    let results: Vec<ToolResult> = blocks
        .iter()
        .filter(|b| block_type(b) == "tool_result")
        .filter_map(|b| {
            Some(ToolResult {
                tool_use_id: b.get("tool_use_id")?.as_str()?.to_string(),
                content: b.get("content").cloned().unwrap_or(Value::Null),
                is_error: b.get("is_error").and_then(Value::as_bool) == Some(true),
            })
        })
        .collect();
    if !results.is_empty() {
        return Line::ToolResults {
            context,
            results,
            tool_use_result: obj.get("toolUseResult").cloned(),
        };
    }
    let text = text_of(blocks);
    prompt_text(&text).map_or(Line::Housekeeping, |text| Line::Prompt { context, text })
}

/// The prompt a user text stands for: the text itself, `/name args` for a
/// slash command, nothing for local command output or an interruption note.
fn prompt_text(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if trimmed.is_empty()
        || trimmed.starts_with("<local-command-")
        || trimmed.starts_with("[Request interrupted by user")
    {
        return None;
    }
    if let Some(name) = between(trimmed, "<command-name>", "</command-name>") {
        let name = name.trim();
        let name = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/{name}")
        };
        return Some(
            match between(trimmed, "<command-args>", "</command-args>") {
                Some(args) if !args.trim().is_empty() => format!("{name} {}", args.trim()),
                _ => name,
            },
        );
    }
    Some(text.to_string())
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

fn assistant_line(obj: &Map<String, Value>) -> Line {
    let Some(message) = obj.get("message") else {
        return Line::Unknown;
    };
    let blocks = match message.get("content") {
        Some(Value::Array(blocks)) => blocks.clone(),
        Some(Value::String(text)) => vec![serde_json::json!({"type": "text", "text": text})],
        _ => return Line::Unknown,
    };
    // Lines of one message share its id; a line without one stands alone.
    let message_id = message
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| obj.get("uuid").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    Line::Assistant {
        context: context(obj),
        message_id,
        blocks,
    }
}

fn system_line(obj: &Map<String, Value>) -> Line {
    if obj.get("subtype").and_then(Value::as_str) != Some("compact_boundary") {
        return Line::Housekeeping;
    }
    let trigger = obj
        .get("compactMetadata")
        .and_then(|m| m.get("trigger"))
        .and_then(Value::as_str)
        .unwrap_or("auto")
        .to_string();
    Line::Compaction {
        context: context(obj),
        trigger,
    }
}

/// A content block's `type`.
pub fn block_type(block: &Value) -> &str {
    block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The `text` blocks of a message, one per line (thinking and tool calls
/// left out); empty when it has none.
pub fn text_of(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter(|b| block_type(b) == "text")
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Line {
        parse(line.as_bytes())
    }

    #[test]
    fn prompts_in_both_shapes_and_what_is_not_a_prompt() {
        let string = r#"{"type":"user","sessionId":"s","cwd":"/p","timestamp":"2025-06-01T09:30:00.250Z","message":{"role":"user","content":"fix it"}}"#;
        let Line::Prompt { context, text } = parsed(string) else {
            panic!("not a prompt")
        };
        assert_eq!(text, "fix it");
        assert_eq!(context.at, Some(1_748_770_200_250));
        assert_eq!(context.cwd.as_deref(), Some("/p"));
        let blocks = r#"{"type":"user","message":{"content":[{"type":"text","text":"a"},{"type":"image","source":{}},{"type":"text","text":"b"}]}}"#;
        assert!(matches!(parsed(blocks), Line::Prompt { text, .. } if text == "a\nb"));
        let command = r#"{"type":"user","message":{"content":"<command-message>review</command-message>\n<command-name>/review</command-name>\n<command-args>src/</command-args>"}}"#;
        assert!(matches!(parsed(command), Line::Prompt { text, .. } if text == "/review src/"));
        for not_prompt in [
            r#"{"type":"user","isMeta":true,"message":{"content":"expanded"}}"#,
            r#"{"type":"user","isCompactSummary":true,"message":{"content":"summary"}}"#,
            r#"{"type":"user","message":{"content":"<local-command-stdout>ok</local-command-stdout>"}}"#,
            r#"{"type":"user","message":{"content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#,
        ] {
            assert_eq!(parsed(not_prompt), Line::Housekeeping, "{not_prompt}");
        }
    }

    #[test]
    fn tool_results_assistant_blocks_and_compactions() {
        let result = r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"boom","is_error":true}]},"toolUseResult":"Error: boom"}"#;
        let Line::ToolResults {
            results,
            tool_use_result,
            ..
        } = parsed(result)
        else {
            panic!("not tool results")
        };
        assert_eq!(results[0].tool_use_id, "t1");
        assert!(results[0].is_error);
        assert_eq!(tool_use_result, Some(Value::from("Error: boom")));
        let assistant = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"hm"}]}}"#;
        assert!(
            matches!(parsed(assistant), Line::Assistant { message_id, .. } if message_id == "m1")
        );
        let boundary = r#"{"type":"system","subtype":"compact_boundary","compactMetadata":{"trigger":"manual","preTokens":1}}"#;
        assert!(
            matches!(parsed(boundary), Line::Compaction { trigger, .. } if trigger == "manual")
        );
    }

    #[test]
    fn a_messages_text_is_its_text_blocks() {
        let blocks = serde_json::json!([
            {"type": "thinking", "thinking": "hm"},
            {"type": "text", "text": "Fixed it."},
            {"type": "tool_use", "id": "t", "name": "Bash", "input": {}},
            {"type": "text", "text": 7},
            {"type": "text", "text": "Tests pass."},
            "not a block"
        ]);
        let blocks = blocks.as_array().unwrap();
        assert_eq!(text_of(blocks), "Fixed it.\nTests pass.");
        assert_eq!(text_of(&blocks[..1]), "");
    }

    #[test]
    fn damaged_and_foreign_lines_are_classified() {
        assert_eq!(
            parsed(r#"{"type":"summary","summary":"x"}"#),
            Line::Housekeeping
        );
        assert_eq!(parsed(r#"{"type":"future-thing"}"#), Line::Unknown);
        assert_eq!(
            parsed(r#"{"type":"user","message":{"content":"cut"#),
            Line::Broken
        );
        assert_eq!(parsed("[1,2]"), Line::Broken);
        assert_eq!(parse_time("yesterday"), None);
    }
}
