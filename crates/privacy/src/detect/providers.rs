//! Provider tokens recognised by their documented shape alone: a fixed
//! prefix and a body of a known alphabet and length (`glpat-…`, `pypi-…`,
//! `dop_v1_<64 hex>`), plus the few formats that need a scanner of their own
//! (Discord and Telegram bot tokens, Terraform Cloud, Azure AD client
//! secrets, Mailchimp keys, webhook URLs).
//!
//! Every prefix in [`TOKENS`] is a trigger by itself: adding a provider is
//! one line in that table.

use super::*;

/// A token format: a case-sensitive prefix, then a body.
pub(super) struct Token {
    /// Exact prefix, as the provider writes it.
    pub prefix: &'static [u8],
    /// Index into [`KINDS`].
    pub kind: u16,
    /// Alphabet of the body.
    pub class: Class,
    /// Body length bounds, in bytes.
    pub min: usize,
    pub max: usize,
    /// How many of {upper, lower, digit} the body must mix, so that words
    /// and identifiers sharing a prefix (`re_compile`, `sl.ly`) stay.
    pub mix: u8,
}

/// The index of `name` in [`KINDS`]; a typo fails the build.
pub(super) const fn kind(name: &str) -> u16 {
    let n = name.as_bytes();
    let mut k = 0;
    while k < KINDS.len() {
        let c = KINDS[k].as_bytes();
        if c.len() == n.len() {
            let mut i = 0;
            while i < n.len() && c[i] == n[i] {
                i += 1;
            }
            if i == n.len() {
                return k as u16;
            }
        }
        k += 1;
    }
    panic!("unknown kind")
}

const fn tok(
    prefix: &'static str,
    kind_name: &str,
    class: Class,
    min: usize,
    max: usize,
    mix: u8,
) -> Token {
    Token {
        prefix: prefix.as_bytes(),
        kind: kind(kind_name),
        class,
        min,
        max,
        mix,
    }
}

const ANY: usize = 4096;

use Class::{Alnum, AlnumDash, B64, B64url, B64urlDot, Dollar, Hex, HexDash, UrlEncoded, Word};

