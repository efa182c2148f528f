//! `mnemo install` / `mnemo uninstall` against fixture settings files, with
//! HOME pointed at a throwaway directory.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{BIN, Env};
use serde_json::{Value, json};

struct Home {
    env: Env,
}

impl Home {
    fn new() -> Home {
        Home { env: Env::new() }
    }
    fn home(&self) -> &Path {
        self.env.tmp.path()
    }
    fn settings(&self) -> PathBuf {
        self.home().join(".claude/settings.json")
    }
    fn claude_json(&self) -> PathBuf {
        self.home().join(".claude.json")
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.env.project, args)
    }
    fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.env
            .command(args)
            .current_dir(dir)
            .output()
            .expect("run mnemo")
    }
    fn ok(&self, args: &[&str]) -> String {
        self.ok_in(&self.env.project, args)
    }
    fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run_in(dir, args);
        assert!(
            out.status.success(),
            "mnemo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    fn backups(&self, path: &Path) -> usize {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter(|e| {
                let n = e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                n.starts_with(&format!("{name}.bak-"))
            })
            .count()
    }
}

fn exe() -> String {
    Path::new(BIN)
        .canonicalize()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The `hooks` object `mnemo install` writes into an empty settings file.
fn mnemo_hooks() -> Value {
    let e = exe();
    let h = |arg: &str, matcher: Option<&str>, background: bool, timeout: u64| {
        let mut handler = json!({"type": "command", "command": e, "args": ["hook", arg]});
        if background {
            handler["async"] = json!(true);
        }
        handler["timeout"] = json!(timeout);
        let mut group = json!({});
        if let Some(m) = matcher {
            group["matcher"] = json!(m);
        }
        group["hooks"] = json!([handler]);
        json!([group])
    };
    json!({
        "SessionStart": h("session-start", None, false, 30),
        "UserPromptSubmit": h("user-prompt-submit", None, false, 15),
        "PreToolUse": h("pre-tool-use", Some("Read"), false, 10),
        "PostToolUse": h("post-tool-use", Some("*"), true, 30),
        "PostToolUseFailure": h("post-tool-use-failure", Some("*"), true, 30),
        "Stop": h("stop", None, false, 60),
        "StopFailure": h("stop-failure", None, false, 60),
        "SubagentStop": h("subagent-stop", None, true, 60),
        "PreCompact": h("pre-compact", None, true, 60),
        "SessionEnd": h("session-end", None, false, 10),
    })
}

fn server() -> Value {
    json!({"type": "stdio", "command": exe(), "args": ["mcp"]})
}

#[test]
fn missing_files_are_created_and_uninstall_removes_them() {
    let h = Home::new();
    let out = h.ok(&["install"]);
    assert!(out.contains("added hook SessionStart"), "{out}");
    assert!(out.contains("added MCP server mnemo"), "{out}");
    let settings: Value = serde_json::from_str(&read(&h.settings())).unwrap();
    assert_eq!(settings, json!({"hooks": mnemo_hooks()}));
    let claude: Value = serde_json::from_str(&read(&h.claude_json())).unwrap();
    assert_eq!(claude, json!({"mcpServers": {"mnemo": server()}}));
    // Two-space pretty printing, key order as written, trailing newline.
    let text = read(&h.settings());
    assert!(
        text.starts_with("{\n  \"hooks\": {\n    \"SessionStart\": ["),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(h.backups(&h.settings()), 0, "nothing to back up");

    let again = h.ok(&["install"]);
    assert!(again.contains("nothing to change"), "{again}");

    let out = h.ok(&["uninstall"]);
    assert!(out.contains("removed hook Stop"), "{out}");
    assert!(out.contains("removed MCP server mnemo"), "{out}");
    assert!(!h.settings().exists());
    assert!(!h.claude_json().exists());
    assert!(h.ok(&["uninstall"]).contains("nothing to change"));
}

#[test]
fn empty_file_gets_the_hooks() {
    let h = Home::new();
    h.write(&h.settings(), "");
    h.ok(&["install"]);
    let settings: Value = serde_json::from_str(&read(&h.settings())).unwrap();
    assert_eq!(settings, json!({"hooks": mnemo_hooks()}));
    assert_eq!(h.backups(&h.settings()), 1);
}

const OTHERS: &str = r#"{
  "model": "opus",
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [
          {
            "type": "command",
            "command": "prettier --write"
          }
        ]
      }
    ],
    "Notification": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send claude"
          }
        ]
      }
    ]
  },
  "permissions": {
    "allow": [
      "Bash(git status)"
    ]
  }
}
"#;

