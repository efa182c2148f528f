//! Reading Claude's own words: the closing message of a turn is the best
//! free description of what was done and why. This picks out its sentences
//! by role — what was done, decisions and their reasons, what was learned,
//! what is left.

use std::sync::LazyLock;

use regex::Regex;

/// Sentences of a message sorted by what they say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// All sentences, markdown stripped, in order.
    pub sentences: Vec<String>,
    /// "I chose X because Y", "instead of", "trade-off".
    pub decisions: Vec<String>,
    /// Causes and how-it-works statements.
    pub learned: Vec<String>,
    /// Follow-ups and open items.
    pub next_steps: Vec<String>,
    /// "Gotcha"-style warnings.
    pub gotchas: Vec<String>,
    /// Hypotheses that were tested and did not hold ("ruled out", "was not
    /// the cause"): kept apart so they are never stored as causes.
    pub ruled_out: Vec<String>,
    /// Sentences in a section whose heading names a bug, its cause or its
    /// fix ("**Bug found on the way:**", "## Root cause"): what the message
    /// says about a fix, apart from the rest of the work.
    pub bug_notes: Vec<String>,
}

/// Words that state a choice on their own.
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(chose|choose|chosen|decided|decision|trade-?offs?|opted|went with|in favou?r of|prefer(?:red)? .+ (?:over|to) )(?-u:\b)").expect("static regex")
});
/// "instead of" / "rather than" state a choice only with a reason.
static ALTERNATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(instead of|rather than)(?-u:\b)").expect("static regex")
});
static REASON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(because|since|so that|to avoid|which avoids|as it|given that)(?-u:\b)")
        .expect("static regex")
});
static LEARNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^(?:the )?(?:root )?cause:|^why(?-u:\b)|(?-u:\b)(?:the (?:root )?(?:cause|issue|problem|bug) (?:was|is)|caused by|because|turns out|it works by|works like|is handled (?:by|in)|is verified|is stored|is done (?:by|in)|responsible for|happens (?:in|when)|found that|so that|which means|which is why|that's why|, so)(?-u:\b))").expect("static regex")
});
static NEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(next step|next,|todo|follow[- ]up|you (?:may|might|could|should) (?:want|also|consider)|consider (?:adding|using)|still (?:need|fails|failing)|not yet|remaining|left to do|later|i can (?:switch|add|also|change)|if you (?:need|want)|haven't (?:committed|pushed|run)|not committed)(?-u:\b)").expect("static regex")
});
static GOTCHA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(gotcha|careful|beware|watch out|note that|caveat|surprising|pitfall|edge case)(?-u:\b)",
    )
    .expect("static regex")
});

static RULED_OUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(ruled (?:it |this |that )?out|rules out|red herring|not the (?:cause|culprit|problem|issue|bottleneck)|(?:was|is)n't (?:the (?:cause|culprit|problem|issue|bottleneck)|it)|(?:was|is) not (?:the (?:cause|culprit|problem|issue|bottleneck)|it)|turned out not|not caused by|did(?: not|n't) (?:help|fix|change anything)|made no difference|no effect)(?-u:\b)").expect("static regex")
});

/// What a section heading ("**Gotchas**", "## Next steps", "Cause:") says
/// about the sentences under it.
static GOTCHA_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(gotchas?|caveats?|pitfalls?|careful|watch out|warnings?|notes?|limitations?)(?-u:\b)",
    )
    .expect("static regex")
});
static NEXT_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(next steps?|follow[- ]ups?|todo|open questions?|not done|remaining)(?-u:\b)")
        .expect("static regex")
});
static CAUSE_SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(root cause|cause|why)(?-u:\b)").expect("static regex"));
static BUG_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(bugs?|fix(?:ed|es)?|cause|regression|race)(?-u:\b)")
        .expect("static regex")
});

