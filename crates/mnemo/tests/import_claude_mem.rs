//! `mnemo import claude-mem`: claude-mem databases built here in its real
//! formats (the current schema, version 49, with its FTS5 tables, triggers
//! and sync columns; and version 6, from before the session-id renames and
//! structured observations), imported by the real binary into a real store.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use rusqlite::{Connection, params};
use serde_json::json;

/// A GitHub token planted in a prompt, an observation and a summary.
const SECRET: &str = "ghp_Zq8Lm2Nx4Vb6Cd1Ef3Gh5Jk7Mn9Pq0Rs2Tu4";
/// 2025-03-14T09:26:53Z, when the fixtures' work happened.
const T0: i64 = 1_741_944_413_000;
const MINUTE: i64 = 60_000;

/// The current claude-mem schema (version 49), as `PRAGMA table_info`
/// reports it on a database claude-mem 13.15 created.
const CURRENT_SCHEMA: &str = r#"
CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE sdk_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_session_id TEXT NOT NULL,
    memory_session_id TEXT UNIQUE,
    project TEXT NOT NULL,
    platform_source TEXT NOT NULL DEFAULT 'claude',
    user_prompt TEXT,
    started_at TEXT NOT NULL,
    started_at_epoch INTEGER NOT NULL,
    completed_at TEXT,
    completed_at_epoch INTEGER,
    status TEXT CHECK(status IN ('active', 'completed', 'failed')) NOT NULL DEFAULT 'active',
    worker_port INTEGER, prompt_counter INTEGER DEFAULT 0, custom_title TEXT);
CREATE UNIQUE INDEX ux_sdk_sessions_platform_content ON sdk_sessions(platform_source, content_session_id);
CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_session_id TEXT NOT NULL,
    project TEXT NOT NULL,
    text TEXT,
    type TEXT NOT NULL,
    title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT,
    files_read TEXT, files_modified TEXT,
    prompt_number INTEGER,
    discovery_tokens INTEGER DEFAULT 0,
    created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL,
    content_hash TEXT, generated_by_model TEXT, relevance_count INTEGER DEFAULT 0,
    merged_into_project TEXT, agent_type TEXT, agent_id TEXT, metadata TEXT,
    synced_at INTEGER, origin_device_id TEXT, origin_local_id TEXT, sync_rev TEXT NOT NULL DEFAULT '1',
    FOREIGN KEY(memory_session_id) REFERENCES sdk_sessions(memory_session_id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE UNIQUE INDEX ux_observations_session_hash ON observations(memory_session_id, content_hash);
CREATE TABLE session_summaries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_session_id TEXT NOT NULL,
    project TEXT NOT NULL,
    request TEXT, investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT,
    files_read TEXT, files_edited TEXT, notes TEXT,
    prompt_number INTEGER,
    discovery_tokens INTEGER DEFAULT 0,
    created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL,
    merged_into_project TEXT,
    synced_at INTEGER, origin_device_id TEXT, origin_local_id TEXT, sync_rev TEXT NOT NULL DEFAULT '1',
    FOREIGN KEY(memory_session_id) REFERENCES sdk_sessions(memory_session_id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE user_prompts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_db_id INTEGER,
    content_session_id TEXT NOT NULL,
    prompt_number INTEGER NOT NULL,
    prompt_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL,
    synced_at INTEGER, origin_device_id TEXT, origin_local_id TEXT, sync_rev TEXT NOT NULL DEFAULT '1',
    FOREIGN KEY(session_db_id) REFERENCES sdk_sessions(id) ON DELETE CASCADE);
CREATE TABLE pending_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER NOT NULL, content_session_id TEXT NOT NULL,
    message_type TEXT NOT NULL, tool_name TEXT, tool_input TEXT, tool_response TEXT, cwd TEXT,
    last_assistant_message TEXT, prompt_number INTEGER, status TEXT NOT NULL DEFAULT 'pending',
    created_at_epoch INTEGER NOT NULL, failed_at_epoch INTEGER, tool_use_id TEXT);

CREATE VIRTUAL TABLE observations_fts USING fts5(title, subtitle, narrative, text, facts, concepts,
    content='observations', content_rowid='id');
CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN
    INSERT INTO observations_fts(rowid, title, subtitle, narrative, text, facts, concepts)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.text, new.facts, new.concepts);
END;
CREATE TRIGGER observations_ad AFTER DELETE ON observations BEGIN
    INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative, text, facts, concepts)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.text, old.facts, old.concepts);
