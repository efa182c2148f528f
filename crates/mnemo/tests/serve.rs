//! `mnemo serve` over real HTTP: the real binary on a free port of
//! 127.0.0.1, a real database filled by real hooks, `mnemo import` and
//! `mnemo remember`, and a raw-socket client that sends exactly the headers
//! each test chooses (forged Host and Origin included).

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::http::request;
use common::*;
use serde_json::{Value, json};

/// Observations from other days and another project, as `mnemo import` reads them.
const IMPORTED: &str = r#"{"project": "/src/billing", "type": "decision", "title": "Invoices are numbered per year, not globally", "narrative": "Accounting asked for yearly sequences.", "facts": ["invoice numbers restart on 1 January"], "concepts": ["why-it-exists"], "files_modified": ["billing/numbering.py"], "created_at": "2026-11-20T09:15:00Z", "ref": "adr-7"}
{"project": "/src/billing", "type": "bugfix", "title": "Tax rounding used float arithmetic", "narrative": "Totals were off by a cent; Decimal fixed it.", "concepts": ["problem-solution", "gotcha"], "files_modified": ["billing/tax.py"], "created_at": "2026-11-21T16:40:00Z"}
"#;

/// A data directory with a captured session (3 observations, 2 summaries,
/// real Edit events), two imported observations and one note.
fn seeded() -> Env {
    let env = Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "0");
    env.replay_session();
    let file = env.tmp.path().join("imported.jsonl");
    std::fs::write(&file, IMPORTED).unwrap();
    let out = env
        .command(&["import", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = env.project.to_str().unwrap().to_string();
    let out = env
        .command(&[
            "remember",
            "--type",
            "decision",
            "--project",
            &project,
            "Viewer pages are keyed on (created_at, id), never offsets",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    env
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

fn titles(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_route_needs_the_token_the_right_host_and_origin() {
    let env = Env::new();
    let server = env.serve();
    let port = server.port;
    let bearer = server.bearer();
    let token_file = env.home.join("serve.token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "token file is owner-only");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        server.token
    );

    // Missing or wrong token: 401, on every API route.
    for path in [
        "/api/observations",
        "/api/observations/1",
        "/api/search?q=x",
        "/api/timeline",
        "/api/sessions",
        "/api/projects",
        "/api/stats",
        "/api/context",
        "/api/stream",
        "/api/nowhere",
    ] {
        let none = request(port, "GET", path, &[], None);
        assert_eq!(none.status, 401, "{path} without a token");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        assert!(none.json()["error"].as_str().unwrap().contains("token"));
        let wrong = request(port, "GET", path, &[("Authorization", "Bearer 00ff")], None);
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        let cookie = request(
            port,
            "GET",
            path,
            &[("Cookie", "mnemo_session=forged")],
            None,
        );
        assert_eq!(cookie.status, 401, "{path} with a forged cookie");
    }
    for (method, path) in [
        ("POST", "/api/remember"),
        ("DELETE", "/api/observations/1"),
        ("POST", "/api/observations/1/restore"),
        ("POST", "/api/session"),
    ] {
        assert_eq!(
            request(port, method, path, &[], Some("{}")).status,
            401,
            "{method} {path}"
        );
    }
    assert_eq!(server.call("GET", "/api/stats", None).status, 200);

    // DNS rebinding: a foreign Host is refused even with the token.
    for host in [
        "evil.example",
        "evil.example:80",
        &format!("attacker.test:{port}"),
        &format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let r = request(
            port,
            "GET",
            "/api/stats",
            &[("Host", host), ("Authorization", &bearer)],
            None,
        );
        assert_eq!(r.status, 403, "Host {host}");
        assert_eq!(
            request(port, "GET", "/", &[("Host", host)], None).status,
            403
        );
    }
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let r = request(
            port,
            "GET",
            "/api/stats",
            &[("Host", &host), ("Authorization", &bearer)],
            None,
        );
        assert_eq!(r.status, 200, "Host {host}");
    }

    // State-changing requests from another origin: 403, token or not.
    let note = r#"{"text": "should not be stored"}"#;
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://attacker.test:{port}"),
    ] {
        let r = request(
            port,
            "POST",
            "/api/remember",
            &[("Origin", origin), ("Authorization", &bearer)],
            Some(note),
        );
        assert_eq!(r.status, 403, "Origin {origin}");
    }
    assert_eq!(env.count("SELECT count(*) FROM observations"), 0);

    // No CORS: nothing grants another origin access.
    let r = request(
        port,
        "GET",
        "/api/stats",
        &[
            ("Origin", "http://evil.example"),
            ("Authorization", &bearer),
        ],
        None,
    );
    assert!(r.header("access-control-allow-origin").is_none());
    let preflight = request(
        port,
        "OPTIONS",
        "/api/remember",
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert!(preflight.status >= 400, "preflight: {}", preflight.status);
    assert!(preflight.header("access-control-allow-origin").is_none());

    // The page's exchange: bearer → HttpOnly, SameSite=Strict cookie.
    let exchange = request(
        port,
        "POST",
        "/api/session",
        &[
            ("Authorization", &bearer),
            ("Origin", &format!("http://127.0.0.1:{port}")),
        ],
        None,
    );
    assert_eq!(exchange.status, 204);
    let set_cookie = exchange.header("set-cookie").unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(
        !set_cookie.contains(&server.token),
        "the cookie is not the token"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let with_cookie = request(port, "GET", "/api/stats", &[("Cookie", &cookie)], None);
    assert_eq!(with_cookie.status, 200);
    // A cookie alone cannot change state without the page's own Origin.
    let r = request(
        port,
        "POST",
        "/api/remember",
        &[("Cookie", &cookie)],
        Some(note),
    );
    assert_eq!(r.status, 403);
    let origin = format!("http://localhost:{port}");
    let r = request(
        port,
        "POST",
        "/api/remember",
        &[("Cookie", &cookie), ("Origin", &origin)],
        Some(note),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    // Bodies are capped.
    let huge = json!({ "text": "x".repeat(200_000) }).to_string();
    let r = request(
        port,
        "POST",
        "/api/remember",
        &[("Authorization", &bearer)],
        Some(&huge),
    );
    assert_eq!(r.status, 413);

    // The viewer's files are public, and locked down by headers.
    let page = request(port, "GET", "/", &[], None);
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<script src=\"/app.js\" defer></script>")
    );
    assert!(!page.body.contains("<script>"), "no inline script");
    let csp = page.header("content-security-policy").unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "require-trusted-types-for 'script'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let js = request(port, "GET", "/app.js", &[], None);
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(!js.body.contains("innerHTML"), "data never becomes HTML");
    assert_eq!(request(port, "GET", "/secret.txt", &[], None).status, 404);
}

#[test]
fn browse_search_and_inspect_memories() {
    let env = seeded();
    let server = env.serve();
    let project = env.project.to_str().unwrap().to_string();

    // Newest first, paginated by cursor, with session overviews.
    let all = server.get("/api/observations");
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert!(all["next"].is_null());
    let first = server.get("/api/observations?limit=3");
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next"].as_str().unwrap();
    let rest = server.get(&format!("/api/observations?limit=3&before={cursor}"));
    assert_eq!(
        [ids(&first["items"]), ids(&rest["items"])].concat(),
        ids(&all["items"]),
        "pages join up"
    );
    assert!(rest["next"].is_null());
    assert_eq!(
        titles(&rest["items"]),
        [
            "Tax rounding used float arithmetic",
            "Invoices are numbered per year, not globally"
        ],
        "imported ones are the oldest"
    );
    let session_id = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i["session_id"].as_i64())
        .unwrap();
    let overview = &all["sessions"][session_id.to_string()];
    assert_eq!(overview["prompts"], 2);
    assert!(overview["first_prompt"].as_str().unwrap().contains("fib"));
    assert!(overview["latest_summary"]["request"].is_string());

    // Filters.
    let count = |query: &str| {
        server.get(&format!("/api/observations?{query}"))["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("type=bugfix"), 2);
    assert_eq!(count("type=bugfix,decision"), 4);
    assert_eq!(count("project=/src/billing"), 2);
    assert_eq!(count(&format!("project={project}&type=decision")), 1);
    assert_eq!(count("concept=gotcha"), 1);
    assert_eq!(count("file=tax.py"), 1);
    assert_eq!(count(&format!("session={session_id}")), 2);
    let nov21 = 1_795_219_200_000_i64; // 2026-11-21T00:00:00Z
    assert_eq!(
        count(&format!("since={nov21}&until={}", nov21 + 86_399_999)),
        1
    );
    for bad in [
        "type=bogus",
        "before=yesterday",
        "since=2&until=1",
        "limit=many",
    ] {
        let r = server.call("GET", &format!("/api/observations?{bad}"), None);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }

    // One observation with its prompt, session and the diff of its edit.
    let bugfix = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "bugfix" && i["session_id"].is_i64())
        .unwrap();
    let detail = server.get(&format!("/api/observations/{}", bugfix["id"]));
    assert_eq!(detail["title"], bugfix["title"]);
    assert!(detail["narrative"].as_str().unwrap().len() > 20);
    assert!(
        detail["prompt_item"]["text"]
            .as_str()
            .unwrap()
            .contains("fib")
    );
    assert_eq!(detail["session"]["id"], session_id);
    let diffs: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["diff"].as_str())
        .collect();
    assert!(
        diffs
            .iter()
            .any(|d| d.lines().any(|l| l.starts_with("+    if n < 0:"))),
        "{diffs:?}"
    );
    assert_eq!(
        server.call("GET", "/api/observations/9999", None).status,
        404
    );
    assert_eq!(
        server.call("GET", "/api/observations/abc", None).status,
        400
    );

    // Search: the CLI's search, with the words it looked for.
    let found = server.get("/api/search?q=tax%20rounding");
    assert_eq!(
        found["items"][0]["title"],
        "Tax rounding used float arithmetic"
    );
    assert_eq!(found["terms"], json!(["tax", "rounding"]));
    let cli = env
        .command(&["search", "tax", "rounding", "--json"])
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(
        ids(&found["items"]),
        ids(&cli["items"]),
        "same search as the CLI"
    );
    let scoped = server.get("/api/search?q=fib&type=feature");
    assert!(
        scoped["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] == "feature")
    );
    let hostile = server.get("/api/search?q=%22%29%28%20OR%20*%20NEAR%2F%3Cscript%3E");
    assert!(hostile["items"].is_array());

    // Timeline around one, sessions, projects, stats, context.
    let around = server.get(&format!(
        "/api/timeline?around={}&before=1&after=1",
        bugfix["id"]
    ));
    assert!(ids(&around["items"]).contains(&bugfix["id"].as_i64().unwrap()));
    assert_eq!(
        server.call("GET", "/api/timeline?around=9999", None).status,
        404
    );
    let sessions = server.get("/api/sessions");
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
    let session = server.get(&format!("/api/sessions/{session_id}"));
    let prompts = session["prompt_list"].as_array().unwrap();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts
            .iter()
            .all(|p| p["summary"]["completed"].is_string())
    );
    assert_eq!(server.call("GET", "/api/sessions/9999", None).status, 404);
    let projects = server.get("/api/projects");
    let roots: Vec<&str> = projects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["root"].as_str().unwrap())
        .collect();
    assert_eq!(
        roots,
        [project.as_str(), "/src/billing"],
        "most recent first"
    );
    let stats = server.get("/api/stats");
    assert_eq!(stats["observations"], 5);
    assert_eq!(stats["sessions"], 1);
    for key in [
        "db_bytes",
        "llm_tokens_today",
        "llm_tokens_total",
        "llm_daily_token_budget",
        "events_pending",
        "enrich_pending",
        "spooled",
    ] {
        assert!(stats[key].is_i64() || stats[key].is_u64(), "{key}: {stats}");
    }
    let context = server.get(&format!("/api/context?project={project}"));
    let cli = env
        .command(&["context", "--project", &project])
        .output()
        .unwrap();
    assert_eq!(
        format!("{}\n", context["text"].as_str().unwrap()),
        String::from_utf8_lossy(&cli.stdout),
        "exactly what SessionStart injects"
    );
    assert!(context["tokens"].as_u64().unwrap() > 50);
    assert_eq!(
        server.get("/api/context")["project"],
        project.as_str(),
        "default: most recent"
    );
    assert_eq!(
        server
            .call("GET", "/api/context?project=/nowhere", None)
            .status,
        404
    );
    let missing = server.call("GET", "/api/nothing/here", None);
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].is_string());
}

