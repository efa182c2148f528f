//! `mnemo reindex`.

use std::time::Instant;

use anyhow::bail;
use mnemo_retrieve::search::vectors::embed_pending;

/// `mnemo reindex`: embed every observation again with the configured embedder.
pub fn reindex(json: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let Some(embedder) = parts.embedder()? else {
        bail!("vector search is off ([embed] backend = \"off\"): nothing to index");
    };
    let mut store = parts.open_store()?;
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
