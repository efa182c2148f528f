//! What mnemo's hooks cost inside the real Claude Code, as Claude Code
//! itself measures them: headless sessions (`claude -p`, the pinned npm
//! package of `tests/claude-code/`, a mock Messages API on loopback) run
//! with `--debug-file`, whose `Hooks: <event> [<command>] finished with
//! status 0 (<ms>ms)` lines time each hook from spawn to exit (async hooks:
//! to being moved to the background). The same sessions are run with
//! `true` registered in mnemo's place (same events, matchers, exec form),
//! which is Claude Code's own floor for spawning a hook; the table gives
//! the median of each, the difference and the ratio.
//!
//! mnemo's store holds the fibonacci session of `mnemo demo` (ingested and
//! compressed), so SessionStart has memories to index and the PreToolUse
//! note on reading `fibonacci.py` has something to say; enrichment is off.
//!
//! Run: `cargo bench -p mnemo --bench hook_cost [-- --quick]` (needs `npm
//! ci` in `crates/mnemo/tests/claude-code`; says so and measures nothing
//! without it).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::claude_code::{ClaudeCode, MNEMO, Route, claude_program, hook_timings};
use common::messages_api::{Script, Step};
use serde_json::{Value, json};
use support::results;

/// The session every run repeats: one prompt, one Read of a file mnemo has
/// memories of, one answer. It fires SessionStart, UserPromptSubmit,
/// PreToolUse(Read), PostToolUse(Read), Stop and SessionEnd.
const PROMPT: &str = "Read fibonacci.py and say what it does";

/// The project directory of the recorded fibonacci session.
const RECORDED_PROJECT: &str = "/home/dev/fib-cli";

/// Events in the order of a session; async ones are timed to the moment
/// Claude Code moves them to the background.
const EVENTS: [(&str, &str); 5] = [
    ("SessionStart:startup", "foreground"),
    ("UserPromptSubmit", "foreground"),
    ("PreToolUse:Read", "foreground"),
    ("PostToolUse:Read", "async"),
    ("Stop", "foreground"),
];

/// What is registered for mnemo's hook events.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hooks {
    Mnemo,
    /// `true` in place of mnemo.
    Floor,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sessions = if quick { 4 } else { 12 };
    let claude = match claude_program() {
        Ok(claude) => claude,
        Err(why) => {
            eprintln!("hook_cost: {why}; nothing measured");
            return;
        }
    };
    let version = String::from_utf8_lossy(
        &std::process::Command::new(&claude)
            .arg("--version")
            .output()
            .expect("claude --version")
            .stdout,
    )
    .trim()
    .to_string();
    println!(
        "hook cost inside {version}: {sessions} headless sessions per variant, medians of Claude Code's own timing"
    );
    let mnemo = Setup::new(&claude, Hooks::Mnemo);
    let floor = Setup::new(&claude, Hooks::Floor);
    let (mut mnemo_ms, mut floor_ms) = (BTreeMap::new(), BTreeMap::new());
    // Alternate the two, so that load from elsewhere falls on both alike;
    // the first run of each warms caches and is not counted.
    for run in 0..=sessions {
        let counted = run > 0;
        mnemo.session(run, counted.then_some(&mut mnemo_ms));
        floor.session(run, counted.then_some(&mut floor_ms));
    }
    mnemo
        .cc
        .wait_for_no_processes(std::time::Duration::from_secs(30));
    floor
        .cc
        .wait_for_no_processes(std::time::Duration::from_secs(30));
    let (mnemo, floor) = (mnemo_ms, floor_ms);

    println!(
        "\n{:<22} {:>10} {:>10} {:>10} {:>8}  kind",
        "event", "mnemo ms", "true ms", "mnemo−true", "ratio"
    );
    for (event, kind) in EVENTS {
        let (Some(m), Some(f)) = (median(mnemo.get(event)), median(floor.get(event))) else {
            println!("{event:<22} (not timed in every variant: no figure)");
            continue;
        };
        let name = event.trim_end_matches(":startup");
        println!(
            "{name:<22} {m:>10.1} {f:>10.1} {:>10.1} {:>7.2}×  {kind}",
            m - f,
            m / f
        );
        results::value(format!("{name} ({kind}): mnemo"), "ms", m);
        results::value(format!("{name} ({kind}): `true`"), "ms", f);
        results::value(format!("{name} ({kind}): mnemo − `true`"), "ms", m - f);
        results::value(format!("{name} ({kind}): mnemo ÷ `true`"), "×", m / f);
    }
    results::save(
        "hook-cost",
        &format!("{version}, {sessions} headless sessions per variant, medians"),
    );
}

