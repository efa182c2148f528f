//! Logging to `$MNEMO_HOME/logs/mnemo.log`, size-capped and rotated; never
//! to stdout, which belongs to Claude Code's hook protocol and MCP.
//!
//! The file is opened on the first record, so a hook that logs nothing costs
//! nothing. Several hook processes may append at once: each line is one
//! `write` to an `O_APPEND` file, and rotation is a rename, so the worst a
//! race can do is rotate one extra time.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use mnemo_config::{Config, LogLevel, Paths};
use mnemo_platform::fs as platform_fs;
use tracing_subscriber::fmt::MakeWriter;

/// Install the global subscriber. Safe to call more than once.
///
/// This reads `[log]` itself, the one configuration a front end reads:
/// only the binary installs a subscriber, and it must do so before it
/// builds any part, so that their problems are logged.
pub fn init(paths: &Paths, config: &Config) {
    let level = match config.log.level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    let file = RotatingFile {
        path: paths.log_dir.join("mnemo.log"),
        max_bytes: config.log.max_bytes,
        keep: config.log.keep,
        state: Mutex::new(None),
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_target(false)
        .with_writer(file)
        .try_init();
}

struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// The open file and its size as this process last knew it.
    state: Mutex<Option<(File, u64)>>,
}

impl RotatingFile {
    fn open(&self) -> io::Result<(File, u64)> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        // O_NONBLOCK: a FIFO planted at the log's path must not block the
        // open (it fails without a reader); anything but a regular file is
        // refused, so a hook never writes into a pipe or a device.
        let mut options = OpenOptions::new();
        platform_fs::owner_only(platform_fs::without_blocking(
            options.create(true).append(true),
        ));
        let file = options.open(&self.path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", self.path.display()),
            ));
        }
        Ok((file, meta.len()))
    }

    /// `mnemo.log` → `mnemo.log.1` → … → `mnemo.log.<keep>`; the oldest is dropped.
    fn rotate(&self) {
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..self.keep).rev() {
            let _ = fs::rename(numbered(n), numbered(n + 1));
        }
        if self.keep == 0 {
            let _ = fs::remove_file(&self.path);
        } else {
            let _ = fs::rename(&self.path, numbered(1));
        }
    }

    fn write_line(&self, buf: &[u8]) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_none() {
            *state = Some(self.open()?);
        }
        if let Some((_, len)) = state.as_ref()
            && len + buf.len() as u64 > self.max_bytes
        {
            self.rotate();
            *state = Some(self.open()?);
        }
        if let Some((file, len)) = state.as_mut() {
            file.write_all(buf)?;
            *len += buf.len() as u64;
        }
        Ok(())
    }
}

/// One formatted record, written in a single call when dropped.
struct LineWriter<'a> {
    file: &'a RotatingFile,
    buf: Vec<u8>,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            // Logging must never take the hook down; a failed write is dropped.
            let _ = self.file.write_line(&self.buf);
        }
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            file: self,
            buf: Vec::with_capacity(256),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_size_cap_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = RotatingFile {
            path: dir.path().join("logs/mnemo.log"),
            max_bytes: 1000,
            keep: 2,
            state: Mutex::new(None),
        };
        for i in 0..100 {
            log.write_line(format!("line {i:04} {}\n", "x".repeat(80)).as_bytes())
                .unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(dir.path().join("logs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["mnemo.log", "mnemo.log.1", "mnemo.log.2"]);
        for name in &names {
            let len = fs::metadata(dir.path().join("logs").join(name))
                .unwrap()
                .len();
            assert!(len <= 1000, "{name} is {len} bytes");
        }
        let newest = fs::read_to_string(dir.path().join("logs/mnemo.log")).unwrap();
        assert!(newest.contains("line 0099"));
    }
}
