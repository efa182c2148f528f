//! mnemo's application core: the one place where the data directory and
//! the configuration become working parts ([`parts`]), and where each use
//! case is written once for every front end ([`memory`]: search, timeline,
//! show, remember, forget and restore, the context preview, under one
//! project scope rule).
//!
//! Front ends (the `mnemo` binary, the MCP server, the HTTP API) parse a
//! request, call a use case here and render its answer; they never open a
//! store, build a redactor or read a configuration key themselves. This
//! crate prints nothing and holds use cases, not algorithms: ranking,
//! redaction, compression and storage stay in their engine crates, which
//! never depend on it.

#![warn(missing_docs)]

pub mod memory;
pub mod parts;
