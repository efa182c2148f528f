//! The `mnemo` command: persistent memory for Claude Code.
//!
//! This crate is only the command line: argument parsing, logging set-up and
//! one module per subcommand that wires the library crates together.

// The items' doc comments are clap's help text, where `[llm]` names a
// section of config.toml, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

mod commands;
mod logging;
mod style;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mnemo", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// See mnemo work, start to finish, in a throwaway data directory: a
    /// recorded Claude Code session goes through the real hooks, then a new
    /// session asks about it. No Claude Code or network needed.
    Demo {
        /// Keep the demo's data directory (printed at the end).
        #[arg(long)]
        keep: bool,
    },
    /// Check the installation and the data (hooks, MCP, permissions,
    /// database, spool, server, LLM) and say how to fix what is wrong.
    /// Exits 1 when something is broken.
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Handle one Claude Code hook event (JSON on stdin). Always exits 0.
    Hook {
        /// The event, e.g. post-tool-use or PostToolUse; defaults to the
        /// input's hook_event_name.
        event: Option<String>,
    },
    /// Record a file of hook inputs (one JSON object per line, each with
    /// hook_event_name), as if each had arrived through `mnemo hook`.
    Ingest {
        /// The JSONL file; `-` or nothing reads stdin.
        file: Option<std::path::PathBuf>,
    },
    /// Search memories (observations, or session summaries and prompts) by text and filters.
    Search(commands::search::Request),
    /// Print exactly what SessionStart injects for a project.
    Context {
        /// A directory inside the project, or a project's root or name
        /// (default: the current directory's project).
        #[arg(long)]
        project: Option<std::path::PathBuf>,
    },
    /// Memories in time order around one (or the newest).
    Timeline(commands::search::TimelineArgs),
    /// Keep something in memory yourself.
    Remember(commands::search::RememberArgs),
    /// Forget observations: they leave search, context and recall at once
    /// (kept in the file until then, so `--undo` brings them back).
    Forget {
        /// Observation ids (as printed by search, with or without `#`).
        #[arg(required = true)]
        ids: Vec<String>,
        /// Bring forgotten observations back instead.
        #[arg(long)]
        undo: bool,
    },
    /// Show observations in full.
    Show {
        /// Ids as printed by search or timeline: observations (`#12`),
        /// session summaries (`#S2`), prompts (`#P3`); the `#` is optional.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compress closed episodes into observations and summaries now (hooks
    /// normally do this as episodes end).
    Compress {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the LLM enrichment worker (started automatically by the hooks
    /// when [llm] is configured; exits when idle).
    Worker {
        /// Process the queue once and exit instead of waiting for more.
        #[arg(long)]
        once: bool,
        /// Started by a hook: print nothing.
        #[arg(long, hide = true)]
        background: bool,
    },
    /// Write everything mnemo stores — or one project's records — as a
    /// versioned JSON-lines archive for backups and moving machines
    /// (docs/EXPORT.md); `mnemo import FILE` reads it back.
    Export {
        #[command(flatten)]
        scope: commands::search::ScopeFlags,
        /// The file to write (atomically, owner-only); stdout by default or with `-`.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// The only format for now.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Bring memories in: a file written by `mnemo export`, Claude Code's
    /// own session transcripts, or a claude-mem database.
    Import(commands::import::Args),
    /// Serve mnemo's memory tools over MCP (stdio), for Claude Code.
    Mcp {
        /// The project that calls naming none are about (a directory inside
        /// it, or a project's root or name; default: the current
        /// directory's project, or every project outside one).
        #[arg(long)]
        project: Option<std::path::PathBuf>,
    },
    /// Embed every memory again with the configured embedder (after
    /// changing `[embed]`; new memories are embedded as they are written).
    Reindex {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Serve the web viewer and the HTTP API on 127.0.0.1 (prints the URL
    /// with its access token; one server per data directory). Also runs LLM
    /// enrichment when [llm] is configured. Stop with Ctrl-C.
    Serve {
        /// Port to listen on (default: [serve] port, 37373); 0 picks a free one.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Register mnemo's hooks and MCP server with Claude Code (merged into
    /// your settings; a backup is written first; running it again changes
    /// nothing).
    Install {
        /// This repository's .claude/settings.json and .mcp.json instead of
        /// ~/.claude/settings.json and ~/.claude.json.
        #[arg(long)]
        project: bool,
        /// Show the change as a diff and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove exactly what `mnemo install` added.
    Uninstall {
        /// This repository's files instead of the user's.
        #[arg(long)]
        project: bool,
        /// Show the change as a diff and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show what the store holds.
    Stats {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Share memories with a team through a PostgreSQL server ([team] url):
    /// join or leave a project, or see how sharing goes.
    Team {
        #[command(subcommand)]
        action: commands::team::Action,
    },
    /// Send this machine's changes of joined projects to the team server and
    /// bring the team's here; keeps syncing until Ctrl-C unless `--once`.
    Sync {
        /// One round, then exit (non-zero when the server cannot be used).
        #[arg(long)]
        once: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Started in the background: print nothing, exit when idle.
        #[arg(long, hide = true)]
        background: bool,
    },
    /// Print the effective configuration (file + environment overrides).
    Config {
        /// Print the documented defaults instead.
        #[arg(long)]
        defaults: bool,
    },
}

fn main() -> ExitCode {
    // Everything mnemo creates (database, WAL, spool, logs) is owner-only.
    mnemo_platform::process::restrict_new_files();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Hook { .. } | Command::Mcp { .. }) {
        // A reader that goes away (`mnemo search x | head`) ends a command
        // quietly, as for any Unix tool. Hooks and the MCP server keep Rust's
        // default (a write error) so they can finish their work regardless.
        mnemo_platform::process::quiet_broken_pipe();
    }
    match cli.command {
        Command::Demo { keep } => commands::report(commands::demo::run(keep)),
        Command::Doctor { json } => match commands::doctor::run(json) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => commands::report(Err(e)),
        },
        Command::Hook { event } => commands::hook::run(event.as_deref()),
        Command::Ingest { file } => commands::report(commands::ingest::run(file.as_deref())),
        Command::Search(request) => commands::report(commands::search::search(request)),
        Command::Context { project } => {
            commands::report(commands::context::run(project.as_deref()))
        }
        Command::Timeline(args) => commands::report(commands::search::timeline(args)),
        Command::Remember(args) => commands::report(commands::search::remember(args)),
        Command::Show { ids, json } => commands::report(commands::search::show(&ids, json)),
        Command::Compress { json } => commands::report(commands::compress::run(json)),
        Command::Worker { once, background } => {
            commands::report(commands::worker::run(once, background))
        }
        Command::Export {
            scope,
            output,
            format,
        } => commands::report(if format == "jsonl" {
            commands::transfer::export(&scope, output.as_deref())
        } else {
            Err(anyhow::anyhow!(
                "unknown export format {format:?} (supported: jsonl)"
            ))
        }),
        Command::Import(args) => commands::report(commands::import::run(args)),
        Command::Mcp { project } => commands::report(commands::mcp::run(project.as_deref())),
        Command::Forget { ids, undo } => commands::report(commands::search::forget(&ids, undo)),
        Command::Reindex { json } => commands::report(commands::vectors::reindex(json)),
        Command::Serve { port } => commands::report(commands::serve::run(port)),
        Command::Install { project, dry_run } => {
            commands::report(commands::install::run(true, project, dry_run))
        }
        Command::Uninstall { project, dry_run } => {
            commands::report(commands::install::run(false, project, dry_run))
        }
        Command::Stats { json } => commands::report(commands::stats::run(json)),
        Command::Team { action } => commands::report(commands::team::run(action)),
        Command::Sync {
            once,
            json,
            background,
        } => commands::report(commands::sync::run(once, json, background)),
        Command::Config { defaults } => commands::report(commands::config::run(defaults)),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Each argument of `command` and its subcommands that `--help` would
    /// show without a description, as `mnemo <subcommand> <argument>`.
    fn undocumented(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.get_help().is_none() {
                found.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                found.push(path.clone());
            }
            undocumented(sub, &path, found);
        }
    }

    #[test]
    fn every_subcommand_and_argument_has_help_text() {
        let mut command = super::Cli::command();
        command.build();
        let mut found = Vec::new();
        undocumented(&command, "mnemo", &mut found);
        assert!(found.is_empty(), "no help text for: {}", found.join(", "));
    }
}
