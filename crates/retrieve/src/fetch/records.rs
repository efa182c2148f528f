//! Searching the other two kinds of record: session summaries (what a turn
//! asked for, learned and completed) and the user's own prompts.
//!
//! There are far fewer of these than observations, so ranking is plain
//! FTS5 BM25 over every match; filters are project and dates (types,
//! concepts and files belong to observations and do not apply).

use mnemo_store::{Result, Store};
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use crate::search::filter::push_time_range;
use crate::search::{SearchQuery, query};

/// Which kind of record [`search_records`] looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Session summaries, one per prompt that did work (ids print as `S<id>`).
    Session,
    /// User prompts (ids print as `P<id>`).
    Prompt,
}

impl RecordKind {
    /// The id prefix: `S` or `P`.
    pub fn prefix(self) -> &'static str {
        match self {
            RecordKind::Session => "S",
            RecordKind::Prompt => "P",
        }
    }
}

/// One summary or prompt found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordHit {
    /// The summary's or prompt's id (print with [`RecordKind::prefix`]).
    pub id: i64,
    /// The request (summaries) or the prompt text.
    pub title: String,
    /// What was completed and learned (summaries); empty for prompts.
    pub detail: String,
    /// Project root.
    pub project: Option<String>,
    /// When it was made, Unix ms.
    pub created_at: i64,
    /// Higher is better; 0 without text.
    pub score: f64,
}

/// Search summaries or prompts by text (newest first without text), within
/// the project and dates of `q`.
pub fn search_records(store: &Store, kind: RecordKind, q: &SearchQuery) -> Result<Vec<RecordHit>> {
    let (table, fts, weights, title, detail, project_join) = match kind {
        RecordKind::Session => (
            "summaries r",
            "summaries_fts",
            "4.0, 1.0, 2.0, 2.0, 1.0",
            "r.request",
            "trim(r.completed || ' ' || r.learned)",
            "LEFT JOIN projects p ON p.id = r.project_id",
        ),
        RecordKind::Prompt => (
            "prompts r",
            "prompts_fts",
            "1.0",
            "r.text",
            "''",
            "JOIN sessions s ON s.id = r.session_id LEFT JOIN projects p ON p.id = s.project_id",
        ),
    };
    let text = query::fts_match(&q.text);
    let (score, from) = match &text {
        Some(_) => (
            format!("-bm25({fts}, {weights})"),
            format!("{fts} JOIN {table} ON r.id = {fts}.rowid {project_join} WHERE {fts} MATCH ?"),
        ),
        None => ("0.0".to_string(), format!("{table} {project_join} WHERE 1")),
    };
    let mut sql = format!(
        "SELECT r.id, {title}, {detail}, p.root, r.created_at, {score} AS score FROM {from}"
    );
    let mut args: Vec<SqlValue> = text.into_iter().map(SqlValue::Text).collect();
    match kind {
        RecordKind::Session => sql.push_str(" AND r.deleted_at IS NULL"),
        RecordKind::Prompt => sql.push_str(" AND r.private = 0"),
    }
    if let Some(project) = &q.project {
        sql.push_str(" AND p.root = ?");
        args.push(SqlValue::Text(project.clone()));
    }
    push_time_range(&mut sql, &mut args, "r.created_at", q.since, q.until);
    sql.push_str(" ORDER BY score DESC, r.created_at DESC, r.id DESC LIMIT ? OFFSET ?");
    args.push(SqlValue::Integer(crate::search::sql_count(q.limit.max(1))));
    args.push(SqlValue::Integer(crate::search::sql_count(q.offset)));
    let mut stmt = store.conn().prepare(&sql)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok(RecordHit {
                id: r.get(0)?,
                title: r.get(1)?,
                detail: r.get(2)?,
                project: r.get(3)?,
                created_at: r.get(4)?,
                score: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hits)
}

/// One summary or prompt in full, as `show #S2` / `show #P3` print it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The summary's or prompt's id (print with [`RecordKind::prefix`]).
    pub id: i64,
    /// The request (summaries) or the prompt text.
    pub title: String,
    /// A summary's parts in order (`investigated`, `learned`, `completed`,
    /// `next_steps`), the empty ones left out; none for a prompt.
    pub sections: Vec<(String, String)>,
    /// Project root.
    pub project: Option<String>,
    /// When it was made, Unix ms.
    pub created_at: i64,
    /// The live observations made from the same prompt, oldest first.
    pub observations: Vec<i64>,
}

