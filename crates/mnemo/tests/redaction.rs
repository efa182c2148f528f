//! Secrets planted in prompts, commands, file contents and outputs never
//! reach the database, the WAL, the spool or the logs.

use crate::common;

use common::*;
use serde_json::json;

/// (kind, secret) pairs, assembled at run time so no secret-looking literal
/// sits in the repository.
fn corpus() -> Vec<(&'static str, String)> {
    let rep = |s: &str, n: usize| s.repeat(n);
    vec![
        ("aws-access-key", format!("AKIA{}", "Q7ZK3M2P9XW4T6RB")),
        (
            "aws-secret-key",
            format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYzQ8vT3kLm9Np"),
        ),
        (
            "github-token",
            format!("ghp_{}", &rep("aB3dE5fG7h", 4)[..36]),
        ),
        (
            "github-token",
            format!("gho_{}", &rep("Zx9Yw8Vu7T", 4)[..36]),
        ),
        (
            "github-token",
            format!("github_pat_11ABCDEFG0{}", rep("x7Kq2Lm9Pz", 8)),
        ),
        (
            "anthropic-key",
            format!("sk-ant-api03-{}", rep("Qw3rTy7UiOp9AsDf", 6)),
        ),
        ("openai-key", format!("sk-proj-{}", rep("Lk8JhG5fDs2A", 5))),
        (
            "slack-token",
            format!("xoxb-2048{}-{}", "1234567", rep("Ab9Cd8Ef7G", 3)),
        ),
        (
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ{}.{}",
                "1c2VyLTQyIiwiYWRtaW4iOnRydWV9",
                rep("Sf1KxwRJSMeKKF2QT4fw", 2)
            ),
        ),
        (
            "private-key",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA{}\n-----END RSA PRIVATE KEY-----",
                rep("q8Vz3Lk1", 12)
            ),
        ),
        ("url-password", format!("hunter2{}", "Zq9")),
        ("secret-assignment", format!("s3cr3t-{}", "value-8812")),
        ("secret-assignment", format!("tok-{}", "55fa0c1e9b")),
        ("secret-assignment", format!("P@ss{}", "w0rd-9931")),
        ("secret-assignment", format!("key-{}", "a1b2c3d4e5f6")),
        ("secret-file", format!("DOTENV_ONLY_{}", "f00dbabe1234")),
        ("secret-file", format!("PEMBODY{}", "Zm9vYmFyYmF6cXV4")),
    ]
}

