//! What the tests share: a team database with a connected client, records
//! to push, and pulling until the server has nothing more.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mnemo_pgtest::TeamDatabase;
use mnemo_team::{Kind, Record, Server, ServerConfig, Watermark};
use serde_json::json;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh team database on the shared cluster and a client connected to
/// it; `None` when there is no server (the SKIPPED line is printed).
pub fn team(test: &str) -> Option<(TeamDatabase, Server)> {
    let cluster = mnemo_pgtest::shared(test)?;
    let database = cluster.team_database(test);
    let server = connect(&database.url);
    Some((database, server))
}

pub fn config(url: &str) -> ServerConfig {
    ServerConfig {
        url: url.to_owned(),
        password_file: None,
    }
}

pub fn connect(url: &str) -> Server {
    Server::connect(&config(url), TIMEOUT).unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A new gid: 32 lowercase hex characters, unique in this process.
pub fn gid() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:016x}{:016x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new observation of `project`, numbered `n` in its title.
pub fn record(project: &str, n: usize) -> Record {
    Record {
        gid: gid(),
        project: project.to_owned(),
        kind: if n.is_multiple_of(5) {
            Kind::Summary
        } else {
            Kind::Observation
        },
        session: (!n.is_multiple_of(3)).then(|| format!("session-{}", n / 10)),
        author: "Ann Lee".to_owned(),
        origin: "machine-a".to_owned(),
        created_at: 1_700_000_000_000 + n as i64,
        edited_at: 1_700_000_000_000 + n as i64,
        deleted: false,
        body: json!({
            "title": format!("Fix #{n}: the cache key ignores the locale — ünïcödé ✓"),
            "facts": ["retry after 30 s", "\"quoted\" and \\ backslash"],
            "n": n,
        }),
    }
}

pub fn records(project: &str, count: usize) -> Vec<Record> {
    (0..count).map(|n| record(project, n)).collect()
}

/// Pull pages of `limit` until the server says there is no more; every
/// record read, in order, and the watermark to resume from.
pub fn pull_all(
    server: &mut Server,
    projects: &[&str],
    from: &Watermark,
    limit: usize,
) -> (Vec<Record>, Watermark) {
    let projects: Vec<String> = projects.iter().map(|p| p.to_string()).collect();
    let mut watermark = from.clone();
    let mut all = Vec::new();
    for _ in 0..100_000 {
        let page = server.pull(&projects, &watermark, limit).expect("pull");
        assert!(page.records.len() <= limit, "a page longer than its limit");
        all.extend(page.records);
        watermark = page.next;
        if !page.more {
            return (all, watermark);
        }
    }
    panic!("pulling never ended");
}

/// The same records, ordered by gid, for comparison.
pub fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| a.gid.cmp(&b.gid));
    records
}