END;
CREATE TRIGGER observations_au AFTER UPDATE ON observations BEGIN
    INSERT INTO observations_fts(observations_fts, rowid, title, subtitle, narrative, text, facts, concepts)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.text, old.facts, old.concepts);
    INSERT INTO observations_fts(rowid, title, subtitle, narrative, text, facts, concepts)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.text, new.facts, new.concepts);
END;
CREATE VIRTUAL TABLE session_summaries_fts USING fts5(request, investigated, learned, completed, next_steps, notes,
    content='session_summaries', content_rowid='id');
CREATE TRIGGER session_summaries_ai AFTER INSERT ON session_summaries BEGIN
    INSERT INTO session_summaries_fts(rowid, request, investigated, learned, completed, next_steps, notes)
    VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps, new.notes);
END;
CREATE TRIGGER session_summaries_ad AFTER DELETE ON session_summaries BEGIN
    INSERT INTO session_summaries_fts(session_summaries_fts, rowid, request, investigated, learned, completed, next_steps, notes)
    VALUES ('delete', old.id, old.request, old.investigated, old.learned, old.completed, old.next_steps, old.notes);
END;
CREATE TRIGGER session_summaries_au AFTER UPDATE ON session_summaries BEGIN
    INSERT INTO session_summaries_fts(session_summaries_fts, rowid, request, investigated, learned, completed, next_steps, notes)
    VALUES ('delete', old.id, old.request, old.investigated, old.learned, old.completed, old.next_steps, old.notes);
    INSERT INTO session_summaries_fts(rowid, request, investigated, learned, completed, next_steps, notes)
    VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps, new.notes);
END;
CREATE VIRTUAL TABLE user_prompts_fts USING fts5(prompt_text, content='user_prompts', content_rowid='id');
CREATE TRIGGER user_prompts_ai AFTER INSERT ON user_prompts BEGIN
    INSERT INTO user_prompts_fts(rowid, prompt_text) VALUES (new.id, new.prompt_text);
END;
CREATE TRIGGER user_prompts_ad AFTER DELETE ON user_prompts BEGIN
    INSERT INTO user_prompts_fts(user_prompts_fts, rowid, prompt_text) VALUES ('delete', old.id, old.prompt_text);
END;
CREATE TRIGGER user_prompts_au AFTER UPDATE ON user_prompts BEGIN
    INSERT INTO user_prompts_fts(user_prompts_fts, rowid, prompt_text) VALUES ('delete', old.id, old.prompt_text);
    INSERT INTO user_prompts_fts(rowid, prompt_text) VALUES (new.id, new.prompt_text);
END;
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT);
"#;

/// claude-mem's schema at version 6: `claude_session_id` / `sdk_session_id`,
/// observations as one `text`, no `user_prompts` (only the session's first
/// prompt), one summary per session.
const V6_SCHEMA: &str = r#"
CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE sdk_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claude_session_id TEXT UNIQUE NOT NULL,
    sdk_session_id TEXT UNIQUE,
    project TEXT NOT NULL,
    user_prompt TEXT,
    started_at TEXT NOT NULL,
    started_at_epoch INTEGER NOT NULL,
    completed_at TEXT,
    completed_at_epoch INTEGER,
    status TEXT CHECK(status IN ('active', 'completed', 'failed')) NOT NULL DEFAULT 'active',
    worker_port INTEGER, prompt_counter INTEGER DEFAULT 0);
CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sdk_session_id TEXT NOT NULL,
    project TEXT NOT NULL,
    text TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL,
    prompt_number INTEGER,
    FOREIGN KEY(sdk_session_id) REFERENCES sdk_sessions(sdk_session_id) ON DELETE CASCADE);
CREATE TABLE session_summaries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sdk_session_id TEXT UNIQUE NOT NULL,
    project TEXT NOT NULL,
    request TEXT, investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT,
    files_read TEXT, files_edited TEXT, notes TEXT,
    created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL,
    prompt_number INTEGER,
    FOREIGN KEY(sdk_session_id) REFERENCES sdk_sessions(sdk_session_id) ON DELETE CASCADE);
"#;

fn iso(ms: i64) -> String {
    format!("@{ms}")
}

