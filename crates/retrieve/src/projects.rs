//! The projects mnemo knows: every audience lists them (the viewer's
//! project menu, the CLI's scope rule, the context preview's default).

use mnemo_store::{Result, Store};
use serde::Serialize;

/// A project and how much is remembered of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectInfo {
    /// Project root.
    pub root: String,
    /// Project name.
    pub name: String,
    /// Live observations of it.
    pub observations: i64,
    /// Sessions in it.
    pub sessions: i64,
    /// Newest observation, Unix ms.
    pub last_at: Option<i64>,
}

/// Every project, the most recently active first.
pub fn projects(store: &Store) -> Result<Vec<ProjectInfo>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT p.root, p.name,
                (SELECT count(*) FROM observations WHERE project_id = p.id AND deleted_at IS NULL),
                (SELECT count(*) FROM sessions WHERE project_id = p.id),
                (SELECT max(created_at) FROM observations WHERE project_id = p.id)
         FROM projects p",
    )?;
    let mut projects: Vec<ProjectInfo> = stmt
        .query_map([], |r| {
            Ok(ProjectInfo {
                root: r.get(0)?,
                name: r.get(1)?,
                observations: r.get(2)?,
                sessions: r.get(3)?,
                last_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    projects.sort_by_key(|p| (std::cmp::Reverse(p.last_at), p.root.clone()));
    Ok(projects)
}

/// Every project's root and name, by root (cheap: no counts).
pub fn project_roots(store: &Store) -> Result<Vec<(String, String)>> {
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT root, name FROM projects ORDER BY root")?;
    let roots = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(roots)
}

/// A teammate whose memories were pulled, and how many of them are live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorInfo {
    /// The name the teammate's machine signs its memories with.
    pub name: String,
    /// Live observations by them.
    pub observations: i64,
}

/// Every author of a live pulled memory, by name (the viewer's author
/// menu). Memories written on this machine have no author and are not
/// counted.
pub fn authors(store: &Store) -> Result<Vec<AuthorInfo>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT author, count(*) FROM observations
         WHERE author IS NOT NULL AND deleted_at IS NULL
         GROUP BY author ORDER BY author COLLATE NOCASE",
    )?;
    let authors = stmt
        .query_map([], |r| {
            Ok(AuthorInfo {
                name: r.get(0)?,
                observations: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(authors)
}
