//! The live stream: Server-Sent Events of what hooks (other processes) and
//! this server write.
//!
//! Hooks never talk to the server, so it watches the database: a thread
//! with its own connection reads `PRAGMA data_version` every
//! [`POLL`] (a counter SQLite bumps when another connection commits; no
//! query runs while nothing changes), and after a change asks
//! [`live::changes_since`] what is new. Each change becomes one event on
//! a broadcast channel that every `/api/stream` client reads:
//!
//! | event | data |
//! |---|---|
//! | `hello` | `{"processing": {...}}`, first, on connect |
//! | `prompt` | a prompt (`viewer::PromptItem`) |
//! | `observation` | a new observation (`viewer::Entry`) |
//! | `episode` | an episode compressed (again) or enriched: its observation ids now, its summary |
//! | `forgotten`, `restored` | `{"ids": [...]}` |
//! | `status` | `{"events_pending": n, "enrich_pending": n}` when it changes |
//! | `resync` | the client fell too far behind: reload |
//!
//! While no client is connected, a change only moves the watermark.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::stream::{self, Stream, StreamExt};
use mnemo_app::parts::Opener;
use mnemo_retrieve::viewer::live::{self, Processing, Watermark};
use mnemo_store::Store;
use serde_json::json;
use tokio::sync::{broadcast, watch};

/// How often the watcher looks for commits by other processes.
pub const POLL: Duration = Duration::from_millis(50);
/// Writers stamp episode times before they commit: look back this far.
const EPISODE_SLACK_MS: i64 = 5_000;
/// How long the watcher waits after a failed read.
const RETRY: Duration = Duration::from_secs(1);
/// Events a slow client may fall behind before it is told to resync.
const BACKLOG: usize = 512;

/// One event for the stream.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub kind: &'static str,
    pub data: String,
}

/// The sending side of the stream, and what ends it.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<LiveEvent>,
    shutdown: watch::Receiver<bool>,
}

impl Live {
    /// A stream that ends when `shutdown` turns true.
    pub fn new(shutdown: watch::Receiver<bool>) -> Live {
        Live {
            sender: broadcast::channel(BACKLOG).0,
            shutdown,
        }
    }

    /// Send `data` as a `kind` event to every connected client.
    pub fn announce(&self, kind: &'static str, data: impl serde::Serialize) {
        let data = serde_json::to_string(&data).unwrap_or_else(|_| "null".into());
        // No receivers is not an error: nobody is watching.
        let _ = self.sender.send(LiveEvent { kind, data });
    }

    /// Start the thread that watches the database `open` connects to; it stops when
    /// `stop` is set. A failing read (a locked or vanished file) is logged
    /// and retried after [`RETRY`], from where the watcher was.
    pub fn watch_database(
        &self,
        open: Opener,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<JoinHandle<()>> {
        let live = self.clone();
        // Read the starting point now, before any client can connect, so a
        // client never misses what is written right after it connects.
        let mut watcher = Watcher::open(&open)
            .inspect_err(|e| tracing::warn!("live stream: {e}; retrying"))
            .ok();
        std::thread::Builder::new()
            .name("mnemo-live".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(POLL);
                    let step = match watcher.as_mut() {
                        Some(w) => w.step(&live),
                        None => Watcher::open(&open).map(|w| watcher = Some(w)),
                    };
                    if let Err(e) = step {
                        tracing::warn!("live stream: {e}; retrying");
                        std::thread::sleep(RETRY);
                    }
                }
            })
    }

    /// The stream for one client: `hello` with the current processing
    /// state, then every event, until the server shuts down.
    pub fn subscribe(
        &self,
        hello: Processing,
    ) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
        let first = Event::default()
            .event("hello")
            .data(json!({ "processing": hello }).to_string());
        let events = stream::unfold(
            (self.sender.subscribe(), self.shutdown.clone()),
            |(mut receiver, mut shutdown)| async move {
                if *shutdown.borrow() {
                    return None;
                }
                let event = tokio::select! {
                    _ = shutdown.changed() => return None,
                    received = receiver.recv() => match received {
                        Ok(e) => Event::default().event(e.kind).data(e.data),
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            Event::default().event("resync").data("{}")
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                };
                Some((Ok(event), (receiver, shutdown)))
            },
        );
        stream::once(async move { Ok(first) }).chain(events)
    }
}

/// The database side of the stream: its own connection and how far it has
/// read.
struct Watcher {
    store: Store,
    /// `PRAGMA data_version` when last read.
    version: i64,
    mark: Watermark,
    /// Episodes announced recently, and the time they were announced for.
    sent_episodes: HashMap<i64, i64>,
    status: Processing,
}

impl Watcher {
    fn open(open: &Opener) -> mnemo_store::Result<Watcher> {
        let store = open()?;
        let version = store.data_version()?;
        let (mark, sent_episodes) = start_from_now(&store)?;
        let status = live::processing(&store)?;
        Ok(Watcher {
            store,
            version,
            mark,
            sent_episodes,
            status,
        })
    }

    /// Announce what was committed since the last step, if anything was.
    fn step(&mut self, live: &Live) -> mnemo_store::Result<()> {
        let version = self.store.data_version()?;
        if version == self.version {
            return Ok(());
        }
        if live.sender.receiver_count() == 0 {
            (self.mark, self.sent_episodes) = start_from_now(&self.store)?;
            self.version = version;
            return Ok(());
        }
        let (changes, next) = live::changes_since(&self.store, self.mark, EPISODE_SLACK_MS)?;
        let processing = live::processing(&self.store)?;
        for prompt in &changes.prompts {
            live.announce("prompt", prompt);
        }
        for observation in &changes.observations {
            live.announce("observation", observation);
        }
        for episode in &changes.episodes {
            if self.sent_episodes.insert(episode.prompt_id, episode.at) != Some(episode.at) {
                live.announce("episode", episode);
            }
        }
        self.sent_episodes
            .retain(|_, at| *at >= next.episode_at - EPISODE_SLACK_MS);
        self.mark = next;
        if !changes.more {
            self.version = version;
        }
        if processing != self.status {
            self.status = processing;
            live.announce("status", processing);
        }
        Ok(())
    }
}

/// The watermark of now, and the episodes inside its look-back window
/// (counted as sent, so they are not announced as news).
fn start_from_now(store: &Store) -> mnemo_store::Result<(Watermark, HashMap<i64, i64>)> {
    let mark = live::watermark(store)?;
    let (recent, _) = live::changes_since(store, mark, EPISODE_SLACK_MS)?;
    let sent = recent
        .episodes
        .iter()
        .map(|e| (e.prompt_id, e.at))
        .collect();
    Ok((mark, sent))
}
