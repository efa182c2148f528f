//! Questions about order between sessions: "what did we do in the session
//! after the schema migration?", "which flag had we added right before the
//! deploy failed?".
//!
//! Such a question names an *anchor* (the schema migration) and asks about
//! the work next to it in time, which shares none of the anchor's words.
//! The anchor is found like any memory; its neighbours are read from the
//! project's timeline, cut into units of work: one session, split where
//! nothing happened for [`UNIT_GAP_MS`] or where the session was ended or
//! resumed (a session resumed the next morning is the next unit of work,
//! even when the memories' times say nothing of the night between, as for
//! events replayed without their own times).

use mnemo_agent::claude_code::HookEvent;
use mnemo_store::{Result, Store};
use rusqlite::{Connection, params};

use crate::{Hit, SearchQuery};

/// Which side of the anchor the question asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    After,
    Before,
}

/// A question about the work next to an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relative {
    pub direction: Direction,
    /// The words naming the anchor: what follows the cue.
    pub anchor: String,
}

/// Phrases that ask about order between units of work; a bare "after"
/// ("it failed after the upgrade") asks about cause, not about order.
const CUES: &[(&str, Direction)] = &[
    ("session after", Direction::After),
    ("session before", Direction::Before),
    ("day after", Direction::After),
    ("day before", Direction::Before),
    ("morning after", Direction::After),
    ("right after", Direction::After),
    ("right before", Direction::Before),
    ("just after", Direction::After),
    ("just before", Direction::Before),
    ("immediately after", Direction::After),
    ("immediately before", Direction::Before),
    ("shortly after", Direction::After),
    ("shortly before", Direction::Before),
];

/// Inactivity that ends a unit of work inside one session.
const UNIT_GAP_MS: i64 = 3 * 60 * 60 * 1000;

/// How many memories of the neighbouring unit are considered.
const MAX_NEIGHBOURS: usize = 8;

