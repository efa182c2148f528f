//! What each tool does, as plain blocking functions: read the arguments,
//! call the use case in `mnemo_app::memory`, and render the text the model
//! reads. The rmcp glue in
//! `lib.rs` runs them on the blocking pool and turns `Err` into a tool error.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use mnemo_app::memory::{
    self, Found, Id, More, Order as Ordered, Scope, ScopeRequest, SearchRequest, Shown,
    TimelineRequest,
};
use mnemo_app::parts::Parts;
use mnemo_retrieve::fetch::provenance::Source;
use mnemo_retrieve::quote::inline;
use mnemo_retrieve::time::{iso, local_minute};
use mnemo_retrieve::{Hit, Observation, RecordHit, RecordKind};
use mnemo_store::Store;
use serde_json::{Value, json};

use crate::args::{self, GetArgs, Order, RememberArgs, SearchArgs, Target, TimelineArgs};

/// Default and largest `limit` of `search`.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// Default and largest timeline depth on each side.
const DEFAULT_DEPTH: usize = 3;
const MAX_DEPTH: usize = 50;
/// Largest number of ids `get_observations` takes at once.
const MAX_IDS: usize = 100;

/// A tool's answer: text blocks, or a one-line error for the model.
pub(crate) type Reply = Result<Vec<String>, String>;

/// A use case's error as the one line the model reads.
fn refused(err: memory::Error) -> String {
    format!("{:#}", anyhow::Error::from(err))
}

/// Everything the tools need; shared by all calls.
pub(crate) struct Memory {
    /// The data directory's parts (long-lived: vectors kept in memory).
    pub parts: Arc<Parts>,
    /// The directory the session works in: calls naming no project cover
    /// its project ([`memory::scope`]).
    pub here: Option<PathBuf>,
    /// The project root calls naming none cover instead (`mnemo mcp
    /// --project`).
    pub project: Option<String>,
}

impl Memory {
    /// A connection for one call. Opening is cheap, and the busy timeout
    /// bounds how long a locked database can hold a call up.
    fn open(&self) -> Result<Store, String> {
        self.parts
            .open_store()
            .map_err(|e| format!("cannot open the memory database: {e:#}"))
    }

    /// What a call's `project` and `all_projects` mean.
    fn scope_request(&self, project: Option<String>, all: Option<bool>) -> ScopeRequest {
        let all_projects = all.unwrap_or(false);
        ScopeRequest {
            project: project.or_else(|| self.project.clone().filter(|_| !all_projects)),
            all_projects,
            here: self.here.clone(),
        }
    }

    /// The projects a call covers.
    fn scope(
        &self,
        store: &Store,
        project: Option<String>,
        all: Option<bool>,
    ) -> Result<Scope, String> {
        memory::scope::resolve(store, &self.scope_request(project, all)).map_err(refused)
    }

