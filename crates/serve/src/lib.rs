//! `mnemo serve`: a local HTTP API over the memory database and a live web
//! viewer, in one process, locked down.
//!
//! - Binds `127.0.0.1` only. One server per data directory: `serve.lock`
//!   (an `flock` the kernel drops when the process dies) says whether one
//!   runs, `serve.json` (pid, port) where; a second start reports the first
//!   ([`Started::AlreadyRunning`]).
//! - Every API call is authenticated and checked (`auth.rs`'s module docs:
//!   token, session cookie, Host, Origin, CSP); bodies are capped at
//!   [`MAX_BODY_BYTES`]. Slow clients are timed out and connections capped
//!   (`listen.rs`, `[serve] header_timeout_secs` and `max_connections`).
//! - The viewer is plain HTML, CSS and JavaScript compiled into the binary:
//!   no build step, nothing loaded from the network, every piece of data
//!   rendered as text (`textContent`), never as HTML.
//! - The live stream (`live.rs`) notices commits by other processes (hooks)
//!   within 50 ms by watching SQLite's `data_version`.
//! - [`Server::run`] returns on SIGINT, SIGTERM or SIGHUP after a graceful
//!   shutdown (live streams end, requests in flight finish, at most
//!   [`SHUTDOWN_GRACE`]); the server starts no processes of its own.
//!
//! Handlers run their queries on tokio's blocking pool with pooled store
//! connections (`db.rs`); what they do is `mnemo_app::memory`'s (search,
//! timeline, forget, restore, remember, the context preview) and
//! `mnemo_retrieve::viewer`'s (the viewer's lists and details).

#![warn(missing_docs)]

mod api;
mod assets;
mod auth;
mod db;
mod error;
mod listen;
mod live;
mod state;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{any, get, post};
use mnemo_app::parts::Parts;
use mnemo_capture::lock::FileLock;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::auth::Guard;
use crate::db::Db;
use crate::listen::Limits;
use crate::live::Live;
use crate::state::AppState;

pub use auth::TOKEN_FILE;
pub use listen::MAX_BODY_BYTES;

/// Held while a server runs, in `$MNEMO_HOME`.
pub const LOCK_FILE: &str = "serve.lock";
/// Where the running server is (pid, port), in `$MNEMO_HOME`.
pub const INSTANCE_FILE: &str = "serve.json";
/// Longest a shutdown waits for open connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a server needs.
pub struct Options {
    /// The data directory and configuration made into parts (the store,
    /// the redactor, the searcher with the configured embedder).
    pub parts: Parts,
    /// The port to listen on (127.0.0.1); 0 picks a free one.
    pub port: u16,
}

/// The outcome of [`Server::start`].
pub enum Started {
    /// This process serves the data directory now.
    Serving(Box<Server>),
    /// Another process already does.
    AlreadyRunning(Running),
}

/// A server already running for the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Its process id, once it has written it.
    pub pid: Option<u32>,
    /// Its URL with the access token, once it has written its port.
    pub url: Option<String>,
}

/// `serve.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Instance {
    pid: u32,
    port: u16,
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    port: u16,
    url: String,
    state: AppState,
    limits: Limits,
    instance_file: PathBuf,
    stop_streams: watch::Sender<bool>,
    runtime: tokio::runtime::Runtime,
    signals: ShutdownSignals,
    _lock: FileLock,
}

/// SIGINT, SIGTERM and SIGHUP, caught from [`Server::start`] on: the URL is
/// printed before [`Server::run`], and a signal sent as soon as it appears
/// must stop the server gracefully, not kill it with the default action.
#[cfg(unix)]
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl ShutdownSignals {
    /// Install the handlers (needs the runtime's context).
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Wait for one; its name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

/// Ctrl-C where there are no Unix signals (listened for from the first
/// [`ShutdownSignals::recv`] on).
#[cfg(not(unix))]
struct ShutdownSignals;

#[cfg(not(unix))]
impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self)
    }

    /// Wait for Ctrl-C; its name. Without a handler, wait forever.
    async fn recv(&mut self) -> &'static str {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}

/// The viewer's URL, carrying the token in the fragment (which browsers
/// never send to the server).
fn viewer_url(port: u16, token: &str) -> String {
    format!("http://127.0.0.1:{port}/#token={token}")
}

