//! Credentials and isolation: where the password comes from, that no
//! message shows it, and that one team's role cannot reach another team's
//! memories.

use std::io::Write;

use mnemo_team::{Error, Server, ServerConfig, Watermark};

use crate::common::*;

/// Every way a message can leave the crate, checked for `secret`.
fn assert_hidden(err: &Error, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "the password is in {shown}");
}

#[test]
fn a_wrong_password_is_an_auth_error_that_does_not_show_it() {
    let Some(cluster) =
        mnemo_pgtest::shared("a_wrong_password_is_an_auth_error_that_does_not_show_it")
    else {
        return;
    };
    let db = cluster.team_database("wrong_password");
    let wrong = "Wr0ng-pa55word-7c1d";
    let url = cluster.url(&db.role, Some(wrong), &db.database);
    let err = Server::connect(&config(&url), TIMEOUT)
        .err()
        .expect("logged in with a wrong password");
    assert!(matches!(err, Error::Auth(_)), "{err}");
    assert_hidden(&err, wrong);

    // An expired password: the same kind.
    let mut admin = cluster.admin("postgres");
    admin
        .batch_execute(&format!("ALTER ROLE {} VALID UNTIL '2001-01-01'", db.role))
        .unwrap();
    let err = Server::connect(&config(&db.url), TIMEOUT)
        .err()
        .expect("logged in with an expired password");
    assert!(matches!(err, Error::Auth(_)), "{err}");
    assert_hidden(&err, &db.password);

    // No such role: the same kind.
    let url = cluster.url("nobody_here", Some(wrong), &db.database);
    let err = Server::connect(&config(&url), TIMEOUT)
        .err()
        .expect("logged in as nobody");
    assert!(matches!(err, Error::Auth(_)), "{err}");
    assert_hidden(&err, wrong);
}

#[test]
fn a_url_that_cannot_be_read_does_not_show_its_password() {
    let secret = "s3cret-in-a-bad-url";
    for url in [
        format!("postgresql://ann:{secret}@db.example:notaport/team"),
        format!("postgresql://ann:{secret}@db.example/team?sslmode=sometimes"),
        format!("postgresql://ann:{secret}@db.example/team?nosuchoption=1"),
        format!(
            "postgresql://ann:{secret}@db.example/team?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
        ),
    ] {
        let err = Server::connect(&config(&url), TIMEOUT)
            .err()
            .expect("a bad URL connected");
        assert!(
            matches!(err, Error::Config(_) | Error::Tls(_)),
            "{url}: {err}"
        );
        assert_hidden(&err, secret);
    }
}

#[test]
fn describe_names_the_server_but_not_the_password() {
    let Some((db, server)) = team("describe_names_the_server_but_not_the_password") else {
        return;
    };
    let description = server.describe();
    assert!(description.contains(&db.database), "{description}");
    assert!(description.contains("127.0.0.1"), "{description}");
    assert!(!description.contains(&db.password), "{description}");
}

#[test]
fn the_password_comes_from_password_file_pgpassword_or_pgpass() {
    let Some(cluster) =
        mnemo_pgtest::shared("the_password_comes_from_password_file_pgpassword_or_pgpass")
    else {
        return;
    };
    let db = cluster.team_database("password_sources");
    let dir = tempfile::tempdir().unwrap();

    let file = dir.path().join("password");
    std::fs::write(&file, format!("{}\n", db.password)).unwrap();
    let with_file = ServerConfig {
        url: db.url_without_password.clone(),
        password_file: Some(file.clone()),
    };
    Server::connect(&with_file, TIMEOUT).unwrap();

    let missing = ServerConfig {
        url: db.url_without_password.clone(),
        password_file: Some(dir.path().join("absent")),
    };
    assert!(matches!(
        Server::connect(&missing, TIMEOUT),
        Err(Error::Config(_))
    ));
    // A FIFO nobody writes to would block a reader forever: refused at once.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let blocking = ServerConfig {
        url: db.url_without_password.clone(),
        password_file: Some(fifo),
    };
    assert!(matches!(
        Server::connect(&blocking, TIMEOUT),
        Err(Error::Config(_))
    ));

    // The environment is the process's: only this test reads it, and only
    // when a URL carries no password.
    let pgpass = dir.path().join("pgpass");
    let mut lines = std::fs::File::create(&pgpass).unwrap();
    writeln!(
        lines,
        "127.0.0.1:{}:other_db:{}:wrong",
        cluster.port(),
        db.role
    )
    .unwrap();
    writeln!(
        lines,
        "127.0.0.1:*:{}:{}:{}",
        db.database, db.role, db.password
    )
    .unwrap();
    // SAFETY: no other thread of this test binary reads PGPASSFILE or PGPASSWORD.
    unsafe { std::env::set_var("PGPASSFILE", &pgpass) };
    let from_pgpass = Server::connect(&config(&db.url_without_password), TIMEOUT);
    // PGPASSWORD comes before the file, which now holds a wrong password.
    std::fs::write(&pgpass, "*:*:*:*:wrong\n").unwrap();
    // SAFETY: as above.
    unsafe { std::env::set_var("PGPASSWORD", &db.password) };
    let from_env = Server::connect(&config(&db.url_without_password), TIMEOUT);
    // SAFETY: as above.
    unsafe {
        std::env::remove_var("PGPASSWORD");
        std::env::remove_var("PGPASSFILE");
    }
    from_pgpass.unwrap_or_else(|e| panic!("~/.pgpass: {e}"));
    from_env.unwrap_or_else(|e| panic!("PGPASSWORD: {e}"));
}

#[test]
fn one_teams_role_cannot_reach_another_teams_memories() {
    let Some(cluster) = mnemo_pgtest::shared("one_teams_role_cannot_reach_another_teams_memories")
    else {
        return;
    };
    let red = cluster.team_database("red");
    let blue = cluster.team_database("blue");
    let secret_plan = records("github.com/red/plans", 5);
    connect(&red.url).push(&secret_plan).unwrap();
    connect(&blue.url)
        .push(&records("github.com/blue/app", 5))
        .unwrap();

    for (intruder, target) in [(&blue, &red), (&red, &blue)] {
        // The intruder's own credentials, the other team's database.
        let url = cluster.url(&intruder.role, Some(&intruder.password), &target.database);
        let err = Server::connect(&config(&url), TIMEOUT)
            .err()
            .expect("connected to another team's database");
        assert!(matches!(err, Error::Auth(_)), "{err}");
        let raw = postgres::Client::connect(&url, postgres::NoTls);
        assert!(
            raw.is_err(),
            "{} reached {}",
            intruder.role,
            target.database
        );
    }

    // A team role is no superuser and cannot make itself one.
    let mut blue_raw = postgres::Client::connect(&blue.url, postgres::NoTls).unwrap();
    let super_user: bool = blue_raw
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!super_user);
    assert!(
        blue_raw
            .batch_execute(&format!("ALTER ROLE {} SUPERUSER", blue.role))
            .is_err()
    );
    let (pulled, _) = pull_all(
        &mut connect(&blue.url),
        &["github.com/red/plans"],
        &Watermark::start(),
        10,
    );
    assert!(pulled.is_empty(), "red's memories are in blue's database");
}
