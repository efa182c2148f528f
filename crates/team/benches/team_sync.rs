//! Team sync against a real PostgreSQL: the initial push of 100,000
//! memories and the pull of all of them into memory, in memories per
//! second each way (median of the runs), the server's size per 100k; then
//! one memory's way from a push on one connection to a pull on another
//! woken by its notification, and the CPU a client waiting for changes
//! uses.
//!
//!   cargo bench -p mnemo-team --bench team_sync            # 100k records, 3 runs
//!   cargo bench -p mnemo-team --bench team_sync -- --quick # 20k records, 1 run
//!
//! The cluster is a throwaway one from mnemo-pgtest with PostgreSQL's
//! default durability (every commit flushed), on this machine's loopback.
//! Without PostgreSQL it prints a SKIPPED line and exits 0.

use std::time::{Duration, Instant};

use mnemo_team::{Kind, Record, Server, ServerConfig, Watermark};
use serde_json::json;

/// Records per push: one transaction each, as `mnemo sync` sends them.
const PUSH_BATCH: usize = 5_000;
/// Records per pull page.
const PULL_PAGE: usize = 5_000;

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (count, runs) = if quick { (20_000, 1) } else { (100_000, 3) };
    let cluster = match mnemo_pgtest::Cluster::start_durable() {
        Ok(cluster) => cluster,
        Err(why) => {
            mnemo_pgtest::skip("team_sync benchmark", &why);
            return;
        }
    };
    let records = memories(count);
    let body_bytes: usize = records.iter().map(|r| r.body.to_string().len()).sum();
    println!(
        "team sync: {count} memories (bodies {:.0} bytes on average), push batches of {PUSH_BATCH}, pull pages of {PULL_PAGE}, {runs} run(s)",
        body_bytes as f64 / count as f64
    );

    let mut push_rates = Vec::new();
    let mut pull_rates = Vec::new();
    let mut size_per_100k = 0.0;
    for run in 1..=runs {
        let database = cluster.team_database("bench");
        let config = ServerConfig {
            url: database.url.clone(),
            password_file: None,
        };
        let mut server = Server::connect(&config, Duration::from_secs(30)).expect("connect");

        let started = Instant::now();
        for batch in records.chunks(PUSH_BATCH) {
            server.push(batch).expect("push");
        }
        let push = started.elapsed();

        let mut reader = Server::connect(&config, Duration::from_secs(30)).expect("connect");
        let projects = vec![
            "github.com/acme/api".to_owned(),
            "github.com/acme/web".to_owned(),
        ];
        let started = Instant::now();
        let mut pulled = Vec::with_capacity(count);
        let mut watermark = Watermark::start();
        loop {
            let page = reader.pull(&projects, &watermark, PULL_PAGE).expect("pull");
            pulled.extend(page.records);
            watermark = page.next;
            if !page.more {
                break;
            }
        }
        let pull = started.elapsed();
        assert_eq!(pulled.len(), count, "the pull did not return every record");

        let bytes: i64 = cluster
            .admin(&database.database)
            .query_one(
                "SELECT pg_total_relation_size('mnemo_records') + pg_total_relation_size('mnemo_history')",
                &[],
            )
            .expect("size")
            .get(0);
        size_per_100k = bytes as f64 * 100_000.0 / count as f64 / 1_048_576.0;
        let push_rate = count as f64 / push.as_secs_f64();
        let pull_rate = count as f64 / pull.as_secs_f64();
        println!(
            "  run {run}: push {:.2} s ({push_rate:.0} memories/s), pull {:.2} s ({pull_rate:.0} memories/s), server {size_per_100k:.1} MiB per 100k",
            push.as_secs_f64(),
            pull.as_secs_f64()
        );
        push_rates.push(push_rate);
        pull_rates.push(pull_rate);
    }
    let (propagation, idle_cpu, idle) = propagation_and_idle(&cluster, quick);
    println!();
    println!("| team sync ({count} memories) | median |");
    println!("|---|---|");
    println!(
        "| initial push | {:.0} memories/s |",
        median(&mut push_rates)
    );
    println!(
        "| initial pull | {:.0} memories/s |",
        median(&mut pull_rates)
    );
    println!(
        "| server size (records + history, with indexes) | {size_per_100k:.1} MiB per 100k memories |"
    );
    println!(
        "| push on one client → notified pull on another | {:.1} ms |",
        propagation.as_secs_f64() * 1e3
    );
    println!(
        "| CPU of a client waiting for changes | {:.0} ms over {} s |",
        idle_cpu.as_secs_f64() * 1e3,
        idle.as_secs()
    );
}

