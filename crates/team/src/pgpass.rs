//! libpq's password file: `hostname:port:database:username:password` lines,
//! `*` matching anything, `\:` and `\\` escaping, `#` comments. Unlike
//! libpq, a file others may read is still used: checking its mode is the
//! platform crate's business, and this crate depends on no other mnemo crate.

use std::io::Read;
use std::path::{Path, PathBuf};

/// `PGPASSFILE`, else `~/.pgpass`.
pub(crate) fn location() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("PGPASSFILE") {
        return Some(PathBuf::from(file));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".pgpass"))
}

/// The password of the first line matching the connection, if any.
pub(crate) fn lookup(
    file: &Path,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Option<String> {
    let text = read_small_file(file).ok()?;
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(fields)
        .find(|fields| {
            fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(wanted)
                    .all(|(field, value)| field == "*" || field == value)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// A password file's text: a regular file only (a FIFO or a device would
/// block or never end), its first 64 KiB.
pub(crate) fn read_small_file(path: &Path) -> std::io::Result<String> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(64 * 1024)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// A line split at its unescaped colons, escapes removed.
fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            // The password, last, may hold colons of its own.
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_private(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let file = write_private(
            "# comment\n\
             db.example:5432:other:ann:wrong\n\
             db.example:*:team:ann:p\\:a\\\\ss:word\n\
             *:*:*:*:fallback\n",
        );
        assert_eq!(
            lookup(file.path(), "db.example", 5432, "team", "ann").as_deref(),
            Some("p:a\\ss:word")
        );
        assert_eq!(
            lookup(file.path(), "elsewhere", 5433, "x", "bob").as_deref(),
            Some("fallback")
        );
    }
}
