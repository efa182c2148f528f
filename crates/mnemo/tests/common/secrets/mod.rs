//! The redaction harness: the corpus (`corpus.rs`) sent through every way
//! text reaches mnemo — each hook field Claude Code fills, the importers,
//! `remember` from the CLI, MCP and HTTP, archive imports — by the real
//! binary, each carrier in its own data directory. A secret is redacted on a
//! carrier only if none of its values (nor, where distinctive, their first
//! 12, middle 16 or last 12 characters) is found in the data directory's
//! files (database, WAL, spool, logs), in any stored row, in `mnemo export`,
//! or in what SessionStart, recall and search give back. A benign item is
//! untouched if every one of its values is still found verbatim in the
//! stored rows.
//!
//! Shared by `tests/secrets.rs` (the targets) and `benches/redaction.rs`
//! (the figures).

#![allow(dead_code)] // the test and the bench use different parts

pub mod corpus;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use serde_json::{Value, json};

use crate::common::{Env, SESSION, all_bytes, mcp_client};
pub use corpus::{BENIGN, FAMILIES, Item, corpus};

/// Items per event: keeps every field well under the 16 KiB field cap, so
/// nothing is cut away (a cut would hide a leak).
const CHUNK: usize = 12;

/// One way text reaches mnemo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    BashCommand,
    BashStdout,
    BashStderr,
    ToolFailure,
    Read,
    Edit,
    Write,
    GitDiff,
    GitLog,
    Grep,
    WebFetch,
    McpToolInput,
    Prompt,
    Stop,
    SubagentStop,
    Subagent,
    Spooled,
    ImportClaudeCode,
    ImportClaudeMem,
    RememberCli,
    RememberMcp,
    RememberHttp,
    ArchiveImport,
    LinesImport,
}

impl Carrier {
    pub const ALL: [Carrier; 24] = [
        Carrier::BashCommand,
        Carrier::BashStdout,
        Carrier::BashStderr,
        Carrier::ToolFailure,
        Carrier::Read,
        Carrier::Edit,
        Carrier::Write,
        Carrier::GitDiff,
        Carrier::GitLog,
        Carrier::Grep,
        Carrier::WebFetch,
        Carrier::McpToolInput,
        Carrier::Prompt,
        Carrier::Stop,
        Carrier::SubagentStop,
        Carrier::Subagent,
        Carrier::Spooled,
        Carrier::ImportClaudeCode,
        Carrier::ImportClaudeMem,
        Carrier::RememberCli,
        Carrier::RememberMcp,
        Carrier::RememberHttp,
        Carrier::ArchiveImport,
        Carrier::LinesImport,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Carrier::BashCommand => "PostToolUse Bash command",
            Carrier::BashStdout => "PostToolUse Bash stdout",
            Carrier::BashStderr => "PostToolUse Bash stderr",
            Carrier::ToolFailure => "PostToolUseFailure error",
            Carrier::Read => "Read content",
            Carrier::Edit => "Edit old/new",
            Carrier::Write => "Write content",
            Carrier::GitDiff => "Bash git diff",
            Carrier::GitLog => "Bash git log -p",
            Carrier::Grep => "Grep output",
            Carrier::WebFetch => "WebFetch result",
            Carrier::McpToolInput => "MCP tool input (JSON)",
            Carrier::Prompt => "UserPromptSubmit prompt",
            Carrier::Stop => "Stop closing message",
            Carrier::SubagentStop => "SubagentStop closing message",
            Carrier::Subagent => "Agent (subagent) report",
            Carrier::Spooled => "Bash stdout, spooled (database locked)",
            Carrier::ImportClaudeCode => "import claude-code",
            Carrier::ImportClaudeMem => "import claude-mem",
            Carrier::RememberCli => "remember (CLI)",
            Carrier::RememberMcp => "remember (MCP)",
            Carrier::RememberHttp => "remember (HTTP API)",
            Carrier::ArchiveImport => "import archive",
            Carrier::LinesImport => "import observation lines",
        }
    }

    /// The path the carrier belongs to, for the per-path targets.
    pub fn path(self) -> &'static str {
        match self {
            Carrier::ImportClaudeCode
            | Carrier::ImportClaudeMem
            | Carrier::ArchiveImport
            | Carrier::LinesImport => "import",
            Carrier::RememberCli | Carrier::RememberMcp | Carrier::RememberHttp => "remember",
            _ => "live hook",
        }
    }

    /// Whether events are grouped by the file their items live in.
    fn by_file(self) -> bool {
        matches!(
            self,
            Carrier::BashCommand
                | Carrier::BashStdout
                | Carrier::BashStderr
                | Carrier::Read
                | Carrier::Edit
                | Carrier::Write
                | Carrier::GitDiff
                | Carrier::GitLog
                | Carrier::Grep
                | Carrier::McpToolInput
                | Carrier::Spooled
        )
    }
}

