//! The configured embedder, embedding what a command's writes queued, and
//! `mnemo reindex`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mnemo_capture::store_options;
use mnemo_config::{Config, EmbedBackend};
use mnemo_embed::{Embedder, OpenAiEmbedder, StaticEmbedder};
use mnemo_retrieve::vectors::embed_pending;
use mnemo_store::Store;

/// Observations one command that wrote a few embeds at most.
pub const HOOK_BUDGET: usize = mnemo_app::hosts::HOOK_VECTORS;

/// The embedder of `config`, or `None` for `backend = "off"`. A setting
/// that cannot work (missing URL, a `local` model in a build without it) is
/// an error naming the key.
pub fn configured(config: &Config) -> anyhow::Result<Option<Box<dyn Embedder>>> {
    let e = &config.embed;
    Ok(match e.backend {
        EmbedBackend::Off => None,
        EmbedBackend::Builtin => Some(Box::new(StaticEmbedder::builtin())),
        EmbedBackend::Openai => {
            if e.base_url.is_empty() || e.model.is_empty() || e.dims == 0 {
                bail!("[embed] backend \"openai\" needs base_url, model and dims");
            }
            let key_var = if e.api_key_env.is_empty() {
                "OPENAI_API_KEY"
            } else {
                &e.api_key_env
            };
            Some(Box::new(OpenAiEmbedder::new(
                &e.base_url,
                &e.model,
                e.dims,
                std::env::var(key_var).ok(),
                Duration::from_secs(e.timeout_secs),
            )))
        }
        EmbedBackend::Local => Some(local(&e.model_dir)?),
    })
}

#[cfg(feature = "candle")]
fn local(model_dir: &str) -> anyhow::Result<Box<dyn Embedder>> {
    if model_dir.is_empty() {
        bail!("[embed] backend \"local\" needs model_dir");
    }
    let dir = std::path::Path::new(model_dir);
    let name = dir
        .file_name()
        .map_or("local".into(), |n| n.to_string_lossy().into_owned());
    Ok(Box::new(mnemo_embed::CandleEmbedder::load(
        dir,
        &format!("local:{name}"),
    )?))
}

#[cfg(not(feature = "candle"))]
fn local(_model_dir: &str) -> anyhow::Result<Box<dyn Embedder>> {
    bail!("[embed] backend \"local\" needs mnemo built with `--features candle`")
}

/// Embed up to `max` queued observations with the configured embedder
/// ([`mnemo_app::hosts::embed_queued`]: problems are logged and leave the
/// queue for later).
pub fn embed_queued(store: &mut Store, config: &Config, max: usize) {
    mnemo_app::hosts::embed_queued(store, &|| configured(config), max);
}

/// `mnemo reindex`: embed every observation again with the configured embedder.
pub fn reindex(json: bool) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let Some(embedder) = configured(&config)? else {
        bail!("vector search is off ([embed] backend = \"off\"): nothing to index");
    };
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let started = Instant::now();
    store.requeue_all_vectors()?;
    let embedder = embedder.as_ref();
    let done = embed_pending(&mut store, embedder, usize::MAX)?;
    let secs = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"model": embedder.model_id(), "embedded": done, "seconds": secs})
        );
    } else {
        println!(
            "{done} memories embedded with {} in {secs:.2} s.",
            embedder.model_id()
        );
    }
    Ok(())
}