/// Prefixed token formats, from the providers' documentation.
pub(super) const TOKENS: &[Token] = &[
    // Source hosting and CI.
    tok("glpat-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("gldt-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glptt-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glrt-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glrtr-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("gloas-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glcbt-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glimt-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glagent-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glsoat-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glffct-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("glft-", "gitlab-token", B64urlDot, 20, ANY, 2),
    tok("GR1348941", "gitlab-token", B64url, 20, ANY, 2),
    tok("ATBB", "bitbucket-token", Alnum, 28, ANY, 2),
    tok("ATATT3", "atlassian-token", B64, 40, ANY, 2),
    tok("ATCTT3", "atlassian-token", B64, 40, ANY, 2),
    tok("CCIPAT_", "circleci-token", B64url, 30, ANY, 2),
    tok("CCIPRJ_", "circleci-token", B64url, 30, ANY, 2),
    tok("bkua_", "buildkite-token", Hex, 40, 40, 2),
    tok("dckr_pat_", "dockerhub-token", B64url, 20, ANY, 2),
    tok("dckr_oat_", "dockerhub-token", B64url, 20, ANY, 2),
    tok("pul-", "pulumi-token", Hex, 40, 40, 2),
    tok("sqp_", "sonarqube-token", Hex, 40, 40, 2),
    tok("squ_", "sonarqube-token", Hex, 40, 40, 2),
    tok("sqa_", "sonarqube-token", Hex, 40, 40, 2),
    // Registries.
    tok("pypi-", "pypi-token", B64url, 50, ANY, 2),
    tok("rubygems_", "rubygems-key", Hex, 48, 48, 2),
    tok("cio", "crates-io-token", Alnum, 32, 32, 2),
    tok("oy2", "nuget-key", Alnum, 43, 43, 2),
    tok("AKCp", "artifactory-token", Alnum, 60, ANY, 2),
    tok("cmVmdGtu", "artifactory-token", B64, 50, ANY, 2),
    tok("CLOJARS_", "clojars-token", Alnum, 40, ANY, 2),
    // Cloud.
    tok("IQoJb3JpZ2lu", "aws-session-token", B64, 80, ANY, 2),
    tok("FwoGZXIvYXdz", "aws-session-token", B64, 80, ANY, 2),
    tok("ya29.", "google-oauth-token", B64urlDot, 30, ANY, 2),
    tok("1//0", "google-oauth-token", B64url, 30, ANY, 2),
    tok("GOCSPX-", "google-oauth-token", B64url, 24, ANY, 2),
    tok("dop_v1_", "digitalocean-token", Hex, 64, 64, 2),
    tok("doo_v1_", "digitalocean-token", Hex, 64, 64, 2),
    tok("dor_v1_", "digitalocean-token", Hex, 64, 64, 2),
    tok("LTAI", "alibaba-key", Alnum, 12, 30, 2),
    tok("HRKU-", "heroku-key", B64url, 30, ANY, 2),
    tok("fo1_", "flyio-token", B64url, 30, ANY, 2),
    tok("fm1r_", "flyio-token", B64, 30, ANY, 2),
    tok("fm2_", "flyio-token", B64, 30, ANY, 2),
    tok("nfp_", "netlify-token", Alnum, 30, ANY, 2),
    tok("sbp_", "supabase-key", Hex, 40, 40, 2),
    tok("sb_secret_", "supabase-key", B64url, 20, ANY, 2),
    tok("pscale_tkn_", "planetscale-token", B64url, 30, ANY, 2),
    tok("pscale_pw_", "planetscale-token", B64url, 30, ANY, 2),
    tok("pscale_oauth_", "planetscale-token", B64url, 30, ANY, 2),
    tok("dapi", "databricks-token", Hex, 32, 32, 2),
    tok("tskey-", "tailscale-key", B64url, 20, ANY, 2),
    tok("dt0c01.", "dynatrace-token", B64urlDot, 60, ANY, 2),
    tok("pnu_", "prefect-token", Alnum, 30, ANY, 2),
    tok("rnd_", "render-key", Alnum, 30, ANY, 2),
    // Secret managers.
    tok("hvs.", "vault-token", B64url, 24, ANY, 2),
    tok("s.", "vault-token", Alnum, 24, 24, 3),
    tok("hvb.", "vault-token", B64url, 24, ANY, 2),
    tok("hvr.", "vault-token", B64url, 24, ANY, 2),
    tok("dp.st.", "doppler-token", B64urlDot, 30, ANY, 2),
    tok("dp.pt.", "doppler-token", Alnum, 30, ANY, 2),
    tok("dp.ct.", "doppler-token", Alnum, 30, ANY, 2),
    tok("dp.sa.", "doppler-token", Alnum, 30, ANY, 2),
    tok("dp.scim.", "doppler-token", Alnum, 30, ANY, 2),
    tok("dp.audit.", "doppler-token", Alnum, 30, ANY, 2),
    tok("ops_eyJ", "onepassword-token", B64, 50, ANY, 2),
    tok("AGE-SECRET-KEY-1", "age-secret-key", Alnum, 50, ANY, 2),
    // Chat.
    tok("SSWS ", "okta-token", B64url, 30, ANY, 2),
    // Payments.
    tok("sq0atp-", "square-token", B64url, 20, ANY, 2),
    tok("sq0csp-", "square-token", B64url, 30, ANY, 2),
    tok("EAAA", "square-token", B64url, 56, 80, 2),
    tok(
        "access_token$production$",
        "braintree-token",
        Dollar,
        30,
        ANY,
        2,
    ),
    tok(
        "access_token$sandbox$",
        "braintree-token",
        Dollar,
        30,
        ANY,
        2,
    ),
    tok("access-sandbox-", "plaid-token", HexDash, 36, 36, 2),
    tok("access-development-", "plaid-token", HexDash, 36, 36, 2),
    tok("access-production-", "plaid-token", HexDash, 36, 36, 2),
    tok("shpat_", "shopify-token", Hex, 32, 32, 2),
    tok("shpss_", "shopify-token", Hex, 32, 32, 2),
    tok("shpca_", "shopify-token", Hex, 32, 32, 2),
    tok("shppa_", "shopify-token", Hex, 32, 32, 2),
    tok("rzp_live_", "stripe-key", Alnum, 14, ANY, 2),
    tok("AQE", "adyen-key", B64, 80, ANY, 2),
    tok("ck_", "woocommerce-key", Hex, 40, 40, 2),
    tok("cs_", "woocommerce-key", Hex, 40, 40, 2),
    tok("FLWSECK-", "flutterwave-key", AlnumDash, 32, ANY, 2),
    tok("FLWSECK_TEST-", "flutterwave-key", AlnumDash, 32, ANY, 2),
    // Observability.
    tok("NRAK-", "newrelic-key", Alnum, 27, 27, 2),
    tok("NRAA-", "newrelic-key", Alnum, 27, 27, 2),
    tok("NRII-", "newrelic-key", B64url, 30, ANY, 2),
    tok("NRJS-", "newrelic-key", Hex, 19, 19, 2),
    tok("sntrys_", "sentry-token", B64, 40, ANY, 2),
    tok("sntryu_", "sentry-token", Hex, 64, 64, 2),
    tok("glc_", "grafana-token", B64, 32, ANY, 2),
    tok("glsa_", "grafana-token", Word, 40, ANY, 2),
    tok("hcaik_", "honeycomb-key", Alnum, 40, ANY, 2),
    tok("hcxik_", "honeycomb-key", Alnum, 40, ANY, 2),
    tok("hcxlk_", "honeycomb-key", Alnum, 40, ANY, 2),
    tok("hcamk_", "honeycomb-key", Alnum, 40, ANY, 2),
    tok("PMAK-", "postman-key", HexDash, 50, ANY, 2),
    tok("sdk-", "launchdarkly-key", HexDash, 36, 36, 2),
    // AI APIs.
    tok("sk-or-", "openrouter-key", B64url, 40, ANY, 2),
    tok("gsk_", "groq-key", Alnum, 40, ANY, 2),
    tok("r8_", "replicate-token", Alnum, 30, ANY, 2),
    tok("pplx-", "perplexity-key", Alnum, 40, ANY, 2),
    tok("xai-", "xai-key", Alnum, 60, ANY, 2),
    tok("api_org_", "huggingface-token", Alnum, 30, ANY, 2),
    tok("lsv2_pt_", "langsmith-key", Word, 30, ANY, 2),
    tok("lsv2_sk_", "langsmith-key", Word, 30, ANY, 2),
    tok("pcsk_", "pinecone-key", Word, 40, ANY, 2),
    tok("tvly-", "tavily-key", B64url, 30, ANY, 2),
    tok("fw_", "fireworks-key", Alnum, 20, ANY, 3),
    tok("sk_", "elevenlabs-key", Hex, 48, 48, 2),
    tok("sk-lf-", "langfuse-key", HexDash, 36, 36, 2),
    // Mail.
    tok("SG.", "sendgrid-key", B64urlDot, 60, 80, 2),
    tok("key-", "mailgun-key", Hex, 32, 32, 2),
    tok("re_", "resend-key", Word, 30, ANY, 3),
    tok("SK", "twilio-key", Hex, 32, 32, 2),
    tok("xkeysib-", "brevo-key", AlnumDash, 60, ANY, 2),
    tok("xsmtpsib-", "brevo-key", AlnumDash, 60, ANY, 2),
    // Others.
    tok("lin_api_", "linear-key", Alnum, 40, ANY, 2),
    tok("lin_oauth_", "linear-key", Alnum, 40, ANY, 2),
    tok("sk.eyJ", "mapbox-token", B64urlDot, 60, ANY, 2),
    tok("figd_", "figma-token", B64url, 30, ANY, 2),
    tok("figu_", "figma-token", B64url, 30, ANY, 2),
    tok("secret_", "notion-token", Alnum, 43, 43, 2),
    tok("ntn_", "notion-token", Alnum, 40, ANY, 2),
    tok("CFPAT-", "contentful-token", B64url, 40, ANY, 2),
    tok("pat-na1-", "hubspot-token", HexDash, 36, 36, 2),
    tok("pat-eu1-", "hubspot-token", HexDash, 36, 36, 2),
    tok("tfp_", "typeform-token", Word, 40, ANY, 2),
    tok(
        "AAAAAAAAAAAAAAAAAAAAA",
        "twitter-token",
        UrlEncoded,
        40,
        160,
        2,
    ),
    tok("EAA", "facebook-token", Alnum, 90, ANY, 2),
    tok("sl.", "dropbox-token", B64urlDot, 100, ANY, 2),
    tok("sk", "sanity-token", Alnum, 80, ANY, 3),
];

/// Airtable personal access tokens: `pat` + 14 alphanumerics + `.` + 64 hex.
pub(super) fn airtable(b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b"pat") || !boundary_before(b, i) {
        return None;
    }
    let id = run(b, i + 3, |c| c.is_ascii_alphanumeric());
    let dot = i + 3 + id;
    if id != 14 || b.get(dot) != Some(&b'.') {
        return None;
    }
    let h = run(b, dot + 1, |c| c.is_ascii_hexdigit());
    let end = dot + 1 + h;
    (h == 64 && boundary_after(b, end)).then(|| span(i, end, kind("airtable-token"), P_SPECIFIC))
}

/// Discord bot tokens: the bot's id in base64 (decimal digits encoded, so it
/// starts `MT`, `Nj`, `OD`, …), a timestamp part and an HMAC, dot-separated.
pub(super) fn discord(b: &[u8], i: usize) -> Option<Span> {
    if !matches!(b.get(i), Some(b'M' | b'N' | b'O')) || !boundary_before(b, i) {
        return None;
    }
    let id = run(b, i, b64url);
    if !(23..=28).contains(&id) || b.get(i + id) != Some(&b'.') {
        return None;
    }
    // The id part decodes to ASCII digits.
    let head = super::encoded::decode_b64(&b[i..i + 20])?;
    if !head.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ts = i + id + 1;
    let t = run(b, ts, b64url);
    if !(5..=7).contains(&t) || b.get(ts + t) != Some(&b'.') {
        return None;
    }
    let mac = ts + t + 1;
    let m = run(b, mac, b64url);
    (m >= 25).then(|| span(i, mac + m, kind("discord-token"), P_SPECIFIC))
}

/// Telegram bot tokens: `<8–10 digit bot id>:AA<33 base64url>`, also inside
/// an API path (`/bot123456789:AA…/getMe`). The trigger is `:AA`.
pub(super) fn telegram(b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b":AA") {
        return None;
    }
    let digits = b[..i]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let start = i - digits;
    let before_ok = boundary_before(b, start) || b[..start].ends_with(b"bot");
    if !(8..=10).contains(&digits) || !before_ok {
        return None;
    }
    let r = run(b, i + 1, b64url);
    (r == 35).then(|| span(start, i + 1 + r, kind("telegram-token"), P_SPECIFIC))
}