/// A claude-mem database at `path` with `schema` and `versions` recorded.
fn claude_mem_db(path: &Path, schema: &str, versions: std::ops::RangeInclusive<i64>) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    conn.execute_batch(schema).unwrap();
    for v in versions {
        conn.execute(
            "INSERT INTO schema_versions (version, applied_at) VALUES (?1, '2025-01-01T00:00:00Z')",
            [v],
        )
        .unwrap();
    }
    conn
}

/// One claude-mem session of the current schema; returns its row id.
fn session(conn: &Connection, content: &str, memory: &str, project: &str, at: i64) -> i64 {
    conn.execute(
        "INSERT INTO sdk_sessions (content_session_id, memory_session_id, project, started_at,
             started_at_epoch, completed_at, completed_at_epoch, status, prompt_counter)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'completed', 2)",
        params![
            content,
            memory,
            project,
            iso(at),
            at,
            iso(at + 30 * MINUTE),
            at + 30 * MINUTE
        ],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn prompt(conn: &Connection, session_row: i64, content: &str, n: i64, text: &str, at: i64) {
    conn.execute(
        "INSERT INTO user_prompts (session_db_id, content_session_id, prompt_number, prompt_text,
             created_at, created_at_epoch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![session_row, content, n, text, iso(at), at],
    )
    .unwrap();
}

/// An observation: `(memory id, project, type, title, narrative, prompt number, at)`.
fn observation(conn: &Connection, o: (&str, &str, &str, &str, &str, i64, i64)) -> i64 {
    let (memory, project, kind, title, narrative, n, at) = o;
    conn.execute(
        "INSERT INTO observations (memory_session_id, project, type, title, subtitle, narrative,
             facts, concepts, files_read, files_modified, prompt_number, created_at,
             created_at_epoch, content_hash, generated_by_model)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'claude-sonnet-4-5')",
        params![
            memory,
            project,
            kind,
            title,
            format!("{kind} in {project}"),
            narrative,
            json!([format!("fact about {title}")]).to_string(),
            json!(["how-it-works", "gotcha: with detail"]).to_string(),
            json!(["src/lib.rs"]).to_string(),
            json!(["src/main.rs"]).to_string(),
            n,
            iso(at),
            at,
            format!("{memory}{title}"),
        ],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn summary(conn: &Connection, memory: &str, project: &str, n: i64, completed: &str, at: i64) {
    conn.execute(
        "INSERT INTO session_summaries (memory_session_id, project, request, investigated, learned,
             completed, next_steps, files_read, files_edited, notes, prompt_number, created_at,
             created_at_epoch)
         VALUES (?1, ?2, ?3, 'the code paths', 'how it fits together', ?4, 'write more tests',
                 '[\"src/lib.rs\"]', '[\"src/main.rs\"]', 'kept short', ?5, ?6, ?7)",
        params![
            memory,
            project,
            format!("request {n} in {project}"),
            completed,
            n,
            iso(at),
            at
        ],
    )
    .unwrap();
}

/// A data dir, the `shop` git project it works in, and a second git
/// project `billing` mnemo already knows.
struct Fixture {
    env: Env,
    db: PathBuf,
    billing: PathBuf,
    api: PathBuf,
    claude_config: PathBuf,
    /// claude-mem observation ids by title.
    ids: Vec<(String, i64)>,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.env.tmp.path().join(name)
    }

    fn import(&self, extra: &[&str]) -> Output {
        let mut args = vec!["import", "claude-mem", self.db.to_str().unwrap()];
        args.extend(extra);
        self.env
            .command(&args)
            .env("CLAUDE_CONFIG_DIR", &self.claude_config)
            .output()
            .unwrap()
    }

    fn import_ok(&self, extra: &[&str]) -> String {
        let out = self.import(extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn id(&self, title: &str) -> i64 {
        self.ids.iter().find(|(t, _)| t == title).unwrap().1
    }
}

fn git_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    let ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    path.canonicalize().unwrap()
}

/// Start a mnemo session in `cwd` through the real hook.
fn hook_session(env: &Env, id: &str, cwd: &Path) {
    let mut start = env.fixture("session_start__startup");
    start["session_id"] = json!(id);
    start["cwd"] = json!(cwd.to_str().unwrap());
    env.hook(None, &start);
}

const SHOP_SESSION: &str = SESSION;
const TYPES: [&str; 9] = [
    "bugfix",
    "feature",
    "refactor",
    "change",
    "discovery",
    "decision",
    "security_alert",
    "security_note",
    "sensitive",
];

