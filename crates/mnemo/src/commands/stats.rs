//! `mnemo stats`: what the store holds, and what the LLM has cost.

use mnemo_app::status::status;

pub fn run(json: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let store = parts.open_store()?;
    let status = status(&parts, &store)?;
    let (stats, spooled, budget) = (&status.stats, status.spooled, status.llm_daily_token_budget);
    let db = &parts.paths.db;
    if json {
        let mut value = serde_json::to_value(stats)?;
        value["spooled"] = spooled.into();
        value["db_path"] = db.display().to_string().into();
        value["llm_daily_token_budget"] = budget.into();
        println!("{value}");
        return Ok(());
    }
    println!("database      {}", db.display());
    println!("projects      {}", stats.projects);
    println!("sessions      {}", stats.sessions);
    println!("prompts       {}", stats.prompts);
    println!(
        "events        {} ({} not yet compressed)",
        stats.events, stats.events_pending
    );
    println!(
        "observations  {} from {} episodes; {} summaries",
        stats.observations, stats.episodes, stats.summaries
    );
    if stats.episodes_skipped > 0 {
        println!(
            "skipped       {} episodes could not be compressed (reason in prompts.compress_skipped)",
            stats.episodes_skipped
        );
    }
    println!(
        "vectors       {} ({} memories waiting; embedder {})",
        stats.vectors, stats.vectors_pending, status.embedder
    );
    println!("rejected      {}", stats.rejected_inputs);
    println!("spooled       {spooled}");
    println!("size          {:.1} MiB", stats.db_bytes as f64 / 1048576.0);
    println!(
        "llm           {} — today (UTC) {} tokens in {} calls (budget {budget}); total {} tokens in {} calls; {} episodes waiting",
        status.llm_backend,
        stats.llm_tokens_today,
        stats.llm_calls_today,
        stats.llm_tokens_total,
        stats.llm_calls_total,
        stats.enrich_pending
    );
    Ok(())
}
