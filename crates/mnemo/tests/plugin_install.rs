//! The plugin installs its own binary from npm: the packages
//! `scripts/npm-packages.sh` builds from the binary under test, published to
//! a real npm registry (verdaccio, pinned in `tests/registry/`, on loopback),
//! fetched by the plugin's launcher (`plugin/bin/mnemo`) with the real npm,
//! in a HOME where neither `mnemo` nor a Rust toolchain is on PATH.
//!
//! The end-to-end tests run the real Claude Code CLI (as `claude_code.rs`
//! does) from `claude plugin marketplace add` to the session's events in
//! the store; the others run the launcher alone, the way a hook does.
//! Without verdaccio (`npm ci` in `tests/registry/`) or npm, a test prints a
//! SKIPPED line to stderr and passes, unless `MNEMO_REQUIRE_REGISTRY=1`
//! (set by `.ci/run`).

use crate::common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use common::claude_code::{self, ClaudeCode, HookTiming, claude_or_skip, hook_timings};
use common::messages_api::{Script, Step};
use serde_json::{Value, json};

/// Set to `1` (as `.ci/run` does) to make a missing registry a failure.
const REQUIRE_ENV: &str = "MNEMO_REQUIRE_REGISTRY";

/// The version of the binary, the packages and the plugin.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long an install from the loopback registry (and the replay of what
/// was spooled meanwhile) may take before it counts as hung.
const INSTALL_BOUND: Duration = Duration::from_secs(90);

/// The most a hook may take while the binary is missing: it spools its
/// event and exits (a hang check; it takes milliseconds).
const SPOOLING_HOOK_BOUND_MS: f64 = 3000.0;

/// The commands the launcher and its installer use.
const LAUNCHER_TOOLS: &[&str] = &[
    "sh", "env", "cat", "chmod", "date", "find", "grep", "head", "mkdir", "mv", "rm", "rmdir",
    "sed", "setsid", "sleep", "tr", "uname",
];

/// What else a session needs: npm, and what Claude Code and its Bash tool run.
const SESSION_TOOLS: &[&str] = &["node", "npm", "bash", "git", "ls", "which"];

fn registry_package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry")
}

fn plugin_dir() -> PathBuf {
    claude_code::repo_root().join("plugin")
}

/// verdaccio, or why it cannot run here.
fn verdaccio_program() -> Result<PathBuf, String> {
    let program = registry_package_dir().join("node_modules/.bin/verdaccio");
    if !program.exists() {
        return Err(format!(
            "verdaccio is not installed (run `npm ci` in {})",
            registry_package_dir().display()
        ));
    }
    match Command::new("npm").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(program),
        _ => Err("npm is not on PATH".into()),
    }
}

/// verdaccio, or `None` after saying visibly why the test is skipped.
fn registry_or_skip(test: &str) -> Option<PathBuf> {
    match verdaccio_program() {
        Ok(program) => Some(program),
        Err(why) => {
            common::skip_or_fail(test, &why, REQUIRE_ENV);
            None
        }
    }
}

/// verdaccio and Claude Code, or `None` after saying why the test is skipped.
fn registry_and_claude_or_skip(test: &str) -> Option<(PathBuf, PathBuf)> {
    let verdaccio = registry_or_skip(test)?;
    Some((verdaccio, claude_or_skip(test)?))
}

/// This machine as npm's platform packages name it.
fn npm_platform() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        (os, arch) => panic!("no npm package is built for {os}-{arch}"),
    }
}

