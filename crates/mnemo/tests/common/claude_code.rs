//! The real Claude Code CLI (the pinned npm package in `tests/claude-code/`)
//! run headless (`claude -p`) in a throwaway HOME against
//! [`MessagesApi`](super::messages_api::MessagesApi), with mnemo registered
//! either by `mnemo install` or as a plugin from this repository.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::messages_api::MessagesApi;

/// The mnemo binary under test.
pub const MNEMO: &str = env!("CARGO_BIN_EXE_mnemo");

/// Set to `1` (as `.ci/run` does) to make a missing Claude Code a failure.
pub const REQUIRE_ENV: &str = "MNEMO_REQUIRE_CLAUDE";

/// Longest a single headless session may take before it counts as hung.
const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

/// The directory holding the pinned package.json.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/claude-code")
}

/// The repository root (the plugin marketplace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The installed `claude` executable, or why there is none.
pub fn claude_program() -> Result<PathBuf, String> {
    let program = package_dir().join("node_modules/.bin/claude");
    if !program.exists() {
        return Err(format!(
            "Claude Code is not installed (run `npm ci` in {})",
            package_dir().display()
        ));
    }
    let version = Command::new(&program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !version.status.success() {
        return Err(format!(
            "{} --version failed: {}",
            program.display(),
            String::from_utf8_lossy(&version.stderr).trim()
        ));
    }
    Ok(program)
}

/// Claude Code, or `None` after saying visibly why the test is skipped
/// (written straight to stderr, which the test harness does not capture).
/// With `MNEMO_REQUIRE_CLAUDE=1` a missing Claude Code fails the test.
pub fn claude_or_skip(test: &str) -> Option<PathBuf> {
    match claude_program() {
        Ok(program) => Some(program),
        Err(why) => {
            super::skip_or_fail(test, &why, REQUIRE_ENV);
            None
        }
    }
}

/// How mnemo is registered with Claude Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `mnemo install` into the user's settings.
    Install,
    /// `claude plugin marketplace add <repo>` + `claude plugin install mnemo@mnemo`.
    Plugin,
}

impl Route {
    /// The prefix Claude Code gives mnemo's MCP tools on this route.
    pub fn mcp_prefix(self) -> &'static str {
        match self {
            Route::Install => "mcp__mnemo__",
            Route::Plugin => "mcp__plugin_mnemo_mnemo__",
        }
    }
}

/// One headless run of the CLI.
pub struct SessionRun {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A throwaway HOME with Claude Code, a git project and a mock API.
pub struct ClaudeCode {
    pub tmp: tempfile::TempDir,
    /// The HOME Claude Code and mnemo see.
    pub home: PathBuf,
    pub mnemo_home: PathBuf,
    /// The git repository sessions run in.
    pub project: PathBuf,
    pub claude: PathBuf,
    pub api: MessagesApi,
    /// Extra environment for every command.
    pub envs: Vec<(String, String)>,
}

impl ClaudeCode {
    /// A fresh HOME and project; mnemo enriches through the real CLI
    /// (`[llm] backend = "claude-cli"`, `claude_program` = this CLI).
    pub fn new(claude: PathBuf) -> ClaudeCode {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("home");
        let project = tmp.path().join("fib-cli");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        super::git_init(&project);
        let claude_path = claude.to_string_lossy().into_owned();
        ClaudeCode {
            mnemo_home: home.join(".mnemo"),
            home,
            project: project.canonicalize().unwrap(),
            claude,
            api: MessagesApi::start(),
            envs: vec![
                ("MNEMO_LLM_BACKEND".into(), "claude-cli".into()),
                ("MNEMO_LLM_CLAUDE_PROGRAM".into(), claude_path),
                ("MNEMO_LLM_IDLE_EXIT_SECS".into(), "1".into()),
                // Evidence for a failure: every hook's log lines.
                ("MNEMO_LOG_LEVEL".into(), "debug".into()),
            ],
            tmp,
        }
    }

    /// `program args` with only this HOME's environment: the mock API, no
    /// telemetry or updates, bypass-permission mode allowed for root, and
    /// mnemo's directory first on PATH (the plugin's launcher takes a
    /// `mnemo` of its version from PATH). An entry of `envs` overrides any.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mnemo_dir = Path::new(MNEMO).parent().unwrap();
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", mnemo_dir.display());
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("MNEMO_HOME", &self.mnemo_home)
            .env("ANTHROPIC_BASE_URL", &self.api.url)
            .env("ANTHROPIC_API_KEY", "sk-ant-test-not-a-key")
            .env("IS_SANDBOX", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_TELEMETRY", "1")
            .stdin(Stdio::null());
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }

    /// Run `program args` to completion; it must succeed. Its stdout.
    pub fn ok(&self, program: &Path, args: &[&str]) -> String {
        let out = self.command(program, args).output().expect("spawn");
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Register mnemo's hooks and MCP server by `route`.
    pub fn register(&self, route: Route) {
        match route {
            Route::Install => {
                self.ok(Path::new(MNEMO), &["install"]);
            }
            Route::Plugin => {
                let root = repo_root().canonicalize().unwrap();
                let root = root.to_str().unwrap();
                let plugin = format!("{root}/plugin");
                self.ok(&self.claude, &["plugin", "validate", root]);
                self.ok(&self.claude, &["plugin", "validate", &plugin]);
                self.ok(&self.claude, &["plugin", "marketplace", "add", root]);
                self.ok(&self.claude, &["plugin", "install", "mnemo@mnemo"]);
            }
        }
    }

    /// One headless session: `claude -p <prompt>` in the project, in
    /// bypass-permission mode, plus `extra` arguments. Fails the test if it
    /// hangs.
    pub fn session(&self, prompt: &str, extra: &[&str]) -> SessionRun {
        // Claude Code's own log of each session, kept with a failure's evidence.
        let debug_dir = self.debug_dir();
        std::fs::create_dir_all(&debug_dir).unwrap();
        let n = std::fs::read_dir(&debug_dir).unwrap().count();
        let debug_file = debug_dir.join(format!("session-{n:02}.log"));
        let debug_file = debug_file.to_str().unwrap();
        let mut args = vec!["-p", prompt, "--permission-mode", "bypassPermissions"];
        if !extra.contains(&"--debug-file") {
            args.extend(["--debug-file", debug_file]);
        }
        args.extend_from_slice(extra);
        self.run(&self.claude.clone(), &args)
    }

    /// Run `program args` with a hang bound, output kept in files (a pipe
    /// held open by a hook's leftover child must not block the test).
    pub fn run(&self, program: &Path, args: &[&str]) -> SessionRun {
        let out_path = self.tmp.path().join("run.stdout");
        let err_path = self.tmp.path().join("run.stderr");
        let started = Instant::now();
        let mut child = self
            .command(program, args)
            .stdout(File::create(&out_path).unwrap())
            .stderr(File::create(&err_path).unwrap())
            .spawn()
            .expect("spawn claude");
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > SESSION_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} {args:?} hung for {SESSION_TIMEOUT:?}",
                    program.display()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        SessionRun {
            status,
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
            elapsed: started.elapsed(),
        }
    }

    /// Where each session's `--debug-file` goes.
    pub fn debug_dir(&self) -> PathBuf {
        self.tmp.path().join("claude-debug")
    }

    /// The store.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.mnemo_home.join("mnemo.db")).expect("open mnemo.db")
    }

    /// Processes (pid and command line) still running with this HOME's
    /// `MNEMO_HOME` in their environment: hooks, workers, MCP servers and
    /// the CLIs they started all inherit it.
    pub fn processes_left(&self) -> Vec<String> {
        let marker = format!("MNEMO_HOME={}", self.mnemo_home.display());
        let me = std::process::id().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter(|e| e.file_name().to_string_lossy() != me)
            .filter_map(|e| {
                let environ = std::fs::read(e.path().join("environ")).ok()?;
                let found = environ
                    .split(|&b| b == 0)
                    .any(|var| var == marker.as_bytes());
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                // A zombie has already exited; its parent just has not reaped it.
                let zombie = stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'));
                (found && !zombie).then(|| {
                    let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    format!(
                        "{} {}",
                        e.file_name().to_string_lossy(),
                        String::from_utf8_lossy(&cmdline).replace('\0', " ")
                    )
                })
            })
            .collect()
    }

    /// Wait up to `bound` for every process of this HOME to exit; what is
    /// still running then.
    pub fn wait_for_no_processes(&self, bound: Duration) -> Vec<String> {
        let started = Instant::now();
        loop {
            let left = self.processes_left();
            if left.is_empty() || started.elapsed() > bound {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One hook run as Claude Code's `--debug-file` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookTiming {
    /// The event with its matcher, e.g. `SessionStart:startup`, `PreToolUse:Read`.
    pub event: String,
    /// The command line as logged.
    pub command: String,
    /// Claude Code's own measure, from spawn to exit (foreground hooks) or
    /// to being moved to the background (async hooks).
    pub millis: f64,
}

/// Every timed hook line of a `--debug-file` log: `Hooks: <event>
/// [<command>] finished with status <n> (<ms>ms)` and `... moved to the
/// background (<ms>ms)`; a plugin's hooks have `(plugin <name>) ` before
/// the outcome.
pub fn hook_timings(log: &str) -> Vec<HookTiming> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split_once("] Hooks: ")?.1;
            let (event, rest) = rest.split_once(" [")?;
            let (command, outcome) = rest.rsplit_once("] ")?;
            let outcome = match outcome.strip_prefix("(plugin ") {
                Some(rest) => rest.split_once(") ")?.1,
                None => outcome,
            };
            let timed = outcome.starts_with("finished with status")
                || outcome.starts_with("moved to the background");
            let millis = outcome
                .rsplit_once('(')?
                .1
                .strip_suffix("ms)")?
                .parse()
                .ok()?;
            timed.then(|| HookTiming {
                event: event.to_string(),
                command: command.to_string(),
                millis,
            })
        })
        .collect()
}
