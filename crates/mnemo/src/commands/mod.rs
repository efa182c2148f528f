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
pub mod transfer;
pub mod vectors;
pub mod worker;

use std::process::ExitCode;

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

/// Paths (created if missing) and configuration for an interactive
/// command: a bad config is an error.
pub fn load() -> anyhow::Result<(Paths, Config)> {
    let paths = Paths::from_env()?;
    paths.ensure_dirs()?;
    let config = Config::load(&paths)?;
    crate::logging::init(&paths, &config);
    Ok((paths, config))
}

/// [`load`], made into the working parts a command uses.
pub fn parts() -> anyhow::Result<mnemo_app::parts::Parts> {
    let (paths, config) = load()?;
    Ok(mnemo_app::parts::Parts::new(paths, config))
}