const OTHER_SERVERS: &str = r#"{
  "numStartups": 12,
  "mcpServers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-github"
      ],
      "env": {}
    }
  },
  "projects": {}
}
"#;

#[test]
fn merges_with_other_hooks_and_servers_and_round_trips() {
    let h = Home::new();
    h.write(&h.settings(), OTHERS);
    h.write(&h.claude_json(), OTHER_SERVERS);
    h.ok(&["install"]);

    let settings = read(&h.settings());
    // Other keys keep their place; mnemo's events are appended.
    let keys: Vec<_> = ["\"model\"", "\"hooks\"", "\"permissions\""]
        .iter()
        .map(|k| settings.find(k).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{settings}");
    let v: Value = serde_json::from_str(&settings).unwrap();
    let mut hooks = mnemo_hooks();
    let theirs: Value = serde_json::from_str(OTHERS).unwrap();
    let post = hooks["PostToolUse"][0].clone();
    hooks["PostToolUse"] = json!([theirs["hooks"]["PostToolUse"][0], post]);
    hooks["Notification"] = theirs["hooks"]["Notification"].clone();
    assert_eq!(v["hooks"], hooks);
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"], theirs["permissions"]);
    // Their events first, in their order, then mnemo's.
    let at = |k: &str| settings.find(&format!("\"{k}\": [")).unwrap();
    assert!(at("PostToolUse") < at("Notification") && at("Notification") < at("SessionStart"));

    let claude: Value = serde_json::from_str(&read(&h.claude_json())).unwrap();
    let mut expected: Value = serde_json::from_str(OTHER_SERVERS).unwrap();
    expected["mcpServers"]["mnemo"] = server();
    assert_eq!(claude, expected);
    assert_eq!(h.backups(&h.settings()), 1);
    assert_eq!(h.backups(&h.claude_json()), 1);

    // Idempotent: the bytes do not change and no new backup is made.
    let (s1, c1) = (read(&h.settings()), read(&h.claude_json()));
    assert!(h.ok(&["install"]).contains("nothing to change"));
    assert_eq!(read(&h.settings()), s1);
    assert_eq!(read(&h.claude_json()), c1);
    assert_eq!(h.backups(&h.settings()), 1);

    h.ok(&["uninstall"]);
    assert_eq!(read(&h.settings()), OTHERS);
    assert_eq!(read(&h.claude_json()), OTHER_SERVERS);
}

#[test]
fn old_entries_are_updated_in_place_not_duplicated() {
    let h = Home::new();
    let old = r#"{
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "/opt/old/bin/mnemo",
            "args": ["hook", "stop"]
          }
        ]
      }
    ],
    "PostToolUse": [
      {
        "matcher": "*",
        "hooks": [
          {
            "type": "command",
            "command": "/usr/local/bin/mnemo hook post-tool-use"
          }
        ]
      }
    ]
  }
}"#;
    h.write(&h.settings(), old);
    let out = h.ok(&["install"]);
    assert!(out.contains("updated hook Stop"), "{out}");
    assert!(out.contains("updated hook PostToolUse"), "{out}");
    let v: Value = serde_json::from_str(&read(&h.settings())).unwrap();
    let expected = mnemo_hooks();
    assert_eq!(v["hooks"]["Stop"], expected["Stop"]);
    assert_eq!(v["hooks"]["PostToolUse"], expected["PostToolUse"]);
    assert_eq!(v["hooks"].as_object().unwrap().len(), 10);
    // The file had no trailing newline; it still has none.
    assert!(!read(&h.settings()).ends_with('\n'));
}

