//! Shared helpers for the app's integration tests: a throwaway data
//! directory and git project, [`Parts`] built from `Paths` + `Config` as the
//! binary builds them, and hook inputs fed through the hook pipeline in
//! process, with a stand-in for the hook process.
#![allow(dead_code)] // each area uses a different subset

#[path = "../../mnemo/tests/common/files.rs"]
mod files;

#[path = "../../mnemo/tests/common/chat_api.rs"]
mod chat_api;

pub use chat_api::*;
pub use files::*;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use mnemo_app::hook::{HookOutput, HookPipeline, Ingested, Process};
use mnemo_app::memory::ScopeRequest;
use mnemo_app::parts::Parts;
use mnemo_capture::read_input;
use mnemo_config::{Config, Paths};
use mnemo_retrieve::time::parse_time;
use mnemo_store::{NewObservation, ProjectRef, Store};
use rusqlite::Connection;
use serde_json::{Value, json};

/// The session id of the hook fixtures.
pub const SESSION: &str = "6f1c2c9e-8d0a-4b7e-9a51-2f3d4c5b6a70";

/// A hook process that is never told to stop and only counts the workers
/// and syncs it is asked to start (the tests run what a worker would do
/// themselves).
#[derive(Default)]
pub struct CountedProcess {
    workers_started: AtomicUsize,
    syncs_started: AtomicUsize,
}

impl Process for CountedProcess {
    fn told_to_stop(&self) -> bool {
        false
    }

    fn start_worker(&self) {
        self.workers_started.fetch_add(1, Ordering::Relaxed);
    }

    fn start_sync(&self) {
        self.syncs_started.fetch_add(1, Ordering::Relaxed);
    }
}

/// A data directory (`mnemo-home`) and a git project (`shop`), removed on
/// drop, with the parts of that data directory.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub project: PathBuf,
    pub parts: Parts,
    pub process: CountedProcess,
}

impl Env {
    /// Default settings, as a data directory without `config.toml`.
    pub fn new() -> Env {
        Env::configured("")
    }