/// A HOME with `hooks` registered where mnemo's install puts its own.
struct Setup {
    cc: ClaudeCode,
    /// The registered command, as the debug log names it.
    command: String,
}

impl Setup {
    fn new(claude: &Path, hooks: Hooks) -> Setup {
        let mut cc = ClaudeCode::new(claude.to_path_buf());
        cc.envs.retain(|(key, _)| !key.starts_with("MNEMO_LLM_"));
        cc.register(Route::Install);
        let project = cc.project.to_str().unwrap().to_string();
        seed(&cc, &project);
        let command = match hooks {
            Hooks::Mnemo => MNEMO.to_string(),
            Hooks::Floor => replace_with_true(&cc.home.join(".claude/settings.json")),
        };
        cc.api.script(Script {
            prompt: PROMPT.into(),
            steps: vec![
                Step::tool(
                    "Read",
                    json!({"file_path": format!("{project}/fibonacci.py")}),
                ),
                Step::Say("It prints the n-th Fibonacci number.".into()),
            ],
        });
        Setup { cc, command }
    }

    /// One session with `--debug-file`; Claude Code's timings of the
    /// registered hooks go into `timings`, by event, when given.
    fn session(&self, run: usize, timings: Option<&mut BTreeMap<String, Vec<f64>>>) {
        let log = self.cc.tmp.path().join(format!("debug-{run}.log"));
        let done = self
            .cc
            .session(PROMPT, &["--debug-file", log.to_str().unwrap()]);
        assert!(done.status.success(), "claude -p: {}", done.stderr);
        let Some(timings) = timings else {
            return;
        };
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        for t in hook_timings(&text) {
            if t.command.starts_with(&self.command) {
                timings.entry(t.event).or_default().push(t.millis);
            }
        }
    }
}

/// Give mnemo the fibonacci session's memories, in this project, and the
/// file the session reads.
fn seed(cc: &ClaudeCode, project: &str) {
    let recorded = include_str!("../../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    let events = cc.tmp.path().join("fib_cli.jsonl");
    std::fs::write(&events, recorded.replace(RECORDED_PROJECT, project)).unwrap();
    cc.ok(Path::new(MNEMO), &["ingest", events.to_str().unwrap()]);
    cc.ok(Path::new(MNEMO), &["compress"]);
    let source = "def fibonacci(n):\n    if n < 0:\n        raise ValueError(n)\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n";
    std::fs::write(Path::new(project).join("fibonacci.py"), source).unwrap();
}

/// Register `true` wherever mnemo's settings run mnemo (same events,
/// matchers, arguments and timeouts); the command now registered.
fn replace_with_true(settings: &Path) -> String {
    let floor = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("a `true` program")
        .display()
        .to_string();
    let mut doc: Value = serde_json::from_slice(&std::fs::read(settings).unwrap()).unwrap();
    for groups in doc["hooks"].as_object_mut().unwrap().values_mut() {
        for group in groups.as_array_mut().unwrap() {
            for hook in group["hooks"].as_array_mut().unwrap() {
                hook["command"] = json!(floor);
            }
        }
    }
    std::fs::write(settings, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    floor
}

fn median(values: Option<&Vec<f64>>) -> Option<f64> {
    let mut sorted = values?.clone();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(sorted[sorted.len() / 2])
}
