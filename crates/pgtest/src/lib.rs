//! Test support: a real, throwaway PostgreSQL cluster.
//!
//! [`shared`] starts one cluster per test process (on first use) in a
//! temporary directory, listening on a free loopback port with password
//! (SCRAM) authentication; each test then makes its own databases and roles
//! with [`Cluster::team_database`], so tests stay independent. [`private`]
//! starts a cluster a test owns alone, for tests that stop and restart the
//! server, and [`private_listening_on`] one that is also reachable on another
//! address of this machine (one end of a veth pair whose other end sits in
//! a network namespace, for tests that cut the network between the two).
//!
//! When no server can be started (PostgreSQL not installed, no unprivileged
//! user to run it as root), the test prints one `SKIPPED: <test>: no
//! PostgreSQL server (<why>)` line past the harness's capture and returns;
//! with `MNEMO_REQUIRE_POSTGRES=1` that is a panic instead.
//!
//! A cluster outlives no test process: a watchdog process holds the read end
//! of a pipe whose write end only the test process has, and when the test
//! process ends however it ends, the pipe closes and the watchdog stops the
//! server and removes its directory. Directories a killed watchdog left
//! behind are removed by the next start.

#![warn(missing_docs)]

use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser initdb creates in every cluster.
pub const ADMIN: &str = "mnemo_admin";

/// The environment variable that turns a missing server into a failure.
pub const REQUIRE_ENV: &str = "MNEMO_REQUIRE_POSTGRES";

/// The group role whose members pg_hba.conf lets in over TLS only.
const TLS_ONLY: &str = "mnemo_tls_only";

/// Prefix of the clusters' directories under the temporary directory.
const DIR_PREFIX: &str = "mnemo-pgtest-";

/// How long a starting server may take to accept logins.
const START_TIMEOUT: Duration = Duration::from_secs(60);

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NAMES: AtomicU32 = AtomicU32::new(0);

