//! What a command's output says: exit status, the line that names the
//! error, and test counts, for the test runners and compilers people use.

use std::sync::LazyLock;

use regex::Regex;

/// Test results found in a command's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests reported as passing.
    pub passed: u32,
    /// Tests reported as failing.
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
    /// The command's exit code, when Claude Code reported one.
    pub exit_code: Option<i32>,
    /// The most telling error line, e.g. `RecursionError: maximum recursion depth exceeded`.
    pub error_line: Option<String>,
    /// Passed and failed test counts, when the output reports them.
    pub tests: Option<TestCounts>,
    /// First meaningful output line, for commands that just print something.
    pub first_line: Option<String>,
    /// The first two meaningful output lines: what an investigating command
    /// showed (a profile's total and its top entry, a status and its detail).
    pub head: Option<String>,
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

/// Interpret a command's combined output. `exit_code` is known for failures
/// (PostToolUseFailure says `Exit code N`); a PostToolUse means exit 0.
pub fn interpret(output: &str, exit_code: Option<i32>) -> Outcome {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let tests = test_counts(&lines);
    let error_line = error_line(&lines);
    let failed_tests = tests.is_some_and(|t| t.failed > 0);
    let exit_ok = exit_code.is_none_or(|c| c == 0);
    let meaningful: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("Exit code") && !is_chatter(l))
        .collect();
    Outcome {
        ok: exit_ok && !failed_tests,
        exit_code,
        error_line: if exit_ok && !failed_tests {
            None
        } else {
            error_line
        },
        tests,
        first_line: meaningful.first().map(|l| clip(l, 160)),
        head: (!meaningful.is_empty()).then(|| {
            let shown: Vec<String> = meaningful.iter().take(2).map(|l| clip(l, 120)).collect();
            shown.join(" / ")
        }),
    }
}

/// Lines a tool prints about itself rather than about the work: package
/// managers' install tallies and funding notes, module downloads, Go
/// packages without tests, npm's script banner, cargo's progress, a
/// redacted file body.
static CHATTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:added|removed|changed|updated|audited|up to date)(?-u:\b).*(?-u:\b)packages?(?-u:\b)|[0-9]+ packages? (?:are|is) looking for funding|run `npm fund`|found 0 vulnerabilities|go: (?:downloading|finding|extracting) |\?[\t ]+[^ ]+[\t ]+\[no test files\]|\[REDACTED:[a-z-]+\]$|> [^ ]+@[0-9][^ ]* [^ ]+$|(?:Compiling|Checking|Downloaded|Downloading|Updating|Locking|Blocking waiting) [^ ]+ v?[0-9])")
        .expect("static regex")
});

fn is_chatter(line: &str) -> bool {
    CHATTER.is_match(line)
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

static RUST_PANIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^thread '[^']*' panicked at (?:'(.+)', \S+|\S+:[0-9]+:[0-9]+:?)$")
        .expect("static regex")
});
/// `Os { code: 98, kind: AddrInUse, message: "Address already in use" }`.
static DEBUG_MESSAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"message: "([^"]+)""#).expect("static regex"));
/// `internal/store/store.go:34:94: cannot use x ...`: Go, sqlc, eslint-style
/// diagnostics that name a place and then the problem.
static LOCATED_DIAGNOSTIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9A-Za-z_./-]+\.[0-9A-Za-z]+:[0-9]+(?::[0-9]+)?: (.+)$").expect("static regex")
});
/// Node's `Error [ERR_REQUIRE_ESM]: require() of ES Module ...`.
static NODE_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Z][A-Za-z]*)?Error \[[A-Z_]+\]: .+$").expect("static regex")
});
static HTTP_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:HTTP(?:/[0-9.]+)?[ :]+[45][0-9]{2}(?-u:\b).*|[45][0-9]{2} (?:Bad Request|Unauthorized|Forbidden|Not Found|Conflict|Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable).*)$").expect("static regex")
});
/// Jest and vitest name the failing test on a `●` or `FAIL file > test` line.
static JS_FAILING_TEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:● (.+›.+)|FAIL[\t ]+\S+ > (.+))$").expect("static regex"));

