//! Secret files: which paths hold secrets, whether a shell command touches
//! one, and grep-style `path:line:text` output from one.
//!
//! Matching is ASCII case-insensitive: globs and names are lower-cased
//! before they meet.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use memchr::memchr;

use crate::PrivacyError;
use crate::detect::{K_SECRET_FILE, P_SPECIFIC, Span};

/// Built-in secret file-name globs (matched ASCII case-insensitively
/// against a path's file name; `*.pub`, `*.example`, `*.sample`,
/// `*.template` and `*.dist` names are exempt).
pub const BUILTIN_SECRET_FILES: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".git-credentials",
    "credentials",
    "*.p12",
    "*.pfx",
    "*.ppk",
];

/// Endings that make a built-in match harmless: public keys and the
/// committed templates of `.env` files.
const BUILTIN_EXCEPTIONS: &[&str] = &[".pub", ".example", ".sample", ".template", ".dist"];

/// A glob that needs no glob engine: `name`, `*suffix` or `prefix*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Simple {
    Exact(String),
    Suffix(String),
    Prefix(String),
}

impl Simple {
    /// Parse an already lower-cased glob; `None` when it needs globset.
    fn parse(g: &str) -> Option<Simple> {
        if g.contains(['?', '[', ']', '{', '}', '\\', '/', '!']) {
            return None;
        }
        match g.matches('*').count() {
            0 => Some(Simple::Exact(g.to_string())),
            1 if g.len() > 1 && g.starts_with('*') => Some(Simple::Suffix(g[1..].to_string())),
            1 if g.len() > 1 && g.ends_with('*') => {
                Some(Simple::Prefix(g[..g.len() - 1].to_string()))
            }
            _ => None,
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Simple::Exact(e) => name == e,
            Simple::Suffix(s) => name.ends_with(s.as_str()),
            Simple::Prefix(p) => name.starts_with(p.as_str()),
        }
    }
}

/// Secret-file matchers. Simple globs (all the built-in ones, and most user
/// ones) are plain string tests; only the others are compiled, by globset,
/// because building a glob set costs more than a whole hook run.
#[derive(Debug)]
pub(crate) struct SecretFiles {
    builtin: Vec<Simple>,
    /// Simple user globs, matched against the file name.
    user_simple: Vec<Simple>,
    /// Other user globs without `/`: matched against the file name.
    user_names: Option<GlobSet>,
    /// User globs with `/`: matched against the whole path.
    user_paths: Option<GlobSet>,
}

fn glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

impl SecretFiles {
    pub(crate) fn new(extra: &[String]) -> Result<Self, PrivacyError> {
        let builtin = BUILTIN_SECRET_FILES
            .iter()
            .map(|g| Simple::parse(g).expect("built-in secret-file globs are simple"))
            .collect();
        let mut user_simple = Vec::new();
        let mut names: Option<GlobSetBuilder> = None;
        let mut paths: Option<GlobSetBuilder> = None;
        let err = |pattern: &str, source| PrivacyError::InvalidGlob {
            pattern: pattern.to_string(),
            source,
        };
        for raw in extra {
            let g = raw.trim().to_ascii_lowercase();
            if g.is_empty() {
                continue;
            }
            if let Some(simple) = Simple::parse(&g) {
                user_simple.push(simple);
            } else if g.contains('/') {
                let anchored = if g.starts_with('/') || g.starts_with("**") {
                    g.clone()
                } else {
                    format!("**/{g}")
                };
                let compiled = glob(&anchored).map_err(|e| err(raw.trim(), e))?;
                paths.get_or_insert_with(GlobSetBuilder::new).add(compiled);
            } else {
                let compiled = glob(&g).map_err(|e| err(raw.trim(), e))?;
                names.get_or_insert_with(GlobSetBuilder::new).add(compiled);
            }
        }
        let build = |b: Option<GlobSetBuilder>| {
            b.map(|b| b.build().map_err(|e| err("secret_files", e)))
                .transpose()
        };
        Ok(SecretFiles {
            builtin,
            user_simple,
            user_names: build(names)?,
            user_paths: build(paths)?,
        })
    }

    /// Does `path` name a secret file?
    pub(crate) fn is_secret(&self, path: &str) -> bool {
        let path = path.trim().trim_matches(|c| c == '"' || c == '\'');
        let path = path.replace('\\', "/").to_ascii_lowercase();
        let path = path.trim_end_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.is_empty() {
            return false;
        }
        if self.user_simple.iter().any(|g| g.matches(name))
            || self.user_names.as_ref().is_some_and(|s| s.is_match(name))
            || self.user_paths.as_ref().is_some_and(|s| s.is_match(path))
        {
            return true;
        }
        self.builtin.iter().any(|g| g.matches(name))
            && !BUILTIN_EXCEPTIONS.iter().any(|e| name.ends_with(e))
    }

    /// Does a shell command mention a secret file as a word (`cat .env`,
    /// `head -5 config/.env.local`, `less ~/.ssh/id_rsa`, `--env-file=.env`)?
    pub(crate) fn command_mentions(&self, command: &str) -> bool {
        command
            .split(|c: char| c.is_whitespace() || "|;&<>()'\"`=,:{}".contains(c))
            .filter(|w| !w.is_empty() && !w.starts_with('-'))
            .any(|w| self.is_secret(w))
    }

