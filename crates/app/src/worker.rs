//! LLM enrichment: the loop that enriches compressed episodes one call
//! each, within the daily token budget, whether it runs as `mnemo worker`
//! (a process a hook started, or run by hand) or as a thread of `mnemo
//! serve` ([`enrichment_host`]). At most one enricher per data directory:
//! whoever runs the loop holds [`LOCK_FILE`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mnemo_capture::lock::FileLock;
use mnemo_compress::enrich::{Enriched, Enricher};

use crate::hosts::{HOOK_VECTORS, catch_up, embed_queued};
use crate::parts::Parts;

/// The lock file of the one enricher of a data directory.
pub const LOCK_FILE: &str = "worker.lock";
/// How often an idle enricher looks for new work.
const POLL: Duration = Duration::from_secs(2);
/// How long a hosted enricher waits after a spent budget or a failing backend.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// When [`enrich`] returns (besides a stopped backend or a spent budget).
pub enum Until<'a> {
    /// As soon as nothing is pending.
    QueueEmpty,
    /// After nothing was pending for this long.
    IdleFor(Duration),
    /// When the flag is set (checked between episodes and while idle).
    Stopped(&'a AtomicBool),
}

impl Until<'_> {
    /// Whether a [`Until::Stopped`] flag is set.
    pub fn stopped(&self) -> bool {
        matches!(self, Until::Stopped(flag) if flag.load(Ordering::Relaxed))
    }
}

/// What one run of [`enrich`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrichment {
    /// Episodes enriched.
    pub done: usize,
    /// Episodes whose call failed (their rule-based result stands).
    pub failed: usize,
    /// Why the backend could not be used, when that ended the run early
    /// (a front end may show it).
    pub backend_unavailable: Option<String>,
}

/// Enrich pending episodes, one LLM call each, until `until` (or the
/// backend fails, or the daily budget is spent). The caller holds the
/// worker lock. Enriched observations replace the rules' ones, and are
/// embedded as they come.
pub fn enrich(parts: &Parts, until: Until) -> anyhow::Result<Enrichment> {
    let client = parts.llm_client()?;
    let enricher = Enricher {
        client: &client,
        redactor: parts.redactor()?,
        daily_budget: parts.config.llm.daily_token_budget,
    };
    let mut store = parts.open_store()?;
    let mut idle_since = Instant::now();
    let mut result = Enrichment::default();
    'work: while !until.stopped() {
        let pending = store.pending_enrichment(20)?;
        if pending.is_empty() {
            match until {
                Until::QueueEmpty => break,
                Until::IdleFor(limit) if idle_since.elapsed() >= limit => break,
                _ => {}
            }
            sleep_unless(&until, POLL);
            continue;
        }
        for prompt_id in pending {
            if until.stopped() {
                break 'work;
            }
            match enricher.enrich(&mut store, prompt_id, parts.now())? {
                Enriched::Done => {
                    result.done += 1;
                    embed_queued(&mut store, parts, HOOK_VECTORS);
                }
                Enriched::Failed(why) => {
                    result.failed += 1;
                    tracing::warn!(
                        prompt_id,
                        "enrichment failed, rule-based result kept: {why}"
                    );
                }
                Enriched::Skipped => {}
                Enriched::OverBudget => {
                    tracing::info!("daily LLM token budget reached; enrichment resumes tomorrow");
                    break 'work;
                }
                Enriched::Stop(why) => {
                    tracing::warn!("LLM backend unavailable, stopping: {why}");
                    result.backend_unavailable = Some(why);
                    break 'work;
                }
            }
        }
        idle_since = Instant::now();
    }
    tracing::info!(
        done = result.done,
        failed = result.failed,
        "enrichment worker exiting"
    );
    Ok(result)
}

/// What a run of the worker came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerRun {
    /// `[llm]` is off: catch-up only.
    EnrichmentOff,
    /// Another enricher holds the data directory's lock.
    AlreadyRunning,
    /// This run enriched (possibly nothing).
    Enriched(Enrichment),
}

/// `mnemo worker`: catch up on what killed hooks left
/// ([`catch_up`]), then, when `[llm]` names a backend and no other
/// enricher holds the lock, [`enrich`] until the queue is empty (`once`)
/// or has been empty for `[llm] idle_exit_secs`.
pub fn run_worker(parts: &Parts, once: bool) -> anyhow::Result<WorkerRun> {
    catch_up(parts);
    if !parts.enriches() {
        return Ok(WorkerRun::EnrichmentOff);
    }
    let Some(_lock) = FileLock::try_acquire(&parts.paths.home.join(LOCK_FILE)) else {
        return Ok(WorkerRun::AlreadyRunning);
    };
    let until = if once {
        Until::QueueEmpty
    } else {
        Until::IdleFor(parts.worker_idle_exit())
    };
    Ok(WorkerRun::Enriched(enrich(parts, until)?))
}

/// Sleep for `duration`, waking early if `until` says stop.
pub fn sleep_unless(until: &Until, duration: Duration) {
    let step = Duration::from_millis(100);
    let started = Instant::now();
    while started.elapsed() < duration && !until.stopped() {
        std::thread::sleep(step.min(duration - started.elapsed()));
    }
}

/// The enricher inside a long-lived process (`mnemo serve`): a thread that
/// takes the worker lock (a worker a hook started may hold it until it
/// goes idle), then enriches as episodes are compressed, until `stop`.
/// After a spent budget or an unavailable backend it tries again every
/// minute (`RETRY_AFTER`). No process is started: an LLM call's `claude` child
/// dies with this thread (`PR_SET_PDEATHSIG`).
pub fn enrichment_host(
    parts: Arc<Parts>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mnemo-enrich".into())
        .spawn(move || {
            let until = Until::Stopped(&stop);
            let lock = parts.paths.home.join(LOCK_FILE);
            while !until.stopped() {
                match FileLock::try_acquire(&lock) {
                    Some(_held) => {
                        let enriched = enrich(&parts, Until::Stopped(&stop));
                        if let Err(e) = enriched {
                            tracing::warn!("enrichment stopped: {e:#}");
                        }
                        sleep_unless(&until, RETRY_AFTER);
                    }
                    None => sleep_unless(&until, POLL),
                }
            }
        })
}

/// Whether an enricher (a process, or `mnemo serve`'s thread) holds the
/// lock of the data directory `home`.
pub fn running(home: &Path) -> bool {
    FileLock::is_held(&home.join(LOCK_FILE))
}
