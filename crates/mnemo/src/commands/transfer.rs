//! `mnemo export` and `mnemo import FILE`: files, the command line and the
//! report around `mnemo_store::archive` (the format is `docs/EXPORT.md`).
//!
//! `mnemo import` also reads plain observation lines (no header), a simple
//! form for writing memories by hand: one object per line with `project`
//! (root path), `type`, `title`, `subtitle`, `narrative`, `facts`,
//! `concepts`, `files_read`, `files_modified` (lists of strings),
//! `created_at` (ISO-8601 UTC or Unix milliseconds) and `ref` (any string
//! of the caller's, returned by `search --json` and `show --json`). Only
//! `title` is required; `type` defaults to `discovery`, `project` to the
//! current directory's.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use mnemo_privacy::Redactor;
use mnemo_retrieve::time::{local_minute, parse_time};
use mnemo_store::archive::{self, ArchiveImporter, FORMAT_VERSION, Header, LineOutcome, Sanitizer};
use mnemo_store::{NewObservation, OBSERVATION_TYPES as TYPES, ProjectRef, Store};
use serde_json::Value;

use super::search::ScopeFlags;

/// Rejected lines explained one by one on stderr; the rest are counted.
const REJECTIONS_SHOWN: usize = 20;

/// `mnemo export [--project DIR | --all-projects] [--output FILE]`: the
/// current project when run inside one, like every memory command.
pub fn export(scope: &ScopeFlags, output: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let store = parts.open_store()?;
    let scope = mnemo_app::memory::scope::resolve(&store, &scope.request())?;
    let root = scope.root();
    let header = Header {
        format: FORMAT_VERSION,
        schema: store.schema_version()?,
        exported_at: mnemo_app::parts::now_ms(),
        mnemo_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let write = |out: &mut dyn Write| archive::export(&store, root, &header, out);
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
fn counted(n: u64, noun: &str) -> String {
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
    let redactor = parts.redactor()?;
    let mut lines = Lines::open(file)?;
    let first = lines.next_nonempty()?;
    let header = match &first {
        Some((_, Ok(line))) => Header::parse(line)?,
        _ => None,
    };
    // Observation lines are JSON objects: a file that starts with anything
    // else is neither kind, refused before the store is even opened.
    if header.is_none()
        && let Some((n, line)) = &first
        && let Err(why) = line.as_deref().map_err(String::clone).and_then(json_object)
    {
        bail!(
            "{} is neither a mnemo export nor observation lines (line {n}: {why})",
            file.display()
        );
    }
    let mut store = parts.open_store()?;
    match header {
        Some(header) => import_archive(&mut store, redactor, &header, lines)?,
        None => import_observations(&mut store, redactor, first, lines)?,
    }
    mnemo_app::hosts::embed_queued(&mut store, &parts, usize::MAX);
    Ok(())
}

/// The redactor as the archive's sanitizer.
struct Redacting<'a>(&'a Redactor);

impl Sanitizer for Redacting<'_> {
    fn text(&self, text: &str) -> String {
        self.0.clean_text(text)
    }

    fn event(&self, payload: &mut Value) {
        self.0.clean_event(payload);
    }
}

fn import_archive(
    store: &mut Store,
    redactor: &Redactor,
    header: &Header,
    mut lines: Lines,
) -> anyhow::Result<()> {
    let sanitizer = Redacting(redactor);
    let mut importer = ArchiveImporter::new(store, &sanitizer)?;
    let mut rejections = Rejections::default();
    while let Some((n, line)) = lines.next_nonempty()? {
        let outcome = match line {
            Ok(line) => importer.line(&line)?,
            Err(why) => LineOutcome::Rejected(why),
        };
        if let LineOutcome::Rejected(why) = outcome {
            rejections.report(n, &why);
        }
    }
    let report = importer.finish()?;
    let total = |count: fn(&archive::KindCounts) -> u64| -> u64 {
        report.kinds.iter().map(|(_, c)| count(c)).sum()
    };
    let unreadable = rejections.count - total(|c| c.rejected);
    println!(
        "{} imported, {} already present, {} rejected (mnemo export format {}, schema {}, written {} by mnemo {})",
        total(|c| c.imported),
        total(|c| c.present),
        rejections.count,
        header.format,
        header.schema,
        local_minute(header.exported_at),
        header.mnemo_version,
    );
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
    rejections.finish();
    Ok(())
}

