//! `mnemo mcp` through a real MCP client (rmcp's) that spawns the real binary
//! over stdio, as Claude Code does, on the seed scenario's memories.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::mcp_client::{Client, call, connect, text};
use common::*;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

/// The project root of the fib scenario.
const FIB: &str = "/home/dev/fib-cli";

/// An env holding the fib scenario, ingested and compressed.
fn fib_memories() -> Env {
    let env = Env::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compress/tests/fixtures/scenarios/fib_cli.jsonl");
    for args in [vec!["ingest", fixture.to_str().unwrap()], vec!["compress"]] {
        let out = env.command(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    env
}

/// A successful call's text.
async fn ok(client: &Client, tool: &'static str, args: Value) -> String {
    let result = call(client, tool, args.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} {args}: {}",
        text(&result)
    );
    text(&result)
}

/// A refused call's message: a tool error, on one line.
async fn refused(client: &Client, tool: &'static str, args: Value) -> String {
    let result = call(client, tool, args.clone()).await;
    let message = text(&result);
    assert_eq!(result.is_error, Some(true), "{tool} {args}: {message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    message
}

/// Ids of the index lines (`#12 | …`) of a search or timeline answer.
fn index_ids(answer: &str) -> Vec<i64> {
    answer
        .lines()
        .filter_map(|l| l.strip_prefix('#')?.split(" | ").next()?.parse().ok())
        .collect()
}

fn is_running(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[tokio::test(flavor = "current_thread")]
async fn a_client_searches_reads_and_remembers() {
    let env = fib_memories();
    let (client, pid) = connect(&env, &["--project", FIB]).await;

    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().unwrap().name, "mnemo");
    let instructions = info.instructions.as_deref().unwrap_or("");
    for word in [
        "search",
        "timeline",
        "get_observations",
        "remember",
        "index",
    ] {
        assert!(instructions.contains(word), "{instructions}");
    }

    // The four tools, with claude-mem's parameter names.
    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(
        names,
        ["get_observations", "remember", "search", "timeline"]
    );
    for (tool, params, required) in [
        (
            "search",
            &[
                "query",
                "limit",
                "offset",
                "project",
                "type",
                "obs_type",
                "concepts",
                "files",
                "dateStart",
                "dateEnd",
                "orderBy",
            ][..],
            &[][..],
        ),
        (
            "timeline",
            &["anchor", "query", "depth_before", "depth_after", "project"][..],
            &[][..],
        ),
        ("get_observations", &["ids"][..], &["ids"][..]),
        (
            "remember",
            &["text", "title", "type", "project"][..],
            &["text"][..],
        ),
    ] {
        let t = tools.iter().find(|t| t.name == tool).unwrap();
        assert!(t.description.as_deref().is_some_and(|d| !d.is_empty()));
        let schema = Value::Object((*t.input_schema).clone());
        assert_eq!(schema["type"], "object", "{tool}: {schema}");
        for p in params {
            assert!(schema["properties"][p].is_object(), "{tool}.{p}: {schema}");
            assert!(
                schema["properties"][p]["description"].is_string(),
                "{tool}.{p} is undocumented: {schema}"
            );
        }
        let mut req: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        req.sort();
        assert_eq!(req, required, "{tool}: {schema}");
    }

    // search → an index (a header, one line per hit, how to read further)
    // that holds the bugfix.
    let index = ok(&client, "search", json!({"query": "fibonacci bug"})).await;
    let lines: Vec<&str> = index.lines().collect();
    assert!(lines.len() >= 3, "{index}");
    assert!(lines[0].contains("fibonacci bug"), "{index}");
    let rows: Vec<Vec<&str>> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.split(" | ").collect())
        .collect();
    for row in &rows {
        assert_eq!(row.len(), 5, "{index}");
        assert!(row[0].starts_with('#'), "{index}");
        // Local time with its offset, as the CLI prints (TZ=UTC here).
        assert_eq!(row[1].len(), "2026-11-23 21:58 +00:00".len(), "{index}");
        assert!(row[1].ends_with(" +00:00"), "{index}");
        assert!(
            row[4].starts_with('~') && row[4].ends_with(" tokens"),
            "{index}"
        );
    }
    let bugfix: i64 = rows
        .iter()
        .find(|row| row[2] == "bugfix")
        .unwrap_or_else(|| panic!("no bugfix in {index}"))[0][1..]
        .parse()
        .unwrap();
    let last = lines.last().unwrap();
    assert!(
        last.contains("get_observations") && last.contains("timeline"),
        "{index}"
    );

    // Filters and paging.
    let features = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "type": "feature", "limit": 5}),
    )
    .await;
    assert!(
        features
            .lines()
            .filter(|l| l.starts_with('#'))
            .all(|l| l.contains(" | feature | ")),
        "{features}"
    );
    let by_file = ok(&client, "search", json!({"files": "test_fibonacci.py"})).await;
    assert_eq!(index_ids(&by_file).len(), 1, "{by_file}");
    let all = ok(&client, "search", json!({"orderBy": "date_asc"})).await;
    let ids = index_ids(&all);
    assert!(ids.len() >= 2, "{all}");
    let second = ok(
        &client,
        "search",
        json!({"orderBy": "date_asc", "limit": 1, "offset": 1}),
    )
    .await;
    assert_eq!(index_ids(&second), [ids[1]], "{second}");
    let future = ok(&client, "search", json!({"dateStart": "2999-01-01"})).await;
    assert!(future.starts_with("No memories found"), "{future}");

    // timeline around the bugfix, by id and by query.
    let around = ok(&client, "timeline", json!({"anchor": format!("#{bugfix}")})).await;
    let anchor_line = around
        .lines()
        .find(|l| l.starts_with(&format!("#{bugfix} |")))
        .unwrap_or_else(|| panic!("{around}"));
    assert!(anchor_line.ends_with("<- anchor"), "{around}");
    assert!(index_ids(&around).len() > 1, "{around}");
    // By query: centred on the best search hit for that query.
    let query = "negative n raises ValueError";
    let best = ok(&client, "search", json!({"query": query, "limit": 1})).await;
    let by_query = ok(
        &client,
        "timeline",
        json!({"query": query, "depth_before": 0, "depth_after": 0}),
    )
    .await;
    assert_eq!(index_ids(&by_query), index_ids(&best), "{by_query}");

    // get_observations → full records.
    let full = ok(&client, "get_observations", json!({"ids": [bugfix]})).await;
    let records: Value = serde_json::from_str(&full).expect("JSON records");
    let record = &records[0];
    assert_eq!(record["id"], bugfix);
    assert_eq!(record["project"], FIB);
    assert!(
        record["facts"].to_string().contains("RecursionError"),
        "{record}"
    );
    for field in ["title", "subtitle", "narrative", "concepts", "created_at"] {
        assert!(!record[field].is_null(), "{field}: {record}");
    }
    let mixed = call(
        &client,
        "get_observations",
        json!({"ids": [format!("#{bugfix}"), 999_999]}),
    )
    .await;
    assert_ne!(mixed.is_error, Some(true));
    assert!(
        text(&mixed).contains("Not found: #999999"),
        "{}",
        text(&mixed)
    );

    // remember → found by search; secrets never stored.
    let note = "The release checklist lives in docs/RELEASE.md. Deploy with \
                token ghp_abcdefghijklmnopqrstuvwxyz0123456789 only from CI.";
    let stored = ok(
        &client,
        "remember",
        json!({"text": note, "type": "decision"}),
    )
    .await;
    assert!(stored.starts_with("Remembered as #"), "{stored}");
    assert!(stored.contains("removed before storing"), "{stored}");
    let id: i64 = stored["Remembered as #".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let found = ok(&client, "search", json!({"query": "release checklist"})).await;
    assert_eq!(index_ids(&found).first(), Some(&id), "{found}");
    // The note was embedded as it was stored: found by meaning too.
    assert_eq!(
        env.count("SELECT count(*) FROM vector_queue"),
        0,
        "every memory has its vector"
    );
    let shipping = ok(
        &client,
        "search",
        json!({"query": "how do we ship a new version"}),
    )
    .await;
    assert_eq!(index_ids(&shipping).first(), Some(&id), "{shipping}");
    assert!(found.contains(" | decision | "), "{found}");
    let again = ok(
        &client,
        "remember",
        json!({"text": note, "type": "decision"}),
    )
    .await;
    assert!(again.starts_with("Already remembered"), "{again}");
    let kept = ok(
        &client,
        "get_observations",
        json!({"ids": format!("#{id}")}),
    )
    .await;
    assert!(!kept.contains("ghp_abcdefghij"), "{kept}");
    assert!(kept.contains("[REDACTED:"), "{kept}");
    assert!(!contains(&all_bytes(&env.home), "ghp_abcdefghij"));

    // Past prompts and session summaries are searchable too.
    let prompts = ok(
        &client,
        "search",
        json!({"query": "crashes traceback", "type": "prompts"}),
    )
    .await;
    assert!(
        prompts.starts_with("1 prompts for \"crashes traceback\"")
            && prompts.contains("#P2 | ")
            && prompts.contains("running it with -5 crashes with a giant traceback"),
        "{prompts}"
    );
    let sessions = ok(
        &client,
        "search",
        json!({"query": "pytest tests", "type": "sessions"}),
    )
    .await;
    assert!(sessions.contains("#S"), "{sessions}");
    assert!(
        sessions.contains("add pytest tests for it and commit"),
        "{sessions}"
    );
    let m = refused(
        &client,
        "search",
        json!({"type": "prompts", "obs_type": "bugfix"}),
    )
    .await;
    assert!(m.contains("leave them out"), "{m}");

    // Bad arguments are tool errors; the server keeps working.
    let m = refused(&client, "get_observations", json!({})).await;
    assert!(m.contains("ids"), "{m}");
    let m = refused(&client, "get_observations", json!({"ids": ["nope"]})).await;
    assert!(m.contains("nope"), "{m}");
    let m = refused(&client, "get_observations", json!({"ids": [999_999]})).await;
    assert!(m.contains("999999"), "{m}");
    let m = refused(&client, "timeline", json!({"anchor": "nope"})).await;
    assert!(m.contains("anchor") && m.contains("nope"), "{m}");
    let m = refused(&client, "timeline", json!({"anchor": 999_999})).await;
    assert!(m.contains("999999"), "{m}");
    let m = refused(&client, "search", json!({"orderBy": "sideways"})).await;
    assert!(m.contains("sideways"), "{m}");
    let m = refused(&client, "search", json!({"type": "bug"})).await;
    assert!(m.contains("bugfix"), "{m}");
    let m = refused(&client, "search", json!({"limit": "many"})).await;
    assert!(m.contains("limit"), "{m}");
    let m = refused(&client, "search", json!({"dateEnd": "last tuesday"})).await;
    assert!(m.contains("dateEnd"), "{m}");
    let m = refused(&client, "search", json!({"project": "no-such-project"})).await;
    assert!(m.contains("no-such-project"), "{m}");
    let m = refused(&client, "remember", json!({"title": "no text"})).await;
    assert!(m.contains("text"), "{m}");
    let m = refused(&client, "remember", json!({"text": "   "})).await;
    assert!(m.contains("empty"), "{m}");
    assert!(
        client
            .call_tool(CallToolRequestParams::new("no_such_tool"))
            .await
            .is_err()
    );
    let still = ok(&client, "search", json!({"query": "fibonacci bug"})).await;
    assert_eq!(index_ids(&still), index_ids(&index));

    // Disconnecting ends the server by itself (rmcp only sends SIGTERM
    // after 3 s), and leaves no process behind.
    let started = Instant::now();
    client.cancel().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the server did not exit on its own: {:?}",
        started.elapsed()
    );
    assert!(!is_running(pid), "mnemo mcp (pid {pid}) is still running");
}

