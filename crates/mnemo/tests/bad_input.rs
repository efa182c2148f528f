//! Malformed, truncated, huge and junk inputs: one stderr line, exit 0,
//! nothing on stdout, and nothing lost that could be kept.

mod common;

use common::*;
use serde_json::json;

fn one_stderr_line(out: &std::process::Output) -> String {
    assert_contract(out);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.lines().count(),
        1,
        "expected one explanatory line, got {err:?}"
    );
    err
}

#[test]
fn malformed_and_truncated_json_are_rejected_and_kept() {
    let env = Env::new();
    let full = env.fixture("post_tool_use__bash").to_string();
    let truncated = &full.as_bytes()[..full.len() / 2];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"this is not json".to_vec()),
        ("truncated", truncated.to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1,2,3]".to_vec()),
        (
            "binary",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
    ];
    for (i, (name, input)) in cases.iter().enumerate() {
        let err = one_stderr_line(&env.hook_raw(Some("post-tool-use"), input));
        assert!(err.starts_with("mnemo: "), "{name}: {err}");
        assert_eq!(
            env.count("SELECT count(*) FROM rejected_inputs"),
            i as i64 + 1,
            "{name} kept for diagnosis"
        );
    }
    assert_eq!(env.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn missing_session_id_is_rejected() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__bash");
    p.as_object_mut().unwrap().remove("session_id");
    let err = one_stderr_line(&env.hook_raw(None, p.to_string().as_bytes()));
    assert!(err.contains("session_id"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM events"), 0);
    assert_eq!(env.count("SELECT count(*) FROM rejected_inputs"), 1);
}

#[test]
fn a_50_mb_tool_response_is_stored_capped() {
    let env = Env::new();
    let mut p = env.fixture("post_tool_use__bash");
    let big = "x".repeat(50 * 1024 * 1024);
    p["tool_response"]["stdout"] = json!(format!("BEGIN-MARK\n{big}\nEND-MARK"));
    let out = env.hook_raw(None, p.to_string().as_bytes());
    assert_contract(&out);
    let payload: String = env
        .db()
        .query_row("SELECT payload FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(
        payload.len() < 300 * 1024,
        "payload capped, got {} bytes",
        payload.len()
    );
    assert!(
        payload.contains("BEGIN-MARK") && payload.contains("END-MARK"),
        "head and tail kept"
    );
    assert!(payload.contains("cut"), "marker says how much was cut");
}

#[test]
fn input_over_the_stdin_cap_leaves_a_stub_event() {
    let env = Env::new().env("MNEMO_CAPTURE_MAX_STDIN_BYTES", "100000");
    let mut p = env.fixture("post_tool_use__bash");
    p["tool_response"]["stdout"] = json!("y".repeat(300_000));
    let out = env.hook_raw(None, p.to_string().as_bytes());
    one_stderr_line(&out);
    let (tool, payload): (Option<String>, String) = env
        .db()
        .query_row("SELECT tool_use_id, payload FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(tool.as_deref(), p["tool_use_id"].as_str());
    assert!(payload.contains("mnemo_input_too_large"));
}

#[test]
fn unknown_events_are_accepted_and_ignored() {
    let env = Env::new();
    let mut p = env.fixture("notification__idle");
    let out = env.hook(None, &p);
    assert!(out.stderr.is_empty());
    p["hook_event_name"] = json!("SomeFutureEvent");
    let out = env.hook(None, &p);
    assert!(out.stderr.is_empty());
    assert!(
        !env.db_path().exists() || env.count("SELECT count(*) FROM events") == 0,
        "nothing stored"
    );
}

#[test]
fn the_disable_variable_makes_hooks_a_no_op() {
    let env = Env::new().env("MNEMO_DISABLE_HOOKS", "1");
    let out = env.hook(None, &env.fixture("user_prompt_submit__basic"));
    assert!(out.stderr.is_empty());
    assert!(!env.home.exists(), "nothing created at all");
}

#[test]
fn an_invalid_config_names_the_key_and_hooks_use_defaults() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[capture]\nmax_field_bytes = \"lots\"\n",
    )
    .unwrap();
    let out = env.hook(None, &env.fixture("user_prompt_submit__basic"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("capture.max_field_bytes"), "{err}");
    assert_eq!(
        env.count("SELECT count(*) FROM prompts"),
        1,
        "still recorded"
    );
    // Interactive commands refuse it instead.
    let out = env.command(&["stats"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("capture.max_field_bytes"));
}

#[test]
fn skipped_tools_and_excluded_projects_are_not_recorded() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        format!(
            "[capture]\nskip_tools = [\"TodoWrite\", \"mcp__*\"]\nexclude_projects = [\"{}/secret-*\"]\n",
            env.tmp.path().display()
        ),
    )
    .unwrap();
    env.hook(None, &env.fixture("post_tool_use__todowrite"));
    env.hook(None, &env.fixture("post_tool_use__mcp"));
    let secret = env.tmp.path().join("secret-client");
    std::fs::create_dir_all(&secret).unwrap();
    let mut p = env.fixture("user_prompt_submit__basic");
    p["cwd"] = json!(secret.to_str().unwrap());
    env.hook(None, &p);
    env.hook(None, &env.fixture("post_tool_use__bash"));
    assert_eq!(
        env.count("SELECT count(*) FROM events"),
        1,
        "only the Bash event"
    );
    assert_eq!(env.count("SELECT count(*) FROM projects"), 1);
}

#[test]
fn environment_overrides_apply() {
    let env = Env::new().env("MNEMO_CAPTURE_MAX_FIELD_BYTES", "2048");
    let mut p = env.fixture("post_tool_use__bash");
    p["tool_response"]["stdout"] = json!("z".repeat(50_000));
    env.hook(None, &p);
    let payload: String = env
        .db()
        .query_row("SELECT payload FROM events", [], |r| r.get(0))
        .unwrap();
    assert!(payload.len() < 8 * 1024, "{} bytes", payload.len());
}
