//! Which projects a request covers: one rule for every command and tool.
//!
//! - An explicit project (`--project`, the `project` parameter) is, in
//!   order: a root mnemo knows (it may no longer exist on this machine, as
//!   for imported memories), an existing directory (resolved to its
//!   project like hooks resolve a session's directory: the git top-level,
//!   worktrees mapped to their main repository), or the name of exactly
//!   one known project. Anything else is an error; so is a path that is
//!   not a directory. `*` or `all` means every project (claude-mem's
//!   spelling).
//! - Asked for every project (`--all-projects`, `all_projects`), every
//!   project.
//! - Otherwise the project the caller is in: the directory's git
//!   repository, else the known project whose root holds the directory.
//!   Outside any project, every project.

use std::path::{Path, PathBuf};

use mnemo_capture::project;
use mnemo_retrieve::projects::project_roots;
use mnemo_store::{ProjectRef, Store};

use super::{Error, Result};

/// The projects a request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One project.
    Project(ProjectRef),
    /// Every project: results name theirs.
    All,
}

impl Scope {
    /// The project's root, `None` for every project.
    pub fn root(&self) -> Option<&str> {
        match self {
            Scope::Project(p) => Some(&p.root),
            Scope::All => None,
        }
    }

    /// Whether results may come from several projects (and so must say
    /// which).
    pub fn spans_projects(&self) -> bool {
        matches!(self, Scope::All)
    }
}

/// What the caller said about the project.
#[derive(Debug, Clone, Default)]
pub struct ScopeRequest {
    /// An explicit project: a directory, a known root or name, or `*`.
    pub project: Option<String>,
    /// Every project.
    pub all_projects: bool,
    /// Where the caller works (the current directory, the MCP server's
    /// project directory); `None` when it has no place (the HTTP API).
    pub here: Option<PathBuf>,
}

