//! Retrieval benchmark: search over a large store in-process, and the hooks
//! that read memories (SessionStart context, UserPromptSubmit recall) as
//! Claude Code spawns them.
//!
//! Run: `cargo bench -p mnemo --bench retrieve` (100,000 observations; add
//! `-- --quick` for 10,000, or `-- --million` for 1,000,000). Observations are
//! synthetic but shaped like real ones (specific titles naming functions,
//! files and errors, a few facts, a narrative), spread over 20 projects.

mod support;

use std::path::Path;
use std::time::Instant;

use mnemo_embed::StaticEmbedder;
use mnemo_retrieve::vectors::embed_pending;
use mnemo_retrieve::{Fusion, SearchQuery, Searcher, search, search_with};
use mnemo_store::{NewObservation, OBSERVATION_TYPES, ProjectRef, Store, StoreOptions};
use serde_json::json;
use support::{percentile, report, spawn_once};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

const MODULES: &[&str] = &[
    "cart", "checkout", "auth", "tokens", "billing", "invoice", "tax", "search", "index", "parser",
    "lexer", "config", "cache", "queue", "worker", "poller", "upload", "export", "report",
    "router",
];
const VERBS: &[&str] = &[
    "raises",
    "rejects",
    "retries",
    "caches",
    "validates",
    "logs",
    "streams",
    "rounds",
];
const ERRORS: &[&str] = &[
    "ValueError",
    "KeyError",
    "TimeoutError",
    "RecursionError",
    "E0382",
    "TS2322",
    "NullPointerException",
    "AssertionError",
];
const WHEN: &[&str] = &[
    "for negative n",
    "on empty input",
    "when the token expired",
    "after a retry",
    "with two coupons",
    "on a cold cache",
    "for unicode names",
    "under load",
];

/// A deterministic observation number `i`.
fn observation(i: usize) -> NewObservation {
    let pick = |list: &[&'static str], k: usize| list[(i.wrapping_mul(k) + i / 7) % list.len()];
    let module = pick(MODULES, 7);
    let function = format!("{}_{}", pick(VERBS, 3), pick(MODULES, 11));
    let error = pick(ERRORS, 5);
    let kind = OBSERVATION_TYPES[i % 6];
    let title = format!(
        "{function}() in {module}.py {} {error} {}",
        pick(VERBS, 13),
        pick(WHEN, 17)
    );
    NewObservation {
        kind: kind.into(),
        subtitle: format!(
            "`pytest tests/test_{module}.py` failed with {error}; fixed in {module}.py."
        ),
        narrative: format!(
            "Running the {module} tests failed with {error} {}. The cause was {function}() not handling it; \
             it now {} and the tests pass (case {i}).",
            pick(WHEN, 19),
            pick(VERBS, 23)
        ),
        facts: vec![
            format!("`pytest tests/test_{module}.py` failed: {error}"),
            format!("{function}() in {module}.py: checks the input and raises {error}"),
            format!("`pytest` then passed ({} passed)", 10 + i % 40),
        ],
        concepts: vec!["problem-solution".into(), "what-changed".into()],
        files_modified: vec![format!("src/{module}.py")],
        content_hash: format!("bench-{i}"),
        generated_by: "rules".into(),
        created_at: Some(1_700_000_000_000 + i as i64 * 60_000),
        title,
        ..NewObservation::default()
    }
}

fn main() {
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
    std::fs::create_dir_all(&home).unwrap();
    let db = home.join("mnemo.db");
    let projects: Vec<ProjectRef> = (0..20)
        .map(|p| ProjectRef {
            root: format!("/bench/project-{p}"),
            name: format!("project-{p}"),
        })
        .collect();
    let started = Instant::now();
    {
        let mut store = Store::open(&db, &StoreOptions::default()).expect("store");
        // Building the fixture only: no fsyncs.
        store
            .conn()
            .execute_batch("PRAGMA synchronous = OFF")
            .unwrap();
        for i in 0..count {
            store
                .remember(Some(&projects[i % 20]), &observation(i), 0)
                .expect("insert");
        }
    }
    let built = started.elapsed();
    let embedding = Instant::now();
    {
        let mut store = Store::open(&db, &StoreOptions::default()).expect("store");
        embed_pending(&mut store, StaticEmbedder::builtin(), usize::MAX).expect("embed");
    }
    println!(
        "store: {count} observations in 20 projects, built in {:.1} s, embedded in {:.1} s ({:.0}/s), {:.0} MiB",
        built.as_secs_f64(),
        embedding.elapsed().as_secs_f64(),
        count as f64 / embedding.elapsed().as_secs_f64(),
        std::fs::metadata(&db).map_or(0.0, |m| m.len() as f64 / 1048576.0)
    );

    // In-process hybrid search (full text + built-in vectors, fused), as the
    // MCP server and the viewer run it.
    let store = Store::open(&db, &StoreOptions::default()).expect("store");
    let queries = [
        "fibonacci bug we fixed",
        "ValueError in cart",
        "token expired retries",
        "why does checkout round",
        "E0382 parser",
        "coupon total",
        "upload poller queue",
        "cache cold start",
        "unicode names export",
        "TimeoutError worker under load",
    ];
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
            for (q, text) in queries.iter().enumerate() {
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
    drop(store);

    // The hooks that read memories, spawned as Claude Code spawns them.
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
    let _ = Path::new(BIN);
}
