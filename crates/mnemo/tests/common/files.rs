//! Files the binary's and the app's integration tests share (the app's
//! includes this file by path): the hook fixtures, a git project, and byte
//! searches of everything mnemo wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Make `dir` (which exists) a git repository on branch `main`.
pub fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir)
        .status()
        .expect("git")
        .success();
    assert!(ok, "git init {}", dir.display());
}

/// The recorded hook inputs (`crates/mnemo/tests/fixtures/hooks`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mnemo/tests/fixtures/hooks")
}

/// The hook fixture `name` (without `.json`).
pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, concatenated (for byte searches of everything mnemo wrote).
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.extend(bytes);
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