impl ScopeRequest {
    /// The explicit project, trimmed, when one was given.
    fn named(&self) -> Option<&str> {
        self.project
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

/// Whether `text` asks for every project.
fn means_all(text: &str) -> bool {
    text == "*" || text.eq_ignore_ascii_case("all")
}

/// The scope of `request` (see the module docs).
pub fn resolve(store: &Store, request: &ScopeRequest) -> Result<Scope> {
    match (request.named(), request.all_projects) {
        (Some(named), true) if !means_all(named) => Err(Error::Invalid(format!(
            "a project ({named}) and all projects at once: choose one"
        ))),
        (Some(named), false) if !means_all(named) => {
            Ok(Scope::Project(named_project(store, named)?))
        }
        (Some(_), _) | (None, true) => Ok(Scope::All),
        (None, false) => match &request.here {
            Some(dir) => Ok(project_here(store, dir)?.map_or(Scope::All, Scope::Project)),
            None => Ok(Scope::All),
        },
    }
}

/// The one project a write goes to: the explicit one, else the caller's
/// directory's (known or new), else none.
pub fn resolve_one(store: &Store, request: &ScopeRequest) -> Result<Option<ProjectRef>> {
    if request.all_projects || request.named().is_some_and(means_all) {
        return Err(Error::Invalid(
            "a memory belongs to one project, not to all of them".into(),
        ));
    }
    if let Some(named) = request.named() {
        return Ok(Some(named_project(store, named)?));
    }
    request
        .here
        .as_deref()
        .map(|dir| project_here(store, dir).map(|known| known.unwrap_or_else(|| new_project(dir))))
        .transpose()
}

/// The project named by `text` (see the module docs).
fn named_project(store: &Store, text: &str) -> Result<ProjectRef> {
    let known = project_roots(store)?;
    let root = match text.trim_end_matches('/') {
        "" => "/",
        root => root,
    };
    if let Some((root, name)) = known.iter().find(|(r, _)| r == root) {
        return Ok(ProjectRef {
            root: root.clone(),
            name: name.clone(),
        });
    }
    let path = Path::new(text);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(with_known_name(&known, new_project(path))),
        Ok(_) => {
            return Err(Error::Invalid(format!("project {text}: not a directory")));
        }
        Err(_) => {}
    }
    let named: Vec<&(String, String)> = known.iter().filter(|(_, n)| n == text).collect();
    match named.as_slice() {
        [(root, name)] if !text.contains('/') => Ok(ProjectRef {
            root: root.clone(),
            name: name.clone(),
        }),
        [_, _, ..] if !text.contains('/') => Err(Error::Invalid(format!(
            "several projects are named {text} ({}); give the root",
            named
                .iter()
                .map(|(root, _)| root.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Err(Error::NotFound(format!(
            "project {text}: no such directory, and no project has that root or name"
        ))),
    }
}

/// The project of the caller's directory, if it is in one: its git
/// repository, or the known project whose root holds it (the deepest).
fn project_here(store: &Store, dir: &Path) -> Result<Option<ProjectRef>> {
    let known = project_roots(store)?;
    let resolved = project::resolve(dir);
    let root = resolved.root.to_string_lossy();
    if let Some((root, name)) = known.iter().find(|(r, _)| *r == root) {
        return Ok(Some(ProjectRef {
            root: root.clone(),
            name: name.clone(),
        }));
    }
    if resolved.root.join(".git").exists() {
        return Ok(Some(resolved.to_ref()));
    }
    let holder = known
        .iter()
        .filter(|(root, _)| resolved.root.starts_with(root))
        .max_by_key(|(root, _)| root.len());
    Ok(holder.map(|(root, name)| ProjectRef {
        root: root.clone(),
        name: name.clone(),
    }))
}

/// The project of `dir` as hooks would record it.
fn new_project(dir: &Path) -> ProjectRef {
    project::resolve(dir).to_ref()
}

/// `project` with the name mnemo already knows it by, if any.
fn with_known_name(known: &[(String, String)], project: ProjectRef) -> ProjectRef {
    match known.iter().find(|(root, _)| *root == project.root) {
        Some((_, name)) => ProjectRef {
            name: name.clone(),
            ..project
        },
        None => project,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_store::HookRecord;

    fn store_with(projects: &[(&str, &str)]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        for (i, (root, name)) in projects.iter().enumerate() {
            let record = HookRecord {
                project: Some(ProjectRef {
                    root: root.to_string(),
                    name: name.to_string(),
                }),
                ..HookRecord::new("SessionStart", "claude-code", &format!("s{i}"), i as i64)
            };
            store.record(&record, 0).unwrap();
        }
        store
    }

    fn request(project: Option<&str>, all: bool, here: Option<&Path>) -> ScopeRequest {
        ScopeRequest {
            project: project.map(String::from),
            all_projects: all,
            here: here.map(Path::to_path_buf),
        }
    }

    #[test]
    fn an_explicit_project_is_a_known_root_a_directory_or_a_unique_name() {
        let dir = tempfile::tempdir().unwrap();
        let shop = dir.path().join("shop");
        std::fs::create_dir(&shop).unwrap();
        let shop = std::fs::canonicalize(shop).unwrap();
        let shop_root = shop.to_string_lossy().into_owned();
        let store = store_with(&[("/gone/blog", "blog"), (&shop_root, "shop")]);
        let root = |p: &str| {
            resolve(&store, &request(Some(p), false, None))
                .unwrap()
                .root()
                .map(String::from)
        };
        assert_eq!(root("/gone/blog/").as_deref(), Some("/gone/blog"));
        assert_eq!(root(&shop_root).as_deref(), Some(shop_root.as_str()));
        assert_eq!(root("blog").as_deref(), Some("/gone/blog"));
        assert_eq!(root("*"), None);
        assert_eq!(root("ALL"), None);
    }

    #[test]
    fn a_missing_directory_or_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "x").unwrap();
        let store = store_with(&[]);
        for bad in ["/nonexistent/project", file.to_str().unwrap(), "nameless"] {
            let err = resolve(&store, &request(Some(bad), false, None)).unwrap_err();
            assert!(
                matches!(err, Error::Invalid(_) | Error::NotFound(_)),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn several_projects_of_one_name_ask_for_the_root() {
        let store = store_with(&[("/a/shop", "shop"), ("/b/shop", "shop")]);
        let err = resolve(&store, &request(Some("shop"), false, None)).unwrap_err();
        assert!(err.to_string().contains("/a/shop, /b/shop"), "{err}");
    }

    #[test]
    fn the_callers_directory_decides_when_nothing_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let inside = root.join("src/deep");
        std::fs::create_dir_all(&inside).unwrap();
        let known = root.to_string_lossy().into_owned();
        let store = store_with(&[(&known, "app")]);
        let scope = resolve(&store, &request(None, false, Some(&inside))).unwrap();
        assert_eq!(scope.root(), Some(known.as_str()), "a known root holds it");
        let all = resolve(&store, &request(None, true, Some(&inside))).unwrap();
        assert_eq!(all, Scope::All);
        let elsewhere = tempfile::tempdir().unwrap();
        let outside = resolve(&store, &request(None, false, Some(elsewhere.path()))).unwrap();
        assert_eq!(outside, Scope::All, "outside any project");
        std::fs::create_dir(elsewhere.path().join(".git")).unwrap();
        let repo = resolve(&store, &request(None, false, Some(elsewhere.path()))).unwrap();
        assert!(
            matches!(repo, Scope::Project(_)),
            "a repository is a project"
        );
        assert!(resolve(&store, &request(Some(&known), true, None)).is_err());
    }

    #[test]
    fn a_write_goes_to_one_project() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(&[]);
        let here = resolve_one(&store, &request(None, false, Some(dir.path()))).unwrap();
        let expected = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(here.unwrap().root, expected.to_string_lossy());
        assert_eq!(
            resolve_one(&store, &request(None, false, None)).unwrap(),
            None
        );
        assert!(resolve_one(&store, &request(Some("*"), false, None)).is_err());
        assert!(resolve_one(&store, &request(None, true, None)).is_err());
    }
}
