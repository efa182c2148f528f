//! Versioned, forward-only migrations keyed on `PRAGMA user_version`.
//!
//! To change the schema, add a numbered `.sql` file under `migrations/` and a
//! line to [`MIGRATIONS`]; every database is upgraded in place the next time
//! any mnemo process opens it. Each step runs in its own `BEGIN IMMEDIATE`
//! transaction that re-reads the version first, so two processes opening an old
//! file at the same moment apply each step exactly once.

use rusqlite::{Connection, TransactionBehavior};

use crate::{Result, StoreError};

/// `(version, name, sql)`; versions are contiguous from 1.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "capture", include_str!("migrations/0001_capture.sql")),
    (
        2,
        "rejected inputs",
        include_str!("migrations/0002_rejected_inputs.sql"),
    ),
    (
        3,
        "compression",
        include_str!("migrations/0003_compression.sql"),
    ),
    (4, "recalls", include_str!("migrations/0004_recalls.sql")),
    (
        5,
        "observation ref",
        include_str!("migrations/0005_observation_ref.sql"),
    ),
    (
        6,
        "search scope",
        include_str!("migrations/0006_search_scope.sql"),
    ),
    (7, "vectors", include_str!("migrations/0007_vectors.sql")),
    (8, "browse", include_str!("migrations/0008_browse.sql")),
    (9, "imports", include_str!("migrations/0009_imports.sql")),
    (
        10,
        "observation files",
        include_str!("migrations/0010_observation_files.sql"),
    ),
    (
        11,
        "compress skipped",
        include_str!("migrations/0011_compress_skipped.sql"),
    ),
    (12, "team", include_str!("migrations/0012_team.sql")),
    (
        13,
        "team versions",
        include_str!("migrations/0013_team_versions.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring `conn` to [`SCHEMA_VERSION`]. Cheap when already current: one pragma read.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Bring `conn` to exactly `target` (used by tests to build older databases).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current = user_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    if current >= target {
        return Ok(());
    }
    for &(version, _name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= target) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if user_version(&tx)? >= version {
            continue; // another process got here first
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_contiguous() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i64 + 1, "migration {} out of order", m.1);
        }
    }

    #[test]
    fn fresh_database_reaches_current_version_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn older_database_is_upgraded_in_place_keeping_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 1).unwrap();
            conn.execute(
                "INSERT INTO projects (root, name, created_at) VALUES ('/r/api', 'api', 1)",
                [],
            )
            .unwrap();
        }
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let root: String = conn
            .query_row("SELECT root FROM projects", [], |r| r.get(0))
            .unwrap();
        assert_eq!(root, "/r/api");
        conn.execute(
            "INSERT INTO rejected_inputs (reason, input_bytes, input_head, created_at) VALUES ('x', 1, '', 1)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn search_scope_reindexes_existing_observations() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (id, root, name, created_at) VALUES (7, '/r/api', 'api', 1);
             INSERT INTO observations (project_id, type, title, content_hash, generated_by, created_at)
             VALUES (7, 'security_alert', 'token leaked in logs', 'h', 'rules', 1);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM observations_fts
                 WHERE observations_fts MATCH 'leaked AND {scope} : (p7 AND tsecurityalert)'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
        conn.execute("UPDATE observations SET type = 'bugfix'", [])
            .unwrap();
        let retyped: i64 = conn
            .query_row(
                "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH '{scope} : tbugfix'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(retyped, 1);
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::NewerSchema { .. })
        ));
    }

    /// Migration 10's triggers keep `observation_files` equal to the
    /// observations' file lists through inserts, edits and deletes, and a
    /// malformed list never fails a write.
    #[test]
    fn the_file_index_follows_the_observations() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let insert = |id: i64, read: &str, modified: &str| {
            conn.execute(
                "INSERT INTO observations (id, type, title, content_hash, generated_by,
                                           created_at, files_read, files_modified)
                 VALUES (?1, 'change', 't', ?1, 'user', 0, ?2, ?3)",
                rusqlite::params![id, read, modified],
            )
            .unwrap();
        };
        insert(1, r#"["/repo/src/cart.py","README"]"#, r#"["src/cart.py"]"#);
        insert(2, "not json", r#"{"a": "lib/x.rs"}"#);
        let rows = |conn: &Connection| -> Vec<(String, String, i64)> {
            conn.prepare("SELECT name, path, observation_id FROM observation_files ORDER BY 3, 2")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let row = |name: &str, path: &str, id| (name.to_string(), path.to_string(), id);
        assert_eq!(
            rows(&conn),
            [
                row("cart.py", "/repo/src/cart.py", 1),
                row("README", "README", 1),
                row("cart.py", "src/cart.py", 1),
                row("x.rs", "lib/x.rs", 2),
            ]
        );
        conn.execute(
            r#"UPDATE observations SET files_modified = '["a/b/a/b"]' WHERE id = 2"#,
            [],
        )
        .unwrap();
        conn.execute("DELETE FROM observations WHERE id = 1", [])
            .unwrap();
        assert_eq!(rows(&conn), [row("b", "a/b/a/b", 2)]);
    }
}
