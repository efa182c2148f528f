//! `mnemo context`: what a new session in a project is told.

use std::path::Path;

use mnemo_app::hook::inject::context_of_dir;

pub fn run(dir: Option<&Path>) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir()?,
    };
    println!("{}", context_of_dir(&paths, &config, &dir)?);
    Ok(())
}
