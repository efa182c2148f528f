//! `remember`: a note a person or the agent asks to keep, stored like any
//! memory (redacted, hashed so the same note is kept once, embedded).

use mnemo_privacy::CleanReport;
use mnemo_store::{OBSERVATION_TYPES, ProjectRef, Store};

use super::scope::{self, ScopeRequest};
use super::{Error, Result};
use crate::parts::Parts;

/// Queued observations a remember embeds at most: the note itself, and a
/// little of any backlog (the next writer takes the rest).
const EMBED_BUDGET: usize = 10;

/// A note to remember.
#[derive(Debug, Clone, Default)]
pub struct Note {
    /// What to remember.
    pub text: String,
    /// A title (default: the text's first sentence).
    pub title: Option<String>,
    /// The observation type (default: `discovery`).
    pub kind: Option<String>,
    /// Which project it belongs to ([`scope::resolve_one`]).
    pub scope: ScopeRequest,
}

/// What [`remember`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The new observation, or `None` when an identical one exists.
    pub id: Option<i64>,
    /// The project it belongs to.
    pub project: Option<ProjectRef>,
    /// Secrets and private parts removed before storing.
    pub removed: usize,
}

/// Store `note`: checked, redacted, made into an observation by the one
/// recipe (`compress::note`), written, and embedded when an embedder is
/// configured (best effort: without a vector it is still found by words).
pub fn remember(parts: &Parts, store: &mut Store, note: &Note) -> Result<Remembered> {
    let kind = note.kind.as_deref().map(str::trim).unwrap_or("discovery");
    if !OBSERVATION_TYPES.contains(&kind) {
        return Err(Error::Invalid(format!(
            "unknown type {kind:?} (types: {})",
            OBSERVATION_TYPES.join(", ")
        )));
    }
    if note.text.trim().is_empty() {
        return Err(Error::Invalid(
            "nothing to remember: the text is empty".into(),
        ));
    }
    let project = scope::resolve_one(store, &note.scope)?;
    let mut report = CleanReport::default();
    let observation = mnemo_compress::note(
        parts.redactor()?,
        kind,
        &note.text,
        note.title.as_deref(),
        &mut report,
    );
    let id = store.remember(project.as_ref(), &observation, parts.now())?;
    match parts.searcher() {
        Ok(searcher) => {
            if let Some(embedder) = searcher.embedder()
                && let Err(e) =
                    mnemo_retrieve::search::vectors::embed_pending(store, embedder, EMBED_BUDGET)
            {
                tracing::warn!("embedding failed, left queued: {e}");
            }
        }
        Err(e) => tracing::warn!("no vectors: {e:#}"),
    }
    Ok(Remembered {
        id,
        project,
        removed: report.total_redactions() + report.private_spans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_config::{Config, Paths};

    fn note(text: &str, project: Option<&str>) -> Note {
        Note {
            text: text.into(),
            scope: ScopeRequest {
                project: project.map(String::from),
                ..ScopeRequest::default()
            },
            ..Note::default()
        }
    }

    #[test]
    fn a_note_is_redacted_stored_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Parts::new(Paths::new(dir.path()), Config::default());
        let mut store = parts.open_store().unwrap();
        let secret = "the deploy key is ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let project = dir.path().to_str().unwrap();
        let first = remember(&parts, &mut store, &note(secret, Some(project))).unwrap();
        assert!(first.id.is_some());
        assert_eq!(first.removed, 1);
        let canonical = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            first.project.unwrap().root,
            canonical.to_string_lossy().into_owned()
        );
        let again = remember(&parts, &mut store, &note(secret, Some(project))).unwrap();
        assert_eq!(again.id, None, "the same note is kept once");
        let stored: String = store
            .conn()
            .query_row("SELECT narrative FROM observations", [], |r| r.get(0))
            .unwrap();
        assert!(!stored.contains("ghp_"), "{stored}");
        for bad in [
            note("  ", None),
            Note {
                kind: Some("bug".into()),
                ..note("x", None)
            },
            note("x", Some("*")),
        ] {
            assert!(matches!(
                remember(&parts, &mut store, &bad),
                Err(Error::Invalid(_))
            ));
        }
    }
}
