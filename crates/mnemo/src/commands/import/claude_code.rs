//! `mnemo import claude-code [DIR]`: backfill memory from Claude Code's own
//! session transcripts (see `mnemo_import::claude_code` and docs/IMPORT.md),
//! replayed through the hook pipeline (`mnemo_app::hook`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mnemo_app::hook::{HookPipeline, ImportProgress};
use mnemo_import::claude_code::{self, Counts};

use super::super::worker::CommandProcess;

/// A transcript written to this recently may belong to a running session.
const LIVE_WINDOW: Duration = Duration::from_secs(10 * 60);

pub fn run(
    dir: Option<PathBuf>,
    project: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => default_dir()?,
    };
    if !dir.is_dir() {
        bail!(
            "no Claude Code transcripts at {}: not a directory (name one: mnemo import claude-code DIR)",
            dir.display()
        );
    }
    let parts = super::super::parts()?;
    let files = claude_code::discover(&dir, project.as_deref())?;
    let process = CommandProcess {
        home: &parts.paths.home,
    };
    let pipeline = HookPipeline::new(&parts, &process)?;
    let started = Instant::now();
    let bar = super::progress_bar(
        files.iter().map(|f| f.size).sum(),
        "{bar:30} {bytes}/{total_bytes} {eta} {wide_msg:.dim}",
    );
    let counts =
        pipeline.import_claude_code(
            &files,
            dry_run,
            LIVE_WINDOW,
            &mut |progress| match progress {
                ImportProgress::File(n, file) => bar.set_message(format!(
                    "{n}/{} {}",
                    files.len(),
                    short_name(&dir, &file.path)
                )),
                ImportProgress::Bytes(bytes) => bar.inc(bytes),
                ImportProgress::Compressing => bar.set_message("compressing"),
                ImportProgress::Embedding => bar.set_message("embedding"),
            },
        )?;
    bar.finish_and_clear();
    for problem in &counts.problems {
        eprintln!("mnemo: skipped {problem}");
    }
    print_counts(&counts, started.elapsed().as_secs_f64(), dry_run, json);
    Ok(())
}

/// `$CLAUDE_CONFIG_DIR/projects`, else `~/.claude/projects`.
fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(config_dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(config_dir).join("projects"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("HOME is not set: name the transcripts directory")?;
    Ok(PathBuf::from(home).join(".claude").join("projects"))
}

/// `slug/session.jsonl`: the path under the transcripts directory.
fn short_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn print_counts(counts: &Counts, secs: f64, dry_run: bool, json: bool) {
    let events = counts.prompts + counts.tool_events + counts.other_events;
    let rate = |n: f64| n / secs.max(1e-9);
    if json {
        let mut value = serde_json::to_value(counts).unwrap_or_default();
        value["dry_run"] = dry_run.into();
        value["seconds"] = secs.into();
        println!("{value}");
        return;
    }
    let verb = if dry_run { "would import" } else { "imported" };
    println!(
        "{} transcripts: {} read, {} unchanged{}",
        counts.transcripts,
        counts.transcripts_read,
        counts.transcripts_unchanged,
        match counts.transcripts_failed {
            0 => String::new(),
            n => format!(", {n} unreadable"),
        }
    );
    println!(
        "{verb} {} sessions: {} prompts, {} tool events, {} other events ({} already stored, {} ignored, {} rejected)",
        counts.sessions,
        counts.prompts,
        counts.tool_events,
        counts.other_events,
        counts.duplicates,
        counts.ignored,
        counts.rejected,
    );
    if !dry_run {
        println!(
            "compressed {} episodes: {} observations, {} summaries",
            counts.episodes, counts.observations, counts.summaries
        );
    }
    println!(
        "{} lines ({:.1} MiB) in {secs:.2} s ({:.0} lines/s, {:.0} events/s); skipped {} housekeeping, {} unknown, {} broken",
        counts.lines,
        counts.bytes_read as f64 / (1024.0 * 1024.0),
        rate(counts.lines as f64),
        rate(events as f64),
        counts.lines_housekeeping,
        counts.lines_unknown,
        counts.lines_broken,
    );
}
