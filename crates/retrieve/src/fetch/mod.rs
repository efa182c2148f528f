//! Fetching memories by id: full observations ([`get_observations`]), a
//! project's observations in time order ([`timeline`]), session summaries and
//! prompts (`records.rs`), and the tool calls behind a memory ([`provenance`]).

pub mod provenance;
pub(crate) mod records;

use mnemo_store::{Result, Store};
use serde::Serialize;

use crate::search::{Hit, hit, hit_columns};

/// A full observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// Its id (`observations.id`).
    pub id: i64,
    /// Its type (`bugfix`, `feature`, `decision`, `discovery`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// One line saying what it is about.
    pub title: String,
    /// A second line with the detail that tells it apart.
    pub subtitle: String,
    /// The account in prose.
    pub narrative: String,
    /// Short statements that hold on their own.
    pub facts: Vec<String>,
    /// Tags such as `how-it-works` or `gotcha`.
    pub concepts: Vec<String>,
    /// Files read in its episode.
    pub files_read: Vec<String>,
    /// Files changed in its episode.
    pub files_modified: Vec<String>,
    /// Project root.
    pub project: Option<String>,
    /// The session it was made in (`sessions.id`).
    pub session_id: Option<i64>,
    /// The prompt its episode answered.
    pub prompt: Option<String>,
    /// `rules`, `llm:<model>` or `user`.
    pub generated_by: String,
    /// When its episode ended (or it was remembered), Unix ms.
    pub created_at: i64,
    /// The caller's own reference, for imported memories.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Who wrote it, for a memory pulled from the team; `None` when it was
    /// written on this machine.
    pub author: Option<String>,
}

/// Observations of one project in time order around `anchor` (`before`
/// older ones, the anchor, `after` newer ones); without an anchor, the
/// newest `before + after + 1` of `project` (or of all projects).
pub fn timeline(
    store: &Store,
    anchor: Option<i64>,
    project: Option<&str>,
    before: usize,
    after: usize,
) -> Result<Vec<Hit>> {
    let select = format!(
        "SELECT {} FROM observations o LEFT JOIN projects p ON p.id = o.project_id
         WHERE o.deleted_at IS NULL",
        hit_columns("0.0")
    );
    let Some(anchor) = anchor else {
        let sql = format!(
            "{select} AND (?1 IS NULL OR p.root = ?1) ORDER BY o.created_at DESC, o.id DESC LIMIT ?2"
        );
        let mut hits: Vec<Hit> = store
            .conn()
            .prepare(&sql)?
            .query_map(rusqlite::params![project, (before + after + 1) as i64], hit)?
            .collect::<rusqlite::Result<_>>()?;
        hits.reverse();
        return Ok(hits);
    };
    let (at, project_id): (i64, Option<i64>) = match store.conn().query_row(
        "SELECT created_at, project_id FROM observations WHERE id = ?1",
        [anchor],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ) {
        Ok(found) => found,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let same_project = "o.project_id IS ?1";
    let older = format!(
        "{select} AND {same_project} AND (o.created_at, o.id) < (?2, ?3)
         ORDER BY o.created_at DESC, o.id DESC LIMIT ?4"
    );
    let newer = format!(
        "{select} AND {same_project} AND (o.created_at, o.id) >= (?2, ?3)
         ORDER BY o.created_at, o.id LIMIT ?4"
    );
    let mut hits: Vec<Hit> = store
        .conn()
        .prepare(&older)?
        .query_map(
            rusqlite::params![project_id, at, anchor, before as i64],
            hit,
        )?
        .collect::<rusqlite::Result<_>>()?;
    hits.reverse();
    let later: Vec<Hit> = store
        .conn()
        .prepare(&newer)?
        .query_map(
            rusqlite::params![project_id, at, anchor, (after + 1) as i64],
            hit,
        )?
        .collect::<rusqlite::Result<_>>()?;
    hits.extend(later);
    Ok(hits)
}

/// Full observations by id, in the order asked; unknown or deleted ids are skipped.
pub fn get_observations(store: &Store, ids: &[i64]) -> Result<Vec<Observation>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT o.id, o.type, o.title, o.subtitle, o.narrative, o.facts, o.concepts, o.files_read,
                o.files_modified, p.root, o.session_id, pr.text, o.generated_by, o.created_at, o.ref,
                o.author
         FROM observations o
         LEFT JOIN projects p ON p.id = o.project_id
         LEFT JOIN prompts pr ON pr.id = o.prompt_id
         WHERE o.id = ?1 AND o.deleted_at IS NULL",
    )?;
    let list = |s: String| serde_json::from_str::<Vec<String>>(&s).unwrap_or_default();
    let mut out = Vec::new();
    for id in ids {
        let found = stmt.query_row([id], |r| {
            Ok(Observation {
                id: r.get(0)?,
                kind: r.get(1)?,
                title: r.get(2)?,
                subtitle: r.get(3)?,
                narrative: r.get(4)?,
                facts: list(r.get(5)?),
                concepts: list(r.get(6)?),
                files_read: list(r.get(7)?),
                files_modified: list(r.get(8)?),
                project: r.get(9)?,
                session_id: r.get(10)?,
                prompt: r.get(11)?,
                generated_by: r.get(12)?,
                created_at: r.get(13)?,
                reference: r.get(14)?,
                author: r.get(15)?,
            })
        });
        match found {
            Ok(o) => out.push(o),
            Err(rusqlite::Error::QueryReturnedNoRows) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
