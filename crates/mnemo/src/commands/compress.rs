//! `mnemo compress`, and compression as episodes end inside async hooks.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use mnemo_app::parts::{privacy_options, store_options};
use mnemo_capture::spool;
use mnemo_compress::{Options, Report, compress_pending, unfinished_tool_calls};
use mnemo_config::{Config, LlmBackend, Paths};
use mnemo_privacy::Redactor;
use mnemo_store::{HookRecord, Store};
use rusqlite::{Connection, OpenFlags};

use super::worker::{Until, sleep_unless};

/// Episodes one hook run compresses at most; a backlog is left to later runs.
const HOOK_BUDGET: usize = 20;
/// How often `mnemo serve` compresses when hooks do not.
const HOST_POLL: Duration = Duration::from_secs(2);

/// Compression options of `config`, at most `max_episodes` per call.
pub(super) fn options(config: &Config, max_episodes: usize) -> Options {
    Options {
        stale_after: Duration::from_secs(config.compress.stale_after_secs),
        enrich: config.llm.backend != LlmBackend::Off,
        max_episodes,
    }
}

pub fn run(json: bool) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let redactor = Redactor::new(&privacy_options(&config))?;
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let started = Instant::now();
    let total = compress_all(&mut store, &redactor, &config)?;
    super::vectors::embed_queued(&mut store, &config, usize::MAX);
    let secs = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "episodes": total.episodes, "observations": total.observations,
                "duplicates": total.duplicates, "merged": total.merged,
                "raw_bytes": total.raw_bytes, "stored_bytes": total.stored_bytes,
                "seconds": secs,
            })
        );
    } else {
        let ratio = total.raw_bytes as f64 / total.stored_bytes.max(1) as f64;
        println!(
            "{} episodes compressed: {} observations ({} duplicates, {} merged); {:.1} KiB of events → {:.1} KiB ({ratio:.1}×) in {secs:.2} s",
            total.episodes,
            total.observations,
            total.duplicates,
            total.merged,
            total.raw_bytes as f64 / 1024.0,
            total.stored_bytes as f64 / 1024.0,
        );
    }
    Ok(())
}

/// Every closed episode left, in batches.
fn compress_all(store: &mut Store, redactor: &Redactor, config: &Config) -> anyhow::Result<Report> {
    let mut total = Report::default();
    loop {
        let report = compress_pending(
            store,
            redactor,
            &options(config, 500),
            mnemo_app::parts::now_ms(),
        )?;
        // A batch that only set episodes aside still made progress.
        if report.episodes == 0 && report.skipped == 0 {
            return Ok(total);
        }
        total.add(report);
    }
}

/// Finish what hooks leave undone when they are killed or told to stop:
/// store spooled events, compress every closed episode (when hooks are the
/// ones that compress) and embed queued vectors. Idempotent, so any process
/// may run it at any time; the background worker does before it enriches,
/// `mnemo serve` as it starts. Problems are logged.
pub fn catch_up(paths: &Paths, config: &Config) {
    let result = (|| -> anyhow::Result<Report> {
        let mut store = Store::open(&paths.db, &store_options(config))?;
        if spool::pending_all(paths) > 0 {
            let window = mnemo_app::parts::dedupe_window_ms(config);
            let drained = spool::drain(
                &paths.spool_dir,
                Some(&paths.fallback_spool_dir),
                &mut store,
                usize::MAX,
                window,
            )?;
            tracing::info!(?drained, "replayed spooled events");
        }
        let report = if config.compress.in_hooks {
            let redactor = Redactor::new(&privacy_options(config))?;
            compress_all(&mut store, &redactor, config)?
        } else {
            Report::default()
        };
        super::vectors::embed_queued(&mut store, config, usize::MAX);
        Ok(report)
    })();
    match result {
        Ok(report) if report.episodes > 0 => tracing::info!(?report, "caught up on compression"),
        Ok(_) => {}
        Err(e) => tracing::warn!("catch-up compression failed: {e:#}"),
    }
}

/// A hook asked to stop right after storing `record`: the work it would
/// have done next goes to a detached background worker.
pub fn leave_to_catch_up(paths: &Paths, config: &Config, record: &HookRecord) {
    if config.compress.in_hooks && mnemo_capture::event::closes_episode(&record.hook) {
        super::worker::start_background(&paths.home);
    }
}

