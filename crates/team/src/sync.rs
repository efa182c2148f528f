//! Push and pull.
//!
//! A push is one transaction: every version goes into `mnemo_history`
//! (keyed by a hash of the whole version, so pushing it again adds nothing),
//! and each record's winning version into `mnemo_records`, where the
//! conflict rule runs in SQL. The written rows carry the writing
//! transaction's id (`pg_current_xact_id()`, an xid8).
//!
//! A pull reads rows in (xid, gid) order from its watermark up to, not
//! including, a horizon: the oldest transaction its snapshot sees still
//! running, leaving out those known to run in other databases (or, with
//! none, the snapshot's xmax). Every transaction below the horizon has
//! finished or belongs to another database, so no row can later appear
//! there, while a transaction still open when the pull ran (however long,
//! whatever its commit order) is at or above the horizon and is read by a
//! later pull. Rows may be read twice (a complete page's watermark is the
//! horizon); none is ever skipped.
//!
//! The horizon is the snapshot's xmin narrowed to this database because
//! xmin is cluster-wide: on a server shared by several teams, another
//! team's long transaction would otherwise hold back every pull.

use postgres::Client;
use postgres::types::ToSql;
use sha2::{Digest, Sha256};

use crate::connection::Scrub;
use crate::{Error, Kind, Page, PushReport, Record, Result, Watermark, schema, winner};

/// The LISTEN/NOTIFY channel: PostgreSQL keeps channels per database, so
/// each team's database has its own.
pub(crate) const CHANNEL: &str = "mnemo_changes";

/// Rows per statement: large enough to amortise a round trip, small enough
/// to keep a statement's arrays a few megabytes.
const ROWS_PER_STATEMENT: usize = 2_000;

/// The most records a pull returns, whatever the caller asks.
const MAX_PAGE: usize = 50_000;

const INSERT_HISTORY: &str = "
    INSERT INTO mnemo_history
        (gid, version, project, kind, session, author, origin, created_at, edited_at, deleted, body,
         changed_xid)
    SELECT gid, version, project, kind, session, author, origin, created_at, edited_at, deleted, body::json,
           pg_current_xact_id()
    FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::int8[], $9::int8[], $10::bool[], $11::text[])
        AS pushed(gid, version, project, kind, session, author, origin, created_at, edited_at, deleted, body)
    ON CONFLICT DO NOTHING";

/// The upsert keeps the version `winner` picks: the pushed one replaces the
/// stored one only when its (edited_at, origin, deleted, body text) is greater, byte
/// for byte; a tie keeps what the server has.
const UPSERT_CURRENT: &str = r#"
    INSERT INTO mnemo_records AS existing
        (gid, project, kind, session, author, origin, created_at, edited_at, deleted, body, changed_xid)
    SELECT gid, project, kind, session, author, origin, created_at, edited_at, deleted, body::json,
           pg_current_xact_id()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::int8[], $8::int8[], $9::bool[], $10::text[])
        AS pushed(gid, project, kind, session, author, origin, created_at, edited_at, deleted, body)
    ON CONFLICT (gid) DO UPDATE SET
        project = excluded.project, kind = excluded.kind, session = excluded.session,
        author = excluded.author, origin = excluded.origin, created_at = excluded.created_at,
        edited_at = excluded.edited_at, deleted = excluded.deleted, body = excluded.body,
        changed_xid = excluded.changed_xid
    WHERE (excluded.edited_at, excluded.origin, excluded.deleted, excluded.body::text COLLATE "C")
        > (existing.edited_at, existing.origin, existing.deleted, existing.body::text COLLATE "C")"#;

/// The transactions running in other databases of the cluster, read
/// before the pull's snapshot is taken (see [`SELECT_CHANGES`]).
const RUNNING_ELSEWHERE: &str = "
    SELECT backend_xid::text FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname <> current_database()";

