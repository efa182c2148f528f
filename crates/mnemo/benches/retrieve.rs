//! Retrieval benchmark: search over a large store in-process, and the hooks
//! that read memories (SessionStart context, UserPromptSubmit recall) as
//! Claude Code spawns them.
//!
//! Run: `cargo bench -p mnemo --bench retrieve` (100,000 observations; add
//! `-- --quick` for 10,000, or `-- --million` for 1,000,000). Observations are
//! synthetic but shaped like real ones (specific titles naming functions,
//! files and errors, a few facts, a narrative), spread over 20 projects.

mod support;

use std::time::Instant;

use mnemo_embed::StaticEmbedder;
use mnemo_retrieve::{Fusion, SearchQuery, Searcher, search, search_with};
use mnemo_store::{Store, StoreOptions};
use serde_json::json;
use support::corpus::{self, ERRORS, MODULES, QUERIES};
use support::{percentile, report, results, spawn_once};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

fn main() {
    if corpus::seed_if_asked() {
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let count = if args.iter().any(|a| a == "--quick") {
        10_000
    } else if args.iter().any(|a| a == "--million") {
        1_000_000
    } else {
        100_000
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let db = home.join("mnemo.db");
    let projects = corpus::seed_in_child(&home, count);

    // The hooks that read memories, spawned as Claude Code spawns them,
    // while this process is still small (see `corpus::seed_in_child`).
    println!(
        "\n{:<34} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "command (ms, MiB)", "median", "p95", "min", "max", "rss med", "rss max"
    );
    let envs = [("MNEMO_HOME", home.as_path())];
    let runs = 60;
    let starts: Vec<_> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": format!("start-{i}"), "cwd": projects[i % 20].root,
                "hook_event_name": "SessionStart", "source": "startup"});
            spawn_once(
                BIN,
                &["hook", "session-start"],
                &envs,
                p.to_string().as_bytes(),
            )
        })
        .collect();
    report("hook session-start (+ context)", &starts);
    let prompts: Vec<_> = (0..runs)
        .map(|i| {
            let p = json!({"session_id": format!("prompt-{i}"), "cwd": projects[i % 20].root,
                "hook_event_name": "UserPromptSubmit",
                "prompt": format!("what was the {} bug with {} we fixed?", MODULES[i % 20], ERRORS[i % 8])});
            spawn_once(BIN, &["hook", "user-prompt-submit"], &envs, p.to_string().as_bytes())
        })
        .collect();
    report("hook user-prompt-submit (+ recall)", &prompts);

    // In-process hybrid search (full text + built-in vectors, fused), as the
    // MCP server and the viewer run it.
    let store = Store::open(&db, &StoreOptions::default()).expect("store");
    let searcher = Searcher::new(Some(Box::new(StaticEmbedder::builtin())));
    let loading = Instant::now();
    let warm = SearchQuery {
        text: "warm up".into(),
        ..SearchQuery::default()
    };
    searcher.search(&store, &warm, 0).expect("search");
    println!(
        "vectors loaded into memory (once per long-lived process): {:.0} ms",
        loading.elapsed().as_secs_f64() * 1000.0
    );
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let mut agree = (0usize, 0usize);
    for (name, in_memory) in [
        ("search, vectors in memory (MCP server, viewer)", true),
        ("search, vectors read from SQLite (CLI, hooks)", false),
    ] {
        let mut times = Vec::new();
        for round in 0..30 {
            for (q, text) in QUERIES.iter().enumerate() {
                let query = SearchQuery {
                    text: text.to_string(),
                    project: (round % 2 == 0).then(|| projects[q].root.clone()),
                    limit: 20,
                    ..SearchQuery::default()
                };
                let t = Instant::now();
                let hits = if in_memory {
                    searcher.search(&store, &query, 0)
                } else {
                    search(&store, &query)
                }
                .expect("search");
                times.push(t.elapsed());
                if in_memory && round < 2 {
                    // How often the sign-bit first pass keeps the exact top 10.
                    let exact =
                        search_with(&store, &query, searcher.embedder(), &Fusion::DEFAULT, 0)
                            .expect("search");
                    let top = |h: &[mnemo_retrieve::Hit]| {
                        h.iter().take(10).map(|h| h.id).collect::<Vec<_>>()
                    };
                    agree.0 += top(&hits)
                        .iter()
                        .filter(|id| top(&exact).contains(id))
                        .count();
                    agree.1 += top(&exact).len();
                }
                std::hint::black_box(hits);
            }
        }
        times.sort();
        results::timings(name, &times);
        println!(
            "{name}, {} queries, half project-filtered: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(times[times.len() - 1])
        );
    }
    println!(
        "top-10 agreement of the in-memory first pass with the exact scan: {:.1}%",
        100.0 * agree.0 as f64 / agree.1.max(1) as f64
    );
    results::value(
        "top-10 agreement, in-memory first pass vs exact",
        "%",
        100.0 * agree.0 as f64 / agree.1.max(1) as f64,
    );

    let size = match count {
        10_000 => "10k".to_string(),
        100_000 => "100k".to_string(),
        1_000_000 => "1m".to_string(),
        n => n.to_string(),
    };
    results::save(
        &format!("retrieve-{size}"),
        &format!("{count} observations"),
    );
}