    /// Spans for grep-style lines from secret files: `path/.env:3:KEY=V`
    /// keeps `path/.env:3:` and redacts the rest of the line.
    ///
    /// A line qualifies when the text before its first `:` has no
    /// whitespace, names a secret file, and looks like a path: it contains
    /// `/`, starts with `.`, or a line number follows it.
    pub(crate) fn grep_lines(&self, s: &str, out: &mut Vec<Span>) {
        let b = s.as_bytes();
        let mut start = 0;
        while start < b.len() {
            let end = memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
            self.grep_line(s, start, end, out);
            start = end + 1;
        }
    }

    fn grep_line(&self, s: &str, start: usize, end: usize, out: &mut Vec<Span>) {
        let line = &s.as_bytes()[start..end];
        let probe = &line[..line.len().min(1024)];
        let Some(colon) = memchr(b':', probe) else {
            self.grep_context_line(s, start, end, out);
            return;
        };
        let path = &line[..colon];
        if path.is_empty() || path.iter().any(u8::is_ascii_whitespace) {
            return;
        }
        let mut rest = colon + 1;
        let digits = line[rest..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let numbered = digits > 0 && matches!(line.get(rest + digits), Some(b':' | b'-'));
        if numbered {
            rest += digits + 1;
        }
        if !(numbered || path.contains(&b'/') || path[0] == b'.') {
            return;
        }
        if line[rest..].iter().all(u8::is_ascii_whitespace) {
            return;
        }
        // `path` ends at an ASCII `:`, so it is a valid str slice.
        if self.is_secret(&s[start..start + colon]) {
            out.push(secret_line(start + rest, end));
        }
    }

    /// A grep context line, `path-12-text`: try every `-<digits>-` in the
    /// leading run of non-whitespace.
    fn grep_context_line(&self, s: &str, start: usize, end: usize, out: &mut Vec<Span>) {
        let line = &s.as_bytes()[start..end];
        let word = line
            .iter()
            .take(1024)
            .take_while(|c| !c.is_ascii_whitespace())
            .count();
        for dash in memchr::memchr_iter(b'-', &line[..word]) {
            let digits = line[dash + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if dash == 0 || digits == 0 || line.get(dash + 1 + digits) != Some(&b'-') {
                continue;
            }
            let rest = dash + digits + 2;
            if rest < line.len() && self.is_secret(&s[start..start + dash]) {
                out.push(secret_line(start + rest, end));
                return;
            }
        }
    }
}

fn secret_line(start: usize, end: usize) -> Span {
    Span {
        start,
        end,
        kind: K_SECRET_FILE,
        prio: P_SPECIFIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(extra: &[&str]) -> SecretFiles {
        SecretFiles::new(&extra.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn builtin_names() {
        let f = files(&[]);
        for p in [
            ".env",
            "/app/.env",
            "config/.env.local",
            ".env.production",
            "prod.env",
            "server.pem",
            "tls/server.key",
            "~/.ssh/id_rsa",
            "/home/u/.ssh/id_ed25519",
            "id_ecdsa_sk",
            "/root/.netrc",
            ".npmrc",
            "~/.pypirc",
            "/home/u/.aws/credentials",
            "cert.p12",
            "cert.PFX",
            "C:\\Users\\me\\.env",
            "\".env\"",
        ] {
            assert!(f.is_secret(p), "{p}");
        }
        for p in [
            "~/.ssh/id_rsa.pub",
            "id_ed25519.pub",
            ".env.example",
            ".env.sample",
            "src/env.rs",
            "environment.ts",
            "credentials.rs",
            "README.md",
            "keys.txt",
            "",
            "/",
        ] {
            assert!(!f.is_secret(p), "{p}");
        }
    }

    #[test]
    fn user_globs() {
        let f = files(&[
            "secrets.yaml",
            "*.kdbx",
            "deploy/*.json",
            "vault-??.txt",
            "*.{a,b}",
        ]);
        assert!(f.user_names.is_some() && f.user_paths.is_some());
        assert_eq!(f.user_simple.len(), 2);
        assert!(f.is_secret("x/vault-01.txt"));
        assert!(f.is_secret("x/y.b"));
        assert!(!f.is_secret("x/vault-001.txt"));
        assert!(f.is_secret("config/secrets.yaml"));
        assert!(f.is_secret("Secrets.YAML"));
        assert!(f.is_secret("vault.kdbx"));
        assert!(f.is_secret("/repo/deploy/prod.json"));
        assert!(!f.is_secret("/repo/other/prod.json"));
        assert!(SecretFiles::new(&["a[".to_string()]).is_err());
        let none = files(&[]);
        assert!(none.user_names.is_none() && none.user_paths.is_none());
    }

    #[test]
    fn commands() {
        let f = files(&[]);
        for c in [
            "cat .env",
            "head -5 config/.env.local",
            "less ~/.ssh/id_rsa",
            "docker run --env-file=.env img",
            "grep KEY .env | wc -l",
            "cat ~/.aws/credentials",
            "scp host:~/.ssh/id_rsa .",
        ] {
            assert!(f.command_mentions(c), "{c}");
        }
        for c in [
            "cat ~/.ssh/id_rsa.pub",
            "cp .env.example /tmp/x",
            "ls -la",
            "cargo test --env",
            "echo environment",
        ] {
            assert!(!f.command_mentions(c), "{c}");
        }
    }

    #[test]
    fn grep_output() {
        let f = files(&[]);
        let s = "src/main.rs:3:let x = 1;\nconfig/.env:3:API_KEY=abc\n.env:DB=x\n./.env.local-4-OTHER=1\ncredentials: yes\n";
        let mut spans = Vec::new();
        f.grep_lines(s, &mut spans);
        let cut: Vec<&str> = spans.iter().map(|sp| &s[sp.start..sp.end]).collect();
        assert_eq!(cut, ["API_KEY=abc", "DB=x", "OTHER=1"]);
    }
}
