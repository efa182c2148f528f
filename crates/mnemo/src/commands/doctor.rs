//! `mnemo doctor`: check the installation and the data, and say how to fix
//! what is wrong. Read-only: it never creates, migrates or repairs anything.

use std::fs;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::event;
use mnemo_agent::claude_code::settings::{self, HOOK_SUBCOMMAND, MCP_SUBCOMMAND};
use mnemo_app::parts::Parts;
use mnemo_capture::lock::FileLock;
use mnemo_capture::spool;
use mnemo_config::{Config, Paths};
use mnemo_llm::BackendConfig;
use mnemo_platform::fs as platform;
use mnemo_retrieve::time::local_minute;
use mnemo_store::team::state;
use mnemo_store::{SCHEMA_VERSION, Stats, Store, utc_day_start};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

use crate::style::Style;

/// How long a reachability check may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(2);
/// Backlogs beyond these are worth a warning.
const EVENTS_BACKLOG: i64 = 500;
const VECTORS_BACKLOG: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Not checked: what it needs is missing or off. Neither good nor bad.
    Skip,
    Warn,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    finding: String,
    fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            finding: finding.into(),
            fix: None,
        }
    }
    fn skip(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skip,
            finding: finding.into(),
            fix: None,
        }
    }
    fn warn(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            finding: finding.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(name: &'static str, finding: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            finding: finding.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Run every check and print them. Returns whether nothing failed.
pub fn run(json: bool) -> anyhow::Result<bool> {
    let paths = Paths::from_env()?;
    let (config, config_error) = Config::load_or_default(&paths);
    let parts = Parts::new(paths.clone(), config);
    let exe = std::env::current_exe()
        .and_then(fs::canonicalize)
        .unwrap_or_else(|_| PathBuf::from("mnemo"));
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let repo = std::env::current_dir().ok().and_then(|d| repo_root(&d));

    let mut checks = vec![binary(&exe)];
    checks.push(hooks(&exe, home.as_deref(), repo.as_deref()));
    checks.push(mcp(&exe, home.as_deref(), repo.as_deref()));
    if let Some(err) = config_error {
        checks.push(Check::fail(
            "config",
            format!("{err}"),
            format!(
                "correct {} (defaults are used meanwhile)",
                paths.config_file.display()
            ),
        ));
    }
    if mnemo_config::hooks_disabled() {
        checks.push(Check::warn(
            "capture",
            format!(
                "{} is set here: hooks started with it record nothing",
                mnemo_config::ENV_DISABLE_HOOKS
            ),
            format!(
                "unset {} (unless you turned capture off on purpose)",
                mnemo_config::ENV_DISABLE_HOOKS
            ),
        ));
    }
    checks.push(data_dir(&paths));
    let (db_check, stats) = database(&paths);
    let db_usable = db_check.status != Status::Fail;
    checks.push(db_check);
    checks.push(spooled(&paths, db_usable));
    checks.push(backlog(stats.as_ref()));
    checks.push(server(&paths));
    checks.push(llm(&parts));
    checks.push(budget(&parts, stats.as_ref()));
    checks.extend(team(&parts));

    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if json {
        print_json(&checks, failed);
    } else {
        print_human(&checks, &paths);
    }
    Ok(!failed)
}

fn print_json(checks: &[Check], failed: bool) {
    let list: Vec<Value> = checks
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "status": c.status.as_str(),
                "finding": c.finding,
                "fix": c.fix,
            })
        })
        .collect();
    println!("{}", json!({ "ok": !failed, "checks": list }));
}

