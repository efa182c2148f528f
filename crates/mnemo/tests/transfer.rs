//! `mnemo export` and `mnemo import FILE` end to end: stores filled through
//! the real hooks, compression, LLM enrichment (a local chat-completions
//! server), `remember`, `forget` and plain-line imports; archives written,
//! edited, cut and merged, and read back by the real binary.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::llm::*;
use common::*;
use serde_json::{Value, json};

/// Observations of another project, in the plain line form.
const BILLING: &str = r#"{"project": "/src/billing", "type": "decision", "title": "Invoices are numbered per year, not globally", "narrative": "Accounting asked for yearly sequences.", "facts": ["invoice numbers restart on 1 January"], "concepts": ["why-it-exists"], "files_modified": ["billing/numbering.py"], "created_at": "2026-11-20T09:15:00Z", "ref": "adr-7"}
{"project": "/src/billing", "type": "bugfix", "title": "Tax rounding used float arithmetic", "narrative": "Totals were off by a cent; Decimal fixed it.", "concepts": ["problem-solution", "gotcha"], "files_modified": ["billing/tax.py"], "created_at": "2026-11-21T16:40:00Z"}
"#;

/// A memory the user asked to keep.
const NOTE: &str = "Viewer pages are keyed on (created_at, id), never offsets";

/// A store filled the way a user fills one: a captured session compressed
/// and enriched by the worker (spend rows), a note, plain
/// lines of another project, and one forgotten memory.
fn lived_in(mock: &MockLlm) -> Env {
    let env = llm_env(Env::new(), mock).env("MNEMO_COMPRESS_IN_HOOKS", "false");
    env.replay_session();
    env.ok(&["compress"]);
    // Enriching the first episode replaces its rule-based observations
    // below the second episode's: ids with a gap, as real stores have.
    env.ok(&["worker", "--once"]);
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE enrich_state = 'pending'"),
        0
    );
    assert!(
        env.count("SELECT count(*) FROM observations")
            < env.count("SELECT max(id) FROM observations"),
        "a gap in the observation ids"
    );
    let file = env.tmp.path().join("billing.jsonl");
    std::fs::write(&file, BILLING).unwrap();
    env.ok(&["import", file.to_str().unwrap()]);
    let project = env.project.to_str().unwrap().to_string();
    env.ok(&[
        "remember",
        "--type",
        "decision",
        "--project",
        &project,
        NOTE,
    ]);
    let forgotten = env.count("SELECT id FROM observations WHERE title LIKE 'Tax rounding%'");
    env.ok(&["forget", &forgotten.to_string()]);
    for table in ["llm_calls", "summaries", "episodes", "events", "prompts"] {
        assert!(
            env.count(&format!("SELECT count(*) FROM {table}")) > 0,
            "the store has {table}"
        );
    }
    env
}

fn export(env: &Env, extra: &[&str]) -> (PathBuf, String) {
    let file = env
        .tmp
        .path()
        .join(format!("export-{}.jsonl", std::process::id()));
    let mut args = vec!["export", "--output", file.to_str().unwrap()];
    args.extend(extra);
    env.ok(&args);
    let text = std::fs::read_to_string(&file).unwrap();
    (file, text)
}

fn import(env: &Env, file: &Path) -> String {
    env.ok(&["import", file.to_str().unwrap()])
}

/// The records of an export: everything after the header line.
fn records(text: &str) -> &str {
    text.split_once('\n').expect("a header line").1
}

fn lines_of_kind<'a>(text: &'a str, kind: &str) -> Vec<&'a str> {
    let tag = format!("{{\"kind\":\"{kind}\"");
    text.lines().filter(|l| l.starts_with(&tag)).collect()
}

/// Two exports hold the same records, compared line by line so a failure
/// shows the first record that differs.
fn assert_same_records(a: &str, b: &str) {
    for (x, y) in records(a).lines().zip(records(b).lines()) {
        assert_eq!(x, y);
    }
    assert_eq!(records(a).len(), records(b).len(), "as many records");
}

/// "N imported, M already present, K rejected" on the first line.
fn totals(report: &str) -> (u64, u64, u64) {
    let words: Vec<&str> = report.split_whitespace().collect();
    let n = |i: usize| words[i].trim_end_matches(',').parse().unwrap();
    assert_eq!(
        (words[1], words[3], words[6]),
        ("imported,", "already", "rejected"),
        "{report}"
    );
    (n(0), n(2), n(5))
}

