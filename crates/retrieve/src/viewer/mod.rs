//! Browsing memories, for the web viewer and its HTTP API: observations
//! newest first with filters and keyset pagination, one observation with
//! where it came from (prompt, session, tool events, diffs), sessions with
//! their prompts and summaries, projects, and what changed since a
//! [`live::Watermark`] (the live stream, [`live`]).
//!
//! Pages are keyed on `(created_at, id)` ([`Position`]), never on an
//! offset, so the 2,000th page costs what the first does; the
//! `observations_time` and `observations_project_time` indexes serve the
//! order. Forgotten observations (`deleted_at`) are never listed.

pub mod live;

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::tool_call::{Tool, ToolCall};
use mnemo_store::{Result, Store};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde::Serialize;
use serde_json::Value;

use crate::Observation;
use crate::search::filter::Filter;

/// Longest diff shown for one tool call, in lines.
const MAX_DIFF_LINES: usize = 400;
/// Longest prompt excerpt in a session overview, in characters.
const PROMPT_EXCERPT_CHARS: usize = 240;
/// Most tool calls of one episode listed with an observation.
pub const MAX_EPISODE_CALLS: usize = 300;
/// Longest output shown for one tool call, in lines.
pub const MAX_OUTPUT_LINES: usize = 80;
/// Longest output shown for one tool call, in characters.
const MAX_OUTPUT_CHARS: usize = 8_000;

/// A place in the newest-first order: entries strictly older come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Unix ms.
    pub created_at: i64,
    /// The observation's id, to order entries of the same millisecond.
    pub id: i64,
}

impl Position {
    /// `created_at.id`, the form the API hands out as a page cursor.
    pub fn to_cursor(self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// Reads [`Position::to_cursor`]'s form back.
    pub fn from_cursor(cursor: &str) -> Option<Position> {
        let (at, id) = cursor.split_once('.')?;
        Some(Position {
            created_at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Which observations to list: all filters must hold (within a list, any
/// value does).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Project root (exact).
    pub project: Option<String>,
    /// Observation types (any of).
    pub types: Vec<String>,
    /// Concepts (any of).
    pub concepts: Vec<String>,
    /// A path (or its tail, e.g. `cart.py`) read or modified.
    pub file: Option<String>,
    /// A session's id (`sessions.id`).
    pub session: Option<i64>,
    /// The teammate who wrote a pulled memory (any case).
    pub author: Option<String>,
    /// Inclusive bounds, Unix ms.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// Only entries older than this (the previous page's `next`).
    pub before: Option<Position>,
    /// Most entries on the page.
    pub limit: usize,
}

/// An observation as a timeline lists it: enough for a card and for
/// grouping by day and session; [`observation_detail`] has the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The observation's id.
    pub id: i64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its subtitle.
    pub subtitle: String,
    /// Project root.
    pub project: Option<String>,
    /// The session it was made in.
    pub session_id: Option<i64>,
    /// The prompt its episode answered.
    pub prompt_id: Option<i64>,
    /// When it was made, Unix ms.
    pub created_at: i64,
    /// Its concepts.
    pub concepts: Vec<String>,
    /// Files read in its episode.
    pub files_read: Vec<String>,
    /// Files changed in its episode.
    pub files_modified: Vec<String>,
    /// `rules`, `llm:<model>` or `user`.
    pub generated_by: String,
    /// Approximate tokens of the full record.
    pub tokens: usize,
    /// Who wrote it, for a memory pulled from the team; `None` when it was
    /// written on this machine.
    pub author: Option<String>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// This page's entries.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Position>,
}

/// A session in a list: when, where, what it was asked first, how far it got.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionOverview {
    /// The session's id (`sessions.id`).
    pub id: i64,
    /// The agent's own session id.
    pub agent_session_id: String,
    /// The agent (`claude-code`).
    pub agent: String,
    /// Project root and name.
    pub project: Option<String>,
    /// The project's name.
    pub project_name: Option<String>,
    /// The git branch it started on.
    pub branch: Option<String>,
    /// When it started, Unix ms.
    pub started_at: i64,
    /// When it ended, Unix ms.
    pub ended_at: Option<i64>,
    /// `active` or `ended`.
    pub status: String,
    /// Prompts it holds.
    pub prompts: i64,
    /// Live observations made in it.
    pub observations: i64,
    /// The first prompt, cut to a few hundred characters.
    pub first_prompt: Option<String>,
    /// The summary of its latest summarized episode.
    pub latest_summary: Option<Summary>,
}

/// What one episode (a prompt and what followed) came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The summary's id.
    pub id: i64,
    /// The prompt that opened the episode.
    pub prompt_id: i64,
    /// What was asked.
    pub request: String,
    /// What was looked into.
    pub investigated: String,
    /// What was learned.
    pub learned: String,
    /// What was done.
    pub completed: String,
    /// What is left to do.
    pub next_steps: String,
    /// `rules` or `llm:<model>`.
    pub generated_by: String,
    /// When it was made, Unix ms.
    pub created_at: i64,
}

/// A user prompt, with its episode's summary once there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptItem {
    /// The prompt's id.
    pub id: i64,
    /// Its session.
    pub session_id: i64,
    /// Its number in the session, from 1.
    pub n: i64,
    /// What the user wrote, redacted.
    pub text: String,
    /// Everything in it was `<private>`; the text is empty.
    pub private: bool,
    /// When it was submitted, Unix ms.
    pub created_at: i64,
    /// Its episode's summary, once there is one.
    pub summary: Option<Summary>,
}

/// A session with every prompt, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionDetail {
    /// The session as lists show it.
    #[serde(flatten)]
    pub overview: SessionOverview,
    /// Its prompts, in order.
    pub prompt_list: Vec<PromptItem>,
}

