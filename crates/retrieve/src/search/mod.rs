//! Finding memories by what a query says: full text (BM25 over FTS5,
//! `lexical.rs`) fused with vector similarity ([`vectors`]), weighed by the
//! passages that hold the query's words (`passage.rs`), the days it names and
//! the order it asks about (`temporal.rs`). [`Searcher`] keeps the vectors of a
//! long-lived process in memory.

pub(crate) mod filter;
mod lexical;
pub(crate) mod passage;
pub mod query;
pub(crate) mod temporal;
pub mod vectors;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mnemo_embed::{Embedder, StaticEmbedder};
use mnemo_store::{Result, Store};
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use crate::fetch::{Observation, get_observations};
use crate::time;
use filter::Filter;
use vectors::VectorIndex;

/// What to search for and where.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free text; empty means "most recent" under the filters.
    pub text: String,
    /// Project root (exact).
    pub project: Option<String>,
    /// Observation types (any of).
    pub types: Vec<String>,
    /// Concepts (any of).
    pub concepts: Vec<String>,
    /// A path (or its tail, e.g. `cart.py`) read or modified.
    pub file: Option<String>,
    /// Only memories pulled from the team that this teammate wrote (any case).
    pub author: Option<String>,
    /// Inclusive bounds, Unix ms.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// Most results.
    pub limit: usize,
    /// Results skipped first (paging).
    pub offset: usize,
}

/// One search result: enough to decide whether to fetch the full record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
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
    /// When it was made, Unix ms.
    pub created_at: i64,
    /// Higher is better.
    pub score: f64,
    /// Approximate tokens to fetch the full record.
    pub tokens: usize,
    /// The caller's own reference, for imported memories.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Who wrote it, for a memory pulled from the team; `None` when it was
    /// written on this machine.
    pub author: Option<String>,
}

/// How full-text and vector rankings are combined: full-text scores are
/// divided by the best one and vector similarities min-max normalised over
/// the best `depth` candidates, added with their weights, then recent
/// memories get a mild boost. Score fusion beat
/// reciprocal rank fusion on the LoCoMo development set (0.650 against 0.621
/// R@5 at their best); `cargo bench -p mnemo --bench locomo -- --grid`
/// prints the grid the defaults come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// Weight of the full-text (BM25) side.
    pub lexical_weight: f64,
    /// Weight of the vector (cosine) side.
    pub vector_weight: f64,
    /// How much the vector side's weight grows with the share of the
    /// query's weight that no memory in scope holds (1: doubled when full
    /// text finds none of it): a question in other words than the memories
    /// can only be answered by meaning.
    pub unseen_vector_boost: f64,
    /// Candidates ranked on each side (at least offset + limit).
    pub depth: usize,
    /// Vector matches less similar than this are left out: below it, the
    /// built-in embedder's neighbours are mostly unrelated text.
    pub min_similarity: f32,
    /// Extra weight for a memory made just now, halving every
    /// `recency_half_life_days`.
    pub recency_weight: f64,
    /// Days after which the recency boost is half.
    pub recency_half_life_days: f64,
    /// Weight of the share of the query's distinctive words a memory holds
    /// (0 leaves passages out of ranking).
    pub passage_weight: f64,
    /// Weight of the share its best passage holds.
    pub best_passage_weight: f64,
    /// Share of a question's score passed to the memory that answers it
    /// (see `weigh_answers`; 0 leaves answers out of ranking).
    pub answer_weight: f64,
    /// Added to memories made on the days the query names ("on 25 May,
    /// 2022", "in August 2023") that hold one of its words.
    pub date_weight: f64,
}

impl Fusion {
    /// The tuned default.
    pub const DEFAULT: Fusion = Fusion {
        lexical_weight: 1.0,
        vector_weight: 0.75,
        unseen_vector_boost: 1.0,
        depth: 50,
        min_similarity: 0.3,
        recency_weight: 0.1,
        recency_half_life_days: 30.0,
        passage_weight: 2.0,
        best_passage_weight: 1.0,
        answer_weight: 0.9,
        date_weight: 1.0,
    };
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::DEFAULT
    }
}

