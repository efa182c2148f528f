//! Prompt-time recall: when a prompt is about something the project's
//! memories know, hand the best few to the session — once each.
//!
//! Relevance is deliberately strict, so that unrelated prompts get nothing:
//! a memory qualifies when it contains at least two of the prompt's
//! searchable words (or the only one, for one-word prompts), counting a
//! word as present when the memory has a form of it (same first three to
//! five letters: "fixed" ~ "fix", "bug" ~ "bugfix", "recursion" ~ "recursive").

use mnemo_store::{Result, Store};
use rusqlite::{OptionalExtension, params};

use crate::context::{estimate_tokens, symbol};
use crate::query::terms;
use crate::quote::inline;
use mnemo_embed::{Embedder, StaticEmbedder};

use crate::{Fusion, Observation, SearchQuery, get_observations, search, search_with};

/// How much to recall, and with which embedder.
#[derive(Clone, Copy)]
pub struct RecallOptions<'a> {
    pub max_tokens: usize,
    pub max_memories: usize,
    /// The configured embedder; `None` ranks by full text alone.
    pub embedder: Option<&'a dyn Embedder>,
}

impl Default for RecallOptions<'_> {
    fn default() -> Self {
        RecallOptions {
            max_tokens: 500,
            max_memories: 3,
            embedder: Some(StaticEmbedder::builtin()),
        }
    }
}

/// Whether two words are forms of one another: they share their first
/// letters, at least three and up to five.
fn same_word(a: &str, b: &str) -> bool {
    let k = a.chars().count().min(b.chars().count()).min(5);
    k >= 3 && a.chars().take(k).eq(b.chars().take(k))
}

/// How many of `terms` appear in `text`, in some form.
fn matched(terms: &[String], text: &str) -> usize {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    terms
        .iter()
        .filter(|t| words.iter().any(|w| same_word(t, w)))
        .count()
}

fn session_id(store: &Store, agent: &str, agent_session_id: &str) -> Result<Option<i64>> {
    Ok(store
        .conn()
        .query_row(
            "SELECT id FROM sessions WHERE agent = ?1 AND agent_session_id = ?2",
            params![agent, agent_session_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn already_given(store: &Store, session: Option<i64>, observation: i64) -> Result<bool> {
    let Some(session) = session else {
        return Ok(false);
    };
    Ok(store
        .conn()
        .prepare_cached("SELECT 1 FROM recalls WHERE session_id = ?1 AND observation_id = ?2")?
        .exists(params![session, observation])?)
}

/// Render `picked` between `intro` and the fetch hint within `max_tokens`,
/// record what was given to the session, and return the text.
fn hand_over(
    store: &mut Store,
    session: Option<i64>,
    intro: &str,
    picked: &[Observation],
    max_tokens: usize,
    now: i64,
) -> Result<Option<String>> {
    let close =
        "Full records: `mnemo show <id>` or the mnemo MCP tool get_observations.\n</mnemo-context>";
    let mut text = format!("<mnemo-context>\n{intro}\n");
    let fits = |text: &str, more: &str| {
        estimate_tokens(text) + estimate_tokens(more) + estimate_tokens(close) <= max_tokens
    };
    let mut given = Vec::new();
    for o in picked {
        let mut entry = format!("#{} {} {}", o.id, symbol(&o.kind), inline(&o.title));
        if !o.subtitle.is_empty() {
            entry.push_str(&format!(" — {}", inline(&o.subtitle)));
        }
        entry.push('\n');
        for fact in o.facts.iter().take(4) {
            let candidate = format!("{entry}  - {}\n", inline(fact));
            if !fits(&text, &candidate) {
                break;
            }
            entry = candidate;
        }
        if !fits(&text, &entry) {
            break;
        }
        text.push_str(&entry);
        given.push(o.id);
    }
    if given.is_empty() {
        return Ok(None);
    }
    text.push_str(close);
    if let Some(s) = session {
        for id in &given {
            store.conn().execute(
                "INSERT OR IGNORE INTO recalls (session_id, observation_id, at) VALUES (?1, ?2, ?3)",
                params![s, id, now],
            )?;
        }
    }
    Ok(Some(text))
}

/// The recall text for `prompt` in the session (`agent`, `agent_session_id`)
/// of the project at `root`, recording what was handed over; `None` when
/// nothing relevant and new exists.
pub fn recall(
    store: &mut Store,
    agent: &str,
    agent_session_id: &str,
    root: &str,
    prompt: &str,
    options: RecallOptions,
    now: i64,
) -> Result<Option<String>> {
    let wanted = terms(prompt);
    if wanted.is_empty() {
        return Ok(None);
    }
    let needed = wanted.len().min(2);
    let session = session_id(store, agent, agent_session_id)?;
    let hits = search_with(
        store,
        &SearchQuery {
            text: prompt.to_string(),
            project: Some(root.to_string()),
            limit: 20,
            ..SearchQuery::default()
        },
        options.embedder,
        &Fusion::DEFAULT,
        now,
    )?;
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let mut picked = Vec::new();
    for o in get_observations(store, &ids)? {
        if picked.len() == options.max_memories {
            break;
        }
        let text = format!(
            "{} {} {} {}",
            o.kind,
            o.title,
            o.subtitle,
            o.facts.join(" ")
        );
        if matched(&wanted, &text) >= needed && !already_given(store, session, o.id)? {
            picked.push(o);
        }
    }
    hand_over(
        store,
        session,
        "Past work in this project related to the prompt (from mnemo's memory):",
        &picked,
        options.max_tokens,
        now,
    )
}

/// What is known about `file` (a path relative to the project root) before
/// Claude reads it: the newest memories that read or changed it, not yet
/// given to this session.
pub fn file_note(
    store: &mut Store,
    agent: &str,
    agent_session_id: &str,
    root: &str,
    file: &str,
    options: RecallOptions,
    now: i64,
) -> Result<Option<String>> {
    let session = session_id(store, agent, agent_session_id)?;
    let hits = search(
        store,
        &SearchQuery {
            project: Some(root.to_string()),
            file: Some(file.to_string()),
            limit: 10,
            ..SearchQuery::default()
        },
    )?;
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let mut picked = Vec::new();
    for o in get_observations(store, &ids)? {
        if picked.len() == options.max_memories {
            break;
        }
        if !already_given(store, session, o.id)? {
            picked.push(o);
        }
    }
    hand_over(
        store,
        session,
        &format!("mnemo's memories of {} (newest first):", inline(file)),
        &picked,
        options.max_tokens,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_match() {
        let t = terms("the fibonacci bug we fixed");
        let memory = "bugfix fibonacci() raises ValueError; fix in fibonacci.py";
        assert_eq!(matched(&t, memory), 3);
        assert_eq!(matched(&t, "Added cart discounts"), 0);
        assert!(same_word("recursion", "recursive") && !same_word("go", "good"));
    }
}
