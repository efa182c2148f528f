//! What a command's output says: exit status, the line that names the
//! error, and test counts, for the test runners and compilers people use.

use std::sync::LazyLock;

use regex::Regex;

/// Test results found in a command's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u32,
    pub failed: u32,
}

impl TestCounts {
    /// "12 passed", "1 failed, 11 passed".
    pub fn describe(&self) -> String {
        match (self.failed, self.passed) {
            (0, p) => format!("{p} passed"),
            (f, 0) => format!("{f} failed"),
            (f, p) => format!("{f} failed, {p} passed"),
        }
    }
}

/// The outcome of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Exit status 0 and no failing tests.
    pub ok: bool,
    pub exit_code: Option<i32>,
    /// The most telling error line, e.g. `RecursionError: maximum recursion depth exceeded`.
    pub error_line: Option<String>,
    pub tests: Option<TestCounts>,
    /// First meaningful output line, for commands that just print something.
    pub first_line: Option<String>,
}

static PY_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_][[0-9A-Za-z_].]*\.)?([A-Z][0-9A-Za-z_]*(?:Error|Exception|Exit|Interrupt|Warning))(?::[\t\n\x0B\x0C\r ]*(.*))?$")
        .expect("static regex")
});
static RUST_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^error(\[E[0-9]{4}\])?: (.+)$").expect("static regex"));
static TS_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"error (TS[0-9]+): (.+)$").expect("static regex"));
static PYTEST_SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^=*[\t\n\x0B\x0C\r ]*((?:[0-9]+ (?:passed|failed|errors?|skipped|xfailed|xpassed|warnings?|deselected)(?:, )?)+) in [[0-9].]+s").expect("static regex")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9]+) (passed|failed|errors?|passing|failing)").expect("static regex")
});
static CARGO_SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^test result: (ok|FAILED)\. ([0-9]+) passed; ([0-9]+) failed")
        .expect("static regex")
});
static JEST_SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Tests:[\t\n\x0B\x0C\r ]+(?:([0-9]+) failed, )?(?:[0-9]+ skipped, )?(?:([0-9]+) passed, )?[0-9]+ total")
        .expect("static regex")
});
static GO_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(--- FAIL: \S+|FAIL[\t\n\x0B\x0C\r ]+\S+|panic: .+)").expect("static regex")
});

/// Interpret a command's combined output. `exit_code` is known for failures
/// (PostToolUseFailure says `Exit code N`); a PostToolUse means exit 0.
pub fn interpret(output: &str, exit_code: Option<i32>) -> Outcome {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let tests = test_counts(&lines);
    let error_line = error_line(&lines);
    let failed_tests = tests.is_some_and(|t| t.failed > 0);
    let exit_ok = exit_code.is_none_or(|c| c == 0);
    Outcome {
        ok: exit_ok && !failed_tests,
        exit_code,
        error_line: if exit_ok && !failed_tests {
            None
        } else {
            error_line
        },
        tests,
        first_line: lines
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with("Exit code"))
            .map(|l| clip(l, 160)),
    }
}

fn test_counts(lines: &[&str]) -> Option<TestCounts> {
    let mut found: Option<TestCounts> = None;
    let mut add = |passed: u32, failed: u32| {
        let t = found.get_or_insert_with(TestCounts::default);
        t.passed += passed;
        t.failed += failed;
    };
    for line in lines {
        let line = line.trim();
        if let Some(c) = CARGO_SUMMARY.captures(line) {
            add(num(c.get(2)), num(c.get(3)));
        } else if let Some(c) = JEST_SUMMARY.captures(line) {
            add(num(c.get(2)), num(c.get(1)));
        } else if let Some(c) = PYTEST_SUMMARY.captures(line) {
            let (mut p, mut f) = (0, 0);
            for m in COUNT.captures_iter(&c[1]) {
                match &m[2] {
                    "passed" => p += num(m.get(1)),
                    _ => f += num(m.get(1)),
                }
            }
            add(p, f);
        } else if line.ends_with("passing") || line.ends_with("failing") {
            // mocha: "  12 passing (40ms)" / "  1 failing"
            if let Some(m) = COUNT.captures(line) {
                match &m[2] {
                    "passing" => add(num(m.get(1)), 0),
                    _ => add(0, num(m.get(1))),
                }
            }
        }
    }
    found
}

