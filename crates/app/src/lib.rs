//! mnemo's application core: the one place where the data directory and
//! the configuration become working parts ([`parts`]), and where each use
//! case is written once for every front end: the hook pipeline ([`hook`]),
//! the memory operations ([`memory`]: search, timeline, show, remember,
//! forget and restore, the context preview, under one project scope rule),
//! the data directory's status ([`status`]) and the background work
//! ([`hosts`], [`worker`]).
//!
//! Front ends (the `mnemo` binary, the MCP server, the HTTP API) parse a
//! request, call a use case here and render its answer; they never open a
//! store, build a redactor or read a configuration key themselves. This
//! crate prints nothing and reads no process environment (but the API key
//! variables `[llm]` and `[embed]` name): process matters
//! (signals, spawning the detached worker, stdin and stdout) stay with the
//! front end, which hands the use cases what they need of them. It holds
//! use cases, not algorithms: ranking, redaction, compression and storage
//! stay in their engine crates, which never depend on it.

#![warn(missing_docs)]

pub mod hook;
pub mod hosts;
pub mod memory;
pub mod parts;
pub mod status;
pub mod team;
pub mod transfer;
pub mod worker;
