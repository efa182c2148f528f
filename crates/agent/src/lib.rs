//! What mnemo knows of the coding agents it remembers for, one module per
//! agent. Each module holds that agent's vocabulary and formats — its hook
//! events and what each means to mnemo, the tool calls its hooks report, its
//! transcript lines, and how mnemo registers itself in its settings — read
//! tolerantly: a missing or odd field is `None`, never a panic or an error.
//!
//! The rest of mnemo names events through these types instead of spelling
//! them, so a new event or a renamed field is a change here. This crate
//! depends on no other mnemo crate.

#![warn(missing_docs)]

pub mod claude_code;