/// A tool call an observation was made from, as far as a reader cares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceEvent {
    /// The event's id.
    pub id: i64,
    /// The hook event (`PostToolUse`, …).
    pub hook: String,
    /// The tool called.
    pub tool_name: Option<String>,
    /// When it was captured, Unix ms.
    pub created_at: i64,
    /// The command, path, pattern or URL the call was about.
    pub target: String,
    /// For edits and writes: a unified-style diff (`-`, `+` and ` ` lines).
    pub diff: Option<String>,
}

/// A tool call of an episode, whatever the tool, with how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeCall {
    /// The event's id.
    pub id: i64,
    /// The tool called.
    pub tool_name: String,
    /// When it was captured, Unix ms.
    pub created_at: i64,
    /// The command, path, pattern or URL the call was about.
    pub target: String,
    /// Claude Code reported it as failed (`PostToolUseFailure`, or an
    /// interrupted command).
    pub failed: bool,
    /// What it printed or returned (the error, for a failed call), cut to
    /// [`MAX_OUTPUT_LINES`] lines; `None` when it returned nothing worth
    /// showing (an edit's diff is in [`SourceEvent::diff`]).
    pub output: Option<String>,
}

/// One observation in full, with its origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservationDetail {
    /// The observation itself.
    #[serde(flatten)]
    pub observation: Observation,
    /// The prompt its episode answered.
    pub prompt_item: Option<PromptItem>,
    /// The session it was made in.
    pub session: Option<SessionOverview>,
    /// The tool calls this observation was made from.
    pub events: Vec<SourceEvent>,
    /// Every tool call of its episode, in order (its sources when it has no
    /// episode), up to [`MAX_EPISODE_CALLS`].
    pub tool_calls: Vec<EpisodeCall>,
}

const ENTRY_COLUMNS: &str = "o.id, o.type, o.title, o.subtitle, p.root, o.session_id, o.prompt_id,
     o.created_at, o.concepts, o.files_read, o.files_modified, o.generated_by,
     length(o.title) + length(o.subtitle) + length(o.narrative) + length(o.facts), o.author";

fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        subtitle: r.get(3)?,
        project: r.get(4)?,
        session_id: r.get(5)?,
        prompt_id: r.get(6)?,
        created_at: r.get(7)?,
        concepts: strings(r.get(8)?),
        files_read: strings(r.get(9)?),
        files_modified: strings(r.get(10)?),
        generated_by: r.get(11)?,
        tokens: r.get::<_, i64>(12)?.max(0) as usize / 4 + 1,
        author: r.get(13)?,
    })
}

fn strings(json: String) -> Vec<String> {
    serde_json::from_str(&json).unwrap_or_default()
}

