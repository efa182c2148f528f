//! Moving memories in and out of a data directory: `mnemo export`, and
//! `mnemo import FILE` of an archive (`mnemo_store::archive`, the format of
//! `docs/EXPORT.md`) or of plain observation lines.
//!
//! Plain observation lines are a simple form for writing memories by hand:
//! one object per line with `project` (root path), `type`, `title`,
//! `subtitle`, `narrative`, `facts`, `concepts`, `files_read`,
//! `files_modified` (lists of strings), `created_at` (ISO-8601 UTC or Unix
//! milliseconds) and `ref` (any string of the caller's, returned by search
//! and show). Only `title` is required; `type` defaults to `discovery`,
//! `project` to the caller's current project.
//!
//! A claude-mem database migrates through [`import_claude_mem`].
//!
//! Everything imported passes the redactor first, whichever form it has.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, bail};
use mnemo_import::claude_mem;
use mnemo_privacy::Redactor;
use mnemo_retrieve::time::parse_time;
use mnemo_store::archive::{
    self, ArchiveImporter, FORMAT_VERSION, Header, ImportReport, LineOutcome, Sanitizer,
};
use mnemo_store::{NewObservation, OBSERVATION_TYPES, ProjectRef, Store};
use serde_json::Value;

use crate::memory::scope::{self, Scope, ScopeRequest};
use crate::parts::{Parts, now_ms};

/// An export whose store and scope are settled, ready to be written.
pub struct Export {
    store: Store,
    scope: Scope,
}

impl Export {
    /// The records `request` covers (a project, or every one); a project that
    /// does not exist is an error before anything is written.
    pub fn prepare(parts: &Parts, request: &ScopeRequest) -> anyhow::Result<Export> {
        let store = parts.open_store()?;
        let scope = scope::resolve(&store, request)?;
        Ok(Export { store, scope })
    }

    /// The project exported, `None` for every project.
    pub fn root(&self) -> Option<&str> {
        self.scope.root()
    }

    /// Write the archive to `out`; the records written, by kind.
    pub fn write(&self, out: &mut dyn Write) -> anyhow::Result<Vec<(&'static str, u64)>> {
        let header = Header {
            format: FORMAT_VERSION,
            schema: self.store.schema_version()?,
            exported_at: now_ms(),
            mnemo_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        Ok(archive::export(&self.store, self.root(), &header, out)?)
    }
}

/// What an import stored.
#[derive(Debug)]
pub enum Imported {
    /// An archive: its header and the store's report of it.
    Archive {
        /// The file's header line.
        header: Header,
        /// Records imported, present and rejected, by kind.
        report: ImportReport,
        /// Lines rejected, by the store or before it (not UTF-8).
        rejected: u64,
    },
    /// Plain observation lines.
    Observations {
        /// New memories stored.
        stored: u64,
        /// Lines whose memory was already stored.
        duplicates: u64,
        /// Lines rejected.
        rejected: u64,
    },
}

/// Import `lines` (an archive when the first holds its header, else plain
/// observation lines), telling `rejected` of each line refused and why;
/// `here` is the project of lines that name none. A file that starts with
/// neither kind is refused before the store is opened.
pub fn import(
    parts: &Parts,
    mut lines: Lines,
    here: &ScopeRequest,
    rejected: &mut dyn FnMut(usize, &str),
) -> anyhow::Result<Imported> {
    let redactor = parts.redactor()?;
    let first = lines.next_nonempty()?;
    let header = match &first {
        Some((_, Ok(line))) => Header::parse(line)?,
        _ => None,
    };
    // Observation lines are JSON objects: a file that starts with anything
    // else is neither kind.
    if header.is_none()
        && let Some((n, line)) = &first
        && let Err(why) = line.as_deref().map_err(String::clone).and_then(json_object)
    {
        bail!(
            "{} is neither a mnemo export nor observation lines (line {n}: {why})",
            lines.name
        );
    }
    let mut store = parts.open_store()?;
    let imported = match header {
        Some(header) => import_archive(&mut store, redactor, header, lines, rejected)?,
        None => {
            let here = scope::resolve_one(&store, here)?;
            import_observations(&mut store, redactor, here, first, lines, rejected)?
        }
    };
    crate::hosts::embed_queued(&mut store, parts, usize::MAX);
    Ok(imported)
}

/// Migrate a claude-mem database (`mnemo import claude-mem`), reporting
/// each phase's progress, and embed what it stored (not for a dry run).
pub fn import_claude_mem(
    parts: &Parts,
    options: &claude_mem::Options,
    progress: &mut dyn FnMut(claude_mem::Phase, u64, u64),
) -> anyhow::Result<claude_mem::Report> {
    let mut store = parts.open_store()?;
    let report = claude_mem::import(&mut store, parts.redactor()?, options, progress)?;
    if !options.dry_run {
        crate::hosts::embed_queued(&mut store, parts, usize::MAX);
    }
    Ok(report)
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
    header: Header,
    mut lines: Lines,
    rejected: &mut dyn FnMut(usize, &str),
) -> anyhow::Result<Imported> {
    let sanitizer = Redacting(redactor);
    let mut importer = ArchiveImporter::new(store, &sanitizer)?;
    let mut count = 0;
    while let Some((n, line)) = lines.next_nonempty()? {
        let outcome = match line {
            Ok(line) => importer.line(&line)?,
            Err(why) => LineOutcome::Rejected(why),
        };
        if let LineOutcome::Rejected(why) = outcome {
            count += 1;
            rejected(n, &why);
        }
    }
    Ok(Imported::Archive {
        header,
        report: importer.finish()?,
        rejected: count,
    })
}

fn import_observations(
    store: &mut Store,
    redactor: &Redactor,
    here: Option<ProjectRef>,
    first: Option<(usize, Result<String, String>)>,
    mut lines: Lines,
    rejected: &mut dyn FnMut(usize, &str),
) -> anyhow::Result<Imported> {
    let (mut stored, mut duplicates, mut count) = (0, 0, 0);
    let now = now_ms();
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
            Err(why) => {
                count += 1;
                rejected(n, &why);
            }
        }
        next = lines.next_nonempty()?;
    }
    Ok(Imported::Observations {
        stored,
        duplicates,
        rejected: count,
    })
}

/// A file's lines, numbered from 1. A line that is not UTF-8 is an `Err`
/// with the reason, so it can be reported and skipped like any bad line.
pub struct Lines {
    name: String,
    reader: BufReader<File>,
    n: usize,
    buf: Vec<u8>,
}

impl Lines {
    /// The lines of `file`.
    pub fn open(file: &Path) -> anyhow::Result<Lines> {
        Ok(Lines {
            name: file.display().to_string(),
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
    if !OBSERVATION_TYPES.contains(&kind) {
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
