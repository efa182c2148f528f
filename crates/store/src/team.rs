//! Team memory's local side: the projects this machine shares, the outbox
//! of their changes (filled by triggers, migrations 0012 and 0013, which
//! version each change after the row's last version sent or pulled),
//! applying memories pulled from the team server, and sync's small state.
//!
//! A shared memory travels as a [`TeamMemory`] whose `body` holds the
//! row's fields as JSON (the shape is [`observation_body`]'s and
//! [`summary_body`]'s). File paths in a body are relative to the project
//! root, so a memory pulled into a clone at another path names the same
//! files there. Raw events and prompts never become a [`TeamMemory`].

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};
use serde_json::{Value, json};

use crate::episodes::{from_json, json as json_text};
use crate::record::upsert_project;
use crate::{ProjectRef, Result, Store};

/// The `sessions.agent` of sessions made to hold pulled memories: they never
/// ran on this machine.
pub const TEAM_AGENT: &str = "team";

/// What kind of memory a [`TeamMemory`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamKind {
    /// An observation.
    Observation,
    /// A session summary.
    Summary,
}

impl TeamKind {
    /// The outbox's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamKind::Observation => "observation",
            TeamKind::Summary => "summary",
        }
    }

    fn table(self) -> &'static str {
        match self {
            TeamKind::Observation => "observations",
            TeamKind::Summary => "summaries",
        }
    }

    fn parse(text: &str) -> TeamKind {
        if text == "summary" {
            TeamKind::Summary
        } else {
            TeamKind::Observation
        }
    }
}

/// One version of a shared memory, as this store reads or applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMemory {
    /// Global id (32 hex characters).
    pub gid: String,
    /// Observation or summary.
    pub kind: TeamKind,
    /// The project's portable key.
    pub project_key: String,
    /// The agent's session id the memory came from, when known.
    pub session: Option<String>,
    /// Who wrote it; `None` when it was written on this machine.
    pub author: Option<String>,
    /// The machine it came from; `None` for this machine.
    pub origin: Option<String>,
    /// When its events happened (Unix ms).
    pub created_at: i64,
    /// When this version was made (Unix ms).
    pub edited_at: i64,
    /// Forgotten or replaced.
    pub deleted: bool,
    /// The memory's fields, paths relative to the project root.
    pub body: Value,
}

/// A change waiting to go up: the memory's current version and the outbox
/// entry's version, which [`Store::team_sent`] checks.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The outbox row.
    pub id: i64,
    /// Its version when read.
    pub version: i64,
    /// What goes up.
    pub memory: TeamMemory,
    /// The name the project's memories written here carry (from the join).
    pub project_author: String,
}

/// A project this machine shares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JoinedProject {
    /// Its root here.
    pub root: String,
    /// Its portable key.
    pub key: String,
    /// When it was joined (Unix ms).
    pub joined_at: i64,
    /// Its changes waiting to go up.
    pub waiting: i64,
}

/// What [`Store::team_apply`] did with a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Memories added or updated here.
    pub applied: usize,
    /// Memories whose local, unsent version won.
    pub kept_local: usize,
    /// Memories with nothing to do (a tombstone of a memory never seen, an
    /// identical memory already here, a project no longer joined).
    pub skipped: usize,
}

/// Sync's state keys.
pub mod state {
    /// This machine's origin id (random, made once).
    pub const ORIGIN: &str = "origin";
    /// Where the next pull of a project resumes (followed by `:` and the
    /// project's key, see [`super::watermark_key`]).
    pub const WATERMARK: &str = "watermark";
    /// When the last round succeeded (Unix ms).
    pub const LAST_SUCCESS: &str = "last_success";
    /// The last round's error, cleared by a success.
    pub const LAST_ERROR: &str = "last_error";
}

/// Now, in Unix ms, as the outbox triggers write it.
const SQL_NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

impl Store {
    /// Share the project at `project`'s root under `key`, its memories
    /// signed `author`: record it and queue its live observations and
    /// summaries written here. Joining again keeps the first join and queues
    /// nothing new. Returns the rows queued.
    pub fn team_join(
        &mut self,
        project: &ProjectRef,
        key: &str,
        author: &str,
        now: i64,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let project_id = upsert_project(&tx, project, now)?;
        let new = tx.execute(
            "INSERT INTO team_projects (project_id, key, author, joined_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![project_id, key, author, now],
        )?;
        let mut queued = 0;
        if new == 1 {
            for kind in [TeamKind::Observation, TeamKind::Summary] {
                queued += tx.execute(
                    &format!(
                        "INSERT INTO team_outbox (kind, row_id, project_id, changed_at)
                         SELECT ?1, id, project_id, max({SQL_NOW}, coalesce(edited_at, 0) + 1)
                         FROM {}
                         WHERE project_id = ?2 AND deleted_at IS NULL AND origin IS NULL
                         ORDER BY id
                         ON CONFLICT DO NOTHING",
                        kind.table()
                    ),
                    params![kind.as_str(), project_id],
                )?;
            }
        }
        tx.commit()?;
        Ok(queued)
    }

