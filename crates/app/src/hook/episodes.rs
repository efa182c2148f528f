//! What follows a stored event when it ends an episode: compress the
//! episodes now closed, embed what that queued, and decide whether the
//! background worker has something to do.

use std::time::{Duration, Instant};

use mnemo_agent::claude_code::event::{self, HookEvent};
use mnemo_compress::{compress_pending, unfinished_tool_calls};
use mnemo_privacy::Redactor;
use mnemo_store::{HookRecord, Store};

use super::Process;
use crate::hosts::{HOOK_EPISODES, HOOK_VECTORS, compress_options, embed_queued};
use crate::parts::Parts;

/// How often a Stop looks whether its episode's tool results have arrived.
const TOOL_EVENTS_POLL: Duration = Duration::from_millis(50);

/// What the episode step runs with: the hook's connection and redactor,
/// and what the process around it provides.
pub(super) struct EpisodeStep<'a> {
    pub parts: &'a Parts,
    pub redactor: &'a Redactor,
    pub process: &'a dyn Process,
}

impl EpisodeStep<'_> {
    /// After a hook stored `record` (the prompt it belongs to: `prompt_id`).
    /// An episode-ending hook compresses the episodes that are now closed
    /// (for a Stop, first waiting briefly for tool events still in flight,
    /// so the episode is compressed whole). That hook and SessionStart then
    /// look for work left behind — by this run's budget, by a hook that was
    /// killed, or enrichment nobody is doing. Returns whether the background
    /// worker should be started for it (also when a signal came between
    /// steps: the worker does the rest). Problems are logged, never shown to
    /// the agent.
    pub fn after(&self, store: &mut Store, record: &HookRecord, prompt_id: Option<i64>) -> bool {
        let hook = record.hook.as_str();
        let compresses = self.parts.config.compress.in_hooks && event::closes_episode(hook);
        if !compresses && !HookEvent::SessionStart.is(hook) {
            return false;
        }
        let result = if compresses {
            self.compress(store, hook, prompt_id)
        } else {
            work_left(store, self.parts)
        };
        result.unwrap_or_else(|e| {
            tracing::warn!("work after {hook} failed: {e:#}");
            false
        })
    }

    fn compress(
        &self,
        store: &mut Store,
        hook: &str,
        prompt_id: Option<i64>,
    ) -> anyhow::Result<bool> {
        if HookEvent::Stop.is(hook)
            && let Some(prompt_id) = prompt_id
        {
            // An episode that cannot even be loaded is compressed anyway,
            // which sets it aside with its reason instead of stalling here.
            let limit = Duration::from_millis(self.parts.config.compress.stop_wait_ms);
            if let Err(e) = self.wait_for_tool_events(store, prompt_id, limit) {
                tracing::warn!(prompt_id, "could not wait for tool events: {e:#}");
            }
        }
        if self.process.told_to_stop() {
            return Ok(true);
        }
        let report = compress_pending(
            store,
            self.redactor,
            &compress_options(&self.parts.config, HOOK_EPISODES),
            self.parts.now(),
        )?;
        if report.episodes > 0 {
            tracing::info!(?report, "compressed");
        }
        if self.process.told_to_stop() {
            return Ok(true);
        }
        embed_queued(store, self.parts, HOOK_VECTORS);
        work_left(store, self.parts)
    }

    fn wait_for_tool_events(
        &self,
        store: &Store,
        prompt_id: i64,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        while let Some(episode) = store.load_episode(prompt_id)? {
            if unfinished_tool_calls(&episode) == 0
                || started.elapsed() >= limit
                || self.process.told_to_stop()
            {
                break;
            }
            std::thread::sleep(TOOL_EVENTS_POLL);
        }
        Ok(())
    }
}

/// Whether the background worker has something to do that no process is
/// doing: closed episodes still uncompressed (when hooks compress), or
/// episodes waiting for enrichment with no worker running. Two indexed
/// queries over the few rows still pending.
pub(super) fn work_left(store: &Store, parts: &Parts) -> anyhow::Result<bool> {
    let config = &parts.config;
    if config.compress.in_hooks {
        let stale_after = i64::try_from(config.compress.stale_after_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let stale_before = parts.now().saturating_sub(stale_after);
        if !store.pending_episodes(stale_before, 1)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(parts.enriches()
        && !store.pending_enrichment(1)?.is_empty()
        && !crate::worker::running(&parts.paths.home))
}
