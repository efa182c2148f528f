//! `mnemo context`, and the SessionStart hook's injected context.

use std::path::Path;

use anyhow::Context as _;
use mnemo_app::memory::{self, ScopeRequest};
use mnemo_app::parts::{context_options, foreground_store_options};
use mnemo_config::{Config, EmbedBackend, Paths};
use mnemo_embed::{Embedder, StaticEmbedder};
use mnemo_retrieve::context::session_context;
use mnemo_retrieve::recall::{RecallOptions, file_note, recall};
use mnemo_store::{HookRecord, Store};

/// The context text for the project `root`, on a connection for work the
/// agent waits for.
fn context_for(paths: &Paths, config: &Config, root: &str, name: &str) -> anyhow::Result<String> {
    let store = Store::open(&paths.db, &foreground_store_options(config))
        .with_context(|| format!("cannot open {}", paths.db.display()))?;
    Ok(session_context(
        &store,
        root,
        name,
        context_options(config),
    )?)
}

/// `mnemo context [--project DIR]`: what SessionStart would inject.
pub fn run(project: Option<&Path>) -> anyhow::Result<()> {
    let parts = super::parts()?;
    let store = parts.open_foreground_store()?;
    let request = ScopeRequest {
        project: project.map(|p| p.to_string_lossy().into_owned()),
        all_projects: false,
        here: std::env::current_dir().ok(),
    };
    println!(
        "{}",
        memory::context_preview(&parts, &store, &request)?.text
    );
    Ok(())
}

/// The SessionStart hook's stdout: Claude Code's documented JSON with the
/// context as `additionalContext`, or `None` when there is nothing to say.
pub fn session_start_output(paths: &Paths, config: &Config, record: &HookRecord) -> Option<String> {
    if !config.context.enabled || record.hook != "SessionStart" {
        return None;
    }
    let project = record.project.as_ref()?;
    match context_for(paths, config, &project.root, &project.name) {
        Ok(text) if !text.is_empty() => Some(additional_context("SessionStart", text)),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("no context for the new session: {e:#}");
            None
        }
    }
}

/// Claude Code's hook JSON carrying `text` as additional context.
fn additional_context(event: &str, text: String) -> String {
    serde_json::json!({
        "hookSpecificOutput": { "hookEventName": event, "additionalContext": text }
    })
    .to_string()
}

/// The UserPromptSubmit hook's stdout: memories matching the new prompt, or
/// `None` when nothing relevant (and not already given) exists.
pub fn prompt_recall_output(paths: &Paths, config: &Config, record: &HookRecord) -> Option<String> {
    if !config.context.recall || record.hook != "UserPromptSubmit" {
        return None;
    }
    let prompt = record.prompt.as_ref().filter(|p| !p.private)?;
    let project = record.project.as_ref()?;
    // A remote or transformer embedder is not worth its latency here.
    let embedder = (config.embed.backend == EmbedBackend::Builtin).then(|| {
        let builtin: &dyn Embedder = StaticEmbedder::builtin();
        builtin
    });
    let options = RecallOptions {
        max_tokens: config.context.recall_max_tokens,
        embedder,
        ..RecallOptions::default()
    };
    let result = Store::open(&paths.db, &foreground_store_options(config)).and_then(|mut store| {
        let (agent, session) = (&record.agent, &record.agent_session_id);
        recall(
            &mut store,
            agent,
            session,
            &project.root,
            &prompt.text,
            options,
            record.at,
        )
    });
    match result {
        Ok(text) => text.map(|t| additional_context("UserPromptSubmit", t)),
        Err(e) => {
            tracing::warn!("no recall for the prompt: {e}");
            None
        }
    }
}

/// The PreToolUse(Read) hook's stdout: what the memories say about the file
/// about to be read. Never a permission decision: the read goes ahead.
pub fn file_note_output(paths: &Paths, config: &Config, record: &HookRecord) -> Option<String> {
    if !config.context.file_notes
        || record.hook != "PreToolUse"
        || record.tool_name.as_deref() != Some("Read")
    {
        return None;
    }
    let project = record.project.as_ref()?;
    let payload: serde_json::Value = serde_json::from_str(&record.payload).ok()?;
    let path = payload["tool_input"]["file_path"].as_str()?;
    let file = path
        .strip_prefix(project.root.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(path);
    let options = RecallOptions {
        max_tokens: config.context.file_note_max_tokens,
        ..RecallOptions::default()
    };
    let result = Store::open(&paths.db, &foreground_store_options(config)).and_then(|mut store| {
        let (agent, session) = (&record.agent, &record.agent_session_id);
        file_note(
            &mut store,
            agent,
            session,
            &project.root,
            file,
            options,
            record.at,
        )
    });
    match result {
        Ok(text) => text.map(|t| additional_context("PreToolUse", t)),
        Err(e) => {
            tracing::warn!("no note for {file}: {e}");
            None
        }
    }
}
