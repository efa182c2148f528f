//! Counts for `mnemo stats` and the tests.

use crate::{Result, Store};

/// Start of the current UTC day, Unix ms.
pub fn utc_day_start(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(86_400_000)
}

/// Row counts and sizes of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Projects known.
    pub projects: i64,
    /// Sessions recorded.
    pub sessions: i64,
    /// Prompts recorded.
    pub prompts: i64,
    /// Hook events recorded.
    pub events: i64,
    /// Events not yet compressed.
    pub events_pending: i64,
    /// Inputs refused and kept for diagnosis.
    pub rejected_inputs: i64,
    /// Observations not deleted.
    pub observations: i64,
    /// Session summaries.
    pub summaries: i64,
    /// Episodes compressed.
    pub episodes: i64,
    /// Episodes set aside because compressing them failed.
    pub episodes_skipped: i64,
    /// Episodes waiting for LLM enrichment.
    pub enrich_pending: i64,
    /// LLM calls since 00:00 UTC today.
    pub llm_calls_today: i64,
    /// LLM tokens (input + output) since 00:00 UTC today.
    pub llm_tokens_today: i64,
    /// LLM calls ever.
    pub llm_calls_total: i64,
    /// LLM tokens (input + output) ever.
    pub llm_tokens_total: i64,
    /// Size of the main database file (pages × page size), excluding the WAL.
    pub db_bytes: i64,
    /// Stored vectors, of every embedding model.
    pub vectors: i64,
    /// Observations waiting in the vector queue.
    pub vectors_pending: i64,
}

impl Store {
    /// Current counts. `day_start` is the start of "today" (Unix ms) for
    /// the LLM spend figures.
    pub fn stats(&self, day_start: i64) -> Result<Stats> {
        Ok(self.conn.query_row(
            "SELECT
                (SELECT count(*) FROM projects),
                (SELECT count(*) FROM sessions),
                (SELECT count(*) FROM prompts),
                (SELECT count(*) FROM events),
                (SELECT count(*) FROM events WHERE processed_at IS NULL AND prompt_id IS NOT NULL),
                (SELECT count(*) FROM rejected_inputs),
                (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()),
                (SELECT count(*) FROM observations WHERE deleted_at IS NULL),
                (SELECT count(*) FROM summaries WHERE deleted_at IS NULL),
                (SELECT count(*) FROM episodes),
                (SELECT count(*) FROM episodes WHERE enrich_state = 'pending'),
                (SELECT count(*) FROM llm_calls WHERE at >= ?1),
                (SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM llm_calls WHERE at >= ?1),
                (SELECT count(*) FROM llm_calls),
                (SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM llm_calls),
                (SELECT count(*) FROM observation_vectors),
                (SELECT count(*) FROM vector_queue),
                (SELECT count(*) FROM prompts WHERE compress_skipped IS NOT NULL)",
            [day_start],
            |r| {
                Ok(Stats {
                    projects: r.get(0)?,
                    sessions: r.get(1)?,
                    prompts: r.get(2)?,
                    events: r.get(3)?,
                    events_pending: r.get(4)?,
                    rejected_inputs: r.get(5)?,
                    db_bytes: r.get(6)?,
                    observations: r.get(7)?,
                    summaries: r.get(8)?,
                    episodes: r.get(9)?,
                    enrich_pending: r.get(10)?,
                    llm_calls_today: r.get(11)?,
                    llm_tokens_today: r.get(12)?,
                    llm_calls_total: r.get(13)?,
                    llm_tokens_total: r.get(14)?,
                    vectors: r.get(15)?,
                    vectors_pending: r.get(16)?,
                    episodes_skipped: r.get(17)?,
                })
            },
        )?)
    }
}
