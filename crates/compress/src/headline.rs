//! Titles in words, the way a teammate would write the note: the problem in
//! the user's words and the fix or result in the words of the commit or of
//! Claude's closing message. The mechanical forms ("Changed a.rs, b.rs") are
//! left to the caller as a last resort.

use std::sync::LazyLock;

use regex::Regex;

use crate::outcome::clip;
use crate::prose::Reading;

/// How long a title may be: a problem and its fix in a line.
pub const TITLE_CHARS: usize = 140;

/// How long the problem part of a title may be.
const PROBLEM_CHARS: usize = 80;

/// How long the problem as reported may be, told in full as a fact.
const REPORT_CHARS: usize = 300;

/// Words that say something is wrong. Asking for a fix ("fix", "can you")
/// is no description of the problem, so those are not among them.
static SYMPTOM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(bugs?|broken|breaks?|crash[0-9A-Za-z_]*|fail(?:s|ed|ing|ures?)?|throws|wrong|leak[0-9A-Za-z_]*|regress[0-9A-Za-z_]*|hangs?|hanging|stuck|panic[0-9A-Za-z_]*|flaky|killed|oom|times? out|timeouts?|doesn't work|don't match|doesn't match|not working|incorrect|is red|are red|returns? [45][0-9]{2}|[45][0-9]{2}s?)(?-u:\b)").expect("static regex")
});

/// A clause that asks rather than tells: "can you find the leak".
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:can|could|would|will) you(?-u:\b)|^(?:please|pls|let's|find|fix|check|look)(?-u:\b)|\?$").expect("static regex")
});

/// The user's description of what is wrong, from a prompt that reports a
/// problem: the first clause that names a symptom, with parentheticals
/// dropped ("the yearly backfill for 2025 gets killed on the batch box").
pub fn problem_in_prompt(prompt: &str) -> Option<String> {
    reported_problem(prompt).map(|reported| problem_part(&reported))
}

/// The problem as the user reported it ([`reported_problem`]), as short as
/// a title's problem part must be.
pub fn problem_part(reported: &str) -> String {
    clip_words(reported, PROBLEM_CHARS)
}

/// The first clause of a prompt that names a symptom and asks nothing,
/// whole: the problem as the user reported it, with the details a title has
/// no room for ("… on node 18 and 20, and a TS user on moduleResolution
/// node16 gets TS1479").
pub fn reported_problem(prompt: &str) -> Option<String> {
    clauses(prompt)
        .into_iter()
        .find(|clause| {
            let lowered = clause.to_lowercase();
            SYMPTOM.is_match(&lowered)
                && !REQUEST.is_match(&lowered)
                && clause.split_whitespace().count() >= 3
        })
        .map(|clause| capitalized(&clip_words(&clause, REPORT_CHARS)))
}

/// A failure's message as the problem part of a title.
pub fn clipped_problem(error: &str) -> String {
    capitalized(&clip_words(error, PROBLEM_CHARS))
}

/// A prompt's clauses: split at sentence ends, colons, semicolons and line
/// breaks, never inside `code`, with `(…)` asides removed.
fn clauses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let mut depth = 0usize;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '`' {
            in_code = !in_code;
        }
        if depth > 0 {
            match c {
                '(' if !in_code => depth += 1,
                ')' if !in_code => depth -= 1,
                _ => {}
            }
            continue;
        }
        if c == '(' && !in_code {
            depth = 1;
            continue;
        }
        let at_end = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        let breaks =
            !in_code && (c == '\n' || (matches!(c, '.' | '!' | '?' | ':' | ';') && at_end));
        if breaks {
            if c == '?' {
                current.push(c);
            }
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out.into_iter()
        .map(|c| {
            let words: Vec<&str> = c.split_whitespace().collect();
            words.join(" ").replace(" ,", ",")
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// A commit's subject without the short hash git printed before it.
pub fn commit_subject(commit: &str) -> &str {
    match commit.split_once(' ') {
        Some((hash, rest)) if hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            rest.trim()
        }
        _ => commit.trim(),
    }
}

/// Prefixes that announce a sentence rather than say something.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:(?:the )?(?:root )?cause(?: was)?|found it|fix|fixed|confirmed|decision(?: \([^)]*\))?|result|summary|done)[:.,!] *")
        .expect("static regex")
});

/// A sentence stated as a title: its label ("Root cause:", "Fixed:") and
/// final stop dropped, the first letter capitalized.
pub fn as_title(sentence: &str) -> String {
    let bare = LABEL.replace(sentence.trim(), "");
    capitalized(bare.trim().trim_end_matches(['.', ':']))
}

/// A sentence that states something: a few words, not a lead-in to a list
/// ("Done (commit `a1b2c3d`):"), not a pleasantry.
pub fn is_statement(sentence: &str) -> bool {
    let bare = LABEL.replace(sentence.trim(), "");
    // "Done (commit `a71f0d2`, same branch)." says nothing outside its aside.
    let outside_asides: String = clauses(&bare).join(" ");
    !sentence.trim_end().ends_with(':') && outside_asides.split_whitespace().count() >= 5
}

static FIXED_STATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:now|no longer|instead of)(?-u:\b)").expect("static regex")
});