fn import_observations(
    store: &mut Store,
    redactor: &Redactor,
    first: Option<(usize, Result<String, String>)>,
    mut lines: Lines,
) -> anyhow::Result<()> {
    let here = ScopeFlags::default().request();
    let here = mnemo_app::memory::scope::resolve_one(store, &here)?;
    let (mut stored, mut duplicates) = (0, 0);
    let mut rejections = Rejections::default();
    let now = mnemo_app::parts::now_ms();
    let mut next = first;
    while let Some((n, line)) = next {
        match line.and_then(|line| observation(&line, redactor, now)) {
            Ok((project, o)) => {
                let project = project.map_or_else(
                    || here.clone(),
                    |root| {
                        Some(ProjectRef {
                            name: Path::new(&root)
                                .file_name()
                                .map_or(root.clone(), |n| n.to_string_lossy().into_owned()),
                            root,
                        })
                    },
                );
                match store.remember(project.as_ref(), &o, now)? {
                    Some(_) => stored += 1,
                    None => duplicates += 1,
                }
            }
            Err(why) => rejections.report(n, &why),
        }
        next = lines.next_nonempty()?;
    }
    println!(
        "{stored} imported, {duplicates} already present, {} rejected",
        rejections.count
    );
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

/// A file's lines, numbered from 1. A line that is not UTF-8 is an `Err`
/// with the reason, so it can be reported and skipped like any bad line.
struct Lines {
    reader: BufReader<File>,
    n: usize,
    buf: Vec<u8>,
}

impl Lines {
    fn open(file: &Path) -> anyhow::Result<Lines> {
        Ok(Lines {
            reader: BufReader::new(
                File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
            ),
            n: 0,
            buf: Vec::new(),
        })
    }

    /// The next line with anything but whitespace on it.
    fn next_nonempty(&mut self) -> io::Result<Option<(usize, Result<String, String>)>> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.n += 1;
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = String::from_utf8(std::mem::take(&mut self.buf))
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|_| "not UTF-8".to_string());
            return Ok(Some((self.n, line)));
        }
    }
}

/// `line` read as a JSON object.
fn json_object(line: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str(line) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

/// One plain observation line, redacted.
fn observation(
    line: &str,
    redactor: &Redactor,
    now: i64,
) -> Result<(Option<String>, NewObservation), String> {
    let v = Value::Object(json_object(line)?);
    let text = |key: &str| redactor.clean_text(v[key].as_str().unwrap_or("").trim());
    let list = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| redactor.clean_text(s))
            .collect()
    };
    let title = text("title");
    if title.is_empty() {
        return Err("no title".into());
    }
    let kind = v["type"].as_str().unwrap_or("discovery");
    if !TYPES.contains(&kind) {
        return Err(format!("unknown type {kind:?}"));
    }
    let created_at = match &v["created_at"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            Some(parse_time(s, false).ok_or_else(|| format!("bad created_at {s:?}"))?)
        }
        _ => None,
    };
    let narrative = text("narrative");
    let reference = v["ref"].as_str().map(str::to_string);
    // The reference is part of the identity: two imported memories with the
    // same words but different refs are two memories.
    let identity = format!("{}{}", narrative, reference.as_deref().unwrap_or(""));
    let o = NewObservation {
        content_hash: mnemo_compress::content_hash(kind, &title, &identity),
        kind: kind.to_string(),
        subtitle: text("subtitle"),
        facts: list("facts"),
        concepts: list("concepts"),
        files_read: list("files_read"),
        files_modified: list("files_modified"),
        generated_by: "import".into(),
        created_at: Some(created_at.unwrap_or(now)),
        title,
        narrative,
        reference,
        ..NewObservation::default()
    };
    Ok((v["project"].as_str().map(str::to_string), o))
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