/// The most telling line of a failed command's output, by ecosystem: the
/// message rather than the marker that announces it.
fn error_line(lines: &[&str]) -> Option<String> {
    let trimmed: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    let found = python_exception(&trimmed)
        .or_else(|| rust_panic(&trimmed))
        .or_else(|| compiler_error(&trimmed))
        .or_else(|| pytest_failure(lines))
        .or_else(|| js_test_failure(&trimmed))
        .or_else(|| go_failure(&trimmed))
        .or_else(|| {
            trimmed
                .iter()
                .find(|l| NODE_ERROR.is_match(l) || LOCATED_DIAGNOSTIC.is_match(l))
                .map(|l| l.to_string())
        })
        .or_else(|| {
            let last = trimmed.iter().rev().find(|l| PY_EXCEPTION.is_match(l));
            last.map(|l| l.to_string())
        })
        .or_else(|| npm_error(&trimmed))
        .or_else(|| {
            let status = trimmed.iter().find_map(|l| HTTP_STATUS.find(l));
            status.map(|m| m.as_str().to_string())
        })
        .or_else(|| generic_error(&trimmed))?;
    Some(clip(&found, 200))
}

/// A traceback ends with the exception: the last one wins.
fn python_exception(lines: &[&str]) -> Option<String> {
    if !lines
        .iter()
        .any(|l| l.starts_with("Traceback (most recent call last)"))
    {
        return None;
    }
    let last = lines.iter().rev().find(|l| PY_EXCEPTION.is_match(l))?;
    Some(last.to_string())
}

/// A panic's own message: on the marker line (old format) or the line after
/// it, with a debug-printed error reduced to its `message`.
fn rust_panic(lines: &[&str]) -> Option<String> {
    let at = lines.iter().position(|l| RUST_PANIC.is_match(l))?;
    let inline = RUST_PANIC
        .captures(lines[at])
        .and_then(|c| c.get(1).map(|m| m.as_str().to_string()));
    let message = inline.or_else(|| {
        let next = lines
            .get(at + 1)
            .filter(|l| !l.is_empty() && !l.starts_with("note:"))?;
        Some(next.to_string())
    })?;
    Some(match DEBUG_MESSAGE.captures(&message) {
        Some(c) => format!("panic: {} ({})", &c[1], clip(&message, 80)),
        None => format!("panic: {message}"),
    })
}

fn compiler_error(lines: &[&str]) -> Option<String> {
    let rust = lines.iter().find(|t| {
        RUST_ERROR.is_match(t)
            && !t.starts_with("error: could not compile")
            && !t.starts_with("error: aborting")
    });
    if let Some(t) = rust {
        return Some(t.to_string());
    }
    let ts = lines.iter().find_map(|l| TS_ERROR.captures(l))?;
    Some(format!("{}: {}", &ts[1], &ts[2]))
}

/// pytest: the summary's `FAILED tests/x.py::test_y - AssertionError: ...`,
/// else the first `E   ` line of the report. When the report shows where
/// two compared values differ, that difference replaces the summary's
/// assertion, which repeats both values whole and is cut before it.
fn pytest_failure(lines: &[&str]) -> Option<String> {
    if let Some(l) = lines.iter().find(|l| l.starts_with("FAILED ")) {
        let summary = l.trim_start_matches("FAILED ").trim();
        if let Some(difference) = pytest_difference(lines) {
            let test = summary.split_once(" - ").map_or(summary, |(test, _)| test);
            return Some(format!("{test} - AssertionError: {difference}"));
        }
        return Some(summary.to_string());
    }
    let e = lines
        .iter()
        .find(|l| l.starts_with("E   ") && l.len() > 4 && !l[1..].trim().is_empty())?;
    Some(e[1..].trim().to_string())
}

/// The first difference pytest's assertion rewriting explains: the item
/// under `Differing items:`, or `At index 0 diff: 'a' != 'b'`.
fn pytest_difference(lines: &[&str]) -> Option<String> {
    let mut report = lines.iter().filter_map(|&l| {
        l.strip_prefix('E')
            .filter(|rest| rest.is_empty() || rest.starts_with(' '))
            .map(str::trim)
    });
    while let Some(line) = report.next() {
        if line == "Differing items:" {
            return report.next().filter(|l| !l.is_empty()).map(str::to_string);
        }
        if line.starts_with("At index ")
            && let Some((_, difference)) = line.split_once(" diff: ")
        {
            return Some(difference.to_string());
        }
    }
    None
}

