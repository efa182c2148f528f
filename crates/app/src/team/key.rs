//! A project's portable key: what makes clones of one repository at
//! different paths on different machines one team project.
//!
//! The key comes from the repository's remote (`origin`, else the first
//! one git lists), normalised so that every URL form of one repository
//! gives the same key: the scheme, the user, the port, a trailing `.git`
//! and trailing slashes are dropped and the rest is lower-cased, so
//! `https://github.com/Acme/api.git`, `git@github.com:acme/api.git`,
//! `ssh://git@github.com:22/acme/api` and `git://github.com/acme/api` are
//! all `github.com/acme/api`. Paths are lower-cased too: the hosting
//! services people share through treat them case-insensitively, and two
//! repositories on one host whose names differ only in case are far rarer
//! than one repository typed two ways. A remote that is a local path (a
//! bare repository on a shared disk) keeps its case: `file:/srv/git/api`.
//! A repository without a remote is keyed by its first commit,
//! `root:<sha>`. The key is computed when a project is joined (spawning
//! git there is fine; hooks never need it).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The portable key of a remote URL, or `None` when it has no path.
pub fn normalize_remote(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return local_key(rest);
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        (authority, path)
    } else if let Some((authority, path)) = scp_like(url) {
        (authority, path)
    } else {
        return local_key(url);
    };
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    // The port goes; an IPv6 address in brackets keeps its colons.
    let host = match host.strip_prefix('[') {
        Some(address) => address.split(']').next().unwrap_or(address),
        None => host.split(':').next().unwrap_or(host),
    };
    let path = trim_repo_path(path);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("{host}/{path}").to_lowercase())
}

/// `user@host:path` (git's scp-like syntax): the colon comes before any
/// slash, and the part before it is not a single drive letter.
fn scp_like(url: &str) -> Option<(&str, &str)> {
    let colon = url.find(':')?;
    let slash = url.find('/').unwrap_or(usize::MAX);
    (colon < slash && colon > 1).then(|| (&url[..colon], &url[colon + 1..]))
}

fn trim_repo_path(path: &str) -> &str {
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    path.trim_matches('/')
}

fn local_key(path: &str) -> Option<String> {
    let path = trim_repo_path(path);
    (!path.is_empty()).then(|| format!("file:/{path}"))
}

/// The portable key of the git repository whose top-level is `root`.
pub fn portable_key(root: &Path) -> anyhow::Result<String> {
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"]).unwrap_or_default();
    if inside.trim() != "true" {
        bail!(
            "{} is not in a git repository: team projects are matched by their git remote or first commit",
            root.display()
        );
    }
    let remotes = git(root, &["remote"])?;
    let remotes: Vec<&str> = remotes
        .lines()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    let remote = remotes
        .iter()
        .find(|r| **r == "origin")
        .or_else(|| remotes.first());
    if let Some(remote) = remote {
        let url = git(root, &["remote", "get-url", remote])?;
        if let Some(key) = normalize_remote(&url) {
            return Ok(key);
        }
    }
    let roots = git(root, &["rev-list", "--max-parents=0", "HEAD"]).context(
        "the repository has no remote and no commit to key it by; commit once or add a remote",
    )?;
    // Several roots (merged histories): the smallest, the same on every clone.
    match roots.lines().map(str::trim).filter(|l| !l.is_empty()).min() {
        Some(sha) => Ok(format!("root:{sha}")),
        None => bail!(
            "the repository has no remote and no commit to key it by; commit once or add a remote"
        ),
    }
}

/// The output of `git -C dir ARGS`, or an error with git's message.
pub(crate) fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        bail!(
            "git {}: {}",
            args.join(" "),
            message.lines().next().unwrap_or("failed")
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_form_of_one_repository_gives_one_key() {
        for url in [
            "https://github.com/Acme/api.git",
            "https://github.com/acme/api",
            "https://github.com/acme/api/",
            "http://user:token@GitHub.com:443/acme/api.git",
            "git@github.com:acme/api.git",
            "git@github.com:/acme/api.git",
            "github.com:acme/api",
            "ssh://git@github.com:22/acme/api",
            "ssh://git@github.com/acme/api.git/",
            "git+ssh://git@github.com/acme/api",
            "git://github.com/acme/api.git",
        ] {
            assert_eq!(
                normalize_remote(url).as_deref(),
                Some("github.com/acme/api"),
                "{url}"
            );
        }
    }

    #[test]
    fn nested_groups_and_other_hosts_keep_their_whole_path() {
        assert_eq!(
            normalize_remote("git@gitlab.example.com:Platform/Team/api.git").as_deref(),
            Some("gitlab.example.com/platform/team/api")
        );
        assert_ne!(
            normalize_remote("https://github.com/acme/api"),
            normalize_remote("https://gitlab.com/acme/api")
        );
    }

    #[test]
    fn local_remotes_keep_their_case_and_lose_dot_git() {
        assert_eq!(
            normalize_remote("/srv/Git/api.git").as_deref(),
            Some("file:/srv/Git/api")
        );
        assert_eq!(
            normalize_remote("file:///srv/Git/api.git/").as_deref(),
            Some("file:/srv/Git/api")
        );
    }

    #[test]
    fn a_url_without_a_path_has_no_key() {
        assert_eq!(normalize_remote("https://github.com/"), None);
        assert_eq!(normalize_remote(""), None);
    }
}
