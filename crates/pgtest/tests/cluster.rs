//! The harness itself: a cluster starts, takes logins, keeps team databases
//! apart, and leaves nothing behind.

use std::time::Duration;

#[test]
fn a_private_cluster_serves_team_databases_and_is_removed_on_drop() {
    let Some(cluster) =
        mnemo_pgtest::private("a_private_cluster_serves_team_databases_and_is_removed_on_drop")
    else {
        return;
    };
    let team = cluster.team_database("harness");
    let mut client = postgres::Client::connect(&team.url, postgres::NoTls).unwrap();
    let row = client
        .query_one("SELECT current_user::text, current_database()::text", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), team.role);
    assert_eq!(row.get::<_, String>(1), team.database);
    drop(client);

    cluster.stop();
    assert!(postgres::Client::connect(&team.url, postgres::NoTls).is_err());
    cluster.restart().unwrap();
    postgres::Client::connect(&team.url, postgres::NoTls).unwrap();

    let port = cluster.port();
    drop(cluster);
    let gone = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(1),
    );
    assert!(gone.is_err(), "the server still listens after drop");
}
