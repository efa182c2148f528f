//! Side by side with claude-mem: the same synthetic observations, the same
//! hook payloads and the same queries against both systems, in one run on
//! one machine, with the two interleaved so that the machine's noise hits
//! both alike.
//!
//! Run through `scripts/versus-claude-mem.sh [--quick]`, which installs the
//! published claude-mem and Bun from the npm registry and then runs
//! `cargo bench -p mnemo --bench versus -- --claude-mem <plugin dir>`
//! (`--quick`: fewer runs, 10,000 observations only; `--work-dir DIR`: where
//! both data directories live, default a temporary directory). `bun` must be
//! on PATH. Prints one table (median figures, ratio claude-mem ÷ mnemo) and
//! writes the same rows to `versus.json` in the results directory
//! (`target/bench-results`, see `support/results.rs`).
//!
//! claude-mem runs offline with its vector store (Chroma) disabled, so its
//! text search is SQLite FTS5; its observer LLM cannot run offline, so its
//! database is seeded directly through its own schema, with the worker
//! stopped.

mod support;

#[path = "../tests/common/http.rs"]
mod http;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use serde_json::{Value, json};
use support::corpus::{self, observation};
use support::{Sample, hook_input, percentile, rss_mib, spawn_hook, spawn_once};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// Phrases that occur in the synthetic observations. claude-mem searches a
/// query as one FTS5 phrase, so free-form questions would mostly hit its
/// cheap no-match path; these match rows in both systems.
const QUERIES: &[&str] = &[
    "ValueError",
    "token expired",
    "cold cache",
    "checkout tests",
    "unicode names",
    "E0382",
    "parser tests failed",
    "two coupons",
];

/// Observations per claude-mem session when seeding (one memory session
/// per project per 25 observations, as its observer would write them).
const PER_SESSION: usize = 25;

/// How the run is sized.
struct Plan {
    /// Interleaved runs per hook event and system.
    hook_runs: usize,
    /// Rounds over [`QUERIES`] per store size and system.
    search_rounds: usize,
    /// Store sizes searched, in increasing order.
    sizes: &'static [usize],
    /// PostToolUse events in the durability burst.
    burst: usize,
    /// Hooks in flight at once during the burst (Claude Code runs
    /// PostToolUse asynchronously, so they overlap).
    in_flight: usize,
}

const QUICK: Plan = Plan {
    hook_runs: 12,
    search_rounds: 8,
    sizes: &[10_000],
    burst: 60,
    in_flight: 6,
};

const FULL: Plan = Plan {
    hook_runs: 50,
    search_rounds: 25,
    sizes: &[10_000, 100_000],
    burst: 400,
    in_flight: 8,
};

/// One compared figure: a row of the table and an object in the JSON.
struct Row {
    name: String,
    unit: &'static str,
    mnemo: Option<f64>,
    claude_mem: Option<f64>,
}

impl Row {
    fn new(name: impl Into<String>, unit: &'static str, mnemo: f64, claude_mem: f64) -> Row {
        Row {
            name: name.into(),
            unit,
            mnemo: Some(mnemo),
            claude_mem: Some(claude_mem),
        }
    }

    fn ratio(&self) -> Option<f64> {
        match (self.claude_mem, self.mnemo) {
            (Some(c), Some(m)) if m > 0.0 => Some(c / m),
            _ => None,
        }
    }
}

/// The claude-mem plugin, isolated: its own HOME (data dir
/// `$HOME/.claude-mem`), loopback port, Chroma and telemetry off.
struct ClaudeMem {
    plugin: PathBuf,
    home: PathBuf,
    port: u16,
}

impl ClaudeMem {
    fn data_dir(&self) -> PathBuf {
        self.home.join(".claude-mem")
    }

    fn db(&self) -> PathBuf {
        self.data_dir().join("claude-mem.db")
    }