#[test]
fn remember_forget_and_undo() {
    let env = seeded();
    let server = env.serve();
    let project = env.project.to_str().unwrap().to_string();
    let body = json!({
        "text": "The deploy key is AKIAIOSFODNN7EXAMPLE; rotate it monthly.",
        "type": "security_note",
        "project": project,
    })
    .to_string();
    let stored = server.call("POST", "/api/remember", Some(&body));
    assert_eq!(stored.status, 201, "{}", stored.body);
    let stored = stored.json();
    assert_eq!(stored["stored"], true);
    assert!(
        stored["removed"].as_u64().unwrap() >= 1,
        "the key was redacted"
    );
    let id = stored["id"].as_i64().unwrap();
    let detail = server.get(&format!("/api/observations/{id}"));
    assert!(
        !detail["narrative"]
            .as_str()
            .unwrap()
            .contains("AKIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(detail["type"], "security_note");
    assert_eq!(detail["project"], project.as_str());
    let again = server.call("POST", "/api/remember", Some(&body));
    assert_eq!(
        (again.status, again.json()["stored"].clone()),
        (200, json!(false))
    );
    for bad in [
        json!({"text": "  "}),
        json!({"text": "x", "type": "gossip"}),
        json!({"text": "x", "colour": "red"}),
    ] {
        let r = server.call("POST", "/api/remember", Some(&bad.to_string()));
        assert!(
            r.status == 400 || r.status == 422,
            "{bad}: {} {}",
            r.status,
            r.body
        );
    }

    let listed = |server: &Served| ids(&server.get("/api/observations")["items"]);
    assert!(listed(&server).contains(&id));
    let forgotten = server.call("DELETE", &format!("/api/observations/{id}"), None);
    assert_eq!(forgotten.status, 200);
    assert_eq!(forgotten.json()["forgotten"], json!([id]));
    assert!(!listed(&server).contains(&id));
    assert_eq!(
        server
            .call("GET", &format!("/api/observations/{id}"), None)
            .status,
        404
    );
    assert!(
        !server.get("/api/search?q=deploy%20key")["items"]
            .to_string()
            .contains(&format!("\"id\":{id}"))
    );
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM observations WHERE id = {id} AND deleted_at IS NOT NULL"
        )),
        1,
        "a soft delete: the row stays"
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/api/observations/{id}"), None)
            .status,
        404
    );
    let restored = server.call("POST", &format!("/api/observations/{id}/restore"), None);
    assert_eq!(restored.status, 200);
    assert!(listed(&server).contains(&id));
    assert_eq!(
        server
            .call("POST", &format!("/api/observations/{id}/restore"), None)
            .status,
        404
    );
}

