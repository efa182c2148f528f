//! Pushing and pulling: whole batches, idempotence, paging, projects, and
//! rows committed out of order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mnemo_team::{PushReport, Watermark};

use crate::common::*;

#[test]
fn a_pushed_batch_is_pulled_back_field_for_field() {
    let Some((_db, mut server)) = team("a_pushed_batch_is_pulled_back_field_for_field") else {
        return;
    };
    let mut pushed = records("github.com/acme/api", 120);
    // Characters JSON must escape, and text PostgreSQL's jsonb would refuse.
    pushed[0].body = serde_json::json!({ "title": "nul \u{0} tab \t bell \u{7} emoji \u{1F600}", "z": 1, "a": [] });
    let report = server.push(&pushed).unwrap();
    assert_eq!(
        report,
        PushReport {
            stored: 120,
            unchanged: 0
        }
    );

    let (pulled, _) = pull_all(
        &mut server,
        &["github.com/acme/api"],
        &Watermark::start(),
        1_000,
    );
    assert_eq!(sorted(pulled), sorted(pushed));
}

#[test]
fn pushing_the_same_records_again_stores_nothing_new() {
    let Some((db, mut server)) = team("pushing_the_same_records_again_stores_nothing_new") else {
        return;
    };
    let pushed = records("github.com/acme/api", 50);
    server.push(&pushed).unwrap();
    let (_, watermark) = pull_all(
        &mut server,
        &["github.com/acme/api"],
        &Watermark::start(),
        1_000,
    );

    // Twice more, the second time inside a bigger batch with the batch's own duplicates.
    assert_eq!(
        server.push(&pushed).unwrap(),
        PushReport {
            stored: 0,
            unchanged: 50
        }
    );
    let mut again = pushed.clone();
    again.extend(pushed.iter().cloned());
    assert_eq!(
        server.push(&again).unwrap(),
        PushReport {
            stored: 0,
            unchanged: 100
        }
    );

    let (news, _) = pull_all(&mut server, &["github.com/acme/api"], &watermark, 1_000);
    assert!(
        news.is_empty(),
        "an unchanged record came back as a change: {news:?}"
    );
    let mut admin = mnemo_pgtest::shared("").unwrap().admin(&db.database);
    let counts = admin
        .query_one(
            "SELECT (SELECT count(*) FROM mnemo_records), (SELECT count(*) FROM mnemo_history)",
            &[],
        )
        .unwrap();
    assert_eq!((counts.get::<_, i64>(0), counts.get::<_, i64>(1)), (50, 50));
}

#[test]
fn pages_smaller_than_the_changes_return_every_row_exactly_once() {
    let Some((_db, mut server)) =
        team("pages_smaller_than_the_changes_return_every_row_exactly_once")
    else {
        return;
    };
    // Several transactions, so the pages cross transaction boundaries.
    let pushed = records("p", 250);
    for batch in pushed.chunks(60) {
        server.push(batch).unwrap();
    }
    let (pulled, watermark) = pull_all(&mut server, &["p"], &Watermark::start(), 7);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for record in &pulled {
        *seen.entry(&record.gid).or_default() += 1;
    }
    assert_eq!(seen.len(), 250);
    assert!(
        seen.values().all(|&n| n == 1),
        "a row came twice across pages"
    );

    // Resuming from the end finds nothing; a later change only that.
    assert!(pull_all(&mut server, &["p"], &watermark, 7).0.is_empty());
    let late = records("p", 1);
    server.push(&late).unwrap();
    assert_eq!(pull_all(&mut server, &["p"], &watermark, 7).0, late);
}

#[test]
fn a_pull_returns_only_the_projects_it_asks_for() {
    let Some((_db, mut server)) = team("a_pull_returns_only_the_projects_it_asks_for") else {
        return;
    };
    let api = records("github.com/acme/api", 20);
    let web = records("github.com/acme/web", 30);
    let other = records("root:5f1e", 10);
    for batch in [&api, &web, &other] {
        server.push(batch).unwrap();
    }
    let (pulled, _) = pull_all(
        &mut server,
        &["github.com/acme/api", "github.com/acme/web"],
        &Watermark::start(),
        9,
    );
    let mut expected = api.clone();
    expected.extend(web);
    assert_eq!(sorted(pulled), sorted(expected));
    let page = server.pull(&[], &Watermark::start(), 10).unwrap();
    assert!(page.records.is_empty() && !page.more);
}

/// T1 begins and writes; T2 begins, writes and commits; a pull; T1 commits;
/// a pull from the first pull's watermark must bring T1's rows. A watermark
/// that were the highest change seen (a sequence, a timestamp, an xid) would
/// have passed T1's rows while they were invisible.
#[test]
fn rows_committed_out_of_order_are_pulled_after_they_commit() {
    let test = "rows_committed_out_of_order_are_pulled_after_they_commit";
    let Some((db, mut setup)) = team(test) else {
        return;
    };
    // A row T1 will wait on, so its push holds its transaction open after writing.
    let contested = record("p", 0);
    setup.push(std::slice::from_ref(&contested)).unwrap();
    let (_, start) = pull_all(&mut setup, &["p"], &Watermark::start(), 100);

    let mut blocker = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let mut hold = blocker.transaction().unwrap();
    hold.execute(
        "SELECT 1 FROM mnemo_records WHERE gid = $1 FOR UPDATE",
        &[&contested.gid],
    )
    .unwrap();

    // T1: new rows first, then a newer version of the locked row.
    let mut t1 = records("p", 30);
    let mut newer = contested.clone();
    newer.edited_at += 1;
    t1.push(newer.clone());
    let url = db.url.clone();
    let t1_batch = t1.clone();
    let writer = std::thread::spawn(move || connect(&url).push(&t1_batch).unwrap());
    wait_for_lock_waiter(&mut probe(&db.url));

    // T2 begins after T1 wrote, and commits first.
    let t2 = records("p", 20);
    connect(&db.url).push(&t2).unwrap();

    let mut reader = connect(&db.url);
    let (first, watermark) = pull_all(&mut reader, &["p"], &start, 8);

    hold.commit().unwrap();
    let report = writer.join().unwrap();
    assert_eq!(report.stored, 31);
    let (second, _) = pull_all(&mut reader, &["p"], &watermark, 8);

    let mut latest: HashMap<String, mnemo_team::Record> = HashMap::new();
    for record in first.into_iter().chain(second) {
        latest.insert(record.gid.clone(), record);
    }
    for expected in t1.iter().chain(&t2) {
        assert_eq!(
            latest.get(&expected.gid),
            Some(expected),
            "row {} was skipped",
            expected.gid
        );
    }
}

