//! Team sync across a real network partition: the team server stays up
//! while the network between it and the machines silently drops every
//! packet, as a lost Wi-Fi or a dead VPN does. A stopped server (team.rs)
//! refuses connections at once; a partition answers nothing, so a client
//! waiting for an answer waits until its own deadlines end the wait.
//!
//! The machines' `mnemo` processes run in a network namespace of their own
//! (`ip netns exec`), joined to the root namespace by a veth pair; the
//! test's PostgreSQL cluster listens on the root end's address too
//! ([`mnemo_pgtest::private_listening_on`]). Setting the root end down cuts
//! the link: the namespace's end loses its carrier but keeps its route, and
//! since both ends' neighbour entries are fixed (no address resolution that
//! could fail and report "no route to host"), every packet — of an open
//! connection or of one being opened — is dropped without a word to either
//! side. Setting it up heals the link. The test process stays in the root
//! namespace and watches the server over loopback throughout.
//!
//! A namespace needs root and the `ip` command; without them each test
//! prints a `SKIPPED` line and passes, and `MNEMO_REQUIRE_NETNS=1` makes
//! that a failure.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::team::{Machine, bulk_memories, join, machine, remember, shared};
use mnemo_pgtest::{Cluster, TeamDatabase};

/// The variable that turns a missing namespace into a failure.
const REQUIRE_ENV: &str = "MNEMO_REQUIRE_NETNS";
/// Memories in a push or pull the partition cuts through.
const MANY: i64 = 4000;
/// The longest a failed round may take from the cut to its exit: the
/// client's dead-link detection (about 20 s) with room for a loaded machine.
const ROUND_BOUND: Duration = Duration::from_secs(60);
/// The longest a hook may take while the server cannot be reached: hooks
/// never touch the network, so this is a hang check, not a benchmark.
const HOOK_BOUND: Duration = Duration::from_secs(5);
/// The longest a memory written during a partition may take to reach
/// another machine once the link is back, with `mnemo sync` running on both.
const CONVERGENCE_BOUND: Duration = Duration::from_secs(90);

/// The start of the namespaces' names, followed by the test process's id.
const NAMESPACE_PREFIX: &str = "mnemo-part-";

static NETWORKS: AtomicU32 = AtomicU32::new(0);

/// A network namespace for the machines, linked to the root namespace by a
/// veth pair; removed on drop (the namespace, and with it both ends).
struct Network {
    ip: PathBuf,
    namespace: String,
    host_end: String,
    /// The root end's address, where the server listens.
    server: Ipv4Addr,
}

impl Network {
    /// A linked namespace, or `None` after the `SKIPPED` line.
    fn make(test: &str) -> Option<Network> {
        match Network::try_make() {
            Ok(network) => Some(network),
            Err(why) => {
                skip_or_fail(test, &format!("no network namespace ({why})"), REQUIRE_ENV);
                None
            }
        }
    }

    fn try_make() -> Result<Network, String> {
        let ip = find_ip()?;
        remove_stale_namespaces(&ip);
        let n = NETWORKS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let (server, client) = free_subnet(&ip, pid, n)?;
        // Dropped on an error below: whatever was made is removed.
        let network = Network {
            ip,
            namespace: format!("{NAMESPACE_PREFIX}{pid}-{n}"),
            host_end: format!("mph{pid}-{n}"),
            server,
        };
        let peer = format!("mpn{pid}-{n}");
        let (host_mac, peer_mac) = (
            format!("02:00:00:00:{:02x}:01", n % 256),
            format!("02:00:00:00:{:02x}:02", n % 256),
        );
        let (ns, host) = (&network.namespace, &network.host_end);
        for step in [
            format!("netns add {ns}"),
            format!(
                "link add {host} address {host_mac} type veth peer name {peer} address {peer_mac}"
            ),
            format!("link set {peer} netns {ns}"),
            format!("addr add {server}/30 dev {host}"),
            format!("neigh replace {client} lladdr {peer_mac} dev {host} nud permanent"),
            format!("link set {host} up"),
            format!("-n {ns} addr add {client}/30 dev {peer}"),
            format!("-n {ns} neigh replace {server} lladdr {host_mac} dev {peer} nud permanent"),
            format!("-n {ns} link set {peer} up"),
            format!("-n {ns} link set lo up"),
        ] {
            network.run(&step)?;
        }
        Ok(network)
    }