/// What one carrier did with the corpus.
pub struct CarrierResult {
    pub carrier: Carrier,
    /// Indices (into the corpus) of secret items found somewhere.
    pub leaked: Vec<usize>,
    /// Indices of benign items changed or lost.
    pub touched: Vec<usize>,
    pub secrets: usize,
    pub benign: usize,
    /// Wall time of the carrier: sending and checking.
    pub seconds: f64,
}

impl CarrierResult {
    pub fn recall(&self) -> f64 {
        1.0 - self.leaked.len() as f64 / self.secrets as f64
    }
    pub fn benign_kept(&self) -> f64 {
        1.0 - self.touched.len() as f64 / self.benign as f64
    }
}

/// A group of items sent as one event, with the file they share (if grouped).
struct Chunk<'a> {
    file: &'static str,
    items: Vec<&'a Item>,
}

impl Chunk<'_> {
    fn text(&self) -> String {
        self.items
            .iter()
            .map(|i| i.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// Secrets and benign items mixed evenly, so every event holds both.
fn interleaved(items: &[Item]) -> Vec<&Item> {
    let (benign, secret): (Vec<&Item>, Vec<&Item>) = items.iter().partition(|i| i.is_benign());
    let mut placed: Vec<(f64, &Item)> = Vec::new();
    for list in [&secret, &benign] {
        for (n, item) in list.iter().enumerate() {
            placed.push(((n as f64 + 0.5) / list.len() as f64, item));
        }
    }
    placed.sort_by(|a, b| a.0.total_cmp(&b.0));
    placed.into_iter().map(|(_, item)| item).collect()
}

fn chunks(items: &[Item], by_file: bool) -> Vec<Chunk<'_>> {
    let order = interleaved(items);
    if !by_file {
        return order
            .chunks(CHUNK)
            .map(|c| Chunk {
                file: "notes.txt",
                items: c.to_vec(),
            })
            .collect();
    }
    let mut files: Vec<(&'static str, Vec<&Item>)> = Vec::new();
    for item in order {
        match files.iter_mut().find(|(f, _)| *f == item.file) {
            Some((_, list)) => list.push(item),
            None => files.push((item.file, vec![item])),
        }
    }
    // Whole files packed into events of up to CHUNK items, named after their
    // first file; a secret file (`.env`) is never packed with others, so
    // its blanking by name decides nothing about the rest.
    let mut out: Vec<Chunk> = Vec::new();
    for (file, list) in files {
        for piece in list.chunks(CHUNK) {
            match out.last_mut() {
                Some(last)
                    if last.items.len() + piece.len() <= CHUNK
                        && !is_secret_file(last.file)
                        && !is_secret_file(file) =>
                {
                    last.items.extend_from_slice(piece)
                }
                _ => out.push(Chunk {
                    file,
                    items: piece.to_vec(),
                }),
            }
        }
    }
    out
}

/// The corpus's file names that mnemo treats as secret files by name.
fn is_secret_file(file: &str) -> bool {
    file == ".env"
}

/// Send the whole corpus through `carrier` in a fresh data directory and
/// check every place it could have ended up.
pub fn run(carrier: Carrier, items: &[Item]) -> CarrierResult {
    let start = Instant::now();
    let mut env = Env::new();
    let parts = chunks(items, carrier.by_file());
    let mut outputs = match carrier {
        Carrier::ImportClaudeCode => import_claude_code(&env, &parts),
        Carrier::ImportClaudeMem => import_claude_mem(&env, &parts),
        Carrier::RememberCli => remember_cli(&env, &parts),
        Carrier::RememberMcp => remember_mcp(&env, &parts),
        Carrier::RememberHttp => remember_http(&env, &parts),
        Carrier::ArchiveImport => import_archive(&env, &parts),
        Carrier::LinesImport => import_lines(&env, &parts),
        _ => live_session(&mut env, carrier, &parts),
    };
    outputs.extend(read_back(&env));
    let stored = stored_rows(&env);
    outputs.extend_from_slice(stored.as_bytes());
    outputs.extend(all_bytes(&env.home));

    // One pass over everything for every needle of every secret item.
    let needles = needles(items);
    let owners: Vec<usize> = (0..items.len())
        .flat_map(|n| std::iter::repeat_n(n, needles[n].len()))
        .collect();
    let finder = AhoCorasick::new(needles.iter().flatten()).unwrap();
    let mut found = vec![false; items.len()];
    for hit in finder.find_overlapping_iter(&outputs) {
        found[owners[hit.pattern().as_usize()]] = true;
    }
    let mut leaked = Vec::new();
    let mut touched = Vec::new();
    for (n, item) in items.iter().enumerate() {
        if item.is_benign() {
            if !item.values.iter().all(|v| stored.contains(v.as_str())) {
                touched.push(n);
            }
        } else if found[n] {
            leaked.push(n);
        }
    }
    CarrierResult {
        carrier,
        leaked,
        touched,
        secrets: items.iter().filter(|i| !i.is_benign()).count(),
        benign: items.iter().filter(|i| i.is_benign()).count(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// What betrays each secret item: its values, and for a long value its
/// first 12, middle 16 and last 12 characters (a secret half redacted still
/// leaks) — each part only where it is found nowhere else in the corpus, so
/// a fixed prefix or a shared base64 head (`LS0tLS1CRUdJ`) names nothing.
fn needles(items: &[Item]) -> Vec<Vec<String>> {
    let all: String = items
        .iter()
        .map(|i| i.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let count = |needle: &str| memmem::find_iter(all.as_bytes(), needle.as_bytes()).count();
    items
        .iter()
        .map(|item| {
            let mut list = Vec::new();
            if item.is_benign() {
                return list;
            }
            for value in &item.values {
                list.push(value.clone());
                if value.len() < 24 || !value.is_ascii() {
                    continue;
                }
                let mid = value.len() / 2;
                let parts = [
                    &value[..12],
                    &value[mid - 8..mid + 8],
                    &value[value.len() - 12..],
                ];
                let own = count(value);
                list.extend(
                    parts
                        .iter()
                        .filter(|p| count(p) == own)
                        .map(|p| p.to_string()),
                );
            }
            list
        })
        .collect()
}

/// Every carrier over the corpus, `parallel` at a time.
pub fn run_all(items: &[Item], carriers: &[Carrier], parallel: usize) -> Vec<CarrierResult> {
    let mut results = Vec::new();
    for batch in carriers.chunks(parallel.max(1)) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|&c| scope.spawn(move || run(c, items)))
                .collect();
            results.extend(handles.into_iter().map(|h| h.join().expect("carrier run")));
        });
    }
    results
}

// ---------------------------------------------------------------- live hooks

/// One session as Claude Code sends it: start, a prompt, the carrier's
/// events, the closing Stop (which compresses the episode).
fn live_session(env: &mut Env, carrier: Carrier, parts: &[Chunk]) -> Vec<u8> {
    env.hook(None, &env.fixture("session_start__startup"));
    if carrier != Carrier::Prompt && carrier != Carrier::Stop {
        let mut prompt = env.fixture("user_prompt_submit__basic");
        prompt["prompt"] = json!("Set up the deploy configuration for the shop and check it works");
        env.hook(None, &prompt);
    }
    // Spooled: the events of Bash stdout while another connection holds the
    // write lock, so each goes to the spool (whose files are looked at
    // then), to be replayed by the closing Stop.
    const BUSY: &str = "MNEMO_STORE_BUSY_TIMEOUT_MS";
    let locker = (carrier == Carrier::Spooled).then(|| {
        // Hooks give up on the locked database quickly and spool.
        env.envs.push((BUSY.into(), "100".into()));
        let db = env.db();
        db.execute_batch("BEGIN EXCLUSIVE").unwrap();
        db
    });
    let sent = if locker.is_some() {
        Carrier::BashStdout
    } else {
        carrier
    };
    for (n, part) in parts.iter().enumerate() {
        for payload in events(env, sent, n, part) {
            env.hook(None, &payload);
        }
    }
    let mut seen = Vec::new();
    if let Some(db) = locker {
        assert_eq!(env.spool_files(), parts.len(), "every event was spooled");
        seen = all_bytes(&env.home);
        db.execute_batch("COMMIT").unwrap();
        env.envs.retain(|(key, _)| key != BUSY);
    }
    if carrier != Carrier::Stop {
        let mut stop = env.fixture("stop__basic");
        stop["last_assistant_message"] =
            json!("The deploy configuration is in place and the smoke test passes.");
        env.hook(None, &stop);
    }
    seen
}

/// The hook payloads that carry one chunk.
fn events(env: &Env, carrier: Carrier, n: usize, part: &Chunk) -> Vec<Value> {
    let text = part.text();
    let path = env.project.join(part.file);
    let path = path.to_str().unwrap();
    let id = json!(format!("toolu_corpus_{n:03}"));
    let bash = |command: String, stdout: &str, stderr: &str| {
        let mut p = env.fixture("post_tool_use__bash");
        p["tool_use_id"] = id.clone();
        p["tool_input"]["command"] = json!(command);
        p["tool_input"]["description"] = json!("Inspect the deploy configuration");
        p["tool_response"]["stdout"] = json!(stdout);
        p["tool_response"]["stderr"] = json!(stderr);
        p
    };
    let payload = match carrier {
        Carrier::BashCommand => {
            let command = if part.file.ends_with(".sh") || part.file == "notes.txt" {
                text
            } else {
                format!("cat > {} <<'EOF'\n{text}\nEOF", part.file)
            };
            bash(command, "", "")
        }
        Carrier::BashStdout => bash(format!("cat {}", part.file), &text, ""),
        Carrier::BashStderr => bash(
            format!("./scripts/check-config {}", part.file),
            "",
            &format!("error: {}: unexpected key near:\n{text}\n", part.file),
        ),
        Carrier::ToolFailure => {
            let mut p = env.fixture("post_tool_use_failure__bash");
            p["tool_use_id"] = id;
            p["tool_input"]["command"] = json!("npm run deploy");
            p["error"] = json!(format!(
                "Exit code 1\nDeploy failed, configuration was:\n{text}"
            ));
            p
        }
        Carrier::Read => {
            let mut p = env.fixture("post_tool_use__read");
            p["tool_use_id"] = id;
            p["tool_input"]["file_path"] = json!(path);
            p["tool_response"]["file"]["filePath"] = json!(path);
            p["tool_response"]["file"]["content"] = json!(text);
            p["tool_response"]["file"]["numLines"] = json!(text.lines().count());
            p["tool_response"]["file"]["totalLines"] = json!(text.lines().count());
            p
        }
        Carrier::Write => {
            let mut p = env.fixture("post_tool_use__write");
            p["tool_use_id"] = id;
            p["tool_input"]["file_path"] = json!(path);
            p["tool_input"]["content"] = json!(text);
            p["tool_response"]["filePath"] = json!(path);
            p["tool_response"]["content"] = json!(text);
            p
        }
        Carrier::Edit => {
            // Moving secrets out of a file: the old text has them, the new one
            // reads them from the environment.
            let mut new = text.clone();
            for item in &part.items {
                for v in item.values.iter().filter(|_| !item.is_benign()) {
                    new = new.replace(v.as_str(), "${FROM_ENV}");
                }
            }
            let lines: Vec<String> = text
                .lines()
                .map(|l| format!("-{l}"))
                .chain(new.lines().map(|l| format!("+{l}")))
                .collect();
            let mut p = env.fixture("post_tool_use__edit");
            p["tool_use_id"] = id;
            p["tool_input"] = json!({"file_path": path, "old_string": text, "new_string": new, "replace_all": false});
            p["tool_response"] = json!({
                "filePath": path, "oldString": text, "newString": new, "originalFile": text,
                "structuredPatch": [{"oldStart": 1, "oldLines": text.lines().count(), "newStart": 1,
                                     "newLines": new.lines().count(), "lines": lines}],
                "userModified": false, "replaceAll": false
            });
            p
        }
        Carrier::GitDiff => bash("git diff".into(), &diff(part.file, &text), ""),
        Carrier::GitLog => bash(
            "git log -p -1".into(),
            &format!(
                "commit 9f3c2a1b7d5e4f60a8b9c0d1e2f3a4b5c6d7e8f9\nAuthor: Dev <dev@shop.example>\nDate:   Sat Dec 5 17:02:11 2026 +0000\n\n    deploy: configuration for production\n\n{}",
                diff(part.file, &text)
            ),
            "",
        ),
        Carrier::Grep => {
            let mut p = env.fixture("post_tool_use__grep");
            p["tool_use_id"] = id;
            p["tool_input"]["pattern"] = json!("(?i)key|token|secret|password");
            p["tool_input"]["-C"] = json!(20);
            // `grep -n -C`: matching lines as `file:N:`, context as `file-N-`
            // (an empty line too).
            let content: Vec<String> = text
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    let lower = l.to_lowercase();
                    let hit = ["key", "token", "secret", "password"]
                        .iter()
                        .any(|w| lower.contains(w));
                    let sep = if hit { ':' } else { '-' };
                    format!("{}{sep}{}{sep}{l}", part.file, i + 1)
                })
                .collect();
            p["tool_response"]["content"] = json!(content.join("\n"));
            p["tool_response"]["numLines"] = json!(content.len());
            p
        }
        Carrier::WebFetch => {
            let mut p = env.fixture("post_tool_use__webfetch");
            p["tool_use_id"] = id;
            p["tool_response"]["result"] = json!(format!(
                "The page shows this example configuration:\n\n{text}"
            ));
            p
        }
        Carrier::McpToolInput => {
            // A model passing configuration to an MCP tool: JSON items stay
            // structured (secrets as keys included), the rest are strings.
            let values: Vec<Value> = part
                .items
                .iter()
                .map(|i| serde_json::from_str(&i.text).unwrap_or_else(|_| json!(i.text)))
                .collect();
            let mut p = env.fixture("post_tool_use__mcp");
            p["tool_use_id"] = id;
            p["tool_name"] = json!("mcp__config__apply");
            p["tool_input"] = json!({"file": part.file, "settings": values});
            p["tool_response"] = json!([{"type": "text", "text": "applied"}]);
            p
        }
        Carrier::Prompt => {
            let mut p = env.fixture("user_prompt_submit__basic");
            p["prompt"] = json!(format!(
                "The deploy fails ({n}). Here is what I have, can you check it?\n\n{text}"
            ));
            p.as_object_mut().unwrap().remove("prompt_id");
            return vec![p];
        }
        Carrier::Stop => {
            let mut prompt = env.fixture("user_prompt_submit__basic");
            prompt["prompt"] = json!(format!("Write the deploy configuration, part {n}"));
            prompt.as_object_mut().unwrap().remove("prompt_id");
            let mut stop = env.fixture("stop__basic");
            stop["last_assistant_message"] = json!(format!(
                "Done. I wrote the configuration as follows:\n\n```\n{text}\n```\n\nThe deploy works now."
            ));
            return vec![prompt, stop];
        }
        Carrier::SubagentStop => {
            let mut p = env.fixture("subagent_stop__basic");
            p["agent_id"] = json!(format!("a27069128{n:08}"));
            p["last_assistant_message"] = json!(format!(
                "These are the settings the service reads:\n\n{text}"
            ));
            p
        }
        Carrier::Subagent => {
            let mut p = env.fixture("post_tool_use__agent");
            p["tool_use_id"] = id;
            p["tool_response"]["content"] = json!([{"type": "text",
                "text": format!("I found these settings in the repository:\n\n{text}")}]);
            p
        }
        _ => unreachable!("{carrier:?} is not a hook carrier"),
    };
    vec![payload]
}

