//! Full-text candidates: BM25 over FTS5 with bounded work.
//!
//! Two costs grow with the store, and both are bounded here:
//!
//! - **Ranking.** FTS5 scores every row that matches before it can sort, about
//!   a microsecond each; a word in a fifth of 100,000 memories would make
//!   every search cost 20 ms. So each word's document frequency is counted up
//!   to [`RARE_DF`] (cheap: counting walks a posting list without scoring).
//!   When every word is rare, all matches are ranked. Otherwise the matches
//!   among the [`RANK_WINDOW`] most recent memories in scope are ranked with
//!   all words, and every match of the rare words on those words, so an old
//!   memory that shares a distinctive word with the query is never lost.
//! - **Weighing.** FTS5's `bm25()` counts each phrase's matches in the whole
//!   table on every query (a million entries for "fix" in a million
//!   memories), so scores come from `mnemo_bm25` (see `mnemo_store::rank`),
//!   which takes the inverse document frequencies from here: exact for rare
//!   words and whenever the scope is smaller than the window; for a common
//!   word in a large scope, estimated from its share of the window.
//!
//! Statistics are the scope's (the project's memories), not the whole
//! table's: a word common in one project is not distinctive there because
//! other projects lack it. Project and type filters are tokens of the indexed
//! `scope` column, so they narrow the posting lists inside FTS5 instead of
//! filtering after ranking; as phrases they come last in the expression and
//! weigh nothing.

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use mnemo_embed::StaticEmbedder;
use mnemo_store::rank::idf;

use crate::search::filter::Filter;
use crate::search::query::{is_filler, word_match};

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
) -> rusqlite::Result<Ranked> {
    let scope = filter.fts_scope();
    let weighing = weigh(
        conn,
        terms,
        scope.as_deref(),
        RARE_DF,
        RANK_WINDOW.max(want),
    )?;
    let (mut total, mut unseen) = (0.0, 0.0);
    for ((weight, seen), term) in weights(&weighing, terms).zip(terms) {
        if !is_filler(term) {
            total += weight;
            unseen += if seen { 0.0 } else { weight };
        }
    }
    Ok(Ranked {
        found: rank_weighed(conn, terms, filter, want, &weighing)?,
        unseen_share: if total > 0.0 { unseen / total } else { 0.0 },
    })
}

/// The most recent memories in scope: those from rowid `oldest` on.
struct Window {
    oldest: i64,
    newest: i64,
    size: usize,
}

/// How distinctive each query word is in a scope.
struct Weighing {
    /// Memories in scope (estimated from the window when it is large).
    rows: f64,
    /// Per query word: its IDF and whether it is rare, or `None` when no
    /// memory in scope has it.
    words: Vec<Option<(f64, bool)>>,
    /// The recent window, when the scope holds more memories than it.
    window: Option<Window>,
}

/// Count each word's matches in `scope`: exactly when the scope is smaller
/// than the window or the word is rare, else estimated from the window.
fn weigh(
    conn: &Connection,
    terms: &[String],
    scope: Option<&str>,
    rare_df: usize,
    window: usize,
) -> rusqlite::Result<Weighing> {
    let Some(window) = recent_window(conn, scope, window)? else {
        // The scope holds fewer memories than the window: every count is
        // small, so the statistics are exact.
        let rows = count(conn, scope, None, usize::MAX)? as f64;
        let mut words = Vec::with_capacity(terms.len());
        for term in terms {
            let matching = count(conn, scope, Some(term), usize::MAX)?;
            words.push((matching > 0).then(|| (idf(rows, matching as f64), true)));
        }
        return Ok(Weighing {
            rows,
            words,
            window: None,
        });
    };
    // Rowids are assigned in order, so the window's density of rowids
    // estimates how many memories the scope holds.
    let rows = window.size as f64 * window.newest as f64
        / (window.newest - window.oldest + 1).max(1) as f64;
    let mut words = Vec::with_capacity(terms.len());
    for term in terms {
        words.push(match count(conn, scope, Some(term), rare_df)? {
            0 => None,
            matching if matching <= rare_df => Some((idf(rows, matching as f64), true)),
            _ => {
                let recent = count_from(conn, scope, term, window.oldest)?;
                let estimate = recent as f64 * rows / window.size as f64;
                Some((idf(rows, estimate), false))
            }
        });
    }
    Ok(Weighing {
        rows,
        words,
        window: Some(window),
    })
}

/// How much of an unseen word's weight an ordinary word of the language
/// keeps when no memory has it: a question names the things it is about
/// (a library, a tool: words no memory has are strong evidence that the
/// question is about something else) but phrases the rest in everyday
/// words ("alternatives", "rejected") that a memory of the same work need
/// not contain. Measured on the coding-session development set.
const ORDINARY_UNSEEN_SHARE: f64 = 0.7;

