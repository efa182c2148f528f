//! mnemo's store: one SQLite file holding what was captured (projects,
//! sessions, prompts, the raw event log), the memories made of it
//! (observations, summaries, their full-text indexes and vectors), and the
//! bookkeeping of recall, enrichment and imports, with versioned migrations.
//! It owns the schema and every write.
//!
//! The store knows nothing about Claude Code's JSON (the events that open or
//! end a session or close an episode it names through `mnemo-agent`): callers hand it
//! normalized [`HookRecord`]s (already redacted) and it turns them into rows in
//! one short `BEGIN IMMEDIATE` transaction, so concurrent hook processes never
//! deadlock and a killed process leaves either the whole record or nothing.

#![warn(missing_docs)]

pub mod archive;
mod enrichment;
mod episodes;
mod external;
mod forget;
mod imports;
mod migrate;
pub mod rank;
mod recalls;
mod record;
mod stats;
pub mod team;
mod vectors;

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, ffi};

pub use enrichment::{EpisodeObservation, LlmCall};
pub use episodes::{
    CompressedEpisode, EpisodeData, EpisodeEvent, ExistingObservation, NewObservation, NewSummary,
    ObservationMerge, PendingEpisode, SavedEpisode,
};
pub use external::{ExternalBatch, ExternalPrompt, ExternalSession};
pub use imports::{ImportTally, ImportedTurn, SessionOrigin, TranscriptMark};
pub use migrate::{SCHEMA_VERSION, migrate_to};
pub use record::{HookRecord, ProjectRef, PromptText, Recorded};
pub use stats::{Stats, utc_day_start};
pub use team::{Applied, JoinedProject, OutboxEntry, TeamKind, TeamMemory};
pub use vectors::VectorSource;

/// Observation types (claude-mem's `code` mode), as the schema's CHECK allows.
pub const OBSERVATION_TYPES: &[&str] = &[
    "bugfix",
    "feature",
    "refactor",
    "change",
    "discovery",
    "decision",
    "security_alert",
    "security_note",
];

/// Observation concepts (claude-mem's `code` mode).
pub const CONCEPTS: &[&str] = &[
    "how-it-works",
    "why-it-exists",
    "what-changed",
    "problem-solution",
    "gotcha",
    "pattern",
    "trade-off",
];

/// How durable a commit is. Both survive a crash or `SIGKILL` of the writer
/// (WAL); `Full` also survives power loss, at the cost of an fsync per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL with `synchronous = NORMAL`: a commit survives a crash of the writer.
    #[default]
    Normal,
    /// `synchronous = FULL`: a commit also survives power loss.
    Full,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a writer waits for another writer before giving up.
    pub busy_timeout: Duration,
    /// Whether a commit also survives power loss (`store.synchronous`).
    pub durability: Durability,
    /// Leave the WAL as it is when this connection closes, even if it is
    /// the last one. For a hook the agent waits for: the checkpoint would
    /// cost fsyncs for a few pages, which the next writer checkpoints anyway.
    /// Never for a writer of many pages: the next process would have to read
    /// the whole WAL back.
    pub keep_wal_on_close: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_millis(2000),
            durability: Durability::Normal,
            keep_wal_on_close: false,
        }
    }
}

/// Why the store could not do what was asked, classified so callers can
/// explain it in one line and decide to spool.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer held the lock past the busy timeout.
    #[error("database is locked (another writer held it past the busy timeout)")]
    Busy(#[source] rusqlite::Error),
    /// The file is not a readable SQLite database.
    #[error("database file is corrupt or not a database: {0}")]
    Corrupt(#[source] rusqlite::Error),
    /// The file or its directory cannot be written.
    #[error("database is read-only: {0}")]
    ReadOnly(#[source] rusqlite::Error),
    /// The disk, or SQLite's size limit, is full.
    #[error("disk or database is full: {0}")]
    Full(#[source] rusqlite::Error),
    #[error(
        "database schema version {found} is newer than this mnemo understands ({known}); upgrade mnemo"
    )]
    /// The database was written by a newer mnemo; it is neither read nor migrated.
    NewerSchema {
        /// The schema version the file holds.
        found: i64,
        /// The newest schema version this binary knows.
        known: i64,
    },
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Other(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        let code = match &err {
            rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
            _ => None,
        };
        match code {
            Some(ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked) => {
                StoreError::Busy(err)
            }
            Some(ffi::ErrorCode::DatabaseCorrupt | ffi::ErrorCode::NotADatabase) => {
                StoreError::Corrupt(err)
            }
            Some(ffi::ErrorCode::ReadOnly | ffi::ErrorCode::CannotOpen) => {
                StoreError::ReadOnly(err)
            }
            Some(ffi::ErrorCode::DiskFull) => StoreError::Full(err),
            _ => StoreError::Other(err),
        }
    }
}

impl StoreError {
    /// Whether the error is about the database as a whole (locked, full,
    /// read-only, corrupt, failing I/O) rather than the data at hand: work
    /// that hit it should be retried later, not set aside.
    pub fn is_store_wide(&self) -> bool {
        match self {
            StoreError::Other(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                ffi::ErrorCode::SystemIoFailure
                    | ffi::ErrorCode::OutOfMemory
                    | ffi::ErrorCode::PermissionDenied
                    | ffi::ErrorCode::OperationInterrupted
            ),
            StoreError::Other(_) => false,
            _ => true,
        }
    }
}

/// The store's result, failing with a [`StoreError`] unless said otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open mnemo database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (creating if needed) the database at `path`, set the connection
    /// pragmas and bring the schema up to [`SCHEMA_VERSION`].
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        Self::configure(conn, options)
    }

    /// An in-memory database with the full schema, for tests and tools.
    pub fn open_in_memory() -> Result<Store> {
        Self::configure(Connection::open_in_memory()?, &StoreOptions::default())
    }

    fn configure(conn: Connection, options: &StoreOptions) -> Result<Store> {
        conn.busy_timeout(options.busy_timeout)?;
        let synchronous = match options.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        // journal_mode is persistent; asking again on a WAL database is a no-op.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {synchronous};
             PRAGMA foreign_keys = ON;
             PRAGMA journal_size_limit = 8388608;"
        ))?;
        if options.keep_wal_on_close {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        }
        // The default 16 is fewer than the statements one busy path (a
        // pulled page, a hook with its searches) cycles through, and a
        // statement pushed out is parsed again on its next use.
        conn.set_prepared_statement_cache_capacity(64);
        rank::register(&conn)?;
        let mut store = Store { conn };
        migrate::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// Wrap an already-open connection without touching its schema (for tests
    /// of migrations and for read-only inspection).
    pub fn from_connection(conn: Connection) -> Store {
        Store { conn }
    }

    /// The underlying connection, for queries the store has no method for.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// SQLite's `PRAGMA data_version`: it changes when another connection
    /// commits, so a long-lived process can tell the store changed.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}