#[test]
fn no_planted_secret_reaches_any_file() {
    let env = Env::new();
    let s: Vec<String> = corpus().into_iter().map(|(_, v)| v).collect();
    let url = format!("postgres://app:{}@db.internal:5432/shop", s[10]);

    // Prompts.
    let mut prompt = env.fixture("user_prompt_submit__basic");
    prompt["prompt"] = json!(format!(
        "deploy with AWS key {} and {} please; the db is {url}; gh {} / {}",
        s[0], s[5], s[2], s[3]
    ));
    env.hook(None, &prompt);

    // Commands and their output.
    let mut bash = env.fixture("post_tool_use__bash");
    bash["tool_use_id"] = json!("toolu_secret_bash");
    bash["tool_input"]["command"] = json!(format!(
        "export AWS_SECRET_ACCESS_KEY={} && GITHUB_TOKEN={} OPENAI_API_KEY={} ./deploy.sh",
        s[1], s[4], s[6]
    ));
    bash["tool_response"]["stdout"] = json!(format!(
        "connecting to {url}\nslack: {}\nAuthorization: Bearer {}\nDB_PASSWORD={}\n",
        s[7], s[8], s[13]
    ));
    bash["tool_response"]["stderr"] = json!(format!("warning: key {}", s[9]));
    env.hook(None, &bash);

    // File contents: Write of config, Read of an .env file, Edit of a .pem.
    let mut write = env.fixture("post_tool_use__write");
    write["tool_use_id"] = json!("toolu_secret_write");
    write["tool_input"]["content"] = json!(format!(
        "STRIPE_SECRET={}\nSESSION_TOKEN={}\napi_key: {}\n",
        s[11], s[12], s[14]
    ));
    env.hook(None, &write);

    let mut read = env.fixture("post_tool_use__read");
    read["tool_use_id"] = json!("toolu_secret_read");
    let env_path = format!("{}/.env.production", env.project.display());
    read["tool_input"]["file_path"] = json!(env_path);
    read["tool_response"]["file"]["filePath"] = json!(env_path);
    read["tool_response"]["file"]["content"] = json!(format!("HARMLESS_NAME={}\n", s[15]));
    env.hook(None, &read);

    let mut edit = env.fixture("post_tool_use__edit");
    edit["tool_use_id"] = json!("toolu_secret_edit");
    let pem = format!("{}/certs/server.pem", env.project.display());
    edit["tool_input"]["file_path"] = json!(pem);
    edit["tool_input"]["old_string"] = json!(s[16]);
    edit["tool_input"]["new_string"] = json!(format!("{}X", s[16]));
    edit["tool_response"]["filePath"] = json!(pem);
    edit["tool_response"]["oldString"] = json!(s[16]);
    edit["tool_response"]["newString"] = json!(format!("{}X", s[16]));
    edit["tool_response"]["originalFile"] = json!(s[16]);
    env.hook(None, &edit);

    // Claude's own closing message.
    let mut stop = env.fixture("stop__basic");
    stop["last_assistant_message"] = json!(format!("Done. I used the token {} to push.", s[2]));
    env.hook(None, &stop);

    // A spooled event, too: lock the database so the next one goes to the spool.
    let locked = Env {
        envs: vec![("MNEMO_STORE_BUSY_TIMEOUT_MS".into(), "100".into())],
        ..env
    };
    let locker = locked.db();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut spooled = locked.fixture("post_tool_use_failure__bash");
    spooled["tool_input"]["command"] = json!(format!("curl -H 'x-api-key: {}' {url}", s[5]));
    spooled["error"] = json!(format!("Exit code 1\nbad token {}", s[0]));
    locked.hook(None, &spooled);
    assert_eq!(locked.spool_files(), 1);
    let while_spooled = all_bytes(&locked.home);
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    // Malformed input containing a secret is kept (rejected_inputs) redacted too.
    locked.hook_raw(
        Some("post-tool-use"),
        format!("{{not json {}", s[6]).as_bytes(),
    );

    assert_eq!(locked.count("SELECT count(*) FROM events"), 6);
    let everything = [while_spooled, all_bytes(&locked.home)].concat();
    for (kind, secret) in corpus() {
        assert!(
            !contains(&everything, &secret),
            "{kind} secret {secret:?} found on disk"
        );
    }
    for marker in [
        "[REDACTED:aws-access-key]",
        "[REDACTED:github-token]",
        "[REDACTED:anthropic-key]",
        "[REDACTED:openai-key]",
        "[REDACTED:slack-token]",
        "[REDACTED:jwt]",
        "[REDACTED:private-key]",
        "[REDACTED:secret-file]",
    ] {
        assert!(contains(&everything, marker), "marker {marker} present");
    }
    // What is not secret survives.
    let payloads: String = locked
        .db()
        .prepare("SELECT payload FROM events")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(payloads.contains("./deploy.sh"));
    assert!(
        payloads.contains(".env.production"),
        "the path of a secret file is kept"
    );
    assert!(payloads.contains("db.internal:5432"));
}

#[test]
fn user_patterns_from_config_apply_and_a_bad_one_is_named() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    std::fs::write(
        env.home.join("config.toml"),
        "[privacy.extra_patterns]\nacme_ticket = \"ACME-[0-9]{6}\"\n",
    )
    .unwrap();
    let ticket = format!("ACME-{}", 418_203);
    let mut p = env.fixture("user_prompt_submit__basic");
    p["prompt"] = json!(format!("look at {ticket} before fixing"));
    env.hook(None, &p);
    let text: String = env
        .db()
        .query_row("SELECT text FROM prompts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "look at [REDACTED:acme_ticket] before fixing");

    // An invalid pattern: the hook still records (built-in rules only) and
    // says which key is wrong.
    std::fs::write(
        env.home.join("config.toml"),
        "[privacy.extra_patterns]\nbroken = \"(unclosed\"\n",
    )
    .unwrap();
    let mut p = env.fixture("post_tool_use__bash");
    p["tool_input"]["command"] = json!(format!("echo {}", format!("ghp_{}", "k".repeat(36))));
    let out = env.hook(None, &p);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("privacy.extra_patterns.broken"), "{err}");
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE hook = 'PostToolUse'"),
        1
    );
    assert!(!contains(&all_bytes(&env.home), &"k".repeat(36)));
}