/// One prompt → Edit → Stop episode in the env's project, run as Claude
/// Code runs hooks: one `mnemo hook` process per event.
fn run_episode(env: &Env, session: &str, word: &str) {
    let cwd = env.project.to_str().unwrap();
    let prompt = json!({"session_id": session, "cwd": cwd, "hook_event_name": "UserPromptSubmit",
        "prompt": format!("make the {word} parser accept empty input")});
    let edit = json!({"session_id": session, "cwd": cwd, "hook_event_name": "PostToolUse",
        "tool_name": "Edit", "tool_use_id": format!("toolu_{word}"),
        "tool_input": {"file_path": format!("{cwd}/{word}.py"), "old_string": "    if not text:\n        raise ValueError", "new_string": "    if not text:\n        return []"},
        "tool_response": {"filePath": format!("{cwd}/{word}.py")}});
    let stop = json!({"session_id": session, "cwd": cwd, "hook_event_name": "Stop",
        "last_assistant_message": format!("The {word} parser now returns an empty list for empty input instead of raising ValueError.")});
    for payload in [prompt, edit, stop] {
        env.hook(None, &payload);
    }
}

#[test]
fn the_live_stream_delivers_what_other_processes_write() {
    let env = Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "0");
    let server = env.serve();
    let mut events = server.events();
    let hello = events.next(Duration::from_secs(5)).expect("hello");
    assert_eq!(hello.name, "hello");
    assert!(hello.json()["processing"]["events_pending"].is_i64());

    run_episode(&env, "live-1", "csv");
    let hook_exited = Instant::now();
    let prompt = events
        .next_named("prompt", Duration::from_secs(5))
        .expect("a prompt event");
    assert!(
        prompt.json()["text"]
            .as_str()
            .unwrap()
            .contains("csv parser")
    );
    let observation = events
        .next_named("observation", Duration::from_secs(5))
        .expect("an observation event");
    let latency = hook_exited.elapsed();
    let o = observation.json();
    assert!(
        o["title"].as_str().unwrap().to_lowercase().contains("csv"),
        "{o}"
    );
    assert!(o["session_id"].is_i64() && o["prompt_id"].is_i64());
    let episode = events
        .next_named("episode", Duration::from_secs(5))
        .expect("an episode event with the summary");
    assert!(
        episode.json()["observation_ids"]
            .as_array()
            .unwrap()
            .contains(&o["id"])
    );
    assert!(
        episode.json()["summary"]["request"]
            .as_str()
            .unwrap()
            .contains("csv")
    );
    eprintln!("observation delivered {latency:?} after the Stop hook exited");

    // The server's own writes are announced too (another tab sees them).
    let id = o["id"].as_i64().unwrap();
    assert_eq!(
        server
            .call("DELETE", &format!("/api/observations/{id}"), None)
            .status,
        200
    );
    let forgotten = events
        .next_named("forgotten", Duration::from_secs(5))
        .unwrap();
    assert_eq!(forgotten.json()["ids"], json!([id]));
    let note = json!({"text": "Live notes arrive as observations"}).to_string();
    assert_eq!(
        server.call("POST", "/api/remember", Some(&note)).status,
        201
    );
    let arrived = events
        .next_named("observation", Duration::from_secs(5))
        .unwrap();
    assert_eq!(arrived.json()["generated_by"], "user");

    // A stream needs the token like everything else.
    let refused = request(server.port, "GET", "/api/stream", &[], None);
    assert_eq!(refused.status, 401);
}

