//! The archive: everything in the store as JSON lines, streamed out by
//! [`export`] and merged back in by [`ArchiveImporter`] (the format is documented
//! in `docs/EXPORT.md`).
//!
//! One table describes each record kind (`TABLES`): its fields, how a row
//! already stored is recognised (a natural key, never the id, so importing a
//! file twice or onto the machine it came from adds nothing), and which rows
//! belong to a project. Export and import are both driven by it, so a column
//! added to the schema is added to the archive in one place.
//!
//! Memory stays bounded on both sides: export walks each table in id order
//! inside one read transaction (a consistent snapshot while hooks keep
//! writing); import maps the file's ids to local ones in a temporary table,
//! which SQLite keeps on disk when it grows.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{OptionalExtension, ffi, params, params_from_iter};
use serde_json::Value;

use crate::episodes::json as json_text;
use crate::{Store, StoreError};

/// The archive format version this build writes, and the newest it reads.
/// Bumped only by changes an older reader would misread (see the policy in
/// `docs/EXPORT.md`); new kinds and new fields keep the version.
pub const FORMAT_VERSION: i64 = 1;

/// Records written per import transaction: large enough to be fast, small
/// enough that hooks waiting for the write lock are not held up for long.
const BATCH: usize = 1000;

/// How a field's JSON value maps to its column.
#[derive(Debug, Clone, Copy)]
enum Type {
    /// An integer (times in Unix ms, counts, 0/1 flags) or null.
    Int,
    /// A string or null, stored as is (names, paths, identifiers).
    Text,
    /// Free text, run through the sanitizer on import.
    Clean,
    /// A JSON array of strings kept as JSON text; each string is sanitized.
    List,
    /// A [`Type::List`] of file paths: when a shared memory is met again in
    /// a clone at another root, its paths move under the local root.
    Paths,
    /// A hook payload: a JSON object kept as JSON text, sanitized as an event.
    Payload,
    /// The id of an earlier record of this kind in the same file.
    Ref(&'static str),
    /// A JSON array of ids of earlier records of this kind; ids not in the
    /// file are dropped.
    RefList(&'static str),
    /// The id of an observation anywhere in the file, resolved when the
    /// whole file has been read (`superseded_by` points at a newer one).
    LaterObservation,
    /// A shared memory's version time (Unix ms), an integer or null:
    /// exported as its change waiting to go up to the team, if any, else the
    /// last version sent or pulled (the column).
    Version,
}

/// One field of a record kind.
#[derive(Debug)]
struct Field {
    /// The key in the record.
    name: &'static str,
    column: &'static str,
    kind: Type,
}

const fn field(name: &'static str, column: &'static str, kind: Type) -> Field {
    Field { name, column, kind }
}

/// One way to find a record that is already stored: the fields bound to
/// `?1`, `?2`… of `sql`, which selects the local id (or 1, for tables
/// without one).
#[derive(Debug)]
struct Identity {
    fields: &'static [&'static str],
    sql: &'static str,
}

/// A record kind and the table it lives in.
#[derive(Debug)]
struct Table {
    kind: &'static str,
    table: &'static str,
    /// Whether rows have an `id` that other records refer to.
    has_id: bool,
    fields: &'static [Field],
    /// Ways to recognise a stored row: the first whose fields are all
    /// present and not null, else the last.
    identity: &'static [Identity],
    /// The export order (ids ascending: referents before references).
    order: &'static str,
    /// Which rows belong to project `?1`; `None`: not part of a project
    /// export.
    in_project: Option<&'static str>,
    /// For memories shared with a team (rows with a `gid`): the fields their
    /// versions differ in. A record whose `gid` is already here is that
    /// memory: these are compared, and replaced when the file's version is
    /// the newer one. Empty for every other kind.
    shared: &'static [&'static str],
}

const SESSIONS_OF_PROJECT: &str = "session_id IN (SELECT id FROM sessions WHERE project_id = ?1)";