    /// Settings from `toml`, read as `config.toml` is.
    pub fn configured(toml: &str) -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let project = tmp.path().join("shop");
        std::fs::create_dir_all(project.join("shop")).unwrap();
        git_init(&project);
        let paths = Paths::new(tmp.path().join("mnemo-home"));
        paths.ensure_dirs().unwrap();
        let config = Config::from_toml_str(toml).expect("test configuration");
        Env {
            project: project.canonicalize().unwrap(),
            tmp,
            parts: Parts::new(paths, config),
            process: CountedProcess::default(),
        }
    }

    /// The project's path as text (hook inputs' `cwd`).
    pub fn project_dir(&self) -> &str {
        self.project.to_str().unwrap()
    }

    /// How many times the pipeline asked for the background worker.
    pub fn workers_started(&self) -> usize {
        self.process.workers_started.load(Ordering::Relaxed)
    }

    /// How many times the pipeline asked for the background sync.
    pub fn syncs_started(&self) -> usize {
        self.process.syncs_started.load(Ordering::Relaxed)
    }

    /// The hook pipeline of these parts, with the counting process.
    pub fn pipeline(&self) -> HookPipeline<'_> {
        HookPipeline::new(&self.parts, &self.process).expect("capture settings")
    }

    /// Run one hook input as `mnemo hook [event]` does, received now; the
    /// answer is Claude Code's hook JSON (one line) or nothing, with no
    /// problem told.
    pub fn hook(&self, event: Option<&str>, payload: &Value) -> HookOutput {
        let input = read_input(
            payload.to_string().as_bytes(),
            self.parts.max_hook_input_bytes(),
        )
        .expect("read input");
        let output = self.pipeline().run(event, &input, self.parts.now());
        assert!(output.problems.is_empty(), "{:?}", output.problems);
        if let Some(stdout) = &output.stdout {
            let v: Value = serde_json::from_str(stdout).expect("hook answer is JSON");
            assert!(
                v["hookSpecificOutput"]["hookEventName"].is_string(),
                "the answer must be a hookSpecificOutput: {v}"
            );
            assert!(!stdout.contains('\n'), "one JSON line");
        }
        output
    }

    /// A hook fixture with this env's project as its cwd.
    pub fn fixture(&self, name: &str) -> Value {
        let mut v = fixture(name);
        v["cwd"] = json!(self.project_dir());
        v
    }

    /// Run every hook of the fixture session (`session.jsonl`) in order.
    pub fn replay_session(&self) {
        for payload in self.session_inputs() {
            self.hook(None, &payload);
        }
    }

    /// The fixture session's hook inputs, in this env's project.
    pub fn session_inputs(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(fixtures_dir().join("session.jsonl")).unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut payload: Value = serde_json::from_str(line).unwrap();
                payload["cwd"] = json!(self.project_dir());
                payload
            })
            .collect()
    }

    /// Recorded hook input (one JSON object a line) through the pipeline's
    /// batch path, as `mnemo ingest` runs it; problems with a line fail.
    pub fn ingest(&self, text: &str) -> Ingested {
        let mut problems = Vec::new();
        let ingested = self
            .pipeline()
            .ingest(BufReader::new(text.as_bytes()), &mut |p| problems.push(p))
            .expect("ingest");
        assert!(problems.is_empty(), "{problems:?}");
        ingested
    }

    /// A file of recorded hook input through [`Env::ingest`].
    pub fn ingest_file(&self, path: &Path) -> Ingested {
        self.ingest(&std::fs::read_to_string(path).unwrap())
    }

    /// Compress every closed episode left, as `mnemo compress` does.
    pub fn compress(&self) -> mnemo_compress::Report {
        mnemo_app::hosts::compress_now(&self.parts).expect("compress")
    }

    /// Store ready-made memories as an import of observation lines does
    /// (text through the redactor, each in the project its `project` root
    /// names, dated by its `created_at` if any, then embedded), for tests
    /// whose subject is what is done with memories, not how they are made.
    pub fn seed(&self, lines: &[Value]) {
        let redactor = self.parts.redactor().unwrap();
        // A string or an array of them, each cleaned.
        let cleaned = |value: &Value| -> Vec<String> {
            let strings = match value {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect::<Vec<_>>(),
            };
            strings
                .into_iter()
                .map(|s| redactor.clean_text(s))
                .collect()
        };
        let mut store = self.store();
        let now = self.parts.now();
        for line in lines {
            let root = line["project"].as_str().expect("a project root");
            let project = ProjectRef {
                root: root.to_string(),
                name: Path::new(root)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into(),
            };
            let kind = line["type"].as_str().unwrap_or("discovery").to_string();
            let [title, subtitle, narrative] =
                ["title", "subtitle", "narrative"].map(|key| cleaned(&line[key]).concat());
            let created_at = line["created_at"]
                .as_str()
                .map_or(now, |at| parse_time(at, false).expect("a time"));
            let reference = line["ref"].as_str().map(String::from);
            // The reference is part of an imported memory's identity.
            let identity = format!("{narrative}{}", reference.as_deref().unwrap_or(""));
            let observation = NewObservation {
                content_hash: mnemo_compress::content_hash(&kind, &title, &identity),
                facts: cleaned(&line["facts"]),
                files_read: cleaned(&line["files_read"]),
                files_modified: cleaned(&line["files_modified"]),
                generated_by: "import".into(),
                created_at: Some(created_at),
                kind,
                title,
                subtitle,
                narrative,
                reference,
                ..NewObservation::default()
            };
            store.remember(Some(&project), &observation, now).unwrap();
        }
        mnemo_app::hosts::embed_queued(&mut store, &self.parts, usize::MAX);
    }

    /// A store connection, as a use case gets it.
    pub fn store(&self) -> Store {
        self.parts.open_store().expect("open store")
    }

    /// A plain SQLite connection to the database file.
    pub fn db(&self) -> Connection {
        Connection::open(&self.parts.paths.db).expect("open db")
    }

    /// The one value `sql` selects.
    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// A request made outside any project (the temp directory), as the
    /// binary's tests run commands.
    pub fn outside(&self) -> ScopeRequest {
        ScopeRequest {
            here: Some(self.tmp.path().to_path_buf()),
            ..ScopeRequest::default()
        }
    }

    /// A request naming `project`.
    pub fn naming(project: &str) -> ScopeRequest {
        ScopeRequest {
            project: Some(project.into()),
            ..ScopeRequest::default()
        }
    }
}

/// The compressor's scenario fixtures.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compress/tests/fixtures/scenarios")
}

/// The `additionalContext` of a hook's answer for `event`, if it gave one.
/// Context never comes with a permission decision: nothing is blocked.
pub fn additional_context(output: &HookOutput, event: &str) -> Option<String> {
    let v: Value = serde_json::from_str(output.stdout.as_deref()?).unwrap();
    let answer = &v["hookSpecificOutput"];
    assert_eq!(answer["hookEventName"], event);
    assert!(answer.get("permissionDecision").is_none(), "never blocks");
    Some(answer["additionalContext"].as_str().unwrap().to_string())
}