#[tokio::test(flavor = "current_thread")]
async fn times_are_local_with_their_offset_like_the_cli() {
    let env = Env::new().env("TZ", "<+0530>-5:30");
    let note = env.tmp.path().join("one.jsonl");
    let line = json!({
        "project": env.project, "type": "decision", "title": "Invoices restart at one each year",
        "created_at": "2026-11-23T21:23:00Z",
    });
    std::fs::write(&note, line.to_string()).unwrap();
    env.ok(&["import", note.to_str().unwrap()]);
    let shown = "2026-11-24 02:53 +05:30";
    assert!(env.ok(&["search", "invoices"]).contains(shown));
    let (client, _) = connect(&env, &[]).await;
    let index = ok(&client, "search", json!({"query": "invoices"})).await;
    assert!(
        index.contains(&format!(" | {shown} | decision | ")),
        "{index}"
    );
    let around = ok(&client, "timeline", json!({"query": "invoices"})).await;
    assert!(around.contains(shown), "{around}");
    // Times are read as they are printed: a bare date is a local day.
    for (bounds, found) in [
        (json!({"dateStart": shown}), true),
        (json!({"dateStart": "2026-11-24 02:54 +05:30"}), false),
        (json!({"dateStart": "2026-11-24"}), true),
        (json!({"dateEnd": "2026-11-23"}), false),
        (json!({"dateStart": "2026-11-24 02:53"}), true),
    ] {
        let mut args = json!({"query": "invoices"});
        args.as_object_mut()
            .unwrap()
            .extend(bounds.as_object().unwrap().clone());
        let index = ok(&client, "search", args.clone()).await;
        assert_eq!(index.contains("Invoices"), found, "{args}: {index}");
    }
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn calls_default_to_the_project_the_server_runs_in() {
    let env = fib_memories();
    // Started in an empty git project: the fib memories are elsewhere.
    let (client, _) = connect(&env, &[]).await;
    let here = ok(&client, "search", json!({"query": "fibonacci"})).await;
    assert!(here.starts_with("No memories found"), "{here}");
    assert!(here.contains(env.project.to_str().unwrap()), "{here}");
    let everywhere = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "project": "*"}),
    )
    .await;
    assert!(!index_ids(&everywhere).is_empty(), "{everywhere}");
    let by_name = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "project": "fib-cli"}),
    )
    .await;
    assert_eq!(index_ids(&by_name), index_ids(&everywhere), "{by_name}");
    let by_root = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "project": format!("{FIB}/")}),
    )
    .await;
    assert_eq!(index_ids(&by_root), index_ids(&everywhere), "{by_root}");
    // A note lands in the server's project.
    let stored = ok(
        &client,
        "remember",
        json!({"text": "Shop prices are stored in cents."}),
    )
    .await;
    assert!(stored.contains(env.project.to_str().unwrap()), "{stored}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn search_keeps_one_teammates_memories_by_author() {
    let env = fib_memories();
    import_from_teammate(
        &env,
        "Ada",
        json!({"project": FIB, "type": "decision", "title": "fibonacci(0) is 0, not 1",
               "narrative": "The sequence starts at zero, as the tests expect."}),
    );
    let (client, _) = connect(&env, &["--project", FIB]).await;
    let everyone = ok(&client, "search", json!({"query": "fibonacci"})).await;
    assert!(index_ids(&everyone).len() > 1, "{everyone}");
    let by_ada = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "author": "ada"}),
    )
    .await;
    let ids = index_ids(&by_ada);
    assert_eq!(ids.len(), 1, "{by_ada}");
    assert!(by_ada.contains("fibonacci(0) is 0"), "{by_ada}");
    assert!(by_ada.contains("Ada"), "the author is named: {by_ada}");
    assert!(index_ids(&everyone).contains(&ids[0]), "{everyone}");
    let by_nobody = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "author": "Nobody"}),
    )
    .await;
    assert!(by_nobody.starts_with("No memories found"), "{by_nobody}");
    assert!(by_nobody.contains("by Nobody"), "{by_nobody}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_locked_database_fails_one_call_and_blocks_nothing() {
    let env = fib_memories().env("MNEMO_STORE_BUSY_TIMEOUT_MS", "300");
    let (client, _) = connect(&env, &["--project", FIB]).await;
    // Another writer holds the write lock for the whole call.
    let db = env.db();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let m = refused(&client, "remember", json!({"text": "Locked out."})).await;
    assert!(m.contains("locked"), "{m}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Readers are not blocked by a writer (WAL).
    let index = ok(&client, "search", json!({"query": "fibonacci"})).await;
    assert!(!index_ids(&index).is_empty(), "{index}");
    db.execute_batch("COMMIT").unwrap();
    let stored = ok(&client, "remember", json!({"text": "Unlocked again."})).await;
    assert!(stored.starts_with("Remembered as #"), "{stored}");
    client.cancel().await.unwrap();
}

/// Without an MCP library: stdout carries only JSON-RPC, and closing stdin
/// ends the server with status 0.
#[test]
fn stdout_is_only_protocol_and_eof_ends_the_server() {
    let env = fib_memories();
    let mut child = env
        .command(&["mcp", "--project", FIB])
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "search", "arguments": {"query": "fibonacci bug"}}}),
    ];
    for r in &requests {
        writeln!(stdin, "{r}").unwrap();
    }
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut answers = Vec::new();
    while answers.len() < 2 {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "stdout closed early"
        );
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        if v.get("id").is_some() {
            answers.push(v);
        }
    }
    let search = answers.iter().find(|a| a["id"] == 2).unwrap();
    assert!(
        search["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains(" | bugfix | "),
        "{search}"
    );
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "mnemo mcp ignored EOF on stdin");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.trim().is_empty(), "stray stdout: {rest:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