/// Every record kind, in file order: each only refers to kinds before it
/// (and to observations through [`Type::LaterObservation`]).
const TABLES: &[Table] = &[
    Table {
        kind: "project",
        table: "projects",
        has_id: true,
        fields: &[
            field("root", "root", Type::Text),
            field("name", "name", Type::Text),
            field("created_at", "created_at", Type::Int),
        ],
        identity: &[Identity {
            fields: &["root"],
            sql: "SELECT id FROM projects WHERE root = ?1",
        }],
        order: "id",
        in_project: Some("id = ?1"),
        shared: &[],
    },
    Table {
        kind: "session",
        table: "sessions",
        has_id: true,
        fields: &[
            field("agent", "agent", Type::Text),
            field("agent_session_id", "agent_session_id", Type::Text),
            field("project", "project_id", Type::Ref("project")),
            field("cwd", "cwd", Type::Text),
            field("branch", "branch", Type::Text),
            field("transcript_path", "transcript_path", Type::Text),
            field("source", "source", Type::Text),
            field("started_at", "started_at", Type::Int),
            field("ended_at", "ended_at", Type::Int),
            field("end_reason", "end_reason", Type::Text),
            field("status", "status", Type::Text),
        ],
        identity: &[Identity {
            fields: &["agent", "agent_session_id"],
            sql: "SELECT id FROM sessions WHERE agent = ?1 AND agent_session_id = ?2",
        }],
        order: "id",
        in_project: Some("project_id = ?1"),
        shared: &[],
    },
    Table {
        kind: "prompt",
        table: "prompts",
        has_id: true,
        fields: &[
            field("session", "session_id", Type::Ref("session")),
            field("n", "n", Type::Int),
            field("text", "text", Type::Clean),
            field("private", "private", Type::Int),
            field("agent_prompt_id", "agent_prompt_id", Type::Text),
            field("created_at", "created_at", Type::Int),
            field("compressed_at", "compressed_at", Type::Int),
        ],
        identity: &[Identity {
            fields: &["session", "n"],
            sql: "SELECT id FROM prompts WHERE session_id = ?1 AND n = ?2",
        }],
        order: "id",
        in_project: Some(SESSIONS_OF_PROJECT),
        shared: &[],
    },
    Table {
        kind: "event",
        table: "events",
        has_id: true,
        fields: &[
            field("session", "session_id", Type::Ref("session")),
            field("prompt", "prompt_id", Type::Ref("prompt")),
            field("hook", "hook", Type::Text),
            field("tool_name", "tool_name", Type::Text),
            field("tool_use_id", "tool_use_id", Type::Text),
            field("agent_id", "agent_id", Type::Text),
            field("payload", "payload", Type::Payload),
            field("created_at", "created_at", Type::Int),
            field("processed_at", "processed_at", Type::Int),
        ],
        // Tool events are unique on their tool_use_id (as in capture);
        // others on their time and payload.
        identity: &[
            Identity {
                fields: &["session", "hook", "tool_use_id"],
                sql: "SELECT id FROM events WHERE session_id = ?1 AND hook = ?2 AND tool_use_id = ?3",
            },
            Identity {
                fields: &["session", "hook", "created_at", "payload"],
                sql: "SELECT id FROM events WHERE session_id = ?1 AND hook = ?2 AND created_at = ?3
                      AND payload = ?4 AND tool_use_id IS NULL",
            },
        ],
        order: "id",
        in_project: Some(SESSIONS_OF_PROJECT),
        shared: &[],
    },
    Table {
        kind: "episode",
        table: "episodes",
        has_id: false,
        fields: &[
            field("prompt", "prompt_id", Type::Ref("prompt")),
            field("session", "session_id", Type::Ref("session")),
            field("close_reason", "close_reason", Type::Text),
            field("compressed_at", "compressed_at", Type::Int),
            field("event_count", "event_count", Type::Int),
            field("raw_bytes", "raw_bytes", Type::Int),
            field("enrich_state", "enrich_state", Type::Text),
            field("enrich_error", "enrich_error", Type::Clean),
            field("enriched_at", "enriched_at", Type::Int),
        ],
        identity: &[Identity {
            fields: &["prompt"],
            sql: "SELECT 1 FROM episodes WHERE prompt_id = ?1",
        }],
        order: "prompt_id",
        in_project: Some(SESSIONS_OF_PROJECT),
        shared: &[],
    },
    Table {
        kind: "observation",
        table: "observations",
        has_id: true,
        fields: &[
            field("project", "project_id", Type::Ref("project")),
            field("session", "session_id", Type::Ref("session")),
            field("prompt", "prompt_id", Type::Ref("prompt")),
            field("type", "type", Type::Text),
            field("title", "title", Type::Clean),
            field("subtitle", "subtitle", Type::Clean),
            field("narrative", "narrative", Type::Clean),
            field("facts", "facts", Type::List),
            field("concepts", "concepts", Type::List),
            field("files_read", "files_read", Type::Paths),
            field("files_modified", "files_modified", Type::Paths),
            field("source_events", "source_event_ids", Type::RefList("event")),
            field("content_hash", "content_hash", Type::Text),
            field("generated_by", "generated_by", Type::Text),
            field("created_at", "created_at", Type::Int),
            field("superseded_by", "superseded_by", Type::LaterObservation),
            field("deleted_at", "deleted_at", Type::Int),
            field("ref", "ref", Type::Text),
            field("gid", "gid", Type::Text),
            field("author", "author", Type::Clean),
            field("origin", "origin", Type::Text),
            field("edited_at", "edited_at", Type::Version),
        ],
        // Spelled like the unique index, so the lookup uses it.
        identity: &[Identity {
            fields: &["project", "content_hash"],
            sql: "SELECT id FROM observations
                  WHERE coalesce(project_id, 0) = coalesce(?1, 0) AND content_hash = ?2",
        }],
        order: "id",
        in_project: Some(
            "project_id = ?1 AND (session_id IS NULL
             OR session_id IN (SELECT id FROM sessions WHERE project_id = ?1))",
        ),
        shared: &[
            "type",
            "title",
            "subtitle",
            "narrative",
            "facts",
            "concepts",
            "files_read",
            "files_modified",
            "generated_by",
            "deleted_at",
        ],
    },
    Table {
        kind: "summary",
        table: "summaries",
        has_id: true,
        fields: &[
            field("project", "project_id", Type::Ref("project")),
            field("session", "session_id", Type::Ref("session")),
            field("prompt", "prompt_id", Type::Ref("prompt")),
            field("request", "request", Type::Clean),
            field("investigated", "investigated", Type::Clean),
            field("learned", "learned", Type::Clean),
            field("completed", "completed", Type::Clean),
            field("next_steps", "next_steps", Type::Clean),
            field("files_read", "files_read", Type::Paths),
            field("files_modified", "files_modified", Type::Paths),
            field("generated_by", "generated_by", Type::Text),
            field("created_at", "created_at", Type::Int),
            field("deleted_at", "deleted_at", Type::Int),
            field("gid", "gid", Type::Text),
            field("author", "author", Type::Clean),
            field("origin", "origin", Type::Text),
            field("edited_at", "edited_at", Type::Version),
        ],
        identity: &[Identity {
            fields: &["prompt"],
            sql: "SELECT id FROM summaries WHERE prompt_id = ?1",
        }],
        order: "id",
        in_project: Some(SESSIONS_OF_PROJECT),
        shared: &[
            "request",
            "investigated",
            "learned",
            "completed",
            "next_steps",
            "files_read",
            "files_modified",
            "generated_by",
            "deleted_at",
        ],
    },
    Table {
        kind: "llm_call",
        table: "llm_calls",
        has_id: true,
        fields: &[
            field("at", "at", Type::Int),
            field("backend", "backend", Type::Text),
            field("model", "model", Type::Text),
            field("purpose", "purpose", Type::Text),
            field("prompt", "prompt_id", Type::Ref("prompt")),
            field("input_tokens", "input_tokens", Type::Int),
            field("output_tokens", "output_tokens", Type::Int),
            field("ok", "ok", Type::Int),
            field("error", "error", Type::Clean),
            field("duration_ms", "duration_ms", Type::Int),
        ],
        // A call has no key of its own: it is all of its fields.
        identity: &[Identity {
            fields: &[
                "at",
                "backend",
                "model",
                "purpose",
                "prompt",
                "input_tokens",
                "output_tokens",
                "ok",
                "error",
                "duration_ms",
            ],
            sql: "SELECT id FROM llm_calls WHERE at = ?1 AND backend = ?2 AND model = ?3
                  AND purpose = ?4 AND prompt_id IS ?5 AND input_tokens = ?6
                  AND output_tokens = ?7 AND ok = ?8 AND error IS ?9 AND duration_ms = ?10",
        }],
        order: "id",
        in_project: Some(
            "prompt_id IN (SELECT p.id FROM prompts p JOIN sessions s ON s.id = p.session_id
                           WHERE s.project_id = ?1)",
        ),
        shared: &[],
    },
    Table {
        kind: "recall",
        table: "recalls",
        has_id: false,
        fields: &[
            field("session", "session_id", Type::Ref("session")),
            field("observation", "observation_id", Type::Ref("observation")),
            field("at", "at", Type::Int),
        ],
        identity: &[Identity {
            fields: &["session", "observation"],
            sql: "SELECT 1 FROM recalls WHERE session_id = ?1 AND observation_id = ?2",
        }],
        order: "session_id, observation_id",
        in_project: Some(
            "session_id IN (SELECT id FROM sessions WHERE project_id = ?1)
             AND observation_id IN (SELECT id FROM observations WHERE project_id = ?1)",
        ),
        shared: &[],
    },
    Table {
        kind: "rejected_input",
        table: "rejected_inputs",
        has_id: true,
        fields: &[
            field("hook", "hook", Type::Text),
            field("reason", "reason", Type::Text),
            field("input_bytes", "input_bytes", Type::Int),
            field("input_head", "input_head", Type::Clean),
            field("created_at", "created_at", Type::Int),
        ],
        identity: &[Identity {
            fields: &["created_at", "hook", "reason", "input_bytes", "input_head"],
            sql: "SELECT id FROM rejected_inputs WHERE created_at = ?1 AND hook IS ?2
                  AND reason = ?3 AND input_bytes = ?4 AND input_head = ?5",
        }],
        order: "id",
        // Not tied to any project: only in full exports.
        in_project: None,
        shared: &[],
    },
];

