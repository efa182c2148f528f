//! Every kind, planted in prose, shell, `.env`, JSON, source code and
//! command output.

use super::{ALNUM, alnum, assert_redacted, gen_from, redactor};
use crate::{PrivacyError, PrivacyOptions, Redactor};

/// Neutral places to plant a self-contained secret (`{S}`).
const CONTEXTS: &[&str] = &[
    "{S}",
    "Here is the value {S} please keep it safe.",
    "curl -s https://api.example.com/v1/items --data '{S}' | jq .",
    "SOME_VALUE={S}\nOTHER=1\n",
    "{\"config\": {\"value\": \"{S}\"}, \"n\": 1}",
    "let value = \"{S}\";\nprintln!(\"{}\", value);",
    "$ ./deploy.sh\nusing {S}\ndone in 3s\n",
    "- value: `{S}`\n",
];

fn plant(ctx: &str, s: &str) -> String {
    ctx.replace("{S}", s)
}

/// (kind, secret to plant, the bytes that must disappear)
fn self_contained() -> Vec<(&'static str, String, String)> {
    let mut v = Vec::new();
    let mut add = |kind: &'static str, s: String| v.push((kind, s.clone(), s));
    add(
        "aws-access-key",
        format!(
            "{}{}",
            "AKIA",
            gen_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1)
        ),
    );
    add(
        "aws-access-key",
        format!(
            "{}{}",
            "ASIA",
            gen_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 2)
        ),
    );
    add("github-token", format!("{}{}", "ghp_", alnum(36, 3)));
    add("github-token", format!("{}{}", "gho_", alnum(36, 4)));
    add("github-token", format!("{}{}", "ghu_", alnum(36, 5)));
    add("github-token", format!("{}{}", "ghs_", alnum(36, 6)));
    add("github-token", format!("{}{}", "ghr_", alnum(36, 7)));
    add(
        "github-token",
        format!("{}{}_{}", "github_pat_", alnum(22, 8), alnum(59, 9)),
    );
    add(
        "anthropic-key",
        format!(
            "{}{}{}AA",
            "sk-ant-",
            "api03-",
            gen_from(&format!("{ALNUM}-_"), 93, 10)
        ),
    );
    add(
        "anthropic-key",
        format!("{}{}", "sk-ant-admin01-", alnum(60, 11)),
    );
    add("openai-key", format!("{}{}", "sk-", alnum(48, 12)));
    add(
        "openai-key",
        format!(
            "{}{}{}",
            "sk-proj-",
            alnum(20, 13),
            gen_from(&format!("{ALNUM}-_"), 120, 13)
        ),
    );
    add("openai-key", format!("{}{}", "sk-svcacct-", alnum(64, 14)));
    add("openai-key", format!("{}{}", "sk-admin-", alnum(64, 15)));
    add(
        "slack-token",
        format!(
            "{}{}-{}-{}",
            "xoxb-",
            "123456789012",
            "1234567890123",
            alnum(24, 16)
        ),
    );
    add(
        "slack-token",
        format!("{}{}-{}", "xoxp-", "123456789012", alnum(40, 17)),
    );
    add(
        "slack-token",
        format!("{}{}-{}", "xapp-1-", "A0123456789", alnum(60, 18)),
    );
    let header = format!("{}{}", "eyJ", "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
    let payload = format!("{}{}", "eyJ", "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ");
    let sig = gen_from(&format!("{ALNUM}-_"), 43, 19);
    add("jwt", format!("{header}.{payload}.{sig}"));
    add("google-api-key", format!("{}{}", "AIza", alnum(35, 20)));
    add("stripe-key", format!("{}{}", "sk_live_", alnum(24, 21)));
    add("stripe-key", format!("{}{}", "rk_live_", alnum(24, 22)));
    add("stripe-key", format!("{}{}", "sk_test_", alnum(24, 23)));
    add("npm-token", format!("{}{}", "npm_", alnum(36, 24)));
    add(
        "huggingface-token",
        format!(
            "{}{}",
            "hf_",
            gen_from(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                34,
                25
            )
        ),
    );
    v
}

#[test]
fn self_contained_kinds_in_every_context() {
    let r = redactor();
    for (kind, planted, secret) in self_contained() {
        for ctx in CONTEXTS {
            let input = plant(ctx, &planted);
            let out = r.clean_text(&input);
            assert_redacted(&input, &out, &secret, kind);
            // The surrounding text survives.
            let before = ctx.split("{S}").next().unwrap();
            assert!(out.starts_with(before), "{kind}: context mangled: {out}");
        }
    }
}

