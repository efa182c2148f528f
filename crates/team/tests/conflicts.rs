//! Concurrent versions of one record: the server keeps the version
//! `mnemo_team::winner` picks, every version in its history, and a
//! tombstone and its undo converge.

use mnemo_team::{Record, Watermark, winner};
use serde_json::json;

use crate::common::*;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Values chosen to collide often and to differ only where byte order,
/// case, accents, characters outside the BMP and key order decide.
const ORIGINS: &[&str] = &[
    "a",
    "A",
    "b",
    "é",
    "e\u{301}",
    "ab",
    "a b",
    "Z",
    "\u{1F600}",
];
const TEXTS: &[&str] = &[
    "x",
    "X",
    "é",
    "z",
    "\u{FFFD}",
    "\u{1F600}",
    "",
    "a\"b",
    "a\\b",
    "ä",
];

fn version(rng: &mut Rng, gid: &str) -> Record {
    let mut record = record("p", 1);
    record.gid = gid.to_owned();
    record.edited_at = 1_700_000_000_000 + rng.below(3) as i64;
    record.origin = rng.pick(ORIGINS).to_owned();
    record.deleted = rng.below(4) == 0;
    record.body = match rng.below(4) {
        0 => json!({ "title": rng.pick(TEXTS) }),
        1 => json!({ "title": rng.pick(TEXTS), "facts": [rng.pick(TEXTS)] }),
        2 => json!({ "a": rng.below(3), "title": rng.pick(TEXTS) }),
        _ => json!({ "n": rng.below(3) as f64 / 2.0 }),
    };
    record
}

#[test]
fn the_server_keeps_the_version_winner_picks_whatever_the_order() {
    let Some((_db, mut server)) =
        team("the_server_keeps_the_version_winner_picks_whatever_the_order")
    else {
        return;
    };
    let seed = 0x5eed_0f7e;
    let mut rng = Rng(seed);
    let pairs: Vec<(Record, Record)> = (0..600)
        .map(|_| {
            let gid = gid();
            (version(&mut rng, &gid), version(&mut rng, &gid))
        })
        .collect();
    // A third of the pairs arrive a then b, a third b then a, a third in
    // one batch. On a full tie winner() keeps its first argument, the server
    // what it had: the expectation is winner(earlier, later).
    let (mut first, mut second, mut expected) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (a, b)) in pairs.iter().enumerate() {
        let (earlier, later) = if i % 3 == 1 { (b, a) } else { (a, b) };
        first.push(earlier.clone());
        if i % 3 == 2 {
            first.push(later.clone());
        } else {
            second.push(later.clone());
        }
        expected.push(winner(earlier, later).clone());
    }
    server.push(&first).unwrap();
    server.push(&second).unwrap();

    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 1_000);
    let pulled = sorted(pulled);
    let expected = sorted(expected);
    assert_eq!(pulled.len(), expected.len());
    for (got, want) in pulled.iter().zip(&expected) {
        assert_eq!(
            got, want,
            "the server and winner() disagree (seed {seed:#x})"
        );
    }
}

#[test]
fn every_version_is_kept_in_the_history_once() {
    let Some((db, mut server)) = team("every_version_is_kept_in_the_history_once") else {
        return;
    };
    let first = record("p", 1);
    let mut edited = first.clone();
    edited.edited_at += 10;
    edited.body = json!({ "title": "enriched" });
    let mut stale = first.clone();
    stale.edited_at -= 10;
    server.push(&[first.clone(), edited.clone()]).unwrap();
    server
        .push(&[stale.clone(), first.clone(), edited.clone()])
        .unwrap();

    let mut admin = mnemo_pgtest::shared("").unwrap().admin(&db.database);
    let history: Vec<i64> = admin
        .query(
            "SELECT edited_at FROM mnemo_history WHERE gid = $1 ORDER BY edited_at",
            &[&first.gid],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        history,
        vec![stale.edited_at, first.edited_at, edited.edited_at]
    );
    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 10);
    assert_eq!(pulled, vec![edited]);
}

#[test]
fn a_tombstone_then_its_undo_converge_in_any_arrival_order() {
    let Some((db, mut server)) = team("a_tombstone_then_its_undo_converge_in_any_arrival_order")
    else {
        return;
    };
    let original = record("p", 1);
    let mut tombstone = original.clone();
    tombstone.deleted = true;
    tombstone.edited_at += 1_000;
    let mut undo = original.clone();
    undo.edited_at += 2_000;

    server.push(std::slice::from_ref(&original)).unwrap();
    server.push(std::slice::from_ref(&tombstone)).unwrap();
    let (pulled, watermark) = pull_all(&mut server, &["p"], &Watermark::start(), 10);
    assert_eq!(
        pulled,
        vec![tombstone.clone()],
        "the tombstone is pulled like any change"
    );

    server.push(std::slice::from_ref(&undo)).unwrap();
    let (pulled, watermark) = pull_all(&mut server, &["p"], &watermark, 10);
    assert_eq!(pulled, vec![undo.clone()]);

    // A machine that was offline sends its older tombstone late: nothing changes.
    let mut other = connect(&db.url);
    let report = other.push(&[tombstone.clone(), original.clone()]).unwrap();
    assert_eq!(report.stored, 0);
    assert!(pull_all(&mut server, &["p"], &watermark, 10).0.is_empty());
    assert_eq!(
        pull_all(&mut other, &["p"], &Watermark::start(), 10).0,
        vec![undo]
    );
}

/// Two machines pushing new versions of the same records, listed in
/// opposite orders, at the same time: both pushes commit (the rows are
/// locked in one order whatever the batch's), and the newest versions win.
#[test]
fn concurrent_pushes_of_the_same_records_in_opposite_orders_both_commit() {
    let test = "concurrent_pushes_of_the_same_records_in_opposite_orders_both_commit";
    let Some((db, mut server)) = team(test) else {
        return;
    };
    let base = records("p", 2_000);
    server.push(&base).unwrap();
    let pushers: Vec<_> = ["machine-a", "machine-b"]
        .into_iter()
        .enumerate()
        .map(|(n, origin)| {
            let (url, base) = (db.url.clone(), base.clone());
            std::thread::spawn(move || {
                let mut server = connect(&url);
                for round in 1..=10 {
                    let mut batch: Vec<Record> = base
                        .iter()
                        .map(|record| {
                            let mut version = record.clone();
                            version.origin = origin.to_owned();
                            version.edited_at += round;
                            version
                        })
                        .collect();
                    if n == 1 {
                        batch.reverse();
                    }
                    server
                        .push(&batch)
                        .unwrap_or_else(|e| panic!("{origin}, round {round}: {e}"));
                }
            })
        })
        .collect();
    for pusher in pushers {
        pusher.join().unwrap();
    }
    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 1_000);
    assert_eq!(pulled.len(), 2_000);
    // The last round's versions tie on edited_at; the greater origin wins.
    assert!(
        pulled
            .iter()
            .all(|r| r.origin == "machine-b" && r.edited_at == r.created_at + 10)
    );
}