/// Where `cue` first occurs in `lower` as whole words.
fn find_cue(lower: &str, cue: &str) -> Option<usize> {
    lower
        .match_indices(cue)
        .find(|&(i, _)| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + cue.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
        .map(|(i, _)| i)
}

/// The question's cue and anchor, when `prompt` asks about order.
pub(crate) fn relative(prompt: &str) -> Option<Relative> {
    let lower = prompt.to_lowercase();
    let (at, cue, direction) = CUES
        .iter()
        .filter_map(|&(cue, direction)| find_cue(&lower, cue).map(|i| (i, cue, direction)))
        .min_by_key(|&(i, _, _)| i)?;
    let anchor = lower[at + cue.len()..]
        .trim()
        .trim_end_matches(['?', '.', '!'])
        .trim();
    (!anchor.is_empty()).then(|| Relative {
        direction,
        anchor: anchor.to_string(),
    })
}

/// Phrases that ask how something changed over several units of work.
const HISTORY_CUES: &[&str] = &[
    "over our sessions",
    "across our sessions",
    "over the sessions",
    "across sessions",
    "across the sessions",
    "over time",
    "evolve",
    "evolved",
    "evolution of",
    "changed over",
    "history of",
];

/// Whether `prompt` asks how something changed over time: its answer is
/// several memories, oldest first, rather than the best one.
pub(crate) fn asks_history(prompt: &str) -> bool {
    let lower = prompt.to_lowercase();
    HISTORY_CUES
        .iter()
        .any(|cue| find_cue(&lower, cue).is_some())
}

/// The memories of the unit of work next to memory `anchor` on `direction`'s
/// side, nearest first: for `After`, the unit that follows the anchor's;
/// for `Before`, the memories of the anchor's own unit that precede it, or
/// the unit before when there are none.
pub(crate) fn neighbours(store: &Store, anchor: i64, direction: Direction) -> Result<Vec<i64>> {
    let conn = store.conn();
    let (project, anchor_at): (Option<i64>, i64) = conn.query_row(
        "SELECT project_id, created_at FROM observations WHERE id = ?1",
        [anchor],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(project) = project else {
        return Ok(Vec::new());
    };
    // The project's session memories in time order, nearest the anchor first.
    let sql = match direction {
        Direction::After => {
            "SELECT id, session_id, created_at FROM observations
             WHERE project_id = ?1 AND deleted_at IS NULL AND session_id IS NOT NULL
               AND (created_at, id) >= (?2, ?3)
             ORDER BY created_at, id LIMIT 200"
        }
        Direction::Before => {
            "SELECT id, session_id, created_at FROM observations
             WHERE project_id = ?1 AND deleted_at IS NULL AND session_id IS NOT NULL
               AND (created_at, id) <= (?2, ?3)
             ORDER BY created_at DESC, id DESC LIMIT 200"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let timeline: Vec<(i64, i64, i64)> = stmt
        .query_map(params![project, anchor_at, anchor], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Units along the timeline: 0 is the anchor's own, 1 the next one out.
    let mut unit = 0;
    let mut units = Vec::with_capacity(timeline.len());
    for (i, &(_, session, at)) in timeline.iter().enumerate() {
        if let Some(&(_, prev_session, prev_at)) = i.checked_sub(1).map(|p| &timeline[p])
            && (session != prev_session
                || (at - prev_at).abs() >= UNIT_GAP_MS
                || sitting_ended(conn, session, prev_at.min(at), prev_at.max(at))?)
        {
            unit += 1;
        }
        units.push(unit);
    }
    let rest = timeline.iter().zip(&units).skip(1); // the anchor itself
    let wanted = match direction {
        Direction::Before if units.get(1) == Some(&0) => 0,
        _ => 1,
    };
    Ok(rest
        .filter(|&(_, &u)| u == wanted)
        .map(|(&(id, _, _), _)| id)
        .take(MAX_NEIGHBOURS)
        .collect())
}

/// Whether `session` ended, or was resumed, after `from` and by `to`.
fn sitting_ended(conn: &Connection, session: i64, from: i64, to: i64) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM events
         WHERE session_id = ?1 AND hook IN (?2, ?3) AND created_at > ?4 AND created_at <= ?5
           AND (hook = ?2 OR json_extract(payload, '$.source') = 'resume'))",
    )?;
    Ok(stmt.query_row(
        params![
            session,
            HookEvent::SessionEnd.name(),
            HookEvent::SessionStart.name(),
            from,
            to
        ],
        |r| r.get(0),
    )?)
}

/// Whether `q` is words and a project only: the order of units of work is
/// read without the other filters.
pub(crate) fn plain_query(q: &SearchQuery) -> bool {
    q.types.is_empty()
        && q.concepts.is_empty()
        && q.file.is_none()
        && q.since.is_none()
        && q.until.is_none()
}

/// Search results for a question about order: the anchor is the best
/// result of `search` for the anchor's words; its neighbours come first
/// (those the whole question also ranks in its order, then the nearest),
/// then the question's own results. Without an anchor or neighbours, the
/// question's own results.
pub(crate) fn around_anchor(
    store: &Store,
    q: &SearchQuery,
    order: &Relative,
    search: impl Fn(&SearchQuery) -> Result<Vec<Hit>>,
) -> Result<Vec<Hit>> {
    let wanted = q.offset.saturating_add(q.limit.max(1));
    let own = search(&SearchQuery {
        limit: wanted,
        offset: 0,
        ..q.clone()
    })?;
    let anchor = search(&SearchQuery {
        text: order.anchor.clone(),
        limit: 1,
        offset: 0,
        ..q.clone()
    })?;
    let mut near = match anchor.first() {
        Some(anchor) => neighbours(store, anchor.id, order.direction)?,
        None => Vec::new(),
    };
    let rank = |id: &i64| own.iter().position(|h| h.id == *id).unwrap_or(usize::MAX);
    near.sort_by_key(rank); // stable: the nearest first among the unranked
    // Scored just above the question's best, so scores still sort the list.
    let top = own.first().map_or(1.0, |h| h.score);
    let count = near.len();
    let scored = near
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, top + (count - i) as f64 * 1e-3));
    let mut hits = crate::search::hits_by_id(store, scored)?;
    hits.extend(own.into_iter().filter(|h| !near.contains(&h.id)));
    Ok(hits
        .into_iter()
        .skip(q.offset)
        .take(q.limit.max(1))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_store::{CompressedEpisode, HookRecord, NewObservation, ProjectRef, PromptText};

    const HOUR: i64 = 60 * 60 * 1000;

    /// A store with one memory per `(session, hour)`, ids 1, 2, … in order,
    /// titled "memory <id>".
    fn timeline(memories: &[(&str, i64)]) -> Store {
        let titled: Vec<(&str, i64, String)> = memories
            .iter()
            .enumerate()
            .map(|(i, &(session, hour))| (session, hour, format!("memory {}", i + 1)))
            .collect();
        titled_timeline(&titled)
    }

    /// A store with one memory per `(session, hour, title)`, ids 1, 2, ….
    fn titled_timeline(memories: &[(&str, i64, String)]) -> Store {
        let mut store = Store::open_in_memory().expect("store");
        for (i, (session, hour, title)) in memories.iter().enumerate() {
            let (session, hour) = (*session, *hour);
            let record = HookRecord {
                project: Some(ProjectRef {
                    root: "/src/app".into(),
                    name: "app".into(),
                }),
                prompt: Some(PromptText {
                    text: format!("prompt {i}"),
                    private: false,
                }),
                ..HookRecord::new("UserPromptSubmit", "claude-code", session, hour * HOUR)
            };
            store.record(&record, 0).expect("recorded");
            let prompt_id: i64 = store
                .conn()
                .query_row("SELECT max(id) FROM prompts", [], |r| r.get(0))
                .expect("a prompt");
            let observation = NewObservation {
                kind: "change".into(),
                title: title.clone(),
                content_hash: format!("h{i}"),
                generated_by: "rules".into(),
                created_at: Some(hour * HOUR),
                ..NewObservation::default()
            };
            store
                .save_episode(
                    &CompressedEpisode {
                        prompt_id,
                        close_reason: "stop".into(),
                        observations: vec![observation],
                        ..CompressedEpisode::default()
                    },
                    hour * HOUR,
                )
                .expect("saved");
        }
        store
    }

    #[test]
    fn neighbours_are_the_next_unit_of_work_or_what_came_just_before() {
        // Session a (hours 1, 2), session b (10, 11), b resumed the next
        // morning (30), session c (31).
        let store = timeline(&[
            ("a", 1),
            ("a", 2),
            ("b", 10),
            ("b", 11),
            ("b", 30),
            ("c", 31),
        ]);
        let after = |id| neighbours(&store, id, Direction::After).expect("read");
        let before = |id| neighbours(&store, id, Direction::Before).expect("read");
        assert_eq!(after(1), [3, 4]);
        assert_eq!(after(2), [3, 4]);
        assert_eq!(after(4), [5], "a resumed session after a night is new work");
        assert_eq!(after(6), Vec::<i64>::new());
        assert_eq!(before(2), [1], "what came just before, in the same session");
        assert_eq!(before(3), [2, 1], "the session before, nearest first");
    }

    /// Replayed events can carry no time of their own: a session ended or
    /// resumed between two memories still starts the next unit of work.
    #[test]
    fn a_resumed_session_is_the_next_unit_of_work_without_a_gap_in_time() {
        let mut store = timeline(&[("a", 1), ("b", 2), ("b", 3), ("c", 4), ("c", 5)]);
        let mut record = |hook: &str, session: &str, at: i64, payload: &str| {
            let event = HookRecord {
                project: Some(ProjectRef {
                    root: "/src/app".into(),
                    name: "app".into(),
                }),
                payload: payload.into(),
                ..HookRecord::new(hook, "claude-code", session, at)
            };
            store.record(&event, 0).expect("recorded");
        };
        record("SessionEnd", "b", 2 * HOUR + 1, "{}");
        record("SessionStart", "c", 4 * HOUR + 1, r#"{"source":"resume"}"#);
        let after = |id| neighbours(&store, id, Direction::After).expect("read");
        assert_eq!(after(2), [3], "ended, then resumed: the next unit");
        assert_eq!(after(4), [5], "resumed without an end: the next unit");
        assert_eq!(after(1), [2], "an unbroken session is one unit");
    }

    #[test]
    fn order_cues_are_found_and_cause_is_not() {
        let r = relative("What did we work on in the session after the schema migration?");
        assert_eq!(
            r,
            Some(Relative {
                direction: Direction::After,
                anchor: "the schema migration".into()
            })
        );
        let r = relative("Which flag had we just added right before the deploy failed?")
            .expect("a cue");
        assert_eq!(r.direction, Direction::Before);
        assert_eq!(r.anchor, "the deploy failed");
        assert_eq!(relative("Why did the build fail after the upgrade?"), None);
        assert_eq!(relative("what happened the day after"), None);
        assert_eq!(relative("a birthday after party"), None);
        assert!(asks_history("How has the cache changed over our sessions?"));
        assert!(asks_history("how did the loader evolve"));
        assert!(!asks_history("Why did the loader fail?"));
    }

    #[test]
    fn search_ranks_the_work_after_the_anchor_first() {
        let memory = |session, hour, title: &str| (session, hour, title.to_string());
        let store = titled_timeline(&[
            memory(
                "a",
                1,
                "Decided to keep sessions in SQLite instead of a separate cache server",
            ),
            memory("b", 10, "Stats queries now take the request context"),
            memory("b", 11, "CI runs the linter"),
            memory("c", 40, "Session after that: the store code is generated"),
        ]);
        let q = SearchQuery {
            text: "what did we do in the session after the cache server decision?".into(),
            project: Some("/src/app".into()),
            limit: 3,
            ..SearchQuery::default()
        };
        let ids: Vec<i64> = crate::search(&store, &q)
            .expect("searched")
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids[..2], [2, 3], "{ids:?}");
    }
}