/// Run `command`; it must succeed. Its stdout.
fn run_ok(command: &mut Command) -> String {
    let out = command.stdin(Stdio::null()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packages built by `scripts/npm-packages.sh` and packed by `npm pack`.
struct Packages {
    /// The binary the platform package holds.
    binary: PathBuf,
    /// Tarballs in publish order: the platform package, then the main one.
    tarballs: Vec<PathBuf>,
}

/// Build and pack the packages of `binary` under `dir`; with `tamper`, the
/// platform package's binary is changed after checksums.json was written.
fn build_packages(dir: &Path, binary: &Path, tamper: bool) -> Packages {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let platform = npm_platform();
    let script = claude_code::repo_root().join("scripts/npm-packages.sh");
    let folders = run_ok(Command::new(script).args([
        "--out".as_ref(),
        dir.join("packages").as_os_str(),
        VERSION.as_ref(),
        format!("{platform}={}", binary.display()).as_ref(),
    ]));
    let folders: Vec<PathBuf> = folders.lines().map(PathBuf::from).collect();
    assert_eq!(folders.len(), 2, "{folders:?}");
    let packed_binary = folders[0].join("bin/mnemo");
    if tamper {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&packed_binary)
            .unwrap();
        file.write_all(b"\0tampered").unwrap();
    }
    let tarballs = folders
        .iter()
        .map(|folder| {
            let name = run_ok(
                Command::new("npm")
                    .args(["pack", "--silent", "--pack-destination"])
                    .arg(dir)
                    .arg(folder)
                    .env("npm_config_cache", dir.join("npm-cache")),
            );
            dir.join(name.trim())
        })
        .collect();
    Packages {
        binary: packed_binary,
        tarballs,
    }
}

/// Where the packages of the binary under test are built, once per run.
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-install")
}

/// The binary under test without its debug sections (`strip`), which are a
/// debug build's bulk: the same program, published in a fifth of the time.
fn published_binary() -> &'static Path {
    static STRIPPED: OnceLock<PathBuf> = OnceLock::new();
    STRIPPED.get_or_init(|| {
        std::fs::create_dir_all(build_dir()).unwrap();
        let stripped = build_dir().join("mnemo");
        run_ok(
            Command::new("strip")
                .arg("-o")
                .arg(&stripped)
                .arg(claude_code::MNEMO),
        );
        stripped
    })
}

/// The packages of the binary under test.
fn packages() -> &'static Packages {
    static PACKAGES: OnceLock<Packages> = OnceLock::new();
    PACKAGES.get_or_init(|| build_packages(&build_dir().join("good"), published_binary(), false))
}