    /// `ip` with `arguments` (words without spaces in them).
    fn run(&self, arguments: &str) -> Result<(), String> {
        let out = Command::new(&self.ip)
            .args(arguments.split_whitespace())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running ip: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!("ip {arguments}: {}", stderr.trim()))
    }

    /// Drop every packet between the namespace and the server, silently.
    fn cut(&self) {
        self.run(&format!("link set {} down", self.host_end))
            .unwrap();
    }

    /// Let packets through again.
    fn heal(&self) {
        self.run(&format!("link set {} up", self.host_end)).unwrap();
    }

    /// A team database on `cluster`, its URL through the link.
    fn team_database(&self, cluster: &Cluster, label: &str) -> TeamDatabase {
        let mut db = cluster.team_database(label);
        db.url = db.url.replace("@127.0.0.1:", &format!("@{}:", self.server));
        db
    }

    /// `mnemo <args>` for `env`, run inside the namespace.
    fn command(&self, env: &Env, args: &[&str]) -> Command {
        let outside = env.command(args);
        let mut command = Command::new(&self.ip);
        command
            .args(["netns", "exec", &self.namespace])
            .arg(outside.get_program())
            .args(outside.get_args())
            .env_clear()
            .envs(outside.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(env.tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `mnemo sync --once` inside the namespace, which must succeed.
    fn sync(&self, env: &Env) {
        let child = self.command(env, &["sync", "--once"]).spawn().unwrap();
        let (out, _) = finish_within(child, ROUND_BOUND, "a round after healing");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Fire every hook of the fixture session inside the namespace, each
    /// checked against the hook contract; the slowest one's time.
    fn replay_session(&self, env: &Env) -> Duration {
        let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
        let mut slowest = Duration::ZERO;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut payload: serde_json::Value = serde_json::from_str(line).unwrap();
            payload["cwd"] = serde_json::json!(env.project.to_str().unwrap());
            let mut child = self.command(env, &["hook"]).spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(payload.to_string().as_bytes()).unwrap();
            drop(stdin);
            let (out, took) = finish_within(child, HOOK_BOUND, "a hook during the partition");
            assert_contract(&out);
            slowest = slowest.max(took);
        }
        slowest
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting the namespace deletes the pair; the root end goes too
        // should it never have been moved.
        let _ = self.run(&format!("netns del {}", self.namespace));
        let _ = self.run(&format!("link del {}", self.host_end));
    }
}

/// The `ip` command: on PATH, else where Debian puts it.
fn find_ip() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join("ip"))
        .find(|ip| ip.is_file())
        .ok_or_else(|| "no `ip` command".to_owned())
}

/// Delete the namespaces of test processes that no longer run (killed
/// before their drop): their veth pairs and addresses go with them.
fn remove_stale_namespaces(ip: &Path) {
    let Ok(out) = Command::new(ip).args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let owner = name
            .strip_prefix(NAMESPACE_PREFIX)
            .and_then(|rest| rest.split('-').next());
        if owner.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = Command::new(ip).args(["netns", "del", name]).output();
        }
    }
}

