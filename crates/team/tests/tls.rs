//! TLS as the URL's sslmode asks, against the test cluster's certificate
//! (its own CA; the certificate names `localhost`, not `127.0.0.1`). The
//! team role may log in over TLS only, so a connection that works was
//! encrypted.

use std::path::Path;

use mnemo_pgtest::{Cluster, TeamDatabase};
use mnemo_team::{Error, Server, Watermark};

use crate::common::*;

fn tls_cluster(test: &str) -> Option<(&'static Cluster, &'static Path)> {
    let cluster = mnemo_pgtest::shared(test)?;
    match cluster.tls_ca() {
        Some(ca) => Some((cluster, ca)),
        None => {
            mnemo_pgtest::skip(test, "its TLS certificates could not be made with openssl");
            None
        }
    }
}

fn url(cluster: &Cluster, db: &TeamDatabase, host: &str, query: &str) -> String {
    format!(
        "postgresql://{}:{}@{host}:{}/{}{query}",
        db.role,
        db.password,
        cluster.port(),
        db.database
    )
}

#[test]
fn each_sslmode_connects_as_libpq_would() {
    let Some((cluster, ca)) = tls_cluster("each_sslmode_connects_as_libpq_would") else {
        return;
    };
    let db = cluster.tls_only_team_database("tls_modes");
    let ca = ca.display();

    // Plain TCP is refused for this role: what connects below used TLS.
    let err = Server::connect(
        &config(&url(cluster, &db, "127.0.0.1", "?sslmode=disable")),
        TIMEOUT,
    )
    .err()
    .expect("a TLS-only role logged in without TLS");
    assert!(matches!(err, Error::Auth(_)), "{err}");

    for query in [
        String::new(),
        "?sslmode=prefer".to_owned(),
        "?sslmode=require".to_owned(),
        format!("?sslmode=verify-ca&sslrootcert={ca}"),
        format!("?sslmode=require&sslrootcert={ca}"),
    ] {
        Server::connect(&config(&url(cluster, &db, "127.0.0.1", &query)), TIMEOUT)
            .unwrap_or_else(|e| panic!("{query}: {e}"));
    }

    // Fully verified, and used.
    let verified = url(
        cluster,
        &db,
        "localhost",
        &format!("?sslmode=verify-full&sslrootcert={ca}"),
    );
    let mut server = Server::connect(&config(&verified), TIMEOUT).unwrap();
    let pushed = records("p", 20);
    server.push(&pushed).unwrap();
    let (pulled, _) = pull_all(&mut server, &["p"], &Watermark::start(), 7);
    assert_eq!(sorted(pulled), sorted(pushed));
}

#[test]
fn a_certificate_that_fails_verification_is_a_tls_error() {
    let Some((cluster, ca)) = tls_cluster("a_certificate_that_fails_verification_is_a_tls_error")
    else {
        return;
    };
    let db = cluster.tls_only_team_database("tls_refused");
    let ca = ca.display();
    for (host, query) in [
        // The certificate does not name 127.0.0.1.
        (
            "127.0.0.1",
            format!("?sslmode=verify-full&sslrootcert={ca}"),
        ),
        // The test CA is not among the public roots.
        ("localhost", "?sslmode=verify-full".to_owned()),
        ("localhost", "?sslmode=verify-ca".to_owned()),
    ] {
        let err = Server::connect(&config(&url(cluster, &db, host, &query)), TIMEOUT)
            .err()
            .unwrap_or_else(|| panic!("{host}{query} connected"));
        assert!(matches!(err, Error::Tls(_)), "{host}{query}: {err}");
        assert!(!err.to_string().contains(&db.password), "{err}");
    }
}