#[tokio::test(flavor = "current_thread")]
async fn every_project_on_request_counted_pages_and_one_recipe_for_notes() {
    let env = fib_memories();
    let shop = env.project.to_str().unwrap().to_string();
    for i in 0..12 {
        let note = format!("Zebra crossing number {i} was repainted");
        env.ok(&["remember", "--project", &shop, &note]);
    }
    let (client, _) = connect(&env, &[]).await;
    // The server's project; past the page, how many more.
    let page = ok(&client, "search", json!({"query": "zebra", "limit": 5})).await;
    assert_eq!(index_ids(&page).len(), 5, "{page}");
    assert!(
        page.contains(" 7 more: search again with offset 5."),
        "{page}"
    );
    assert!(!page.contains(&format!("| {shop}")), "one project: {page}");
    let last = ok(&client, "search", json!({"query": "zebra", "offset": 10})).await;
    assert!(!last.contains("more:"), "{last}");
    // Every project, each line naming its own.
    let all = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "all_projects": true}),
    )
    .await;
    let lines: Vec<&str> = all.lines().filter(|l| l.starts_with('#')).collect();
    assert!(!lines.is_empty(), "{all}");
    assert!(
        lines.iter().all(|l| l.ends_with(&format!("| {FIB}"))),
        "{all}"
    );
    let m = refused(
        &client,
        "search",
        json!({"query": "x", "all_projects": true, "project": "fib-cli"}),
    )
    .await;
    assert!(m.contains("choose one"), "{m}");
    // A summary's id centers a timeline on its turn.
    let sessions = ok(
        &client,
        "search",
        json!({"query": "fibonacci", "type": "sessions", "project": "*"}),
    )
    .await;
    let summary = sessions
        .lines()
        .find_map(|l| l.strip_prefix("#S")?.split(" | ").next())
        .unwrap_or_else(|| panic!("{sessions}"));
    let around = ok(
        &client,
        "timeline",
        json!({"anchor": format!("#S{summary}")}),
    )
    .await;
    assert!(around.contains("<- anchor"), "{around}");
    let m = refused(&client, "timeline", json!({"anchor": "#S99999"})).await;
    assert_eq!(m, "no session summary #S99999");
    // A note the CLI stored is the same note through MCP: one recipe.
    let again = ok(
        &client,
        "remember",
        json!({"text": "Zebra crossing number 3 was repainted"}),
    )
    .await;
    assert!(again.starts_with("Already remembered"), "{again}");
    client.cancel().await.unwrap();
}