    /// `node bun-runner.js worker-service.cjs <args>`: the command line of
    /// every hook in its hooks.json, after the bash prelude that finds the
    /// plugin root.
    fn command(&self, args: &[&str]) -> Command {
        let scripts = self.plugin.join("scripts");
        let mut command = Command::new("node");
        command
            .arg(scripts.join("bun-runner.js"))
            .arg(scripts.join("worker-service.cjs"))
            .args(args)
            .env("HOME", &self.home)
            .env("CLAUDE_PLUGIN_ROOT", &self.plugin)
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .env("CLAUDE_MEM_WORKER_HOST", "127.0.0.1")
            .env("CLAUDE_MEM_CHROMA_ENABLED", "false")
            .env("DO_NOT_TRACK", "1")
            .env("CLAUDE_MEM_TELEMETRY", "0")
            .env("CLAUDE_MEM_TELEMETRY_ERRORS", "0")
            .env("CLAUDE_MEM_TELEMETRY_HOST", "http://127.0.0.1:9")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// `hook claude-code <event>` with `payload` on stdin.
    fn hook(&self, event: &str, payload: &Value) -> Sample {
        let mut command = self.command(&["hook", "claude-code", event]);
        spawn_hook(&mut command, payload.to_string().as_bytes()).0
    }

    /// The worker's `/api/health`, if something answers on its port.
    fn health(&self) -> Option<Value> {
        TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1))
            .ok()?;
        let r = http::request(self.port, "GET", "/api/health", &[], None);
        (r.status == 200).then(|| r.json())
    }

    /// The pid of the worker serving this plugin on its port; panics when
    /// another claude-mem answers there (a port taken by someone else).
    fn worker_pid(&self) -> Option<u32> {
        let health = self.health()?;
        let path = health["workerPath"].as_str().unwrap_or("");
        assert!(
            Path::new(path).starts_with(&self.plugin),
            "port {} is answered by another claude-mem ({path})",
            self.port
        );
        health["pid"].as_u64().map(|p| p as u32)
    }

    /// Start the worker (`worker-service.cjs start`, as SessionStart does)
    /// and wait until it reports itself initialized. Returns its pid.
    fn start(&self) -> u32 {
        let status = self.command(&["start"]).status().expect("run node");
        assert!(status.success(), "claude-mem worker start: {status}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(health) = self.health()
                && health["initialized"] == json!(true)
                && let Some(pid) = self.worker_pid()
            {
                return pid;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the claude-mem worker did not come up on port {}",
            self.port
        );
    }

    /// Stop the worker (`worker-service.cjs stop`), then make sure nothing
    /// of it is left.
    fn stop(&self) {
        let pid = self.worker_pid();
        let _ = self.command(&["stop"]).status();
        if let Some(pid) = pid {
            wait_gone(pid, Duration::from_secs(10));
        }
    }
}

/// A running `mnemo serve`: its process, port and bearer token.
struct MnemoServe {
    child: Child,
    port: u16,
    token: String,
}

impl MnemoServe {
    fn start(home: &Path) -> MnemoServe {
        // Any free port; the one it took is in what it prints.
        let mut command = Command::new(BIN);
        command.env("MNEMO_HOME", home).args(["serve", "--port=0"]);
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = command.spawn().expect("spawn mnemo serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let rest = line.strip_prefix("API on 127.0.0.1:")?;
                rest.split(' ').next()?.parse::<u16>().ok()
            })
            .expect("mnemo serve prints its API port");
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        let token = std::fs::read_to_string(home.join(mnemo_serve::TOKEN_FILE))
            .expect("the API token file")
            .trim()
            .to_string();
        MnemoServe { child, port, token }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn get(&self, path: &str) -> http::Response {
        let bearer = format!("Bearer {}", self.token);
        http::request(self.port, "GET", path, &[("Authorization", &bearer)], None)
    }

    /// SIGKILL it (and reap it).
    fn kill(self) {
        drop(self);
    }
}

impl Drop for MnemoServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything one run works in.
struct Setup {
    plan: &'static Plan,
    claude_mem: ClaudeMem,
    /// A `git init`'d project directory: the `cwd` of every hook payload.
    project: PathBuf,
    /// mnemo's data directory for the hooks and the first searches.
    mnemo_home: PathBuf,
    work: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, target, range @ ..] = args.as_slice()
        && mode.starts_with("--seed-")
    {
        seed_here(mode, Path::new(target), range);
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    let Some(plugin) = value("--claude-mem") else {
        eprintln!(
            "versus: needs --claude-mem <plugin dir>; run scripts/versus-claude-mem.sh, which installs it"
        );
        std::process::exit(2);
    };
    let plan = if args.iter().any(|a| a == "--quick") {
        &QUICK
    } else {
        &FULL
    };
    let temporary = tempfile::tempdir().expect("tempdir");
    let work = value("--work-dir").unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&work).expect("work dir");
    let project = work.join("benchproj");
    std::fs::create_dir_all(&project).expect("project dir");
    Command::new("git")
        .args(["init", "-q"])
        .current_dir(&project)
        .status()
        .expect("git init");
    let setup = Setup {
        plan,
        claude_mem: ClaudeMem {
            plugin: plugin.canonicalize().expect("the claude-mem plugin dir"),
            home: work.join("claude-mem-home"),
            port: free_port(),
        },
        project,
        mnemo_home: work.join(format!("mnemo-{}", size_label(plan.sizes[0]))),
        work,
    };
    let rows = run(&setup);
    // Whatever happened above, leave no worker behind.
    setup.claude_mem.stop();
    print_table(&rows);
    write_json(&rows);
}

