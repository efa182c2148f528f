//! Properties of hook input normalization over generated inputs: arbitrary
//! bytes and mutated real hook payloads (the fixtures of
//! `crates/mnemo/tests/fixtures/hooks`) never panic; each is rejected with a
//! reason, ignored with a reason, or becomes a record whose payload is a JSON
//! object within the event cap; and a secret planted in any string field
//! reaches no field of the record.

use std::path::Path;

use mnemo_capture::{Capturer, HookInput, Normalized, read_input};
use mnemo_config::Config;
use mnemo_privacy::PrivacyOptions;
use mnemo_store::HookRecord;
use proptest::prelude::*;
use serde_json::Value;

/// The real hook payloads, as (file name, bytes).
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mnemo/tests/fixtures/hooks");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() > 20, "fixtures missing in {}", dir.display());
    out
}

/// Pointers to every string value of `v`.
fn string_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                string_pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                string_pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn input(bytes: Vec<u8>, max: usize) -> HookInput {
    read_input(bytes.as_slice(), max).unwrap()
}

fn privacy(max_field_bytes: usize, max_event_bytes: usize) -> PrivacyOptions {
    PrivacyOptions {
        max_field_bytes,
        max_event_bytes,
        ..PrivacyOptions::default()
    }
}

/// Every string a record would write to disk.
fn record_strings(r: &HookRecord) -> Vec<String> {
    let mut out = vec![
        r.agent_session_id.clone(),
        r.payload.clone(),
        r.hook.clone(),
    ];
    if let Some(p) = &r.prompt {
        out.push(p.text.clone());
    }
    if let Some(p) = &r.project {
        out.push(p.root.clone());
        out.push(p.name.clone());
    }
    out.extend(
        [
            &r.branch,
            &r.transcript_path,
            &r.tool_name,
            &r.tool_use_id,
            &r.agent_id,
            &r.agent_prompt_id,
            &r.source,
            &r.end_reason,
            &r.cwd,
        ]
        .into_iter()
        .flatten()
        .cloned(),
    );
    out
}

/// The invariants every outcome must hold.
fn check(outcome: &Normalized, max_field_bytes: usize, max_event_bytes: usize) {
    match outcome {
        Normalized::Record { record, .. } => {
            let payload: Value = serde_json::from_str(&record.payload)
                .unwrap_or_else(|e| panic!("payload is not JSON ({e}): {}", record.payload));
            assert!(payload.is_object(), "{payload}");
            assert!(
                record.payload.len() <= max_event_bytes,
                "{} > {max_event_bytes}",
                record.payload.len()
            );
            assert!(!record.agent_session_id.trim().is_empty());
        }
        Normalized::Ignored(reason) => assert!(!reason.is_empty()),
        Normalized::Rejected { reason, head, .. } => {
            assert!(!reason.is_empty());
            assert!(head.len() <= max_field_bytes, "{}", head.len());
        }
    }
}

/// Inputs: arbitrary bytes, or a fixture truncated, with a byte changed, or
/// with one string value replaced by arbitrary text.
fn hook_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fixtures = fixtures();
    let n = fixtures.len();
    let pick = move |i: usize| fixtures[i % n].1.clone();
    let (p1, p2, p3) = (pick.clone(), pick.clone(), pick);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2000),
        (any::<usize>(), any::<usize>()).prop_map(move |(i, cut)| {
            let mut b = p1(i);
            b.truncate(cut % (b.len() + 1));
            b
        }),
        (any::<usize>(), any::<usize>(), any::<u8>()).prop_map(move |(i, at, byte)| {
            let mut b = p2(i);
            let k = at % b.len();
            b[k] = byte;
            b
        }),
        (any::<usize>(), any::<usize>(), any::<String>()).prop_map(move |(i, at, text)| {
            let mut v: Value = serde_json::from_slice(&p3(i)).unwrap();
            let mut pointers = Vec::new();
            string_pointers(&v, String::new(), &mut pointers);
            if let Some(p) = pointers.get(at % pointers.len().max(1))
                && let Some(s) = v.pointer_mut(p)
            {
                *s = Value::String(text);
            }
            v.to_string().into_bytes()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_input_is_recorded_ignored_or_rejected_with_a_reason(
        bytes in hook_bytes(),
        arg_event in prop::option::of(prop::sample::select(
            &["PostToolUse", "post-tool-use", "SessionStart", "Stop", "", "bogus"][..]
        )),
        max_stdin in prop_oneof![Just(64usize * 1024 * 1024), 0usize..1500],
        caps in prop::sample::select(&[(16 * 1024, 256 * 1024), (256, 4096), (64, 1024)][..]),
    ) {
        let (max_field, max_event) = caps;
        let capturer = Capturer::new(&Config::default(), privacy(max_field, max_event)).unwrap();
        let outcome = capturer.normalize(arg_event, &input(bytes, max_stdin), 1_000);
        check(&outcome, max_field, max_event);
    }

    /// A secret planted in any string value of a real hook payload (content,
    /// paths and identifiers alike) reaches no field of the record.
    #[test]
    fn a_planted_secret_reaches_no_field_of_the_record(
        i in any::<usize>(),
        at in any::<usize>(),
        body in "Q7k[A-Za-z0-9]{33}",
        before in prop::sample::select(&["", "x ", "/home/dev/", "see: "][..]),
    ) {
        let fixtures = fixtures();
        let (name, bytes) = &fixtures[i % fixtures.len()];
        let mut v: Value = serde_json::from_slice(bytes).unwrap();
        let mut pointers = Vec::new();
        string_pointers(&v, String::new(), &mut pointers);
        let pointer = pointers[at % pointers.len()].clone();
        let secret = format!("ghp_{body}");
        let planted = format!("{before}{secret}");
        // The event name is not text to keep: planting there only renames the event.
        prop_assume!(pointer != "/hook_event_name");
        *v.pointer_mut(&pointer).unwrap() = Value::String(planted);
        let capturer = Capturer::new(&Config::default(), PrivacyOptions::default()).unwrap();
        let outcome = capturer.normalize(None, &input(v.to_string().into_bytes(), usize::MAX), 1_000);
        check(&outcome, 16 * 1024, 256 * 1024);
        if let Normalized::Record { record, .. } = &outcome {
            for s in record_strings(record) {
                prop_assert!(!s.contains(&body), "{name} {pointer}: secret kept in {s}");
            }
        }
    }
}
