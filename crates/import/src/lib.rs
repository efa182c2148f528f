//! Importers that bring existing history into a mnemo store, one module per
//! source. Nothing here prints: the caller draws progress and reports.
//!
//! - [`claude_code`]: Claude Code's own session transcripts, replayed through
//!   the capture and compression path with their original times; driven by
//!   the hook pipeline (`mnemo_app::hook::HookPipeline::import_claude_code`),
//!   whose capturer and redactor it is given.
//! - [`claude_mem`]: a claude-mem database, its sessions, prompts,
//!   observations and summaries; driven by `mnemo import claude-mem`.

#![warn(missing_docs)]

pub mod claude_code;
pub mod claude_mem;
