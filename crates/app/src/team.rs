//! Team memory: sharing the observations and summaries of joined projects
//! with a team through a PostgreSQL server, and bringing the team's into the
//! local store (`mnemo team`, `mnemo sync`).
//!
//! The store records which projects are joined and queues their local
//! changes in an outbox (triggers, so every write path is covered); this
//! module moves them. A round pushes the outbox in batches — an entry
//! leaves it only after [`Server::push`] returned, that is after the
//! server's transaction committed, and only if it did not change meanwhile
//! — then pulls the joined projects' changes page by page, each page and
//! the watermark after it applied in one SQLite transaction. Everything
//! sent is run through the redactor again first. The network is reached
//! only by `mnemo sync`, `mnemo team` and `mnemo serve`'s sync host; hooks
//! only ask [`sync_wanted`] (a look at the store and the lock file) and
//! start `mnemo sync --background`.

mod key;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::bail;
use mnemo_capture::lock::FileLock;
use mnemo_config::mask_url_password;
use mnemo_privacy::Redactor;
use mnemo_store::team::{state, watermark_key};
use mnemo_store::{JoinedProject, Store, TeamKind, TeamMemory};
use mnemo_team::{Kind, Record, Server, ServerConfig, Watermark, winner};
use serde::Serialize;

use key::portable_key;

use crate::hosts::embed_queued;
use crate::parts::Parts;

/// The lock file of the one sync loop of a data directory.
pub const LOCK_FILE: &str = "sync.lock";
/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Records per push and per pulled page.
const BATCH: usize = 500;
/// Where `team status` stops counting a project's changes to come down.
const INCOMING_CAP: i64 = 1_000_000;
/// How often the loop looks for local changes (`PRAGMA data_version`), and
/// the longest it waits on the server between two looks.
const POLL: Duration = Duration::from_secs(1);
/// A round even without a notification, in case one was missed.
const FULL_ROUND_EVERY: Duration = Duration::from_secs(60);
/// Waits between failed rounds: doubling from the first to the last. The
/// last bounds how long a loop takes to notice the network is back; an
/// attempt while offline fails at once or after the connect deadline.
const RETRY: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(30));
/// Body fields that are not prose and are never redacted.
const NOT_PROSE: [&str; 3] = ["type", "content_hash", "generated_by"];

/// What [`join`] did.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The project's root here.
    pub root: String,
    /// Its portable key.
    pub key: String,
    /// The name its memories carry.
    pub author: String,
    /// Memories queued to go up (0 when it was joined before).
    pub queued: usize,
}

/// What `join --dry-run` would send: exactly the records, redacted.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The project's root here.
    pub root: String,
    /// Its portable key.
    pub key: String,
    /// The records a join would upload now (global ids are made at upload).
    pub records: Vec<Record>,
}

/// A record as JSON, exactly the fields that travel (for showing what a
/// join would upload).
pub fn record_json(record: &Record) -> serde_json::Value {
    serde_json::json!({
        "gid": record.gid,
        "project": record.project,
        "kind": record.kind.as_str(),
        "session": record.session,
        "author": record.author,
        "origin": record.origin,
        "created_at": record.created_at,
        "edited_at": record.edited_at,
        "deleted": record.deleted,
        "body": record.body,
    })
}

/// The answer of [`join`].
#[derive(Debug, Clone)]
pub enum Join {
    /// The project is shared.
    Joined(Joined),
    /// Nothing was changed; this would be uploaded.
    DryRun(Preview),
}

/// Share the project `dir` belongs to (its git repository), or with
/// `dry_run` only show what would be uploaded. A directory outside git is
/// an error: team projects are matched by their remote or first commit.
pub fn join(parts: &Parts, dir: &Path, dry_run: bool) -> anyhow::Result<Join> {
    let project = project_of(dir)?;
    let root = project.root.clone();
    let key = portable_key(Path::new(&root))?;
    let author = project_author(parts, Path::new(&root));
    let mut store = parts.open_store()?;
    if dry_run {
        let origin = machine_origin(&store)?;
        let redactor = parts.redactor()?;
        let records = store
            .team_preview(&root, &key)?
            .iter()
            .map(|memory| to_record(memory, &author, &origin, redactor))
            .collect();
        return Ok(Join::DryRun(Preview { root, key, records }));
    }
    let queued = store.team_join(&project, &key, &author, parts.now())?;
    Ok(Join::Joined(Joined {
        root,
        key,
        author,
        queued,
    }))
}