#[test]
fn one_server_per_data_directory_and_a_clean_exit() {
    let env = Env::new();
    let mut server = env.serve();
    let started = Instant::now();
    let second = env
        .command(&["serve", "--port", "0"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(second.status.success(), "a second start exits 0");
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("already running"), "{said}");
    assert!(said.contains(&server.url), "it says where: {said}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let instance: Value =
        serde_json::from_slice(&std::fs::read(env.home.join("serve.json")).unwrap()).unwrap();
    assert_eq!(instance["pid"], server.child.id());
    assert_eq!(instance["port"], server.port);

    // A connected live stream does not hold the shutdown up.
    let mut events = server.events();
    events.next(Duration::from_secs(5)).expect("hello");
    let asked = Instant::now();
    let status = server.stop_with(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        events.next(Duration::from_secs(2)).is_none(),
        "the stream ended"
    );
    assert!(!env.home.join("serve.json").exists());
    assert!(
        env.processes().is_empty(),
        "left behind: {:?}",
        env.processes()
    );

    // A signal sent the moment the URL appears stops it gracefully too (the
    // handlers are installed before the URL is printed).
    let mut quick = env.serve();
    assert!(quick.stop_with(libc::SIGTERM).success());
    assert!(!env.home.join("serve.json").exists());

    // The lock went with it: a new server starts, and SIGINT stops it too.
    let mut again = env.serve();
    assert_eq!(again.get("/api/stats")["observations"], 0);
    assert!(again.stop_with(libc::SIGINT).success());
    assert!(env.processes().is_empty());

    // A port in use is a clear error.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = env
        .command(&["serve", "--port", &port])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));
}

