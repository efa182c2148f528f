//! The application's integration tests, one binary: each module is one area,
//! calling the use cases of `mnemo_app` in process (the hook pipeline with a
//! stand-in for the hook process, the memory operations, the importers, the
//! worker) against a real SQLite file in a temporary data directory, and
//! asserting on the values they return and on what the file holds. What
//! belongs to the process — stdin, exit codes, signals, printed text — is
//! tested through the real binary in `crates/mnemo/tests/`.

mod common;
#[path = "../../mnemo/tests/common/transcripts.rs"]
mod transcripts;

mod capture;
mod compression;
mod context;
mod enrichment;
mod import_claude_code;
mod memory;
mod scenarios;
mod team;
