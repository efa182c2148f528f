//! Built-in secret detectors.
//!
//! Nothing here is compiled at run time: a hook process is short-lived, and
//! building regexes or automata would cost more than the whole cleaning of a
//! typical event. Instead, one pass over the string looks up every byte pair
//! in a compile-time bigram table of literal *triggers* (`ghp_`, `sk-`,
//! `token`, `://`, …, compared ASCII case-insensitively). Where a trigger
//! really occurs, a small hand-written scanner for that kind of secret takes
//! over from that position.

mod encoded;
mod flags;
mod joined;
mod markers;
mod pem;
mod providers;
mod structure;

pub(crate) use flags::prints_secret;
pub(crate) use markers::{MARKER_OPEN, Markers};
use pem::private_keys;
pub(crate) use structure::is_secret_key;
pub(crate) use structure::{is_placeholder, looks_random, mentions_secret};
use structure::{is_secret_name, name_at, next_on_line, value_ok};

/// A byte range of a string to replace with a `[REDACTED:<kind>]` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    /// Index into the redactor's kind table ([`KINDS`] first, then user patterns).
    pub kind: u16,
    /// Lower wins when spans overlap: specific kinds beat generic ones.
    pub prio: u8,
}

/// Kind names of the built-in detectors, in marker form `[REDACTED:<kind>]`.
pub(crate) const KINDS: [&str; 104] = [
    "private-key",
    "aws-access-key",
    "aws-secret-key",
    "github-token",
    "anthropic-key",
    "openai-key",
    "slack-token",
    "slack-webhook",
    "jwt",
    "url-password",
    "google-api-key",
    "stripe-key",
    "npm-token",
    "huggingface-token",
    "bearer-token",
    "secret-assignment",
    "basic-auth",
    "secret-file",
    "password-flag",
    "gitlab-token",
    "pypi-token",
    "sendgrid-key",
    "vault-token",
    "google-oauth-token",
    "shopify-token",
    "age-secret-key",
    "linear-key",
    "discord-token",
    "discord-webhook",
    "nuget-key",
    "okta-token",
    "azure-client-secret",
    "signed-url",
    "telegram-token",
    "digitalocean-token",
    "alibaba-key",
    "heroku-key",
    "flyio-token",
    "netlify-token",
    "supabase-key",
    "planetscale-token",
    "databricks-token",
    "bitbucket-token",
    "atlassian-token",
    "circleci-token",
    "buildkite-token",
    "dockerhub-token",
    "terraform-token",
    "pulumi-token",
    "rubygems-key",
    "crates-io-token",
    "artifactory-token",
    "clojars-token",
    "teams-webhook",
    "square-token",
    "braintree-token",
    "plaid-token",
    "newrelic-key",
    "sentry-token",
    "sentry-dsn",
    "grafana-token",
    "honeycomb-key",
    "postman-key",
    "doppler-token",
    "onepassword-token",
    "openrouter-key",
    "groq-key",
    "replicate-token",
    "perplexity-key",
    "xai-key",
    "mailgun-key",
    "mailchimp-key",
    "resend-key",
    "twilio-key",
    "brevo-key",
    "mapbox-token",
    "figma-token",
    "notion-token",
    "airtable-token",
    "contentful-token",
    "hubspot-token",
    "typeform-token",
    "twitter-token",
    "facebook-token",
    "dropbox-token",
    "aws-session-token",
    "sonarqube-token",
    "tailscale-key",
    "langsmith-key",
    "pinecone-key",
    "tavily-key",
    "dynatrace-token",
    "prefect-token",
    "secret-output",
    "secret-argument",
    "adyen-key",
    "woocommerce-key",
    "flutterwave-key",
    "launchdarkly-key",
    "fireworks-key",
    "elevenlabs-key",
    "langfuse-key",
    "render-key",
    "sanity-token",
];

pub(crate) const K_PRIVATE_KEY: u16 = 0;
const K_AWS_ID: u16 = 1;
const K_AWS_SECRET: u16 = 2;
const K_GITHUB: u16 = 3;
const K_ANTHROPIC: u16 = 4;
const K_OPENAI: u16 = 5;
const K_SLACK: u16 = 6;
const K_SLACK_HOOK: u16 = 7;
const K_JWT: u16 = 8;
const K_URL_PW: u16 = 9;
const K_GOOGLE: u16 = 10;
const K_STRIPE: u16 = 11;
const K_NPM: u16 = 12;
const K_HF: u16 = 13;
const K_BEARER: u16 = 14;
pub(crate) const K_ASSIGN: u16 = 15;
const K_BASIC: u16 = 16;
pub(crate) const K_SECRET_FILE: u16 = 17;
const K_PASSWORD_FLAG: u16 = 18;
pub(crate) const K_SECRET_OUTPUT: u16 = providers::kind("secret-output");

/// Kinds whose span covers a region whatever it holds (a private key's
/// block, the output of a command that prints a secret, lines grepped from
/// a secret file), rather than a value judged by its look.
pub(crate) fn covers_region(kind: u16) -> bool {
    matches!(kind, K_PRIVATE_KEY | K_SECRET_OUTPUT | K_SECRET_FILE)
}
const K_ARGUMENT: u16 = providers::kind("secret-argument");

/// Priorities: lower wins an overlap.
pub(crate) const P_SPECIFIC: u8 = 1;
pub(crate) const P_USER: u8 = 2;
const P_LOOSE: u8 = 3;
const P_CONTEXT: u8 = 4;
pub(crate) const P_GENERIC: u8 = 5;

