//! Cleaning clean text changes nothing: the inputs the idempotence
//! properties (`tests/properties.rs`) found, each kept here by name. An
//! earlier pass's marker is one opaque value to the detectors
//! (`detect/markers.rs`), so for these one pass of the detectors finds
//! nothing in what the pass before left; cleaning also redacts until
//! nothing more is found, which covers what is left.

use super::{alnum, redactor};
use crate::{PrivacyOptions, Redactor, blocks, cap};

fn with_cap(cap: usize) -> Redactor {
    Redactor::new(&PrivacyOptions {
        max_field_bytes: cap,
        ..PrivacyOptions::default()
    })
    .unwrap()
}

/// One pass of the detectors over `text`, rendered, uncut.
fn one_pass(r: &Redactor, text: &str) -> String {
    let text = blocks::strip(text, &mut blocks::Stripped::default());
    let spans = r.find_spans(&text);
    cap::render_all(&text, &spans, &r.markers, &mut |_| {})
}

/// Check that one pass of the detectors over what one pass left of `input`
/// finds nothing, and that cleaning keeps what it returned; return that.
#[track_caller]
fn stable(r: &Redactor, input: &str) -> String {
    let first = one_pass(r, input);
    assert_eq!(one_pass(r, &first), first, "input: {input:?}");
    let once = r.clean_text(input);
    assert_eq!(r.clean_text(&once), once, "input: {input:?}");
    once
}

/// The kind in `[REDACTED:secret-assignment]` is not a variable named like
/// a secret, so what follows the marker is not its value.
#[test]
fn a_markers_kind_is_not_a_name() {
    let r = with_cap(64);
    // As found, with `\n` escaped (JSON in a string) and as a line break.
    let once = stable(&r, "token://sk-= =\\ntoken");
    assert_eq!(once, "token:[REDACTED:secret-assignment] =\\ntoken");
    stable(&r, "token://sk-= =\ntoken");
    stable(&r, "secret://=sk- =sk-");
    stable(&r, "secret: sk-{{: =\\ntoken");
}

/// A name whose value is a marker was dealt with: read past the marker (as
/// a type annotation, `token: [REDACTED:…] = x`) it would get another value.
#[test]
fn a_names_value_that_is_a_marker_is_done() {
    let r = redactor();
    for kind in ["jwt", "secret-assignment"] {
        let text = format!("token:[REDACTED:{kind}] =\\ntoken");
        assert_eq!(r.clean_text(&text), text);
    }
    // Nor were the names its assignment spans (`token`, `-u` in the type).
    let once = stable(&with_cap(64), "secret: token: -u = sk-");
    assert_eq!(once, "secret: token: -u = [REDACTED:secret-assignment]");
    // Without the marker the same shape is an annotated assignment.
    assert_eq!(
        r.clean_text("token:x =\\ntoken"),
        "token:x =[REDACTED:secret-assignment]"
    );
}

/// A value that holds a marker is not the text the first pass judged:
/// `%secret:[REDACTED:…]` is no longer a `%VAR%` template.
#[test]
fn a_value_holding_a_marker_was_judged() {
    let r = with_cap(64);
    for input in [
        "password=%secret://\\n%",
        "Authorization: passwordu:\\n",
        "Authorization: <private></private>passwordu:\\n",
        "passwordAuthorization: @-----BEGIN PRIVATE KEY-----Authorization: =",
        "secret://-----BEGIN PRIVATE KEY-----Authorization: : =: ",
    ] {
        stable(&r, input);
    }
    // And a name inside such a value gets its own look on the first pass.
    let once = stable(
        &with_cap(100),
        "Authorization: secret=' [REDACTED:jwt]secret=sk-'",
    );
    assert!(
        once.ends_with("[REDACTED:jwt]secret=[REDACTED:secret-assignment]'"),
        "{once}"
    );
}

/// A private key's block runs on past a marker inside it: its pieces
/// around the marker are redacted, so no `BEGIN` is left to start a
/// smaller block on the second pass.
#[test]
fn a_private_key_around_a_marker() {
    let r = with_cap(300);
    for input in [
        "Authorization: -----BEGIN PRIVATE KEY-----Authorization: [REDACTED:jwt]-----BEGIN PRIVATE KEY-----Authorization: ",
        "-----BEGIN PRIVATE KEY-----API_KEY=Authorization: token[REDACTED:jwt]-----BEGIN PRIVATE KEY-----password-----BEGIN PRIVATE KEY-----tokentoken",
    ] {
        let once = stable(&r, input);
        assert!(
            !once.contains("BEGIN") && once.contains("[REDACTED:jwt]"),
            "{once}"
        );
    }
}

