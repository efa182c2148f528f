//! mnemo's entries in Claude Code's settings: the hook handlers in
//! `settings.json` (`hooks.<Event>[].hooks[]`) and the MCP server in
//! `.claude.json` or `.mcp.json` (`mcpServers.<name>`).
//!
//! `mnemo install` writes and removes these entries and `mnemo doctor`
//! looks for them; both recognise them here, so an entry one of them
//! accepts the other accepts too.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::event::{HookEvent, Registration};

/// The user's settings, hooks included: `~/.claude/settings.json`.
pub fn user_settings(home: &Path) -> PathBuf {
    home.join(".claude/settings.json")
}

/// The user's MCP servers (top-level `mcpServers`, and per project under
/// `projects.<root>.mcpServers`): `~/.claude.json`.
pub fn user_mcp_servers(home: &Path) -> PathBuf {
    home.join(".claude.json")
}

/// A repository's shared settings: `<root>/.claude/settings.json`.
pub fn project_settings(root: &Path) -> PathBuf {
    root.join(".claude/settings.json")
}

/// A repository's personal settings, not committed:
/// `<root>/.claude/settings.local.json`.
pub fn project_local_settings(root: &Path) -> PathBuf {
    root.join(".claude/settings.local.json")
}

/// A repository's shared MCP servers: `<root>/.mcp.json`.
pub fn project_mcp_servers(root: &Path) -> PathBuf {
    root.join(".mcp.json")
}

/// The MCP servers `~/.claude.json` holds for one project (local scope).
pub fn local_mcp_servers<'a>(user_mcp: &'a Value, root: &Path) -> Option<&'a Value> {
    user_mcp
        .get("projects")?
        .get(root.to_string_lossy().as_ref())?
        .get("mcpServers")
}

/// The `mnemo` subcommand Claude Code's hook handlers run.
pub const HOOK_SUBCOMMAND: &str = "hook";
/// The `mnemo` subcommand that serves MCP on stdio.
pub const MCP_SUBCOMMAND: &str = "mcp";
/// The name mnemo's MCP server is registered under.
pub const SERVER_NAME: &str = "mnemo";

/// Whether a program path names mnemo's binary: `mnemo`, `/usr/bin/mnemo`,
/// `C:\bin\mnemo.exe`, quoted or not.
pub fn is_mnemo_program(program: &str) -> bool {
    let program = program.trim().trim_matches(|c| c == '"' || c == '\'');
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    base == "mnemo" || base == "mnemo.exe"
}

/// The mnemo program an entry (a hook handler or an MCP server) runs as
/// `mnemo <subcommand> …`, when it does: the exec form (`command` is the
/// program, `args` starts with the subcommand) or a command line written by
/// hand (`… /path/to/mnemo hook stop`, `env X=1 mnemo mcp`).
pub fn mnemo_program<'a>(
    command: &'a str,
    args: Option<&[&str]>,
    subcommand: &str,
) -> Option<&'a str> {
    let command = command.trim();
    if let Some(args) = args {
        return (is_mnemo_program(command) && args.first() == Some(&subcommand)).then_some(command);
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        (is_mnemo_program(pair[0]) && pair[1] == subcommand)
            .then(|| pair[0].trim_matches(|c| c == '"' || c == '\''))
    })
}

/// [`mnemo_program`] for an entry as parsed JSON (its `command` and `args`).
pub fn entry_program<'a>(entry: &'a Value, subcommand: &str) -> Option<&'a str> {
    let command = entry.get("command")?.as_str()?;
    let args: Option<Vec<&str>> = entry
        .get("args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    mnemo_program(command, args.as_deref(), subcommand)
}

/// Whether two matchers select the same tools (absent, `""` and `"*"` are
/// all).
pub fn same_matcher(a: Option<&str>, b: Option<&str>) -> bool {
    fn narrowed(m: Option<&str>) -> Option<&str> {
        m.map(str::trim).filter(|m| !m.is_empty() && *m != "*")
    }
    narrowed(a) == narrowed(b)
}

