//! `mnemo ingest [FILE]`: replay hook inputs from a JSONL file.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use mnemo_app::parts::{dedupe_window_ms, privacy_options, store_options};
use mnemo_capture::{Capturer, HookInput, Normalized};
use mnemo_store::{Recorded, Store};

/// Records committed per transaction.
const BATCH: usize = 1000;

pub fn run(file: Option<&Path>) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let reader: Box<dyn BufRead> = match file {
        Some(p) if p != Path::new("-") => Box::new(BufReader::new(
            File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
        _ => Box::new(BufReader::new(io::stdin())),
    };
    let capturer = Capturer::new(&config, privacy_options(&config))?;
    let mut store = Store::open(&paths.db, &store_options(&config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    let window = dedupe_window_ms(&config);
    let started = Instant::now();
    let (mut lines, mut stored, mut duplicates, mut ignored, mut rejected) = (0, 0, 0, 0, 0);
    // Ends of sessions never seen, ignored by the store.
    let mut without_session = 0;
    let mut batch = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<_>, store: &mut Store| -> anyhow::Result<()> {
        for outcome in store.record_batch(batch, window)? {
            match outcome {
                Recorded::Stored { .. } => stored += 1,
                Recorded::Duplicate => duplicates += 1,
                Recorded::NoSession => without_session += 1,
            }
        }
        batch.clear();
        Ok(())
    };
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line.context("reading input")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let input = HookInput {
            total_bytes: line.len(),
            bytes: line,
            tail: Vec::new(),
            stalled: None,
        };
        match capturer.normalize(None, &input, mnemo_app::parts::now_ms()) {
            Normalized::Record { record, warning } => {
                if let Some(warning) = warning {
                    eprintln!("mnemo: line {}: {warning}", n + 1);
                }
                batch.push(*record);
            }
            Normalized::Ignored(_) => ignored += 1,
            Normalized::Rejected { reason, .. } => {
                rejected += 1;
                eprintln!("mnemo: line {}: {reason}", n + 1);
            }
        }
        if batch.len() >= BATCH {
            flush(&mut batch, &mut store)?;
        }
    }
    flush(&mut batch, &mut store)?;
    let secs = started.elapsed().as_secs_f64();
    let ignored = ignored + without_session;
    println!(
        "{lines} inputs: {stored} stored, {duplicates} duplicates, {ignored} ignored, {rejected} rejected in {secs:.2} s ({:.0} events/s)",
        lines as f64 / secs.max(1e-9)
    );
    Ok(())
}