/// Whether `word` is an everyday word of the language rather than a name:
/// a whole word of the built-in embedder's vocabulary, which holds the
/// commonest words of general English text (names of tools, libraries and
/// identifiers are split into pieces). Letters only: the vocabulary spells
/// every ASCII letter, so such a word is never its unknown token.
fn ordinary_word(word: &str) -> bool {
    word.len() >= 3
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && StaticEmbedder::builtin().token_ids(word).len() == 1
}

/// The IDF of each of `terms` among the memories passing `filter`'s project
/// and types; a word no memory has weighs as much as one that a single
/// memory has (so that how much an absent word counts does not depend on
/// the size of the store), an ordinary word only [`ORDINARY_UNSEEN_SHARE`]
/// of that.
pub(crate) fn term_weights(
    conn: &Connection,
    terms: &[String],
    filter: &Filter,
) -> rusqlite::Result<Vec<f64>> {
    let scope = filter.fts_scope();
    let weighing = weigh(conn, terms, scope.as_deref(), RARE_DF, RANK_WINDOW)?;
    Ok(weights(&weighing, terms)
        .map(|(weight, _)| weight)
        .collect())
}

/// Each term's weight in `weighing` ([`term_weights`]), and whether some
/// memory in scope holds it.
fn weights<'a>(
    weighing: &'a Weighing,
    terms: &'a [String],
) -> impl Iterator<Item = (f64, bool)> + 'a {
    let unseen = idf(weighing.rows, 1.0);
    weighing
        .words
        .iter()
        .zip(terms)
        .map(move |(word, term)| match word {
            Some((weight, _)) => (*weight, true),
            None if ordinary_word(term) => (unseen * ORDINARY_UNSEEN_SHARE, false),
            None => (unseen, false),
        })
}

/// What [`rank`] found, and the share of the query's evidence (its words
/// but question filler, weighed as [`term_weights`] does) that no memory in
/// scope holds: how much of the query full text cannot find at all.
pub(crate) struct Ranked {
    /// `(observation id, BM25 score)`, best first.
    pub found: Vec<(i64, f64)>,
    /// 0 (every word is somewhere) to 1 (none is).
    pub unseen_share: f64,
}

/// [`rank`]'s matches with explicit bounds (tests use small ones).
#[cfg(test)]
pub(crate) fn rank_with(
    conn: &Connection,
    terms: &[String],
    filter: &Filter,
    want: usize,
    rare_df: usize,
    window: usize,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let scope = filter.fts_scope();
    let weighing = weigh(conn, terms, scope.as_deref(), rare_df, window.max(want))?;
    rank_weighed(conn, terms, filter, want, &weighing)
}

/// The best `want` matches of `terms`, weighed in `weighing`.
fn rank_weighed(
    conn: &Connection,
    terms: &[String],
    filter: &Filter,
    want: usize,
    weighing: &Weighing,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let scope = filter.fts_scope();
    let scope = scope.as_deref();
    // Words with no match in scope are left out: they cannot rank anything,
    // and FTS5 would walk their posting lists again to find that out.
    let mut all = Vec::with_capacity(terms.len());
    let mut rare = Vec::new();
    for (term, word) in terms.iter().zip(&weighing.words) {
        if let Some((weight, is_rare)) = *word {
            all.push((term, weight));
            if is_rare {
                rare.push((term, weight));
            }
        }
    }
    let Some(window) = &weighing.window else {
        // Every match is ranked.
        return ranked(conn, &all, scope, None, filter, want);
    };
    if rare.len() == all.len() {
        return ranked(conn, &all, scope, None, filter, want);
    }
    let mut found = ranked(conn, &all, scope, Some(window.oldest), filter, want)?;
    if !rare.is_empty() {
        merge(&mut found, ranked(conn, &rare, scope, None, filter, want)?);
    }
    if found.len() < want {
        // The recent memories held too few matches (that pass the filters).
        found = ranked(conn, &all, scope, None, filter, want)?;
    }
    found.truncate(want);
    Ok(found)
}

/// The `size` most recent memories in scope, or `None` when the scope holds
/// fewer. Found on the scope's own posting list (or the table's key), never
/// by walking the query words' long lists.
fn recent_window(
    conn: &Connection,
    scope: Option<&str>,
    size: usize,
) -> rusqlite::Result<Option<Window>> {
    let nth_newest = |n: usize| match scope {
        Some(scope) => conn
            .prepare_cached(
                "SELECT rowid FROM observations_fts WHERE observations_fts MATCH ?1
                 ORDER BY rowid DESC LIMIT 1 OFFSET ?2",
            )?
            .query_row(rusqlite::params![scope, crate::search::sql_count(n)], |r| {
                r.get(0)
            }),
        None => conn
            .prepare_cached("SELECT id FROM observations ORDER BY id DESC LIMIT 1 OFFSET ?1")?
            .query_row([crate::search::sql_count(n)], |r| r.get(0)),
    };
    let oldest = match nth_newest(size - 1) {
        Ok(rowid) => rowid,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(Window {
        oldest,
        newest: nth_newest(0)?,
        size,
    }))
}

