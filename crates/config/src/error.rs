//! The error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while locating the data directory or loading
/// the configuration.
///
/// Every variant renders as a single line (no embedded newlines) that names
/// the file and key, or the environment variable, at fault, so a hook can log
/// it as one line and carry on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither `$MNEMO_HOME` nor `$HOME` holds a usable (non-empty, absolute)
    /// path, so the data directory cannot be located.
    #[error(
        "cannot locate the mnemo data directory: set $MNEMO_HOME (or $HOME) to an absolute path"
    )]
    NoHome,

    /// An environment variable that names a directory holds a relative path.
    /// Hooks run in the project's working directory, so a relative data
    /// directory would scatter databases across projects; it is refused.
    #[error("${var} must be an absolute path, got {path:?}")]
    RelativeHome {
        /// The variable at fault, e.g. `MNEMO_HOME`.
        var: &'static str,
        /// Its value.
        path: PathBuf,
    },

    /// A file-system operation failed.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error (also part of the message).
        error: io::Error,
    },

    /// `path` exists but is not a directory.
    #[error("{}: exists but is not a directory", path.display())]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },

    /// The config file is not valid TOML.
    #[error("{file}:{line}:{column}: TOML syntax error: {message}")]
    Syntax {
        /// The config file (display form).
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },

    /// The config file contains a key this version does not know (often a
    /// typo).
    #[error("{file}: unknown key {key}{}{}", fmt_line(*line), fmt_expected(expected))]
    UnknownKey {
        /// The config file (display form).
        file: String,
        /// The dotted key, e.g. `capture.max_feild_bytes`.
        key: String,
        /// 1-based line of the key, when known.
        line: Option<usize>,
        /// The keys valid at that place, e.g. "`max_field_bytes`, `max_event_bytes`, ...".
        expected: String,
    },

    /// A key of the config file has a value of the wrong type or an
    /// unacceptable value.
    #[error("{file}: {key}: {message}{}", fmt_line(*line))]
    InvalidValue {
        /// The config file (display form).
        file: String,
        /// The dotted key, e.g. `capture.max_field_bytes`.
        key: String,
        /// 1-based line of the value, when known.
        line: Option<usize>,
        /// What is wrong, e.g. `invalid type: string "big", expected usize`.
        message: String,
    },

    /// An override environment variable (`MNEMO_<SECTION>_<KEY>`) holds a
    /// value that is not valid for its key.
    #[error("${var}={value:?}: {message}")]
    InvalidEnv {
        /// The variable, e.g. `MNEMO_CAPTURE_MAX_FIELD_BYTES`.
        var: String,
        /// Its value (lossily converted to UTF-8).
        value: String,
        /// What is wrong, naming the key it overrides.
        message: String,
    },

    /// A variable named like an override (`MNEMO_<SECTION>_...` for a known
    /// section) that matches no overridable key: a typo, or a table such as
    /// `privacy.extra_patterns`, which can only be set in the file.
    #[error("${var}: {message}")]
    UnknownEnv {
        /// The variable, e.g. `MNEMO_CAPTURE_MAX_FEILD_BYTES`.
        var: String,
        /// Why it is rejected and what would be valid.
        message: String,
    },
}

fn fmt_expected(expected: &str) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!("; expected {expected}")
    }
}

fn fmt_line(line: Option<usize>) -> String {
    match line {
        Some(line) => format!(" (line {line})"),
        None => String::new(),
    }
}

impl ConfigError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: io::Error) -> Self {
        ConfigError::Io {
            path: path.into(),
            error,
        }
    }
}

/// Collapses a message onto one line.
pub(crate) fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}
