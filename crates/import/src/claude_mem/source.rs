//! Reading a claude-mem database, whatever its schema version.
//!
//! claude-mem migrates its schema in place (versions 4 to 49 so far, in
//! `schema_versions`), renaming and adding columns as it goes: sessions
//! were keyed by `claude_session_id` / `sdk_session_id` before they became
//! `content_session_id` / `memory_session_id` (version 17); observations
//! had only `text` before `title`, `subtitle`, `narrative`, `facts`,
//! `concepts` and the file lists (version 8); `user_prompts` appeared in
//! version 10, `prompt_number` in 6. So every query is built from the
//! columns `PRAGMA table_info` reports, and a missing optional column reads
//! as NULL.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};

use super::ImportError;

/// Rows read per query (and written per transaction).
pub(super) const CHUNK: usize = 1000;

/// An open claude-mem database and the shape of its tables.
pub(super) struct Source {
    conn: Connection,
    path: PathBuf,
    /// `max(version)` of `schema_versions`, when the table exists.
    pub version: Option<i64>,
    sessions: Columns,
    observations: Columns,
    summaries: Columns,
    /// `None` before claude-mem version 10.
    prompts: Option<Columns>,
}

/// The columns of one table.
struct Columns {
    table: &'static str,
    names: Vec<String>,
}

impl Columns {
    /// The first of `candidates` the table has (a column and its older
    /// names), quoted, or `NULL`.
    fn pick(&self, candidates: &[&str]) -> String {
        candidates
            .iter()
            .find(|c| self.names.iter().any(|n| n == *c))
            .map_or_else(|| "NULL".to_string(), |c| format!("\"{c}\""))
    }

