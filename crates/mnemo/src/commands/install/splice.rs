//! Writing a merged settings file over the person's own text: members mnemo
//! did not change keep their bytes (spacing, indentation, one-line objects),
//! members it changed are written in Claude Code's two-space style, and
//! members it added go after the last one, indented like it.
//!
//! Works on objects only, member by member, descending into an object both
//! versions hold; anything it does not handle (a member removed at the end
//! while others are added, keys reordered) gives `None`, and so does a
//! result that does not read back as the merged document: the caller then
//! writes the whole file in the standard layout.

use super::{Json, Object, render};

/// Where one member of an object sits in the text.
struct Member {
    key: String,
    key_start: usize,
    value_start: usize,
    value_end: usize,
}

/// `after` written over `text`, which holds `before`; `None` when the text
/// cannot be kept.
pub(super) fn splice(text: &str, before: &Object, after: &Object) -> Option<String> {
    let open = skip_space(text, 0)?;
    let mut edits = Vec::new();
    edit_object(text, open, before, after, &mut edits)?;
    edits.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(text.len() + 1024);
    let mut at = 0;
    for (start, end, replacement) in edits {
        if start < at {
            return None; // overlapping edits
        }
        out.push_str(&text[at..start]);
        out.push_str(&replacement);
        at = end;
    }
    out.push_str(&text[at..]);
    let reread: Json = serde_json::from_str(&out).ok()?;
    (reread == Json::Obj(after.clone())).then_some(out)
}

/// The edits (byte range, replacement) that turn the object opening at
/// `open` from `before` into `after`.
fn edit_object(
    text: &str,
    open: usize,
    before: &Object,
    after: &Object,
    edits: &mut Vec<(usize, usize, String)>,
) -> Option<()> {
    let (members, close) = members(text, open)?;
    if members.len() != before.len() {
        return None; // a repeated key: keep it simple
    }
    let kept: Vec<&str> = before
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| after.iter().any(|(a, _)| a == k))
        .collect();
    let added: Vec<&(String, Json)> = after
        .iter()
        .filter(|(k, _)| !before.iter().any(|(b, _)| b == k))
        .collect();
    // Kept keys in their order, then the added ones.
    let order: Vec<&str> = after.iter().map(|(k, _)| k.as_str()).collect();
    if order[..kept.len()] != kept[..] {
        return None;
    }
    let value =
        |obj: &'_ Object, key: &str| obj.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut last_kept: Option<&Member> = None;
    for (i, member) in members.iter().enumerate() {
        let old = value(before, &member.key)?;
        let Some(new) = value(after, &member.key) else {
            // Removed with the separator after it, or before it when last.
            let range = match members.get(i + 1) {
                Some(next) => (member.key_start, next.key_start),
                None => (
                    last_kept.map_or(member.key_start, |m| m.value_end),
                    member.value_end,
                ),
            };
            if members.get(i + 1).is_none() && !added.is_empty() {
                return None;
            }
            edits.push((range.0, range.1, String::new()));
            continue;
        };
        last_kept = Some(member);
        if old == new {
            continue;
        }
        match (&old, &new) {
            (Json::Obj(old), Json::Obj(new)) => {
                edit_object(text, member.value_start, old, new, edits)?
            }
            _ => {
                let indent = indent_of(text, member.key_start);
                edits.push((
                    member.value_start,
                    member.value_end,
                    indented(&render(&new), &indent),
                ));
            }
        }
    }
    if added.is_empty() {
        return Some(());
    }
    let (at, indent, separator) = match last_kept {
        Some(m) => (m.value_end, indent_of(text, m.key_start), ","),
        None => (open + 1, format!("{}  ", indent_of(text, open)), ""),
    };
    let mut insert = separator.to_string();
    for (i, (key, value)) in added.iter().enumerate() {
        if i > 0 {
            insert.push(',');
        }
        let key = serde_json::to_string(key).ok()?;
        insert.push_str(&format!(
            "\n{indent}{key}: {}",
            indented(&render(value), &indent)
        ));
    }
    if last_kept.is_none() {
        // An object that was empty (or emptied): close it on its own line.
        insert.push('\n');
        insert.push_str(&indent_of(text, open));
        edits.push((open + 1, close, insert));
    } else {
        edits.push((at, at, insert));
    }
    Some(())
}

/// The members of the object opening at `open`, and where it closes.
fn members(text: &str, open: usize) -> Option<(Vec<Member>, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut at = skip_space(text, open + 1)?;
    if bytes[at] == b'}' {
        return Some((out, at));
    }
    loop {
        let key_start = at;
        let key_end = value_end(text, key_start)?;
        let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
        at = skip_space(text, key_end)?;
        if bytes[at] != b':' {
            return None;
        }
        let value_start = skip_space(text, at + 1)?;
        let end = value_end(text, value_start)?;
        out.push(Member {
            key,
            key_start,
            value_start,
            value_end: end,
        });
        at = skip_space(text, end)?;
        match bytes[at] {
            b',' => at = skip_space(text, at + 1)?,
            b'}' => return Some((out, at)),
            _ => return None,
        }
    }
}