/// The pull: its horizon (the module's documentation) and the rows below
/// it, in one statement so both come from one snapshot; one row with a
/// null gid when there are no rows. `$5` is [`RUNNING_ELSEWHERE`], read
/// before this statement's snapshot: a transaction it names was running
/// in another database then and, if the snapshot still sees it, now. A
/// transaction begun in between is not named and holds the horizon back,
/// but it began after every row this pull could owe its caller.
const SELECT_CHANGES: &str = r#"
    WITH snapshot AS (SELECT pg_current_snapshot() AS taken),
         horizon AS (
             SELECT coalesce(
                 (SELECT min(running) FROM snapshot, pg_snapshot_xip(taken) AS running
                  WHERE NOT (running::xid::text = ANY($5))),
                 (SELECT pg_snapshot_xmax(taken) FROM snapshot)) AS xid)
    SELECT changed.*, horizon.xid::text
    FROM horizon LEFT JOIN LATERAL (
        SELECT gid, project, kind, session, author, origin, created_at, edited_at, deleted,
               body::text, changed_xid::text AS changed_xid_text
        FROM mnemo_records AS record
        WHERE project = ANY($1)
          AND (changed_xid, gid) > ($2::text::xid8, $3::text COLLATE "C")
          AND changed_xid < horizon.xid
        -- The columns, qualified: ordered as xid8 (never as text, where
        -- "10000" sorts before "9999"), along the index.
        ORDER BY record.changed_xid, record.gid
        LIMIT $4) AS changed ON true"#;

/// How many records of one project changed after a watermark, written
/// elsewhere than `$4`, counted up to `$5`.
const COUNT_CHANGES: &str = r#"
    SELECT count(*) FROM (
        SELECT 1 FROM mnemo_records AS record
        WHERE project = $1
          AND (changed_xid, gid) > ($2::text::xid8, $3::text COLLATE "C")
          AND origin <> $4
        LIMIT $5) AS changed"#;

/// See [`crate::Server::incoming`].
pub(crate) fn incoming(
    client: &mut Client,
    project: &str,
    after: &Watermark,
    origin: &str,
    cap: i64,
    scrub: &Scrub,
) -> Result<i64> {
    let from = Position::read(after)?;
    let row = client
        .query_one(
            COUNT_CHANGES,
            &[&project, &from.xid.to_string(), &from.gid, &origin, &cap],
        )
        .map_err(|e| scrub.error(&e))?;
    Ok(row.get(0))
}

/// Store `records` in one transaction (see [`crate::Server::push`]).
pub(crate) fn push(client: &mut Client, records: &[Record], scrub: &Scrub) -> Result<PushReport> {
    if records.is_empty() {
        return Ok(PushReport::default());
    }
    records.iter().try_for_each(storable)?;
    let sql = |e: postgres::Error| scrub.error(&e);
    let mut transaction = client.transaction().map_err(sql)?;
    // Shared with other pushes, exclusive with a migration; then the version
    // check: a client never writes into a schema newer than it knows.
    transaction
        .execute("SELECT pg_advisory_xact_lock_shared($1)", &[&schema::LOCK])
        .map_err(sql)?;
    schema::check_not_newer(schema::version_in(&mut transaction).map_err(sql)?)?;

    let bodies: Vec<String> = records.iter().map(|r| r.body.to_string()).collect();
    // In gid order (stable: a gid's versions keep the batch's order), so
    // concurrent pushes lock shared rows in one order and never deadlock.
    let mut rows: Vec<(&Record, &str)> = records
        .iter()
        .zip(bodies.iter().map(String::as_str))
        .collect();
    rows.sort_by(|a, b| a.0.gid.cmp(&b.0.gid));
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let columns = Columns::of(chunk);
        let versions: Vec<Vec<u8>> = chunk
            .iter()
            .map(|(r, body)| version_hash(r, body))
            .collect();
        let mut params = columns.params();
        params.insert(1, &versions);
        transaction.execute(INSERT_HISTORY, &params).map_err(sql)?;
    }
    let winners = winners_by_gid(&rows);
    let mut stored = 0;
    for chunk in winners.chunks(ROWS_PER_STATEMENT) {
        let columns = Columns::of(chunk);
        stored += transaction
            .execute(UPSERT_CURRENT, &columns.params())
            .map_err(sql)?;
    }
    if stored > 0 {
        transaction
            .execute("SELECT pg_notify($1, '')", &[&CHANNEL])
            .map_err(sql)?;
    }
    transaction.commit().map_err(sql)?;
    let stored = usize::try_from(stored).unwrap_or(usize::MAX);
    Ok(PushReport {
        stored,
        unchanged: records.len().saturating_sub(stored),
    })
}

