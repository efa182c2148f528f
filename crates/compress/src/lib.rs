//! mnemo's compression: closed episodes of raw hook events become a few
//! typed observations and a summary.
//!
//! ```text
//! store.pending_episodes ─▶ load_episode ─▶ closing message (Stop's
//!   last_assistant_message, or the transcript) ─▶ rules::compress ─▶ hash,
//!   merge near-duplicates ─▶ store.save_episode (one transaction)
//! ```
//!
//! Every closed episode is compressed exactly once: `save_episode` re-checks
//! inside its transaction, identical observations collapse on their content
//! hash, and running compression again finds nothing to do. Episodes that
//! get late events (async hooks landing after the Stop) are recompressed,
//! replacing what the rules produced before.

#![warn(missing_docs)]

pub mod action;
pub mod code;
pub mod directive;
pub mod enrich;
pub mod headline;
pub mod outcome;
pub mod prose;
pub mod rules;
pub mod transcript;

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use mnemo_agent::claude_code::event::{self, HookEvent};
use mnemo_privacy::{CleanReport, Redactor};
use mnemo_store::{
    CompressedEpisode, EpisodeData, ExistingObservation, NewObservation, ObservationMerge,
    PendingEpisode, Store, StoreError,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use rules::{Compression, Draft};

/// How compression runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// An episode with no activity for this long counts as closed (a session
    /// that crashed never sends its Stop).
    pub stale_after: Duration,
    /// Queue compressed episodes for LLM enrichment.
    pub enrich: bool,
    /// At most this many episodes per call.
    pub max_episodes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stale_after: Duration::from_secs(30 * 60),
            enrich: false,
            max_episodes: 200,
        }
    }
}

/// What a compression run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Episodes compressed.
    pub episodes: usize,
    /// Observations inserted.
    pub observations: usize,
    /// Observations not inserted because an identical one (same project and content hash) exists.
    pub duplicates: usize,
    /// Observations folded into a near-duplicate of the same session.
    pub merged: usize,
    /// Raw event payload bytes covered.
    pub raw_bytes: usize,
    /// Bytes of text stored in observations and summaries.
    pub stored_bytes: usize,
    /// Episodes set aside because compressing them failed.
    pub skipped: usize,
}

impl Report {
    /// Accumulate another run's figures.
    pub fn add(&mut self, other: Report) {
        self.episodes += other.episodes;
        self.observations += other.observations;
        self.duplicates += other.duplicates;
        self.merged += other.merged;
        self.raw_bytes += other.raw_bytes;
        self.stored_bytes += other.stored_bytes;
        self.skipped += other.skipped;
    }
}

/// Compress every closed, uncompressed episode (up to `options.max_episodes`).
pub fn compress_pending(
    store: &mut Store,
    redactor: &Redactor,
    options: &Options,
    now: i64,
) -> Result<Report, StoreError> {
    let stale_before = now - options.stale_after.as_millis() as i64;
    let mut report = Report::default();
    for pending in store.pending_episodes(stale_before, options.max_episodes)? {
        match contain(|| compress_one(store, redactor, &pending, options, now))? {
            Ok(one) => report.add(one),
            Err(reason) => {
                // One bad episode must not block the ones after it.
                tracing::warn!(prompt = pending.prompt_id, "episode skipped: {reason}");
                store.skip_episode(pending.prompt_id, &reason)?;
                report.skipped += 1;
            }
        }
    }
    Ok(report)
}

