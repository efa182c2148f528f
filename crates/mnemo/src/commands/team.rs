//! `mnemo team join|leave|status`: which projects this machine shares with
//! its team, and how sharing goes. Prints what `mnemo_app::team` answers.

use std::path::{Path, PathBuf};

use super::transfer::counted;
use clap::Subcommand;
use mnemo_app::team::{self, Join, TeamStatus};
use mnemo_retrieve::time::utc_minute;

#[derive(Subcommand)]
pub enum Action {
    /// Share the memories of a project (its git repository) with the team:
    /// they go up with the next `mnemo sync`, and the team's come down.
    Join {
        /// A directory inside the project (default: the current directory).
        dir: Option<PathBuf>,
        /// Print exactly what would be uploaded (redacted), change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop sharing a project: nothing more goes up (memories already
    /// shared stay, here and on the server).
    Leave {
        /// A directory inside the project (default: the current directory).
        dir: Option<PathBuf>,
    },
    /// The team server (reachable, or why not), the joined projects with
    /// their keys, what waits to go up and to come down, the last success and
    /// conflicts.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    let parts = super::parts()?;
    match action {
        Action::Join { dir, dry_run } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            match team::join(&parts, &dir, dry_run)? {
                Join::Joined(joined) => println!(
                    "joined {} ({}) as {}; {} queued for `mnemo sync`",
                    joined.key,
                    joined.root,
                    joined.author,
                    counted(joined.queued as u64, "memory")
                ),
                Join::DryRun(preview) => {
                    println!(
                        "dry run: joining {} ({}) would upload {}, exactly these:",
                        preview.key,
                        preview.root,
                        counted(preview.records.len() as u64, "memory")
                    );
                    for record in &preview.records {
                        println!("{}", team::record_json(record));
                    }
                }
            }
        }
        Action::Leave { dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            let root = team::leave(&parts, &dir)?;
            println!("left the team project at {root}; its memories are no longer shared");
        }
        Action::Status { json } => {
            let status = team::status(&parts)?;
            if json {
                println!("{}", serde_json::to_string(&status)?);
            } else {
                print_status(&status, &parts.paths.config_file);
            }
        }
    }
    Ok(())
}

/// `1 memory`, `2 memories`.
fn print_status(status: &TeamStatus, config_file: &Path) {
    let server = if status.server.is_empty() {
        format!("none (set [team] url in {})", config_file.display())
    } else if status.reachable {
        format!("{} — reachable", status.server)
    } else {
        format!(
            "{} — {}",
            status.server,
            status.problem.as_deref().unwrap_or("unreachable")
        )
    };
    println!("server        {server}");
    println!("projects      {} joined", status.projects.len());
    for project in &status.projects {
        println!(
            "  {}  {}  ({} waiting)",
            project.key, project.root, project.waiting
        );
    }
    println!("waiting up    {}", status.waiting);
    match status.incoming {
        Some(count) => println!("waiting down  {count}"),
        None => println!("waiting down  unknown (the server did not answer)"),
    }
    println!(
        "last success  {}",
        status
            .last_success
            .map_or_else(|| "never".to_string(), utc_minute)
    );
    if let Some(error) = &status.last_error {
        println!("last error    {error}");
    }
    println!("conflicts     {}", status.conflicts);
}
