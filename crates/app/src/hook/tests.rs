//! The pipeline in process, with a stand-in for the hook process: what a
//! signal after the commit changes, and what the session is told.

use std::cell::Cell;
use std::path::Path;

use mnemo_capture::read_input;
use mnemo_config::{Config, EmbedBackend, Paths};
use mnemo_store::Store;
use serde_json::Value;

use super::{HookOutput, HookPipeline, Process};
use crate::parts::Parts;

/// A hook process whose signals and worker starts are only counted.
#[derive(Default)]
struct Recorded {
    stopping: bool,
    workers_started: Cell<usize>,
}

impl Process for Recorded {
    fn told_to_stop(&self) -> bool {
        self.stopping
    }

    fn start_worker(&self) {
        self.workers_started.set(self.workers_started.get() + 1);
    }
}

/// The recorded fixture session's hook inputs, in `project`.
fn session_inputs(project: &Path) -> Vec<Vec<u8>> {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mnemo/tests/fixtures/hooks/session.jsonl");
    std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut input: Value = serde_json::from_str(line).unwrap();
            input["cwd"] = project.to_str().unwrap().into();
            input.to_string().into_bytes()
        })
        .collect()
}

fn run(pipeline: &HookPipeline, input: &[u8]) -> HookOutput {
    let input = read_input(input, usize::MAX).unwrap();
    pipeline.run(None, &input, crate::parts::now_ms())
}

/// A temporary directory holding a data directory, and its parts with
/// default settings but no vectors.
fn data_dir() -> (tempfile::TempDir, Parts) {
    let tmp = tempfile::tempdir().unwrap();
    let paths = Paths::new(tmp.path().join("home"));
    paths.ensure_dirs().unwrap();
    let mut config = Config::default();
    config.embed.backend = EmbedBackend::Off;
    (tmp, Parts::new(paths, config))
}

fn count(paths: &Paths, sql: &str) -> i64 {
    let store = Store::open(&paths.db, &Default::default()).unwrap();
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn episodes_end_compressed_and_the_next_session_is_told() {
    let (tmp, parts) = data_dir();
    let paths = &parts.paths;
    let process = Recorded::default();
    let pipeline = HookPipeline::new(&parts, &process).unwrap();
    let inputs = session_inputs(tmp.path());
    for input in &inputs {
        let output = run(&pipeline, input);
        assert!(output.problems.is_empty(), "{:?}", output.problems);
    }
    assert_eq!(count(paths, "SELECT count(*) FROM episodes"), 2);
    assert!(count(paths, "SELECT count(*) FROM observations") >= 2);
    assert_eq!(process.workers_started.get(), 0, "nothing was left over");

    // A new session in the same project is told what the first one did.
    let start = inputs
        .iter()
        .find(|input| String::from_utf8_lossy(input).contains("\"SessionStart\""))
        .unwrap();
    let mut next: Value = serde_json::from_slice(start).unwrap();
    next["session_id"] = "the-next-session".into();
    let told = run(&pipeline, next.to_string().as_bytes()).stdout.unwrap();
    let told: Value = serde_json::from_str(&told).unwrap();
    let context = told["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert!(context.contains("<mnemo-context>"), "{context}");
}

#[test]
fn a_hook_told_to_stop_stores_its_event_and_leaves_the_rest_to_the_worker() {
    let (tmp, parts) = data_dir();
    let paths = &parts.paths;
    let process = Recorded {
        stopping: true,
        ..Recorded::default()
    };
    let pipeline = HookPipeline::new(&parts, &process).unwrap();
    let inputs = session_inputs(tmp.path());
    for input in &inputs {
        let output = run(&pipeline, input);
        assert_eq!(output.stdout, None, "a stopping hook answers nothing");
    }
    assert!(count(paths, "SELECT count(*) FROM events") > 0);
    assert_eq!(count(paths, "SELECT count(*) FROM episodes"), 0);
    // One start for each episode-ending event (two Stops and the SessionEnd).
    let ending = inputs
        .iter()
        .filter(|input| {
            let text = String::from_utf8_lossy(input);
            text.contains("\"Stop\"") || text.contains("\"SessionEnd\"")
        })
        .count();
    assert_eq!(process.workers_started.get(), ending);
}