/// Which scanner a trigger starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Det {
    PrivateKey,
    BasicAuth,
    Url,
    Stripe,
    Name,
    AwsId,
    Google,
    Auth,
    Bearer,
    Jwt,
    Github,
    GithubPat,
    Hf,
    SlackHook,
    Npm,
    OpenAi,
    Anthropic,
    Whsec,
    SlackApp,
    Slack,
    /// A prefixed token of [`providers::TOKENS`], by index.
    Token(u8),
    Airtable,
    Discord,
    Telegram,
    Terraform,
    AzureSecret,
    Mailchimp,
    DiscordHook,
    TeamsHook,
    Signature,
    /// A command line whose arguments may hold a password.
    Command,
    /// String arguments of a call that takes credentials.
    CallArgs,
    /// A `.pgpass` line.
    Pgpass,
    /// A `value` field of an object naming a secret.
    ValueField,
    /// A `Cookie:` / `Set-Cookie:` header.
    Cookie,
    /// SQL's `IDENTIFIED BY '…'`.
    IdentifiedBy,
    /// `$ command` then its output, in text.
    Transcript,
}

/// Triggers besides the prefixes of [`providers::TOKENS`], compared ASCII
/// case-insensitively.
const TRIGGERS: &[(&[u8], Det)] = &[
    (b"pat", Det::Airtable),
    (b"MT", Det::Discord),
    (b"Mj", Det::Discord),
    (b"Mz", Det::Discord),
    (b"ND", Det::Discord),
    (b"NT", Det::Discord),
    (b"Nj", Det::Discord),
    (b"Nz", Det::Discord),
    (b"OD", Det::Discord),
    (b"OT", Det::Discord),
    (b":AA", Det::Telegram),
    (b".atlasv1.", Det::Terraform),
    (b"Q~", Det::AzureSecret),
    (b"-us", Det::Mailchimp),
    (b"/api/webhooks/", Det::DiscordHook),
    (b"webhook.office.com/", Det::TeamsHook),
    (b"sig=", Det::Signature),
    (b"signature=", Det::Signature),
    (b"pwd=", Det::Name),
    (b"_pat", Det::Name),
    (b"-pat", Det::Name),
    (b":5432:", Det::Pgpass),
    (b"value", Det::ValueField),
    (b"cookie:", Det::Cookie),
    (b"appid", Det::Name),
    (b"identified by", Det::IdentifiedBy),
    (b"$ ", Det::Transcript),
    (b"requirepass", Det::Name),
    (b"masterauth", Det::Name),
    (b"session", Det::Name),
    (b"auth=", Det::Name),
    (b"auth =", Det::Name),
    (b":*:", Det::Pgpass),
    (b"(\"", Det::CallArgs),
    (b"('", Det::CallArgs),
    (b"pass", Det::Name),
    (b"mysql", Det::Command),
    (b"mariadb", Det::Command),
    (b"sshpass", Det::Command),
    (b"docker ", Det::Command),
    (b"podman ", Det::Command),
    (b"buildah ", Det::Command),
    (b"skopeo ", Det::Command),
    (b"nerdctl ", Det::Command),
    (b"helm ", Det::Command),
    (b"oras ", Det::Command),
    (b"crane ", Det::Command),
    (b"az login", Det::Command),
    (b"argocd ", Det::Command),
    (b"cf login", Det::Command),
    (b"oc login", Det::Command),
    (b"npm ", Det::Command),
    (b"yarn ", Det::Command),
    (b"pnpm ", Det::Command),
    (b"aws configure", Det::Command),
    (b"git config", Det::Command),
    (b"dotnet ", Det::Command),
    (b"curl ", Det::Command),
    (b"redis-cli", Det::Command),
    (b"keydb-cli", Det::Command),
    (b"mongo", Det::Command),
    (b"ldap", Det::Command),
    (b"pass:", Det::Command),
    (b"zip ", Det::Command),
    (b"7z", Det::Command),
    (b"rar ", Det::Command),
    (b"twine", Det::Command),
    (b"ssh-keygen", Det::Command),
    (b"nuget", Det::Command),
    (b"smbclient", Det::Command),
    (b"<<<", Det::Command),
    (b"-stdin", Det::Command),
    (b"--with-token", Det::Command),
    (b"vault ", Det::Command),
    (b"ngrok", Det::Command),
    (b"gh secret", Det::Command),
    (b"--oauth2-bearer", Det::Command),
    (b"htpasswd", Det::Command),
    (b"rabbitmqctl", Det::Command),
    (b"mc alias", Det::Command),
    (b"gh auth", Det::Command),
    (b"composer ", Det::Command),
    (b"poetry ", Det::Command),
    (b"bundle config", Det::Command),
    (b"pip config", Det::Command),
    (b"rclone ", Det::Command),
    (b"doppler ", Det::Command),
    (b"infisical ", Det::Command),
    (b"openssl ", Det::Command),
    (b"sqlcmd", Det::Command),
    (b"bcp ", Det::Command),
    (b"security ", Det::Command),
    (b"az keyvault", Det::Command),
    (b"--secret-string", Det::Command),
    (b"--data-file=-", Det::Command),
    (b"sqlplus", Det::Command),
    (b"net use", Det::Command),
    (b"-----begin ", Det::PrivateKey),
    (b"-----end ", Det::PrivateKey),
    (b"--user", Det::BasicAuth),
    (b"-u ", Det::BasicAuth),
    (b"-u\t", Det::BasicAuth),
    (b"://", Det::Url),
    (b"_auth", Det::Name),
    (b"_live_", Det::Stripe),
    (b"_pwd", Det::Name),
    (b"_test_", Det::Stripe),
    (b"a3t", Det::AwsId),
    (b"abia", Det::AwsId),
    (b"acca", Det::AwsId),
    (b"agpa", Det::AwsId),
    (b"aida", Det::AwsId),
    (b"aipa", Det::AwsId),
    (b"aiza", Det::Google),
    (b"akia", Det::AwsId),
    (b"anpa", Det::AwsId),
    (b"anva", Det::AwsId),
    (b"apka", Det::AwsId),
    (b"aroa", Det::AwsId),
    (b"asia", Det::AwsId),
    (b"authorization", Det::Auth),
    (b"bearer", Det::Bearer),
    (b"credential", Det::Name),
    (b"eyj", Det::Jwt),
    (b"ghp_", Det::Github),
    (b"gho_", Det::Github),
    (b"ghu_", Det::Github),
    (b"ghs_", Det::Github),
    (b"ghr_", Det::Github),
    (b"github_pat_", Det::GithubPat),
    (b"hf_", Det::Hf),
    (b"hooks.slack.com/", Det::SlackHook),
    (b"key", Det::Name),
    (b"npm_", Det::Npm),
    (b"secret", Det::Name),
    (b"sk-", Det::OpenAi),
    (b"sk-ant-", Det::Anthropic),
    (b"token", Det::Name),
    (b"whsec_", Det::Whsec),
    (b"xapp-", Det::SlackApp),
    (b"xox", Det::Slack),
];