fn run(setup: &Setup) -> Vec<Row> {
    let plan = setup.plan;
    let cm = &setup.claude_mem;
    let mut rows = Vec::new();
    let first = plan.sizes[0];

    // The worker creates its schema on a first start; seeding happens with
    // it stopped, then it serves the seeded database.
    cm.start();
    cm.stop();
    seed("--seed-claude-mem", &cm.db(), 0, first);
    seed("--seed-mnemo", &setup.mnemo_home, 0, first);
    let mut worker = cm.start();
    let mut serve = MnemoServe::start(&setup.mnemo_home);
    println!(
        "claude-mem worker pid {worker} on port {}; mnemo serve pid {} on port {}",
        cm.port,
        serve.pid(),
        serve.port
    );

    rows.push(idle_rss(first, worker, serve.pid()));
    rows.extend(search(setup, first, &serve, &setup.mnemo_home));
    rows.extend(hooks(setup));
    rows.push(Row::new(
        format!("background RSS after the hook runs, {}", size_label(first)),
        "MiB",
        rss_mib(serve.pid()),
        rss_mib(worker),
    ));

    // The largest store is the one both systems hold at the end, so the
    // burst goes to it on both sides.
    let mut home = setup.mnemo_home.clone();
    for &size in &plan.sizes[1..] {
        cm.stop();
        serve.kill();
        seed("--seed-claude-mem", &cm.db(), first, size);
        home = setup.work.join(format!("mnemo-{}", size_label(size)));
        seed("--seed-mnemo", &home, 0, size);
        worker = cm.start();
        serve = MnemoServe::start(&home);
        rows.push(idle_rss(size, worker, serve.pid()));
        rows.extend(search(setup, size, &serve, &home));
    }

    let largest = plan.sizes[plan.sizes.len() - 1];
    rows.extend(burst(setup, serve, &home, largest));
    rows
}

/// Idle RSS of the two background processes, a few seconds after start.
fn idle_rss(size: usize, worker: u32, serve: u32) -> Row {
    std::thread::sleep(Duration::from_secs(5));
    Row::new(
        format!(
            "background RSS idle, {} (claude-mem worker, mnemo serve)",
            size_label(size)
        ),
        "MiB",
        rss_mib(serve),
        rss_mib(worker),
    )
}

