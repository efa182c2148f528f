//! Full-text candidates: FTS5 BM25 with bounded ranking work.
//!
//! FTS5 computes BM25 for every row that matches a query before it can sort,
//! about a microsecond each. A word that is in a fifth of 100,000 memories
//! would make every search cost 20 ms. So ranking work is bounded:
//!
//! - each word's document frequency is counted up to [`RARE_DF`] (cheap:
//!   counting walks a posting list without scoring);
//! - when every word is rare, all matches are ranked (exact BM25);
//! - otherwise the matches among the [`RANK_WINDOW`] most recent memories
//!   (in scope) are ranked with all words, and every match of the rare words
//!   is ranked on those words, so an old memory that shares a distinctive
//!   word with the query is never lost.
//!
//! Project and type filters are tokens of the indexed `scope` column, so they
//! narrow the posting lists inside FTS5 instead of filtering after ranking.

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use crate::filter::Filter;

/// BM25 column weights of
/// `observations_fts(title, subtitle, narrative, facts, concepts, kind_words, scope)`.
const WEIGHTS: &str = "10.0, 4.0, 1.0, 2.0, 1.0, 3.0, 0.0";

/// A word matching more memories than this is "common".
pub(crate) const RARE_DF: usize = 500;

/// How many of the most recent memories are ranked when a query has common words.
pub(crate) const RANK_WINDOW: usize = 2000;

/// `(observation id, BM25 score)`, best first, at most `want`.
pub(crate) fn rank(
    conn: &Connection,
    terms: &[String],
    filter: &Filter,
    want: usize,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    rank_with(conn, terms, filter, want, RARE_DF, RANK_WINDOW)
}

/// [`rank`] with explicit bounds (tests and the evaluation use small ones).
pub(crate) fn rank_with(
    conn: &Connection,
    terms: &[String],
    filter: &Filter,
    want: usize,
    rare_df: usize,
    window: usize,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let scope = filter.fts_scope();
    let all = expression(terms.iter(), scope.as_deref());
    let mut rare = Vec::new();
    for term in terms {
        if document_frequency(conn, term, scope.as_deref(), rare_df)? <= rare_df {
            rare.push(term);
        }
    }
    if rare.len() == terms.len() {
        return ranked(conn, &all, None, filter, want);
    }
    let window = window.max(want);
    // The oldest of the `window` most recent memories in scope; none when
    // the scope holds fewer. Found on the scope's own posting list (or the
    // table's key), never by walking the common words' long lists.
    let oldest = match scope.as_deref() {
        Some(scope) => conn.query_row(
            "SELECT rowid FROM observations_fts WHERE observations_fts MATCH ?1
             ORDER BY rowid DESC LIMIT 1 OFFSET ?2",
            rusqlite::params![scope, crate::sql_count(window - 1)],
            |r| r.get(0),
        ),
        None => conn.query_row(
            "SELECT id FROM observations ORDER BY id DESC LIMIT 1 OFFSET ?1",
            [crate::sql_count(window - 1)],
            |r| r.get(0),
        ),
    };
    let oldest_ranked: Option<i64> = match oldest {
        Ok(rowid) => Some(rowid),
        Err(rusqlite::Error::QueryReturnedNoRows) => None,
        Err(e) => return Err(e),
    };
    let mut found = ranked(conn, &all, oldest_ranked, filter, want)?;
    if oldest_ranked.is_none() {
        return Ok(found);
    }
    if !rare.is_empty() {
        let distinctive = expression(rare.into_iter(), scope.as_deref());
        merge(&mut found, ranked(conn, &distinctive, None, filter, want)?);
    }
    if found.len() < want {
        // The recent memories held too few matches (that pass the filters).
        found = ranked(conn, &all, None, filter, want)?;
    }
    found.truncate(want);
    Ok(found)
}

/// The FTS5 expression OR-ing `terms` (each quoted, so no operator of the
/// user's reaches FTS5), restricted to `scope`.
fn expression<'a>(terms: impl Iterator<Item = &'a String>, scope: Option<&str>) -> String {
    let words = terms
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ");
    match scope {
        Some(scope) => format!("({words}) AND {scope}"),
        None => words,
    }
}

/// Matches of `term` (within `scope`), counted up to `cap + 1`.
fn document_frequency(
    conn: &Connection,
    term: &String,
    scope: Option<&str>,
    cap: usize,
) -> rusqlite::Result<usize> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM observations_fts
                                  WHERE observations_fts MATCH ?1 LIMIT ?2)",
        )?
        .query_row(
            rusqlite::params![expression(std::iter::once(term), scope), cap as i64 + 1],
            |r| r.get(0),
        )?;
    Ok(count as usize)
}

