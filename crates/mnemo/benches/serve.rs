//! Server benchmark: the release `mnemo serve` on 100,000 observations —
//! its memory when idle, API list and search latency over real HTTP (a new
//! connection per request, as the raw-socket test client does), how soon a
//! new observation reaches a live-stream client after the hook that made it
//! exits, and the viewer's first paint in headless Chromium (when node,
//! Chromium and `npm ci` in `tests/browser` are there).
//!
//! Run: `cargo bench -p mnemo --bench serve` (`-- --quick`: 10,000
//! observations).

mod support;

#[path = "../tests/common/http.rs"]
mod http;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::corpus::{self, QUERIES};
use support::{percentile, results, rss_mib, start_server};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(label: &str, mut times: Vec<Duration>) {
    times.sort();
    results::timings(label, &times);
    println!(
        "{label:<40} {:>8.2} {:>8.2} {:>8.2}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let count = if std::env::args().any(|a| a == "--quick") {
        10_000
    } else {
        100_000
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    corpus::seed(&home, count);
    let project = tmp.path().join("live-project");
    std::fs::create_dir_all(&project).unwrap();

    let mut server = start_server(BIN, &home);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss_mib(pid);
    println!("\nidle RSS after start: {idle:.1} MiB");
    results::value("server RSS, idle after start", "MiB", idle);

    let bearer = format!("Bearer {}", server.token);
    let get = |path: &str| {
        let t = Instant::now();
        let r = http::request(
            server.port,
            "GET",
            path,
            &[("Authorization", &bearer)],
            None,
        );
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        (t.elapsed(), r)
    };
    println!(
        "\n{:<40} {:>8} {:>8} {:>8}",
        "request over HTTP (ms)", "median", "p95", "max"
    );
    let runs = 100;
    let timed = |path: &dyn Fn(usize) -> String| (0..runs).map(|i| get(&path(i)).0).collect();
    row(
        "list: newest 50",
        timed(&|_| "/api/observations?limit=50".into()),
    );
    row(
        "list: one project, 50",
        timed(&|i| {
            format!(
                "/api/observations?limit=50&project=/bench/project-{}",
                i % 20
            )
        }),
    );
    row(
        "list: type bugfix, 50",
        timed(&|_| "/api/observations?limit=50&type=bugfix".into()),
    );
    let mut walk = Vec::new();
    let mut cursor = String::new();
    for _ in 0..runs {
        let (took, r) = get(&format!("/api/observations?limit=50&before={cursor}"));
        walk.push(took);
        cursor = r.json()["next"].as_str().unwrap_or("").to_string();
    }
    row("list: pages 1-100, by cursor", walk);
    let encode = |q: &str| q.replace(' ', "%20");
    row(
        "search (same queries as --bench retrieve)",
        timed(&|i| {
            format!(
                "/api/search?q={}&limit=20",
                encode(QUERIES[i % QUERIES.len()])
            )
        }),
    );
    row(
        "search, one project",
        timed(&|i| {
            format!(
                "/api/search?q={}&limit=20&project=/bench/project-{}",
                encode(QUERIES[i % QUERIES.len()]),
                i % 20
            )
        }),
    );
    row(
        "observation detail",
        timed(&|i| format!("/api/observations/{}", 1 + i * 997 % count)),
    );
    row("stats", timed(&|_| "/api/stats".into()));
    row("projects", timed(&|_| "/api/projects".into()));
    row(
        "context preview",
        timed(&|i| format!("/api/context?project=/bench/project-{}", i % 20)),
    );
    let busy = rss_mib(pid);
    println!("\nRSS after these requests: {busy:.1} MiB");
    results::value("server RSS, after the requests above", "MiB", busy);

    // Live stream: Stop hook exits → `observation` event read by a client.
    let mut events =
        http::EventStream::open(server.port, "/api/stream", &[("Authorization", &bearer)]);
    events.next(Duration::from_secs(5)).expect("hello");
    let mut latencies = Vec::new();
    for i in 0..20 {
        let cwd = project.to_str().unwrap();
        let session = format!("bench-live-{i}");
        let hook = |payload: serde_json::Value| {
            let mut child = Command::new(BIN)
                .arg("hook")
                .env("MNEMO_HOME", &home)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(payload.to_string().as_bytes())
                .unwrap();
            child.wait().unwrap();
            Instant::now()
        };
        hook(
            json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
            "prompt": format!("make parser {i} accept empty input")}),
        );
        hook(
            json!({"session_id": session, "cwd": cwd, "hook_event_name": "PostToolUse",
            "tool_name": "Edit", "tool_use_id": format!("toolu_bench_{i}"),
            "tool_input": {"file_path": format!("{cwd}/parser_{i}.py"), "old_string": "raise ValueError", "new_string": "return []"},
            "tool_response": {"filePath": format!("{cwd}/parser_{i}.py")}}),
        );
        let exited = hook(
            json!({"session_id": session, "cwd": cwd, "hook_event_name": "Stop",
            "last_assistant_message": format!("Parser {i} now returns an empty list for empty input.")}),
        );
        events
            .next_named("observation", Duration::from_secs(10))
            .expect("an observation event");
        latencies.push(exited.elapsed());
    }
    println!();
    row("live: Stop hook exit → SSE observation", latencies);
    row(
        "list: newest 50, 20 sessions on the page",
        timed(&|_| "/api/observations?limit=50".into()),
    );
    row(
        "sessions: newest 50",
        timed(&|_| "/api/sessions?limit=50".into()),
    );

    first_paint(&server.url);

    let asked = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let status = server.child.wait().unwrap();
    println!(
        "\nshutdown on SIGTERM (one live-stream client connected): {:.0} ms, {status}",
        ms(asked.elapsed())
    );
    results::save("serve", &format!("{count} observations"));
}

/// Load the viewer in headless Chromium a few times; median first
/// contentful paint and time until the first page of memories is shown.
fn first_paint(url: &str) {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() || !browser_dir.join("node_modules/playwright-core").exists() {
        println!(
            "\nfirst paint: skipped (needs Chromium and `npm ci` in {})",
            browser_dir.display()
        );
        return;
    }
    let out = Command::new("node")
        .arg("first-paint.mjs")
        .current_dir(&browser_dir)
        .env("MNEMO_VIEWER_URL", url)
        .env("CHROMIUM", &chromium)
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let said = String::from_utf8_lossy(&out.stdout);
            print!("\n{said}");
            // "later visits (median of N): first paint X ms, memories shown Y ms"
            let figure = |label: &str| -> Option<f64> {
                let line = said.lines().find(|l| l.starts_with("later visits"))?;
                let after = &line[line.find(label)? + label.len()..];
                after.split_whitespace().next()?.parse().ok()
            };
            for (label, name) in [
                ("first paint ", "viewer first paint (Chromium, median)"),
                (
                    "memories shown ",
                    "viewer memories shown (Chromium, median)",
                ),
            ] {
                if let Some(v) = figure(label) {
                    results::value(name, "ms", v);
                }
            }
        }
        Ok(out) => println!(
            "\nfirst paint failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!("\nfirst paint: cannot run node: {e}"),
    }
}
