//! One step per tool call: what each tool did, with the important part kept.

use std::sync::LazyLock;

use mnemo_store::EpisodeEvent;
use regex::Regex;
use serde_json::Value;

use crate::code::{self, Change};
use crate::outcome::{self, Outcome};

/// What one tool call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Read {
        path: String,
    },
    Search {
        query: String,
    },
    Write {
        path: String,
        created: bool,
        defs: Vec<String>,
    },
    Edit {
        path: String,
        change: Change,
    },
    Command {
        command: String,
        outcome: Outcome,
        commit: Option<String>,
    },
    /// A tool other than Bash failed (PostToolUseFailure).
    ToolFailed {
        tool: String,
        error: String,
    },
    Delegate {
        description: String,
    },
    Fetch {
        target: String,
    },
    Todos {
        pending: Vec<String>,
    },
    Other {
        tool: String,
    },
}

/// An action and the event it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub event_id: i64,
    pub action: Action,
}

/// Steps for the completed tool calls of an episode, in order. `root` makes
/// paths relative for display.
pub fn steps(events: &[EpisodeEvent], root: Option<&str>) -> Vec<Step> {
    let mut out = Vec::new();
    for e in events {
        if e.hook != "PostToolUse" && e.hook != "PostToolUseFailure" {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<Value>(&e.payload) else {
            continue;
        };
        let tool = e.tool_name.as_deref().unwrap_or("");
        let failed = e.hook == "PostToolUseFailure";
        for action in actions(tool, &payload, failed, root) {
            out.push(Step {
                event_id: e.id,
                action,
            });
        }
    }
    out
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for key in path {
        match cur.get(*key) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// `path` relative to `root` when inside it.
pub fn display_path(path: &str, root: Option<&str>) -> String {
    if let Some(root) = root {
        let root = root.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(root)
            && let Some(rest) = rest.strip_prefix('/')
        {
            return rest.to_string();
        }
    }
    path.to_string()
}

/// `text` with paths under `root` written relative to it, and paths next to
/// it as `../x`: a memory names files the way the project does, not by the
/// directory it happened to be checked out in.
pub fn relative_paths(text: &str, root: &str) -> String {
    let root = root.trim_end_matches('/');
    // A sibling of the project (`/home/dev/scratch` next to
    // `/home/dev/app`) too, unless the parent is a top-level directory.
    let parent = root
        .rsplit_once('/')
        .map(|(parent, _)| parent)
        .filter(|parent| parent.matches('/').count() >= 2);
    let Some(outer) = parent
        .or(Some(root))
        .filter(|p| !p.is_empty() && text.contains(*p))
    else {
        return text.to_string();
    };
    let mut out = text.replace(&format!("{root}/"), "");
    if parent.is_some() {
        out = out.replace(&format!("{outer}/"), "../");
    }
    out
}

fn actions(tool: &str, p: &Value, failed: bool, root: Option<&str>) -> Vec<Action> {
    let input = p.get("tool_input").unwrap_or(&Value::Null);
    let response = p.get("tool_response").unwrap_or(&Value::Null);
    let path = || display_path(text(input, &["file_path"]), root);
    if failed && tool != "Bash" {
        return vec![Action::ToolFailed {
            tool: tool.to_string(),
            error: first_line(text(p, &["error"])),
        }];
    }
    match tool {
        "Read" => vec![Action::Read { path: path() }],
        "Glob" | "Grep" => {
            let pattern = text(input, &["pattern"]);
            let scope = display_path(text(input, &["path"]), root);
            let query = if scope.is_empty() || scope == "." {
                format!("`{pattern}`")
            } else {
                format!("`{pattern}` in {scope}")
            };
            vec![Action::Search { query }]
        }
        "Write" => {
            let content = text(input, &["content"]);
            vec![Action::Write {
                path: path(),
                created: text(response, &["type"]) != "update",
                defs: code::defs_in(content),
            }]
        }
        "Edit" => {
            let original = response.get("originalFile").and_then(Value::as_str);
            vec![Action::Edit {
                path: path(),
                change: code::describe(
                    text(input, &["old_string"]),
                    text(input, &["new_string"]),
                    original,
                ),
            }]
        }
        "MultiEdit" => input
            .get("edits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|edit| Action::Edit {
                path: path(),
                change: code::describe(
                    text(edit, &["old_string"]),
                    text(edit, &["new_string"]),
                    None,
                ),
            })
            .collect(),
        "Bash" => {
            let command = text(input, &["command"]).trim().to_string();
            let (output, exit_code) = if failed {
                let error = text(p, &["error"]);
                (error.to_string(), Some(exit_code(error).unwrap_or(1)))
            } else if response.get("interrupted").and_then(Value::as_bool) == Some(true) {
                (text(response, &["stdout"]).to_string(), Some(130))
            } else {
                let out = format!(
                    "{}\n{}",
                    text(response, &["stdout"]),
                    text(response, &["stderr"])
                );
                (out, None)
            };
            let (command, output) = match root {
                Some(root) => (
                    relative_paths(&command, root),
                    relative_paths(&output, root),
                ),
                None => (command, output),
            };
            let commit = command
                .contains("git commit")
                .then(|| commit_message(&command, &output))
                .flatten();
            vec![Action::Command {
                outcome: outcome::interpret(&output, exit_code),
                command,
                commit,
            }]
        }
        "Agent" | "Task" => vec![Action::Delegate {
            description: text(input, &["description"]).to_string(),
        }],
        "WebFetch" => vec![Action::Fetch {
            target: text(input, &["url"]).to_string(),
        }],
        "WebSearch" => vec![Action::Fetch {
            target: format!("search `{}`", text(input, &["query"])),
        }],
        "TodoWrite" => {
            let pending = input
                .get("todos")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|t| text(t, &["status"]) != "completed")
                .map(|t| text(t, &["content"]).to_string())
                .filter(|t| !t.is_empty())
                .collect();
            vec![Action::Todos { pending }]
        }
        _ => vec![Action::Other {
            tool: tool.to_string(),
        }],
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| outcome::clip(l, 200))
        .unwrap_or_default()
}

/// `Exit code 2` on the first line of a PostToolUseFailure error.
fn exit_code(error: &str) -> Option<i32> {
    error
        .lines()
        .next()?
        .trim()
        .strip_prefix("Exit code ")?
        .trim()
        .parse()
        .ok()
}

static COMMIT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\[([^\][\t\n\x0B\x0C\r ]]+)(?: \(root-commit\))? ([0-9a-f]{7,40})\] (.+)$")
        .expect("static regex")
});
static COMMIT_FLAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"-m\s+(?:"([^"]+)"|'([^']+)')"#).expect("static regex"));

