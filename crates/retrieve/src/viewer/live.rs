//! The live feed of the viewer: what was written since a [`Watermark`], and
//! how much work is waiting.

use mnemo_store::{Result, Store};
use rusqlite::params;
use serde::Serialize;

use super::ENTRY_COLUMNS;
use super::{Entry, PromptItem, Summary, entry, prompt, prompt_item, prompts_where};

/// Most observations one change report carries (the rest come next time).
pub(super) const MAX_CHANGES: usize = 200;

/// How much work is waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Processing {
    /// Captured events not yet compressed into observations.
    pub events_pending: i64,
    /// Compressed episodes waiting for LLM enrichment.
    pub enrich_pending: i64,
}

/// How far a reader of [`changes_since`] has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermark {
    /// Last prompt id seen.
    pub prompt_id: i64,
    /// Last observation id seen (forgotten ones included).
    pub observation_id: i64,
    /// Latest `compressed_at` / `enriched_at` of an episode seen, Unix ms.
    pub episode_at: i64,
}

/// An episode that was compressed again or enriched: its summary and the
/// ids of its observations now (earlier ones of the prompt are gone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeUpdate {
    /// The episode's prompt.
    pub prompt_id: i64,
    /// Its session.
    pub session_id: i64,
    /// When it was last compressed or enriched, Unix ms.
    pub at: i64,
    /// Its live observations now, oldest first.
    pub observation_ids: Vec<i64>,
    /// Its summary now, if it has one.
    pub summary: Option<Summary>,
}

/// What was written since a [`Watermark`], oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// New prompts.
    pub prompts: Vec<PromptItem>,
    /// New observations (forgotten ones left out).
    pub observations: Vec<Entry>,
    /// Episodes compressed again or enriched.
    pub episodes: Vec<EpisodeUpdate>,
    /// A limit was reached: ask again from the returned watermark.
    pub more: bool,
}

/// How much work is waiting for compression and enrichment.
pub fn processing(store: &Store) -> Result<Processing> {
    Ok(store.conn().query_row(
        "SELECT
            (SELECT count(*) FROM events WHERE processed_at IS NULL AND prompt_id IS NOT NULL),
            (SELECT count(*) FROM episodes WHERE enrich_state = 'pending')",
        [],
        |r| {
            Ok(Processing {
                events_pending: r.get(0)?,
                enrich_pending: r.get(1)?,
            })
        },
    )?)
}

/// Where the store is now: a reader starting here sees only what comes next.
pub fn watermark(store: &Store) -> Result<Watermark> {
    Ok(store.conn().query_row(
        "SELECT (SELECT coalesce(max(id), 0) FROM prompts),
                (SELECT coalesce(max(id), 0) FROM observations),
                (SELECT coalesce(max(max(compressed_at, coalesce(enriched_at, 0))), 0) FROM episodes)",
        [],
        |r| {
            Ok(Watermark {
                prompt_id: r.get(0)?,
                observation_id: r.get(1)?,
                episode_at: r.get(2)?,
            })
        },
    )?)
}

/// What was written after `since`, and the watermark to ask from next.
///
/// New prompts and observations come by id (ids grow in commit order:
/// SQLite has one writer at a time). Episodes compressed again or enriched
/// come by time, looking back `episode_slack_ms` before the watermark
/// because writers stamp times before they commit; a caller that does not
/// want repeats drops the ones it has already seen.
pub fn changes_since(
    store: &Store,
    since: Watermark,
    episode_slack_ms: i64,
) -> Result<(Changes, Watermark)> {
    let mut next = since;
    let prompts: Vec<PromptItem> = store
        .conn()
        .prepare_cached(&format!(
            "{} ORDER BY pr.id LIMIT ?2",
            prompts_where("pr.id > ?1")
        ))?
        .query_map(params![since.prompt_id, MAX_CHANGES as i64], prompt_item)?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(last) = prompts.last() {
        next.prompt_id = last.id;
    }
    // Ids are read with forgotten ones, so the watermark passes them too.
    let mut stmt = store.conn().prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS}, o.deleted_at IS NOT NULL AS forgotten
         FROM observations o LEFT JOIN projects p ON p.id = o.project_id
         WHERE o.id > ?1 ORDER BY o.id LIMIT ?2"
    ))?;
    let mut observations = Vec::new();
    let mut rows = stmt.query(params![since.observation_id, MAX_CHANGES as i64])?;
    let mut read = 0;
    while let Some(row) = rows.next()? {
        read += 1;
        let e = entry(row)?;
        next.observation_id = e.id;
        if !row.get::<_, bool>("forgotten")? {
            observations.push(e);
        }
    }
    drop(rows);
    let touched: Vec<(i64, i64, i64)> = store
        .conn()
        .prepare_cached(
            "SELECT prompt_id, session_id, max(compressed_at, coalesce(enriched_at, 0))
             FROM episodes WHERE max(compressed_at, coalesce(enriched_at, 0)) > ?1",
        )?
        .query_map([since.episode_at - episode_slack_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut episodes = Vec::with_capacity(touched.len());
    for (prompt_id, session_id, at) in touched {
        next.episode_at = next.episode_at.max(at);
        let observation_ids = store
            .conn()
            .prepare_cached(
                "SELECT id FROM observations WHERE prompt_id = ?1 AND deleted_at IS NULL ORDER BY id",
            )?
            .query_map([prompt_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let summary = prompt(store, prompt_id)?.and_then(|p| p.summary);
        episodes.push(EpisodeUpdate {
            prompt_id,
            session_id,
            at,
            observation_ids,
            summary,
        });
    }
    let more = prompts.len() == MAX_CHANGES || read == MAX_CHANGES;
    Ok((
        Changes {
            prompts,
            observations,
            episodes,
            more,
        },
        next,
    ))
}
