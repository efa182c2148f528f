//! `mnemo context`: what a new session in a project is told.

use std::path::Path;

use mnemo_app::memory::{self, ScopeRequest};

/// `mnemo context [--project DIR]`: what SessionStart would inject.
pub fn run(project: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let store = parts.open_foreground_store()?;
    let request = ScopeRequest {
        project: project.map(|p| p.to_string_lossy().into_owned()),
        all_projects: false,
        here: std::env::current_dir().ok(),
    };
    println!(
        "{}",
        memory::context_preview(&parts, &store, &request)?.text
    );
    Ok(())
}