/// API search on both, interleaved, a new connection per request; and the
/// `mnemo search` CLI as a whole process, for reference.
fn search(setup: &Setup, size: usize, serve: &MnemoServe, home: &Path) -> Vec<Row> {
    let cm = &setup.claude_mem;
    let encode = |q: &str| q.replace(' ', "%20");
    let (mut cm_times, mut mnemo_times) = (Vec::new(), Vec::new());
    let claude_mem_search = |q: &str| {
        let t = Instant::now();
        let r = http::request(
            cm.port,
            "GET",
            &format!("/api/search?query={}&limit=20", encode(q)),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "claude-mem search {q}: {}", r.body);
        t.elapsed()
    };
    let mnemo_search = |q: &str| {
        let t = Instant::now();
        let r = serve.get(&format!("/api/search?q={}&limit=20", encode(q)));
        assert_eq!(r.status, 200, "mnemo search {q}: {}", r.body);
        let took = t.elapsed();
        assert!(
            !r.json()["items"].as_array().is_none_or(Vec::is_empty),
            "mnemo found nothing for {q}"
        );
        took
    };
    // Warm both (page cache, first-query set-up) before timing.
    for q in QUERIES {
        claude_mem_search(q);
        mnemo_search(q);
    }
    for round in 0..setup.plan.search_rounds {
        for q in QUERIES {
            if round % 2 == 0 {
                cm_times.push(claude_mem_search(q));
                mnemo_times.push(mnemo_search(q));
            } else {
                mnemo_times.push(mnemo_search(q));
                cm_times.push(claude_mem_search(q));
            }
        }
    }
    let label = size_label(size);
    let mut rows = vec![
        Row::new(
            format!("search API median, {label} (GET /api/search, limit 20)"),
            "ms",
            median_ms(&mnemo_times),
            median_ms(&cm_times),
        ),
        Row::new(
            format!("search API p95, {label}"),
            "ms",
            p95_ms(&mnemo_times),
            p95_ms(&cm_times),
        ),
    ];
    let cli: Vec<Duration> = (0..setup.plan.search_rounds)
        .flat_map(|_| QUERIES)
        .map(|q| {
            spawn_once(
                BIN,
                &["search", q, "--limit", "20", "--all-projects"],
                &[("MNEMO_HOME", home)],
                b"",
            )
            .wall
        })
        .collect();
    rows.push(Row {
        name: format!("`mnemo search` CLI, whole process, {label} (reference)"),
        unit: "ms",
        mnemo: Some(median_ms(&cli)),
        claude_mem: None,
    });
    rows
}

/// The hook events compared: Claude Code's name, mnemo's hook argument,
/// claude-mem's handler.
const EVENTS: &[(&str, &str, &str)] = &[
    ("PostToolUse", "post-tool-use", "observation"),
    ("UserPromptSubmit", "user-prompt-submit", "session-init"),
    ("SessionStart", "session-start", "context"),
];

/// Each hook spawned as Claude Code spawns it, the two systems alternating
/// which goes first; both workers/servers running.
fn hooks(setup: &Setup) -> Vec<Row> {
    let cm = &setup.claude_mem;
    let cwd = setup.project.to_str().expect("a UTF-8 temp path");
    let floor = spawn_hook(&mut Command::new("/bin/true"), b"").0;
    println!(
        "hooks: /bin/true spawned the same way: {:.2} ms, peak RSS {:.1} MiB (the floor under every RSS below)",
        floor.wall.as_secs_f64() * 1000.0,
        floor.max_rss_kib as f64 / 1024.0
    );
    let mut rows = Vec::new();
    for &(event, mnemo_arg, cm_arg) in EVENTS {
        let (mut cm_samples, mut mnemo_samples) = (Vec::new(), Vec::new());
        for run in 0..setup.plan.hook_runs {
            let payload = hook_payload(event, cwd, "hooks", run);
            let mut mnemo = || {
                let mut command = Command::new(BIN);
                command
                    .args(["hook", mnemo_arg])
                    .env("MNEMO_HOME", &setup.mnemo_home);
                mnemo_samples.push(spawn_hook(&mut command, payload.to_string().as_bytes()).0);
            };
            if run % 2 == 0 {
                cm_samples.push(cm.hook(cm_arg, &payload));
                mnemo();
            } else {
                mnemo();
                cm_samples.push(cm.hook(cm_arg, &payload));
            }
        }
        let walls = |s: &[Sample]| s.iter().map(|s| s.wall).collect::<Vec<_>>();
        let peak = |s: &[Sample]| {
            let mut rss: Vec<i64> = s.iter().map(|s| s.max_rss_kib).collect();
            rss.sort();
            rss[rss.len() / 2] as f64 / 1024.0
        };
        rows.push(Row::new(
            format!("hook {event} median (claude-mem `{cm_arg}`)"),
            "ms",
            median_ms(&walls(&mnemo_samples)),
            median_ms(&walls(&cm_samples)),
        ));
        rows.push(Row::new(
            format!("hook {event} p95"),
            "ms",
            p95_ms(&walls(&mnemo_samples)),
            p95_ms(&walls(&cm_samples)),
        ));
        rows.push(Row::new(
            format!("hook {event} peak RSS of the hook process (median)"),
            "MiB",
            peak(&mnemo_samples),
            peak(&cm_samples),
        ));
    }
    rows
}