    /// Like [`Columns::pick`], for a column the import cannot do without.
    fn require(&self, candidates: &[&'static str], path: &Path) -> Result<String, ImportError> {
        let picked = self.pick(candidates);
        if picked == "NULL" {
            return Err(ImportError::MissingColumn {
                path: path.to_path_buf(),
                table: self.table,
                column: candidates[0],
            });
        }
        Ok(picked)
    }
}

/// A claude-mem session (`sdk_sessions`).
#[derive(Debug, Clone)]
pub(super) struct SessionRow {
    pub id: i64,
    /// Claude Code's session id.
    pub content_id: String,
    /// The observer's session id: what observations and summaries point to.
    pub memory_id: Option<String>,
    pub project: String,
    pub platform: Option<String>,
    /// The session's first prompt (the only one versions before 10 kept).
    pub first_prompt: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub status: Option<String>,
}

/// A claude-mem prompt (`user_prompts`).
#[derive(Debug, Clone)]
pub(super) struct PromptRow {
    pub id: i64,
    /// `sdk_sessions.id`, in versions that record it.
    pub session_row: Option<i64>,
    pub content_id: String,
    pub number: Option<i64>,
    pub text: String,
    pub created_at: Option<i64>,
}

/// A claude-mem observation.
#[derive(Debug, Clone)]
pub(super) struct ObservationRow {
    pub id: i64,
    pub memory_id: Option<String>,
    /// The project it was adopted into (worktrees), else its own.
    pub project: String,
    pub kind: String,
    pub text: Option<String>,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub narrative: Option<String>,
    pub facts: Option<String>,
    pub concepts: Option<String>,
    pub files_read: Option<String>,
    pub files_modified: Option<String>,
    pub prompt_number: Option<i64>,
    pub created_at: Option<i64>,
    pub model: Option<String>,
}

/// A claude-mem session summary (one per Stop).
#[derive(Debug, Clone)]
pub(super) struct SummaryRow {
    pub id: i64,
    pub memory_id: Option<String>,
    pub request: Option<String>,
    pub investigated: Option<String>,
    pub learned: Option<String>,
    pub completed: Option<String>,
    pub next_steps: Option<String>,
    pub notes: Option<String>,
    pub files_read: Option<String>,
    pub files_edited: Option<String>,
    pub prompt_number: Option<i64>,
    pub created_at: Option<i64>,
}

impl Source {
    /// Open `path` read-only and read its schema. The file is never written:
    /// a claude-mem worker may be running on it (WAL readers do not block).
    pub fn open(path: &Path) -> Result<Source, ImportError> {
        if !path.is_file() {
            return Err(ImportError::Missing(path.to_path_buf()));
        }
        let not_db = |e: rusqlite::Error| ImportError::NotDatabase {
            path: path.to_path_buf(),
            why: e.to_string(),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(not_db)?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(not_db)?;
        let columns = |table: &'static str| -> Result<Option<Columns>, ImportError> {
            if !tables.iter().any(|t| t == table) {
                return Ok(None);
            }
            let names = conn
                .prepare(&format!("PRAGMA table_info(\"{table}\")"))
                .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(1))?.collect())
                .map_err(not_db)?;
            Ok(Some(Columns { table, names }))
        };
        let required = |table: &'static str| -> Result<Columns, ImportError> {
            columns(table)?.ok_or_else(|| ImportError::MissingTable {
                path: path.to_path_buf(),
                table,
            })
        };
        let sessions = required("sdk_sessions")?;
        let observations = required("observations")?;
        let summaries = required("session_summaries")?;
        let prompts = columns("user_prompts")?;
        let version = if tables.iter().any(|t| t == "schema_versions") {
            conn.query_row("SELECT max(version) FROM schema_versions", [], |r| r.get(0))
                .map_err(not_db)?
        } else {
            None
        };
        Ok(Source {
            conn,
            path: path.to_path_buf(),
            version,
            sessions,
            observations,
            summaries,
            prompts,
        })
    }

    fn read_error(&self, source: rusqlite::Error) -> ImportError {
        ImportError::Read {
            path: self.path.clone(),
            source,
        }
    }

    /// Rows of `sql` (which takes no parameter or a keyset bound), mapped.
    fn rows<T>(
        &self,
        sql: &str,
        bound: Option<i64>,
        map: impl Fn(&Row) -> T,
    ) -> Result<Vec<T>, ImportError> {
        let run = || -> rusqlite::Result<Vec<T>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = match bound {
                Some(b) => stmt.query([b])?,
                None => stmt.query([])?,
            };
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(map(row));
            }
            Ok(out)
        };
        run().map_err(|e| self.read_error(e))
    }

    /// How many rows `table` has (0 for a table this version lacks).
    pub fn count(&self, table: &str) -> Result<u64, ImportError> {
        if table == "user_prompts" && self.prompts.is_none() {
            return Ok(0);
        }
        self.conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.read_error(e))
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Result<Vec<SessionRow>, ImportError> {
        let c = &self.sessions;
        let sql = format!(
            "SELECT id, {}, {}, {}, {}, {}, {}, {}, {} FROM sdk_sessions ORDER BY id",
            c.require(&["content_session_id", "claude_session_id"], &self.path)?,
            c.pick(&["memory_session_id", "sdk_session_id"]),
            c.require(&["project"], &self.path)?,
            c.pick(&["platform_source"]),
            c.pick(&["user_prompt"]),
            c.pick(&["started_at_epoch"]),
            c.pick(&["completed_at_epoch"]),
            c.pick(&["status"]),
        );
        self.rows(&sql, None, |r| SessionRow {
            id: int(r, 0).unwrap_or_default(),
            content_id: text(r, 1).unwrap_or_default(),
            memory_id: text(r, 2).filter(|s| !s.is_empty()),
            project: text(r, 3).unwrap_or_default(),
            platform: text(r, 4),
            first_prompt: text(r, 5),
            started_at: int(r, 6).map(epoch_ms),
            completed_at: int(r, 7).map(epoch_ms),
            status: text(r, 8),
        })
    }

    /// Distinct project names of observations and summaries (sessions'
    /// come with [`Source::sessions`]).
    pub fn row_projects(&self) -> Result<Vec<String>, ImportError> {
        let mut names = Vec::new();
        for c in [&self.observations, &self.summaries] {
            let sql = format!(
                "SELECT DISTINCT coalesce({}, {}) FROM \"{}\"",
                c.pick(&["merged_into_project"]),
                c.pick(&["project"]),
                c.table
            );
            names.extend(self.rows(&sql, None, |r| text(r, 0))?.into_iter().flatten());
        }
        Ok(names)
    }

    /// Up to [`CHUNK`] prompts with an id above `after`, by id.
    pub fn prompts(&self, after: i64) -> Result<Vec<PromptRow>, ImportError> {
        let Some(c) = &self.prompts else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT id, {}, {}, {}, {}, {} FROM user_prompts WHERE id > ?1 ORDER BY id LIMIT {CHUNK}",
            c.pick(&["session_db_id"]),
            c.require(&["content_session_id", "claude_session_id"], &self.path)?,
            c.pick(&["prompt_number"]),
            c.pick(&["prompt_text"]),
            c.pick(&["created_at_epoch"]),
        );
        self.rows(&sql, Some(after), |r| PromptRow {
            id: int(r, 0).unwrap_or_default(),
            session_row: int(r, 1),
            content_id: text(r, 2).unwrap_or_default(),
            number: int(r, 3),
            text: text(r, 4).unwrap_or_default(),
            created_at: int(r, 5).map(epoch_ms),
        })
    }

    /// Up to [`CHUNK`] observations with an id above `after`, by id.
    pub fn observations(&self, after: i64) -> Result<Vec<ObservationRow>, ImportError> {
        let c = &self.observations;
        let sql = format!(
            "SELECT id, {}, coalesce({}, {}), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
             FROM observations WHERE id > ?1 ORDER BY id LIMIT {CHUNK}",
            c.pick(&["memory_session_id", "sdk_session_id"]),
            c.pick(&["merged_into_project"]),
            c.require(&["project"], &self.path)?,
            c.pick(&["type"]),
            c.pick(&["text"]),
            c.pick(&["title"]),
            c.pick(&["subtitle"]),
            c.pick(&["narrative"]),
            c.pick(&["facts"]),
            c.pick(&["concepts"]),
            c.pick(&["files_read"]),
            c.pick(&["files_modified"]),
            c.pick(&["prompt_number"]),
            c.pick(&["created_at_epoch"]),
            c.pick(&["generated_by_model"]),
        );
        self.rows(&sql, Some(after), |r| ObservationRow {
            id: int(r, 0).unwrap_or_default(),
            memory_id: text(r, 1),
            project: text(r, 2).unwrap_or_default(),
            kind: text(r, 3).unwrap_or_default(),
            text: text(r, 4),
            title: text(r, 5),
            subtitle: text(r, 6),
            narrative: text(r, 7),
            facts: text(r, 8),
            concepts: text(r, 9),
            files_read: text(r, 10),
            files_modified: text(r, 11),
            prompt_number: int(r, 12),
            created_at: int(r, 13).map(epoch_ms),
            model: text(r, 14).filter(|m| !m.is_empty()),
        })
    }

    /// Up to [`CHUNK`] summaries with an id below `before`, newest first (so
    /// the latest summary of a prompt is met first).
    pub fn summaries(&self, before: i64) -> Result<Vec<SummaryRow>, ImportError> {
        let c = &self.summaries;
        let sql = format!(
            "SELECT id, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
             FROM session_summaries WHERE id < ?1 ORDER BY id DESC LIMIT {CHUNK}",
            c.require(&["memory_session_id", "sdk_session_id"], &self.path)?,
            c.pick(&["request"]),
            c.pick(&["investigated"]),
            c.pick(&["learned"]),
            c.pick(&["completed"]),
            c.pick(&["next_steps"]),
            c.pick(&["notes"]),
            c.pick(&["files_read"]),
            c.pick(&["files_edited"]),
            c.pick(&["prompt_number"]),
            c.pick(&["created_at_epoch"]),
        );
        self.rows(&sql, Some(before), |r| SummaryRow {
            id: int(r, 0).unwrap_or_default(),
            memory_id: text(r, 1),
            request: text(r, 2),
            investigated: text(r, 3),
            learned: text(r, 4),
            completed: text(r, 5),
            next_steps: text(r, 6),
            notes: text(r, 7),
            files_read: text(r, 8),
            files_edited: text(r, 9),
            prompt_number: int(r, 10),
            created_at: int(r, 11).map(epoch_ms),
        })
    }
}

/// A column as text, whatever SQLite stored in it (claude-mem's columns are
/// declared but not enforced).
fn text(row: &Row, i: usize) -> Option<String> {
    match row.get_ref(i).ok()? {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// A column as an integer, if it holds one (or text that is one).
fn int(row: &Row, i: usize) -> Option<i64> {
    match row.get_ref(i).ok()? {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(x) => Some(x as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

/// claude-mem's `*_epoch` columns are Unix milliseconds; a value that can
/// only be seconds (before 1973 as milliseconds) is taken as seconds.
fn epoch_ms(t: i64) -> i64 {
    if t > 0 && t < 100_000_000_000 {
        t * 1000
    } else {
        t
    }
}
