//! The plugin marketplace files: the fields Claude Code requires, paths that
//! exist, and the same hooks and MCP server as `mnemo install` (with `mnemo`
//! from PATH instead of an absolute path).

use crate::common;

use std::path::{Path, PathBuf};

use common::Env;
use serde_json::{Value, json};

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
    ] {
        assert!(dir.join(path).is_file(), "{path}");
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
                handler["command"] = json!("mnemo");
            }
        }
    }
    assert_eq!(plugin["hooks"], expected);
    // Byte for byte too, so the events are in install's order: the plugin
    // file is install's settings file with a description line and `mnemo`
    // from PATH.
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
        .replace(&format!("\"{exe}\""), "\"mnemo\"");
    assert_eq!(without_description, installed_text);

    let mcp = load(&dir.join(".mcp.json"));
    let installed = load(&env.tmp.path().join(".claude.json"));
    let mut server = installed["mcpServers"]["mnemo"].clone();
    server["command"] = json!("mnemo");
    assert_eq!(mcp, json!({"mcpServers": {"mnemo": server}}));
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
