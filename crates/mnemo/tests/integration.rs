//! mnemo's integration tests, one binary: each module is one area, driving the
//! real `mnemo` binary (and, where a test needs them, the real Claude Code CLI,
//! headless Chromium and an MCP client) against a real SQLite file.

mod common;

mod bad_input;
mod claude_code;
mod cli;
mod demo;
mod display;
mod doctor;
mod durability;
mod enrichment;
mod hook_events;
mod import_claude_code;
mod import_claude_mem;
mod install;
mod lifecycle;
mod mcp;
mod plugin;
mod plugin_install;
mod poisoning;
mod redaction;
mod release;
mod search;
mod secrets;
mod serve;
mod soak;
mod team;
mod team_partition;
mod transfer;
mod viewer;
