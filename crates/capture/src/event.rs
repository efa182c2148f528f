//! Claude Code hook event names.

/// Events mnemo records. Everything else is accepted and ignored.
pub const RECORDED_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
];

/// Every event Claude Code documents, so that `post-tool-use`, `PostToolUse`
/// and `post_tool_use` all resolve to the canonical spelling.
const KNOWN_EVENTS: &[&str] = &[
    "SessionStart",
    "Setup",
    "SessionEnd",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "MessageDisplay",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "SubagentStart",
    "SubagentStop",
    "TaskCreated",
    "TaskCompleted",
    "TeammateIdle",
    "Stop",
    "StopFailure",
    "Notification",
    "InstructionsLoaded",
    "ConfigChange",
    "CwdChanged",
    "DirectoryAdded",
    "FileChanged",
    "WorktreeCreate",
    "WorktreeRemove",
    "PreCompact",
    "PostCompact",
    "Elicitation",
    "ElicitationResult",
];

/// Canonical name of an event given in any common spelling; unknown names are
/// returned unchanged (they are ignored, never an error).
pub fn canonical(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    KNOWN_EVENTS
        .iter()
        .find(|known| known.to_ascii_lowercase() == folded)
        .map_or_else(|| name.to_string(), |known| known.to_string())
}

/// Whether mnemo stores this (canonical) event.
pub fn is_recorded(canonical: &str) -> bool {
    RECORDED_EVENTS.contains(&canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_resolve() {
        for s in [
            "post-tool-use",
            "PostToolUse",
            "post_tool_use",
            "POSTTOOLUSE",
        ] {
            assert_eq!(canonical(s), "PostToolUse");
        }
        assert_eq!(canonical("session-end"), "SessionEnd");
        assert_eq!(canonical("FutureEvent"), "FutureEvent");
        assert!(is_recorded("PostToolUseFailure"));
        assert!(!is_recorded("Notification"));
    }
}
