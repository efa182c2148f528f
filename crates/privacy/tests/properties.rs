//! Properties of the redactor over generated inputs: a secret of every
//! built-in kind, with a generated value, planted anywhere in a generated
//! hook payload (at any depth, in any string or array, raw or inside a
//! JSON document held in a string) never survives `clean_event`; cleaning
//! is idempotent; output stays within the caps; `<private>` content never
//! survives.
//!
//! Secret values are generated at run time, so no literal secret sits in the
//! source for repository scanners to flag.

use mnemo_privacy::{CleanReport, PrivacyOptions, Redactor};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// A planted secret: the text to insert (the secret with whatever context its
/// kind needs, e.g. `DB_PASSWORD=`), and the value that must not survive.
#[derive(Debug, Clone)]
struct Planted {
    kind: &'static str,
    text: String,
    secret: String,
}

fn planted(kind: &'static str, text: String, secret: String) -> Planted {
    Planted { kind, text, secret }
}

/// A token whose whole text is the secret.
fn bare(kind: &'static str, prefix: &'static str, body: &'static str) -> BoxedStrategy<Planted> {
    body.prop_map(move |b| {
        let s = format!("{prefix}{b}");
        planted(kind, s.clone(), s)
    })
    .boxed()
}

/// A secret that needs context: `before{value}after`.
fn framed(
    kind: &'static str,
    frames: &'static [(&'static str, &'static str)],
    value: &'static str,
) -> BoxedStrategy<Planted> {
    (prop::sample::select(frames), value)
        .prop_map(move |((before, after), v)| planted(kind, format!("{before}{v}{after}"), v))
        .boxed()
}

/// One secret of every built-in kind (except `secret-file`, which is about
/// the file a tool touched, not about text), with a realistic generated value.
/// Mixed-class values start with `Q7k` so that upper, lower and digit occur.
// A table of kinds, one row each: easier to read unwrapped.
#[rustfmt::skip]
fn secret() -> impl Strategy<Value = Planted> {
    let pem = (
        prop::sample::select(&["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"][..]),
        prop::collection::vec("[A-Za-z0-9+/]{64}", 2..6),
    )
        .prop_map(|(label, lines)| {
            let body = lines.join("\n");
            planted(
                "private-key",
                format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"),
                body,
            )
        });
    let jwt = (
        "[A-Za-z0-9_-]{10,40}",
        "[A-Za-z0-9_-]{10,80}",
        "[A-Za-z0-9_-]{20,43}",
    )
        .prop_map(|(h, p, s)| {
            let t = format!("eyJ{h}.eyJ{p}.{s}");
            planted("jwt", t.clone(), t)
        });
    let slack_hook = ("[A-Z0-9]{8}", "[A-Z0-9]{8}", "[A-Za-z0-9]{24}").prop_map(|(t, b, x)| {
        let path = format!("T{t}/B{b}/{x}");
        planted(
            "slack-webhook",
            format!("curl -X POST https://hooks.slack.com/services/{path} -d '{{}}'"),
            path,
        )
    });
    prop_oneof![
        pem,
        bare("aws-access-key", "AKIA", "[A-Z2-7]{16}"),
        framed(
            "aws-secret-key",
            &[
                ("aws_secret_access_key = ", "\n"),
                ("AWS_SECRET_ACCESS_KEY=", ""),
                ("{\"SecretAccessKey\": \"", "\"}"),
            ],
            "Q7k[A-Za-z0-9+/]{37}",
        ),
        bare("github-token", "ghp_", "Q7k[A-Za-z0-9]{33}"),
        bare("github-token", "gho_", "[A-Za-z0-9]{36}"),
        bare("github-token", "github_pat_", "Q7k[A-Za-z0-9]{19}_[A-Za-z0-9]{59}"),
        bare("anthropic-key", "sk-ant-api03-", "Q7k[A-Za-z0-9_-]{90}AA"),
        bare("openai-key", "sk-", "Q7k[A-Za-z0-9]{45}"),
        bare("openai-key", "sk-proj-", "Q7k[A-Za-z0-9_-]{100}"),
        bare("slack-token", "xoxb-", "[0-9]{12}-[0-9]{13}-[A-Za-z0-9]{24}"),
        bare("slack-token", "xapp-1-", "A[0-9]{10}-[a-z0-9]{40}"),
        slack_hook,
        jwt,
        framed(
            "url-password",
            &[
                ("DATABASE_URL=postgres://admin:", "@db.example.com:5432/app"),
                (
                    "git clone https://oauth2:",
                    "@gitlab.example.com/org/repo.git"
                ),
                ("redis://:", "@cache:6379/0"),
            ],
            "Q7k[A-Za-z0-9]{11,30}",
        ),
        bare("google-api-key", "AIza", "Q7k[A-Za-z0-9_-]{32}"),
        bare("stripe-key", "sk_live_", "Q7k[A-Za-z0-9]{21,40}"),
        bare("npm-token", "npm_", "Q7k[A-Za-z0-9]{33}"),
        bare("huggingface-token", "hf_", "Qk[A-Za-z]{32}"),
        framed(
            "bearer-token",
            &[
                (
                    "curl -H \"Authorization: Bearer ",
                    "\" https://api.example.com"
                ),
                ("Authorization: bearer ", "\nAccept: */*"),
                ("use Bearer ", " for the call"),
            ],
            "Q7k[A-Za-z0-9]{29,40}",
        ),
        framed(
            "secret-assignment",
            &[
                ("DB_PASSWORD=", ""),
                ("export API_TOKEN=", " && ./run.sh"),
                ("STRIPE_SECRET=\"", "\""),
                ("client_secret: ", "\n"),
                ("{\"password\": \"", "\", \"user\": \"bob\"}"),
                ("apiKey = \"", "\";"),
            ],
            "Q7k[A-Za-z0-9]{17,30}",
        ),
        framed(
            "basic-auth",
            &[("curl -u admin:", " https://x.example.com")],
            "Q7k[A-Za-z0-9]{9,20}",
        ),
    ]
}