/// Run one episode's compression. A panic, or an error about this episode's
/// data, becomes the reason to set it aside (`Ok(Err(reason))`); an error
/// about the whole store (locked, full, read-only) is returned as is, for a
/// later run to retry.
fn contain(
    compress: impl FnOnce() -> Result<Report, StoreError>,
) -> Result<Result<Report, String>, StoreError> {
    match panic::catch_unwind(AssertUnwindSafe(compress)) {
        Ok(Ok(report)) => Ok(Ok(report)),
        Ok(Err(e)) if e.is_store_wide() => Err(e),
        Ok(Err(e)) => Ok(Err(e.to_string())),
        Err(panic) => Ok(Err(format!(
            "compression panicked: {}",
            panic_message(&*panic)
        ))),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown cause")
}

/// Compress one episode and store the result.
pub fn compress_one(
    store: &mut Store,
    redactor: &Redactor,
    pending: &PendingEpisode,
    options: &Options,
    now: i64,
) -> Result<Report, StoreError> {
    let Some(episode) = store.load_episode(pending.prompt_id)? else {
        return Ok(Report::default());
    };
    let raw_bytes: usize = episode.events.iter().map(|e| e.payload.len()).sum();
    // Nothing is kept of a private episode (the user asked so) nor of one
    // that only recalled memory (it would be a memory of memories).
    let keep_nothing =
        episode.private || rules::recalled_only(&episode, recall_injected(store, &episode)?);
    let compression = if keep_nothing {
        Compression::default()
    } else {
        let closing = closing_message(&episode, redactor);
        rules::compress(&episode, closing.as_deref())
    };
    let existing = store.session_observations(episode.session_id, episode.prompt_id)?;
    let (mut observations, merges) = fold_duplicates(compression.observations, existing);
    // A memory is dated by what it remembers: the episode's last event, not
    // the moment it was compressed (a later catch-up, an import, a replay).
    let happened = episode.events.iter().map(|e| e.created_at).max();
    for o in &mut observations {
        o.created_at = o.created_at.or(happened);
    }
    let stored_bytes =
        observations.iter().map(text_bytes).sum::<usize>() + summary_bytes(&compression.summary);
    let has_content = !observations.is_empty() || !merges.is_empty();
    let result = CompressedEpisode {
        prompt_id: episode.prompt_id,
        close_reason: pending.close_reason.clone(),
        summary: (!keep_nothing).then_some(compression.summary),
        observations,
        merges,
        event_ids: episode.events.iter().map(|e| e.id).collect(),
        raw_bytes,
        enrich: options.enrich && has_content,
        replace: pending.recompress,
    };
    let saved = store.save_episode(&result, now)?;
    if saved.already_done {
        return Ok(Report::default());
    }
    tracing::debug!(prompt = episode.prompt_id, ?saved, "episode compressed");
    Ok(Report {
        episodes: 1,
        observations: saved.inserted,
        duplicates: saved.duplicates,
        merged: saved.merged,
        raw_bytes,
        stored_bytes,
        skipped: 0,
    })
}

/// Whether prompt recall injected memories with the episode's prompt: a
/// recall recorded after the prompt and before the session's next one.
fn recall_injected(store: &Store, episode: &EpisodeData) -> Result<bool, StoreError> {
    Ok(store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM recalls r WHERE r.session_id = ?1 AND r.at >= ?2
             AND NOT EXISTS (SELECT 1 FROM prompts p WHERE p.session_id = ?1
                             AND p.created_at > ?2 AND p.created_at <= r.at))",
        [episode.session_id, episode.prompt_at],
        |row| row.get(0),
    )?)
}

/// Tool calls of the episode that started (PreToolUse) but have not
/// finished (no PostToolUse/PostToolUseFailure yet): async hooks still on
/// their way. The Stop hook waits briefly for them before compressing.
pub fn unfinished_tool_calls(episode: &EpisodeData) -> usize {
    let finished: Vec<&str> = episode
        .events
        .iter()
        .filter(|e| event::is_tool_result(&e.hook))
        .filter_map(|e| e.tool_use_id.as_deref())
        .collect();
    episode
        .events
        .iter()
        .filter(|e| HookEvent::PreToolUse.is(&e.hook))
        .filter_map(|e| e.tool_use_id.as_deref())
        .filter(|id| !finished.contains(id))
        .count()
}

/// Claude's closing message for the episode: `last_assistant_message` of its
/// Stop, else the turn's last assistant text from the transcript (redacted
/// here, since the transcript never went through capture).
pub fn closing_message(episode: &EpisodeData, redactor: &Redactor) -> Option<String> {
    let from_stop = episode
        .events
        .iter()
        .rev()
        .filter(|e| HookEvent::Stop.is(&e.hook) && e.agent_id.is_none())
        .find_map(|e| {
            let v: Value = serde_json::from_str(&e.payload).ok()?;
            v.get("last_assistant_message")?
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        });
    from_stop.or_else(|| {
        let path = episode.transcript_path.as_deref()?;
        transcript::closing_message(Path::new(path), &episode.prompt)
            .map(|text| redactor.clean_text(&text))
    })
}

/// The default title of a note a person asks to remember: its first
/// sentence or line, at most 100 characters. One rule for the CLI and MCP,
/// so the same note given twice is stored once.
pub fn note_title(text: &str) -> String {
    let first = text.split(['.', '\n']).next().unwrap_or(text).trim();
    first.chars().take(100).collect()
}

/// A note a person (or the agent) asks to remember, ready to store: the text
/// and title cleaned by `redactor` (secrets redacted, private spans dropped;
/// `report` counts what was removed), the title defaulting to
/// [`note_title`] of the text, hashed like any observation and marked as
/// written by the user. One recipe for the CLI, MCP and the viewer.
pub fn note(
    redactor: &Redactor,
    kind: &str,
    text: &str,
    title: Option<&str>,
    report: &mut CleanReport,
) -> NewObservation {
    let narrative = redactor
        .clean_text_with_report(text.trim(), report)
        .into_owned();
    let title = match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => title.to_string(),
        None => note_title(&narrative),
    };
    let title = redactor.clean_text_with_report(&title, report).into_owned();
    NewObservation {
        content_hash: content_hash(kind, &title, &narrative),
        kind: kind.to_string(),
        title,
        narrative,
        generated_by: "user".into(),
        ..NewObservation::default()
    }
}

/// Hash of what makes an observation the same memory.
pub fn content_hash(kind: &str, title: &str, narrative: &str) -> String {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let digest = Sha256::digest(format!("{kind}\n{}\n{}", norm(title), norm(narrative)));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn title_words(title: &str) -> Vec<String> {
    title
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.len() > 1)
        .map(str::to_lowercase)
        .collect()
}