/// The cluster shared by every test of this process, started on first use;
/// `None` (after the `SKIPPED` line) when none can be started.
pub fn shared(test: &str) -> Option<&'static Cluster> {
    match SHARED.get_or_init(Cluster::start) {
        Ok(cluster) => Some(cluster),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

/// A cluster of the test's own (stopped and removed on drop); `None` (after
/// the `SKIPPED` line) when none can be started.
pub fn private(test: &str) -> Option<Cluster> {
    match Cluster::start() {
        Ok(cluster) => Some(cluster),
        Err(why) => {
            skip(test, &why);
            None
        }
    }
}

/// Like [`private`], but the server listens on `address` too (an address
/// this machine already has), and pg_hba.conf lets password logins in from
/// the networks this machine is directly on (`samenet`), where clients
/// using that address come from.
pub fn private_listening_on(test: &str, address: IpAddr) -> Option<Cluster> {
    match Cluster::start_with(false, Some(address)) {
        Ok(cluster) => Some(cluster),
        Err(why) => {
            skip(test, &why);
            None
        }
    }
}

/// Report a test that cannot run for want of a server: a panic under
/// `MNEMO_REQUIRE_POSTGRES=1`, otherwise one line on the real stderr.
pub fn skip(test: &str, why: &str) {
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        panic!("{test}: no PostgreSQL server ({why}) and {REQUIRE_ENV}=1");
    }
    let line = format!("SKIPPED: {test}: no PostgreSQL server ({why})\n");
    // Straight to the file descriptor: the test harness captures eprintln!.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A database and the login role that owns it, as a team's admin sets them
/// up (docs/TEAM.md): nobody else may connect to it.
#[derive(Clone, Debug)]
pub struct TeamDatabase {
    /// The database's name.
    pub database: String,
    /// The login role that owns it.
    pub role: String,
    /// The role's password.
    pub password: String,
    /// A connection URL with the password in it.
    pub url: String,
    /// The same URL without the password.
    pub url_without_password: String,
}

/// A running PostgreSQL cluster in a temporary directory.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    admin_password: String,
    /// The unprivileged user the server runs as when the tests run as root.
    run_as: Option<(u32, u32)>,
    /// Whether commits reach the disk (benchmarks) or not (tests).
    durable: bool,
    /// An address the server listens on besides 127.0.0.1.
    also_listen_on: Option<IpAddr>,
    /// The CA that signed the server's certificate, when TLS is on (it is
    /// whenever `openssl` could make the certificates).
    tls_ca: Option<PathBuf>,
    postmaster: Mutex<Option<Child>>,
    /// The watchdog and the write end of its pipe, held for the cluster's life.
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

impl Cluster {
    /// initdb a new cluster and start it, with durability off: commits
    /// never wait for the disk (tests).
    pub fn start() -> Result<Cluster, String> {
        Cluster::start_with(false, None)
    }

    /// A cluster with PostgreSQL's default durability (fsync on every
    /// commit), for benchmarks whose figures should hold for real servers.
    pub fn start_durable() -> Result<Cluster, String> {
        Cluster::start_with(true, None)
    }

    fn start_with(durable: bool, also_listen_on: Option<IpAddr>) -> Result<Cluster, String> {
        let bin = find_bin_dir()?;
        let run_as = unprivileged_user()?;
        remove_stale_clusters();
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            admin_password: random_hex(16),
            run_as,
            durable,
            also_listen_on,
            tls_ca: None,
            postmaster: Mutex::new(None),
            watchdog: Mutex::new(None),
        };
        cluster.start_watchdog()?;
        cluster.init()?;
        cluster.tls_ca = cluster.make_certificates().ok();
        // A free port can be taken between the probe and the server's bind:
        // try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.start_server() {
                Ok(()) => {
                    cluster
                        .admin("postgres")
                        .batch_execute(&format!("CREATE ROLE {TLS_ONLY} NOLOGIN"))
                        .map_err(|e| format!("creating {TLS_ONLY}: {e:?}"))?;
                    return Ok(cluster);
                }
                Err(why) => last_error = why,
            }
        }
        Err(last_error)
    }

    /// The cluster's directory (data, sockets, certificates, log).
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// The port the server listens on (host 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A superuser connection to `database`.
    pub fn admin(&self, database: &str) -> postgres::Client {
        self.admin_config(database)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("admin connection to {database}: {e}"))
    }

    /// A connection URL for `role` to `database` on this cluster.
    pub fn url(&self, role: &str, password: Option<&str>, database: &str) -> String {
        let credentials = match password {
            Some(password) => format!("{role}:{password}"),
            None => role.to_owned(),
        };
        format!(
            "postgresql://{credentials}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// A new database owned by a new login role with a password, that no
    /// other role may connect to. `label` makes the names readable.
    pub fn team_database(&self, label: &str) -> TeamDatabase {
        let name = unique_name(label);
        let password = random_hex(12);
        let mut admin = self.admin("postgres");
        // One statement each: CREATE DATABASE cannot run inside the
        // transaction a multi-statement string makes.
        for statement in [
            format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
            format!("CREATE DATABASE {name} OWNER {name}"),
            format!("REVOKE ALL ON DATABASE {name} FROM PUBLIC"),
        ] {
            admin
                .batch_execute(&statement)
                .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
        }
        TeamDatabase {
            url: self.url(&name, Some(&password), &name),
            url_without_password: self.url(&name, None, &name),
            database: name.clone(),
            role: name,
            password,
        }
    }

    /// The PEM file of the CA that signed the server's certificate (for
    /// `sslrootcert`); `None` when the cluster has no TLS (no `openssl`).
    /// The certificate names `localhost` only, not `127.0.0.1`.
    pub fn tls_ca(&self) -> Option<&Path> {
        self.tls_ca.as_deref()
    }

    /// Like [`Cluster::team_database`], but the role may log in over TLS
    /// only (pg_hba.conf rejects its plain connections).
    pub fn tls_only_team_database(&self, label: &str) -> TeamDatabase {
        let team = self.team_database(label);
        self.admin("postgres")
            .batch_execute(&format!("GRANT {TLS_ONLY} TO {}", team.role))
            .unwrap_or_else(|e| panic!("GRANT {TLS_ONLY}: {e:?}"));
        team
    }

    /// Stop the server (fast shutdown: sessions are cut off), keeping its
    /// data; [`Cluster::restart`] brings it back on the same port.
    pub fn stop(&self) {
        let child = self.lock_postmaster().take();
        if let Some(mut child) = child {
            signal(child.id(), libc::SIGINT);
            let _ = child.wait();
        }
    }

    /// Start the server again after [`Cluster::stop`], on the same port.
    pub fn restart(&self) -> Result<(), String> {
        self.start_server()
    }

    fn lock_postmaster(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.postmaster.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admin_config(&self, database: &str) -> postgres::Config {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(ADMIN)
            .password(&self.admin_password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command run as the server's user.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command.env("LC_ALL", "C").stdin(Stdio::null());
        command
    }

    fn init(&self) -> Result<(), String> {
        let password_file = self.dir.join("admin-password");
        fs::write(&password_file, &self.admin_password).map_err(|e| e.to_string())?;
        for path in [&self.dir, &password_file] {
            self.give_to_server_user(path)?;
        }
        let output = self
            .command("initdb")
            .arg("--pgdata")
            .arg(self.data_dir())
            .args(["--username", ADMIN, "--auth", "scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .args(["--encoding", "UTF8", "--no-locale", "--no-sync"])
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        let _ = fs::remove_file(&password_file);
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                last_line(&String::from_utf8_lossy(&output.stderr))
            ));
        }
        // Members of TLS_ONLY may not log in without TLS; the rest of
        // initdb's rules (SCRAM for everyone) follow.
        let hba = self.data_dir().join("pg_hba.conf");
        let rules = fs::read_to_string(&hba).map_err(|e| e.to_string())?;
        let tls_only = format!(
            "hostnossl all +{TLS_ONLY} 127.0.0.1/32 reject\nhostnossl all +{TLS_ONLY} ::1/128 reject\n"
        );
        let other_networks = match self.also_listen_on {
            Some(_) => "host all all samenet scram-sha-256\n",
            None => "",
        };
        fs::write(&hba, tls_only + &rules + other_networks).map_err(|e| e.to_string())
    }

    /// A CA and a server certificate signed by it for `localhost`, made
    /// with the `openssl` command, in the cluster's directory.
    fn make_certificates(&self) -> Result<PathBuf, String> {
        let tls = self.dir.join("tls");
        fs::create_dir(&tls).map_err(|e| e.to_string())?;
        fs::write(
            tls.join("server.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .map_err(|e| e.to_string())?;
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let steps: [&[&str]; 3] = [
            &[
                &["req", "-x509", "-new"],
                &key[..],
                &["-keyout", "ca.key", "-out", "ca.crt"],
            ]
            .concat(),
            &[
                &["req", "-new"],
                &key[..],
                &["-keyout", "server.key", "-out", "server.csr"],
            ]
            .concat(),
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
            ],
        ];
        for (step, args) in steps.iter().enumerate() {
            let mut command = Command::new("openssl");
            command.args(*args).current_dir(&tls).stdin(Stdio::null());
            match step {
                0 => command.args(["-days", "3", "-subj", "/CN=mnemo-pgtest-ca"]),
                1 => command.args(["-subj", "/CN=localhost"]),
                _ => command.args([
                    "-CAcreateserial",
                    "-days",
                    "3",
                    "-extfile",
                    "server.ext",
                    "-out",
                    "server.crt",
                ]),
            };
            let output = command.output().map_err(|e| format!("openssl: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "openssl: {}",
                    last_line(&String::from_utf8_lossy(&output.stderr))
                ));
            }
        }
        for file in ["server.key", "server.crt"] {
            self.give_to_server_user(&tls.join(file))?;
        }
        self.give_to_server_user(&tls)?;
        fs::set_permissions(tls.join("server.key"), fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        Ok(tls.join("ca.crt"))
    }

    fn start_server(&self) -> Result<(), String> {
        let log_path = self.dir.join("server.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let durability: &[&str] = if self.durable {
            &[]
        } else {
            // A throwaway cluster: durability only costs time here.
            &[
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        };
        let tls: Vec<String> = match &self.tls_ca {
            Some(ca) => {
                let dir = ca.parent().unwrap_or(&self.dir).display().to_string();
                vec![
                    "-c".into(),
                    "ssl=on".into(),
                    "-c".into(),
                    format!("ssl_cert_file={dir}/server.crt"),
                    "-c".into(),
                    format!("ssl_key_file={dir}/server.key"),
                ]
            }
            None => Vec::new(),
        };
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .arg("-c")
            .arg(match self.also_listen_on {
                Some(address) => format!("listen_addresses=127.0.0.1,{address}"),
                None => "listen_addresses=127.0.0.1".to_owned(),
            })
            .args(durability)
            .args(&tls)
            .args(["-c", "max_connections=200"])
            .stdout(log)
            .stderr(log_err)
            // Out of the terminal's process group: Ctrl-C reaches the test
            // process, whose exit the watchdog turns into a clean stop.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        *self.lock_postmaster() = Some(child);
        self.wait_until_ready(&log_path)
    }

    fn wait_until_ready(&self, log_path: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .lock_postmaster()
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten())
            {
                let log = fs::read_to_string(log_path).unwrap_or_default();
                return Err(format!("postgres exited ({status}): {}", last_line(&log)));
            }
            if self
                .admin_config("postgres")
                .connect(postgres::NoTls)
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "postgres did not accept logins within {START_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The watchdog: a shell blocked reading a pipe only this process can
    /// write to. When this process ends the pipe reads end-of-file, and the
    /// watchdog stops the server (whatever its current pid) and removes the
    /// directory.
    fn start_watchdog(&self) -> Result<(), String> {
        const SCRIPT: &str = r#"
            read -r _
            pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
            if [ -n "$pid" ]; then
                kill -INT "$pid" 2>/dev/null
                i=0
                while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
                kill -KILL "$pid" 2>/dev/null
            fi
            rm -rf "$1"
        "#;
        let mut child = Command::new("sh")
            .args(["-c", SCRIPT, "mnemo-pgtest-watchdog"])
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the watchdog: {e}"))?;
        let pipe = child.stdin.take().ok_or("the watchdog has no stdin")?;
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some((child, pipe));
        Ok(())
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), String> {
        let Some((uid, gid)) = self.run_as else {
            return Ok(());
        };
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", path.display()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        // Closing the pipe lets the watchdog finish: it removes the directory.
        let watchdog = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((mut child, pipe)) = watchdog {
            drop(pipe);
            let _ = child.wait();
        }
    }
}

/// The directory holding initdb and postgres: `MNEMO_PG_BIN`, else the
/// `PATH`, else the newest of Debian's `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("MNEMO_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file());
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let debian = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    debian
        .map(|(_, bin)| bin)
        .ok_or_else(|| "initdb not found on PATH nor in /usr/lib/postgresql/*/bin".to_owned())
}

/// PostgreSQL refuses to run as root: as root, the uid and gid of the
/// `postgres` user Debian's package creates.
fn unprivileged_user() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: the name is a valid C string; the returned entry is read
    // before any other passwd call on this thread.
    let entry = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
    if entry.is_null() {
        return Err("running as root and there is no `postgres` user to run it as".to_owned());
    }
    // SAFETY: non-null, just returned by getpwnam.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    let temp = std::env::temp_dir();
    let world_searchable = fs::metadata(&temp)
        .map(|m| m.permissions().mode() & 0o001 != 0)
        .unwrap_or(false);
    if !world_searchable {
        return Err(format!(
            "the temporary directory {} is not reachable by the `postgres` user",
            temp.display()
        ));
    }
    Ok(Some((uid, gid)))
}

/// Remove the clusters of test processes that no longer run (their
/// watchdog was killed too): stop their server, delete their directory.
fn remove_stale_clusters() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if process_alive(owner) {
            continue;
        }
        let pid_file = entry.path().join("data/postmaster.pid");
        if let Some(server) = fs::read_to_string(pid_file)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
        {
            signal(server, libc::SIGKILL);
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// An SQL identifier unique in this process and across processes.
fn unique_name(label: &str) -> String {
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!("t{}_{}_{label}", std::process::id(), unique_suffix())
}

fn unique_suffix() -> u32 {
    NAMES.fetch_add(1, Ordering::Relaxed)
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buffer))
        .expect("reading /dev/urandom");
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}