/// Neutral text around a planted secret: it must not glue onto the secret
/// (a letter right before `ghp_` makes it a different word), so it ends and
/// starts with a separator.
const CONTEXTS: &[&str] = &[
    "{S}",
    "Here is the value {S} please keep it safe.",
    "$ ./deploy.sh\nusing {S}\ndone in 3s\n",
    "- value: `{S}`\n",
    "日本語のテキスト {S} 🎉 終わり",
];

/// How the planted text is carried in its string value.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// As is.
    Raw,
    /// Inside a JSON document held in the string (`"{\"note\":\"…\"}"`), as
    /// when a tool's output is itself JSON: quotes and newlines are escaped.
    JsonInString,
}

fn encode(text: &str, enc: Encoding) -> String {
    match enc {
        Encoding::Raw => text.to_string(),
        Encoding::JsonInString => serde_json::json!({ "note": text, "n": 1 }).to_string(),
    }
}

/// An arbitrary hook-payload-like JSON tree.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Put `s` somewhere in `v`: `path` picks a child at each level; where it
/// runs out (or at a leaf), the string is added to the container reached,
/// or replaces the leaf.
fn plant(v: &mut Value, path: &[usize], s: String) {
    match v {
        Value::Array(items) => match path.split_first() {
            Some((&i, rest)) if !items.is_empty() => {
                let n = items.len();
                plant(&mut items[i % n], rest, s);
            }
            _ => items.push(Value::String(s)),
        },
        Value::Object(map) => match path.split_first() {
            Some((&i, rest)) if !map.is_empty() => {
                let n = map.len();
                if let Some(child) = map.values_mut().nth(i % n) {
                    plant(child, rest, s);
                }
            }
            _ => {
                map.insert("planted_note".into(), Value::String(s));
            }
        },
        leaf => *leaf = Value::String(s),
    }
}