const N_TRIGGERS: usize = TRIGGERS.len() + providers::TOKENS.len();

/// Every trigger ([`TRIGGERS`] then the token prefixes), sorted by
/// lower-cased first byte at compile time.
static ALL_TRIGGERS: [(&[u8], Det); N_TRIGGERS] = {
    let mut t: [(&[u8], Det); N_TRIGGERS] = [(b"", Det::Name); N_TRIGGERS];
    let mut k = 0;
    while k < TRIGGERS.len() {
        t[k] = TRIGGERS[k];
        k += 1;
    }
    while k < N_TRIGGERS {
        let i = k - TRIGGERS.len();
        assert!(i < 256, "too many tokens for Det::Token(u8)");
        t[k] = (providers::TOKENS[i].prefix, Det::Token(i as u8));
        k += 1;
    }
    // Insertion sort by first byte.
    let mut i = 1;
    while i < N_TRIGGERS {
        let mut j = i;
        while j > 0 && t[j - 1].0[0].to_ascii_lowercase() > t[j].0[0].to_ascii_lowercase() {
            let x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
            j -= 1;
        }
        i += 1;
    }
    t
};

/// Triggers compared case-sensitively: provider prefixes and the other
/// formats whose case is fixed (`ND…` of a Discord token, `:AA` of a
/// Telegram one). Lower-case prose then never reaches their scanners.
const fn exact(det: Det) -> bool {
    matches!(
        det,
        Det::Token(_) | Det::Discord | Det::Telegram | Det::AzureSecret
    )
}

/// Bit `(a << 8) | b` is set when some trigger starts with bytes `a`, `b`
/// (lower-cased): the first, cheap filter of every byte.
static BIGRAMS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut k = 0;
    while k < N_TRIGGERS {
        let p = ALL_TRIGGERS[k].0;
        assert!(p.len() >= 2);
        let idx = ((p[0].to_ascii_lowercase() as usize) << 8) | p[1].to_ascii_lowercase() as usize;
        t[idx >> 6] |= 1 << (idx & 63);
        k += 1;
    }
    t
};

/// A 16-bit hash of a trigger's first three bytes.
const fn tri_hash(a: u8, b: u8, c: u8) -> usize {
    ((a as usize).wrapping_mul(961) + (b as usize).wrapping_mul(31) + c as usize) & 0xffff
}

/// Second filter after [`BIGRAMS`], on three bytes (hashed), so that a
/// common pair (`re`, `co`, `pa`) reaches the trigger list only before the
/// third byte of some trigger. Two-byte triggers set their bit in
/// [`SHORT`] instead. `.0` case-insensitive, `.1` [`exact`].
static TRIGRAMS: ([u64; 1024], [u64; 1024]) = {
    let mut ci = [0u64; 1024];
    let mut ex = [0u64; 1024];
    let mut k = 0;
    while k < N_TRIGGERS {
        let (p, det) = ALL_TRIGGERS[k];
        if p.len() >= 3 {
            if exact(det) {
                let h = tri_hash(p[0], p[1], p[2]);
                ex[h >> 6] |= 1 << (h & 63);
            } else {
                let h = tri_hash(
                    p[0].to_ascii_lowercase(),
                    p[1].to_ascii_lowercase(),
                    p[2].to_ascii_lowercase(),
                );
                ci[h >> 6] |= 1 << (h & 63);
            }
        }
        k += 1;
    }
    (ci, ex)
};

/// Bigrams of the two-byte triggers (`7z`, `SK`, `MT`, `s.`).
static SHORT: ([u64; 1024], [u64; 1024]) = {
    let mut ci = [0u64; 1024];
    let mut ex = [0u64; 1024];
    let mut k = 0;
    while k < N_TRIGGERS {
        let (p, det) = ALL_TRIGGERS[k];
        if p.len() == 2 {
            let idx = if exact(det) {
                ((p[0] as usize) << 8) | p[1] as usize
            } else {
                ((p[0].to_ascii_lowercase() as usize) << 8) | p[1].to_ascii_lowercase() as usize
            };
            if exact(det) {
                ex[idx >> 6] |= 1 << (idx & 63);
            } else {
                ci[idx >> 6] |= 1 << (idx & 63);
            }
        }
        k += 1;
    }
    (ci, ex)
};

