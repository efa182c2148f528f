//! `mnemo serve`: the web viewer and HTTP API, plus the background work a
//! long-lived process can take on: LLM enrichment when `[llm]` is
//! configured, compression (what killed hooks left, at start; all of it
//! when hooks do not compress, `compress.in_hooks = false`), and team sync
//! when `[team] url` is set. All are threads of this process
//! (`mnemo_app::worker::enrichment_host`, `mnemo_app::hosts::compression_host`,
//! `mnemo_app::team::sync_host`), stopped with it; nothing is left running
//! after it exits.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mnemo_app::hosts::compression_host;
use mnemo_app::parts::Parts;
use mnemo_app::team::sync_host;
use mnemo_app::worker::enrichment_host;
use mnemo_serve::{Options, Server, Started, TOKEN_FILE};

/// How long the exit waits for background work to finish its step (an LLM
/// call in flight is cut off after this; its child dies with the process).
const STOP_GRACE: Duration = Duration::from_secs(3);

pub fn run(port: Option<u16>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let paths = parts.paths.clone();
    // The background hosts' own parts: the server keeps those it is given.
    let hosts = Arc::new(Parts::new(paths.clone(), parts.config.clone()));
    let options = Options {
        port: port.unwrap_or(parts.serve_port()),
        parts,
    };
    let server = match Server::start(options)? {
        Started::Serving(server) => server,
        Started::AlreadyRunning(running) => {
            let pid = running
                .pid
                .map_or_else(String::new, |p| format!(" (pid {p})"));
            match running.url {
                Some(url) => println!(
                    "mnemo serve is already running for {}{pid}: {url}",
                    paths.home.display()
                ),
                None => println!(
                    "mnemo serve is already starting for {}{pid}",
                    paths.home.display()
                ),
            }
            return Ok(());
        }
    };
    // A closed stdout (`mnemo serve | head -1`, a detached launcher) must
    // not stop the server: these lines are best effort.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "mnemo viewer: {}", server.url());
    let _ = writeln!(
        out,
        "API on 127.0.0.1:{} (bearer token in {}; see docs/API.md). Stop with Ctrl-C.",
        server.port(),
        paths.home.join(TOKEN_FILE).display()
    );
    let _ = out.flush();
    tracing::info!(port = server.port(), "serving");
    let stop = Arc::new(AtomicBool::new(false));
    let mut background: Vec<JoinHandle<()>> = Vec::new();
    if hosts.enriches() {
        background.push(enrichment_host(Arc::clone(&hosts), Arc::clone(&stop))?);
    }
    if let Some(sync) = sync_host(Arc::clone(&hosts), Arc::clone(&stop)) {
        background.push(sync?);
    }
    background.push(compression_host(hosts, Arc::clone(&stop))?);
    let served = server.run();
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + STOP_GRACE;
    while background.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for thread in background {
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            tracing::warn!("background work still busy at exit; abandoned (it is retried later)");
        }
    }
    tracing::info!("stopped");
    served
}
