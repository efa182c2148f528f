//! Episodes: a prompt and the events that belong to it, the unit that
//! compression turns into observations and a summary.
//!
//! An episode is closed by its Stop, by the next prompt of its session, by a
//! SessionEnd or PreCompact after it, or — for sessions that crashed — by
//! being idle longer than the stale limit. Each closed episode is compressed
//! once; an event that arrives after that (a late async hook) clears the
//! prompt's `compressed_at` when it is recorded, so the episode is compressed
//! again, replacing what the rules produced before.

use mnemo_agent::claude_code::HookEvent;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{Result, Store};

/// An event of an episode, as stored.
#[derive(Debug, Clone)]
pub struct EpisodeEvent {
    /// The event's row id (`events.id`).
    pub id: i64,
    /// The hook event's name, as Claude Code spelled it.
    pub hook: String,
    /// The tool a tool event is about.
    pub tool_name: Option<String>,
    /// Claude Code's id for the tool call, shared by its Pre and PostToolUse events.
    pub tool_use_id: Option<String>,
    /// Set for events from inside a subagent.
    pub agent_id: Option<String>,
    /// JSON text.
    pub payload: String,
    /// When the hook ran (Unix ms).
    pub created_at: i64,
}

/// Everything compression needs about one episode.
#[derive(Debug, Clone)]
pub struct EpisodeData {
    /// The prompt that opened the episode (`prompts.id`).
    pub prompt_id: i64,
    /// The session the episode belongs to.
    pub session_id: i64,
    /// The session's project, when it has one.
    pub project_id: Option<i64>,
    /// The project's root directory.
    pub project_root: Option<String>,
    /// The prompt's number in its session.
    pub n: i64,
    /// The prompt's text, redacted.
    pub prompt: String,
    /// The whole prompt was inside `<private>` tags: nothing of the episode is kept.
    pub private: bool,
    /// When the prompt was received (Unix ms).
    pub prompt_at: i64,
    /// The session's working directory.
    pub cwd: Option<String>,
    /// The session's transcript file, for the closing message of old Stop events.
    pub transcript_path: Option<String>,
    /// The episode's events in arrival order.
    pub events: Vec<EpisodeEvent>,
}

/// An episode ready to compress, and why it counts as closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEpisode {
    /// The prompt that opened the episode.
    pub prompt_id: i64,
    /// Why it counts as closed: `stop`, `next-prompt`, `session-end`, `pre-compact` or `stale`.
    pub close_reason: String,
    /// Already compressed once; late events arrived since.
    pub recompress: bool,
}

/// A new observation. JSON-array fields are plain vectors here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewObservation {
    /// The observation type, one of [`crate::OBSERVATION_TYPES`].
    pub kind: String,
    /// One line naming what happened.
    pub title: String,
    /// One line of context under the title.
    pub subtitle: String,
    /// The account in prose.
    pub narrative: String,
    /// Short standalone statements.
    pub facts: Vec<String>,
    /// Tags for the kind of knowledge.
    pub concepts: Vec<String>,
    /// Files read, relative to the project.
    pub files_read: Vec<String>,
    /// Files changed, relative to the project.
    pub files_modified: Vec<String>,
    /// The events it was drawn from (`events.id`).
    pub source_event_ids: Vec<i64>,
    /// Hash of its text; an identical hash in the same project makes it a duplicate.
    pub content_hash: String,
    /// Who wrote it: `rules`, `llm:<model>` or `user`.
    pub generated_by: String,
    /// Caller-supplied reference (imports); `None` for captured memories.
    pub reference: Option<String>,
    /// When it happened (Unix ms), for imports; `None` means now.
    pub created_at: Option<i64>,
}

/// A new episode summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSummary {
    /// What the user asked for.
    pub request: String,
    /// What was looked into.
    pub investigated: String,
    /// What was found out.
    pub learned: String,
    /// What was done.
    pub completed: String,
    /// What is left to do.
    pub next_steps: String,
    /// Files read during the episode.
    pub files_read: Vec<String>,
    /// Files changed during the episode.
    pub files_modified: Vec<String>,
    /// Who wrote it: `rules`, `llm:<model>` or `user`.
    pub generated_by: String,
}

/// Fold new material into an existing observation of the same session
/// (a near-duplicate) instead of inserting another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservationMerge {
    /// The stored observation to fold into.
    pub id: i64,
    /// Facts it does not have yet.
    pub facts: Vec<String>,
    /// Files read it does not list yet.
    pub files_read: Vec<String>,
    /// Files changed it does not list yet.
    pub files_modified: Vec<String>,
    /// Events it does not cite yet.
    pub source_event_ids: Vec<i64>,
}

