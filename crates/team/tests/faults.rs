//! What goes wrong between a client and its server: a newer schema, the
//! server stopped mid-session, a host that never answers, clients
//! migrating at the same moment.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use mnemo_team::{Error, Server, Watermark};

use crate::common::*;

#[test]
fn a_schema_newer_than_the_client_stops_it_before_any_write() {
    let Some((db, mut server)) = team("a_schema_newer_than_the_client_stops_it_before_any_write")
    else {
        return;
    };
    server.push(&records("p", 3)).unwrap();
    let mut admin = mnemo_pgtest::shared("").unwrap().admin(&db.database);
    admin
        .execute(
            "INSERT INTO mnemo_schema_version (version) VALUES (999)",
            &[],
        )
        .unwrap();

    // The session that connected before the upgrade, and a new one.
    let err = server.push(&records("p", 2)).unwrap_err();
    assert!(
        matches!(err, Error::SchemaNewer { server: 999, .. }),
        "{err}"
    );
    match Server::connect(&config(&db.url), TIMEOUT) {
        Err(Error::SchemaNewer { server: 999, known }) => assert!(known < 999),
        Err(other) => panic!("expected SchemaNewer, got {other}"),
        Ok(_) => panic!("connected to a newer schema"),
    }
    let rows: i64 = admin
        .query_one(
            "SELECT (SELECT count(*) FROM mnemo_records) + (SELECT count(*) FROM mnemo_history)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 6, "a client wrote into a schema it does not know");
}

#[test]
fn a_server_stopped_mid_session_is_unreachable_then_a_reconnect_resumes() {
    let test = "a_server_stopped_mid_session_is_unreachable_then_a_reconnect_resumes";
    let Some(cluster) = mnemo_pgtest::private(test) else {
        return;
    };
    let db = cluster.team_database("restart");
    let mut server = connect(&db.url);
    let before = records("p", 10);
    server.push(&before).unwrap();

    cluster.stop();
    let started = Instant::now();
    let err = server.push(&records("p", 5)).unwrap_err();
    assert!(matches!(err, Error::Unreachable(_)), "{err}");
    let err = server
        .pull(&["p".to_owned()], &Watermark::start(), 10)
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable(_)), "{err}");
    let err = server.wait_for_change(Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, Error::Unreachable(_)), "{err}");
    match Server::connect(&config(&db.url), Duration::from_secs(2)) {
        Err(Error::Unreachable(_)) => {}
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("connected to a stopped server"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "errors took {:?}",
        started.elapsed()
    );

    cluster.restart().unwrap();
    let mut server = connect(&db.url);
    let after = records("p", 5);
    server.push(&after).unwrap();
    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 100);
    let mut expected = before;
    expected.extend(after);
    assert_eq!(
        sorted(pulled),
        sorted(expected),
        "the push that failed stored nothing, the others everything"
    );
}

#[test]
fn a_host_that_never_answers_is_unreachable_within_the_timeout() {
    // The kernel completes the TCP handshake; nobody ever speaks.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let result = Server::connect(
        &config(&format!(
            "postgresql://ann:hunter2-secret@127.0.0.1:{port}/team"
        )),
        Duration::from_millis(800),
    );
    let elapsed = started.elapsed();
    match result {
        Err(Error::Unreachable(message)) => {
            assert!(!message.contains("hunter2-secret"), "{message}")
        }
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("connected to a silent listener"),
    }
    assert!(
        elapsed < Duration::from_secs(3),
        "took {elapsed:?} for an 800 ms timeout"
    );

    // And a port nobody listens on: refused at once.
    drop(silent);
    let err = Server::connect(
        &config(&format!("postgresql://ann@127.0.0.1:{port}/team")),
        TIMEOUT,
    )
    .err()
    .expect("connected to a closed port");
    assert!(matches!(err, Error::Unreachable(_)), "{err}");
}

#[test]
fn clients_connecting_at_once_to_a_new_database_migrate_it_once() {
    let Some(cluster) =
        mnemo_pgtest::shared("clients_connecting_at_once_to_a_new_database_migrate_it_once")
    else {
        return;
    };
    let db = cluster.team_database("migrate_race");
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || Server::connect(&config(&url), TIMEOUT).map(|_| ()))
        })
        .collect();
    for client in clients {
        client.join().unwrap().unwrap();
    }
    let versions: Vec<i64> = cluster
        .admin(&db.database)
        .query(
            "SELECT version FROM mnemo_schema_version ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
    assert!(!versions.is_empty());
}

#[test]
fn a_change_wakes_a_waiting_client_and_silence_times_out() {
    let Some((db, mut listener)) = team("a_change_wakes_a_waiting_client_and_silence_times_out")
    else {
        return;
    };
    // Its own pushes are not news to a client.
    listener.push(&records("p", 2)).unwrap();
    let started = Instant::now();
    assert!(
        !listener
            .wait_for_change(Duration::from_millis(300))
            .unwrap()
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    let url = db.url.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        connect(&url).push(&records("p", 1)).unwrap();
    });
    let started = Instant::now();
    assert!(listener.wait_for_change(Duration::from_secs(10)).unwrap());
    assert!(started.elapsed() < Duration::from_secs(5));
    writer.join().unwrap();
}