/// Up to `limit` records of `projects` changed after `after` (see
/// [`crate::Server::pull`]).
pub(crate) fn pull(
    client: &mut Client,
    projects: &[String],
    after: &Watermark,
    limit: usize,
    scrub: &Scrub,
) -> Result<Page> {
    let from = Position::read(after)?;
    if projects.is_empty() {
        return Ok(Page {
            records: Vec::new(),
            next: after.clone(),
            more: false,
        });
    }
    let limit = limit.clamp(1, MAX_PAGE);
    let sql = |e: postgres::Error| scrub.error(&e);
    let elsewhere: Vec<String> = client
        .query(RUNNING_ELSEWHERE, &[])
        .map_err(sql)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let mut rows = client
        .query(
            SELECT_CHANGES,
            &[
                &projects,
                &from.xid.to_string(),
                &from.gid,
                &fetch,
                &elsewhere,
            ],
        )
        .map_err(sql)?;
    let horizon: String = match rows.first() {
        Some(row) => row.get(11),
        None => return Err(Error::Server("the pull returned no horizon".to_owned())),
    };
    rows.retain(|row| row.get::<_, Option<&str>>(0).is_some());

    let more = rows.len() > limit;
    let mut records = Vec::with_capacity(rows.len().min(limit));
    let mut last = None;
    for row in rows.iter().take(limit) {
        records.push(record_of(row)?);
        last = Some(row);
    }
    let next = match last {
        Some(row) if more => Position {
            xid: parse_xid(row.get(10))?,
            gid: row.get(0),
        },
        // The page is complete: everything below the horizon has been read.
        _ => Position {
            xid: parse_xid(&horizon)?.max(from.xid),
            gid: String::new(),
        },
    };
    Ok(Page {
        records,
        next: next.write(),
        more,
    })
}

/// A pull's place in (xid, gid) order: rows strictly after it come next.
#[derive(Debug, PartialEq, Eq)]
struct Position {
    xid: u64,
    gid: String,
}

impl Position {
    /// `""` is the start; otherwise `<xid>` or `<xid>/<gid>`.
    fn read(watermark: &Watermark) -> Result<Position> {
        let text = watermark.0.as_str();
        if text.is_empty() {
            return Ok(Position {
                xid: 0,
                gid: String::new(),
            });
        }
        let (xid, gid) = text.split_once('/').unwrap_or((text, ""));
        Ok(Position {
            xid: xid.parse().map_err(|_| {
                Error::Config(format!("the pull watermark {text:?} was not made by mnemo"))
            })?,
            gid: gid.to_owned(),
        })
    }

    fn write(&self) -> Watermark {
        if self.gid.is_empty() {
            Watermark(self.xid.to_string())
        } else {
            Watermark(format!("{}/{}", self.xid, self.gid))
        }
    }
}

fn parse_xid(text: &str) -> Result<u64> {
    text.parse()
        .map_err(|_| Error::Server(format!("the server returned {text:?} as a transaction id")))
}

/// PostgreSQL text cannot hold NUL; refuse the batch before any of it is sent.
fn storable(record: &Record) -> Result<()> {
    let texts = [
        record.gid.as_str(),
        &record.project,
        record.session.as_deref().unwrap_or(""),
        &record.author,
        &record.origin,
    ];
    if record.gid.is_empty() || texts.iter().any(|text| text.contains('\0')) {
        return Err(Error::Server(format!(
            "record {:?} cannot be stored: an empty gid or a NUL character",
            record.gid.replace('\0', "\\0")
        )));
    }
    Ok(())
}

