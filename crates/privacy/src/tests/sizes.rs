//! Capping: UTF-8, secrets at the cut, huge strings, the event cap.

use std::time::Instant;

use serde_json::json;

use super::{alnum, redactor};
use crate::event::json_size;
use crate::{PrivacyOptions, Redactor};

fn with_caps(field: usize, event: usize) -> Redactor {
    Redactor::new(&PrivacyOptions {
        max_field_bytes: field,
        max_event_bytes: event,
        ..PrivacyOptions::default()
    })
    .unwrap()
}

fn cut_of(out: &str) -> usize {
    let i = out.find("…[mnemo: ").expect("cut marker") + "…[mnemo: ".len();
    out[i..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn short_strings_untouched() {
    let r = redactor();
    let s = "hello 🌍 世界";
    assert_eq!(r.clean_text(s), s);
}

#[test]
fn caps_multibyte_text() {
    for cap in [64, 100, 1000, 4096, 16 * 1024] {
        let r = with_caps(cap, 0);
        for unit in ["🎉", "日本語", "aé", "x"] {
            for len in [cap + 1, cap * 2 + 3, cap + 3 * crate::cap::MARGIN, 200_000] {
                let s = unit.repeat(len / unit.len() + 1);
                let mut report = crate::CleanReport::default();
                let out = r.clean_text_with_report(&s, &mut report).into_owned();
                assert!(out.len() <= cap, "cap {cap}, unit {unit}: {}", out.len());
                let cut = cut_of(&out);
                assert_eq!(report.bytes_cut, cut);
                // What is kept plus what was cut is the whole input.
                let marker = crate::cap::cut_marker(cut);
                let kept = out.len() - marker.len();
                assert_eq!(kept + cut, s.len(), "cap {cap}, unit {unit}, len {len}");
                // Head is roughly 3/4 of the kept text.
                let head = out.find(&marker).unwrap();
                assert!(head * 4 >= kept * 2, "head {head} of {kept}");
                let (first, last) = (unit.chars().next().unwrap(), unit.chars().last().unwrap());
                assert!(
                    out.starts_with(first) && out.ends_with(last),
                    "cap {cap} unit {unit}: {out:?}"
                );
            }
        }
    }
}

#[test]
fn secret_at_the_cut_never_half_visible() {
    let cap = 16 * 1024;
    let margin = crate::cap::MARGIN;
    let r = with_caps(cap, 0);
    let (hb, tb) = crate::cap::budgets(cap);
    let gh = format!(" {}{} ", "ghp_", alnum(36, 1));
    let filler = |n: usize| "a ".repeat(n / 2 + 1)[..n].to_string();
    for total in [cap + 100, cap + 3 * margin, 1_000_000] {
        // Plant the token across the head cut and the tail cut, at several offsets.
        for shift in [1, 5, 10, 20, 39] {
            let mut s = filler(total);
            let at = hb - shift;
            s.replace_range(at..at + gh.len(), &gh);
            let t_at = total - tb - shift;
            s.replace_range(t_at..t_at + gh.len(), &gh);
            let out = r.clean_text(&s);
            assert!(out.len() <= cap);
            let tok = gh.trim();
            for i in 0..=tok.len() - 6 {
                let piece = &tok[i..i + 6];
                assert!(!out.contains(piece), "piece {piece} at {total}/{shift}");
            }
        }
    }
    // A private key longer than the margin, straddling each cut.
    let key_body: String = (0..100).map(|i| alnum(64, 100 + i) + "\n").collect();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{key_body}-----END PRIVATE KEY-----\n");
    assert!(pem.len() > margin);
    for total in [cap + 3 * margin, 1_000_000] {
        // BEGIN in the head window, END past it.
        let mut s = filler(total);
        let at = hb - 100;
        s.replace_range(at..at + pem.len(), &pem);
        let out = r.clean_text(&s);
        assert!(out.contains("[REDACTED:private-key]"), "head, {total}");
        for line in key_body.lines() {
            assert!(
                !out.contains(&line[..16]),
                "key line survived at head, {total}"
            );
        }
        // BEGIN cut away before the tail window, the END inside it.
        let mut s = filler(total);
        let t_at = total - tb - margin - 1000;
        s.replace_range(t_at..t_at + pem.len(), &pem);
        let out = r.clean_text(&s);
        for line in key_body.lines() {
            assert!(
                !out.contains(&line[..16]),
                "key line survived at tail, {total}"
            );
        }
    }
}

#[test]
fn redactions_in_both_windows_are_counted() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 2));
    let s = format!("{gh} {} {gh}", "z".repeat(1_000_000));
    let mut report = crate::CleanReport::default();
    let out = r.clean_text_with_report(&s, &mut report);
    assert!(out.starts_with("[REDACTED:github-token] zzz"));
    assert!(out.ends_with("zzz [REDACTED:github-token]"));
    assert_eq!(report.redactions.get("github-token"), Some(&2));
}