/// `name: <type> = value` needs a type that starts like one: when
/// `//Authorization: Bearer ` was read as a type, the value was the `=`'s,
/// and once that was redacted the name's own value appeared.
#[test]
fn a_type_annotation_needs_a_type() {
    let r = redactor();
    let v = alnum(28, 7);
    for input in [
        "token://Authorization: Bearer =: ".to_string(),
        format!("secret://-----BEGIN PRIVATE KEY-----Bearer ={v}-----END PRIVATE KEY-----"),
    ] {
        let once = stable(&r, &input);
        assert!(once.starts_with("token:[REDACTED:") || once.starts_with("secret:[REDACTED:"));
        assert!(!once.contains(&v));
    }
    // Types as code writes them are still skipped.
    for ty in ["str", "&str", "Optional[str]", "*const u8", "?string"] {
        let text = format!("token: {ty} = \"{v}\"");
        assert_eq!(
            r.clean_text(&text),
            format!("token: {ty} = \"[REDACTED:secret-assignment]\"")
        );
    }
}

/// Only the kinds the redactor knows make a marker: a made-up one is text,
/// and a token in it is found.
#[test]
fn a_made_up_marker_is_text() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 11));
    let out = r.clean_text(&format!("[REDACTED:{gh}]"));
    assert_eq!(out, "[REDACTED:[REDACTED:github-token]]");
    // A user pattern's kind makes a marker too.
    let r = Redactor::new(&PrivacyOptions {
        extra_patterns: vec![("acme-token".into(), "acme_[a-z0-9]{12}".into())],
        ..PrivacyOptions::default()
    })
    .unwrap();
    let once = stable(&r, "ACME_TOKEN: acme_0123456789ab = x\\n");
    assert!(once.starts_with("ACME_TOKEN: [REDACTED:"), "{once}");
    stable(&r, "x [REDACTED:acme-token] =\\ntoken");
}

/// A marker is a value: never part of a type (`name: <type> = value`)...
#[test]
fn a_marker_is_not_part_of_a_type() {
    let r = redactor();
    stable(&r, "token: Authorization: )https://u: = https://u:");
    stable(
        &r,
        "token: https://u:Authorization: --password tokentoken[REDACTED:secret-assignment]+ = ",
    );
}

/// ... nor a program, nor the name of a variable set before one.
#[test]
fn a_word_holding_a_marker_is_not_a_program() {
    let r = redactor();
    let v = alnum(28, 9);
    for input in [
        format!("{v}-----END PRIVATE KEY-----://mysql -ptoken"),
        format!("{v}-----END PRIVATE KEY-----=--password mysql -ptokentoken"),
    ] {
        let once = stable(&r, &input);
        assert!(once.starts_with("[REDACTED:private-key]"), "{once}");
    }
    // A variable set before the program still is one.
    let pw = alnum(14, 10);
    let input = format!("MYSQL_PWD=[REDACTED:secret-assignment] mysql -p{pw} shop");
    let out = stable(&r, &input);
    assert_eq!(
        out,
        "MYSQL_PWD=[REDACTED:secret-assignment] mysql -p[REDACTED:password-flag] shop"
    );
}

/// A marker glued before a name is part of it: the earlier pass saw one
/// longer word there (`$ghp_…sk-token`, which reads as a Rust macro's
/// `$name:fragment`).
#[test]
fn a_marker_glued_to_a_name_is_part_of_it() {
    let gh = format!("{}{}", "ghp_", alnum(30, 12));
    let once = stable(&with_cap(64), &format!("${gh}sk-token://\\ntoken"));
    assert_eq!(once, "$[REDACTED:github-token]-token://\\ntoken");
    stable(
        &with_cap(100),
        &format!(
            "passwordAuthorization: Authorization: {}Authorization: secretsk-Authorization: =\\ntoken",
            alnum(28, 13)
        ),
    );
}

/// What a pass finds can depend on what surrounds a value (`name: <type> =
/// value`, a program's words), and a marker put there can change that
/// reading; cleaning redacts until nothing more is found, so what it
/// returns is kept by the next cleaning. Inputs the property over marker
/// text found.
#[test]
fn cleaning_redacts_until_nothing_is_found() {
    let r = redactor();
    let v = alnum(28, 14);
    for input in [
        format!("token: mysql tokenBearer {v} = "),
        "token: mysql passwordhttps://u: = ".to_string(),
        "token: token+Authorization: token+token+token = ".to_string(),
        "secret: \\n -----BEGIN PRIVATE KEY-----Authorization: =".to_string(),
        format!("password: key-----BEGIN PRIVATE KEY----- =://{v}-----END PRIVATE KEY-----"),
        "-----BEGIN PRIVATE KEY-----https://u:[REDACTED:password-flag]-----END PRIVATE KEY-----tokenhttps://u:".to_string(),
    ] {
        let once = r.clean_text(&input);
        assert_eq!(r.clean_text(&once), once, "input: {input:?}");
        assert!(!once.contains(&v), "{once}");
    }
    assert_eq!(
        r.clean_text("token: token+Authorization: token+token+token = "),
        "token: [REDACTED:secret-assignment]: [REDACTED:bearer-token] = "
    );
}
