//! Claude Code hook events and what each means to mnemo.
//!
//! [`EVENTS`] is the one list: capture asks it whether to store an event,
//! `mnemo install` and the plugin's `hooks/hooks.json` register what it
//! marks as registered, `mnemo doctor` checks for the same, and compression
//! runs after the events it marks as closing an episode.

/// How mnemo registers its handler for an event with Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// The tool matcher, for tool events (`"*"` is every tool).
    pub matcher: Option<&'static str>,
    /// Whether Claude Code may run the hook in the background (`async`).
    /// Hooks whose output Claude Code injects must run in the foreground.
    pub background: bool,
    /// Seconds before Claude Code gives up on the hook.
    pub timeout_secs: u64,
}

/// What one hook event means to mnemo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookEvent {
    /// Claude Code's canonical event name.
    pub name: &'static str,
    /// Whether the event is stored when it arrives.
    pub stored: bool,
    /// Whether it ends the current episode (or the session), so the hook
    /// compresses what is closed after storing it.
    pub closes_episode: bool,
    /// Whether the hook may answer with context Claude Code injects.
    pub injects_context: bool,
    /// How `mnemo install` registers it; `None` when mnemo does not ask for it.
    pub registration: Option<Registration>,
}

impl HookEvent {
    /// The argument to `mnemo hook` for this event: `PostToolUse` →
    /// `post-tool-use`.
    pub fn hook_arg(&self) -> String {
        let mut arg = String::with_capacity(self.name.len() + 4);
        for (i, c) in self.name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                arg.push('-');
            }
            arg.push(c.to_ascii_lowercase());
        }
        arg
    }
}

/// An event mnemo neither stores nor registers.
const fn ignored(name: &'static str) -> HookEvent {
    HookEvent {
        name,
        stored: false,
        closes_episode: false,
        injects_context: false,
        registration: None,
    }
}

/// An event mnemo stores, registered as given (or stored only when a user
/// registers it by hand, with `None`).
const fn stored(name: &'static str, registration: Option<Registration>) -> HookEvent {
    HookEvent {
        name,
        stored: true,
        closes_episode: false,
        injects_context: false,
        registration,
    }
}

/// A registration in the foreground: the agent waits for the hook.
const fn foreground(matcher: Option<&'static str>, timeout_secs: u64) -> Option<Registration> {
    Some(Registration {
        matcher,
        background: false,
        timeout_secs,
    })
}

/// A registration in the background: the agent carries on meanwhile.
const fn background(matcher: Option<&'static str>, timeout_secs: u64) -> Option<Registration> {
    Some(Registration {
        matcher,
        background: true,
        timeout_secs,
    })
}

/// Every event Claude Code documents, in the order `mnemo install` writes
/// the registered ones.
pub const EVENTS: &[HookEvent] = &[
    HookEvent {
        injects_context: true,
        ..stored("SessionStart", foreground(None, 30))
    },
    HookEvent {
        injects_context: true,
        ..stored("UserPromptSubmit", foreground(None, 15))
    },
    // Only Read: the note of what is known about the file being read.
    HookEvent {
        injects_context: true,
        ..stored("PreToolUse", foreground(Some("Read"), 10))
    },
    stored("PostToolUse", background(Some("*"), 30)),
    stored("PostToolUseFailure", background(Some("*"), 30)),
    // Foreground: Claude Code cancels (SIGTERM) background hooks still
    // running when a session ends, and one cancelled before its first
    // instruction cannot defer the signal; a foreground hook is waited for.
    // It commits, compresses by rules in milliseconds and leaves the rest to
    // the detached worker, so the turn's end is barely delayed; its wait for
    // tool results still in flight also lets their background hooks land.
    HookEvent {
        closes_episode: true,
        ..stored("Stop", foreground(None, 60))
    },
    // A turn that ended on an API error: the episode still ends.
    HookEvent {
        closes_episode: true,
        ..stored("StopFailure", foreground(None, 60))
    },
    stored("SubagentStop", background(None, 60)),
    HookEvent {
        closes_episode: true,
        ..stored("PreCompact", background(None, 60))
    },
    // Foreground so it finishes before Claude Code exits; its default
    // budget is 1.5 s unless the registration raises it.
    HookEvent {
        closes_episode: true,
        ..stored("SessionEnd", foreground(None, 10))
    },
    stored("SubagentStart", None),
    stored("PostCompact", None),
    ignored("Setup"),
    ignored("UserPromptExpansion"),
    ignored("MessageDisplay"),
    ignored("PermissionRequest"),
    ignored("PermissionDenied"),
    ignored("PostToolBatch"),
    ignored("TaskCreated"),
    ignored("TaskCompleted"),
    ignored("TeammateIdle"),
    ignored("Notification"),
    ignored("InstructionsLoaded"),
    ignored("ConfigChange"),
    ignored("CwdChanged"),
    ignored("DirectoryAdded"),
    ignored("FileChanged"),
    ignored("WorktreeCreate"),
    ignored("WorktreeRemove"),
    ignored("Elicitation"),
    ignored("ElicitationResult"),
];

/// The event of this canonical name, if Claude Code documents it.
pub fn lookup(canonical: &str) -> Option<&'static HookEvent> {
    EVENTS.iter().find(|e| e.name == canonical)
}

/// The events `mnemo install` registers, each with its registration.
pub fn registered() -> impl Iterator<Item = (&'static HookEvent, Registration)> {
    EVENTS
        .iter()
        .filter_map(|e| e.registration.map(|reg| (e, reg)))
}

/// Canonical name of an event given in any common spelling, so that
/// `post-tool-use`, `PostToolUse` and `post_tool_use` are one; unknown names
/// are returned unchanged (they are ignored, never an error).
pub fn canonical(name: &str) -> String {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    EVENTS
        .iter()
        .find(|known| known.name.to_ascii_lowercase() == folded)
        .map_or_else(|| name.to_string(), |known| known.name.to_string())
}

/// Whether mnemo stores this (canonical) event.
pub fn is_recorded(canonical: &str) -> bool {
    lookup(canonical).is_some_and(|e| e.stored)
}

/// Whether this (canonical) event ends an episode.
pub fn closes_episode(canonical: &str) -> bool {
    lookup(canonical).is_some_and(|e| e.closes_episode)
}

/// Whether the agent waits for this (canonical) event's answer: it injects
/// context, so it must stay fast even when the store is busy.
pub fn injects_context(canonical: &str) -> bool {
    lookup(canonical).is_some_and(|e| e.injects_context)
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
        assert!(!is_recorded("FutureEvent"));
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, event) in EVENTS.iter().enumerate() {
            assert!(
                EVENTS[..i].iter().all(|e| e.name != event.name),
                "{} is listed twice",
                event.name
            );
            assert_eq!(canonical(&event.hook_arg()), event.name);
            if event.registration.is_some() || event.closes_episode || event.injects_context {
                assert!(event.stored, "{} acts but is not stored", event.name);
            }
            if event.injects_context {
                let reg = event.registration.expect("context needs a registration");
                assert!(
                    !reg.background,
                    "{}: async output is never injected",
                    event.name
                );
            }
        }
        assert_eq!(
            registered().map(|(e, _)| e.hook_arg()).collect::<Vec<_>>(),
            [
                "session-start",
                "user-prompt-submit",
                "pre-tool-use",
                "post-tool-use",
                "post-tool-use-failure",
                "stop",
                "stop-failure",
                "subagent-stop",
                "pre-compact",
                "session-end"
            ]
        );
        assert!(closes_episode("StopFailure"));
        assert!(!closes_episode("PostToolUse"));
    }
}