/// A hook payload in Claude Code's format. PostToolUse is a `Read` of a
/// 60-line source file, with a new `tool_use_id` per `n`.
fn hook_payload(event: &str, cwd: &str, session: &str, n: usize) -> Value {
    let session_id = format!("versus-{session}");
    let fields = match event {
        "PostToolUse" => {
            let file = format!("{cwd}/src/cart.ts");
            let content: String = (0..60)
                .map(|line| {
                    format!(
                        "export function applyDiscount{line}(total: number, rate: number): number {{ return total * (1 - rate); }}\n"
                    )
                })
                .collect();
            json!({
                "tool_name": "Read",
                "tool_input": {"file_path": file},
                "tool_response": {"type": "text", "file": {"filePath": file, "content": content,
                    "numLines": 60, "startLine": 1, "totalLines": 60}},
                "tool_use_id": format!("toolu_versus_{session}_{n:06}"),
            })
        }
        "UserPromptSubmit" => json!({
            "prompt": format!("step {n}: the cart total is wrong when two coupons apply, find out why and fix it"),
        }),
        _ => json!({"source": "startup", "session_id": format!("{session_id}-{n}")}),
    };
    hook_input(event, &session_id, cwd, fields)
}

/// A burst of PostToolUse hooks through each system with its background
/// process SIGKILLed halfway (and, for mnemo, every 10th hook process killed
/// as soon as it has its input), then a restart; counts what is on disk.
fn burst(setup: &Setup, serve: MnemoServe, home: &Path, size: usize) -> Vec<Row> {
    let plan = setup.plan;
    let cm = &setup.claude_mem;
    let cwd = setup.project.to_str().expect("a UTF-8 temp path");

    // claude-mem: the session exists first, as UserPromptSubmit makes it.
    cm.hook(
        "session-init",
        &hook_payload("UserPromptSubmit", cwd, "burst-cm", 0),
    );
    let mut cm_rss_mid = 0.0;
    let started = Instant::now();
    let cm_completed = fire(
        plan,
        |n| {
            let command = cm.command(&["hook", "claude-code", "observation"]);
            (command, hook_payload("PostToolUse", cwd, "burst-cm", n))
        },
        |n| {
            if n == plan.burst / 2
                && let Some(pid) = cm.worker_pid()
            {
                let status =
                    http::request(cm.port, "GET", "/api/processing-status", &[], None).json();
                cm_rss_mid = rss_mib(pid);
                signal(pid, libc::SIGKILL);
                println!(
                    "burst: claude-mem worker {pid} SIGKILLed after {n} events ({cm_rss_mid:.1} MiB, queueDepth {})",
                    status["queueDepth"]
                );
            }
            false
        },
    );
    let cm_wall = started.elapsed();
    // Whether the hooks that came after the kill started a new worker.
    println!(
        "burst: claude-mem worker after the burst: {}",
        cm.worker_pid()
            .map_or("none running".to_string(), |p| format!(
                "pid {p}, started by a hook"
            ))
    );
    cm.stop();
    cm.start();
    let status = http::request(cm.port, "GET", "/api/processing-status", &[], None).json();
    let queue = status["queueDepth"].as_u64().unwrap_or(0);
    let conn = Connection::open(cm.db()).expect("open the claude-mem db");
    let count = |sql: &str| -> usize {
        let n: i64 = conn
            .query_row(sql, ["versus-burst-cm"], |r| r.get(0))
            .expect("count");
        n as usize
    };
    let observations = count(
        "SELECT count(*) FROM observations o JOIN sdk_sessions s \
         ON s.memory_session_id = o.memory_session_id WHERE s.content_session_id = ?1",
    );
    let pending = count("SELECT count(*) FROM pending_messages WHERE content_session_id = ?1");
    println!(
        "burst: claude-mem after restart: {observations} observations, {pending} pending_messages, \
         queueDepth {queue}; {cm_completed} of {} hooks exited 0",
        plan.burst
    );

    // mnemo: its hooks need no server; `mnemo serve` runs anyway and dies too.
    let serve_pid = serve.pid();
    let mut serve = Some(serve);
    let mut mnemo_rss_mid = 0.0;
    let started = Instant::now();
    let mnemo_completed = fire(
        plan,
        |n| {
            let mut command = Command::new(BIN);
            command
                .args(["hook", "post-tool-use"])
                .env("MNEMO_HOME", home)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            (command, hook_payload("PostToolUse", cwd, "burst-mnemo", n))
        },
        |n| {
            if n == plan.burst / 2
                && let Some(serve) = serve.take()
            {
                mnemo_rss_mid = rss_mib(serve_pid);
                serve.kill();
                println!(
                    "burst: mnemo serve {serve_pid} SIGKILLed after {n} events ({mnemo_rss_mid:.1} MiB)"
                );
            }
            n % 10 == 5
        },
    );
    let mnemo_wall = started.elapsed();
    let restarted = MnemoServe::start(home);
    let db = Connection::open(home.join("mnemo.db")).expect("open the mnemo db");
    let (stored, distinct): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT e.tool_use_id) FROM events e \
             JOIN sessions s ON s.id = e.session_id \
             WHERE s.agent_session_id = 'versus-burst-mnemo' AND e.hook = 'PostToolUse'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count events");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    println!(
        "burst: mnemo after restart: {stored} events on disk ({distinct} distinct tool_use_ids), \
         integrity {integrity}; {mnemo_completed} of {} hooks exited 0, the others were killed",
        plan.burst
    );
    if (stored as usize) < mnemo_completed || stored != distinct {
        println!("burst: WARNING: mnemo lost or duplicated an event of a hook that exited 0");
    }
    restarted.kill();

    let n = format!("{} PostToolUse ({} stores)", plan.burst, size_label(size));
    vec![
        Row::new(
            format!(
                "burst of {n}, background process SIGKILLed halfway: events on disk after restart"
            ),
            "events",
            stored as f64,
            (observations + pending) as f64,
        ),
        Row::new(
            format!("burst of {n}: hooks that exited 0 (mnemo: 1 in 10 SIGKILLed on purpose)"),
            "hooks",
            mnemo_completed as f64,
            cm_completed as f64,
        ),
        Row::new(
            format!(
                "burst of {n}, {} hooks in flight: wall time",
                plan.in_flight
            ),
            "s",
            mnemo_wall.as_secs_f64(),
            cm_wall.as_secs_f64(),
        ),
        Row::new(
            format!("background RSS mid-burst of {n}, just before the SIGKILL"),
            "MiB",
            mnemo_rss_mid,
            cm_rss_mid,
        ),
    ]
}

