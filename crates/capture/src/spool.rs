//! The spool: where an event goes when the database cannot take it.
//!
//! One file per event (`<at>-<pid>-<seq>.json`, holding the already-redacted
//! [`HookRecord`]), written to a temporary name, synced, then renamed, so a
//! reader never sees half a file and concurrent writers never interleave.
//! File names sort chronologically, so draining replays events in the order
//! they were received. Draining twice is harmless: the store deduplicates
//! redeliveries, so a crash between commit and delete loses and doubles nothing.
//!
//! When the data directory's spool cannot be written (its filesystem is full
//! or read-only), events go to a fallback directory elsewhere
//! ([`mnemo_config::Paths::fallback_spool_dir`], in the runtime or temp dir).
//! Such a place may be shared, so the directory is created 0700 and used only
//! while it is a real directory owned by this user and closed to others.
//! Draining reads both directories as one queue, in file-name order.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mnemo_config::{Paths, bounded};
use mnemo_platform::fs::is_private_dir;

use mnemo_store::{HookRecord, Store};

use crate::lock::FileLock;

const SUFFIX: &str = ".json";
const LOCK_FILE: &str = ".drain.lock";
/// Unreadable spool files are moved here rather than deleted.
const BAD_DIR: &str = "bad";

/// A spool file holds one capped event; anything this large, or not a
/// regular file (a FIFO would block the reader), is not one of ours.
const MAX_FILE_BYTES: usize = 128 * 1024 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Append `record` to the spool in `dir`. Returns the file written.
pub fn write(dir: &Path, record: &HookRecord) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("{:015}-{}-{seq}{SUFFIX}", record.at, std::process::id());
    let tmp = dir.join(format!(".tmp-{name}"));
    let dest = dir.join(&name);
    let body = serde_json::to_vec(record).map_err(io::Error::other)?;
    let result = (|| {
        let mut file =
            mnemo_platform::fs::owner_only(OpenOptions::new().write(true).create_new(true))
                .open(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        fs::rename(&tmp, &dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| dest)
}

/// Number of events waiting in the spool.
pub fn pending(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| is_spool_file(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0)
}

/// Events waiting in the spool of `paths` and in its fallback spool (when
/// that is this user's private directory).
pub fn pending_all(paths: &Paths) -> usize {
    let fallback = &paths.fallback_spool_dir;
    pending(&paths.spool_dir)
        + if is_private_dir(fallback) {
            pending(fallback)
        } else {
            0
        }
}

fn is_spool_file(name: &str) -> bool {
    name.ends_with(SUFFIX) && !name.starts_with('.')
}

/// What a drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Spool files replayed into the store (stored or recognised as duplicates).
    pub ingested: usize,
    /// Unreadable files moved aside to `bad/`.
    pub bad: usize,
    /// Files still waiting (over the budget, or another process is draining).
    pub remaining: usize,
    /// Another process held the drain lock, so nothing was replayed.
    pub drained_elsewhere: bool,
}

/// Append `record` to the fallback spool `dir`, creating it private (0700)
/// or refusing it when it is not this user's private directory.
pub fn write_fallback(dir: &Path, record: &HookRecord) -> io::Result<PathBuf> {
    match mnemo_platform::fs::dir_mode(&mut fs::DirBuilder::new(), 0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    if !is_private_dir(dir) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing {}: not a private directory of this user",
                dir.display()
            ),
        ));
    }
    write(dir, record)
}

/// The spool files of `dir` and `fallback`, as (file name, its directory).
fn listed<'a>(dir: &'a Path, fallback: Option<&'a Path>) -> Vec<(String, &'a Path)> {
    [Some(dir), fallback]
        .into_iter()
        .flatten()
        .flat_map(|d| {
            fs::read_dir(d)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| is_spool_file(n))
                .map(move |n| (n, d))
        })
        .collect()
}

/// Whether a process is replaying the spool of `dir` right now.
pub fn draining(dir: &Path) -> bool {
    FileLock::is_held(&dir.join(LOCK_FILE))
}

/// Replay up to `budget` spooled events of `dir` and of `fallback` (when it
/// is a private directory) into `store`, oldest first across both, deleting
/// each file only after its transaction committed. Files spooled while the
/// replay runs are replayed too before it returns (the spool is listed
/// again until nothing new is there), so a hook that queues behind a replay
/// is stored before the replaying hook's own event. Only one process
/// drains at a time (the lock is in `dir`); others return at once with
/// everything still `remaining`.
pub fn drain(
    dir: &Path,
    fallback: Option<&Path>,
    store: &mut Store,
    budget: usize,
    dedupe_window_ms: i64,
) -> Result<Drained, mnemo_store::StoreError> {
    let fallback = fallback.filter(|f| is_private_dir(f));
    let mut queue = listed(dir, fallback);
    if queue.is_empty() {
        return Ok(Drained::default());
    }
    let Some(_lock) = FileLock::try_acquire(&dir.join(LOCK_FILE)) else {
        return Ok(Drained {
            remaining: queue.len(),
            drained_elsewhere: true,
            ..Drained::default()
        });
    };
    let mut done = Drained::default();
    let mut left = budget;
    while !queue.is_empty() {
        // Names sort in arrival order across both directories.
        queue.sort();
        let over = queue.len().saturating_sub(left);
        queue.truncate(left);
        replay(&queue, store, dedupe_window_ms, &mut done)?;
        left -= queue.len();
        if over > 0 || left == 0 {
            done.remaining = listed(dir, fallback).len();
            break;
        }
        queue = listed(dir, fallback);
    }
    Ok(done)
}