/// The pieces of `secret` that must not appear in the output: the secret
/// itself, each of its lines, and for long ones every 12-byte window.
fn needles(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    for line in secret.lines().filter(|l| l.len() >= 12) {
        out.push(line.to_string());
        for i in 0..=line.len() - 12 {
            out.push(line[i..i + 12].to_string());
        }
    }
    out
}

/// Every string (keys and values) in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|x| strings(x, out)),
        Value::Object(map) => {
            for (k, x) in map {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}

fn redactor(max_field_bytes: usize) -> Redactor {
    Redactor::new(&PrivacyOptions {
        max_field_bytes,
        ..PrivacyOptions::default()
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No planted secret survives `clean_event`, wherever and however it is
    /// planted, and the event stays within its caps.
    #[test]
    fn no_planted_secret_survives_clean_event(
        mut payload in tree(),
        secret in secret(),
        ctx in prop::sample::select(CONTEXTS),
        json_in_string in any::<bool>(),
        path in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let enc = if json_in_string { Encoding::JsonInString } else { Encoding::Raw };
        let text = encode(&ctx.replace("{S}", &secret.text), enc);
        plant(&mut payload, &path, text.clone());
        let r = redactor(mnemo_privacy::DEFAULT_MAX_FIELD_BYTES);
        let report = r.clean_event(&mut payload);
        let mut all = Vec::new();
        strings(&payload, &mut all);
        let serialized = payload.to_string();
        for needle in needles(&secret.secret) {
            prop_assert!(
                !serialized.contains(&needle),
                "{} survived ({needle}):\n planted: {text}\n out: {serialized}",
                secret.kind
            );
        }
        prop_assert!(report.total_redactions() > 0);
        prop_assert!(serialized.len() <= mnemo_privacy::DEFAULT_MAX_EVENT_BYTES);
        for s in &all {
            prop_assert!(s.len() <= mnemo_privacy::DEFAULT_MAX_FIELD_BYTES);
        }
        // The output is a JSON document that parses back to itself.
        let back: Value = serde_json::from_str(&serialized).unwrap();
        prop_assert_eq!(back, payload);
    }

    /// The same, with the secret in a string long enough to be cut: the
    /// redactor only looks at the kept windows, so a secret anywhere must
    /// be either cut away or redacted, never partly kept.
    #[test]
    fn no_planted_secret_survives_the_cap(
        secret in secret(),
        cap in 64usize..2048,
        filler in "[a-z .,\n]{1,16}",
        before in 0usize..12_000,
        after in 0usize..12_000,
    ) {
        let pad = |n: usize| filler.repeat(n / filler.len() + 1)[..n].to_string();
        let input = format!("{} {} {}", pad(before), secret.text, pad(after));
        let out = redactor(cap).clean_text(&input);
        prop_assert!(out.len() <= cap.max(64), "{} > {cap}", out.len());
        for needle in needles(&secret.secret) {
            prop_assert!(!out.contains(&needle), "{} survived: {out}", secret.kind);
        }
    }

    /// Cleaning clean text changes nothing (unless it was cut), and output is
/// within the cap.
    #[test]
    fn clean_text_is_idempotent_and_capped(
        text in prop_oneof![
            "\\PC{0,200}",
            any::<String>(),
            // Fragments of triggers, markers and tags, glued at random.
            prop::collection::vec(
                prop::sample::select(&[
                    "token", "=", ": ", "\"", "'", "\\\"", "\\n", "\n", " ", "sk-", "ghp_",
                    "Bearer ", "Authorization: ", "password", "://", "@", "u:", "-u ",
                    "[REDACTED:jwt]", "<private>", "</private>", "-----BEGIN PRIVATE KEY-----",
                    "-----END PRIVATE KEY-----", "eyJ", ".", "Q7kAbcdefghijklmnopqrstu0123",
                    "$", "{{", "%", "key", "secret", "_", "API_KEY", "é", "🎉",
                ][..]),
                0..40,
            ).prop_map(|parts| parts.concat()),
        ],
        cap in prop::sample::select(&[64usize, 100, 300, 16 * 1024][..]),
    ) {
        let r = redactor(cap);
        let mut report = CleanReport::default();
        let once = r.clean_text_with_report(&text, &mut report);
        prop_assert!(once.len() <= cap, "{} > {cap}", once.len());
        let mut again = CleanReport::default();
        let twice = r.clean_text_with_report(&once, &mut again);
        if report.bytes_cut == 0 {
            prop_assert_eq!(&twice, &once, "input: {:?}", text);
        } else {
            // Around a cut, a detector may have judged a value by context
            // that is now gone, so a second pass may redact more (see the
            // crate's known limits), but it never restores anything.
            prop_assert!(twice.len() <= cap);
            if again.bytes_cut == 0 {
                prop_assert!(
                    twice.matches("[REDACTED:").count() >= once.matches("[REDACTED:").count(),
                    "input: {:?}\n once: {once}\n twice: {twice}", text
                );
            }
        }
    }

    /// Cleaning text that already holds markers (a memory redacted before,
    /// now redacted again for upload) changes nothing: a marker next to a
    /// name, a separator, a URL, a flag or inside a key block is a value
    /// dealt with.
    #[test]
    fn text_holding_markers_is_stable(
        parts in prop::collection::vec(
            prop::sample::select(&[
                "[REDACTED:secret-assignment]", "[REDACTED:private-key]",
                "[REDACTED:url-password]", "[REDACTED:bearer-token]",
                "[REDACTED:basic-auth]", "[REDACTED:github-token]", "[REDACTED:jwt]",
                "[REDACTED:password-flag]", "[REDACTED:secret-output]",
                "[REDACTED:aws-session-token]", "[REDACTED:secret-file]",
                "token", "secret", "password", "api_key", "PASS", "key", "value", "auth",
                "=", ": ", ":", " = ", " ", "\n", "\\n", "\"", "'", "\\\"", "(", ")", ",",
                "+", "@", "://", "https://u:", "-u ", "-p", "--password ", "mysql ", "curl ",
                "$ ", "Authorization: ", "Bearer ", "-----BEGIN PRIVATE KEY-----",
                "-----END PRIVATE KEY-----", "Q7kAbcdefghijklmnopqrstu0123", "sk-", "ghp_",
                "eyJ", ".", "%", "{{", "}}", "$", "<", ">", "[", "]", "/", "-", "_",
            ][..]),
            0..40,
        ),
    ) {
        let text = parts.concat();
        let r = redactor(mnemo_privacy::DEFAULT_MAX_FIELD_BYTES);
        let once = r.clean_text(&text);
        let twice = r.clean_text(&once);
        prop_assert_eq!(&twice, &once, "input: {:?}", text);
    }

    /// Nothing between `<private>` tags survives, whatever surrounds it and
    /// however the tag is spelled.
    #[test]
    fn private_content_never_survives(
        before in "\\PC{0,60}",
        after in "\\PC{0,60}",
        word in "zq[a-z]{18}",
        open in prop::sample::select(&["<private>", "<PRIVATE>", "<Private reason=\"x\">"][..]),
        close in prop::sample::select(&["</private>", "</PRIVATE >", ""][..]),
        json_in_string in any::<bool>(),
    ) {
        let text = format!("{before}{open}{word}{close}{after}");
        let enc = if json_in_string { Encoding::JsonInString } else { Encoding::Raw };
        let mut payload = serde_json::json!({ "prompt": encode(&text, enc), "list": [text] });
        redactor(mnemo_privacy::DEFAULT_MAX_FIELD_BYTES).clean_event(&mut payload);
        let out = payload.to_string();
        prop_assert!(!out.contains(&word), "{out}");
    }
}
