//! The release setup agrees with itself, checked offline without dist: the
//! targets dist builds, the npm platforms the publish job maps them to and
//! the platforms `scripts/npm-packages.sh` packages; the versions of the
//! crates, the plugin and the marketplace; every file the workflows name.
//! (`scripts/release-check.sh` runs dist itself: plan, and generate --check.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::skip_or_fail;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The quoted strings of the one-line array `key = [...]` in a TOML text.
fn toml_array(text: &str, key: &str) -> BTreeSet<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key} = [")))
        .unwrap_or_else(|| panic!("no {key} array"));
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The `word) echo value ;;` arms of a shell `case`, as (word, value).
fn case_arms(text: &str, marker: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (word, rest) = l.trim().split_once(") ")?;
            let value = rest.strip_prefix(marker)?.strip_suffix(" ;;")?;
            Some((word.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The npm platforms scripts/npm-packages.sh knows, or `None` when the
/// script is not in this tree.
fn npm_platforms() -> Option<BTreeSet<String>> {
    let script = std::fs::read_to_string(repo().join("scripts/npm-packages.sh")).ok()?;
    let fields = &script[script.find("platform_fields()")?..];
    let fields = &fields[..fields.find("esac")?];
    Some(
        fields
            .lines()
            .filter_map(|l| l.trim().split_once(") echo "))
            .map(|(platform, _)| platform.to_owned())
            .collect(),
    )
}

#[test]
fn every_dist_target_is_published_to_npm_under_a_packaged_platform() {
    let targets = toml_array(&read("dist-workspace.toml"), "targets");
    assert_eq!(targets.len(), 5, "{targets:?}");
    let arms = case_arms(&read(".github/workflows/publish-npm.yml"), "echo ");
    let mapped: BTreeSet<String> = arms.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(
        mapped, targets,
        "publish-npm.yml maps other targets than dist builds"
    );
    let platforms: BTreeSet<String> = arms.into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        platforms.len(),
        targets.len(),
        "two targets map to one npm platform"
    );
    match npm_platforms() {
        Some(packaged) => assert_eq!(platforms, packaged, "npm-packages.sh packages others"),
        None => skip_or_fail(
            "release::every_dist_target_is_published_to_npm_under_a_packaged_platform",
            "scripts/npm-packages.sh is not in this tree",
            "MNEMO_REQUIRE_REGISTRY",
        ),
    }
    // Custom runners (the Linux containers) are for targets dist builds.
    for line in read("dist-workspace.toml").lines() {
        if let Some(target) = line.strip_prefix("[dist.github-custom-runners.") {
            let target = target.trim_end_matches(']');
            assert!(
                targets.contains(target),
                "a runner for {target}, which is not built"
            );
        }
    }
}

#[test]
fn the_crates_the_plugin_and_the_marketplace_have_one_version() {
    let workspace = read("Cargo.toml");
    let version = workspace
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("workspace version");
    // Path dependencies carry the version crates.io resolves them by; a
    // crate never published (test support) is a path-only dev-dependency,
    // which publishing drops.
    for line in workspace.lines().filter(|l| l.contains("path = \"crates/")) {
        let dir = line
            .split("path = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a path");
        if read(&format!("{dir}/Cargo.toml")).contains("publish = false") {
            continue;
        }
        assert!(line.contains(&format!("version = \"{version}\"")), "{line}");
    }
    let crates = std::fs::read_dir(repo().join("crates")).unwrap();
    for dir in crates.map(|e| e.unwrap().path()) {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("version.workspace = true"),
            "{}",
            dir.display()
        );
    }
    let plugin: serde_json::Value =
        serde_json::from_str(&read("plugin/.claude-plugin/plugin.json")).unwrap();
    assert_eq!(plugin["version"], version, "plugin.json");
    let marketplace: serde_json::Value =
        serde_json::from_str(&read(".claude-plugin/marketplace.json")).unwrap();
    for entry in marketplace["plugins"].as_array().unwrap() {
        assert_eq!(
            entry["version"], version,
            "marketplace.json: {}",
            entry["name"]
        );
    }
}

#[test]
fn every_file_the_release_workflows_name_exists() {
    let release = read(".github/workflows/release.yml");
    // A workflow of this repository is called as `uses: $/<path>`.
    let mut named: Vec<String> = release
        .lines()
        .filter_map(|l| l.trim().strip_prefix("uses: $/"))
        .map(str::to_owned)
        .collect();
    assert!(
        !named.is_empty(),
        "release.yml calls no workflow of this repository"
    );
    for job in toml_array(&read("dist-workspace.toml"), "publish-jobs") {
        if let Some(local) = job.strip_prefix("./") {
            named.push(format!(".github/workflows/{local}.yml"));
        }
    }
    let publish = read(".github/workflows/publish-npm.yml");
    named.extend(
        publish
            .split_whitespace()
            .map(|word| word.trim_start_matches("$("))
            .filter(|word| word.starts_with("scripts/"))
            .map(str::to_owned),
    );
    for path in named {
        if path == "scripts/npm-packages.sh" && !repo().join(&path).exists() {
            skip_or_fail(
                "release::every_file_the_release_workflows_name_exists",
                "scripts/npm-packages.sh is not in this tree",
                "MNEMO_REQUIRE_REGISTRY",
            );
            continue;
        }
        assert!(repo().join(&path).is_file(), "{path} is named but missing");
    }
}
