//! `mnemo import claude-mem [DB]`: migrate a claude-mem database (see
//! `mnemo_import::claude_mem` and docs/IMPORT.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mnemo_import::claude_mem::{self, Report, Tally, projects::MappedBy};

pub fn run(db: Option<PathBuf>, maps: Vec<(String, PathBuf)>, dry_run: bool) -> anyhow::Result<()> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let data_dir = std::env::var_os("CLAUDE_MEM_DATA_DIR").map(PathBuf::from);
    let db = db.unwrap_or_else(|| claude_mem::default_db(data_dir.as_deref(), &home));
    let claude_dir =
        std::env::var_os("CLAUDE_CONFIG_DIR").map_or_else(|| home.join(".claude"), PathBuf::from);
    let parts = super::super::parts()?;
    let options = claude_mem::Options {
        db,
        maps,
        transcripts: Some(claude_dir.join("projects")),
        dry_run,
        now: parts.now(),
    };
    let started = Instant::now();
    let bar = super::progress_bar(0, "{msg:13} {bar:30} {pos}/{len} {eta}");
    let report =
        mnemo_app::transfer::import_claude_mem(&parts, &options, &mut |phase, done, total| {
            bar.set_message(phase.name());
            bar.set_length(total);
            bar.set_position(done);
        });
    bar.finish_and_clear();
    let report = report?;
    print_report(&options, &report, started.elapsed(), dry_run);
    Ok(())
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