/// Two addresses of a /30 in 10.77.0.0/16 no interface of this machine
/// has, picked from this process's id so parallel test runs differ.
fn free_subnet(ip: &Path, pid: u32, n: u32) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let out = Command::new(ip)
        .args(["-o", "-4", "addr", "show"])
        .output()
        .map_err(|e| format!("running ip: {e}"))?;
    let taken = String::from_utf8_lossy(&out.stdout).into_owned();
    (0..64u32)
        .map(|attempt| (pid.wrapping_mul(8) + n + attempt * 97) % 16384)
        .map(|block| {
            let [c, d] = u16::try_from(block * 4).unwrap_or(0).to_be_bytes();
            (
                Ipv4Addr::new(10, 77, c, d + 1),
                Ipv4Addr::new(10, 77, c, d + 2),
            )
        })
        .find(|(server, client)| {
            !taken.contains(&format!("inet {server}/"))
                && !taken.contains(&format!("inet {client}/"))
        })
        .ok_or_else(|| "no free address in 10.77.0.0/16".to_owned())
}

/// The network, a cluster of the test's own listening on it and a team
/// database there, or `None` after a `SKIPPED` line.
fn setup(test: &str) -> Option<(Network, Cluster, TeamDatabase)> {
    let network = Network::make(test)?;
    let cluster = mnemo_pgtest::private_listening_on(test, IpAddr::V4(network.server))?;
    let db = network.team_database(&cluster, test);
    Some((network, cluster, db))
}

/// `child`'s output and how long it took to end; fails the test, killing
/// it, when it runs past `limit`.
fn finish_within(child: Child, limit: Duration, what: &str) -> (Output, Duration) {
    let started = Instant::now();
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(limit) {
        Ok(out) => (out.unwrap(), started.elapsed()),
        Err(_) => {
            // SAFETY: a plain kill(2) of a process this test started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("{what} still ran after {limit:?}");
        }
    }
}

/// Wait (polling) until `done`, at most `limit`; how long it took.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
    started.elapsed()
}

