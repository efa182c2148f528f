//! One module per subcommand.

pub mod compress;
pub mod config;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod hook;
pub mod import;
pub mod ingest;
pub mod install;
pub mod mcp;
pub mod search;
pub mod serve;
pub mod stats;
pub mod sync;
pub mod team;
pub mod transfer;
pub mod vectors;
pub mod worker;

use std::process::ExitCode;

use mnemo_app::parts::Parts;
use mnemo_config::{Config, Paths};

/// Exit status for a non-hook command: errors print one line to stderr.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mnemo: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The working parts of an interactive command (every command but the
/// hook and doctor, which fall back to defaults): the data directory
/// (created if missing) and its configuration, where a bad config is an
/// error; logging set up from it.
pub fn parts() -> anyhow::Result<Parts> {
    let paths = Paths::from_env()?;
    paths.ensure_dirs()?;
    let config = Config::load(&paths)?;
    crate::logging::init(&paths, &config);
    Ok(Parts::new(paths, config))
}
