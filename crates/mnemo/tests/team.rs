//! Team memory end to end: several data directories, each with its own
//! clone of one repository at a different path (the same remote URL),
//! stand in for teammates' machines; a real PostgreSQL cluster
//! (`mnemo_pgtest`, skipped with a visible line when none can be started)
//! is the team server. Everything goes through the real binary: hooks,
//! `mnemo team`, `mnemo sync`, `mnemo search`, `mnemo export`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;

use common::*;
use mnemo_pgtest::TeamDatabase;
use serde_json::{Value, json};

/// The remote every machine's clone has.
const REMOTE: &str = "git@github.com:Acme/shop.git";

/// A team database on the shared cluster, or `None` (after a SKIPPED line).
fn team_db(test: &str) -> Option<TeamDatabase> {
    let cluster = mnemo_pgtest::shared(test)?;
    Some(cluster.team_database(test))
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git")
        .success();
    assert!(ok, "git {args:?} in {}", dir.display());
}

/// A machine: its own data directory and clone, configured for the team.
/// Its hooks start background syncs; they exit a second after their work,
/// and the test waits for them (killing any left) when the machine goes.
pub(crate) struct Machine(pub(crate) Env);

impl std::ops::Deref for Machine {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.0
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let started = Instant::now();
        while !self.pids("sync").is_empty() && started.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in self.pids("sync") {
            // SAFETY: a plain kill(2) of a process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

pub(crate) fn machine(db: &TeamDatabase, author: &str) -> Machine {
    let env = Env::new()
        .env("MNEMO_TEAM_URL", &db.url)
        .env("MNEMO_TEAM_AUTHOR", author)
        .env("MNEMO_TEAM_IDLE_EXIT_SECS", "1");
    git(&env.project, &["remote", "add", "origin", REMOTE]);
    Machine(env)
}

pub(crate) fn project(env: &Env) -> &str {
    env.project.to_str().unwrap()
}

pub(crate) fn join(env: &Env) {
    let out = env.ok(&["team", "join", project(env)]);
    assert!(out.contains("github.com/acme/shop"), "{out}");
}

fn sync(env: &Env) -> Value {
    env.ok_json(&["sync", "--once", "--json"])
}

pub(crate) fn remember(env: &Env, dir: &Path, text: &str) {
    env.ok(&["remember", text, "--project", dir.to_str().unwrap()]);
}

/// The shared memories in `mnemo export`, by global id, without what is
/// local to a machine (row ids and links, author and origin columns, the
/// moment a forget was applied) and with file paths relative to the
/// project root.
pub(crate) fn shared(env: &Env) -> BTreeMap<String, Value> {
    let export = env.ok(&["export", "--all-projects"]);
    let root = format!("{}/", project(env));
    let mut out = BTreeMap::new();
    for line in export.lines() {
        let mut record: Value = serde_json::from_str(line).unwrap();
        let kind = record["kind"].as_str().unwrap_or("").to_string();
        if !matches!(kind.as_str(), "observation" | "summary") {
            continue;
        }
        let Some(gid) = record["gid"].as_str().map(str::to_string) else {
            continue;
        };
        let fields = record.as_object_mut().unwrap();
        for local in [
            "id",
            "project",
            "session",
            "prompt",
            "source_events",
            "superseded_by",
            "ref",
            "author",
            "origin",
        ] {
            fields.remove(local);
        }
        let forgotten = fields.get("deleted_at").is_some_and(|v| !v.is_null());
        fields.insert("deleted_at".into(), json!(forgotten));
        for list in ["files_read", "files_modified"] {
            if let Some(paths) = fields.get_mut(list).and_then(Value::as_array_mut) {
                for path in paths {
                    *path = json!(path.as_str().unwrap().trim_start_matches(&root));
                }
            }
        }
        assert!(
            out.insert(gid.clone(), record).is_none(),
            "{gid} twice in one store"
        );
    }
    out
}

/// The titles of live observations, lower-cased.
fn live_titles(env: &Env) -> Vec<String> {
    let db = env.db();
    let mut stmt = db
        .prepare("SELECT lower(title) FROM observations WHERE deleted_at IS NULL ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `text` as it appears inside a JSON string.
fn json_text(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

/// Every row of every table of the team database, as text: what the server
/// holds, whatever its schema.
fn server_dump(db: &TeamDatabase, test: &str) -> String {
    let cluster = mnemo_pgtest::shared(test).unwrap();
    let mut admin = cluster.admin(&db.database);
    let tables: Vec<String> = admin
        .query(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
               AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut dump = String::new();
    for table in tables {
        let text: String = admin
            .query_one(
                &format!(
                    "SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') FROM {table} t"
                ),
                &[],
            )
            .unwrap()
            .get(0);
        dump.push_str(&text);
        dump.push('\n');
    }
    dump
}

#[test]
fn two_machines_share_memories_with_their_author_and_converge() {
    let test = "team::two_machines";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    a.replay_session();
    let titles = live_titles(&a);
    assert!(!titles.is_empty(), "the session made memories");
    join(&a);
    let round = sync(&a);
    assert!(
        round["pushed"].as_u64().unwrap() >= titles.len() as u64,
        "{round}"
    );

    join(&b);
    let round = sync(&b);
    assert!(
        round["applied"].as_u64().unwrap() >= titles.len() as u64,
        "{round}"
    );
    let from_ana = b.count("SELECT count(*) FROM observations WHERE author = 'Ana'");
    assert_eq!(from_ana, titles.len() as i64);
    assert_eq!(
        b.count("SELECT count(*) FROM vector_queue"),
        0,
        "pulled memories are embedded as they arrive"
    );

    // B finds A's memory by its words, in its own clone, with its author.
    let found = b.ok_json(&["search", &titles[0], "--project", project(&b), "--json"]);
    let hit = &found["items"][0];
    assert_eq!(hit["title"].as_str().unwrap().to_lowercase(), titles[0]);
    assert_eq!(hit["author"], "Ana");
    let by_ana = b.ok_json(&["search", "--author", "ana", "--all-projects", "--json"]);
    assert_eq!(
        by_ana["items"].as_array().unwrap().len(),
        titles.len().min(10)
    );
    let by_nobody = b.ok_json(&["search", "--author", "Nobody", "--all-projects", "--json"]);
    assert_eq!(by_nobody["items"], json!([]));
    let shown = b.ok(&["show", &hit["id"].to_string()]);
    assert!(shown.contains("by Ana"), "{shown}");
    let listed = b.ok(&["search", &titles[0], "--project", project(&b)]);
    assert!(listed.contains("by Ana"), "{listed}");
    // A new session in B's clone is told of A's memories, and by whom.
    let context = b.ok(&["context", "--project", project(&b)]);
    assert!(context.contains(" by Ana (~"), "{context}");

    sync(&a);
    let (on_a, on_b) = (shared(&a), shared(&b));
    assert!(
        on_a.len() > titles.len(),
        "observations and the summary: {on_a:?}"
    );
    assert_eq!(on_a, on_b);
    // Nothing bounced back to go up again.
    assert_eq!(a.count("SELECT count(*) FROM team_outbox"), 0);
    assert_eq!(b.count("SELECT count(*) FROM team_outbox"), 0);

    // A memory replaced where it was written (as enrichment deletes the
    // rules' observations) is removed everywhere.
    a.db()
        .execute(
            "DELETE FROM observations WHERE id = (SELECT min(id) FROM observations)",
            [],
        )
        .unwrap();
    sync(&a);
    sync(&b);
    assert_eq!(
        b.count("SELECT count(*) FROM observations"),
        titles.len() as i64 - 1
    );
    assert_eq!(shared(&a), shared(&b));
}

#[test]
fn three_machines_converge_after_interleaved_edits_forget_and_undo() {
    let test = "team::three_machines";
    let Some(db) = team_db(test) else { return };
    let machines = [machine(&db, "Ana"), machine(&db, "Ben"), machine(&db, "Cy")];
    let [a, b, c] = &machines;
    for m in &machines {
        join(m);
    }
    for n in 1..=3 {
        remember(a, &a.project, &format!("note {n} from Ana about the cart"));
    }
    for m in &machines {
        sync(m);
    }
    let id_of = |m: &Env, n: u32| -> String {
        let id: i64 = m
            .db()
            .query_row(
                "SELECT id FROM observations WHERE title LIKE ?1",
                [format!("note {n} from Ana%")],
                |r| r.get(0),
            )
            .unwrap();
        id.to_string()
    };
    // Interleaved, each machine offline from the others meanwhile.
    b.ok(&["forget", &id_of(b, 1)]);
    remember(c, &c.project, "note from Cy about the checkout");
    a.ok(&["forget", &id_of(a, 2)]);
    a.ok(&["forget", "--undo", &id_of(a, 2)]);
    // Concurrent versions of one memory: B forgets it, C forgets and brings it back.
    b.ok(&["forget", &id_of(b, 3)]);
    c.ok(&["forget", &id_of(c, 3)]);
    c.ok(&["forget", "--undo", &id_of(c, 3)]);
    for _ in 0..2 {
        for m in [b, c, a] {
            sync(m);
        }
    }
    let on_a = shared(a);
    assert_eq!(on_a.len(), 4, "three notes and Cy's: {on_a:?}");
    assert_eq!(on_a, shared(b));
    assert_eq!(on_a, shared(c));
    for m in &machines {
        let live = live_titles(m);
        assert!(!live.iter().any(|t| t.starts_with("note 1 ")), "{live:?}");
        assert!(live.iter().any(|t| t.starts_with("note 2 ")), "{live:?}");
        assert!(
            live.iter().any(|t| t.starts_with("note from cy")),
            "{live:?}"
        );
        assert_eq!(
            m.count("SELECT count(*) FROM observations"),
            4,
            "no duplicates"
        );
    }
}

#[test]
fn a_secret_planted_after_join_never_reaches_the_server() {
    let test = "team::secrets";
    let Some(db) = team_db(test) else { return };
    let a = machine(&db, "Ana");
    join(&a);
    // Assembled at run time so no secret-looking literal sits in the repository.
    let secrets = [
        format!("AKIA{}", "Q7ZK3M2P9XW4T6RB"),
        format!("ghp_{}", &"aB3dE5fG7h".repeat(4)[..36]),
        format!("sk-ant-api03-{}", "Qw3rTy7UiOp9AsDf".repeat(6)),
        format!("xoxb-2048{}-{}", "1234567", "Ab9Cd8Ef7G".repeat(3)),
    ];
    let mut prompt = a.fixture("user_prompt_submit__basic");
    prompt["prompt"] = json!(format!(
        "the deploy fails with key {} and token {}",
        secrets[0], secrets[1]
    ));
    a.hook(None, &prompt);
    a.replay_session();
    remember(
        &a,
        &a.project,
        &format!("the staging bot uses {}", secrets[3]),
    );
    // A memory stored before a redaction rule knew its secret: the upload
    // redacts again.
    a.db()
        .execute(
            "UPDATE observations SET narrative = narrative || ?1
             WHERE id = (SELECT min(id) FROM observations)",
            [format!(" the key was {}", secrets[2])],
        )
        .unwrap();
    let round = sync(&a);
    assert!(round["pushed"].as_u64().unwrap() > 0, "{round}");

    let dump = server_dump(&db, test);
    let title = &live_titles(&a)[0];
    assert!(
        dump.to_lowercase().contains(&json_text(title)),
        "the memories are on the server"
    );
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "{secret} reached the server"
        );
    }
}

/// The whole secrets corpus, written into a joined project's memories
/// behind capture's back (as if stored before a redaction rule knew them),
/// so only the redaction before upload stands between it and the server:
/// no secret value is in the server's tables, and the benign look-alikes
/// are kept as the other carriers keep them.
#[test]
fn the_secrets_corpus_never_reaches_the_server() {
    let test = "team::secrets_corpus";
    let Some(db) = team_db(test) else { return };
    let a = machine(&db, "Ana");
    join(&a);
    a.replay_session();
    let items = crate::secrets::secret_corpus::corpus();
    // One memory per item, so no item's words are another's context.
    for (n, item) in items.iter().enumerate() {
        a.db()
            .execute(
                "INSERT INTO observations (project_id, session_id, type, title, narrative,
                     content_hash, generated_by, created_at)
                 SELECT project_id, session_id, 'discovery', ?1, ?2, ?1, 'user', created_at
                 FROM observations ORDER BY id LIMIT 1",
                rusqlite::params![format!("planted item {n}"), item.text],
            )
            .unwrap();
    }
    let round = sync(&a);
    assert!(round["pushed"].as_u64().unwrap() > 0, "{round}");

    let dump = server_dump(&db, test);
    let on_server = |value: &str| dump.contains(value) || dump.contains(&json_text(value));
    let leaked: Vec<&str> = items
        .iter()
        .filter(|i| !i.is_benign() && i.values.iter().any(|v| on_server(v)))
        .map(|i| i.kind)
        .collect();
    assert!(leaked.is_empty(), "secrets on the server: {leaked:?}");
    let benign: Vec<_> = items.iter().filter(|i| i.is_benign()).collect();
    let kept = benign
        .iter()
        .filter(|i| i.values.iter().all(|v| on_server(v)))
        .count();
    assert!(
        kept * 100 >= benign.len() * 97,
        "benign look-alikes kept: {kept} of {}",
        benign.len()
    );
}

#[test]
fn an_unreachable_server_fails_one_round_in_one_line_and_the_next_converges() {
    let test = "team::unreachable";
    let Some(cluster) = mnemo_pgtest::private(test) else {
        return;
    };
    let db = cluster.team_database("unreachable");
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    remember(&a, &a.project, "the first note before the outage");
    sync(&a);

    cluster.stop();
    remember(&a, &a.project, "a note written during the outage");
    let started = Instant::now();
    let out = a.command(&["sync", "--once"]).output().unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(30), "bounded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mnemo: "), "{stderr}");
    assert!(!stderr.contains(&db.password), "no password: {stderr}");
    // Capture goes on meanwhile.
    a.replay_session();
    assert!(a.count("SELECT count(*) FROM observations") > 2);
    let status = a.ok_json(&["team", "status", "--json"]);
    assert_eq!(status["reachable"], false);
    assert!(status["last_error"].is_string(), "{status}");
    assert!(!status.to_string().contains(&db.password));

    cluster.restart().unwrap();
    sync(&a);
    join(&b);
    sync(&b);
    assert_eq!(shared(&a), shared(&b));
    assert_eq!(a.count("SELECT count(*) FROM team_outbox"), 0);
}

#[test]
fn sigkill_during_a_push_of_many_records_loses_and_duplicates_nothing() {
    let test = "team::sigkill";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    remember(&a, &a.project, "the seed note");
    const MANY: i64 = 3000;
    bulk_memories(&a, MANY);
    assert_eq!(a.count("SELECT count(*) FROM team_outbox"), MANY + 1);
    // Kill rounds at growing delays until one was cut off half-way
    // through the outbox (some batches sent, some not).
    let mut cut_mid_push = 0;
    for attempt in 0..30 {
        let mut child = a.command(&["sync", "--once"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(100 + 60 * attempt));
        child.kill().unwrap();
        child.wait().unwrap();
        let left = a.count("SELECT count(*) FROM team_outbox");
        if left > 0 && left < MANY + 1 {
            cut_mid_push += 1;
        }
        if left == 0 || cut_mid_push >= 2 {
            break;
        }
    }
    assert!(cut_mid_push > 0, "no kill landed during the push");
    sync(&a);
    assert_eq!(a.count("SELECT count(*) FROM team_outbox"), 0);
    assert_eq!(
        a.count("SELECT count(DISTINCT gid) FROM observations"),
        MANY + 1
    );
    join(&b);
    sync(&b);
    assert_eq!(
        b.count("SELECT count(*) FROM observations WHERE author = 'Ana'"),
        MANY + 1,
        "every record once"
    );
    assert_eq!(shared(&a), shared(&b));
}

#[test]
fn only_joined_projects_leave_the_machine() {
    let test = "team::only_joined";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    let other = a.tmp.path().join("private-tool");
    std::fs::create_dir_all(&other).unwrap();
    git_init(&other);
    git(
        &other,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/ana/private-tool",
        ],
    );
    remember(
        &a,
        &other,
        "the private tool keeps its cache in /var/cache/zebra",
    );
    join(&a);
    remember(&a, &a.project, "the shop's cart rounds totals to cents");
    remember(
        &a,
        &other,
        "the private tool's second note mentions yak shaving",
    );
    // B syncs another project of its own first: joining the shop later
    // still brings all of the shop's memories.
    let own = b.tmp.path().join("ben-tool");
    std::fs::create_dir_all(&own).unwrap();
    git_init(&own);
    git(
        &own,
        &["remote", "add", "origin", "https://github.com/ben/tool"],
    );
    b.ok(&["team", "join", own.to_str().unwrap()]);
    sync(&b);
    let dry_run = a.ok(&["team", "join", "--dry-run", other.to_str().unwrap()]);
    assert!(dry_run.contains("yak shaving"), "{dry_run}");
    sync(&a);

    let dump = server_dump(&db, test);
    assert!(dump.contains("rounds totals to cents"));
    assert!(
        !dump.contains("zebra") && !dump.contains("yak shaving"),
        "{dump}"
    );
    join(&b);
    sync(&b);
    let on_b = live_titles(&b);
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert!(on_b[0].contains("rounds totals to cents"), "{on_b:?}");

    // After leaving, nothing more goes up.
    a.ok(&["team", "leave", project(&a)]);
    remember(&a, &a.project, "written after leaving: the shop uses kiwi");
    sync(&a);
    assert!(!server_dump(&db, test).contains("kiwi"));
}

#[test]
fn a_session_end_syncs_in_the_background_and_the_sync_exits_when_idle() {
    let test = "team::background";
    let Some(db) = team_db(test) else { return };
    let a = machine(&db, "Ana");
    let b = machine(&db, "Ben");
    join(&a);
    join(&b);
    // No `mnemo sync` run by hand on A: the Stop hook starts one.
    a.replay_session();
    wait_until("the background sync to send the session's memories", || {
        a.count("SELECT count(*) FROM team_outbox") == 0
    });
    sync(&b);
    assert_eq!(shared(&a), shared(&b));
    assert!(!shared(&b).is_empty());
    wait_until("the background sync to exit when idle", || {
        a.pids("sync").is_empty()
    });
}

#[test]
fn a_background_sync_gives_up_when_the_server_cannot_be_reached() {
    let env = Env::new()
        .env("MNEMO_TEAM_URL", "postgresql://ana@127.0.0.1:9/team")
        .env("MNEMO_TEAM_IDLE_EXIT_SECS", "1");
    let started = Instant::now();
    let out = env.command(&["sync", "--background"]).output().unwrap();
    assert!(out.status.success());
    assert!(started.elapsed() < Duration::from_secs(15), "it exits");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "silent");
}