fn print_human(checks: &[Check], paths: &Paths) {
    let style = Style::stdout();
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in checks {
        let mark = match c.status {
            Status::Ok => style.green("✓"),
            Status::Skip => style.dim("-"),
            Status::Warn => style.yellow("!"),
            Status::Fail => style.red("✗"),
        };
        println!("{mark} {:<width$}  {}", c.name, c.finding);
        if let Some(fix) = &c.fix {
            println!("  {:<width$}  {}", "", style.dim(&format!("fix: {fix}")));
        }
    }
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let (skipped, warns, fails) = (
        count(Status::Skip),
        count(Status::Warn),
        count(Status::Fail),
    );
    println!();
    let verdict = if fails > 0 {
        "something is broken: fix the ✗ lines first"
    } else if warns > 0 {
        "working, with warnings"
    } else {
        "all good"
    };
    let skipped = if skipped > 0 {
        format!(", {skipped} not checked")
    } else {
        String::new()
    };
    println!(
        "{} ok{skipped}, {warns} warning{}, {fails} failure{} — {verdict} (data: {})",
        count(Status::Ok),
        if warns == 1 { "" } else { "s" },
        if fails == 1 { "" } else { "s" },
        paths.home.display()
    );
}

/// The nearest ancestor of `dir` with a `.git` (a repository or worktree).
fn repo_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The first executable `name` on `$PATH`, canonicalized.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && platform::is_executable(&m)))
        .map(|p| fs::canonicalize(&p).unwrap_or(p))
}

/// A configured program path as the file it runs: bare names through `$PATH`.
fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        fs::canonicalize(program).ok()
    } else {
        which(program)
    }
}

fn binary(exe: &Path) -> Check {
    let version = env!("CARGO_PKG_VERSION");
    let here = format!("mnemo {version} at {}", exe.display());
    let dir = exe.parent().unwrap_or(Path::new("/"));
    match which("mnemo") {
        Some(found) if found == exe => Check::ok("binary", format!("{here} (the mnemo on PATH)")),
        Some(found) => Check::warn(
            "binary",
            format!("{here}, but `mnemo` on PATH is {}", found.display()),
            format!(
                "remove or replace {}, or put {} earlier on PATH",
                found.display(),
                dir.display()
            ),
        ),
        None => Check::warn(
            "binary",
            format!("{here}, not on PATH"),
            format!(
                "install it for good from the source tree with `cargo install --path crates/mnemo` (then `mnemo install`), or add {} to PATH",
                dir.display()
            ),
        ),
    }
}

/// Read a JSON settings file: `Ok(None)` when absent, `Err` with the reason
/// when it cannot be read or parsed.
fn read_json(path: &Path) -> Result<Option<Value>, String> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The files of `files` that exist, parsed; or the failed check `name`
/// for the first that cannot be read.
fn read_all<'a>(
    name: &'static str,
    files: &'a [PathBuf],
    why_fix: &str,
) -> Result<Vec<(&'a PathBuf, Value)>, Check> {
    let mut parsed = Vec::new();
    for file in files {
        match read_json(file) {
            Ok(Some(value)) => parsed.push((file, value)),
            Ok(None) => {}
            Err(why) => {
                return Err(Check::fail(
                    name,
                    why,
                    format!("correct the JSON in {}{why_fix}", file.display()),
                ));
            }
        }
    }
    Ok(parsed)
}

