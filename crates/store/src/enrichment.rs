//! The LLM enrichment queue and its accounting: which compressed episodes
//! wait for enrichment, what each call cost, and swapping the rule-based
//! result for the enriched one.

use rusqlite::{TransactionBehavior, params};

use crate::episodes::{NewObservation, NewSummary, insert_observation};
use crate::{Result, Store};

/// One LLM call attempt, as recorded in `llm_calls`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LlmCall {
    /// When the attempt started (Unix ms).
    pub at: i64,
    /// Which client made it: `claude-cli`, `anthropic` or `openai`.
    pub backend: String,
    /// The model asked.
    pub model: String,
    /// What the call was for, e.g. `enrich`.
    pub purpose: String,
    /// The episode's prompt the call was about.
    pub prompt_id: Option<i64>,
    /// Tokens sent, as the backend counted them.
    pub input_tokens: i64,
    /// Tokens received, as the backend counted them.
    pub output_tokens: i64,
    /// This attempt produced the answer.
    pub ok: bool,
    /// Why the attempt failed, in one line.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
}

/// A stored observation of an episode, for building the enrichment input.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EpisodeObservation {
    /// The observation type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its subtitle.
    pub subtitle: String,
    /// Its narrative.
    pub narrative: String,
    /// Its facts.
    pub facts: Vec<String>,
    /// Its knowledge tags.
    pub concepts: Vec<String>,
    /// Files it lists as read.
    pub files_read: Vec<String>,
    /// Files it lists as changed.
    pub files_modified: Vec<String>,
}

impl Store {
    /// Episodes waiting for enrichment, oldest first.
    pub fn pending_enrichment(&self, limit: usize) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT prompt_id FROM episodes WHERE enrich_state = 'pending'
             ORDER BY compressed_at, prompt_id LIMIT ?1",
        )?;
        let ids = stmt
            .query_map([limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Tokens (input + output) spent on LLM calls since `since` (Unix ms).
    pub fn llm_tokens_since(&self, since: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM llm_calls WHERE at >= ?1",
            [since],
            |r| r.get(0),
        )?)
    }

    /// Record one call attempt.
    pub fn record_llm_call(&mut self, call: &LlmCall) -> Result<()> {
        self.conn.execute(
            "INSERT INTO llm_calls (at, backend, model, purpose, prompt_id, input_tokens,
                 output_tokens, ok, error, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                call.at,
                call.backend,
                call.model,
                call.purpose,
                call.prompt_id,
                call.input_tokens,
                call.output_tokens,
                call.ok,
                call.error,
                call.duration_ms
            ],
        )?;
        Ok(())
    }

    /// The observations currently stored for an episode.
    pub fn episode_observations(&self, prompt_id: i64) -> Result<Vec<EpisodeObservation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT type, title, subtitle, narrative, facts, concepts, files_read, files_modified
             FROM observations WHERE prompt_id = ?1 AND deleted_at IS NULL ORDER BY id",
        )?;
        let parse = |s: String| serde_json::from_str(&s).unwrap_or_default();
        let rows = stmt
            .query_map([prompt_id], |r| {
                Ok(EpisodeObservation {
                    kind: r.get(0)?,
                    title: r.get(1)?,
                    subtitle: r.get(2)?,
                    narrative: r.get(3)?,
                    facts: parse(r.get(4)?),
                    concepts: parse(r.get(5)?),
                    files_read: parse(r.get(6)?),
                    files_modified: parse(r.get(7)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Mark an episode's enrichment as failed or skipped (the rule-based
    /// result stands), or back to pending.
    pub fn set_enrich_state(
        &mut self,
        prompt_id: i64,
        state: &str,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE episodes SET enrich_state = ?2, enrich_error = ?3 WHERE prompt_id = ?1",
            params![prompt_id, state, error],
        )?;
        Ok(())
    }

    /// Replace an episode's rule-based observations and summary with the
    /// enriched ones, in one transaction. Does nothing if the episode is no
    /// longer pending (recompressed or enriched meanwhile).
    pub fn apply_enrichment(
        &mut self,
        prompt_id: i64,
        observations: &[NewObservation],
        summary: &NewSummary,
        now: i64,
    ) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let still_pending: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM episodes WHERE prompt_id = ?1 AND enrich_state = 'pending')",
            [prompt_id],
            |r| r.get(0),
        )?;
        if !still_pending {
            return Ok(false);
        }
        let (session_id, project_id): (i64, Option<i64>) = tx.query_row(
            "SELECT p.session_id, s.project_id FROM prompts p JOIN sessions s ON s.id = p.session_id
             WHERE p.id = ?1",
            [prompt_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.execute(
            "DELETE FROM observations WHERE prompt_id = ?1 AND generated_by = 'rules'",
            [prompt_id],
        )?;
        for o in observations {
            insert_observation(&tx, project_id, Some(session_id), Some(prompt_id), o, now)?;
        }
        tx.execute(
            "UPDATE summaries SET request = ?2, investigated = ?3, learned = ?4, completed = ?5,
                 next_steps = ?6, generated_by = ?7
             WHERE prompt_id = ?1",
            params![
                prompt_id,
                summary.request,
                summary.investigated,
                summary.learned,
                summary.completed,
                summary.next_steps,
                summary.generated_by
            ],
        )?;
        tx.execute(
            "UPDATE episodes SET enrich_state = 'done', enrich_error = NULL, enriched_at = ?2
             WHERE prompt_id = ?1",
            params![prompt_id, now],
        )?;
        tx.commit()?;
        Ok(true)
    }
}
