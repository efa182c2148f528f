//! `mnemo mcp`: the memory tools over MCP (stdio), for Claude Code.
//!
//! Stdout is the protocol: nothing here prints. Logging goes to the log file
//! (`super::load`), errors before the session starts to one stderr line.

use std::path::Path;

use mnemo_capture::{privacy_options, project, store_options};

pub fn run(project_dir: Option<&Path>) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    // The project the session works in scopes calls that name none; without
    // a usable directory, calls cover every project.
    let dir = match project_dir {
        Some(d) => Some(d.to_path_buf()),
        None => std::env::current_dir().ok(),
    };
    let default_project = dir.map(|d| project::resolve(&d).root.to_string_lossy().into_owned());
    mnemo_mcp::serve_stdio(
        paths.db,
        store_options(&config),
        privacy_options(&config),
        default_project,
        super::vectors::configured(&config)?,
    )
}
