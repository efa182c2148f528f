//! `mnemo search`, `timeline`, `show`, `remember` and `forget`: each parses
//! its flags, calls the use case in `mnemo_app::memory` and prints.

use std::path::PathBuf;

use anyhow::Context;
use mnemo_app::memory::{
    self, Found, Id, More, Remembered, ScopeRequest, SearchRequest, Shown, Target as Searched,
    TimelineRequest,
};
use mnemo_retrieve::quote::inline;
use mnemo_retrieve::time::{local_minute, parse_local_time};
use mnemo_retrieve::{Hit, RecordKind};
use serde_json::json;

use crate::style::Style;

/// What `mnemo search` looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Observations,
    Sessions,
    Prompts,
}

/// Which projects a command covers, as typed: the current one by default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScopeFlags {
    /// Only this project (a directory inside it, or a project's root or
    /// name; default: the project of the current directory).
    #[arg(long)]
    project: Option<PathBuf>,
    /// Every project, wherever you are.
    #[arg(long, conflicts_with = "project")]
    all_projects: bool,
}

impl ScopeFlags {
    /// The request for the use cases: these flags and the current directory.
    pub fn request(&self) -> ScopeRequest {
        ScopeRequest {
            project: self
                .project
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            all_projects: self.all_projects,
            here: std::env::current_dir().ok(),
        }
    }
}

/// A `mnemo search` as typed.
#[derive(Debug, clap::Args)]
pub struct Request {
    /// What to look for; any text (punctuation is fine).
    query: Vec<String>,
    #[command(flatten)]
    scope: ScopeFlags,
    /// Only these types (bugfix, feature, refactor, change, discovery, decision, …).
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
    /// Only observations with these concepts.
    #[arg(long = "concept", value_delimiter = ',')]
    concepts: Vec<String>,
    /// Only observations that read or modified this file (path or file name).
    #[arg(long)]
    file: Option<String>,
    /// Only memories a teammate wrote (pulled from the team, by the name
    /// they carry; `mnemo team status` lists the team's projects).
    #[arg(long)]
    author: Option<String>,
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
    /// Results to show (a last line says how many more there are).
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Results to skip first, for the next page.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// `text` as a time bound of `flag`.
fn bound(text: Option<&str>, flag: &str, end_of_day: bool) -> anyhow::Result<Option<i64>> {
    text.map(|t| {
        parse_local_time(t, end_of_day).with_context(|| {
            format!("{flag} {t:?} is not a date (YYYY-MM-DD), an ISO date-time or Unix ms")
        })
    })
    .transpose()
}

pub fn search(r: Request) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let store = parts.open_store()?;
    let scope = memory::scope::resolve(&store, &r.scope.request())?;
    let request = SearchRequest {
        types: r.types,
        concepts: r.concepts,
        files: r.file.into_iter().collect(),
        author: r.author,
        since: bound(r.since.as_deref(), "--since", false)?,
        until: bound(r.until.as_deref(), "--until", true)?,
        offset: r.offset,
        ..SearchRequest::new(r.query.join(" "), scope.clone(), r.limit)
    };
    let target = match r.target {
        Target::Observations => Searched::Observations,
        Target::Sessions => Searched::Records(RecordKind::Session),
        Target::Prompts => Searched::Records(RecordKind::Prompt),
    };
    let style = Style::stdout();
    let several = scope.spans_projects();
    let found = match target {
        Searched::Observations => memory::search(&parts, &store, &request)?,
        Searched::Records(kind) => {
            let found = memory::search_records(&store, kind, &request)?;
            if r.json {
                print_json(&found.hits, found.more, scope.root());
            } else if found.hits.is_empty() {
                println!("Nothing found{}.", nothing_hint(&request, several));
            } else {
                for h in &found.hits {
                    println!(
                        "{} {}  {}{}",
                        style.bold(&format!("#{}{:<6}", kind.prefix(), h.id)),
                        style.dim(&local_minute(h.created_at)),
                        inline(&h.title),
                        project_note(h.project.as_deref(), several, style)
                    );
                    if !h.detail.is_empty() {
                        println!("        {}", style.dim(&inline(&h.detail)));
                    }
                }
                print_more(found.more, style);
            }
            return Ok(());
        }
    };
    let Found { hits, more, .. } = found;
    if r.json {
        print_json(&hits, more, scope.root());
    } else if hits.is_empty() {
        println!("No matching memories{}.", nothing_hint(&request, several));
    } else {
        print_hits(&hits, several, style);
        print_more(more, style);
    }
    Ok(())
}

