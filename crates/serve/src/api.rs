//! The JSON API under `/api` (reference: `docs/API.md`) and the live
//! stream's endpoint. Each handler reads its parameters, runs one blocking
//! unit of work on a store connection ([`Db::run`](crate::db::Db::run)) and
//! answers JSON; errors are [`ApiError`]s: `{"error": "…"}` with a fitting
//! status.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use mnemo_app::memory::{self, Id, ScopeRequest, SearchRequest, TimelineRequest};
use mnemo_retrieve::projects;
use mnemo_retrieve::search::query;
use mnemo_retrieve::viewer::{self, ListQuery, Position};
use mnemo_store::OBSERVATION_TYPES;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Default and largest page size.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// Largest timeline depth on each side.
const MAX_DEPTH: usize = 50;

/// A JSON answer or an error.
type Reply = Result<Response, ApiError>;

fn ok(value: impl serde::Serialize) -> Reply {
    Ok(Json(value).into_response())
}

/// `value` as JSON, or 404 saying what is `missing`.
fn found(value: Option<impl serde::Serialize>, missing: impl FnOnce() -> String) -> Reply {
    match value {
        Some(value) => ok(value),
        None => Err(ApiError::not_found(missing())),
    }
}

/// Filters shared by the list and search: `project`, `type` and `concept`
/// (comma-separated, any of), `file`, `author` (a teammate whose memories
/// were pulled), `since` and `until` (Unix ms, inclusive).
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    project: Option<String>,
    author: Option<String>,
    #[serde(rename = "type")]
    types: Option<String>,
    concept: Option<String>,
    file: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
}

/// Checked filters.
struct Filters {
    project: Option<String>,
    author: Option<String>,
    types: Vec<String>,
    concepts: Vec<String>,
    file: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
}

impl FilterParams {
    fn check(self) -> Result<Filters, ApiError> {
        let types = csv(self.types.as_deref());
        if let Some(bad) = types
            .iter()
            .find(|t| !OBSERVATION_TYPES.contains(&t.as_str()))
        {
            return Err(ApiError::bad_request(format!(
                "unknown type {bad:?} (types: {})",
                OBSERVATION_TYPES.join(", ")
            )));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(ApiError::bad_request("since is after until"));
        }
        Ok(Filters {
            project: non_empty(self.project),
            author: non_empty(self.author),
            types,
            concepts: csv(self.concept.as_deref()),
            file: non_empty(self.file),
            since: self.since,
            until: self.until,
        })
    }
}

fn csv(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A page cursor (`before`), if one was given.
fn cursor(before: Option<&str>) -> Result<Option<Position>, ApiError> {
    match before.filter(|b| !b.is_empty()) {
        Some(cursor) => Position::from_cursor(cursor)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("bad cursor {cursor:?}"))),
        None => Ok(None),
    }
}

fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// `POST /api/session`: the bearer token becomes a session cookie.
pub async fn session(State(state): State<AppState>) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.guard.session_cookie())],
    )
        .into_response()
}

