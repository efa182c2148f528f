//! `mnemo doctor` against real settings files, databases and data dirs.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{BIN, Env};
use mnemo_agent::claude_code::event;
use serde_json::{Value, json};

fn bin_dir() -> String {
    Path::new(BIN).parent().unwrap().display().to_string()
}

/// `mnemo doctor [args]` in the project, with the test binary first on PATH.
fn doctor(env: &Env, args: &[&str]) -> Output {
    let mut all = vec!["doctor"];
    all.extend(args);
    let path = format!(
        "{}:{}",
        bin_dir(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.command(&all)
        .env("PATH", path)
        .current_dir(&env.project)
        .output()
        .expect("run doctor")
}

fn doctor_json(env: &Env) -> (Option<i32>, Value) {
    let out = doctor(env, &["--json"]);
    let value = serde_json::from_slice(&out.stdout).expect("doctor --json prints JSON");
    (out.status.code(), value)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn write(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// Settings with every hook mnemo registers, exec form, running `program`.
fn install_hooks(env: &Env, program: &str) {
    let mut hooks = serde_json::Map::new();
    for (event, registration) in event::registered() {
        let mut group = json!({ "hooks": [{ "type": "command", "command": program, "args": ["hook", event.hook_arg()] }] });
        if let Some(matcher) = registration.matcher {
            group["matcher"] = json!(matcher);
        }
        hooks.insert(event.name().to_string(), json!([group]));
    }
    write(
        &env.tmp.path().join(".claude/settings.json"),
        &json!({ "model": "opus", "hooks": hooks }),
    );
}

fn install_mcp(env: &Env) {
    write(
        &env.tmp.path().join(".claude.json"),
        &json!({ "numStartups": 3, "mcpServers": { "mnemo": { "type": "stdio", "command": BIN, "args": ["mcp"] } } }),
    );
}

/// A data dir with a database, created the normal way (a hook).
fn with_db(env: &Env) {
    let mut payload = env.fixture("session_start__startup");
    payload["session_id"] = json!(common::SESSION);
    env.hook(None, &payload);
    assert!(env.db_path().exists());
}

#[test]
fn healthy_setup_is_all_ok() {
    let env = Env::new();
    install_hooks(&env, BIN);
    install_mcp(&env);
    with_db(&env);
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    for c in report["checks"].as_array().unwrap() {
        // With the LLM off there is no budget to check.
        let expected = if c["name"] == "llm budget" {
            "skip"
        } else {
            "ok"
        };
        assert_eq!(c["status"], expected, "{c}");
        assert!(c["fix"].is_null(), "{c}");
    }
    assert!(
        check(&report, "hooks")["finding"]
            .as_str()
            .unwrap()
            .contains("all 10 events")
    );
    let db = check(&report, "database")["finding"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(db.contains("integrity ok"), "{db}");

    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.lines().take(9).all(|l| l.starts_with('✓')), "{text}");
    assert!(
        text.lines().nth(9).unwrap().starts_with("- llm budget"),
        "{text}"
    );
    assert!(
        text.contains("9 ok, 1 not checked, 0 warnings, 0 failures — all good"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour off a terminal: {text}");
}

#[test]
fn missing_hooks_and_mcp_warn_with_the_fix() {
    let env = Env::new();
    with_db(&env);
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings alone exit 0: {text}");
    assert!(text.contains("! hooks"), "{text}");
    assert!(text.contains("no mnemo hooks"), "{text}");
    assert!(text.contains("fix: run `mnemo install`"), "{text}");
    assert!(text.contains("! mcp"), "{text}");
    assert!(text.contains("claude mcp add mnemo -- mnemo mcp"), "{text}");
    assert!(text.contains("2 warnings, 0 failures"), "{text}");
}

#[test]
fn partial_or_foreign_hooks_warn() {
    let env = Env::new();
    with_db(&env);
    install_hooks(&env, "/opt/old/bin/mnemo");
    let (_, report) = doctor_json(&env);
    let hooks = check(&report, "hooks");
    assert_eq!(hooks["status"], "warn");
    assert!(
        hooks["finding"]
            .as_str()
            .unwrap()
            .contains("/opt/old/bin/mnemo"),
        "{hooks}"
    );

    // Only SessionStart, in shell form, running this binary.
    write(
        &env.tmp.path().join(".claude/settings.json"),
        &json!({ "hooks": { "SessionStart": [{ "hooks": [{ "type": "command", "command": format!("{BIN} hook session-start") }] }] } }),
    );
    let (_, report) = doctor_json(&env);
    let hooks = check(&report, "hooks");
    assert_eq!(hooks["status"], "warn");
    let finding = hooks["finding"].as_str().unwrap();
    assert!(
        finding.contains("missing for UserPromptSubmit"),
        "{finding}"
    );
    assert!(finding.contains("PreToolUse(Read)"), "{finding}");
    assert!(!finding.contains("SessionStart"), "{finding}");
}

#[test]
fn unparsable_settings_fail_naming_the_file() {
    let env = Env::new();
    with_db(&env);
    let settings = env.tmp.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "{ \"hooks\": { ,, }").unwrap();
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ hooks"), "{text}");
    assert!(
        text.contains(&format!("{} is not valid JSON", settings.display())),
        "{text}"
    );
}

#[test]
fn corrupt_database_fails_explains_and_is_left_alone() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(env.db_path(), &garbage).unwrap();
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ database"), "{text}");
    assert!(text.contains("cannot be used"), "{text}");
    assert!(text.contains("nothing new is lost"), "{text}");
    assert!(text.contains("move it aside"), "{text}");
    assert_eq!(
        std::fs::read(env.db_path()).unwrap(),
        garbage,
        "doctor changed the file"
    );
    assert!(!Path::new(&format!("{}-wal", env.db_path().display())).exists());
}

#[test]
fn newer_schema_fails_without_touching_it() {
    let env = Env::new();
    with_db(&env);
    env.db().pragma_update(None, "user_version", 9999).unwrap();
    let before = std::fs::read(env.db_path()).unwrap();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["ok"], false);
    let db = check(&report, "database");
    assert_eq!(db["status"], "fail");
    assert!(db["finding"].as_str().unwrap().contains("9999"), "{db}");
    assert!(
        db["fix"].as_str().unwrap().contains("upgrade mnemo"),
        "{db}"
    );
    assert_eq!(std::fs::read(env.db_path()).unwrap(), before);
    assert_eq!(env.count("PRAGMA user_version"), 9999);
}

#[test]
fn spool_backlog_is_reported() {
    let env = Env::new();
    with_db(&env);
    let spool = env.home.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    for i in 0..3 {
        std::fs::write(spool.join(format!("{i:015}-1-{i}.json")), "{}").unwrap();
    }
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    let c = check(&report, "spool");
    assert_eq!(c["status"], "warn");
    let finding = c["finding"].as_str().unwrap();
    assert!(finding.starts_with("3 events waiting"), "{finding}");
    assert!(finding.contains("locked or unavailable"), "{finding}");
    assert!(c["fix"].as_str().unwrap().contains("next hook"), "{c}");
}

#[test]
fn open_data_dir_warns_with_chmod() {
    let env = Env::new();
    with_db(&env);
    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    let c = check(&report, "data dir");
    assert_eq!(c["status"], "warn");
    assert!(c["finding"].as_str().unwrap().contains("0755"), "{c}");
    assert_eq!(c["fix"], format!("chmod 700 {}", env.home.display()));

    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(env.db_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, report) = doctor_json(&env);
    let c = check(&report, "data dir");
    assert_eq!(c["status"], "warn");
    assert_eq!(c["fix"], format!("chmod 600 {}", env.db_path().display()));
}

#[test]
fn json_shape() {
    let env = Env::new();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "binary",
            "hooks",
            "mcp",
            "data dir",
            "database",
            "spool",
            "backlog",
            "server",
            "llm",
            "llm budget"
        ]
    );
    for c in report["checks"].as_array().unwrap() {
        assert!(
            ["ok", "skip", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(c["finding"].is_string(), "{c}");
        let wrong = c["status"] == "warn" || c["status"] == "fail";
        assert_eq!(c["fix"].is_string(), wrong, "{c}");
    }
    // A missing data dir is reported, not created.
    assert!(!env.home.exists());
}

#[test]
fn llm_reachability_and_budget() {
    let env = Env::new();
    with_db(&env);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = |port: u16, budget: u64| {
        std::fs::write(
            env.home.join("config.toml"),
            format!("[llm]\nbackend = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"qwen\"\ndaily_token_budget = {budget}\n"),
        )
        .unwrap();
    };
    config(open, 1000);
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    let llm = check(&report, "llm");
    assert_eq!(llm["status"], "ok", "{llm}");
    assert!(
        llm["finding"].as_str().unwrap().contains("reachable"),
        "{llm}"
    );
    let budget = check(&report, "llm budget");
    assert_eq!(
        budget["finding"],
        "1000 of 1000 tokens left today, the UTC day (0 used in 0 calls)"
    );

    config(closed, 0);
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(1), "{report}");
    let llm = check(&report, "llm");
    assert_eq!(llm["status"], "fail", "{llm}");
    assert!(
        llm["finding"].as_str().unwrap().contains("unreachable"),
        "{llm}"
    );
    assert!(llm["fix"].as_str().unwrap().contains("base_url"), "{llm}");
    assert_eq!(check(&report, "llm budget")["status"], "warn");
    drop(listener);
}

#[test]
fn running_server_is_reported() {
    let env = Env::new();
    with_db(&env);
    let served = env.serve();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(0), "{report}");
    let server = check(&report, "server");
    assert_eq!(server["status"], "ok");
    let finding = server["finding"].as_str().unwrap();
    assert!(finding.starts_with("running (pid "), "{finding}");
    assert!(
        finding.contains(&format!("127.0.0.1:{}", served.port)),
        "{finding}"
    );
}

#[test]
fn project_scope_settings_count() {
    let env = Env::new();
    with_db(&env);
    let mut hooks = serde_json::Map::new();
    for (event, _) in event::registered() {
        let group = json!({ "matcher": "*", "hooks": [{ "type": "command", "command": "mnemo", "args": ["hook", event.hook_arg()] }] });
        hooks.insert(event.name().to_string(), json!([group]));
    }
    write(
        &env.project.join(".claude/settings.json"),
        &json!({ "hooks": hooks }),
    );
    write(
        &env.project.join(".mcp.json"),
        &json!({ "mcpServers": { "memory": { "command": "mnemo", "args": ["mcp", "--project", "."] } } }),
    );
    let (_, report) = doctor_json(&env);
    let hooks = check(&report, "hooks");
    assert_eq!(
        hooks["status"], "ok",
        "bare `mnemo` on PATH is this binary: {hooks}"
    );
    let mcp = check(&report, "mcp");
    assert_eq!(mcp["status"], "ok", "{mcp}");
    assert!(
        mcp["finding"].as_str().unwrap().contains(".mcp.json"),
        "{mcp}"
    );
}

#[test]
fn claude_cli_backend_is_checked_without_a_call() {
    let env = Env::new();
    with_db(&env);
    let fake = env.tmp.path().join("fake-claude");
    let log = env.tmp.path().join("claude-args");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho '2.0.0 (Claude Code)'\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        format!(
            "[llm]\nbackend = \"claude-cli\"\nclaude_program = \"{}\"\n",
            fake.display()
        ),
    )
    .unwrap();
    let (_, report) = doctor_json(&env);
    let llm = check(&report, "llm");
    assert_eq!(llm["status"], "ok", "{llm}");
    assert!(
        llm["finding"]
            .as_str()
            .unwrap()
            .contains("2.0.0 (Claude Code)"),
        "{llm}"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "--version\n");

    std::fs::write(
        env.home.join("config.toml"),
        "[llm]\nbackend = \"claude-cli\"\nclaude_program = \"/nonexistent/claude\"\n",
    )
    .unwrap();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(1));
    let llm = check(&report, "llm");
    assert_eq!(llm["status"], "fail", "{llm}");
    assert!(
        llm["fix"].as_str().unwrap().contains("claude_program"),
        "{llm}"
    );
}