    /// `search`: a compact index of matching observations.
    pub(crate) fn search(&self, a: SearchArgs) -> Reply {
        let text = a.query.as_deref().unwrap_or("").trim().to_string();
        let limit = args::count(a.limit.as_ref(), "limit")?
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let offset = args::count(a.offset.as_ref(), "offset")?.unwrap_or(0);
        let target = args::search_target(a.kind.as_ref(), a.obs_type.as_ref())?;
        let store = self.open()?;
        let scope = self.scope(&store, a.project, a.all_projects)?;
        let mut request = SearchRequest {
            concepts: args::words(a.concepts.as_ref(), "concepts")?,
            files: args::words(a.files.as_ref(), "files")?,
            author: a
                .author
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty()),
            since: args::time_bound(a.date_start.as_ref(), "dateStart", false)?,
            until: args::time_bound(a.date_end.as_ref(), "dateEnd", true)?,
            offset,
            order: a.order_by.map(|order| match order {
                Order::Relevance => Ordered::Relevance,
                Order::DateDesc => Ordered::NewestFirst,
                Order::DateAsc => Ordered::OldestFirst,
            }),
            ..SearchRequest::new(text.clone(), scope.clone(), limit)
        };
        if let (Some(s), Some(u)) = (request.since, request.until)
            && s > u
        {
            return Err("dateStart is after dateEnd".into());
        }
        let types = match target {
            Target::Observations(types) => types,
            Target::Records(kind) => {
                let found = memory::search_records(&store, kind, &request).map_err(refused)?;
                return Ok(vec![records_index(kind, &found, &text, &scope, offset)]);
            }
        };
        request.types = types;
        let found = memory::search(&self.parts, &store, &request).map_err(refused)?;
        let scope_text = scope_text(&scope);
        let mut about = if text.is_empty() {
            String::new()
        } else {
            format!(" for {text:?}")
        };
        if let Some(author) = &request.author {
            about.push_str(&format!(" by {}", inline(author)));
        }
        let hits = &found.hits;
        if hits.is_empty() {
            let mut msg = format!("No memories found{about} {scope_text}");
            if offset > 0 {
                msg.push_str(&format!(" past the first {offset}"));
            }
            msg.push('.');
            if !scope.spans_projects() {
                msg.push_str(" Pass all_projects true to search all projects.");
            }
            return Ok(vec![msg]);
        }
        let order_name = match found.order {
            Ordered::Relevance => "best first",
            Ordered::NewestFirst => "newest first",
            Ordered::OldestFirst => "oldest first",
        };
        let range = if offset > 0 {
            format!(", results {}-{}", offset + 1, offset + hits.len())
        } else {
            String::new()
        };
        let mut out = format!(
            "{} memories{about} {scope_text} ({order_name}{range}):\n",
            hits.len()
        );
        for h in hits {
            out.push_str(&index_line(h, scope.spans_projects()));
            out.push('\n');
        }
        out.push_str(&details_hint(hits));
        out.push_str(&more_line(found.more, offset + hits.len()));
        Ok(vec![out])
    }

    /// `timeline`: what happened around one observation, oldest first.
    pub(crate) fn timeline(&self, a: TimelineArgs) -> Reply {
        let before = args::count(a.depth_before.as_ref(), "depth_before")?
            .unwrap_or(DEFAULT_DEPTH)
            .min(MAX_DEPTH);
        let after = args::count(a.depth_after.as_ref(), "depth_after")?
            .unwrap_or(DEFAULT_DEPTH)
            .min(MAX_DEPTH);
        let around = match a.anchor.as_ref().filter(|v| !v.is_null()) {
            Some(v) => Some(args::anchor(v)?),
            None => None,
        };
        let store = self.open()?;
        let scope = self.scope(&store, a.project, a.all_projects)?;
        let request = TimelineRequest {
            around,
            query: a.query,
            scope: scope.clone(),
            before,
            after,
        };
        let timeline = memory::timeline(&self.parts, &store, &request).map_err(refused)?;
        let hits = &timeline.hits;
        let several = scope.spans_projects() && timeline.anchor.is_none();
        let mut out = match timeline.anchor {
            Some(id) => {
                let at = hits.iter().position(|h| h.id == id).unwrap_or(0);
                let root = inline(hits[at].project.as_deref().unwrap_or("no project"));
                format!(
                    "Timeline around #{id} ({root}): {at} before, {} after, oldest first:\n",
                    hits.len() - at - 1
                )
            }
            None if hits.is_empty() => return Ok(vec!["No memories yet.".into()]),
            None => format!(
                "The {} most recent memories {}, oldest first:\n",
                hits.len(),
                scope_text(&scope)
            ),
        };
        for h in hits {
            out.push_str(&index_line(h, several));
            if Some(h.id) == timeline.anchor {
                out.push_str("  <- anchor");
            }
            out.push('\n');
        }
        out.push_str(&details_hint(hits));
        Ok(vec![out])
    }

    /// `get_observations`: full records as pretty JSON, in the order asked.
    pub(crate) fn get_observations(&self, a: GetArgs) -> Reply {
        let mut ids = args::observation_ids(&a.ids)?;
        let mut seen = HashSet::new();
        ids.retain(|id| seen.insert(*id));
        if ids.len() > MAX_IDS {
            return Err(format!(
                "too many ids ({}); ask for at most {MAX_IDS} at once",
                ids.len()
            ));
        }
        let ids: Vec<Id> = ids.into_iter().map(Id::Observation).collect();
        let store = self.open()?;
        let showing = memory::show(&store, &ids).map_err(refused)?;
        let records: Vec<Value> = showing
            .found
            .iter()
            .filter_map(|shown| match shown {
                Shown::Observation(o, sources) => Some(record(o, sources)),
                Shown::Record(..) => None,
            })
            .collect();
        let mut blocks = vec![
            serde_json::to_string_pretty(&records).map_err(|e| format!("cannot render: {e}"))?,
        ];
        if !showing.missing.is_empty() {
            let missing: Vec<String> = showing.missing.iter().map(Id::to_string).collect();
            blocks.push(format!("Not found: {}.", missing.join(", ")));
        }
        Ok(blocks)
    }

    /// `remember`: store a note written by the model or the user, redacted.
    pub(crate) fn remember(&self, a: RememberArgs) -> Reply {
        let note = memory::Note {
            kind: Some(args::observation_type(a.kind.as_deref())?),
            text: a.text,
            title: a.title,
            scope: self.scope_request(a.project, None),
        };
        let mut store = self.open()?;
        let remembered = memory::remember(&self.parts, &mut store, &note).map_err(refused)?;
        let redacted = match remembered.removed {
            0 => String::new(),
            n => format!(" ({n} secret or private part(s) removed before storing)"),
        };
        let place = remembered
            .project
            .as_ref()
            .map_or("no project".into(), |p| inline(&p.root).into_owned());
        Ok(vec![match remembered.id {
            Some(id) => format!("Remembered as #{id} in {place}{redacted}."),
            None => "Already remembered: an identical memory exists.".to_string(),
        }])
    }
}