#[test]
fn the_formatting_of_other_keys_is_kept() {
    let h = Home::new();
    let odd = "{\"b\":1,   \"a\" : {\"z\":[1,2,{\"y\":null}],\"x\":true} ,\"hooks\":{}}\n";
    h.write(&h.settings(), odd);
    h.ok(&["install"]);
    let text = read(&h.settings());
    assert!(
        text.starts_with(
            "{\"b\":1,   \"a\" : {\"z\":[1,2,{\"y\":null}],\"x\":true} ,\"hooks\":{\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("}\n"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["a"], json!({"z": [1, 2, {"y": null}], "x": true}));
    assert_eq!(v["hooks"], mnemo_hooks());
    h.ok(&["uninstall"]);
    // An emptied `hooks` goes with mnemo's entries, and the rest is the
    // person's text as it was.
    assert_eq!(
        read(&h.settings()),
        "{\"b\":1,   \"a\" : {\"z\":[1,2,{\"y\":null}],\"x\":true}}\n"
    );

    // Four-space indentation: kept, and mnemo's members follow it.
    let h = Home::new();
    let indented = "{\n    \"model\": \"opus\",\n    \"env\": {\"A\": \"1\"}\n}\n";
    h.write(&h.settings(), indented);
    h.ok(&["install"]);
    let text = read(&h.settings());
    assert!(
        text.starts_with(
            "{\n    \"model\": \"opus\",\n    \"env\": {\"A\": \"1\"},\n    \"hooks\": {\n"
        ),
        "{text}"
    );
    h.ok(&["uninstall"]);
    assert_eq!(read(&h.settings()), indented);
}

#[test]
fn unparsable_or_commented_settings_are_refused() {
    for bad in [
        "{\"hooks\": {,}}",
        "{\n  // a comment\n  \"model\": \"opus\"\n}\n",
        "[1, 2]",
    ] {
        let h = Home::new();
        h.write(&h.settings(), bad);
        let out = h.run(&["install"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(".claude/settings.json"), "{err}");
        if !bad.starts_with('[') {
            assert!(err.contains("line "), "{err}");
        }
        assert_eq!(read(&h.settings()), bad);
        assert!(!h.claude_json().exists(), "nothing written");
        assert_eq!(h.backups(&h.settings()), 0);
    }
}

#[test]
fn dry_run_shows_a_diff_and_writes_nothing() {
    let h = Home::new();
    h.write(&h.settings(), OTHERS);
    let out = h.ok(&["install", "--dry-run"]);
    assert!(
        out.contains(&format!("--- {}", h.settings().display())),
        "{out}"
    );
    assert!(out.contains("+    \"SessionStart\": ["), "{out}");
    assert!(
        out.contains("             \"command\": \"prettier --write\""),
        "{out}"
    );
    assert!(out.contains("--- /dev/null"), "{out}");
    assert!(out.contains("+  \"mcpServers\": {"), "{out}");
    assert_eq!(read(&h.settings()), OTHERS);
    assert!(!h.claude_json().exists());
    assert_eq!(h.backups(&h.settings()), 0);

    h.ok(&["install"]);
    let before = read(&h.settings());
    let out = h.ok(&["uninstall", "--dry-run"]);
    assert!(out.contains("-    \"SessionStart\": ["), "{out}");
    assert_eq!(read(&h.settings()), before);
}

#[test]
fn project_scope_writes_the_repository_files() {
    let h = Home::new();
    let sub = h.env.project.join("shop");
    h.ok_in(&sub, &["install", "--project"]);
    let settings = h.env.project.join(".claude/settings.json");
    let v: Value = serde_json::from_str(&read(&settings)).unwrap();
    assert_eq!(v, json!({"hooks": mnemo_hooks()}));
    let mcp: Value = serde_json::from_str(&read(&h.env.project.join(".mcp.json"))).unwrap();
    assert_eq!(mcp, json!({"mcpServers": {"mnemo": server()}}));
    assert!(!h.settings().exists(), "user settings untouched");
    assert!(!h.claude_json().exists());

    h.ok_in(&sub, &["uninstall", "--project"]);
    assert!(!settings.exists());
    assert!(!h.env.project.join(".mcp.json").exists());
}

#[test]
fn duplicates_and_shared_groups_are_sorted_out() {
    let h = Home::new();
    let e = exe();
    let mine = |arg: &str| json!({"type": "command", "command": e, "args": ["hook", arg]});
    let other = json!({"type": "command", "command": "audit-log"});
    let before = json!({"hooks": {
        // mnemo's Read hook shares a catch-all group with someone else's.
        "PreToolUse": [{"matcher": "*", "hooks": [other, mine("pre-tool-use")]}],
        // Registered twice.
        "Stop": [{"hooks": [mine("stop")]}, {"hooks": [mine("stop")]}],
        // Alone in a group with the wrong matcher: the matcher is fixed.
        "SessionStart": [{"matcher": "startup", "hooks": [mine("session-start")]}],
        // An event mnemo no longer uses.
        "Notification": [{"hooks": [mine("notification")]}],
    }});
    h.write(
        &h.settings(),
        &serde_json::to_string_pretty(&before).unwrap(),
    );
    let out = h.ok(&["install"]);
    assert!(out.contains("removed duplicate hook Stop"), "{out}");
    assert!(out.contains("removed hook Notification"), "{out}");
    let v: Value = serde_json::from_str(&read(&h.settings())).unwrap();
    let expected = mnemo_hooks();
    assert_eq!(
        v["hooks"]["PreToolUse"],
        json!([{"matcher": "*", "hooks": [other]}, expected["PreToolUse"][0]])
    );
    assert_eq!(v["hooks"]["Stop"], expected["Stop"]);
    assert_eq!(v["hooks"]["SessionStart"], expected["SessionStart"]);
    assert!(v["hooks"].get("Notification").is_none());
    assert!(h.ok(&["install"]).contains("nothing to change"));
}

#[test]
fn hooks_that_are_not_an_object_are_refused() {
    let h = Home::new();
    h.write(&h.settings(), "{\"hooks\": []}\n");
    let out = h.run(&["install"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"hooks\" in ") && err.contains("settings.json"),
        "{err}"
    );
    assert_eq!(read(&h.settings()), "{\"hooks\": []}\n");
    assert!(!h.claude_json().exists());
}

#[test]
fn file_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    h.write(&h.claude_json(), OTHER_SERVERS);
    std::fs::set_permissions(h.claude_json(), std::fs::Permissions::from_mode(0o644)).unwrap();
    h.ok(&["install"]);
    let mode = std::fs::metadata(h.claude_json())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn claude_json_as_claude_code_writes_it_round_trips() {
    // JSON.stringify(value, null, 2): no trailing newline, non-ASCII kept,
    // control characters as lowercase \u escapes, empty containers inline.
    let original = "{\n  \"numStartups\": 3,\n  \"tipsHistory\": {},\n  \"note\": \"café — naïve \\u001b \\\"q\\\" \\\\ /\",\n  \"ratio\": 0.25,\n  \"projects\": {\n    \"/home/u/app\": {\n      \"allowedTools\": [],\n      \"mcpServers\": {}\n    }\n  }\n}";
    let h = Home::new();
    h.write(&h.claude_json(), original);
    h.ok(&["install"]);
    let installed = read(&h.claude_json());
    assert!(
        installed.starts_with(&original[..original.len() - 2]),
        "{installed}"
    );
    assert!(!installed.ends_with('\n'));
    h.ok(&["uninstall"]);
    assert_eq!(read(&h.claude_json()), original);
}

#[test]
fn a_binary_cargo_clean_would_delete_is_warned_about() {
    let h = Home::new();
    // The test binary is cargo's build output (target/debug).
    let out = h.run(&["install"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cargo clean"), "{err}");
    assert!(err.contains("cargo install --path crates/mnemo"), "{err}");
    assert!(err.contains(&exe()), "{err}");
    assert!(
        h.settings().exists(),
        "the warning does not stop the install"
    );

    // The same binary outside a cargo profile directory: no warning.
    let bin = h.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kept = bin.join("mnemo");
    std::fs::hard_link(BIN, &kept)
        .or_else(|_| std::fs::copy(BIN, &kept).map(|_| ()))
        .unwrap();
    let out = std::process::Command::new(&kept)
        .arg("install")
        .env("HOME", h.home())
        .env("MNEMO_HOME", &h.env.home)
        .current_dir(&h.env.project)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let kept = kept.canonicalize().unwrap();
    assert!(
        read(&h.settings()).contains(&format!("\"{}\"", kept.display())),
        "hooks now run the kept copy"
    );
    // Taking mnemo out needs no warning either way.
    let out = h.run(&["uninstall"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn dry_run_diff_shows_only_what_install_changes() {
    let h = Home::new();
    // Compact, on one line, and four-space indented: neither is install's
    // own formatting, and neither shows up in the diff.
    let compact = r#"{"model":"opus","permissions":{"allow":["Bash(ls)"]},"env":{"A":"1"}}"#;
    let indented = "{\n    \"model\": \"opus\",\n    \"permissions\": {\n        \"allow\": [\"Bash(ls)\"]\n    },\n    \"env\": {\"A\": \"1\"}\n}\n";
    for text in [compact, indented] {
        h.write(&h.settings(), text);
        let out = h.ok(&["install", "--dry-run"]);
        let settings_diff: Vec<&str> = out
            .split(&format!("--- {}", h.claude_json().display()))
            .next()
            .unwrap()
            .lines()
            .skip(2) // the --- and +++ lines
            .collect();
        let changed: Vec<&&str> = settings_diff
            .iter()
            .filter(|l| l.starts_with('-') || l.starts_with('+'))
            .collect();
        assert!(
            changed.iter().any(|l| l.contains("\"SessionStart\"")),
            "{out}"
        );
        for line in &changed {
            for unrelated in ["model", "permissions", "allow", "Bash(ls)", "\"A\""] {
                assert!(!line.contains(unrelated), "{line:?} in\n{out}");
            }
        }
        let removed = changed.iter().filter(|l| l.starts_with('-')).count();
        assert!(
            removed <= 1,
            "at most the closing brace gains a comma:\n{out}"
        );
        assert_eq!(read(&h.settings()), text, "a dry run writes nothing");
    }
}

#[test]
fn windows_style_entries_are_mnemo_for_install_and_doctor_alike() {
    let h = Home::new();
    let program = r"C:\Users\dev\.cargo\bin\mnemo.exe";
    let mut hooks = serde_json::Map::new();
    for (event, registration) in mnemo_agent::claude_code::event::registered() {
        let mut group = json!({"hooks": [{"type": "command", "command": program, "args": ["hook", event.hook_arg()]}]});
        if let Some(matcher) = registration.matcher {
            group["matcher"] = json!(matcher);
        }
        hooks.insert(event.name().to_string(), json!([group]));
    }
    h.write(
        &h.settings(),
        &json!({"model": "opus", "hooks": hooks}).to_string(),
    );
    // Doctor sees them as mnemo's hooks, run by another binary.
    let out = h.ok(&["doctor", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let hooks_check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hooks")
        .unwrap()
        .clone();
    assert_eq!(hooks_check["status"], "warn", "{hooks_check}");
    let finding = hooks_check["finding"].as_str().unwrap();
    assert!(finding.contains("mnemo.exe"), "{finding}");
    assert!(!finding.contains("no mnemo hooks"), "{finding}");
    // Install takes the same entries for its own and removes them.
    h.ok(&["uninstall"]);
    let v: Value = serde_json::from_str(&read(&h.settings())).unwrap();
    assert_eq!(v, json!({"model": "opus"}));
}