#[test]
fn private_keys() {
    let r = redactor();
    let body: String = (0..20)
        .map(|i| gen_from(&format!("{ALNUM}+/"), 64, 100 + i) + "\n")
        .collect();
    for label in [
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "DSA PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        let key = format!("-----BEGIN {label}-----\n{body}-----END {label}-----");
        for ctx in CONTEXTS {
            let input = plant(ctx, &key);
            let out = r.clean_text(&input);
            assert_redacted(&input, &out, &body[..64], "private-key");
            assert!(!out.contains("-----END"), "{out}");
        }
        // No END: everything to the end of the string goes.
        let input = format!("key:\n-----BEGIN {label}-----\n{body}trailing words");
        let out = r.clean_text(&input);
        assert_eq!(out, "key:\n[REDACTED:private-key]");
    }
    // Armor headers instead of base64 right away.
    let input = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n{body}-----END RSA PRIVATE KEY-----\nafter"
    );
    assert_eq!(r.clean_text(&input), "[REDACTED:private-key]\nafter");
    // JSON-escaped newlines (a service-account file shown as text).
    let escaped = body.replace('\n', "\\n");
    let input = format!(
        "{{\"type\": \"service_account\", \"pk\": \"-----BEGIN PRIVATE KEY-----\\n{escaped}-----END PRIVATE KEY-----\\n\"}}"
    );
    let out = r.clean_text(&input);
    assert_redacted(&input, &out, &body[..64], "private-key");
    // An END whose BEGIN was cut off: redact from the start.
    let input = format!("{body}-----END RSA PRIVATE KEY-----\nok");
    assert_eq!(r.clean_text(&input), "[REDACTED:private-key]\nok");
    // A public key or certificate is not touched.
    let cert = format!("-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----");
    assert_eq!(r.clean_text(&cert), cert);
}

#[test]
fn aws_secret_keys() {
    let r = redactor();
    let secret = gen_from(&format!("{ALNUM}+/"), 40, 30);
    for input in [
        format!("aws_secret_access_key = {secret}\n"),
        format!("AWS_SECRET_ACCESS_KEY={secret}"),
        format!("export AWS_SECRET_KEY=\"{secret}\""),
        format!("{{\"SecretAccessKey\": \"{secret}\", \"Expiration\": \"2030\"}}"),
        format!("[default]\naws_access_key_id = X\naws_secret_access_key: {secret}\n"),
        format!("awsSecretKey: '{secret}'"),
    ] {
        let out = r.clean_text(&input);
        assert_redacted(&input, &out, &secret, "aws-secret-key");
    }
}

#[test]
fn url_passwords() {
    let r = redactor();
    let pw = alnum(14, 31);
    for (input, kept) in [
        (
            format!("DATABASE_URL=postgres://admin:{pw}@db.example.com:5432/app"),
            "postgres://admin:[REDACTED:url-password]@db.example.com:5432/app",
        ),
        (
            format!("git clone https://oauth2:{pw}@gitlab.example.com/org/repo.git"),
            "https://oauth2:[REDACTED:url-password]@gitlab.example.com/org/repo.git",
        ),
        (
            format!("redis://:{pw}@cache:6379/0"),
            "redis://:[REDACTED:url-password]@cache:6379/0",
        ),
        (
            format!("{{\"url\": \"mongodb+srv://u:{pw}@cluster0.example.net/db\"}}"),
            "mongodb+srv://u:[REDACTED:url-password]@cluster0.example.net/db",
        ),
        (
            format!("amqp://guest:{pw}@broker@host/vhost"),
            "amqp://guest:[REDACTED:url-password]@host/vhost",
        ),
    ] {
        let out = r.clean_text(&input);
        assert!(out.contains(kept), "{input}\n -> {out}");
        assert!(!out.contains(&pw), "{out}");
    }
    // Variable references are not secrets.
    for s in [
        "postgres://user:${DB_PASSWORD}@localhost/db",
        "postgres://user:$PW@localhost/db",
    ] {
        assert_eq!(r.clean_text(s), s);
    }
}

#[test]
fn slack_webhooks() {
    let r = redactor();
    let path = format!("T{}/B{}/{}", alnum(8, 40), alnum(8, 41), alnum(24, 42));
    let input = format!("curl -X POST https://hooks.slack.com/services/{path} -d '{{}}'");
    let out = r.clean_text(&input);
    assert_redacted(&input, &out, &path, "slack-webhook");
    assert!(out.contains("https://hooks.slack.com/services/[REDACTED:slack-webhook]"));
}