/// Jest/vitest: the failing test's name, with the assertion's
/// Expected/Received values or the error that follows it.
fn js_test_failure(lines: &[&str]) -> Option<String> {
    let at = lines.iter().position(|l| JS_FAILING_TEST.is_match(l))?;
    let c = JS_FAILING_TEST.captures(lines[at])?;
    let name = c.get(1).or(c.get(2))?.as_str().trim();
    let rest = &lines[at + 1..];
    let value = |prefix: &str| {
        rest.iter()
            .find_map(|l| l.strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let detail = match (value("Expected:"), value("Received:")) {
        (Some(expected), Some(received)) => {
            Some(format!("expected {expected}, received {received}"))
        }
        _ => rest
            .iter()
            .find(|l| l.starts_with("Error:") || l.starts_with("AssertionError"))
            .map(|l| l.to_string()),
    };
    Some(match detail {
        Some(d) => format!("{name}: {d}"),
        None => name.to_string(),
    })
}

/// Go: a panic, a data race, a goroutine leak, or the failing test.
fn go_failure(lines: &[&str]) -> Option<String> {
    if let Some(l) = lines.iter().find(|l| l.starts_with("panic: ")) {
        return Some(l.to_string());
    }
    if lines.contains(&"WARNING: DATA RACE") {
        let test = lines.iter().find(|l| l.starts_with("--- FAIL: "));
        return Some(match test {
            Some(t) => format!("data race ({})", t.trim_start_matches("--- ")),
            None => "WARNING: DATA RACE".into(),
        });
    }
    if let Some(l) = lines
        .iter()
        .find(|l| l.contains("found unexpected goroutines"))
    {
        return Some(l.to_string());
    }
    let at = lines
        .iter()
        .position(|l| l.starts_with("--- FAIL: ") || l.starts_with("FAIL\t"))?;
    let fail = lines[at];
    // The assertion a test printed sits just below its FAIL line.
    let detail = lines.get(at + 1).filter(|l| LOCATED_DIAGNOSTIC.is_match(l));
    Some(match detail {
        Some(d) => format!("{fail}: {d}"),
        None => fail.to_string(),
    })
}

/// npm: the first `npm error`/`npm ERR!` line that is not the error code or the log pointer.
fn npm_error(lines: &[&str]) -> Option<String> {
    lines.iter().find_map(|l| {
        let rest = l
            .strip_prefix("npm error ")
            .or_else(|| l.strip_prefix("npm ERR! "))?;
        (!rest.starts_with("code ") && !rest.starts_with("A complete log"))
            .then(|| format!("npm error: {rest}"))
    })
}

fn generic_error(lines: &[&str]) -> Option<String> {
    let generic = [
        "error:",
        "Error:",
        "ERROR",
        "fatal:",
        "FAIL",
        "panicked at",
        "✖",
        "✗",
    ];
    lines
        .iter()
        .find(|l| {
            generic
                .iter()
                .any(|g| l.starts_with(g) || l.contains(&format!(" {g}")))
        })
        .map(|l| l.to_string())
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
    fn tool_chatter_is_not_what_a_command_showed() {
        let npm = interpret(
            "\nadded 52 packages, and audited 283 packages in 6s\n\n61 packages are looking for funding\n  run `npm fund` for details\n\nfound 0 vulnerabilities",
            None,
        );
        assert_eq!(npm.first_line, None);
        let go = interpret(
            "?   \tgithub.com/acme/app/cmd/app\t[no test files]\nok  \tgithub.com/acme/app/internal/store\t0.412s",
            None,
        );
        assert_eq!(
            go.first_line.as_deref(),
            Some("ok  \tgithub.com/acme/app/internal/store\t0.412s")
        );
    }

    #[test]
    fn success_has_no_error_line() {
        let o = interpret("55\n", None);
        assert!(o.ok);
        assert_eq!(o.error_line, None);
        assert_eq!(o.first_line.as_deref(), Some("55"));
    }
    fn error_of(output: &str) -> String {
        interpret(output, Some(1)).error_line.unwrap_or_default()
    }

    #[test]
    fn rust_panic_keeps_the_message_not_the_marker() {
        let out = "   Running `target/debug/kvd --listen 127.0.0.1:7000`\nthread 'main' panicked at src/main.rs:41:10:\ncalled `Result::unwrap()` on an `Err` value: Os { code: 98, kind: AddrInUse, message: \"Address already in use\" }\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        let line = error_of(out);
        assert!(line.starts_with("panic: Address already in use"), "{line}");
        let old = "thread 'worker' panicked at 'index out of bounds: the len is 3 but the index is 7', src/ring.rs:88:9";
        assert_eq!(
            error_of(old),
            "panic: index out of bounds: the len is 3 but the index is 7"
        );
    }

    #[test]
    fn pytest_names_the_differing_item_not_the_cut_assertion() {
        let dicts = "E       AssertionError: assert {'day': 'date32[day]', 'rides': 'uint32'} == {'day': 'date32[day]', 'rides': 'int64'}\nE         \nE         Common items:\nE         {'day': 'date32[day]'}\nE         Differing items:\nE         {'rides': 'uint32'} != {'rides': 'int64'}\n\ntests/test_schema.py:13: AssertionError\nFAILED tests/test_schema.py::test_schema - AssertionError: assert {'day': 'date32[day]', 'rides': 'uint32'} == {'day': ...\n1 failed, 6 passed in 0.52s";
        assert_eq!(
            error_of(dicts),
            "tests/test_schema.py::test_schema - AssertionError: {'rides': 'uint32'} != {'rides': 'int64'}"
        );
        let lists = "E       AssertionError: assert ['a', 'b'] == ['a', 'c']\nE         At index 1 diff: 'b' != 'c'\nFAILED tests/test_x.py::test_y - AssertionError: assert ['a', 'b'] == ['a', 'c']";
        assert_eq!(
            error_of(lists),
            "tests/test_x.py::test_y - AssertionError: 'b' != 'c'"
        );
    }

    #[test]
    fn jest_and_vitest_name_the_test_and_the_values() {
        let jest = "FAIL src/invoice.test.ts\n  ● invoice › applies the discount before tax\n\n    expect(received).toBe(expected) // Object.is equality\n\n    Expected: 64.17\n    Received: 64.16\n\n      12 |   expect(total(lines)).toBe(64.17);\nTests:       1 failed, 9 passed, 10 total";
        assert_eq!(
            error_of(jest),
            "invoice › applies the discount before tax: expected 64.17, received 64.16"
        );
        let vitest = " ❯ test/parse.test.ts  (4 tests | 1 failed) 12ms\n FAIL  test/parse.test.ts > parseDate > keeps the offset\nError: Snapshot `parseDate > keeps the offset 1` mismatched\n\n- Expected\n+ Received";
        assert_eq!(
            error_of(vitest),
            "parseDate > keeps the offset: Error: Snapshot `parseDate > keeps the offset 1` mismatched"
        );
    }

    #[test]
    fn traceback_last_line_wins_over_earlier_markers() {
        let out = "ERROR: loading config\nTraceback (most recent call last):\n  File \"/srv/app/load.py\", line 30, in <module>\n    main()\n  File \"/srv/app/load.py\", line 22, in main\n    rows = fetch(url)\nrequests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://storage.example.com/b/x";
        assert_eq!(
            error_of(out),
            "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://storage.example.com/b/x"
        );
    }

    #[test]
    fn go_compiler_race_and_test_failures() {
        let build = "# example.com/shop/cart\ncart/cart.go:27:14: undefined: decimal.Round\ncart/cart.go:31:2: declared and not used: total";
        assert_eq!(
            error_of(build),
            "cart/cart.go:27:14: undefined: decimal.Round"
        );
        let race = "==================\nWARNING: DATA RACE\nWrite at 0x00c000124018 by goroutine 8:\n  example.com/shop/cache.(*LRU).Put()\n==================\n--- FAIL: TestParallelPut (0.01s)\n    testing.go:1398: race detected during execution of test\nFAIL\nFAIL\texample.com/shop/cache\t0.031s";
        assert_eq!(error_of(race), "data race (FAIL: TestParallelPut (0.01s))");
        let test = "--- FAIL: TestTotal (0.00s)\n    cart_test.go:19: Total() = 41.99, want 42.00\nFAIL\nexit status 1";
        assert_eq!(
            error_of(test),
            "--- FAIL: TestTotal (0.00s): cart_test.go:19: Total() = 41.99, want 42.00"
        );
    }

    #[test]
    fn node_npm_and_http_errors() {
        let node = "node:internal/modules/cjs/loader:1297\n      throw new ERR_REQUIRE_ESM(filename, true);\n      ^\n\nError [ERR_REQUIRE_ESM]: require() of ES Module /w/node_modules/kit/dist/index.js not supported.\n    at [eval]:1:28";
        assert_eq!(
            error_of(node),
            "Error [ERR_REQUIRE_ESM]: require() of ES Module /w/node_modules/kit/dist/index.js not supported."
        );
        let npm = "npm notice 📦  kit@3.1.0\nnpm error code E403\nnpm error 403 Forbidden - PUT https://registry.npmjs.org/kit - You cannot publish over the previously published versions: 3.1.0.\nnpm error A complete log of this run can be found in: /home/u/.npm/_logs/x.log";
        assert!(
            error_of(npm).starts_with("npm error: 403 Forbidden - PUT"),
            "{}",
            error_of(npm)
        );
        let gh = "HTTP 401: Bad credentials (https://api.github.com/graphql)\nTry authenticating with:  gh auth login";
        assert_eq!(
            error_of(gh),
            "HTTP 401: Bad credentials (https://api.github.com/graphql)"
        );
        let curl =
            "curl: (22) The requested URL returned error: 503\n< HTTP/1.1 503 Service Unavailable";
        assert!(error_of(curl).contains("503"));
    }
}