/// Search observations with full text and the built-in embedder, fused.
/// Never fails on odd input: words are extracted by [`query::terms`] and
/// quoted, so no user text is FTS5 or SQL syntax.
pub fn search(store: &Store, q: &SearchQuery) -> Result<Vec<Hit>> {
    search_with(
        store,
        q,
        Some(StaticEmbedder::builtin()),
        &Fusion::DEFAULT,
        time::now_ms(),
    )
}

/// [`search`] with a chosen embedder (`None`: full text only), fusion and
/// clock. Vectors count only when they were made by the same embedder (the
/// model id); if the query cannot be embedded, full text alone answers.
pub fn search_with(
    store: &Store,
    q: &SearchQuery,
    embedder: Option<&dyn Embedder>,
    fusion: &Fusion,
    now: i64,
) -> Result<Vec<Hit>> {
    let vectors = embedder.map(|e| (e, None));
    in_time_order(store, q, vectors, fusion, now)
}

/// Search for long-lived processes (the MCP server, the viewer): the
/// configured embedder, with its vectors kept in memory and brought up to
/// date before each search.
pub struct Searcher {
    embedder: Option<Box<dyn Embedder>>,
    index: std::sync::Mutex<VectorIndex>,
    /// Set while a background thread reads the vectors in (see
    /// [`Searcher::search_shared`]); searches meanwhile read them from SQLite.
    loading: AtomicBool,
    /// Set once the vectors have been read in (or a load started).
    started: AtomicBool,
}

impl Searcher {
    /// A searcher with `embedder` (`None`: full text only).
    pub fn new(embedder: Option<Box<dyn Embedder>>) -> Searcher {
        Searcher {
            embedder,
            index: std::sync::Mutex::new(VectorIndex::default()),
            loading: AtomicBool::new(false),
            started: AtomicBool::new(false),
        }
    }

    /// The embedder, to embed what the process writes.
    pub fn embedder(&self) -> Option<&dyn Embedder> {
        self.embedder.as_deref()
    }

    /// [`search`], with the in-memory vectors (read in now if they are not
    /// yet, and brought up to date).
    pub fn search(&self, store: &Store, q: &SearchQuery, now: i64) -> Result<Vec<Hit>> {
        let Some(embedder) = self.embedder.as_deref() else {
            return in_time_order(store, q, None, &Fusion::DEFAULT, now);
        };
        if self.loading.load(Ordering::Acquire) {
            return in_time_order(store, q, Some((embedder, None)), &Fusion::DEFAULT, now);
        }
        self.started.store(true, Ordering::Release);
        // A panic elsewhere while holding the lock leaves a usable index.
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index.refresh(store.conn(), embedder)?;
        in_time_order(
            store,
            q,
            Some((embedder, Some(&index))),
            &Fusion::DEFAULT,
            now,
        )
    }

    /// [`Searcher::search`] that never waits for the vectors to be read in:
    /// the first call starts reading them on a background thread (with a
    /// connection from `open`), and until that is done searches read them
    /// from SQLite. At a million memories that is a fifth of a second for
    /// the first searches instead of two, and a process that never searches
    /// never holds the vectors.
    pub fn search_shared(
        self: &Arc<Self>,
        store: &Store,
        q: &SearchQuery,
        now: i64,
        open: impl FnOnce() -> Result<Store> + Send + 'static,
    ) -> Result<Vec<Hit>> {
        if self.embedder.is_some() && !self.started.swap(true, Ordering::AcqRel) {
            self.loading.store(true, Ordering::Release);
            let searcher = Arc::clone(self);
            let load = move || {
                let loaded = open().and_then(|store| {
                    let mut index = searcher.index.lock().unwrap_or_else(|e| e.into_inner());
                    match searcher.embedder.as_deref() {
                        Some(embedder) => Ok(index.refresh(store.conn(), embedder)?),
                        None => Ok(()),
                    }
                });
                if let Err(e) = loaded {
                    tracing::warn!("cannot read the vectors into memory: {e}");
                }
                searcher.loading.store(false, Ordering::Release);
            };
            if std::thread::Builder::new()
                .name("mnemo-vectors".into())
                .spawn(load)
                .is_err()
            {
                self.loading.store(false, Ordering::Release);
            }
        }
        self.search(store, q, now)
    }
}

