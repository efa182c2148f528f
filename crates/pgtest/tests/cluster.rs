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

/// Set in the child process of the test below.
const CHILD_ENV: &str = "MNEMO_PGTEST_CHILD";

/// The child of `a_killed_test_process_leaves_no_cluster_behind`: starts
/// the shared cluster, says where it is, and waits to be killed.
#[test]
#[ignore = "the child process of a_killed_test_process_leaves_no_cluster_behind"]
fn child_holding_the_shared_cluster() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let Some(cluster) = mnemo_pgtest::shared("child_holding_the_shared_cluster") else {
        return;
    };
    println!(
        "CLUSTER {} {}",
        cluster.port(),
        cluster.directory().display()
    );
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_test_process_leaves_no_cluster_behind() {
    use std::io::BufRead;
    let test = "a_killed_test_process_leaves_no_cluster_behind";
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_holding_the_shared_cluster",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let announced = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("CLUSTER ").map(str::to_owned));
    let Some(announced) = announced else {
        let output = child.wait_with_output().unwrap();
        mnemo_pgtest::skip(
            test,
            &format!(
                "the child started none: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        );
        return;
    };
    let (port, dir) = announced.split_once(' ').unwrap();
    let port: u16 = port.parse().unwrap();
    assert!(std::path::Path::new(dir).exists());

    // SIGKILL: no destructor, no atexit; only the watchdog's pipe closing.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if !listening && !std::path::Path::new(dir).exists() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "20 s after its test process died the cluster still runs (listening: {listening}) or its directory remains"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
