//! Never lose, never break: concurrent hooks, killed hooks, and a database
//! that cannot be written (locked, corrupt, read-only, full) — the event goes
//! to the spool and the next successful hook stores it.

use crate::common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn tool_event(env: &Env, session: &str, id: &str) -> Value {
    let mut p = env.fixture("post_tool_use__bash");
    p["session_id"] = json!(session);
    p["tool_use_id"] = json!(id);
    p
}

fn prompt_event(env: &Env, session: &str, text: &str) -> Value {
    let mut p = env.fixture("user_prompt_submit__basic");
    p["session_id"] = json!(session);
    p["prompt"] = json!(text);
    p.as_object_mut().unwrap().remove("prompt_id");
    p
}

/// Tool-use ids of the stored events, in the order they were stored.
fn tool_use_ids_in_order(env: &Env) -> Vec<String> {
    env.db()
        .prepare("SELECT tool_use_id FROM events WHERE tool_use_id IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn sixteen_concurrent_hooks_for_four_sessions_store_every_event_once() {
    let env = Env::new();
    const WORKERS: usize = 16;
    const PER_WORKER: usize = 12;
    thread::scope(|s| {
        for w in 0..WORKERS {
            let env = &env;
            s.spawn(move || {
                let session = format!("session-{}", w % 4);
                for i in 0..PER_WORKER {
                    let payload = if i % 4 == 0 {
                        prompt_event(env, &session, &format!("prompt from worker {w} step {i}"))
                    } else {
                        tool_event(env, &session, &format!("toolu_{w}_{i}"))
                    };
                    env.hook(None, &payload);
                }
            });
        }
    });
    // A hook the agent waits for spools its event rather than wait long for
    // the write lock; the next hook stores it, as the end of a turn would.
    let mut stop = env.fixture("stop__basic");
    stop["session_id"] = json!("session-0");
    env.hook(None, &stop);
    let total = (WORKERS * PER_WORKER) as i64;
    let prompts = (WORKERS * PER_WORKER.div_ceil(4)) as i64;
    assert_eq!(env.count("SELECT count(*) FROM events"), total + 1);
    assert_eq!(
        env.count("SELECT count(DISTINCT tool_use_id) FROM events"),
        total - prompts
    );
    assert_eq!(env.count("SELECT count(*) FROM prompts"), prompts);
    assert_eq!(env.count("SELECT count(*) FROM sessions"), 4);
    // Prompt numbers are 1..n in every session, without gaps or repeats.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM (SELECT session_id, count(*) c, max(n) m, count(DISTINCT n) d
             FROM prompts GROUP BY session_id) WHERE c != m OR c != d"
        ),
        0
    );
    assert_eq!(env.spool_files(), 0);
}

/// Kill hooks at random points, many times: every hook that acknowledged
/// (exited 0) is stored exactly once, and the database stays consistent.
#[test]
fn sigkill_mid_hook_loses_nothing_acknowledged() {
    let env = Env::new();
    env.hook(None, &env.fixture("session_start__startup"));
    let mut acknowledged = Vec::new();
    let mut killed = 0;
    for i in 0..120u64 {
        let id = format!("toolu_kill_{i}");
        let mut payload = tool_event(&env, SESSION, &id);
        // Larger payloads keep the write busy long enough to be interrupted.
        payload["tool_response"]["stdout"] =
            json!("line of output\n".repeat(500 + (i as usize % 7) * 300));
        let mut child = env.command(&["hook"]).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let body = payload.to_string();
        let writer = thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(body.as_bytes());
        });
        // Pseudo-random delay between 0 and ~6 ms.
        thread::sleep(Duration::from_micros((i * 7_919) % 6_000));
        let _ = child.kill();
        let _ = writer.join();
        let status = child.wait().unwrap();
        match status.signal() {
            Some(libc::SIGKILL) => killed += 1,
            _ => {
                assert_eq!(status.code(), Some(0));
                acknowledged.push(id);
            }
        }
    }
    // A later hook drains anything spooled.
    env.hook(None, &env.fixture("stop__basic"));
    let integrity: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    for id in &acknowledged {
        let n = env.count(&format!(
            "SELECT count(*) FROM events WHERE tool_use_id = '{id}'"
        ));
        assert_eq!(n, 1, "acknowledged {id} stored once");
    }
    assert_eq!(
        env.count("SELECT count(*) FROM (SELECT tool_use_id FROM events WHERE tool_use_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1)"),
        0
    );
    eprintln!("{} acknowledged, {killed} killed", acknowledged.len());
    assert!(killed > 0, "the test must actually kill some hooks");
}

