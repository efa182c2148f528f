//! The hook pipeline: one Claude Code hook input in, the event durable,
//! what follows it done, and the hook's answer out.
//!
//! ```text
//! input ─▶ Capturer::normalize ─▶ capture::persist ─▶ episodes: compress · embed · worker?
//!          (redactor, built once)   (the connection,     └▶ inject: SessionStart index,
//!                                    opened once)            prompt recall, file note
//! ```
//!
//! One store connection and one redactor serve every step, and nothing
//! the capture step serialised is parsed again. Recorded hook input
//! (`mnemo ingest`) and Claude Code's transcripts (`mnemo import
//! claude-code`) go through the same capture and episode steps in batches
//! ([`HookPipeline::ingest`], [`HookPipeline::import_claude_code`]).
//!
//! What belongs to the process stays with the caller, through [`Process`]:
//! whether it was told to stop (a hook holds its ending signals and checks
//! them after the commit and between later steps), and starting the
//! detached background worker. The caller reads stdin and prints
//! [`HookOutput`].

mod episodes;
mod ingest;
pub mod inject;

pub use ingest::{ImportProgress, Ingested, LineProblem};

use crate::parts::{
    Parts, dedupe_window_ms, foreground_store_options, privacy_options, store_options,
};
use mnemo_agent::claude_code::event::{self, HookEvent};
use mnemo_capture::{CaptureError, Capturer, HookInput, Normalized, Persisted, persist};
use mnemo_config::Config;
use mnemo_privacy::PrivacyOptions;
use mnemo_store::{HookRecord, Recorded, Store, StoreError};

use episodes::EpisodeStep;

/// What the process running the pipeline does for it.
pub trait Process {
    /// Whether the process has been asked to stop: the pipeline then
    /// leaves everything after the commit to the background worker.
    fn told_to_stop(&self) -> bool;
    /// Start the detached background worker (catch-up, then enrichment).
    fn start_worker(&self);
    /// Start the detached background `mnemo sync`, which sends new
    /// memories of joined projects to the team. A process that cannot
    /// (an importer) leaves them to the next sync.
    fn start_sync(&self) {}
}

/// What a hook run says back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HookOutput {
    /// Claude Code's hook JSON for stdout (`additionalContext`), if any.
    pub stdout: Option<String>,
    /// Problems the user should know of, one line each (a hook's stderr).
    pub problems: Vec<String>,
}

/// The pipeline under one configuration: its capturer (and redactor) are
/// built once and serve every input it is given.
pub struct HookPipeline<'a> {
    parts: &'a Parts,
    capturer: Capturer,
    process: &'a dyn Process,
    /// A problem found while building the pipeline, told with the first answer.
    setup_problem: Option<String>,
}

