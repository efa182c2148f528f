//! Forgetting observations: a soft delete (`observations.deleted_at`) that
//! every read query already honours, and its undo.
//!
//! Nothing is erased, so forgetting is reversible; the full-text index keeps
//! the row and readers filter on `deleted_at IS NULL`.

use rusqlite::{TransactionBehavior, params_from_iter};

use crate::{Result, Store};

impl Store {
    /// Mark the live observations among `ids` as forgotten at `now` (Unix
    /// ms). Returns the ids that were live and are now forgotten, in
    /// ascending order; unknown or already forgotten ids are skipped.
    pub fn forget(&mut self, ids: &[i64], now: i64) -> Result<Vec<i64>> {
        self.set_deleted(ids, Some(now))
    }

    /// Undo [`Store::forget`]: the forgotten observations among `ids` become
    /// live again. Returns the ids restored, in ascending order.
    pub fn restore(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        self.set_deleted(ids, None)
    }

    /// Set `deleted_at` on the observations among `ids` whose state changes
    /// (live to forgotten with `Some`, forgotten to live with `None`).
    fn set_deleted(&mut self, ids: &[i64], deleted_at: Option<i64>) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let placeholders = vec!["?"; ids.len()].join(", ");
        let (set, currently) = match deleted_at {
            Some(at) => (at.to_string(), "IS NULL"),
            None => ("NULL".to_string(), "IS NOT NULL"),
        };
        let mut changed: Vec<i64> = tx
            .prepare(&format!(
                "UPDATE observations SET deleted_at = {set}
                 WHERE id IN ({placeholders}) AND deleted_at {currently}
                 RETURNING id"
            ))?
            .query_map(params_from_iter(ids), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        tx.commit()?;
        changed.sort_unstable();
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewObservation, Store};

    fn note(store: &mut Store, title: &str) -> i64 {
        let observation = NewObservation {
            kind: "discovery".into(),
            title: title.into(),
            content_hash: title.into(),
            generated_by: "user".into(),
            ..NewObservation::default()
        };
        store.remember(None, &observation, 1).unwrap().unwrap()
    }

    fn live(store: &Store) -> i64 {
        store
            .conn()
            .query_row(
                "SELECT count(*) FROM observations WHERE deleted_at IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn forget_is_soft_and_undone_by_restore() {
        let mut store = Store::open_in_memory().unwrap();
        let (a, b) = (note(&mut store, "a"), note(&mut store, "b"));
        assert_eq!(store.forget(&[b, a, 999], 5).unwrap(), [a, b]);
        assert_eq!(live(&store), 0);
        assert!(
            store.forget(&[a], 6).unwrap().is_empty(),
            "already forgotten"
        );
        let at: i64 = store
            .conn()
            .query_row(
                "SELECT deleted_at FROM observations WHERE id = ?1",
                [a],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(at, 5, "a second forget keeps the first time");
        assert_eq!(store.restore(&[a]).unwrap(), [a]);
        assert!(store.restore(&[a]).unwrap().is_empty(), "already live");
        assert_eq!(live(&store), 1);
        assert!(store.forget(&[], 7).unwrap().is_empty());
    }
}