#[test]
fn bearer_tokens() {
    let r = redactor();
    let tok = alnum(32, 50);
    for input in [
        format!("curl -H \"Authorization: Bearer {tok}\" https://api.example.com"),
        format!("Authorization: bearer {tok}\nAccept: */*"),
        format!("{{\"headers\": {{\"Authorization\": \"Bearer {tok}\"}}}}"),
        format!("headers = {{'Authorization': 'Bearer {tok}'}}"),
        format!("requests.get(url, headers={{\"authorization\": f\"Bearer {tok}\"}})"),
        format!("use Bearer {tok} for the call"),
        format!("-H \\\"Authorization: Bearer {tok}\\\""),
        format!("Authorization: token {tok}"),
        format!("Authorization: Basic {tok}=="),
    ] {
        let out = r.clean_text(&input);
        assert_redacted(&input, &out, &tok, "bearer-token");
    }
    for s in [
        "curl -H \"Authorization: Bearer $TOKEN\" https://x",
        "Bearer tokens are short-lived.",
        "the bearer of bad news",
    ] {
        assert_eq!(r.clean_text(s), s);
    }
}

#[test]
fn basic_auth_flags() {
    let r = redactor();
    let pw = alnum(12, 55);
    let input = format!("curl -u admin:{pw} https://x.example.com");
    let out = r.clean_text(&input);
    assert_redacted(&input, &out, &pw, "basic-auth");
    assert!(out.contains("-u admin:[REDACTED:basic-auth]"));
    let s = "docker run -u 1000:1000 img";
    assert_eq!(r.clean_text(s), s);
}

/// Found by the idempotence property: a second pass read the colon of
/// `[REDACTED:secret-assignment]` as `user:password` after `-u`.
#[test]
fn basic_auth_leaves_markers_alone() {
    let r = redactor();
    let once = r.clean_text("-u secret=sk-tokentoken");
    assert_eq!(once, "-u secret=[REDACTED:secret-assignment]");
    assert_eq!(r.clean_text(&once), once);
}

#[test]
fn secret_assignments() {
    let r = redactor();
    let v = alnum(20, 60);
    let cases = [
        format!("DB_PASSWORD={v}"),
        format!("export API_TOKEN={v}"),
        format!("API_TOKEN={v} ./run.sh --fast"),
        format!("STRIPE_SECRET=\"{v}\""),
        format!("client_secret: {v}"),
        format!("  password: '{v}'"),
        format!("{{\"password\": \"{v}\", \"user\": \"bob\"}}"),
        format!("{{\\\"api_key\\\":\\\"{v}\\\"}}"),
        format!("OPENAI_API_KEY={v}"),
        format!("apiKey = \"{v}\";"),
        format!("self.secret_key = '{v}'"),
        format!("SECRET_KEY = \"{v}\""),
        format!("secret_key_base: {v}"),
        format!("MYSQL_PWD={v}"),
        format!("GOOGLE_APPLICATION_CREDENTIALS={v}"),
        format!("//registry.npmjs.org/:_authToken={v}"),
        format!("_auth={v}"),
        format!("https://example.com/cb?code=1&access_token={v}&state=x"),
        format!("mysql --password {v} -h db"),
        format!("app --api-key=\"{v}\""),
        format!("token := \"{v}\""),
        format!("'password' => '{v}',"),
        format!("X-Api-Key: {v}"),
        format!("passphrase = {v}"),
        format!("db.password={v}"),
        format!("AWS_SESSION_TOKEN={v}"),
        format!("PASSWORD={v}\nUSER=bob"),
        format!("auth_key: {v}"),
        format!("password = \"{v}\"  # prod"),
        format!("TOKEN={v};"),
        format!("    token: str = \"{v}\""),
        format!("let api_key: &str = \"{v}\";"),
        format!("const secret: string = '{v}';"),
    ];
    for input in &cases {
        let out = r.clean_text(input);
        assert_redacted(input, &out, &v, "secret-assignment");
    }
    // The name is kept.
    let out = r.clean_text(&format!("export DB_PASSWORD={v} && run"));
    assert_eq!(
        out,
        "export DB_PASSWORD=[REDACTED:secret-assignment] && run"
    );
    let out = r.clean_text(&format!("{{\"client_secret\": \"{v}\"}}"));
    assert_eq!(out, "{\"client_secret\": \"[REDACTED:secret-assignment]\"}");
    // A specific kind wins over the generic one.
    let gh = format!("{}{}", "ghp_", alnum(36, 61));
    let out = r.clean_text(&format!("GITHUB_TOKEN={gh}"));
    assert_eq!(out, "GITHUB_TOKEN=[REDACTED:github-token]");
}

#[test]
fn user_patterns() {
    let opts = PrivacyOptions {
        extra_patterns: vec![
            ("acme".into(), r"acme_[a-z0-9]{16}".into()),
            ("internal-id".into(), r"emp-id: (?P<secret>\d{6})".into()),
        ],
        ..PrivacyOptions::default()
    };
    let r = Redactor::new(&opts).unwrap();
    let tok = format!(
        "{}{}",
        "acme_",
        gen_from("abcdefghijklmnopqrstuvwxyz0123456789", 16, 70)
    );
    let input = format!("use {tok} now; emp-id: 123456.");
    let out = r.clean_text(&input);
    assert_eq!(
        out,
        "use [REDACTED:acme] now; emp-id: [REDACTED:internal-id]."
    );
    // A user kind beats the generic assignment rule.
    let out = r.clean_text(&format!("ACME_TOKEN={tok}"));
    assert_eq!(out, "ACME_TOKEN=[REDACTED:acme]");
    let mut report = crate::CleanReport::default();
    let _ = r.clean_text_with_report(&input, &mut report);
    assert_eq!(report.redactions.get("acme"), Some(&1));
    assert_eq!(report.redactions.get("internal-id"), Some(&1));
}

