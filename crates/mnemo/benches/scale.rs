//! Scale check: every user-facing operation on a store of 1,000,000
//! observations, each against its written budget.
//!
//! Run: `cargo bench -p mnemo --bench scale` (about 8 minutes on 2 cores, 3
//! of them seeding). `-- --quick`: 100,000 observations. `-- --store DIR`:
//! use `DIR` as the data directory, seeding it only if it has no store yet,
//! so a second run skips the seeding. Prints one row per operation (median,
//! p95, peak RSS, budget) and exits 1 when a median or a memory figure is
//! over its budget. The budgets are the ones BENCHMARKS.md documents.
//!
//! Everything runs as users run it: hooks spawned with Claude Code's JSON
//! on stdin, CLI commands as processes, `mnemo serve` over HTTP, `mnemo
//! mcp` through rmcp's client over stdio.

mod support;

#[path = "../tests/common/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use support::corpus::{self, ERRORS, MODULES, QUERIES};
use support::{Sample, hook_input, percentile, results, rss_mib, spawn_once, start_server};

const BIN: &str = env!("CARGO_BIN_EXE_mnemo");

/// One operation's figures and what it is allowed.
struct Check {
    name: String,
    median_ms: f64,
    p95_ms: f64,
    peak_rss_mib: Option<f64>,
    budget_ms: f64,
    rss_budget_mib: Option<f64>,
}

impl Check {
    fn within(&self) -> bool {
        self.median_ms <= self.budget_ms
            && match (self.peak_rss_mib, self.rss_budget_mib) {
                (Some(rss), Some(budget)) => rss <= budget,
                _ => true,
            }
    }
}

/// The figures so far, printed as they come.
#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn header() {
        println!(
            "\n{:<48} {:>9} {:>9} {:>9} {:>16}  verdict",
            "operation", "median", "p95", "peak RSS", "budget"
        );
    }

    /// Record wall times (and peak RSS) against a budget.
    fn times(
        &mut self,
        name: &str,
        mut times: Vec<Duration>,
        rss: Option<f64>,
        budget_ms: f64,
        rss_budget: Option<f64>,
    ) {
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let check = Check {
            name: name.to_string(),
            median_ms: ms(percentile(&times, 0.5)),
            p95_ms: ms(percentile(&times, 0.95)),
            peak_rss_mib: rss,
            budget_ms,
            rss_budget_mib: rss_budget,
        };
        results::add(results::Row {
            name: name.to_string(),
            unit: "ms",
            value: check.median_ms,
            p95: Some(check.p95_ms),
            peak_rss_mib: rss,
        });
        let budget = match rss_budget {
            Some(mib) => format!("{budget_ms} ms, {mib} MiB"),
            None => format!("{budget_ms} ms"),
        };
        println!(
            "{:<48} {:>9.2} {:>9.2} {:>9} {:>16}  {}",
            check.name,
            check.median_ms,
            check.p95_ms,
            rss.map_or(String::new(), |r| format!("{r:.1}")),
            budget,
            if check.within() { "ok" } else { "OVER" }
        );
        self.0.push(check);
    }

    /// Spawned processes: wall time and their own peak RSS.
    fn processes(&mut self, name: &str, samples: &[Sample], budget_ms: f64, rss_budget: f64) {
        let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let times = samples.iter().map(|s| s.wall).collect();
        self.times(name, times, Some(rss), budget_ms, Some(rss_budget));
    }

    /// A resident-memory figure against its budget.
    fn memory(&mut self, name: &str, mib: f64, budget_mib: f64) {
        results::value(name, "MiB", mib);
        println!(
            "{name:<48} {:>9} {:>9} {mib:>9.1} {:>16}  {}",
            "",
            "",
            format!("{budget_mib} MiB"),
            if mib <= budget_mib { "ok" } else { "OVER" }
        );
        self.0.push(Check {
            name: name.to_string(),
            median_ms: 0.0,
            p95_ms: 0.0,
            peak_rss_mib: Some(mib),
            budget_ms: 0.0,
            rss_budget_mib: Some(budget_mib),
        });
    }
}