fn tri_bit(set: &[u64; 1024], a: u8, b: u8, c: u8) -> bool {
    let h = tri_hash(a, b, c);
    set[h >> 6] & (1 << (h & 63)) != 0
}

fn bit(set: &[u64; 1024], a: u8, b: u8) -> bool {
    let idx = (usize::from(a) << 8) | usize::from(b);
    set[idx >> 6] & (1 << (idx & 63)) != 0
}

/// For each lower-cased first byte, the range of [`ALL_TRIGGERS`] starting
/// with it.
static FIRST: [(u16, u16); 256] = {
    let mut t = [(0u16, 0u16); 256];
    let mut k = 0;
    while k < N_TRIGGERS {
        let a = ALL_TRIGGERS[k].0[0].to_ascii_lowercase() as usize;
        if t[a].1 == 0 {
            t[a].0 = k as u16;
        }
        t[a].1 = k as u16 + 1;
        k += 1;
    }
    t
};

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A regex-style `\b` before index `i`: the previous byte is not a word byte.
fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0 || !is_word(b[i - 1])
}

/// A `\b` after a word ending at `i`.
fn boundary_after(b: &[u8], i: usize) -> bool {
    i >= b.len() || !is_word(b[i])
}

/// Length of the run from `i` of bytes accepted by `f`.
fn run(b: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .map_or(0, |s| s.iter().take_while(|&&c| f(c)).count())
}

fn b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Length of what a tool put before a line of the text itself, at a line
/// start `i`: a diff marker (`+`, `-`) or a `grep -n` prefix (`path:12:`,
/// `path-12-`). Multi-line secrets are looked at across these.
fn line_prefix_len(b: &[u8], i: usize) -> usize {
    let window = &b[i.min(b.len())..b.len().min(i + 256)];
    let path = run(window, 0, |c| !(c.is_ascii_whitespace() || c == b':'));
    // `path:12:` / `path-12-`: the separator and line number after a path
    // (the path's own dashes are skipped by trying each one).
    let mut k = i;
    while k < i + path.min(256) {
        if matches!(b[k], b':' | b'-') && k > i {
            let sep = b[k];
            let digits = run(b, k + 1, |c| c.is_ascii_digit());
            if digits > 0 && b.get(k + 1 + digits) == Some(&sep) {
                return k + 2 + digits - i;
            }
        }
        k += 1;
    }
    if let Some(b':') = b.get(i + path) {
        let digits = run(b, i + path + 1, |c| c.is_ascii_digit());
        if path > 0 && digits > 0 && b.get(i + path + 1 + digits) == Some(&b':') {
            return path + digits + 2;
        }
    }
    usize::from(matches!(b.get(i), Some(b'+' | b'-')))
}

/// Skip blanks and line breaks from `i`, with the diff or grep prefix of
/// each new line.
fn skip_space_lines(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += if b[i] == b'\n' {
            1 + line_prefix_len(b, i + 1)
        } else {
            1
        };
    }
    i
}

/// How far the line helpers look: a longer line is cut there, so that many
/// triggers on one huge line stay linear.
const LINE_LOOK: usize = 1024;

/// The start of the line holding `i` (at most [`LINE_LOOK`] back).
fn line_start(b: &[u8], i: usize) -> usize {
    let lo = i.saturating_sub(LINE_LOOK);
    b[lo..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(lo, |p| lo + p + 1)
}

/// The end of the line holding `i` (at most [`LINE_LOOK`] ahead).
fn line_end(b: &[u8], i: usize) -> usize {
    let hi = b.len().min(i + LINE_LOOK);
    b[i..hi]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(hi, |p| i + p)
}

/// Does `b[i..]` start with `lit` exactly (case-sensitive)?
fn at(b: &[u8], i: usize, lit: &[u8]) -> bool {
    b.get(i..i + lit.len()) == Some(lit)
}

/// Does `b[i..]` start with `lit`, ASCII case-insensitively?
fn at_ci(b: &[u8], i: usize, lit: &[u8]) -> bool {
    b.get(i..i + lit.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(lit))
}

fn span(start: usize, end: usize, kind: u16, prio: u8) -> Span {
    Span {
        start,
        end,
        kind,
        prio,
    }
}

/// Append the spans of every built-in detector to `out` (unsorted): the
/// trigger pass, then base64 runs decoded for the check, then secrets split
/// by concatenation, continuation or folding. `kinds` are the redactor's;
/// `markers` are those of `kinds` in `s`, inside which no trigger starts a
/// scanner ([`Markers`]).
pub(crate) fn builtin_spans(s: &str, kinds: &[String], markers: &Markers, out: &mut Vec<Span>) {
    scan_plain(s, markers.clone(), out);
    encoded::encoded_spans(s.as_bytes(), kinds, out);
    joined::joined_spans(s, kinds, out);
}

/// The trigger pass: every scanner started where its trigger occurs, but
/// inside one of `markers` (those in `s`).
fn scan_plain(s: &str, markers: Markers, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    if b.len() < 2 {
        return;
    }
    let mut st = State::new(markers);
    for i in 0..b.len() - 1 {
        let (x0, y0) = (b[i], b[i + 1]);
        let x = x0.to_ascii_lowercase();
        let y = y0.to_ascii_lowercase();
        if !bit(&BIGRAMS, x, y) {
            continue;
        }
        let z0 = b.get(i + 2).copied().unwrap_or(0);
        let ci = bit(&SHORT.0, x, y) || tri_bit(&TRIGRAMS.0, x, y, z0.to_ascii_lowercase());
        let ex = bit(&SHORT.1, x0, y0) || tri_bit(&TRIGRAMS.1, x0, y0, z0);
        if !ci && !ex || st.markers.contains(i) {
            continue;
        }
        let (lo, hi) = FIRST[usize::from(x)];
        for (k, (lit, det)) in ALL_TRIGGERS[usize::from(lo)..usize::from(hi)]
            .iter()
            .enumerate()
        {
            let hit = if exact(*det) {
                lit[1] == y0 && at(b, i, lit)
            } else {
                lit[1].to_ascii_lowercase() == y && at_ci(b, i, lit)
            };
            if hit {
                let slot = usize::from(lo) + k;
                scan(*det, slot, b, i, lit.len(), &mut st, out);
            }
        }
    }
}

/// Character classes of token bodies, for [`State::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Alnum,
    B64url,
    Word,
    AlnumDash,
    /// Base64url and `.`: dotted multi-part tokens.
    B64urlDot,
    /// Either base64 alphabet with padding: `A-Za-z0-9+/=-_`.
    B64,
    Hex,
    HexDash,
    /// Alphanumerics and `$` (Braintree).
    Dollar,
    /// URL-encoded base64 (`%2B`, `%3D`).
    UrlEncoded,
}