/// A unified diff that adds `text` to `file`.
fn diff(file: &str, text: &str) -> String {
    let added: Vec<String> = text.lines().map(|l| format!("+{l}")).collect();
    format!(
        "diff --git a/{file} b/{file}\nindex 3b18e51..a9c4f02 100644\n--- a/{file}\n+++ b/{file}\n@@ -1,0 +1,{} @@\n{}\n",
        added.len(),
        added.join("\n")
    )
}

// ------------------------------------------------------------------ imports

/// A finished transcript in Claude Code's format: prompts, Bash results and
/// Claude's text, each carrying chunks in turn. Each text of Claude's ends
/// its turn (a prompt follows, or the transcript ends), since only a turn's
/// last message is what a Stop hook would have carried.
fn import_claude_code(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let project = env.project.to_str().unwrap();
    let projects = env.tmp.path().join("claude/projects");
    let dir = projects.join("-shop");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{SESSION}.jsonl"));
    let mut out = String::new();
    let mut n = 0;
    let mut line = |kind: &str, body: Value| {
        n += 1;
        let mut v = json!({"type": kind, "sessionId": SESSION, "cwd": project, "gitBranch": "main",
            "version": "2.0.14", "userType": "external", "isSidechain": false,
            "uuid": format!("00000000-0000-4000-8000-{n:012}"),
            "timestamp": format!("2026-12-05T10:{:02}:{:02}.000Z", n / 60, n % 60)});
        v.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        out.push_str(&v.to_string());
        out.push('\n');
    };
    let user = |text: &str| json!({"message": {"role": "user", "content": text}});
    let assistant = |k: usize, block: Value| {
        json!({"message": {"id": format!("msg_{k}"), "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [block]}, "requestId": format!("req_{k}")})
    };
    line("user", user("Set up the deploy configuration for the shop"));
    for (k, part) in parts.iter().enumerate() {
        let text = part.text();
        match k % 3 {
            0 => line(
                "user",
                user(&format!("Check this configuration:\n\n{text}")),
            ),
            1 => {
                let id = format!("toolu_import_{k}");
                line(
                    "assistant",
                    assistant(
                        k,
                        json!({"type": "tool_use", "id": id, "name": "Bash",
                        "input": {"command": format!("cat {}", part.file), "description": "Show the file"}}),
                    ),
                );
                line(
                    "user",
                    json!({"message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": text}]},
                        "toolUseResult": {"stdout": text, "stderr": "", "interrupted": false, "isImage": false}}),
                );
            }
            _ => line(
                "assistant",
                assistant(
                    k,
                    json!({"type": "text", "text": format!("The configuration now reads:\n\n{text}")}),
                ),
            ),
        }
    }
    std::fs::write(&file, out).unwrap();
    // A transcript last written an hour ago is a finished session.
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(then)
        .unwrap();
    env.ok(&["import", "claude-code", projects.to_str().unwrap()])
        .into_bytes()
}