/// Terraform Cloud / Enterprise tokens: `<14 alnum>.atlasv1.<60+ base64url>`.
/// The trigger is `.atlasv1.`.
pub(super) fn terraform(b: &[u8], i: usize, n: usize) -> Option<Span> {
    let id = b[..i]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let start = i - id;
    if id < 10 || !boundary_before(b, start) {
        return None;
    }
    let r = run(b, i + n, b64url);
    (r >= 50).then(|| span(start, i + n + r, kind("terraform-token"), P_SPECIFIC))
}

/// Azure AD (Entra ID) client secrets: three characters, a digit, `Q~`,
/// then 31–34 more. The trigger is `Q~`.
pub(super) fn azure_client_secret(b: &[u8], i: usize) -> Option<Span> {
    let body = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'~' | b'.' | b'-');
    if i < 4 || b[i] != b'Q' || !b[i - 1].is_ascii_digit() {
        return None;
    }
    let start = i - 4;
    if !b[start..i - 1].iter().all(|&c| body(c) && c != b'-') || start > 0 && body(b[start - 1]) {
        return None;
    }
    let mut r = run(b, i + 2, body);
    // A sentence's full stop is not part of the secret.
    if r > 0 && b[i + 2 + r - 1] == b'.' {
        r -= 1;
    }
    let end = i + 2 + r;
    let tail = &b[i + 2..end];
    ((31..=34).contains(&r) && classes(tail) >= 2)
        .then(|| span(start, end, kind("azure-client-secret"), P_SPECIFIC))
}

