//! Replaying imported history (Claude Code transcripts) and remembering how
//! much of each transcript file was replayed.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::record::record_in;
use crate::{HookRecord, Recorded, Result, Store};

/// How much of one transcript file has been imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptMark {
    /// The file's path, as found.
    pub path: String,
    /// The Claude Code session the file belongs to.
    pub agent_session_id: String,
    /// The file's size in bytes when last read.
    pub size: u64,
    /// Modification time of the file (Unix ms) when last read.
    pub mtime: i64,
    /// Bytes of complete turns replayed, from the start of the file.
    pub consumed: u64,
    /// Hash of the consumed bytes' head and tail, to notice a rewritten file.
    pub prefix_hash: String,
    /// The session's end was replayed.
    pub ended: bool,
    /// mnemo's hooks had captured the session before it was imported.
    pub captured_live: bool,
}

/// Where a session already in the store came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOrigin {
    /// Not in the store.
    Unknown,
    /// Captured by hooks as it happened (and not imported since).
    CapturedLive,
    /// Brought in by an import.
    Imported,
}

/// One turn of imported history: a prompt (first, when the turn has one) and
/// the events that followed it, in order.
#[derive(Debug, Clone, Default)]
pub struct ImportedTurn {
    /// The turn's records, already normalized and redacted.
    pub records: Vec<HookRecord>,
}

/// What [`Store::record_imported`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportTally {
    /// Prompts stored.
    pub prompts: usize,
    /// Tool events stored.
    pub tool_events: usize,
    /// Other events stored (session starts and ends, stops, compactions…).
    pub other_events: usize,
    /// Records already in the store (captured live, or imported before).
    pub duplicates: usize,
}

impl Store {
    /// The import mark of the transcript at `path`, if it was imported before.
    pub fn transcript_mark(&self, path: &str) -> Result<Option<TranscriptMark>> {
        Ok(self
            .conn
            .query_row(
                "SELECT path, agent_session_id, size, mtime, consumed, prefix_hash, ended, captured_live
                 FROM transcript_imports WHERE path = ?1",
                [path],
                |r| {
                    Ok(TranscriptMark {
                        path: r.get(0)?,
                        agent_session_id: r.get(1)?,
                        size: r.get::<_, i64>(2)?.max(0) as u64,
                        mtime: r.get(3)?,
                        consumed: r.get::<_, i64>(4)?.max(0) as u64,
                        prefix_hash: r.get(5)?,
                        ended: r.get(6)?,
                        captured_live: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    /// Whether the session `agent_session_id` of `agent` is in the store, and
    /// whether hooks or an import put it there.
    pub fn session_origin(&self, agent: &str, agent_session_id: &str) -> Result<SessionOrigin> {
        let known: Option<bool> = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM transcript_imports t
                                WHERE t.agent_session_id = s.agent_session_id AND NOT t.captured_live)
                 FROM sessions s WHERE s.agent = ?1 AND s.agent_session_id = ?2",
                params![agent, agent_session_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match known {
            None => SessionOrigin::Unknown,
            Some(true) => SessionOrigin::Imported,
            Some(false) => SessionOrigin::CapturedLive,
        })
    }

    /// Store imported turns and the transcript's new mark in one transaction,
    /// so an interrupted import leaves whole turns and a mark that matches
    /// them. A turn whose prompt is already stored (hooks captured it live,
    /// or it was imported before) only adds the tool events missing from it:
    /// its other events were delivered with the prompt.
    pub fn record_imported(
        &mut self,
        turns: &[ImportedTurn],
        dedupe_window_ms: i64,
        mark: &TranscriptMark,
    ) -> Result<ImportTally> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut tally = ImportTally::default();
        for turn in turns {
            let mut prompt_seen = false;
            for record in &turn.records {
                if prompt_seen && record.tool_use_id.is_none() {
                    tally.duplicates += 1;
                    continue;
                }
                match record_in(&tx, record, dedupe_window_ms)? {
                    Recorded::Duplicate => {
                        prompt_seen |= record.prompt.is_some();
                        tally.duplicates += 1;
                    }
                    // An end with nothing before it: no session, nothing stored.
                    Recorded::NoSession => {}
                    Recorded::Stored { .. } if record.prompt.is_some() => tally.prompts += 1,
                    Recorded::Stored { .. } if record.tool_use_id.is_some() => {
                        tally.tool_events += 1
                    }
                    Recorded::Stored { .. } => tally.other_events += 1,
                }
            }
        }
        tx.execute(
            "INSERT INTO transcript_imports
                 (path, agent_session_id, size, mtime, consumed, prefix_hash, ended, captured_live)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (path) DO UPDATE SET
                 agent_session_id = excluded.agent_session_id, size = excluded.size,
                 mtime = excluded.mtime, consumed = excluded.consumed,
                 prefix_hash = excluded.prefix_hash, ended = excluded.ended,
                 captured_live = excluded.captured_live",
            params![
                mark.path,
                mark.agent_session_id,
                mark.size as i64,
                mark.mtime,
                mark.consumed as i64,
                mark.prefix_hash,
                mark.ended,
                mark.captured_live
            ],
        )?;
        tx.commit()?;
        Ok(tally)
    }

    /// When the episode of `prompt_id` was last active (its latest event, or
    /// the prompt itself): the time an imported episode is compressed "at".
    pub fn episode_last_activity(&self, prompt_id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT max(p.created_at, coalesce((SELECT max(e.created_at) FROM events e
                                                    WHERE e.prompt_id = p.id), 0))
                 FROM prompts p WHERE p.id = ?1",
                [prompt_id],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::{prompt, rec, tool};

    fn turn(at: i64, tool_use_id: &str) -> ImportedTurn {
        ImportedTurn {
            records: vec![
                prompt("fix the bug", at),
                tool(tool_use_id, at + 1),
                rec("Stop", at + 2),
            ],
        }
    }

    fn mark(consumed: u64) -> TranscriptMark {
        TranscriptMark {
            path: "/t/s1.jsonl".into(),
            agent_session_id: "s1".into(),
            size: consumed,
            mtime: 7,
            consumed,
            prefix_hash: "h".into(),
            ended: false,
            captured_live: false,
        }
    }

    #[test]
    fn a_known_prompt_only_adds_missing_tool_events() {
        let mut s = Store::open_in_memory().unwrap();
        let origin = |s: &Store| s.session_origin("claude-code", "s1").unwrap();
        assert_eq!(origin(&s), SessionOrigin::Unknown);
        let tally = |t: ImportTally| (t.prompts, t.tool_events, t.other_events, t.duplicates);
        let first = s.record_imported(&[turn(100, "t1")], 10_000, &mark(10));
        assert_eq!(tally(first.unwrap()), (1, 1, 1, 0));
        assert_eq!(s.transcript_mark("/t/s1.jsonl").unwrap(), Some(mark(10)));
        assert_eq!(origin(&s), SessionOrigin::Imported);
        let again = s.record_imported(&[turn(100, "t2")], 10_000, &mark(20));
        assert_eq!(tally(again.unwrap()), (0, 1, 0, 2));
        assert_eq!(s.transcript_mark("/t/s1.jsonl").unwrap(), Some(mark(20)));
        assert_eq!(s.episode_last_activity(1).unwrap(), Some(102));
    }
}