fn num(m: Option<regex::Match>) -> u32 {
    m.and_then(|m| m.as_str().parse().ok()).unwrap_or(0)
}

fn error_line(lines: &[&str]) -> Option<String> {
    // A Python traceback ends with the exception: take the last one.
    if lines
        .iter()
        .any(|l| l.starts_with("Traceback (most recent call last)"))
        && let Some(l) = lines.iter().rev().find(|l| PY_EXCEPTION.is_match(l.trim()))
    {
        return Some(clip(l.trim(), 200));
    }
    for l in lines {
        let t = l.trim();
        if RUST_ERROR.is_match(t)
            && !t.starts_with("error: could not compile")
            && !t.starts_with("error: aborting")
        {
            return Some(clip(t, 200));
        }
    }
    for l in lines {
        if let Some(c) = TS_ERROR.captures(l) {
            return Some(clip(&format!("{}: {}", &c[1], &c[2]), 200));
        }
    }
    // pytest: "E       assert 90.0 == 81.0" and "FAILED tests/x.py::test_y - AssertionError"
    if let Some(l) = lines.iter().find(|l| l.starts_with("FAILED ")) {
        return Some(clip(l.trim_start_matches("FAILED ").trim(), 200));
    }
    if let Some(l) = lines.iter().find(|l| l.starts_with("E   ")) {
        return Some(clip(l[1..].trim(), 200));
    }
    if let Some(l) = lines.iter().find(|l| GO_FAIL.is_match(l)) {
        return Some(clip(l.trim(), 200));
    }
    if let Some(l) = lines.iter().rev().find(|l| PY_EXCEPTION.is_match(l.trim())) {
        return Some(clip(l.trim(), 200));
    }
    let generic = [
        "error:",
        "Error:",
        "ERROR",
        "fatal:",
        "npm ERR!",
        "FAIL",
        "panicked at",
    ];
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| {
            generic
                .iter()
                .any(|g| l.starts_with(g) || l.contains(&format!(" {g}")))
        })
        .map(|l| clip(l, 200))
}

/// Shorten to at most `max` characters, on a character boundary.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_traceback_names_the_exception() {
        let out = "Traceback (most recent call last):\n  File \"fibonacci.py\", line 12, in <module>\n    main()\n  File \"fibonacci.py\", line 4, in fibonacci\n    return fibonacci(n - 1) + fibonacci(n - 2)\n  [Previous line repeated 996 more times]\nRecursionError: maximum recursion depth exceeded";
        let o = interpret(out, Some(1));
        assert!(!o.ok);
        assert_eq!(
            o.error_line.as_deref(),
            Some("RecursionError: maximum recursion depth exceeded")
        );
    }

    #[test]
    fn pytest_cargo_jest_counts() {
        let o = interpret(
            "tests/test_cart.py ..F.\n=================== 1 failed, 11 passed in 0.31s ===================",
            Some(1),
        );
        assert_eq!(
            o.tests,
            Some(TestCounts {
                passed: 11,
                failed: 1
            })
        );
        assert!(!o.ok);
        let o = interpret(
            "running 5 tests\ntest result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            None,
        );
        assert_eq!(
            o.tests,
            Some(TestCounts {
                passed: 5,
                failed: 0
            })
        );
        assert!(o.ok);
        let o = interpret("Tests:       2 failed, 14 passed, 16 total", Some(1));
        assert_eq!(
            o.tests,
            Some(TestCounts {
                passed: 14,
                failed: 2
            })
        );
        let o = interpret("12 passed in 0.20s", None);
        assert_eq!(o.tests.map(|t| t.passed), Some(12));
    }

    #[test]
    fn compiler_errors() {
        let out = "   Compiling inventory v0.1.0\nerror[E0382]: borrow of moved value: `items`\n  --> src/lib.rs:14:5\nerror: could not compile `inventory`";
        assert_eq!(
            interpret(out, Some(101)).error_line.as_deref(),
            Some("error[E0382]: borrow of moved value: `items`")
        );
        let out =
            "src/tax.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.";
        assert_eq!(
            interpret(out, Some(2)).error_line.as_deref(),
            Some("TS2322: Type 'string' is not assignable to type 'number'.")
        );
    }

    #[test]
    fn success_has_no_error_line() {
        let o = interpret("55\n", None);
        assert!(o.ok);
        assert_eq!(o.error_line, None);
        assert_eq!(o.first_line.as_deref(), Some("55"));
    }
}