/// The FTS5 expression OR-ing `terms` (each quoted, so no operator of the
/// user's reaches FTS5), restricted to `scope`.
fn expression<'a>(terms: impl Iterator<Item = &'a String>, scope: Option<&str>) -> String {
    let words = terms
        .map(|t| word_match(t).0)
        .collect::<Vec<_>>()
        .join(" OR ");
    match (scope, words.is_empty()) {
        (Some(scope), false) => format!("({words}) AND {scope}"),
        (Some(scope), true) => scope.to_string(),
        (None, _) => words,
    }
}

/// Memories in `scope` (containing `term`, if given), counted up to `cap + 1`;
/// the whole table's rows when there is neither.
fn count(
    conn: &Connection,
    scope: Option<&str>,
    term: Option<&String>,
    cap: usize,
) -> rusqlite::Result<usize> {
    if scope.is_none() && term.is_none() {
        let rows: i64 = conn.query_row("SELECT count(*) FROM observations", [], |r| r.get(0))?;
        return Ok(rows as usize);
    }
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM observations_fts
                                  WHERE observations_fts MATCH ?1 LIMIT ?2)",
        )?
        .query_row(
            rusqlite::params![
                expression(term.into_iter(), scope),
                crate::search::sql_count(cap.saturating_add(1))
            ],
            |r| r.get(0),
        )?;
    Ok(count as usize)
}

/// Memories in `scope` containing `term` from rowid `from` on.
fn count_from(
    conn: &Connection,
    scope: Option<&str>,
    term: &String,
    from: i64,
) -> rusqlite::Result<usize> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM observations_fts
             WHERE observations_fts MATCH ?1 AND rowid >= ?2",
        )?
        .query_row(
            rusqlite::params![expression(std::iter::once(term), scope), from],
            |r| r.get(0),
        )?;
    Ok(count as usize)
}

/// Rank the memories in `scope` matching any of `words` (from rowid `from`
/// on), each word weighed by its IDF. Project and type are in the FTS5
/// expression; other conditions of `filter` need the observation row, so
/// only then is it joined. Live-ness (`deleted_at`) is left to the caller,
/// which reads the few rows it returns anyway.
fn ranked(
    conn: &Connection,
    words: &[(&String, f64)],
    scope: Option<&str>,
    from: Option<i64>,
    filter: &Filter,
    want: usize,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let expression = expression(words.iter().map(|(word, _)| *word), scope);
    // One IDF per phrase: each form of a word weighs as the word.
    let mut args: Vec<SqlValue> = words
        .iter()
        .flat_map(|(word, idf)| std::iter::repeat_n(SqlValue::Real(*idf), word_match(word).1))
        .collect();
    let mut sql = format!(
        "SELECT f.rowid, mnemo_bm25(observations_fts, {WEIGHTS}{}) AS score FROM observations_fts f",
        ", ?".repeat(args.len())
    );
    if filter.has_post_conditions() {
        sql.push_str(" JOIN observations o ON o.id = f.rowid");
    }
    sql.push_str(" WHERE observations_fts MATCH ?");
    args.push(SqlValue::Text(expression));
    if let Some(from) = from {
        sql.push_str(" AND f.rowid >= ?");
        args.push(SqlValue::Integer(from));
    }
    if filter.has_post_conditions() {
        filter.push_sql(&mut sql, &mut args);
    }
    sql.push_str(" ORDER BY score DESC, f.rowid DESC LIMIT ?");
    args.push(SqlValue::Integer(crate::search::sql_count(want)));
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
        crate::search::query::terms(text)
    }

    #[test]
    fn the_share_of_words_no_memory_holds_is_measured_without_filler() {
        let store = store();
        let share = |text: &str| {
            rank(store.conn(), &words(text), &Filter::default(), 5)
                .unwrap()
                .unseen_share
        };
        assert_eq!(share("fibonacci cache retries"), 0.0);
        assert_eq!(share("zqxvw"), 1.0);
        // "right" is question filler: it counts for nothing either way.
        assert_eq!(share("fibonacci right"), 0.0);
        let half = share("fibonacci zqxvw");
        assert!(half > 0.3 && half < 0.7, "{half}");
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
        // A word no memory has changes nothing.
        let absent = words("fibonacci zebra cache retries");
        assert_eq!(
            rank_with(store.conn(), &absent, &filter, 5, 10, 10).unwrap(),
            bounded
        );
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

    #[test]
    fn an_unseen_name_weighs_more_than_an_unseen_everyday_word() {
        let store = store();
        let terms = words("fibonacci rejected kubectl");
        let weights = term_weights(store.conn(), &terms, &Filter::default()).unwrap();
        // "fibonacci" is in one memory; "rejected" (an everyday word) and
        // "kubectl" (a name) are in none.
        assert_eq!(weights[2], weights[0], "{weights:?}");
        assert!(weights[1] < weights[2], "{weights:?}");
        assert!(weights[1] > 0.0, "{weights:?}");
    }
}
