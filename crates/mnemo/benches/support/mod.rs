//! Timing whole processes for the benchmarks: wall time from spawn to exit
//! and the child's own peak RSS (from `wait4`); and a synthetic store
//! ([`corpus`]).
#![allow(dead_code)] // each benchmark uses a different subset

pub mod corpus;
pub mod locomo;
pub mod results;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sample {
    pub wall: Duration,
    pub max_rss_kib: i64,
}

/// Spawn `program args` with `input` on stdin; wall time from spawn to exit,
/// and the child's own peak RSS (from wait4).
pub fn spawn_once(program: &str, args: &[&str], envs: &[(&str, &Path)], input: &[u8]) -> Sample {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .stdout(Stdio::null());
    timed(&mut command, input).0
}

/// Run `command` as Claude Code runs a hook: `input` on stdin, stdout
/// captured, stderr dropped. Returns the wall time from spawn to exit with
/// the peak RSS of the child and of the descendants it waited for (wait4),
/// and what it printed.
pub fn spawn_hook(command: &mut Command, input: &[u8]) -> (Sample, Vec<u8>) {
    timed(command.stdout(Stdio::piped()), input)
}

/// Spawn, feed stdin, read stdout if it is a pipe, reap with wait4.
fn timed(command: &mut Command, input: &[u8]) -> (Sample, Vec<u8>) {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input);
    }
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; we reap our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4");
    let wall = start.elapsed();
    std::mem::forget(child); // already reaped
    let sample = Sample {
        wall,
        max_rss_kib: usage.ru_maxrss,
    };
    (sample, stdout)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

pub fn report(label: &str, samples: &[Sample]) {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let mut rss: Vec<i64> = samples.iter().map(|s| s.max_rss_kib).collect();
    rss.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    results::add(results::Row {
        name: label.to_string(),
        unit: "ms",
        value: ms(percentile(&walls, 0.5)),
        p95: Some(ms(percentile(&walls, 0.95))),
        peak_rss_mib: Some(rss[rss.len() - 1] as f64 / 1024.0),
    });
    println!(
        "{label:<34} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10.1} {:>10.1}",
        ms(percentile(&walls, 0.5)),
        ms(percentile(&walls, 0.95)),
        ms(walls[0]),
        ms(walls[walls.len() - 1]),
        rss[rss.len() / 2] as f64 / 1024.0,
        rss[rss.len() - 1] as f64 / 1024.0,
    );
}

/// A started `mnemo serve --port 0`: process, port, token, printed URL.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub token: String,
    pub url: String,
}

/// Start `bin serve --port 0` on the data directory `home`; returns once it
/// has printed its URL.
pub fn start_server(bin: &str, home: &Path) -> Server {
    let mut child = Command::new(bin)
        .args(["serve", "--port", "0"])
        .env("MNEMO_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mnemo serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines.next().expect("a first line").expect("utf-8");
    // Keep reading, so the server's stdout stays open.
    std::thread::spawn(move || lines.for_each(drop));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL")
        .to_string();
    let (port, token) = url
        .trim_start_matches("http://127.0.0.1:")
        .split_once("/#token=")
        .expect("port and token");
    Server {
        port: port.parse().expect("port"),
        token: token.to_string(),
        url: url.clone(),
        child,
    }
}

/// `VmRSS` of a process, in MiB (0 when it is gone).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A hook's stdin as Claude Code writes it: the common fields of `event` in
/// session `session_id`, then `fields` (an object) on top.
pub fn hook_input(
    event: &str,
    session_id: &str,
    cwd: &str,
    fields: serde_json::Value,
) -> serde_json::Value {
    let mut input = serde_json::json!({
        "session_id": session_id,
        "transcript_path": format!("/home/dev/.claude/projects/-benchproj/{session_id}.jsonl"),
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
    });
    for (key, value) in fields.as_object().expect("an object") {
        input[key] = value.clone();
    }
    input
}
