//! `mnemo mcp`: the memory tools over MCP (stdio), for Claude Code.
//!
//! Stdout is the protocol: nothing here prints. Logging goes to the log file
//! (`super::load`), errors before the session starts to one stderr line.

use std::path::Path;

pub fn run(project: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    // Calls that name no project cover `--project`, else the project of
    // the directory the session works in, else every project.
    mnemo_mcp::serve_stdio(
        parts,
        std::env::current_dir().ok(),
        project.map(|p| p.to_string_lossy().into_owned()),
    )
}
