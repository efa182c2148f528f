//! `mnemo reindex`.

use std::time::Instant;

/// `mnemo reindex`: embed every observation again with the configured embedder.
pub fn reindex(json: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let started = Instant::now();
    let done = mnemo_app::hosts::reindex(&parts)?;
    let secs = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"model": done.model, "embedded": done.embedded, "seconds": secs})
        );
    } else {
        println!(
            "{} memories embedded with {} in {secs:.2} s.",
            done.embedded, done.model
        );
    }
    Ok(())
}