/// Number of [`Class`] variants.
const CLASSES: usize = 10;

impl Class {
    fn accepts(self, c: u8) -> bool {
        match self {
            Class::Alnum => c.is_ascii_alphanumeric(),
            Class::B64url => b64url(c),
            Class::Word => is_word(c),
            Class::AlnumDash => c.is_ascii_alphanumeric() || c == b'-',
            Class::B64urlDot => b64url(c) || c == b'.',
            Class::B64 => b64url(c) || matches!(c, b'+' | b'/' | b'='),
            Class::Hex => c.is_ascii_hexdigit(),
            Class::HexDash => c.is_ascii_hexdigit() || c == b'-',
            Class::Dollar => c.is_ascii_alphanumeric() || c == b'$',
            Class::UrlEncoded => {
                c.is_ascii_alphanumeric()
                    || matches!(c, b'%' | b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
            }
        }
    }
}

/// What the scanners remember across triggers of one string, so that
/// input like `sk-sk-sk-…` stays linear.
pub(super) struct State {
    /// Private keys were searched for already (the scan covers the string).
    private_keys: bool,
    /// Names before this index were handled (several triggers hit one name).
    names_done: usize,
    /// Command lines before this index were read.
    commands_done: usize,
    /// Per class, the last run computed: `(start, end)`.
    runs: [(usize, usize); CLASSES],
    /// End of the last run [`State::run`] returned.
    last_run_end: usize,
    /// Per trigger: its occurrences before this index lie inside a run
    /// examined already, and would only find a part of that run.
    until: [usize; N_TRIGGERS],
    /// The markers an earlier pass left in the text.
    markers: Markers,
}

impl State {
    fn new(markers: Markers) -> Self {
        State {
            private_keys: false,
            names_done: 0,
            commands_done: 0,
            runs: [(0, 0); CLASSES],
            last_run_end: 0,
            until: [0; N_TRIGGERS],
            markers,
        }
    }

