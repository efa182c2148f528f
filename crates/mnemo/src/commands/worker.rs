//! `mnemo worker`: catch-up and LLM enrichment. It first finishes what
//! killed hooks left (compression, vectors; see
//! [`super::compress::catch_up`]), then enriches: at most one enricher per
//! data dir (a lock file), started on demand by the hooks (or run by hand),
//! and gone once the queue has been empty for `llm.idle_exit_secs`; or
//! hosted by `mnemo serve` as a thread ([`host`]) for as long as the server
//! runs.
//!
//! Hooks start it detached ([`start_background`]): in a session of its own,
//! not a descendant of the hook, with SIGTERM and SIGHUP held back for its
//! whole life, because Claude Code signals hooks and the processes they
//! started when a session ends. It stops by itself when idle; SIGINT or
//! SIGKILL stop it sooner.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use mnemo_app::parts::{privacy_options, store_options};
use mnemo_capture::lock::FileLock;
use mnemo_compress::enrich::{Enriched, Enricher};
use mnemo_config::{Config, LlmBackend, Paths};
use mnemo_privacy::Redactor;
use mnemo_store::Store;

const LOCK_FILE: &str = "worker.lock";
/// How often an idle worker looks for new work.
const POLL: Duration = Duration::from_secs(2);
/// How long a hosted worker waits after a spent budget or a failing backend.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// `mnemo worker [--once]`; `background` when a hook started it (it then
/// prints nothing).
pub fn run(once: bool, background: bool) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    super::compress::catch_up(&paths, &config);
    if config.llm.backend == LlmBackend::Off {
        if !background {
            println!(
                "LLM enrichment is off (set [llm] backend in {})",
                paths.config_file.display()
            );
        }
        return Ok(());
    }
    let Some(_lock) = FileLock::try_acquire(&paths.home.join(LOCK_FILE)) else {
        if !background {
            println!("a worker is already running for {}", paths.home.display());
        }
        return Ok(());
    };
    let idle_exit = Duration::from_secs(config.llm.idle_exit_secs);
    let until = if once {
        Until::QueueEmpty
    } else {
        Until::IdleFor(idle_exit)
    };
    let (done, failed) = enrich(&paths, &config, until)?;
    if once {
        println!("{done} episodes enriched, {failed} failed");
    }
    Ok(())
}

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

/// Enrich pending episodes, one LLM call each, until `until` (or the
/// backend fails, or the daily budget is spent). The caller holds the
/// worker lock. Returns (enriched, failed).
pub fn enrich(paths: &Paths, config: &Config, until: Until) -> anyhow::Result<(usize, usize)> {
    let client = mnemo_app::parts::llm_client(config, &paths.home)?;
    let redactor = Redactor::new(&privacy_options(config))?;
    let enricher = Enricher {
        client: &client,
        redactor: &redactor,
        daily_budget: config.llm.daily_token_budget,
    };
    let mut store = Store::open(&paths.db, &store_options(config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let mut idle_since = Instant::now();
    let (mut done, mut failed) = (0, 0);
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
            match enricher.enrich(&mut store, prompt_id, mnemo_app::parts::now_ms())? {
                Enriched::Done => {
                    done += 1;
                    // The enriched observations replace the rules' ones.
                    super::vectors::embed_queued(&mut store, config, super::vectors::HOOK_BUDGET);
                }
                Enriched::Failed(why) => {
                    failed += 1;
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
                    eprintln!("mnemo: LLM backend unavailable: {why}");
                    break 'work;
                }
            }
        }
        idle_since = Instant::now();
    }
    tracing::info!(done, failed, "enrichment worker exiting");
    Ok((done, failed))
}

/// Sleep for `duration`, waking early if `until` says stop.
pub fn sleep_unless(until: &Until, duration: Duration) {
    let step = Duration::from_millis(100);
    let started = Instant::now();
    while started.elapsed() < duration && !until.stopped() {
        std::thread::sleep(step.min(duration - started.elapsed()));
    }
}

/// The enrichment worker inside `mnemo serve`: a thread that takes the
/// worker lock (a worker a hook started may hold it until it goes idle),
/// then enriches as episodes are compressed, until `stop`. After a spent
/// budget or an unavailable backend it tries again every
/// [`RETRY_AFTER`]. No process is started: an LLM call's `claude` child
/// dies with this thread (`PR_SET_PDEATHSIG`).
pub fn host(
    paths: Paths,
    config: Config,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mnemo-enrich".into())
        .spawn(move || {
            let until = Until::Stopped(&stop);
            let lock = paths.home.join(LOCK_FILE);
            while !until.stopped() {
                match FileLock::try_acquire(&lock) {
                    Some(_held) => {
                        if let Err(e) = enrich(&paths, &config, Until::Stopped(&stop)) {
                            tracing::warn!("enrichment stopped: {e:#}");
                        }
                        sleep_unless(&until, RETRY_AFTER);
                    }
                    None => sleep_unless(&until, POLL),
                }
            }
        })
}

/// Whether a worker (a process, or `mnemo serve`'s thread) holds the lock.
pub fn running(home: &Path) -> bool {
    FileLock::is_held(&home.join(LOCK_FILE))
}

/// Start `mnemo worker --background`, detached (see the module comment),
/// and return once it is on its own: the hook reaps the short-lived
/// intermediate process, so nothing of the worker stays in its tree.
pub fn start_background(home: &Path) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command
        .args(["worker", "--background"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: `detach` makes only async-signal-safe calls (setsid,
    // pthread_sigmask, fork, _exit), as required between fork and exec.
    unsafe { command.pre_exec(detach) };
    match command
        .spawn()
        .and_then(|mut intermediate| intermediate.wait())
    {
        Ok(_) => tracing::info!(home = %home.display(), "started the background worker"),
        Err(e) => tracing::warn!("could not start the background worker: {e}"),
    }
}

/// Runs in the forked child before exec: a new session (no controlling
/// terminal, its own process group), SIGTERM and SIGHUP held back (a held
/// signal survives exec; the worker's own children get a clean mask), and
/// a second fork whose parent exits at once, so the worker that execs is
/// re-parented away from the hook.
fn detach() -> std::io::Result<()> {
    // SAFETY: plain system calls on this process; see `start_background`.
    unsafe {
        if libc::setsid() < 0 {
            return Err(std::io::Error::last_os_error());
        }
        crate::signals::hold(&[libc::SIGTERM, libc::SIGHUP])?;
        match libc::fork() {
            -1 => Err(std::io::Error::last_os_error()),
            0 => Ok(()),
            _ => libc::_exit(0),
        }
    }
}