/// [`hybrid`], except that a question about order ("what did we do in the
/// session after X?") ranks the work next to X first ([`temporal`]).
fn in_time_order(
    store: &Store,
    q: &SearchQuery,
    vectors: Option<(&dyn Embedder, Option<&VectorIndex>)>,
    fusion: &Fusion,
    now: i64,
) -> Result<Vec<Hit>> {
    let order = temporal::relative(&q.text).filter(|_| temporal::plain_query(q));
    let Some(order) = order else {
        return hybrid(store, q, vectors, fusion, now, None);
    };
    let search = |q: &SearchQuery| hybrid(store, q, vectors, fusion, now, None);
    temporal::around_anchor(store, q, &order, search)
}

/// Full text fused with vectors from `vectors` (the embedder, and the
/// in-memory index or `None` to scan the table).
fn hybrid(
    store: &Store,
    q: &SearchQuery,
    vectors: Option<(&dyn Embedder, Option<&VectorIndex>)>,
    fusion: &Fusion,
    now: i64,
    weights: Option<&[f64]>,
) -> Result<Vec<Hit>> {
    let conn = store.conn();
    let project_id = match &q.project {
        None => None,
        Some(root) => match project_id(conn, root)? {
            Some(id) => Some(id),
            None => return Ok(Vec::new()),
        },
    };
    let filter = Filter::new(q, project_id);
    let limit = q.limit.max(1);
    let terms = query::terms(&q.text);
    if terms.is_empty() {
        return most_recent(conn, &filter, limit, q.offset);
    }
    // Both come from the user: `--offset` near `usize::MAX` must not overflow.
    let want = q.offset.saturating_add(limit);
    let depth = fusion.depth.max(want);
    let lexical::Ranked {
        found: lexical,
        unseen_share,
    } = lexical::rank(conn, &terms, &filter, depth)?;
    let semantic = match vectors {
        Some((embedder, index)) => similar(
            conn,
            (embedder, index),
            &q.text,
            &filter,
            depth,
            fusion.min_similarity,
        )?,
        None => Vec::new(),
    };
    let mut fused: HashMap<i64, f64> = HashMap::new();
    for (id, score) in share_of_best(&lexical) {
        *fused.entry(id).or_default() += fusion.lexical_weight * score;
    }
    let vector_weight = fusion.vector_weight * (1.0 + fusion.unseen_vector_boost * unseen_share);
    for (id, score) in normalised(&semantic) {
        *fused.entry(id).or_default() += vector_weight * score;
    }
    if let Some((from, to)) = query::named_days(&q.text).filter(|_| fusion.date_weight > 0.0) {
        // The query's own bounds still hold.
        let on_those_days = Filter {
            since: Some(filter.since.map_or(from, |s| s.max(from))),
            until: Some(filter.until.map_or(to, |u| u.min(to))),
            ..filter.clone()
        };
        for (id, _) in lexical::rank(conn, &terms, &on_those_days, depth)?.found {
            *fused.entry(id).or_default() += fusion.date_weight;
        }
    }
    let weigh_passage = fusion.passage_weight > 0.0 || fusion.best_passage_weight > 0.0;
    if weigh_passage || fusion.answer_weight > 0.0 {
        // Read once for both steps: raising the best `depth` leaves them the
        // best `depth`, so the answer step sees the same memories.
        let best = get_observations(store, &best_ids(&fused, depth))?;
        if weigh_passage {
            weigh_passages(store, &q.text, weights, &filter, &best, &mut fused, fusion)?;
        }
        if fusion.answer_weight > 0.0 {
            let terms = query::content_terms(&q.text);
            weigh_answers(
                conn,
                &filter,
                &terms,
                &best,
                &mut fused,
                fusion.answer_weight,
            )?;
        }
    }
    // Memories forgotten since they were indexed are left out.
    let mut hits = hits_by_id(store, fused)?;
    for h in &mut hits {
        let age_days = (now - h.created_at).max(0) as f64 / 86_400_000.0;
        h.score *=
            1.0 + fusion.recency_weight * 0.5f64.powf(age_days / fusion.recency_half_life_days);
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
    Ok(hits.into_iter().skip(q.offset).take(limit).collect())
}

/// How distinctive each of `terms` is among the memories of the project at
/// `root` (see [`lexical::term_weights`]); `None` when no memory of that
/// project exists.
pub(crate) fn term_weights(
    store: &Store,
    root: &str,
    terms: &[String],
) -> Result<Option<Vec<f64>>> {
    let conn = store.conn();
    let Some(project_id) = project_id(conn, root)? else {
        return Ok(None);
    };
    let query = SearchQuery {
        project: Some(root.to_string()),
        ..SearchQuery::default()
    };
    Ok(Some(lexical::term_weights(
        conn,
        terms,
        &Filter::new(&query, Some(project_id)),
    )?))
}

/// [`search_with`] for a query whose [`query::content_terms`] were already
/// weighed in the project's scope ([`term_weights`]), so passage ranking
/// does not weigh them again.
pub(crate) fn search_weighed(
    store: &Store,
    q: &SearchQuery,
    embedder: Option<&dyn Embedder>,
    now: i64,
    weights: &[f64],
) -> Result<Vec<Hit>> {
    let vectors = embedder.map(|e| (e, None));
    hybrid(store, q, vectors, &Fusion::DEFAULT, now, Some(weights))
}

/// Add to the scores in `fused` of the `best` memories how well each covers
/// the query's distinctive words: anywhere in it, and in its best passage
/// (one sentence or fact holding the question's words is the likeliest
/// answer). `weights`: those of `text`'s content terms in `filter`'s scope,
/// when the caller has them already.
fn weigh_passages(
    store: &Store,
    text: &str,
    weights: Option<&[f64]>,
    filter: &Filter,
    best: &[Observation],
    fused: &mut HashMap<i64, f64>,
    fusion: &Fusion,
) -> Result<()> {
    let terms = query::content_terms(text);
    let weighed;
    let weights = match weights {
        Some(known) => known,
        None => {
            weighed = lexical::term_weights(store.conn(), &terms, filter)?;
            &weighed
        }
    };
    let query = passage::WeightedQuery {
        terms: &terms,
        weights,
    };
    for memory in best {
        let found = passage::evidence(memory, &query);
        if let Some(score) = fused.get_mut(&memory.id) {
            *score +=
                fusion.passage_weight * found.coverage + fusion.best_passage_weight * found.best();
        }
    }
    Ok(())
}

/// The ids of the `depth` best of `fused`, best first.
fn best_ids(fused: &HashMap<i64, f64>, depth: usize) -> Vec<i64> {
    let mut best: Vec<(i64, f64)> = fused.iter().map(|(&id, &s)| (id, s)).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    best.truncate(depth);
    best.into_iter().map(|(id, _)| id).collect()
}

/// A reply comes at most this long after the question it answers.
const ANSWER_WITHIN_MS: i64 = 3_600_000;

/// Pass `weight` times the score in `fused` of each of the `best` memories
/// that ends by asking about the search (its last sentence is a question
/// holding one of the search's `terms`) to the memory that comes right after
/// it in the same project and session, within [`ANSWER_WITHIN_MS`]. A
/// conversation kept one message per memory answers a question in the next
/// message, which often shares none of its words ("Do you have pets?" – "We
/// got another cat named Bailey"): the question matches the search, the
/// answer is what it is looking for. A question about something else ("Want
/// me to benchmark it?" after a fix) passes nothing. Scores are read before
/// any is raised, so a chain of questions does not compound.
fn weigh_answers(
    conn: &rusqlite::Connection,
    filter: &Filter,
    terms: &[String],
    best: &[Observation],
    fused: &mut HashMap<i64, f64>,
    weight: f64,
) -> Result<()> {
    let mut next = conn.prepare_cached(
        "SELECT id FROM observations
         WHERE project_id IS (SELECT id FROM projects WHERE root = ?1)
           AND session_id IS ?2 AND deleted_at IS NULL
           AND created_at BETWEEN ?3 AND ?3 + ?4 AND (created_at, id) > (?3, ?5)
         ORDER BY created_at, id LIMIT 1",
    )?;
    let mut raises = Vec::new();
    for memory in best {
        let text = if memory.narrative.is_empty() {
            &memory.title
        } else {
            &memory.narrative
        };
        if !asks_about(text, terms) {
            continue;
        }
        let answer: Option<i64> = next
            .query_row(
                rusqlite::params![
                    memory.project,
                    memory.session_id,
                    memory.created_at,
                    ANSWER_WITHIN_MS,
                    memory.id
                ],
                |r| r.get(0),
            )
            .optional()?;
        let Some(answer) = answer else { continue };
        if filter.admits(conn, answer)? {
            raises.push((answer, weight * fused[&memory.id]));
        }
    }
    for (answer, raise) in raises {
        *fused.entry(answer).or_default() += raise;
    }
    Ok(())
}

/// Whether `text` ends with a question (closing quotes and brackets aside)
/// that holds one of `terms` in some form.
fn asks_about(text: &str, terms: &[String]) -> bool {
    let text = text
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '”' | '’'));
    let Some(text) = text.strip_suffix('?') else {
        return false;
    };
    let question = text
        .rfind(['.', '!', '?', '\n'])
        .map_or(text, |end| &text[end + 1..]);
    question
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| {
            let word = word.to_lowercase();
            terms.iter().any(|t| passage::same_word(t, &word))
        })
}

