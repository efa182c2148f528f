//! `search`: observations, session summaries or prompts matching a text
//! and filters, within a scope, with how many more exist past the page.

use std::collections::HashSet;

use mnemo_retrieve::search::query;
use mnemo_retrieve::{Fusion, Hit, RecordHit, RecordKind, SearchQuery, search_with};
use mnemo_store::{OBSERVATION_TYPES, Store};
use serde::Serialize;

use super::scope::Scope;
use super::{Error, Result};
use crate::parts::Parts;

/// Results read past a page without text (newest first), to say how many
/// more there are.
const PEEK: usize = 100;
/// Candidates read when results are merged or re-ordered here (several
/// files, or date order with a text).
const WINDOW: usize = 2000;

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Observations (the memories).
    Observations,
    /// Session summaries or prompts.
    Records(RecordKind),
}

/// The order of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Best first (the default with a text).
    Relevance,
    /// Newest first (the default without).
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

/// A search as asked.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Any text; empty lists the newest.
    pub text: String,
    /// The projects searched.
    pub scope: Scope,
    /// Observation types (any of).
    pub types: Vec<String>,
    /// Concepts (any of).
    pub concepts: Vec<String>,
    /// Files read or modified (any of; a path or its tail).
    pub files: Vec<String>,
    /// Only memories pulled from the team that this teammate wrote.
    pub author: Option<String>,
    /// Inclusive bounds, Unix ms.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// Results per page.
    pub limit: usize,
    /// Results skipped.
    pub offset: usize,
    /// `None`: best first with a text, newest first without.
    pub order: Option<Order>,
}

impl SearchRequest {
    /// A request for `text` in `scope`, the first `limit` results.
    pub fn new(text: impl Into<String>, scope: Scope, limit: usize) -> SearchRequest {
        SearchRequest {
            text: text.into(),
            scope,
            types: Vec::new(),
            concepts: Vec::new(),
            files: Vec::new(),
            author: None,
            since: None,
            until: None,
            limit,
            offset: 0,
            order: None,
        }
    }

    fn order(&self) -> Order {
        match self.order {
            Some(Order::Relevance) | None if self.text.trim().is_empty() => Order::NewestFirst,
            None => Order::Relevance,
            Some(order) => order,
        }
    }

    fn check(&self) -> Result<()> {
        if let Some(bad) = self
            .types
            .iter()
            .find(|t| !OBSERVATION_TYPES.contains(&t.as_str()))
        {
            return Err(Error::Invalid(format!(
                "unknown type {bad:?} (types: {})",
                OBSERVATION_TYPES.join(", ")
            )));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(Error::Invalid(
                "the start date is after the end date".into(),
            ));
        }
        Ok(())
    }

    fn query(&self, file: Option<String>, offset: usize, limit: usize) -> SearchQuery {
        SearchQuery {
            text: self.text.trim().to_string(),
            project: self.scope.root().map(String::from),
            types: self.types.clone(),
            concepts: self.concepts.clone(),
            file,
            author: self.author.clone(),
            since: self.since,
            until: self.until,
            limit,
            offset,
        }
    }
}

/// How many results exist past the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct More {
    /// Results after this page (0: this is the last page).
    pub count: usize,
    /// Whether `count` is a lower bound (search read no further).
    pub at_least: bool,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// The page, in `order`.
    pub hits: Vec<T>,
    /// What lies past it.
    pub more: More,
    /// The order the page is in.
    pub order: Order,
}

/// Hybrid search in `request`'s scope: results that do not match the text
/// (a score of 0) are left out, and [`Found::more`] tells what lies past
/// the page.
pub fn search(parts: &Parts, store: &Store, request: &SearchRequest) -> Result<Found<Hit>> {
    request.check()?;
    let order = request.order();
    let matching = !query::terms(&request.text).is_empty();
    let (offset, limit) = (request.offset, request.limit.max(1));
    let end = offset.saturating_add(limit);
    let natural = request.files.len() <= 1
        && match order {
            Order::Relevance => true,
            Order::NewestFirst => !matching,
            Order::OldestFirst => false,
        };
    let (mut hits, read_all, start) = if natural && matching {
        // Asking for at least the fusion's depth from the first result
        // ranks exactly as asking for the page would.
        let window = end.saturating_add(1).max(Fusion::DEFAULT.depth);
        let hits = find(
            parts,
            store,
            &request.query(request.files.first().cloned(), 0, window),
        )?;
        let complete = hits.len() < window;
        (hits, complete, offset)
    } else if natural {
        let window = limit.saturating_add(PEEK);
        let q = request.query(request.files.first().cloned(), offset, window);
        let hits = find(parts, store, &q)?;
        let complete = hits.len() < window;
        (hits, complete, 0)
    } else {
        let (hits, complete) = merged(parts, store, request, order)?;
        (hits, complete, offset)
    };
    if matching {
        hits.retain(|h| h.score > 0.0);
    }
    let page: Vec<Hit> = hits.iter().skip(start).take(limit).cloned().collect();
    let count = hits.len().saturating_sub(start).saturating_sub(page.len());
    Ok(Found {
        hits: page,
        more: More {
            count,
            at_least: !read_all,
        },
        order,
    })
}