impl Server {
    /// Take the data directory's server lock, bind the port and open the
    /// database; or report the server that already holds the lock.
    pub fn start(options: Options) -> anyhow::Result<Started> {
        let Options { parts, port } = options;
        let parts = Arc::new(parts.long_lived());
        let paths = &parts.paths;
        paths.ensure_dirs()?;
        let token_file = paths.home.join(TOKEN_FILE);
        let instance_file = paths.home.join(INSTANCE_FILE);
        let Some(lock) = FileLock::try_acquire(&paths.home.join(LOCK_FILE)) else {
            let instance: Option<Instance> = fs::read(&instance_file)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let token = fs::read_to_string(&token_file).ok();
            return Ok(Started::AlreadyRunning(Running {
                pid: instance.as_ref().map(|i| i.pid),
                url: instance
                    .zip(token)
                    .map(|(i, token)| viewer_url(i.port, token.trim())),
            }));
        };
        let token = auth::load_or_create_token(&token_file)
            .with_context(|| format!("cannot read or create {}", token_file.display()))?;
        let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!("cannot listen on 127.0.0.1:{port} (in use? choose another with --port or [serve] port)")
        })?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        // Open (and migrate) now, so a bad database fails the start, not the
        // first request; so do bad privacy patterns and embedder settings.
        parts.open_store()?;
        parts.redactor()?;
        parts.searcher()?;
        let limits = Limits {
            header_timeout: parts.serve_header_timeout(),
            max_connections: parts.serve_max_connections(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(8)
            .thread_name("mnemo-serve")
            .enable_all()
            .build()?;
        let signals = {
            let _context = runtime.enter();
            ShutdownSignals::install().context("cannot install signal handlers")?
        };
        let (stop_streams, streams_stopped) = watch::channel(false);
        let state = AppState {
            db: Db::new(parts.opener()),
            live: Live::new(streams_stopped),
            guard: Guard::new(port, token.clone()),
            parts: Arc::clone(&parts),
        };
        write_instance(
            &instance_file,
            &Instance {
                pid: std::process::id(),
                port,
            },
        )?;
        Ok(Started::Serving(Box::new(Server {
            listener,
            port,
            url: viewer_url(port, &token),
            state,
            limits,
            instance_file,
            stop_streams,
            runtime,
            signals,
            _lock: lock,
        })))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The viewer's URL, with the access token.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serve until SIGINT, SIGTERM or SIGHUP, then shut down gracefully.
    pub fn run(self) -> anyhow::Result<()> {
        let Self {
            runtime,
            mut signals,
            ..
        } = self;
        let stop_watcher = Arc::new(AtomicBool::new(false));
        let watcher = self
            .state
            .live
            .watch_database(self.state.parts.opener(), Arc::clone(&stop_watcher))?;
        let app = router(self.state.clone(), self.limits);
        let stop_streams = self.stop_streams.clone();
        let served = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)?;
            let server = listen::serve(listener, app, self.limits, stop_streams.subscribe());
            tokio::select! {
                () = server => Ok::<(), std::io::Error>(()),
                () = async {
                    let signal = signals.recv().await;
                    tracing::info!("{signal}: shutting down");
                    let _ = stop_streams.send(true);
                    tokio::time::sleep(SHUTDOWN_GRACE).await;
                } => {
                    tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
                    Ok(())
                }
            }
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
        stop_watcher.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        let _ = fs::remove_file(&self.instance_file);
        served.context("serving")
    }
}

/// Every route: the API (authenticated, see `auth.rs`) and the viewer's files.
fn router(state: AppState, limits: Limits) -> Router {
    Router::new()
        .route("/api/session", post(api::session))
        .route("/api/observations", get(api::list))
        .route(
            "/api/observations/{id}",
            get(api::observation).delete(api::forget),
        )
        .route("/api/observations/{id}/restore", post(api::restore))
        .route("/api/search", get(api::search))
        .route("/api/timeline", get(api::timeline))
        .route("/api/sessions", get(api::sessions))
        .route("/api/sessions/{id}", get(api::session_detail))
        .route("/api/projects", get(api::projects))
        .route("/api/authors", get(api::authors))
        .route("/api/stats", get(api::stats))
        .route("/api/context", get(api::context))
        .route("/api/remember", post(api::remember))
        .route("/api/stream", get(api::stream))
        .route("/api/{*rest}", any(api::no_such_route))
        .fallback(assets::file)
        // Also caps bodies at MAX_BODY_BYTES, before any handler reads one.
        .layer(axum::middleware::from_fn_with_state(
            limits,
            listen::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.guard.clone(),
            auth::guard,
        ))
        .with_state(state)
}

/// Write `serve.json` atomically (readers never see half a file).
fn write_instance(path: &Path, instance: &Instance) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_vec(instance)?)
        .and_then(|()| fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}
