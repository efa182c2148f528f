//! `mnemo compress`: compress every closed episode now.

use std::time::Instant;

use mnemo_app::hosts::compress_now;

pub fn run(json: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let started = Instant::now();
    let total = compress_now(&parts)?;
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