#[test]
fn a_locked_database_spools_and_the_next_hook_drains() {
    let env = Env::new().env("MNEMO_STORE_BUSY_TIMEOUT_MS", "200");
    env.hook(None, &env.fixture("session_start__startup"));
    let locker = env.db();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = env.hook(None, &tool_event(&env, SESSION, "toolu_locked_1"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked") && err.contains("spool"), "{err}");
    env.hook(None, &tool_event(&env, SESSION, "toolu_locked_2"));
    assert_eq!(env.spool_files(), 2);
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);
    env.hook(None, &tool_event(&env, SESSION, "toolu_after"));
    assert_eq!(env.spool_files(), 0);
    let order = tool_use_ids_in_order(&env);
    assert_eq!(order, ["toolu_locked_1", "toolu_locked_2", "toolu_after"]);
}

#[test]
fn a_corrupt_database_spools_until_it_is_replaced() {
    let env = Env::new();
    env.hook(None, &env.fixture("session_start__startup"));
    std::fs::write(env.db_path(), vec![0x5a; 64 * 1024]).unwrap();
    let _ = std::fs::remove_file(env.home.join("mnemo.db-wal"));
    let _ = std::fs::remove_file(env.home.join("mnemo.db-shm"));
    let out = env.hook(None, &tool_event(&env, SESSION, "toolu_corrupt"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt") || err.contains("not a database"),
        "{err}"
    );
    assert_eq!(env.spool_files(), 1);
    // The user moves the broken file away; the next hook brings the event back.
    std::fs::rename(env.db_path(), env.home.join("mnemo.db.broken")).unwrap();
    env.hook(None, &tool_event(&env, SESSION, "toolu_next"));
    assert_eq!(env.spool_files(), 0);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE tool_use_id IN ('toolu_corrupt', 'toolu_next')"
        ),
        2
    );
}

/// A small tmpfs, for real ENOSPC and read-only filesystems. Needs root
/// (CI runs as root); elsewhere the tests say so and pass vacuously.
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(dir: &std::path::Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            common::skip_or_fail(
                &format!("durability (a tmpfs at {})", dir.display()),
                "cannot mount a tmpfs here (needs root)",
                "MNEMO_REQUIRE_MOUNTS",
            );
        }
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, opts: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {opts}");
    }
}

