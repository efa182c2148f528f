//! Team sync through the binary, local store included: the initial push of
//! a store's memories and their pull into another data directory with
//! `mnemo sync --once`, then the propagation of a new memory from machine A
//! to machine B while both run `mnemo sync`, and what those two loops cost
//! while nothing changes.
//!
//! Run: `cargo bench -p mnemo --bench team` (`-- --quick`: 20,000 memories
//! and 5 probes instead of 100,000 and 15). It needs PostgreSQL (a
//! throwaway cluster from `mnemo-pgtest`); without one it prints a SKIPPED
//! line. The seeded memories are the synthetic corpus (20 projects), all
//! joined on both machines; a probe is a `mnemo remember` on A, timed until
//! its row is in B's database and until B's `mnemo search` finds it. The
//! idle cost is the CPU time (user + system, from `/proc/<pid>/stat`) both
//! loops use over [`IDLE_WINDOW`] after the probes.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mnemo_store::{Store, StoreOptions};
use support::{corpus, results};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");
/// How long one probe may take before the run is called broken.
const PROBE_LIMIT: Duration = Duration::from_secs(60);
/// How long the idle loops are watched.
const IDLE_WINDOW: Duration = Duration::from_secs(60);

fn mnemo(home: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("MNEMO_HOME", home)
        .env("MNEMO_TEAM_URL", url)
        .env("MNEMO_TEAM_AUTHOR", home.file_name().unwrap())
        .stdin(Stdio::null());
    command
}