/// The tables and columns of a claude-mem database that its importer reads
/// (it builds its queries from the columns present).
const CLAUDE_MEM_SCHEMA: &str = "
CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO schema_versions (version, applied_at) VALUES (49, '2026-12-01T00:00:00Z');
CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL,
    memory_session_id TEXT UNIQUE, project TEXT NOT NULL, started_at_epoch INTEGER NOT NULL,
    completed_at_epoch INTEGER, status TEXT NOT NULL DEFAULT 'completed');
CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER,
    content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL);
CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL,
    project TEXT NOT NULL, type TEXT NOT NULL, title TEXT, subtitle TEXT, narrative TEXT, facts TEXT,
    prompt_number INTEGER, created_at_epoch INTEGER NOT NULL);
CREATE TABLE session_summaries (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL,
    project TEXT NOT NULL, request TEXT, learned TEXT, completed TEXT, prompt_number INTEGER,
    created_at_epoch INTEGER NOT NULL);
";

/// A claude-mem database whose prompts, observations (narrative and facts)
/// and session summaries carry the chunks in turn.
fn import_claude_mem(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let path = env.tmp.path().join("claude-mem.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(CLAUDE_MEM_SCHEMA).unwrap();
    let at = 1_764_900_000_000_i64;
    db.execute(
        "INSERT INTO sdk_sessions (content_session_id, memory_session_id, project, started_at_epoch, completed_at_epoch)
         VALUES (?1, 'mem-1', 'shop', ?2, ?3)",
        rusqlite::params![SESSION, at, at + 3_600_000],
    )
    .unwrap();
    for (k, part) in parts.iter().enumerate() {
        let text = part.text();
        let n = k as i64 + 1;
        let when = at + n * 60_000;
        match k % 3 {
            0 => db.execute(
                "INSERT INTO observations (memory_session_id, project, type, title, subtitle, narrative, facts, prompt_number, created_at_epoch)
                 VALUES ('mem-1', 'shop', 'change', ?1, 'deploy configuration', ?2, ?3, ?4, ?5)",
                rusqlite::params![format!("Deploy configuration, part {k}"), text,
                    json!(facts(part)).to_string(), n, when],
            ),
            1 => db.execute(
                "INSERT INTO user_prompts (session_db_id, content_session_id, prompt_number, prompt_text, created_at_epoch)
                 VALUES (1, ?1, ?2, ?3, ?4)",
                rusqlite::params![SESSION, n, format!("Check this configuration:\n\n{text}"), when],
            ),
            _ => db.execute(
                "INSERT INTO session_summaries (memory_session_id, project, request, learned, completed, prompt_number, created_at_epoch)
                 VALUES ('mem-1', 'shop', 'Set up the deploy configuration', ?1, ?2, ?3, ?4)",
                rusqlite::params![text, format!("Configured part {k}"), n, when],
            ),
        }
        .unwrap();
    }
    drop(db);
    env.ok(&["import", "claude-mem", path.to_str().unwrap()])
        .into_bytes()
}

fn remember_cli(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let project = env.project.to_str().unwrap();
    let mut out = Vec::new();
    for part in parts {
        let text = part.text();
        out.extend(
            env.ok(&["remember", "--project", project, "--", &text])
                .into_bytes(),
        );
    }
    out
}

fn remember_mcp(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, _) = mcp_client::connect(env, &[]).await;
        let mut out = String::new();
        for part in parts {
            let stored = mcp_client::call(
                &client,
                "remember",
                json!({"text": part.text(), "type": "decision"}),
            )
            .await;
            out.push_str(&mcp_client::text(&stored));
        }
        for query in SEARCHES {
            let found = mcp_client::call(&client, "search", json!({"query": query})).await;
            out.push_str(&mcp_client::text(&found));
        }
        client.cancel().await.unwrap();
        out.into_bytes()
    })
}