/// Split `text` into sentences and classify them, by their words and by the
/// section they stand in.
pub fn read(text: &str) -> Reading {
    let sections = sentences_in_sections(text);
    let in_section = |re: &Regex| -> Vec<String> {
        sections
            .iter()
            .filter(|(heading, _)| {
                heading
                    .as_deref()
                    .is_some_and(|h| re.is_match(&h.to_lowercase()))
            })
            .map(|(_, s)| s.clone())
            .collect()
    };
    let (gotcha_section, next_section, cause_section, bug_notes) = (
        in_section(&GOTCHA_SECTION),
        in_section(&NEXT_SECTION),
        in_section(&CAUSE_SECTION),
        in_section(&BUG_SECTION),
    );
    let sentences: Vec<String> = sections.into_iter().map(|(_, s)| s).collect();
    // The patterns are lower case and matched against lowered text: a
    // case-insensitive alternation of words costs far more to compile, and
    // this runs in short-lived hook processes.
    let lowered: Vec<String> = sentences.iter().map(|s| s.to_lowercase()).collect();
    let pick = |re: &Regex| -> Vec<String> {
        sentences
            .iter()
            .zip(&lowered)
            .filter(|(_, l)| re.is_match(l))
            .map(|(s, _)| s.clone())
            .collect()
    };
    let decisions = sentences
        .iter()
        .zip(&lowered)
        .filter(|(_, l)| DECISION.is_match(l) || (ALTERNATIVE.is_match(l) && REASON.is_match(l)))
        .map(|(s, _)| s.clone())
        .collect();
    let merge = |first: Vec<String>, more: Vec<String>| {
        let mut out = first;
        for s in more {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    };
    let ruled_out = pick(&RULED_OUT);
    let learned = merge(cause_section, pick(&LEARNED))
        .into_iter()
        .filter(|s| !ruled_out.contains(s))
        .collect();
    Reading {
        decisions,
        learned,
        ruled_out,
        next_steps: merge(next_section, pick(&NEXT)),
        gotchas: merge(gotcha_section, pick(&GOTCHA)),
        bug_notes,
        sentences,
    }
}

/// Sentences with markdown decoration removed (headings, bullets, emphasis,
/// code fences); inline code keeps its text.
pub fn sentences(text: &str) -> Vec<String> {
    sentences_in_sections(text)
        .into_iter()
        .map(|(_, s)| s)
        .collect()
}

/// Sentences with the heading of the section they stand in: a markdown
/// heading, a line that is only bold text, or a bold label ("**Cause:** …"),
/// which heads only its own paragraph.
fn sentences_in_sections(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let mut label: Option<String> = None;
    let mut in_fence = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if line.is_empty() {
            label = None;
        }
        if in_fence || line.is_empty() || line.starts_with('|') {
            continue;
        }
        if line.starts_with('#') {
            heading = Some(line.trim_start_matches('#').trim().replace("**", ""));
            label = None;
            continue;
        }
        if line.starts_with("**") && line.ends_with("**") && line.len() > 4 {
            label = None;
            heading = Some(
                line.trim_matches('*')
                    .trim()
                    .trim_end_matches(':')
                    .to_string(),
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("**")
            && let Some((bold, _)) = rest.split_once("**")
            && bold.ends_with(':')
        {
            label = Some(bold.trim_end_matches(':').to_string());
        }
        let line = line.trim_start_matches(['-', '*', '•', '>']).trim_start();
        let line = strip_list_number(line).replace("**", "").replace("__", "");
        for s in split_sentences(&line) {
            let s = s.trim();
            if s.chars().filter(|c| c.is_alphanumeric()).count() >= 8 {
                out.push((label.clone().or_else(|| heading.clone()), s.to_string()));
            }
        }
    }
    out
}

fn strip_list_number(line: &str) -> &str {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        &line[digits + 2..]
    } else {
        line
    }
}

/// Split on ". ", "! ", "? " (and at the end), but not inside `code` or after
/// common abbreviations and file names like `cart.py`.
fn split_sentences(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        if c == '`' {
            in_code = !in_code;
        }
        let at_break = matches!(c, '.' | '!' | '?')
            && !in_code
            && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if at_break {
            let lower = current.to_lowercase();
            let abbreviation = ["e.g.", "i.e.", "etc.", "vs."]
                .iter()
                .any(|a| lower.ends_with(a));
            if !abbreviation {
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sentences() {
        let plain = read("It now raises `ValueError` instead of recursing forever.");
        assert!(
            plain.decisions.is_empty(),
            "no reason given: not a decision"
        );
        let msg = "## Fixed\n\nI added a guard to `fibonacci()` in fibonacci.py. The root cause was unbounded recursion for n < 0.\n\n- I chose to raise `ValueError` instead of returning 0 because silent wrong answers are worse.\n- Note that very large n is still slow.\n\nNext step: consider adding memoization.";
        let r = read(msg);
        assert_eq!(
            r.sentences[0],
            "I added a guard to `fibonacci()` in fibonacci.py."
        );
        assert_eq!(r.decisions.len(), 1);
        assert!(r.decisions[0].contains("instead of returning 0"));
        assert!(r.learned.iter().any(|s| s.starts_with("The root cause")));
        assert_eq!(r.gotchas, ["Note that very large n is still slow."]);
        assert_eq!(r.next_steps, ["Next step: consider adding memoization."]);
    }

    #[test]
    fn sections_classify_their_sentences() {
        let r = read(
            "Here is the summary of it all.\n\n**Gotchas**\n- Tokens stay valid for 30 s after expiry.\n\n## Next steps\n- Provision the queue in staging.\n\n**Cause:** the loop restarted from the subtotal.",
        );
        assert_eq!(r.gotchas, ["Tokens stay valid for 30 s after expiry."]);
        assert_eq!(r.next_steps, ["Provision the queue in staging."]);
        assert_eq!(r.learned, ["Cause: the loop restarted from the subtotal."]);
    }

    #[test]
    fn a_bold_label_heads_its_paragraph_only() {
        let r = read(
            "**Decision:** keep the queue in process.\n\n**Bug found on the way:** the new test failed under the race detector. Each bucket now has its own mutex.\n\nHelm sets three replicas now.",
        );
        assert_eq!(
            r.bug_notes,
            [
                "Bug found on the way: the new test failed under the race detector.",
                "Each bucket now has its own mutex."
            ]
        );
    }

    #[test]
    fn ruled_out_hypotheses_are_not_causes() {
        let r = read(
            "I first suspected the connection pool, but raising MaxConns made no difference. DNS was not the cause either: lookups took 2 ms. The root cause was a missing index on clicks.link_id, so every stats query scanned the table.",
        );
        assert_eq!(r.ruled_out.len(), 2, "{:?}", r.ruled_out);
        assert_eq!(
            r.learned,
            [
                "The root cause was a missing index on clicks.link_id, so every stats query scanned the table."
            ]
        );
    }

    #[test]
    fn code_fences_and_abbreviations() {
        let s = sentences("Run it, e.g. with pytest.\n```\nx = 1. y = 2.\n```\nAll done now.");
        assert_eq!(s, ["Run it, e.g. with pytest.", "All done now."]);
    }
}