#[test]
fn fifty_megabytes_is_fast() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 3));
    let line = "let token = compute(x); // some ordinary code with = and : and key\n";
    let mut s = String::with_capacity(50 * 1024 * 1024 + 1024);
    s.push_str(&format!("head {gh}\n"));
    while s.len() < 50 * 1024 * 1024 {
        s.push_str(line);
        s.push_str("日本語のテキスト 🎉 <div>x</div>\n");
    }
    s.push_str("<private>tail secret</private>\n");
    s.push_str(&format!("PASSWORD=x{}\n", alnum(10, 4)));
    let t = Instant::now();
    let mut report = crate::CleanReport::default();
    let out = r.clean_text_with_report(&s, &mut report);
    let dt = t.elapsed();
    eprintln!("50 MB clean_text: {dt:?}");
    assert!(out.len() <= 16 * 1024);
    assert!(!out.contains(&gh) && !out.contains("tail secret"));
    assert_eq!(report.private_spans, 1);
    assert!(
        out.ends_with("PASSWORD=[REDACTED:secret-assignment]\n"),
        "{}",
        &out[out.len() - 200..]
    );
    // Generous even for an unoptimised test build on a busy machine.
    assert!(dt.as_secs_f64() < 5.0, "took {dt:?}");

    // 50 MB with an unclosed private block near the start.
    let s2 = format!("intro <private> {}", "x".repeat(50 * 1024 * 1024));
    let t = Instant::now();
    assert_eq!(r.clean_text(&s2), "intro ");
    assert!(t.elapsed().as_secs_f64() < 5.0);
}

#[test]
fn event_cap_shrinks_fields() {
    let max = 64 * 1024;
    let r = with_caps(16 * 1024, max);
    let big = "word ".repeat(20_000);
    let mut p = json!({
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "make", "description": "build"},
        "tool_response": {"stdout": big, "stderr": big, "extra": [big, big, big, big, big, big]},
    });
    let report = r.clean_event(&mut p);
    let size = json_size(&p);
    assert!(size <= max, "{size}");
    assert!(report.bytes_cut > 0);
    assert_eq!(p["tool_input"]["command"], "make");
    assert!(
        p["tool_response"]["stdout"]
            .as_str()
            .unwrap()
            .contains("bytes cut]")
    );
    // Under the cap nothing changes.
    let mut small = json!({"a": "b"});
    let report = r.clean_event(&mut small);
    assert_eq!(small, json!({"a": "b"}));
    assert!(report.is_empty());
}

#[test]
fn event_cap_shortens_long_arrays() {
    let max = 32 * 1024;
    let r = with_caps(16 * 1024, max);
    let files: Vec<String> = (0..5000)
        .map(|i| format!("src/module_{i}/file_{i}.rs"))
        .collect();
    let mut p =
        json!({"tool_name": "Glob", "tool_response": {"filenames": files, "numFiles": 5000}});
    let report = r.clean_event(&mut p);
    assert!(json_size(&p) <= max);
    let list = p["tool_response"]["filenames"].as_array().unwrap();
    let last = list.last().unwrap().as_str().unwrap();
    assert!(
        last.starts_with("…[mnemo: ") && last.ends_with(" items cut]…"),
        "{last}"
    );
    let n: usize = last["…[mnemo: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(n + list.len() - 1, 5000);
    assert_eq!(list[0], "src/module_0/file_0.rs");
    assert!(report.bytes_cut > 0);
}

#[test]
fn adversarial_inputs_stay_linear() {
    let r = redactor();
    let units = [
        "key",
        "a_token=",
        "token=\"",
        "token=\\\"",
        "token: & ",
        "password: ",
        "-----BEGIN RSA PRIVATE KEY-----\"",
        "-----END RSA PRIVATE KEY-----",
        "://a:",
        "://",
        "eyJ",
        "eyJabcdefghij.",
        "sk-",
        "ghp_",
        "Bearer ",
        "Authorization: ",
        "-u a:",
        "<private",
        "</private>",
        "<",
        ".env:1:",
        "x/.env-1-",
        "AKIA",
        "=",
        "\\",
        "npm config set a ",
        "mysql -p",
        "echo x | docker login --password-stdin ",
        "<<< ",
        "password is ",
        ":5432:",
        "\"a\" + ",
        "\"ab\"\n",
        "abcdefghijklmnopqrstuvwxyz0123\n",
        "\\\n",
        "dGVzdDp0ZXN0MTIzNA==",
        "- name: TOKEN\n",
        "\"api_keys\": {",
        "Client(\"",
        "-us1",
        "glpat-",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4",
        "123456789:AA",
        ".atlasv1.",
        "abc1Q~",
        "?sig=",
        "pass:",
        "+",
        "file:1:",
        "<password>",
        "$ gh auth token\n",
        "$ ",
        "| API Key | ",
        "│ TOKEN │ ",
        "net use /user:a ",
        "value\": \"",
        "Cookie: a=",
        "password    ",
    ];
    // The largest string that is redacted whole (no windows).
    let whole = 16 * 1024 + 2 * crate::cap::MARGIN;
    let mut worst = (std::time::Duration::ZERO, "");
    for unit in units {
        for len in [whole, 200_000] {
            let s = unit.repeat(len / unit.len());
            let t = Instant::now();
            let out = r.clean_text(&s);
            let dt = t.elapsed();
            assert!(out.len() <= 16 * 1024);
            assert!(dt.as_millis() < 1500, "{unit:?} x {len}: {dt:?}");
            if dt > worst.0 {
                worst = (dt, unit);
            }
        }
    }
    eprintln!("slowest adversarial input: {:?} in {:?}", worst.1, worst.0);
}