/// A verdaccio on a free loopback port, its storage in a temp dir, no
/// uplinks, anyone may publish; stopped on drop.
struct Registry {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start(verdaccio: &Path) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yaml");
        let storage = dir.path().join("storage");
        std::fs::write(
            &config,
            format!(
                "storage: {storage}\n\
                 auth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: -1\n\
                 uplinks: {{}}\n\
                 packages:\n  '**':\n    access: $anonymous\n    publish: $anonymous\n\
                 max_body_size: 500mb\n\
                 log: {{ type: stdout, format: pretty, level: error }}\n",
                storage = storage.display(),
                htpasswd = dir.path().join("htpasswd").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("verdaccio.log")).unwrap();
        let mut child = Command::new(verdaccio)
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn verdaccio");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "verdaccio exited ({status}): {}",
                    std::fs::read_to_string(dir.path().join("verdaccio.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "verdaccio did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            dir,
        }
    }

    /// `npm publish` each tarball, in order (anonymous: the token is any word).
    fn publish(&self, packages: &Packages) {
        let host = self.url.trim_start_matches("http:");
        let npmrc = self.dir.path().join("publish.npmrc");
        std::fs::write(&npmrc, format!("{host}:_authToken=anonymous\n")).unwrap();
        for tarball in &packages.tarballs {
            run_ok(
                Command::new("npm")
                    .args(["publish", "--loglevel=error", "--registry", &self.url])
                    .arg("--userconfig")
                    .arg(&npmrc)
                    .arg(tarball)
                    .env("npm_config_cache", self.dir.path().join("npm-cache")),
            );
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (at the moment it is returned).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory of symlinks to `tools` (found on the test's PATH), plus
/// `extra` (name, target): a PATH with just what is named on it, and
/// neither mnemo nor cargo nor rustc.
fn tool_path(dir: &Path, tools: &[&str], extra: &[(&str, &Path)]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let search = std::env::var_os("PATH").unwrap_or_default();
    for tool in tools {
        let target = std::env::split_paths(&search)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is not on PATH"));
        std::os::unix::fs::symlink(target, dir.join(tool)).unwrap();
    }
    for (name, target) in extra {
        std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    }
    let path = dir.to_str().unwrap().to_string();
    for absent in ["mnemo", "cargo", "rustc"] {
        let found = Command::new(dir.join("sh"))
            .args(["-c", &format!("command -v {absent}")])
            .env_clear()
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(!found.status.success(), "{absent} is on the test's PATH");
    }
    path
}

/// The launcher's data directory, as Claude Code names it for this plugin.
fn plugin_data(home: &Path) -> PathBuf {
    home.join(".claude/plugins/data/mnemo-mnemo")
}

/// Wait until no installer runs in `data` and no event waits in its spool.
fn wait_for_installer(data: &Path) {
    let started = Instant::now();
    while data.join("install.lock").exists() || data.join("spool").exists() {
        assert!(
            started.elapsed() < INSTALL_BOUND,
            "the installer still runs after {INSTALL_BOUND:?} (lock held by {:?}, spooled {:?}): {}",
            std::fs::read_to_string(data.join("install.lock/pid")).ok(),
            std::fs::read_dir(data.join("spool"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                .ok(),
            std::fs::read_to_string(data.join("install.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The installed binary of this version in `data`.
fn installed_binary(data: &Path) -> PathBuf {
    data.join(format!("bin/mnemo-{VERSION}"))
}

fn sha256_hex(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_string()
}

/// The binary in `data` is the published one, and the installer's record
/// says it verified exactly that.
fn assert_installed(data: &Path, packages: &Packages) {
    let installed = installed_binary(data);
    assert!(
        std::fs::read(&installed).unwrap() == std::fs::read(&packages.binary).unwrap(),
        "{} is not the published binary",
        installed.display()
    );
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("installed.json")).unwrap())
            .unwrap();
    assert_eq!(record["version"], VERSION);
    assert_eq!(record["platform"], npm_platform());
    assert_eq!(record["sha256"], sha256_hex(&packages.binary), "{record}");
    assert!(!data.join("install-failed").exists());
}

/// Every `systemMessage` the session's hooks printed (from
/// `--output-format stream-json --verbose`).
fn system_messages(stream: &str) -> Vec<String> {
    stream
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["subtype"] == "hook_response")
        .filter_map(|m| {
            let output: Value = serde_json::from_str(m["stdout"].as_str()?.trim()).ok()?;
            Some(output["systemMessage"].as_str()?.to_string())
        })
        .collect()
}

/// The stored events of the Claude Code session `session`, hook names in
/// order.
fn stored_hooks(cc: &ClaudeCode, session: &str) -> Vec<String> {
    let db = cc.db();
    let mut statement = db
        .prepare(
            "SELECT e.hook FROM events e JOIN sessions s ON s.id = e.session_id
             WHERE s.agent_session_id = ?1 ORDER BY e.created_at, e.id",
        )
        .unwrap();
    statement
        .query_map([session], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The session id each headless run got, in order (from the `init` line).
fn session_id(stream: &str) -> String {
    stream
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|m| m["type"] == "system" && m["subtype"] == "init")
        .and_then(|m| m["session_id"].as_str().map(String::from))
        .unwrap_or_else(|| panic!("no init line in {stream}"))
}

const WORK_PROMPT: &str = "Look around this project";
const SEARCH_TOOL: &str = "mcp__plugin_mnemo_mnemo__search";

/// A HOME with Claude Code, a mock API that answers `WORK_PROMPT` with a
/// Bash call, a Read, and a call of mnemo's search tool, `.npmrc` pointing
/// at `registry`, and a PATH with only what is needed.
fn plugin_home(claude: PathBuf, registry: &str) -> ClaudeCode {
    let mut cc = ClaudeCode::new(claude.clone());
    // No enrichment: the LLM settings `ClaudeCode` adds are not this test's.
    cc.envs.retain(|(key, _)| !key.starts_with("MNEMO_LLM_"));
    let path = tool_path(
        &cc.tmp.path().join("path"),
        &[LAUNCHER_TOOLS, SESSION_TOOLS].concat(),
        &[("claude", &claude)],
    );
    cc.envs.push(("PATH".into(), path));
    set_registry(&cc, registry);
    std::fs::write(cc.project.join("README.md"), "# demo\nPrints greetings.\n").unwrap();
    let project = cc.project.to_str().unwrap().to_string();
    cc.api.script(Script {
        prompt: WORK_PROMPT.into(),
        steps: vec![
            Step::tool(
                "Bash",
                json!({"command": "ls", "description": "List the project"}),
            ),
            Step::tool("Read", json!({"file_path": format!("{project}/README.md")})),
            Step::tool(
                "ToolSearch",
                json!({"query": format!("select:{SEARCH_TOOL}"), "max_results": 5}),
            ),
            Step::tool(SEARCH_TOOL, json!({"query": "greetings"})),
            Step::Say("It prints greetings.".into()),
        ],
    });
    cc
}

fn set_registry(cc: &ClaudeCode, registry: &str) {
    std::fs::write(cc.home.join(".npmrc"), format!("registry={registry}\n")).unwrap();
}

/// Marketplace add and plugin install of a copy of this repository's
/// marketplace and plugin.
fn add_plugin(cc: &ClaudeCode) {
    let market = cc.tmp.path().join("marketplace");
    copy_dir(
        &claude_code::repo_root().join(".claude-plugin"),
        &market.join(".claude-plugin"),
    );
    copy_dir(&plugin_dir(), &market.join("plugin"));
    let market = market.to_str().unwrap();
    cc.ok(&cc.claude, &["plugin", "marketplace", "add", market]);
    cc.ok(&cc.claude, &["plugin", "install", "mnemo@mnemo"]);
}

/// Copy a directory tree (file modes kept).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One headless session of `WORK_PROMPT` that must succeed, every hook
/// within the spooling bound when `spooling`; its stream-json output.
fn work_session(cc: &ClaudeCode, spooling: bool) -> String {
    let run = cc.session(
        WORK_PROMPT,
        &["--output-format", "stream-json", "--verbose"],
    );
    assert!(
        run.status.success(),
        "claude -p: {}\n{}",
        run.stdout,
        run.stderr
    );
    if spooling {
        for timing in launcher_timings(cc) {
            assert!(
                timing.millis < SPOOLING_HOOK_BOUND_MS,
                "{} took {} ms while the binary was missing",
                timing.event,
                timing.millis
            );
        }
    }
    run.stdout
}

/// How long each run of the plugin's launcher took in the latest session,
/// as Claude Code's debug log reports it.
fn launcher_timings(cc: &ClaudeCode) -> Vec<HookTiming> {
    let mut logs: Vec<_> = std::fs::read_dir(cc.debug_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    let log = std::fs::read_to_string(logs.last().unwrap()).unwrap();
    let timings: Vec<HookTiming> = hook_timings(&log)
        .into_iter()
        .filter(|t| t.command.contains("bin/mnemo"))
        .collect();
    assert!(
        !timings.is_empty(),
        "no launcher in the debug log's hook timings"
    );
    timings
}

/// When the installed binary appeared in `data` and when the first event
/// arrived in the store, polled from a thread started at `start` (read-only
/// opens; the file may not exist yet).
fn watch_install(
    data: PathBuf,
    db: PathBuf,
    start: Instant,
) -> std::thread::JoinHandle<(Option<Duration>, Option<Duration>)> {
    std::thread::spawn(move || {
        let mut installed = None;
        while start.elapsed() < Duration::from_secs(300) {
            if installed.is_none() && installed_binary(&data).exists() {
                installed = Some(start.elapsed());
            }
            let count = rusqlite::Connection::open_with_flags(
                &db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .and_then(|c| c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0)));
            if matches!(count, Ok(n) if n > 0) {
                return (installed, Some(start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (installed, None)
    })
}

/// The tool results the model got back from mnemo's search tool.
fn search_results(cc: &ClaudeCode) -> Vec<String> {
    cc.api
        .requests()
        .iter()
        .filter(|r| r.is_messages() && !r.is_structured())
        .flat_map(|r| {
            let calls: Vec<String> = r.body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .filter(|b| b["type"] == "tool_use" && b["name"] == SEARCH_TOOL)
                .map(|b| b["id"].as_str().unwrap_or_default().to_string())
                .collect();
            r.body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .filter(|b| {
                    b["type"] == "tool_result"
                        && calls.iter().any(|id| b["tool_use_id"].as_str() == Some(id))
                })
                .map(|b| b["content"].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// From a fresh HOME with only Claude Code and npm: marketplace add, plugin
/// install, one session. The launcher installs the published binary,
/// verified, the session's events reach the store (replayed from the spool,
/// in order), mnemo's MCP tool answers, and the route's time is reported.
#[test]
fn a_fresh_home_gets_mnemo_from_the_plugin_alone() {
    let Some((verdaccio, claude)) = registry_and_claude_or_skip(
        "plugin_install::a_fresh_home_gets_mnemo_from_the_plugin_alone",
    ) else {
        return;
    };
    let registry = Registry::start(&verdaccio);
    let packages = packages();
    registry.publish(packages);
    let cc = plugin_home(claude, &registry.url);
    let data = plugin_data(&cc.home);

    let start = Instant::now();
    let watch = watch_install(data.clone(), cc.mnemo_home.join("mnemo.db"), start);
    add_plugin(&cc);
    let added = start.elapsed();
    let stream = work_session(&cc, true);
    let session_done = start.elapsed();
    let (binary_installed, first_event) = watch.join().unwrap();
    wait_for_installer(&data);

    let messages = system_messages(&stream);
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("mnemo: installing its binary from npm")),
        "the user is told the binary is being installed: {messages:?}"
    );
    assert_installed(&data, packages);
    let session = session_id(&stream);
    let hooks = stored_hooks(&cc, &session);
    assert_eq!(
        hooks.first().map(String::as_str),
        Some("SessionStart"),
        "{hooks:?}"
    );
    for hook in ["UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"] {
        assert!(hooks.iter().any(|h| h == hook), "{hook} in {hooks:?}");
    }
    let tools = hooks.iter().filter(|h| *h == "PostToolUse").count();
    assert!(tools >= 3, "Bash, Read and search were recorded: {hooks:?}");
    let results = search_results(&cc);
    // Its answer on a store with events but no memory yet, or a result line.
    assert!(
        !results.is_empty()
            && results
                .iter()
                .all(|r| r.contains("No memories") || r.contains(" | ")),
        "mnemo's search tool answered through the plugin: {results:?}"
    );
    let first_event = first_event.expect("an event reached the store");
    let binary_installed = binary_installed.expect("the binary was installed first");
    let slowest = launcher_timings(&cc)
        .into_iter()
        .max_by(|a, b| a.millis.total_cmp(&b.millis))
        .unwrap();
    // Straight to stderr, which the test harness does not capture.
    let report = format!(
        "plugin route from a fresh HOME: marketplace add + plugin install {:.1} s, \
         binary installed {:.1} s, first event in the store {:.1} s, session done {:.1} s \
         (slowest hook {} {:.0} ms)\n",
        added.as_secs_f64(),
        binary_installed.as_secs_f64(),
        first_event.as_secs_f64(),
        session_done.as_secs_f64(),
        slowest.event,
        slowest.millis
    );
    let _ = std::io::stderr().write_all(report.as_bytes());
}

/// With the registry unreachable, every hook exits 0 at once, the session
/// completes and the user is told why and what to do; nothing is installed.
/// With the registry back, the next session installs and replays every
/// spooled event.
#[test]
fn an_unreachable_registry_costs_nothing_and_the_events_wait() {
    let Some((verdaccio, claude)) = registry_and_claude_or_skip(
        "plugin_install::an_unreachable_registry_costs_nothing_and_the_events_wait",
    ) else {
        return;
    };
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let cc = plugin_home(claude, &closed);
    let data = plugin_data(&cc.home);
    add_plugin(&cc);

    let before = failure_mark(&data);
    let first = work_session(&cc, true);
    wait_for_failed_attempt(&data, before);
    let before = failure_mark(&data);
    let second = work_session(&cc, true);
    wait_for_failed_attempt(&data, before);
    let reason = std::fs::read_to_string(data.join("install-failed")).unwrap();
    assert!(
        reason.contains(&closed) && reason.contains("npm config get registry"),
        "the failure names the registry and the fix: {reason}"
    );
    let messages = system_messages(&second);
    assert!(
        messages.iter().any(|m| m.contains(reason.trim())),
        "the next session tells the user: {messages:?}"
    );
    assert!(!installed_binary(&data).exists(), "nothing is installed");
    assert!(!cc.mnemo_home.join("mnemo.db").exists(), "nothing ran");

    // What an older plugin version left: replaced by this version's install.
    std::fs::create_dir_all(data.join("bin")).unwrap();
    let leftovers = [data.join("bin/mnemo-0.0.1"), data.join("path-0.0.1")];
    for leftover in &leftovers {
        std::fs::write(leftover, "older").unwrap();
    }

    let registry = Registry::start(&verdaccio);
    let packages = packages();
    registry.publish(packages);
    set_registry(&cc, &registry.url);
    let third = work_session(&cc, false);
    wait_for_installer(&data);
    assert_installed(&data, packages);
    for leftover in &leftovers {
        assert!(!leftover.exists(), "{} is removed", leftover.display());
    }
    let mut previous_end = 0;
    for stream in [&first, &second, &third] {
        let session = session_id(stream);
        let hooks = stored_hooks(&cc, &session);
        assert_eq!(
            hooks.first().map(String::as_str),
            Some("SessionStart"),
            "{hooks:?}"
        );
        assert!(hooks.iter().any(|h| h == "SessionEnd"), "{hooks:?}");
        // Dated when they happened: each session's events after the last's.
        let (start, end): (i64, i64) = cc
            .db()
            .query_row(
                "SELECT min(e.created_at), max(e.created_at) FROM events e
                 JOIN sessions s ON s.id = e.session_id WHERE s.agent_session_id = ?1",
                [&session],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(start > previous_end, "sessions keep their own times");
        previous_end = end;
    }
}

/// Which failure `install-failed` records: its inode and time (each failure
/// writes a new file in its place).
type FailureMark = Option<(u64, SystemTime)>;

fn failure_mark(data: &Path) -> FailureMark {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(data.join("install-failed")).ok()?;
    Some((metadata.ino(), metadata.modified().ok()?))
}

/// Wait for an installer to give up with a failure other than `before`.
fn wait_for_failed_attempt(data: &Path, before: FailureMark) {
    let started = Instant::now();
    while data.join("install.lock").exists() || failure_mark(data).is_none_or(|m| Some(m) == before)
    {
        assert!(
            started.elapsed() < INSTALL_BOUND,
            "no failed attempt recorded after {INSTALL_BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The launcher run as Claude Code runs a hook: `event` on stdin, the
/// plugin's data directory in `CLAUDE_PLUGIN_DATA`, only `path` on PATH.
fn launch(home: &Path, path: &str, args: &[&str], stdin: &Value) -> Output {
    let mut child = Command::new(plugin_dir().join("bin/mnemo"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("MNEMO_HOME", home.join(".mnemo"))
        .env("CLAUDE_PLUGIN_DATA", plugin_data(home))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the launcher");
    let written = child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.to_string().as_bytes());
    // Commands other than hooks may exit without reading it.
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        assert_ne!(args.first(), Some(&"hook"), "a hook reads its event");
    }
    child.wait_with_output().unwrap()
}

/// A SessionStart run of the launcher that spooled its event: exit 0,
/// nothing on stderr, and on stdout one JSON line whose `systemMessage` (the
/// user's line, returned) is all it says.
fn assert_spooled(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    let line = shown["systemMessage"].as_str().unwrap().to_string();
    assert_eq!(shown, json!({ "systemMessage": line }));
    assert!(line.starts_with("mnemo: "), "{line}");
    line
}

/// A SessionStart event of session `session` in `cwd`.
fn session_start(session: &str, cwd: &Path) -> Value {
    json!({"session_id": session, "hook_event_name": "SessionStart", "source": "startup",
           "cwd": cwd, "transcript_path": cwd.join("t.jsonl")})
}

/// A downloaded binary that does not match checksums.json is refused:
/// nothing is installed, and the user's line says why.
#[test]
fn a_tampered_binary_is_refused() {
    let test = "plugin_install::a_tampered_binary_is_refused";
    let Some(verdaccio) = registry_or_skip(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let tampered = build_packages(&tmp.path().join("tampered"), published_binary(), true);
    let registry = Registry::start(&verdaccio);
    registry.publish(&tampered);
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".npmrc"), format!("registry={}\n", registry.url)).unwrap();
    let path = tool_path(
        &tmp.path().join("path"),
        &[LAUNCHER_TOOLS, &["node", "npm"]].concat(),
        &[],
    );
    let data = plugin_data(&home);
    let event = session_start("tampered-1", tmp.path());

    let before = failure_mark(&data);
    assert_spooled(&launch(&home, &path, &["hook", "session-start"], &event));
    wait_for_failed_attempt(&data, before);
    let reason = std::fs::read_to_string(data.join("install-failed")).unwrap();
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert!(!installed_binary(&data).exists(), "nothing is installed");
    assert!(!data.join("installed.json").exists());
    assert!(!home.join(".mnemo").exists(), "nothing ran");

    let before = failure_mark(&data);
    let line = assert_spooled(&launch(&home, &path, &["hook", "session-start"], &event));
    assert!(
        line.contains("refused the downloaded binary: checksum mismatch"),
        "{line}"
    );
    wait_for_failed_attempt(&data, before);
    assert!(!installed_binary(&data).exists(), "refused again");
}

/// A fake `mnemo` in `dir` that reports `version` and, run for anything
/// else, writes its arguments to `dir/ran`.
fn fake_mnemo(dir: &Path, version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let program = dir.join("mnemo");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && echo 'mnemo {version}' && exit 0\n\
             echo \"$@\" >> '{}'\n",
            dir.join("ran").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    program
}

/// The hooks stored in `home`'s store, in order.
fn stored_events(home: &Path) -> Vec<(String, i64)> {
    let db = rusqlite::Connection::open(home.join(".mnemo/mnemo.db")).unwrap();
    let mut statement = db
        .prepare("SELECT hook, created_at FROM events ORDER BY created_at, id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The launcher's order without npm: the installed binary first; else a
/// `mnemo` on PATH of the plugin's version or newer (remembered), never an
/// older one; else the event is spooled, the user told, and the install's
/// failure ("npm is not on PATH") shown at the next session, or by the MCP
/// server, which waited for it. A binary found later replays the spooled
/// events in order, dated when they arrived.
#[test]
fn the_launcher_prefers_the_installed_binary_then_a_recent_enough_one_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = tool_path(&tmp.path().join("tools"), LAUNCHER_TOOLS, &[]);
    let older = fake_mnemo(&tmp.path().join("older"), "0.0.1");
    let newer = fake_mnemo(&tmp.path().join("newer"), "99.0.0");
    let same_dir = tmp.path().join("same");
    std::fs::create_dir_all(&same_dir).unwrap();
    std::os::unix::fs::symlink(claude_code::MNEMO, same_dir.join("mnemo")).unwrap();
    let on_path = |dir: &Path| format!("{}:{tools}", dir.display());
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    common::git_init(&project);
    let start = session_start("launcher-1", &project);

    // The MCP server waits for the install, and ends with its failure.
    let home = tmp.path().join("home-mcp");
    let began = Instant::now();
    let out = launch(&home, &tools, &["mcp"], &json!({}));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "no longer than the install"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("mnemo: could not install its binary: npm is not on PATH."),
        "{stderr}"
    );

    // Newer on PATH: used, and remembered.
    let home = tmp.path().join("home-newer");
    let out = launch(
        &home,
        &on_path(newer.parent().unwrap()),
        &["stats"],
        &json!({}),
    );
    assert!(out.status.success(), "{out:?}");
    let ran = std::fs::read_to_string(newer.with_file_name("ran")).unwrap();
    assert_eq!(ran.trim(), "stats");
    let choice = plugin_data(&home).join(format!("path-{VERSION}"));
    assert_eq!(
        std::fs::read_to_string(&choice).unwrap().trim(),
        newer.to_str().unwrap()
    );

    // Older on PATH: not used; the event waits and the user is told.
    let home = tmp.path().join("home");
    let data = plugin_data(&home);
    let older_path = on_path(older.parent().unwrap());
    let spooled_start = |event: &Value| {
        assert_spooled(&launch(
            &home,
            &older_path,
            &["hook", "session-start"],
            event,
        ))
    };
    let before = failure_mark(&data);
    let began = Instant::now();
    let line = spooled_start(&start);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "a spooling hook returns at once"
    );
    assert!(line.contains("installing its binary from npm"), "{line}");
    assert!(
        !older.with_file_name("ran").exists(),
        "the older mnemo never runs"
    );
    assert_eq!(
        std::fs::read_to_string(data.join(format!("path-{VERSION}")))
            .unwrap()
            .trim(),
        "-"
    );
    wait_for_failed_attempt(&data, before);
    let reason = std::fs::read_to_string(data.join("install-failed")).unwrap();
    assert!(reason.starts_with("npm is not on PATH."), "{reason}");
    let prompt = json!({"session_id": "launcher-1", "hook_event_name": "UserPromptSubmit",
                        "prompt": "first words", "cwd": project});
    let out = launch(&home, &older_path, &["hook", "user-prompt-submit"], &prompt);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let mut resume = start.clone();
    resume["source"] = json!("resume");
    let before = failure_mark(&data);
    let line = spooled_start(&resume);
    assert!(
        line.contains(reason.trim()),
        "the next session says why: {line}"
    );
    wait_for_failed_attempt(&data, before);
    assert_eq!(std::fs::read_dir(data.join("spool")).unwrap().count(), 3);
    assert!(!home.join(".mnemo").exists(), "nothing ran");

    // Same version on PATH, found at the next session: it runs, after
    // replaying what waited, in order and dated when it arrived.
    let mut clear = start.clone();
    clear["source"] = json!("clear");
    let out = launch(
        &home,
        &on_path(&same_dir),
        &["hook", "session-start"],
        &clear,
    );
    assert!(out.status.success(), "{out:?}");
    wait_for_installer(&data);
    let events = stored_events(&home);
    let hooks: Vec<&str> = events.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        hooks,
        [
            "SessionStart",
            "UserPromptSubmit",
            "SessionStart",
            "SessionStart"
        ],
        "{events:?}"
    );
    assert!(events.windows(2).all(|w| w[0].1 <= w[1].1), "{events:?}");
    assert!(events[0].1 < events[3].1, "replayed events keep their time");

    // Installed: the fast path, whatever PATH holds.
    std::fs::create_dir_all(data.join("bin")).unwrap();
    std::fs::copy(claude_code::MNEMO, installed_binary(&data)).unwrap();
    let out = launch(&home, &older_path, &["--version"], &json!({}));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mnemo {VERSION}")
    );
    assert!(!older.with_file_name("ran").exists());
}

/// `npm i -g` (what `npx` does too): `mnemo` on PATH is the main package's
/// shim, which runs the platform package's binary with the caller's
/// arguments, stdio and exit status; without the platform package it says
/// so in one line.
#[test]
fn the_npm_package_runs_the_platform_binary() {
    let test = "plugin_install::the_npm_package_runs_the_platform_binary";
    let Some(verdaccio) = registry_or_skip(test) else {
        return;
    };
    let registry = Registry::start(&verdaccio);
    registry.publish(packages());
    let tmp = tempfile::tempdir().unwrap();
    let npm_install = |prefix: &Path, extra: &[&str]| {
        run_ok(
            Command::new("npm")
                .args(["install", "--global", "--loglevel=error", "--registry"])
                .arg(&registry.url)
                .arg("--prefix")
                .arg(prefix)
                .args(extra)
                .arg(format!("@mnemo-memory/mnemo@{VERSION}"))
                .env("npm_config_cache", tmp.path().join("npm-cache")),
        );
        prefix.join("bin/mnemo")
    };
    let mnemo = npm_install(&tmp.path().join("global"), &[]);
    let run = |program: &Path, args: &[&str]| {
        Command::new(program)
            .args(args)
            .env("MNEMO_HOME", tmp.path().join("mnemo-home"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&mnemo, &["--version"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mnemo {VERSION}")
    );
    let out = run(&mnemo, &["show", "999999"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the binary's exit status: {out:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("999999"),
        "{out:?}"
    );

    // Installed as if for another CPU: no platform package fits this one.
    let other_cpu = if npm_platform().ends_with("x64") {
        "--cpu=arm64"
    } else {
        "--cpu=x64"
    };
    let without = npm_install(&tmp.path().join("without"), &[other_cpu]);
    let out = run(&without, &["--version"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("mnemo: no prebuilt binary for {}", npm_platform())),
        "{stderr}"
    );
}