/// One `mnemo sync --once`: how long it took.
fn sync_once(home: &Path, url: &str) -> Duration {
    let started = Instant::now();
    let out = mnemo(home, url, &["sync", "--once"])
        .output()
        .expect("mnemo sync");
    assert!(
        out.status.success(),
        "mnemo sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// Join every corpus project under a key both machines share.
fn join_all(home: &Path) {
    let mut store = Store::open(&home.join("mnemo.db"), &StoreOptions::default()).expect("store");
    for (i, project) in corpus::projects().iter().enumerate() {
        store
            .team_join(project, &format!("bench.example/project-{i}"), "bench", 0)
            .expect("join");
    }
}

fn count(home: &Path, sql: &str) -> i64 {
    let store = Store::open(&home.join("mnemo.db"), &StoreOptions::default()).expect("store");
    store.conn().query_row(sql, [], |r| r.get(0)).expect(sql)
}

/// CPU time `pid` has used so far (user + system).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Whether B's `mnemo search` finds `word` in any project.
fn b_search_finds(home: &Path, url: &str, word: &str) -> bool {
    let out = mnemo(home, url, &["search", word, "--all-projects", "--json"])
        .output()
        .expect("mnemo search");
    assert!(
        out.status.success(),
        "mnemo search: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).expect("search --json");
    found["items"]
        .as_array()
        .is_some_and(|items| !items.is_empty())
}

fn stop(mut child: Child) {
    // SAFETY: a plain kill(2) of a child this process started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
}

fn main() {
    if corpus::seed_if_asked() {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (memories, probes) = if quick { (20_000, 5) } else { (100_000, 15) };
    let Some(cluster) = mnemo_pgtest::shared("bench team") else {
        return;
    };
    let db = cluster.team_database("bench");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("ana"), tmp.path().join("ben"));
    corpus::seed_in_child(&a, memories);
    std::fs::create_dir_all(&b).unwrap();
    // B's store is made by its first command.
    let out = mnemo(&b, &db.url, &["stats"])
        .output()
        .expect("mnemo stats");
    assert!(out.status.success());
    join_all(&a);
    join_all(&b);

    let pushed = sync_once(&a, &db.url);
    assert_eq!(count(&a, "SELECT count(*) FROM team_outbox"), 0);
    let pulled = sync_once(&b, &db.url);
    let arrived = count(&b, "SELECT count(*) FROM observations");
    assert_eq!(arrived, memories as i64, "every memory arrived once");
    let per_second = |d: Duration| memories as f64 / d.as_secs_f64();
    println!(
        "initial push of {memories} memories: {:.2} s = {:.0} memories/s",
        pushed.as_secs_f64(),
        per_second(pushed)
    );
    println!(
        "initial pull into another store: {:.2} s = {:.0} memories/s",
        pulled.as_secs_f64(),
        per_second(pulled)
    );
    results::value(
        "initial push (mnemo sync --once)",
        "memories/s",
        per_second(pushed),
    );
    results::value(
        "initial pull (mnemo sync --once)",
        "memories/s",
        per_second(pulled),
    );

    let loops = [&a, &b].map(|home| {
        mnemo(home, &db.url, &["sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mnemo sync")
    });
    // Let both loops finish their first round.
    std::thread::sleep(Duration::from_secs(3));
    let b_store = Store::open(&b.join("mnemo.db"), &StoreOptions::default()).expect("store");
    let (mut in_store, mut in_search) = (Vec::new(), Vec::new());
    for probe in 0..probes {
        let word = format!("zqprobe{probe}x");
        let started = Instant::now();
        let out = mnemo(
            &a,
            &db.url,
            &[
                "remember",
                &format!("propagation probe {word}"),
                "--project",
                "/bench/project-0",
            ],
        )
        .output()
        .expect("mnemo remember");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut stored = None;
        loop {
            let found: i64 = b_store
                .conn()
                .query_row(
                    "SELECT count(*) FROM observations WHERE title LIKE ?1",
                    [format!("%{word}%")],
                    |r| r.get(0),
                )
                .expect("query");
            if found > 0 && stored.is_none() {
                stored = Some(started.elapsed());
            }
            // Until the row is there, a search cannot find it: look often.
            if stored.is_some() && b_search_finds(&b, &db.url, &word) {
                break;
            }
            assert!(
                started.elapsed() < PROBE_LIMIT,
                "probe {probe} never arrived"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        in_search.push(started.elapsed());
        in_store.extend(stored);
        // Probes a little apart, as a session's memories are.
        std::thread::sleep(Duration::from_millis(500));
    }
    for (what, delays) in [
        ("in B's store", &mut in_store),
        ("found by B's mnemo search", &mut in_search),
    ] {
        delays.sort();
        println!(
            "a memory remembered on A, {what} (both running mnemo sync): median {:.0} ms, max {:.0} ms over {probes}",
            support::percentile(delays, 0.5).as_secs_f64() * 1000.0,
            delays.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    results::timings("propagation A -> B (remember to B's store)", &in_store);
    results::timings(
        "propagation A -> B (remember to B's mnemo search)",
        &in_search,
    );

    // Nothing changes from here on: what do the two loops cost?
    std::thread::sleep(Duration::from_secs(2));
    let before = loops.each_ref().map(|child| cpu_time(child.id()));
    std::thread::sleep(IDLE_WINDOW);
    let after = loops.each_ref().map(|child| cpu_time(child.id()));
    let mut loops = loops;
    for child in &mut loops {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "mnemo sync kept running"
        );
    }
    for (name, (before, after)) in ["A", "B"].iter().zip(before.iter().zip(after)) {
        let used = after - *before;
        println!(
            "idle mnemo sync on {name}: {:.0} ms CPU over {} s ({:.3} % of a core)",
            used.as_secs_f64() * 1000.0,
            IDLE_WINDOW.as_secs(),
            100.0 * used.as_secs_f64() / IDLE_WINDOW.as_secs_f64()
        );
        results::value(
            format!(
                "idle mnemo sync on {name}, CPU over {} s",
                IDLE_WINDOW.as_secs()
            ),
            "ms",
            used.as_secs_f64() * 1000.0,
        );
    }
    loops.into_iter().for_each(stop);
    results::save("team", &format!("{memories} memories"));
}