#[test]
fn bad_config_and_disabled_capture_are_reported() {
    let env = Env::new().env("MNEMO_DISABLE_HOOKS", "1");
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::set_permissions(&env.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(env.home.join("config.toml"), "[llm\nbackend = ").unwrap();
    let (code, report) = doctor_json(&env);
    assert_eq!(code, Some(1), "{report}");
    let config = check(&report, "config");
    assert_eq!(config["status"], "fail", "{config}");
    assert!(
        config["fix"].as_str().unwrap().contains("config.toml"),
        "{config}"
    );
    let capture = check(&report, "capture");
    assert_eq!(capture["status"], "warn", "{capture}");
    assert!(
        capture["fix"]
            .as_str()
            .unwrap()
            .contains("unset MNEMO_DISABLE_HOOKS"),
        "{capture}"
    );
}

#[test]
fn what_was_not_checked_has_no_green_check() {
    // No database: the backlog and the budget cannot be read.
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[llm]\nbackend = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let (_, report) = doctor_json(&env);
    for name in ["backlog", "llm budget"] {
        let c = check(&report, name);
        assert_eq!(c["status"], "skip", "{c}");
        assert!(
            c["finding"].as_str().unwrap().starts_with("not checked"),
            "{c}"
        );
        assert!(c["fix"].is_null(), "{c}");
    }
    let out = doctor(&env, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("backlog"))
        .unwrap_or_else(|| panic!("no backlog line: {text}"));
    assert!(line.starts_with("- backlog"), "{text}");
    assert!(!line.contains('✓'), "{text}");
    assert!(text.contains("not checked, "), "{text}");
}

#[test]
fn a_binary_off_path_is_told_to_cargo_install() {
    let env = Env::new();
    // PATH without the test binary's directory (nor any other mnemo).
    let out = env
        .command(&["doctor", "--json"])
        .env("PATH", "/usr/bin:/bin")
        .current_dir(&env.project)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let binary = check(&report, "binary");
    assert_eq!(binary["status"], "warn", "{binary}");
    assert!(
        binary["finding"].as_str().unwrap().contains("not on PATH"),
        "{binary}"
    );
    let fix = binary["fix"].as_str().unwrap();
    assert!(fix.contains("cargo install --path crates/mnemo"), "{fix}");
    assert!(!fix.contains("ln -s"), "{fix}");
}