#[test]
fn export_import_export_is_byte_for_byte_the_same_and_reimports_add_nothing() {
    let mock = MockLlm::start(good_answer());
    let origin = lived_in(&mock);
    let (file, a) = export(&origin, &[]);
    let again = origin.tmp.path().join("again.jsonl");
    let report = origin.ok(&["export", "--output", again.to_str().unwrap()]);
    let summaries = origin.count("SELECT count(*) FROM summaries");
    assert!(summaries > 1, "the store holds several summaries");
    assert!(
        report.contains(&format!(" {summaries} summaries,")) && !report.contains("summarys"),
        "the report counts in English: {report}"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the export holds prompts: owner only");
    let header: Value = serde_json::from_str(a.lines().next().unwrap()).unwrap();
    assert_eq!(header["mnemo_export"], 1);
    assert_eq!(
        header["schema"],
        origin.count("SELECT max(user_version) FROM pragma_user_version")
    );
    assert!(a.starts_with("{\"mnemo_export\":1,"));
    for kind in [
        "project",
        "session",
        "prompt",
        "event",
        "episode",
        "observation",
        "summary",
        "llm_call",
    ] {
        assert!(!lines_of_kind(&a, kind).is_empty(), "{kind} exported");
    }
    assert_eq!(
        lines_of_kind(&a, "event").len() as i64,
        origin.count("SELECT count(*) FROM events")
    );

    let restored = Env::new();
    let report = import(&restored, &file);
    let (imported, present, rejected) = totals(&report);
    assert_eq!((present, rejected), (0, 0), "{report}");
    assert_eq!(imported as usize, records(&a).lines().count(), "{report}");
    let (_, b) = export(&restored, &[]);
    assert_same_records(&a, &b);
    let header_without_time = |text: &str| {
        let mut header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        header.as_object_mut().unwrap().remove("exported_at");
        header
    };
    assert_eq!(header_without_time(&a), header_without_time(&b));

    // The same file again, and the file onto the machine it came from.
    for env in [&restored, &origin] {
        let (imported, present, _) = totals(&import(env, &file));
        assert_eq!(imported, 0);
        assert_eq!(present as usize, records(&a).lines().count());
    }
    let (_, again) = export(&origin, &[]);
    assert_same_records(&a, &again);
}

#[test]
fn imported_memories_are_searchable_shown_embedded_and_forgotten_ones_stay_forgotten() {
    let mock = MockLlm::start(good_answer());
    let origin = lived_in(&mock);
    let (file, _) = export(&origin, &[]);
    let restored = Env::new();
    import(&restored, &file);
    assert_eq!(restored.count("SELECT count(*) FROM vector_queue"), 0);
    assert_eq!(
        restored.count("SELECT count(*) FROM observation_vectors"),
        restored.count("SELECT count(*) FROM observations"),
        "every imported memory is embedded"
    );
    let hits = restored.ok_json(&[
        "search",
        "invoice numbering",
        "--project",
        "/src/billing",
        "--json",
    ])["items"]
        .clone();
    assert_eq!(hits[0]["ref"], "adr-7", "{hits}");
    let shown = restored.ok_json(&["show", &hits[0]["id"].to_string(), "--json"]);
    assert_eq!(
        shown[0]["title"],
        "Invoices are numbered per year, not globally"
    );
    let project = origin.project.to_str().unwrap().to_string();
    let notes = restored.ok_json(&[
        "search",
        "viewer pages keyed",
        "--project",
        &project,
        "--json",
    ])["items"]
        .clone();
    assert!(notes.to_string().contains("never offsets"), "{notes}");

    let forgotten = "SELECT deleted_at FROM observations WHERE title LIKE 'Tax rounding%'";
    assert!(origin.count(forgotten) > 0);
    assert_eq!(restored.count(forgotten), origin.count(forgotten));
    let hits = restored.ok_json(&[
        "search",
        "tax rounding float",
        "--project",
        "/src/billing",
        "--json",
    ])["items"]
        .clone();
    assert!(!hits.to_string().contains("Tax rounding"), "{hits}");
}

#[test]
fn two_machines_merge_and_a_project_exports_alone() {
    let mock = MockLlm::start(good_answer());
    let laptop = lived_in(&mock);
    // The other machine: another session of another project, ingested.
    let desktop = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    desktop.ok(&["ingest", fixture.to_str().unwrap()]);
    desktop.ok(&["compress"]);
    let (laptop_file, _) = export(&laptop, &[]);
    let (desktop_file, _) = export(&desktop, &[]);

    let merged = Env::new();
    import(&merged, &laptop_file);
    import(&merged, &desktop_file);
    for table in [
        "projects",
        "sessions",
        "prompts",
        "events",
        "observations",
        "summaries",
        "llm_calls",
    ] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(
            merged.count(&sql),
            laptop.count(&sql) + desktop.count(&sql),
            "{table}"
        );
    }
    let (_, a) = export(&merged, &[]);
    let (imported, _, _) = totals(&import(&merged, &desktop_file));
    assert_eq!(imported, 0, "merging again adds nothing");
    let (_, b) = export(&merged, &[]);
    assert_same_records(&a, &b);
    // Both histories are searchable.
    let hits = merged.ok_json(&["search", "fibonacci", "--json"])["items"].clone();
    assert!(!hits.as_array().unwrap().is_empty());

    // One project: its records and nothing of the others.
    let project = laptop.project.to_str().unwrap().to_string();
    let (file, text) = export(&laptop, &["--project", &project]);
    let projects = lines_of_kind(&text, "project");
    assert_eq!(projects.len(), 1);
    assert!(projects[0].contains(&format!("\"root\":{}", json!(project))));
    assert!(!text.contains("Invoices are numbered"));
    assert!(!lines_of_kind(&text, "event").is_empty());
    let alone = Env::new();
    let report = import(&alone, &file);
    assert_eq!(totals(&report).2, 0, "{report}");
    assert_eq!(
        alone.count("SELECT count(*) FROM observations"),
        laptop.count(&format!(
            "SELECT count(*) FROM observations o JOIN projects p ON p.id = o.project_id
             WHERE p.root = '{project}'"
        ))
    );
    let unknown = Env::new();
    let out = unknown
        .command(&["export", "--project", "/no/such/project"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no project"));
}

#[test]
fn damaged_files_import_what_is_whole() {
    let mock = MockLlm::start(good_answer());
    let origin = lived_in(&mock);
    let (_, text) = export(&origin, &[]);
    let observations = lines_of_kind(&text, "observation");

    // A broken line and a record of a kind from a newer mnemo.
    let broken_at = text.find(observations[0]).unwrap();
    let damaged = format!(
        "{}{{\"kind\":\"observation\",\"id\":\n{{\"kind\":\"hologram\",\"id\":1}}\n{}",
        &text[..broken_at],
        &text[broken_at + observations[0].len() + 1..]
    );
    let broken_line = text[..broken_at].lines().count() + 1;
    let file = origin.tmp.path().join("damaged.jsonl");
    std::fs::write(&file, damaged).unwrap();
    let env = Env::new();
    let out = env
        .command(&["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("line {broken_line}: not JSON")),
        "{stderr}"
    );
    assert!(stdout.contains("hologram (1)"), "{stdout}");
    assert_eq!(totals(&stdout).2, 1);
    assert_eq!(
        env.count("SELECT count(*) FROM observations"),
        observations.len() as i64 - 1
    );

    // Cut in the middle of a line, as a copy interrupted: every whole line
    // is imported; importing the whole file afterwards (a killed import run
    // again) ends exactly where one full import does.
    let cut = text.find(observations[observations.len() / 2]).unwrap() + 20;
    let file = origin.tmp.path().join("cut.jsonl");
    std::fs::write(&file, &text[..cut]).unwrap();
    let env = Env::new();
    let report = import(&env, &file);
    assert_eq!(totals(&report).2, 1, "{report}");
    assert_eq!(
        env.count("SELECT count(*) FROM observations"),
        (observations.len() / 2) as i64
    );
    let full = origin.tmp.path().join("full.jsonl");
    std::fs::write(&full, &text).unwrap();
    import(&env, &full);
    let (_, again) = export(&env, &[]);
    assert_same_records(&text, &again);

    // A file from a newer format is refused, and nothing is written.
    let newer = origin.tmp.path().join("newer.jsonl");
    std::fs::write(
        &newer,
        text.replacen("{\"mnemo_export\":1,", "{\"mnemo_export\":2,", 1),
    )
    .unwrap();
    let env = Env::new();
    let out = env
        .command(&["import", newer.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("format 2") && stderr.contains("upgrade mnemo"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
    assert!(
        !env.db_path().exists(),
        "refused before the store is opened"
    );
}

#[test]
fn secrets_written_into_an_export_by_hand_are_redacted_on_import() {
    let mock = MockLlm::start(good_answer());
    let origin = lived_in(&mock);
    let (_, text) = export(&origin, &[]);
    let secret = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
    let mut edited = String::new();
    for line in text.lines() {
        let mut record: Value = serde_json::from_str(line).unwrap();
        match record["kind"].as_str() {
            Some("observation") => {
                record["narrative"] = json!(format!("deploy with {secret}"));
                record["facts"] = json!([format!("token {secret}")]);
            }
            Some("prompt") => record["text"] = json!(format!("use {secret} please")),
            Some("event") => record["payload"]["note"] = json!(secret),
            _ => {}
        }
        edited.push_str(&record.to_string());
        edited.push('\n');
    }
    let file = origin.tmp.path().join("edited.jsonl");
    std::fs::write(&file, edited).unwrap();
    let env = Env::new();
    let report = import(&env, &file);
    assert_eq!(totals(&report).2, 0, "{report}");
    assert!(env.count("SELECT count(*) FROM observations WHERE narrative LIKE '%[REDACTED:%'") > 0);
    assert!(!contains(&all_bytes(&env.home), &secret));
}

#[test]
fn plain_observation_lines_still_import_with_their_refs() {
    let env = Env::new();
    let secret = format!("sk-ant-api03-{}", "Zx8Yw7Vu6T".repeat(4));
    let input = env.tmp.path().join("refs.jsonl");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\nnot json\n{}\n",
            json!({"project": "/eval/conv-1", "title": "Caroline: I went to the LGBTQ support group yesterday", "ref": "D1:3", "created_at": "2023-05-08T13:56:00Z"}),
            json!({"project": "/eval/conv-1", "title": format!("Melanie: my key is {secret}"), "ref": "D1:4"}),
            json!({"project": "/eval/conv-1", "type": "nonsense", "title": "x"}),
        ),
    )
    .unwrap();
    let out = env
        .command(&["import", input.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("2 imported, 0 already present, 2 rejected")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3: not JSON"), "{stderr}");
    assert!(stderr.contains("line 4: unknown type"), "{stderr}");
    let support_group = |env: &Env| {
        env.ok_json(&[
            "search",
            "support group",
            "--project",
            "/eval/conv-1",
            "--json",
        ])["items"]
            .clone()
    };
    let hits = support_group(&env);
    assert_eq!(hits[0]["ref"], "D1:3");
    let shown = env.ok_json(&["show", &hits[0]["id"].to_string(), "--json"]);
    assert_eq!(shown[0]["ref"], "D1:3");
    assert!(!contains(&all_bytes(&env.home), &secret));
    // Plain lines travel in an archive like any memory.
    let (file, _) = export(&env, &[]);
    let other = Env::new();
    import(&other, &file);
    let hits = support_group(&other);
    assert_eq!(hits[0]["ref"], "D1:3");
}

#[test]
fn a_file_of_neither_kind_is_refused_in_one_line_and_nothing_is_stored() {
    let env = Env::new();
    env.replay_session();
    let before = env.count("SELECT count(*) FROM observations");
    let garbage = env.tmp.path().join("garbage.txt");
    for (text, why) in [
        (
            "hello, this is a shopping list\n{\"title\": \"x\"}\n",
            "not JSON",
        ),
        ("[1, 2, 3]\n", "not a JSON object"),
        ("\u{0}\u{159}\u{0}\u{1}\n", "not JSON"),
    ] {
        std::fs::write(&garbage, text).unwrap();
        let out = env
            .command(&["import", garbage.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text:?} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("neither a mnemo export nor observation lines")
                && stderr.contains(&format!("line 1: {why}")),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    std::fs::write(&garbage, b"\xff\xfe binary\n").unwrap();
    let out = env
        .command(&["import", garbage.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: not UTF-8"));
    assert_eq!(env.count("SELECT count(*) FROM observations"), before);
}