/// Each gid's winning version in rows sorted by gid (an upsert may touch
/// a row once); on a full tie the earlier version, as [`winner`] keeps its
/// first argument.
fn winners_by_gid<'a>(rows: &[(&'a Record, &'a str)]) -> Vec<(&'a Record, &'a str)> {
    let mut winners: Vec<(&Record, &str)> = Vec::with_capacity(rows.len());
    for &(record, body) in rows {
        match winners.last_mut() {
            Some(last) if last.0.gid == record.gid => {
                if !std::ptr::eq(winner(last.0, record), last.0) {
                    *last = (record, body);
                }
            }
            _ => winners.push((record, body)),
        }
    }
    winners
}

/// The identity of one version: every field, length-prefixed.
fn version_hash(record: &Record, body: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(record.gid.as_bytes());
    field(record.project.as_bytes());
    field(record.kind.as_str().as_bytes());
    field(
        record
            .session
            .as_deref()
            .map_or(b"\0none".as_slice(), str::as_bytes),
    );
    field(record.author.as_bytes());
    field(record.origin.as_bytes());
    field(&record.created_at.to_le_bytes());
    field(&record.edited_at.to_le_bytes());
    field(&[u8::from(record.deleted)]);
    field(body.as_bytes());
    hash.finalize().to_vec()
}

fn record_of(row: &postgres::Row) -> Result<Record> {
    let kind = match row.get::<_, &str>(2) {
        "observation" => Kind::Observation,
        "summary" => Kind::Summary,
        other => return Err(Error::Server(format!("a record of unknown kind {other:?}"))),
    };
    let body: &str = row.get(9);
    Ok(Record {
        gid: row.get(0),
        project: row.get(1),
        kind,
        session: row.get(3),
        author: row.get(4),
        origin: row.get(5),
        created_at: row.get(6),
        edited_at: row.get(7),
        deleted: row.get(8),
        body: serde_json::from_str(body).map_err(|e| {
            Error::Server(format!(
                "record {} has a body that is not JSON: {e}",
                row.get::<_, &str>(0)
            ))
        })?,
    })
}

/// A chunk of records as the statements' column arrays.
struct Columns<'a> {
    gid: Vec<&'a str>,
    project: Vec<&'a str>,
    kind: Vec<&'a str>,
    session: Vec<Option<&'a str>>,
    author: Vec<&'a str>,
    origin: Vec<&'a str>,
    created_at: Vec<i64>,
    edited_at: Vec<i64>,
    deleted: Vec<bool>,
    body: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(chunk: &[(&'a Record, &'a str)]) -> Columns<'a> {
        Columns {
            gid: chunk.iter().map(|(r, _)| r.gid.as_str()).collect(),
            project: chunk.iter().map(|(r, _)| r.project.as_str()).collect(),
            kind: chunk.iter().map(|(r, _)| r.kind.as_str()).collect(),
            session: chunk.iter().map(|(r, _)| r.session.as_deref()).collect(),
            author: chunk.iter().map(|(r, _)| r.author.as_str()).collect(),
            origin: chunk.iter().map(|(r, _)| r.origin.as_str()).collect(),
            created_at: chunk.iter().map(|(r, _)| r.created_at).collect(),
            edited_at: chunk.iter().map(|(r, _)| r.edited_at).collect(),
            deleted: chunk.iter().map(|(r, _)| r.deleted).collect(),
            body: chunk.iter().map(|(_, body)| *body).collect(),
        }
    }

    /// The arrays in the statements' column order.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.gid,
            &self.project,
            &self.kind,
            &self.session,
            &self.author,
            &self.origin,
            &self.created_at,
            &self.edited_at,
            &self.deleted,
            &self.body,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_round_trip() {
        for position in [
            Position {
                xid: 0,
                gid: String::new(),
            },
            Position {
                xid: 7_500,
                gid: "0123456789abcdef0123456789abcdef".to_owned(),
            },
        ] {
            assert_eq!(Position::read(&position.write()).unwrap(), position);
        }
        assert!(Position::read(&Watermark("x".to_owned())).is_err());
    }
}
