//! Reading files mnemo does not control (git metadata, transcripts, the
//! config file) without ever blocking or growing without bound.
//!
//! A path can name a FIFO (opening it for reading blocks until a writer
//! comes), a device such as `/dev/zero` (endless), or a huge or sparse file.
//! So a file is accepted only if it is a regular file after following
//! symlinks — checked with `stat` before opening, opened with `O_NONBLOCK`
//! (a FIFO swapped in between cannot block the open) and checked again with
//! `fstat` on the open descriptor — and then read in chunks with a byte
//! limit and a deadline checked between chunks.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes read per step; the deadline is checked between steps.
const CHUNK: usize = 64 * 1024;

/// The end of a file, as read by [`read_tail`].
#[derive(Debug)]
pub struct Tail {
    /// At most the requested number of bytes, ending at the file's end.
    pub bytes: Vec<u8>,
    /// Whether the file has bytes before `bytes` (its first line may be partial).
    pub cut: bool,
}

/// All of the regular file at `path`, at most `max_bytes` of it. A file that
/// is longer, is not a regular file, or takes longer than `timeout` to read
/// is an error (`InvalidData`, `InvalidInput`, `TimedOut`).
pub fn read_regular(path: &Path, max_bytes: usize, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    read_until(file, max_bytes.saturating_add(1), deadline, &mut bytes)?;
    if bytes.len() > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max_bytes} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_string(path: &Path, max_bytes: usize, timeout: Duration) -> io::Result<String> {
    String::from_utf8(read_regular(path, max_bytes, timeout)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}

/// The last `max_bytes` of the regular file at `path` (all of it when
/// shorter), read within `timeout`.
pub fn read_tail(path: &Path, max_bytes: usize, timeout: Duration) -> io::Result<Tail> {
    let deadline = Instant::now() + timeout;
    let mut file = open_regular(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max_bytes as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    read_until(file, max_bytes, deadline, &mut bytes)?;
    Ok(Tail {
        bytes,
        cut: start > 0,
    })
}

/// Open `path` for reading only if it is a regular file, without blocking.
fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = mnemo_platform::fs::without_blocking(OpenOptions::new().read(true)).open(path)?;
    // The path may have been replaced between the two looks.
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Append up to `limit` bytes of `file` to `out`, stopping at end of file;
/// `TimedOut` once `deadline` passes.
fn read_until(file: File, limit: usize, deadline: Instant, out: &mut Vec<u8>) -> io::Result<()> {
    let mut reader = file.take(limit as u64);
    let mut chunk = vec![0u8; CHUNK.min(limit.max(1))];
    loop {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "reading the file took too long",
            ));
        }
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn regular_files_are_read_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_regular(&path, 10, SECOND).unwrap(), b"0123456789");
        let err = read_regular(&path, 9, SECOND).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let tail = read_tail(&path, 4, SECOND).unwrap();
        assert_eq!((tail.bytes.as_slice(), tail.cut), (&b"6789"[..], true));
        let whole = read_tail(&path, 100, SECOND).unwrap();
        assert_eq!((whole.bytes.len(), whole.cut), (10, false));
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for path in [&fifo, &zero, &dir.path().to_path_buf()] {
            let err = read_regular(path, 100, SECOND).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{path:?}");
            assert!(read_tail(path, 100, SECOND).is_err());
        }
    }
}