/// Stop sharing the project `dir` belongs to: its changes not yet sent are
/// dropped; memories already shared stay everywhere. Returns its root, or
/// an error when it was not joined.
pub fn leave(parts: &Parts, dir: &Path) -> anyhow::Result<String> {
    let project = project_of(dir)?;
    let mut store = parts.open_store()?;
    if !store.team_leave(&project.root)? {
        bail!("{} is not a joined team project", project.root);
    }
    Ok(project.root)
}

fn project_of(dir: &Path) -> anyhow::Result<mnemo_store::ProjectRef> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    Ok(mnemo_capture::project::resolve(dir).to_ref())
}

/// `[team] author`, else git's `user.name` of the project, else the OS user.
fn project_author(parts: &Parts, root: &Path) -> String {
    let configured = parts.config.team.author.trim();
    if !configured.is_empty() {
        return configured.to_string();
    }
    if let Ok(name) = key::git(root, &["config", "user.name"])
        && !name.is_empty()
    {
        return name;
    }
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// This data directory's origin id: random, made the first time it is asked for.
fn machine_origin(store: &Store) -> anyhow::Result<String> {
    Ok(store.team_state_or_init(state::ORIGIN, random_hex)?)
}

/// 32 random lowercase hex characters (a global id, an origin id).
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source does not fail on a working system; should it,
    // the time, the process id and a count of the ids made still make each
    // id unique to this writer (a push makes hundreds in one millisecond).
    if mnemo_platform::random::fill(&mut bytes).is_err() {
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let seed = format!("{n}:{}:{}", crate::parts::now_ms(), std::process::id());
        for (i, b) in seed.bytes().enumerate() {
            bytes[i % 16] ^= b;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn redact(value: &mut serde_json::Value, redactor: &Redactor) {
    match value {
        serde_json::Value::String(text) => *text = redactor.clean_text(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact(v, redactor)),
        serde_json::Value::Object(fields) => {
            for (name, v) in fields.iter_mut() {
                if !NOT_PROSE.contains(&name.as_str()) {
                    redact(v, redactor);
                }
            }
        }
        _ => {}
    }
}

/// A local memory as it goes up: signed, from this machine, redacted.
fn to_record(memory: &TeamMemory, author: &str, origin: &str, redactor: &Redactor) -> Record {
    let mut body = memory.body.clone();
    redact(&mut body, redactor);
    Record {
        gid: memory.gid.clone(),
        project: memory.project_key.clone(),
        kind: kind_of(memory.kind),
        session: memory.session.clone(),
        author: memory.author.clone().unwrap_or_else(|| author.to_string()),
        origin: origin.to_string(),
        created_at: memory.created_at,
        edited_at: memory.edited_at,
        deleted: memory.deleted,
        body,
    }
}

fn kind_of(kind: TeamKind) -> Kind {
    match kind {
        TeamKind::Observation => Kind::Observation,
        TeamKind::Summary => Kind::Summary,
    }
}

/// A pulled record as the store applies it.
fn from_record(record: &Record) -> TeamMemory {
    TeamMemory {
        gid: record.gid.clone(),
        kind: match record.kind {
            Kind::Observation => TeamKind::Observation,
            Kind::Summary => TeamKind::Summary,
        },
        project_key: record.project.clone(),
        session: record.session.clone(),
        author: Some(record.author.clone()),
        origin: Some(record.origin.clone()),
        created_at: record.created_at,
        edited_at: record.edited_at,
        deleted: record.deleted,
        body: record.body.clone(),
    }
}

/// The server settings of `[team]`, or an error saying how to set them.
fn server_config(parts: &Parts) -> anyhow::Result<ServerConfig> {
    let team = &parts.config.team;
    if team.url.trim().is_empty() {
        bail!(
            "no team server configured: set [team] url in {} or MNEMO_TEAM_URL",
            parts.paths.config_file.display()
        );
    }
    Ok(ServerConfig {
        url: team.url.trim().to_string(),
        password_file: (!team.password_file.is_empty()).then(|| team.password_file.clone().into()),
    })
}

/// What one round moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Round {
    /// Local changes sent up (and committed by the server).
    pub pushed: usize,
    /// Records pulled from the server.
    pub pulled: usize,
    /// Pulled records applied here.
    pub applied: usize,
    /// Pulled records a newer local change won against.
    pub kept_local: usize,
}

impl Round {
    /// Whether anything moved.
    pub fn moved(&self) -> bool {
        self.pushed + self.pulled > 0
    }
}

/// One data directory's sync: its store connection, its server connection
/// (made on first use, dropped after an error) and its origin id.
pub struct Syncer<'a> {
    parts: &'a Parts,
    store: Store,
    server: Option<Server>,
    origin: String,
}

impl<'a> Syncer<'a> {
    /// A syncer for the data directory of `parts`; no connection yet.
    pub fn new(parts: &'a Parts) -> anyhow::Result<Syncer<'a>> {
        let store = parts.open_store()?;
        let origin = machine_origin(&store)?;
        Ok(Syncer {
            parts,
            store,
            server: None,
            origin,
        })
    }

    /// Push the outbox, then pull the joined projects' changes. The outcome
    /// is recorded for `mnemo team status` (the last success, or the error).
    pub fn round(&mut self) -> anyhow::Result<Round> {
        let result = self.push().and_then(|pushed| {
            let mut round = self.pull()?;
            round.pushed = pushed;
            Ok(round)
        });
        match &result {
            Ok(_) => {
                self.store
                    .set_team_state(state::LAST_SUCCESS, Some(&self.parts.now().to_string()))?;
                if self.store.team_state(state::LAST_ERROR)?.is_some() {
                    self.store.set_team_state(state::LAST_ERROR, None)?;
                }
            }
            Err(err) => {
                self.server = None;
                // The error is already the reason; failing to note it adds nothing.
                let _ = self
                    .store
                    .set_team_state(state::LAST_ERROR, Some(&format!("{err:#}")));
            }
        }
        result
    }

    fn server(&mut self) -> anyhow::Result<&mut Server> {
        let server = match self.server.take() {
            Some(server) => server,
            None => Server::connect(&server_config(self.parts)?, CONNECT_TIMEOUT)?,
        };
        Ok(self.server.insert(server))
    }

    fn push(&mut self) -> anyhow::Result<usize> {
        // A read, where reading the outbox takes the write lock hooks need.
        if self.store.team_waiting()? == 0 {
            return Ok(0);
        }
        let redactor = self.parts.redactor()?;
        let configured_author = self.parts.config.team.author.trim().to_string();
        let mut pushed = 0;
        loop {
            let entries = self.store.team_outbox(BATCH, random_hex)?;
            if entries.is_empty() {
                return Ok(pushed);
            }
            let records: Vec<Record> = entries
                .iter()
                .map(|entry| {
                    let author = if configured_author.is_empty() {
                        &entry.project_author
                    } else {
                        &configured_author
                    };
                    to_record(&entry.memory, author, &self.origin, redactor)
                })
                .collect();
            self.server()?.push(&records)?;
            let sent: Vec<(i64, i64)> = entries.iter().map(|e| (e.id, e.version)).collect();
            self.store.team_sent(&sent)?;
            pushed += records.len();
            if entries.len() < BATCH {
                return Ok(pushed);
            }
        }
    }

    fn pull(&mut self) -> anyhow::Result<Round> {
        let mut round = Round::default();
        for key in joined_keys(&self.store.team_projects()?) {
            self.pull_project(key, &mut round)?;
        }
        Ok(round)
    }

    /// Pull one project's changes since its watermark, page by page.
    fn pull_project(&mut self, key: &str, round: &mut Round) -> anyhow::Result<()> {
        let origin = self.origin.clone();
        let mut after = watermark(&self.store, key)?;
        let projects = [key.to_string()];
        loop {
            let page = self.server()?.pull(&projects, &after, BATCH)?;
            round.pulled += page.records.len();
            // This machine's own versions are here already, or newer ones.
            let memories: Vec<TeamMemory> = page
                .records
                .iter()
                .filter(|r| r.origin != origin)
                .map(from_record)
                .collect();
            let applied = self.store.team_apply(
                key,
                &memories,
                &page.next.0,
                &origin,
                self.parts.now(),
                |incoming, local| {
                    let (incoming, local) = (as_record(incoming), as_record(local));
                    std::ptr::eq(winner(&incoming, &local), &incoming)
                },
            )?;
            round.applied += applied.applied;
            round.kept_local += applied.kept_local;
            // Pulled memories are searched by meaning too, as soon as here.
            if applied.applied > 0 {
                embed_queued(&mut self.store, self.parts, applied.applied);
            }
            after = page.next;
            if !page.more {
                return Ok(());
            }
        }
    }

    /// Whether another process changed the store since the last look.
    fn store_changed(&self, last: &mut i64) -> anyhow::Result<bool> {
        let version = self.store.data_version()?;
        Ok(std::mem::replace(last, version) != version)
    }

    /// Wait up to [`POLL`] for the server to announce a change; without a
    /// connection, just wait.
    fn wait_for_team(&mut self, stop: &AtomicBool) -> bool {
        match self.server.as_mut() {
            Some(server) => match server.wait_for_change(POLL) {
                Ok(changed) => changed,
                Err(_) => {
                    self.server = None;
                    true
                }
            },
            None => {
                sleep_unless(stop, POLL);
                false
            }
        }
    }
}

/// A [`TeamMemory`] in the crate's form, for [`winner`]. Its body stays as
/// stored: two versions from different origins are told apart before their
/// bodies are compared.
fn as_record(memory: &TeamMemory) -> Record {
    Record {
        gid: memory.gid.clone(),
        project: memory.project_key.clone(),
        kind: kind_of(memory.kind),
        session: None,
        author: String::new(),
        origin: memory.origin.clone().unwrap_or_default(),
        created_at: memory.created_at,
        edited_at: memory.edited_at,
        deleted: memory.deleted,
        body: memory.body.clone(),
    }
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    crate::worker::sleep_unless(&crate::worker::Until::Stopped(stop), total);
}

/// The distinct keys of the joined projects (several roots may share one).
fn joined_keys(projects: &[JoinedProject]) -> Vec<&str> {
    let mut keys: Vec<&str> = projects.iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Where the next pull of project `key` resumes.
fn watermark(store: &Store, key: &str) -> anyhow::Result<Watermark> {
    Ok(store
        .team_state(&watermark_key(key))?
        .map_or_else(Watermark::start, Watermark))
}

/// Whether an episode-ending hook should start the background sync: a
/// team server is configured, joined projects' changes wait to go up, and
/// no sync runs. No network: a count of the outbox and a look at the lock.
pub fn sync_wanted(store: &Store, parts: &Parts) -> bool {
    !parts.config.team.url.trim().is_empty()
        && store.team_waiting().is_ok_and(|waiting| waiting > 0)
        && !FileLock::is_held(&parts.paths.home.join(LOCK_FILE))
}

/// One round: `mnemo sync --once`.
pub fn sync_round(parts: &Parts) -> anyhow::Result<Round> {
    Syncer::new(parts)?.round()
}

/// How [`sync_loop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// Another process runs this data directory's sync.
    AlreadyRunning,
    /// The stop flag was set.
    Stopped,
    /// Nothing moved for the idle time it was given.
    Idle,
}

/// Keep syncing until `stop` is set (or, with `idle_exit`, nothing moved
/// for that long and either nothing waits to go up or the server cannot be
/// used: a sync started in the background never outlives its purpose, and
/// the next episode-ending hook starts another): a round when the store
/// changed (`PRAGMA data_version`, looked at about once a second), when the
/// server announces a change, and at least every minute; failed rounds are
/// retried with a growing wait. One loop per data directory ([`LOCK_FILE`]).
/// `on_round` sees every round's outcome.
pub fn sync_loop(
    parts: &Parts,
    stop: &AtomicBool,
    idle_exit: Option<Duration>,
    mut on_round: impl FnMut(&anyhow::Result<Round>),
) -> anyhow::Result<LoopEnd> {
    let Some(_lock) = FileLock::try_acquire(&parts.paths.home.join(LOCK_FILE)) else {
        return Ok(LoopEnd::AlreadyRunning);
    };
    let mut syncer = Syncer::new(parts)?;
    let mut data_version = 0;
    syncer.store_changed(&mut data_version)?;
    let mut due = Some(Instant::now());
    let mut failing = false;
    let mut retry = RETRY.0;
    let mut last_round = Instant::now();
    let mut last_moved = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if due.is_some_and(|at| Instant::now() >= at) {
            let result = syncer.round();
            on_round(&result);
            last_round = Instant::now();
            failing = result.is_err();
            match &result {
                Ok(round) => {
                    due = None;
                    retry = RETRY.0;
                    if round.moved() {
                        last_moved = Instant::now();
                    }
                }
                Err(_) => {
                    due = Some(Instant::now() + retry);
                    retry = (retry * 2).min(RETRY.1);
                }
            }
        }
        let announced = syncer.wait_for_team(stop);
        let changed = syncer.store_changed(&mut data_version)?;
        if (announced || changed || last_round.elapsed() >= FULL_ROUND_EVERY) && due.is_none() {
            due = Some(Instant::now());
        }
        if let Some(limit) = idle_exit
            && last_moved.elapsed() >= limit
            && (failing || (due.is_none() && syncer.store.team_waiting()? == 0))
        {
            return Ok(LoopEnd::Idle);
        }
    }
    Ok(LoopEnd::Stopped)
}

/// `mnemo serve`'s sync: [`sync_loop`] on a thread until `stop`, when a
/// team server is configured (`None` otherwise). While another process
/// (a background `mnemo sync`) holds the lock, it waits its turn.
pub fn sync_host(
    parts: Arc<Parts>,
    stop: Arc<AtomicBool>,
) -> Option<std::io::Result<JoinHandle<()>>> {
    if parts.config.team.url.trim().is_empty() {
        return None;
    }
    Some(
        std::thread::Builder::new()
            .name("mnemo-sync".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let log = |result: &anyhow::Result<Round>| match result {
                        Ok(round) if round.moved() => tracing::info!(?round, "synced"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("sync round failed: {e:#}"),
                    };
                    match sync_loop(&parts, &stop, None, log) {
                        Ok(LoopEnd::AlreadyRunning) => sleep_unless(&stop, RETRY.0),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("sync stopped: {e:#}");
                            sleep_unless(&stop, RETRY.1);
                        }
                    }
                }
            }),
    )
}

