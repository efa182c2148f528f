//! What each tool does, as plain blocking functions over the store: parse
//! arguments, query, and render the text the model reads. The rmcp glue in
//! `lib.rs` runs them on the blocking pool and turns `Err` into a tool error.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use mnemo_privacy::{CleanReport, Redactor};
use mnemo_retrieve::provenance::Source;
use mnemo_retrieve::quote::inline;
use mnemo_retrieve::time::{iso, now_ms, utc_minute};
use mnemo_retrieve::{Hit, Observation, RecordHit, RecordKind, SearchQuery, Searcher};
use mnemo_store::{ProjectRef, Store, StoreOptions};
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
/// Candidates fetched when results must be merged or re-ordered in memory
/// (several files, or date order with a query).
const WINDOW: usize = 2000;

/// A tool's answer: text blocks, or a one-line error for the model.
pub(crate) type Reply = Result<Vec<String>, String>;

/// Everything the tools need; shared by all calls.
pub(crate) struct Memory {
    pub db: PathBuf,
    pub options: StoreOptions,
    pub redactor: Redactor,
    pub default_project: Option<String>,
    /// Search with the configured embedder and its vectors in memory.
    pub searcher: Arc<Searcher>,
}

impl Memory {
    /// A connection for one call. Opening is cheap, and the busy timeout
    /// bounds how long a locked database can hold a call up.
    fn open(&self) -> Result<Store, String> {
        Store::open(&self.db, &self.options)
            .map_err(|e| format!("cannot open the memory database: {e}"))
    }

    /// Hybrid search with the configured embedder.
    fn find(&self, store: &Store, query: &SearchQuery) -> Result<Vec<Hit>, String> {
        let (db, options) = (self.db.clone(), self.options.clone());
        self.searcher
            .search_shared(store, query, now_ms(), move || Store::open(&db, &options))
            .map_err(|e| e.to_string())
    }

