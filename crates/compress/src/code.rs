//! Describing a code change from its before and after text: which functions
//! it added or touched, which conditions and raised errors it introduced.
//! Line-based and language-aware enough for titles like
//! "fibonacci() raises ValueError for negative n".

use std::sync::LazyLock;

use regex::Regex;

/// What an edit or a new file contains, in terms a developer would use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Functions, classes and types defined in added lines.
    pub added_defs: Vec<String>,
    /// Definitions removed.
    pub removed_defs: Vec<String>,
    /// The function the change sits in, when it is inside one.
    pub enclosing: Option<String>,
    /// Conditions in added lines (`n < 0`).
    pub conditions: Vec<String>,
    /// Errors raised in added lines: (type, message) e.g. ("ValueError", "n must be non-negative").
    pub raises: Vec<(String, String)>,
    /// Assignments and declarations in added lines, whole
    /// (`rides = pl.len().cast(pl.UInt32)`), for changes that define nothing
    /// new (configuration, fields, values): the value is what a reader needs.
    pub assignments: Vec<String>,
    /// For a one-line change: the line before and after.
    pub replaced: Option<(String, String)>,
    /// For a small addition: the added lines.
    pub inserted: Vec<String>,
    /// Lines the change adds.
    pub lines_added: usize,
    /// Lines the change removes.
    pub lines_removed: usize,
}