impl<'a> HookPipeline<'a> {
    /// A pipeline for the data directory and configuration of `parts`;
    /// capture settings that cannot work (an invalid pattern or glob) are
    /// an error.
    pub fn new(
        parts: &'a Parts,
        process: &'a dyn Process,
    ) -> Result<HookPipeline<'a>, CaptureError> {
        Ok(HookPipeline {
            capturer: Capturer::new(&parts.config, privacy_options(&parts.config))?,
            parts,
            process,
            setup_problem: None,
        })
    }

    /// A pipeline for a hook, which never fails: capture settings that
    /// cannot work are replaced by the defaults, and the first answer says so.
    pub fn failing_open(parts: &'a Parts, process: &'a dyn Process) -> HookPipeline<'a> {
        match Self::new(parts, process) {
            Ok(pipeline) => pipeline,
            Err(e) => {
                tracing::warn!("{e}; capturing with default settings");
                let defaults = Capturer::new(&Config::default(), PrivacyOptions::default());
                HookPipeline {
                    capturer: defaults.expect("the default settings are valid"),
                    parts,
                    process,
                    setup_problem: Some(format!("{e}; capturing with default settings")),
                }
            }
        }
    }

    /// Run one hook input received at `at` (Unix ms); `event` is the event
    /// named on the command line. Never fails: problems are in the output.
    pub fn run(&self, event: Option<&str>, input: &HookInput, at: i64) -> HookOutput {
        let mut output = HookOutput {
            problems: self.setup_problem.iter().cloned().collect(),
            ..HookOutput::default()
        };
        match self.capturer.normalize(event, input, at) {
            Normalized::Record {
                record,
                warning,
                file_path,
            } => self.record(&record, warning, file_path.as_deref(), &mut output),
            Normalized::Ignored(why) => tracing::debug!("ignored: {why}"),
            Normalized::Rejected {
                hook,
                reason,
                input_bytes,
                head,
            } => {
                output
                    .problems
                    .push(format!("{reason}; input kept in rejected_inputs"));
                tracing::warn!(?hook, input_bytes, "{reason}");
                let kept = Store::open(&self.parts.paths.db, &store_options(self.config()))
                    .and_then(|mut store| {
                        store.record_rejected(hook.as_deref(), &reason, input_bytes, &head, at)
                    });
                if let Err(e) = kept {
                    tracing::error!("could not keep rejected input: {e}");
                }
            }
        }
        output
    }

    /// Persist `record`, then what follows it.
    fn record(
        &self,
        record: &HookRecord,
        warning: Option<String>,
        file_path: Option<&str>,
        output: &mut HookOutput,
    ) {
        let paths = &self.parts.paths;
        // Hooks the agent waits for answer quickly even when another process
        // holds the database's write lock.
        let foreground = event::injects_context(&record.hook);
        let options = if foreground {
            foreground_store_options(self.config())
        } else {
            store_options(self.config())
        };
        let mut store = None;
        let told_to_stop = || self.process.told_to_stop();
        let persisted = persist(
            paths,
            dedupe_window_ms(self.config()),
            &options,
            record,
            &told_to_stop,
            &mut store,
        );
        // The event is durable (or lost, said below); a signal that
        // arrived meanwhile ends the hook now.
        let stop = told_to_stop();
        let spooled = match persisted {
            Persisted::Stored(outcome) => {
                tracing::debug!(hook = %record.hook, ?outcome, "recorded");
                if let Some(warning) = warning {
                    tracing::warn!("{warning}");
                    output.problems.push(warning);
                }
                if let Some(store) = store.as_mut() {
                    output.stdout = self.after_storing(store, record, outcome, file_path, stop);
                }
                return;
            }
            Persisted::Queued => {
                tracing::info!(hook = %record.hook, "queued behind the spool backlog");
                true
            }
            // The fast way out for a hook the agent waits for, not a problem.
            Persisted::Spooled(e @ StoreError::Busy(_)) if foreground => {
                tracing::info!(hook = %record.hook, "{e}; event spooled, not waited for");
                true
            }
            Persisted::Spooled(e) => {
                tracing::warn!(hook = %record.hook, "{e}; event spooled");
                output.problems.push(format!(
                    "{e}; event saved to {} and will be stored by the next hook",
                    paths.spool_dir.display()
                ));
                true
            }
            Persisted::SpooledElsewhere { store, spool, dir } => {
                let why = store.map_or_else(String::new, |e| format!("{e}; "));
                tracing::warn!(hook = %record.hook, "{why}spool: {spool}; event spooled to {}", dir.display());
                output.problems.push(format!(
                    "{why}cannot write {} ({spool}); event saved to {} and will be stored by the next hook",
                    paths.spool_dir.display(),
                    dir.display()
                ));
                true
            }
            Persisted::Lost { store, spool } => {
                let why = store.map_or_else(String::new, |e| format!("{e}; "));
                tracing::error!(hook = %record.hook, "{why}spool: {spool}; event lost");
                output.problems.push(format!(
                    "{why}could not spool the event either ({spool}); event lost"
                ));
                false
            }
        };
        if spooled && !stop {
            output.stdout = self.answer_from_snapshot(store, record);
        }
    }

    /// What follows a stored event: nothing more if the process was told to
    /// stop (a detached worker takes over), else the episode step, then the
    /// hook's answer.
    fn after_storing(
        &self,
        store: &mut Store,
        record: &HookRecord,
        outcome: Recorded,
        file_path: Option<&str>,
        stop: bool,
    ) -> Option<String> {
        if stop {
            tracing::info!(hook = %record.hook, "asked to stop after storing");
            if self.config().compress.in_hooks && event::closes_episode(&record.hook) {
                self.process.start_worker();
            }
            return None;
        }
        let prompt_id = match outcome {
            Recorded::Stored { prompt_id, .. } => prompt_id,
            Recorded::Duplicate | Recorded::NoSession => None,
        };
        if self.episode_step().after(store, record, prompt_id) {
            self.process.start_worker();
        }
        if event::closes_episode(&record.hook) && crate::team::sync_wanted(store, self.parts) {
            self.process.start_sync();
        }
        let config = self.config();
        match (HookEvent::from_name(&record.hook), outcome) {
            (Some(HookEvent::SessionStart), _) => inject::session_start(store, config, record),
            // A redelivered prompt already got its recall.
            (Some(HookEvent::UserPromptSubmit), Recorded::Stored { .. }) => {
                inject::prompt_recall(store, config, record)
            }
            (Some(HookEvent::PreToolUse), Recorded::Stored { .. }) => {
                inject::file_note_before_read(store, config, record, file_path)
            }
            _ => None,
        }
    }

    /// The answer of a hook whose event went to the spool (the store is
    /// locked or behind a backlog): SessionStart's index still comes from a
    /// read of the database, which a writer does not block in WAL mode;
    /// prompt recall and file notes record what they hand over, so they
    /// wait for next time.
    fn answer_from_snapshot(&self, store: Option<Store>, record: &HookRecord) -> Option<String> {
        if !HookEvent::SessionStart.is(&record.hook) {
            return None;
        }
        let store = match store {
            Some(store) => store,
            None => Store::open(
                &self.parts.paths.db,
                &foreground_store_options(self.config()),
            )
            .inspect_err(|e| tracing::warn!("no context for the new session: {e}"))
            .ok()?,
        };
        inject::session_start(&store, self.config(), record)
    }

    fn config(&self) -> &Config {
        &self.parts.config
    }

    fn episode_step(&self) -> EpisodeStep<'_> {
        EpisodeStep {
            parts: self.parts,
            redactor: self.capturer.redactor(),
            process: self.process,
        }
    }
}

#[cfg(test)]
mod tests;