/// The result of compressing one episode.
#[derive(Debug, Clone, Default)]
pub struct CompressedEpisode {
    /// The episode's prompt.
    pub prompt_id: i64,
    /// Why the episode counts as closed.
    pub close_reason: String,
    /// New observations to insert.
    pub observations: Vec<NewObservation>,
    /// Near-duplicates folded into observations already stored.
    pub merges: Vec<ObservationMerge>,
    /// The summary; `None` stores none (an episode compressed to nothing).
    pub summary: Option<NewSummary>,
    /// Events covered (marked processed).
    pub event_ids: Vec<i64>,
    /// Payload bytes covered, for the compression ratio.
    pub raw_bytes: usize,
    /// Queue the episode for LLM enrichment.
    pub enrich: bool,
    /// Replace what the rules stored for this episode before.
    pub replace: bool,
}

/// An observation already stored, as near-duplicate detection sees it.
#[derive(Debug, Clone)]
pub struct ExistingObservation {
    /// The observation's row id.
    pub id: i64,
    /// Its type.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its facts.
    pub facts: Vec<String>,
    /// Files it lists as read.
    pub files_read: Vec<String>,
    /// Files it lists as changed.
    pub files_modified: Vec<String>,
    /// Events it cites.
    pub source_event_ids: Vec<i64>,
}

/// What [`Store::save_episode`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SavedEpisode {
    /// Observations inserted.
    pub inserted: usize,
    /// Observations skipped: an identical one was already stored.
    pub duplicates: usize,
    /// Observations folded into a near-duplicate.
    pub merged: usize,
    /// Another process compressed it first; nothing was written.
    pub already_done: bool,
}

/// Insert one observation unless an identical one (same project and content
/// hash) exists. Returns 1 when inserted, 0 for a duplicate.
pub(crate) fn insert_observation(
    tx: &rusqlite::Transaction,
    project_id: Option<i64>,
    session_id: Option<i64>,
    prompt_id: Option<i64>,
    o: &NewObservation,
    now: i64,
) -> Result<usize> {
    Ok(tx.execute(
        "INSERT INTO observations (project_id, session_id, prompt_id, type, title, subtitle,
             narrative, facts, concepts, files_read, files_modified, source_event_ids,
             content_hash, generated_by, created_at, ref)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT DO NOTHING",
        params![
            project_id,
            session_id,
            prompt_id,
            o.kind,
            o.title,
            o.subtitle,
            o.narrative,
            json(&o.facts),
            json(&o.concepts),
            json(&o.files_read),
            json(&o.files_modified),
            json(&o.source_event_ids),
            o.content_hash,
            o.generated_by,
            o.created_at.unwrap_or(now),
            o.reference
        ],
    )?)
}

