//! The server's schema: versioned migrations (`migrations/NNNN_*.sql`),
//! applied in one transaction under an advisory lock, so clients that
//! connect at the same moment migrate once. `mnemo_schema_version` holds one
//! row per applied version.

use postgres::Client;

use crate::connection::Scrub;
use crate::{Error, Result};

/// The migrations this binary knows, in order; the last is its version.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_records.sql"))];

/// The newest schema version this binary knows.
pub(crate) const KNOWN: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock key migrations hold exclusively and pushes shared, so
/// no push writes while the schema changes.
pub(crate) const LOCK: i64 = 0x6d6e_656d_6f5f_7473; // "mnemo_ts"

/// Bring the schema up to [`KNOWN`]; [`Error::SchemaNewer`] when the
/// server is ahead.
pub(crate) fn migrate(client: &mut Client, scrub: &Scrub) -> Result<()> {
    let sql = |e: postgres::Error| scrub.error(&e);
    // Most connections find the schema current (or newer): a read, no lock.
    if let Some(version) = current_version(client).map_err(sql)? {
        check_not_newer(version)?;
        if version == KNOWN {
            return Ok(());
        }
    }
    let mut transaction = client.transaction().map_err(sql)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(sql)?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS mnemo_schema_version (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .map_err(sql)?;
    let current = version_in(&mut transaction).map_err(sql)?;
    check_not_newer(current)?;
    for (version, migration) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
        transaction.batch_execute(migration).map_err(sql)?;
        transaction
            .execute(
                "INSERT INTO mnemo_schema_version (version) VALUES ($1)",
                &[version],
            )
            .map_err(sql)?;
    }
    transaction.commit().map_err(sql)
}

/// [`Error::SchemaNewer`] when `server` is past [`KNOWN`].
pub(crate) fn check_not_newer(server: i64) -> Result<()> {
    if server > KNOWN {
        return Err(Error::SchemaNewer {
            server,
            known: KNOWN,
        });
    }
    Ok(())
}

/// The server's version, `None` before the first migration.
fn current_version(client: &mut Client) -> Result<Option<i64>, postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('mnemo_schema_version') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(None);
    }
    version_in(client).map(Some)
}

/// The highest applied version (0 when none).
pub(crate) fn version_in(
    client: &mut impl postgres::GenericClient,
) -> Result<i64, postgres::Error> {
    client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM mnemo_schema_version",
            &[],
        )
        .map(|row| row.get(0))
}