/// Every record kind of this format version, in file order.
fn kinds() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.kind)
}

/// The first line of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version ([`FORMAT_VERSION`] when written by this build).
    pub format: i64,
    /// The schema version of the store it was exported from.
    pub schema: i64,
    /// When it was written (Unix ms).
    pub exported_at: i64,
    /// The version of mnemo that wrote it.
    pub mnemo_version: String,
}

/// Why a first line cannot start an import.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error(
        "this file is mnemo export format {found}; this mnemo reads format {FORMAT_VERSION} and older: upgrade mnemo to import it"
    )]
    /// The file's format version is newer than this build reads.
    Newer {
        /// The format version the file declares.
        found: i64,
    },
    /// The line looks like a header but cannot be read as one.
    #[error("the header line is malformed: {0}")]
    Malformed(String),
}

impl Header {
    /// Read `line` as an archive header: `Ok(None)` when it is not one (a
    /// file of plain observation lines), an error when it is one this build
    /// cannot read.
    pub fn parse(line: &str) -> Result<Option<Header>, HeaderError> {
        let Ok(Value::Object(v)) = serde_json::from_str::<Value>(line) else {
            return Ok(None);
        };
        let Some(format) = v.get("mnemo_export") else {
            return Ok(None);
        };
        let int = |key: &str| v.get(key).and_then(Value::as_i64);
        let format = format
            .as_i64()
            .filter(|f| *f >= 1)
            .ok_or_else(|| HeaderError::Malformed(format!("mnemo_export is {format}")))?;
        if format > FORMAT_VERSION {
            return Err(HeaderError::Newer { found: format });
        }
        Ok(Some(Header {
            format,
            schema: int("schema").unwrap_or(0),
            exported_at: int("exported_at").unwrap_or(0),
            mnemo_version: v
                .get("mnemo_version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        }))
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        // Spelled out so `mnemo_export` comes first, whatever serde_json's
        // map order.
        writeln!(
            out,
            "{{\"mnemo_export\":{},\"schema\":{},\"exported_at\":{},\"mnemo_version\":{}}}",
            self.format,
            self.schema,
            self.exported_at,
            Value::from(self.mnemo_version.as_str())
        )
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed while reading.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing to the output failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] io::Error),
    /// The project asked for is not in this store.
    #[error("no project with root {0} in this store")]
    NoSuchProject(String),
}

impl From<rusqlite::Error> for ExportError {
    fn from(err: rusqlite::Error) -> Self {
        ExportError::Store(err.into())
    }
}

/// Write `header` and then every record — or only those of the project
/// whose root is `project_root` — to `out`, from one consistent snapshot.
/// Returns how many records of each kind were written, in file order.
pub fn export(
    store: &Store,
    project_root: Option<&str>,
    header: &Header,
    out: &mut dyn Write,
) -> Result<Vec<(&'static str, u64)>, ExportError> {
    let snapshot = store.conn.unchecked_transaction()?;
    let project = match project_root {
        Some(root) => Some(
            snapshot
                .query_row("SELECT id FROM projects WHERE root = ?1", [root], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .ok_or_else(|| ExportError::NoSuchProject(root.to_string()))?,
        ),
        None => None,
    };
    header.write(out)?;
    let mut counts = Vec::new();
    for table in TABLES {
        let filter = match (project, table.in_project) {
            (None, _) => "1",
            (Some(_), Some(filter)) => filter,
            (Some(_), None) => continue,
        };
        let id = if table.has_id { "id, " } else { "" };
        let columns: Vec<String> = table
            .fields
            .iter()
            .map(|f| match f.kind {
                Type::Version => version_sql(table),
                _ => f.column.to_string(),
            })
            .collect();
        let mut stmt = snapshot.prepare(&format!(
            "SELECT {id}{} FROM {} WHERE {filter} ORDER BY {}",
            columns.join(", "),
            table.table,
            table.order
        ))?;
        let mut rows = match project {
            Some(p) => stmt.query([p])?,
            None => stmt.query([])?,
        };
        let mut n = 0;
        while let Some(row) = rows.next()? {
            write_record(out, table, row)?;
            n += 1;
        }
        counts.push((table.kind, n));
    }
    Ok(counts)
}

/// One row as one line: `kind`, then `id` if the table has one, then the
/// fields in table order (a fixed order, so two exports of the same data
/// are the same bytes).
fn write_record(out: &mut dyn Write, table: &Table, row: &rusqlite::Row) -> io::Result<()> {
    write!(out, "{{\"kind\":\"{}\"", table.kind)?;
    let offset = usize::from(table.has_id);
    if table.has_id {
        out.write_all(b",\"id\":")?;
        write_value(out, Type::Int, row.get_ref(0).map_err(io::Error::other)?)?;
    }
    for (i, f) in table.fields.iter().enumerate() {
        write!(out, ",\"{}\":", f.name)?;
        write_value(
            out,
            f.kind,
            row.get_ref(i + offset).map_err(io::Error::other)?,
        )?;
    }
    out.write_all(b"}\n")
}

fn write_value(out: &mut dyn Write, kind: Type, value: ValueRef) -> io::Result<()> {
    match value {
        ValueRef::Null => out.write_all(b"null"),
        ValueRef::Integer(i) => write!(out, "{i}"),
        ValueRef::Real(f) => serde_json::to_writer(out, &f).map_err(io::Error::other),
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            // JSON kept as text goes out as JSON; anything that does not
            // parse (never written by mnemo) stays a string.
            let parsed = match kind {
                Type::List | Type::Paths | Type::Payload | Type::RefList(_) => {
                    serde_json::from_str::<Value>(&text).ok().filter(|json| {
                        matches!(
                            (kind, json),
                            (Type::Payload, Value::Object(_))
                                | (Type::List | Type::Paths | Type::RefList(_), Value::Array(_))
                        )
                    })
                }
                _ => None,
            };
            match parsed {
                Some(json) => serde_json::to_writer(out, &json),
                None => serde_json::to_writer(out, &text),
            }
            .map_err(io::Error::other)
        }
        // No exported column holds bytes (vectors are not exported).
        ValueRef::Blob(_) => out.write_all(b"null"),
    }
}

/// Makes imported text safe to store; the binary passes mnemo's redactor,
/// so a hand-edited file cannot carry a secret in.
pub trait Sanitizer {
    /// A free-text field.
    fn text(&self, text: &str) -> String;
    /// A hook payload, cleaned in place.
    fn event(&self, payload: &mut Value);
}

/// Counts of one record kind in an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Records of this kind stored.
    pub imported: u64,
    /// Records already in the store, recognised by their natural key or
    /// their global id (those with other content are also counted in
    /// `updated` or `kept_local`).
    pub present: u64,
    /// Shared memories already here under the same global id with other
    /// content, replaced by the file's newer version.
    pub updated: u64,
    /// Shared memories already here under the same global id with other
    /// content, whose version here is the newer one and was kept.
    pub kept_local: u64,
    /// Records not stored, each reported with its reason.
    pub rejected: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Per known kind, in file order.
    pub kinds: Vec<(&'static str, KindCounts)>,
    /// Records of kinds this build does not know (a newer mnemo's), skipped.
    pub unknown: BTreeMap<String, u64>,
    /// `superseded_by` links to observations that were not in the file.
    pub unresolved_links: u64,
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// The record was stored.
    Imported,
    /// The record was already in the store.
    AlreadyPresent,
    /// A shared memory already here (same global id) with other content,
    /// replaced by the record's newer version.
    Updated,
    /// A shared memory already here (same global id) with other content,
    /// whose newer (or as new) version here was kept.
    KeptLocal,
    /// A kind this build does not know; skipped.
    UnknownKind,
    /// Not stored, and why (one line, for the user).
    Rejected(String),
}

/// Merges an archive into a store, one line at a time.
///
/// Records are matched to stored rows by natural key, so importing the same
/// file again, or onto the machine it came from, adds nothing, and an
/// interrupted import run again converges to the same result. Rows already
/// stored are left as they are (except that a missing `superseded_by` link
/// is filled in), with one exception: a memory shared with a team is
/// matched by its global id first (one row per `gid`, whatever project or
/// clone it came through), and when its content differs the newer version
/// is kept, the file's replacing the row here only when it is strictly
/// newer. New rows keep their id from the file when it is above
/// every local id, so a restore into an empty store reproduces the original
/// ids and ids still only grow.
pub struct ArchiveImporter<'a> {
    store: &'a mut Store,
    sanitizer: &'a dyn Sanitizer,
    counts: Vec<KindCounts>,
    unknown: BTreeMap<String, u64>,
    /// Records written in the open transaction.
    in_batch: usize,
}

impl<'a> ArchiveImporter<'a> {
    /// Start an import into `store` (creating this connection's id map).
    pub fn new(
        store: &'a mut Store,
        sanitizer: &'a dyn Sanitizer,
    ) -> crate::Result<ArchiveImporter<'a>> {
        // Each kind has a lookup and an insert statement: keep them all.
        store.conn.set_prepared_statement_cache_capacity(64);
        store.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS archive_ids (
                 kind TEXT NOT NULL, source INTEGER NOT NULL, local INTEGER NOT NULL,
                 PRIMARY KEY (kind, source)) WITHOUT ROWID;
             CREATE TEMP TABLE IF NOT EXISTS archive_supersedes (
                 observation INTEGER PRIMARY KEY, source_target INTEGER NOT NULL);
             DELETE FROM archive_ids;
             DELETE FROM archive_supersedes;",
        )?;
        Ok(ArchiveImporter {
            store,
            sanitizer,
            counts: vec![KindCounts::default(); TABLES.len()],
            unknown: BTreeMap::new(),
            in_batch: 0,
        })
    }