static DEF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^[\t\n\x0B\x0C\r ]*(?:export[\t\n\x0B\x0C\r ]+)?(?:pub(?:\([^)]*\))?[\t\n\x0B\x0C\r ]+)?(?:default[\t\n\x0B\x0C\r ]+)?(?:async[\t\n\x0B\x0C\r ]+)?(?:unsafe[\t\n\x0B\x0C\r ]+)?(?:const[\t\n\x0B\x0C\r ]+)?",
        r"(def|fn|function|class|struct|enum|trait|interface|type|func)[\t\n\x0B\x0C\r ]+(?:\([^)]*\)[\t\n\x0B\x0C\r ]*)?([A-Za-z_][0-9A-Za-z_]*)",
    ))
    .expect("static regex")
});
static ARROW_DEF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\t\n\x0B\x0C\r ]*(?:export[\t\n\x0B\x0C\r ]+)?(?:const|let|var)[\t\n\x0B\x0C\r ]+([A-Za-z_][0-9A-Za-z_]*)[\t\n\x0B\x0C\r ]*=[\t\n\x0B\x0C\r ]*(?:async[\t\n\x0B\x0C\r ]*)?(?:\([^)]*\)|[0-9A-Za-z_]+)[\t\n\x0B\x0C\r ]*(?::[\t\n\x0B\x0C\r ]*[^=]+)?=>")
        .expect("static regex")
});
static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\t\n\x0B\x0C\r ]*(?:(?:pub|let|const|var|readonly|export|static|mut)[\t\n\x0B\x0C\r ]+)*(?:self\.|this\.)?([A-Za-z_][0-9A-Za-z_]*)(?:\.[A-Za-z_][0-9A-Za-z_]*|\[[^\]=]*\])*[\t\n\x0B\x0C\r ]*(?::[\t\n\x0B\x0C\r ]*[^=]+?)?[\t\n\x0B\x0C\r ]*=[^=]")
        .expect("static regex")
});
const NOT_NAMES: &[&str] = &[
    "if", "else", "return", "for", "while", "match", "elif", "assert",
];
static CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\t\n\x0B\x0C\r ]*(?:\}[\t\n\x0B\x0C\r ]*)?(?:if|elif|else if|unless|guard|while)[\t\n\x0B\x0C\r ]*(?:let[\t\n\x0B\x0C\r ]+)?\(?[\t\n\x0B\x0C\r ]*(.+?)[\t\n\x0B\x0C\r ]*\)?[\t\n\x0B\x0C\r ]*(?::|\{|then)?[\t\n\x0B\x0C\r ]*$")
        .expect("static regex")
});
static RAISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:raise|throw new|throw)[\t\n\x0B\x0C\r ]+([A-Z][0-9A-Za-z_]*)[\t\n\x0B\x0C\r ]*\([\t\n\x0B\x0C\r ]*(?:f?['\x22`]([^'\x22`]*))?",
        r"|(?:return[\t\n\x0B\x0C\r ]+)?Err\([\t\n\x0B\x0C\r ]*([A-Z][0-9A-Za-z_]*)?[[0-9A-Za-z_]:(]*[\t\n\x0B\x0C\r ]*(?:['\x22]([^'\x22]*))?",
        r"|(panic|bail|anyhow)!\([\t\n\x0B\x0C\r ]*['\x22]([^'\x22]*)",
    ))
    .expect("static regex")
});

/// Describe replacing `old` with `new`. `original` is the whole file before
/// the change, when known, to find the enclosing function.
pub fn describe(old: &str, new: &str, original: Option<&str>) -> Change {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let added: Vec<&str> = new_lines
        .iter()
        .filter(|l| !old_lines.contains(l))
        .copied()
        .collect();
    let removed: Vec<&str> = old_lines
        .iter()
        .filter(|l| !new_lines.contains(l))
        .copied()
        .collect();
    let mut change = Change {
        lines_added: added.len(),
        lines_removed: removed.len(),
        ..Change::default()
    };
    let old_defs = defs(&old_lines);
    for d in defs(&added) {
        if !old_defs.contains(&d) {
            push_unique(&mut change.added_defs, d);
        }
    }
    let new_defs = defs(&new_lines);
    for d in defs(&removed) {
        if !new_defs.contains(&d) {
            push_unique(&mut change.removed_defs, d);
        }
    }
    for line in &added {
        if let Some(c) = CONDITION.captures(line) {
            let cond = c[1].trim_end_matches([':', '{', ')']).trim().to_string();
            if !cond.is_empty() && cond.len() <= 80 {
                push_unique(&mut change.conditions, cond);
            }
        }
        if let Some(c) = RAISE.captures(line) {
            let (kind, msg) = if let Some(k) = c.get(1) {
                (k.as_str(), c.get(2).map_or("", |m| m.as_str()))
            } else if c.get(5).is_some() {
                ("panic", c.get(6).map_or("", |m| m.as_str()))
            } else {
                (
                    c.get(3).map_or("Err", |m| m.as_str()),
                    c.get(4).map_or("", |m| m.as_str()),
                )
            };
            let entry = (kind.to_string(), msg.trim().to_string());
            if !change.raises.contains(&entry) {
                change.raises.push(entry);
            }
        }
    }
    for line in &added {
        if let Some(c) = ASSIGNED.captures(line)
            && !NOT_NAMES.contains(&&c[1])
            && c[1].len() > 1
        {
            push_unique(&mut change.assignments, line.trim().to_string());
        }
    }
    let meaningful = |l: &&&str| !l.trim().is_empty();
    let added_code: Vec<&&str> = added.iter().filter(meaningful).collect();
    let removed_code: Vec<&&str> = removed.iter().filter(meaningful).collect();
    if let ([a], [r]) = (added_code.as_slice(), removed_code.as_slice()) {
        change.replaced = Some((r.trim().to_string(), a.trim().to_string()));
    } else if removed_code.is_empty() && (1..=2).contains(&added_code.len()) {
        change.inserted = added_code.iter().map(|l| l.trim().to_string()).collect();
    }
    // An edit that adds definitions sits between functions, not inside one.
    if change.added_defs.is_empty() {
        change.enclosing = enclosing_def(old, new, original);
    }
    change
}

/// Definitions in a whole new file.
pub fn defs_in(content: &str) -> Vec<String> {
    defs(&content.lines().collect::<Vec<_>>())
}

/// Definitions named as a developer would: `fibonacci()` for functions,
/// `Cart` for types.
fn defs(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        if let Some(c) = DEF.captures(line) {
            push_unique(&mut out, def_name(&c[1], &c[2]));
        } else if let Some(c) = ARROW_DEF.captures(line) {
            push_unique(&mut out, format!("{}()", &c[1]));
        }
    }
    out
}

fn def_name(keyword: &str, name: &str) -> String {
    match keyword {
        "def" | "fn" | "function" | "func" => format!("{name}()"),
        _ => name.to_string(),
    }
}

/// The definition whose body contains the edited text: the nearest
/// definition line at or above where `old` starts in the original file, or
/// at the top of the edit itself.
fn enclosing_def(old: &str, new: &str, original: Option<&str>) -> Option<String> {
    let first_line = |s: &str| s.lines().find(|l| !l.trim().is_empty()).map(str::to_string);
    if let Some(original) = original
        && let Some(anchor) = first_line(old)
        && let Some(pos) = original.find(anchor.as_str())
    {
        let before: Vec<&str> = original[..pos + anchor.len()].lines().collect();
        if let Some(name) = before
            .iter()
            .rev()
            .find_map(|l| DEF.captures(l).map(|c| def_name(&c[1], &c[2])))
        {
            return Some(name);
        }
    }
    defs(&old.lines().collect::<Vec<_>>())
        .into_iter()
        .next()
        .or_else(|| defs(&new.lines().collect::<Vec<_>>()).into_iter().next())
}

fn push_unique(v: &mut Vec<String>, item: String) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// "n < 0" → "negative n"; other conditions are quoted as code.
pub fn humanize_condition(cond: &str) -> String {
    let c = cond
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let parts: Vec<&str> = c.split_whitespace().collect();
    match parts.as_slice() {
        [x, "<", "0"] => format!("negative {x}"),
        [x, "<=", "0"] => format!("non-positive {x}"),
        [x, "is", "None"]
        | [x, "==", "None" | "null" | "nil"]
        | [x, "===", "null" | "undefined"] => {
            format!("missing {x}")
        }
        ["not", x] => format!("empty {x}"),
        _ => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "import sys\n\n\ndef fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n";

    #[test]
    fn python_guard_clause() {
        let c = describe(
            "    if n < 2:\n        return n",
            "    if n < 0:\n        raise ValueError(\"n must be non-negative\")\n    if n < 2:\n        return n",
            Some(ORIGINAL),
        );
        assert_eq!(c.enclosing.as_deref(), Some("fibonacci()"));
        assert_eq!(c.conditions, ["n < 0"]);
        assert_eq!(
            c.raises,
            [("ValueError".into(), "n must be non-negative".into())]
        );
        assert_eq!(c.lines_added, 2);
        assert_eq!(humanize_condition(&c.conditions[0]), "negative n");
    }

    #[test]
    fn definitions_in_several_languages() {
        let src = "pub fn total(items: &[Item]) -> u32 {\n}\nexport function computeTax(amount: number) {\n}\nexport const round2 = (x: number) => x;\nfunc (s *Server) Start() error {\nclass Cart:\n";
        assert_eq!(
            defs_in(src),
            ["total()", "computeTax()", "round2()", "Start()", "Cart"]
        );
    }

    #[test]
    fn rust_errors_and_panics() {
        let c = describe(
            "",
            "    if qty == 0 {\n        return Err(InventoryError::Empty);\n    }\n    panic!(\"bad state\");",
            None,
        );
        assert_eq!(c.conditions, ["qty == 0"]);
        assert_eq!(c.raises[0].0, "InventoryError");
        assert_eq!(c.raises[1], ("panic".into(), "bad state".into()));
    }

    #[test]
    fn assignments_to_items_and_fields_are_assignments() {
        let c = describe(
            "",
            "    df[col] = df[col].dt.tz_localize(\"UTC\")\n    self.cache.limit = 512\n    if df[col] == 0:\n        pass",
            None,
        );
        assert_eq!(
            c.assignments,
            [
                "df[col] = df[col].dt.tz_localize(\"UTC\")",
                "self.cache.limit = 512"
            ]
        );
    }
}