#[test]
fn doctor_reports_the_team_setup_without_contacting_the_server() {
    // The finding of doctor's team check, which must be a warning.
    let team_warning = |env: &Env| -> String {
        let check = env.doctor_check("team");
        assert_eq!(check["status"], "warn", "{check}");
        check["finding"].as_str().unwrap().to_string()
    };
    let env = Env::new();
    assert!(env.doctor_check("team").is_null(), "no team, no check");
    git(&env.project, &["remote", "add", "origin", REMOTE]);
    env.ok(&["team", "join", project(&env)]);
    assert!(team_warning(&env).contains("no team server set"));

    let password = "s3cret-doctor";
    let env = env.env(
        "MNEMO_TEAM_URL",
        &format!("postgresql://ana:{password}@127.0.0.1:9/team"),
    );
    assert!(
        !env.command(&["sync", "--once"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let finding = team_warning(&env);
    assert!(finding.contains("the last sync failed"), "{finding}");
    assert!(!finding.contains(password), "{finding}");
}

#[test]
fn the_http_api_lists_and_searches_one_teammates_memories() {
    let test = "team::http_author";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    remember(&a, &a.project, "Ana says the cart total is rounded once");
    sync(&a);
    join(&b);
    remember(&b, &b.project, "Ben says the cart badge counts items");
    sync(&b);

    let server = b.serve();
    let authors = server.get("/api/authors");
    assert_eq!(
        authors["items"],
        json!([{"name": "Ana", "observations": 1}])
    );
    let listed = server.get("/api/observations?author=ana");
    let titles: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 1, "{listed}");
    assert!(titles[0].contains("rounded once"), "{listed}");
    assert_eq!(listed["items"][0]["author"], "Ana");
    // Both notes match the words; the filter keeps Ana's.
    let everyone = server.get("/api/search?q=cart");
    assert_eq!(everyone["items"].as_array().unwrap().len(), 2, "{everyone}");
    let by_ana = server.get("/api/search?q=cart&author=Ana");
    assert_eq!(by_ana["items"].as_array().unwrap().len(), 1, "{by_ana}");
    assert_eq!(by_ana["items"][0]["author"], "Ana");
    let by_nobody = server.get("/api/search?q=cart&author=Nobody");
    assert_eq!(by_nobody["items"], json!([]));
}

/// `count` memories in `env`'s joined project at once, as an import would
/// write them.
pub(crate) fn bulk_memories(env: &Env, count: i64) {
    env.db()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO observations (project_id, type, title, narrative, content_hash,
                                       generated_by, created_at)
             SELECT (SELECT project_id FROM team_projects), 'discovery', 'bulk note ' || i,
                    'what bulk note ' || i || ' says', 'bulk-' || i, 'user', 1700000000000 + i
             FROM n",
            [count],
        )
        .unwrap();
}

/// A failed `mnemo sync --once`'s one stderr line.
fn failed_round(env: &Env) -> String {
    let out = env.command(&["sync", "--once"]).output().unwrap();
    assert!(!out.status.success(), "the round fails");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mnemo: "), "{stderr}");
    stderr
}

#[test]
fn sigkill_during_a_pull_of_many_records_loses_and_duplicates_nothing() {
    let test = "team::sigkill_pull";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    const MANY: i64 = 3000;
    bulk_memories(&a, MANY);
    sync(&a);
    join(&b);
    let arrived = || b.count("SELECT count(*) FROM observations WHERE author = 'Ana'");
    // Kill rounds at growing delays until one was cut off half-way
    // through the pull (some pages applied, some not).
    let mut cut_mid_pull = 0;
    for attempt in 0..30 {
        let mut child = b.command(&["sync", "--once"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(100 + 60 * attempt));
        child.kill().unwrap();
        child.wait().unwrap();
        let got = arrived();
        if got > 0 && got < MANY {
            cut_mid_pull += 1;
        }
        if got == MANY || cut_mid_pull >= 2 {
            break;
        }
    }
    assert!(cut_mid_pull > 0, "no kill landed during the pull");
    sync(&b);
    assert_eq!(arrived(), MANY, "every record once");
    assert_eq!(
        b.count("SELECT count(DISTINCT gid) FROM observations"),
        MANY
    );
    assert_eq!(b.count("SELECT count(*) FROM team_outbox"), 0);
    assert_eq!(shared(&a), shared(&b));
}

#[test]
fn a_newer_server_schema_stops_sync_in_one_line_and_nothing_is_written() {
    let test = "team::schema_newer";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    remember(&a, &a.project, "written before the server was upgraded");
    sync(&a);
    let cluster = mnemo_pgtest::shared(test).unwrap();
    let mut admin = cluster.admin(&db.database);
    // As a newer mnemo would leave it.
    admin
        .execute(
            "INSERT INTO mnemo_schema_version (version)
             SELECT max(version) + 1 FROM mnemo_schema_version",
            &[],
        )
        .unwrap();
    let before = server_dump(&db, test);

    remember(&a, &a.project, "written after the server was upgraded");
    let line = failed_round(&a);
    assert!(line.contains("upgrade mnemo"), "{line}");
    assert_eq!(server_dump(&db, test), before, "nothing written");
    join(&b);
    let line = failed_round(&b);
    assert!(line.contains("upgrade mnemo"), "{line}");
    assert_eq!(server_dump(&db, test), before, "nothing written");
    assert_eq!(b.count("SELECT count(*) FROM observations"), 0);

    // Local work goes on, waiting to go up.
    let waiting = a.count("SELECT count(*) FROM team_outbox");
    assert!(waiting > 0);
    a.replay_session();
    assert!(a.count("SELECT count(*) FROM team_outbox") > waiting);
    let found = a.ok_json(&["search", "upgraded", "--project", project(&a), "--json"]);
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");
    let status = a.ok_json(&["team", "status", "--json"]);
    assert!(
        status["problem"]
            .as_str()
            .unwrap()
            .contains("upgrade mnemo"),
        "{status}"
    );
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("upgrade mnemo"),
        "{status}"
    );
}

#[test]
fn an_expired_password_fails_in_one_line_and_a_renewed_one_converges() {
    let test = "team::expired_password";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    remember(&a, &a.project, "the note before the password expired");
    sync(&a);
    let cluster = mnemo_pgtest::shared(test).unwrap();
    let mut admin = cluster.admin(&db.database);
    admin
        .batch_execute(&format!(
            "ALTER ROLE \"{}\" VALID UNTIL '2000-01-01'",
            db.role
        ))
        .unwrap();

    remember(&a, &a.project, "the note while the password was expired");
    let line = failed_round(&a);
    assert!(line.contains("refused the login"), "{line}");
    assert!(!line.contains(&db.password), "no password: {line}");
    a.replay_session();
    let status = a.ok_json(&["team", "status", "--json"]);
    assert_eq!(status["reachable"], false);
    assert!(
        status["problem"]
            .as_str()
            .unwrap()
            .contains("refused the login"),
        "{status}"
    );
    assert!(!status.to_string().contains(&db.password), "{status}");
    let shown = a.ok(&["team", "status"]);
    assert!(shown.contains("refused the login"), "{shown}");
    assert!(!shown.contains(&db.password), "{shown}");

    admin
        .batch_execute(&format!(
            "ALTER ROLE \"{}\" VALID UNTIL 'infinity'",
            db.role
        ))
        .unwrap();
    sync(&a);
    assert_eq!(a.count("SELECT count(*) FROM team_outbox"), 0);
    join(&b);
    sync(&b);
    assert_eq!(shared(&a), shared(&b));
    assert!(
        live_titles(&b)
            .iter()
            .any(|t| t.contains("while the password was expired")),
        "{:?}",
        live_titles(&b)
    );
}

/// The title and version time of the memory with global id `gid`.
fn version_of(env: &Env, gid: &str) -> (String, Option<i64>, bool) {
    env.db()
        .query_row(
            "SELECT title, edited_at, deleted_at IS NOT NULL FROM observations WHERE gid = ?1",
            [gid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// Ana exports a memory Ben pulled, after editing it; importing her file
/// into Ben's data directory meets the same global id: one row stays,
/// updated to the newer version, and reported; the same file again, or
/// after a newer edit of Ben's, changes nothing; the team converges on the
/// newest version.
#[test]
fn an_archive_import_meeting_a_shared_memory_keeps_one_row_and_the_newer_version() {
    let test = "team::archive_same_gid";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    join(&b);
    remember(&a, &a.project, "prices are stored in cents");
    sync(&a);
    sync(&b);
    let gid: String = a
        .db()
        .query_row("SELECT gid FROM observations", [], |r| r.get(0))
        .unwrap();
    let rows_of = |env: &Env| {
        env.count(&format!(
            "SELECT count(*) FROM observations WHERE gid = '{gid}'"
        ))
    };
    assert_eq!(rows_of(&b), 1, "Ben has Ana's memory");
    let waiting = |env: &Env| env.count("SELECT count(*) FROM team_outbox");

    // The same version: a duplicate, nothing to send.
    let same = a.tmp.path().join("same.jsonl");
    a.ok(&[
        "export",
        "--all-projects",
        "--output",
        same.to_str().unwrap(),
    ]);
    let report = b.ok(&["import", same.to_str().unwrap()]);
    assert!(!report.contains("with other content"), "{report}");
    assert_eq!((rows_of(&b), waiting(&b)), (1, 0));

    a.db()
        .execute(
            "UPDATE observations SET title = 'prices are stored in whole cents'",
            [],
        )
        .unwrap();
    let file = a.tmp.path().join("ana.jsonl");
    a.ok(&[
        "export",
        "--all-projects",
        "--output",
        file.to_str().unwrap(),
    ]);
    let file = file.to_str().unwrap();
    let report = b.ok(&["import", file]);
    assert!(
        report.contains("1 already present with other content")
            && report.contains("1 updated to the file's newer version, 0 kept"),
        "{report}"
    );
    assert_eq!(rows_of(&b), 1, "one row per global id");
    assert_eq!(version_of(&b, &gid).0, "prices are stored in whole cents");
    assert_eq!(waiting(&b), 1, "the newer version goes up from here too");

    let again = b.ok(&["import", file]);
    assert!(!again.contains("with other content"), "{again}");
    assert_eq!(waiting(&b), 1);
    b.db()
        .execute(
            "UPDATE observations SET title = 'prices are stored in cents, rounded down'
             WHERE gid = ?1",
            [&gid],
        )
        .unwrap();
    let kept = b.ok(&["import", file]);
    assert!(
        kept.contains("0 updated to the file's newer version, 1 kept as the newer version here"),
        "{kept}"
    );
    assert_eq!(rows_of(&b), 1);

    for m in [&a, &b, &a] {
        sync(m);
    }
    for m in [&a, &b] {
        assert_eq!(rows_of(m), 1);
        assert_eq!(
            version_of(m, &gid).0,
            "prices are stored in cents, rounded down"
        );
    }
    assert_eq!(shared(&a), shared(&b));
}

/// Versions of one memory strictly increase on each machine, even when its
/// clock stands behind the last version it saw (here: Ana's clock runs an
/// hour ahead, so every change of Ben's happens "before" the version he
/// pulled, as a forget and its undo within one millisecond would): Ben's
/// forget, then his undo, each pushed in its own round, reach Ana.
#[test]
fn a_forget_and_its_undo_win_over_a_version_from_a_clock_ahead() {
    let test = "team::versions_increase";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    join(&b);
    remember(&a, &a.project, "the cart total is rounded once");
    // Ana's clock is an hour ahead.
    a.db()
        .execute(
            "UPDATE team_outbox SET changed_at = changed_at + 3600000",
            [],
        )
        .unwrap();
    sync(&a);
    sync(&b);
    let gid: String = b
        .db()
        .query_row("SELECT gid FROM observations", [], |r| r.get(0))
        .unwrap();
    let (_, Some(pulled), false) = version_of(&b, &gid) else {
        panic!("Ben has Ana's live memory")
    };
    let id = b
        .count(&format!("SELECT id FROM observations WHERE gid = '{gid}'"))
        .to_string();

    b.ok(&["forget", &id]);
    sync(&b);
    let (_, Some(forgotten), true) = version_of(&b, &gid) else {
        panic!("Ben forgot it")
    };
    assert!(forgotten > pulled, "{forgotten} after {pulled}");
    sync(&a);
    assert!(version_of(&a, &gid).2, "the forget reached Ana");

    b.ok(&["forget", "--undo", &id]);
    sync(&b);
    let (_, Some(restored), false) = version_of(&b, &gid) else {
        panic!("Ben brought it back")
    };
    assert!(restored > forgotten, "{restored} after {forgotten}");
    sync(&a);
    assert!(!version_of(&a, &gid).2, "the undo reached Ana");
    assert_eq!(version_of(&a, &gid).1, Some(restored));
    assert_eq!(shared(&a), shared(&b));
}

#[test]
fn status_counts_what_waits_to_come_down() {
    let test = "team::incoming";
    let Some(db) = team_db(test) else { return };
    let (a, b) = (machine(&db, "Ana"), machine(&db, "Ben"));
    join(&a);
    join(&b);
    remember(&a, &a.project, "the first note for Ben");
    remember(&a, &a.project, "the second note for Ben");
    let sent = sync(&a);
    let shared_by_a = shared(&a).len() as i64;
    assert!(shared_by_a >= 2, "{sent}");

    let status = b.ok_json(&["team", "status", "--json"]);
    assert_eq!(status["reachable"], true, "{status}");
    assert_eq!(status["incoming"], shared_by_a, "{status}");
    let shown = b.ok(&["team", "status"]);
    assert!(
        shown.contains(&format!("waiting down  {shared_by_a}")),
        "{shown}"
    );
    // A's own memories are not waiting for A.
    assert_eq!(a.ok_json(&["team", "status", "--json"])["incoming"], 0);

    sync(&b);
    assert_eq!(b.ok_json(&["team", "status", "--json"])["incoming"], 0);
    remember(&a, &a.project, "a third note");
    sync(&a);
    assert_eq!(b.ok_json(&["team", "status", "--json"])["incoming"], 1);
}