/// Budgets, in one place (BENCHMARKS.md quotes them).
mod budget {
    /// Any hook's peak RSS.
    pub const HOOK_RSS_MIB: f64 = 32.0;
    pub const HOOK_CAPTURE_MS: f64 = 20.0;
    pub const HOOK_SESSION_START_MS: f64 = 50.0;
    pub const HOOK_PROMPT_MS: f64 = 100.0;
    pub const HOOK_FILE_NOTE_MS: f64 = 50.0;
    pub const HOOK_STOP_MS: f64 = 100.0;
    pub const CLI_RSS_MIB: f64 = 64.0;
    pub const CLI_LOOKUP_MS: f64 = 50.0;
    pub const CLI_SEARCH_PROJECT_MS: f64 = 250.0;
    pub const CLI_SEARCH_ALL_MS: f64 = 1000.0;
    pub const CLI_STATS_MS: f64 = 250.0;
    pub const CLI_WRITE_MS: f64 = 100.0;
    /// A full integrity check reads the whole file.
    pub const DOCTOR_MS: f64 = 20_000.0;
    pub const SERVE_START_MS: f64 = 1000.0;
    pub const SERVE_IDLE_MIB: f64 = 30.0;
    pub const SERVE_BUSY_MIB: f64 = 512.0;
    pub const API_MS: f64 = 25.0;
    pub const API_SUMMARY_MS: f64 = 250.0;
    /// A long-lived process's first searches read vectors from SQLite (as
    /// the CLI does) while a thread reads them into memory.
    pub const SEARCH_WHILE_LOADING_MS: f64 = 1000.0;
    pub const SEARCH_MS: f64 = 100.0;
}

