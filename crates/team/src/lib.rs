//! Team memory on PostgreSQL: the server side of `mnemo sync`.
//!
//! Each machine keeps its own SQLite store; this crate moves shared memories
//! (observations and session summaries of joined projects, their edits and
//! tombstones) between that store's caller and a PostgreSQL database. It knows
//! nothing about SQLite: the caller hands it [`Record`]s to push and applies
//! the [`Record`]s it pulls.
//!
//! Guarantees the caller relies on:
//! - [`Server::push`] returns only after the PostgreSQL transaction that
//!   stored the whole batch has committed; pushing the same record again is a
//!   no-op (records are keyed by their global id, [`Record::gid`]).
//! - Concurrent versions of one record resolve by [`winner`], the same answer
//!   on every machine and on the server; every version is kept in the
//!   server's history.
//! - [`Server::pull`] is incremental and never skips a row, even when
//!   concurrent writers commit out of order.

#![warn(missing_docs)]

mod connection;
mod pgpass;
mod schema;
mod sync;
mod tls;

use std::cmp::Ordering;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use connection::{Scrub, Target};

/// How to reach the team's server, from `[team]` in config.toml.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// A PostgreSQL connection URL (`postgresql://user@host:port/db?sslmode=…`).
    /// The password may be in it, or come from `PGPASSWORD`, `~/.pgpass` or
    /// [`ServerConfig::password_file`].
    pub url: String,
    /// A file holding the password (its first line), when not in the URL.
    pub password_file: Option<PathBuf>,
}

/// What kind of memory a [`Record`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An observation.
    Observation,
    /// A session summary.
    Summary,
}

impl Kind {
    /// Its name on the server (`mnemo_records.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Observation => "observation",
            Kind::Summary => "summary",
        }
    }
}

/// One shared memory, as it travels and as the server keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Globally unique id (32 lowercase hex characters), made once on the
    /// machine that wrote the memory.
    pub gid: String,
    /// The project's portable key (`github.com/acme/api`, or `root:<sha>`).
    pub project: String,
    /// Observation or summary.
    pub kind: Kind,
    /// The agent's session id the memory came from, when known; memories of
    /// one session are grouped by it on every machine.
    pub session: Option<String>,
    /// Who wrote it (git's `user.name` by default).
    pub author: String,
    /// The machine it was written on (a stable random id per data directory).
    pub origin: String,
    /// When the events it came from happened (Unix ms).
    pub created_at: i64,
    /// When this version was made (Unix ms); with `origin`, decides conflicts.
    pub edited_at: i64,
    /// A tombstone: the memory was forgotten or replaced. `body` keeps the
    /// last content so an undo can bring it back.
    pub deleted: bool,
    /// The memory's fields (already redacted), opaque to the server.
    pub body: serde_json::Value,
}

/// The deterministic conflict rule: the version with the later `edited_at`
/// wins; ties go to the greater `origin`, then to the tombstone (so a
/// forget and its undo made in the same millisecond on one machine resolve
/// the same way everywhere), then to the greater body text.
/// Every machine and the server apply the same rule, so all converge.
pub fn winner<'a>(a: &'a Record, b: &'a Record) -> &'a Record {
    let key = |r: &Record| (r.edited_at, r.origin.clone(), r.deleted, r.body.to_string());
    match key(a).cmp(&key(b)) {
        Ordering::Less => b,
        _ => a,
    }
}

/// Where a pull resumes: opaque to the caller, stored as text between rounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark(pub String);

impl Watermark {
    /// The beginning: a first pull reads everything.
    pub fn start() -> Watermark {
        Watermark(String::new())
    }
}

/// One page of a pull.
#[derive(Debug)]
pub struct Page {
    /// The records changed since the watermark asked for (their current
    /// version on the server).
    pub records: Vec<Record>,
    /// Where the next pull resumes, once these records are applied.
    pub next: Watermark,
    /// Whether more records are waiting past this page.
    pub more: bool,
}

/// What one push did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Records stored as the current version.
    pub stored: usize,
    /// Records the server already had (the same version, or a winning one).
    pub unchanged: usize,
}

