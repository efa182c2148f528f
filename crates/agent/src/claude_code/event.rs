//! Claude Code's hook events and what each means to mnemo.
//!
//! [`HookEvent`] names every event Claude Code documents, and
//! [`HookEvent::roles`] is the one table of what mnemo does with each:
//! capture asks it whether to store an event, `mnemo install` and the
//! plugin's `hooks/hooks.json` register what it marks as registered,
//! `mnemo doctor` checks for the same, and compression runs after the events
//! it marks as closing an episode. Code elsewhere compares a stored event
//! name with a variant ([`HookEvent::is`], [`HookEvent::from_name`]) and
//! never spells one.

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
pub struct Roles {
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

/// Declares the event enum with its variants' names spelled once, as
/// Claude Code spells them (`hook_event_name`).
macro_rules! hook_events {
    ($($(#[$doc:meta])* $event:ident,)*) => {
        /// A Claude Code hook event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum HookEvent {
            $($(#[$doc])* $event,)*
        }

        impl HookEvent {
            /// Every event Claude Code documents, in the order `mnemo
            /// install` writes the registered ones.
            pub const ALL: &'static [HookEvent] = &[$(HookEvent::$event,)*];

            /// Claude Code's name for the event (`PostToolUse`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(HookEvent::$event => stringify!($event),)*
                }
            }
        }
    };
}

hook_events! {
    /// A session starts, resumes, or restarts after a compaction or `/clear`.
    SessionStart,
    /// The person sent a prompt.
    UserPromptSubmit,
    /// A tool is about to run.
    PreToolUse,
    /// A tool ran and succeeded.
    PostToolUse,
    /// A tool ran and failed.
    PostToolUseFailure,
    /// Claude finished answering a prompt.
    Stop,
    /// A turn ended on an API error.
    StopFailure,
    /// A subagent finished.
    SubagentStop,
    /// The conversation is about to be compacted.
    PreCompact,
    /// The session ends.
    SessionEnd,
    /// A subagent started.
    SubagentStart,
    /// The conversation was compacted.
    PostCompact,
    /// Claude Code sets up a repository (`--init`, maintenance).
    Setup,
    /// A prompt's slash command or reference was expanded.
    UserPromptExpansion,
    /// A message is shown.
    MessageDisplay,
    /// Claude Code asks for a permission.
    PermissionRequest,
    /// A permission was denied.
    PermissionDenied,
    /// A batch of parallel tool calls finished.
    PostToolBatch,
    /// A task was created.
    TaskCreated,
    /// A task was completed.
    TaskCompleted,
    /// A teammate went idle.
    TeammateIdle,
    /// Claude Code shows a notification.
    Notification,
    /// Instructions (CLAUDE.md, rules) were loaded.
    InstructionsLoaded,
    /// A settings file changed.
    ConfigChange,
    /// The working directory changed.
    CwdChanged,
    /// A directory was added to the session.
    DirectoryAdded,
    /// A watched file changed.
    FileChanged,
    /// A worktree was created.
    WorktreeCreate,
    /// A worktree was removed.
    WorktreeRemove,
    /// An MCP server asks the person for input.
    Elicitation,
    /// The person answered an elicitation.
    ElicitationResult,
}

/// Neither stored nor registered.
const IGNORED: Roles = Roles {
    stored: false,
    closes_episode: false,
    injects_context: false,
    registration: None,
};

/// Stored, registered as given (or stored only when a user registers it by
/// hand, with `None`).
const fn stored(registration: Option<Registration>) -> Roles {
    Roles {
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

impl HookEvent {
    /// What the event means to mnemo.
    pub const fn roles(self) -> Roles {
        match self {
            HookEvent::SessionStart => Roles {
                injects_context: true,
                ..stored(foreground(None, 30))
            },
            HookEvent::UserPromptSubmit => Roles {
                injects_context: true,
                ..stored(foreground(None, 15))
            },
            // Only Read: the note of what is known about the file being read.
            HookEvent::PreToolUse => Roles {
                injects_context: true,
                ..stored(foreground(Some("Read"), 10))
            },
            HookEvent::PostToolUse | HookEvent::PostToolUseFailure => {
                stored(background(Some("*"), 30))
            }
            // Foreground: Claude Code cancels (SIGTERM) background hooks
            // still running when a session ends, and one cancelled before
            // its first instruction cannot defer the signal; a foreground
            // hook is waited for. It commits, compresses by rules in
            // milliseconds and leaves the rest to the detached worker, so the
            // turn's end is barely delayed; its wait for tool results still
            // in flight also lets their background hooks land. A turn that
            // ended on an API error (StopFailure) still ends the episode.
            HookEvent::Stop | HookEvent::StopFailure => Roles {
                closes_episode: true,
                ..stored(foreground(None, 60))
            },
            HookEvent::SubagentStop => stored(background(None, 60)),
            HookEvent::PreCompact => Roles {
                closes_episode: true,
                ..stored(background(None, 60))
            },
            // Foreground so it finishes before Claude Code exits; its
            // default budget is 1.5 s unless the registration raises it.
            HookEvent::SessionEnd => Roles {
                closes_episode: true,
                ..stored(foreground(None, 10))
            },
            HookEvent::SubagentStart | HookEvent::PostCompact => stored(None),
            HookEvent::Setup
            | HookEvent::UserPromptExpansion
            | HookEvent::MessageDisplay
            | HookEvent::PermissionRequest
            | HookEvent::PermissionDenied
            | HookEvent::PostToolBatch
            | HookEvent::TaskCreated
            | HookEvent::TaskCompleted
            | HookEvent::TeammateIdle
            | HookEvent::Notification
            | HookEvent::InstructionsLoaded
            | HookEvent::ConfigChange
            | HookEvent::CwdChanged
            | HookEvent::DirectoryAdded
            | HookEvent::FileChanged
            | HookEvent::WorktreeCreate
            | HookEvent::WorktreeRemove
            | HookEvent::Elicitation
            | HookEvent::ElicitationResult => IGNORED,
        }
    }

    /// The event Claude Code calls `name` exactly (`PostToolUse`), as stored
    /// in `events.hook`.
    pub fn from_name(name: &str) -> Option<HookEvent> {
        HookEvent::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The event named in any common spelling: `post-tool-use`,
    /// `PostToolUse` and `post_tool_use` are one.
    pub fn parse(spelling: &str) -> Option<HookEvent> {
        let folded = spelling
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase());
        HookEvent::ALL.iter().copied().find(|e| {
            e.name()
                .chars()
                .map(|c| c.to_ascii_lowercase())
                .eq(folded.clone())
        })
    }

    /// Whether a stored event name is this event.
    pub fn is(self, name: &str) -> bool {
        name == self.name()
    }

    /// The argument to `mnemo hook` for this event: `PostToolUse` →
    /// `post-tool-use`.
    pub fn hook_arg(self) -> String {
        let name = self.name();
        let mut arg = String::with_capacity(name.len() + 4);
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                arg.push('-');
            }
            arg.push(c.to_ascii_lowercase());
        }
        arg
    }

    /// Whether the event reports a finished tool call (succeeded or failed).
    pub fn is_tool_result(self) -> bool {
        matches!(self, HookEvent::PostToolUse | HookEvent::PostToolUseFailure)
    }
}

/// The events `mnemo install` registers, each with its registration, in
/// the order it writes them.
pub fn registered() -> impl Iterator<Item = (HookEvent, Registration)> {
    HookEvent::ALL
        .iter()
        .filter_map(|e| e.roles().registration.map(|reg| (*e, reg)))
}

/// Canonical name of an event given in any common spelling; unknown names
/// are returned unchanged (they are ignored, never an error).
pub fn canonical(name: &str) -> String {
    HookEvent::parse(name).map_or_else(|| name.to_string(), |e| e.name().to_string())
}

/// Whether mnemo stores the event of this canonical name.
pub fn is_recorded(name: &str) -> bool {
    HookEvent::from_name(name).is_some_and(|e| e.roles().stored)
}

/// Whether the event of this canonical name ends an episode.
pub fn closes_episode(name: &str) -> bool {
    HookEvent::from_name(name).is_some_and(|e| e.roles().closes_episode)
}

/// Whether the agent waits for the answer to the event of this canonical
/// name: it injects context, so it must stay fast even when the store is
/// busy.
pub fn injects_context(name: &str) -> bool {
    HookEvent::from_name(name).is_some_and(|e| e.roles().injects_context)
}

/// Whether a stored event name reports a finished tool call.
pub fn is_tool_result(name: &str) -> bool {
    HookEvent::from_name(name).is_some_and(HookEvent::is_tool_result)
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
        assert_eq!(HookEvent::parse("post-tool"), None);
        assert!(is_recorded("PostToolUseFailure"));
        assert!(!is_recorded("Notification"));
        assert!(!is_recorded("FutureEvent"));
        assert!(!is_recorded("post-tool-use"), "stored names are canonical");
        assert!(is_tool_result("PostToolUseFailure"));
        assert!(!is_tool_result("PreToolUse"));
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, event) in HookEvent::ALL.iter().enumerate() {
            assert!(
                !HookEvent::ALL[..i].contains(event),
                "{} is listed twice",
                event.name()
            );
            assert_eq!(HookEvent::parse(&event.hook_arg()), Some(*event));
            assert_eq!(HookEvent::from_name(event.name()), Some(*event));
            let roles = event.roles();
            if roles.registration.is_some() || roles.closes_episode || roles.injects_context {
                assert!(roles.stored, "{} acts but is not stored", event.name());
            }
            if roles.injects_context {
                let reg = roles.registration.expect("context needs a registration");
                assert!(
                    !reg.background,
                    "{}: async output is never injected",
                    event.name()
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
