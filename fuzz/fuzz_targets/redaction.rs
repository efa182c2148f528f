//! Redaction of a hook payload with a known secret planted in it.
//!
//! The input is structured (`arbitrary`): a fixed header choosing a secret
//! kind, the bytes of its generated value, where to plant it, how to carry it
//! (as is, or inside a JSON document held in a string) and the caps; then the
//! rest of the input as text. Text that is a JSON document (a real hook
//! payload, in the seeds) is the event; any other text becomes its `text`
//! field. Checked:
//!
//! - no piece of the planted secret survives `clean_event`, and the event
//!   is within its caps;
//! - `clean_text` of the text is within the field cap, nothing between
//!   `<private>` tags survives it, and cleaning it again changes nothing
//!   when it was not cut.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mnemo_privacy::{CleanReport, PrivacyOptions, Redactor};
use serde_json::Value;

#[derive(Debug, Arbitrary)]
struct Case {
    /// Which entry of [`SECRETS`].
    kind: u8,
    /// Bytes of the secret's value (mapped onto its alphabet).
    value: [u8; 48],
    /// Child index at each level on the way down to where it is planted.
    path: [u8; 4],
    /// Which entry of [`CONTEXTS`] surrounds it.
    context: u8,
    json_in_string: bool,
    /// Which entry of [`FIELD_CAPS`].
    cap: u8,
    /// The event (JSON) or the text of its `text` field.
    text: String,
}

const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// What AWS access key ids are made of.
const AWS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----\n";
const PEM_END: &str = "\n-----END PRIVATE KEY-----\n";

/// One row per kind: (kind, before, prefix, alphabet, len, after). The
/// planted text is `before` + value + `after`, where the value is `prefix`
/// and `len` bytes over `alphabet` (the prefix starts with `Q7k` where the
/// detector wants upper case, lower case and digits). Only the value must
/// disappear.
#[rustfmt::skip]
const SECRETS: &[(&str, &str, &str, &str, usize, &str)] = &[
    ("aws-access-key", "", "AKIA", AWS, 16, ""),
    ("aws-secret-key", "aws_secret_access_key = ", "Q7k", BASE64, 37, "\n"),
    ("github-token", "", "ghp_Q7k", ALNUM, 33, ""),
    ("anthropic-key", "", "sk-ant-api03-Q7k", B64URL, 45, ""),
    ("openai-key", "", "sk-Q7k", ALNUM, 45, ""),
    ("slack-token", "", "xoxb-1234-5678-Q7k", ALNUM, 21, ""),
    ("slack-webhook", "https://hooks.slack.com/services/", "TQ7k", ALNUM, 30, ""),
    ("jwt", "", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Q7k", B64URL, 40, ""),
    ("url-password", "postgres://admin:", "Q7k", ALNUM, 14, "@db.example.com/app"),
    ("google-api-key", "", "AIzaQ7k", ALNUM, 32, ""),
    ("stripe-key", "", "sk_live_Q7k", ALNUM, 24, ""),
    ("npm-token", "", "npm_Q7k", ALNUM, 33, ""),
    ("huggingface-token", "", "hf_Qk", LETTERS, 32, ""),
    ("bearer-token", "Authorization: Bearer ", "Q7k", ALNUM, 29, "\n"),
    ("secret-assignment", "DB_PASSWORD=", "Q7k", ALNUM, 20, "\n"),
    ("basic-auth", "curl -u admin:", "Q7k", ALNUM, 12, " https://x.example.com"),
    ("private-key", PEM_BEGIN, "MIIQ7k", BASE64, 48, PEM_END),
];

/// Text around the planted secret; separators on both sides, so that it
/// stays a word of its own.
const CONTEXTS: &[&str] = &[
    "{S}",
    "Here is the value {S} please keep it safe.",
    "$ ./deploy.sh\nusing {S}\ndone in 3s\n",
    "- value: `{S}`\n",
    "日本語 {S} 🎉",
];

const FIELD_CAPS: &[usize] = &[64, 300, 2048, mnemo_privacy::DEFAULT_MAX_FIELD_BYTES];

/// Put `s` at the place `path` leads to (see the property tests' `plant`).
fn plant(v: &mut Value, path: &[u8], s: String) {
    match (v, path.split_first()) {
        (Value::Array(items), Some((&i, rest))) if !items.is_empty() => {
            let n = items.len();
            plant(&mut items[usize::from(i) % n], rest, s);
        }
        (Value::Array(items), _) => items.push(Value::String(s)),
        (Value::Object(map), Some((&i, rest))) if !map.is_empty() => {
            let n = map.len();
            if let Some(child) = map.values_mut().nth(usize::from(i) % n) {
                plant(child, rest, s);
            }
        }
        (Value::Object(map), _) => {
            map.insert("planted_note".into(), Value::String(s));
        }
        (leaf, _) => *leaf = Value::String(s),
    }
}

fn redactor(max_field_bytes: usize) -> Redactor {
    Redactor::new(&PrivacyOptions {
        max_field_bytes,
        ..PrivacyOptions::default()
    })
    .expect("built-in settings are valid")
}

thread_local! {
    static REDACTORS: Vec<Redactor> = FIELD_CAPS.iter().map(|&cap| redactor(cap)).collect();
}

fuzz_target!(|case: Case| {
    let (kind, before, prefix, alphabet, len, after) =
        SECRETS[usize::from(case.kind) % SECRETS.len()];
    let alphabet = alphabet.as_bytes();
    let value: String = case.value[..len]
        .iter()
        .map(|&b| char::from(alphabet[usize::from(b) % alphabet.len()]))
        .collect();
    let value = format!("{prefix}{value}");
    let planted = format!("{before}{value}{after}");
    let mut text = CONTEXTS[usize::from(case.context) % CONTEXTS.len()].replace("{S}", &planted);
    if case.json_in_string {
        text = serde_json::json!({ "note": text, "n": 1 }).to_string();
    }
    let mut event = match serde_json::from_str::<Value>(&case.text) {
        Ok(v) if v.is_object() => v,
        _ => serde_json::json!({ "text": case.text }),
    };
    // Pieces the fuzzer copied into the event itself are not the secret.
    let unplanted = event.to_string();
    plant(&mut event, &case.path, text);

    REDACTORS.with(|redactors| {
        let cap_index = usize::from(case.cap) % FIELD_CAPS.len();
        let (cap, r) = (FIELD_CAPS[cap_index], &redactors[cap_index]);

        r.clean_event(&mut event);
        let out = event.to_string();
        // The value, and any 12 bytes of it, are gone.
        for i in 0..=value.len().saturating_sub(12) {
            let piece = &value[i..(i + 12).min(value.len())];
            if unplanted.contains(piece) {
                continue;
            }
            assert!(!out.contains(piece), "{kind} survived: {piece}\n{out}");
        }
        assert!(out.len() <= mnemo_privacy::DEFAULT_MAX_EVENT_BYTES);

        let mut report = CleanReport::default();
        let once = r.clean_text_with_report(&case.text, &mut report);
        assert!(once.len() <= cap, "{} > {cap}", once.len());
        if report.bytes_cut == 0 {
            assert_eq!(r.clean_text(&once), once, "not idempotent");
        }
        // A word the fuzzer did not copy into the text itself.
        const WORD: &str = "zqprivateword";
        if !case.text.contains(WORD) {
            let private = r.clean_text(&format!("{}<private>{WORD}</private>", case.text));
            assert!(!private.contains(WORD), "{private}");
        }
    });
});