    /// The project a call is about: `None` is every project. An absent or
    /// empty argument means the server's default project; `*` or `all` means
    /// every project; a path is a project root; anything else is a project
    /// name, looked up among the known roots.
    fn project(&self, store: &Store, arg: Option<&str>) -> Result<Option<String>, String> {
        let arg = arg.map(str::trim).filter(|a| !a.is_empty());
        let Some(arg) = arg else {
            return Ok(self.default_project.clone());
        };
        if arg == "*" || arg.eq_ignore_ascii_case("all") {
            return Ok(None);
        }
        if arg.contains('/') {
            let root = arg.trim_end_matches('/');
            return Ok(Some(if root.is_empty() { "/" } else { root }.to_string()));
        }
        let roots: Vec<String> = store
            .conn()
            .prepare_cached("SELECT root FROM projects WHERE name = ?1 ORDER BY root")
            .and_then(|mut stmt| {
                stmt.query_map([arg], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| format!("cannot read projects: {e}"))?;
        match roots.as_slice() {
            [root] => Ok(Some(root.clone())),
            [] => Err(format!(
                "no project named {arg:?}; give its root path, or \"*\" for all projects"
            )),
            several => Err(format!(
                "several projects are named {arg:?} ({}); give the root path",
                inline(&several.join(", "))
            )),
        }
    }

    /// `search`: a compact index of matching observations.
    pub(crate) fn search(&self, a: SearchArgs) -> Reply {
        let text = a.query.as_deref().unwrap_or("").trim().to_string();
        let limit = args::count(a.limit.as_ref(), "limit")?
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let offset = args::count(a.offset.as_ref(), "offset")?.unwrap_or(0);
        let target = args::search_target(a.kind.as_ref(), a.obs_type.as_ref())?;
        let concepts = args::words(a.concepts.as_ref(), "concepts")?;
        let mut files = args::words(a.files.as_ref(), "files")?;
        let since = args::time_bound(a.date_start.as_ref(), "dateStart", false)?;
        let until = args::time_bound(a.date_end.as_ref(), "dateEnd", true)?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err("dateStart is after dateEnd".into());
        }
        let order = match a.order_by {
            Some(Order::Relevance) | None if !text.is_empty() => Order::Relevance,
            Some(Order::Relevance) | None => Order::DateDesc,
            Some(order) => order,
        };
        let store = self.open()?;
        let project = self.project(&store, a.project.as_deref())?;
        let types = match target {
            Target::Observations(types) => types,
            Target::Records(kind) => {
                let query = SearchQuery {
                    text: text.clone(),
                    project: project.clone(),
                    since,
                    until,
                    limit,
                    offset,
                    ..SearchQuery::default()
                };
                let hits = mnemo_retrieve::search_records(&store, kind, &query)
                    .map_err(|e| e.to_string())?;
                return Ok(vec![records_index(
                    kind,
                    &hits,
                    &text,
                    project.as_deref(),
                    limit,
                    offset,
                )]);
            }
        };
        let mut query = SearchQuery {
            text: text.clone(),
            project: project.clone(),
            types,
            concepts,
            file: None,
            since,
            until,
            limit,
            offset,
        };
        // `mnemo_retrieve::search` orders by relevance with text and by date
        // (newest first) without; it filters on one file. Anything else is
        // merged and ordered here, over the best WINDOW candidates.
        let native = files.len() <= 1
            && match order {
                Order::Relevance => true,
                Order::DateDesc => text.is_empty(),
                Order::DateAsc => false,
            };
        let hits = if native {
            query.file = files.pop();
            self.find(&store, &query)?
        } else {
            let mut all: Vec<Hit> = Vec::new();
            let mut seen = HashSet::new();
            let filters: Vec<Option<String>> = if files.is_empty() {
                vec![None]
            } else {
                files.into_iter().map(Some).collect()
            };
            for file in filters {
                let q = SearchQuery {
                    file,
                    limit: WINDOW,
                    offset: 0,
                    ..query.clone()
                };
                for hit in self.find(&store, &q)? {
                    if seen.insert(hit.id) {
                        all.push(hit);
                    }
                }
            }
            match order {
                Order::Relevance => all.sort_by(|a, b| {
                    b.score
                        .total_cmp(&a.score)
                        .then(b.created_at.cmp(&a.created_at))
                }),
                Order::DateDesc => all.sort_by_key(|h| std::cmp::Reverse((h.created_at, h.id))),
                Order::DateAsc => all.sort_by_key(|h| (h.created_at, h.id)),
            }
            all.into_iter().skip(offset).take(limit).collect()
        };
        let scope = match &project {
            Some(root) => format!("in {}", inline(root)),
            None => "across all projects".to_string(),
        };
        let about = if text.is_empty() {
            String::new()
        } else {
            format!(" for {text:?}")
        };
        if hits.is_empty() {
            let mut msg = format!("No memories found{about} {scope}");
            if offset > 0 {
                msg.push_str(&format!(" past the first {offset}"));
            }
            msg.push('.');
            if project.is_some() {
                msg.push_str(" Pass project \"*\" to search all projects.");
            }
            return Ok(vec![msg]);
        }
        let order_name = match order {
            Order::Relevance => "best first",
            Order::DateDesc => "newest first",
            Order::DateAsc => "oldest first",
        };
        let range = if offset > 0 {
            format!(", results {}-{}", offset + 1, offset + hits.len())
        } else {
            String::new()
        };
        let mut out = format!(
            "{} memories{about} {scope} ({order_name}{range}):\n",
            hits.len()
        );
        for h in &hits {
            out.push_str(&index_line(h));
            out.push('\n');
        }
        out.push_str(&details_hint(&hits));
        if hits.len() == limit {
            out.push_str(&format!(
                " More may match: search again with offset {}.",
                offset + limit
            ));
        }
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
        let explicit = match a.anchor.as_ref().filter(|v| !v.is_null()) {
            Some(v) => Some(args::observation_id(v, "anchor")?),
            None => None,
        };
        let store = self.open()?;
        let project = self.project(&store, a.project.as_deref())?;
        let query = a.query.as_deref().map(str::trim).unwrap_or("");
        let anchor = match explicit {
            Some(id) => Some(id),
            None if !query.is_empty() => {
                let best = SearchQuery {
                    text: query.to_string(),
                    project: project.clone(),
                    limit: 1,
                    ..SearchQuery::default()
                };
                match self.find(&store, &best)?.first() {
                    Some(hit) => Some(hit.id),
                    None => {
                        return Ok(vec![format!(
                            "No memories found for {query:?} {}; nothing to center a timeline on.",
                            match &project {
                                Some(root) => format!("in {}", inline(root)),
                                None => "across all projects".into(),
                            }
                        )]);
                    }
                }
            }
            None => None,
        };
        let hits = mnemo_retrieve::timeline(&store, anchor, project.as_deref(), before, after)
            .map_err(|e| e.to_string())?;
        let mut out = match anchor {
            Some(id) => {
                let Some(at) = hits.iter().position(|h| h.id == id) else {
                    return Err(format!("no observation #{id}"));
                };
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
                match &project {
                    Some(root) => format!("in {}", inline(root)),
                    None => "across all projects".into(),
                }
            ),
        };
        for h in &hits {
            out.push_str(&index_line(h));
            if Some(h.id) == anchor {
                out.push_str("  <- anchor");
            }
            out.push('\n');
        }
        out.push_str(&details_hint(&hits));
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
        let store = self.open()?;
        let found = mnemo_retrieve::get_observations(&store, &ids).map_err(|e| e.to_string())?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.iter().any(|o| o.id == **id))
            .map(|id| format!("#{id}"))
            .collect();
        if found.is_empty() {
            return Err(format!("no observation with id {}", missing.join(", ")));
        }
        let records = found
            .iter()
            .map(|o| {
                let sources =
                    mnemo_retrieve::provenance::sources(&store, o.id, o.project.as_deref())
                        .map_err(|e| e.to_string())?;
                Ok(record(o, &sources))
            })
            .collect::<Result<Vec<Value>, String>>()?;
        let mut blocks = vec![
            serde_json::to_string_pretty(&records).map_err(|e| format!("cannot render: {e}"))?,
        ];
        if !missing.is_empty() {
            blocks.push(format!("Not found: {}.", missing.join(", ")));
        }
        Ok(blocks)
    }