/// The end of the JSON value starting at `start`.
fn value_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    (depth == 0 && !in_string).then_some(bytes.len())
}

/// The first byte at or after `at` that is not JSON whitespace.
fn skip_space(text: &str, at: usize) -> Option<usize> {
    text.as_bytes()
        .iter()
        .skip(at)
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .map(|n| at + n)
}

/// The whitespace that starts the line holding byte `at` (empty when
/// something else precedes `at` on its line).
fn indent_of(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let lead = &text[line_start..at];
    if lead.chars().all(|c| c == ' ' || c == '\t') {
        lead.to_string()
    } else {
        String::new()
    }
}

/// A rendered value whose lines after the first are indented by `indent`.
fn indented(rendered: &str, indent: &str) -> String {
    rendered.replace('\n', &format!("\n{indent}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Object {
        match serde_json::from_str(text).unwrap() {
            Json::Obj(obj) => obj,
            other => panic!("not an object: {other:?}"),
        }
    }

    /// `text` merged into `wanted`, which must come back as written.
    fn spliced(text: &str, wanted: &str) -> Option<String> {
        let out = splice(text, &parse(text), &parse(wanted))?;
        assert_eq!(parse(&out), parse(wanted));
        Some(out)
    }

    #[test]
    fn untouched_members_keep_their_text() {
        let text = "{\"b\":1,   \"a\" : {\"z\":[1,2],\"x\":true}}\n";
        let out = spliced(
            text,
            r#"{"b":1,"a":{"z":[1,2],"x":true},"hooks":{"Stop":[]}}"#,
        )
        .unwrap();
        assert!(
            out.starts_with("{\"b\":1,   \"a\" : {\"z\":[1,2],\"x\":true},"),
            "{out}"
        );
        assert!(out.ends_with("}\n"), "{out}");

        let text = "{\n    \"model\": \"opus\",\n    \"hooks\": {\"Stop\": [1]}\n}";
        let out = spliced(
            text,
            r#"{"model":"opus","hooks":{"Stop":[1],"SessionEnd":[2]}}"#,
        )
        .unwrap();
        assert!(out.contains("\n    \"model\": \"opus\",\n"), "{out}");
        assert!(out.contains("{\"Stop\": [1],"), "{out}");
    }

    #[test]
    fn removed_members_take_their_separator() {
        let text = "{\n  \"a\": 1,\n  \"hooks\": {},\n  \"b\": 2\n}\n";
        assert_eq!(
            spliced(text, r#"{"a":1,"b":2}"#).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": 2\n}\n"
        );
        let text = "{\n  \"a\": 1,\n  \"hooks\": {}\n}\n";
        assert_eq!(spliced(text, r#"{"a":1}"#).unwrap(), "{\n  \"a\": 1\n}\n");
        let text = "{\"hooks\": {\"x\": 1}}";
        assert_eq!(spliced(text, r#"{"hooks":{}}"#).unwrap(), "{\"hooks\": {}}");
    }

    #[test]
    fn empty_objects_grow_members() {
        let out = spliced("{}", r#"{"hooks":{"Stop":[]}}"#).unwrap();
        assert_eq!(out, "{\n  \"hooks\": {\n    \"Stop\": []\n  }\n}");
        let out = spliced("{\"hooks\": {}}\n", r#"{"hooks":{"Stop":[]}}"#).unwrap();
        assert_eq!(out, "{\"hooks\": {\n  \"Stop\": []\n}}\n");
    }

    #[test]
    fn what_it_cannot_keep_is_left_to_the_caller() {
        // Reordered keys.
        assert_eq!(spliced(r#"{"a":1,"b":2}"#, r#"{"b":2,"a":1}"#), None);
        // The last member removed while another is added.
        assert_eq!(spliced(r#"{"a":1,"b":2}"#, r#"{"a":1,"c":3}"#), None);
        // A repeated key.
        assert_eq!(
            splice(
                r#"{"a":1,"a":2}"#,
                &parse(r#"{"a":2}"#),
                &parse(r#"{"a":3}"#)
            ),
            None
        );
        // Strings with braces and escapes are skipped as strings.
        let text = r#"{"s":"}{\"","t":[{"u":"]"}]}"#;
        let out = spliced(text, r#"{"s":"}{\"","t":[{"u":"]"}],"v":1}"#).unwrap();
        assert!(out.starts_with(r#"{"s":"}{\"","t":[{"u":"]"}],"#), "{out}");
    }
}