/// Search the best [`WINDOW`] candidates of each file filter, each once,
/// in `order`; and whether every candidate was read.
fn merged(
    parts: &Parts,
    store: &Store,
    request: &SearchRequest,
    order: Order,
) -> Result<(Vec<Hit>, bool)> {
    let mut all: Vec<Hit> = Vec::new();
    let mut seen = HashSet::new();
    let mut complete = true;
    let filters: Vec<Option<String>> = if request.files.is_empty() {
        vec![None]
    } else {
        request.files.iter().cloned().map(Some).collect()
    };
    for file in filters {
        let found = find(parts, store, &request.query(file, 0, WINDOW))?;
        complete &= found.len() < WINDOW;
        all.extend(found.into_iter().filter(|h| seen.insert(h.id)));
    }
    match order {
        Order::Relevance => all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.created_at.cmp(&a.created_at))
        }),
        Order::NewestFirst => all.sort_by_key(|h| std::cmp::Reverse((h.created_at, h.id))),
        Order::OldestFirst => all.sort_by_key(|h| (h.created_at, h.id)),
    }
    Ok((all, complete))
}

/// Search session summaries or prompts (best first with a text, newest
/// first without), with what lies past the page. Observation filters do
/// not apply to them and are refused.
pub fn search_records(
    store: &Store,
    kind: RecordKind,
    request: &SearchRequest,
) -> Result<Found<RecordHit>> {
    request.check()?;
    if !request.types.is_empty() || !request.concepts.is_empty() || !request.files.is_empty() {
        return Err(Error::Invalid(
            "types, concepts and files filter observations, not session summaries or prompts"
                .into(),
        ));
    }
    let limit = request.limit.max(1);
    let window = limit.saturating_add(PEEK);
    let q = request.query(None, request.offset, window);
    let mut hits = mnemo_retrieve::search_records(store, kind, &q)?;
    let at_least = hits.len() == window;
    let count = hits.len().saturating_sub(limit);
    hits.truncate(limit);
    Ok(Found {
        hits,
        more: More { count, at_least },
        order: request.order(),
    })
}

/// Hybrid search with the configured embedder: through the shared
/// searcher (vectors in memory) in a long-lived process, from SQLite in a
/// one-shot command.
pub(crate) fn find(parts: &Parts, store: &Store, q: &SearchQuery) -> Result<Vec<Hit>> {
    let searcher = parts.searcher()?;
    let now = parts.now();
    if parts.is_long_lived() {
        let open = parts.opener();
        return Ok(searcher.search_shared(store, q, now, move || open())?);
    }
    Ok(search_with(
        store,
        q,
        searcher.embedder(),
        &Fusion::DEFAULT,
        now,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::testing::parts_with;

    #[test]
    fn results_that_do_not_match_are_left_out() {
        let (_dir, parts, store) = parts_with(&[
            "The car would not start. Battery terminals were corroded.",
            "Truck tyres replaced. All four tyres worn out.",
            "Vehicle insurance renewed. Premium went up.",
            "Kitchen repainted. Two coats of white.",
            "Motorbike chain oiled. Chain was dry.",
        ]);
        let request = SearchRequest::new("automobile repairs", Scope::All, 10);
        let raw = find(&parts, &store, &request.query(None, 0, 10)).unwrap();
        assert!(
            raw.iter().any(|h| h.score <= 0.0),
            "the ranking gives a neighbour nothing: {raw:?}"
        );
        let found = search(&parts, &store, &request).unwrap();
        assert!(!found.hits.is_empty());
        assert!(found.hits.iter().all(|h| h.score > 0.0), "{:?}", found.hits);
        assert_eq!(
            found.hits.len(),
            raw.iter().filter(|h| h.score > 0.0).count()
        );
        assert_eq!(found.more, More::default());
    }

    #[test]
    fn the_page_says_how_many_more_there_are() {
        let notes: Vec<String> = (0..12)
            .map(|i| format!("Zebra crossing number {i} was repainted."))
            .collect();
        let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
        let (_dir, parts, store) = parts_with(&refs);
        for text in ["zebra crossing", ""] {
            let mut request = SearchRequest::new(text, Scope::All, 5);
            let first = search(&parts, &store, &request).unwrap();
            assert_eq!(first.hits.len(), 5, "{text:?}");
            assert_eq!(
                first.more,
                More {
                    count: 7,
                    at_least: false
                },
                "{text:?}"
            );
            request.offset = 10;
            let last = search(&parts, &store, &request).unwrap();
            assert_eq!((last.hits.len(), last.more.count), (2, 0), "{text:?}");
            let pages: HashSet<i64> = first.hits.iter().chain(&last.hits).map(|h| h.id).collect();
            assert_eq!(pages.len(), 7, "pages do not overlap");
        }
        let mut by_date = SearchRequest::new("zebra", Scope::All, 5);
        by_date.order = Some(Order::OldestFirst);
        let oldest = search(&parts, &store, &by_date).unwrap();
        assert!(
            oldest
                .hits
                .windows(2)
                .all(|w| w[0].created_at <= w[1].created_at)
        );
        assert_eq!(oldest.more.count, 7);
    }

    #[test]
    fn filters_that_cannot_hold_are_refused() {
        let (_dir, parts, store) = parts_with(&[]);
        let mut request = SearchRequest::new("x", Scope::All, 5);
        request.types = vec!["bug".into()];
        assert!(matches!(
            search(&parts, &store, &request),
            Err(Error::Invalid(_))
        ));
        request.types.clear();
        request.since = Some(10);
        request.until = Some(5);
        assert!(matches!(
            search(&parts, &store, &request),
            Err(Error::Invalid(_))
        ));
        let mut records = SearchRequest::new("x", Scope::All, 5);
        records.files = vec!["a.rs".into()];
        let refused = search_records(&store, RecordKind::Prompt, &records);
        assert!(matches!(refused, Err(Error::Invalid(_))));
    }
}
