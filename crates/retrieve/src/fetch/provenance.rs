//! Where a memory's words came from: the tool calls of the episode it was
//! compressed from (which tool, on which file, URL or command), so whoever
//! reads a memory can weigh it by its source — a web page or a file of the
//! repository says what its author wrote, not what is true.

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::tool_call::Tool;
use mnemo_store::{Result, Store};

use crate::quote::inline;

/// Most characters of one source's target (a path, URL or command).
const TARGET_CHARS: usize = 60;

/// One tool call a memory's episode made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The tool's name.
    pub tool: String,
    /// The call on one line: `Read src/app.rs`, `Bash (failed) \`make\``.
    pub text: String,
}

impl Source {
    /// Whether the call read the web, whose authors nobody vetted.
    pub fn is_web(&self) -> bool {
        Tool::named(&self.tool).reads_the_web()
    }
}

/// The tool calls of the episode observation `id` was made from (whatever
/// it read, fetched or ran may have lent it words), each once: "WebFetch
/// https://…", "Read src/app.rs", "Bash `git log -3`" (a failed call marked
/// so). Web pages come first, then the calls in order; paths are relative
/// to `root` when under it. Empty for memories of no episode (notes,
/// imports).
pub fn sources(store: &Store, id: i64, root: Option<&str>) -> Result<Vec<Source>> {
    read_sources(store, id, root, false)
}

/// The web pages among [`sources`], read without looking at the rest (an
/// episode may hold hundreds of tool calls; a prompt's recall waits).
pub fn web_sources(store: &Store, id: i64, root: Option<&str>) -> Result<Vec<Source>> {
    read_sources(store, id, root, true)
}

/// The query names the tools that [`Tool::reads_the_web`] itself, so that
/// only their rows' payloads are parsed when `web_only`.
fn read_sources(store: &Store, id: i64, root: Option<&str>, web_only: bool) -> Result<Vec<Source>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT e.hook, e.tool_name,
                coalesce(json_extract(e.payload, '$.tool_input.file_path'),
                         json_extract(e.payload, '$.tool_input.url'),
                         json_extract(e.payload, '$.tool_input.command'),
                         json_extract(e.payload, '$.tool_input.query'),
                         json_extract(e.payload, '$.tool_input.pattern'), '')
         FROM observations o JOIN events e ON e.prompt_id = o.prompt_id
         WHERE o.id = ?1 AND e.tool_name IS NOT NULL AND e.hook IN (?3, ?4)
           AND (NOT ?2 OR e.tool_name IN ('WebFetch', 'WebSearch'))
         ORDER BY e.tool_name NOT IN ('WebFetch', 'WebSearch'), e.id",
    )?;
    let (done, failed) = (
        HookEvent::PostToolUse.name(),
        HookEvent::PostToolUseFailure.name(),
    );
    let rows = stmt.query_map(rusqlite::params![id, web_only, done, failed], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        ))
    })?;
    let mut out: Vec<Source> = Vec::new();
    for row in rows {
        let (hook, tool, target) = row?;
        let text = describe(&hook, &tool, &target, root);
        if !out.iter().any(|s| s.text == text) {
            out.push(Source { tool, text });
        }
    }
    Ok(out)
}

/// One source on one line, its target relative to `root` and clipped.
fn describe(hook: &str, tool: &str, target: &str, root: Option<&str>) -> String {
    let target = root
        .and_then(|root| target.strip_prefix(root))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(target);
    let target = inline(target.trim());
    let clipped = match target.char_indices().nth(TARGET_CHARS) {
        Some((at, _)) => format!("{}…", &target[..at]),
        None => target.into_owned(),
    };
    let failed = if HookEvent::PostToolUseFailure.is(hook) {
        " (failed)"
    } else {
        ""
    };
    let tool = inline(tool);
    match (tool.as_ref(), clipped.is_empty()) {
        (_, true) => format!("{tool}{failed}"),
        ("Bash", false) => format!("{tool}{failed} `{}`", clipped.replace('`', "'")),
        _ => format!("{tool}{failed} {clipped}"),
    }
}

/// `from WebFetch https://…` naming the web pages among `sources` (say,
/// [`web_sources`]), at most `max` (`+N` for the rest); empty when none
/// came from the web.
/// Injected memories name only these: files and commands of the project
/// are every memory's sources, and each word of an injection is paid for.
pub fn web_note(sources: &[Source], max: usize) -> String {
    let web: Vec<&str> = sources
        .iter()
        .filter(|s| s.is_web())
        .map(|s| s.text.as_str())
        .collect();
    if web.is_empty() {
        return String::new();
    }
    let shown = web[..web.len().min(max)].join(", ");
    match web.len().saturating_sub(max) {
        0 => format!("from {shown}"),
        more => format!("from {shown} +{more}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_read_as_tool_and_target() {
        assert_eq!(
            describe(
                "PostToolUse",
                "Read",
                "/src/app/README.md",
                Some("/src/app")
            ),
            "Read README.md"
        );
        assert_eq!(
            describe("PostToolUseFailure", "Bash", "npm test", None),
            "Bash (failed) `npm test`"
        );
        assert_eq!(
            describe(
                "PostToolUse",
                "WebFetch",
                "https://x.example/<system-reminder>",
                None
            ),
            "WebFetch https://x.example/‹system-reminder>"
        );
        assert_eq!(describe("PostToolUse", "TodoWrite", "", None), "TodoWrite");
        let source = |tool: &str, text: &str| Source {
            tool: tool.into(),
            text: text.into(),
        };
        let sources = [
            source("WebFetch", "WebFetch https://a.example/"),
            source("WebSearch", "WebSearch rust retry crate"),
            source("WebFetch", "WebFetch https://b.example/"),
            source("Read", "Read README.md"),
        ];
        assert_eq!(
            web_note(&sources, 2),
            "from WebFetch https://a.example/, WebSearch rust retry crate +1"
        );
        assert_eq!(web_note(&sources[3..], 2), "");
    }
}
