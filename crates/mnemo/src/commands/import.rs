//! `mnemo import`: a file written by `mnemo export` (`mnemo import FILE`),
//! Claude Code's transcripts (`mnemo import claude-code [DIR]`) or a
//! claude-mem database (`mnemo import claude-mem [DB]`).

mod claude_code;

use std::path::PathBuf;

use anyhow::bail;

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
        /// Where the transcripts are (default: $CLAUDE_CONFIG_DIR/projects,
        /// else ~/.claude/projects).
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
    /// Migrate a claude-mem database.
    ClaudeMem {
        /// The database (default: ~/.claude-mem/claude-mem.db).
        db: Option<PathBuf>,
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
        (Some(Source::ClaudeMem { .. }), _) => bail!("importing claude-mem is not built yet"),
        (None, Some(file)) => super::transfer::import(&file, &args.format),
        (None, None) => {
            bail!("name a file written by `mnemo export`, or claude-code, or claude-mem")
        }
    }
}
