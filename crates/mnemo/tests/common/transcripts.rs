//! Claude Code transcripts for the importer's tests, shared by the binary's
//! and the app's integration tests (the app's includes this file by path):
//! the fixture transcripts (fixtures/claude-code, with a secret planted),
//! times, and a dump of what an import writes.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::Connection;

pub const SHOP_SESSION: &str = "7d3e2a10-5b4c-4f1e-9a2d-0c8b6e4f1a21";
pub const LEDGER_SESSION: &str = "0b6f9c44-2e71-4d8a-b3c5-91e7d2a4f608";

/// Built here so no key-shaped string sits in the repository.
pub fn aws_key() -> String {
    format!("AKIA{}", "Q7ZK3M2P9XW4T6RB")
}

/// Unix ms of an ISO time.
pub fn ms(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .timestamp_millis()
}

/// The ISO time of Unix ms `ms`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Mark `path` (every file under it) as last written an hour ago: finished sessions.
pub fn age(path: &Path) {
    if path.is_dir() {
        for entry in fs::read_dir(path).unwrap().flatten() {
            age(&entry.path());
        }
        return;
    }
    let then = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(then)
        .unwrap();
}

/// The fixture transcripts copied to `to` (with a secret planted in a Bash
/// output), aged so they read as finished; `to`.
pub fn copy_fixture_transcripts(to: &Path) -> PathBuf {
    let from =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mnemo/tests/fixtures/claude-code/projects");
    copy_dir(&from, to);
    age(to);
    to.to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            let text = fs::read_to_string(entry.path()).unwrap();
            fs::write(&target, text.replace("__AWS_KEY__", &aws_key())).unwrap();
        }
    }
}

/// Every row of the tables an import writes, as text, for comparing databases.
pub fn dump(db: &Connection) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("projects", "id"),
        ("sessions", "id"),
        ("prompts", "id"),
        ("events", "id"),
        ("episodes", "prompt_id"),
        ("observations", "id"),
        ("summaries", "id"),
        ("transcript_imports", "path"),
    ] {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut row = Vec::new();
                for i in 0..columns {
                    row.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(row.join("|"))
            })
            .unwrap();
        for row in rows {
            writeln!(out, "{table}: {}", row.unwrap()).unwrap();
        }
    }
    out
}
