//! `show` and `timeline`: reading memories back by the ids mnemo printed.

use mnemo_retrieve::fetch::provenance::{self, Source};
use mnemo_retrieve::{Hit, Observation, Record, RecordKind, SearchQuery, get_record};
use mnemo_store::Store;

use super::scope::Scope;
use super::search::find;
use super::{Error, Id, Result};
use crate::parts::Parts;

/// One record [`show`] found.
#[derive(Debug, Clone)]
pub enum Shown {
    /// An observation, with the tool calls it came from.
    Observation(Box<Observation>, Vec<Source>),
    /// A session summary or a prompt.
    Record(RecordKind, Record),
}

/// What [`show`] found, in the order asked (each id once), and the ids it
/// did not find.
#[derive(Debug, Clone)]
pub struct Showing {
    /// The records found.
    pub found: Vec<Shown>,
    /// The ids that name nothing live.
    pub missing: Vec<Id>,
}

/// The records `ids` name (observations, summaries, prompts). No id is an
/// [`Error::Invalid`]; none found an [`Error::NotFound`] naming them.
pub fn show(store: &Store, ids: &[Id]) -> Result<Showing> {
    if ids.is_empty() {
        return Err(Error::Invalid(
            "give the ids to show (as search prints them: #12, #S2, #P3)".into(),
        ));
    }
    let mut asked: Vec<Id> = Vec::with_capacity(ids.len());
    for id in ids {
        if !asked.contains(id) {
            asked.push(*id);
        }
    }
    let mut showing = Showing {
        found: Vec::new(),
        missing: Vec::new(),
    };
    for id in asked {
        let shown = match id {
            Id::Observation(n) => match mnemo_retrieve::get_observations(store, &[n])?.pop() {
                Some(o) => {
                    let sources = provenance::sources(store, o.id, o.project.as_deref())?;
                    Some(Shown::Observation(Box::new(o), sources))
                }
                None => None,
            },
            Id::Record(kind, n) => get_record(store, kind, n)?.map(|r| Shown::Record(kind, r)),
        };
        match shown {
            Some(shown) => showing.found.push(shown),
            None => showing.missing.push(id),
        }
    }
    if showing.found.is_empty() {
        return Err(not_found(&showing.missing));
    }
    Ok(showing)
}

/// The error for ids that name nothing: "no observation #99", "no session
/// summary #S2", "no record #3, #P4".
pub fn not_found(ids: &[Id]) -> Error {
    let what = match ids {
        [Id::Observation(_)] => "observation",
        [Id::Record(RecordKind::Session, _)] => "session summary",
        [Id::Record(RecordKind::Prompt, _)] => "prompt",
        _ if ids.iter().all(|id| matches!(id, Id::Observation(_))) => "observation",
        _ => "record",
    };
    let list: Vec<String> = ids.iter().map(Id::to_string).collect();
    Error::NotFound(format!("no {what} {}", list.join(", ")))
}

/// A timeline to build.
#[derive(Debug, Clone)]
pub struct TimelineRequest {
    /// Center on this record (an observation, or the first memory of a
    /// summary's or prompt's turn).
    pub around: Option<Id>,
    /// Without `around`: center on the best match for this text.
    pub query: Option<String>,
    /// Which projects the newest memories come from when nothing is
    /// centered on (a centered timeline stays in its anchor's project).
    pub scope: Scope,
    /// Memories before and after the anchor (without one, the newest
    /// `before + after + 1`).
    pub before: usize,
    /// See `before`.
    pub after: usize,
}

/// A timeline: memories oldest first, and the one it centers on.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Oldest first.
    pub hits: Vec<Hit>,
    /// The observation centered on, if any.
    pub anchor: Option<i64>,
}