/// Observations passing `filter` whose vectors are nearest to `text`, best
/// first, at most `depth`.
fn similar(
    conn: &rusqlite::Connection,
    (embedder, index): (&dyn Embedder, Option<&VectorIndex>),
    text: &str,
    filter: &Filter,
    depth: usize,
    min_similarity: f32,
) -> Result<Vec<(i64, f32)>> {
    let Some(model) = vectors::model_row(conn, embedder)? else {
        return Ok(Vec::new());
    };
    let Ok(query) = embedder.embed(text) else {
        return Ok(Vec::new());
    };
    // Project is part of the scan; other filters are checked per candidate,
    // over more candidates than needed so that some survive.
    let candidates = match index {
        Some(index) => index.nearest(filter.project_id, &query, depth.saturating_mul(2)),
        None => vectors::nearest(
            conn,
            model,
            filter.project_id,
            &query,
            depth.saturating_mul(2),
        )?,
    };
    if !filter.needs_row_check() {
        // Live-ness is checked when hits are read.
        return Ok(candidates
            .into_iter()
            .take_while(|&(_, similarity)| similarity >= min_similarity)
            .take(depth)
            .collect());
    }
    let mut kept = Vec::new();
    for (id, similarity) in candidates {
        if kept.len() == depth || similarity < min_similarity {
            break;
        }
        if filter.admits(conn, id)? {
            kept.push((id, similarity));
        }
    }
    Ok(kept)
}