/// Chaos: the server is SIGKILLed while a client holds the live stream and
/// sessions go on. The client sees the stream end, hooks never notice (the
/// database is the only channel), the stale `serve.json` does not stop a new
/// server, and the new one serves everything, the downtime's work included.
#[test]
fn a_server_killed_mid_stream_loses_nothing_and_restarts() {
    let env = Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "0");
    let mut server = env.serve();
    let mut events = server.events();
    events.next(Duration::from_secs(5)).expect("hello");
    run_episode(&env, "before-kill", "json");
    events
        .next_named("observation", Duration::from_secs(10))
        .expect("live before the kill");

    // SAFETY: killing our own child.
    unsafe { libc::kill(server.child.id() as libc::pid_t, libc::SIGKILL) };
    let status = server.child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    // What was already sent may still be read; then the stream ends.
    let mut buffered = 0;
    while events.next(Duration::from_secs(5)).is_some() {
        buffered += 1;
        assert!(buffered < 100, "the stream did not end");
    }
    assert!(
        env.home.join("serve.json").exists(),
        "left stale by SIGKILL"
    );

    run_episode(&env, "while-down", "yaml");

    let mut again = env.serve();
    let stats = again.get("/api/stats");
    assert_eq!(stats["prompts"], 2, "{stats}");
    let found = again.get("/api/search?q=yaml%20parser");
    assert!(
        titles(&found["items"]).iter().any(|t| t.contains("yaml")),
        "{found}"
    );
    let mut live = again.events();
    live.next(Duration::from_secs(5)).expect("hello");
    run_episode(&env, "after-restart", "toml");
    live.next_named("observation", Duration::from_secs(10))
        .expect("live again");
    assert!(again.stop_with(libc::SIGTERM).success());
    assert!(env.processes().is_empty(), "{:?}", env.processes());
}

