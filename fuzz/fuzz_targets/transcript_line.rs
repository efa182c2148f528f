//! A Claude Code transcript (JSONL), as `mnemo import claude-code` reads it:
//! any bytes, split into lines.
//!
//! Each line goes through `transcript::parse` and a `Replay` of the main
//! session; every hook input the replay produces goes through
//! `Capturer::normalize`, as the importer does. Checked: a line that is not
//! a JSON object is `Broken` and nothing else is; turns end at increasing
//! offsets within the input; every replayed input names its event and
//! session, and is recorded or deliberately ignored, never rejected; a
//! record's payload is a JSON object.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mnemo_agent::claude_code::transcript::{self, Line};
use mnemo_capture::{Capturer, Normalized, read_input};
use mnemo_config::Config;
use mnemo_import::claude_code::replay::{Kind, Replay, Turn};
use serde_json::Value;

const SESSION: &str = "7d3e2a10-5b4c-4f1e-9a2d-0c8b6e4f1a21";

thread_local! {
    static CAPTURER: Capturer =
        Capturer::new(&Config::default(), Default::default()).expect("default settings are valid");
}

/// Check a closed turn and every input in it.
fn check(turn: &Turn, last_end: &mut u64, len: u64) {
    assert!(
        turn.end_offset >= *last_end && turn.end_offset <= len,
        "{turn:?}"
    );
    *last_end = turn.end_offset;
    CAPTURER.with(|capturer| {
        for event in &turn.events {
            let hook = event.input.get("hook_event_name").and_then(Value::as_str);
            assert!(hook.is_some(), "{}", event.input);
            assert_eq!(
                event.input.get("session_id").and_then(Value::as_str),
                Some(SESSION)
            );
            let bytes = event.input.to_string().into_bytes();
            let input = read_input(bytes.as_slice(), usize::MAX).expect("reading a slice");
            match capturer.normalize(None, &input, event.at) {
                Normalized::Record { record, .. } => {
                    let payload: Value =
                        serde_json::from_str(&record.payload).expect("a record's payload is JSON");
                    assert!(payload.is_object());
                }
                Normalized::Ignored(reason) => assert!(!reason.is_empty()),
                Normalized::Rejected { reason, .. } => {
                    panic!("a replayed input was rejected: {reason}\n{}", event.input)
                }
            }
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let mut replay = Replay::new(Kind::Main, Some(SESSION.into()), None, None, 1_000);
    replay.start("startup");
    let mut offset = 0u64;
    let mut last_end = 0u64;
    for raw in data.split_inclusive(|&b| b == b'\n') {
        let line = transcript::parse(raw);
        let is_object = matches!(serde_json::from_slice(raw), Ok(Value::Object(_)));
        assert_eq!(matches!(line, Line::Broken), !is_object, "{line:?}");
        if let Some(turn) = replay.line(line, offset) {
            check(&turn, &mut last_end, len);
        }
        offset += raw.len() as u64;
    }
    if let Some(turn) = replay.finish(offset, true) {
        check(&turn, &mut last_end, len);
    }
});
