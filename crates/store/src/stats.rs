//! Counts for `mnemo stats` and the tests.

use crate::{Result, Store};

/// Row counts and sizes of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub projects: i64,
    pub sessions: i64,
    pub prompts: i64,
    pub events: i64,
    /// Events not yet compressed.
    pub events_pending: i64,
    pub rejected_inputs: i64,
    /// Size of the main database file (pages × page size), excluding the WAL.
    pub db_bytes: i64,
}

impl Store {
    /// Current counts.
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.conn.query_row(
            "SELECT
                (SELECT count(*) FROM projects),
                (SELECT count(*) FROM sessions),
                (SELECT count(*) FROM prompts),
                (SELECT count(*) FROM events),
                (SELECT count(*) FROM events WHERE processed_at IS NULL),
                (SELECT count(*) FROM rejected_inputs),
                (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())",
            [],
            |r| {
                Ok(Stats {
                    projects: r.get(0)?,
                    sessions: r.get(1)?,
                    prompts: r.get(2)?,
                    events: r.get(3)?,
                    events_pending: r.get(4)?,
                    rejected_inputs: r.get(5)?,
                    db_bytes: r.get(6)?,
                })
            },
        )?)
    }
}
