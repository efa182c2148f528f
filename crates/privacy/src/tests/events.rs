//! Whole hook payloads: secret files, secret keys, every string.

use serde_json::{Value, json};

use super::{alnum, redactor};
use crate::{PrivacyOptions, Redactor};

const M: &str = "[REDACTED:secret-file]";

fn base(tool: &str, input: Value, response: Value) -> Value {
    json!({
        "session_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "transcript_path": "/home/u/.claude/projects/-repo/3f2504e0.jsonl",
        "cwd": "/repo",
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_response": response,
        "tool_use_id": "toolu_01ABCdef",
    })
}

fn text(v: &Value) -> String {
    v.to_string()
}

#[test]
fn read_secret_file() {
    let r = redactor();
    let v = alnum(24, 1);
    let mut p = base(
        "Read",
        json!({"file_path": "/repo/.env"}),
        json!({"type": "text", "file": {
            "filePath": "/repo/.env",
            "content": format!("DB_HOST=localhost\nFOO={v}\n"),
            "numLines": 2, "startLine": 1, "totalLines": 2
        }}),
    );
    let report = r.clean_event(&mut p);
    assert_eq!(p["tool_response"]["file"]["content"], M);
    assert_eq!(p["tool_response"]["file"]["filePath"], "/repo/.env");
    assert_eq!(p["tool_input"]["file_path"], "/repo/.env");
    assert_eq!(p["tool_response"]["type"], "text");
    assert_eq!(p["tool_response"]["file"]["numLines"], 2);
    assert!(!text(&p).contains(&v));
    assert_eq!(report.redactions.get("secret-file"), Some(&1));
}

#[test]
fn write_secret_file() {
    let r = redactor();
    let v = alnum(24, 2);
    let content = format!("FOO={v}\n");
    let mut p = base(
        "Write",
        json!({"file_path": "config/.env.local", "content": content}),
        json!({"type": "create", "filePath": "config/.env.local", "content": content, "structuredPatch": []}),
    );
    r.clean_event(&mut p);
    assert_eq!(p["tool_input"]["content"], M);
    assert_eq!(p["tool_response"]["content"], M);
    assert_eq!(p["tool_input"]["file_path"], "config/.env.local");
    assert!(!text(&p).contains(&v));
}

#[test]
fn edit_secret_file() {
    let r = redactor();
    let old = format!("KEY={}", alnum(20, 3));
    let new = format!("KEY={}", alnum(20, 4));
    let mut p = base(
        "Edit",
        json!({"file_path": "/home/u/.ssh/id_ed25519", "old_string": old, "new_string": new, "replace_all": false}),
        json!({
            "filePath": "/home/u/.ssh/id_ed25519",
            "oldString": old, "newString": new,
            "originalFile": format!("a\n{old}\nb\n"),
            "structuredPatch": [{"oldStart": 1, "oldLines": 3, "newStart": 1, "newLines": 3,
                "lines": [" a", format!("-{old}"), format!("+{new}"), " b"]}],
            "userModified": false, "replaceAll": false
        }),
    );
    r.clean_event(&mut p);
    let t = text(&p);
    assert!(!t.contains(&old[4..]) && !t.contains(&new[4..]), "{t}");
    assert_eq!(p["tool_input"]["old_string"], M);
    assert_eq!(p["tool_input"]["new_string"], M);
    assert_eq!(p["tool_response"]["originalFile"], M);
    assert_eq!(
        p["tool_response"]["structuredPatch"][0]["lines"],
        json!([M])
    );
    assert_eq!(p["tool_response"]["structuredPatch"][0]["oldStart"], 1);
    assert_eq!(p["tool_input"]["replace_all"], false);
}

#[test]
fn multiedit_secret_file() {
    let r = redactor();
    let a = alnum(20, 5);
    let mut p = base(
        "MultiEdit",
        json!({"file_path": "certs/server.pem", "edits": [
            {"old_string": format!("x{a}"), "new_string": "y"},
            {"old_string": "p", "new_string": format!("q{a}"), "replace_all": true}
        ]}),
        json!({"filePath": "certs/server.pem"}),
    );
    r.clean_event(&mut p);
    assert!(!text(&p).contains(&a));
    assert_eq!(p["tool_input"]["edits"][0]["old_string"], M);
    assert_eq!(p["tool_input"]["edits"][1]["new_string"], M);
    assert_eq!(p["tool_input"]["edits"][1]["replace_all"], true);
}

