//! The memory operations every front end offers, written once: search,
//! timeline, show, remember, forget and restore, and the context preview.
//!
//! Each takes the process's [`Parts`](crate::parts::Parts) and a store
//! connection (the caller's: a CLI command opens one, a server takes one
//! from its pool) plus a request of plain values, and answers plain values
//! the front end renders. Which projects a request covers is decided by one
//! rule ([`scope`]); ids are read one way ([`Id`]); "not found" is an
//! [`Error::NotFound`] everywhere (a non-zero exit, a 404, a tool error).

mod context;
mod forget;
mod ids;
mod records;
mod remember;
pub mod scope;
mod search;

pub use context::{ContextPreview, context_preview};
pub use forget::{Changed, forget, restore};
pub use ids::Id;
pub use records::{Showing, Shown, Timeline, TimelineRequest, not_found, show, timeline};
pub use remember::{Note, Remembered, remember};
pub use scope::{Scope, ScopeRequest};
pub use search::{Found, More, Order, SearchRequest, Target, search, search_records};

/// Why a memory operation did not answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What the request names does not exist ("no observation #99").
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (an empty note, an unknown type, a
    /// project directory that does not exist).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] mnemo_store::StoreError),
    /// The configuration does not make working parts (a privacy pattern
    /// that does not compile, an embedder setting that cannot work).
    #[error(transparent)]
    Setup(#[from] anyhow::Error),
}

/// A memory operation's outcome.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
pub(crate) mod testing {
    use mnemo_config::{Config, Paths};
    use mnemo_store::Store;

    use super::{Note, ScopeRequest, remember};
    use crate::parts::Parts;

    /// Parts over a temporary data directory whose own path is a project
    /// holding `notes` (ids 1, 2, … in order).
    pub(crate) fn parts_with(notes: &[&str]) -> (tempfile::TempDir, Parts, Store) {
        let dir = tempfile::tempdir().unwrap();
        let parts = Parts::new(Paths::new(dir.path()), Config::default());
        let mut store = parts.open_store().unwrap();
        for text in notes {
            let note = Note {
                text: text.to_string(),
                scope: ScopeRequest {
                    project: Some(dir.path().to_string_lossy().into_owned()),
                    ..ScopeRequest::default()
                },
                ..Note::default()
            };
            remember(&parts, &mut store, &note).unwrap();
        }
        (dir, parts, store)
    }
}
