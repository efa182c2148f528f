//! What the command line says about itself: which config file it read.

use crate::common;

use common::*;

#[test]
fn config_says_when_no_file_was_read() {
    let env = Env::new();
    let file = env.home.join("config.toml");
    let out = env.ok(&["config"]);
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "# no config file at {}; defaults and environment apply",
            file.display()
        )
    );

    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(&file, "[serve]\nport = 40001\n").unwrap();
    let out = env.ok(&["config"]);
    assert_eq!(out.lines().next().unwrap(), format!("# {}", file.display()));
    assert!(out.contains("port = 40001"), "{out}");
}
