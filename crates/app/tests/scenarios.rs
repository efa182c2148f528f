//! The quality bar of the rule-based compressor, on realistic sessions
//! (crates/compress/tests/fixtures/scenarios; their README lists what a good
//! memory must contain — the MUST items are asserted here), recorded hook
//! input replayed through the hook pipeline.

use crate::common::*;

/// One episode's memory, as stored.
struct Episode {
    observations: Vec<Obs>,
    summary: Summary,
}

struct Obs {
    kind: String,
    text: String,
    files_read: Vec<String>,
    files_modified: Vec<String>,
}

struct Summary {
    request: String,
    learned: String,
    completed: String,
    next_steps: String,
    files_read: Vec<String>,
    files_modified: Vec<String>,
}

impl Episode {
    fn of(&self, kind: &str) -> Vec<&Obs> {
        self.observations
            .iter()
            .filter(|o| o.kind == kind)
            .collect()
    }
    fn one(&self, kind: &str) -> &Obs {
        let found = self.of(kind);
        assert_eq!(
            found.len(),
            1,
            "expected one {kind}, got kinds {:?}",
            self.kinds()
        );
        found[0]
    }
    fn kinds(&self) -> Vec<&str> {
        self.observations.iter().map(|o| o.kind.as_str()).collect()
    }
}

impl Obs {
    fn has(&self, word: &str) -> bool {
        self.text.contains(&word.to_lowercase())
    }
    fn must(&self, words: &[&str]) {
        for w in words {
            assert!(self.has(w), "{} text lacks {w:?}: {}", self.kind, self.text);
        }
    }
}