/// Spawn `plan.burst` hooks, at most `plan.in_flight` at once, each with
/// its payload on stdin. `before(n)` runs before hook `n` is spawned; when
/// it returns true that hook is SIGKILLed as soon as its input is written.
/// Returns how many hooks exited 0.
fn fire(
    plan: &Plan,
    mut make: impl FnMut(usize) -> (Command, Value),
    mut before: impl FnMut(usize) -> bool,
) -> usize {
    let mut running: std::collections::VecDeque<Child> = Default::default();
    let mut completed = 0;
    let mut reap = |mut child: Child| {
        if child.wait().is_ok_and(|s| s.success()) {
            completed += 1;
        }
    };
    for n in 0..plan.burst {
        let kill = before(n);
        if running.len() >= plan.in_flight
            && let Some(oldest) = running.pop_front()
        {
            reap(oldest);
        }
        let (mut command, payload) = make(n);
        let mut child = command.stdin(Stdio::piped()).spawn().expect("spawn a hook");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = std::io::Write::write_all(&mut stdin, payload.to_string().as_bytes());
        }
        if kill {
            signal(child.id(), libc::SIGKILL);
        }
        running.push_back(child);
    }
    running.into_iter().for_each(&mut reap);
    completed
}

/// Seed a store in a child process (this binary again, `--seed-…`): a
/// spawned hook's peak RSS, as wait4 reports it, includes this process's
/// peak until the exec, so this process must never grow large.
fn seed(mode: &str, target: &Path, from: usize, to: usize) {
    let status = Command::new(std::env::current_exe().expect("this binary"))
        .arg(mode)
        .arg(target)
        .args([from.to_string(), to.to_string()])
        .status()
        .expect("spawn the seeding child");
    assert!(status.success(), "seeding {}: {status}", target.display());
}