/// Word overlap of two titles (Jaccard).
fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (title_words(a), title_words(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|w| b.contains(w)).count() as f64;
    common / (a.len() + b.len()) as f64 * 2.0
}

/// Titles this close (Dice coefficient) and of the same type are one memory.
const NEAR_DUPLICATE: f64 = 0.8;

fn merge_into<T: PartialEq + Clone>(into: &mut Vec<T>, more: &[T]) {
    for item in more {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// Hash the drafts and fold near-duplicates — of each other, or of what
/// earlier episodes of the session stored — into one observation.
fn fold_duplicates(
    drafts: Vec<Draft>,
    existing: Vec<ExistingObservation>,
) -> (Vec<NewObservation>, Vec<ObservationMerge>) {
    let mut new: Vec<NewObservation> = Vec::new();
    let mut merges: Vec<ObservationMerge> = Vec::new();
    for d in drafts {
        if let Some(twin) = new
            .iter_mut()
            .find(|o| o.kind == d.kind && similarity(&o.title, &d.title) >= NEAR_DUPLICATE)
        {
            merge_into(&mut twin.facts, &d.facts);
            merge_into(&mut twin.files_read, &d.files_read);
            merge_into(&mut twin.files_modified, &d.files_modified);
            merge_into(&mut twin.source_event_ids, &d.source_event_ids);
            continue;
        }
        if let Some(old) = existing
            .iter()
            .find(|o| o.kind == d.kind && similarity(&o.title, &d.title) >= NEAR_DUPLICATE)
        {
            let merge = match merges.iter_mut().find(|m| m.id == old.id) {
                Some(m) => m,
                None => {
                    merges.push(ObservationMerge {
                        id: old.id,
                        facts: old.facts.clone(),
                        files_read: old.files_read.clone(),
                        files_modified: old.files_modified.clone(),
                        source_event_ids: old.source_event_ids.clone(),
                    });
                    merges.last_mut().expect("just pushed")
                }
            };
            merge_into(&mut merge.facts, &d.facts);
            merge_into(&mut merge.files_read, &d.files_read);
            merge_into(&mut merge.files_modified, &d.files_modified);
            merge_into(&mut merge.source_event_ids, &d.source_event_ids);
            continue;
        }
        new.push(NewObservation {
            content_hash: content_hash(d.kind, &d.title, &d.narrative),
            kind: d.kind.to_string(),
            title: d.title,
            subtitle: d.subtitle,
            narrative: d.narrative,
            facts: d.facts.iter().map(|f| outcome::clip(f, 240)).collect(),
            concepts: d.concepts.iter().map(|c| c.to_string()).collect(),
            files_read: d.files_read,
            files_modified: d.files_modified,
            source_event_ids: d.source_event_ids,
            generated_by: "rules".into(),
            ..NewObservation::default()
        });
    }
    (new, merges)
}

fn text_bytes(o: &NewObservation) -> usize {
    o.title.len()
        + o.subtitle.len()
        + o.narrative.len()
        + o.facts.iter().map(String::len).sum::<usize>()
        + o.concepts.iter().map(String::len).sum::<usize>()
        + o.files_read
            .iter()
            .chain(&o.files_modified)
            .map(String::len)
            .sum::<usize>()
}

fn summary_bytes(s: &mnemo_store::NewSummary) -> usize {
    s.request.len()
        + s.investigated.len()
        + s.learned.len()
        + s.completed.len()
        + s.next_steps.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_sets_the_episode_aside_and_a_store_wide_error_stops_the_run() {
        let reason = contain(|| panic!("rule bug")).unwrap().unwrap_err();
        assert_eq!(reason, "compression panicked: rule bug");
        let newer = || {
            Err(StoreError::NewerSchema {
                found: 99,
                known: 1,
            })
        };
        assert!(matches!(
            contain(newer),
            Err(StoreError::NewerSchema { .. })
        ));
        let fine = contain(|| Ok(Report::default())).unwrap();
        assert_eq!(fine, Ok(Report::default()));
    }

    #[test]
    fn hash_ignores_case_and_spacing() {
        assert_eq!(
            content_hash("bugfix", "Fixed  X", "a b"),
            content_hash("bugfix", "fixed x", "a   b")
        );
        assert_ne!(
            content_hash("bugfix", "x", ""),
            content_hash("feature", "x", "")
        );
    }

    #[test]
    fn near_duplicates_fold() {
        let draft = |title: &str, fact: &str| Draft {
            kind: "change",
            title: title.into(),
            facts: vec![fact.into()],
            ..Draft::default()
        };
        let (new, merges) = fold_duplicates(
            vec![
                draft("Changed parse() in config.rs", "a"),
                draft("Changed parse() in config.rs", "b"),
                draft("Changed load() in store.rs", "c"),
            ],
            vec![ExistingObservation {
                id: 7,
                kind: "change".into(),
                title: "Changed load() in store.rs".into(),
                facts: vec!["old".into()],
                files_read: vec![],
                files_modified: vec![],
                source_event_ids: vec![],
            }],
        );
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].facts, ["a", "b"]);
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].facts, ["old", "c"]);
    }
}
