//! `mnemo config`: the effective configuration, or the documented defaults.

use mnemo_config::{Config, DOCUMENTED_DEFAULTS, Paths};

pub fn run(defaults: bool) -> anyhow::Result<()> {
    if defaults {
        print!("{DOCUMENTED_DEFAULTS}");
        return Ok(());
    }
    let paths = Paths::from_env()?;
    let config = Config::load(&paths)?;
    println!("# {}", paths.config_file.display());
    print!("{}", config.to_toml());
    Ok(())
}
