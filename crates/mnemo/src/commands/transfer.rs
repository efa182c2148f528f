//! `mnemo export` and `mnemo import FILE`: the files, the command line and
//! the report around `mnemo_app::transfer` (the format is `docs/EXPORT.md`;
//! plain observation lines are described there too).

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use mnemo_app::transfer::{Export, Imported, Lines};
use mnemo_retrieve::time::local_minute;
use mnemo_store::archive;

use super::search::ScopeFlags;

/// Rejected lines explained one by one on stderr; the rest are counted.
const REJECTIONS_SHOWN: usize = 20;

/// `mnemo export [--project DIR | --all-projects] [--output FILE]`: the
/// current project when run inside one, like every memory command.
pub fn export(scope: &ScopeFlags, output: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let export = Export::prepare(&parts, &scope.request())?;
    let root = export.root();
    let write = |out: &mut dyn Write| export.write(out);
    // Which records these are: a backup of everything needs --all-projects.
    let of = match root {
        Some(root) => format!("of {root} (--all-projects exports every project)"),
        None => "of every project".to_string(),
    };
    match output.filter(|p| *p != Path::new("-")) {
        Some(path) => {
            // Written beside the target and renamed over it: a reader never
            // sees half a backup. The temporary file is created 0600, as the
            // export holds the user's prompts.
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".mnemo-export-")
                .tempfile_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            let counts = {
                let mut out = BufWriter::new(tmp.as_file_mut());
                let counts = write(&mut out)?;
                out.flush()?;
                counts
            };
            tmp.as_file().sync_all()?;
            tmp.persist(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("exported {} {of} to {}", summary(&counts), path.display());
        }
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            let counts = write(&mut out)?;
            out.flush()?;
            eprintln!("mnemo: exported {} {of}", summary(&counts));
        }
    }
    Ok(())
}

/// "3 projects, 1 session, …", skipping kinds with none.
fn summary(counts: &[(&str, u64)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| counted(*n, kind))
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// `n` and `noun`, plural unless one: "1 summary", "3 summaries", "2 events".
pub(super) fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// `mnemo import FILE`: an archive (it starts with a header line) or plain
/// observation lines.
pub fn import(file: &Path, format: &str) -> anyhow::Result<()> {
    if format != "jsonl" {
        bail!("unknown import format {format:?} (supported: jsonl)");
    }
    let parts = super::parts()?;
    let lines = Lines::open(file)?;
    let mut rejections = Rejections::default();
    let here = ScopeFlags::default().request();
    let imported = mnemo_app::transfer::import(&parts, lines, &here, &mut |n, why| {
        rejections.report(n, why)
    })?;
    match imported {
        Imported::Archive {
            header,
            report,
            rejected,
        } => {
            let total = |count: fn(&archive::KindCounts) -> u64| -> u64 {
                report.kinds.iter().map(|(_, c)| count(c)).sum()
            };
            let unreadable = rejected - total(|c| c.rejected);
            println!(
                "{} imported, {} already present, {} rejected (mnemo export format {}, schema {}, written {} by mnemo {})",
                total(|c| c.imported),
                total(|c| c.present),
                rejected,
                header.format,
                header.schema,
                local_minute(header.exported_at),
                header.mnemo_version,
            );
            let (updated, kept) = (total(|c| c.updated), total(|c| c.kept_local));
            if updated + kept > 0 {
                println!(
                    "  {} already present with other content (team memories, same global id): {updated} updated to the file's newer version, {kept} kept as the newer version here",
                    updated + kept
                );
            }
            for (kind, c) in report
                .kinds
                .iter()
                .filter(|(_, c)| *c != Default::default())
            {
                println!(
                    "  {kind:<15} {:>8} imported {:>8} already present {:>6} rejected",
                    c.imported, c.present, c.rejected
                );
            }
            if unreadable > 0 {
                println!("  {unreadable} unreadable lines");
            }
            if !report.unknown.is_empty() {
                let kinds: Vec<String> = report
                    .unknown
                    .iter()
                    .map(|(kind, n)| format!("{kind} ({n})"))
                    .collect();
                println!(
                    "  skipped records of kinds this mnemo does not know (written by a newer one): {}",
                    kinds.join(", ")
                );
            }
            if report.unresolved_links > 0 {
                println!(
                    "  {} superseded_by links point at observations not in the file",
                    report.unresolved_links
                );
            }
        }
        Imported::Observations {
            stored,
            duplicates,
            rejected,
        } => println!("{stored} imported, {duplicates} already present, {rejected} rejected"),
    }
    rejections.finish();
    Ok(())
}

/// Rejected lines: the first few explained on stderr, all counted.
#[derive(Default)]
struct Rejections {
    count: u64,
}

impl Rejections {
    fn report(&mut self, line: usize, why: &str) {
        self.count += 1;
        if self.count <= REJECTIONS_SHOWN as u64 {
            eprintln!("mnemo: line {line}: {why}");
        }
    }

    fn finish(&self) {
        if self.count > REJECTIONS_SHOWN as u64 {
            eprintln!(
                "mnemo: {} more lines rejected",
                self.count - REJECTIONS_SHOWN as u64
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn counts_in_english() {
        assert_eq!(counted(1, "summary"), "1 summary");
        assert_eq!(counted(3, "summary"), "3 summaries");
        assert_eq!(counted(2, "event"), "2 events");
        assert_eq!(counted(0, "key"), "0 keys");
    }
}