/// The seeding child: `--seed-mnemo HOME 0 COUNT` (a new store) or
/// `--seed-claude-mem DB FROM TO` (added to claude-mem's database).
fn seed_here(mode: &str, target: &Path, range: &[String]) {
    let bound = |i: usize| -> usize {
        range
            .get(i)
            .and_then(|v| v.parse().ok())
            .expect("seeding range FROM TO")
    };
    let (from, to) = (bound(0), bound(1));
    if mode == "--seed-mnemo" {
        corpus::seed(target, to);
        return;
    }
    let started = Instant::now();
    seed_claude_mem(target, from, to);
    println!(
        "claude-mem: observations {from}..{to} seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Seed claude-mem's database with observations `from..to`, the same ones
/// `corpus::seed` gives mnemo, through its own schema (sessions first: the
/// observations reference them); the worker must be stopped.
fn seed_claude_mem(db: &Path, from: usize, to: usize) {
    let mut conn = Connection::open(db).expect("open the claude-mem db");
    // Building the fixture only: no fsyncs.
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")
        .expect("pragmas");
    let tx = conn.transaction().expect("transaction");
    {
        let iso = "strftime('%Y-%m-%dT%H:%M:%fZ', ?5 / 1000.0, 'unixepoch')";
        let mut session = tx
            .prepare(&format!(
                "INSERT OR IGNORE INTO sdk_sessions (content_session_id, memory_session_id, project, \
                 platform_source, user_prompt, started_at, started_at_epoch, completed_at, \
                 completed_at_epoch, status, prompt_counter) \
                 VALUES (?1, ?2, ?3, 'claude', ?4, {iso}, ?5, {iso}, ?5, 'completed', 1)"
            ))
            .expect("prepare");
        let mut insert = tx
            .prepare(
                "INSERT INTO observations (memory_session_id, project, type, title, subtitle, facts, \
                 narrative, concepts, files_read, files_modified, prompt_number, created_at, \
                 created_at_epoch, discovery_tokens, content_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, \
                 strftime('%Y-%m-%dT%H:%M:%fZ', ?11 / 1000.0, 'unixepoch'), ?11, 0, ?12)",
            )
            .expect("prepare");
        let list = |items: &[String]| serde_json::to_string(items).expect("JSON");
        for i in from..to {
            let o = observation(i);
            let project = format!("project-{}", i % 20);
            let session_key = format!("seed-{}-{}", i % 20, i / (20 * PER_SESSION));
            let at = o.created_at.unwrap_or_default();
            session
                .execute(params![
                    session_key,
                    format!("mem-{session_key}"),
                    project,
                    format!("work on {project}"),
                    at
                ])
                .expect("insert a session");
            insert
                .execute(params![
                    format!("mem-{session_key}"),
                    project,
                    o.kind,
                    o.title,
                    o.subtitle,
                    list(&o.facts),
                    o.narrative,
                    list(&o.concepts),
                    list(&o.files_read),
                    list(&o.files_modified),
                    at,
                    o.content_hash,
                ])
                .expect("insert an observation");
        }
    }
    tx.commit().expect("commit");
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a pid we started or the worker we were told about.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// Wait until `pid` has exited (or `limit` has passed; then SIGKILL it).
fn wait_gone(pid: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    let alive = || Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive() {
        signal(pid, libc::SIGKILL);
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
    })
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn size_label(size: usize) -> String {
    format!("{}k", size / 1000)
}

fn median_ms(times: &[Duration]) -> f64 {
    quantile_ms(times, 0.5)
}

fn p95_ms(times: &[Duration]) -> f64 {
    quantile_ms(times, 0.95)
}

fn quantile_ms(times: &[Duration], q: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    percentile(&sorted, q).as_secs_f64() * 1000.0
}

fn print_table(rows: &[Row]) {
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
    println!("\n| what | unit | mnemo | claude-mem | claude-mem ÷ mnemo |\n|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.name,
            row.unit,
            cell(row.mnemo),
            cell(row.claude_mem),
            row.ratio().map_or("–".to_string(), |r| format!("{r:.2}×"))
        );
    }
}

/// The rows as JSON in `versus.json` of the results directory (see
/// `support/results.rs`), where `--bench summary` finds them.
fn write_json(rows: &[Row]) {
    let dir = support::results::dir();
    let json: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"name": r.name, "unit": r.unit, "mnemo": r.mnemo,
                   "claude_mem": r.claude_mem, "ratio": r.ratio()})
        })
        .collect();
    let doc = json!({"bench": "versus", "setting": "claude-mem side by side", "rows": json});
    let path = dir.join("versus.json");
    let written =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, format!("{doc:#}\n")));
    match written {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(e) => eprintln!("versus: cannot write {}: {e}", path.display()),
    }
}
