//! Hook stdin, as Claude Code would pipe it to `mnemo hook`: any bytes.
//!
//! Each input goes through `read_input` and `Capturer::normalize` twice: with
//! the default settings, and with small caps and a stdin cap of half the
//! input (the oversized path, which scans a truncated head). Either way the
//! outcome is a record whose payload is a JSON object within the event cap,
//! an ignored input with a reason, or a rejected one with a reason and a
//! redacted head within the field cap.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mnemo_capture::{Capturer, Normalized, read_input};
use mnemo_config::Config;
use mnemo_privacy::PrivacyOptions;

/// A capturer and the caps it was built with.
struct Setup {
    capturer: Capturer,
    max_field_bytes: usize,
    max_event_bytes: usize,
    /// Read at most this share of the input (1 = all of it).
    stdin_divisor: usize,
}

fn setup(max_field_bytes: usize, max_event_bytes: usize, stdin_divisor: usize) -> Setup {
    let privacy = PrivacyOptions {
        max_field_bytes,
        max_event_bytes,
        ..PrivacyOptions::default()
    };
    Setup {
        capturer: Capturer::new(&Config::default(), privacy).expect("default settings are valid"),
        max_field_bytes,
        max_event_bytes,
        stdin_divisor,
    }
}

thread_local! {
    static SETUPS: [Setup; 2] = [setup(16 * 1024, 256 * 1024, 1), setup(256, 4096, 2)];
}

fuzz_target!(|data: &[u8]| {
    SETUPS.with(|setups| {
        for s in setups {
            let max_stdin = (data.len() / s.stdin_divisor).max(1);
            let input = read_input(data, max_stdin).expect("reading a slice cannot fail");
            assert_eq!(input.total_bytes, data.len());
            match s.capturer.normalize(None, &input, 1_000) {
                Normalized::Record { record, .. } => {
                    let payload: serde_json::Value =
                        serde_json::from_str(&record.payload).expect("a record's payload is JSON");
                    assert!(payload.is_object(), "{payload}");
                    assert!(
                        record.payload.len() <= s.max_event_bytes,
                        "payload of {} bytes over the cap of {}",
                        record.payload.len(),
                        s.max_event_bytes
                    );
                    assert!(!record.agent_session_id.trim().is_empty());
                }
                Normalized::Ignored(reason) => assert!(!reason.is_empty()),
                Normalized::Rejected { reason, head, .. } => {
                    assert!(!reason.is_empty());
                    assert!(head.len() <= s.max_field_bytes, "head of {}", head.len());
                }
            }
        }
    });
});