/// `GET /api/observations` parameters besides the filters: `session`,
/// `before` (a cursor from `next`) and `limit`. (Each parameter struct reads
/// the whole query string; serde's `flatten` would lose number types.)
#[derive(Debug, Deserialize)]
pub struct ListParams {
    session: Option<i64>,
    before: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/observations`: newest first, one page, with the overviews of
/// the sessions the page touches (for grouping).
pub async fn list(
    State(state): State<AppState>,
    filters: Result<Query<FilterParams>, QueryRejection>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Reply {
    let (Query(filters), Query(params)) = (filters?, params?);
    let before = cursor(params.before.as_deref())?;
    let f = filters.check()?;
    let query = ListQuery {
        project: f.project,
        types: f.types,
        concepts: f.concepts,
        file: f.file,
        session: params.session,
        author: f.author,
        since: f.since,
        until: f.until,
        before,
        limit: page_size(params.limit),
    };
    state
        .db
        .run(move |store| {
            let page = viewer::list(store, &query)?;
            let mut session_ids: Vec<i64> =
                page.items.iter().filter_map(|e| e.session_id).collect();
            session_ids.sort_unstable();
            session_ids.dedup();
            let sessions: BTreeMap<String, _> = viewer::session_overviews(store, &session_ids)?
                .into_iter()
                .map(|s| (s.id.to_string(), s))
                .collect();
            ok(json!({
                "items": page.items,
                "next": page.next.map(Position::to_cursor),
                "sessions": sessions,
            }))
        })
        .await
}

/// `GET /api/observations/{id}`: one observation in full, with its prompt,
/// session and source tool calls (and their diffs).
pub async fn observation(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Reply {
    let Path(id) = id?;
    state
        .db
        .run(move |store| {
            found(viewer::observation_detail(store, id)?, || {
                format!("no observation #{id}")
            })
        })
        .await
}

/// `DELETE /api/observations/{id}`: forget (a soft delete; undo with restore).
pub async fn forget(State(state): State<AppState>, id: Result<Path<i64>, PathRejection>) -> Reply {
    let Path(id) = id?;
    let parts = Arc::clone(&state.parts);
    let changed = state
        .db
        .run(move |store| Ok(memory::forget(&parts, store, &[Id::Observation(id)])?.changed))
        .await?;
    state.live.announce("forgotten", json!({ "ids": changed }));
    ok(json!({ "forgotten": changed }))
}

/// `POST /api/observations/{id}/restore`: undo a forget.
pub async fn restore(State(state): State<AppState>, id: Result<Path<i64>, PathRejection>) -> Reply {
    let Path(id) = id?;
    let changed = state
        .db
        .run(move |store| Ok(memory::restore(store, &[Id::Observation(id)])?.changed))
        .await?;
    state.live.announce("restored", json!({ "ids": changed }));
    ok(json!({ "restored": changed }))
}

/// `GET /api/search` parameters besides the filters: `q`, `limit`,
/// `offset`, `all_projects` (every project; so is a search without
/// `project`, as the API has no current directory).
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    offset: Option<usize>,
    #[serde(default)]
    all_projects: bool,
}

/// `GET /api/search`: the CLI's search, best first, the words it looked for
/// (to highlight) and how many more results lie past the page.
pub async fn search(
    State(state): State<AppState>,
    filters: Result<Query<FilterParams>, QueryRejection>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Reply {
    let (Query(filters), Query(params)) = (filters?, params?);
    let f = filters.check()?;
    let terms = query::terms(&params.q);
    let scope = ScopeRequest {
        project: f.project,
        all_projects: params.all_projects,
        here: None,
    };
    let parts = Arc::clone(&state.parts);
    state
        .db
        .run(move |store| {
            let request = SearchRequest {
                types: f.types,
                concepts: f.concepts,
                files: f.file.into_iter().collect(),
                author: f.author,
                since: f.since,
                until: f.until,
                offset: params.offset.unwrap_or(0),
                ..SearchRequest::new(
                    params.q,
                    memory::scope::resolve(store, &scope)?,
                    page_size(params.limit),
                )
            };
            let found = memory::search(&parts, store, &request)?;
            ok(json!({ "items": found.hits, "terms": terms, "more": found.more }))
        })
        .await
}

/// `GET /api/timeline` parameters.
#[derive(Debug, Deserialize)]
pub struct TimelineParams {
    around: Option<String>,
    project: Option<String>,
    before: Option<usize>,
    after: Option<usize>,
}

/// `GET /api/timeline`: observations of one project in time order around
/// one (`around`), or the newest.
pub async fn timeline(
    State(state): State<AppState>,
    params: Result<Query<TimelineParams>, QueryRejection>,
) -> Reply {
    let Query(p) = params?;
    let before = p.before.unwrap_or(5).min(MAX_DEPTH);
    let after = p.after.unwrap_or(5).min(MAX_DEPTH);
    let around = non_empty(p.around).as_deref().map(Id::parse).transpose()?;
    let scope = ScopeRequest {
        project: non_empty(p.project),
        ..ScopeRequest::default()
    };
    let parts = Arc::clone(&state.parts);
    state
        .db
        .run(move |store| {
            let request = TimelineRequest {
                around,
                query: None,
                scope: memory::scope::resolve(store, &scope)?,
                before,
                after,
            };
            let timeline = memory::timeline(&parts, store, &request)?;
            ok(json!({ "items": timeline.hits, "around": timeline.anchor }))
        })
        .await
}

/// `GET /api/sessions` parameters.
#[derive(Debug, Deserialize)]
pub struct SessionsParams {
    project: Option<String>,
    before: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/sessions`: sessions newest first, with their first prompt
/// and latest summary.
pub async fn sessions(
    State(state): State<AppState>,
    params: Result<Query<SessionsParams>, QueryRejection>,
) -> Reply {
    let Query(p) = params?;
    let before = cursor(p.before.as_deref())?;
    let project = non_empty(p.project);
    let limit = page_size(p.limit);
    state
        .db
        .run(move |store| {
            let page = viewer::sessions(store, project.as_deref(), before, limit)?;
            ok(json!({ "items": page.items, "next": page.next.map(Position::to_cursor) }))
        })
        .await
}

/// `GET /api/sessions/{id}`: a session with every prompt and its summary.
pub async fn session_detail(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> Reply {
    let Path(id) = id?;
    state
        .db
        .run(move |store| {
            found(viewer::session_detail(store, id)?, || {
                format!("no session {id}")
            })
        })
        .await
}

/// `GET /api/authors`: the teammates whose memories were pulled, by name.
pub async fn authors(State(state): State<AppState>) -> Reply {
    state
        .db
        .run(|store| ok(json!({ "items": projects::authors(store)? })))
        .await
}

/// `GET /api/projects`: every project, the most recently active first.
pub async fn projects(State(state): State<AppState>) -> Reply {
    state
        .db
        .run(|store| ok(json!({ "items": projects::projects(store)? })))
        .await
}

/// `GET /api/stats`: counts, storage size, LLM spend and queue depth.
pub async fn stats(State(state): State<AppState>) -> Reply {
    let parts = Arc::clone(&state.parts);
    state
        .db
        .run(move |store| {
            let status = mnemo_app::status::status(&parts, store)?;
            let mut value = serde_json::to_value(status.stats)
                .map_err(|e| ApiError::internal(format!("cannot render stats: {e}")))?;
            value["spooled"] = status.spooled.into();
            value["llm_backend"] = status.llm_backend.into();
            value["llm_daily_token_budget"] = status.llm_daily_token_budget.into();
            ok(value)
        })
        .await
}

/// `GET /api/context` parameters.
#[derive(Debug, Deserialize)]
pub struct ContextParams {
    project: Option<String>,
}

/// `GET /api/context`: exactly what the next SessionStart in `project`
/// (default: the most recently active one) would inject, and its tokens.
pub async fn context(
    State(state): State<AppState>,
    params: Result<Query<ContextParams>, QueryRejection>,
) -> Reply {
    let Query(p) = params?;
    let parts = Arc::clone(&state.parts);
    let scope = ScopeRequest {
        project: non_empty(p.project),
        ..ScopeRequest::default()
    };
    state
        .db
        .run(move |store| {
            let preview = memory::context_preview(&parts, store, &scope)?;
            ok(json!({
                "project": preview.project.root,
                "name": preview.project.name,
                "enabled": preview.enabled,
                "max_tokens": preview.max_tokens,
                "tokens": preview.tokens,
                "text": preview.text,
            }))
        })
        .await
}

/// `POST /api/remember` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RememberBody {
    text: String,
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// A project root.
    project: Option<String>,
}

/// `POST /api/remember`: keep a note (redacted like everything else).
pub async fn remember(
    State(state): State<AppState>,
    body: Result<Json<RememberBody>, JsonRejection>,
) -> Reply {
    let Json(body) = body?;
    let note = memory::Note {
        text: body.text,
        title: body.title,
        kind: body.kind,
        scope: ScopeRequest {
            project: body.project,
            ..ScopeRequest::default()
        },
    };
    let parts = Arc::clone(&state.parts);
    let remembered = state
        .db
        .run(move |store| Ok(memory::remember(&parts, store, &note)?))
        .await?;
    let id = remembered.id;
    let status = if id.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "id": id,
            "stored": id.is_some(),
            "project": remembered.project.map(|p| p.root),
            "removed": remembered.removed,
        })),
    )
        .into_response())
}

/// Anything else under `/api`.
pub async fn no_such_route() -> ApiError {
    ApiError::not_found("no such API route (see docs/API.md)")
}

/// `GET /api/stream`: the live stream (Server-Sent Events).
pub async fn stream(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let processing = state
        .db
        .run(|store| Ok(viewer::live::processing(store)?))
        .await?;
    Ok(Sse::new(state.live.subscribe(processing)).keep_alive(KeepAlive::default()))
}
