//! Turning a normalized hook event into rows.

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::event::is_tool_result;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::{Result, Store};

/// The project an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    /// Canonical root path: the identity.
    pub root: String,
    /// Display name (the root's last component).
    pub name: String,
}

/// The text of a user prompt, already redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptText {
    /// The prompt's text with `<private>` spans dropped.
    pub text: String,
    /// True when the whole prompt was inside `<private>` tags.
    pub private: bool,
}

/// One hook event, normalized, redacted and size-capped: everything the store
/// needs and nothing it must interpret. It is also the spool file format, so
/// an event that could not be written is replayed later exactly as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRecord {
    /// Canonical event name, e.g. `PostToolUse`.
    pub hook: String,
    /// The agent that sent it, e.g. `claude-code`.
    pub agent: String,
    /// Claude Code's `session_id`.
    pub agent_session_id: String,
    /// When the hook received the event, Unix epoch milliseconds.
    pub at: i64,
    /// The project the event's working directory belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
    /// The working directory Claude Code reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The git branch checked out in the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The session's transcript file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_path: Option<String>,
    /// The tool a tool event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Claude Code's id for the tool call, shared by its Pre and PostToolUse events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// Subagent id, for events fired inside a subagent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's own id for the prompt this event belongs to, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_prompt_id: Option<String>,
    /// Set for `UserPromptSubmit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptText>,
    /// `SessionStart` source (startup, resume, clear, compact, fork).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `SessionEnd` reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The rest of the hook input, as JSON text.
    pub payload: String,
}

impl HookRecord {
    /// A record with only its identity set (no project, prompt or tool; an
    /// empty JSON payload), to be filled in with struct update syntax.
    pub fn new(hook: &str, agent: &str, agent_session_id: &str, at: i64) -> HookRecord {
        HookRecord {
            hook: hook.into(),
            agent: agent.into(),
            agent_session_id: agent_session_id.into(),
            at,
            project: None,
            cwd: None,
            branch: None,
            transcript_path: None,
            tool_name: None,
            tool_use_id: None,
            agent_id: None,
            agent_prompt_id: None,
            prompt: None,
            source: None,
            end_reason: None,
            payload: "{}".into(),
        }
    }
}

/// What [`Store::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The event was written.
    Stored {
        /// The new row in `events`.
        event_id: i64,
        /// The prompt the event belongs to, when one is known.
        prompt_id: Option<i64>,
    },
    /// The same event was already stored (a redelivery).
    Duplicate,
    /// Not stored: an event that only follows session activity (its end,
    /// a stop, a compaction) for a session never seen. Commands that are
    /// not sessions (`claude mcp list`) send a lone SessionEnd; storing it
    /// would make a phantom session.
    NoSession,
}

impl Store {
    /// Store one event in its own transaction. `dedupe_window_ms` bounds how
    /// far apart two identical prompts (or identical non-tool events) may be
    /// and still count as one delivery.
    pub fn record(&mut self, record: &HookRecord, dedupe_window_ms: i64) -> Result<Recorded> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = record_in(&tx, record, dedupe_window_ms)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Store many events in one transaction (replays, spool draining).
    pub fn record_batch(
        &mut self,
        records: &[HookRecord],
        dedupe_window_ms: i64,
    ) -> Result<Vec<Recorded>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcomes = records
            .iter()
            .map(|r| record_in(&tx, r, dedupe_window_ms))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(outcomes)
    }

    /// Keep an input that could not be interpreted, so nothing vanishes
    /// silently. `head` must already be redacted.
    pub fn record_rejected(
        &mut self,
        hook: Option<&str>,
        reason: &str,
        input_bytes: usize,
        head: &str,
        at: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO rejected_inputs (hook, reason, input_bytes, input_head, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![hook, reason, input_bytes as i64, head, at],
        )?;
        Ok(())
    }
}