/// Write the summary of a prompt. A prompt's existing summary is replaced
/// when `replace`, else kept. Returns 1 when a row was written, else 0.
pub(crate) fn write_summary(
    tx: &rusqlite::Transaction,
    project_id: Option<i64>,
    session_id: i64,
    prompt_id: i64,
    s: &NewSummary,
    created_at: i64,
    replace: bool,
) -> Result<usize> {
    let on_conflict = if replace {
        "DO UPDATE SET
             request = excluded.request, investigated = excluded.investigated,
             learned = excluded.learned, completed = excluded.completed,
             next_steps = excluded.next_steps, files_read = excluded.files_read,
             files_modified = excluded.files_modified, generated_by = excluded.generated_by"
    } else {
        "DO NOTHING"
    };
    Ok(tx.execute(
        &format!(
            "INSERT INTO summaries (project_id, session_id, prompt_id, request, investigated,
                 learned, completed, next_steps, files_read, files_modified, generated_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (prompt_id) {on_conflict}"
        ),
        params![
            project_id,
            session_id,
            prompt_id,
            s.request,
            s.investigated,
            s.learned,
            s.completed,
            s.next_steps,
            json(&s.files_read),
            json(&s.files_modified),
            s.generated_by,
            created_at
        ],
    )?)
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// The events that close an episode, in the order `pending_episodes` names
/// its reasons (`stop`, `session-end`, `pre-compact`): the events the roles
/// table marks as closing one.
const CLOSING: [HookEvent; 4] = [
    HookEvent::Stop,
    HookEvent::StopFailure,
    HookEvent::SessionEnd,
    HookEvent::PreCompact,
];

impl Store {
    /// Closed episodes waiting for compression, oldest first: new ones, and
    /// compressed ones that received late events since (`recompress`).
    /// `stale_before` closes episodes idle since before that time (Unix ms).
    pub fn pending_episodes(&self, stale_before: i64, limit: usize) -> Result<Vec<PendingEpisode>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, reason, redo FROM (
                SELECT p.id, p.created_at,
                  EXISTS (SELECT 1 FROM episodes x WHERE x.prompt_id = p.id) AS redo,
                  CASE
                    WHEN EXISTS (SELECT 1 FROM events e WHERE e.prompt_id = p.id
                                 AND e.hook IN (?3, ?4) AND e.agent_id IS NULL) THEN 'stop'
                    WHEN EXISTS (SELECT 1 FROM prompts q WHERE q.session_id = p.session_id AND q.n > p.n) THEN 'next-prompt'
                    WHEN EXISTS (SELECT 1 FROM events e WHERE e.session_id = p.session_id
                                 AND e.hook = ?5 AND e.created_at >= p.created_at) THEN 'session-end'
                    WHEN EXISTS (SELECT 1 FROM events e WHERE e.session_id = p.session_id
                                 AND e.hook = ?6 AND e.created_at >= p.created_at) THEN 'pre-compact'
                    WHEN p.created_at < ?1
                         AND coalesce((SELECT max(e.created_at) FROM events e WHERE e.prompt_id = p.id),
                                      p.created_at) < ?1 THEN 'stale'
                  END AS reason
                FROM prompts p WHERE p.compressed_at IS NULL AND p.compress_skipped IS NULL
             ) WHERE reason IS NOT NULL ORDER BY created_at, id LIMIT ?2",
        )?;
        let [stop, stop_failure, session_end, pre_compact] = CLOSING.map(HookEvent::name);
        let pending = stmt
            .query_map(
                params![
                    stale_before,
                    limit as i64,
                    stop,
                    stop_failure,
                    session_end,
                    pre_compact
                ],
                |r| {
                    Ok(PendingEpisode {
                        prompt_id: r.get(0)?,
                        close_reason: r.get(1)?,
                        recompress: r.get(2)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(pending)
    }

    /// Set aside an episode whose compression fails on its own content,
    /// with the reason: later runs skip it (see `stats().episodes_skipped`).
    pub fn skip_episode(&self, prompt_id: i64, reason: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE prompts SET compress_skipped = ?2 WHERE id = ?1",
            params![prompt_id, reason],
        )?;
        Ok(())
    }

    /// Load one episode with its events in order.
    pub fn load_episode(&self, prompt_id: i64) -> Result<Option<EpisodeData>> {
        let head = self
            .conn
            .query_row(
                "SELECT p.id, p.session_id, s.project_id, pr.root, p.n, p.text, p.private,
                        p.created_at, s.cwd, s.transcript_path
                 FROM prompts p JOIN sessions s ON s.id = p.session_id
                 LEFT JOIN projects pr ON pr.id = s.project_id
                 WHERE p.id = ?1",
                [prompt_id],
                |r| {
                    Ok(EpisodeData {
                        prompt_id: r.get(0)?,
                        session_id: r.get(1)?,
                        project_id: r.get(2)?,
                        project_root: r.get(3)?,
                        n: r.get(4)?,
                        prompt: r.get(5)?,
                        private: r.get(6)?,
                        prompt_at: r.get(7)?,
                        cwd: r.get(8)?,
                        transcript_path: r.get(9)?,
                        events: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut episode) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hook, tool_name, tool_use_id, agent_id, payload, created_at
             FROM events WHERE prompt_id = ?1 ORDER BY created_at, id",
        )?;
        episode.events = stmt
            .query_map([prompt_id], |r| {
                Ok(EpisodeEvent {
                    id: r.get(0)?,
                    hook: r.get(1)?,
                    tool_name: r.get(2)?,
                    tool_use_id: r.get(3)?,
                    agent_id: r.get(4)?,
                    payload: r.get(5)?,
                    created_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(episode))
    }

    /// Observations of a session produced by earlier episodes (for merging
    /// near-duplicates), excluding those of `except_prompt`.
    pub fn session_observations(
        &self,
        session_id: i64,
        except_prompt: i64,
    ) -> Result<Vec<ExistingObservation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, type, title, facts, files_read, files_modified, source_event_ids
             FROM observations
             WHERE session_id = ?1 AND prompt_id IS NOT ?2 AND deleted_at IS NULL
             ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![session_id, except_prompt], |r| {
                Ok(ExistingObservation {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    title: r.get(2)?,
                    facts: from_json(&r.get::<_, String>(3)?),
                    files_read: from_json(&r.get::<_, String>(4)?),
                    files_modified: from_json(&r.get::<_, String>(5)?),
                    source_event_ids: from_json(&r.get::<_, String>(6)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Store a compressed episode atomically: observations (identical ones
    /// once per project), merges, the summary, and the episode's bookkeeping.
    /// Safe to race: the first process to commit wins, others do nothing.
    pub fn save_episode(&mut self, ep: &CompressedEpisode, now: i64) -> Result<SavedEpisode> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (session_id, project_id, compressed_at): (i64, Option<i64>, Option<i64>) = tx
            .query_row(
                "SELECT p.session_id, s.project_id, p.compressed_at
                 FROM prompts p JOIN sessions s ON s.id = p.session_id WHERE p.id = ?1",
                [ep.prompt_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        if compressed_at.is_some() && !ep.replace {
            return Ok(SavedEpisode {
                already_done: true,
                ..SavedEpisode::default()
            });
        }
        if ep.replace {
            tx.execute(
                // Only what compression wrote: notes and imported memories stay.
                "DELETE FROM observations WHERE prompt_id = ?1
                   AND (generated_by = 'rules' OR generated_by LIKE 'llm:%')",
                [ep.prompt_id],
            )?;
            tx.execute("DELETE FROM summaries WHERE prompt_id = ?1", [ep.prompt_id])?;
        }
        let mut saved = SavedEpisode::default();
        for o in &ep.observations {
            let inserted = insert_observation(
                &tx,
                project_id,
                Some(session_id),
                Some(ep.prompt_id),
                o,
                now,
            )?;
            if inserted == 1 {
                saved.inserted += 1;
            } else {
                saved.duplicates += 1;
            }
        }
        for m in &ep.merges {
            saved.merged += tx.execute(
                "UPDATE observations SET facts = ?2, files_read = ?3, files_modified = ?4,
                     source_event_ids = ?5
                 WHERE id = ?1",
                params![
                    m.id,
                    json(&m.facts),
                    json(&m.files_read),
                    json(&m.files_modified),
                    json(&m.source_event_ids)
                ],
            )?;
        }
        if let Some(s) = &ep.summary {
            write_summary(&tx, project_id, session_id, ep.prompt_id, s, now, true)?;
        }
        let mut mark = tx.prepare_cached("UPDATE events SET processed_at = ?2 WHERE id = ?1")?;
        for id in &ep.event_ids {
            mark.execute(params![id, now])?;
        }
        drop(mark);
        tx.execute(
            "UPDATE prompts SET compressed_at = ?2 WHERE id = ?1",
            params![ep.prompt_id, now],
        )?;
        tx.execute(
            "INSERT INTO episodes (prompt_id, session_id, close_reason, compressed_at, event_count,
                 raw_bytes, enrich_state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (prompt_id) DO UPDATE SET
                 compressed_at = excluded.compressed_at,
                 event_count = excluded.event_count, raw_bytes = excluded.raw_bytes,
                 enrich_state = excluded.enrich_state, enrich_error = NULL",
            params![
                ep.prompt_id,
                session_id,
                ep.close_reason,
                now,
                ep.event_ids.len() as i64,
                ep.raw_bytes as i64,
                ep.enrich.then_some("pending")
            ],
        )?;
        tx.commit()?;
        Ok(saved)
    }
}

impl Store {
    /// Store an observation the user asked to remember (no session or
    /// prompt). Returns its id, or `None` if an identical one exists.
    pub fn remember(
        &mut self,
        project: Option<&crate::ProjectRef>,
        observation: &NewObservation,
        now: i64,
    ) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let project_id = match project {
            Some(p) => Some(crate::record::upsert_project(&tx, p, now)?),
            None => None,
        };
        let inserted = insert_observation(&tx, project_id, None, None, observation, now)?;
        let id = (inserted == 1).then(|| tx.last_insert_rowid());
        tx.commit()?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_close_on_the_events_the_roles_table_names() {
        let by_roles: Vec<HookEvent> = HookEvent::ALL
            .iter()
            .copied()
            .filter(|e| e.roles().closes_episode)
            .collect();
        assert_eq!(by_roles.len(), CLOSING.len());
        assert!(by_roles.iter().all(|e| CLOSING.contains(e)), "{by_roles:?}");
    }
}
