//! Team memory's local side, in process: which changes are queued to go
//! up (whatever wrote them), what a dry run would upload, and the errors
//! of joining. Everything that needs the team server is tested through the
//! real binary against a real PostgreSQL (`crates/mnemo/tests/team.rs`).

use std::process::Command;

use mnemo_app::memory::{self, Note, ScopeRequest};
use mnemo_app::team::{self, Join};
use serde_json::json;

use crate::common::*;

fn add_remote(env: &Env, url: &str) {
    let ok = Command::new("git")
        .args(["remote", "add", "origin", url])
        .current_dir(&env.project)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn waiting(env: &Env) -> i64 {
    env.store().team_waiting().unwrap()
}

fn remember(env: &Env, dir: &std::path::Path, text: &str) {
    let mut store = env.store();
    let note = Note {
        text: text.into(),
        scope: ScopeRequest {
            project: Some(dir.to_string_lossy().into()),
            ..ScopeRequest::default()
        },
        ..Note::default()
    };
    memory::remember(&env.parts, &mut store, &note).unwrap();
}

#[test]
fn every_write_to_a_joined_project_is_queued_and_nothing_else() {
    let env = Env::new();
    add_remote(&env, "https://github.com/Acme/shop.git");
    let Join::Joined(joined) = team::join(&env.parts, &env.project, false).unwrap() else {
        panic!("not a dry run");
    };
    assert_eq!(joined.key, "github.com/acme/shop");
    assert_eq!(joined.queued, 0);

    // Compression in the hooks.
    env.replay_session();
    let memories = env.count("SELECT count(*) FROM observations")
        + env.count("SELECT count(*) FROM summaries");
    assert!(memories > 1);
    assert_eq!(waiting(&env), memories);
    // remember, then forget: one entry per memory, whatever its changes.
    remember(&env, &env.project, "the cart rounds totals to cents");
    assert_eq!(waiting(&env), memories + 1);
    let id = env.count("SELECT max(id) FROM observations");
    env.store().forget(&[id], env.parts.now()).unwrap();
    assert_eq!(waiting(&env), memories + 1);
    // Another project, not joined: nothing.
    let other = env.tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    git_init(&other);
    remember(&env, &other, "the other tool caches in /var/cache");
    assert_eq!(waiting(&env), memories + 1);
    // Leaving drops what waits.
    team::leave(&env.parts, &env.project).unwrap();
    assert_eq!(waiting(&env), 0);
    remember(&env, &env.project, "written after leaving");
    assert_eq!(waiting(&env), 0);
}

#[test]
fn a_dry_run_lists_the_redacted_records_and_joins_nothing() {
    let env = Env::new();
    add_remote(&env, "git@github.com:acme/shop.git");
    env.replay_session();
    // A secret stored before a rule knew it: the upload redacts again.
    let secret = format!("AKIA{}", "Q7ZK3M2P9XW4T6RB");
    env.db()
        .execute(
            "UPDATE observations SET narrative = ?1 WHERE id = (SELECT min(id) FROM observations)",
            [format!("the key is {secret}")],
        )
        .unwrap();
    let Join::DryRun(preview) = team::join(&env.parts, &env.project, true).unwrap() else {
        panic!("a dry run");
    };
    let memories = env.count("SELECT count(*) FROM observations")
        + env.count("SELECT count(*) FROM summaries");
    assert_eq!(preview.records.len() as i64, memories);
    let text: String = preview
        .records
        .iter()
        .map(|r| team::record_json(r).to_string())
        .collect();
    assert!(!text.contains(&secret), "{text}");
    assert!(text.contains("[REDACTED:"), "{text}");
    assert!(
        preview
            .records
            .iter()
            .all(|r| r.project == "github.com/acme/shop")
    );
    assert!(env.store().team_projects().unwrap().is_empty());
    assert_eq!(waiting(&env), 0);
}

#[test]
fn joining_outside_git_or_leaving_an_unjoined_project_is_a_clear_error() {
    let env = Env::new();
    let plain = env.tmp.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let err = team::join(&env.parts, &plain, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in a git repository"), "{err}");
    let err = team::leave(&env.parts, &env.project)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a joined team project"), "{err}");
    // A repository without a remote is keyed by its first commit.
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ])
        .current_dir(&env.project)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let Join::Joined(joined) = team::join(&env.parts, &env.project, false).unwrap() else {
        panic!("not a dry run");
    };
    assert!(joined.key.starts_with("root:"), "{}", joined.key);
    assert_eq!(joined.key.len(), "root:".len() + 40);
}

#[test]
fn status_without_a_server_says_how_to_set_one() {
    let env = Env::new();
    add_remote(&env, "https://github.com/acme/shop");
    team::join(&env.parts, &env.project, false).unwrap();
    let status = team::status(&env.parts).unwrap();
    assert!(!status.reachable);
    assert!(status.problem.unwrap().contains("[team] url"));
    assert_eq!(status.projects.len(), 1);
    assert_eq!(status.projects[0].key, "github.com/acme/shop");
    assert_eq!(status.origin.len(), 32);
    let err = team::sync_round(&env.parts).unwrap_err().to_string();
    assert!(err.contains("no team server configured"), "{err}");
}

#[test]
fn an_episode_end_starts_the_sync_only_with_a_server_and_changes_waiting() {
    let without_server = Env::new();
    add_remote(&without_server, "https://github.com/acme/shop");
    team::join(&without_server.parts, &without_server.project, false).unwrap();
    without_server.replay_session();
    assert_eq!(without_server.syncs_started(), 0);

    let env = Env::configured("[team]\nurl = \"postgresql://team@127.0.0.1:9/mnemo\"\n");
    env.replay_session();
    assert_eq!(env.syncs_started(), 0, "nothing joined, nothing to send");
    add_remote(&env, "https://github.com/acme/shop");
    team::join(&env.parts, &env.project, false).unwrap();
    // The same work again in a new session makes new memories to send.
    for mut payload in env.session_inputs() {
        payload["session_id"] = json!("7a2d3e4f-0000-4b7e-9a51-2f3d4c5b6a71");
        env.hook(None, &payload);
    }
    assert!(env.syncs_started() > 0);
}