    /// Import one record line (not the header). A malformed or unacceptable
    /// record is rejected and counted; only a failing store is an error.
    pub fn line(&mut self, line: &str) -> crate::Result<LineOutcome> {
        let record = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => record,
            Ok(_) => return Ok(LineOutcome::Rejected("not a JSON object".into())),
            Err(e) => return Ok(LineOutcome::Rejected(format!("not JSON ({e})"))),
        };
        let Some(kind) = record.get("kind").and_then(Value::as_str) else {
            return Ok(LineOutcome::Rejected("no kind".into()));
        };
        let Some(index) = TABLES.iter().position(|t| t.kind == kind) else {
            *self.unknown.entry(kind.to_string()).or_default() += 1;
            return Ok(LineOutcome::UnknownKind);
        };
        if self.in_batch == 0 {
            self.store.conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        let outcome = self.record(&TABLES[index], &record)?;
        let counts = &mut self.counts[index];
        match &outcome {
            LineOutcome::Imported => counts.imported += 1,
            LineOutcome::AlreadyPresent => counts.present += 1,
            LineOutcome::Updated => {
                counts.present += 1;
                counts.updated += 1;
            }
            LineOutcome::KeptLocal => {
                counts.present += 1;
                counts.kept_local += 1;
            }
            LineOutcome::UnknownKind | LineOutcome::Rejected(_) => counts.rejected += 1,
        }
        self.in_batch += 1;
        if self.in_batch >= BATCH {
            self.commit()?;
        }
        Ok(outcome)
    }