fn main() {
    if corpus::seed_if_asked() {
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let count = if args.iter().any(|a| a == "--quick") {
        100_000
    } else {
        1_000_000
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = match args.iter().position(|a| a == "--store") {
        Some(i) => PathBuf::from(args.get(i + 1).expect("--store DIR")),
        None => tmp.path().join("home"),
    };
    if home.join("mnemo.db").exists() {
        println!("using the store in {}", home.display());
    } else {
        corpus::seed_in_child(&home, count);
    }
    let observations: i64 = {
        let conn = rusqlite::Connection::open(home.join("mnemo.db")).expect("open");
        conn.query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
            .expect("count")
    };
    println!("{observations} observations in {}", home.display());

    let mut report = Report::default();
    Report::header();
    hooks(&home, &mut report);
    cli(&home, observations, &mut report);
    serve(&home, observations, &mut report);
    mcp(&home, observations, &mut report);

    let label = if observations >= 1_000_000 {
        format!("{}m", observations / 1_000_000)
    } else {
        format!("{}k", observations / 1000)
    };
    results::save(
        &format!("scale-{label}"),
        &format!("{observations} observations"),
    );
    let over: Vec<&str> = report
        .0
        .iter()
        .filter(|c| !c.within())
        .map(|c| c.name.as_str())
        .collect();
    if over.is_empty() {
        println!(
            "\nall {} operations within budget at {observations} observations",
            report.0.len()
        );
    } else {
        println!("\nover budget: {}", over.join(", "));
        std::process::exit(1);
    }
}

/// Every hook a session fires, 30 sessions, each in one of the 20 projects.
fn hooks(home: &Path, report: &mut Report) {
    let envs = [("MNEMO_HOME", home)];
    let projects = corpus::projects();
    let hook = |event: &str, name: &str, session: &str, cwd: &str, fields: Value| {
        spawn_once(
            BIN,
            &["hook", name],
            &envs,
            hook_input(event, session, cwd, fields)
                .to_string()
                .as_bytes(),
        )
    };
    let (mut starts, mut prompts, mut notes, mut tools, mut stops) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..30 {
        let session = format!("scale-{}-{i}", std::process::id());
        let cwd = &projects[i % 20].root;
        let module = MODULES[i % MODULES.len()];
        starts.push(hook(
            "SessionStart",
            "session-start",
            &session,
            cwd,
            json!({"source": "startup"}),
        ));
        prompts.push(hook(
            "UserPromptSubmit",
            "user-prompt-submit",
            &session,
            cwd,
            json!({"prompt": format!("what was the {module} bug with {} we fixed?", ERRORS[i % 8])}),
        ));
        let file = format!("{cwd}/src/{module}.py");
        notes.push(hook(
            "PreToolUse",
            "pre-tool-use",
            &session,
            cwd,
            json!({"tool_name": "Read", "tool_input": {"file_path": file},
                   "tool_use_id": format!("toolu_read_{i}")}),
        ));
        let read = json!({"tool_name": "Read", "tool_input": {"file_path": file},
            "tool_response": {"type": "text", "file": {"filePath": file,
                "content": "def total(n):\n    return n\n", "numLines": 2,
                "startLine": 1, "totalLines": 2}},
            "tool_use_id": format!("toolu_read_{i}")});
        let edit = json!({"tool_name": "Edit",
            "tool_input": {"file_path": file, "old_string": "return n", "new_string": "return max(n, 0)"},
            "tool_response": {"filePath": file, "oldString": "return n", "newString": "return max(n, 0)"},
            "tool_use_id": format!("toolu_edit_{i}")});
        for fields in [read, edit] {
            tools.push(hook("PostToolUse", "post-tool-use", &session, cwd, fields));
        }
        stops.push(hook(
            "Stop",
            "stop",
            &session,
            cwd,
            json!({"stop_hook_active": false}),
        ));
    }
    use budget::*;
    report.processes(
        "hook SessionStart (context index)",
        &starts,
        HOOK_SESSION_START_MS,
        HOOK_RSS_MIB,
    );
    report.processes(
        "hook UserPromptSubmit (recall)",
        &prompts,
        HOOK_PROMPT_MS,
        HOOK_RSS_MIB,
    );
    report.processes(
        "hook PreToolUse Read (file note)",
        &notes,
        HOOK_FILE_NOTE_MS,
        HOOK_RSS_MIB,
    );
    report.processes(
        "hook PostToolUse Read, Edit (capture)",
        &tools,
        HOOK_CAPTURE_MS,
        HOOK_RSS_MIB,
    );
    report.processes(
        "hook Stop (episode closed)",
        &stops,
        HOOK_STOP_MS,
        HOOK_RSS_MIB,
    );
}

/// `mnemo ARGS` with `MNEMO_HOME`, timed; its stdout must be non-empty
/// and its exit status zero.
fn run(home: &Path, args: &[&str]) -> (Sample, String) {
    let mut command = Command::new(BIN);
    command.args(args).env("MNEMO_HOME", home);
    let (sample, stdout) = support::spawn_hook(&mut command, b"");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(!stdout.trim().is_empty(), "mnemo {args:?} printed nothing");
    (sample, stdout)
}

/// `mnemo ARGS(i)` for i in 0..runs, against `budget`.
fn repeat(
    home: &Path,
    report: &mut Report,
    name: &str,
    runs: usize,
    budget: f64,
    args: &dyn Fn(usize) -> Vec<String>,
) {
    let samples: Vec<Sample> = (0..runs)
        .map(|i| {
            let args = args(i);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(home, &refs).0
        })
        .collect();
    report.processes(name, &samples, budget, budget::CLI_RSS_MIB);
}

/// The CLI, as a person types it.
fn cli(home: &Path, observations: i64, report: &mut Report) {
    use budget::*;
    let project = corpus::projects()[3].root.clone();
    let query = |i: usize| QUERIES[i % QUERIES.len()].to_string();
    repeat(
        home,
        report,
        "mnemo search (one project)",
        20,
        CLI_SEARCH_PROJECT_MS,
        &|i| {
            vec![
                "search".into(),
                query(i),
                "--project".into(),
                project.clone(),
            ]
        },
    );
    repeat(
        home,
        report,
        "mnemo search (all projects)",
        10,
        CLI_SEARCH_ALL_MS,
        &|i| vec!["search".into(), query(i), "--all-projects".into()],
    );
    let id = |i: usize| (1 + (i as i64 * 7919) % observations).to_string();
    repeat(home, report, "mnemo show ID", 20, CLI_LOOKUP_MS, &|i| {
        vec!["show".into(), id(i)]
    });
    repeat(
        home,
        report,
        "mnemo timeline --around ID",
        20,
        CLI_LOOKUP_MS,
        &|i| vec!["timeline".into(), "--around".into(), id(i)],
    );
    repeat(
        home,
        report,
        "mnemo context --project DIR",
        20,
        CLI_LOOKUP_MS,
        &|_| vec!["context".into(), "--project".into(), project.clone()],
    );
    repeat(home, report, "mnemo stats", 10, CLI_STATS_MS, &|_| {
        vec!["stats".into()]
    });
    let remembered: Vec<(Sample, String)> = (0..10)
        .map(|i| {
            run(
                home,
                &[
                    "remember",
                    &format!(
                        "scale check note {}-{i}: the cart rounds half up",
                        std::process::id()
                    ),
                    "--project",
                    &project,
                    "--json",
                ],
            )
        })
        .collect();
    let ids: Vec<String> = remembered
        .iter()
        .map(|(_, out)| {
            let v: Value = serde_json::from_str(out).expect("remember --json");
            v["id"].as_i64().expect("an id").to_string()
        })
        .collect();
    let samples: Vec<Sample> = remembered.into_iter().map(|(s, _)| s).collect();
    report.processes("mnemo remember TEXT", &samples, CLI_WRITE_MS, CLI_RSS_MIB);
    repeat(
        home,
        report,
        "mnemo forget ID",
        ids.len(),
        CLI_WRITE_MS,
        &|i| vec!["forget".into(), ids[i].clone()],
    );
    // Doctor exits 1 when something is unset here (no hooks installed);
    // its time is what counts.
    let doctor: Vec<Sample> = (0..3)
        .map(|_| {
            let mut command = Command::new(BIN);
            command.arg("doctor").env("MNEMO_HOME", home);
            support::spawn_hook(&mut command, b"").0
        })
        .collect();
    report.processes(
        "mnemo doctor (full integrity check)",
        &doctor,
        DOCTOR_MS,
        CLI_RSS_MIB,
    );
}

/// `mnemo serve` over HTTP.
fn serve(home: &Path, observations: i64, report: &mut Report) {
    use budget::*;
    let started = Instant::now();
    let mut server = start_server(BIN, home);
    let ready = started.elapsed();
    let port = server.port;
    report.times(
        "mnemo serve: start to URL",
        vec![ready],
        None,
        SERVE_START_MS,
        None,
    );
    std::thread::sleep(Duration::from_secs(2));
    report.memory(
        "mnemo serve: RSS idle",
        rss_mib(server.child.id()),
        SERVE_IDLE_MIB,
    );

    let bearer = format!("Bearer {}", server.token);
    let get = |path: &str| {
        let t = Instant::now();
        let r = http::request(port, "GET", path, &[("Authorization", &bearer)], None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        t.elapsed()
    };
    let timed = |report: &mut Report,
                 name: &str,
                 runs: usize,
                 budget: f64,
                 path: &dyn Fn(usize) -> String| {
        let times = (0..runs).map(|i| get(&path(i))).collect();
        report.times(name, times, None, budget, None);
    };
    timed(report, "API list, newest 50", 50, API_MS, &|_| {
        "/api/observations?limit=50".into()
    });
    timed(report, "API one observation", 50, API_MS, &|i| {
        format!("/api/observations/{}", 1 + (i as i64 * 7919) % observations)
    });
    timed(report, "API stats", 10, API_SUMMARY_MS, &|_| {
        "/api/stats".into()
    });
    timed(report, "API projects", 10, API_SUMMARY_MS, &|_| {
        "/api/projects".into()
    });
    let search = |i: usize| {
        format!(
            "/api/search?q={}",
            QUERIES[i % QUERIES.len()].replace(' ', "+")
        )
    };
    timed(
        report,
        "API search while the vectors load",
        3,
        SEARCH_WHILE_LOADING_MS,
        &search,
    );
    settle(server.child.id());
    timed(report, "API search", 30, SEARCH_MS, &search);
    report.memory(
        "mnemo serve: RSS after searches",
        rss_mib(server.child.id()),
        SERVE_BUSY_MIB,
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
}

/// `mnemo mcp` through a real MCP client.
fn mcp(home: &Path, observations: i64, report: &mut Report) {
    use budget::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut command = tokio::process::Command::new(BIN);
        command.arg("mcp").env("MNEMO_HOME", home);
        let (transport, _stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mnemo mcp");
        let pid = transport.id().expect("pid");
        let started = Instant::now();
        let client = ().serve(transport).await.expect("initialize");
        report.times(
            "mnemo mcp: initialize",
            vec![started.elapsed()],
            None,
            SERVE_START_MS,
            None,
        );
        let call = |tool: &'static str, args: Value| {
            let client = &client;
            async move {
                let Value::Object(arguments) = args else {
                    unreachable!("arguments are objects")
                };
                let t = Instant::now();
                let result = client
                    .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
                    .await
                    .unwrap_or_else(|e| panic!("{tool}: {e}"));
                assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
                t.elapsed()
            }
        };
        let query = |i: usize| json!({"query": QUERIES[i % QUERIES.len()], "project": "*"});
        let mut first = Vec::new();
        for i in 0..3 {
            first.push(call("search", query(i)).await);
        }
        report.times(
            "MCP search while the vectors load",
            first,
            None,
            SEARCH_WHILE_LOADING_MS,
            None,
        );
        settle(pid);
        let mut times = Vec::new();
        for i in 0..30 {
            times.push(call("search", query(i)).await);
        }
        report.times("MCP search", times, None, SEARCH_MS, None);
        report.memory(
            "mnemo mcp: RSS after searches",
            rss_mib(pid),
            SERVE_BUSY_MIB,
        );
        let mut times = Vec::new();
        for i in 0..30 {
            times.push(
                call(
                    "get_observations",
                    json!({"ids": [1 + (i * 7919) % observations]}),
                )
                .await,
            );
        }
        report.times("MCP get_observations", times, None, API_MS, None);
        let mut times = Vec::new();
        for i in 0..30 {
            times.push(call("timeline", json!({"anchor": 1 + (i * 7919) % observations})).await);
        }
        report.times("MCP timeline", times, None, API_MS, None);
        let _ = client.cancel().await;
    });
}

/// Wait until the resident memory of `pid` stops growing (the vectors are
/// in memory), at most 60 s.
fn settle(pid: u32) {
    let started = Instant::now();
    let mut last = rss_mib(pid);
    while started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        let now = rss_mib(pid);
        if (now - last).abs() < 1.0 {
            return;
        }
        last = now;
    }
}