fn hooks(exe: &Path, home: Option<&Path>, repo: Option<&Path>) -> Check {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(home) = home {
        files.push(settings::user_settings(home));
    }
    if let Some(repo) = repo {
        files.push(settings::project_settings(repo));
        files.push(settings::project_local_settings(repo));
    }
    // Per event, the programs that run `mnemo hook`.
    let mut found: Vec<(HookEvent, Vec<String>)> =
        event::registered().map(|(e, _)| (e, Vec::new())).collect();
    let parsed = match read_all("hooks", &files, " (Claude Code cannot read it either)") {
        Ok(parsed) => parsed,
        Err(check) => return check,
    };
    let read: Vec<String> = parsed
        .iter()
        .map(|(f, _)| f.display().to_string())
        .collect();
    for (_, file) in &parsed {
        for (event, programs) in found.iter_mut() {
            let groups = file
                .pointer(&format!("/hooks/{}", event.name()))
                .and_then(Value::as_array);
            let wanted = event.roles().registration.and_then(|r| r.matcher);
            for group in groups.into_iter().flatten() {
                let matcher = group.get("matcher").and_then(Value::as_str);
                if !settings::covers(matcher, wanted) {
                    continue;
                }
                let entries = group.get("hooks").and_then(Value::as_array);
                programs.extend(
                    entries
                        .into_iter()
                        .flatten()
                        .filter_map(|entry| settings::entry_program(entry, HOOK_SUBCOMMAND))
                        .map(str::to_string),
                );
            }
        }
    }
    let fix = "run `mnemo install` (or `mnemo install --project` for this repository)";
    let missing: Vec<String> = found
        .iter()
        .filter(|(_, p)| p.is_empty())
        .map(|(e, _)| settings::shown(*e))
        .collect();
    if missing.len() == found.len() {
        let place = if read.is_empty() {
            files
                .first()
                .map(|f| format!("{} does not exist", f.display()))
                .unwrap_or_else(|| "no settings file ($HOME is not set)".into())
        } else {
            format!("none in {}", read.join(", "))
        };
        return Check::warn("hooks", format!("no mnemo hooks: {place}"), fix);
    }
    let mut others: Vec<String> = found
        .iter()
        .flat_map(|(_, p)| p.iter())
        .filter(|p| resolve_program(p).as_deref() != Some(exe))
        .cloned()
        .collect();
    others.sort();
    others.dedup();
    if !others.is_empty() {
        return Check::warn(
            "hooks",
            format!(
                "hooks run {}, not this binary ({})",
                others.join(", "),
                exe.display()
            ),
            fix,
        );
    }
    if !missing.is_empty() {
        return Check::warn("hooks", format!("missing for {}", missing.join(", ")), fix);
    }
    Check::ok(
        "hooks",
        format!(
            "all {} events run this binary ({})",
            found.len(),
            read.join(", ")
        ),
    )
}

/// How to register mnemo's MCP server.
const MCP_FIX: &str = "run `mnemo install`, or: claude mcp add mnemo -- mnemo mcp";

fn mcp(exe: &Path, home: Option<&Path>, repo: Option<&Path>) -> Check {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(home) = home {
        files.push(settings::user_mcp_servers(home));
    }
    if let Some(repo) = repo {
        files.push(settings::project_mcp_servers(repo));
    }
    let parsed = match read_all("mcp", &files, "") {
        Ok(parsed) => parsed,
        Err(check) => return check,
    };
    for (file, value) in &parsed {
        // User scope, then local (per-project) scope in ~/.claude.json.
        let mut tables: Vec<&Value> = value.get("mcpServers").into_iter().collect();
        let local = repo.and_then(|repo| settings::local_mcp_servers(value, repo));
        tables.extend(local);
        for (name, server) in tables
            .iter()
            .filter_map(|t| t.as_object())
            .flat_map(|t| t.iter())
        {
            let Some(command) = settings::entry_program(server, MCP_SUBCOMMAND) else {
                continue;
            };
            if resolve_program(command).as_deref() != Some(exe) {
                return Check::warn(
                    "mcp",
                    format!(
                        "server {name:?} in {} runs {command}, not this binary",
                        file.display()
                    ),
                    MCP_FIX,
                );
            }
            return Check::ok("mcp", format!("server {name:?} in {}", file.display()));
        }
    }
    Check::warn(
        "mcp",
        "mnemo's MCP server is not registered with Claude Code",
        MCP_FIX,
    )
}

