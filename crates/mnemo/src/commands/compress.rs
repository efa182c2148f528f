//! `mnemo compress`, and compression as episodes end inside async hooks.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use mnemo_capture::{privacy_options, store_options};
use mnemo_compress::{Options, Report, compress_pending, unfinished_tool_calls};
use mnemo_config::{Config, LlmBackend, Paths};
use mnemo_privacy::Redactor;
use mnemo_store::{HookRecord, Store};

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
    let mut total = Report::default();
    loop {
        let report = compress_pending(
            &mut store,
            &redactor,
            &options(&config, 500),
            mnemo_capture::now_ms(),
        )?;
        if report.episodes == 0 {
            break;
        }
        total.add(report);
    }
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

/// After a hook stored `record`: compress the episodes that are now closed.
/// For a Stop, first wait (briefly) for tool events still in flight, so the
/// episode is compressed whole. Problems are logged, never shown to the agent.
pub fn after_hook(paths: &Paths, config: &Config, record: &HookRecord, prompt_id: Option<i64>) {
    if !config.compress.in_hooks || !mnemo_capture::event::closes_episode(&record.hook) {
        return;
    }
    let result = (|| -> anyhow::Result<Report> {
        let mut store = Store::open(&paths.db, &store_options(config))?;
        if record.hook == "Stop"
            && let Some(prompt_id) = prompt_id
        {
            wait_for_tool_events(
                &store,
                prompt_id,
                Duration::from_millis(config.compress.stop_wait_ms),
            )?;
        }
        let redactor = Redactor::new(&privacy_options(config))?;
        let report = compress_pending(
            &mut store,
            &redactor,
            &options(config, HOOK_BUDGET),
            mnemo_capture::now_ms(),
        )?;
        super::vectors::embed_queued(&mut store, config, super::vectors::HOOK_BUDGET);
        Ok(report)
    })();
    match result {
        Ok(report) if report.episodes > 0 => {
            tracing::info!(?report, "compressed");
            if config.llm.backend != LlmBackend::Off {
                super::worker::spawn_if_needed(&paths.home);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("compression after {} failed: {e:#}", record.hook),
    }
}

/// Compression inside `mnemo serve` when hooks do not compress
/// (`compress.in_hooks = false`): closed episodes every few seconds, until
/// `stop`.
pub fn host(
    paths: Paths,
    config: Config,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mnemo-compress".into())
        .spawn(move || {
            let until = Until::Stopped(&stop);
            let work = || -> anyhow::Result<Report> {
                let redactor = Redactor::new(&privacy_options(&config))?;
                let mut store = Store::open(&paths.db, &store_options(&config))?;
                let options = options(&config, HOOK_BUDGET);
                let report =
                    compress_pending(&mut store, &redactor, &options, mnemo_capture::now_ms())?;
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
        if unfinished_tool_calls(&episode) == 0 || started.elapsed() >= limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
