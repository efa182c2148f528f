//! One step per tool call: what each tool did, with the important part kept.

use std::sync::LazyLock;

use mnemo_agent::claude_code::event::{self, HookEvent};
use mnemo_agent::claude_code::tool_call::{Fields, Tool, ToolCall};
use mnemo_store::EpisodeEvent;
use regex::Regex;
use serde_json::Value;

use crate::code::{self, Change};
use crate::outcome::{self, Outcome};

/// What one tool call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A file was read (Read).
    Read {
        /// The file, relative to the project when inside it.
        path: String,
    },
    /// Files or text were searched for (Grep, Glob).
    Search {
        /// The pattern and where it was looked for, as one phrase.
        query: String,
    },
    /// A whole file was written (Write).
    Write {
        /// The file, relative to the project when inside it.
        path: String,
        /// The file did not exist before (Claude Code did not report an update).
        created: bool,
        /// The definitions the written content holds (functions, types).
        defs: Vec<String>,
    },
    /// A file was edited (Edit, MultiEdit).
    Edit {
        /// The file, relative to the project when inside it.
        path: String,
        /// What the edit added and removed.
        change: Change,
    },
    /// A shell command ran (Bash).
    Command {
        /// The command line, paths relative to the project.
        command: String,
        /// Its exit status, test counts and telling output lines.
        outcome: Outcome,
        /// The commit's subject when the command was a `git commit`.
        commit: Option<String>,
    },
    /// A tool other than Bash failed (PostToolUseFailure).
    ToolFailed {
        /// The tool's name.
        tool: String,
        /// The error Claude Code reported.
        error: String,
    },
    /// Work was handed to a subagent (Agent).
    Delegate {
        /// What the subagent was asked to do.
        description: String,
    },
    /// A web page was fetched or the web searched (WebFetch, WebSearch).
    Fetch {
        /// The URL, or the search query as `search `query``.
        target: String,
    },
    /// The todo list was written (TodoWrite).
    Todos {
        /// The items still pending or in progress.
        pending: Vec<String>,
    },
    /// Any other tool, kept only by name.
    Other {
        /// The tool's name.
        tool: String,
    },
}

/// An action and the event it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The stored event this step was read from (`events.id`).
    pub event_id: i64,
    /// What the tool call did.
    pub action: Action,
}

/// Steps for the completed tool calls of an episode, in order. `root` makes
/// paths relative for display.
pub fn steps(events: &[EpisodeEvent], root: Option<&str>) -> Vec<Step> {
    let mut out = Vec::new();
    for e in events {
        if !event::is_tool_result(&e.hook) {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<Value>(&e.payload) else {
            continue;
        };
        let call = ToolCall::new(e.tool_name.as_deref(), &payload);
        let failed = HookEvent::PostToolUseFailure.is(&e.hook);
        for action in actions(&call, failed, root) {
            out.push(Step {
                event_id: e.id,
                action,
            });
        }
    }
    out
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

fn actions(call: &ToolCall, failed: bool, root: Option<&str>) -> Vec<Action> {
    let (input, response) = (call.input, call.response);
    let path = || display_path(input.file_path().unwrap_or_default(), root);
    let tool = call.tool();
    if failed && tool != Tool::Bash {
        return vec![Action::ToolFailed {
            tool: call.name.to_string(),
            error: first_line(call.error.unwrap_or_default()),
        }];
    }
    match tool {
        Tool::Read => vec![Action::Read { path: path() }],
        Tool::Glob | Tool::Grep => {
            let pattern = input.pattern().unwrap_or_default();
            let scope = display_path(input.path().unwrap_or_default(), root);
            let query = if scope.is_empty() || scope == "." {
                format!("`{pattern}`")
            } else {
                format!("`{pattern}` in {scope}")
            };
            vec![Action::Search { query }]
        }
        Tool::Write => vec![Action::Write {
            path: path(),
            created: response.kind() != Some("update"),
            defs: code::defs_in(input.content().unwrap_or_default()),
        }],
        Tool::Edit | Tool::MultiEdit => {
            // Only a single edit's response holds the file it changed.
            let original = (tool == Tool::Edit)
                .then(|| response.original_file())
                .flatten();
            call.edits()
                .into_iter()
                .map(|edit| Action::Edit {
                    path: path(),
                    change: code::describe(edit.old, edit.new, original),
                })
                .collect()
        }
        Tool::Bash => {
            let command = input.command().unwrap_or_default().trim().to_string();
            let (output, exit_code) = if failed {
                let error = call.error.unwrap_or_default();
                (error.to_string(), Some(call.error_exit_code().unwrap_or(1)))
            } else if response.interrupted() {
                (response.stdout().unwrap_or_default().to_string(), Some(130))
            } else {
                let out = format!(
                    "{}\n{}",
                    response.stdout().unwrap_or_default(),
                    response.stderr().unwrap_or_default()
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
        Tool::Agent => vec![Action::Delegate {
            description: call.target().unwrap_or_default().to_string(),
        }],
        Tool::WebFetch => vec![Action::Fetch {
            target: call.target().unwrap_or_default().to_string(),
        }],
        Tool::WebSearch => vec![Action::Fetch {
            target: format!("search `{}`", call.target().unwrap_or_default()),
        }],
        Tool::TodoWrite => {
            let pending = input
                .list("todos")
                .map(Fields::of)
                .filter(|todo| todo.text("status") != Some("completed"))
                .filter_map(|todo| todo.text("content"))
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            vec![Action::Todos { pending }]
        }
        Tool::Other => vec![Action::Other {
            tool: call.name.to_string(),
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
