//! Claude Code: its hook events ([`event`]), the tool calls their payloads
//! describe ([`tool_call`]), its session transcripts ([`transcript`]) and
//! mnemo's entries in its settings files ([`settings`]).

pub mod event;
pub mod settings;
pub mod tool_call;
pub mod transcript;

pub use event::HookEvent;
pub use tool_call::ToolCall;

/// The agent name mnemo stores for sessions of Claude Code.
pub const AGENT: &str = "claude-code";
