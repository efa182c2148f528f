//! `mnemo stats`: what the store holds.

use anyhow::Context;
use mnemo_capture::{spool, store_options};
use mnemo_store::Store;

pub fn run(json: bool) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let stats = store.stats()?;
    let spooled = spool::pending(&paths.spool_dir);
    if json {
        let mut value = serde_json::to_value(&stats)?;
        value["spooled"] = spooled.into();
        value["db_path"] = paths.db.display().to_string().into();
        println!("{value}");
    } else {
        println!("database   {}", paths.db.display());
        println!("projects   {}", stats.projects);
        println!("sessions   {}", stats.sessions);
        println!("prompts    {}", stats.prompts);
        println!(
            "events     {} ({} not yet compressed)",
            stats.events, stats.events_pending
        );
        println!("rejected   {}", stats.rejected_inputs);
        println!("spooled    {spooled}");
        println!("size       {:.1} MiB", stats.db_bytes as f64 / 1048576.0);
    }
    Ok(())
}
