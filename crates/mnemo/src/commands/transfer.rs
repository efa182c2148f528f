//! `mnemo export` and `mnemo import`: observations as JSON lines.
//!
//! One object per line, fields: `project` (root path), `type`, `title`,
//! `subtitle`, `narrative`, `facts`, `concepts`, `files_read`,
//! `files_modified` (lists of strings), `created_at` (ISO-8601 UTC, or Unix
//! milliseconds on import) and `ref` (any string of the caller's, returned by
//! `search --json` and `show --json`). On import only `title` is required;
//! `type` defaults to `discovery`, `project` to the current directory's.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use mnemo_capture::{privacy_options, project, store_options};
use mnemo_privacy::Redactor;
use mnemo_store::{NewObservation, OBSERVATION_TYPES as TYPES, ProjectRef, Store};
use serde_json::{Value, json};

use mnemo_retrieve::time::{iso, parse_time};

pub fn export(project_dir: Option<&Path>, output: Option<&Path>) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let project = project_dir.map(|d| project::resolve(d).root.to_string_lossy().into_owned());
    let mut out: Box<dyn Write> = match output {
        Some(p) if p != Path::new("-") => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        _ => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let ids = mnemo_retrieve::all_ids(&store, project.as_deref())?;
    for chunk in ids.chunks(500) {
        for o in mnemo_retrieve::get_observations(&store, chunk)? {
            let line = json!({
                "project": o.project, "type": o.kind, "title": o.title, "subtitle": o.subtitle,
                "narrative": o.narrative, "facts": o.facts, "concepts": o.concepts,
                "files_read": o.files_read, "files_modified": o.files_modified,
                "created_at": iso(o.created_at), "ref": o.reference,
            });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn import(file: &Path, format: &str) -> anyhow::Result<()> {
    if format != "jsonl" {
        bail!("unknown import format {format:?} (supported: jsonl)");
    }
    let (paths, config) = super::load()?;
    let redactor = Redactor::new(&privacy_options(&config))?;
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let reader = BufReader::new(
        File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let here = project::resolve(&std::env::current_dir()?).to_ref();
    let (mut stored, mut duplicates, mut bad) = (0, 0, 0);
    let now = mnemo_capture::now_ms();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match observation(&line, &redactor, now) {
            Ok((project, o)) => {
                let project = project.map_or_else(
                    || here.clone(),
                    |root| ProjectRef {
                        name: Path::new(&root)
                            .file_name()
                            .map_or(root.clone(), |n| n.to_string_lossy().into_owned()),
                        root,
                    },
                );
                match store.remember(Some(&project), &o, now)? {
                    Some(_) => stored += 1,
                    None => duplicates += 1,
                }
            }
            Err(why) => {
                bad += 1;
                eprintln!("mnemo: line {}: {why}", n + 1);
            }
        }
    }
    super::vectors::embed_queued(&mut store, &config, usize::MAX);
    println!("{stored} imported, {duplicates} already present, {bad} rejected");
    Ok(())
}

/// One import line as an observation, redacted.
fn observation(
    line: &str,
    redactor: &Redactor,
    now: i64,
) -> Result<(Option<String>, NewObservation), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
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