/// The current-schema database: five projects, each placed a different way.
fn current_fixture() -> Fixture {
    let env = Env::new();
    let tmp = env.tmp.path().to_path_buf();
    let billing = git_dir(&tmp.join("repos/billing"));
    let api = tmp.join("repos/api");
    std::fs::create_dir_all(&api).unwrap();
    // mnemo already captured the shop session and knows a `billing` project.
    hook_session(&env, SHOP_SESSION, &env.project);
    hook_session(&env, "billing-hooked", &billing);
    // A transcript of the web session records where it ran.
    let claude_config = tmp.join("claude-config");
    let slug = claude_config.join("projects/-home-dev-web");
    std::fs::create_dir_all(&slug).unwrap();
    let web_cwd = tmp.join("code/web/frontend");
    std::fs::write(
        slug.join("cc-web-1.jsonl"),
        format!(
            "{}\n{}\n",
            json!({"type": "summary", "summary": "web work"}),
            json!({"type": "user", "sessionId": "cc-web-1", "cwd": web_cwd.to_str().unwrap(),
                   "message": {"role": "user", "content": "hi"}}),
        ),
    )
    .unwrap();

    let db = tmp.join("cm/claude-mem.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = claude_mem_db(&db, CURRENT_SCHEMA, 4..=49);
    let mut ids = Vec::new();
    let sessions = [
        (SHOP_SESSION, "mem-shop", "shop"),
        ("cc-billing-1", "mem-billing", "billing"),
        ("cc-api-1", "mem-api", "api"),
        ("cc-web-1", "mem-web", "web"),
        ("cc-lost-1", "mem-lost", "lost"),
    ];
    for (i, (content, memory, project)) in sessions.iter().enumerate() {
        let at = T0 + i as i64 * 60 * MINUTE;
        let row = session(&conn, content, memory, project, at);
        prompt(
            &conn,
            row,
            content,
            1,
            &format!("first thing in {project}"),
            at + MINUTE,
        );
        prompt(
            &conn,
            row,
            content,
            2,
            &format!("second thing in {project}"),
            at + 10 * MINUTE,
        );
        // Two Stops during prompt 1 (the later one is kept), one for prompt
        // 2, and one for prompt 3, which claude-mem did not keep.
        summary(&conn, memory, project, 1, "an early draft", at + 5 * MINUTE);
        summary(
            &conn,
            memory,
            project,
            1,
            &format!("finished {project} part one"),
            at + 9 * MINUTE,
        );
        summary(
            &conn,
            memory,
            project,
            2,
            &format!("finished {project} part two"),
            at + 20 * MINUTE,
        );
        summary(
            &conn,
            memory,
            project,
            3,
            &format!("finished {project} part three"),
            at + 25 * MINUTE,
        );
    }
    // Every claude-mem type, spread over the projects.
    for (i, kind) in TYPES.iter().enumerate() {
        let (_, memory, project) = sessions[i % sessions.len()];
        let title = format!("{kind} note for {project}");
        let at = T0 + i as i64 * 60 * MINUTE + 2 * MINUTE;
        let id = observation(
            &conn,
            (
                memory,
                project,
                kind,
                &title,
                &format!("Why the {kind} mattered."),
                1 + (i as i64 % 2),
                at,
            ),
        );
        ids.push((title, id));
    }
    let odd = observation(
        &conn,
        (
            "mem-web",
            "web",
            "musing",
            "A thought about caching",
            "Cache the rendered page.",
            2,
            T0,
        ),
    );
    ids.push(("A thought about caching".into(), odd));
    // A planted secret, and an observation with nothing to say.
    prompt(
        &conn,
        3,
        "cc-api-1",
        3,
        &format!("deploy with token {SECRET} please"),
        T0 + 3 * MINUTE,
    );
    prompt(
        &conn,
        1,
        SHOP_SESSION,
        3,
        "<private>my salary is 93512</private>",
        T0 + 3 * MINUTE,
    );
    let secret = observation(
        &conn,
        (
            "mem-api",
            "api",
            "security_alert",
            "Token found in deploy script",
            &format!("The script had {SECRET} inline."),
            3,
            T0 + 4 * MINUTE,
        ),
    );
    ids.push(("Token found in deploy script".into(), secret));
    conn.execute(
        "INSERT INTO observations (memory_session_id, project, type, created_at, created_at_epoch)
         VALUES ('mem-api', 'api', 'discovery', ?1, ?2)",
        params![iso(T0), T0],
    )
    .unwrap();
    drop(conn);
    Fixture {
        env,
        db,
        billing,
        api,
        claude_config,
        ids,
    }
}

fn project_of(env: &Env, agent_session_id: &str) -> String {
    env.db()
        .query_row(
            "SELECT p.root FROM sessions s JOIN projects p ON p.id = s.project_id
             WHERE s.agent_session_id = ?1",
            [agent_session_id],
            |r| r.get(0),
        )
        .unwrap()
}

fn counts(env: &Env) -> [i64; 5] {
    [
        env.count("SELECT count(*) FROM projects"),
        env.count("SELECT count(*) FROM sessions"),
        env.count("SELECT count(*) FROM prompts"),
        env.count("SELECT count(*) FROM observations"),
        env.count("SELECT count(*) FROM summaries"),
    ]
}

#[test]
fn the_current_schema_imports_everything_once() {
    let f = current_fixture();
    let env = &f.env;
    let before = std::fs::read(&f.db).unwrap();
    let wal = f.db.with_extension("db-wal");
    let wal_before = std::fs::read(&wal).ok();
    let api_map = format!("api={}", f.api.display());
    let out = f.import_ok(&["--map", &api_map]);
    assert!(out.contains("schema version 49"), "{out}");

    // Counts: 5 sessions (one captured by hooks already); 10 prompts, the
    // secret one, a private one and 3 placeholders (api and shop kept their
    // prompt 3); 11
    // observations (one empty skipped); 15 summaries (5 drafts skipped).
    assert!(
        out.contains("sessions     4 imported, 1 already present"),
        "{out}"
    );
    assert!(
        out.contains("prompts      15 imported, 0 already present; 3 made for summaries"),
        "{out}"
    );
    assert!(
        out.contains("observations 11 imported, 0 already present, 1 skipped (empty)"),
        "{out}"
    );
    assert!(
        out.contains("summaries    15 imported, 0 already present, 5 skipped (a later summary of the same prompt was kept)"),
        "{out}"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM observations WHERE generated_by LIKE 'claude-mem%'"),
        11
    );
    assert_eq!(
        env.count("SELECT count(*) FROM summaries WHERE generated_by = 'claude-mem'"),
        15
    );

    // Projects, each placed its own way.
    assert_eq!(project_of(env, SHOP_SESSION), env.project.to_str().unwrap());
    assert_eq!(project_of(env, "cc-billing-1"), f.billing.to_str().unwrap());
    assert_eq!(project_of(env, "cc-api-1"), f.api.to_str().unwrap());
    assert_eq!(
        project_of(env, "cc-web-1"),
        f.path("code/web").to_str().unwrap()
    );
    assert_eq!(project_of(env, "cc-lost-1"), "claude-mem:lost");
    for (name, how) in [
        ("shop", "where mnemo already has its sessions"),
        ("billing", "the mnemo project of that name"),
        ("api", "from --map"),
        ("web", "from the cwd in Claude Code's transcripts"),
        ("lost", "placeholder: place it with --map lost=DIR"),
    ] {
        assert!(
            out.contains(&format!("  {name} -> ")) && out.contains(how),
            "{name}: {out}"
        );
    }
    assert_eq!(
        env.count("SELECT count(*) FROM sessions"),
        6,
        "the hooked shop session is one session"
    );
    let web_cwd: String = env
        .db()
        .query_row(
            "SELECT cwd FROM sessions WHERE agent_session_id = 'cc-web-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(web_cwd, f.path("code/web/frontend").to_str().unwrap());

    // Types, times, origin, prompt linkage.
    let db = env.db();
    let row = |title: &str| -> (String, i64, String, Option<i64>, String, String) {
        db.query_row(
            "SELECT o.type, o.created_at, o.generated_by, p.n, o.ref, o.concepts
             FROM observations o LEFT JOIN prompts p ON p.id = o.prompt_id WHERE o.title = ?1",
            [title],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap_or_else(|e| panic!("{title}: {e}"))
    };
    let sensitive = row("sensitive note for web");
    assert_eq!(sensitive.0, "security_note");
    assert_eq!(sensitive.1, T0 + 8 * 60 * MINUTE + 2 * MINUTE);
    assert_eq!(sensitive.2, "claude-mem:claude-sonnet-4-5");
    assert_eq!(sensitive.3, Some(1));
    assert_eq!(
        sensitive.4,
        format!("claude-mem:{}", f.id("sensitive note for web"))
    );
    assert_eq!(sensitive.5, r#"["how-it-works","gotcha"]"#);
    assert_eq!(row("A thought about caching").0, "discovery");
    for kind in &TYPES[..8] {
        let title = format!(
            "{kind} note for {}",
            ["shop", "billing", "api", "web", "lost"]
                [TYPES.iter().position(|k| k == kind).unwrap() % 5]
        );
        assert_eq!(row(&title).0, *kind);
    }

    // Summaries: the later of two per prompt; a placeholder prompt for the
    // one claude-mem did not keep, carrying the summary's request.
    let kept: String = db
        .query_row(
            "SELECT su.completed FROM summaries su JOIN prompts p ON p.id = su.prompt_id
             JOIN sessions s ON s.id = su.session_id
             WHERE s.agent_session_id = 'cc-api-1' AND p.n = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, "finished api part one");
    let (placeholder, learned): (String, String) = db
        .query_row(
            "SELECT p.text, su.learned FROM summaries su JOIN prompts p ON p.id = su.prompt_id
             JOIN sessions s ON s.id = su.session_id
             WHERE s.agent_session_id = 'cc-web-1' AND p.n = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(placeholder, "request 3 in web");
    assert!(learned.contains("Notes: kept short"), "{learned}");
    let private: (String, bool) = db
        .query_row(
            "SELECT p.text, p.private FROM prompts p JOIN sessions s ON s.id = p.session_id
             WHERE s.agent_session_id = ?1 AND p.n = 3",
            [SHOP_SESSION],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(private, (String::new(), true));
    // Imported prompts are not queued for compression.
    assert_eq!(
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NULL"),
        0
    );

    // Through the CLI: search and show.
    let hits = env.ok_json(&["search", "sensitive note", "--json"])["items"].clone();
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["title"] == "sensitive note for web")
        .unwrap_or_else(|| panic!("{hits}"));
    let shown = env.ok_json(&["show", &hit["id"].to_string(), "--json"]);
    assert_eq!(shown[0]["type"], "security_note", "{shown}");
    assert_eq!(
        shown[0]["ref"],
        format!("claude-mem:{}", f.id("sensitive note for web"))
    );
    let in_api = env.ok_json(&[
        "search",
        "deploy",
        "--project",
        f.api.to_str().unwrap(),
        "--json",
    ])["items"]
        .clone();
    assert!(
        in_api.to_string().contains("Token found in deploy script"),
        "{in_api}"
    );

    // The secret never reached mnemo's files; claude-mem's file is unchanged.
    drop(db);
    let bytes = all_bytes(&env.home);
    assert!(!contains(&bytes, SECRET), "the planted secret was stored");
    assert!(!contains(&bytes, "93512"), "a <private> span was stored");
    assert!(contains(&bytes, "[REDACTED:"), "the secret left a marker");
    assert_eq!(
        std::fs::read(&f.db).unwrap(),
        before,
        "claude-mem's database changed"
    );
    // A reader of a WAL database may leave an empty WAL behind, never frames.
    match (std::fs::read(&wal).ok(), wal_before) {
        (after, before) if after == before => {}
        (Some(after), None) => assert!(after.is_empty(), "the import wrote to claude-mem's WAL"),
        _ => panic!("claude-mem's WAL changed"),
    }

    // A second run adds nothing.
    let snapshot = counts(env);
    let again = f.import_ok(&["--map", &api_map]);
    assert!(
        again.contains("sessions     0 imported, 5 already present"),
        "{again}"
    );
    assert!(
        again.contains("observations 0 imported, 11 already present"),
        "{again}"
    );
    assert!(
        again.contains("summaries    0 imported, 15 already present"),
        "{again}"
    );
    assert_eq!(counts(env), snapshot);

    // Placing the lost project later moves everything out of its placeholder.
    let lost = git_dir(&f.path("repos/lost"));
    let placed = f.import_ok(&["--map", &format!("lost={}", lost.display())]);
    assert!(placed.contains("placeholder merged in"), "{placed}");
    assert_eq!(project_of(env, "cc-lost-1"), lost.to_str().unwrap());
    assert_eq!(
        env.count("SELECT count(*) FROM projects WHERE root LIKE 'claude-mem:%'"),
        0
    );
    let [projects, rest @ ..] = counts(env);
    assert_eq!(
        (projects, rest),
        (snapshot[0], snapshot[1..].try_into().unwrap())
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM observations o JOIN projects p ON p.id = o.project_id
             WHERE p.name = 'lost'"
        ),
        1
    );
}

#[test]
fn a_dry_run_reports_and_changes_nothing() {
    let f = current_fixture();
    let snapshot = counts(&f.env);
    let out = f.import_ok(&["--dry-run"]);
    assert!(out.starts_with("Would import"), "{out}");
    assert!(out.contains("observations 11 new"), "{out}");
    assert_eq!(counts(&f.env), snapshot);
}

#[test]
fn a_version_6_database_imports_with_its_old_names() {
    let env = Env::new();
    let db = env.tmp.path().join("old.db");
    let conn = claude_mem_db(&db, V6_SCHEMA, 4..=6);
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0").unwrap();
    conn.execute(
        "INSERT INTO sdk_sessions (claude_session_id, sdk_session_id, project, user_prompt,
             started_at, started_at_epoch, status)
         VALUES ('cc-old-1', 'sdk-old-1', 'legacy', 'port the parser to the new API', ?1, ?2, 'active')",
        params![iso(T0), T0],
    )
    .unwrap();
    let texts = [
        (
            "bugfix",
            "Fixed off-by-one in the tokenizer\nThe loop stopped one byte early.",
        ),
        (
            "decision",
            "## Keep the old wire format\nClients in the field still send it.",
        ),
        ("feature", "Added streaming parse"),
    ];
    for (i, (kind, text)) in texts.iter().enumerate() {
        let at = T0 + (i as i64 + 1) * MINUTE;
        conn.execute(
            "INSERT INTO observations (sdk_session_id, project, text, type, created_at, created_at_epoch, prompt_number)
             VALUES ('sdk-old-1', 'legacy', ?1, ?2, ?3, ?4, 1)",
            params![text, kind, iso(at), at],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO session_summaries (sdk_session_id, project, request, completed, created_at, created_at_epoch)
         VALUES ('sdk-old-1', 'legacy', 'port the parser', 'parser ported', ?1, ?2)",
        params![iso(T0), T0 + 10 * MINUTE],
    )
    .unwrap();
    // claude-mem's worker still has the file open: its rows are in the WAL.
    let wal = std::fs::metadata(db.with_extension("db-wal")).unwrap();
    assert!(wal.len() > 0);
    let out = env
        .command(&["import", "claude-mem", db.to_str().unwrap()])
        .output()
        .unwrap();
    drop(conn);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("schema version 6"), "{stdout}");
    assert!(stdout.contains("observations 3 imported"), "{stdout}");
    assert!(stdout.contains("prompts      1 imported"), "{stdout}");
    assert!(stdout.contains("summaries    1 imported"), "{stdout}");
    let rows: Vec<(String, String, String, i64)> = env
        .db()
        .prepare(
            "SELECT o.type, o.title, o.narrative, p.n FROM observations o
             JOIN prompts p ON p.id = o.prompt_id ORDER BY o.created_at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows[0].0, "bugfix");
    assert_eq!(rows[0].1, "Fixed off-by-one in the tokenizer");
    assert!(rows[0].2.contains("one byte early"));
    assert_eq!(rows[1].1, "Keep the old wire format");
    assert_eq!(rows[2].1, "Added streaming parse");
    assert_eq!(rows[2].2, "", "a one-line text is all title");
    let (text, summary): (String, String) = env
        .db()
        .query_row(
            "SELECT p.text, su.completed FROM summaries su JOIN prompts p ON p.id = su.prompt_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (text.as_str(), summary.as_str()),
        ("port the parser to the new API", "parser ported")
    );
    let status: String = env
        .db()
        .query_row("SELECT agent || ' ' || status FROM sessions", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "claude-code active");
}

/// Run the import on `db`, expect failure with one stderr line containing `what`.
fn fails_with(env: &Env, db: &Path, what: &str) {
    let out = env
        .command(&["import", "claude-mem", db.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(what), "{stderr}");
}

#[test]
fn bad_databases_are_one_line_errors() {
    let env = Env::new();
    let tmp = env.tmp.path();
    fails_with(&env, &tmp.join("absent.db"), "no claude-mem database at");
    let junk = tmp.join("junk.db");
    std::fs::write(
        &junk,
        "this is not sqlite at all, just text that goes on for a while\n".repeat(100),
    )
    .unwrap();
    fails_with(&env, &junk, "is not a readable SQLite database");
    let partial = tmp.join("partial.db");
    Connection::open(&partial)
        .unwrap()
        .execute_batch(
            "CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY, content_session_id TEXT, project TEXT);
             CREATE TABLE session_summaries (id INTEGER PRIMARY KEY, memory_session_id TEXT);",
        )
        .unwrap();
    fails_with(&env, &partial, "has no observations table");
    // Without an argument, claude-mem's own location.
    let out = env.command(&["import", "claude-mem"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains(".claude-mem/claude-mem.db"), "{stderr}");
    let bad_map = env
        .command(&["import", "claude-mem", "--map", "nodir"])
        .output()
        .unwrap();
    assert_eq!(
        bad_map.status.code(),
        Some(2),
        "clap rejects a malformed --map"
    );
}

/// A claude-mem database of `n` observations over 20 projects (current
/// schema), each project's sessions with 3 prompts and 2 summaries.
fn generated_db(path: &Path, n: usize) {
    let mut conn = claude_mem_db(path, CURRENT_SCHEMA, 4..=49);
    let tx = conn.transaction().unwrap();
    let per_session = 20;
    let sessions = n.div_ceil(per_session);
    for s in 0..sessions {
        let project = format!("proj{:02}", s % 20);
        let (content, memory) = (format!("cc-{s}"), format!("mem-{s}"));
        let at = T0 + s as i64 * MINUTE;
        let row = session(&tx, &content, &memory, &project, at);
        for p in 1..=3 {
            prompt(
                &tx,
                row,
                &content,
                p,
                &format!("prompt {p} of session {s}: refactor the cache layer"),
                at + p,
            );
        }
        summary(
            &tx,
            &memory,
            &project,
            1,
            &format!("session {s} done"),
            at + 5,
        );
        summary(
            &tx,
            &memory,
            &project,
            3,
            &format!("session {s} wrapped up"),
            at + 9,
        );
        for i in 0..per_session.min(n - s * per_session) {
            let kind = TYPES[i % TYPES.len()];
            observation(
                &tx,
                (
                    &memory,
                    &project,
                    kind,
                    &format!("Observation {i} of session {s} about the cache"),
                    &format!(
                        "Session {s} learned detail {i}: eviction happens on write, not read."
                    ),
                    1 + (i as i64 % 3),
                    at + i as i64,
                ),
            );
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

#[test]
fn a_killed_import_converges_on_rerun() {
    let env = Env::new();
    let db = env.tmp.path().join("big.db");
    generated_db(&db, 20_000);
    let mut child = env
        .command(&["import", "claude-mem", db.to_str().unwrap()])
        .spawn()
        .unwrap();
    let mnemo_db = env.db_path();
    wait_until("the import to commit some observations", || {
        Connection::open(&mnemo_db)
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM observations", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_ok_and(|n| n > 0)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = env.count("SELECT count(*) FROM observations");
    assert!(
        partial < 20_000,
        "the import finished before it was killed ({partial})"
    );
    let out = env
        .command(&["import", "claude-mem", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "observations {} imported, {partial} already present",
            20_000 - partial
        )),
        "{stdout}"
    );
    assert_eq!(env.count("SELECT count(*) FROM observations"), 20_000);
    assert_eq!(
        env.count("SELECT count(DISTINCT ref) FROM observations"),
        20_000
    );
    assert_eq!(env.count("SELECT count(*) FROM sessions"), 1000);
    assert_eq!(env.count("SELECT count(*) FROM prompts"), 3000);
    assert_eq!(env.count("SELECT count(*) FROM summaries"), 2000);
    assert_eq!(env.count("SELECT count(*) FROM projects"), 20);
}

/// Throughput on 100k observations, with the default embedder and without
/// vectors; run with
/// `cargo test --release -p mnemo --test integration import_claude_mem:: -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_on_100k_observations() {
    let source = Env::new();
    let db = source.tmp.path().join("100k.db");
    generated_db(&db, 100_000);
    let embedded = Env::new();
    let text_only = Env::new().env("MNEMO_EMBED_BACKEND", "off");
    for (env, round) in [
        (&embedded, "first run"),
        (&embedded, "second run"),
        (&text_only, "first run, no vectors"),
    ] {
        let started = std::time::Instant::now();
        let out = env
            .command(&["import", "claude-mem", db.to_str().unwrap()])
            .output()
            .unwrap();
        let took = started.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "{round}: {took:.1}s, {:.0} observations/s",
            100_000.0 / took
        );
        assert_eq!(env.count("SELECT count(*) FROM observations"), 100_000);
    }
}