pub(crate) fn record_in(tx: &Transaction, r: &HookRecord, window: i64) -> Result<Recorded> {
    if !begins_session(r) && !session_exists(tx, r)? {
        return Ok(Recorded::NoSession);
    }
    let session_id = upsert_session(tx, r)?;
    match HookEvent::from_name(&r.hook) {
        Some(HookEvent::SessionStart) => {
            tx.execute(
                "UPDATE sessions SET status = 'active', ended_at = NULL, end_reason = NULL
                 WHERE id = ?1",
                [session_id],
            )?;
        }
        Some(HookEvent::SessionEnd) => {
            tx.execute(
                "UPDATE sessions SET status = 'ended', ended_at = ?2, end_reason = ?3
                 WHERE id = ?1",
                params![session_id, r.at, r.end_reason],
            )?;
        }
        _ => {}
    }

    let prompt_id = match &r.prompt {
        Some(prompt) => match insert_prompt(tx, session_id, r, prompt, window)? {
            Some(id) => Some(id),
            None => return Ok(Recorded::Duplicate),
        },
        None => owning_prompt(tx, session_id, r)?,
    };

    let inserted = if r.tool_use_id.is_some() {
        tx.query_row(
            "INSERT INTO events (session_id, prompt_id, hook, tool_name, tool_use_id, agent_id, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (session_id, hook, tool_use_id) WHERE tool_use_id IS NOT NULL DO NOTHING
             RETURNING id",
            params![session_id, prompt_id, r.hook, r.tool_name, r.tool_use_id, r.agent_id, r.payload, r.at],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
    } else {
        // Without a tool_use_id, a redelivery is the same payload for the same
        // prompt within the window. (A new prompt was already told apart from
        // a redelivered one by `insert_prompt`.)
        let seen: Option<i64> = if r.prompt.is_some() {
            None
        } else {
            tx.query_row(
                "SELECT id FROM events
                 WHERE session_id = ?1 AND hook = ?2 AND tool_use_id IS NULL
                   AND prompt_id IS ?3 AND created_at BETWEEN ?4 AND ?5 AND payload = ?6
                 LIMIT 1",
                params![
                    session_id,
                    r.hook,
                    prompt_id,
                    r.at - window,
                    r.at + window,
                    r.payload
                ],
                |row| row.get(0),
            )
            .optional()?
        };
        match seen {
            Some(_) => None,
            None => Some(tx.query_row(
                "INSERT INTO events (session_id, prompt_id, hook, tool_name, agent_id, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 RETURNING id",
                params![session_id, prompt_id, r.hook, r.tool_name, r.agent_id, r.payload, r.at],
                |row| row.get::<_, i64>(0),
            )?),
        }
    };
    if inserted.is_some() && prompt_id.is_some() && is_tool_result(&r.hook) {
        // A late tool result (an async hook landing after its episode was
        // compressed) makes the episode due for compression again. Events
        // that only follow an episode (SessionEnd, PreCompact) do not.
        tx.execute(
            "UPDATE prompts SET compressed_at = NULL WHERE id = ?1 AND compressed_at IS NOT NULL",
            [prompt_id],
        )?;
    } else if let (Some(event_id), Some(prompt_id)) = (inserted, prompt_id) {
        // Nothing left to compress in it when its episode is already done.
        tx.execute(
            "UPDATE events SET processed_at = ?2 WHERE id = ?1
               AND EXISTS (SELECT 1 FROM prompts WHERE id = ?3 AND compressed_at IS NOT NULL)",
            params![event_id, r.at, prompt_id],
        )?;
    }
    Ok(match inserted {
        Some(event_id) => Recorded::Stored {
            event_id,
            prompt_id,
        },
        None => Recorded::Duplicate,
    })
}

/// The id of the project at `p.root`, created if new.
pub(crate) fn upsert_project(tx: &Transaction, p: &ProjectRef, at: i64) -> Result<i64> {
    Ok(tx.query_row(
        "INSERT INTO projects (root, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (root) DO UPDATE SET name = excluded.name
         RETURNING id",
        params![p.root, p.name, at],
        |row| row.get(0),
    )?)
}

/// Whether an event shows a session is really under way, so it may be the
/// first mnemo hears of it: its start, a prompt or a tool call. A session
/// whose SessionStart was lost is still kept by its first prompt or tool.
fn begins_session(r: &HookRecord) -> bool {
    HookEvent::SessionStart.is(&r.hook) || r.prompt.is_some() || r.tool_use_id.is_some()
}

fn session_exists(tx: &Transaction, r: &HookRecord) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM sessions WHERE agent = ?1 AND agent_session_id = ?2",
            params![r.agent, r.agent_session_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn upsert_session(tx: &Transaction, r: &HookRecord) -> Result<i64> {
    let project_id = match &r.project {
        Some(p) => Some(upsert_project(tx, p, r.at)?),
        None => None,
    };
    Ok(tx.query_row(
        "INSERT INTO sessions (agent, agent_session_id, project_id, cwd, branch, transcript_path, source, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (agent, agent_session_id) DO UPDATE SET
             project_id = coalesce(sessions.project_id, excluded.project_id),
             cwd = coalesce(sessions.cwd, excluded.cwd),
             branch = coalesce(excluded.branch, sessions.branch),
             transcript_path = coalesce(excluded.transcript_path, sessions.transcript_path),
             source = coalesce(excluded.source, sessions.source),
             started_at = min(sessions.started_at, excluded.started_at)
         RETURNING id",
        params![
            r.agent,
            r.agent_session_id,
            project_id,
            r.cwd,
            r.branch,
            r.transcript_path,
            r.source,
            r.at
        ],
        |row| row.get(0),
    )?)
}

/// Insert a prompt with the next number, or return `None` for a redelivery:
/// the same agent prompt id, or (without one) the same text within the window.
fn insert_prompt(
    tx: &Transaction,
    session_id: i64,
    r: &HookRecord,
    prompt: &PromptText,
    window: i64,
) -> Result<Option<i64>> {
    let seen: Option<i64> = match &r.agent_prompt_id {
        Some(apid) => tx
            .query_row(
                "SELECT id FROM prompts WHERE session_id = ?1 AND agent_prompt_id = ?2",
                params![session_id, apid],
                |row| row.get(0),
            )
            .optional()?,
        None => tx
            .query_row(
                "SELECT id FROM prompts
                 WHERE session_id = ?1 AND text = ?2 AND private = ?3
                   AND created_at BETWEEN ?4 AND ?5
                 LIMIT 1",
                params![
                    session_id,
                    prompt.text,
                    prompt.private,
                    r.at - window,
                    r.at + window
                ],
                |row| row.get(0),
            )
            .optional()?,
    };
    if seen.is_some() {
        return Ok(None);
    }
    Ok(Some(tx.query_row(
        "INSERT INTO prompts (session_id, n, text, private, agent_prompt_id, created_at)
         VALUES (?1, (SELECT coalesce(max(n), 0) + 1 FROM prompts WHERE session_id = ?1),
                 ?2, ?3, ?4, ?5)
         RETURNING id",
        params![
            session_id,
            prompt.text,
            prompt.private,
            r.agent_prompt_id,
            r.at
        ],
        |row| row.get(0),
    )?))
}

/// The prompt an event belongs to: the one with the agent's prompt id when
/// the agent sent it, else the latest prompt received before the event.
fn owning_prompt(tx: &Transaction, session_id: i64, r: &HookRecord) -> Result<Option<i64>> {
    if let Some(apid) = &r.agent_prompt_id {
        let by_id = tx
            .query_row(
                "SELECT id FROM prompts WHERE session_id = ?1 AND agent_prompt_id = ?2",
                params![session_id, apid],
                |row| row.get(0),
            )
            .optional()?;
        if by_id.is_some() {
            return Ok(by_id);
        }
    }
    Ok(tx
        .query_row(
            "SELECT id FROM prompts WHERE session_id = ?1 AND created_at <= ?2
             ORDER BY created_at DESC, id DESC LIMIT 1",
            params![session_id, r.at],
            |row| row.get(0),
        )
        .optional()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn rec(hook: &str, at: i64) -> HookRecord {
        HookRecord {
            project: Some(ProjectRef {
                root: "/src/api".into(),
                name: "api".into(),
            }),
            cwd: Some("/src/api".into()),
            ..HookRecord::new(hook, "claude-code", "s1", at)
        }
    }

    pub(crate) fn prompt(text: &str, at: i64) -> HookRecord {
        HookRecord {
            prompt: Some(PromptText {
                text: text.into(),
                private: false,
            }),
            ..rec("UserPromptSubmit", at)
        }
    }

    pub(crate) fn tool(id: &str, at: i64) -> HookRecord {
        HookRecord {
            tool_name: Some("Bash".into()),
            tool_use_id: Some(id.into()),
            ..rec("PostToolUse", at)
        }
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn prompts_are_numbered_and_events_link_to_them() {
        let mut s = Store::open_in_memory().unwrap();
        s.record(&rec("SessionStart", 1), 10_000).unwrap();
        s.record(&prompt("first", 10), 10_000).unwrap();
        let Recorded::Stored { prompt_id: p1, .. } = s.record(&tool("t1", 20), 10_000).unwrap()
        else {
            panic!("not stored")
        };
        s.record(&prompt("second", 30), 10_000).unwrap();
        let Recorded::Stored { prompt_id: p2, .. } = s.record(&tool("t2", 40), 10_000).unwrap()
        else {
            panic!("not stored")
        };
        let numbers: Vec<(i64, i64)> = s
            .conn()
            .prepare("SELECT id, n FROM prompts ORDER BY n")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(numbers.iter().map(|x| x.1).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(p1, Some(numbers[0].0));
        assert_eq!(p2, Some(numbers[1].0));
    }

    #[test]
    fn redeliveries_are_stored_once() {
        let mut s = Store::open_in_memory().unwrap();
        s.record(&prompt("fix it", 100), 10_000).unwrap();
        assert_eq!(
            s.record(&prompt("fix it", 2_000), 10_000).unwrap(),
            Recorded::Duplicate
        );
        // The same words much later are a new prompt.
        assert!(matches!(
            s.record(&prompt("fix it", 60_000), 10_000).unwrap(),
            Recorded::Stored { .. }
        ));
        s.record(&tool("t1", 200), 10_000).unwrap();
        assert_eq!(
            s.record(&tool("t1", 99_000), 10_000).unwrap(),
            Recorded::Duplicate
        );
        s.record(&rec("Stop", 300), 10_000).unwrap();
        assert_eq!(
            s.record(&rec("Stop", 301), 10_000).unwrap(),
            Recorded::Duplicate
        );
        assert_eq!(count(&s, "prompts"), 2);
        assert_eq!(count(&s, "events"), 4);
        // Identical Stops of two different prompts are two events.
        s.record(&prompt("next", 61_000), 10_000).unwrap();
        assert!(matches!(
            s.record(&rec("Stop", 61_001), 10_000).unwrap(),
            Recorded::Stored { .. }
        ));
    }

    #[test]
    fn prompts_with_identical_payloads_are_distinct_events() {
        let mut s = Store::open_in_memory().unwrap();
        for (i, text) in ["a", "b", "c"].iter().enumerate() {
            s.record(&prompt(text, i as i64), 10_000).unwrap();
        }
        assert_eq!(count(&s, "events"), 3);
    }

    #[test]
    fn agent_prompt_id_decides_linkage_and_dedupe() {
        let mut s = Store::open_in_memory().unwrap();
        let mut p1 = prompt("one", 10);
        p1.agent_prompt_id = Some("p-1".into());
        let mut p2 = prompt("two", 20);
        p2.agent_prompt_id = Some("p-2".into());
        s.record(&p1, 10_000).unwrap();
        s.record(&p2, 10_000).unwrap();
        // A late async event of prompt 1 arriving after prompt 2.
        let mut late = tool("t1", 30);
        late.agent_prompt_id = Some("p-1".into());
        let Recorded::Stored { prompt_id, .. } = s.record(&late, 10_000).unwrap() else {
            panic!()
        };
        let n: i64 = s
            .conn()
            .query_row("SELECT n FROM prompts WHERE id = ?1", [prompt_id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.record(&p1, 10_000).unwrap(), Recorded::Duplicate);
    }

    #[test]
    fn only_late_tool_results_reopen_a_compressed_episode() {
        let mut s = Store::open_in_memory().unwrap();
        s.record(&prompt("fix it", 10), 10_000).unwrap();
        s.record(&rec("Stop", 20), 10_000).unwrap();
        let compressed = |s: &Store| -> bool {
            s.conn()
                .query_row("SELECT compressed_at IS NOT NULL FROM prompts", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        s.conn()
            .execute("UPDATE prompts SET compressed_at = 25", [])
            .unwrap();
        s.record(&rec("SessionEnd", 30), 10_000).unwrap();
        assert!(compressed(&s), "a SessionEnd after the Stop adds nothing");
        let processed: bool = s
            .conn()
            .query_row(
                "SELECT processed_at IS NOT NULL FROM events WHERE hook = 'SessionEnd'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(processed);
        s.record(&tool("late", 40), 10_000).unwrap();
        assert!(!compressed(&s), "a late tool result reopens the episode");
    }

    #[test]
    fn events_that_only_follow_a_session_never_create_one() {
        let mut s = Store::open_in_memory().unwrap();
        for hook in [
            "SessionEnd",
            "Stop",
            "StopFailure",
            "PreCompact",
            "SubagentStop",
        ] {
            assert_eq!(s.record(&rec(hook, 1), 0).unwrap(), Recorded::NoSession);
        }
        assert_eq!(count(&s, "sessions"), 0);
        assert_eq!(count(&s, "events"), 0);
        // A session whose SessionStart was missed begins with its first
        // prompt or tool call, and its end is then stored.
        s.record(&tool("t1", 2), 0).unwrap();
        assert!(matches!(
            s.record(&rec("SessionEnd", 3), 0).unwrap(),
            Recorded::Stored { .. }
        ));
        let mut other = prompt("hello", 4);
        other.agent_session_id = "s2".into();
        s.record(&other, 0).unwrap();
        assert_eq!(count(&s, "sessions"), 2);
    }

    #[test]
    fn session_end_and_resume_update_status() {
        let mut s = Store::open_in_memory().unwrap();
        s.record(&rec("SessionStart", 1), 0).unwrap();
        let mut end = rec("SessionEnd", 5);
        end.end_reason = Some("prompt_input_exit".into());
        s.record(&end, 0).unwrap();
        let status: (String, Option<i64>) = s
            .conn()
            .query_row("SELECT status, ended_at FROM sessions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(status, ("ended".into(), Some(5)));
        let mut resume = rec("SessionStart", 9);
        resume.source = Some("resume".into());
        s.record(&resume, 0).unwrap();
        let status: String = s
            .conn()
            .query_row("SELECT status FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(status, "active");
        assert_eq!(count(&s, "sessions"), 1);
    }

    #[test]
    fn two_repos_with_one_name_stay_two_projects() {
        let mut s = Store::open_in_memory().unwrap();
        let mut a = rec("SessionStart", 1);
        a.project = Some(ProjectRef {
            root: "/work/a/api".into(),
            name: "api".into(),
        });
        let mut b = rec("SessionStart", 1);
        b.agent_session_id = "s2".into();
        b.project = Some(ProjectRef {
            root: "/work/b/api".into(),
            name: "api".into(),
        });
        s.record(&a, 0).unwrap();
        s.record(&b, 0).unwrap();
        assert_eq!(count(&s, "projects"), 2);
    }
}
