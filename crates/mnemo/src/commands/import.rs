//! `mnemo import`: a file written by `mnemo export` (`mnemo import FILE`),
//! Claude Code's transcripts (`mnemo import claude-code [DIR]`) or a
//! claude-mem database (`mnemo import claude-mem [DB]`).

mod claude_code;
mod claude_mem;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    source: Option<Source>,
    /// A file written by `mnemo export` (or observation lines; see docs/EXPORT.md).
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// The only format for now.
    #[arg(long, default_value = "jsonl")]
    format: String,
}

#[derive(clap::Subcommand)]
enum Source {
    /// Backfill from Claude Code's session transcripts.
    ClaudeCode {
        /// Where the transcripts are: a projects directory (default:
        /// $CLAUDE_CONFIG_DIR/projects, else ~/.claude/projects) or one
        /// project's folder in it.
        dir: Option<PathBuf>,
        /// Only the sessions of this project (a directory inside it).
        #[arg(long)]
        project: Option<PathBuf>,
        /// Count what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Migrate a claude-mem database: sessions, prompts, observations and
    /// summaries. Safe to run again: what is already here is not added twice.
    ClaudeMem {
        /// The database (default: $CLAUDE_MEM_DATA_DIR/claude-mem.db, else
        /// ~/.claude-mem/claude-mem.db). Only read, never changed.
        db: Option<PathBuf>,
        /// Where a claude-mem project lives, e.g. `--map api=~/src/api`
        /// (claude-mem names projects by their directory's name only).
        /// Repeat for several projects.
        #[arg(long = "map", value_name = "NAME=DIR", value_parser = parse_map)]
        maps: Vec<(String, PathBuf)>,
        /// Report what would be imported, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match (args.source, args.file) {
        (
            Some(Source::ClaudeCode {
                dir,
                project,
                dry_run,
                json,
            }),
            _,
        ) => claude_code::run(dir, project, dry_run, json),
        (Some(Source::ClaudeMem { db, maps, dry_run }), _) => claude_mem::run(db, maps, dry_run),
        (None, Some(file)) => super::transfer::import(&file, &args.format),
        (None, None) => {
            bail!("name a file written by `mnemo export`, or claude-code, or claude-mem")
        }
    }
}

/// `--map NAME=DIR`, the directory made absolute (a leading `~/` is the home
/// directory).
fn parse_map(arg: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = arg
        .split_once('=')
        .filter(|(n, d)| !n.trim().is_empty() && !d.trim().is_empty())
        .ok_or_else(|| format!("expected NAME=DIR, got {arg:?}"))?;
    let dir = match (dir.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dir),
    };
    let dir = std::path::absolute(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((name.trim().to_string(), dir))
}

/// A progress bar on stderr when it is a terminal, drawn with `template`
/// (indicatif's syntax); hidden otherwise, where only the final report is
/// printed.
fn progress_bar(total: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
