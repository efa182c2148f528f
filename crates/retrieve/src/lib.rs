//! mnemo's retrieval: full-text search over observations with BM25 and
//! filters, and fetching full records by id.
//!
//! The store owns the schema and every write; this crate owns read queries
//! (through [`Store::conn`]). Ranking is FTS5's BM25 with column weights
//! (title > subtitle > facts > narrative, concepts); without text, the
//! newest first. Vector similarity, fusion and recency/type priors are to
//! come behind the same API.

pub mod browse;
pub mod context;
pub mod query;
pub mod recall;

use mnemo_store::{Result, Store};
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

/// BM25 column weights of `observations_fts(title, subtitle, narrative, facts, concepts)`.
const WEIGHTS: &str = "10.0, 4.0, 1.0, 2.0, 1.0";

/// What to search for and where.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free text; empty means "most recent" under the filters.
    pub text: String,
    /// Project root (exact).
    pub project: Option<String>,
    /// Observation types (any of).
    pub types: Vec<String>,
    /// Concepts (any of).
    pub concepts: Vec<String>,
    /// A path (or its tail, e.g. `cart.py`) read or modified.
    pub file: Option<String>,
    /// Inclusive bounds, Unix ms.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: usize,
    pub offset: usize,
}

/// One search result: enough to decide whether to fetch the full record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub subtitle: String,
    pub project: Option<String>,
    pub created_at: i64,
    /// Higher is better.
    pub score: f64,
    /// Approximate tokens to fetch the full record.
    pub tokens: usize,
    /// The caller's own reference, for imported memories.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// A full observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub subtitle: String,
    pub narrative: String,
    pub facts: Vec<String>,
    pub concepts: Vec<String>,
    pub files_read: Vec<String>,
    pub files_modified: Vec<String>,
    pub project: Option<String>,
    pub session_id: Option<i64>,
    pub prompt: Option<String>,
    pub generated_by: String,
    pub created_at: i64,
    /// The caller's own reference, for imported memories.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// Search observations. Never fails on odd input: the text goes through
/// [`query::fts_match`].
pub fn search(store: &Store, q: &SearchQuery) -> Result<Vec<Hit>> {
    let mut sql = String::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let text = query::fts_match(&q.text);
    if let Some(m) = &text {
        let columns = hit_columns(&format!("-bm25(observations_fts, {WEIGHTS})"));
        sql.push_str(&format!(
            "SELECT {columns}
             FROM observations_fts JOIN observations o ON o.id = observations_fts.rowid
             LEFT JOIN projects p ON p.id = o.project_id
             WHERE observations_fts MATCH ?"
        ));
        args.push(SqlValue::Text(m.clone()));
    } else {
        sql.push_str(&format!(
            "SELECT {} FROM observations o LEFT JOIN projects p ON p.id = o.project_id WHERE 1",
            hit_columns("0.0")
        ));
    }
    sql.push_str(" AND o.deleted_at IS NULL");
    if let Some(project) = &q.project {
        sql.push_str(" AND p.root = ?");
        args.push(SqlValue::Text(project.clone()));
    }
    if !q.types.is_empty() {
        sql.push_str(&format!(
            " AND o.type IN ({})",
            vec!["?"; q.types.len()].join(", ")
        ));
        args.extend(q.types.iter().map(|t| SqlValue::Text(t.clone())));
    }
    if !q.concepts.is_empty() {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM json_each(o.concepts) c WHERE c.value IN ({}))",
            vec!["?"; q.concepts.len()].join(", ")
        ));
        args.extend(q.concepts.iter().map(|v| SqlValue::Text(v.clone())));
    }
    if let Some(file) = &q.file {
        // The exact path, or any path ending in `/<file>`.
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM (SELECT value FROM json_each(o.files_read)
                                         UNION ALL SELECT value FROM json_each(o.files_modified)) f
                          WHERE f.value = ? OR f.value LIKE ? ESCAPE '\\')",
        );
        args.push(SqlValue::Text(file.clone()));
        args.push(SqlValue::Text(format!("%/{}", escape_like(file))));
    }
    if let Some(since) = q.since {
        sql.push_str(" AND o.created_at >= ?");
        args.push(SqlValue::Integer(since));
    }
    if let Some(until) = q.until {
        sql.push_str(" AND o.created_at <= ?");
        args.push(SqlValue::Integer(until));
    }
    sql.push_str(if text.is_some() {
        " ORDER BY score DESC, o.created_at DESC"
    } else {
        " ORDER BY o.created_at DESC, o.id DESC"
    });
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(SqlValue::Integer(q.limit.max(1) as i64));
    args.push(SqlValue::Integer(q.offset as i64));
    let mut stmt = store.conn().prepare(&sql)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(args), hit)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hits)
}