/// After a hook stored `record`. An episode-ending hook compresses the
/// episodes that are now closed (for a Stop, first waiting briefly for tool
/// events still in flight, so the episode is compressed whole). That hook
/// and SessionStart then look for work left behind — by this run's budget,
/// by a hook that was killed, or enrichment nobody is doing — and start the
/// background worker for it. A signal between steps ends the hook and
/// leaves the rest to that worker. Problems are logged, never shown to the
/// agent.
pub fn after_hook(paths: &Paths, config: &Config, record: &HookRecord, prompt_id: Option<i64>) {
    let hook = record.hook.as_str();
    let compresses = config.compress.in_hooks && mnemo_capture::event::closes_episode(hook);
    if !compresses && hook != "SessionStart" {
        return;
    }
    let result = (|| -> anyhow::Result<bool> {
        if !compresses {
            // Two reads: a plain read-only connection skips the set-up a
            // writer needs, which matters on this foreground path.
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let store = Store::from_connection(Connection::open_with_flags(&paths.db, flags)?);
            return work_left(&store, paths, config);
        }
        let mut store = Store::open(&paths.db, &store_options(config))?;
        if hook == "Stop"
            && let Some(prompt_id) = prompt_id
        {
            // An episode that cannot even be loaded is compressed anyway,
            // which sets it aside with its reason instead of stalling here.
            let limit = Duration::from_millis(config.compress.stop_wait_ms);
            if let Err(e) = wait_for_tool_events(&store, prompt_id, limit) {
                tracing::warn!(prompt_id, "could not wait for tool events: {e:#}");
            }
        }
        if super::hook::told_to_stop() {
            return Ok(true);
        }
        let redactor = Redactor::new(&privacy_options(config))?;
        let report = compress_pending(
            &mut store,
            &redactor,
            &options(config, HOOK_BUDGET),
            mnemo_app::parts::now_ms(),
        )?;
        if report.episodes > 0 {
            tracing::info!(?report, "compressed");
        }
        if super::hook::told_to_stop() {
            return Ok(true);
        }
        super::vectors::embed_queued(&mut store, config, super::vectors::HOOK_BUDGET);
        work_left(&store, paths, config)
    })();
    match result {
        Ok(true) => super::worker::start_background(&paths.home),
        Ok(false) => {}
        Err(e) => tracing::warn!("work after {hook} failed: {e:#}"),
    }
}

/// Whether the background worker has something to do that no process is
/// doing: closed episodes still uncompressed (when hooks compress), or
/// episodes waiting for enrichment with no worker running. Two indexed
/// queries over the few rows still pending.
fn work_left(store: &Store, paths: &Paths, config: &Config) -> anyhow::Result<bool> {
    if config.compress.in_hooks {
        let stale_after = i64::try_from(config.compress.stale_after_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let stale_before = mnemo_app::parts::now_ms().saturating_sub(stale_after);
        if !store.pending_episodes(stale_before, 1)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(config.llm.backend != LlmBackend::Off
        && !store.pending_enrichment(1)?.is_empty()
        && !super::worker::running(&paths.home))
}

/// Compression inside `mnemo serve`. When hooks compress, one catch-up
/// pass at start (what killed hooks left); when they do not
/// (`compress.in_hooks = false`), closed episodes every few seconds, until
/// `stop`.
pub fn host(
    paths: Paths,
    config: Config,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mnemo-compress".into())
        .spawn(move || {
            if config.compress.in_hooks {
                return catch_up(&paths, &config);
            }
            let until = Until::Stopped(&stop);
            let work = || -> anyhow::Result<Report> {
                let redactor = Redactor::new(&privacy_options(&config))?;
                let mut store = Store::open(&paths.db, &store_options(&config))?;
                let options = options(&config, HOOK_BUDGET);
                let report =
                    compress_pending(&mut store, &redactor, &options, mnemo_app::parts::now_ms())?;
                super::vectors::embed_queued(&mut store, &config, super::vectors::HOOK_BUDGET);
                Ok(report)
            };
            while !until.stopped() {
                match work() {
                    Ok(report) if report.episodes > 0 => tracing::info!(?report, "compressed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("compression failed: {e:#}"),
                }
                sleep_unless(&until, HOST_POLL);
            }
        })
}

fn wait_for_tool_events(store: &Store, prompt_id: i64, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while let Some(episode) = store.load_episode(prompt_id)? {
        if unfinished_tool_calls(&episode) == 0
            || started.elapsed() >= limit
            || super::hook::told_to_stop()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