    /// Length of the run of `class` bytes from `i`, reusing the previous
    /// run of that class when `i` falls inside it.
    fn run(&mut self, b: &[u8], i: usize, class: Class) -> usize {
        let (start, end) = self.runs[class as usize];
        let r = if start <= i && i <= end && start < end {
            end - i
        } else {
            let r = run(b, i, |c| class.accepts(c));
            self.runs[class as usize] = (i, i + r);
            r
        };
        self.last_run_end = i + r;
        r
    }
}

// Kept out of line: inlined, the scanners would crowd the per-byte loop of
// `scan_plain` out of its registers.
#[inline(never)]
fn scan(det: Det, slot: usize, b: &[u8], i: usize, n: usize, st: &mut State, out: &mut Vec<Span>) {
    if i < st.until[slot] {
        return;
    }
    st.last_run_end = 0;
    let found = match det {
        Det::PrivateKey => {
            if !st.private_keys {
                st.private_keys = true;
                private_keys(b, out);
            }
            None
        }
        Det::Name => {
            name_at(b, i, st, out);
            None
        }
        Det::AwsId => aws_id(b, i),
        Det::Github => {
            token_run(st, b, i, 4, Class::Alnum, 30, 251).map(|e| span(i, e, K_GITHUB, P_SPECIFIC))
        }
        Det::GithubPat => token_run(st, b, i, n, Class::Word, 22, 255)
            .filter(|_| at(b, i, b"github_pat_"))
            .map(|e| span(i, e, K_GITHUB, P_SPECIFIC)),
        Det::Anthropic => prefixed(st, b, i, b"sk-ant-", Class::B64url, 20)
            .map(|e| span(i, e, K_ANTHROPIC, P_SPECIFIC)),
        Det::OpenAi => prefixed(st, b, i, b"sk-", Class::B64url, 20)
            .filter(|&e| openai_body(&b[i + 3..e]))
            .map(|e| span(i, e, K_OPENAI, P_LOOSE)),
        Det::Slack => slack(st, b, i),
        Det::SlackApp => slack_app(st, b, i),
        Det::SlackHook => slack_hook(b, i, n),
        Det::Jwt => jwt(st, b, i),
        Det::Url => url_password(b, i),
        Det::Google => {
            prefixed(st, b, i, b"AIza", Class::B64url, 35).map(|e| span(i, e, K_GOOGLE, P_SPECIFIC))
        }
        Det::Stripe => stripe(st, b, i),
        Det::Whsec => prefixed(st, b, i, b"whsec_", Class::Alnum, 20)
            .map(|e| span(i, e, K_STRIPE, P_SPECIFIC)),
        Det::Npm => token_run(st, b, i, 4, Class::Alnum, 36, 36)
            .filter(|&e| at(b, i, b"npm_") && classes(&b[i..e]) >= 2)
            .map(|e| span(i, e, K_NPM, P_SPECIFIC)),
        Det::Hf => token_run(st, b, i, 3, Class::Alnum, 30, usize::MAX)
            .filter(|&e| at(b, i, b"hf_") && classes(&b[i..e]) >= 2)
            .map(|e| span(i, e, K_HF, P_SPECIFIC)),
        Det::Auth => auth_header(b, i, n),
        Det::Bearer => bearer(b, i, n),
        Det::BasicAuth => basic_auth(b, i),
        Det::Token(k) => providers::prefixed_token(st, b, i, &providers::TOKENS[usize::from(k)]),
        Det::Airtable => providers::airtable(b, i),
        Det::Discord => providers::discord(b, i),
        Det::Telegram => providers::telegram(b, i),
        Det::Terraform => providers::terraform(b, i, n),
        Det::AzureSecret => providers::azure_client_secret(b, i),
        Det::Mailchimp => providers::mailchimp(b, i),
        Det::DiscordHook => providers::webhook_path(b, i, n, "discord-webhook"),
        Det::TeamsHook => providers::webhook_path(b, i, n, "teams-webhook"),
        Det::Signature => providers::url_signature(b, i, n),
        Det::Command => {
            flags::command_line(b, i, st, out);
            None
        }
        Det::CallArgs => {
            structure::call_arguments(b, i, out);
            None
        }
        Det::Pgpass => structure::pgpass(b, i),
        Det::ValueField => structure::value_field(b, i, n),
        Det::IdentifiedBy => structure::identified_by(b, i, n),
        Det::Transcript => flags::transcript(b, i),
        Det::Cookie => {
            structure::cookies(b, i, n, out);
            None
        }
    };
    // A later trigger of this detector inside the run just examined would
    // see a part of the same run: a part of a rejected run is rejected too.
    st.until[slot] = st.until[slot].max(st.last_run_end);
    if let Some(sp) = found.filter(|sp| sp.start < sp.end) {
        out.push(sp);
    }
}

/// The body of an `sk-` key: mixed upper, lower and digits (OpenAI), or 32+
/// alphanumerics with letters and digits (DeepSeek, Moonshot: lower-case
/// hex). Prose like `sk-learn-style` has neither.
fn openai_body(body: &[u8]) -> bool {
    classes(body) == 3
        || (body.len() >= 32 && body.iter().all(u8::is_ascii_alphanumeric) && classes(body) >= 2)
}

/// `b[i..]` is a case-sensitive `prefix` at a word boundary followed by at
/// least `min` bytes of `class`: the end of that run.
fn prefixed(
    st: &mut State,
    b: &[u8],
    i: usize,
    prefix: &[u8],
    class: Class,
    min: usize,
) -> Option<usize> {
    if !at(b, i, prefix) || !boundary_before(b, i) {
        return None;
    }
    let r = st.run(b, i + prefix.len(), class);
    (r >= min).then_some(i + prefix.len() + r)
}

/// A token: a boundary, a prefix of `n` bytes (matched by the trigger), a
/// run of `class` with `min..=max` bytes, and a boundary after it.
fn token_run(
    st: &mut State,
    b: &[u8],
    i: usize,
    n: usize,
    class: Class,
    min: usize,
    max: usize,
) -> Option<usize> {
    if !boundary_before(b, i) || b[i..i + n].iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    let r = st.run(b, i + n, class);
    let end = i + n + r;
    (r >= min && r <= max && boundary_after(b, end)).then_some(end)
}

/// AWS access key ids: `AKIA` (and other four-letter prefixes, `A3T?`) plus
/// 16 upper-case letters or digits.
fn aws_id(b: &[u8], i: usize) -> Option<Span> {
    const PREFIXES: [&[u8]; 11] = [
        b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AROA", b"AIPA", b"ANPA", b"ANVA",
        b"APKA",
    ];
    let four = b.get(i..i + 4)?;
    let ok = PREFIXES.contains(&four)
        || (four.starts_with(b"A3T") && (four[3].is_ascii_uppercase() || four[3].is_ascii_digit()));
    if !ok || !boundary_before(b, i) {
        return None;
    }
    let body = b.get(i + 4..i + 20)?;
    (body
        .iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && boundary_after(b, i + 20))
    .then(|| span(i, i + 20, K_AWS_ID, P_SPECIFIC))
}

/// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxo-`, `xoxe-` tokens.
fn slack(st: &mut State, b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b"xox") || !boundary_before(b, i) {
        return None;
    }
    if !matches!(
        b.get(i + 3),
        Some(b'a' | b'b' | b'p' | b'o' | b's' | b'r' | b'e')
    ) || b.get(i + 4) != Some(&b'-')
    {
        return None;
    }
    let r = st.run(b, i + 5, Class::AlnumDash);
    (r >= 10).then(|| span(i, i + 5 + r, K_SLACK, P_SPECIFIC))
}

/// Slack app-level tokens: `xapp-<digit>-…`.
fn slack_app(st: &mut State, b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b"xapp-") || !boundary_before(b, i) {
        return None;
    }
    let d = run(b, i + 5, |c| c.is_ascii_digit());
    if d == 0 || b.get(i + 5 + d) != Some(&b'-') {
        return None;
    }
    let start = i + 6 + d;
    let r = st.run(b, start, Class::AlnumDash);
    (r >= 10).then(|| span(i, start + r, K_SLACK, P_SPECIFIC))
}

