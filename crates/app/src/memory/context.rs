//! The context preview: exactly what the next SessionStart in a project
//! would be told (`mnemo context`, the viewer's preview).

use mnemo_retrieve::context::{estimate_tokens, session_context};
use mnemo_retrieve::projects;
use mnemo_store::{ProjectRef, Store};

use super::scope::{self, ScopeRequest};
use super::{Error, Result};
use crate::parts::{Parts, context_options};

/// What a new session in a project would be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextPreview {
    /// The project.
    pub project: ProjectRef,
    /// The injected text (empty when there is nothing to tell).
    pub text: String,
    /// Its estimated tokens.
    pub tokens: usize,
    /// Whether sessions are told anything at all (`[context] enabled`).
    pub enabled: bool,
    /// The token budget of what they are told (`[context] max_tokens`).
    pub max_tokens: usize,
}

/// The context for the project of `request` ([`scope::resolve_one`]); with
/// no project and no place (the HTTP API), the most recently active one.
pub fn context_preview(
    parts: &Parts,
    store: &Store,
    request: &ScopeRequest,
) -> Result<ContextPreview> {
    let project = match scope::resolve_one(store, request)? {
        Some(project) => project,
        None => match projects::projects(store)?.into_iter().next() {
            Some(p) => ProjectRef {
                root: p.root,
                name: p.name,
            },
            None => return Err(Error::NotFound("no project has memories yet".into())),
        },
    };
    let text = session_context(
        store,
        &project.root,
        &project.name,
        context_options(&parts.config),
    )?;
    Ok(ContextPreview {
        tokens: estimate_tokens(&text),
        enabled: parts.config.context.enabled,
        max_tokens: parts.config.context.max_tokens,
        project,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Note, remember};
    use mnemo_config::{Config, Paths};

    #[test]
    fn the_preview_is_of_the_callers_project_or_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Parts::new(Paths::new(dir.path()), Config::default());
        let mut store = parts.open_store().unwrap();
        let nowhere = ScopeRequest::default();
        let err = context_preview(&parts, &store, &nowhere).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err}");
        let here = ScopeRequest {
            here: Some(dir.path().to_path_buf()),
            ..ScopeRequest::default()
        };
        let note = Note {
            text: "Releases are tagged from main only.".into(),
            scope: here.clone(),
            ..Note::default()
        };
        remember(&parts, &mut store, &note).unwrap();
        let preview = context_preview(&parts, &store, &here).unwrap();
        assert!(
            preview.text.contains("Releases are tagged"),
            "{}",
            preview.text
        );
        assert!(preview.tokens > 0);
        let latest = context_preview(&parts, &store, &nowhere).unwrap();
        assert_eq!(latest, preview);
    }
}
