//! mnemo's application core: the use cases the front ends (the `mnemo`
//! binary, the MCP server, the HTTP server) call, each written once over
//! the engine crates.
//!
//! It prints nothing and reads no process environment: a front end parses
//! its input, calls a use case and renders what comes back. Process matters
//! (signals, spawning the detached worker, stdin and stdout) stay with the
//! front end, which hands the use cases what they need of them.

#![warn(missing_docs)]

pub mod hook;
pub mod hosts;
pub mod worker;