/// `hooks.slack.com/services/…`: the path after the kind is the secret.
fn slack_hook(b: &[u8], i: usize, n: usize) -> Option<Span> {
    let j = i + n;
    let kind_len = [&b"services/"[..], b"workflows/", b"triggers/"]
        .iter()
        .find(|k| at_ci(b, j, k))?
        .len();
    let start = j + kind_len;
    let r = run(b, start, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-')
    });
    (r >= 8).then(|| span(start, start + r, K_SLACK_HOOK, P_SPECIFIC))
}

/// JSON web tokens: `eyJ…` header, payload, optional signature.
fn jwt(st: &mut State, b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b"eyJ") || !boundary_before(b, i) {
        return None;
    }
    let r1 = 3 + st.run(b, i + 3, Class::B64url);
    if r1 < 3 + 8 || b.get(i + r1) != Some(&b'.') {
        return None;
    }
    let p = i + r1 + 1;
    let r2 = st.run(b, p, Class::B64url);
    if r2 < 8 || b.get(p + r2) != Some(&b'.') {
        return None;
    }
    let s = p + r2 + 1;
    let r3 = st.run(b, s, Class::B64url);
    Some(span(i, s + r3, K_JWT, P_SPECIFIC))
}

/// `sk_live_…`, `rk_live_…`, `sk_test_…`, `rk_test_…` (the trigger is the
/// `_live_` / `_test_` part).
fn stripe(st: &mut State, b: &[u8], i: usize) -> Option<Span> {
    if i < 2 || !(at(b, i - 2, b"sk") || at(b, i - 2, b"rk")) || !boundary_before(b, i - 2) {
        return None;
    }
    if !(at(b, i, b"_live_") || at(b, i, b"_test_")) {
        return None;
    }
    let r = st.run(b, i + 6, Class::Alnum);
    (r >= 10).then(|| span(i - 2, i + 6 + r, K_STRIPE, P_SPECIFIC))
}

/// The password of `scheme://user:password@host` (the trigger is `://`).
fn url_password(b: &[u8], i: usize) -> Option<Span> {
    let user_end = i
        + 3
        + run(b, i + 3, |c| {
            !(c.is_ascii_whitespace() || b"/:@'\"<>".contains(&c))
        });
    // A Sentry DSN: `https://<32 hex public key>@o1.ingest.sentry.io/…`.
    let user = &b[i + 3..user_end];
    if b.get(user_end) == Some(&b'@') && user.len() == 32 && user.iter().all(u8::is_ascii_hexdigit)
    {
        return Some(span(
            i + 3,
            user_end,
            providers::kind("sentry-dsn"),
            P_SPECIFIC,
        ));
    }
    // A token as the whole userinfo: `https://<token>@github.com/o/r.git`.
    if b.get(user_end) == Some(&b'@') && user.len() >= 20 && structure::looks_random(user) {
        return Some(span(i + 3, user_end, K_URL_PW, P_CONTEXT));
    }
    if b.get(user_end) != Some(&b':') {
        return None;
    }
    let start = user_end + 1;
    let stop = start
        + run(b, start, |c| {
            !(c.is_ascii_whitespace() || b"/'\"<>".contains(&c))
        });
    let at_sign = memchr::memrchr(b'@', &b[start..stop])?;
    let end = start + at_sign;
    (end > start && plain_value_ok(&b[start..end])).then(|| span(start, end, K_URL_PW, P_CONTEXT))
}

/// Skip spaces and tabs from `i`.
fn skip_blank(b: &[u8], i: usize) -> usize {
    i + run(b, i, |c| c == b' ' || c == b'\t')
}

/// Skip an optional quote, possibly backslash-escaped (`"`, `'`, `\"`).
fn skip_quote(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"' | b'\'') => i + 1,
        Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\'')) => i + 2,
        _ => i,
    }
}

/// `Authorization: <scheme> <credentials>` in any quoting: the credentials.
fn auth_header(b: &[u8], i: usize, n: usize) -> Option<Span> {
    if !boundary_before(b, i) {
        return None;
    }
    let sep_start = skip_quote(b, i + n);
    let mut j = skip_blank(b, sep_start);
    let sep = *b.get(j)?;
    // `Authorization::Deny` is a path, `authorization == x` a comparison.
    if !matches!(sep, b':' | b'=') || matches!(b.get(j + 1), Some(b':' | b'=')) {
        return None;
    }
    j = skip_blank(b, j + 1);
    let sep_bytes = &b[sep_start..j];
    // A string prefix such as Python's f"…" before the quote.
    if matches!(b.get(j), Some(b'f' | b'F' | b'b' | b'B' | b'r' | b'R'))
        && skip_quote(b, j + 1) > j + 1
    {
        j += 1;
    }
    let before_quote = j;
    j = skip_quote(b, j);
    let quoted = j > before_quote;
    let mut scheme_found = false;
    for scheme in [
        &b"bearer"[..],
        b"basic",
        b"token",
        b"bot",
        b"digest",
        b"negotiate",
    ] {
        if at_ci(b, j, scheme) {
            let k = skip_blank(b, j + scheme.len());
            if k > j + scheme.len() {
                j = k;
                scheme_found = true;
            }
            break;
        }
    }
    // Other schemes (`Splunk <token>`, `GenieKey <key>`, `SSWS <token>`):
    // a capitalised word, a blank, then the credentials.
    let word = run(b, j, |c| c.is_ascii_alphanumeric() || c == b'-');
    if !scheme_found
        && (2..=24).contains(&word)
        && b[j].is_ascii_uppercase()
        && matches!(b.get(j + word), Some(b' '))
    {
        let k = skip_blank(b, j + word);
        let cred = run(b, k, |c| {
            !(c.is_ascii_whitespace() || b"\"'`,;".contains(&c))
        });
        if cred >= 8 {
            j = k;
            scheme_found = true;
        }
    }
    let r = run(b, j, |c| {
        !(c.is_ascii_whitespace() || b"\"'`,;\\".contains(&c))
    });
    let v = &b[j..j + r];
    if r == 0 || !plain_value_ok(v) || is_placeholder(v) {
        return None;
    }
    // Without a scheme or quotes, it may be code: `authorization =
    // self.headers.get(…)`, `'Authorization': auth,`.
    if !scheme_found && !quoted {
        if sep == b'=' {
            return None;
        }
        let (s, e) = value_ok(
            b"authorization",
            sep_bytes,
            v,
            false,
            false,
            next_on_line(b, j + r),
        )?;
        return Some(span(j + s, j + e, K_BEARER, P_CONTEXT));
    }
    Some(span(j, j + r, K_BEARER, P_CONTEXT))
}

