//! Claude's closing message from the session transcript, for Stop events
//! that do not carry `last_assistant_message` (older Claude Code).
//!
//! Lines are read by `mnemo_agent::claude_code::transcript`, as the
//! transcript importer reads them. The episode's turn starts at the prompt
//! line whose text is the prompt; its closing message is the last assistant
//! text before the next prompt (tool results, meta lines and command output
//! do not count as prompts).
//!
//! The path comes from the hook input, so it may name anything: only a
//! regular file is read, and only its last 4 MiB (`TAIL_BYTES`; the turn
//! being closed is at the end), within 2 s (`READ_TIMEOUT`).

use std::path::Path;
use std::time::Duration;

use mnemo_agent::claude_code::transcript::{self, Line};
use mnemo_config::bounded;

/// How much of the end of a transcript is read: a turn's lines are far
/// smaller, and a multi-GiB transcript must not be loaded whole.
const TAIL_BYTES: usize = 4 * 1024 * 1024;
/// How long reading the transcript may take.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The last assistant text of the turn that began with `prompt`, if the
/// end of the transcript has it.
pub fn closing_message(path: &Path, prompt: &str) -> Option<String> {
    closing_message_within(path, prompt, TAIL_BYTES)
}

fn closing_message_within(path: &Path, prompt: &str, tail_bytes: usize) -> Option<String> {
    let tail = match bounded::read_tail(path, tail_bytes, READ_TIMEOUT) {
        Ok(tail) => tail,
        Err(e) => {
            tracing::debug!(path = %path.display(), "transcript not read: {e}");
            return None;
        }
    };
    let mut lines = tail.bytes.split(|&b| b == b'\n');
    if tail.cut {
        lines.next(); // starts mid-line
    }
    let wanted = normalize(prompt);
    let mut in_turn = false;
    let mut last: Option<(String, String)> = None; // (message id, text)
    for line in lines {
        match transcript::parse(line) {
            Line::Prompt { text, .. } => {
                if in_turn && last.is_some() {
                    break; // the next prompt: our turn is over
                }
                in_turn = !wanted.is_empty() && normalize(&text) == wanted;
            }
            Line::Assistant {
                message_id, blocks, ..
            } if in_turn => {
                let text = transcript::text_of(&blocks);
                if text.trim().is_empty() {
                    continue;
                }
                last = match last {
                    Some((prev_id, prev)) if prev_id == message_id && !message_id.is_empty() => {
                        Some((message_id, format!("{prev}\n{text}")))
                    }
                    _ => Some((message_id, text)),
                };
            }
            _ => {}
        }
    }
    last.map(|(_, text)| text)
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_turns_last_assistant_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let lines = [
            r#"{"type":"summary","summary":"old","leafUuid":"x"}"#,
            r#"{"type":"user","message":{"role":"user","content":"first prompt"}}"#,
            r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Answer one."}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":"fix   the bug"}}"#,
            r#"{"type":"assistant","message":{"id":"m2","content":[{"type":"text","text":"Looking."}]}}"#,
            r#"{"type":"assistant","message":{"id":"m2","content":[{"type":"tool_use","id":"t1","name":"Edit","input":{}}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}}"#,
            "not json at all",
            r#"{"type":"assistant","message":{"id":"m3","content":[{"type":"text","text":"Fixed it."}]}}"#,
            r#"{"type":"assistant","message":{"id":"m3","content":[{"type":"text","text":"Tests pass."}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":"next prompt"}}"#,
            r#"{"type":"assistant","message":{"id":"m4","content":[{"type":"text","text":"Later."}]}}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        assert_eq!(
            closing_message(&path, "fix the bug").as_deref(),
            Some("Fixed it.\nTests pass.")
        );
        assert_eq!(closing_message(&path, "unknown"), None);
        assert_eq!(closing_message(&dir.path().join("missing"), "x"), None);
        // Read from the end: the partial first line is skipped, the turn found.
        let turn_and_after = lines[3..].join("\n").len();
        assert_eq!(
            closing_message_within(&path, "fix the bug", turn_and_after + 5).as_deref(),
            Some("Fixed it.\nTests pass.")
        );
        assert_eq!(
            closing_message_within(&path, "first prompt", turn_and_after + 5),
            None,
            "out of the tail read"
        );
    }
}
