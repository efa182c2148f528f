//! `mnemo ingest [FILE]`: replay hook inputs from a JSONL file through the
//! hook pipeline (`mnemo_app::hook`): stored in batches, then the episodes
//! they closed compressed and embedded, as the hooks would have.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use mnemo_app::hook::HookPipeline;

use super::worker::CommandProcess;

pub fn run(file: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let reader: Box<dyn BufRead> = match file {
        Some(p) if p != Path::new("-") => Box::new(BufReader::new(
            File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        _ => Box::new(BufReader::new(io::stdin())),
    };
    let process = CommandProcess {
        home: &parts.paths.home,
    };
    let pipeline = HookPipeline::new(&parts, &process)?;
    let started = Instant::now();
    let counts = pipeline.ingest(reader, &mut |problem| {
        eprintln!("mnemo: line {}: {}", problem.line, problem.message);
    })?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} inputs: {} stored, {} duplicates, {} ignored, {} rejected in {secs:.2} s ({:.0} events/s); {} episodes compressed into {} observations",
        counts.inputs,
        counts.stored,
        counts.duplicates,
        counts.ignored,
        counts.rejected,
        counts.inputs as f64 / secs.max(1e-9),
        counts.episodes,
        counts.observations,
    );
    Ok(())
}
