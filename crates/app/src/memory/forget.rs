//! `forget` and its undo: a soft delete that takes observations out of
//! search, context and recall at once, and brings them back.

use mnemo_store::Store;

use super::{Error, Id, Result};
use crate::parts::Parts;

/// What [`forget`] or [`restore`] changed: the ids it changed, ascending,
/// and those it could not (unknown, or already in the state asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Changed, ascending.
    pub changed: Vec<i64>,
    /// Left as they were, in the order asked.
    pub unchanged: Vec<i64>,
}

/// Forget the live observations among `ids`. Nothing to forget at all is
/// an [`Error::NotFound`] ("no live observation #99").
pub fn forget(parts: &Parts, store: &mut Store, ids: &[Id]) -> Result<Changed> {
    let ids = observation_ids(ids)?;
    let changed = store.forget(&ids, parts.now())?;
    split(ids, changed, "live")
}

/// Bring back the forgotten observations among `ids`. Nothing to restore
/// is an [`Error::NotFound`] ("no forgotten observation #99").
pub fn restore(store: &mut Store, ids: &[Id]) -> Result<Changed> {
    let ids = observation_ids(ids)?;
    let changed = store.restore(&ids)?;
    split(ids, changed, "forgotten")
}

fn observation_ids(ids: &[Id]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Err(Error::Invalid(
            "give the ids of the observations (as search prints them)".into(),
        ));
    }
    ids.iter().map(|id| id.observation()).collect()
}

fn split(asked: Vec<i64>, changed: Vec<i64>, state: &str) -> Result<Changed> {
    let unchanged: Vec<i64> = asked
        .into_iter()
        .filter(|id| !changed.contains(id))
        .collect();
    if changed.is_empty() {
        let list: Vec<String> = unchanged.iter().map(|id| format!("#{id}")).collect();
        return Err(Error::NotFound(format!(
            "no {state} observation {}",
            list.join(", ")
        )));
    }
    Ok(Changed { changed, unchanged })
}