/// Fill the volume with one file, returned so it can be removed.
fn fill(mount: &Mount) -> std::path::PathBuf {
    let filler = mount.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4096"])
        .arg(format!("of={}", filler.display()))
        .stderr(Stdio::null())
        .status();
    filler
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The database lives on another volume (symlinked), which fills up or turns
/// read-only; the spool in `$MNEMO_HOME` takes the events meanwhile.
fn db_on_separate_volume(env: &Env) -> Option<Mount> {
    let mount = Mount::tmpfs(&env.tmp.path().join("vol"), "1m")?;
    std::fs::create_dir_all(&env.home).unwrap();
    std::os::unix::fs::symlink(mount.0.join("mnemo.db"), env.db_path()).unwrap();
    env.hook(None, &env.fixture("session_start__startup"));
    assert_eq!(env.count("SELECT count(*) FROM events"), 1);
    Some(mount)
}

#[test]
fn a_full_disk_spools_and_recovers() {
    let env = Env::new();
    let Some(mount) = db_on_separate_volume(&env) else {
        return;
    };
    // Fill the volume.
    let filler = fill(&mount);
    let mut payload = tool_event(&env, SESSION, "toolu_full");
    payload["tool_response"]["stdout"] = json!("output line\n".repeat(1000));
    let out = env.hook(None, &payload);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spool"), "{err}");
    assert_eq!(env.spool_files(), 1);
    std::fs::remove_file(&filler).unwrap();
    env.hook(None, &tool_event(&env, SESSION, "toolu_after_full"));
    assert_eq!(env.spool_files(), 0);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM events WHERE tool_use_id IN ('toolu_full', 'toolu_after_full')"
        ),
        2
    );
    let integrity: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn a_read_only_database_spools_and_recovers() {
    let env = Env::new();
    let Some(mount) = db_on_separate_volume(&env) else {
        return;
    };
    mount.remount("ro");
    let out = env.hook(None, &tool_event(&env, SESSION, "toolu_ro"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spool"), "{err}");
    assert_eq!(env.spool_files(), 1);
    mount.remount("rw");
    env.hook(None, &tool_event(&env, SESSION, "toolu_rw"));
    assert_eq!(env.spool_files(), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM events WHERE tool_use_id IN ('toolu_ro', 'toolu_rw')"),
        2
    );
}

/// An env whose temp dir (where the fallback spool goes) is its own, off
/// the data directory's filesystem.
fn env_with_own_tmpdir() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let tmpdir = env.tmp.path().join("tmpdir");
    std::fs::create_dir(&tmpdir).unwrap();
    let env = env.env("TMPDIR", tmpdir.to_str().unwrap());
    (env, tmpdir)
}

/// Events waiting in fallback spools under `tmpdir`.
fn fallback_spool_files(tmpdir: &std::path::Path) -> usize {
    std::fs::read_dir(tmpdir)
        .unwrap()
        .flatten()
        .filter(|d| d.file_name().to_string_lossy().starts_with("mnemo-"))
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .filter(|f| f.file_name().to_string_lossy().ends_with(".json"))
        .count()
}

/// The whole data directory on a volume that fills up or turns read-only:
/// its spool cannot take the event either, so it goes to the fallback spool
/// in the temp dir, and the first hook that can write the database again
/// stores it, in arrival order.
#[test]
fn a_full_or_read_only_data_dir_spools_elsewhere_and_recovers() {
    let (env, tmpdir) = env_with_own_tmpdir();
    let Some(mount) = Mount::tmpfs(&env.home, "1m") else {
        return;
    };
    env.hook(None, &env.fixture("session_start__startup"));

    // Full.
    let filler = fill(&mount);
    // Bigger than what the failed database write frees (its shared-memory
    // file), so the spool in the data directory cannot take it either.
    let mut big = tool_event(&env, SESSION, "toolu_while_full");
    for i in 0..10 {
        big["tool_response"][format!("part{i}")] = json!(format!("{i} output\n").repeat(2000));
    }
    let out = env.hook(None, &big);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("will be stored by the next hook"), "{err}");
    assert!(err.contains(tmpdir.to_str().unwrap()), "names where: {err}");
    assert_eq!(fallback_spool_files(&tmpdir), 1);
    assert_eq!(env.spool_files(), 0);
    std::fs::remove_file(&filler).unwrap();

    // Read-only.
    mount.remount("ro");
    env.hook(None, &tool_event(&env, SESSION, "toolu_while_ro"));
    assert_eq!(fallback_spool_files(&tmpdir), 2);
    mount.remount("rw");
    let stats = env.ok_json(&["stats", "--json"]);
    assert_eq!(stats["spooled"], 2, "the fallback spool counts: {stats}");

    env.hook(None, &tool_event(&env, SESSION, "toolu_after"));
    assert_eq!(fallback_spool_files(&tmpdir), 0, "drained");
    let order = tool_use_ids_in_order(&env);
    assert_eq!(order, ["toolu_while_full", "toolu_while_ro", "toolu_after"]);
}

