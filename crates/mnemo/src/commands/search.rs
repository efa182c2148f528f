//! `mnemo search` and `mnemo show`.

use std::path::Path;

use anyhow::{Context, bail};
use mnemo_capture::{project, store_options};
use mnemo_retrieve::{Hit, SearchQuery, get_observations, search as run_search};
use mnemo_store::{OBSERVATION_TYPES as TYPES, Store};

use crate::time::utc_minute;

fn open() -> anyhow::Result<Store> {
    let (paths, config) = super::load()?;
    Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))
}

pub fn search(
    text: &str,
    project_dir: Option<&Path>,
    types: Vec<String>,
    concepts: Vec<String>,
    file: Option<String>,
    (limit, offset): (usize, usize),
    json: bool,
) -> anyhow::Result<()> {
    let store = open()?;
    let query = SearchQuery {
        text: text.to_string(),
        project: project_dir.map(|d| project::resolve(d).root.to_string_lossy().into_owned()),
        types,
        concepts,
        file,
        since: None,
        until: None,
        limit,
        offset,
    };
    let hits = run_search(&store, &query)?;
    if json {
        println!("{}", serde_json::to_string(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("No matching memories.");
        return Ok(());
    }
    print_hits(&hits);
    Ok(())
}

/// One line per hit, then how to fetch them in full.
fn print_hits(hits: &[Hit]) {
    for h in hits {
        println!(
            "#{:<6} {}  {:<9} {}  (~{} tokens)",
            h.id,
            utc_minute(h.created_at),
            h.kind,
            h.title,
            h.tokens
        );
        if !h.subtitle.is_empty() {
            println!("        {}", h.subtitle);
        }
    }
    println!(
        "\nFull records: mnemo show {}",
        hits.iter()
            .map(|h| h.id.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
}

pub fn timeline(
    around: Option<&str>,
    project_dir: Option<&Path>,
    (before, after): (usize, usize),
    json: bool,
) -> anyhow::Result<()> {
    let anchor = match around {
        Some(id) => Some(parse_id(id)?),
        None => None,
    };
    let store = open()?;
    let project = project_dir.map(|d| project::resolve(d).root.to_string_lossy().into_owned());
    let hits = mnemo_retrieve::timeline(&store, anchor, project.as_deref(), before, after)?;
    if json {
        println!("{}", serde_json::to_string(&hits)?);
    } else if hits.is_empty() {
        println!("No memories.");
    } else {
        print_hits(&hits);
    }
    Ok(())
}

pub fn remember(
    text: &str,
    title: Option<String>,
    kind: &str,
    project_dir: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    if !TYPES.contains(&kind) {
        bail!("--type must be one of {}", TYPES.join(", "));
    }
    if text.trim().is_empty() {
        bail!("nothing to remember: give the text as arguments");
    }
    let (paths, config) = super::load()?;
    let redactor = mnemo_privacy::Redactor::new(&mnemo_capture::privacy_options(&config))?;
    let dir = match project_dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir()?,
    };
    let project = project::resolve(&dir);
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let observation = mnemo_compress::note(
        &redactor,
        kind,
        text,
        title.as_deref(),
        &mut Default::default(),
    );
    let id = store.remember(
        Some(&project.to_ref()),
        &observation,
        mnemo_capture::now_ms(),
    )?;
    match (id, json) {
        (Some(id), true) => println!("{}", serde_json::json!({"id": id, "stored": true})),
        (None, true) => println!("{}", serde_json::json!({"id": null, "stored": false})),
        (Some(id), false) => println!("Remembered as #{id} in {}.", project.root.display()),
        (None, false) => println!("Already remembered (an identical memory exists)."),
    }
    Ok(())
}

fn parse_id(id: &str) -> anyhow::Result<i64> {
    id.trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| anyhow::anyhow!("{id:?} is not an observation id"))
}

pub fn show(ids: &[String], json: bool) -> anyhow::Result<()> {
    let parsed = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = open()?;
    let observations = get_observations(&store, &parsed)?;
    if json {
        println!("{}", serde_json::to_string(&observations)?);
        return Ok(());
    }
    if observations.is_empty() {
        bail!("no observation with id {}", ids.join(", "));
    }
    for o in observations {
        println!("#{} {} · {}", o.id, o.kind, o.title);
        println!(
            "{} · {} · {}",
            o.project.as_deref().unwrap_or("(no project)"),
            utc_minute(o.created_at),
            o.generated_by
        );
        if !o.subtitle.is_empty() {
            println!("{}", o.subtitle);
        }
        if !o.narrative.is_empty() {
            println!("\n{}", o.narrative);
        }
        if !o.facts.is_empty() {
            println!("\nFacts:");
            for f in &o.facts {
                println!("- {f}");
            }
        }
        for (label, list) in [
            ("Files read", &o.files_read),
            ("Files modified", &o.files_modified),
            ("Concepts", &o.concepts),
        ] {
            if !list.is_empty() {
                println!("{label}: {}", list.join(", "));
            }
        }
        if let Some(prompt) = &o.prompt {
            println!("Prompt: {prompt}");
        }
        println!();
    }
    Ok(())
}