#[test]
fn bash_reading_secret_file() {
    let r = redactor();
    let v = alnum(24, 6);
    for cmd in [
        "cat .env",
        "head -5 config/.env.local",
        "less ~/.ssh/id_rsa",
        "cat ~/.aws/credentials | grep default",
    ] {
        let mut p = base(
            "Bash",
            json!({"command": cmd, "description": "show file"}),
            json!({"stdout": format!("X={v}\n"), "stderr": format!("warn {v}"), "interrupted": false, "isImage": false}),
        );
        r.clean_event(&mut p);
        assert_eq!(p["tool_response"]["stdout"], M, "{cmd}");
        assert_eq!(p["tool_response"]["stderr"], M, "{cmd}");
        assert_eq!(p["tool_input"]["command"], cmd);
        assert_eq!(p["tool_response"]["interrupted"], false);
    }
    // A public key and unrelated commands keep their output.
    for cmd in ["cat ~/.ssh/id_rsa.pub", "ls -la", "cargo test"] {
        let mut p = base(
            "Bash",
            json!({"command": cmd}),
            json!({"stdout": "ok", "stderr": ""}),
        );
        r.clean_event(&mut p);
        assert_eq!(p["tool_response"]["stdout"], "ok", "{cmd}");
    }
    // Empty output stays empty (nothing to hide).
    let mut p = base(
        "Bash",
        json!({"command": "cat .env"}),
        json!({"stdout": "", "stderr": ""}),
    );
    let report = r.clean_event(&mut p);
    assert_eq!(p["tool_response"]["stdout"], "");
    assert!(report.redactions.is_empty());
}

#[test]
fn grep_output_lines() {
    let r = redactor();
    let v = alnum(24, 7);
    let content = format!(
        "src/main.rs:12:let key = load();\nconfig/.env:3:FOO={v}\n./.env.local:1:BAR={v}\nREADME.md:4:see .env"
    );
    let mut p = base(
        "Grep",
        json!({"pattern": "FOO|BAR|key", "path": "/repo", "output_mode": "content", "-n": true}),
        json!({"mode": "content", "numFiles": 3, "filenames": [], "content": content, "numLines": 4}),
    );
    r.clean_event(&mut p);
    let c = p["tool_response"]["content"].as_str().unwrap();
    assert!(!c.contains(&v), "{c}");
    assert!(c.contains("src/main.rs:12:let key = load();"));
    assert!(c.contains("config/.env:3:[REDACTED:secret-file]"));
    assert!(c.contains("./.env.local:1:[REDACTED:secret-file]"));
    assert!(c.contains("README.md:4:see .env"));
    // Grep aimed at a secret file: the output has no path prefixes.
    let mut p = base(
        "Grep",
        json!({"pattern": "FOO", "path": "config/.env", "output_mode": "content"}),
        json!({"mode": "content", "content": format!("3:FOO={v}"), "filenames": []}),
    );
    r.clean_event(&mut p);
    assert_eq!(p["tool_response"]["content"], M);
    assert_eq!(p["tool_input"]["pattern"], "FOO");
}

#[test]
fn ordinary_edit_only_loses_secrets() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 8));
    let old = "fn main() {\n    println!(\"hi\");\n}\n".to_string();
    let new = format!("fn main() {{\n    let t = \"{gh}\";\n}}\n");
    let mut p = base(
        "Edit",
        json!({"file_path": "/repo/src/main.rs", "old_string": old, "new_string": new}),
        json!({"filePath": "/repo/src/main.rs", "oldString": old, "newString": new,
               "originalFile": old, "structuredPatch": [{"lines": [format!("+    let t = \"{gh}\";")]}]}),
    );
    let report = r.clean_event(&mut p);
    assert!(!text(&p).contains(&gh));
    assert_eq!(p["tool_input"]["old_string"], old);
    assert_eq!(
        p["tool_input"]["new_string"],
        "fn main() {\n    let t = \"[REDACTED:github-token]\";\n}\n"
    );
    assert_eq!(report.redactions.get("github-token"), Some(&3));
}