/// Mailchimp API keys: 32 hex, `-us`, a data-centre number. The trigger is
/// `-us`.
pub(super) fn mailchimp(b: &[u8], i: usize) -> Option<Span> {
    let d = run(b, i + 3, |c| c.is_ascii_digit());
    let end = i + 3 + d;
    if !(1..=2).contains(&d) || !boundary_after(b, end) {
        return None;
    }
    let h = b[..i]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    (h == 32 && boundary_before(b, i - h))
        .then(|| span(i - h, end, kind("mailchimp-key"), P_SPECIFIC))
}

/// The secret path of a webhook URL after its host (`discord.com/api/webhooks/`,
/// `….webhook.office.com/webhookb2/`): everything up to a space or quote.
pub(super) fn webhook_path(b: &[u8], i: usize, n: usize, kind_name: &str) -> Option<Span> {
    let start = i + n;
    let r = run(b, start, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'@' | b'.' | b'%')
    });
    (r >= 16).then(|| span(start, start + r, kind(kind_name), P_SPECIFIC))
}

/// A signed URL's signature: `?sig=…`, `&X-Amz-Signature=…`,
/// `&Signature=…` (the trigger is the parameter name with its `=`).
pub(super) fn url_signature(b: &[u8], i: usize, n: usize) -> Option<Span> {
    let mut name_start = i;
    while name_start > 0 && (b[name_start - 1].is_ascii_alphanumeric() || b[name_start - 1] == b'-')
    {
        name_start -= 1;
    }
    let name = &b[name_start..i + n - 1];
    let query = name_start > 0 && matches!(b[name_start - 1], b'?' | b'&' | b';');
    let known = name.eq_ignore_ascii_case(b"sig")
        || name.eq_ignore_ascii_case(b"signature")
        || name.eq_ignore_ascii_case(b"x-amz-signature")
        || name.eq_ignore_ascii_case(b"x-goog-signature");
    if !query || !known {
        return None;
    }
    let start = i + n;
    let r = run(b, start, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'%' | b'+' | b'/' | b'=' | b'_' | b'-' | b'.')
    });
    (r >= 16).then(|| span(start, start + r, kind("signed-url"), P_SPECIFIC))
}

/// A token of [`TOKENS`] starting at `i` (its prefix matched the trigger).
pub(super) fn prefixed_token(st: &mut State, b: &[u8], i: usize, t: &Token) -> Option<Span> {
    if !at(b, i, t.prefix) || !boundary_before(b, i) {
        return None;
    }
    let body = i + t.prefix.len();
    let mut r = st.run(b, body, t.class);
    // A sentence's full stop is not part of the token.
    while r > 0 && matches!(b[body + r - 1], b'.' | b'=') && t.class == B64urlDot {
        r -= 1;
    }
    let end = body + r;
    let ok =
        (t.min..=t.max).contains(&r) && boundary_after(b, end) && classes(&b[body..end]) >= t.mix;
    ok.then(|| span(i, end, t.kind, P_SPECIFIC))
}
