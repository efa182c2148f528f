//! What a hook tells the session: the SessionStart index, memories that
//! answer a new prompt, notes on a file about to be read. Each is Claude
//! Code's documented hook JSON with the text as `additionalContext`, read
//! on the hook's own connection.

use crate::parts::context_options;
use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::tool_call::Tool;
use mnemo_config::{Config, EmbedBackend};
use mnemo_embed::{Embedder, StaticEmbedder};
use mnemo_retrieve::context::{RecallOptions, file_note, recall, session_context};
use mnemo_store::{HookRecord, Store};

/// SessionStart's answer: the project's memory index, or `None` when there
/// is nothing to say.
pub(super) fn session_start(store: &Store, config: &Config, record: &HookRecord) -> Option<String> {
    if !config.context.enabled || !HookEvent::SessionStart.is(&record.hook) {
        return None;
    }
    let project = record.project.as_ref()?;
    match session_context(store, &project.root, &project.name, context_options(config)) {
        Ok(text) if !text.is_empty() => Some(additional_context(HookEvent::SessionStart, text)),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("no context for the new session: {e:#}");
            None
        }
    }
}

/// Claude Code's hook JSON carrying `text` as additional context.
fn additional_context(event: HookEvent, text: String) -> String {
    serde_json::json!({
        "hookSpecificOutput": { "hookEventName": event.name(), "additionalContext": text }
    })
    .to_string()
}

/// UserPromptSubmit's answer: memories matching the new prompt, or `None`
/// when nothing relevant (and not already given) exists.
pub(super) fn prompt_recall(
    store: &mut Store,
    config: &Config,
    record: &HookRecord,
) -> Option<String> {
    if !config.context.recall || !HookEvent::UserPromptSubmit.is(&record.hook) {
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
    let (agent, session) = (&record.agent, &record.agent_session_id);
    let recalled = recall(
        store,
        agent,
        session,
        &project.root,
        &prompt.text,
        options,
        record.at,
    );
    match recalled {
        Ok(text) => text.map(|t| additional_context(HookEvent::UserPromptSubmit, t)),
        Err(e) => {
            tracing::warn!("no recall for the prompt: {e}");
            None
        }
    }
}

/// PreToolUse(Read)'s answer: what the memories say about `file_path`, the
/// file about to be read. Never a permission decision: the read goes ahead.
pub(super) fn file_note_before_read(
    store: &mut Store,
    config: &Config,
    record: &HookRecord,
    file_path: Option<&str>,
) -> Option<String> {
    if !config.context.file_notes
        || !HookEvent::PreToolUse.is(&record.hook)
        || record.tool_name.as_deref().map(Tool::named) != Some(Tool::Read)
    {
        return None;
    }
    let project = record.project.as_ref()?;
    let path = file_path?;
    let file = path
        .strip_prefix(project.root.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(path);
    let options = RecallOptions {
        max_tokens: config.context.file_note_max_tokens,
        ..RecallOptions::default()
    };
    let (agent, session) = (&record.agent, &record.agent_session_id);
    match file_note(
        store,
        agent,
        session,
        &project.root,
        file,
        options,
        record.at,
    ) {
        Ok(text) => text.map(|t| additional_context(HookEvent::PreToolUse, t)),
        Err(e) => {
            tracing::warn!("no note for {file}: {e}");
            None
        }
    }
}
