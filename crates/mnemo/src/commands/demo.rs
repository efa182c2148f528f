//! `mnemo demo`: the whole story on any machine, with no Claude Code and no
//! network. In a throwaway data directory, a recorded Claude Code session is
//! replayed through the real hook entry point (this binary, spawned once per
//! event as Claude Code spawns it); then a second session starts and asks
//! about the first, and we show exactly what Claude would be given.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use mnemo_agent::claude_code::{HookEvent, ToolCall};
use serde_json::{Value, json};

use crate::style::Style;

/// Session 1: write fibonacci.py, hit RecursionError on -5, fix it with a
/// ValueError, add tests — as Claude Code's hooks delivered it. The file is a
/// link to compression's test fixture, so the published package carries it.
const SESSION: &str = include_str!("demo/fib_cli.jsonl");

/// The project directory of the recorded session.
const PROJECT: &str = "/home/dev/fib-cli";

const QUESTION: &str = "Tell me about the fibonacci bug we fixed";

pub fn run(keep: bool) -> anyhow::Result<()> {
    let style = Style::stdout();
    let started = Instant::now();
    let home = std::env::temp_dir().join(format!("mnemo-demo-{}", std::process::id()));
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    let result = story(&home, style);
    if keep {
        println!(
            "\n{}",
            style.dim(&format!("The demo's data is kept in {}.", home.display()))
        );
    } else {
        let _ = std::fs::remove_dir_all(&home);
    }
    result?;
    println!(
        "\n{}",
        style.dim(&format!(
            "(demo finished in {:.1} s)",
            started.elapsed().as_secs_f64()
        ))
    );
    Ok(())
}

fn story(home: &Path, style: Style) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the mnemo binary")?;
    let mnemo = Mnemo {
        exe,
        home: home.to_path_buf(),
    };

    heading(
        style,
        "Session 1",
        "Claude Code works on a small Python CLI; every hook event goes to `mnemo hook`",
    );
    let mut events = 0;
    let mut steps: Vec<String> = Vec::new();
    for line in SESSION.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value =
            serde_json::from_str(line).context("the recorded session is not JSON")?;
        let name = event["hook_event_name"].as_str().unwrap_or_default();
        let hook = HookEvent::from_name(name);
        match hook {
            Some(HookEvent::UserPromptSubmit) => {
                println!(
                    "  {} {}",
                    style.bold("you:"),
                    event["prompt"].as_str().unwrap_or_default()
                );
            }
            Some(HookEvent::PostToolUse | HookEvent::PostToolUseFailure) => {
                let call = ToolCall::new(None, &event);
                let what = call.target().unwrap_or_default();
                let mark = if hook == Some(HookEvent::PostToolUseFailure) {
                    style.kind("bugfix", "✗")
                } else {
                    "✓".into()
                };
                steps.push(format!("{} {} {mark}", call.name, short(what, 48)));
            }
            Some(HookEvent::Stop) => {
                for step in steps.drain(..) {
                    println!("      {}", style.dim(&step));
                }
            }
            _ => {}
        }
        mnemo.hook(name, line)?;
        events += 1;
    }
    println!(
        "  {}",
        style.dim(&format!(
            "{events} hook events recorded, redacted and compressed as each turn ended."
        ))
    );

    heading(
        style,
        "What mnemo kept",
        "typed observations, searchable, one line each",
    );
    let stats = mnemo.json(&["stats", "--json"])?;
    for hit in mnemo
        .json(&["timeline", "--project", PROJECT, "--before", "20", "--json"])?
        .as_array()
        .into_iter()
        .flatten()
    {
        let kind = hit["type"].as_str().unwrap_or_default();
        println!(
            "  {} {} {}",
            style.bold(&format!("#{}", hit["id"])),
            style.kind(kind, &format!("{kind:<8}")),
            hit["title"].as_str().unwrap_or_default()
        );
    }
    println!(
        "  {}",
        style.dim(&format!(
            "{} observations and {} summaries from {} events; {:.1} MiB database.",
            stats["observations"],
            stats["summaries"],
            stats["events"],
            stats["db_bytes"].as_f64().unwrap_or(0.0) / 1048576.0
        ))
    );

    heading(
        style,
        "Session 2",
        "a new session starts in the same project; SessionStart gives Claude this index",
    );
    let start = json!({"session_id": "demo-session-2", "cwd": PROJECT,
        "hook_event_name": HookEvent::SessionStart.name(), "source": "startup"});
    print_context(
        style,
        &mnemo.hook(HookEvent::SessionStart.name(), &start.to_string())?,
    );

    heading(
        style,
        "You ask",
        &format!("\"{QUESTION}\" — UserPromptSubmit adds the matching memories"),
    );
    let ask = json!({"session_id": "demo-session-2", "cwd": PROJECT,
        "hook_event_name": HookEvent::UserPromptSubmit.name(), "prompt": QUESTION});
    print_context(
        style,
        &mnemo.hook(HookEvent::UserPromptSubmit.name(), &ask.to_string())?,
    );

    heading(
        style,
        "mnemo search \"negative input\"",
        "full text and meaning, from the command line",
    );
    // The demo's project, wherever the demo is run from (inside another
    // repository, the memory commands would cover that one).
    let found = mnemo.output(&[
        "search",
        "negative input",
        "--project",
        PROJECT,
        "--limit",
        "3",
    ])?;
    for line in found.lines() {
        println!("{}", format!("  {line}").trim_end());
    }

    heading(style, "Use it for real", "");
    println!("  1. Put `mnemo` on your PATH, then wire it into Claude Code: mnemo install");
    println!(
        "     (hooks and the MCP server; --dry-run shows the change first, mnemo uninstall undoes it)"
    );
    println!(
        "  2. Start with the memory of your past sessions: mnemo import claude-code (or claude-mem)"
    );
    println!("  3. Browse what it remembers, live: mnemo serve");
    Ok(())
}

/// This binary, run against the demo's data directory.
struct Mnemo {
    exe: PathBuf,
    home: PathBuf,
}

impl Mnemo {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.exe);
        // The demo runs on defaults: none of the user's MNEMO_* settings
        // (an LLM backend, a disabled hook) apply to it.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MNEMO_") {
                command.env_remove(name);
            }
        }
        command
            .args(args)
            .env("MNEMO_HOME", &self.home)
            .env("NO_COLOR", "1");
        command
    }

    /// Deliver one hook event on stdin, as Claude Code does; its stdout.
    fn hook(&self, event: &str, input: &str) -> anyhow::Result<String> {
        let mut child = self
            .command(&["hook", event])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run mnemo hook")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.stderr.is_empty() {
            bail!(
                "mnemo hook {event}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).output()?;
        if !out.status.success() {
            bail!(
                "mnemo {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, args: &[&str]) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.output(args)?)?)
    }
}

fn heading(style: Style, title: &str, about: &str) {
    println!(
        "\n{}  {}",
        style.bold(&format!("▌ {title}")),
        style.dim(about)
    );
}

/// The `additionalContext` of a hook's stdout, indented, or a note that there was none.
fn print_context(style: Style, stdout: &str) {
    let context = serde_json::from_str::<Value>(stdout).ok().and_then(|v| {
        v["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .map(String::from)
    });
    match context {
        Some(text) => {
            for line in text.lines() {
                println!("  {}", style.dim("│ ").to_string() + line);
            }
        }
        None => println!("  {}", style.dim("(nothing added)")),
    }
}

/// `s` on one line, cut to `max` characters.
fn short(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}
