//! What each session has been given by recall (`recalls`), so that a
//! session never gets the same memory twice.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store};

impl Store {
    /// The id of the stored session the agent calls `agent_session_id`.
    pub fn session_id(&self, agent: &str, agent_session_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM sessions WHERE agent = ?1 AND agent_session_id = ?2")?
            .query_row(params![agent, agent_session_id], |r| r.get(0))
            .optional()?)
    }

    /// Whether `session` has already been given `observation`.
    pub fn was_recalled(&self, session: i64, observation: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM recalls WHERE session_id = ?1 AND observation_id = ?2")?
            .exists(params![session, observation])?)
    }

    /// Note that `session` was given `observations` at `at`; one given
    /// before keeps its first time.
    pub fn record_recalls(&self, session: i64, observations: &[i64], at: i64) -> Result<()> {
        let mut insert = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO recalls (session_id, observation_id, at) VALUES (?1, ?2, ?3)",
        )?;
        for observation in observations {
            insert.execute(params![session, observation, at])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{HookRecord, NewObservation, Store};

    #[test]
    fn a_session_remembers_what_it_was_given() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .record(&HookRecord::new("SessionStart", "claude-code", "s1", 1), 0)
            .unwrap();
        let session = store.session_id("claude-code", "s1").unwrap().unwrap();
        assert_eq!(store.session_id("claude-code", "s2").unwrap(), None);
        let note = NewObservation {
            kind: "discovery".into(),
            title: "uploads time out".into(),
            content_hash: "uploads".into(),
            generated_by: "user".into(),
            ..NewObservation::default()
        };
        let id = store.remember(None, &note, 1).unwrap().unwrap();
        assert!(!store.was_recalled(session, id).unwrap());
        store.record_recalls(session, &[id], 5).unwrap();
        store.record_recalls(session, &[id], 9).unwrap();
        assert!(store.was_recalled(session, id).unwrap());
        let at: i64 = store
            .conn()
            .query_row(
                "SELECT at FROM recalls WHERE observation_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(at, 5, "a second recall keeps the first time");
    }
}
