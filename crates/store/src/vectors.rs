//! Stored observation vectors and the queue of observations to embed.
//!
//! The store only keeps bytes: which embedder made them (a model row), and
//! for which observation. Choosing the text to embed and computing vectors
//! is mnemo-retrieve's job.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{Result, Store};

/// An observation waiting to be embedded, with the fields worth embedding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorSource {
    /// The observation's row id.
    pub observation_id: i64,
    /// 0 when the observation has no project.
    pub project_id: i64,
    /// Its title.
    pub title: String,
    /// Its subtitle.
    pub subtitle: String,
    /// The JSON list of facts, as stored.
    pub facts: String,
    /// Its narrative.
    pub narrative: String,
}

impl Store {
    /// The row id of embedding model `name`, registering it on first use.
    /// A newly registered model queues every observation, so switching
    /// embedders (or a new table version) rebuilds all vectors over time.
    pub fn embedding_model(&mut self, name: &str, dims: usize) -> Result<i64> {
        let found: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM embedding_models WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO embedding_models (name, dims) VALUES (?1, ?2)",
            params![name, dims as i64],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO vector_queue (observation_id) SELECT id FROM observations",
            [],
        )?;
        let id = tx.query_row(
            "SELECT id FROM embedding_models WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Up to `limit` queued observations, oldest first.
    pub fn vector_queue(&self, limit: usize) -> Result<Vec<VectorSource>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.id, coalesce(o.project_id, 0), o.title, o.subtitle, o.facts, o.narrative
             FROM vector_queue q JOIN observations o ON o.id = q.observation_id
             ORDER BY q.observation_id LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(VectorSource {
                    observation_id: r.get(0)?,
                    project_id: r.get(1)?,
                    title: r.get(2)?,
                    subtitle: r.get(3)?,
                    facts: r.get(4)?,
                    narrative: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Store `vectors` (observation id, project id, bytes) of `model` and
    /// take them off the queue, in one transaction. An observation keeps one
    /// vector, of the model it was last embedded with: vectors of another
    /// model are never read again (a query embeds with the current one).
    pub fn save_vectors(&mut self, model: i64, vectors: &[(i64, i64, Vec<u8>)]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut drop_old =
                tx.prepare_cached("DELETE FROM observation_vectors WHERE observation_id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO observation_vectors (model_id, project_id, observation_id, vector, seq)
                 VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(seq), 0) + 1
                                          FROM observation_vectors WHERE model_id = ?1))",
            )?;
            let mut dequeue =
                tx.prepare_cached("DELETE FROM vector_queue WHERE observation_id = ?1")?;
            for (observation, project, bytes) in vectors {
                drop_old.execute([observation])?;
                insert.execute(params![model, project, observation, bytes])?;
                dequeue.execute([observation])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Queue every observation again (`mnemo reindex`); returns how many.
    pub fn requeue_all_vectors(&mut self) -> Result<usize> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO vector_queue (observation_id) SELECT id FROM observations",
            [],
        )?)
    }
}