    /// Commit what is pending, fill in `superseded_by` links, and report.
    pub fn finish(mut self) -> crate::Result<ImportReport> {
        self.commit()?;
        let conn = &self.store.conn;
        conn.execute(
            "UPDATE observations SET superseded_by = (
                 SELECT m.local FROM archive_supersedes s
                 JOIN archive_ids m ON m.kind = 'observation' AND m.source = s.source_target
                 WHERE s.observation = observations.id)
             WHERE superseded_by IS NULL AND id IN (
                 SELECT s.observation FROM archive_supersedes s
                 JOIN archive_ids m ON m.kind = 'observation' AND m.source = s.source_target)",
            [],
        )?;
        let unresolved_links: i64 = conn.query_row(
            "SELECT count(*) FROM archive_supersedes s WHERE NOT EXISTS (
                 SELECT 1 FROM archive_ids m
                 WHERE m.kind = 'observation' AND m.source = s.source_target)",
            [],
            |r| r.get(0),
        )?;
        conn.execute_batch("DELETE FROM archive_ids; DELETE FROM archive_supersedes;")?;
        Ok(ImportReport {
            kinds: kinds().zip(self.counts.iter().copied()).collect(),
            unknown: std::mem::take(&mut self.unknown),
            unresolved_links: unresolved_links as u64,
        })
    }

    fn commit(&mut self) -> crate::Result<()> {
        if self.in_batch > 0 {
            self.store.conn.execute_batch("COMMIT")?;
            self.in_batch = 0;
        }
        Ok(())
    }

    /// Store one record of `table` unless it is already there.
    fn record(
        &mut self,
        table: &Table,
        record: &serde_json::Map<String, Value>,
    ) -> crate::Result<LineOutcome> {
        // Column values; `None` for fields the record leaves out (the
        // column's default applies).
        let mut values: Vec<Option<SqlValue>> = Vec::with_capacity(table.fields.len());
        let mut supersede = None;
        for f in table.fields {
            let Some(raw) = record.get(f.name) else {
                values.push(None);
                continue;
            };
            if let (Type::LaterObservation, Some(target)) = (f.kind, raw.as_i64()) {
                supersede = Some(target);
                values.push(None);
                continue;
            }
            match self.column_value(f, raw)? {
                Ok(v) => values.push(Some(v)),
                Err(why) => return Ok(LineOutcome::Rejected(why)),
            }
        }
        let source_id = if table.has_id {
            match record.get("id") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_i64() {
                    Some(id) => Some(id),
                    None => return Ok(LineOutcome::Rejected(format!("id is {v}"))),
                },
            }
        } else {
            None
        };
        let stored = match self.find_shared(table, &values)? {
            Some(local) => self
                .merge_shared(table, local, &values)
                .map(|outcome| (local, outcome)),
            None => match self.find(table, &values)? {
                Some(local) => Ok((local, LineOutcome::AlreadyPresent)),
                None => self
                    .insert(table, source_id, &values)
                    .map(|local| (local, LineOutcome::Imported)),
            },
        };
        let (local, outcome) = match stored {
            Ok(stored) => stored,
            Err(StoreError::Other(e)) if is_bad_data(&e) => {
                return Ok(LineOutcome::Rejected(format!("not accepted: {e}")));
            }
            Err(e) => return Err(e),
        };
        let conn = &self.store.conn;
        if let (true, Some(source)) = (table.has_id, source_id) {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO archive_ids (kind, source, local) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![table.kind, source, local])?;
        }
        if let Some(target) = supersede {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO archive_supersedes (observation, source_target)
                 VALUES (?1, ?2)",
            )?
            .execute(params![local, target])?;
        }
        Ok(outcome)
    }

    /// A field's JSON value as its column value, sanitized and with ids
    /// mapped; the inner error rejects the record.
    fn column_value(&self, f: &Field, raw: &Value) -> crate::Result<Result<SqlValue, String>> {
        let wrong = || Err(format!("{} is {raw}", f.name));
        Ok(match (f.kind, raw) {
            (_, Value::Null) => Ok(SqlValue::Null),
            (Type::Int | Type::Version, Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(SqlValue::Integer(i)),
                None => wrong(),
            },
            (Type::Text, Value::String(s)) => Ok(SqlValue::Text(s.clone())),
            (Type::Clean, Value::String(s)) => Ok(SqlValue::Text(self.sanitizer.text(s))),
            (Type::List | Type::Paths, Value::Array(items)) => {
                let mut clean = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => clean.push(self.sanitizer.text(s)),
                        None => return Ok(wrong()),
                    }
                }
                Ok(SqlValue::Text(json_text(&clean)))
            }
            (Type::Payload, Value::Object(_)) => {
                let mut payload = raw.clone();
                self.sanitizer.event(&mut payload);
                Ok(SqlValue::Text(payload.to_string()))
            }
            // JSON columns that did not hold JSON went out as strings.
            (Type::List | Type::Paths | Type::Payload, Value::String(s)) => {
                Ok(SqlValue::Text(self.sanitizer.text(s)))
            }
            (Type::Ref(kind), Value::Number(n)) => match n.as_i64() {
                Some(source) => match self.local_id(kind, source)? {
                    Some(local) => Ok(SqlValue::Integer(local)),
                    None => Err(format!(
                        "{} refers to {kind} {source}, which is not earlier in the file",
                        f.name
                    )),
                },
                None => wrong(),
            },
            (Type::RefList(kind), Value::Array(items)) => {
                let mut ids = Vec::with_capacity(items.len());
                for item in items {
                    let Some(source) = item.as_i64() else {
                        return Ok(wrong());
                    };
                    ids.extend(self.local_id(kind, source)?);
                }
                Ok(SqlValue::Text(json_text(&ids)))
            }
            _ => wrong(),
        })
    }

    /// The local id of record `source` of `kind` read earlier in this file.
    fn local_id(&self, kind: &str, source: i64) -> crate::Result<Option<i64>> {
        Ok(self
            .store
            .conn
            .prepare_cached("SELECT local FROM archive_ids WHERE kind = ?1 AND source = ?2")?
            .query_row(params![kind, source], |r| r.get(0))
            .optional()?)
    }

    /// The local row matching this record, by the table's identity.
    fn find(&self, table: &Table, values: &[Option<SqlValue>]) -> crate::Result<Option<i64>> {
        let value_of = |name: &str| value_of(table, values, name);
        let complete = |id: &&Identity| {
            id.fields
                .iter()
                .all(|name| !matches!(value_of(name), None | Some(SqlValue::Null)))
        };
        let Some(identity) = table
            .identity
            .iter()
            .find(complete)
            .or(table.identity.last())
        else {
            return Ok(None);
        };
        let bound = identity
            .fields
            .iter()
            .map(|name| value_of(name).cloned().unwrap_or(SqlValue::Null));
        Ok(self
            .store
            .conn
            .prepare_cached(identity.sql)?
            .query_row(params_from_iter(bound), |r| r.get(0))
            .optional()?)
    }

    /// The local row holding the shared memory this record is a version of
    /// (same `gid`), for tables of shared memories.
    fn find_shared(
        &self,
        table: &Table,
        values: &[Option<SqlValue>],
    ) -> crate::Result<Option<i64>> {
        if table.shared.is_empty() {
            return Ok(None);
        }
        let Some(gid @ SqlValue::Text(_)) = value_of(table, values, "gid") else {
            return Ok(None);
        };
        Ok(self
            .store
            .conn
            .prepare_cached(&format!("SELECT id FROM {} WHERE gid = ?1", table.table))?
            .query_row([gid], |r| r.get(0))
            .optional()?)
    }

    /// Merge the file's version of a shared memory into row `local`, which
    /// holds the same one: the same content is a duplicate; other content
    /// replaces the row's only when the file's version time is later than
    /// the row's (its change waiting to go up, else the last version sent
    /// or pulled), so importing in any order keeps the newest version and
    /// a local edit is never undone by an older copy of the memory.
    fn merge_shared(
        &self,
        table: &Table,
        local: i64,
        values: &[Option<SqlValue>],
    ) -> crate::Result<LineOutcome> {
        let conn = &self.store.conn;
        let (local_root, local_version): (Option<String>, i64) = conn
            .prepare_cached(&format!(
                "SELECT (SELECT root FROM projects WHERE id = {t}.project_id),
                        coalesce({}, 0)
                 FROM {t} WHERE id = ?1",
                version_sql(table),
                t = table.table
            ))?
            .query_row([local], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let file_root: Option<String> = match value_of(table, values, "project") {
            Some(SqlValue::Integer(project)) => conn
                .prepare_cached("SELECT root FROM projects WHERE id = ?1")?
                .query_row([project], |r| r.get(0))
                .optional()?,
            _ => None,
        };
        // The file's values of the shared fields it has, paths moved into
        // the clone this row belongs to.
        let incoming: Vec<(&Field, SqlValue)> = table
            .shared
            .iter()
            .filter_map(|name| {
                let f = table.fields.iter().find(|f| f.name == *name)?;
                let value = value_of(table, values, name)?.clone();
                Some(match (f.kind, &file_root, &local_root, value) {
                    (Type::Paths, Some(from), Some(to), SqlValue::Text(list)) => {
                        (f, SqlValue::Text(moved_paths(&list, from, to)))
                    }
                    (_, _, _, value) => (f, value),
                })
            })
            .collect();
        if incoming.is_empty() {
            return Ok(LineOutcome::AlreadyPresent);
        }
        let columns: Vec<&str> = incoming.iter().map(|(f, _)| f.column).collect();
        let here: Vec<SqlValue> = conn
            .prepare_cached(&format!(
                "SELECT {} FROM {} WHERE id = ?1",
                columns.join(", "),
                table.table
            ))?
            .query_row([local], |r| (0..columns.len()).map(|i| r.get(i)).collect())?;
        let same = incoming.iter().zip(&here).all(|((f, file), here)| {
            if f.column == "deleted_at" {
                // Forgotten on both sides, whenever: the same state.
                matches!(file, SqlValue::Null) == matches!(here, SqlValue::Null)
            } else {
                file == here
            }
        });
        if same {
            return Ok(LineOutcome::AlreadyPresent);
        }
        let file_version = match value_of(table, values, "edited_at") {
            Some(SqlValue::Integer(at)) => *at,
            _ => 0,
        };
        if file_version <= local_version {
            return Ok(LineOutcome::KeptLocal);
        }
        // A forget keeps its first time, as a pull does.
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| match *column {
                "deleted_at" => format!(
                    "deleted_at = CASE WHEN ?{n} IS NULL THEN NULL ELSE coalesce(deleted_at, ?{n}) END",
                    n = i + 2
                ),
                column => format!("{column} = ?{}", i + 2),
            })
            .chain([format!("edited_at = ?{}", columns.len() + 2)])
            .collect();
        let bound = std::iter::once(SqlValue::Integer(local))
            .chain(incoming.into_iter().map(|(_, value)| value))
            .chain([SqlValue::Integer(file_version)]);
        conn.prepare_cached(&format!(
            "UPDATE {} SET {} WHERE id = ?1",
            table.table,
            sets.join(", ")
        ))?
        .execute(params_from_iter(bound))?;
        Ok(LineOutcome::Updated)
    }

    /// Insert a new row; returns its local id (0 for tables without ids).
    fn insert(
        &self,
        table: &Table,
        source_id: Option<i64>,
        values: &[Option<SqlValue>],
    ) -> crate::Result<i64> {
        let mut columns = Vec::new();
        let mut placeholders = Vec::new();
        let mut bound = Vec::new();
        if table.has_id {
            // The file's id when it is above every local one, else the next.
            columns.push("id");
            placeholders.push(format!(
                "max(?1, (SELECT coalesce(max(id), 0) + 1 FROM {}))",
                table.table
            ));
            bound.push(source_id.map_or(SqlValue::Null, SqlValue::Integer));
        }
        for (f, v) in table.fields.iter().zip(values) {
            if let Some(v) = v {
                columns.push(f.column);
                bound.push(v.clone());
                placeholders.push(format!("?{}", bound.len()));
            }
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.table,
            columns.join(", "),
            placeholders.join(", ")
        );
        let conn = &self.store.conn;
        conn.prepare_cached(&sql)?
            .execute(params_from_iter(bound))?;
        Ok(if table.has_id {
            conn.last_insert_rowid()
        } else {
            0
        })
    }
}

