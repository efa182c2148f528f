//! Project identity: the canonical git top-level of a working directory.
//!
//! Done in-process (a few `stat`s) rather than by spawning `git`, which would
//! cost more than the hook's whole latency budget. Worktrees resolve to the
//! main repository through their `commondir`, so all worktrees of one
//! repository are one project; a submodule is its own project; a directory
//! outside git is a project of its own. The identity is the full path, never
//! the basename: two repositories both called `api` stay two projects.
//!
//! The git files read here (`.git` as a file, `commondir`, `HEAD`) are read
//! only when they are regular files, at most 4 KiB each
//! (`GIT_FILE_MAX_BYTES`), within 500 ms (`GIT_FILE_TIMEOUT`): a FIFO or `/dev/zero` planted there must not
//! hang or flood a hook. An unreadable file counts as absent.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mnemo_config::bounded;

/// Git writes these files as one short line; anything longer is not git's.
const GIT_FILE_MAX_BYTES: usize = 4096;
/// How long reading one git file may take.
const GIT_FILE_TIMEOUT: Duration = Duration::from_millis(500);

/// The text of a small git metadata file, if it is a readable regular file.
fn read_git_file(path: &Path) -> Option<String> {
    bounded::read_regular_string(path, GIT_FILE_MAX_BYTES, GIT_FILE_TIMEOUT).ok()
}

/// Where a working directory belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectIdentity {
    /// Canonical root: the identity.
    pub root: PathBuf,
    /// Display name: the root's last component.
    pub name: String,
    /// Current branch of the working tree, when on one.
    pub branch: Option<String>,
}

impl ProjectIdentity {
    /// The store's view of this project.
    pub fn to_ref(&self) -> mnemo_store::ProjectRef {
        mnemo_store::ProjectRef {
            root: self.root.to_string_lossy().into_owned(),
            name: self.name.clone(),
        }
    }
}

/// Resolve the project of `cwd`. A directory that no longer exists (e.g. an
/// imported session) is taken as given.
pub fn resolve(cwd: &Path) -> ProjectIdentity {
    let start = fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    for dir in start.ancestors() {
        let dot_git = dir.join(".git");
        let Ok(meta) = fs::metadata(&dot_git) else {
            continue;
        };
        if meta.is_dir() {
            return info(dir.to_path_buf(), Some(&dot_git));
        }
        if meta.is_file() {
            return match linked_git_dir(dir, &dot_git) {
                Some((git_dir, Some(main_root))) => info(main_root, Some(&git_dir)),
                Some((git_dir, None)) => info(dir.to_path_buf(), Some(&git_dir)),
                None => info(dir.to_path_buf(), None),
            };
        }
    }
    info(start, None)
}

fn info(root: PathBuf, git_dir: Option<&Path>) -> ProjectIdentity {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.to_string_lossy().into_owned());
    ProjectIdentity {
        branch: git_dir.and_then(branch),
        name,
        root,
    }
}

/// For a `.git` file (`gitdir: …`): the linked git dir, and for a worktree the
/// root of the repository it belongs to.
fn linked_git_dir(dir: &Path, dot_git: &Path) -> Option<(PathBuf, Option<PathBuf>)> {
    let text = read_git_file(dot_git)?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let git_dir = fs::canonicalize(dir.join(target)).ok()?;
    let main_root = read_git_file(&git_dir.join("commondir"))
        .and_then(|common| fs::canonicalize(git_dir.join(common.trim())).ok())
        .map(|common| {
            // A non-bare repository keeps its common dir at <root>/.git.
            if common.file_name().is_some_and(|n| n == ".git") {
                common.parent().map_or(common.clone(), Path::to_path_buf)
            } else {
                common
            }
        });
    Some((git_dir, main_root))
}

fn branch(git_dir: &Path) -> Option<String> {
    let head = read_git_file(&git_dir.join("HEAD"))?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .output()
            .expect("git runs")
            .status
            .success();
        assert!(ok, "git {args:?} failed");
    }

    #[test]
    fn subdirectory_of_a_repo_resolves_to_its_top_level() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("api");
        fs::create_dir_all(repo.join("src/deep")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let p = resolve(&repo.join("src/deep"));
        assert_eq!(p.root, fs::canonicalize(&repo).unwrap());
        assert_eq!(p.name, "api");
        assert_eq!(p.branch.as_deref(), Some("main"));
    }

    #[test]
    fn worktrees_map_to_the_main_repository() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("shop");
        fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);
        let wt = tmp.path().join("shop-feature");
        git(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "feature",
                wt.to_str().unwrap(),
            ],
        );
        let p = resolve(&wt);
        assert_eq!(p.root, fs::canonicalize(&repo).unwrap());
        assert_eq!(p.branch.as_deref(), Some("feature"));
    }

    #[test]
    fn same_basename_different_repos_are_different_projects() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("one/api");
        let b = tmp.path().join("two/api");
        for d in [&a, &b] {
            fs::create_dir_all(d).unwrap();
            git(d, &["init", "-q"]);
        }
        assert_ne!(resolve(&a).root, resolve(&b).root);
    }

    #[test]
    fn plain_directory_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("notes");
        fs::create_dir_all(&dir).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let real = fs::canonicalize(&dir).unwrap();
        assert_eq!(resolve(&dir).root, real);
        assert_eq!(resolve(&link).root, real);
        assert_eq!(resolve(&dir).branch, None);
        let gone = Path::new("/nonexistent/mnemo/project");
        assert_eq!(resolve(gone).root, gone);
    }
}