#[test]
fn user_patterns_ascii_by_default_unicode_on_request() {
    let opts = PrivacyOptions {
        extra_patterns: vec![
            ("ascii".into(), r"(?i)code-\w+".into()),
            ("uni".into(), r"(?u)geheim:\s*\w+".into()),
            ("bytes".into(), r"x.".into()),
        ],
        ..PrivacyOptions::default()
    };
    let r = Redactor::new(&opts).unwrap();
    // ASCII `\w` stops at `é`; Unicode `\w` does not.
    assert_eq!(r.clean_text("CODE-abcé"), "[REDACTED:ascii]é");
    assert_eq!(r.clean_text("geheim: wörter!"), "[REDACTED:uni]!");
    // A match ending inside a character is widened to the whole character.
    assert_eq!(r.clean_text("axé"), "a[REDACTED:bytes]");
    assert_eq!(r.clean_text("x日本"), "[REDACTED:bytes]本");
}

#[test]
fn bad_user_settings_are_named() {
    let opts = PrivacyOptions {
        extra_patterns: vec![("acme".into(), "acme_(".into())],
        ..PrivacyOptions::default()
    };
    let err = Redactor::new(&opts).unwrap_err();
    assert!(matches!(err, PrivacyError::InvalidPattern { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with("privacy.extra_patterns.acme: regex parse error"),
        "{msg}"
    );
    let opts = PrivacyOptions {
        extra_patterns: vec![("a b".into(), "x".into())],
        ..PrivacyOptions::default()
    };
    assert!(Redactor::new(&opts).is_err());
    let opts = PrivacyOptions {
        secret_files: vec!["[oops".into()],
        ..PrivacyOptions::default()
    };
    let msg = Redactor::new(&opts).unwrap_err().to_string();
    assert!(msg.starts_with("privacy.secret_files: [oops"), "{msg}");
}

#[test]
fn report_counts_without_text() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 80));
    let input = format!("a {gh} b {gh} c PASSWORD=x1y2z3q <private>hidden</private>");
    let mut report = crate::CleanReport::default();
    let out = r.clean_text_with_report(&input, &mut report);
    assert!(!out.contains("hidden"));
    assert_eq!(report.redactions.get("github-token"), Some(&2));
    assert_eq!(report.redactions.get("secret-assignment"), Some(&1));
    assert_eq!(report.private_spans, 1);
    assert_eq!(report.total_redactions(), 3);
    let dbg = format!("{report:?}");
    assert!(!dbg.contains(&gh) && !dbg.contains("hidden"));
}

#[test]
fn idempotent() {
    let r = redactor();
    let v = alnum(20, 90);
    let gh = format!("{}{}", "ghp_", alnum(36, 91));
    let input = format!(
        "PASSWORD={v}\nurl=https://u:{v}@h/x\nAuthorization: Bearer {v}\n{gh}\n\"token\": \"{v}\""
    );
    let once = r.clean_text(&input);
    let twice = r.clean_text(&once);
    assert_eq!(once, twice);
    // A token as a URL's userinfo leaves a marker with a colon in it.
    let once = r.clean_text(&format!("url = https://{gh}@github.com/shop/api.git"));
    assert_eq!(r.clean_text(&once), once);
}

#[test]
fn private_blocks_before_everything() {
    let r = redactor();
    let gh = format!("{}{}", "ghp_", alnum(36, 95));
    let input = format!("keep <PRIVATE>\n{gh}\n</private> this <private>and\nunclosed {gh}");
    let mut report = crate::CleanReport::default();
    let out = r.clean_text_with_report(&input, &mut report);
    assert_eq!(out, "keep  this ");
    assert_eq!(report.private_spans, 2);
    assert!(report.redactions.is_empty(), "{report:?}");
    let input = "x <mnemo-context>\nremembered: PASSWORD=zz\n</mnemo-context> y <claude-mem-context>m</claude-mem-context>";
    let mut report = crate::CleanReport::default();
    let out = r.clean_text_with_report(input, &mut report);
    assert_eq!(out, "x  y ");
    assert_eq!(report.private_spans, 0);
    assert_eq!(report.redactions.get("mnemo-context"), Some(&1));
    assert_eq!(report.redactions.get("claude-mem-context"), Some(&1));
}