fn data_dir(paths: &Paths) -> Check {
    let dir = &paths.home;
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::warn(
                "data dir",
                format!("{} does not exist yet", dir.display()),
                "it is created by the first hook; try `mnemo demo` to see mnemo work",
            );
        }
        Err(e) => {
            return Check::fail(
                "data dir",
                format!("cannot read {}: {e}", dir.display()),
                format!("check the permissions of {}", dir.display()),
            );
        }
    };
    if !meta.is_dir() {
        return Check::fail(
            "data dir",
            format!("{} is not a directory", dir.display()),
            "move it aside, or set MNEMO_HOME to another directory",
        );
    }
    let me = platform::current_user();
    if let (Some(owner), Some(me)) = (platform::owner(&meta), me)
        && owner != me
    {
        return Check::fail(
            "data dir",
            format!(
                "{} is owned by uid {owner}, not you (uid {me})",
                dir.display()
            ),
            format!("sudo chown -R $(id -u) {}", dir.display()),
        );
    }
    if let Some(mode) = platform::permission_bits(&meta)
        && mode & 0o077 != 0
    {
        return Check::warn(
            "data dir",
            format!(
                "{} is mode {mode:04o}: others can read your memories",
                dir.display()
            ),
            format!("chmod 700 {}", dir.display()),
        );
    }
    let open: Vec<String> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", paths.db.display())))
        .filter(|f| {
            fs::metadata(f).is_ok_and(|m| {
                platform::permission_bits(&m).is_some_and(|bits| bits & 0o077 != 0)
                    || platform::owner(&m) != me
            })
        })
        .map(|f| f.display().to_string())
        .collect();
    if !open.is_empty() {
        return Check::warn(
            "data dir",
            format!("database files readable by others: {}", open.join(", ")),
            format!("chmod 600 {}", open.join(" ")),
        );
    }
    Check::ok("data dir", format!("{} (owner-only)", dir.display()))
}