fn remember_http(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let server = env.serve();
    let project = env.project.to_str().unwrap();
    let mut out = String::new();
    for part in parts {
        let body =
            json!({"text": part.text(), "type": "discovery", "project": project}).to_string();
        let response = server.call("POST", "/api/remember", Some(&body));
        assert_eq!(response.status, 201, "{}", response.body);
        out.push_str(&response.body);
    }
    for query in SEARCHES {
        let response = server.call(
            "GET",
            &format!("/api/search?q={}", query.replace(' ', "+")),
            None,
        );
        out.push_str(&response.body);
    }
    out.into_bytes()
}

/// An archive written elsewhere (or edited by hand) whose memories carry the
/// corpus: one exported observation copied once per chunk.
fn import_archive(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let origin = Env::new();
    origin.ok(&[
        "remember",
        "--project",
        origin.project.to_str().unwrap(),
        "--",
        "The deploy configuration lives in the ops repository.",
    ]);
    let exported = origin.ok(&["export"]);
    let mut archive = String::new();
    for line in exported.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["kind"] != "observation" {
            archive.push_str(line);
            archive.push('\n');
            continue;
        }
        for (k, part) in parts.iter().enumerate() {
            let mut copy = record.clone();
            let text = part.text();
            copy["title"] = json!(format!("Deploy configuration, part {k}"));
            copy["narrative"] = json!(text);
            copy["facts"] = json!(facts(part));
            copy["content_hash"] = json!(format!("{k:032x}"));
            archive.push_str(&copy.to_string());
            archive.push('\n');
        }
    }
    let file = env.tmp.path().join("archive.jsonl");
    std::fs::write(&file, archive).unwrap();
    env.ok(&["import", file.to_str().unwrap()]).into_bytes()
}

