//! Measures how long config loading takes in a hook process.
//!
//! Run: `cargo run --release -p mnemo-config --example load_time`
//!
//! With the argument `cold-missing` or `cold-small` it instead times a single
//! load in a fresh process (what a hook pays), e.g.
//! `for i in 1 2 3 4 5; do target/release/examples/load_time cold-small; done`

use std::hint::black_box;
use std::time::{Duration, Instant};

use mnemo_config::{Config, DOCUMENTED_DEFAULTS, Paths};

/// Mean time per call of `f` over `n` calls, and the slowest single call.
fn time(n: u32, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut worst = Duration::ZERO;
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        f();
        worst = worst.max(t.elapsed());
    }
    (start.elapsed() / n, worst)
}

fn report(name: &str, (mean, worst): (Duration, Duration)) {
    println!("{name:<48} mean {mean:>10.2?}   worst {worst:>10.2?}");
}

const SMALL: &str = "[capture]\nmax_field_bytes = 8192\nskip_tools = [\"TodoWrite\", \"mcp__*\"]\n\
    exclude_projects = [\"~/secret/*\"]\n[store]\nsynchronous = \"full\"\n";

fn main() {
    let dir = std::env::temp_dir().join(format!("mnemo-config-bench-{}", std::process::id()));
    let paths = Paths::new(&dir);
    if let Some(mode) = std::env::args().nth(1) {
        if mode == "cold-small" {
            paths.ensure_dirs().unwrap();
            std::fs::write(&paths.config_file, SMALL).unwrap();
        }
        let t = Instant::now();
        let (config, err) = black_box(Config::load_or_default(&paths));
        let elapsed = t.elapsed();
        assert!(err.is_none());
        println!(
            "{mode}: first load in a fresh process: {elapsed:.2?} (max_field_bytes {})",
            config.capture.max_field_bytes
        );
        std::fs::remove_dir_all(&dir).ok();
        return;
    }
    let n = 2000;

    // The very first call in a process (what a hook pays once).
    let t = Instant::now();
    black_box(Config::load_or_default(&paths));
    report(
        "first load, missing file (cold, 1 call)",
        (t.elapsed(), t.elapsed()),
    );

    report(
        "load_or_default, missing file",
        time(n, || {
            black_box(Config::load_or_default(&paths));
        }),
    );

    let t = Instant::now();
    paths.ensure_dirs().unwrap();
    report("ensure_dirs, creating (1 call)", (t.elapsed(), t.elapsed()));
    report(
        "ensure_dirs, existing",
        time(n, || paths.ensure_dirs().unwrap()),
    );

    std::fs::write(&paths.config_file, SMALL).unwrap();
    report(
        "load_or_default, small file (6 keys)",
        time(n, || {
            black_box(Config::load_or_default(&paths));
        }),
    );

    std::fs::write(&paths.config_file, DOCUMENTED_DEFAULTS).unwrap();
    report(
        "load_or_default, config.example.toml (3.9 KB)",
        time(n, || {
            black_box(Config::load_or_default(&paths));
        }),
    );

    // SAFETY: single-threaded at this point; only this process reads it.
    unsafe {
        std::env::set_var("MNEMO_LOG_LEVEL", "debug");
        std::env::set_var("MNEMO_CAPTURE_SKIP_TOOLS", "TodoWrite,mcp__*");
    }
    report(
        "same + 2 env overrides",
        time(n, || {
            black_box(Config::load_or_default(&paths));
        }),
    );

    std::fs::remove_dir_all(&dir).unwrap();
}