/// Observations newest first under `q`'s filters, one page.
pub fn list(store: &Store, q: &ListQuery) -> Result<Page<Entry>> {
    let mut sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM observations o LEFT JOIN projects p ON p.id = o.project_id
         WHERE 1"
    );
    let project = match &q.project {
        // Through the project id, so the (project_id, created_at) index serves the order.
        Some(root) => match crate::search::project_id(store.conn(), root)? {
            Some(id) => Some(id),
            None => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
        },
        None => None,
    };
    let filter = Filter {
        project_id: project,
        types: q.types.clone(),
        concepts: q.concepts.clone(),
        file: q.file.clone(),
        author: q.author.clone(),
        since: q.since,
        until: q.until,
    };
    let mut args: Vec<SqlValue> = Vec::new();
    filter.push_sql(&mut sql, &mut args);
    if let Some(session) = q.session {
        sql.push_str(" AND o.session_id = ?");
        args.push(SqlValue::Integer(session));
    }
    if let Some(before) = q.before {
        sql.push_str(" AND (o.created_at, o.id) < (?, ?)");
        args.push(SqlValue::Integer(before.created_at));
        args.push(SqlValue::Integer(before.id));
    }
    let limit = q.limit.max(1);
    sql.push_str(" ORDER BY o.created_at DESC, o.id DESC LIMIT ?");
    args.push(SqlValue::Integer(limit as i64 + 1));
    let mut items: Vec<Entry> = store
        .conn()
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), entry)?
        .collect::<rusqlite::Result<_>>()?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|e| Position {
            created_at: e.created_at,
            id: e.id,
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// One observation with its prompt, session and source tool calls; `None`
/// if it does not exist or was forgotten.
pub fn observation_detail(store: &Store, id: i64) -> Result<Option<ObservationDetail>> {
    let Some(observation) = crate::get_observations(store, &[id])?.pop() else {
        return Ok(None);
    };
    let (prompt_id, source_ids): (Option<i64>, String) = store.conn().query_row(
        "SELECT prompt_id, source_event_ids FROM observations WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let prompt_item = match prompt_id {
        Some(prompt_id) => prompt(store, prompt_id)?,
        None => None,
    };
    let session = match observation.session_id {
        Some(session_id) => session_overview(store, session_id)?,
        None => None,
    };
    let source_ids: Vec<i64> = serde_json::from_str(&source_ids).unwrap_or_default();
    let tool_calls = tool_calls(store, prompt_id, &source_ids)?;
    let mut events = Vec::with_capacity(source_ids.len());
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, hook, tool_name, created_at, payload FROM events WHERE id = ?1",
    )?;
    for event_id in source_ids {
        let found = stmt
            .query_row([event_id], |r| {
                let tool_name: Option<String> = r.get(2)?;
                let payload: Value =
                    serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or(Value::Null);
                let (target, diff) = describe_call(tool_name.as_deref().unwrap_or(""), &payload);
                Ok(SourceEvent {
                    id: r.get(0)?,
                    hook: r.get(1)?,
                    tool_name,
                    created_at: r.get(3)?,
                    target,
                    diff,
                })
            })
            .optional()?;
        events.extend(found);
    }
    Ok(Some(ObservationDetail {
        observation,
        prompt_item,
        session,
        events,
        tool_calls,
    }))
}

/// The tool calls of the episode of `prompt_id` in order, or those of
/// `source_ids` for an observation without an episode.
fn tool_calls(
    store: &Store,
    prompt_id: Option<i64>,
    source_ids: &[i64],
) -> Result<Vec<EpisodeCall>> {
    const COLUMNS: &str = "SELECT id, hook, tool_name, created_at, payload FROM events";
    const RESULTS: &str = "hook IN (?1, ?2) AND tool_name IS NOT NULL";
    let (done, failed_hook) = (
        HookEvent::PostToolUse.name(),
        HookEvent::PostToolUseFailure.name(),
    );
    let read = |r: &rusqlite::Row| -> rusqlite::Result<EpisodeCall> {
        let tool_name: String = r.get(2)?;
        let payload: Value = serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or(Value::Null);
        let failed = HookEvent::PostToolUseFailure.is(&r.get::<_, String>(1)?)
            || payload["tool_response"]["interrupted"].as_bool() == Some(true);
        Ok(EpisodeCall {
            id: r.get(0)?,
            target: describe_call(&tool_name, &payload).0,
            output: call_output(&tool_name, &payload, failed),
            tool_name,
            created_at: r.get(3)?,
            failed,
        })
    };
    let conn = store.conn();
    match prompt_id {
        Some(prompt_id) => conn
            .prepare_cached(&format!(
                "{COLUMNS} WHERE prompt_id = ?3 AND {RESULTS} ORDER BY created_at, id LIMIT ?4"
            ))?
            .query_map(
                params![done, failed_hook, prompt_id, MAX_EPISODE_CALLS as i64],
                read,
            )?
            .collect::<rusqlite::Result<_>>()
            .map_err(Into::into),
        None => {
            let mut stmt =
                conn.prepare_cached(&format!("{COLUMNS} WHERE id = ?3 AND {RESULTS}"))?;
            let mut calls = Vec::new();
            for id in source_ids.iter().take(MAX_EPISODE_CALLS) {
                calls.extend(
                    stmt.query_row(params![done, failed_hook, id], read)
                        .optional()?,
                );
            }
            Ok(calls)
        }
    }
}