/// BM25 scores as shares of the best one. BM25 is 0 for no match and grows
/// with the evidence, so a memory with half the best score keeps half the
/// weight; min-max scaling would give the last of the candidates nothing
/// and stretch small differences among close ones into the whole range.
fn share_of_best(ranked: &[(i64, f64)]) -> impl Iterator<Item = (i64, f64)> + '_ {
    let best = ranked.iter().map(|&(_, s)| s).fold(0.0, f64::max);
    ranked
        .iter()
        .map(move |&(id, s)| (id, if best > 0.0 { s / best } else { 1.0 }))
}

/// Scores mapped onto 0..=1 (best 1, worst 0; all 1 when they are equal).
fn normalised<S: Copy + Into<f64>>(ranked: &[(i64, S)]) -> impl Iterator<Item = (i64, f64)> + '_ {
    let scores = || ranked.iter().map(|&(_, s)| s.into());
    let (min, max) = (
        scores().fold(f64::MAX, f64::min),
        scores().fold(f64::MIN, f64::max),
    );
    ranked.iter().map(move |&(id, s)| {
        let s: f64 = s.into();
        (
            id,
            if max > min {
                (s - min) / (max - min)
            } else {
                1.0
            },
        )
    })
}

/// A count for `LIMIT`/`OFFSET`: a `usize` past `i64::MAX` would wrap to a
/// negative number, which SQLite reads as "no limit" or "no offset".
pub(crate) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The id of the project whose root is `root`.
pub(crate) fn project_id(conn: &rusqlite::Connection, root: &str) -> Result<Option<i64>> {
    match conn.query_row("SELECT id FROM projects WHERE root = ?1", [root], |r| {
        r.get(0)
    }) {
        Ok(id) => Ok(Some(id)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The newest observations passing `filter`.
fn most_recent(
    conn: &rusqlite::Connection,
    filter: &Filter,
    limit: usize,
    offset: usize,
) -> Result<Vec<Hit>> {
    let mut sql = format!(
        "SELECT {} FROM observations o LEFT JOIN projects p ON p.id = o.project_id WHERE 1",
        hit_columns("0.0")
    );
    let mut args = Vec::new();
    filter.push_sql(&mut sql, &mut args);
    sql.push_str(" ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?");
    args.push(SqlValue::Integer(sql_count(limit)));
    args.push(SqlValue::Integer(sql_count(offset)));
    let mut stmt = conn.prepare(&sql)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(args), hit)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hits)
}

/// The columns [`hit`] reads, with `score` as the given SQL expression.
pub(crate) fn hit_columns(score: &str) -> String {
    format!(
        "o.id, o.type, o.title, o.subtitle, p.root, o.created_at, {score} AS score,
         length(o.title) + length(o.subtitle) + length(o.narrative) + length(o.facts), o.ref,
         o.author"
    )
}

/// The search results of the memories in `scored`, in that order, each with
/// its score; forgotten ones are left out.
pub(crate) fn hits_by_id(
    store: &Store,
    scored: impl IntoIterator<Item = (i64, f64)>,
) -> Result<Vec<Hit>> {
    let mut stmt = store.conn().prepare_cached(&format!(
        "SELECT {} FROM observations o LEFT JOIN projects p ON p.id = o.project_id
         WHERE o.id = ?1 AND o.deleted_at IS NULL",
        hit_columns("?2")
    ))?;
    let mut hits = Vec::new();
    for (id, score) in scored {
        if let Some(h) = stmt
            .query_row(rusqlite::params![id, score], hit)
            .optional()?
        {
            hits.push(h);
        }
    }
    Ok(hits)
}

/// A [`Hit`] from a row selected with [`hit_columns`].
pub(crate) fn hit(r: &rusqlite::Row) -> rusqlite::Result<Hit> {
    Ok(Hit {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        subtitle: r.get(3)?,
        project: r.get(4)?,
        created_at: r.get(5)?,
        score: r.get(6)?,
        tokens: r.get::<_, i64>(7)?.max(0) as usize / 4 + 1,
        reference: r.get(8)?,
        author: r.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::records::{RecordKind, search_records};
    use crate::fetch::timeline;
    use mnemo_store::{CompressedEpisode, HookRecord, NewObservation, ProjectRef, PromptText};

    fn store_with(observations: &[(&str, &str, &str, &[&str])]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        for (i, (kind, title, narrative, files)) in observations.iter().enumerate() {
            let rec = HookRecord {
                project: Some(ProjectRef {
                    root: "/src/shop".into(),
                    name: "shop".into(),
                }),
                prompt: Some(PromptText {
                    text: format!("prompt {i}"),
                    private: false,
                }),
                ..HookRecord::new("UserPromptSubmit", "claude-code", "s1", i as i64 * 1000)
            };
            store.record(&rec, 0).unwrap();
            let prompt_id: i64 = store
                .conn()
                .query_row("SELECT max(id) FROM prompts", [], |r| r.get(0))
                .unwrap();
            store
                .save_episode(
                    &CompressedEpisode {
                        prompt_id,
                        close_reason: "stop".into(),
                        observations: vec![NewObservation {
                            kind: kind.to_string(),
                            title: title.to_string(),
                            narrative: narrative.to_string(),
                            files_modified: files.iter().map(|f| f.to_string()).collect(),
                            concepts: vec!["problem-solution".into()],
                            content_hash: format!("h{i}"),
                            generated_by: "rules".into(),
                            ..NewObservation::default()
                        }],
                        ..CompressedEpisode::default()
                    },
                    i as i64 * 1000 + 1,
                )
                .unwrap();
        }
        store
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 10,
            ..SearchQuery::default()
        }
    }

    /// Titles of the full-text search for `text` in `store`, best first.
    fn titles(store: &Store, text: &str, fusion: &Fusion) -> Vec<String> {
        search_with(store, &q(text), None, fusion, 0)
            .unwrap()
            .into_iter()
            .map(|h| h.title)
            .collect()
    }

    #[test]
    fn the_message_after_a_question_about_the_search_answers_it() {
        let store = store_with(&[
            (
                "discovery",
                "Pet shop",
                "The pet shop by the station sells cat food.",
                &[],
            ),
            (
                "discovery",
                "Chat",
                "Ana: Lovely garden! Do you keep any pets?",
                &[],
            ),
            (
                "discovery",
                "Reply",
                "Ben: We got another cat named Bailey.",
                &[],
            ),
            (
                "discovery",
                "Vet",
                "The vet says pets need shots every year.",
                &[],
            ),
            (
                "discovery",
                "Offer",
                "Fixed the pet import. Want me to benchmark it?",
                &[],
            ),
            ("discovery", "Thanks", "Sounds good, go ahead.", &[]),
        ]);
        let without = Fusion {
            answer_weight: 0.0,
            ..Fusion::DEFAULT
        };
        let question = "Which pets do they keep?";
        let unaided = titles(&store, question, &without);
        assert!(!unaided.iter().take(3).any(|t| t == "Reply"), "{unaided:?}");
        let answered = titles(&store, question, &Fusion::DEFAULT);
        assert!(
            answered.iter().take(3).any(|t| t == "Reply"),
            "{answered:?}"
        );
        // A question about something else passes nothing to the reply.
        assert!(
            !titles(&store, "the pet import", &Fusion::DEFAULT).contains(&"Thanks".to_string())
        );
    }

    #[test]
    fn a_date_in_the_query_favours_the_memories_of_that_day() {
        let mut store = Store::open_in_memory().unwrap();
        let project = ProjectRef {
            root: "/src/shop".into(),
            name: "shop".into(),
        };
        let (may_25, _) = query::named_days("2022-05-25").unwrap();
        let day = 86_400_000;
        for (n, at) in [may_25 - 9 * day, may_25 + 3_600_000, may_25 + 9 * day]
            .into_iter()
            .enumerate()
        {
            let deploy = NewObservation {
                kind: "change".into(),
                title: format!("Deployed the billing service, run {n}"),
                content_hash: format!("deploy-{n}"),
                generated_by: "user".into(),
                ..NewObservation::default()
            };
            store.remember(Some(&project), &deploy, at).unwrap();
        }
        let first = |text: &str| titles(&store, text, &Fusion::DEFAULT)[0].clone();
        assert_eq!(
            first("billing deploy"),
            "Deployed the billing service, run 2"
        );
        assert_eq!(
            first("billing deploy on 25 May, 2022"),
            "Deployed the billing service, run 1"
        );
    }

    #[test]
    fn ranks_title_matches_first_and_filters() {
        let store = store_with(&[
            (
                "change",
                "Updated the README",
                "mentions fibonacci once",
                &["README.md"],
            ),
            (
                "bugfix",
                "fibonacci() raises ValueError for negative n",
                "RecursionError before",
                &["fib/fibonacci.py"],
            ),
            (
                "feature",
                "Added cart discounts",
                "coupon logic",
                &["shop/cart.py"],
            ),
        ]);
        let hits = search(&store, &q("the fibonacci bug")).unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits[0].title.starts_with("fibonacci()"));
        let only_bugfix = SearchQuery {
            types: vec!["bugfix".into()],
            ..q("fibonacci")
        };
        assert_eq!(search(&store, &only_bugfix).unwrap().len(), 1);
        let by_file = SearchQuery {
            file: Some("cart.py".into()),
            ..q("")
        };
        assert_eq!(
            search(&store, &by_file).unwrap()[0].title,
            "Added cart discounts"
        );
        let wrong_project = SearchQuery {
            project: Some("/src/other".into()),
            ..q("fibonacci")
        };
        assert!(search(&store, &wrong_project).unwrap().is_empty());
        let recent = search(&store, &q("")).unwrap();
        assert_eq!(
            recent[0].title, "Added cart discounts",
            "no text: newest first"
        );
        let around = timeline(&store, Some(hits[0].id), None, 1, 1).unwrap();
        assert_eq!(
            around.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(),
            [
                "Updated the README",
                "fibonacci() raises ValueError for negative n",
                "Added cart discounts"
            ]
        );
        assert_eq!(
            timeline(&store, None, Some("/src/shop"), 1, 0)
                .unwrap()
                .len(),
            2
        );
        let full = get_observations(&store, &[hits[0].id, 999]).unwrap();
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].files_modified, ["fib/fibonacci.py"]);
    }

    #[test]
    fn full_text_scores_keep_their_proportions() {
        let shares: Vec<(i64, f64)> = share_of_best(&[(1, 8.0), (2, 4.0), (3, 2.0)]).collect();
        assert_eq!(shares, [(1, 1.0), (2, 0.5), (3, 0.25)]);
        let min_max: Vec<(i64, f64)> = normalised(&[(1, 8.0), (2, 4.0), (3, 2.0)]).collect();
        assert_eq!(min_max[2], (3, 0.0), "min-max gives the last nothing");
    }

    #[test]
    fn hostile_queries_never_error() {
        let store = store_with(&[("bugfix", "x", "y", &[])]);
        let long = "ab\"c(d -e:f ".repeat(1000);
        for text in [
            "\"",
            "(((",
            "a AND",
            "NEAR(",
            "-x",
            "title:y",
            "🦀🦀",
            "'; DROP TABLE observations; --",
            "*",
            long.as_str(),
        ] {
            search(&store, &q(text)).unwrap();
        }
        let like = SearchQuery {
            file: Some("%_\\".into()),
            ..q("")
        };
        assert!(search(&store, &like).unwrap().is_empty());
    }

    /// Found by the search property: `offset + limit` overflowed, and a
    /// huge limit sized a heap allocation.
    #[test]
    fn huge_limit_and_offset_are_answered() {
        let store = store_with(&[("bugfix", "cache fix", "y", &[]), ("change", "z", "y", &[])]);
        for text in ["cache", ""] {
            let all = SearchQuery {
                limit: usize::MAX,
                ..q(text)
            };
            assert!(!search(&store, &all).unwrap().is_empty(), "{text:?}");
            let past_the_end = SearchQuery {
                offset: usize::MAX,
                ..all.clone()
            };
            assert!(
                search(&store, &past_the_end).unwrap().is_empty(),
                "{text:?}"
            );
            for kind in [RecordKind::Session, RecordKind::Prompt] {
                assert!(
                    search_records(&store, kind, &past_the_end)
                        .unwrap()
                        .is_empty()
                );
            }
        }
    }

    /// A shared searcher answers at once, from SQLite, while its vectors
    /// are read in on another thread, then from memory; the answers agree.
    #[test]
    fn a_shared_searcher_answers_while_its_vectors_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mnemo.db");
        let options = mnemo_store::StoreOptions::default();
        let mut store = Store::open(&db, &options).unwrap();
        vectors::tests::three_embedded_notes(&mut store);
        let embedder = StaticEmbedder::builtin();
        let searcher = Arc::new(Searcher::new(Some(Box::new(embedder))));
        let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
        let query = q("authentication credentials too old");
        let open = |db: std::path::PathBuf| {
            move || Store::open(&db, &mnemo_store::StoreOptions::default())
        };
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let held = db.clone();
        let first = searcher
            .search_shared(&store, &query, 0, move || {
                // Hold the load until the first answer is in.
                let _ = wait.recv();
                open(held)()
            })
            .unwrap();
        assert!(searcher.loading.load(Ordering::Acquire));
        assert_eq!(first[0].id, 2, "{first:?}");
        gate.send(()).unwrap();
        let started = std::time::Instant::now();
        while searcher.loading.load(Ordering::Acquire) {
            assert!(started.elapsed().as_secs() < 10, "the load never finished");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(searcher.index.lock().unwrap().len(), 3);
        let loaded = searcher
            .search_shared(&store, &query, 0, open(db.clone()))
            .unwrap();
        assert_eq!(ids(loaded), ids(first));

        // A load that cannot open the database leaves searches working.
        let failing = Arc::new(Searcher::new(Some(Box::new(embedder))));
        let hits = failing
            .search_shared(&store, &query, 0, || {
                Store::open(
                    std::path::Path::new("/nonexistent/dir/mnemo.db"),
                    &mnemo_store::StoreOptions::default(),
                )
            })
            .unwrap();
        assert_eq!(hits[0].id, 2);
    }
}
