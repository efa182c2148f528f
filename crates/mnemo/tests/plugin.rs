//! The plugin marketplace files: the fields Claude Code requires, paths that
//! exist, and the same hooks and MCP server as `mnemo install`, run through
//! the plugin's launcher (`plugin/bin/mnemo`) instead of an absolute path.

use crate::common;

use std::path::{Path, PathBuf};

use common::Env;
use mnemo_agent::claude_code::{HookEvent, event};
use serde_json::{Value, json};

/// What the plugin's hooks and MCP server run: its launcher.
const LAUNCHER: &str = "${CLAUDE_PLUGIN_ROOT}/bin/mnemo";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A non-empty string in kebab-case, as plugin and marketplace names must be.
fn kebab(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

#[test]
fn marketplace_lists_the_plugin() {
    let market = load(&root().join(".claude-plugin/marketplace.json"));
    assert!(kebab(&market["name"]), "marketplace name");
    assert!(
        market["owner"]["name"].is_string(),
        "owner.name is required"
    );
    let plugins = market["plugins"].as_array().expect("plugins is an array");
    assert_eq!(plugins.len(), 1);
    let entry = &plugins[0];
    assert!(kebab(&entry["name"]));
    let source = entry["source"].as_str().expect("a relative source");
    assert!(source.starts_with("./"), "relative sources start with ./");
    let dir = root().join(source);
    let manifest = load(&dir.join(".claude-plugin/plugin.json"));
    assert_eq!(manifest["name"], entry["name"], "names agree");
    assert_eq!(manifest["version"], entry["version"]);
    assert_eq!(
        manifest["version"].as_str(),
        Some(env!("CARGO_PKG_VERSION")),
        "the plugin's version is the binary's"
    );
    // Components sit at the plugin root, not inside .claude-plugin/.
    for path in [
        "hooks/hooks.json",
        ".mcp.json",
        "skills/mem-search/SKILL.md",
        "bin/mnemo",
        "libexec/install-binary",
    ] {
        assert!(dir.join(path).is_file(), "{path}");
    }
    // The launcher installs the binary of the plugin's own version.
    let launcher = std::fs::read_to_string(dir.join("bin/mnemo")).unwrap();
    let line = format!("version={}", env!("CARGO_PKG_VERSION"));
    assert!(
        launcher.lines().any(|l| l == line),
        "plugin/bin/mnemo sets {line}"
    );
    for script in ["bin/mnemo", "libexec/install-binary"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(script))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{script} is executable");
    }
}

