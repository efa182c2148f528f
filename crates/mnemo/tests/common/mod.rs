//! Shared helpers for the integration tests: a throwaway `MNEMO_HOME`, a git
//! project to work in, and the real `mnemo` binary spawned the way Claude
//! Code spawns hooks (JSON on stdin, no TTY).
#![allow(dead_code)] // each test binary uses a different subset

pub mod chat_api;
pub mod claude_code;
pub mod files;
pub mod http;
pub mod llm;
pub mod mcp_client;
pub mod messages_api;
pub mod transcripts;

pub use files::*;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_mnemo");
pub const SESSION: &str = "6f1c2c9e-8d0a-4b7e-9a51-2f3d4c5b6a70";

/// A data directory and a project, removed on drop.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub project: PathBuf,
    pub envs: Vec<(String, String)>,
}

/// Report a test that cannot run: a panic when `require_env` is `1`,
/// otherwise one line on the real stderr.
pub fn skip_or_fail(test: &str, why: &str, require_env: &str) {
    if std::env::var(require_env).as_deref() == Ok("1") {
        panic!("{test}: required ({require_env}=1) but {why}");
    }
    let line = format!("SKIPPED {test}: {why} (set {require_env}=1 to fail instead)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("mnemo-home");
        let project = tmp.path().join("shop");
        std::fs::create_dir_all(project.join("shop")).unwrap();
        git_init(&project);
        Env {
            tmp,
            home,
            project: project.canonicalize().unwrap(),
            envs: Vec::new(),
        }
    }

    /// Set an environment variable for every spawned mnemo.
    pub fn env(mut self, key: &str, value: &str) -> Env {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Run `mnemo <args>`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "mnemo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run `mnemo <args>`, which must succeed and print JSON.
    pub fn ok_json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// `mnemo <args>` as run from the data directory's parent: outside any
    /// project, so memory commands cover every project unless told.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.tmp.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("MNEMO_HOME", &self.home)
            // Times print in local time: the same zone on every machine.
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run `mnemo hook [event]` with `input` on stdin.
    pub fn hook_raw(&self, event: Option<&str>, input: &[u8]) -> Output {
        let mut args = vec!["hook"];
        args.extend(event);
        let mut child = self.command(&args).spawn().expect("spawn mnemo");
        let mut stdin = child.stdin.take().unwrap();
        // The hook may stop reading early; a broken pipe is its business.
        let _ = stdin.write_all(input);
        drop(stdin);
        child.wait_with_output().expect("wait mnemo")
    }

    /// Run a hook with a JSON payload and check the hook contract: exit 0 and
    /// nothing on stdout.
    pub fn hook(&self, event: Option<&str>, payload: &Value) -> Output {
        let out = self.hook_raw(event, payload.to_string().as_bytes());
        assert_contract(&out);
        out
    }

    /// A fixture with this env's cwd and the given session id.
    pub fn fixture(&self, name: &str) -> Value {
        let mut v = fixture(name);
        v["cwd"] = json!(self.project.to_str().unwrap());
        v
    }

    /// Fire every hook of the fixture session (`session.jsonl`) in order.
    pub fn replay_session(&self) {
        let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut payload: Value = serde_json::from_str(line).unwrap();
            payload["cwd"] = json!(self.project.to_str().unwrap());
            self.hook(None, &payload);
        }
    }

    /// The check `name` of `mnemo doctor --json`, or null when it has none.
    pub fn doctor_check(&self, name: &str) -> Value {
        let out = self.command(&["doctor", "--json"]).output().unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn db_path(&self) -> PathBuf {
        self.home.join("mnemo.db")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("open db")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// Start `mnemo serve --port 0` (a free port) and wait for its URL.
    pub fn serve(&self) -> Served {
        let mut child = self
            .command(&["serve", "--port", "0"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn mnemo serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("mnemo serve printed no URL: {:?}", child.try_wait()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .expect("127.0.0.1 URL");
        let (port, fragment) = rest.split_once("/#token=").expect("token in the fragment");
        Served {
            child,
            port: port.parse().unwrap(),
            token: fragment.to_string(),
            url,
        }
    }

    /// Command lines of the live processes working on this env's data
    /// directory (their environment names it as MNEMO_HOME).
    pub fn processes(&self) -> Vec<String> {
        self.live()
            .into_iter()
            .map(|(_, cmdline)| cmdline)
            .collect()
    }

    /// Process ids of this env's live processes whose command line contains `word`.
    pub fn pids(&self, word: &str) -> Vec<i32> {
        self.live()
            .into_iter()
            .filter(|(_, cmdline)| cmdline.split(' ').any(|w| w == word))
            .map(|(pid, _)| pid)
            .collect()
    }

    fn live(&self) -> Vec<(i32, String)> {
        let marker = format!("MNEMO_HOME={}", self.home.display());
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let dir = entry.path();
            let Ok(environ) = std::fs::read(dir.join("environ")) else {
                continue;
            };
            let ours = environ.split(|&b| b == 0).any(|v| v == marker.as_bytes());
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'));
            if ours && !zombie {
                let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
                found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
            }
        }
        found
    }

    pub fn spool_files(&self) -> usize {
        std::fs::read_dir(self.home.join("spool"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.ends_with(".json") && !n.starts_with('.')
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}

/// Exit 0, stdout empty or Claude Code's documented hook JSON, at most one
/// line on stderr.
pub fn assert_contract(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hook must exit 0; stderr: {stderr}"
    );
    // Stdout is empty or exactly Claude Code's documented hook JSON.
    if !out.stdout.is_empty() {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert!(
            v["hookSpecificOutput"]["hookEventName"].is_string(),
            "stdout JSON must be a hookSpecificOutput: {v}"
        );
        assert_eq!(
            out.stdout.iter().filter(|&&b| b == b'\n').count(),
            1,
            "one JSON line"
        );
    }
    assert!(
        stderr.lines().count() <= 1,
        "at most one stderr line, got: {stderr}"
    );
}

/// Wait (up to 20 s) until `done`; panics naming `what` on timeout.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `mnemo serve`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub token: String,
    /// The printed viewer URL, with the token.
    pub url: String,
}

impl Served {
    /// `Authorization: Bearer <token>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// An authenticated request.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> http::Response {
        let bearer = self.bearer();
        http::request(self.port, method, path, &[("Authorization", &bearer)], body)
    }

    /// An authenticated GET that must succeed; its JSON.
    pub fn get(&self, path: &str) -> Value {
        let response = self.call("GET", path, None);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        response.json()
    }

    /// The live stream, authenticated.
    pub fn events(&self) -> http::EventStream {
        http::EventStream::open(
            self.port,
            "/api/stream",
            &[("Authorization", &self.bearer())],
        )
    }

    /// Send `signal` and wait (up to 10 s) for the exit.
    pub fn stop_with(&mut self, signal: i32) -> ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait mnemo serve") {
                return status;
            }
            assert!(Instant::now() < deadline, "mnemo serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `memory` as if pulled from `author`'s machine: an archive (the way
/// memories move between machines) written by another data directory,
/// its observation signed by `author`, imported into `env`.
pub fn import_from_teammate(env: &Env, author: &str, memory: Value) {
    let teammate = Env::new();
    let plain = teammate.tmp.path().join("memory.jsonl");
    std::fs::write(&plain, memory.to_string()).unwrap();
    teammate.ok(&["import", plain.to_str().unwrap()]);
    let signed: Vec<String> = teammate
        .ok(&["export", "--all-projects"])
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            if record["kind"] == "observation" {
                record["author"] = json!(author);
            }
            record.to_string()
        })
        .collect();
    let archive = env.tmp.path().join(format!("from-{author}.jsonl"));
    std::fs::write(&archive, signed.join("\n")).unwrap();
    env.ok(&["import", archive.to_str().unwrap()]);
}