/// Whether a registered matcher covers the tools mnemo's own matcher names
/// (any matcher will do when mnemo's takes every tool; `Read|Edit` covers
/// `Read`).
pub fn covers(matcher: Option<&str>, wanted: Option<&str>) -> bool {
    let (Some(wanted), Some(matcher)) = (wanted.filter(|w| *w != "*"), matcher.map(str::trim))
    else {
        return true;
    };
    matcher.is_empty() || matcher == "*" || matcher.split('|').any(|part| part.trim() == wanted)
}

/// The handler mnemo registers for `event`, as ordered members (the order
/// Claude Code and the plugin's `hooks/hooks.json` write them).
pub fn hook_handler(
    program: &str,
    event: HookEvent,
    registration: Registration,
) -> Vec<(&'static str, Value)> {
    let mut members = vec![
        ("type", Value::from("command")),
        ("command", Value::from(program)),
        (
            "args",
            Value::from(vec![HOOK_SUBCOMMAND.to_string(), event.hook_arg()]),
        ),
    ];
    if registration.background {
        members.push(("async", Value::Bool(true)));
    }
    members.push(("timeout", Value::from(registration.timeout_secs)));
    members
}

/// mnemo's MCP server entry, as ordered members.
pub fn mcp_server(program: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("type", Value::from("stdio")),
        ("command", Value::from(program)),
        ("args", Value::from(vec![MCP_SUBCOMMAND])),
    ]
}

/// An event as a person reads it: `PreToolUse(Read)` when mnemo's hook is
/// for one tool.
pub fn shown(event: HookEvent) -> String {
    match event
        .roles()
        .registration
        .and_then(|r| r.matcher)
        .filter(|m| *m != "*")
    {
        Some(tool) => format!("{}({tool})", event.name()),
        None => event.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_mnemo_is_recognised() {
        for program in [
            "mnemo",
            "/usr/local/bin/mnemo",
            r"C:\tools\mnemo.exe",
            "mnemo.exe",
        ] {
            assert_eq!(
                mnemo_program(program, Some(&["hook", "stop"]), "hook"),
                Some(program)
            );
            let line = format!("{program} hook stop");
            assert_eq!(mnemo_program(&line, None, "hook"), Some(program));
        }
        assert_eq!(
            mnemo_program("env X=1 \"/opt/mnemo\" mcp", None, "mcp"),
            Some("/opt/mnemo")
        );
        assert_eq!(mnemo_program("mnemo", Some(&["mcp"]), "hook"), None);
        assert_eq!(mnemo_program("mnemonic", Some(&["hook"]), "hook"), None);
        assert_eq!(mnemo_program("echo mnemo", None, "hook"), None);
        assert_eq!(mnemo_program("", None, "hook"), None);
        let entry = serde_json::json!({"command": "/x/mnemo.exe", "args": ["hook", "stop"]});
        assert_eq!(entry_program(&entry, "hook"), Some("/x/mnemo.exe"));
        assert_eq!(entry_program(&serde_json::json!({"args": 1}), "hook"), None);
    }

    #[test]
    fn local_servers_are_found_by_the_projects_root() {
        let user =
            serde_json::json!({"projects": {"/r": {"mcpServers": {"m": {}}}}, "mcpServers": {}});
        assert!(local_mcp_servers(&user, Path::new("/r")).is_some());
        assert!(local_mcp_servers(&user, Path::new("/other")).is_none());
        assert!(local_mcp_servers(&serde_json::json!([1]), Path::new("/r")).is_none());
    }

    #[test]
    fn matchers_compare_by_the_tools_they_select() {
        assert!(same_matcher(None, Some("*")));
        assert!(same_matcher(Some(""), None));
        assert!(!same_matcher(Some("Read"), None));
        assert!(covers(Some("Read|Edit"), Some("Read")));
        assert!(covers(None, Some("Read")));
        assert!(!covers(Some("Edit"), Some("Read")));
        assert!(covers(Some("Edit"), Some("*")));
        assert_eq!(shown(HookEvent::PreToolUse), "PreToolUse(Read)");
        assert_eq!(shown(HookEvent::PostToolUse), "PostToolUse");
    }
}