/// Facts as a memory holds them: whole one-line statements (up to three).
fn facts<'a>(part: &Chunk<'a>) -> Vec<&'a str> {
    part.items
        .iter()
        .map(|i| i.text.as_str())
        .filter(|t| !t.contains('\n'))
        .take(3)
        .collect()
}

/// Plain observation lines, the simplest import format.
fn import_lines(env: &Env, parts: &[Chunk]) -> Vec<u8> {
    let project = env.project.to_str().unwrap();
    let mut lines = String::new();
    for (k, part) in parts.iter().enumerate() {
        let text = part.text();
        let facts = facts(part);
        lines.push_str(
            &json!({"project": project, "title": format!("Deploy configuration, part {k}"),
                "narrative": text, "facts": facts})
            .to_string(),
        );
        lines.push('\n');
    }
    let file = env.tmp.path().join("lines.jsonl");
    std::fs::write(&file, lines).unwrap();
    env.ok(&["import", file.to_str().unwrap()]).into_bytes()
}

// ------------------------------------------------------------- reading back

/// Queries that find the configuration memories.
const SEARCHES: [&str; 2] = [
    "deploy configuration token password key",
    "api secret credentials",
];

/// What mnemo gives back: the SessionStart index, recall for a prompt about
/// the configuration, search, and the export.
fn read_back(env: &Env) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = env.fixture("session_start__startup");
    start["session_id"] = json!("0e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6");
    out.extend(env.hook(None, &start).stdout);
    let mut recall = env.fixture("user_prompt_submit__basic");
    recall["session_id"] = start["session_id"].clone();
    recall["prompt"] =
        json!("Which deploy configuration token, password and API key did we set up?");
    recall.as_object_mut().unwrap().remove("prompt_id");
    out.extend(env.hook(None, &recall).stdout);
    for query in SEARCHES {
        out.extend(env.ok(&["search", query]).into_bytes());
    }
    out.extend(env.ok(&["export"]).into_bytes());
    out
}