fn strings(json: &str) -> Vec<String> {
    let mut v: Vec<String> = serde_json::from_str(json).unwrap_or_default();
    v.sort();
    v
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Replay a scenario through the pipeline's batch path, then compress
/// what is left; return its episodes in order.
fn run(name: &str) -> (Env, Vec<Episode>) {
    let env = Env::new();
    let text = std::fs::read_to_string(scenarios_dir().join(format!("{name}.jsonl"))).unwrap();
    let transcript = scenarios_dir().join(format!("{name}.transcript.jsonl"));
    env.ingest(&text.replace("__TRANSCRIPT__", transcript.to_str().unwrap()));
    env.compress();
    let db = env.db();
    let mut episodes = Vec::new();
    let prompts: Vec<i64> = db
        .prepare("SELECT id FROM prompts ORDER BY n")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for prompt in prompts {
        let observations = db
            .prepare(
                "SELECT type, title, subtitle, narrative, facts, files_read, files_modified
                 FROM observations WHERE prompt_id = ?1 ORDER BY id",
            )
            .unwrap()
            .query_map([prompt], |r| {
                let facts: Vec<String> =
                    serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default();
                Ok(Obs {
                    kind: r.get(0)?,
                    text: format!(
                        "{} {} {} {}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        facts.join(" ")
                    )
                    .to_lowercase(),
                    files_read: strings(&r.get::<_, String>(5)?),
                    files_modified: strings(&r.get::<_, String>(6)?),
                })
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let summary = db
            .query_row(
                "SELECT request, learned, completed, next_steps, files_read, files_modified
                 FROM summaries WHERE prompt_id = ?1",
                [prompt],
                |r| {
                    Ok(Summary {
                        request: r.get::<_, String>(0)?.to_lowercase(),
                        learned: r.get::<_, String>(1)?.to_lowercase(),
                        completed: r.get::<_, String>(2)?.to_lowercase(),
                        next_steps: r.get::<_, String>(3)?.to_lowercase(),
                        files_read: strings(&r.get::<_, String>(4)?),
                        files_modified: strings(&r.get::<_, String>(5)?),
                    })
                },
            )
            .unwrap();
        episodes.push(Episode {
            observations,
            summary,
        });
    }
    assert_eq!(
        env.count("SELECT count(*) FROM episodes WHERE close_reason = 'stop'"),
        episodes.len() as i64,
        "every episode closed by its Stop"
    );
    (env, episodes)
}

#[test]
fn fib_cli_seed_scenario() {
    let (env, eps) = run("fib_cli");
    assert_eq!(eps.len(), 3);
    // Episode 1: the CLI is written.
    assert_eq!(eps[0].kinds(), ["feature"]);
    eps[0].one("feature").must(&["fibonacci.py", "fibonacci"]);
    assert_eq!(eps[0].summary.files_modified, sorted(&["fibonacci.py"]));
    assert!(eps[0].summary.files_read.is_empty());
    assert!(eps[0].summary.request.contains("fibonacci"));
    assert!(eps[0].summary.completed.contains("fibonacci.py"));
    // Episode 2: the RecursionError on negative input is fixed with ValueError.
    let bug = eps[1].one("bugfix");
    bug.must(&[
        "fibonacci",
        "recursionerror",
        "valueerror",
        "negative",
        "fibonacci.py",
    ]);
    assert!(
        eps[1].of("feature").is_empty() && eps[1].of("change").is_empty(),
        "{:?}",
        eps[1].kinds()
    );
    assert_eq!(eps[1].summary.files_read, sorted(&["fibonacci.py"]));
    assert_eq!(eps[1].summary.files_modified, sorted(&["fibonacci.py"]));
    assert!(
        eps[1].summary.completed.contains("valueerror")
            || eps[1].summary.completed.contains("negative")
    );
    // Episode 3: tests and a commit.
    let work = eps[2]
        .of("feature")
        .into_iter()
        .chain(eps[2].of("change"))
        .next()
        .expect("feature or change");
    work.must(&["test_fibonacci.py", "11 passed"]);
    assert!(
        work.has("6d0a639") || work.has("add fibonacci cli; reject negative n with valueerror")
    );
    assert_eq!(
        eps[2].summary.files_modified,
        sorted(&["test_fibonacci.py"])
    );
    assert!(eps[2].of("bugfix").is_empty());
    // Session.
    assert_eq!(
        env.count("SELECT count(*) FROM observations WHERE type = 'bugfix'"),
        1
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM observations_fts f JOIN observations o ON o.id = f.rowid
             WHERE observations_fts MATCH 'recursion' AND o.type = 'bugfix'"
        ),
        1
    );
}

#[test]
fn rust_borrow_error_is_a_fact_of_the_feature() {
    let (_env, eps) = run("rust_borrow_error");
    let ep = &eps[0];
    // The compile error came and went inside the work on `sell`: a fact of
    // that feature, not a bugfix of its own.
    assert!(ep.of("bugfix").is_empty(), "{:?}", ep.kinds());
    let feature = ep.one("feature");
    feature.must(&["sell", "6 passed", "sku", "src/lib.rs"]);
    assert!(feature.has("e0382") || feature.has("use of moved value"));
    assert!(
        feature.has("ok_or_else") || feature.has("clone"),
        "{}",
        feature.text
    );
    assert_eq!(feature.files_modified, sorted(&["src/lib.rs"]));
    assert_eq!(feature.files_read, sorted(&["src/lib.rs"]));
    assert!(
        ep.of("discovery").is_empty() && ep.of("decision").is_empty(),
        "{:?}",
        ep.kinds()
    );
    assert_eq!(ep.summary.files_read, sorted(&["src/lib.rs"]));
    assert_eq!(ep.summary.files_modified, sorted(&["src/lib.rs"]));
    assert!(ep.summary.request.contains("sell") && ep.summary.completed.contains("sell"));
}

#[test]
fn failing_test_fixed() {
    let (_env, eps) = run("failing_test_fixed");
    let ep = &eps[0];
    let bug = ep.one("bugfix");
    bug.must(&["total", "shop/cart.py", "coupon"]);
    assert!((bug.has("90.0") && bug.has("81.0")) || bug.has("test_two_coupons_compound"));
    assert!(bug.has("12 passed"), "{}", bug.text);
    assert_eq!(ep.summary.files_read, sorted(&["shop/cart.py"]));
    assert_eq!(ep.summary.files_modified, sorted(&["shop/cart.py"]));
    assert!(
        ep.of("feature").is_empty() && ep.of("refactor").is_empty(),
        "{:?}",
        ep.kinds()
    );
}

#[test]
fn refactor_extract() {
    let (_env, eps) = run("refactor_extract");
    let ep = &eps[0];
    let refactor = ep.one("refactor");
    refactor.must(&["computetax", "tax.ts", "invoice.ts", "quote.ts", "9 passed"]);
    assert_eq!(
        ep.summary.files_modified,
        sorted(&[
            "src/tax.ts",
            "src/invoice.ts",
            "src/quote.ts",
            "src/reports.ts"
        ])
    );
    assert_eq!(
        ep.summary.files_read,
        sorted(&["src/invoice.ts", "src/quote.ts", "src/reports.ts"])
    );
    assert!(
        ep.of("bugfix").is_empty() && ep.of("feature").is_empty(),
        "{:?}",
        ep.kinds()
    );
    assert!(!refactor.has("committed"), "nothing was committed");
    assert!(
        ep.summary.completed.contains("computetax") || ep.summary.completed.contains("src/tax.ts")
    );
}

#[test]
fn design_decision() {
    let (_env, eps) = run("design_decision");
    let ep = &eps[0];
    let decision = ep.one("decision");
    decision.must(&["sqs", "poll"]);
    assert!(
        ["because", "replica", "dead-letter", "listobjectsv2", "250"]
            .iter()
            .any(|w| decision.has(w))
    );
    assert!(
        ["trade-off", "at-least-once", "idempotent"]
            .iter()
            .any(|w| decision.has(w))
    );
    let config = ep
        .of("feature")
        .into_iter()
        .chain(ep.of("change"))
        .find(|o| o.has("ingest/config.py"))
        .expect("a feature or change for the config");
    assert!(
        config.has("upload_notifications") || config.has("ingest_notifications"),
        "{}",
        config.text
    );
    assert_eq!(
        ep.summary.files_modified,
        sorted(&[
            "docs/adr/0003-upload-notifications.md",
            "ingest/config.py",
            "tests/test_config.py"
        ])
    );
    assert_eq!(
        ep.summary.files_read,
        sorted(&[
            "docs/adr/0002-keep-raw-uploads-seven-days.md",
            "ingest/poller.py",
            "ingest/worker.py",
            "ingest/config.py",
            "tests/test_config.py"
        ])
    );
    assert!(ep.of("bugfix").is_empty());
}

#[test]
fn explore_only() {
    let (_env, eps) = run("explore_only");
    let ep = &eps[0];
    assert_eq!(ep.kinds(), ["discovery"]);
    let d = ep.one("discovery");
    d.must(&["requireauth", "src/middleware/auth.js", "jwt", "refresh"]);
    assert!(
        d.has("clocktolerance") || (d.has("clock") && d.has("30")),
        "{}",
        d.text
    );
    assert_eq!(
        ep.summary.files_read,
        sorted(&[
            "src/middleware/auth.js",
            "src/auth/tokens.js",
            "src/routes/auth.js",
            "config/default.js",
            "test/auth.test.js"
        ])
    );
    assert!(ep.summary.files_modified.is_empty());
    assert!(ep.summary.request.contains("authentication"));
    assert!(!ep.summary.completed.is_empty() || !ep.summary.learned.is_empty());
}

#[test]
fn closing_message_from_the_transcript() {
    let (_env, eps) = run("no_last_message");
    let ep = &eps[0];
    let all: String = ep
        .observations
        .iter()
        .map(|o| o.text.clone())
        .chain([
            ep.summary.learned.clone(),
            ep.summary.completed.clone(),
            ep.summary.next_steps.clone(),
        ])
        .collect::<Vec<_>>()
        .join(" ");
    // Only the transcript's closing message says these.
    assert!(
        all.contains("leading hyphen") && all.contains("rename"),
        "{all}"
    );
    // The transcript's stale summary line of another conversation is skipped.
    assert!(!all.contains("excerpt() for the list view"));
    let work = ep
        .of("bugfix")
        .into_iter()
        .chain(ep.of("change"))
        .next()
        .unwrap_or_else(|| panic!("a bugfix or change, got {:?}", ep.kinds()));
    work.must(&["slugify", "notes/text.py", "6 passed"]);
    assert_eq!(
        ep.summary.files_read,
        sorted(&["notes/text.py", "tests/test_text.py"])
    );
    assert_eq!(ep.summary.files_modified, sorted(&["notes/text.py"]));
}
