//! An exclusive, non-blocking `flock` on a file, held until dropped. The
//! kernel releases it when the process dies, so a crash never leaves a stale
//! lock behind.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// An exclusive lock on a file, released when dropped: one process at a
/// time drains the spool, enriches (`worker.lock`) or serves (`serve.lock`).
pub struct FileLock(File);

impl FileLock {
    /// Take the lock on `path` (created if missing), or `None` if another
    /// process holds it.
    pub fn try_acquire(path: &Path) -> Option<FileLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .ok()?;
        // SAFETY: flock on a descriptor we own; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        (rc == 0).then_some(FileLock(file))
    }

    /// Whether some process holds the lock on `path` right now.
    pub fn is_held(path: &Path) -> bool {
        path.exists() && FileLock::try_acquire(path).is_none()
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; closing the file would release it too.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