#[test]
fn secret_keys_in_json() {
    let r = redactor();
    let v = alnum(16, 9);
    let mut p = json!({
        "tool_name": "mcp__svc__call",
        "tool_input": {"api_key": v, "query": "hello", "auth": {"password": v, "user": "bob"},
                       "headers": [{"X-Api-Key": v}], "credentials": {"id": "x", "k": v},
                       "max_tokens": 100, "token_budget": "5"},
        "tool_response": "ok"
    });
    let report = r.clean_event(&mut p);
    assert!(!text(&p).contains(&v));
    assert_eq!(p["tool_input"]["query"], "hello");
    assert_eq!(p["tool_input"]["auth"]["user"], "bob");
    assert_eq!(p["tool_input"]["max_tokens"], 100);
    assert_eq!(p["tool_input"]["token_budget"], "5");
    assert_eq!(p["tool_input"]["api_key"], "[REDACTED:secret-assignment]");
    assert!(report.redactions["secret-assignment"] >= 4);
}

#[test]
fn prompts_and_nested_arrays() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 10));
    let mut p = json!({
        "hook_event_name": "UserPromptSubmit",
        "prompt": format!("<private>{gh}</private>"),
        "deep": [[["x", format!("token {gh}")]], {"a": [gh.clone()]}]
    });
    let report = r.clean_event(&mut p);
    assert_eq!(p["prompt"], "");
    assert_eq!(report.private_spans, 1);
    assert!(!text(&p).contains(&gh));
    assert_eq!(p["deep"][0][0][0], "x");
}

#[test]
fn user_secret_files() {
    let r = Redactor::new(&PrivacyOptions {
        secret_files: vec!["secrets.yaml".into(), "*.kdbx".into()],
        ..PrivacyOptions::default()
    })
    .unwrap();
    let mut p = base(
        "Read",
        json!({"file_path": "deploy/secrets.yaml"}),
        json!({"type": "text", "file": {"filePath": "deploy/secrets.yaml", "content": "db: x"}}),
    );
    r.clean_event(&mut p);
    assert_eq!(p["tool_response"]["file"]["content"], M);
    assert!(r.is_secret_file("/x/vault.kdbx"));
    assert!(r.is_secret_file(".env"));
}

#[test]
fn secret_used_as_an_object_key() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 40));
    let mut p = base(
        "mcp__tracker__save",
        json!({"tokens": {gh.clone(): {"scope": "repo"}, "other": 1}}),
        json!({"ok": true}),
    );
    let report = r.clean_event(&mut p);
    assert!(!text(&p).contains(&gh), "{p}");
    assert_eq!(
        p["tool_input"]["tokens"]["[REDACTED:github-token]"]["scope"],
        "repo"
    );
    assert_eq!(p["tool_input"]["tokens"]["other"], 1);
    assert_eq!(report.redactions.get("github-token"), Some(&1));
}

#[test]
fn commands_that_print_a_secret_lose_their_output() {
    let r = redactor();
    let v = alnum(40, 41);
    for command in [
        "heroku auth:token",
        "gh auth token",
        "aws ecr get-login-password --region eu-west-1",
        "vault kv get secret/shop/db",
        "kubectl get secret db -o jsonpath='{.data.password}' | base64 -d",
        "echo $STRIPE_API_KEY",
        "printenv GITHUB_TOKEN",
        "gcloud auth print-access-token",
    ] {
        let mut p = base(
            "Bash",
            json!({"command": command, "description": "x"}),
            json!({"stdout": format!("{v}\n"), "stderr": "", "interrupted": false}),
        );
        let report = r.clean_event(&mut p);
        assert!(!text(&p).contains(&v), "{command}: {p}");
        assert_eq!(p["tool_input"]["command"], command);
        assert_eq!(
            report.redactions.get("secret-output"),
            Some(&1),
            "{command}"
        );
    }
    // Ordinary commands keep their output.
    let mut p = base(
        "Bash",
        json!({"command": "echo $HOME && gh pr list", "description": "x"}),
        json!({"stdout": "/home/u\n#12 fix build\n", "stderr": "", "interrupted": false}),
    );
    r.clean_event(&mut p);
    assert_eq!(p["tool_response"]["stdout"], "/home/u\n#12 fix build\n");
}