/// "a1b2c3d: message" from git's output, or the message from `-m`.
fn commit_message(command: &str, output: &str) -> Option<String> {
    if let Some(c) = COMMIT_LINE.captures(output) {
        return Some(format!("{} {}", &c[2], c[3].trim()));
    }
    if let Some(c) = COMMIT_FLAG.captures(command) {
        return c.get(1).or(c.get(2)).map(|m| first_line(m.as_str()));
    }
    // Heredoc form: git commit -m "$(cat <<'EOF'\nmessage\nEOF\n)"
    command
        .split_once("<<")
        .and_then(|(_, rest)| rest.lines().nth(1))
        .map(first_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, hook: &str, tool: &str, payload: Value) -> EpisodeEvent {
        EpisodeEvent {
            id,
            hook: hook.into(),
            tool_name: Some(tool.into()),
            tool_use_id: Some(format!("t{id}")),
            agent_id: None,
            payload: payload.to_string(),
            created_at: id,
        }
    }

    #[test]
    fn paths_are_relative_to_the_project_or_its_parent() {
        let root = "/home/dev/work/app";
        assert_eq!(
            relative_paths(
                "require() of /home/dev/work/scratch/node_modules/app/index.js from /home/dev/work/app/src/a.js",
                root
            ),
            "require() of ../scratch/node_modules/app/index.js from src/a.js"
        );
        assert_eq!(relative_paths("/tmp/x.log", "/tmp/app"), "/tmp/x.log");
        assert_eq!(
            relative_paths("saved in /home/dev/work/pprof/a.pb", root),
            "saved in ../pprof/a.pb"
        );
    }

    #[test]
    fn bash_failure_commit_and_paths() {
        let events = vec![
            event(
                1,
                "PostToolUseFailure",
                "Bash",
                serde_json::json!({
                "tool_input": {"command": "python fibonacci.py -5"},
                "error": "Exit code 1\nTraceback (most recent call last):\n  File \"x\", line 1\nRecursionError: maximum recursion depth exceeded"}),
            ),
            event(
                2,
                "PostToolUse",
                "Bash",
                serde_json::json!({
                "tool_input": {"command": "git commit -m \"Reject negative n\""},
                "tool_response": {"stdout": "[main 1a2b3c4] Reject negative n\n 1 file changed, 2 insertions(+)", "stderr": ""}}),
            ),
            event(
                3,
                "PostToolUse",
                "Read",
                serde_json::json!({
                "tool_input": {"file_path": "/home/dev/fib-cli/fibonacci.py"}}),
            ),
            event(4, "PreToolUse", "Read", serde_json::json!({})),
        ];
        let steps = steps(&events, Some("/home/dev/fib-cli"));
        assert_eq!(steps.len(), 3);
        let Action::Command { outcome, .. } = &steps[0].action else {
            panic!()
        };
        assert_eq!(outcome.exit_code, Some(1));
        assert_eq!(
            outcome.error_line.as_deref(),
            Some("RecursionError: maximum recursion depth exceeded")
        );
        let Action::Command { commit, .. } = &steps[1].action else {
            panic!()
        };
        assert_eq!(commit.as_deref(), Some("1a2b3c4 Reject negative n"));
        assert_eq!(
            steps[2].action,
            Action::Read {
                path: "fibonacci.py".into()
            }
        );
    }
}
