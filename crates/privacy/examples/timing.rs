//! Time what a hook process pays: `Redactor::new` plus `clean_event` on a
//! realistic ~4 KB PostToolUse payload, cold (first call in the process,
//! which compiles the lazily built patterns) and warm; and `clean_text` on a
//! 16 KB log with and without secrets (a string with redactions is looked
//! at again until nothing more is found).
//!
//! `cargo run --release -p mnemo-privacy --example timing`

use std::hint::black_box;
use std::time::{Duration, Instant};

use mnemo_privacy::{PrivacyOptions, Redactor};
use serde_json::{Value, json};

fn bash_payload() -> Value {
    let mut out = String::new();
    out.push_str("   Compiling mnemo-store v0.1.0 (/repo/crates/store)\n");
    for i in 0..40 {
        out.push_str(&format!(
            "test store::tests::case_{i:02} ... ok   (took {}ms, key = k{i}, path=/repo/src/x.rs)\n",
            i * 3
        ));
    }
    out.push_str("\ntest result: ok. 40 passed; 0 failed; 0 ignored; finished in 0.31s\n");
    json!({
        "session_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "transcript_path": "/home/u/.claude/projects/-repo/3f2504e0-4f89-11d3-9a0c-0305e82c3301.jsonl",
        "cwd": "/repo",
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "cargo test -p mnemo-store 2>&1 | tail -50", "description": "Run store tests"},
        "tool_response": {"stdout": out, "stderr": "", "interrupted": false, "isImage": false},
        "tool_use_id": "toolu_01ABCdefGHIjklMNOpqrSTU"
    })
}

fn edit_payload() -> Value {
    let original: String = (0..60)
        .map(|i| format!("    let token_{i} = self.lexer.next_token()?; // parse step {i}\n"))
        .collect();
    let old = "    let value = parse(&input)?;\n    let key = compute_key(&value);\n".to_string();
    let new = "    let value = parse(&input).context(\"parse\")?;\n    let key = compute_key(&value);\n    let password: &str = &cfg.password;\n".to_string();
    json!({
        "session_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "transcript_path": "/home/u/.claude/projects/-repo/3f2504e0-4f89-11d3-9a0c-0305e82c3301.jsonl",
        "cwd": "/repo",
        "permission_mode": "acceptEdits",
        "hook_event_name": "PostToolUse",
        "tool_name": "Edit",
        "tool_input": {"file_path": "/repo/crates/store/src/lib.rs", "old_string": old, "new_string": new, "replace_all": false},
        "tool_response": {
            "filePath": "/repo/crates/store/src/lib.rs",
            "oldString": old, "newString": new,
            "originalFile": original,
            "structuredPatch": [{"oldStart": 10, "oldLines": 2, "newStart": 10, "newLines": 3,
                "lines": ["-    let value = parse(&input)?;", "+    let value = parse(&input).context(\"parse\")?;", "     let key = compute_key(&value);", "+    let password: &str = &cfg.password;"]}],
            "userModified": false, "replaceAll": false
        },
        "tool_use_id": "toolu_01ABCdefGHIjklMNOpqrSTU"
    })
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let bash = bash_payload();
    let edit = edit_payload();
    println!(
        "payload sizes: bash {} B, edit {} B",
        bash.to_string().len(),
        edit.to_string().len()
    );

    // Cold: what one hook process pays.
    let t = Instant::now();
    let r = Redactor::new(&PrivacyOptions::default()).unwrap();
    let new_cold = t.elapsed();
    let mut p = bash.clone();
    let t = Instant::now();
    let report = r.clean_event(&mut p);
    let bash_cold = t.elapsed();
    black_box((&p, &report));
    let mut p = edit.clone();
    let t = Instant::now();
    let report = r.clean_event(&mut p);
    let edit_cold = t.elapsed();
    black_box((&p, &report));
    println!("cold: Redactor::new {}", us(new_cold));
    println!(
        "cold: clean_event(bash) {} (first call in the process)",
        us(bash_cold)
    );
    println!("cold: clean_event(edit) {} (after bash)", us(edit_cold));
    println!(
        "cold total new + bash + edit: {}",
        us(new_cold + bash_cold + edit_cold)
    );

    // With user patterns, the only regexes compiled at run time.
    let opts = PrivacyOptions {
        extra_patterns: vec![
            ("acme".into(), r"acme_[a-z0-9]{32}".into()),
            ("employee-id".into(), r"\bEMP-\d{6}\b".into()),
        ],
        secret_files: vec!["*.kdbx".into(), "secrets.yaml".into()],
        ..PrivacyOptions::default()
    };
    let t = Instant::now();
    let r2 = Redactor::new(&opts).unwrap();
    println!(
        "Redactor::new with 2 extra patterns + 2 secret_files: {}",
        us(t.elapsed())
    );
    let mut p = bash.clone();
    let t = Instant::now();
    black_box(r2.clean_event(&mut p));
    println!("  clean_event(bash) with them: {}", us(t.elapsed()));

    // Warm averages.
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        black_box(Redactor::new(&PrivacyOptions::default()).unwrap());
    }
    println!("warm: Redactor::new {}", us(t.elapsed() / n));
    for (name, v) in [("bash", &bash), ("edit", &edit)] {
        let t = Instant::now();
        for _ in 0..n {
            let mut p = v.clone();
            black_box(r.clean_event(&mut p));
        }
        println!("warm: clone + clean_event({name}) {}", us(t.elapsed() / n));
    }
    let (plain, with_secrets) = logs();
    for (name, text) in [("no secret", &plain), ("20 secrets", &with_secrets)] {
        let t = Instant::now();
        for _ in 0..n {
            black_box(r.clean_text(black_box(text)));
        }
        println!(
            "warm: clean_text(16 KB log, {name}) {}",
            us(t.elapsed() / n)
        );
    }
}

/// A 16 KB test log, and the same with ten `export API_TOKEN=…` lines and
/// ten `Authorization: Bearer …` headers spread over it.
fn logs() -> (String, String) {
    let mut plain = String::new();
    for i in 0..200 {
        plain.push_str(&format!(
            "test store::tests::case_{i:03} ... ok (took {}ms, key = k{i}, path=/repo/src/x.rs)\n",
            i * 3
        ));
    }
    plain.truncate(16_000);
    let mut with_secrets = plain.clone();
    for i in 0..10 {
        let at = with_secrets[..(i + 1) * 1500]
            .rfind('\n')
            .map_or(0, |p| p + 1);
        with_secrets.insert_str(
            at,
            &format!(
                "export API_TOKEN=Q7k{i}abcDEF0123456789xyzUVW\ncurl -H \"Authorization: Bearer Q7kxyzABC{i}0123456789defGHIjkl\" https://x\n"
            ),
        );
    }
    (plain, with_secrets)
}
