//! claude-mem's vocabulary and field formats in mnemo's terms.

use mnemo_store::OBSERVATION_TYPES;
use serde_json::Value;

/// mnemo's type for a claude-mem type. The eight shared types map to
/// themselves; `sensitive` ("not quite private, but shouldn't leak into
/// further work in the wrong context") becomes `security_note`, the mnemo
/// type for handle-with-care information; anything else (claude-mem keeps
/// unknown types from its model) becomes `discovery`, the neutral type.
pub(super) fn observation_type(kind: &str) -> &'static str {
    let kind = kind.trim().to_ascii_lowercase();
    if kind == "sensitive" {
        return "security_note";
    }
    OBSERVATION_TYPES
        .iter()
        .find(|t| **t == kind)
        .copied()
        .unwrap_or("discovery")
}

/// A list field: a JSON array (what claude-mem writes), or, from older or
/// hand-edited rows, text with one item per line or comma.
pub(super) fn list(field: Option<&str>) -> Vec<String> {
    let Some(field) = field.map(str::trim).filter(|f| !f.is_empty()) else {
        return Vec::new();
    };
    let items: Vec<String> = match serde_json::from_str::<Value>(field) {
        Ok(Value::Array(values)) => values
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Ok(Value::String(s)) => vec![s],
        _ => {
            let separator = if field.contains('\n') { '\n' } else { ',' };
            field.split(separator).map(str::to_string).collect()
        }
    };
    items
        .into_iter()
        .map(|s| {
            s.trim()
                .trim_start_matches(['-', '*', '•'])
                .trim()
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Concept tags as claude-mem's own parser normalizes them: cut at the
/// first `:`, lower case, without the observation's type, each once.
pub(super) fn concepts(field: Option<&str>, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in list(field) {
        let tag = tag.split(':').next().unwrap_or("").trim().to_lowercase();
        if !tag.is_empty() && tag != kind && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s[..end].trim_end())
}

/// The first non-blank line of `text`, without Markdown heading or list
/// marks, as a title.
pub(super) fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches(['#', '-', '*']).trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    shorten(line, 120)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_onto_mnemos() {
        assert_eq!(observation_type("bugfix"), "bugfix");
        assert_eq!(observation_type("security_alert"), "security_alert");
        assert_eq!(observation_type("sensitive"), "security_note");
        assert_eq!(observation_type("Decision"), "decision");
        assert_eq!(observation_type("musing"), "discovery");
        assert_eq!(observation_type(""), "discovery");
    }

    #[test]
    fn lists_read_json_or_lines() {
        assert_eq!(list(Some(r#"["a.rs", " b.rs "]"#)), ["a.rs", "b.rs"]);
        assert_eq!(list(Some("- one\n- two\n\n")), ["one", "two"]);
        assert_eq!(list(Some("src/a.rs, src/b.rs")), ["src/a.rs", "src/b.rs"]);
        assert_eq!(list(Some("[1, \"x\"]")), ["1", "x"]);
        assert!(list(Some("  ")).is_empty());
        assert!(list(None).is_empty());
    }

    #[test]
    fn concepts_are_normalized() {
        assert_eq!(
            concepts(
                Some(r#"["Gotcha: the cache", "gotcha", "bugfix", "pattern"]"#),
                "bugfix"
            ),
            ["gotcha", "pattern"]
        );
    }

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(first_line("\n## Fixed the cache\nmore"), "Fixed the cache");
        let long = "é".repeat(100);
        let title = first_line(&long);
        assert!(title.ends_with('…') && title.len() <= 124);
    }
}
