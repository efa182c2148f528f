//! Importers that bring existing history into a mnemo store, one module per
//! source (the binary's `mnemo import` drives them):
//!
//! - [`claude_code`]: Claude Code's own session transcripts, replayed through
//!   the capture and compression path with their original times.
//! - [`claude_mem`]: a claude-mem database, its sessions, prompts,
//!   observations and summaries.

#![warn(missing_docs)]

pub mod claude_code;
pub mod claude_mem;