/// The summary or prompt `id`, unless it is forgotten (summaries) or
/// private (prompts).
pub fn get_record(store: &Store, kind: RecordKind, id: i64) -> Result<Option<Record>> {
    let conn = store.conn();
    let sql = match kind {
        RecordKind::Session => {
            "SELECT r.request, json_array(r.investigated, r.learned, r.completed, r.next_steps),
                    p.root, r.created_at, r.prompt_id
             FROM summaries r LEFT JOIN projects p ON p.id = r.project_id
             WHERE r.id = ?1 AND r.deleted_at IS NULL"
        }
        RecordKind::Prompt => {
            "SELECT r.text, '[]', p.root, r.created_at, r.id
             FROM prompts r JOIN sessions s ON s.id = r.session_id
             LEFT JOIN projects p ON p.id = s.project_id
             WHERE r.id = ?1 AND r.private = 0"
        }
    };
    let found = conn
        .query_row(sql, [id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    let Some((title, parts, project, created_at, prompt_id)) = found else {
        return Ok(None);
    };
    let names = ["investigated", "learned", "completed", "next_steps"];
    let sections = names
        .iter()
        .zip(serde_json::from_str::<Vec<String>>(&parts).unwrap_or_default())
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(name, text)| (name.to_string(), text))
        .collect();
    let observations = conn
        .prepare_cached(
            "SELECT id FROM observations WHERE prompt_id = ?1 AND deleted_at IS NULL
             ORDER BY created_at, id",
        )?
        .query_map([prompt_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Record {
        id,
        title,
        sections,
        project,
        created_at,
        observations,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_store::{CompressedEpisode, HookRecord, NewSummary, ProjectRef, PromptText};

    #[test]
    fn finds_prompts_and_summaries_by_project() {
        let mut store = Store::open_in_memory().unwrap();
        for (i, (root, prompt)) in [
            ("/src/shop", "Why does the cart total round down?"),
            ("/src/blog", "Add an RSS feed to the blog"),
            ("/src/shop", "Make checkout retry on timeout"),
        ]
        .iter()
        .enumerate()
        {
            let rec = HookRecord {
                project: Some(ProjectRef {
                    root: root.to_string(),
                    name: "x".into(),
                }),
                prompt: Some(PromptText {
                    text: prompt.to_string(),
                    private: false,
                }),
                ..HookRecord::new(
                    "UserPromptSubmit",
                    "claude-code",
                    &format!("s{i}"),
                    i as i64,
                )
            };
            store.record(&rec, 0).unwrap();
        }
        let q = |text: &str, project: Option<&str>| SearchQuery {
            text: text.into(),
            project: project.map(String::from),
            limit: 10,
            ..SearchQuery::default()
        };
        let found = search_records(&store, RecordKind::Prompt, &q("cart rounding", None)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].title, "Why does the cart total round down?");
        assert_eq!(found[0].project.as_deref(), Some("/src/shop"));
        let shop = search_records(&store, RecordKind::Prompt, &q("", Some("/src/shop"))).unwrap();
        assert_eq!(shop.len(), 2);
        assert!(shop[0].created_at > shop[1].created_at, "newest first");
        assert!(
            search_records(&store, RecordKind::Prompt, &q("rss", Some("/src/shop")))
                .unwrap()
                .is_empty()
        );
        // The third prompt's turn is summarised.
        store
            .save_episode(
                &CompressedEpisode {
                    prompt_id: 3,
                    close_reason: "stop".into(),
                    summary: Some(NewSummary {
                        request: "Make checkout retry on timeout".into(),
                        completed: "checkout() retries twice with backoff".into(),
                        learned: "the gateway drops idle connections".into(),
                        generated_by: "rules".into(),
                        ..NewSummary::default()
                    }),
                    ..CompressedEpisode::default()
                },
                10,
            )
            .unwrap();
        let sessions = search_records(
            &store,
            RecordKind::Session,
            &q("gateway backoff", Some("/src/shop")),
        )
        .unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(
            sessions[0].detail,
            "checkout() retries twice with backoff the gateway drops idle connections"
        );
        // Odd input is words, never FTS5 syntax.
        assert!(search_records(&store, RecordKind::Session, &q("\"NEAR( -x: *", None)).is_ok());
        // Each printed id reads back in full.
        let summary = get_record(&store, RecordKind::Session, sessions[0].id)
            .unwrap()
            .unwrap();
        assert_eq!(summary.title, "Make checkout retry on timeout");
        let names: Vec<&str> = summary.sections.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["learned", "completed"], "empty parts left out");
        let prompt = get_record(&store, RecordKind::Prompt, 1).unwrap().unwrap();
        assert_eq!(prompt.title, "Why does the cart total round down?");
        assert_eq!(prompt.project.as_deref(), Some("/src/shop"));
        assert!(prompt.sections.is_empty() && prompt.observations.is_empty());
        assert_eq!(get_record(&store, RecordKind::Prompt, 99).unwrap(), None);
    }
}
