//! A tool call as Claude Code's tool hooks describe it (`PreToolUse`,
//! `PostToolUse`, `PostToolUseFailure`): the tool, its `tool_input`, its
//! `tool_response` and, for a failure, the `error` text.
//!
//! Read tolerantly: payloads come from many Claude Code versions, from
//! transcripts and from people, so every field is optional and a missing or
//! mistyped one reads as `None` (or nothing), never an error.

use serde_json::{Value, json};

use super::HookEvent;

/// The tools whose calls mnemo reads for more than their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Reads a file (`file_path`).
    Read,
    /// Writes a whole file (`file_path`, `content`).
    Write,
    /// Replaces one string in a file (`old_string`, `new_string`).
    Edit,
    /// Several replacements in one file (`edits`).
    MultiEdit,
    /// Runs a shell command (`command`; `stdout`, `stderr`, `interrupted`).
    Bash,
    /// Finds files by name (`pattern`, `path`).
    Glob,
    /// Searches file contents (`pattern`, `path`).
    Grep,
    /// Fetches a web page (`url`).
    WebFetch,
    /// Searches the web (`query`).
    WebSearch,
    /// Hands a task to a subagent (`description`); `Task` in older versions.
    Agent,
    /// Updates the todo list (`todos`).
    TodoWrite,
    /// Any other tool, MCP tools included.
    Other,
}

impl Tool {
    /// The tool Claude Code names `name`.
    pub fn named(name: &str) -> Tool {
        match name {
            "Read" => Tool::Read,
            "Write" => Tool::Write,
            "Edit" => Tool::Edit,
            "MultiEdit" => Tool::MultiEdit,
            "Bash" => Tool::Bash,
            "Glob" => Tool::Glob,
            "Grep" => Tool::Grep,
            "WebFetch" => Tool::WebFetch,
            "WebSearch" => Tool::WebSearch,
            "Agent" | "Task" => Tool::Agent,
            "TodoWrite" => Tool::TodoWrite,
            _ => Tool::Other,
        }
    }

    /// Whether the tool's results are pages of the web, whose authors nobody
    /// vetted.
    pub fn reads_the_web(self) -> bool {
        matches!(self, Tool::WebFetch | Tool::WebSearch)
    }
}

/// One tool call, borrowed from its hook payload.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    /// The tool's name as Claude Code gave it (`Bash`, `mcp__x__y`).
    pub name: &'a str,
    /// `tool_input`: what the call asked for.
    pub input: Fields<'a>,
    /// `tool_response`: what the tool answered (absent before it ran and
    /// when it failed).
    pub response: Fields<'a>,
    /// `error`: why the tool failed (`PostToolUseFailure`).
    pub error: Option<&'a str>,
}

