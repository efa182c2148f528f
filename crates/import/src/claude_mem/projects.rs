//! From claude-mem's project names (a git top-level's basename) to mnemo's
//! project identity (the root path), and what Claude Code's transcripts say
//! about a session.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use mnemo_capture::project;
use mnemo_store::{ProjectRef, Store};
use serde_json::Value;

use super::ImportError;

/// Root prefix of a project known only by its claude-mem name. Not a path,
/// so nothing ever resolves a working directory to it; a later import that
/// can place the name (`--map`, or a real project of that name captured
/// since) moves everything out of it.
pub const PLACEHOLDER_PREFIX: &str = "claude-mem:";

/// How a project name was given a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedBy {
    /// `--map NAME=DIR`.
    Option,
    /// The project of its sessions already in mnemo (captured by hooks, or
    /// imported before).
    KnownSessions,
    /// The only mnemo project with that name.
    ExistingProject,
    /// The working directory in a Claude Code transcript of its sessions.
    Transcript,
    /// Nothing placed it: [`PLACEHOLDER_PREFIX`] and the name.
    Placeholder,
}

impl MappedBy {
    /// A few words for the report.
    pub fn describe(self) -> &'static str {
        match self {
            MappedBy::Option => "from --map",
            MappedBy::KnownSessions => "where mnemo already has its sessions",
            MappedBy::ExistingProject => "the mnemo project of that name",
            MappedBy::Transcript => "from the cwd in Claude Code's transcripts",
            MappedBy::Placeholder => "placeholder: place it with --map NAME=DIR",
        }
    }
}

/// One claude-mem project name and where it went.
#[derive(Debug, Clone)]
pub struct ProjectMapping {
    /// claude-mem's name.
    pub name: String,
    /// The mnemo project it was placed on.
    pub project: ProjectRef,
    /// What placed it there.
    pub by: MappedBy,
    /// A placeholder project of this name from an earlier import was merged
    /// into `project`.
    pub merged_placeholder: bool,
}

/// What a Claude Code transcript says about its session.
#[derive(Debug, Clone, Default)]
pub(super) struct TranscriptInfo {
    pub path: String,
    pub cwd: Option<String>,
}

/// Claude Code's transcripts (`<config>/projects/<slug>/<session id>.jsonl`),
/// indexed by session id.
#[derive(Default)]
pub(super) struct Transcripts {
    files: HashMap<String, PathBuf>,
}

/// Lines read from the top of a transcript looking for its `cwd`.
const CWD_SCAN_LINES: usize = 200;

impl Transcripts {
    /// Index the transcripts under `projects_dir`; a missing directory is an
    /// empty index.
    pub fn index(projects_dir: Option<&Path>) -> Transcripts {
        let mut files = HashMap::new();
        let dirs = projects_dir
            .and_then(|d| std::fs::read_dir(d).ok())
            .into_iter()
            .flatten()
            .flatten();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "jsonl")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                {
                    files.insert(stem.to_string(), path);
                }
            }
        }
        Transcripts { files }
    }

    /// The transcript of a session and the first `cwd` recorded in it.
    pub fn info(&self, session_id: &str) -> Option<TranscriptInfo> {
        let path = self.files.get(session_id)?;
        let cwd = File::open(path).ok().and_then(|f| {
            BufReader::new(f)
                .lines()
                .take(CWD_SCAN_LINES)
                .map_while(Result::ok)
                .find_map(|line| {
                    let v: Value = serde_json::from_str(&line).ok()?;
                    v.get("cwd")?
                        .as_str()
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                })
        });
        Some(TranscriptInfo {
            path: path.to_string_lossy().into_owned(),
            cwd,
        })
    }
}

/// The project a `--map` directory stands for.
pub(super) fn project_of_dir(dir: &Path) -> ProjectRef {
    project::resolve(dir).to_ref()
}

/// The project of a session's working directory, for a claude-mem project
/// called `name`: the nearest enclosing directory with that name (what
/// claude-mem took the name from), else the directory's git top-level.
fn project_of_cwd(cwd: &str, name: &str) -> ProjectRef {
    let resolved = project::resolve(Path::new(cwd));
    if resolved.name == name {
        return resolved.to_ref();
    }
    match Path::new(cwd)
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == name))
    {
        Some(dir) => ProjectRef {
            root: dir.to_string_lossy().into_owned(),
            name: name.to_string(),
        },
        None => resolved.to_ref(),
    }
}

/// Sessions looked at per project name when searching mnemo or the
/// transcripts for where it lives.
const SESSIONS_CONSULTED: usize = 50;

/// Give `name` a root, trying in order: `maps`, the project of its
/// sessions mnemo already knows, the only mnemo project of that name, the
/// transcripts of its sessions, a placeholder.
pub(super) fn map_project(
    store: &Store,
    name: &str,
    maps: &HashMap<String, ProjectRef>,
    sessions: &[(&str, &str)],
    transcripts: &Transcripts,
) -> Result<(ProjectRef, MappedBy), ImportError> {
    if let Some(p) = maps.get(name) {
        return Ok((p.clone(), MappedBy::Option));
    }
    let real = |root: &String| !root.starts_with(PLACEHOLDER_PREFIX);
    for (agent, id) in sessions.iter().take(SESSIONS_CONSULTED) {
        if let Some(root) = store.session_project(agent, id)?.filter(real) {
            let name = Path::new(&root)
                .file_name()
                .map_or_else(|| root.clone(), |n| n.to_string_lossy().into_owned());
            return Ok((ProjectRef { root, name }, MappedBy::KnownSessions));
        }
    }
    let existing: Vec<String> = store
        .projects_named(name)?
        .into_iter()
        .filter(real)
        .collect();
    if let [root] = existing.as_slice() {
        let project = ProjectRef {
            root: root.clone(),
            name: name.to_string(),
        };
        return Ok((project, MappedBy::ExistingProject));
    }
    for (_, id) in sessions.iter().take(SESSIONS_CONSULTED) {
        if let Some(cwd) = transcripts.info(id).and_then(|t| t.cwd) {
            return Ok((project_of_cwd(&cwd, name), MappedBy::Transcript));
        }
    }
    Ok((placeholder(name), MappedBy::Placeholder))
}

/// The placeholder project of a claude-mem name.
pub(super) fn placeholder(name: &str) -> ProjectRef {
    ProjectRef {
        root: format!("{PLACEHOLDER_PREFIX}{name}"),
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cwd_below_the_named_directory_maps_to_it() {
        let p = project_of_cwd("/nowhere/src/api/crates/core", "api");
        assert_eq!(p.root, "/nowhere/src/api");
        let p = project_of_cwd("/nowhere/src/web", "api");
        assert_eq!(p.root, "/nowhere/src/web");
    }
}