/// What a tool call printed or returned, as a reader would want to see it:
/// the error of a failed call, a command's stdout and stderr, the text a
/// read, search or fetch returned. Edits show their diff instead.
fn call_output(tool: &str, payload: &Value, failed: bool) -> Option<String> {
    let response = &payload["tool_response"];
    let text = |v: &Value| v.as_str().unwrap_or("").trim_end().to_string();
    let output = if failed && payload["error"].is_string() {
        text(&payload["error"])
    } else {
        match tool {
            "Edit" | "MultiEdit" | "Write" | "TodoWrite" => String::new(),
            "Bash" => [text(&response["stdout"]), text(&response["stderr"])]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            "Read" => text(&response["file"]["content"]),
            "Glob" | "Grep"
                if response["filenames"].is_array() && !response["content"].is_string() =>
            {
                response["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            // A subagent's or an MCP tool's answer: text blocks.
            _ if response["content"].is_array() => response["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|block| block["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => ["content", "result", "output", "stdout"]
                .into_iter()
                .map(|key| text(&response[key]))
                .find(|found| !found.is_empty())
                .unwrap_or_else(|| text(response)),
        }
    };
    (!output.trim().is_empty()).then(|| clip_output(&output))
}

/// `output` cut to [`MAX_OUTPUT_LINES`] lines and [`MAX_OUTPUT_CHARS`]
/// characters, saying how much was left out.
fn clip_output(output: &str) -> String {
    let total = output.lines().count();
    let mut kept: String = output
        .lines()
        .take(MAX_OUTPUT_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    let mut cut = total > MAX_OUTPUT_LINES;
    if kept.chars().count() > MAX_OUTPUT_CHARS {
        kept = kept.chars().take(MAX_OUTPUT_CHARS).collect();
        cut = true;
    }
    if cut {
        kept.push_str(&format!("\n… ({total} lines in all)"));
    }
    kept
}

/// What a tool call was about, and the diff it made if it edited a file.
fn describe_call(tool: &str, payload: &Value) -> (String, Option<String>) {
    let call = ToolCall::new(Some(tool), payload);
    let target = call.target().unwrap_or_default().to_string();
    let diff = match call.tool() {
        Tool::Edit | Tool::MultiEdit => Some(
            call.edits()
                .iter()
                .map(|edit| line_diff(edit.old, edit.new))
                .collect::<Vec<_>>()
                .join("\n@@\n"),
        ),
        Tool::Write => Some(line_diff("", call.input.content().unwrap_or_default())),
        _ => None,
    };
    (target, diff)
}

/// `old` → `new` as diff lines: the lines both share at the start and end as
/// context (` `), the rest removed (`-`) then added (`+`); at most
/// [`MAX_DIFF_LINES`] lines.
fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = if old.is_empty() {
        Vec::new()
    } else {
        old.lines().collect()
    };
    let new: Vec<&str> = new.lines().collect();
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let context = |lines: &[&str]| lines.iter().map(|l| format!(" {l}")).collect::<Vec<_>>();
    let mut out = context(&old[..head]);
    out.extend(old[head..old.len() - tail].iter().map(|l| format!("-{l}")));
    out.extend(new[head..new.len() - tail].iter().map(|l| format!("+{l}")));
    out.extend(context(&old[old.len() - tail..]));
    if out.len() > MAX_DIFF_LINES {
        let cut = out.len() - MAX_DIFF_LINES;
        out.truncate(MAX_DIFF_LINES);
        out.push(format!("… {cut} more lines"));
    }
    out.join("\n")
}

const SUMMARY_COLUMNS: &str =
    "s.id, s.prompt_id, s.request, s.investigated, s.learned, s.completed,
     s.next_steps, s.generated_by, s.created_at";

fn summary(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Option<Summary>> {
    let Some(id) = r.get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Summary {
        id,
        prompt_id: r.get(at + 1)?,
        request: r.get(at + 2)?,
        investigated: r.get(at + 3)?,
        learned: r.get(at + 4)?,
        completed: r.get(at + 5)?,
        next_steps: r.get(at + 6)?,
        generated_by: r.get(at + 7)?,
        created_at: r.get(at + 8)?,
    }))
}

fn prompt_item(r: &rusqlite::Row) -> rusqlite::Result<PromptItem> {
    Ok(PromptItem {
        id: r.get(0)?,
        session_id: r.get(1)?,
        n: r.get(2)?,
        text: r.get(3)?,
        private: r.get(4)?,
        created_at: r.get(5)?,
        summary: summary(r, 6)?,
    })
}

fn prompts_where(condition: &str) -> String {
    format!(
        "SELECT pr.id, pr.session_id, pr.n, pr.text, pr.private, pr.created_at, {SUMMARY_COLUMNS}
         FROM prompts pr LEFT JOIN summaries s ON s.prompt_id = pr.id AND s.deleted_at IS NULL
         WHERE {condition}"
    )
}

fn prompt(store: &Store, id: i64) -> Result<Option<PromptItem>> {
    Ok(store
        .conn()
        .prepare_cached(&prompts_where("pr.id = ?1"))?
        .query_row([id], prompt_item)
        .optional()?)
}

const SESSION_COLUMNS: &str = "ss.id, ss.agent_session_id, ss.agent, p.root, p.name, ss.branch,
     ss.started_at, ss.ended_at, ss.status,
     (SELECT count(*) FROM prompts WHERE session_id = ss.id),
     (SELECT count(*) FROM observations WHERE session_id = ss.id AND deleted_at IS NULL),
     (SELECT substr(text, 1, ?1) FROM prompts WHERE session_id = ss.id AND text <> '' ORDER BY n LIMIT 1)";

/// Sessions with their latest summary (as `s`), `?1` being the prompt excerpt length.
fn sessions_where(condition: &str) -> String {
    format!(
        "SELECT {SESSION_COLUMNS}, {SUMMARY_COLUMNS}
         FROM sessions ss
         LEFT JOIN projects p ON p.id = ss.project_id
         LEFT JOIN summaries s ON s.id = (SELECT id FROM summaries
             WHERE session_id = ss.id AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1)
         WHERE {condition}"
    )
}

fn session_row(r: &rusqlite::Row) -> rusqlite::Result<SessionOverview> {
    Ok(SessionOverview {
        id: r.get(0)?,
        agent_session_id: r.get(1)?,
        agent: r.get(2)?,
        project: r.get(3)?,
        project_name: r.get(4)?,
        branch: r.get(5)?,
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        status: r.get(8)?,
        prompts: r.get(9)?,
        observations: r.get(10)?,
        first_prompt: r.get(11)?,
        latest_summary: summary(r, 12)?,
    })
}

/// One session's overview, `None` if unknown.
pub fn session_overview(store: &Store, id: i64) -> Result<Option<SessionOverview>> {
    Ok(store
        .conn()
        .prepare_cached(&sessions_where("ss.id = ?2"))?
        .query_row(params![PROMPT_EXCERPT_CHARS as i64, id], session_row)
        .optional()?)
}

/// Sessions newest first (of one project when given), one page. The
/// position's `created_at` is the session's start.
pub fn sessions(
    store: &Store,
    project: Option<&str>,
    before: Option<Position>,
    limit: usize,
) -> Result<Page<SessionOverview>> {
    let limit = limit.max(1);
    let sql = format!(
        "{} ORDER BY ss.started_at DESC, ss.id DESC LIMIT ?5",
        sessions_where(
            "(?2 IS NULL OR p.root = ?2) AND (?3 IS NULL OR (ss.started_at, ss.id) < (?3, ?4))"
        )
    );
    let mut items: Vec<SessionOverview> = store
        .conn()
        .prepare_cached(&sql)?
        .query_map(
            params![
                PROMPT_EXCERPT_CHARS as i64,
                project,
                before.map(|b| b.created_at),
                before.map(|b| b.id),
                limit as i64 + 1
            ],
            session_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|s| Position {
            created_at: s.started_at,
            id: s.id,
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The overviews of the sessions among `ids` (unknown ids skipped), for
/// grouping a page of entries.
pub fn session_overviews(store: &Store, ids: &[i64]) -> Result<Vec<SessionOverview>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.extend(session_overview(store, id)?);
    }
    Ok(out)
}

/// A session with all its prompts (and their summaries), `None` if unknown.
pub fn session_detail(store: &Store, id: i64) -> Result<Option<SessionDetail>> {
    let Some(overview) = session_overview(store, id)? else {
        return Ok(None);
    };
    let prompt_list = store
        .conn()
        .prepare_cached(&format!(
            "{} ORDER BY pr.n",
            prompts_where("pr.session_id = ?1")
        ))?
        .query_map([id], prompt_item)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(SessionDetail {
        overview,
        prompt_list,
    }))
}

#[cfg(test)]
mod tests {
    use super::live::*;
    use super::*;
    use mnemo_store::{
        CompressedEpisode, HookRecord, NewObservation, NewSummary, ProjectRef, PromptText,
    };

    /// A store with one session of `titles.len()` episodes, one observation
    /// and a summary each, a minute apart; plus an Edit event for the first.
    fn seeded(titles: &[&str]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        for (i, title) in titles.iter().enumerate() {
            let at = 1_000_000 + i as i64 * 60_000;
            let prompt = HookRecord {
                project: Some(ProjectRef {
                    root: "/src/shop".into(),
                    name: "shop".into(),
                }),
                prompt: Some(PromptText {
                    text: format!("prompt about {title}"),
                    private: false,
                }),
                ..HookRecord::new("UserPromptSubmit", "claude-code", "s1", at)
            };
            store.record(&prompt, 0).unwrap();
            let edit = HookRecord {
                tool_name: Some("Edit".into()),
                tool_use_id: Some(format!("t{i}")),
                payload: serde_json::json!({"tool_input": {"file_path": "/src/shop/cart.py",
                    "old_string": "a\nb\nc", "new_string": "a\nB\nc"}})
                .to_string(),
                ..HookRecord::new("PostToolUse", "claude-code", "s1", at + 1)
            };
            store.record(&edit, 0).unwrap();
            let (prompt_id, event_id): (i64, i64) = store
                .conn()
                .query_row(
                    "SELECT (SELECT max(id) FROM prompts), (SELECT max(id) FROM events)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            store
                .save_episode(
                    &CompressedEpisode {
                        prompt_id,
                        close_reason: "stop".into(),
                        observations: vec![NewObservation {
                            kind: if i % 2 == 0 { "bugfix" } else { "feature" }.into(),
                            title: title.to_string(),
                            files_modified: vec!["/src/shop/cart.py".into()],
                            concepts: vec!["gotcha".into()],
                            source_event_ids: vec![event_id],
                            content_hash: format!("h{i}"),
                            generated_by: "rules".into(),
                            created_at: Some(at + 2),
                            ..NewObservation::default()
                        }],
                        summary: Some(NewSummary {
                            request: format!("asked for {title}"),
                            completed: "done".into(),
                            generated_by: "rules".into(),
                            ..NewSummary::default()
                        }),
                        event_ids: vec![event_id - 1, event_id],
                        ..CompressedEpisode::default()
                    },
                    at + 3,
                )
                .unwrap();
        }
        store
    }

    fn count(store: &Store, q: ListQuery) -> usize {
        let q = ListQuery { limit: 10, ..q };
        list(store, &q).unwrap().items.len()
    }

    fn titles(page: &Page<Entry>) -> Vec<&str> {
        page.items.iter().map(|e| e.title.as_str()).collect()
    }

    #[test]
    fn lists_newest_first_in_pages_with_filters() {
        let mut store = seeded(&["one", "two", "three", "four", "five"]);
        let first = list(
            &store,
            &ListQuery {
                limit: 2,
                ..ListQuery::default()
            },
        )
        .unwrap();
        assert_eq!(titles(&first), ["five", "four"]);
        let cursor = first.next.unwrap().to_cursor();
        let second = list(
            &store,
            &ListQuery {
                limit: 2,
                before: Position::from_cursor(&cursor),
                ..ListQuery::default()
            },
        )
        .unwrap();
        assert_eq!(titles(&second), ["three", "two"]);
        let last = list(
            &store,
            &ListQuery {
                limit: 2,
                before: second.next,
                ..ListQuery::default()
            },
        )
        .unwrap();
        assert_eq!(titles(&last), ["one"]);
        assert!(last.next.is_none());

        assert_eq!(
            count(
                &store,
                ListQuery {
                    types: vec!["feature".into()],
                    ..ListQuery::default()
                }
            ),
            2
        );
        assert_eq!(
            count(
                &store,
                ListQuery {
                    project: Some("/src/shop".into()),
                    file: Some("cart.py".into()),
                    concepts: vec!["gotcha".into()],
                    session: first.items[0].session_id,
                    ..ListQuery::default()
                }
            ),
            5
        );
        assert_eq!(
            count(
                &store,
                ListQuery {
                    project: Some("/src/other".into()),
                    ..ListQuery::default()
                }
            ),
            0
        );
        assert_eq!(
            count(
                &store,
                ListQuery {
                    since: Some(1_000_000 + 60_000),
                    until: Some(1_000_000 + 3 * 60_000),
                    ..ListQuery::default()
                }
            ),
            2,
            "bounds are inclusive of what lies between"
        );
        store.forget(&[first.items[0].id], 1).unwrap();
        assert_eq!(
            count(&store, ListQuery::default()),
            4,
            "forgotten are hidden"
        );
        assert_eq!(Position::from_cursor("x.1"), None);
    }

    #[test]
    fn detail_has_prompt_session_and_diff() {
        let store = seeded(&["Fixed the cart total"]);
        let id = list(&store, &ListQuery::default()).unwrap().items[0].id;
        let detail = observation_detail(&store, id).unwrap().unwrap();
        assert_eq!(detail.observation.title, "Fixed the cart total");
        let prompt = detail.prompt_item.unwrap();
        assert_eq!(prompt.text, "prompt about Fixed the cart total");
        assert_eq!(prompt.summary.unwrap().completed, "done");
        let session = detail.session.unwrap();
        assert_eq!(session.project_name.as_deref(), Some("shop"));
        assert_eq!(session.observations, 1);
        assert_eq!(detail.events.len(), 1);
        assert_eq!(detail.events[0].target, "/src/shop/cart.py");
        assert_eq!(detail.events[0].diff.as_deref(), Some(" a\n-b\n+B\n c"));
        assert!(observation_detail(&store, 999).unwrap().is_none());
    }

    #[test]
    fn detail_lists_every_tool_call_of_the_episode_with_failures_and_output() {
        let mut store = seeded(&["Fixed the cart total"]);
        let prompt_id: i64 = store
            .conn()
            .query_row("SELECT max(id) FROM prompts", [], |r| r.get(0))
            .unwrap();
        let calls = [
            (
                "PostToolUse",
                "Read",
                serde_json::json!({"tool_input": {"file_path": "/src/shop/cart.py"},
                "tool_response": {"type": "text", "file": {"filePath": "/src/shop/cart.py", "content": "def total():\n    pass"}}}),
            ),
            (
                "PostToolUse",
                "Grep",
                serde_json::json!({"tool_input": {"pattern": "total"},
                "tool_response": {"mode": "files_with_matches", "filenames": ["cart.py", "tax.py"], "numFiles": 2}}),
            ),
            (
                "PostToolUseFailure",
                "Bash",
                serde_json::json!({"tool_input": {"command": "pytest -q"},
                "error": "Exit code 1\nE   AssertionError: 9 != 10"}),
            ),
            (
                "PostToolUse",
                "WebFetch",
                serde_json::json!({"tool_input": {"url": "https://docs.python.org/3/library/decimal.html"},
                "tool_response": {"code": 200, "result": "Decimal rounding modes"}}),
            ),
            (
                "PreToolUse",
                "Bash",
                serde_json::json!({"tool_input": {"command": "not a result"}}),
            ),
        ];
        for (n, (hook, tool, payload)) in calls.into_iter().enumerate() {
            let record = HookRecord {
                tool_name: Some(tool.into()),
                tool_use_id: Some(format!("call{n}")),
                payload: payload.to_string(),
                ..HookRecord::new(hook, "claude-code", "s1", 1_000_010 + n as i64)
            };
            store.record(&record, 0).unwrap();
        }
        store
            .conn()
            .execute(
                "UPDATE events SET prompt_id = ?1 WHERE tool_use_id LIKE 'call%'",
                [prompt_id],
            )
            .unwrap();
        let id = list(&store, &ListQuery::default()).unwrap().items[0].id;
        let detail = observation_detail(&store, id).unwrap().unwrap();
        let tools: Vec<&str> = detail
            .tool_calls
            .iter()
            .map(|c| c.tool_name.as_str())
            .collect();
        assert_eq!(tools, ["Edit", "Read", "Grep", "Bash", "WebFetch"]);
        let failed: Vec<&EpisodeCall> = detail.tool_calls.iter().filter(|c| c.failed).collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].target, "pytest -q");
        assert_eq!(
            failed[0].output.as_deref(),
            Some("Exit code 1\nE   AssertionError: 9 != 10")
        );
        let output = |tool: &str| {
            detail
                .tool_calls
                .iter()
                .find(|c| c.tool_name == tool)
                .unwrap()
                .output
                .clone()
        };
        assert_eq!(output("Edit"), None, "an edit shows its diff instead");
        assert_eq!(output("Read").as_deref(), Some("def total():\n    pass"));
        assert_eq!(output("Grep").as_deref(), Some("cart.py\ntax.py"));
        assert_eq!(
            output("WebFetch").as_deref(),
            Some("Decimal rounding modes")
        );
    }

    #[test]
    fn long_output_is_cut_and_says_so() {
        let long: Vec<String> = (0..500).map(|n| format!("line {n}")).collect();
        let clipped = clip_output(&long.join("\n"));
        assert_eq!(clipped.lines().count(), MAX_OUTPUT_LINES + 1);
        assert!(clipped.ends_with("… (500 lines in all)"), "{clipped}");
        assert_eq!(clip_output("short\nenough"), "short\nenough");
    }

    #[test]
    fn sessions_projects_and_changes() {
        let mut store = seeded(&["one", "two"]);
        let page = sessions(&store, Some("/src/shop"), None, 10).unwrap();
        assert_eq!(page.items.len(), 1);
        let overview = &page.items[0];
        assert_eq!(overview.prompts, 2);
        assert_eq!(overview.first_prompt.as_deref(), Some("prompt about one"));
        assert_eq!(
            overview.latest_summary.as_ref().unwrap().request,
            "asked for two"
        );
        let detail = session_detail(&store, overview.id).unwrap().unwrap();
        assert_eq!(detail.prompt_list.len(), 2);
        assert!(
            sessions(&store, Some("/elsewhere"), None, 10)
                .unwrap()
                .items
                .is_empty()
        );
        let projects = crate::projects::projects(&store).unwrap();
        assert_eq!(projects.len(), 1);
        assert_eq!((projects[0].observations, projects[0].sessions), (2, 1));

        let mark = watermark(&store).unwrap();
        let (nothing, same) = changes_since(&store, mark, 0).unwrap();
        assert_eq!(nothing, Changes::default());
        assert_eq!(same, mark);
        let note = NewObservation {
            kind: "decision".into(),
            title: "Use keyset pagination".into(),
            content_hash: "note".into(),
            generated_by: "user".into(),
            ..NewObservation::default()
        };
        let id = store.remember(None, &note, 5).unwrap().unwrap();
        let (changes, next) = changes_since(&store, mark, 0).unwrap();
        assert_eq!(changes.observations.len(), 1);
        assert_eq!(changes.observations[0].id, id);
        assert_eq!(next.observation_id, id);
        assert_eq!(processing(&store).unwrap(), Processing::default());
    }

    #[test]
    fn changes_come_in_bounded_batches() {
        let mut store = Store::open_in_memory().unwrap();
        let mark = watermark(&store).unwrap();
        for i in 0..=MAX_CHANGES {
            let note = NewObservation {
                kind: "discovery".into(),
                title: format!("note {i}"),
                content_hash: format!("n{i}"),
                generated_by: "user".into(),
                ..NewObservation::default()
            };
            store.remember(None, &note, i as i64).unwrap();
        }
        let (first, next) = changes_since(&store, mark, 0).unwrap();
        assert_eq!((first.observations.len(), first.more), (MAX_CHANGES, true));
        let (rest, _) = changes_since(&store, next, 0).unwrap();
        assert_eq!((rest.observations.len(), rest.more), (1, false));
    }

    #[test]
    fn diffs_keep_shared_lines_as_context() {
        assert_eq!(line_diff("", "x\ny"), "+x\n+y");
        assert_eq!(line_diff("a\nb", "a\nb\nc"), " a\n b\n+c");
        assert_eq!(line_diff("a\nb", "b"), "-a\n b");
        let long = "x\n".repeat(MAX_DIFF_LINES + 5);
        assert!(line_diff("", &long).ends_with("… 5 more lines"));
    }
}
