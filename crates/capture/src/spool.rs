//! The spool: where an event goes when the database cannot take it.
//!
//! One file per event (`<at>-<pid>-<seq>.json`, holding the already-redacted
//! [`HookRecord`]), written to a temporary name, synced, then renamed, so a
//! reader never sees half a file and concurrent writers never interleave.
//! File names sort chronologically, so draining replays events in the order
//! they were received. Draining twice is harmless: the store deduplicates
//! redeliveries, so a crash between commit and delete loses and doubles nothing.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use mnemo_store::{HookRecord, Store};

use crate::lock::FileLock;

const SUFFIX: &str = ".json";
const LOCK_FILE: &str = ".drain.lock";
/// Unreadable spool files are moved here rather than deleted.
const BAD_DIR: &str = "bad";

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
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
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
}

/// Replay up to `budget` spooled events into `store`, oldest first, deleting
/// each file only after its transaction committed. Only one process drains
/// at a time; others return at once with everything still `remaining`.
pub fn drain(
    dir: &Path,
    store: &mut Store,
    budget: usize,
    dedupe_window_ms: i64,
) -> Result<Drained, mnemo_store::StoreError> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_spool_file(n))
            .collect(),
        Err(_) => return Ok(Drained::default()),
    };
    if names.is_empty() {
        return Ok(Drained::default());
    }
    let Some(_lock) = FileLock::try_acquire(&dir.join(LOCK_FILE)) else {
        return Ok(Drained {
            remaining: names.len(),
            ..Drained::default()
        });
    };
    names.sort();
    let mut done = Drained {
        remaining: names.len().saturating_sub(budget),
        ..Drained::default()
    };
    names.truncate(budget);
    for chunk in names.chunks(256) {
        let mut records = Vec::with_capacity(chunk.len());
        let mut files = Vec::with_capacity(chunk.len());
        for name in chunk {
            let path = dir.join(name);
            match fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<HookRecord>(&b).ok())
            {
                Some(record) => {
                    records.push(record);
                    files.push(path);
                }
                None => {
                    if fs::metadata(&path).is_ok() {
                        tracing::warn!(file = %path.display(), "unreadable spool file moved to spool/bad");
                        let bad = dir.join(BAD_DIR);
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
    Ok(done)
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

    #[test]
    fn spooled_events_drain_in_order_and_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        for i in 0..5 {
            write(&dir, &record(1_000 - i, &format!("t{i}"))).unwrap();
        }
        fs::write(dir.join("999-garbage.json"), b"{not json").unwrap();
        assert_eq!(pending(&dir), 6);
        let mut store = Store::open_in_memory().unwrap();
        let d = drain(&dir, &mut store, 3, 10_000).unwrap();
        assert_eq!(d.ingested + d.bad, 3);
        assert_eq!(d.remaining, 3);
        let d2 = drain(&dir, &mut store, 100, 10_000).unwrap();
        assert_eq!(d.ingested + d2.ingested, 5);
        assert_eq!(d.bad + d2.bad, 1);
        assert_eq!(pending(&dir), 0);
        assert!(dir.join("bad/999-garbage.json").exists());
        let ids: Vec<String> = store
            .conn()
            .prepare("SELECT tool_use_id FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ids, ["t4", "t3", "t2", "t1", "t0"], "oldest first");
    }

    #[test]
    fn replaying_the_same_file_twice_stores_it_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        let path = write(&dir, &record(5, "t")).unwrap();
        let copy = fs::read(&path).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        drain(&dir, &mut store, 10, 10_000).unwrap();
        fs::write(&path, copy).unwrap(); // as if the delete had not happened
        drain(&dir, &mut store, 10, 10_000).unwrap();
        assert_eq!(store.stats(0).unwrap().events, 1);
    }
}
