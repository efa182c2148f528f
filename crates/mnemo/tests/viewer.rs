//! The viewer in a real browser: seeds a data directory the way mnemo is
//! really fed (hooks, `mnemo ingest` of recorded sessions, `mnemo import`,
//! `mnemo remember`, including planted `<script>`/`onerror` payloads),
//! starts `mnemo serve`, and runs `tests/browser/viewer.test.mjs` (node's
//! test runner + playwright-core) against it in headless Chromium.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$CHROMIUM`) and
//! `npm ci` in `tests/browser`. Without them the test prints a SKIPPED line
//! (past the test harness's output capture) and passes, unless
//! `MNEMO_REQUIRE_BROWSER=1` (set by `.ci/run`), which makes a missing piece
//! a failure. Screenshots land in `<target>/screenshots/`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;

const SCENARIOS: &[&str] = &[
    "fib_cli",
    "design_decision",
    "refactor_extract",
    "rust_borrow_error",
    "explore_only",
];

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Chromium, node and playwright-core, or why not.
fn toolchain() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    let node = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("node"))
                .find(|p| p.exists())
        })
        .ok_or("no node on PATH")?;
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Err(format!(
            "playwright-core is not installed (run `npm ci` in {})",
            browser_dir().display()
        ));
    }
    Ok((chromium, node))
}

/// Unix ms of 12:00 UTC `days` days before today.
fn noon_days_ago(days: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now - now.rem_euclid(86_400_000) - days * 86_400_000 + 12 * 3_600_000
}

fn seed(env: &Env) {
    let scenarios =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../compress/tests/fixtures/scenarios");
    for name in SCENARIOS {
        let file = scenarios.join(format!("{name}.jsonl"));
        env.ok(&["ingest", file.to_str().unwrap()]);
    }
    env.ok(&["compress"]);
    env.replay_session();
    let imported = [
        json!({"project": "/src/billing", "type": "decision", "title": "Invoices are numbered per year, not globally",
               "narrative": "Accounting asked for yearly sequences so each year's books start at 1.",
               "facts": ["invoice numbers restart on 1 January", "the year is part of the invoice id"],
               "concepts": ["why-it-exists"], "files_modified": ["billing/numbering.py"], "created_at": noon_days_ago(1)}),
        json!({"project": "/src/billing", "type": "bugfix", "title": "Tax rounding used float arithmetic",
               "subtitle": "Totals were off by a cent on some carts.",
               "narrative": "Line totals were summed as floats; Decimal with ROUND_HALF_EVEN fixed it.",
               "facts": ["0.1 + 0.2 style errors made totals off by a cent", "tax.py now uses Decimal throughout"],
               "concepts": ["problem-solution", "gotcha"], "files_modified": ["billing/tax.py"], "created_at": noon_days_ago(1) + 3_600_000}),
        json!({"project": "/src/billing", "type": "security_note", "title": "Webhook signatures are checked before parsing the body",
               "narrative": "Parsing first let malformed payloads reach the JSON decoder unauthenticated.",
               "concepts": ["pattern"], "files_modified": ["billing/webhooks.py"], "created_at": noon_days_ago(3)}),
        json!({"project": "/src/billing", "type": "refactor", "title": "Split PaymentGateway into Stripe and Adyen adapters",
               "narrative": "One class per provider; the shared retry policy moved to gateway/retry.py.",
               "concepts": ["pattern", "trade-off"], "files_modified": ["gateway/stripe.py", "gateway/adyen.py", "gateway/retry.py"], "created_at": noon_days_ago(3) + 7_200_000}),
        json!({"project": "/srv/clients/shop", "type": "feature", "title": "Gift cards can pay part of an order",
               "narrative": "Another project that is also called shop.", "created_at": noon_days_ago(2)}),
        json!({"project": "/src/billing", "type": "change",
               "title": "Renamed `invoice_sequence_for_year` to `yearly_invoice_counter` in billing/numbering_configuration.py and its callers",
               "narrative": "A title full of identifiers.", "created_at": noon_days_ago(2) + 3_600_000}),
        json!({"project": "/src/billing", "type": "discovery", "title": "<script>window.__xss='import'</script> import payload",
               "narrative": "An imported memory whose fields carry markup.",
               "facts": ["<img src=x onerror=window.__xss='fact'>"], "files_read": ["<svg onload=window.__xss='file'>.py"],
               "created_at": noon_days_ago(4)}),
    ];
    let lines: Vec<String> = imported.iter().map(|v| v.to_string()).collect();
    let file = env.tmp.path().join("imported.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    env.ok(&["import", file.to_str().unwrap()]);
    import_from_teammate(
        env,
        "Ada",
        json!({"project": "/src/payments", "type": "decision", "title": "Refunds go back to the card they came from",
               "narrative": "Store credit confused customers.", "created_at": noon_days_ago(2)}),
    );
    let project = env.project.to_str().unwrap();
    env.ok(&[
        "remember",
        "--project",
        project,
        "--type",
        "decision",
        "--title",
        "<img src=x onerror=\"window.__xss='title'\">",
        "<script>window.__xss='narrative'</script> payload in the narrative",
    ]);
}

#[test]
fn the_viewer_works_in_headless_chromium() {
    let (chromium, node) = match toolchain() {
        Ok(found) => found,
        Err(missing) => {
            skip_or_fail(
                "viewer::the_viewer_works_in_headless_chromium",
                &missing,
                "MNEMO_REQUIRE_BROWSER",
            );
            return;
        }
    };
    let env = Env::new().env("MNEMO_COMPRESS_STOP_WAIT_MS", "0");
    seed(&env);
    let server = env.serve();
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    let out = Command::new(node)
        .args([
            "--test",
            "--test-reporter=spec",
            "--test-timeout=90000",
            "viewer.test.mjs",
        ])
        .current_dir(browser_dir())
        .env("MNEMO_VIEWER_URL", &server.url)
        .env("MNEMO_BIN", BIN)
        .env("MNEMO_HOME", &env.home)
        .env("HOME", env.tmp.path())
        .env("MNEMO_PROJECT", &env.project)
        .env("CHROMIUM", chromium)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("TZ", "UTC")
        .output()
        .expect("run node");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}\nscreenshots: {}", screenshots.display());
    assert!(out.status.success(), "browser tests failed:\n{report}");
    drop(server);
    assert!(
        env.processes().is_empty(),
        "left behind: {:?}",
        env.processes()
    );
}