/// The database check, and the store's counts when it is readable.
fn database(paths: &Paths) -> (Check, Option<Stats>) {
    let db = &paths.db;
    if !db.exists() {
        return (
            Check::warn(
                "database",
                format!("{} does not exist yet", db.display()),
                "it is created by the first hook event; start a Claude Code session",
            ),
            None,
        );
    }
    let broken = |why: String| {
        Check::fail(
            "database",
            format!(
                "{} cannot be used: {why}. Hooks keep events in the spool meanwhile; nothing new is lost",
                db.display()
            ),
            format!(
                "move it aside (mv {0} {0}.broken; also any {0}-wal and {0}-shm); the next hook creates a new database and replays the spool",
                db.display()
            ),
        )
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(db, flags) {
        Ok(c) => c,
        Err(e) => return (broken(e.to_string()), None),
    };
    let _ = conn.busy_timeout(Duration::from_secs(2));
    let version: i64 = match conn.query_row("PRAGMA user_version", [], |r| r.get(0)) {
        Ok(v) => v,
        Err(e) => return (broken(e.to_string()), None),
    };
    if version > SCHEMA_VERSION {
        return (
            Check::fail(
                "database",
                format!(
                    "schema version {version} is newer than this mnemo {} knows ({SCHEMA_VERSION}): a newer mnemo wrote it",
                    env!("CARGO_PKG_VERSION")
                ),
                "upgrade mnemo (and check that the hooks run the new binary)",
            ),
            None,
        );
    }
    let problems: Vec<String> = match conn
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
    {
        Ok(rows) => rows,
        Err(e) => return (broken(e.to_string()), None),
    };
    if problems.first().map(String::as_str) != Some("ok") {
        return (
            broken(format!("integrity check failed: {}", problems.join("; "))),
            None,
        );
    }
    let size = [db.clone(), PathBuf::from(format!("{}-wal", db.display()))]
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
        .map(|m| m.len())
        .sum::<u64>();
    let size = format!("{:.1} MiB", size as f64 / 1048576.0);
    if version < SCHEMA_VERSION {
        return (
            Check::ok(
                "database",
                format!(
                    "integrity ok, {size}; schema {version} is upgraded to {SCHEMA_VERSION} on next use"
                ),
            ),
            None,
        );
    }
    // Doctor checks the database without changing it: the connection above
    // is read-only and never migrates, which a store from `Parts` would.
    let store = Store::from_connection(conn);
    let stats = store.stats(utc_day_start(mnemo_app::parts::now_ms())).ok();
    (
        Check::ok(
            "database",
            format!("{}: integrity ok, schema {version}, {size}", db.display()),
        ),
        stats,
    )
}

/// Team memory, once it is set up (a server configured or a project
/// joined), from the database: the server itself is not contacted here
/// (connecting brings its schema up to date); `mnemo team status` does.
fn team(parts: &Parts) -> Option<Check> {
    let url = parts.config.team.url.trim();
    let store = Connection::open_with_flags(&parts.paths.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()
        .filter(|conn| {
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .is_ok_and(|version| version == SCHEMA_VERSION)
        })
        .map(Store::from_connection);
    let joined = store
        .as_ref()
        .and_then(|s| s.team_projects().ok())
        .map_or(0, |projects| projects.len());
    let projects = if joined == 1 {
        "1 project joined".to_string()
    } else {
        format!("{joined} projects joined")
    };
    if url.is_empty() {
        return (joined > 0).then(|| {
            Check::warn(
                "team",
                format!("{projects} but no team server set: nothing is shared"),
                format!(
                    "set [team] url in {} (or MNEMO_TEAM_URL)",
                    parts.paths.config_file.display()
                ),
            )
        });
    }
    let server = mnemo_config::mask_url_password(url);
    let Some(store) = store.filter(|_| joined > 0) else {
        return Some(Check::ok(
            "team",
            format!("server {server}; no project joined yet (`mnemo team join` in a repository)"),
        ));
    };
    let state = |key| store.team_state(key).ok().flatten();
    if let Some(error) = state(state::LAST_ERROR) {
        return Some(Check::warn(
            "team",
            format!("{projects}; the last sync failed: {error}"),
            "`mnemo team status` tells whether the server answers now; `mnemo sync --once` retries",
        ));
    }
    let last = state(state::LAST_SUCCESS)
        .and_then(|t| t.parse().ok())
        .map_or_else(
            || "not synced yet".to_string(),
            |t| format!("last synced {}", local_minute(t)),
        );
    let waiting = store.team_waiting().unwrap_or(0);
    Some(Check::ok(
        "team",
        format!("{projects} with {server}; {last}; {waiting} changes waiting to go up"),
    ))
}

fn spooled(paths: &Paths, db_usable: bool) -> Check {
    let pending = spool::pending_all(paths);
    if pending == 0 {
        return Check::ok("spool", "empty");
    }
    let elsewhere = pending.saturating_sub(spool::pending(&paths.spool_dir));
    let where_ = if elsewhere == 0 {
        paths.spool_dir.display().to_string()
    } else {
        format!(
            "{} and {} (the data directory could not be written)",
            paths.spool_dir.display(),
            paths.fallback_spool_dir.display()
        )
    };
    let finding = format!(
        "{pending} event{} waiting in {where_}: the database was locked or unavailable when they arrived",
        if pending == 1 { "" } else { "s" },
    );
    let fix = if db_usable {
        "nothing to do: the next hook replays them into the database"
    } else {
        "fix the database (above); the next hook then replays them"
    };
    Check::warn("spool", finding, fix)
}

fn backlog(stats: Option<&Stats>) -> Check {
    let Some(s) = stats else {
        return Check::skip("backlog", "not checked (no usable database)");
    };
    let finding = format!(
        "{} events not yet compressed (open episodes), {} memories waiting for vectors",
        s.events_pending, s.vectors_pending
    );
    if s.events_pending > EVENTS_BACKLOG {
        return Check::warn("backlog", finding, "mnemo compress");
    }
    if s.vectors_pending > VECTORS_BACKLOG {
        return Check::warn("backlog", finding, "mnemo reindex");
    }
    Check::ok("backlog", finding)
}

fn server(paths: &Paths) -> Check {
    let lock = paths.home.join(mnemo_serve::LOCK_FILE);
    if !FileLock::is_held(&lock) {
        return Check::ok(
            "server",
            "not running (start the viewer with `mnemo serve`)",
        );
    }
    let instance: Option<Value> = fs::read(paths.home.join(mnemo_serve::INSTANCE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let pid = instance.as_ref().and_then(|i| i["pid"].as_u64());
    let port = instance
        .as_ref()
        .and_then(|i| i["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok());
    let pid_text = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    match port {
        Some(port)
            if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), REACH_TIMEOUT)
                .is_ok() =>
        {
            Check::ok(
                "server",
                format!("running{pid_text} at http://127.0.0.1:{port}/"),
            )
        }
        _ => Check::warn(
            "server",
            format!("a server holds the lock{pid_text} but does not answer"),
            "stop it (Ctrl-C, or kill the pid) and run `mnemo serve` again",
        ),
    }
}

fn llm(parts: &Parts) -> Check {
    if !parts.enriches() {
        return Check::ok("llm", "off (rule-based compression only)");
    }
    let paths = &parts.paths;
    let fix_config = format!("set [llm] in {}", paths.config_file.display());
    let client = match parts.llm_client() {
        Ok(c) => c,
        Err(e) => return Check::fail("llm", format!("{e:#}"), fix_config),
    };
    match client.backend() {
        BackendConfig::ClaudeCli { program, model, .. } => {
            let name = program.to_string_lossy();
            let Some(path) = resolve_program(&name) else {
                return Check::fail(
                    "llm",
                    format!("claude-cli: program {name:?} not found"),
                    format!(
                        "install Claude Code, or set [llm] claude_program in {}",
                        paths.config_file.display()
                    ),
                );
            };
            match version_of(&path) {
                Some(v) => Check::ok("llm", format!("claude-cli ({v}, model {model})")),
                None => Check::warn(
                    "llm",
                    format!(
                        "claude-cli: `{} --version` did not answer within 2 s",
                        path.display()
                    ),
                    format!("run `{} --version` to see what is wrong", path.display()),
                ),
            }
        }
        BackendConfig::Anthropic {
            base_url, model, ..
        }
        | BackendConfig::OpenAiCompatible {
            base_url, model, ..
        } => {
            let backend = client.backend().name();
            match connects(base_url) {
                Ok(()) => Check::ok(
                    "llm",
                    format!("{backend} at {base_url} reachable (model {model})"),
                ),
                Err(why) => Check::fail(
                    "llm",
                    format!("{backend} at {base_url} unreachable: {why}"),
                    format!(
                        "start the server or correct [llm] base_url in {}",
                        paths.config_file.display()
                    ),
                ),
            }
        }
    }
}

/// `program --version`'s first line, if it answers within the timeout.
fn version_of(program: &Path) -> Option<String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if started.elapsed() > REACH_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// Whether a TCP connection to the URL's host and port opens in time.
fn connects(url: &str) -> Result<(), String> {
    let (default_port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (443, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (80, rest)
    } else {
        return Err("not an http(s) URL".into());
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let target = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    // Name lookup has no timeout of its own: give it the same budget.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Vec::from_iter));
    });
    let addrs = match rx.recv_timeout(REACH_TIMEOUT) {
        Ok(found) => found.map_err(|e| e.to_string())?,
        Err(_) => return Err("name lookup timed out".into()),
    };
    let mut last = "no address".to_string();
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, REACH_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn budget(parts: &Parts, stats: Option<&Stats>) -> Check {
    if !parts.enriches() {
        return Check::skip("llm budget", "not checked (llm off)");
    }
    let Some(s) = stats else {
        return Check::skip("llm budget", "not checked (no usable database)");
    };
    let budget = parts.llm_daily_token_budget();
    let used = u64::try_from(s.llm_tokens_today).unwrap_or(0);
    let left = budget.saturating_sub(used);
    let finding = format!(
        "{left} of {budget} tokens left today, the UTC day ({used} used in {} calls)",
        s.llm_calls_today
    );
    if left == 0 {
        return Check::warn(
            "llm budget",
            format!("{finding}: enrichment waits until 00:00 UTC"),
            "raise [llm] daily_token_budget in config.toml to go on today",
        );
    }
    Check::ok("llm budget", finding)
}