/// Ids of every live observation (of `project` when given), oldest first.
pub fn all_ids(store: &Store, project: Option<&str>) -> Result<Vec<i64>> {
    let mut stmt = store.conn().prepare(
        "SELECT o.id FROM observations o LEFT JOIN projects p ON p.id = o.project_id
         WHERE o.deleted_at IS NULL AND (?1 IS NULL OR p.root = ?1)
         ORDER BY o.created_at, o.id",
    )?;
    let ids = stmt
        .query_map([project], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
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

/// The columns [`hit`] reads, with `score` as the given SQL expression.
fn hit_columns(score: &str) -> String {
    format!(
        "o.id, o.type, o.title, o.subtitle, p.root, o.created_at, {score} AS score,
         length(o.title) + length(o.subtitle) + length(o.narrative) + length(o.facts), o.ref"
    )
}

/// A [`Hit`] from a row selected with [`hit_columns`].
fn hit(r: &rusqlite::Row) -> rusqlite::Result<Hit> {
    Ok(Hit {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        subtitle: r.get(3)?,
        project: r.get(4)?,
        created_at: r.get(5)?,
        score: r.get(6)?,
        tokens: r.get::<_, i64>(7)?.max(0) as usize / 4 + 1,
        reference: r.get(8)?,
    })
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Full observations by id, in the order asked; unknown or deleted ids are skipped.
pub fn get_observations(store: &Store, ids: &[i64]) -> Result<Vec<Observation>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT o.id, o.type, o.title, o.subtitle, o.narrative, o.facts, o.concepts, o.files_read,
                o.files_modified, p.root, o.session_id, pr.text, o.generated_by, o.created_at, o.ref
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

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_store::{CompressedEpisode, HookRecord, NewObservation, ProjectRef, PromptText};

    fn store_with(observations: &[(&str, &str, &str, &[&str])]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        for (i, (kind, title, narrative, files)) in observations.iter().enumerate() {
            let rec = HookRecord {
                project: Some(ProjectRef {
                    root: "/src/shop".into(),
                    name: "shop".into(),
                }),
                prompt: Some(PromptText {
                    text: format!("prompt {i}"),
                    private: false,
                }),
                ..HookRecord::new("UserPromptSubmit", "claude-code", "s1", i as i64 * 1000)
            };
            store.record(&rec, 0).unwrap();
            let prompt_id: i64 = store
                .conn()
                .query_row("SELECT max(id) FROM prompts", [], |r| r.get(0))
                .unwrap();
            store
                .save_episode(
                    &CompressedEpisode {
                        prompt_id,
                        close_reason: "stop".into(),
                        observations: vec![NewObservation {
                            kind: kind.to_string(),
                            title: title.to_string(),
                            narrative: narrative.to_string(),
                            files_modified: files.iter().map(|f| f.to_string()).collect(),
                            concepts: vec!["problem-solution".into()],
                            content_hash: format!("h{i}"),
                            generated_by: "rules".into(),
                            ..NewObservation::default()
                        }],
                        ..CompressedEpisode::default()
                    },
                    i as i64 * 1000 + 1,
                )
                .unwrap();
        }
        store
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 10,
            ..SearchQuery::default()
        }
    }

    #[test]
    fn ranks_title_matches_first_and_filters() {
        let store = store_with(&[
            (
                "change",
                "Updated the README",
                "mentions fibonacci once",
                &["README.md"],
            ),
            (
                "bugfix",
                "fibonacci() raises ValueError for negative n",
                "RecursionError before",
                &["fib/fibonacci.py"],
            ),
            (
                "feature",
                "Added cart discounts",
                "coupon logic",
                &["shop/cart.py"],
            ),
        ]);
        let hits = search(&store, &q("the fibonacci bug")).unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits[0].title.starts_with("fibonacci()"));
        let only_bugfix = SearchQuery {
            types: vec!["bugfix".into()],
            ..q("fibonacci")
        };
        assert_eq!(search(&store, &only_bugfix).unwrap().len(), 1);
        let by_file = SearchQuery {
            file: Some("cart.py".into()),
            ..q("")
        };
        assert_eq!(
            search(&store, &by_file).unwrap()[0].title,
            "Added cart discounts"
        );
        let wrong_project = SearchQuery {
            project: Some("/src/other".into()),
            ..q("fibonacci")
        };
        assert!(search(&store, &wrong_project).unwrap().is_empty());
        let recent = search(&store, &q("")).unwrap();
        assert_eq!(
            recent[0].title, "Added cart discounts",
            "no text: newest first"
        );
        let around = timeline(&store, Some(hits[0].id), None, 1, 1).unwrap();
        assert_eq!(
            around.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(),
            [
                "Updated the README",
                "fibonacci() raises ValueError for negative n",
                "Added cart discounts"
            ]
        );
        assert_eq!(
            timeline(&store, None, Some("/src/shop"), 1, 0)
                .unwrap()
                .len(),
            2
        );
        let full = get_observations(&store, &[hits[0].id, 999]).unwrap();
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].files_modified, ["fib/fibonacci.py"]);
    }

    #[test]
    fn hostile_queries_never_error() {
        let store = store_with(&[("bugfix", "x", "y", &[])]);
        let long = "ab\"c(d -e:f ".repeat(1000);
        for text in [
            "\"",
            "(((",
            "a AND",
            "NEAR(",
            "-x",
            "title:y",
            "🦀🦀",
            "'; DROP TABLE observations; --",
            "*",
            long.as_str(),
        ] {
            search(&store, &q(text)).unwrap();
        }
        let like = SearchQuery {
            file: Some("%_\\".into()),
            ..q("")
        };
        assert!(search(&store, &like).unwrap().is_empty());
    }
}