#[test]
fn plugin_hooks_are_the_installed_hooks() {
    let dir = root().join("plugin");
    let plugin = load(&dir.join("hooks/hooks.json"));
    assert!(plugin["description"].is_string());

    let env = Env::new();
    let out = env.command(&["install"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = load(&env.tmp.path().join(".claude/settings.json"));
    let mut expected = installed["hooks"].clone();
    for groups in expected.as_object_mut().unwrap().values_mut() {
        for group in groups.as_array_mut().unwrap() {
            for handler in group["hooks"].as_array_mut().unwrap() {
                handler["command"] = json!(LAUNCHER);
            }
        }
    }
    assert_eq!(plugin["hooks"], expected);
    // Byte for byte too, so the events are in install's order: the plugin
    // file is install's settings file with a description line and the
    // launcher.
    let plugin_text = std::fs::read_to_string(dir.join("hooks/hooks.json")).unwrap();
    let without_description: String = plugin_text
        .lines()
        .filter(|line| !line.starts_with("  \"description\": "))
        .map(|line| format!("{line}\n"))
        .collect();
    let exe = std::fs::canonicalize(common::BIN).unwrap();
    let exe = exe.to_str().unwrap();
    let installed_text = std::fs::read_to_string(env.tmp.path().join(".claude/settings.json"))
        .unwrap()
        .replace(&format!("\"{exe}\""), &format!("\"{LAUNCHER}\""));
    assert_eq!(without_description, installed_text);

    let mcp = load(&dir.join(".mcp.json"));
    let installed = load(&env.tmp.path().join(".claude.json"));
    let mut server = installed["mcpServers"]["mnemo"].clone();
    server["command"] = json!(LAUNCHER);
    assert_eq!(mcp, json!({"mcpServers": {"mnemo": server}}));
}

/// Doctor's `hooks` check with `settings` in `file`.
fn doctor_hooks(env: &Env, file: &Path, settings: &Value) -> Value {
    std::fs::write(file, settings.to_string()).unwrap();
    env.doctor_check("hooks")
}

/// The roles table, the plugin's hooks file, what install writes and what
/// doctor expects name the same events, registered the same way.
#[test]
fn hooks_agree_with_the_roles_install_and_doctor() {
    let plugin = load(&root().join("plugin/hooks/hooks.json"));
    let hooks = plugin["hooks"].as_object().unwrap();
    let registered: Vec<_> = event::registered().collect();
    // (In the same order too: `plugin_hooks_are_the_installed_hooks`
    // compares the files byte for byte.)
    let mut names: Vec<&str> = registered.iter().map(|(e, _)| e.name()).collect();
    names.sort_unstable();
    assert_eq!(
        hooks.keys().map(String::as_str).collect::<Vec<_>>(),
        names,
        "the plugin registers exactly the events the roles table registers"
    );
    for (event, registration) in &registered {
        let groups = hooks[event.name()].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{}", event.name());
        let group = &groups[0];
        assert_eq!(
            group["matcher"].as_str(),
            registration.matcher,
            "{}",
            event.name()
        );
        let handler = &group["hooks"][0];
        assert_eq!(handler["args"], json!(["hook", event.hook_arg()]));
        assert_eq!(
            handler["async"].as_bool().unwrap_or(false),
            registration.background
        );
        assert_eq!(handler["timeout"], json!(registration.timeout_secs));
        let roles = event.roles();
        assert!(
            roles.stored,
            "{} is registered but not stored",
            event.name()
        );
        if roles.injects_context {
            assert!(
                !registration.background,
                "{}: injected output needs the foreground",
                event.name()
            );
        }
    }
    for event in HookEvent::ALL {
        if event.roles().registration.is_none() {
            assert!(
                !hooks.contains_key(event.name()),
                "{} is not mnemo's",
                event.name()
            );
        }
    }

    // Doctor finds every event it expects in the plugin's hooks (run by
    // this binary), and counts them as the table does.
    let env = Env::new();
    let exe = std::fs::canonicalize(common::BIN).unwrap();
    let mut settings = json!({ "hooks": plugin["hooks"].clone() });
    for groups in settings["hooks"].as_object_mut().unwrap().values_mut() {
        for group in groups.as_array_mut().unwrap() {
            for handler in group["hooks"].as_array_mut().unwrap() {
                handler["command"] = json!(exe);
            }
        }
    }
    let file = env.tmp.path().join(".claude/settings.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let check = doctor_hooks(&env, &file, &settings);
    assert_eq!(check["status"], "ok", "{check}");
    let all = format!("all {} events run this binary", registered.len());
    assert!(check["finding"].as_str().unwrap().contains(&all), "{check}");

    // Without one event, doctor names it as install's table does.
    let (missing, _) = registered[2];
    settings["hooks"]
        .as_object_mut()
        .unwrap()
        .remove(missing.name());
    let check = doctor_hooks(&env, &file, &settings);
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(check["finding"], "missing for PreToolUse(Read)", "{check}");
}

#[test]
fn skill_has_frontmatter_and_teaches_the_workflow() {
    let text = std::fs::read_to_string(root().join("plugin/skills/mem-search/SKILL.md")).unwrap();
    let front = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(front, _)| front)
        .expect("YAML frontmatter");
    assert!(front.lines().any(|l| l == "name: mem-search"), "{front}");
    assert!(
        front
            .lines()
            .any(|l| l.starts_with("description: ") && l.len() > 40),
        "{front}"
    );
    let (s, t, g) = (
        text.find("## 1. search").unwrap(),
        text.find("## 2. timeline").unwrap(),
        text.find("## 3. get_observations").unwrap(),
    );
    assert!(s < t && t < g);
}
