//! `mnemo search` and `mnemo show`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mnemo_capture::{project, store_options};
use mnemo_config::Config;
use mnemo_retrieve::quote::inline;
use mnemo_retrieve::time::{local_minute, parse_local_time};
use mnemo_retrieve::{
    Fusion, Hit, RecordKind, SearchQuery, get_observations, search_records, search_with,
};
use mnemo_store::{OBSERVATION_TYPES as TYPES, Store};

use crate::style::Style;

/// The store and the configuration.
fn open() -> anyhow::Result<(Store, Config)> {
    let (paths, config) = super::load()?;
    let store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    Ok((store, config))
}

/// What `mnemo search` looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Observations,
    Sessions,
    Prompts,
}

/// A `mnemo search` as typed.
#[derive(Debug, clap::Args)]
pub struct Request {
    /// What to look for; any text (punctuation is fine).
    query: Vec<String>,
    /// Only this project (a directory inside it).
    #[arg(long)]
    project: Option<PathBuf>,
    /// Only these types (bugfix, feature, refactor, change, discovery, decision, …).
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
    /// Only observations with these concepts.
    #[arg(long = "concept", value_delimiter = ',')]
    concepts: Vec<String>,
    /// Only observations that read or modified this file (path or file name).
    #[arg(long)]
    file: Option<String>,
    /// Only from this time on: YYYY-MM-DD or YYYY-MM-DD HH:MM in local time,
    /// a time as mnemo prints it, a date-time with an offset or Z, or Unix ms.
    #[arg(long)]
    since: Option<String>,
    /// Only up to this time (a bare date includes that whole day).
    #[arg(long)]
    until: Option<String>,
    /// What to search: observations, sessions (session summaries) or prompts.
    #[arg(long = "in", value_enum, default_value_t = Target::Observations)]
    target: Target,
    /// How many results to print at most.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Skip this many of the best results first (the next page starts at
    /// the previous --offset plus --limit).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn search(r: Request) -> anyhow::Result<()> {
    let bound = |text: &Option<String>,
                 flag: &str,
                 end_of_day: bool|
     -> anyhow::Result<Option<i64>> {
        text.as_deref()
            .map(|t| {
                parse_local_time(t, end_of_day).with_context(|| {
                    format!("{flag} {t:?} is not a date (YYYY-MM-DD), an ISO date-time or Unix ms")
                })
            })
            .transpose()
    };
    let query = SearchQuery {
        since: bound(&r.since, "--since", false)?,
        until: bound(&r.until, "--until", true)?,
        text: r.query.join(" "),
        project: r
            .project
            .map(|d| project::resolve(&d).root.to_string_lossy().into_owned()),
        types: r.types,
        concepts: r.concepts,
        file: r.file,
        limit: r.limit,
        offset: r.offset,
    };
    let (store, config) = open()?;
    let embedder = super::vectors::configured(&config)?;
    let json = r.json;
    let style = Style::stdout();
    let kind = match r.target {
        Target::Observations => None,
        Target::Sessions => Some(RecordKind::Session),
        Target::Prompts => Some(RecordKind::Prompt),
    };
    if let Some(kind) = kind {
        if !query.types.is_empty() || !query.concepts.is_empty() || query.file.is_some() {
            bail!(
                "--type, --concept and --file filter observations; leave them out with --in sessions or prompts"
            );
        }
        let hits = search_records(&store, kind, &query)?;
        if json {
            println!("{}", serde_json::to_string(&hits)?);
        } else if hits.is_empty() {
            println!("Nothing found.");
        }
        for h in hits.iter().filter(|_| !json) {
            println!(
                "{} {}  {}",
                style.bold(&format!("#{}{:<6}", kind.prefix(), h.id)),
                style.dim(&local_minute(h.created_at)),
                inline(&h.title)
            );
            if !h.detail.is_empty() {
                println!("        {}", style.dim(&inline(&h.detail)));
            }
        }
        return Ok(());
    }
    let hits = search_with(
        &store,
        &query,
        embedder.as_deref(),
        &Fusion::DEFAULT,
        mnemo_capture::now_ms(),
    )?;
    if json {
        println!("{}", serde_json::to_string(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("No matching memories.");
        return Ok(());
    }
    print_hits(&hits, style);
    Ok(())
}

/// One line per hit, then how to fetch them in full.
fn print_hits(hits: &[Hit], style: Style) {
    for h in hits {
        println!(
            "{} {}  {} {}  {}",
            style.bold(&format!("#{:<6}", h.id)),
            style.dim(&local_minute(h.created_at)),
            style.kind(&h.kind, &format!("{:<9}", h.kind)),
            inline(&h.title),
            style.dim(&format!("(~{} tokens)", h.tokens))
        );
        if !h.subtitle.is_empty() {
            println!("        {}", inline(&h.subtitle));
        }
    }
    println!(
        "\n{}",
        style.dim(&format!(
            "Full records: mnemo show {}",
            hits.iter()
                .map(|h| h.id.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ))
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
    let (store, _) = open()?;
    let project = project_dir.map(|d| project::resolve(d).root.to_string_lossy().into_owned());
    let hits = mnemo_retrieve::timeline(&store, anchor, project.as_deref(), before, after)?;
    if json {
        println!("{}", serde_json::to_string(&hits)?);
    } else if hits.is_empty() {
        println!("No memories.");
    } else {
        print_hits(&hits, Style::stdout());
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
    super::vectors::embed_queued(&mut store, &config, super::vectors::HOOK_BUDGET);
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

pub fn forget(ids: &[String], undo: bool) -> anyhow::Result<()> {
    if ids.is_empty() {
        bail!("give the ids to forget (as printed by search)");
    }
    let parsed = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (mut store, _) = open()?;
    let changed = if undo {
        store.restore(&parsed)?
    } else {
        store.forget(&parsed, mnemo_capture::now_ms())?
    };
    let list = |ids: &[i64]| {
        ids.iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (changed.is_empty(), undo) {
        (true, _) => println!(
            "Nothing changed (unknown ids, or already {}).",
            if undo { "live" } else { "forgotten" }
        ),
        (false, false) => println!(
            "Forgot {}. Undo with: mnemo forget --undo {}",
            list(&changed),
            changed
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ),
        (false, true) => println!("Restored {}.", list(&changed)),
    }
    Ok(())
}

pub fn show(ids: &[String], json: bool) -> anyhow::Result<()> {
    let parsed = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (store, _) = open()?;
    let observations = get_observations(&store, &parsed)?;
    if json {
        println!("{}", serde_json::to_string(&observations)?);
        return Ok(());
    }
    if observations.is_empty() {
        bail!("no observation with id {}", ids.join(", "));
    }
    let style = Style::stdout();
    for o in observations {
        println!(
            "{} {} · {}",
            style.bold(&format!("#{}", o.id)),
            style.kind(&o.kind, &o.kind),
            style.bold(&inline(&o.title))
        );
        println!(
            "{} · {} · {}",
            inline(o.project.as_deref().unwrap_or("(no project)")),
            local_minute(o.created_at),
            o.generated_by
        );
        if !o.subtitle.is_empty() {
            println!("{}", inline(&o.subtitle));
        }
        if !o.narrative.is_empty() {
            println!("\n{}", inline(&o.narrative));
        }
        if !o.facts.is_empty() {
            println!("\nFacts:");
            for f in &o.facts {
                println!("- {}", inline(f));
            }
        }
        for (label, list) in [
            ("Files read", &o.files_read),
            ("Files modified", &o.files_modified),
            ("Concepts", &o.concepts),
        ] {
            if !list.is_empty() {
                println!("{label}: {}", inline(&list.join(", ")));
            }
        }
        if let Some(prompt) = &o.prompt {
            println!("Prompt: {}", inline(prompt));
        }
        println!();
    }
    Ok(())
}