impl<'a> ToolCall<'a> {
    /// The call `payload` describes, for the tool `name` (stored events keep
    /// the name in a column, outside the payload; else the payload's
    /// `tool_name`).
    pub fn new(name: Option<&'a str>, payload: &'a Value) -> ToolCall<'a> {
        ToolCall {
            name: name
                .or_else(|| payload.get("tool_name").and_then(Value::as_str))
                .unwrap_or_default(),
            input: Fields(payload.get("tool_input")),
            response: Fields(payload.get("tool_response")),
            error: payload.get("error").and_then(Value::as_str),
        }
    }

    /// Which tool this is.
    pub fn tool(&self) -> Tool {
        Tool::named(self.name)
    }

    /// What the call was about, for a person: the file, the command, the
    /// pattern, the URL, the search or the task.
    pub fn target(&self) -> Option<&'a str> {
        match self.tool() {
            Tool::Read | Tool::Write | Tool::Edit | Tool::MultiEdit => self.input.file_path(),
            Tool::Bash => self.input.command(),
            Tool::Glob | Tool::Grep => self.input.pattern(),
            Tool::WebFetch => self.input.url(),
            Tool::WebSearch => self.input.query(),
            Tool::Agent => self.input.text("description"),
            Tool::TodoWrite | Tool::Other => None,
        }
    }

    /// The replacements the call made: one for `Edit`, each of `edits` for
    /// `MultiEdit`, none for other tools.
    pub fn edits(&self) -> Vec<Replacement<'a>> {
        match self.tool() {
            Tool::Edit => vec![Replacement::of(self.input)],
            Tool::MultiEdit => self
                .input
                .list("edits")
                .map(|edit| Replacement::of(Fields::of(edit)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The exit status a failed command's `error` starts with
    /// (`Exit code 2`).
    pub fn error_exit_code(&self) -> Option<i32> {
        self.error?
            .lines()
            .next()?
            .trim()
            .strip_prefix("Exit code ")?
            .trim()
            .parse()
            .ok()
    }
}

/// How a finished tool call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The tool answered: its `tool_response`.
    Answered(Value),
    /// The tool failed: the `error` text.
    Failed(String),
}

/// The hook that reports a finished call, and the fields Claude Code sends
/// with it besides the common ones: `tool_name`, `tool_input` and
/// `tool_use_id`, then `tool_response` (`PostToolUse`) or `error` and
/// `is_interrupt` (`PostToolUseFailure`).
pub fn finished(
    name: &str,
    input: Value,
    tool_use_id: &str,
    outcome: Outcome,
) -> (HookEvent, Value) {
    let mut fields = json!({
        "tool_name": name,
        "tool_input": input,
        "tool_use_id": tool_use_id,
    });
    let hook = match outcome {
        Outcome::Answered(response) => {
            fields["tool_response"] = response;
            HookEvent::PostToolUse
        }
        Outcome::Failed(error) => {
            fields["error"] = Value::from(error);
            fields["is_interrupt"] = Value::Bool(false);
            HookEvent::PostToolUseFailure
        }
    };
    (hook, fields)
}

/// One replacement of an edit: the text before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replacement<'a> {
    /// `old_string` (empty when absent).
    pub old: &'a str,
    /// `new_string` (empty when absent).
    pub new: &'a str,
}

impl<'a> Replacement<'a> {
    fn of(fields: Fields<'a>) -> Replacement<'a> {
        Replacement {
            old: fields.text("old_string").unwrap_or_default(),
            new: fields.text("new_string").unwrap_or_default(),
        }
    }
}

/// An object of a payload (`tool_input`, `tool_response`, an edit, a todo),
/// read field by field; absent or not an object, every field is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields<'a>(Option<&'a Value>);

impl<'a> Fields<'a> {
    /// The fields of `value` (an item of a [`Fields::list`], say).
    pub fn of(value: &'a Value) -> Fields<'a> {
        Fields(Some(value))
    }

    /// The object itself, if there is one.
    pub fn value(&self) -> Option<&'a Value> {
        self.0
    }

    /// A string field.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        self.0?.get(key)?.as_str()
    }

    /// A boolean field; absent or not a boolean is `false`.
    pub fn flag(&self, key: &str) -> bool {
        self.0.and_then(|v| v.get(key)).and_then(Value::as_bool) == Some(true)
    }

    /// The items of an array field (none when absent or not an array).
    pub fn list(&self, key: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.0
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// `file_path`: the file a file tool works on.
    pub fn file_path(&self) -> Option<&'a str> {
        self.text("file_path")
    }

