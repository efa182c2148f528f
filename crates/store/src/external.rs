//! Writing history brought in from another memory tool (`mnemo import
//! claude-mem`): sessions, prompts, observations and summaries that arrive
//! already compressed, keyed on the same natural keys capture uses, so an
//! import run twice (or killed and run again) adds nothing the second time.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::episodes::{insert_observation, write_summary};
use crate::record::upsert_project;
use crate::{NewObservation, NewSummary, ProjectRef, Result, Store};

/// A session as another tool recorded it.
#[derive(Debug, Clone, Default)]
pub struct ExternalSession {
    /// The agent that ran it, e.g. `claude-code`.
    pub agent: String,
    /// The agent's own session id (Claude Code's `session_id`).
    pub agent_session_id: String,
    /// The project the session worked in, when the other tool knew it.
    pub project: Option<ProjectRef>,
    /// The session's working directory.
    pub cwd: Option<String>,
    /// The agent's transcript of the session.
    pub transcript_path: Option<String>,
    /// When the session started (Unix ms).
    pub started_at: i64,
    /// Set when the other tool saw the session end.
    pub ended_at: Option<i64>,
    /// Why the session ended, as the other tool recorded it.
    pub end_reason: Option<String>,
}

/// A user prompt as another tool recorded it, already redacted.
#[derive(Debug, Clone, Default)]
pub struct ExternalPrompt {
    /// Its number in the session, from 1.
    pub n: i64,
    /// The prompt's text.
    pub text: String,
    /// True when nothing was left after removing `<private>` spans.
    pub private: bool,
    /// When the prompt was sent (Unix ms).
    pub created_at: i64,
}

/// Writes of one import batch, in one `BEGIN IMMEDIATE` transaction: either
/// the whole batch lands or none of it. Dropping it without
/// [`ExternalBatch::commit`] rolls back (how a dry run discards its work).
pub struct ExternalBatch<'a> {
    tx: Transaction<'a>,
    /// Import time: when prompts brought in were marked compressed.
    now: i64,
}