/// What `mnemo team status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct TeamStatus {
    /// The server's URL without its password; empty when none is configured.
    pub server: String,
    /// Whether a connection could be made just now.
    pub reachable: bool,
    /// Why not, in one line (no password in it).
    pub problem: Option<String>,
    /// The projects this machine shares.
    pub projects: Vec<JoinedProject>,
    /// Local changes waiting to go up.
    pub waiting: i64,
    /// Teammates' changes waiting to come down; `None` when the server
    /// could not be asked.
    pub incoming: Option<i64>,
    /// When the last round succeeded (Unix ms).
    pub last_success: Option<i64>,
    /// The last round's error, when the last round failed.
    pub last_error: Option<String>,
    /// Concurrent versions met (and resolved) so far.
    pub conflicts: i64,
    /// This data directory's origin id.
    pub origin: String,
}

/// The team setup and sync's state; tries a connection to the server and,
/// when it answers, counts what waits to come down.
pub fn status(parts: &Parts) -> anyhow::Result<TeamStatus> {
    let store = parts.open_store()?;
    let projects = store.team_projects()?;
    let origin = machine_origin(&store)?;
    let (mut incoming, mut problem) = (None, None);
    let asked = server_config(parts).and_then(|config| {
        let mut server = Server::connect(&config, CONNECT_TIMEOUT)?;
        waiting_down(&store, &mut server, &projects, &origin)
    });
    match asked {
        Ok(count) => incoming = Some(count),
        Err(err) => problem = Some(err.to_string()),
    }
    Ok(TeamStatus {
        server: mask_url_password(parts.config.team.url.trim()),
        reachable: incoming.is_some(),
        problem,
        waiting: store.team_waiting()?,
        incoming,
        projects,
        last_success: store
            .team_state(state::LAST_SUCCESS)?
            .and_then(|t| t.parse().ok()),
        last_error: store.team_state(state::LAST_ERROR)?,
        conflicts: store.team_conflicts()?,
        origin,
    })
}

/// The teammates' changes to the joined projects that the next pull
/// brings, counted up to [`INCOMING_CAP`] per project.
fn waiting_down(
    store: &Store,
    server: &mut Server,
    projects: &[JoinedProject],
    origin: &str,
) -> anyhow::Result<i64> {
    let mut total = 0;
    for key in joined_keys(projects) {
        total += server.incoming(key, &watermark(store, key)?, origin, INCOMING_CAP)?;
    }
    Ok(total)
}
