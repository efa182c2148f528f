//! Hook input recorded earlier, through the same pipeline in batches:
//! lines of hook JSON (`mnemo ingest`) and Claude Code's transcripts
//! (`mnemo import claude-code`, replayed as the hook inputs Claude Code
//! sent). Both are captured by the pipeline's capturer, written on one
//! connection, and end like an episode-ending hook: closed episodes
//! compressed with the pipeline's redactor, vectors embedded, and the
//! background worker started when work is left that nobody is doing.

use std::io::BufRead;
use std::time::Duration;

use crate::parts::dedupe_window_ms;
use anyhow::Context;
use mnemo_capture::{HookInput, Normalized};
use mnemo_import::claude_code::{Counts, Options, TranscriptFile, TranscriptImporter};
use mnemo_store::{HookRecord, Recorded, Store};

use super::HookPipeline;
use super::episodes::work_left;
use crate::hosts::{compress_all, compress_options, embed_queued};

/// Records committed per transaction.
const BATCH: usize = 1000;
/// Episodes compressed per batch of an import.
const IMPORT_EPISODES: usize = 500;

/// What ingesting recorded hook input did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Non-blank lines read.
    pub inputs: usize,
    /// Events stored.
    pub stored: usize,
    /// Redeliveries of stored events.
    pub duplicates: usize,
    /// Inputs deliberately not stored (events mnemo does not record, skipped
    /// tools, excluded projects, ends of sessions never seen).
    pub ignored: usize,
    /// Inputs that could not be interpreted.
    pub rejected: usize,
    /// Episodes compressed once the inputs were stored.
    pub episodes: usize,
    /// Observations made of them.
    pub observations: usize,
}

/// A line of recorded input that was rejected or stored with a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// The line's number, from 1.
    pub line: usize,
    /// What was wrong, in one line.
    pub message: String,
}

/// Where an import is, for a front end's progress display.
#[derive(Debug)]
pub enum ImportProgress<'f> {
    /// Reading the `n`th transcript (from 1).
    File(usize, &'f TranscriptFile),
    /// This many more bytes were read.
    Bytes(u64),
    /// Every transcript is read; closed episodes are being compressed.
    Compressing,
    /// Queued observations are being embedded.
    Embedding,
}

impl HookPipeline<'_> {
    /// Store the hook inputs of `reader`, one JSON object a line (as
    /// Claude Code sends them, received now), in batches; then compress the
    /// episodes they closed and embed. Rejected lines and warnings go to
    /// `on_problem`; only reading and store errors stop the run.
    pub fn ingest(
        &self,
        reader: impl BufRead,
        on_problem: &mut dyn FnMut(LineProblem),
    ) -> anyhow::Result<Ingested> {
        let mut store = self.parts.open_store()?;
        let window = dedupe_window_ms(self.config());
        let mut counts = Ingested::default();
        let mut batch = Vec::with_capacity(BATCH);
        for (n, line) in reader.split(b'\n').enumerate() {
            let line = line.context("reading input")?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            counts.inputs += 1;
            let input = HookInput {
                total_bytes: line.len(),
                bytes: line,
                tail: Vec::new(),
                stalled: None,
            };
            let mut problem = |message| {
                on_problem(LineProblem {
                    line: n + 1,
                    message,
                })
            };
            match self.capturer.normalize(None, &input, self.parts.now()) {
                Normalized::Record {
                    record, warning, ..
                } => {
                    if let Some(warning) = warning {
                        problem(warning);
                    }
                    batch.push(*record);
                }
                Normalized::Ignored(_) => counts.ignored += 1,
                Normalized::Rejected { reason, .. } => {
                    counts.rejected += 1;
                    problem(reason);
                }
            }
            if batch.len() >= BATCH {
                record_batch(&mut store, &mut batch, window, &mut counts)?;
            }
        }
        record_batch(&mut store, &mut batch, window, &mut counts)?;
        if self.config().compress.in_hooks {
            let report = compress_all(&mut store, self.capturer.redactor(), self.config())?;
            counts.episodes = report.episodes;
            counts.observations = report.observations;
        }
        self.after_batches(&mut store);
        Ok(counts)
    }

    /// Replay Claude Code's transcripts `files` (see
    /// [`mnemo_import::claude_code`]) through the pipeline's capturer; then
    /// compress each closed episode at the time it ended, and embed.
    /// A transcript written to within `live_window` may belong to a running
    /// session and is left for later; `dry_run` counts without writing.
    /// `progress` hears where the import is.
    pub fn import_claude_code(
        &self,
        files: &[TranscriptFile],
        dry_run: bool,
        live_window: Duration,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> anyhow::Result<Counts> {
        let options = Options {
            dry_run,
            live_window,
            dedupe_window_ms: dedupe_window_ms(self.config()),
            max_input_bytes: self.parts.max_hook_input_bytes(),
            now: self.parts.now(),
        };
        let mut store = self.parts.open_store()?;
        let mut importer = TranscriptImporter::new(&mut store, &self.capturer, options);
        for (n, file) in files.iter().enumerate() {
            progress(ImportProgress::File(n + 1, file));
            importer.import(file, &mut |bytes| progress(ImportProgress::Bytes(bytes)))?;
        }
        progress(ImportProgress::Compressing);
        importer.compress(
            self.capturer.redactor(),
            &compress_options(self.config(), IMPORT_EPISODES),
        )?;
        let counts = importer.counts;
        if !dry_run {
            progress(ImportProgress::Embedding);
            self.after_batches(&mut store);
        }
        Ok(counts)
    }

    /// What ends a batch run like an episode-ending hook: vectors for what
    /// was compressed, and the background worker when closed episodes are
    /// left uncompressed or enrichment waits with nobody doing it.
    fn after_batches(&self, store: &mut Store) {
        embed_queued(store, self.parts, usize::MAX);
        match work_left(store, self.parts) {
            Ok(true) => self.process.start_worker(),
            Ok(false) => {}
            Err(e) => tracing::warn!("could not look for work left: {e:#}"),
        }
    }
}

/// Write `batch` in one transaction and count what became of each record.
fn record_batch(
    store: &mut Store,
    batch: &mut Vec<HookRecord>,
    window: i64,
    counts: &mut Ingested,
) -> anyhow::Result<()> {
    for outcome in store.record_batch(batch, window)? {
        match outcome {
            Recorded::Stored { .. } => counts.stored += 1,
            Recorded::Duplicate => counts.duplicates += 1,
            // The end of a session never seen: not stored.
            Recorded::NoSession => counts.ignored += 1,
        }
    }
    batch.clear();
    Ok(())
}