#[test]
fn random_keys_of_an_object_of_secrets() {
    let r = redactor();
    let key = format!("{}{}", "29bb", "b0d756f5a87cd30ab236830392e426b46f0c");
    let mut p = base(
        "mcp__config__write",
        json!({"api_keys": {key.clone(): "partner-acme", "note": "x"}}),
        json!({"ok": true}),
    );
    r.clean_event(&mut p);
    assert!(!text(&p).contains(&key), "{p}");
    assert_eq!(p["tool_input"]["api_keys"]["note"], "x");
}

#[test]
fn secrets_over_the_lines_of_a_patch() {
    let r = redactor();
    let body: Vec<String> = (0..4).map(|i| alnum(64, 50 + i)).collect();
    let a = alnum(40, 60);
    let b = alnum(40, 61);
    let text = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\nAPI_KEY = (\n    \"{a}\"\n    \"{b}\"\n)\n",
        body.join("\n")
    );
    let lines: Vec<String> = text.lines().map(|l| format!("-{l}")).collect();
    let mut p = base(
        "Edit",
        json!({"file_path": "/repo/notes.txt", "old_string": "x", "new_string": "y"}),
        json!({"filePath": "/repo/notes.txt", "structuredPatch": [{"oldStart": 1, "lines": lines}]}),
    );
    r.clean_event(&mut p);
    let out = text_of(&p);
    for secret in body.iter().chain([&a, &b]) {
        assert!(!out.contains(secret.as_str()), "{out}");
    }
    let kept = &p["tool_response"]["structuredPatch"][0]["lines"];
    assert_eq!(kept.as_array().map(Vec::len), Some(lines.len()));
    assert_eq!(kept[lines.len() - 1], "-)");
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

#[test]
fn names_on_another_line_of_a_patch() {
    let r = redactor();
    let v = alnum(36, 62);
    let lines = vec![
        "-machine api.example.com".to_string(),
        "-  login ops@example.com".to_string(),
        format!("-  password {v}"),
    ];
    let mut p = base(
        "Edit",
        json!({"file_path": "/home/u/notes.txt", "old_string": "x", "new_string": "y"}),
        json!({"filePath": "/home/u/notes.txt", "structuredPatch": [{"lines": lines}]}),
    );
    r.clean_event(&mut p);
    assert!(!text_of(&p).contains(&v), "{p}");
    assert_eq!(
        p["tool_response"]["structuredPatch"][0]["lines"][1],
        "-  login ops@example.com"
    );
}

#[test]
fn name_value_objects() {
    let r = redactor();
    let v = alnum(32, 63);
    let mut p = base(
        "mcp__config__apply",
        json!({"settings": [
            {"name": "prod", "values": [{"key": "apiKey", "value": v.clone(), "enabled": true}]},
            [{"keyName": "key1", "permissions": "FULL", "value": format!("{v}==")}],
            {"name": "DB_PASSWORD", "value": "hunter2!x"},
            {"key": "theme", "value": "dark"}
        ]}),
        json!({"ok": true}),
    );
    r.clean_event(&mut p);
    let out = text_of(&p);
    assert!(!out.contains(&v) && !out.contains("hunter2!x"), "{out}");
    assert_eq!(p["tool_input"]["settings"][3]["value"], "dark");
}

#[test]
fn a_list_of_texts_is_not_read_as_lines() {
    // A list whose items are whole texts: the end of one (a command that
    // prints a secret) must not run into the next.
    let mut v = json!({"tool_name": "mcp__cfg__apply", "tool_input": {"items": [
        "$ gh auth token\nxyz",
        "docker build --build-arg VERSION=1.4.0 -t api .",
    ]}});
    redactor().clean_event(&mut v);
    assert_eq!(
        v["tool_input"]["items"][1],
        "docker build --build-arg VERSION=1.4.0 -t api ."
    );
}