/// What to try when nothing was found in one project.
fn nothing_hint(request: &SearchRequest, several: bool) -> String {
    match request.scope.root() {
        Some(root) if !several => format!(
            " in {} (--all-projects searches every project)",
            inline(root)
        ),
        _ => String::new(),
    }
}

/// `{"items": […], "more": {"count", "at_least"}, "project": root|null}`.
fn print_json(items: &impl serde::Serialize, more: More, project: Option<&str>) {
    println!(
        "{}",
        json!({"items": items, "more": more, "project": project})
    );
}

/// The line saying that results exist past the page.
fn print_more(more: More, style: Style) {
    if more.count > 0 {
        let count = if more.at_least {
            format!("at least {}", more.count)
        } else {
            more.count.to_string()
        };
        println!(
            "{}",
            style.dim(&format!("… {count} more; --limit or --offset to see them"))
        );
    }
}

/// ` · /src/shop` when results come from several projects.
fn project_note(project: Option<&str>, several: bool, style: Style) -> String {
    if !several {
        return String::new();
    }
    style.dim(&format!(
        "  · {}",
        inline(project.unwrap_or("(no project)"))
    ))
}

/// One line per hit (naming its project when several are covered), then
/// how to fetch them in full.
fn print_hits(hits: &[Hit], several: bool, style: Style) {
    for h in hits {
        println!(
            "{} {}  {} {}  {}{}",
            style.bold(&format!("#{:<6}", h.id)),
            style.dim(&local_minute(h.created_at)),
            style.kind(&h.kind, &format!("{:<9}", h.kind)),
            inline(&h.title),
            style.dim(&format!("(~{} tokens)", h.tokens)),
            project_note(h.project.as_deref(), several, style)
        );
        if let Some(author) = &h.author {
            println!("        {}", style.dim(&format!("by {}", inline(author))));
        }
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

/// A `mnemo timeline` as typed.
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// The memory to center on (an id as printed by search: #12, #S2, #P3).
    #[arg(long)]
    around: Option<String>,
    #[command(flatten)]
    scope: ScopeFlags,
    /// Memories before the one centered on (without --around: the newest
    /// before + after + 1).
    #[arg(long, default_value_t = 5)]
    before: usize,
    /// Memories after the one centered on.
    #[arg(long, default_value_t = 5)]
    after: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn timeline(a: TimelineArgs) -> anyhow::Result<()> {
    let around = a.around.as_deref().map(Id::parse).transpose()?;
    let parts = super::parts()?;
    let store = parts.open_store()?;
    let scope = memory::scope::resolve(&store, &a.scope.request())?;
    let several = scope.spans_projects() && around.is_none();
    let request = TimelineRequest {
        around,
        query: None,
        scope,
        before: a.before,
        after: a.after,
    };
    let timeline = memory::timeline(&parts, &store, &request)?;
    if a.json {
        println!("{}", serde_json::to_string(&timeline.hits)?);
    } else if timeline.hits.is_empty() {
        println!(
            "No memories{}.",
            match request.scope.root() {
                Some(root) => format!(" in {} (--all-projects shows every project)", inline(root)),
                None => String::new(),
            }
        );
    } else {
        print_hits(&timeline.hits, several, Style::stdout());
    }
    Ok(())
}

/// A `mnemo remember` as typed.
#[derive(Debug, clap::Args)]
pub struct RememberArgs {
    /// What to remember.
    text: Vec<String>,
    /// A title (default: the first sentence).
    #[arg(long)]
    title: Option<String>,
    /// bugfix, feature, refactor, change, discovery, decision, security_alert, security_note.
    #[arg(long = "type", default_value = "discovery")]
    kind: String,
    /// The project (a directory inside it, or a project's root or name;
    /// default: the project of the current directory).
    #[arg(long)]
    project: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn remember(a: RememberArgs) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let mut store = parts.open_store()?;
    let note = memory::Note {
        text: a.text.join(" "),
        title: a.title,
        kind: Some(a.kind),
        scope: ScopeFlags {
            project: a.project,
            all_projects: false,
        }
        .request(),
    };
    let Remembered { id, project, .. } = memory::remember(&parts, &mut store, &note)?;
    let root = project.as_ref().map(|p| p.root.as_str());
    match (id, a.json) {
        (id, true) => println!(
            "{}",
            json!({"id": id, "stored": id.is_some(), "project": root})
        ),
        (Some(id), false) => println!("Remembered as #{id} in {}.", root.unwrap_or("no project")),
        (None, false) => println!("Already remembered (an identical memory exists)."),
    }
    Ok(())
}

pub fn forget(ids: &[String], undo: bool) -> anyhow::Result<()> {
    let ids = Id::parse_all(ids)?;
    let parts = super::parts()?;
    let mut store = parts.open_store()?;
    let changed = if undo {
        memory::restore(&mut store, &ids)?
    } else {
        memory::forget(&parts, &mut store, &ids)?
    };
    let list = |ids: &[i64], sep: &str| {
        ids.iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(sep)
    };
    if undo {
        println!("Restored {}.", list(&changed.changed, ", "));
    } else {
        println!(
            "Forgot {}. Undo with: mnemo forget --undo {}",
            list(&changed.changed, ", "),
            list(&changed.changed, " ").replace('#', "")
        );
    }
    if !changed.unchanged.is_empty() {
        anyhow::bail!(
            "no {} observation {}",
            if undo { "forgotten" } else { "live" },
            list(&changed.unchanged, ", ")
        );
    }
    Ok(())
}

pub fn show(ids: &[String], json: bool) -> anyhow::Result<()> {
    let ids = Id::parse_all(ids)?;
    let parts = super::parts()?;
    let store = parts.open_store()?;
    let showing = memory::show(&store, &ids)?;
    if json {
        let records: Vec<serde_json::Value> = showing
            .found
            .iter()
            .map(|shown| match shown {
                Shown::Observation(o, _) => serde_json::to_value(o),
                Shown::Record(kind, r) => serde_json::to_value(r).map(|mut v| {
                    v["kind"] = json!(match kind {
                        RecordKind::Session => "session",
                        RecordKind::Prompt => "prompt",
                    });
                    v
                }),
            })
            .collect::<Result<_, _>>()?;
        println!("{}", serde_json::Value::Array(records));
    } else {
        let style = Style::stdout();
        for shown in &showing.found {
            match shown {
                Shown::Observation(o, _) => print_observation(o, style),
                Shown::Record(kind, r) => print_record(*kind, r, style),
            }
        }
    }
    if !showing.missing.is_empty() {
        return Err(memory::not_found(&showing.missing).into());
    }
    Ok(())
}

fn print_observation(o: &mnemo_retrieve::Observation, style: Style) {
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
    if let Some(author) = &o.author {
        println!("by {}", inline(author));
    }
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

fn print_record(kind: RecordKind, r: &mnemo_retrieve::Record, style: Style) {
    let what = match kind {
        RecordKind::Session => "session summary",
        RecordKind::Prompt => "prompt",
    };
    println!(
        "{} {} · {}",
        style.bold(&format!("#{}{}", kind.prefix(), r.id)),
        what,
        style.bold(&inline(&r.title))
    );
    println!(
        "{} · {}",
        inline(r.project.as_deref().unwrap_or("(no project)")),
        local_minute(r.created_at)
    );
    for (name, text) in &r.sections {
        println!("\n{}: {}", name.replace('_', " "), inline(text));
    }
    if !r.observations.is_empty() {
        println!(
            "\nMemories of this turn: mnemo show {}",
            r.observations
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!();
}
