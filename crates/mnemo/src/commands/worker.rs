//! `mnemo worker`: catch-up and LLM enrichment as a process. It first
//! finishes what killed hooks left (compression, vectors;
//! [`mnemo_app::hosts::catch_up`]), then enriches
//! ([`mnemo_app::worker::enrich`]): at most one enricher per data dir (a
//! lock file), started on demand by the hooks (or run by hand), and gone
//! once the queue has been empty for `llm.idle_exit_secs`. `mnemo serve`
//! runs the same loop as a thread. This module is the process around
//! [`mnemo_app::worker::run_worker`]: what it prints, and starting it
//! detached.
//!
//! Hooks start it detached ([`start_background`]): in a session of its own,
//! not a descendant of the hook, with SIGTERM and SIGHUP held back for its
//! whole life, because Claude Code signals hooks and the processes they
//! started when a session ends. It stops by itself when idle; SIGINT or
//! SIGKILL stop it sooner.

use std::path::Path;
use std::process::{Command, Stdio};

use mnemo_app::hook::Process;
use mnemo_app::worker::{WorkerRun, run_worker};

/// `mnemo worker [--once]`; `background` when a hook started it (it then
/// prints nothing).
pub fn run(once: bool, background: bool) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let enriched = match run_worker(&parts, once)? {
        WorkerRun::EnrichmentOff => {
            if !background {
                println!(
                    "LLM enrichment is off (set [llm] backend in {})",
                    parts.paths.config_file.display()
                );
            }
            return Ok(());
        }
        WorkerRun::AlreadyRunning => {
            if !background {
                println!(
                    "a worker is already running for {}",
                    parts.paths.home.display()
                );
            }
            return Ok(());
        }
        WorkerRun::Enriched(enriched) => enriched,
    };
    if let Some(why) = &enriched.backend_unavailable {
        eprintln!("mnemo: LLM backend unavailable: {why}");
    }
    if once {
        println!(
            "{} episodes enriched, {} failed",
            enriched.done, enriched.failed
        );
    }
    Ok(())
}

/// A command's process as the pipeline sees it: never told to stop (its
/// signals are not held), and able to start the detached worker.
pub struct CommandProcess<'a> {
    /// The data directory the worker is started for.
    pub home: &'a Path,
}

impl Process for CommandProcess<'_> {
    fn told_to_stop(&self) -> bool {
        false
    }

    fn start_worker(&self) {
        start_background(self.home);
    }
}

/// Start `mnemo worker --background`, detached (see the module comment),
/// and return once it is on its own: the hook reaps the short-lived
/// intermediate process, so nothing of the worker stays in its tree.
pub fn start_background(home: &Path) {
    start_detached(home, "worker");
}

/// Start `mnemo <command> --background` detached, as [`start_background`]
/// starts the worker.
pub fn start_detached(home: &Path, command_name: &str) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command
        .args([command_name, "--background"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match mnemo_platform::process::detach(&mut command)
        .and_then(|()| command.spawn())
        .and_then(|mut intermediate| intermediate.wait())
    {
        Ok(_) => tracing::info!(home = %home.display(), "started the background {command_name}"),
        Err(e) => tracing::warn!("could not start the background {command_name}: {e}"),
    }
}
