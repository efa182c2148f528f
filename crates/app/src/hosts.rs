//! Work that follows writes and that any process may finish: compressing
//! closed episodes, draining the vector queue, catching up on what killed
//! hooks left; and the compression host that runs inside `mnemo serve`.
//!
//! Everything here is idempotent, so a hook, the background worker, the
//! server or a command can run it at any time.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use mnemo_capture::spool;
use mnemo_compress::{Options, Report, compress_pending};
use mnemo_config::{Config, LlmBackend};
use mnemo_privacy::Redactor;
use mnemo_retrieve::search::vectors::embed_pending;
use mnemo_store::Store;

use crate::parts::Parts;
use crate::worker::{Until, sleep_unless};

/// Episodes one hook run (or one round of the server's host) compresses
/// at most; a backlog is left to later runs.
pub const HOOK_EPISODES: usize = 20;
/// Observations one hook run embeds at most (the built-in embedder takes
/// tens of microseconds each); a backlog is left to later runs.
pub const HOOK_VECTORS: usize = 200;
/// Episodes per batch when compressing everything left.
const BATCH_EPISODES: usize = 500;
/// How often `mnemo serve` compresses when hooks do not.
const HOST_POLL: Duration = Duration::from_secs(2);

/// Compression options of `config`, at most `max_episodes` per call.
pub fn compress_options(config: &Config, max_episodes: usize) -> Options {
    Options {
        stale_after: Duration::from_secs(config.compress.stale_after_secs),
        enrich: config.llm.backend != LlmBackend::Off,
        max_episodes,
    }
}

/// Compress every closed episode left, in batches.
pub fn compress_all(
    store: &mut Store,
    redactor: &Redactor,
    config: &Config,
) -> anyhow::Result<Report> {
    let mut total = Report::default();
    loop {
        let report = compress_pending(
            store,
            redactor,
            &compress_options(config, BATCH_EPISODES),
            crate::parts::now_ms(),
        )?;
        // A batch that only set episodes aside still made progress.
        if report.episodes == 0 && report.skipped == 0 {
            return Ok(total);
        }
        total.add(report);
    }
}

/// Compress every closed episode left and embed what that queued: `mnemo
/// compress`.
pub fn compress_now(parts: &Parts) -> anyhow::Result<Report> {
    let mut store = parts.open_store()?;
    let report = compress_all(&mut store, parts.redactor()?, &parts.config)?;
    embed_queued(&mut store, parts, usize::MAX);
    Ok(report)
}

/// What `mnemo reindex` did.
#[derive(Debug)]
pub struct Reindexed {
    /// The embedder's model.
    pub model: String,
    /// Memories embedded.
    pub embedded: usize,
}

/// Embed every observation again with the configured embedder (`mnemo
/// reindex`); an error when vector search is off.
pub fn reindex(parts: &Parts) -> anyhow::Result<Reindexed> {
    let Some(embedder) = parts.embedder()? else {
        anyhow::bail!("vector search is off ([embed] backend = \"off\"): nothing to index");
    };
    let mut store = parts.open_store()?;
    store.requeue_all_vectors()?;
    let embedded = embed_pending(&mut store, embedder.as_ref(), usize::MAX)?;
    Ok(Reindexed {
        model: embedder.model_id().to_string(),
        embedded,
    })
}

/// Embed up to `max` queued observations with the configured embedder,
/// made only here, so a process that never gets here never builds one (a
/// local transformer model is slow to load). Problems are logged and leave
/// the queue for later: a write never fails because vectors could not be
/// made.
pub fn embed_queued(store: &mut Store, parts: &Parts, max: usize) {
    let embedder = match parts.embedder() {
        Ok(Some(embedder)) => embedder,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("no vectors: {e:#}");
            return;
        }
    };
    match embed_pending(store, embedder.as_ref(), max) {
        Ok(0) => {}
        Ok(n) => tracing::info!(embedded = n, "embedded"),
        Err(e) => tracing::warn!("embedding failed, left queued: {e}"),
    }
}

/// Finish what hooks leave undone when they are killed or told to stop:
/// store spooled events, compress every closed episode (when hooks are the
/// ones that compress) and embed queued vectors. Idempotent, so any process
/// may run it at any time; the background worker does before it enriches,
/// `mnemo serve` as it starts. Problems are logged.
pub fn catch_up(parts: &Parts) {
    let (paths, config) = (&parts.paths, &parts.config);
    let result = (|| -> anyhow::Result<Report> {
        let mut store = parts.open_store()?;
        if spool::pending_all(paths) > 0 {
            let window = crate::parts::dedupe_window_ms(config);
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
            compress_all(&mut store, parts.redactor()?, config)?
        } else {
            Report::default()
        };
        embed_queued(&mut store, parts, usize::MAX);
        Ok(report)
    })();
    match result {
        Ok(report) if report.episodes > 0 => tracing::info!(?report, "caught up on compression"),
        Ok(_) => {}
        Err(e) => tracing::warn!("catch-up compression failed: {e:#}"),
    }
}

/// Compression inside a long-lived process (`mnemo serve`). When hooks
/// compress, one catch-up pass at start (what killed hooks left); when they
/// do not (`compress.in_hooks = false`), closed episodes every few seconds,
/// until `stop`.
pub fn compression_host(
    parts: Arc<Parts>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mnemo-compress".into())
        .spawn(move || {
            if parts.config.compress.in_hooks {
                return catch_up(&parts);
            }
            let until = Until::Stopped(&stop);
            let work = || -> anyhow::Result<Report> {
                let mut store = parts.open_store()?;
                let options = compress_options(&parts.config, HOOK_EPISODES);
                let report =
                    compress_pending(&mut store, parts.redactor()?, &options, parts.now())?;
                embed_queued(&mut store, &parts, HOOK_VECTORS);
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