/// "in /src/shop" or "across all projects".
fn scope_text(scope: &Scope) -> String {
    match scope.root() {
        Some(root) => format!("in {}", inline(root)),
        None => "across all projects".to_string(),
    }
}

/// " 12 more: search again with offset 20.", or nothing on the last page.
fn more_line(more: More, next_offset: usize) -> String {
    match more {
        More { count: 0, .. } => String::new(),
        More { count, at_least } => format!(
            " {}{count} more: search again with offset {next_offset}.",
            if at_least { "At least " } else { "" }
        ),
    }
}

/// `#12 | 2026-11-23 15:03 +01:00 | bugfix | Fixed … | ~120 tokens`, and
/// `| /src/shop` when results come from several projects.
fn index_line(h: &Hit, several: bool) -> String {
    let mut line = format!(
        "#{} | {} | {} | {} | ~{} tokens",
        h.id,
        local_minute(h.created_at),
        h.kind,
        inline(&h.title),
        h.tokens
    );
    if several {
        line.push_str(&format!(
            " | {}",
            inline(h.project.as_deref().unwrap_or("no project"))
        ));
    }
    if let Some(author) = &h.author {
        line.push_str(&format!(" | by {}", inline(author)));
    }
    line
}

/// The index of summaries or prompts found: each is short enough to read in
/// the index itself, so there is nothing further to fetch.
fn records_index(
    kind: RecordKind,
    found: &Found<RecordHit>,
    text: &str,
    scope: &Scope,
    offset: usize,
) -> String {
    let what = match kind {
        RecordKind::Session => "session summaries",
        RecordKind::Prompt => "prompts",
    };
    let about = if text.is_empty() {
        " (newest first)".to_string()
    } else {
        format!(" for {text:?} (best first)")
    };
    let scope_text = scope_text(scope);
    let hits = &found.hits;
    if hits.is_empty() {
        return format!("No {what} found{about} {scope_text}.");
    }
    let mut out = format!("{} {what}{about} {scope_text}:\n", hits.len());
    for h in hits {
        out.push_str(&format!(
            "#{}{} | {} | {}",
            kind.prefix(),
            h.id,
            local_minute(h.created_at),
            clip(&inline(&h.title), 240)
        ));
        if !h.detail.is_empty() {
            out.push_str(&format!(" — {}", clip(&inline(&h.detail), 240)));
        }
        if scope.spans_projects() {
            out.push_str(&format!(
                " | {}",
                inline(h.project.as_deref().unwrap_or("no project"))
            ));
        }
        out.push('\n');
    }
    out.push_str(more_line(found.more, offset + hits.len()).trim_start());
    out
}

/// The closing line of an index: how to read further.
fn details_hint(hits: &[Hit]) -> String {
    let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
    format!(
        "Full records: get_observations with ids [{}] (only the ones that matter). \
         What happened around one: timeline with anchor {}.",
        ids.join(", "),
        hits[0].id
    )
}

/// An observation as `get_observations` returns it, with the tool calls it
/// came from (`sources`), its stored text made safe to give back
/// (`quote`): no tags, no invisible characters.
fn record(o: &Observation, sources: &[Source]) -> Value {
    let lines =
        |list: &[String]| -> Vec<String> { list.iter().map(|s| inline(s).into_owned()).collect() };
    json!({
        "id": o.id,
        "type": o.kind,
        "title": inline(&o.title),
        "subtitle": inline(&o.subtitle),
        "narrative": inline(&o.narrative),
        "facts": lines(&o.facts),
        "concepts": lines(&o.concepts),
        "files_read": lines(&o.files_read),
        "files_modified": lines(&o.files_modified),
        "project": o.project.as_deref().map(inline),
        "created_at": iso(o.created_at),
        "sources": sources.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
        "ref": o.reference.as_deref().map(inline),
    })
}

/// `s` cut to at most `max` characters, marked with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