/// The memories around an anchor, or the newest in scope. An anchor that
/// names nothing is an [`Error::NotFound`].
pub fn timeline(parts: &Parts, store: &Store, request: &TimelineRequest) -> Result<Timeline> {
    let text = request.query.as_deref().map(str::trim).unwrap_or("");
    let anchor = match request.around {
        Some(Id::Observation(n)) => Some(n),
        Some(id @ Id::Record(kind, n)) => {
            let record = get_record(store, kind, n)?.ok_or_else(|| not_found(&[id]))?;
            let first = record.observations.first().copied();
            Some(first.ok_or_else(|| {
                Error::NotFound(format!("{id} made no memories to center a timeline on"))
            })?)
        }
        None if !text.is_empty() => {
            let best = SearchQuery {
                text: text.to_string(),
                project: request.scope.root().map(String::from),
                limit: 1,
                ..SearchQuery::default()
            };
            let hit = find(parts, store, &best)?.into_iter().next();
            Some(hit.map(|h| h.id).ok_or_else(|| {
                Error::NotFound(format!(
                    "no memory matches {text:?}; nothing to center a timeline on"
                ))
            })?)
        }
        None => None,
    };
    let hits = mnemo_retrieve::timeline(
        store,
        anchor,
        request.scope.root(),
        request.before,
        request.after,
    )?;
    if let Some(n) = anchor
        && !hits.iter().any(|h| h.id == n)
    {
        return Err(not_found(&[Id::Observation(n)]));
    }
    Ok(Timeline { hits, anchor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::testing::parts_with;
    use crate::memory::{forget, restore};

    /// Parts over a temporary directory holding `n` notes (ids 1..=n).
    fn with_notes(n: usize) -> (tempfile::TempDir, Parts, Store) {
        let notes: Vec<String> = (0..n)
            .map(|i| format!("Note number {i} about the release checklist."))
            .collect();
        parts_with(&notes.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn show_finds_what_exists_and_names_what_does_not() {
        let (_dir, _parts, store) = with_notes(2);
        let ids = Id::parse_all(&["#2", "1", "2", "#99"]).unwrap();
        let showing = show(&store, &ids).unwrap();
        let found: Vec<i64> = showing
            .found
            .iter()
            .map(|s| match s {
                Shown::Observation(o, _) => o.id,
                Shown::Record(_, r) => r.id,
            })
            .collect();
        assert_eq!(found, [2, 1], "in the order asked, each once");
        assert_eq!(showing.missing, [Id::Observation(99)]);
        let err = show(&store, &[Id::Observation(99)]).unwrap_err();
        assert_eq!(err.to_string(), "no observation #99");
        let err = show(&store, &[Id::Record(RecordKind::Prompt, 4)]).unwrap_err();
        assert_eq!(err.to_string(), "no prompt #P4");
        assert!(matches!(show(&store, &[]), Err(Error::Invalid(_))));
    }

    #[test]
    fn forgetting_twice_or_restoring_what_is_live_is_not_found() {
        let (_dir, parts, mut store) = with_notes(2);
        let one = [Id::Observation(1)];
        assert_eq!(forget(&parts, &mut store, &one).unwrap().changed, [1]);
        let err = forget(&parts, &mut store, &one).unwrap_err();
        assert_eq!(err.to_string(), "no live observation #1");
        assert!(matches!(show(&store, &one), Err(Error::NotFound(_))));
        let both = [Id::Observation(1), Id::Observation(2)];
        let restored = restore(&mut store, &both).unwrap();
        assert_eq!((restored.changed, restored.unchanged), (vec![1], vec![2]));
        let summary = [Id::Record(RecordKind::Session, 1)];
        assert!(matches!(
            forget(&parts, &mut store, &summary),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn a_timeline_centres_on_what_exists() {
        let (_dir, parts, store) = with_notes(5);
        let request = |around: Option<Id>, query: Option<&str>| TimelineRequest {
            around,
            query: query.map(String::from),
            scope: Scope::All,
            before: 1,
            after: 1,
        };
        let around = timeline(&parts, &store, &request(Some(Id::Observation(3)), None)).unwrap();
        assert_eq!(around.anchor, Some(3));
        let ids: Vec<i64> = around.hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, [2, 3, 4]);
        let newest = timeline(&parts, &store, &request(None, None)).unwrap();
        assert_eq!((newest.anchor, newest.hits.len()), (None, 3));
        let found = timeline(&parts, &store, &request(None, Some("number 1"))).unwrap();
        assert!(found.anchor.is_some());
        for (around, query) in [
            (Some(Id::Observation(999)), None),
            (Some(Id::Record(RecordKind::Session, 7)), None),
            (None, Some("giraffe")),
        ] {
            let err = timeline(&parts, &store, &request(around, query)).unwrap_err();
            assert!(matches!(err, Error::NotFound(_)), "{err}");
        }
    }
}
