//! An exclusive, non-blocking lock on a file (`flock` on Unix), held until
//! dropped. The kernel releases it when the process dies, so a crash never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// An exclusive lock on a file, released when dropped: one process at a
/// time drains the spool, enriches (`worker.lock`) or serves (`serve.lock`).
pub struct FileLock(File);

impl FileLock {
    /// Take the lock on `path` (created if missing), or `None` if another
    /// process holds it.
    pub fn try_acquire(path: &Path) -> Option<FileLock> {
        let file = mnemo_platform::fs::owner_only(
            OpenOptions::new().create(true).truncate(false).write(true),
        )
        .open(path)
        .ok()?;
        file.try_lock().is_ok().then_some(FileLock(file))
    }

    /// Whether some process holds the lock on `path` right now.
    pub fn is_held(path: &Path) -> bool {
        path.exists() && FileLock::try_acquire(path).is_none()
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file would release it too.
        let _ = self.0.unlock();
    }
}