/// Why the server could not be used. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection: refused, unreachable, timed out, DNS.
    #[error("team server unreachable: {0}")]
    Unreachable(String),
    /// The server refused the credentials (wrong or expired password, no such role).
    #[error("team server refused the login: {0}")]
    Auth(String),
    /// TLS could not be set up or verified.
    #[error("TLS to the team server failed: {0}")]
    Tls(String),
    /// The server's schema is newer than this binary knows; upgrade mnemo.
    #[error(
        "the team server's schema is version {server}, newer than this mnemo knows ({known}); upgrade mnemo"
    )]
    SchemaNewer {
        /// The server's version.
        server: i64,
        /// The newest this binary knows.
        known: i64,
    },
    /// The configuration cannot be used (bad URL, unreadable password file).
    #[error("team server configuration: {0}")]
    Config(String),
    /// Anything else the server answered.
    #[error("team server: {0}")]
    Server(String),
}

/// A result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A connection to the team's server, its schema migrated to this binary's.
pub struct Server {
    client: postgres::Client,
    description: String,
    /// This connection's backend: the notifications it sent itself are not news.
    backend_pid: i32,
    scrub: Scrub,
}

impl Server {
    /// Connect (TLS as the URL's `sslmode` asks, rustls), within `timeout`,
    /// and bring the server's schema up to date (versioned migrations; a
    /// newer schema is [`Error::SchemaNewer`]).
    pub fn connect(config: &ServerConfig, timeout: Duration) -> Result<Server> {
        let target = Target::from_config(config)?;
        let mut client = target.connect(timeout)?;
        let scrub = target.scrub;
        schema::migrate(&mut client, &scrub)?;
        // Listening from the start, so a change made between a pull and the
        // next wait is not missed. No sorts: a pull must walk its index in
        // order, and right after a bulk push (statistics not yet analysed)
        // the planner would sort every row past the watermark for each
        // page instead; none of this session's other statements sorts.
        client
            .batch_execute(&format!("LISTEN {}; SET enable_sort = off", sync::CHANNEL))
            .map_err(|e| scrub.error(&e))?;
        let backend_pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .map_err(|e| scrub.error(&e))?
            .get(0);
        Ok(Server {
            client,
            description: target.description,
            backend_pid,
            scrub,
        })
    }

    /// The server as people may see it: host, port and database, never the
    /// password.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// Store a batch in one transaction; returns after it committed.
    pub fn push(&mut self, records: &[Record]) -> Result<PushReport> {
        sync::push(&mut self.client, records, &self.scrub)
    }

    /// The records of `projects` changed since `after`, at most `limit`.
    ///
    /// A record may come again in a later page or pull (apply by
    /// [`winner`]); none changed since `after` is ever left out. A
    /// watermark belongs to the set of projects it was pulled with: the
    /// rows of a project joined later lie behind it, so pull a newly joined
    /// project from [`Watermark::start`].
    pub fn pull(&mut self, projects: &[String], after: &Watermark, limit: usize) -> Result<Page> {
        sync::pull(&mut self.client, projects, after, limit, &self.scrub)
    }

    /// How many records of `project` changed after `after` by other
    /// machines than `origin`: what its next pull brings (or a little less:
    /// a record changed again is pulled once), counted up to `cap`.
    pub fn incoming(
        &mut self,
        project: &str,
        after: &Watermark,
        origin: &str,
        cap: i64,
    ) -> Result<i64> {
        sync::incoming(&mut self.client, project, after, origin, cap, &self.scrub)
    }

    /// Wait until the server says something changed (LISTEN/NOTIFY), or
    /// `timeout` passes. Returns whether a change was announced.
    pub fn wait_for_change(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let next = self.client.notifications().timeout_iter(left).next();
            match next {
                Ok(Some(notification)) if notification.process_id() == self.backend_pid => continue,
                Ok(Some(_)) => return Ok(true),
                Ok(None) if self.client.is_closed() => {
                    return Err(Error::Unreachable(format!(
                        "the connection to {} was closed",
                        self.description
                    )));
                }
                Ok(None) => return Ok(false),
                Err(e) => return Err(self.scrub.error(&e)),
            }
        }
    }
}
