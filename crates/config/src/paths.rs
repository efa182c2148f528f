//! The layout of the data directory.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use mnemo_platform::fs as platform;

use crate::{ConfigError, ENV_HOME};

/// Where everything lives: the data directory (`$MNEMO_HOME`, default
/// `~/.mnemo`) and the files and directories inside it.
///
/// Build it with [`Paths::from_env`] (the normal way) or [`Paths::new`] (tests,
/// explicit `--home` flags). Constructing it touches nothing on disk; call
/// [`Paths::ensure_dirs`] before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The data directory itself.
    pub home: PathBuf,
    /// The SQLite database: `home/mnemo.db`.
    pub db: PathBuf,
    /// The optional config file: `home/config.toml`.
    pub config_file: PathBuf,
    /// Events that could not be written to the database wait here:
    /// `home/spool`.
    pub spool_dir: PathBuf,
    /// Log files: `home/logs`.
    pub log_dir: PathBuf,
    /// Where events go when `spool_dir` cannot be written either (the data
    /// directory's filesystem is full or read-only): a directory of this
    /// user's elsewhere, named after `home` so each data directory drains
    /// only its own events. `$XDG_RUNTIME_DIR/mnemo-spool-<hash>` when that
    /// variable names an absolute path, else `<temp dir>/mnemo-<uid>-spool-<hash>`.
    pub fallback_spool_dir: PathBuf,
}

/// See [`Paths::fallback_spool_dir`].
fn fallback_spool_dir(home: &Path) -> PathBuf {
    // FNV-1a: stable across builds, so a newer mnemo finds an older one's events.
    let hash = home
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    match std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        Some(runtime) => runtime.join(format!("mnemo-spool-{hash:016x}")),
        None => {
            let uid = mnemo_platform::fs::current_user().unwrap_or(0);
            std::env::temp_dir().join(format!("mnemo-{uid}-spool-{hash:016x}"))
        }
    }
}

impl Paths {
    /// The data directory from the environment: `$MNEMO_HOME` if set and
    /// non-empty (a leading `~` or `~/` expands to `$HOME`), else
    /// `$HOME/.mnemo`.
    ///
    /// Errors if `$MNEMO_HOME` is relative ([`ConfigError::RelativeHome`]; it
    /// is never silently ignored) or if neither variable holds a usable
    /// absolute path ([`ConfigError::NoHome`]).
    pub fn from_env() -> Result<Paths, ConfigError> {
        Self::from_vars(std::env::var_os(ENV_HOME), std::env::var_os("HOME"))
    }

    /// [`Paths::from_env`] with the two variables passed in.
    pub(crate) fn from_vars(
        mnemo_home: Option<OsString>,
        home: Option<OsString>,
    ) -> Result<Paths, ConfigError> {
        let home = home
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .filter(|h| h.is_absolute());
        if let Some(dir) = mnemo_home.filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            let dir = match dir.strip_prefix("~") {
                // `~user/...` is not expanded; it stays relative and is refused.
                Ok(rest) => match &home {
                    Some(home) => home.join(rest),
                    None => return Err(ConfigError::NoHome),
                },
                Err(_) => dir,
            };
            if !dir.is_absolute() {
                return Err(ConfigError::RelativeHome {
                    var: ENV_HOME,
                    path: dir,
                });
            }
            return Ok(Paths::new(dir));
        }
        match home {
            Some(home) => Ok(Paths::new(home.join(".mnemo"))),
            None => Err(ConfigError::NoHome),
        }
    }

    /// The layout rooted at `home`, taken as is.
    pub fn new(home: impl Into<PathBuf>) -> Paths {
        let home = home.into();
        Paths {
            db: home.join("mnemo.db"),
            config_file: home.join("config.toml"),
            spool_dir: home.join("spool"),
            log_dir: home.join("logs"),
            fallback_spool_dir: fallback_spool_dir(&home),
            home,
        }
    }

    /// Creates `home`, `spool/` and `logs/` with owner-only permissions
    /// (0700), tightening existing directories that are more open. Missing
    /// parents of `home` are created with default permissions.
    ///
    /// Idempotent and safe to run concurrently. When everything is in place
    /// it costs a single `stat` of `home`: `home` is given its final mode
    /// 0700 only after its subdirectories exist, so a 0700 `home` implies
    /// they were created. (As a cross-check on file systems that count
    /// subdirectories in a directory's link count, a `home` without at
    /// least two subdirectories takes the full path too.) The full path
    /// runs when the directory is new, has other permissions, or was
    /// tampered with.
    pub fn ensure_dirs(&self) -> Result<(), ConfigError> {
        if let Ok(md) = fs::metadata(&self.home) {
            let finished = platform::permission_bits(&md) == Some(0o700)
                && platform::link_count(&md).is_some_and(|n| n == 1 || n >= 4);
            if md.is_dir() && finished {
                return Ok(());
            }
        }
        self.ensure_dirs_full()
    }

    fn ensure_dirs_full(&self) -> Result<(), ConfigError> {
        // A new `home` is created without read permission for anyone, so the
        // fast path cannot mistake it for a finished one before the
        // subdirectories exist; it gets 0700 at the very end.
        // An existing `home` is likewise tightened only at the end.
        if !create_dir(&self.home, 0o300)? {
            let md = fs::metadata(&self.home).map_err(|e| ConfigError::io(&self.home, e))?;
            if !md.is_dir() {
                return Err(ConfigError::NotADirectory {
                    path: self.home.clone(),
                });
            }
        }
        for dir in [&self.spool_dir, &self.log_dir] {
            if !create_dir(dir, 0o700)? {
                set_private(dir)?;
            }
        }
        set_private(&self.home)
    }
}

/// Creates `dir` with `mode` (parents with default permissions). Returns
/// whether it was created (false: something already exists there).
fn create_dir(dir: &Path, mode: u32) -> Result<bool, ConfigError> {
    let mut builder = fs::DirBuilder::new();
    platform::dir_mode(&mut builder, mode);
    match builder.create(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent).map_err(|e| ConfigError::io(parent, e))?;
            }
            match builder.create(dir) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(ConfigError::io(dir, e)),
            }
        }
        Err(e) => Err(ConfigError::io(dir, e)),
    }
}

/// Checks `dir` is a directory and sets its mode to exactly 0700 unless it
/// already is.
fn set_private(dir: &Path) -> Result<(), ConfigError> {
    let md = fs::metadata(dir).map_err(|e| ConfigError::io(dir, e))?;
    if !md.is_dir() {
        return Err(ConfigError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    if platform::permission_bits(&md).is_some_and(|bits| bits != 0o700) {
        platform::set_permission_bits(dir, 0o700).map_err(|e| ConfigError::io(dir, e))?;
    }
    Ok(())
}