/// `Bearer <long token>` anywhere.
fn bearer(b: &[u8], i: usize, n: usize) -> Option<Span> {
    if !boundary_before(b, i) {
        return None;
    }
    let j = skip_blank(b, i + n);
    if j == i + n {
        return None;
    }
    let r = run(b, j, |c| {
        c.is_ascii_alphanumeric() || b"._~+/-".contains(&c)
    });
    if r < 20 {
        return None;
    }
    let tok = &b[j..j + r];
    let end = j + r + run(b, j + r, |c| c == b'=');
    (classes(tok) >= 2 && plain_value_ok(tok)).then(|| span(j, end, K_BEARER, P_CONTEXT))
}

/// `curl -u user:password` / `--user user:password`: the password.
fn basic_auth(b: &[u8], i: usize) -> Option<Span> {
    if i > 0 && !(b[i - 1].is_ascii_whitespace() || b";|&(".contains(&b[i - 1])) {
        return None;
    }
    let flag = if at(b, i, b"--user") {
        6
    } else if at(b, i, b"-u") {
        2
    } else {
        return None;
    };
    let mut j = skip_blank(b, i + flag);
    if j == i + flag {
        return None;
    }
    if matches!(b.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    let u = run(b, j, |c| !(c.is_ascii_whitespace() || b":'\"".contains(&c)));
    if b.get(j + u) != Some(&b':') {
        return None;
    }
    let start = j + u + 1;
    let r = run(b, start, |c| {
        !(c.is_ascii_whitespace() || b"'\"".contains(&c))
    });
    // `-u <api key>:` (Stripe, Mailgun style): the key is the user.
    let user = &b[j..j + u];
    if r == 0 && structure::looks_random(user) {
        return Some(span(j, j + u, K_BASIC, P_CONTEXT));
    }
    let pw = &b[start..start + r];
    (r > 0 && plain_value_ok(pw) && !pw.iter().all(u8::is_ascii_digit))
        .then(|| span(start, start + r, K_BASIC, P_CONTEXT))
}

/// How many of {upper, lower, digit} occur in `s`.
fn classes(s: &[u8]) -> u8 {
    let (mut u, mut l, mut d) = (false, false, false);
    for c in s {
        u |= c.is_ascii_uppercase();
        l |= c.is_ascii_lowercase();
        d |= c.is_ascii_digit();
    }
    u8::from(u) + u8::from(l) + u8::from(d)
}

/// Values that are never a secret themselves: empty, variable references
/// (`$VAR`, `${VAR}`, `$(cmd)`, `${{ secrets.X }}`), templates (`{{ x }}`,
/// `{token}`,
/// `%VAR%`, `%s`), and markers left by an earlier pass.
pub(crate) fn plain_value_ok(v: &[u8]) -> bool {
    !(v.is_empty()
        || v[0] == b'$'
        || v.starts_with(b"{{")
        // An f-string or format placeholder: `{token}`, `{0}`.
        || (v[0] == b'{' && v[v.len() - 1] == b'}' && !v[1..v.len() - 1].contains(&b'"'))
        || v.starts_with(MARKER_OPEN)
        || (v.len() > 2 && v[0] == b'%' && v[v.len() - 1] == b'%')
        // printf-style placeholders: `%s`, `%r`, `%(name)s`.
        || (v[0] == b'%' && (v.len() <= 3 || v[1] == b'(')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_table() {
        for (k, (lit, _)) in ALL_TRIGGERS.iter().enumerate() {
            let (lo, hi) = FIRST[usize::from(lit[0].to_ascii_lowercase())];
            assert!((usize::from(lo)..usize::from(hi)).contains(&k));
        }
        for t in providers::TOKENS {
            assert!(t.min <= t.max && t.mix <= 3);
        }
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "PASSWORD",
            "db_password",
            "passwordHash",
            "token",
            "accessToken",
            "GITHUB_TOKEN",
            "client_secret",
            "clientSecret",
            "apiKey",
            "x-api-key",
            "AWS_SECRET_ACCESS_KEY",
            "private_key",
            "SECRET_KEY",
            "secret_key_base",
            "credentials",
            "MYSQL_PWD",
            "_auth",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "max_tokens",
            "input_tokens",
            "token_count",
            "tokenizer",
            "PWD",
            "OLDPWD",
            "key",
            "primary_key",
            "session_id",
            "tool_name",
            "secrets",
            "author",
            "api key",
            "",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