/// How a problem was fixed, in words: the commit's subject, else Claude's
/// "Fixed …" sentence, else the first sentence describing the state after
/// the change ("… now uses …", "… no longer …"), else the cause.
pub fn fix_statement(reading: &Reading, commits: &[String]) -> Option<String> {
    if let Some(commit) = commits.first() {
        return Some(commit_subject(commit).to_string());
    }
    let usable = |s: &&String| {
        is_statement(s) && !reading.next_steps.contains(s) && !reading.ruled_out.contains(s)
    };
    let fixed = |s: &&String| s.starts_with("Fixed") || s.starts_with("Fix:");
    let after = |s: &&String| FIXED_STATE.is_match(&s.to_lowercase());
    reading
        .sentences
        .iter()
        .filter(usable)
        .find(fixed)
        .or_else(|| reading.sentences.iter().filter(usable).find(after))
        .or_else(|| reading.learned.iter().find(usable))
        .map(|s| as_title(s))
}

/// "`problem` — `fix`", or whichever of the two is known.
pub fn problem_and_fix(problem: Option<&str>, fix: Option<&str>) -> Option<String> {
    match (problem, fix) {
        (Some(p), Some(f)) if f.to_lowercase().contains(&p.to_lowercase()) => Some(f.to_string()),
        (Some(p), Some(f)) => {
            let room = TITLE_CHARS.saturating_sub(p.chars().count() + 3).max(40);
            Some(format!("{p} — {}", clip_words(f, room)))
        }
        (Some(p), None) => Some(p.to_string()),
        (None, Some(f)) => Some(f.to_string()),
        (None, None) => None,
    }
}

/// What a piece of work was, in words: the commit's subject, else the first
/// statement of Claude's closing message, else the request itself.
pub fn work_statement(reading: &Reading, commits: &[String], prompt: &str) -> Option<String> {
    if let Some(commit) = commits.first() {
        return Some(commit_subject(commit).to_string());
    }
    // "Created `cli.py`:" heading a list says what was done in a few words.
    let lead_in = reading.sentences.first().filter(|s| {
        let words: Vec<String> = clauses(s)
            .join(" ")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        s.trim_end().ends_with(':') && words.len() >= 2 && words[0].ends_with("ed")
    });
    if let Some(s) = lead_in.or_else(|| {
        reading.sentences.iter().find(|s| {
            is_statement(s) && !reading.next_steps.contains(s) && !reading.ruled_out.contains(s)
        })
    }) {
        return Some(as_title(s));
    }
    let request = clauses(prompt)
        .into_iter()
        .find(|c| c.split_whitespace().count() >= 4)?;
    let request = request
        .strip_prefix("let's ")
        .or_else(|| request.strip_prefix("please "))
        .unwrap_or(&request);
    Some(capitalized(&clip_words(request, 100)))
}

/// `text` with a capital first letter, unless its first word is a name
/// (`tests/test_cart.py`, `npm`-quoted code) that must keep its case.
fn capitalized(text: &str) -> String {
    let first_word = text.split_whitespace().next().unwrap_or_default();
    if !first_word
        .chars()
        .all(|c| c.is_alphabetic() || c == '\'' || c == ',')
    {
        return text.to_string();
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `text` cut at a word boundary to at most `max` characters, with "…", so
/// an identifier is never cut in the middle (unless one word fills half of
/// `max`).
pub(crate) fn clip_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let clipped = clip(text, max);
    let body = clipped.trim_end_matches('…');
    match body.rfind(' ') {
        Some(cut) if cut > max / 2 => format!("{}…", body[..cut].trim_end_matches([',', ';'])),
        _ => clipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prose;

    #[test]
    fn the_problem_in_the_users_words() {
        assert_eq!(
            problem_in_prompt(
                "the yearly backfill for 2025 (`tripagg yearly --year 2025`) gets killed on the batch box, 16 GB RAM. can you make it fit?"
            )
            .as_deref(),
            Some("The yearly backfill for 2025 gets killed on the batch box, 16 GB RAM")
        );
        assert_eq!(
            problem_in_prompt("two things block the release: `make dist` fails in CI and the lint job is red. fix those").as_deref(),
            Some("`make dist` fails in CI and the lint job is red")
        );
        assert_eq!(
            problem_in_prompt("memory grows all day. can you find the leak?"),
            None
        );
        assert_eq!(problem_in_prompt("add a --verbose flag"), None);
    }

    #[test]
    fn the_fix_from_the_commit_then_the_account() {
        let reading = prose::read(
            "Found it: the cache key ignored the locale. The renderer now keys entries by locale and path.",
        );
        assert_eq!(
            fix_statement(&reading, &["1a2b3c4 cache: key by locale".into()]).as_deref(),
            Some("cache: key by locale")
        );
        assert_eq!(
            fix_statement(&reading, &[]).as_deref(),
            Some("The renderer now keys entries by locale and path")
        );
        assert_eq!(
            problem_and_fix(
                Some("Pages show the wrong language"),
                Some("cache: key by locale")
            )
            .as_deref(),
            Some("Pages show the wrong language — cache: key by locale")
        );
    }

    #[test]
    fn lead_ins_are_not_statements() {
        assert!(!is_statement("Done (commit `a71f0d2`, same branch):"));
        assert!(!is_statement("Sounds good."));
        assert!(!is_statement("Done (commit `a71f0d2`, same branch)."));
        assert!(is_statement("The cache now keys entries by locale."));
        assert_eq!(
            as_title("Root cause: the counter is shared across calls."),
            "The counter is shared across calls"
        );
    }
}
