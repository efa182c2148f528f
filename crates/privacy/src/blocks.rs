//! Dropping `<private>` blocks and injected context blocks.
//!
//! This runs first, on the whole string, so it must be fast on inputs of
//! tens of megabytes: it jumps from one `<` to the next with `memchr` (SIMD)
//! and only then compares a tag name, ASCII case-insensitively. No regex is
//! involved.

use std::borrow::Cow;

use memchr::memchr;

/// The tags whose whole block (tags included) is dropped.
pub(crate) const TAGS: [&str; 3] = ["private", "mnemo-context", "claude-mem-context"];

/// Index of `private` in [`TAGS`]: only those blocks count as private spans.
const PRIVATE: usize = 0;

/// How far an opening tag may run (attributes) before its `>`.
const MAX_TAG_LEN: usize = 256;

/// What [`strip`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stripped {
    /// `<private>` blocks dropped (an unclosed one counts too).
    pub private: usize,
    /// `<mnemo-context>` blocks dropped.
    pub mnemo_context: usize,
    /// `<claude-mem-context>` blocks dropped.
    pub claude_mem_context: usize,
}

/// Remove every block of [`TAGS`] from `text`.
///
/// Tag names match ASCII case-insensitively; an opening tag may carry
/// attributes (`<private reason="x">`). Blocks of the same tag nest: the block
/// ends at the close that balances its open. An open tag that is never
/// closed drops everything up to the end of the string, so a truncated or
/// mistyped block never leaks. A stray closing tag is left alone, and a
/// self-closing `<private/>` is removed on its own.
pub(crate) fn strip<'a>(text: &'a str, counts: &mut Stripped) -> Cow<'a, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut pos = 0;
    while let Some(off) = memchr(b'<', &b[pos..]) {
        let lt = pos + off;
        let Some(open) = parse_open(b, lt) else {
            pos = lt + 1;
            continue;
        };
        let end = if open.self_closing {
            open.end
        } else {
            match open.tag {
                PRIVATE => counts.private += 1,
                1 => counts.mnemo_context += 1,
                _ => counts.claude_mem_context += 1,
            }
            find_close(b, open.end, open.tag)
        };
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..lt]);
        copied = end;
        pos = end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

struct Open {
    tag: usize,
    /// Index just past the opening tag's `>`.
    end: usize,
    self_closing: bool,
}

/// Is there an opening tag of one of [`TAGS`] at `lt` (which holds `<`)?
fn parse_open(b: &[u8], lt: usize) -> Option<Open> {
    let rest = &b[lt + 1..];
    for (tag, name) in TAGS.iter().enumerate() {
        let n = name.len();
        if rest.len() <= n || !rest[..n].eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        let after = lt + 1 + n;
        return match b[after] {
            b'>' => Some(Open {
                tag,
                end: after + 1,
                self_closing: false,
            }),
            b'/' if b.get(after + 1) == Some(&b'>') => Some(Open {
                tag,
                end: after + 2,
                self_closing: true,
            }),
            c if c.is_ascii_whitespace() => {
                let window = &b[after..b.len().min(after + MAX_TAG_LEN)];
                let gt = memchr(b'>', window)?;
                // A `<` before the `>` means this was prose, not a tag.
                if memchr(b'<', &window[..gt]).is_some() {
                    return None;
                }
                Some(Open {
                    tag,
                    end: after + gt + 1,
                    self_closing: gt > 0 && window[gt - 1] == b'/',
                })
            }
            _ => None,
        };
    }
    None
}

/// Is there a closing tag `</name >` for `tag` at `lt`? Returns the index past it.
fn parse_close(b: &[u8], lt: usize, tag: usize) -> Option<usize> {
    let name = TAGS[tag].as_bytes();
    let rest = &b[lt + 1..];
    if rest.first() != Some(&b'/') || rest.len() < name.len() + 2 {
        return None;
    }
    if !rest[1..=name.len()].eq_ignore_ascii_case(name) {
        return None;
    }
    let mut i = lt + 2 + name.len();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    (b.get(i) == Some(&b'>')).then_some(i + 1)
}

/// The index past the close that balances an open `tag` whose content starts
/// at `from`, or the end of the string when there is none.
fn find_close(b: &[u8], from: usize, tag: usize) -> usize {
    let mut depth = 1usize;
    let mut pos = from;
    while let Some(off) = memchr(b'<', &b[pos..]) {
        let lt = pos + off;
        if let Some(end) = parse_close(b, lt, tag) {
            depth -= 1;
            if depth == 0 {
                return end;
            }
            pos = end;
        } else if let Some(open) = parse_open(b, lt).filter(|o| o.tag == tag) {
            if !open.self_closing {
                depth += 1;
            }
            pos = open.end;
        } else {
            pos = lt + 1;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> (String, Stripped) {
        let mut c = Stripped::default();
        let out = strip(s, &mut c).into_owned();
        (out, c)
    }

    #[test]
    fn simple_and_case_insensitive() {
        let (o, c) = run("a <private>x</private> b <PRIVATE>y</Private > c");
        assert_eq!(o, "a  b  c");
        assert_eq!(c.private, 2);
    }

    #[test]
    fn multiline_and_attributes() {
        let (o, c) = run("a\n<private reason=\"pw\">\nline1\nline2\n</private>\nb");
        assert_eq!(o, "a\n\nb");
        assert_eq!(c.private, 1);
    }

    #[test]
    fn nested_same_tag() {
        let (o, c) = run("a<private>1<private>2</private>3</private>b");
        assert_eq!(o, "ab");
        assert_eq!(c.private, 1);
    }

    #[test]
    fn unclosed_drops_to_end() {
        let (o, c) = run("keep <private>secret\nmore secret");
        assert_eq!(o, "keep ");
        assert_eq!(c.private, 1);
        // Nested but only the inner one closed: still unclosed.
        let (o, _) = run("keep <private>a<private>b</private> still secret");
        assert_eq!(o, "keep ");
    }

    #[test]
    fn context_blocks() {
        let (o, c) = run(
            "x<mnemo-context>old memory</mnemo-context>y<claude-mem-context>z</claude-mem-context>w",
        );
        assert_eq!(o, "xyw");
        assert_eq!(c.private, 0);
        assert_eq!(c.mnemo_context, 1);
        assert_eq!(c.claude_mem_context, 1);
    }

    #[test]
    fn other_tags_and_prose_untouched() {
        for s in [
            "a < b and <privateer> and </private> stray",
            "Vec<private::Thing> x",
            "<privacy>x</privacy>",
            "if a <private b then",
        ] {
            let mut c = Stripped::default();
            assert!(matches!(strip(s, &mut c), Cow::Borrowed(_)), "{s}");
            assert_eq!(c, Stripped::default());
        }
    }

    #[test]
    fn self_closing_is_removed_alone() {
        let (o, c) = run("a<private/>b<private />c");
        assert_eq!(o, "abc");
        assert_eq!(c.private, 0);
    }

    #[test]
    fn utf8_around_blocks() {
        let (o, _) = run("日本<private>秘密🔑</private>語🎉");
        assert_eq!(o, "日本語🎉");
    }
}