    /// What joining the project at `root` would send up now: its live
    /// observations and summaries written here, oldest first (no global ids
    /// yet, `key` as the project key).
    pub fn team_preview(&mut self, root: &str, key: &str) -> Result<Vec<TeamMemory>> {
        let tx = self.conn.transaction()?;
        let mut memories = Vec::new();
        for kind in [TeamKind::Observation, TeamKind::Summary] {
            let ids: Vec<i64> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT m.id FROM {} m JOIN projects p ON p.id = m.project_id
                     WHERE p.root = ?1 AND m.deleted_at IS NULL AND m.origin IS NULL ORDER BY m.id",
                    kind.table()
                ))?;
                stmt.query_map([root], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for id in ids {
                if let Some(mut memory) = read_row(&tx, kind, id, root)? {
                    memory.project_key = key.to_string();
                    memory.edited_at = memory.created_at;
                    memories.push(memory);
                }
            }
        }
        Ok(memories)
    }

    /// Stop sharing the project at `root`: forget its key and drop its
    /// changes not yet sent. Memories already pulled stay. Returns whether
    /// it was joined.
    pub fn team_leave(&mut self, root: &str) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let project_id: Option<i64> = tx
            .query_row(
                "SELECT t.project_id FROM team_projects t JOIN projects p ON p.id = t.project_id
                 WHERE p.root = ?1",
                [root],
                |r| r.get(0),
            )
            .optional()?;
        let Some(project_id) = project_id else {
            return Ok(false);
        };
        tx.execute(
            "DELETE FROM team_outbox WHERE project_id = ?1",
            [project_id],
        )?;
        tx.execute(
            "DELETE FROM team_projects WHERE project_id = ?1",
            [project_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The projects this machine shares, by root.
    pub fn team_projects(&self) -> Result<Vec<JoinedProject>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.root, t.key, t.joined_at,
                    (SELECT count(*) FROM team_outbox o WHERE o.project_id = t.project_id)
             FROM team_projects t JOIN projects p ON p.id = t.project_id ORDER BY p.root",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(JoinedProject {
                    root: r.get(0)?,
                    key: r.get(1)?,
                    joined_at: r.get(2)?,
                    waiting: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A value of sync's state ([`state`]).
    pub fn team_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM team_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Set (or, with `None`, clear) a value of sync's state.
    pub fn set_team_state(&self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(value) => set_state(&self.conn, key, value)?,
            None => {
                self.conn
                    .execute("DELETE FROM team_state WHERE key = ?1", [key])?;
            }
        }
        Ok(())
    }

    /// The state value at `key`, set to `make()` first when absent (this
    /// machine's origin id).
    pub fn team_state_or_init(&self, key: &str, make: impl FnOnce() -> String) -> Result<String> {
        if let Some(value) = self.team_state(key)? {
            return Ok(value);
        }
        self.conn.execute(
            "INSERT INTO team_state (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![key, make()],
        )?;
        Ok(self.team_state(key)?.unwrap_or_default())
    }

    /// Changes waiting to go up, in total.
    pub fn team_waiting(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM team_outbox", [], |r| r.get(0))?)
    }

    /// Conflicts met so far.
    pub fn team_conflicts(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM team_conflicts", [], |r| r.get(0))?)
    }

    /// Up to `limit` changes waiting to go up, oldest first, each with its
    /// memory's current version. A row sent for the first time gets its
    /// global id here, from `new_gid`, in the same transaction that reads
    /// it. `author` is not filled in: `None` means this machine's.
    pub fn team_outbox(
        &mut self,
        limit: usize,
        mut new_gid: impl FnMut() -> String,
    ) -> Result<Vec<OutboxEntry>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pending: Vec<Pending> = {
            let mut stmt = tx.prepare_cached(
                "SELECT o.id, o.version, o.kind, o.row_id, o.gid, o.changed_at, t.key, p.root,
                        t.author
                 FROM team_outbox o JOIN team_projects t ON t.project_id = o.project_id
                 JOIN projects p ON p.id = o.project_id
                 ORDER BY o.id LIMIT ?1",
            )?;
            stmt.query_map([limit as i64], |r| {
                Ok(Pending {
                    id: r.get(0)?,
                    version: r.get(1)?,
                    kind: TeamKind::parse(&r.get::<_, String>(2)?),
                    row_id: r.get(3)?,
                    gid: r.get(4)?,
                    changed_at: r.get(5)?,
                    key: r.get(6)?,
                    root: r.get(7)?,
                    author: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut entries = Vec::with_capacity(pending.len());
        for Pending {
            id,
            version,
            kind,
            row_id,
            gid,
            changed_at,
            key,
            root,
            author,
        } in pending
        {
            let memory = match row_id {
                Some(row_id) => {
                    let Some(mut memory) = read_row(&tx, kind, row_id, &root)? else {
                        // Only a trigger's mistake could leave this; drop it.
                        tx.execute("DELETE FROM team_outbox WHERE id = ?1", [id])?;
                        continue;
                    };
                    // The version about to go up is the row's last one: a
                    // later change is versioned after it (migration 0013).
                    if memory.gid.is_empty() {
                        memory.gid = new_gid();
                        cached_exec(
                            &tx,
                            &format!(
                                "UPDATE {} SET gid = ?2, edited_at = ?3 WHERE id = ?1",
                                kind.table()
                            ),
                            params![row_id, memory.gid, changed_at],
                        )?;
                    } else {
                        cached_exec(
                            &tx,
                            &format!("UPDATE {} SET edited_at = ?2 WHERE id = ?1", kind.table()),
                            params![row_id, changed_at],
                        )?;
                    }
                    memory.project_key = key;
                    memory.edited_at = changed_at;
                    memory
                }
                None => TeamMemory {
                    gid: gid.unwrap_or_default(),
                    kind,
                    project_key: key,
                    session: None,
                    author: None,
                    origin: None,
                    created_at: changed_at,
                    edited_at: changed_at,
                    deleted: true,
                    body: json!({}),
                },
            };
            entries.push(OutboxEntry {
                id,
                version,
                memory,
                project_author: author,
            });
        }
        tx.commit()?;
        Ok(entries)
    }

    /// Mark pushed entries sent: each is removed unless it changed since it
    /// was read (then its newer version goes up next round).
    pub fn team_sent(&mut self, sent: &[(i64, i64)]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM team_outbox WHERE id = ?1 AND version = ?2")?;
            for (id, version) in sent {
                stmt.execute(params![id, version])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Apply one pulled page of project `key` and the watermark that
    /// follows it ([`watermark_key`]), in one transaction. A memory whose
    /// row has a change not yet sent is a conflict: `team_wins(incoming,
    /// local)` decides, and the outcome is logged in `team_conflicts`.
    /// Applying never leaves an outbox entry behind, so pulled memories do
    /// not go back up.
    pub fn team_apply(
        &mut self,
        key: &str,
        memories: &[TeamMemory],
        watermark: &str,
        origin: &str,
        now: i64,
        team_wins: impl Fn(&TeamMemory, &TeamMemory) -> bool,
    ) -> Result<Applied> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applied = Applied::default();
        match joined_project(&tx, key)? {
            Some(project) => {
                let mut new_rows = NewObservations::default();
                for incoming in memories {
                    if new_rows.holds(&incoming.gid) {
                        new_rows.insert(&tx, &mut applied)?;
                    }
                    let outcome = apply_one(
                        &tx,
                        &project,
                        incoming,
                        origin,
                        now,
                        &team_wins,
                        &mut new_rows,
                    )?;
                    match outcome {
                        Outcome::Applied => applied.applied += 1,
                        Outcome::KeptLocal => applied.kept_local += 1,
                        Outcome::Skipped => applied.skipped += 1,
                        Outcome::Queued => {}
                    }
                }
                new_rows.insert(&tx, &mut applied)?;
            }
            // No longer joined here: nothing to apply, but the watermark
            // still moves on.
            None => applied.skipped = memories.len(),
        }
        set_state(&tx, &watermark_key(key), watermark)?;
        tx.commit()?;
        Ok(applied)
    }
}

fn set_state(conn: &rusqlite::Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO team_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The state key of the pull watermark of project `key`: each project is
/// pulled from its own, so a project joined later is read from its start.
pub fn watermark_key(key: &str) -> String {
    format!("{}:{key}", state::WATERMARK)
}

/// An outbox entry as read, before its memory is.
struct Pending {
    id: i64,
    version: i64,
    kind: TeamKind,
    row_id: Option<i64>,
    gid: Option<String>,
    changed_at: i64,
    key: String,
    /// The project's root here, which paths go up relative to.
    root: String,
    author: String,
}

enum Outcome {
    Applied,
    KeptLocal,
    Skipped,
    /// A new observation, inserted with the rest of its page by
    /// [`NewObservations::insert`].
    Queued,
}

/// The joined project a page is applied to: its id and root here.
struct PageProject {
    id: i64,
    root: String,
}

fn joined_project(tx: &Transaction, key: &str) -> Result<Option<PageProject>> {
    Ok(tx
        .query_row(
            "SELECT t.project_id, p.root FROM team_projects t JOIN projects p ON p.id = t.project_id
             WHERE t.key = ?1 ORDER BY t.project_id LIMIT 1",
            [key],
            |r| {
                Ok(PageProject {
                    id: r.get(0)?,
                    root: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// A page's new observations, inserted by one statement. Each statement
/// that writes the full-text index inside a transaction makes FTS5 write
/// its pending terms out as a new segment (its savepoint), and SQLite
/// journal the pages it touches: one row per statement made an initial
/// pull spend half its time there.
#[derive(Default)]
struct NewObservations {
    rows: Vec<Vec<(&'static str, SqlValue)>>,
    gids: std::collections::HashSet<String>,
}

impl NewObservations {
    fn holds(&self, gid: &str) -> bool {
        self.gids.contains(gid)
    }

    fn push(&mut self, gid: &str, columns: Vec<(&'static str, SqlValue)>) {
        self.gids.insert(gid.to_string());
        self.rows.push(columns);
    }

    /// Insert the queued rows; one that an identical memory already here
    /// stands for (same project and content) is skipped.
    fn insert(&mut self, tx: &Transaction, applied: &mut Applied) -> Result<()> {
        let rows = std::mem::take(&mut self.rows);
        self.gids.clear();
        let Some(first) = rows.first() else {
            return Ok(());
        };
        // SQLite binds at most 32,766 parameters per statement.
        let per_statement = (32_766 / first.len()).max(1);
        for chunk in rows.chunks(per_statement) {
            let inserted = insert_rows(tx, TeamKind::Observation.table(), chunk.to_vec())?;
            applied.applied += inserted;
            applied.skipped += chunk.len() - inserted;
        }
        Ok(())
    }
}

/// `path` relative to `root` when it lies inside it.
fn relative(path: &str, root: &str) -> String {
    path.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .map_or_else(|| path.to_string(), str::to_string)
}

/// A relative `path` placed under `root`; an absolute one kept.
fn rerooted(path: &str, root: &str) -> String {
    if path.starts_with('/') || path.is_empty() {
        path.to_string()
    } else {
        format!("{}/{path}", root.trim_end_matches('/'))
    }
}

/// A stored JSON list of strings as a body's list, each item through `map`
/// (an unreadable list is empty).
fn body_list(text: &str, map: impl Fn(&str) -> String) -> Value {
    let items: Vec<String> = from_json(text);
    Value::from(items.iter().map(|item| map(item)).collect::<Vec<_>>())
}

/// A body's list at `key` as the stored JSON text, each item through `map`.
fn stored_list(body: &Value, key: &str, map: impl Fn(&str) -> String) -> String {
    let items: Vec<String> = body[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(&map).collect())
        .unwrap_or_default();
    json_text(&items)
}

/// An observation's body: the fields that travel.
fn observation_body(r: &rusqlite::Row, root: &str) -> rusqlite::Result<Value> {
    Ok(json!({
        "type": r.get::<_, String>("type")?,
        "title": r.get::<_, String>("title")?,
        "subtitle": r.get::<_, String>("subtitle")?,
        "narrative": r.get::<_, String>("narrative")?,
        "facts": body_list(&r.get::<_, String>("facts")?, str::to_string),
        "concepts": body_list(&r.get::<_, String>("concepts")?, str::to_string),
        "files_read": body_list(&r.get::<_, String>("files_read")?, |p| relative(p, root)),
        "files_modified": body_list(&r.get::<_, String>("files_modified")?, |p| relative(p, root)),
        "content_hash": r.get::<_, String>("content_hash")?,
        "generated_by": r.get::<_, String>("generated_by")?,
    }))
}

/// A summary's body: the fields that travel.
fn summary_body(r: &rusqlite::Row, root: &str) -> rusqlite::Result<Value> {
    Ok(json!({
        "request": r.get::<_, String>("request")?,
        "investigated": r.get::<_, String>("investigated")?,
        "learned": r.get::<_, String>("learned")?,
        "completed": r.get::<_, String>("completed")?,
        "next_steps": r.get::<_, String>("next_steps")?,
        "files_read": body_list(&r.get::<_, String>("files_read")?, |p| relative(p, root)),
        "files_modified": body_list(&r.get::<_, String>("files_modified")?, |p| relative(p, root)),
        "generated_by": r.get::<_, String>("generated_by")?,
    }))
}

/// The memory in row `row_id` (gid empty when it has none yet).
fn read_row(
    tx: &Transaction,
    kind: TeamKind,
    row_id: i64,
    root: &str,
) -> Result<Option<TeamMemory>> {
    // A subquery, not a join: SQLite compiled the join form again on every
    // new binding of `?1`, which cost a push a fifth of its time.
    let sql = format!(
        "SELECT m.*, (SELECT agent_session_id FROM sessions WHERE id = m.session_id) AS session
         FROM {} m WHERE m.id = ?1",
        kind.table()
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    Ok(stmt
        .query_row([row_id], |r| {
            let body = match kind {
                TeamKind::Observation => observation_body(r, root)?,
                TeamKind::Summary => summary_body(r, root)?,
            };
            Ok(TeamMemory {
                gid: r.get::<_, Option<String>>("gid")?.unwrap_or_default(),
                kind,
                project_key: String::new(),
                session: r.get("session")?,
                author: r.get("author")?,
                origin: r.get("origin")?,
                created_at: r.get("created_at")?,
                edited_at: 0,
                deleted: r.get::<_, Option<i64>>("deleted_at")?.is_some(),
                body,
            })
        })
        .optional()?)
}

/// `query_row` through the statement cache: applying a page runs the same
/// few statements for every record.
fn cached_row<T, P: rusqlite::Params>(
    tx: &Transaction,
    sql: &str,
    params: P,
    row: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, row)
}

/// `execute` through the statement cache, as [`cached_row`].
fn cached_exec<P: rusqlite::Params>(
    tx: &Transaction,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// Apply one pulled version; a new observation is queued in `new_rows`.
fn apply_one(
    tx: &Transaction,
    project: &PageProject,
    incoming: &TeamMemory,
    origin: &str,
    now: i64,
    team_wins: &impl Fn(&TeamMemory, &TeamMemory) -> bool,
    new_rows: &mut NewObservations,
) -> Result<Outcome> {
    let table = incoming.kind.table();
    let kind = incoming.kind.as_str();
    let (project_id, root) = (project.id, project.root.as_str());
    let row_id: Option<i64> = cached_row(
        tx,
        &format!("SELECT id FROM {table} WHERE gid = ?1"),
        [&incoming.gid],
        |r| r.get(0),
    )
    .optional()?;
    if let Some(row_id) = row_id {
        let pending: Option<i64> = cached_row(
            tx,
            "SELECT changed_at FROM team_outbox WHERE kind = ?1 AND row_id = ?2",
            params![kind, row_id],
            |r| r.get(0),
        )
        .optional()?;
        if let Some(changed_at) = pending
            && let Some(mut local) = read_row(tx, incoming.kind, row_id, root)?
        {
            local.project_key = incoming.project_key.clone();
            local.edited_at = changed_at;
            local.origin = Some(origin.to_string());
            let team = team_wins(incoming, &local);
            cached_exec(tx,
                "INSERT INTO team_conflicts (at, gid, kind, kept, local_edited_at, team_edited_at, team_origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    now,
                    incoming.gid,
                    kind,
                    if team { "team" } else { "local" },
                    changed_at,
                    incoming.edited_at,
                    incoming.origin.as_deref().unwrap_or("")
                ],
            )?;
            if !team {
                return Ok(Outcome::KeptLocal);
            }
        }
        update_row(tx, incoming, row_id, root)?;
        forget_outbox(tx, kind, row_id)?;
        if is_removal(incoming) {
            // Deleting the row left a tombstone entry for its gid.
            cached_exec(
                tx,
                "DELETE FROM team_outbox WHERE kind = ?1 AND row_id IS NULL AND gid = ?2",
                params![kind, incoming.gid],
            )?;
        }
        return Ok(Outcome::Applied);
    }
    // A removal of a memory never seen here, or of one whose row was
    // deleted here since: nothing to do. A forgotten memory is kept as
    // forgotten, as on the machines that had it, so an undo can bring it
    // back.
    if is_removal(incoming) {
        return Ok(Outcome::Skipped);
    }
    let session_id = team_session(tx, project_id, incoming)?;
    // A row inserted with an origin is not queued (the insert triggers'
    // `WHEN`), so there is no outbox entry to take back.
    match incoming.kind {
        TeamKind::Observation => {
            new_rows.push(
                &incoming.gid,
                observation_columns(incoming, project_id, session_id, root),
            );
            Ok(Outcome::Queued)
        }
        TeamKind::Summary => {
            let session_id = match session_id {
                Some(id) => id,
                None => session_row(tx, project_id, &format!("team:{}", incoming.gid), incoming)?,
            };
            Ok(
                match insert_summary(tx, incoming, project_id, session_id, root, now)? {
                    0 => Outcome::Skipped,
                    _ => Outcome::Applied,
                },
            )
        }
    }
}

fn forget_outbox(tx: &Transaction, kind: &str, row_id: i64) -> Result<()> {
    cached_exec(
        tx,
        "DELETE FROM team_outbox WHERE kind = ?1 AND row_id = ?2",
        params![kind, row_id],
    )?;
    Ok(())
}

/// The session pulled memories of `incoming.session` are grouped under.
fn team_session(tx: &Transaction, project_id: i64, incoming: &TeamMemory) -> Result<Option<i64>> {
    match &incoming.session {
        Some(session) => Ok(Some(session_row(tx, project_id, session, incoming)?)),
        None => Ok(None),
    }
}

fn session_row(
    tx: &Transaction,
    project_id: i64,
    session: &str,
    incoming: &TeamMemory,
) -> Result<i64> {
    if let Some(id) = cached_row(
        tx,
        "SELECT id FROM sessions WHERE agent = ?1 AND agent_session_id = ?2",
        params![TEAM_AGENT, session],
        |r| r.get(0),
    )
    .optional()?
    {
        return Ok(id);
    }
    Ok(cached_row(
        tx,
        "INSERT INTO sessions (agent, agent_session_id, project_id, started_at, ended_at, status)
         VALUES (?1, ?2, ?3, ?4, ?4, 'ended') RETURNING id",
        params![TEAM_AGENT, session, project_id, incoming.created_at],
        |r| r.get(0),
    )?)
}

fn deleted_at(incoming: &TeamMemory) -> Option<i64> {
    incoming.deleted.then_some(incoming.edited_at)
}

/// The columns a pulled body sets, with their values (file lists re-rooted
/// under `root`): one list for both inserting and updating a row.
fn body_columns(m: &TeamMemory, root: &str) -> Vec<(&'static str, SqlValue)> {
    let b = &m.body;
    let text = |key: &str| SqlValue::Text(b[key].as_str().unwrap_or("").to_string());
    let mut columns = match m.kind {
        TeamKind::Observation => {
            let kind = b["type"].as_str().unwrap_or("");
            let kind = if crate::OBSERVATION_TYPES.contains(&kind) {
                kind
            } else {
                "discovery"
            };
            vec![
                ("type", SqlValue::Text(kind.to_string())),
                ("title", text("title")),
                ("subtitle", text("subtitle")),
                ("narrative", text("narrative")),
                (
                    "facts",
                    SqlValue::Text(stored_list(b, "facts", str::to_string)),
                ),
                (
                    "concepts",
                    SqlValue::Text(stored_list(b, "concepts", str::to_string)),
                ),
            ]
        }
        TeamKind::Summary => [
            "request",
            "investigated",
            "learned",
            "completed",
            "next_steps",
        ]
        .into_iter()
        .map(|key| (key, text(key)))
        .collect(),
    };
    columns.extend([
        (
            "files_read",
            SqlValue::Text(stored_list(b, "files_read", |p| rerooted(p, root))),
        ),
        (
            "files_modified",
            SqlValue::Text(stored_list(b, "files_modified", |p| rerooted(p, root))),
        ),
        ("generated_by", text("generated_by")),
        (
            "author",
            m.author.clone().map_or(SqlValue::Null, SqlValue::Text),
        ),
        (
            "origin",
            m.origin.clone().map_or(SqlValue::Null, SqlValue::Text),
        ),
        ("edited_at", SqlValue::Integer(m.edited_at)),
    ]);
    columns
}

/// The columns every new row of a pulled memory sets besides its body's.
fn new_row_columns(m: &TeamMemory) -> [(&'static str, SqlValue); 3] {
    [
        ("created_at", SqlValue::Integer(m.created_at)),
        (
            "deleted_at",
            deleted_at(m).map_or(SqlValue::Null, SqlValue::Integer),
        ),
        ("gid", SqlValue::Text(m.gid.clone())),
    ]
}

/// Insert pulled memories as new rows of `table` (all with the same
/// columns, in the same order), in one statement; returns how many were
/// inserted. A row an identical memory already here stands for (same
/// project and content) is skipped.
fn insert_rows(
    tx: &Transaction,
    table: &str,
    rows: Vec<Vec<(&'static str, SqlValue)>>,
) -> Result<usize> {
    let Some(first) = rows.first() else {
        return Ok(0);
    };
    let names: Vec<&str> = first.iter().map(|(name, _)| *name).collect();
    let single = rows.len() == 1;
    let row_marks = format!("({})", vec!["?"; names.len()].join(", "));
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {} ON CONFLICT DO NOTHING",
        names.join(", "),
        vec![row_marks; rows.len()].join(", ")
    );
    let values = rows
        .into_iter()
        .flat_map(|row| row.into_iter().map(|(_, value)| value));
    // One-row statements repeat for every summary; page-sized ones vary.
    Ok(if single {
        tx.prepare_cached(&sql)?.execute(params_from_iter(values))?
    } else {
        tx.prepare(&sql)?.execute(params_from_iter(values))?
    })
}

fn observation_columns(
    m: &TeamMemory,
    project_id: i64,
    session_id: Option<i64>,
    root: &str,
) -> Vec<(&'static str, SqlValue)> {
    let hash = match m.body["content_hash"].as_str() {
        Some(hash) if !hash.is_empty() => hash.to_string(),
        _ => m.gid.clone(),
    };
    let mut columns = body_columns(m, root);
    columns.extend([
        ("project_id", SqlValue::Integer(project_id)),
        (
            "session_id",
            session_id.map_or(SqlValue::Null, SqlValue::Integer),
        ),
        ("content_hash", SqlValue::Text(hash)),
    ]);
    columns.extend(new_row_columns(m));
    columns
}

/// A pulled summary needs a prompt (one summary per prompt): a placeholder
/// numbered below 1, private and empty, marked compressed, so it is never
/// shown, searched or compressed.
fn insert_summary(
    tx: &Transaction,
    m: &TeamMemory,
    project_id: i64,
    session_id: i64,
    root: &str,
    now: i64,
) -> Result<usize> {
    let prompt_id: i64 = cached_row(
        tx,
        "INSERT INTO prompts (session_id, n, text, private, created_at, compressed_at)
         VALUES (?1, (SELECT min(0, coalesce(min(n), 1)) - 1 FROM prompts WHERE session_id = ?1),
                 '', 1, ?2, ?3)
         RETURNING id",
        params![session_id, m.created_at, now],
        |r| r.get(0),
    )?;
    let mut columns = body_columns(m, root);
    columns.extend([
        ("project_id", SqlValue::Integer(project_id)),
        ("session_id", SqlValue::Integer(session_id)),
        ("prompt_id", SqlValue::Integer(prompt_id)),
    ]);
    columns.extend(new_row_columns(m));
    let inserted = insert_rows(tx, TeamKind::Summary.table(), vec![columns])?;
    if inserted == 0 {
        // An identical summary stands for it: its placeholder is not needed.
        cached_exec(tx, "DELETE FROM prompts WHERE id = ?1", [prompt_id])?;
    }
    Ok(inserted)
}

/// A tombstone without content: the memory's row was deleted where it was
/// written (replaced by enrichment or a new compression), not forgotten.
fn is_removal(m: &TeamMemory) -> bool {
    m.deleted && m.body.as_object().is_none_or(|fields| fields.is_empty())
}

/// Bring row `row_id` to the pulled version. A removal deletes the row, as
/// it was deleted where it was written; a forgotten memory keeps its
/// content (an undo elsewhere brings it back); a live version replaces it.
fn update_row(tx: &Transaction, m: &TeamMemory, row_id: i64, root: &str) -> Result<()> {
    let table = m.kind.table();
    if is_removal(m) {
        let placeholder: Option<i64> = match m.kind {
            TeamKind::Summary => cached_row(
                tx,
                "SELECT p.id FROM summaries s JOIN prompts p ON p.id = s.prompt_id
                     WHERE s.id = ?1 AND p.n < 1",
                [row_id],
                |r| r.get(0),
            )
            .optional()?,
            TeamKind::Observation => None,
        };
        cached_exec(tx, &format!("DELETE FROM {table} WHERE id = ?1"), [row_id])?;
        if let Some(prompt_id) = placeholder {
            cached_exec(tx, "DELETE FROM prompts WHERE id = ?1", [prompt_id])?;
        }
        return Ok(());
    }
    if m.deleted {
        cached_exec(
            tx,
            &format!(
                "UPDATE {table} SET deleted_at = coalesce(deleted_at, ?2), author = ?3, origin = ?4,
                     edited_at = ?2
                 WHERE id = ?1"
            ),
            params![row_id, m.edited_at, m.author, m.origin],
        )?;
        return Ok(());
    }
    let mut columns = body_columns(m, root);
    columns.push(("deleted_at", SqlValue::Null));
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("{name} = ?{}", i + 2))
        .collect();
    let values =
        std::iter::once(SqlValue::Integer(row_id)).chain(columns.into_iter().map(|(_, v)| v));
    cached_exec(
        tx,
        &format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", ")),
        params_from_iter(values),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewObservation;

    fn api() -> ProjectRef {
        ProjectRef {
            root: "/src/api".into(),
            name: "api".into(),
        }
    }

    fn note(store: &mut Store, title: &str) -> i64 {
        let o = NewObservation {
            kind: "discovery".into(),
            title: title.into(),
            content_hash: title.into(),
            generated_by: "user".into(),
            files_read: vec!["/src/api/src/lib.rs".into()],
            ..NewObservation::default()
        };
        store.remember(Some(&api()), &o, 1).unwrap();
        store
            .conn()
            .query_row("SELECT max(id) FROM observations", [], |r| r.get(0))
            .unwrap()
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("{n:032x}")
        }
    }

    #[test]
    fn only_joined_projects_fill_the_outbox_and_sent_entries_leave_it() {
        let mut s = Store::open_in_memory().unwrap();
        note(&mut s, "before join");
        assert_eq!(s.team_waiting().unwrap(), 0, "not joined yet");
        assert_eq!(
            s.team_join(&api(), "github.com/acme/api", "ana", 2)
                .unwrap(),
            1
        );
        note(&mut s, "after join");
        let entries = s.team_outbox(10, counter()).unwrap();
        assert_eq!(entries.len(), 2);
        let m = &entries[0].memory;
        assert_eq!(
            m.body["files_read"],
            json!(["src/lib.rs"]),
            "paths go up relative"
        );
        assert_eq!(m.gid.len(), 32);
        // A change after reading keeps the entry for the next round.
        s.conn()
            .execute(
                "UPDATE observations SET title = 'edited' WHERE title = 'after join'",
                [],
            )
            .unwrap();
        let sent: Vec<_> = entries.iter().map(|e| (e.id, e.version)).collect();
        s.team_sent(&sent).unwrap();
        assert_eq!(s.team_waiting().unwrap(), 1);
        let again = s.team_outbox(10, counter()).unwrap();
        assert_eq!(again[0].memory.body["title"], "edited");
        assert_eq!(
            again[0].memory.gid, entries[1].memory.gid,
            "the gid is kept"
        );
    }

    #[test]
    fn a_deleted_row_goes_up_as_a_tombstone_only_once_it_was_sent() {
        let mut s = Store::open_in_memory().unwrap();
        s.team_join(&api(), "k", "ana", 1).unwrap();
        let never_sent = note(&mut s, "never sent");
        s.conn()
            .execute("DELETE FROM observations WHERE id = ?1", [never_sent])
            .unwrap();
        assert_eq!(s.team_waiting().unwrap(), 0);
        let sent = note(&mut s, "sent");
        let entries = s.team_outbox(10, counter()).unwrap();
        s.team_sent(&[(entries[0].id, entries[0].version)]).unwrap();
        s.conn()
            .execute("DELETE FROM observations WHERE id = ?1", [sent])
            .unwrap();
        let tomb = s.team_outbox(10, counter()).unwrap();
        assert_eq!(tomb.len(), 1);
        assert!(tomb[0].memory.deleted);
        assert_eq!(tomb[0].memory.gid, entries[0].memory.gid);
    }

    #[test]
    fn a_page_inserts_its_new_observations_together_and_a_repeated_gid_in_order() {
        let mut s = Store::open_in_memory().unwrap();
        s.team_join(&api(), "k", "ana", 1).unwrap();
        let observation = |gid: char, title: &str, edited_at: i64| TeamMemory {
            gid: gid.to_string().repeat(32),
            kind: TeamKind::Observation,
            project_key: "k".into(),
            session: Some("s-1".into()),
            author: Some("ana".into()),
            origin: Some("m-a".into()),
            created_at: 5,
            edited_at,
            deleted: false,
            body: json!({"type": "bugfix", "title": title, "content_hash": title,
                         "files_read": ["src/auth.rs"]}),
        };
        let page = [
            observation('a', "tokens expire", 5),
            // Another gid, the same content: the row already here stands for it.
            observation('b', "tokens expire", 5),
            observation('c', "retry on 429", 5),
            // A later version of the first, in the same page.
            observation('a', "tokens expire hourly", 6),
        ];
        let wins = |a: &TeamMemory, b: &TeamMemory| a.edited_at >= b.edited_at;
        let done = s.team_apply("k", &page, "w1", "me", 9, wins).unwrap();
        assert_eq!((done.applied, done.skipped), (3, 1));
        let titles: Vec<String> = s
            .conn()
            .prepare("SELECT title FROM observations ORDER BY gid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(titles, ["tokens expire hourly", "retry on 429"]);
        let found: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH 'hourly OR retry'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 2, "both are in the full-text index");
        assert_eq!(s.team_waiting().unwrap(), 0);
    }

    #[test]
    fn pulled_memories_do_not_go_back_up_and_a_newer_local_change_wins() {
        let mut s = Store::open_in_memory().unwrap();
        s.team_join(&api(), "k", "ana", 1).unwrap();
        let pulled = TeamMemory {
            gid: "a".repeat(32),
            kind: TeamKind::Summary,
            project_key: "k".into(),
            session: Some("s-1".into()),
            author: Some("ana".into()),
            origin: Some("m-a".into()),
            created_at: 5,
            edited_at: 5,
            deleted: false,
            body: json!({"request": "fix login", "learned": "tokens expire",
                         "files_read": ["src/auth.rs"]}),
        };
        let wins = |a: &TeamMemory, b: &TeamMemory| a.edited_at >= b.edited_at;
        let done = s
            .team_apply("k", std::slice::from_ref(&pulled), "w1", "me", 9, wins)
            .unwrap();
        assert_eq!(done.applied, 1);
        assert_eq!(s.team_waiting().unwrap(), 0, "nothing bounces back");
        assert_eq!(
            s.team_state(&watermark_key("k")).unwrap().as_deref(),
            Some("w1")
        );
        let files: String = s
            .conn()
            .query_row("SELECT files_read FROM summaries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(files, r#"["/src/api/src/auth.rs"]"#);
        // A local edit not yet sent, then an older team version: local stays.
        s.conn()
            .execute("UPDATE summaries SET learned = 'mine'", [])
            .unwrap();
        let older = TeamMemory {
            body: json!({"learned": "theirs"}),
            edited_at: 6,
            ..pulled.clone()
        };
        let done = s.team_apply("k", &[older], "w2", "me", 9, wins).unwrap();
        assert_eq!(done.kept_local, 1);
        assert_eq!(s.team_conflicts().unwrap(), 1);
        let learned: String = s
            .conn()
            .query_row("SELECT learned FROM summaries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(learned, "mine");
        assert_eq!(s.team_waiting().unwrap(), 1);
        // Removed where it was written: the summary and its placeholder go.
        let removal = TeamMemory {
            body: json!({}),
            deleted: true,
            edited_at: i64::MAX,
            ..pulled
        };
        let done = s.team_apply("k", &[removal], "w3", "me", 9, wins).unwrap();
        assert_eq!(done.applied, 1);
        let count = |table: &str| -> i64 {
            s.conn()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!((count("summaries"), count("prompts")), (0, 0));
        assert_eq!(s.team_waiting().unwrap(), 0);
    }

    #[test]
    fn a_removal_deletes_the_row_and_a_forgotten_memory_arrives_forgotten() {
        let mut s = Store::open_in_memory().unwrap();
        s.team_join(&api(), "k", "ana", 1).unwrap();
        let memory = |gid: char, deleted: bool, body: Value| TeamMemory {
            gid: gid.to_string().repeat(32),
            kind: TeamKind::Observation,
            project_key: "k".into(),
            session: None,
            author: Some("ben".into()),
            origin: Some("m-b".into()),
            created_at: 5,
            edited_at: 7,
            deleted,
            body,
        };
        let wins = |_: &TeamMemory, _: &TeamMemory| true;
        let title = json!({"type": "decision", "title": "use cents", "content_hash": "h1"});
        let live = memory('a', false, title.clone());
        let forgotten = memory(
            'b',
            true,
            json!({"title": "old idea", "content_hash": "h2"}),
        );
        let unknown_removal = memory('c', true, json!({}));
        let done = s
            .team_apply(
                "k",
                &[live, forgotten, unknown_removal],
                "w1",
                "me",
                9,
                wins,
            )
            .unwrap();
        assert_eq!((done.applied, done.skipped), (2, 1));
        let rows = |s: &Store| -> Vec<(String, bool)> {
            s.conn()
                .prepare("SELECT title, deleted_at IS NOT NULL FROM observations ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert_eq!(
            rows(&s),
            [
                ("use cents".to_string(), false),
                ("old idea".to_string(), true)
            ]
        );
        let removal = memory('a', true, json!({}));
        s.team_apply("k", &[removal], "w2", "me", 9, wins).unwrap();
        assert_eq!(rows(&s), [("old idea".to_string(), true)]);
        assert_eq!(s.team_waiting().unwrap(), 0, "no tombstone goes back up");
    }

    /// The server's rule, as `mnemo_team::winner` spells it: the later
    /// version wins, a tie goes to the greater origin, then to the tombstone.
    fn server_keeps<'a>(a: &'a TeamMemory, b: &'a TeamMemory) -> &'a TeamMemory {
        let key = |m: &TeamMemory| (m.edited_at, m.origin.clone(), m.deleted);
        if key(a) >= key(b) { a } else { b }
    }

    /// Sends this machine's waiting changes as `origin` would: read, marked
    /// sent, signed with the machine's origin.
    fn push(s: &mut Store, origin: &str) -> Vec<TeamMemory> {
        let entries = s.team_outbox(10, counter()).unwrap();
        let sent: Vec<_> = entries.iter().map(|e| (e.id, e.version)).collect();
        s.team_sent(&sent).unwrap();
        entries
            .into_iter()
            .map(|e| TeamMemory {
                origin: Some(origin.into()),
                ..e.memory
            })
            .collect()
    }

    /// A forget and its undo pushed in two rounds while the clock stands
    /// still (here: behind the version last pulled, as when a teammate's
    /// clock runs ahead) are versioned one after the other, so the undo wins
    /// on the server and on every other machine.
    #[test]
    fn a_forget_and_its_undo_get_strictly_increasing_versions_and_the_undo_wins() {
        let ahead = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 3_600_000;
        let pulled = TeamMemory {
            gid: "a".repeat(32),
            kind: TeamKind::Observation,
            project_key: "k".into(),
            session: None,
            author: Some("ana".into()),
            origin: Some("m-a".into()),
            created_at: 5,
            edited_at: ahead,
            deleted: false,
            body: json!({"type": "decision", "title": "prices in cents", "content_hash": "h"}),
        };
        let wins = |a: &TeamMemory, b: &TeamMemory| std::ptr::eq(server_keeps(a, b), a);
        let (mut ben, mut cy) = (
            Store::open_in_memory().unwrap(),
            Store::open_in_memory().unwrap(),
        );
        for s in [&mut ben, &mut cy] {
            s.team_join(&api(), "k", "me", 1).unwrap();
            s.team_apply("k", std::slice::from_ref(&pulled), "w1", "me", 9, wins)
                .unwrap();
        }
        let id: i64 = ben
            .conn()
            .query_row("SELECT id FROM observations", [], |r| r.get(0))
            .unwrap();
        let version = |s: &Store| -> Option<i64> {
            s.conn()
                .query_row("SELECT edited_at FROM observations", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&ben), Some(ahead), "a pull records its version");

        ben.forget(&[id], 10).unwrap();
        let forget = push(&mut ben, "m-b");
        ben.restore(&[id]).unwrap();
        let undo = push(&mut ben, "m-b");
        let (forget, undo) = (&forget[0], &undo[0]);
        assert!(forget.deleted && !undo.deleted);
        assert!(forget.edited_at > ahead, "after the version pulled");
        assert!(undo.edited_at > forget.edited_at, "after the forget sent");
        assert_eq!(version(&ben), Some(undo.edited_at));

        // The server keeps the undo whichever order the versions meet in.
        let on_server = server_keeps(server_keeps(&pulled, forget), undo);
        assert_eq!(on_server, undo);
        assert_eq!(server_keeps(undo, forget), undo);
        // Cy saw the forget in one round and the undo in the next.
        cy.team_apply("k", std::slice::from_ref(forget), "w2", "me", 9, wins)
            .unwrap();
        let forgotten = |s: &Store| -> bool {
            s.conn()
                .query_row("SELECT deleted_at IS NOT NULL FROM observations", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        assert!(forgotten(&cy));
        cy.team_apply("k", std::slice::from_ref(undo), "w3", "me", 9, wins)
            .unwrap();
        assert!(!forgotten(&cy), "the undo brought it back");
        assert_eq!(version(&cy), Some(undo.edited_at));
        assert_eq!(cy.team_waiting().unwrap(), 0, "nothing goes back up");

        // Deleting the row (as enrichment replaces it) is versioned after
        // it too, and so is a change made before the last one went up.
        cy.conn()
            .execute(
                "UPDATE observations SET title = 'prices in cents, rounded'",
                [],
            )
            .unwrap();
        cy.conn()
            .execute(
                "UPDATE observations SET title = 'prices in whole cents'",
                [],
            )
            .unwrap();
        let edit = push(&mut cy, "m-c");
        assert!(edit[0].edited_at > undo.edited_at);
        cy.conn().execute("DELETE FROM observations", []).unwrap();
        let removal = push(&mut cy, "m-c");
        assert!(removal[0].deleted);
        assert!(removal[0].edited_at > edit[0].edited_at);
    }
}
