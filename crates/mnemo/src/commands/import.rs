//! `mnemo import`: a file written by `mnemo export` (`mnemo import FILE`),
//! Claude Code's transcripts (`mnemo import claude-code [DIR]`) or a
//! claude-mem database (`mnemo import claude-mem [DB]`).

mod claude_code;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mnemo_capture::{privacy_options, store_options};
use mnemo_import::claude_mem::{self, Phase, Report, Tally, projects::MappedBy};
use mnemo_privacy::Redactor;
use mnemo_store::Store;

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
        (Some(Source::ClaudeMem { db, maps, dry_run }), _) => claude_mem(db, maps, dry_run),
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

fn claude_mem(
    db: Option<PathBuf>,
    maps: Vec<(String, PathBuf)>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let data_dir = std::env::var_os("CLAUDE_MEM_DATA_DIR").map(PathBuf::from);
    let db = db.unwrap_or_else(|| claude_mem::default_db(data_dir.as_deref(), &home));
    let claude_dir =
        std::env::var_os("CLAUDE_CONFIG_DIR").map_or_else(|| home.join(".claude"), PathBuf::from);
    let (paths, config) = super::load()?;
    let redactor = Redactor::new(&privacy_options(&config))?;
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let options = claude_mem::Options {
        db,
        maps,
        transcripts: Some(claude_dir.join("projects")),
        dry_run,
        now: mnemo_capture::now_ms(),
    };
    let started = Instant::now();
    let mut progress = Progress::new();
    let report = claude_mem::import(
        &mut store,
        &redactor,
        &options,
        &mut |phase, done, total| progress.show(phase, done, total),
    );
    progress.clear();
    let report = report?;
    if !dry_run {
        super::vectors::embed_queued(&mut store, &config, usize::MAX);
    }
    print_report(&options, &report, started.elapsed(), dry_run);
    Ok(())
}

/// A one-line progress display on stderr, for a terminal only and only
/// once the import has run for a moment.
struct Progress {
    enabled: bool,
    started: Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            shown: false,
        }
    }

    fn show(&mut self, phase: Phase, done: u64, total: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        eprint!(
            "\r\x1b[2Kimporting {}: {done}/{total} ({percent}%)",
            phase.name()
        );
        let _ = std::io::stderr().flush();
        self.shown = true;
    }

    fn clear(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

fn print_report(options: &claude_mem::Options, report: &Report, took: Duration, dry_run: bool) {
    let version = report
        .schema_version
        .map_or_else(|| "unknown".to_string(), |v| v.to_string());
    println!(
        "{} {} (claude-mem schema version {version})",
        if dry_run { "Would import" } else { "Imported" },
        options.db.display()
    );
    if !report.projects.is_empty() {
        println!("projects:");
    }
    for p in &report.projects {
        let merged = if p.merged_placeholder {
            ", placeholder merged in"
        } else {
            ""
        };
        let root = if p.by == MappedBy::Placeholder {
            format!(
                "{} ({})",
                p.project.root,
                p.by.describe().replace("NAME", &p.name)
            )
        } else {
            format!("{} ({}{merged})", p.project.root, p.by.describe())
        };
        println!("  {} -> {root}", p.name);
    }
    let line = |what: &str, t: &Tally, extra: String| {
        let mut parts = vec![
            format!(
                "{} {}",
                t.imported,
                if dry_run { "new" } else { "imported" }
            ),
            format!("{} already present", t.present),
        ];
        parts.extend(
            t.skipped
                .iter()
                .map(|(why, n)| format!("{n} skipped ({why})")),
        );
        println!("{what:<13}{}{extra}", parts.join(", "));
    };
    line("sessions", &report.sessions, String::new());
    let placeholders = match report.placeholder_prompts {
        0 => String::new(),
        n => format!("; {n} made for summaries claude-mem kept without their prompt"),
    };
    line("prompts", &report.prompts, placeholders);
    line("observations", &report.observations, String::new());
    line("summaries", &report.summaries, String::new());
    if report.redactions > 0 {
        println!(
            "{} secrets or private spans removed on the way in",
            report.redactions
        );
    }
    println!("took {:.1}s", took.as_secs_f64());
}