/// A separate connection to watch the others from.
fn probe(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// Wait until a session of this database waits on a row lock.
fn wait_for_lock_waiter(probe: &mut postgres::Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = probe
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the writer never reached the locked row"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The horizon is per database: a long transaction in another team's
/// database on the same server does not delay this team's pulls.
#[test]
fn another_teams_open_transaction_does_not_hold_back_pulls() {
    let Some((_db, mut server)) = team("another_teams_open_transaction_does_not_hold_back_pulls")
    else {
        return;
    };
    let other = mnemo_pgtest::shared("")
        .unwrap()
        .team_database("other_team");
    let mut other_client = postgres::Client::connect(&other.url, postgres::NoTls).unwrap();
    let mut open = other_client.transaction().unwrap();
    open.query_one("SELECT pg_current_xact_id()", &[]).unwrap();

    let pushed = records("p", 5);
    server.push(&pushed).unwrap();
    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 100);
    assert_eq!(sorted(pulled), sorted(pushed));
    open.rollback().unwrap();
}

/// Transaction ids crossing a power of ten (999 → 1000): pages follow xid
/// order, not the order of their decimal text, so paging skips nothing.
#[test]
fn pages_follow_transaction_order_across_a_power_of_ten() {
    let test = "pages_follow_transaction_order_across_a_power_of_ten";
    let Some(cluster) = mnemo_pgtest::private(test) else {
        return;
    };
    let db = cluster.team_database("xid_digits");
    let mut server = connect(&db.url);
    let mut admin = cluster.admin(&db.database);
    let next_power = |xid: u64| 10u64.pow(xid.to_string().len() as u32);
    let first: u64 = admin
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .unwrap()
        .get::<_, String>(0)
        .parse()
        .unwrap();
    let target = next_power(first) - 5;
    let mut xid = first;
    while xid < target {
        xid = admin
            .query_one("SELECT pg_current_xact_id()::text", &[])
            .unwrap()
            .get::<_, String>(0)
            .parse()
            .unwrap();
    }

    // One transaction each: their ids run across the power of ten.
    let pushed = records("p", 10);
    for record in &pushed {
        server.push(std::slice::from_ref(record)).unwrap();
    }
    for limit in [1, 3] {
        let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), limit);
        assert_eq!(pulled, pushed, "pages of {limit}");
    }
}

/// Writers pushing overlapping records concurrently while a reader pulls
/// in small pages the whole time: once the writers are done and a last pull
/// has run, the reader, applying what it pulled by `winner`, holds exactly
/// what the server holds.
#[test]
fn a_reader_pulling_during_concurrent_writes_converges_on_the_servers_state() {
    let test = "a_reader_pulling_during_concurrent_writes_converges_on_the_servers_state";
    let Some((db, mut reader)) = team(test) else {
        return;
    };
    let gids: Vec<String> = (0..60).map(|_| gid()).collect();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (url, gids) = (db.url.clone(), gids.clone());
            std::thread::spawn(move || {
                let mut server = connect(&url);
                for round in 0..25 {
                    let batch: Vec<mnemo_team::Record> = (0..8)
                        .map(|i| {
                            let mut version = record("p", round * 8 + i);
                            version.gid =
                                gids[(writer * 7 + round * 13 + i * 5) % gids.len()].clone();
                            version.origin = format!("machine-{writer}");
                            version.edited_at =
                                1_700_000_000_000 + (round as i64 * 3 + i as i64) % 40;
                            version
                        })
                        .collect();
                    server.push(&batch).unwrap();
                }
            })
        })
        .collect();

    let mut applied: HashMap<String, mnemo_team::Record> = HashMap::new();
    let mut apply = |records: Vec<mnemo_team::Record>| {
        for record in records {
            let current = applied.remove(&record.gid);
            let kept = match current {
                Some(current) => mnemo_team::winner(&current, &record).clone(),
                None => record,
            };
            applied.insert(kept.gid.clone(), kept);
        }
    };
    let mut watermark = Watermark::start();
    while writers.iter().any(|writer| !writer.is_finished()) {
        let (records, next) = pull_all(&mut reader, &["p"], &watermark, 3);
        apply(records);
        watermark = next;
    }
    for writer in writers {
        writer.join().unwrap();
    }
    let (records, _) = pull_all(&mut reader, &["p"], &watermark, 3);
    apply(records);

    let (server_state, _) = pull_all(&mut connect(&db.url), &["p"], &Watermark::start(), 1_000);
    assert_eq!(applied.len(), server_state.len());
    for record in server_state {
        assert_eq!(
            applied.get(&record.gid),
            Some(&record),
            "the reader missed the latest {}",
            record.gid
        );
    }
}