/// The median time from a push's return on one connection to its record
/// pulled by another connection that a notification woke; then the CPU a
/// connection waiting with nothing happening uses.
fn propagation_and_idle(
    cluster: &mnemo_pgtest::Cluster,
    quick: bool,
) -> (Duration, Duration, Duration) {
    let database = cluster.team_database("bench_propagation");
    let config = ServerConfig {
        url: database.url.clone(),
        password_file: None,
    };
    let mut writer = Server::connect(&config, Duration::from_secs(30)).expect("connect");
    let mut reader = Server::connect(&config, Duration::from_secs(30)).expect("connect");
    let projects = vec!["github.com/acme/api".to_owned()];
    let mut watermark = Watermark::start();
    let mut times = Vec::new();
    for record in memories(if quick { 10 } else { 40 })
        .into_iter()
        .filter(|r| r.project == projects[0])
    {
        let pushed = std::thread::scope(|scope| {
            let push = scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                writer.push(std::slice::from_ref(&record)).expect("push");
                Instant::now()
            });
            assert!(
                reader
                    .wait_for_change(Duration::from_secs(10))
                    .expect("wait"),
                "no notification"
            );
            push.join().expect("push thread")
        });
        let page = reader.pull(&projects, &watermark, 100).expect("pull");
        let arrived = Instant::now();
        assert!(
            page.records.contains(&record),
            "the notified pull missed the record"
        );
        watermark = page.next;
        times.push(arrived.saturating_duration_since(pushed).as_secs_f64());
    }
    let idle = Duration::from_secs(if quick { 2 } else { 10 });
    let before = cpu_time();
    assert!(
        !reader.wait_for_change(idle).expect("wait"),
        "a change while idle"
    );
    let idle_cpu = cpu_time().saturating_sub(before);
    (Duration::from_secs_f64(median(&mut times)), idle_cpu, idle)
}

/// This process's CPU time (user + system), from /proc (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // Linux reports in USER_HZ, 100 on every architecture it runs on.
    Duration::from_millis(ticks * 10)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Observations and summaries shaped like the compressor's: a title, a
/// narrative, facts, concepts and files, in two projects.
fn memories(count: usize) -> Vec<Record> {
    (0..count)
        .map(|n| Record {
            gid: format!("{:032x}", 0x6d6e_656d_6f00_0000_0000_0000_0000_0000_u128 + n as u128),
            project: if n % 4 == 0 { "github.com/acme/web" } else { "github.com/acme/api" }.to_owned(),
            kind: if n % 10 == 0 { Kind::Summary } else { Kind::Observation },
            session: Some(format!("6f1c2c9e-8d0a-4b7e-9a51-{:012x}", n / 20)),
            author: ["Ann Lee", "Bo Chen", "Cy Diaz"][n % 3].to_owned(),
            origin: format!("{:016x}", n % 7),
            created_at: 1_760_000_000_000 + n as i64 * 1_000,
            edited_at: 1_760_000_000_000 + n as i64 * 1_000,
            deleted: false,
            body: json!({
                "type": "bugfix",
                "title": format!("Checkout retries no longer double-charge when the gateway times out ({n})"),
                "subtitle": "The idempotency key was regenerated on every retry",
                "narrative": format!(
                    "Retrying a timed-out charge sent a fresh idempotency key, so the gateway treated \
                     each retry as a new payment. The key is now derived from the order id and the \
                     attempt's cart hash, and stored before the first call; `charge()` reuses it. \
                     A regression test replays a 504 followed by a 200 and asserts one charge. Run {n}."
                ),
                "facts": [
                    "src/payments/charge.rs: idempotency_key() derives from order id + cart hash",
                    "tests/payments.rs::retry_after_timeout_charges_once passes",
                    "the gateway keeps idempotency keys for 24 h",
                ],
                "concepts": ["problem-solution", "gotcha"],
                "files_read": ["src/payments/gateway.rs"],
                "files_modified": ["src/payments/charge.rs", "tests/payments.rs"],
            }),
        })
        .collect()
}