    /// `command`: Bash's command line.
    pub fn command(&self) -> Option<&'a str> {
        self.text("command")
    }

    /// `pattern`: what Glob or Grep looks for.
    pub fn pattern(&self) -> Option<&'a str> {
        self.text("pattern")
    }

    /// `path`: where Glob or Grep looks.
    pub fn path(&self) -> Option<&'a str> {
        self.text("path")
    }

    /// `url`: the page WebFetch reads.
    pub fn url(&self) -> Option<&'a str> {
        self.text("url")
    }

    /// `query`: what WebSearch looks for.
    pub fn query(&self) -> Option<&'a str> {
        self.text("query")
    }

    /// `content`: the text Write writes.
    pub fn content(&self) -> Option<&'a str> {
        self.text("content")
    }

    /// `stdout` of a command.
    pub fn stdout(&self) -> Option<&'a str> {
        self.text("stdout")
    }

    /// `stderr` of a command.
    pub fn stderr(&self) -> Option<&'a str> {
        self.text("stderr")
    }

    /// `interrupted`: the command was stopped before it finished.
    pub fn interrupted(&self) -> bool {
        self.flag("interrupted")
    }

    /// `originalFile`: the file before an edit.
    pub fn original_file(&self) -> Option<&'a str> {
        self.text("originalFile")
    }

    /// `type` of a Write's response: `create` or `update`.
    pub fn kind(&self) -> Option<&'a str> {
        self.text("type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_where_claude_code_puts_them() {
        let payload = json!({
            "tool_name": "Bash",
            "tool_input": {"command": "cargo test", "description": "run"},
            "tool_response": {"stdout": "ok", "stderr": "", "interrupted": true},
        });
        let call = ToolCall::new(None, &payload);
        assert_eq!(call.tool(), Tool::Bash);
        assert_eq!(call.target(), Some("cargo test"));
        assert_eq!(call.response.stdout(), Some("ok"));
        assert!(call.response.interrupted());
        assert_eq!(call.error_exit_code(), None);

        let failed = json!({"tool_input": {"command": "make"}, "error": "Exit code 2\nboom"});
        let call = ToolCall::new(Some("Bash"), &failed);
        assert_eq!(call.error_exit_code(), Some(2));
        assert_eq!(call.response.stdout(), None);

        let multi = json!({"tool_input": {"file_path": "/a", "edits": [
            {"old_string": "x", "new_string": "y"}, {"new_string": "z"}, 7
        ]}});
        let call = ToolCall::new(Some("MultiEdit"), &multi);
        assert_eq!(call.target(), Some("/a"));
        let edits = call.edits();
        assert_eq!(edits.len(), 3);
        assert_eq!(edits[1], Replacement { old: "", new: "z" });
        assert_eq!(edits[2], Replacement { old: "", new: "" });
    }

    #[test]
    fn a_finished_call_reads_back_as_it_was_written() {
        let input = json!({"command": "make"});
        let (hook, fields) = finished(
            "Bash",
            input.clone(),
            "t1",
            Outcome::Failed("Exit code 2".into()),
        );
        assert_eq!(hook, HookEvent::PostToolUseFailure);
        let call = ToolCall::new(None, &fields);
        assert_eq!((call.name, call.target()), ("Bash", Some("make")));
        assert_eq!(call.error_exit_code(), Some(2));
        let (hook, fields) = finished(
            "Bash",
            input,
            "t1",
            Outcome::Answered(json!({"stdout": "ok"})),
        );
        assert_eq!(hook, HookEvent::PostToolUse);
        assert_eq!(ToolCall::new(None, &fields).response.stdout(), Some("ok"));
        assert_eq!(fields["tool_use_id"], "t1");
    }

    #[test]
    fn odd_payloads_read_as_nothing() {
        for payload in [
            json!(null),
            json!("text"),
            json!({"tool_input": "not an object", "tool_response": [1], "error": 3}),
            json!({"tool_input": {"file_path": 12, "edits": {"a": 1}, "interrupted": "yes"}}),
        ] {
            for tool in ["Read", "MultiEdit", "Bash", "Agent", "mcp__x__y"] {
                let call = ToolCall::new(Some(tool), &payload);
                assert_eq!(call.target(), None, "{tool} {payload}");
                assert!(
                    call.edits()
                        .iter()
                        .all(|e| e.old.is_empty() && e.new.is_empty())
                );
                assert!(!call.input.interrupted() && !call.response.interrupted());
                assert_eq!(call.error, None);
            }
        }
        assert_eq!(ToolCall::new(None, &json!({})).name, "");
        assert_eq!(Tool::named("Task"), Tool::Agent);
        assert!(Tool::named("WebSearch").reads_the_web());
    }
}