/// The global ids of the server's current records.
fn server_gids(cluster: &Cluster, db: &TeamDatabase) -> Vec<String> {
    cluster
        .admin(&db.database)
        .query("SELECT gid FROM mnemo_records", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A look at the server, on one admin connection held for quick looks:
/// its current records (none before the first client made the table) and
/// whether a session of the team's role has a write transaction open.
fn server_watch(cluster: &Cluster, db: &TeamDatabase) -> impl FnMut() -> (i64, bool) {
    let mut admin = cluster.admin(&db.database);
    let role = db.role.clone();
    move || {
        let row = admin
            .query_one(
                "SELECT to_regclass('mnemo_records') IS NOT NULL,
                        EXISTS (SELECT FROM pg_stat_activity
                                WHERE usename = $1 AND backend_xid IS NOT NULL)",
                &[&role],
            )
            .unwrap();
        let (made, writing): (bool, bool) = (row.get(0), row.get(1));
        if !made {
            return (0, writing);
        }
        let records = admin
            .query_one("SELECT count(*) FROM mnemo_records", &[])
            .unwrap()
            .get(0);
        (records, writing)
    }
}

/// The global ids of a machine's shared memories.
fn local_gids(env: &Env) -> BTreeSet<String> {
    let db = env.db();
    let mut stmt = db
        .prepare(
            "SELECT gid FROM observations WHERE gid IS NOT NULL
             UNION ALL SELECT gid FROM summaries WHERE gid IS NOT NULL",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A failed round's one line: `mnemo: `, no password.
fn assert_one_clear_line(out: &Output, db: &TeamDatabase) -> String {
    assert!(!out.status.success(), "the round fails");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mnemo: "), "{stderr}");
    assert!(!stderr.contains(&db.password), "no password: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Every gid once on the server, exactly the machines' shared memories.
fn assert_server_holds_exactly(cluster: &Cluster, db: &TeamDatabase, machines: &[&Machine]) {
    let on_server = server_gids(cluster, db);
    let unique: BTreeSet<String> = on_server.iter().cloned().collect();
    assert_eq!(unique.len(), on_server.len(), "a gid twice on the server");
    for m in machines {
        assert_eq!(
            local_gids(m),
            unique,
            "the server holds what the machine does"
        );
        assert_eq!(
            m.count("SELECT count(*) FROM team_outbox"),
            0,
            "nothing left to send"
        );
    }
}

/// Report a measured time past the harness's capture.
fn report(test: &str, what: &str, took: Duration) {
    let line = format!("{test}: {what}: {:.1} s\n", took.as_secs_f64());
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[test]
fn a_partition_mid_push_fails_the_round_in_bounded_time_and_the_next_converges() {
    let test = "team_partition::push";
    let Some((network, cluster, db)) = setup(test) else {
        return;
    };
    let a = machine(&db, "Ana");
    join(&a);
    bulk_memories(&a, MANY);

    let mut server = server_watch(&cluster, &db);
    let round = network.command(&a, &["sync", "--once"]).spawn().unwrap();
    // The worst moment: batches have arrived and the next one's
    // transaction is open on the server. Looked for without a pause: the
    // window is a few milliseconds per batch.
    let started = Instant::now();
    while !matches!(server(), (records, true) if records > 0) {
        assert!(started.elapsed() < ROUND_BOUND, "no push transaction seen");
    }
    network.cut();
    let cut = Instant::now();
    let (at_cut, _) = server();
    let (out, took) = finish_within(round, ROUND_BOUND, "the round cut off");
    report(test, "from the cut to the failed round's exit", took);
    let line = assert_one_clear_line(&out, &db);
    assert!(line.contains("unreachable"), "{line}");
    let (arrived, _) = server();
    assert!(
        at_cut < MANY && arrived < MANY,
        "the cut landed mid-push ({arrived} of {MANY} arrived)"
    );

    // The server ends the cut-off session by itself, so its open
    // transaction holds no locks the next push would wait on.
    wait_for("the server to end the cut-off session", ROUND_BOUND, || {
        !server().1
    });
    report(
        test,
        "from the cut to the server ending its session",
        cut.elapsed(),
    );

    // Capture goes on, at local speed.
    let slowest = network.replay_session(&a);
    report(test, "slowest hook during the partition", slowest);
    assert!(
        a.count("SELECT count(*) FROM observations") > MANY,
        "the session's memories are kept"
    );

    // `team status` says why, within its connect deadline.
    let asked = network
        .command(&a, &["team", "status", "--json"])
        .spawn()
        .unwrap();
    let (out, took) = finish_within(asked, ROUND_BOUND, "team status");
    report(test, "team status during the partition", took);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["reachable"], false, "{status}");
    assert!(
        status["problem"].as_str().unwrap().contains("unreachable"),
        "{status}"
    );
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{status}"
    );
    assert!(!status.to_string().contains(&db.password), "{status}");

    network.heal();
    let healed = Instant::now();
    network.sync(&a);
    report(test, "the first round after healing", healed.elapsed());
    assert_server_holds_exactly(&cluster, &db, &[&a]);
}

#[test]
fn a_partition_mid_pull_fails_the_round_in_bounded_time_and_the_next_converges() {
    let test = "team_partition::pull";
    let Some((network, cluster, db)) = setup(test) else {
        return;
    };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    bulk_memories(&a, MANY);
    network.sync(&a);
    join(&b);
    let from_ana = || b.count("SELECT count(*) FROM observations WHERE author = 'Ana'");

    let round = network.command(&b, &["sync", "--once"]).spawn().unwrap();
    wait_for("the first page on B", ROUND_BOUND, || from_ana() > 0);
    network.cut();
    let (out, took) = finish_within(round, ROUND_BOUND, "the round cut off");
    report(test, "from the cut to the failed round's exit", took);
    let line = assert_one_clear_line(&out, &db);
    assert!(line.contains("unreachable"), "{line}");
    assert!(
        from_ana() < MANY,
        "the cut landed mid-pull ({} of {MANY})",
        from_ana()
    );

    let slowest = network.replay_session(&b);
    report(test, "slowest hook during the partition", slowest);

    network.heal();
    let healed = Instant::now();
    network.sync(&b);
    report(test, "the first round after healing", healed.elapsed());
    assert_eq!(from_ana(), MANY, "every memory once");
    assert_eq!(
        b.count("SELECT count(DISTINCT gid) FROM observations WHERE author = 'Ana'"),
        MANY
    );
    network.sync(&a);
    assert_server_holds_exactly(&cluster, &db, &[&a, &b]);
    assert_eq!(shared(&a), shared(&b));
}

/// A running `mnemo sync`, stopped like a user's Ctrl-C (then killed) on drop.
struct SyncLoop(Child);

impl SyncLoop {
    /// `mnemo sync` for `env` inside the namespace. What it prints goes to
    /// the test's output (shown when it fails), each line stamped with the
    /// seconds since `t0` and `name`.
    fn start(network: &Network, env: &Env, name: &'static str, t0: Instant) -> SyncLoop {
        let mut child = network
            .command(env, &["sync"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let lines: [Box<dyn Iterator<Item = _> + Send>; 2] =
            [Box::new(stdout.lines()), Box::new(stderr.lines())];
        for output in lines {
            std::thread::spawn(move || {
                for line in output.map_while(Result::ok) {
                    eprintln!("{:.1} s: {name}: {line}", t0.elapsed().as_secs_f64());
                }
            });
        }
        SyncLoop(child)
    }
}

impl Drop for SyncLoop {
    fn drop(&mut self) {
        let pid = self.0.id() as libc::pid_t;
        // SAFETY: a plain kill(2) of a process this test started.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn running_syncs_outlast_a_partition_and_deliver_what_was_written_during_it() {
    let test = "team_partition::loop";
    let Some((network, cluster, db)) = setup(test) else {
        return;
    };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    join(&b);
    let t0 = Instant::now();
    let (mut loop_a, mut loop_b) = (
        SyncLoop::start(&network, &a, "A", t0),
        SyncLoop::start(&network, &b, "B", t0),
    );
    let has = |env: &Env, words: &str| {
        env.count(&format!(
            "SELECT count(*) FROM observations WHERE title LIKE '%{words}%'"
        )) == 1
    };
    remember(&a, &a.project, "the cart rounds totals before the cut");
    wait_for("the first note on B", CONVERGENCE_BOUND, || {
        has(&b, "before the cut")
    });

    network.cut();
    eprintln!("{:.1} s: link cut", t0.elapsed().as_secs_f64());
    let started = Instant::now();
    remember(&a, &a.project, "the cart badge was written during the cut");
    assert!(started.elapsed() < HOOK_BOUND, "local work goes on at once");
    // Long enough for A's round to hit the dead link and fail, and for
    // both loops' idle connections to be found dead.
    let last_error = || {
        a.db()
            .query_row(
                "SELECT count(*) FROM team_state WHERE key = 'last_error'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    let noticed = wait_for("A's loop to notice the dead link", ROUND_BOUND, last_error);
    report(test, "from the write to A's failed round", noticed);
    std::thread::sleep(Duration::from_secs(30).saturating_sub(started.elapsed()));
    for (name, sync) in [("A", &mut loop_a), ("B", &mut loop_b)] {
        assert!(
            sync.0.try_wait().unwrap().is_none(),
            "{name}'s sync keeps running"
        );
    }
    assert!(!has(&b, "during the cut"), "nothing crossed the partition");

    network.heal();
    eprintln!("{:.1} s: link healed", t0.elapsed().as_secs_f64());
    let took = wait_for(
        "the note written during the cut on B",
        CONVERGENCE_BOUND,
        || has(&b, "during the cut"),
    );
    report(test, "from healing to the note on B", took);
    drop((loop_a, loop_b));
    network.sync(&a);
    network.sync(&b);
    assert_server_holds_exactly(&cluster, &db, &[&a, &b]);
    assert_eq!(shared(&a), shared(&b));
}