/// The record's value of field `name`, if the table has it and the record
/// set it.
fn value_of<'v>(table: &Table, values: &'v [Option<SqlValue>], name: &str) -> Option<&'v SqlValue> {
    table
        .fields
        .iter()
        .position(|f| f.name == name)
        .and_then(|i| values[i].as_ref())
}

/// The version time of a row of `table` (a shared memory's): its change
/// waiting to go up to the team, else the last version sent or pulled.
fn version_sql(table: &Table) -> String {
    format!(
        "coalesce((SELECT o.changed_at FROM team_outbox o
                   WHERE o.kind = '{}' AND o.row_id = {t}.id), {t}.edited_at)",
        table.kind,
        t = table.table
    )
}

/// A JSON list of paths with those under `from` moved under `to`; anything
/// else is kept as it is.
fn moved_paths(list: &str, from: &str, to: &str) -> String {
    let Ok(paths) = serde_json::from_str::<Vec<String>>(list) else {
        return list.to_string();
    };
    let from = from.trim_end_matches('/');
    let moved: Vec<String> = paths
        .into_iter()
        .map(|path| match path.strip_prefix(from) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", to.trim_end_matches('/'))
            }
            _ => path,
        })
        .collect();
    json_text(&moved)
}

/// Whether SQLite refused a row for its content (a constraint or a type),
/// as opposed to failing.
fn is_bad_data(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(e.code, ffi::ErrorCode::ConstraintViolation | ffi::ErrorCode::TypeMismatch)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_from_plain_lines_and_newer_formats_refused() {
        let header = Header::parse(
            r#"{"mnemo_export":1,"schema":8,"exported_at":5,"mnemo_version":"0.1.0"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (header.format, header.schema, header.exported_at),
            (1, 8, 5)
        );
        let mut written = Vec::new();
        header.write(&mut written).unwrap();
        assert_eq!(
            Header::parse(std::str::from_utf8(&written).unwrap()).unwrap(),
            Some(header)
        );
        assert!(
            Header::parse(r#"{"title":"a plain observation"}"#)
                .unwrap()
                .is_none()
        );
        assert!(Header::parse("not json").unwrap().is_none());
        assert!(matches!(
            Header::parse(r#"{"mnemo_export":2}"#),
            Err(HeaderError::Newer { found: 2 })
        ));
        assert!(Header::parse(r#"{"mnemo_export":"one"}"#).is_err());
    }

    #[test]
    fn every_reference_points_to_an_earlier_kind() {
        for (i, table) in TABLES.iter().enumerate() {
            for f in table.fields {
                if let Type::Ref(kind) | Type::RefList(kind) = f.kind {
                    let target = TABLES.iter().position(|t| t.kind == kind).unwrap();
                    assert!(target < i, "{}.{} refers forward", table.kind, f.name);
                    assert!(TABLES[target].has_id);
                }
            }
            for identity in table.identity {
                for name in identity.fields {
                    assert!(table.fields.iter().any(|f| f.name == *name));
                }
            }
        }
    }

    /// Keeps text as it is.
    struct Verbatim;

    impl Sanitizer for Verbatim {
        fn text(&self, text: &str) -> String {
            text.to_string()
        }
        fn event(&self, _: &mut Value) {}
    }

    fn shop(owner: &str) -> crate::ProjectRef {
        crate::ProjectRef {
            root: format!("/home/{owner}/shop"),
            name: "shop".into(),
        }
    }

    fn note(store: &mut Store, owner: &str, title: &str) {
        let o = crate::NewObservation {
            kind: "decision".into(),
            title: title.into(),
            content_hash: title.into(),
            generated_by: "user".into(),
            files_read: vec![format!("/home/{owner}/shop/src/cart.rs")],
            ..crate::NewObservation::default()
        };
        store.remember(Some(&shop(owner)), &o, 1).unwrap();
    }

    /// Pushes the waiting changes as the app does: read, then marked sent.
    fn push(store: &mut Store) -> Vec<crate::TeamMemory> {
        static GIDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let entries = store
            .team_outbox(100, || {
                let n = GIDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                format!("{n:032x}")
            })
            .unwrap();
        let sent: Vec<_> = entries.iter().map(|e| (e.id, e.version)).collect();
        store.team_sent(&sent).unwrap();
        entries.into_iter().map(|e| e.memory).collect()
    }

    fn archive_of(store: &Store) -> String {
        let header = Header {
            format: FORMAT_VERSION,
            schema: crate::SCHEMA_VERSION,
            exported_at: 1,
            mnemo_version: "test".into(),
        };
        let mut out = Vec::new();
        export(store, None, &header, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Imports `archive` and returns the observations' counts.
    fn import(store: &mut Store, archive: &str) -> KindCounts {
        let mut importer = ArchiveImporter::new(store, &Verbatim).unwrap();
        for line in archive.lines().skip(1) {
            let outcome = importer.line(line).unwrap();
            assert!(!matches!(outcome, LineOutcome::Rejected(_)), "{outcome:?}");
        }
        let report = importer.finish().unwrap();
        report
            .kinds
            .iter()
            .find(|(k, _)| *k == "observation")
            .unwrap()
            .1
    }

    fn rows(store: &Store) -> Vec<(String, String, String)> {
        store
            .conn()
            .prepare("SELECT coalesce(gid, ''), title, files_read FROM observations ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn outbox(store: &Store) -> Vec<(i64, i64)> {
        store
            .conn()
            .prepare("SELECT version, changed_at FROM team_outbox ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Ana's memory, pulled into Ben's clone at another path, then edited by
    /// Ana and exported: importing her archive into Ben's store meets the
    /// same global id. One row per gid stays, holding the newer version
    /// with Ben's paths; the same version again is a duplicate; a newer
    /// edit of Ben's is kept over Ana's older one.
    #[test]
    fn a_shared_memory_met_again_by_gid_keeps_one_row_and_the_newer_version() {
        let (mut ana, mut ben) = (
            Store::open_in_memory().unwrap(),
            Store::open_in_memory().unwrap(),
        );
        ana.team_join(&shop("ana"), "k", "ana", 1).unwrap();
        ben.team_join(&shop("ben"), "k", "ben", 1).unwrap();
        note(&mut ana, "ana", "prices in cents");
        let pulled: Vec<_> = push(&mut ana)
            .into_iter()
            .map(|m| crate::TeamMemory {
                author: Some("ana".into()),
                origin: Some("m-a".into()),
                ..m
            })
            .collect();
        let wins = |_: &crate::TeamMemory, _: &crate::TeamMemory| true;
        ben.team_apply("k", &pulled, "w1", "m-b", 9, wins).unwrap();
        let gid = pulled[0].gid.clone();
        let ben_file = r#"["/home/ben/shop/src/cart.rs"]"#.to_string();
        let cents = (gid.clone(), "prices in cents".to_string(), ben_file.clone());
        assert_eq!(rows(&ben), std::slice::from_ref(&cents));

        // The same version: a duplicate, nothing queued.
        let counts = import(&mut ben, &archive_of(&ana));
        assert_eq!((counts.imported, counts.present, counts.updated), (0, 1, 0));
        assert_eq!(rows(&ben), std::slice::from_ref(&cents));
        assert_eq!(ben.team_waiting().unwrap(), 0);

        // Ana's newer edit, not yet sent: it replaces Ben's older version,
        // and goes up from here at Ana's version time.
        ana.conn()
            .execute(
                "UPDATE observations SET title = 'prices in whole cents'",
                [],
            )
            .unwrap();
        let ana_version = outbox(&ana)[0].1;
        let edited = archive_of(&ana);
        let counts = import(&mut ben, &edited);
        assert_eq!((counts.imported, counts.present, counts.updated), (0, 1, 1));
        let whole = (
            gid.clone(),
            "prices in whole cents".to_string(),
            ben_file.clone(),
        );
        assert_eq!(rows(&ben), [whole]);
        let queued = outbox(&ben);
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].1, ana_version);
        // Imported again: a duplicate, the queued change untouched.
        let counts = import(&mut ben, &edited);
        assert_eq!(
            (counts.present, counts.updated, counts.kept_local),
            (1, 0, 0)
        );
        assert_eq!(outbox(&ben), queued);

        // Ben's own later edit is newer than the file's: kept.
        ben.conn()
            .execute(
                "UPDATE observations SET title = 'prices in cents, rounded'",
                [],
            )
            .unwrap();
        let counts = import(&mut ben, &edited);
        assert_eq!(
            (counts.present, counts.updated, counts.kept_local),
            (1, 0, 1)
        );
        let rounded = (gid, "prices in cents, rounded".to_string(), ben_file);
        assert_eq!(rows(&ben), [rounded]);
        // And Ben's version, imported on Ana's side, wins there too.
        let counts = import(&mut ana, &archive_of(&ben));
        assert_eq!(counts.updated, 1);
        assert_eq!(rows(&ana)[0].1, "prices in cents, rounded");
        assert_eq!(rows(&ana)[0].2, r#"["/home/ana/shop/src/cart.rs"]"#);
        let gids: i64 = ana
            .conn()
            .query_row(
                "SELECT count(DISTINCT gid) - count(gid) FROM observations",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gids, 0, "never two rows with one gid");

        // A newer version the database refuses is one rejected line.
        let archive = archive_of(&ana);
        let line = archive
            .lines()
            .find(|l| l.contains(r#""kind":"observation""#))
            .unwrap();
        let mut bad: Value = serde_json::from_str(line).unwrap();
        bad["type"] = "not a type".into();
        bad["edited_at"] = i64::MAX.into();
        let mut importer = ArchiveImporter::new(&mut ana, &Verbatim).unwrap();
        let outcome = importer.line(&bad.to_string()).unwrap();
        assert!(matches!(outcome, LineOutcome::Rejected(_)), "{outcome:?}");
        importer.finish().unwrap();
        assert_eq!(rows(&ana)[0].1, "prices in cents, rounded");
    }

    /// Importing into a joined project queues what it adds for the team,
    /// and nothing for records already here.
    #[test]
    fn an_import_into_a_joined_project_queues_new_memories_but_not_duplicates() {
        let (mut laptop, mut desktop) = (
            Store::open_in_memory().unwrap(),
            Store::open_in_memory().unwrap(),
        );
        note(&mut laptop, "ana", "prices in cents");
        note(&mut laptop, "ana", "carts expire after a day");
        desktop.team_join(&shop("ana"), "k", "ana", 1).unwrap();
        note(&mut desktop, "ana", "prices in cents");
        push(&mut desktop);
        let counts = import(&mut desktop, &archive_of(&laptop));
        assert_eq!((counts.imported, counts.present), (1, 1));
        let queued = push(&mut desktop);
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].body["title"], "carts expire after a day");
    }

    /// A summary is matched by its global id too: Cy's summary, pulled by
    /// Ana and Ben, edited by Ana, is updated in Ben's store by her archive.
    #[test]
    fn a_shared_summary_met_again_by_gid_is_updated_in_place() {
        let from_cy = crate::TeamMemory {
            gid: "c".repeat(32),
            kind: crate::TeamKind::Summary,
            project_key: "k".into(),
            session: Some("s-1".into()),
            author: Some("cy".into()),
            origin: Some("m-c".into()),
            created_at: 5,
            edited_at: 5,
            deleted: false,
            body: serde_json::json!({"request": "fix login", "learned": "tokens expire"}),
        };
        let wins = |_: &crate::TeamMemory, _: &crate::TeamMemory| true;
        let (mut ana, mut ben) = (
            Store::open_in_memory().unwrap(),
            Store::open_in_memory().unwrap(),
        );
        for (store, owner) in [(&mut ana, "ana"), (&mut ben, "ben")] {
            store.team_join(&shop(owner), "k", owner, 1).unwrap();
            store
                .team_apply("k", std::slice::from_ref(&from_cy), "w", "m", 9, wins)
                .unwrap();
        }
        ana.conn()
            .execute(
                "UPDATE summaries SET learned = 'tokens expire after an hour'",
                [],
            )
            .unwrap();
        let mut importer = ArchiveImporter::new(&mut ben, &Verbatim).unwrap();
        for line in archive_of(&ana).lines().skip(1) {
            importer.line(line).unwrap();
        }
        let report = importer.finish().unwrap();
        let summaries = report
            .kinds
            .iter()
            .find(|(k, _)| *k == "summary")
            .unwrap()
            .1;
        assert_eq!((summaries.imported, summaries.updated), (0, 1));
        let learned: Vec<String> = ben
            .conn()
            .prepare("SELECT learned FROM summaries")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(learned, ["tokens expire after an hour"]);
    }
}
