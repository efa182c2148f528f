//! Shared helpers for the integration tests: a throwaway `MNEMO_HOME`, a git
//! project to work in, and the real `mnemo` binary spawned the way Claude
//! Code spawns hooks (JSON on stdin, no TTY).
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("mnemo-home");
        let project = tmp.path().join("shop");
        std::fs::create_dir_all(project.join("shop")).unwrap();
        let ok = Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .current_dir(&project)
            .status()
            .expect("git")
            .success();
        assert!(ok);
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

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("MNEMO_HOME", &self.home)
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

    pub fn db_path(&self) -> PathBuf {
        self.home.join("mnemo.db")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("open db")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect(sql)
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

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hooks")
}

pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, concatenated (for byte searches of everything mnemo wrote).
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.extend(bytes);
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
