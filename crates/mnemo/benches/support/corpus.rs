//! A synthetic memory store for the benchmarks: observations shaped like
//! real ones (specific titles naming functions, files and errors, a few
//! facts, a narrative), spread over 20 projects, and queries to run on it.

use std::path::Path;
use std::time::Instant;

use mnemo_embed::StaticEmbedder;
use mnemo_retrieve::search::vectors::embed_pending;
use mnemo_store::{NewObservation, OBSERVATION_TYPES, ProjectRef, Store, StoreOptions};

pub const MODULES: &[&str] = &[
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
pub const ERRORS: &[&str] = &[
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
pub fn observation(i: usize) -> NewObservation {
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

/// Searches a person might type, for the search timings.
pub const QUERIES: &[&str] = &[
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

/// The 20 projects the corpus spreads over.
pub fn projects() -> Vec<ProjectRef> {
    (0..20)
        .map(|p| ProjectRef {
            root: format!("/bench/project-{p}"),
            name: format!("project-{p}"),
        })
        .collect()
}

/// The flag that makes a benchmark binary only seed (see [`seed_in_child`]).
const SEED_FLAG: &str = "--seed-corpus";

/// [`seed`] in a child process (this benchmark binary run again with
/// [`SEED_FLAG`]), so that this process stays small: a spawned hook's peak
/// RSS, as `wait4` reports it, includes the spawning process's memory until
/// the exec. A benchmark that uses this calls [`seed_if_asked`] first.
pub fn seed_in_child(home: &Path, count: usize) -> Vec<ProjectRef> {
    let status = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .arg(SEED_FLAG)
        .arg(home)
        .arg(count.to_string())
        .status()
        .expect("seed in a child process");
    assert!(status.success(), "seeding failed: {status}");
    projects()
}

/// When this process was started by [`seed_in_child`], seed and return true
/// (the caller then exits).
pub fn seed_if_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, flag, home, count] if flag == SEED_FLAG => {
            seed(Path::new(home), count.parse().expect("count"));
            true
        }
        _ => false,
    }
}

/// `$home/mnemo.db` with `count` observations in 20 projects, a minute
/// apart; prints how long it took. Returns the projects.
pub fn seed(home: &Path, count: usize) -> Vec<ProjectRef> {
    std::fs::create_dir_all(home).unwrap();
    let db = home.join("mnemo.db");
    let projects = projects();
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
    // Vectors, as the hooks would have made them (the built-in embedder).
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
    projects
}
