//! `mnemo search` and `mnemo show`.

use std::path::Path;

use anyhow::{Context, bail};
use mnemo_capture::{project, store_options};
use mnemo_retrieve::{SearchQuery, get_observations, search as run_search};
use mnemo_store::Store;

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
    for h in &hits {
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
    Ok(())
}

pub fn show(ids: &[String], json: bool) -> anyhow::Result<()> {
    let mut parsed = Vec::new();
    for id in ids {
        match id.trim_start_matches('#').parse::<i64>() {
            Ok(n) => parsed.push(n),
            Err(_) => bail!("{id:?} is not an observation id"),
        }
    }
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