    /// `remember`: store a note written by the model or the user, redacted.
    pub(crate) fn remember(&self, a: RememberArgs) -> Reply {
        let kind = args::observation_type(a.kind.as_deref())?;
        if a.text.trim().is_empty() {
            return Err("text is empty: give what to remember".into());
        }
        let mut report = CleanReport::default();
        let observation = mnemo_compress::note(
            &self.redactor,
            &kind,
            &a.text,
            a.title.as_deref(),
            &mut report,
        );
        if matches!(a.project.as_deref().map(str::trim), Some("*" | "all")) {
            return Err("remember needs one project, not all of them".into());
        }
        let mut store = self.open()?;
        let project = self
            .project(&store, a.project.as_deref())?
            .map(|root| ProjectRef {
                name: root
                    .rsplit('/')
                    .find(|part| !part.is_empty())
                    .unwrap_or(&root)
                    .to_string(),
                root,
            });
        let id = store
            .remember(project.as_ref(), &observation, now_ms())
            .map_err(|e| e.to_string())?;
        if let Some(embedder) = self.searcher.embedder() {
            // Best effort: a note without a vector is still found by full
            // text, and the next writer embeds it.
            let _ = mnemo_retrieve::vectors::embed_pending(&mut store, embedder, 10);
        }
        let redacted = match report.total_redactions() + report.private_spans {
            0 => String::new(),
            n => format!(" ({n} secret or private part(s) removed before storing)"),
        };
        let place = project
            .as_ref()
            .map_or("no project".into(), |p| inline(&p.root).into_owned());
        Ok(vec![match id {
            Some(id) => format!("Remembered as #{id} in {place}{redacted}."),
            None => "Already remembered: an identical memory exists.".to_string(),
        }])
    }
}

/// `#12 | 2026-11-23 14:03 | bugfix | Fixed … | ~120 tokens`
fn index_line(h: &Hit) -> String {
    format!(
        "#{} | {} | {} | {} | ~{} tokens",
        h.id,
        utc_minute(h.created_at),
        h.kind,
        inline(&h.title),
        h.tokens
    )
}

/// The index of summaries or prompts found: each is short enough to read in
/// the index itself, so there is nothing further to fetch.
fn records_index(
    kind: RecordKind,
    hits: &[RecordHit],
    text: &str,
    project: Option<&str>,
    limit: usize,
    offset: usize,
) -> String {
    let what = match kind {
        RecordKind::Session => "session summaries",
        RecordKind::Prompt => "prompts",
    };
    let scope = project.map_or("across all projects".to_string(), |root| {
        format!("in {}", inline(root))
    });
    let about = if text.is_empty() {
        " (newest first)".to_string()
    } else {
        format!(" for {text:?} (best first)")
    };
    if hits.is_empty() {
        return format!("No {what} found{about} {scope}.");
    }
    let mut out = format!("{} {what}{about} {scope}:\n", hits.len());
    for h in hits {
        out.push_str(&format!(
            "#{}{} | {} | {}",
            kind.prefix(),
            h.id,
            utc_minute(h.created_at),
            clip(&inline(&h.title), 240)
        ));
        if !h.detail.is_empty() {
            out.push_str(&format!(" — {}", clip(&inline(&h.detail), 240)));
        }
        out.push('\n');
    }
    if hits.len() == limit {
        out.push_str(&format!(
            "More may match: search again with offset {}.",
            offset + limit
        ));
    }
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
