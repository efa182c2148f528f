//! What the command line says about itself: which config file it read, and
//! times in local time with their offset.

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

/// A memory written at 2026-11-23 21:23 UTC, through `mnemo import`.
fn with_one_memory() -> Env {
    let env = Env::new();
    let file = env.tmp.path().join("one.jsonl");
    let line = serde_json::json!({
        "project": env.project, "type": "decision", "title": "Invoices restart at one each year",
        "created_at": "2026-11-23T21:23:00Z",
    });
    std::fs::write(&file, line.to_string()).unwrap();
    env.ok(&["import", file.to_str().unwrap()]);
    env
}

#[test]
fn every_command_prints_local_time_with_its_offset() {
    // A zone given as a POSIX rule needs no time zone database.
    let zoned = with_one_memory().env("TZ", "<+0530>-5:30");
    let shown = "2026-11-24 02:53 +05:30";
    let id = zoned.ok_json(&["search", "invoices", "--json"])["items"][0]["id"].to_string();
    for args in [
        vec!["search", "invoices"],
        vec!["timeline"],
        vec!["show", id.as_str()],
        vec!["search", "invoices", "--since", shown],
    ] {
        let out = zoned.ok(&args);
        assert!(out.contains(shown), "mnemo {args:?} prints {shown}:\n{out}");
    }
    let after = zoned.ok(&["search", "invoices", "--since", "2026-11-24 02:54 +05:30"]);
    assert!(
        !after.contains("Invoices"),
        "a printed time reads back: {after}"
    );
    // Dates typed without an offset are local days, like the printed times.
    let on_its_local_day = zoned.ok(&["search", "invoices", "--since", "2026-11-24"]);
    assert!(on_its_local_day.contains("Invoices"), "{on_its_local_day}");
    let day_before = zoned.ok(&["search", "invoices", "--until", "2026-11-23"]);
    assert!(!day_before.contains("Invoices"), "{day_before}");

    // What a session is told is read by a model on any machine: UTC, said so.
    let context = zoned.ok(&["context", "--project", zoned.project.to_str().unwrap()]);
    assert!(
        context.contains("time (UTC)")
            && context.contains("### 2026-11-23\n")
            && context.contains(&format!("#{id} 21:23 ")),
        "{context}"
    );

    let utc = with_one_memory().env("TZ", "UTC");
    let out = utc.ok(&["show", id.as_str()]);
    assert!(out.contains("2026-11-23 21:23 +00:00"), "{out}");
}