/// Read from `stream` until the server closes it (or 10 s pass); what came.
fn read_until_closed(stream: &mut std::net::TcpStream) -> (String, Duration) {
    use std::io::Read;
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

fn connect(port: u16, sent: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(sent.as_bytes()).unwrap();
    stream
}

#[test]
fn slow_idle_and_surplus_connections_are_cut_off() {
    let env = Env::new()
        .env("MNEMO_SERVE_HEADER_TIMEOUT_SECS", "1")
        .env("MNEMO_SERVE_MAX_CONNECTIONS", "3");
    let served = env.serve();
    let port = served.port;
    let host = format!("Host: 127.0.0.1:{port}\r\n");

    // Headers that never end: the connection is closed after the timeout.
    let mut trickle = connect(port, &format!("GET /api/stats HTTP/1.1\r\n{host}"));
    let (_, waited) = read_until_closed(&mut trickle);
    assert!(
        waited >= Duration::from_millis(900),
        "closed early: {waited:?}"
    );

    // A finished request on a keep-alive connection, then silence.
    let mut idle = connect(port, &format!("GET / HTTP/1.1\r\n{host}\r\n"));
    let (answer, waited) = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited >= Duration::from_millis(900),
        "closed early: {waited:?}"
    );

    // A body announced but never sent: 408, not a handler waiting forever.
    let bearer = served.bearer();
    let mut slow_body = connect(
        port,
        &format!(
            "POST /api/remember HTTP/1.1\r\n{host}Authorization: {bearer}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"text\":"
        ),
    );
    let (answer, _) = read_until_closed(&mut slow_body);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Three connections held open: a fourth is told why and closed at once.
    let held: Vec<_> = (0..3)
        .map(|_| connect(port, "GET / HTTP/1.1\r\n"))
        .collect();
    // On a loaded machine the server may not have accepted all three yet:
    // a surplus connection that got a free slot is cut off by the header
    // timeout instead, and the next one must meet the cap.
    let mut tries = Vec::new();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(200));
        let mut surplus = connect(port, "");
        let (answer, waited) = read_until_closed(&mut surplus);
        if answer.starts_with("HTTP/1.1 503") && waited < Duration::from_millis(900) {
            assert!(answer.contains("too many open connections"), "{answer}");
            tries.clear();
            break;
        }
        tries.push(format!("{answer:?} after {waited:?}"));
    }
    assert!(
        tries.is_empty(),
        "a connection over the cap was not refused at once: {tries:?}"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    let answer = loop {
        let mut stream = connect(
            port,
            &format!(
                "GET /api/stats HTTP/1.1\r\n{host}Authorization: {bearer}\r\nConnection: close\r\n\r\n"
            ),
        );
        let (answer, _) = read_until_closed(&mut stream);
        if !answer.starts_with("HTTP/1.1 503") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = answer.get(9..12).unwrap_or("");
    assert_eq!(status, "200", "slots come back when connections close");
}

#[test]
fn duplicate_missing_and_conflicting_hosts_are_refused() {
    let env = Env::new();
    let served = env.serve();
    let port = served.port;
    let own = format!("127.0.0.1:{port}");
    let bearer = served.bearer();
    let auth = ("Authorization", bearer.as_str());
    let raw = |head: String| {
        let mut stream = connect(port, &head);
        read_until_closed(&mut stream).0
    };
    let status = |answer: String| answer.get(9..12).unwrap_or("").to_string();
    assert_eq!(
        status(raw(format!(
            "GET /api/stats HTTP/1.1\r\nHost: {own}\r\nHost: evil.example\r\n\
             Authorization: {bearer}\r\nConnection: close\r\n\r\n"
        ))),
        "400",
        "two Host headers"
    );
    assert_eq!(
        status(raw(format!(
            "GET /api/stats HTTP/1.0\r\nAuthorization: {bearer}\r\n\r\n"
        ))),
        "400",
        "no Host"
    );
    let absolute = |target: &str, host: &str| {
        request(port, "GET", target, &[("Host", host), auth], None).status
    };
    assert_eq!(absolute(&format!("http://{own}/api/stats"), &own), 200);
    assert_eq!(
        absolute(&format!("http://evil.example:{port}/api/stats"), &own),
        400,
        "the target names another host than Host"
    );
    assert_eq!(
        absolute(
            &format!("http://evil.example:{port}/api/stats"),
            &format!("evil.example:{port}")
        ),
        403
    );
}

#[test]
fn search_counts_what_lies_past_the_page_and_the_api_shares_the_cli_rules() {
    let env = seeded();
    let server = env.serve();
    let billing = server.get("/api/search?q=tax%20rounding&limit=1");
    assert_eq!(billing["items"].as_array().unwrap().len(), 1);
    assert_eq!(billing["more"], json!({"count": 0, "at_least": false}));
    let recent = server.get("/api/search?limit=1");
    assert_eq!(recent["items"].as_array().unwrap().len(), 1);
    assert!(recent["more"]["count"].as_u64().unwrap() >= 4, "{recent}");
    // Across projects every item names its project; `all_projects` says so
    // explicitly, and contradicting it with a project is refused.
    let all = server.get("/api/search?all_projects=true");
    let roots: std::collections::HashSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["project"].as_str().unwrap())
        .collect();
    assert!(roots.contains("/src/billing") && roots.len() >= 2, "{all}");
    let both = server.call(
        "GET",
        "/api/search?project=/src/billing&all_projects=true",
        None,
    );
    assert_eq!(both.status, 400, "{}", both.body);
    let billing_only = server.get("/api/search?project=/src/billing");
    assert_eq!(billing_only["items"].as_array().unwrap().len(), 2);
    // Not found is 404 with the CLI's words.
    let missing = server.call("GET", "/api/search?q=x&project=/nowhere", None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    let missing = server.call("GET", "/api/timeline?around=999999", None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "no observation #999999");
    let bad = server.call("GET", "/api/timeline?around=x1", None);
    assert_eq!(bad.status, 400, "{}", bad.body);
    // The note `mnemo remember` stored is the same note here: one recipe.
    let project = env.project.to_str().unwrap();
    let body = json!({
        "text": "Viewer pages are keyed on (created_at, id), never offsets",
        "type": "decision",
        "project": project,
    });
    let again = server.call("POST", "/api/remember", Some(&body.to_string()));
    assert_eq!(
        (again.status, again.json()["stored"].clone()),
        (200, json!(false))
    );
}