/// Nowhere to write at all (the temp dir is unusable too): one line saying
/// the event is lost, exit 0, and nothing stored earlier is harmed.
#[test]
fn a_read_only_data_dir_without_a_fallback_fails_open_with_one_line() {
    let env = Env::new();
    let not_a_dir = env.tmp.path().join("not-a-dir");
    std::fs::write(&not_a_dir, b"").unwrap();
    let env = env.env("TMPDIR", not_a_dir.to_str().unwrap());
    let Some(mount) = Mount::tmpfs(&env.home, "1m") else {
        return;
    };
    env.hook(None, &env.fixture("session_start__startup"));
    mount.remount("ro");
    let out = env.hook(None, &tool_event(&env, SESSION, "toolu_nowhere"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lost"), "{err}");
    mount.remount("rw");
    assert_eq!(
        env.count("SELECT count(*) FROM events"),
        1,
        "earlier event intact"
    );
}

/// A database cut short (a copy interrupted, a disk fault): hooks spool and
/// exit 0, `mnemo doctor` names the problem, and nothing rewrites the file.
#[test]
fn a_truncated_database_spools_and_doctor_explains() {
    let env = Env::new();
    for i in 0..60 {
        env.hook(None, &tool_event(&env, SESSION, &format!("toolu_fill_{i}")));
    }
    // Fold the WAL in, then cut the file in half.
    env.db()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let full = std::fs::metadata(env.db_path()).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(env.db_path())
        .unwrap()
        .set_len(full / 2)
        .unwrap();
    let cut = std::fs::read(env.db_path()).unwrap();

    let out = env.hook(None, &tool_event(&env, SESSION, "toolu_after_cut"));
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        env.spool_files(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doctor = env.command(&["doctor"]).output().unwrap();
    assert!(
        !doctor.status.success(),
        "doctor fails on a broken database"
    );
    let said = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        said.contains("corrupt") || said.contains("malformed") || said.contains("integrity"),
        "{said}"
    );
    assert_eq!(std::fs::read(env.db_path()).unwrap(), cut, "left alone");
}

/// A database written by an older mnemo (schema v1: capture only) is
/// migrated in place by the first hook that opens it, keeping every row,
/// and what it held is then compressed and searchable.
#[test]
fn an_older_schema_is_migrated_in_place_keeping_everything() {
    let env = Env::new();
    std::fs::create_dir_all(&env.home).unwrap();
    {
        let mut conn = env.db();
        mnemo_store::migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (id, root, name, created_at)
                 VALUES (1, '/home/dev/legacy', 'legacy', 1700000000000);
             INSERT INTO sessions (id, agent, agent_session_id, project_id, cwd, started_at)
                 VALUES (1, 'claude-code', 'old-session', 1, '/home/dev/legacy', 1700000000000);
             INSERT INTO prompts (id, session_id, n, text, created_at)
                 VALUES (1, 1, 1, 'fix the flaky websocket reconnect test', 1700000001000);
             INSERT INTO events (session_id, prompt_id, hook, tool_name, tool_use_id, payload, created_at)
                 VALUES (1, 1, 'PostToolUse', 'Edit', 'toolu_legacy_edit',
                   '{\"tool_input\":{\"file_path\":\"/home/dev/legacy/ws.py\",\"old_string\":\"sleep(1)\",\"new_string\":\"await reconnected.wait()\"},\"tool_response\":{\"filePath\":\"/home/dev/legacy/ws.py\"}}',
                   1700000002000);",
        )
        .unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
    }
    // The session's Stop arrives from the new binary.
    let mut stop = env.fixture("stop__basic");
    stop["session_id"] = json!("old-session");
    stop["cwd"] = json!("/home/dev/legacy");
    let out = env.hook(None, &stop);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.spool_files(), 0, "stored, not spooled");
    let version: i64 = env
        .db()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, mnemo_store::SCHEMA_VERSION);
    assert_eq!(
        env.count("SELECT count(*) FROM events"),
        2,
        "old row kept, Stop added"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM prompts WHERE compressed_at IS NOT NULL"),
        1,
        "the old episode is compressed"
    );
    let found = env
        .command(&["search", "websocket reconnect", "--json"])
        .output()
        .unwrap();
    let hits: Value = serde_json::from_slice::<Value>(&found.stdout).unwrap()["items"].clone();
    assert!(
        !hits.as_array().unwrap().is_empty(),
        "{}",
        String::from_utf8_lossy(&found.stdout)
    );
    let ok: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}