/// Replay the spool files `queue` into `store`, counting into `done`.
fn replay(
    queue: &[(String, &Path)],
    store: &mut Store,
    dedupe_window_ms: i64,
    done: &mut Drained,
) -> Result<(), mnemo_store::StoreError> {
    for chunk in queue.chunks(256) {
        let mut records = Vec::with_capacity(chunk.len());
        let mut files = Vec::with_capacity(chunk.len());
        for (name, from) in chunk {
            let path = from.join(name);
            match bounded::read_regular(&path, MAX_FILE_BYTES, READ_TIMEOUT)
                .ok()
                .and_then(|b| serde_json::from_slice::<HookRecord>(&b).ok())
            {
                Some(record) => {
                    records.push(record);
                    files.push(path);
                }
                None => {
                    if fs::symlink_metadata(&path).is_ok() {
                        tracing::warn!(file = %path.display(), "unreadable spool file moved to bad/");
                        let bad = from.join(BAD_DIR);
                        let _ = fs::create_dir_all(&bad);
                        let _ = fs::rename(&path, bad.join(name));
                        done.bad += 1;
                    }
                }
            }
        }
        store.record_batch(&records, dedupe_window_ms)?;
        for file in files {
            let _ = fs::remove_file(file);
        }
        done.ingested += records.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, tool_use_id: &str) -> HookRecord {
        HookRecord {
            tool_name: Some("Bash".into()),
            tool_use_id: Some(tool_use_id.into()),
            ..HookRecord::new("PostToolUse", "claude-code", "s", at)
        }
    }

    fn tool_use_ids(store: &Store) -> Vec<String> {
        store
            .conn()
            .prepare("SELECT tool_use_id FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn spooled_events_drain_in_order_and_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        for i in 0..5 {
            write(&dir, &record(1_000 - i, &format!("t{i}"))).unwrap();
        }
        fs::write(dir.join("999-garbage.json"), b"{not json").unwrap();
        let fifo = std::ffi::CString::new(dir.join("998-fifo.json").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(pending(&dir), 7);
        let mut store = Store::open_in_memory().unwrap();
        let d = drain(&dir, None, &mut store, 3, 10_000).unwrap();
        assert_eq!(d.ingested + d.bad, 3);
        assert_eq!(d.remaining, 4);
        let d2 = drain(&dir, None, &mut store, 100, 10_000).unwrap();
        assert_eq!(d.ingested + d2.ingested, 5);
        assert_eq!(d.bad + d2.bad, 2, "the garbage and the FIFO set aside");
        assert_eq!(pending(&dir), 0);
        assert!(dir.join("bad/999-garbage.json").exists());
        let ids = tool_use_ids(&store);
        assert_eq!(ids, ["t4", "t3", "t2", "t1", "t0"], "oldest first");
    }

    #[test]
    fn replaying_the_same_file_twice_stores_it_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        let path = write(&dir, &record(5, "t")).unwrap();
        let copy = fs::read(&path).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        drain(&dir, None, &mut store, 10, 10_000).unwrap();
        fs::write(&path, copy).unwrap(); // as if the delete had not happened
        drain(&dir, None, &mut store, 10, 10_000).unwrap();
        assert_eq!(store.stats(0).unwrap().events, 1);
    }

    #[test]
    fn the_fallback_spool_is_private_and_drains_in_order_with_the_main_one() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (main, fallback) = (tmp.path().join("spool"), tmp.path().join("fallback"));
        write(&main, &record(1, "t1")).unwrap();
        write_fallback(&fallback, &record(2, "t2")).unwrap();
        write(&main, &record(3, "t3")).unwrap();
        let mode = fs::metadata(&fallback).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mut store = Store::open_in_memory().unwrap();
        let d = drain(&main, Some(&fallback), &mut store, 100, 10_000).unwrap();
        assert_eq!(d.ingested, 3);
        assert_eq!(pending(&main) + pending(&fallback), 0);
        let ids = tool_use_ids(&store);
        assert_eq!(ids, ["t1", "t2", "t3"], "arrival order across both");

        // A directory others can enter, or a symlink, is refused.
        fs::set_permissions(&fallback, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(write_fallback(&fallback, &record(4, "t4")).is_err());
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&main, &link).unwrap();
        assert!(write_fallback(&link, &record(5, "t5")).is_err());
        write(&main, &record(6, "t6")).unwrap();
        fs::set_permissions(&fallback, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(fallback.join("000000000000007-1-0.json"), b"{}").unwrap();
        fs::set_permissions(&fallback, fs::Permissions::from_mode(0o755)).unwrap();
        let d = drain(&main, Some(&fallback), &mut store, 100, 10_000).unwrap();
        assert_eq!((d.ingested, d.bad), (1, 0), "an open fallback is not read");
    }
}