impl Store {
    /// Start a batch of imported rows.
    pub fn external_batch(&mut self, now: i64) -> Result<ExternalBatch<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(ExternalBatch { tx, now })
    }

    /// Projects displayed as `name`, by root.
    pub fn projects_named(&self, name: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT root FROM projects WHERE name = ?1 ORDER BY id")?;
        let roots = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(roots)
    }

    /// The project of a known session, by root.
    pub fn session_project(&self, agent: &str, agent_session_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT p.root FROM sessions s JOIN projects p ON p.id = s.project_id
                 WHERE s.agent = ?1 AND s.agent_session_id = ?2",
                params![agent, agent_session_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Move everything of the project at `from_root` into `into` (created if
    /// new) and delete `from_root`'s project; observations `into` already has
    /// (same content hash) are dropped from `from_root` first. Returns false
    /// when there is no project at `from_root`.
    pub fn merge_project(&mut self, from_root: &str, into: &ProjectRef, now: i64) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: Option<i64> = tx
            .query_row(
                "SELECT id FROM projects WHERE root = ?1",
                [from_root],
                |r| r.get(0),
            )
            .optional()?;
        let Some(from) = from else {
            return Ok(false);
        };
        let into = upsert_project(&tx, into, now)?;
        tx.execute(
            "DELETE FROM observations WHERE project_id = ?1 AND content_hash IN
                 (SELECT content_hash FROM observations WHERE project_id = ?2)",
            params![from, into],
        )?;
        for table in ["observations", "sessions", "summaries"] {
            tx.execute(
                &format!("UPDATE {table} SET project_id = ?2 WHERE project_id = ?1"),
                params![from, into],
            )?;
        }
        tx.execute(
            "UPDATE observation_vectors SET project_id = ?2 WHERE project_id = ?1",
            params![from, into],
        )?;
        tx.execute("DELETE FROM projects WHERE id = ?1", [from])?;
        tx.commit()?;
        Ok(true)
    }
}

impl ExternalBatch<'_> {
    /// The id of the project at `p.root`, created if new.
    pub fn project(&self, p: &ProjectRef) -> Result<i64> {
        upsert_project(&self.tx, p, self.now)
    }

    /// Insert a session unless the agent's session id is known. Returns its
    /// id and whether it was new. A known session keeps what it has and only
    /// gains a project, cwd or transcript it lacked and an earlier start.
    pub fn session(&self, s: &ExternalSession) -> Result<(i64, bool)> {
        let project_id = match &s.project {
            Some(p) => Some(self.project(p)?),
            None => None,
        };
        let existing: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM sessions WHERE agent = ?1 AND agent_session_id = ?2",
                params![s.agent, s.agent_session_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            self.tx.execute(
                "UPDATE sessions SET project_id = coalesce(project_id, ?2),
                     cwd = coalesce(cwd, ?3), transcript_path = coalesce(transcript_path, ?4),
                     started_at = min(started_at, ?5)
                 WHERE id = ?1",
                params![id, project_id, s.cwd, s.transcript_path, s.started_at],
            )?;
            return Ok((id, false));
        }
        let status = if s.ended_at.is_some() {
            "ended"
        } else {
            "active"
        };
        let id = self.tx.query_row(
            "INSERT INTO sessions (agent, agent_session_id, project_id, cwd, transcript_path,
                 started_at, ended_at, end_reason, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             RETURNING id",
            params![
                s.agent,
                s.agent_session_id,
                project_id,
                s.cwd,
                s.transcript_path,
                s.started_at,
                s.ended_at,
                s.end_reason,
                status
            ],
            |r| r.get(0),
        )?;
        Ok((id, true))
    }

    /// Insert prompt `p.n` of a session unless the session has a prompt with
    /// that number. Returns the prompt's id and whether it was new. New
    /// prompts are marked compressed: they come with their observations and
    /// have no events for the compressor to read.
    pub fn prompt(&self, session_id: i64, p: &ExternalPrompt) -> Result<(i64, bool)> {
        if let Some(id) = self.prompt_id(session_id, p.n)? {
            return Ok((id, false));
        }
        let id = self.tx.query_row(
            "INSERT INTO prompts (session_id, n, text, private, created_at, compressed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             RETURNING id",
            params![session_id, p.n, p.text, p.private, p.created_at, self.now],
            |r| r.get(0),
        )?;
        Ok((id, true))
    }

    /// The id of prompt `n` of a session, if it exists.
    pub fn prompt_id(&self, session_id: i64, n: i64) -> Result<Option<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM prompts WHERE session_id = ?1 AND n = ?2")?;
        Ok(stmt
            .query_row(params![session_id, n], |r| r.get(0))
            .optional()?)
    }

    /// The project of a session, if it has one.
    pub fn session_project_id(&self, session_id: i64) -> Result<Option<i64>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT project_id FROM sessions WHERE id = ?1")?;
        Ok(stmt
            .query_row([session_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Insert an observation unless its project already has one with the
    /// same content hash. Returns whether it was new.
    pub fn observation(
        &self,
        project_id: Option<i64>,
        session_id: Option<i64>,
        prompt_id: Option<i64>,
        o: &NewObservation,
    ) -> Result<bool> {
        Ok(insert_observation(&self.tx, project_id, session_id, prompt_id, o, self.now)? == 1)
    }

    /// Insert the summary of a prompt unless the prompt has one (a summary
    /// mnemo wrote itself, or one imported before). Returns whether it was new.
    pub fn summary(
        &self,
        session_id: i64,
        prompt_id: i64,
        s: &NewSummary,
        created_at: i64,
    ) -> Result<bool> {
        let project_id = self.session_project_id(session_id)?;
        let written = write_summary(
            &self.tx, project_id, session_id, prompt_id, s, created_at, false,
        )?;
        Ok(written == 1)
    }

    /// Make the batch durable.
    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ProjectRef {
        ProjectRef {
            root: "/src/api".into(),
            name: "api".into(),
        }
    }

    #[test]
    fn a_placeholder_project_merges_into_the_real_one() {
        let mut s = Store::open_in_memory().unwrap();
        let placeholder = ProjectRef {
            root: "claude-mem:api".into(),
            name: "api".into(),
        };
        let note = |title: &str| NewObservation {
            kind: "discovery".into(),
            title: title.into(),
            content_hash: title.into(),
            generated_by: "claude-mem".into(),
            ..NewObservation::default()
        };
        s.remember(Some(&api()), &note("shared"), 1).unwrap();
        s.remember(Some(&placeholder), &note("shared"), 1).unwrap();
        s.remember(Some(&placeholder), &note("only in placeholder"), 1)
            .unwrap();
        assert!(s.merge_project("claude-mem:api", &api(), 2).unwrap());
        assert!(!s.merge_project("claude-mem:api", &api(), 3).unwrap());
        let rows: Vec<(String, i64)> = s
            .conn()
            .prepare(
                "SELECT p.root, count(*) FROM observations o JOIN projects p ON p.id = o.project_id
                 GROUP BY p.root",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows, [("/src/api".to_string(), 2)]);
    }

    #[test]
    fn a_batch_adds_each_row_once_and_a_dropped_batch_nothing() {
        let mut s = Store::open_in_memory().unwrap();
        let session = ExternalSession {
            agent: "claude-code".into(),
            agent_session_id: "s1".into(),
            project: Some(api()),
            started_at: 10,
            ..ExternalSession::default()
        };
        let prompt = ExternalPrompt {
            n: 1,
            text: "fix the login".into(),
            private: false,
            created_at: 11,
        };
        for round in 0..2 {
            let batch = s.external_batch(100).unwrap();
            let (sid, new_session) = batch.session(&session).unwrap();
            let (_, new_prompt) = batch.prompt(sid, &prompt).unwrap();
            assert_eq!((new_session, new_prompt), (round == 0, round == 0));
            batch.commit().unwrap();
        }
        {
            let batch = s.external_batch(100).unwrap();
            let other = ExternalSession {
                agent_session_id: "s2".into(),
                ..session.clone()
            };
            batch.session(&other).unwrap();
        }
        let count = |t: &str| -> i64 {
            s.conn()
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!((count("sessions"), count("prompts")), (1, 1));
        let compressed: Option<i64> = s
            .conn()
            .query_row("SELECT compressed_at FROM prompts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            compressed,
            Some(100),
            "imported prompts are not compressed again"
        );
    }
}