/// Rank the matches of `expression` (from rowid `from` on). Project and
/// type are in the expression; other conditions of `filter` need the
/// observation row, so only then is it joined. Live-ness (`deleted_at`) is
/// left to the caller, which reads the few rows it returns anyway.
fn ranked(
    conn: &Connection,
    expression: &str,
    from: Option<i64>,
    filter: &Filter,
    want: usize,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let mut sql = format!(
        "SELECT f.rowid, -bm25(observations_fts, {WEIGHTS}) AS score FROM observations_fts f"
    );
    if filter.has_post_conditions() {
        sql.push_str(" JOIN observations o ON o.id = f.rowid");
    }
    sql.push_str(" WHERE observations_fts MATCH ?");
    let mut args = vec![SqlValue::Text(expression.to_string())];
    if let Some(from) = from {
        sql.push_str(" AND f.rowid >= ?");
        args.push(SqlValue::Integer(from));
    }
    if filter.has_post_conditions() {
        filter.push_sql(&mut sql, &mut args);
    }
    sql.push_str(" ORDER BY score DESC, f.rowid DESC LIMIT ?");
    args.push(SqlValue::Integer(crate::sql_count(want)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// Add `more` to `found`, keeping each id once with its best score, best first.
fn merge(found: &mut Vec<(i64, f64)>, more: Vec<(i64, f64)>) {
    let mut best: std::collections::HashMap<i64, f64> = found.drain(..).collect();
    for (id, score) in more {
        let entry = best.entry(id).or_insert(score);
        *entry = entry.max(score);
    }
    found.extend(best);
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SearchQuery;
    use mnemo_store::{NewObservation, ProjectRef, Store};

    /// 60 memories saying "cache retries"; number 3 (old) also says "fibonacci".
    fn store() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let project = ProjectRef {
            root: "/src/app".into(),
            name: "app".into(),
        };
        for i in 0..60 {
            let title = if i == 3 {
                "fibonacci cache retries on negative input".to_string()
            } else {
                format!("cache retries after timeout {i}")
            };
            let observation = NewObservation {
                kind: if i % 2 == 0 { "bugfix" } else { "feature" }.into(),
                title,
                content_hash: format!("h{i}"),
                generated_by: "user".into(),
                ..NewObservation::default()
            };
            store.remember(Some(&project), &observation, i).unwrap();
        }
        store
    }

    fn words(text: &str) -> Vec<String> {
        crate::query::terms(text)
    }

    #[test]
    fn bounded_ranking_keeps_old_distinctive_matches() {
        let store = store();
        let filter = Filter::default();
        let terms = words("fibonacci cache retries");
        let exact = rank_with(store.conn(), &terms, &filter, 5, 1000, 1000).unwrap();
        // "cache" and "retries" are common at a bound of 10; the window holds
        // the 10 newest matches, and #4 (the fourth memory) is far older.
        let bounded = rank_with(store.conn(), &terms, &filter, 5, 10, 10).unwrap();
        assert_eq!(exact[0].0, 4);
        assert_eq!(bounded[0].0, 4);
        assert_eq!(bounded.len(), 5);
        // Without a distinctive word, the newest matches are ranked.
        let common = rank_with(store.conn(), &words("cache retries"), &filter, 5, 10, 10).unwrap();
        assert!(common.iter().all(|(id, _)| *id > 50), "{common:?}");
    }

    #[test]
    fn scope_filters_inside_the_index() {
        let store = store();
        let q = SearchQuery {
            types: vec!["bug-fix".into(), "security_alert".into()],
            ..SearchQuery::default()
        };
        let project: i64 = store
            .conn()
            .query_row("SELECT id FROM projects", [], |r| r.get(0))
            .unwrap();
        let filter = Filter::new(&q, Some(project));
        let found = rank_with(store.conn(), &words("cache"), &filter, 100, 10, 10).unwrap();
        // Punctuation in a type never reaches FTS5: "bug-fix" is the token
        // tbugfix, and "security_alert" matches nothing here.
        assert_eq!(found.len(), 30, "{found:?}");
        let q = SearchQuery {
            types: vec!["bugfix".into()],
            ..SearchQuery::default()
        };
        let found = rank_with(
            store.conn(),
            &words("cache"),
            &Filter::new(&q, Some(project)),
            100,
            10,
            10,
        )
        .unwrap();
        // Bugfixes are the odd ids (even i).
        assert_eq!(found.len(), 30);
        assert!(found.iter().all(|(id, _)| id % 2 == 1));
        let other = Filter::new(&SearchQuery::default(), Some(project + 1));
        assert!(
            rank_with(store.conn(), &words("cache"), &other, 100, 10, 10)
                .unwrap()
                .is_empty()
        );
    }
}