/// Every row of every table, as text, with the strings inside JSON columns
/// unescaped (so a value is found whatever quoting it was stored under).
fn stored_rows(env: &Env) -> String {
    let db = env.db();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = String::new();
    for table in tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
                    _ => continue,
                };
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    strings_of(&value, &mut out);
                }
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    out
}

fn strings_of(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(list) => list.iter().for_each(|v| strings_of(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push_str(k);
                out.push('\n');
                strings_of(v, out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- reporting

/// Per carrier: recall, benign kept, time; then recall per family over all
/// carriers.
pub fn table(items: &[Item], results: &[CarrierResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| carrier | path | secrets redacted | benign untouched | seconds |\n|---|---|---|---|---|"
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {}/{} ({:.1}%) | {}/{} ({:.1}%) | {:.1} |",
            r.carrier.name(),
            r.carrier.path(),
            r.secrets - r.leaked.len(),
            r.secrets,
            100.0 * r.recall(),
            r.benign - r.touched.len(),
            r.benign,
            100.0 * r.benign_kept(),
            r.seconds
        );
    }
    let _ = writeln!(
        out,
        "\n| family | items | kinds | redacted (benign: untouched), all carriers |\n|---|---|---|---|"
    );
    for (family, n, kinds, redacted, total) in family_figures(items, results) {
        let _ = writeln!(
            out,
            "| {family} | {n} | {kinds} | {redacted}/{total} ({:.1}%) |",
            100.0 * redacted as f64 / total.max(1) as f64
        );
    }
    out
}

/// Per family: (family, items, distinct kinds, redacted pairs, item×carrier pairs);
/// for the benign family, "redacted" counts the pairs left untouched.
pub fn family_figures(
    items: &[Item],
    results: &[CarrierResult],
) -> Vec<(&'static str, usize, usize, usize, usize)> {
    let mut figures = Vec::new();
    for family in FAMILIES.iter().copied().chain([BENIGN]) {
        let members: Vec<usize> = (0..items.len())
            .filter(|&n| items[n].family == family)
            .collect();
        let mut kinds: Vec<&str> = members.iter().map(|&n| items[n].kind).collect();
        kinds.sort();
        kinds.dedup();
        let total = members.len() * results.len();
        let bad: usize = results
            .iter()
            .map(|r| {
                let list = if family == BENIGN {
                    &r.touched
                } else {
                    &r.leaked
                };
                members.iter().filter(|n| list.contains(n)).count()
            })
            .sum();
        figures.push((family, members.len(), kinds.len(), total - bad, total));
    }
    figures
}

/// Every leak and every touched benign item, one line each, grouped by item.
pub fn leaks(items: &[Item], results: &[CarrierResult]) -> String {
    let mut by_item: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for r in results {
        for &n in r.leaked.iter().chain(&r.touched) {
            by_item.entry(n).or_default().push(r.carrier.name());
        }
    }
    let mut out = String::new();
    for (n, carriers) in by_item {
        let item = &items[n];
        let what = if item.is_benign() {
            "benign item redacted or lost"
        } else {
            "leaked"
        };
        let masked = mask(&item.text, item);
        let context: String = masked.replace('\n', " ⏎ ").chars().take(160).collect();
        let _ = writeln!(
            out,
            "- {} ({}, in {}): {what} on {} carrier(s): {}. Context: `{}`",
            item.kind,
            item.family,
            item.file,
            carriers.len(),
            carriers.join(", "),
            context
        );
    }
    out
}

/// `context` with the item's values replaced by their shape, so a report
/// never carries a secret.
fn mask(context: &str, item: &Item) -> String {
    let mut out = context.to_string();
    if !item.is_benign() {
        for v in &item.values {
            out = out.replace(v.as_str(), &format!("<{} chars>", v.len()));
        }
    }
    out
}

/// Write `text` to `path` (for the leak list the detector work reads).
pub fn write_file(path: &Path, text: &str) {
    if let Ok(mut f) = std::fs::File::create(path) {
        let _ = f.write_all(text.as_bytes());
    }
}
