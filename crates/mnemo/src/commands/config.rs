//! `mnemo config`: the effective configuration, or the documented defaults.

use mnemo_config::{Config, DOCUMENTED_DEFAULTS, Paths};

pub fn run(defaults: bool) -> anyhow::Result<()> {
    if defaults {
        print!("{DOCUMENTED_DEFAULTS}");
        return Ok(());
    }
    let paths = Paths::from_env()?;
    let config = Config::load(&paths)?;
    // A missing file is not an error (defaults apply), so say which case this is.
    if paths.config_file.is_file() {
        println!("# {}", paths.config_file.display());
    } else {
        println!(
            "# no config file at {}; defaults and environment apply",
            paths.config_file.display()
        );
    }
    print!("{}", config.to_toml());
    Ok(())
}
