//! Built-in secret detectors.
//!
//! Nothing here is compiled at run time: a hook process is short-lived, and
//! building regexes or automata would cost more than the whole cleaning of a
//! typical event. Instead, one pass over the string looks up every byte pair
//! in a compile-time bigram table of literal *triggers* (`ghp_`, `sk-`,
//! `token`, `://`, …, compared ASCII case-insensitively). Where a trigger
//! really occurs, a small hand-written scanner for that kind of secret takes
//! over from that position.

use memchr::memmem;

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
pub(crate) const KINDS: [&str; 18] = [
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
}

/// Lower-case triggers, sorted by first byte (checked at compile time).
const TRIGGERS: &[(&[u8], Det)] = &[
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
    (b"passphrase", Det::Name),
    (b"passw", Det::Name),
    (b"secret", Det::Name),
    (b"sk-", Det::OpenAi),
    (b"sk-ant-", Det::Anthropic),
    (b"token", Det::Name),
    (b"whsec_", Det::Whsec),
    (b"xapp-", Det::SlackApp),
    (b"xox", Det::Slack),
];

/// Bit `(a << 8) | b` is set when some trigger starts with bytes `a`, `b`.
static BIGRAMS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut k = 0;
    while k < TRIGGERS.len() {
        let p = TRIGGERS[k].0;
        assert!(p.len() >= 2);
        if k > 0 {
            assert!(
                TRIGGERS[k - 1].0[0] <= p[0],
                "TRIGGERS must be sorted by first byte"
            );
        }
        let idx = ((p[0] as usize) << 8) | p[1] as usize;
        t[idx >> 6] |= 1 << (idx & 63);
        k += 1;
    }
    t
};

/// For each first byte, the range of [`TRIGGERS`] starting with it.
static FIRST: [(u8, u8); 256] = {
    let mut t = [(0u8, 0u8); 256];
    let mut k = 0;
    while k < TRIGGERS.len() {
        let a = TRIGGERS[k].0[0] as usize;
        if t[a].1 == 0 {
            t[a].0 = k as u8;
        }
        t[a].1 = k as u8 + 1;
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

/// Append the spans of every built-in detector to `out` (unsorted).
pub(crate) fn builtin_spans(s: &str, out: &mut Vec<Span>) {
    let b = s.as_bytes();
    let mut st = State::default();
    if b.len() < 2 {
        return;
    }
    for i in 0..b.len() - 1 {
        let x = b[i].to_ascii_lowercase();
        let y = b[i + 1].to_ascii_lowercase();
        let idx = (usize::from(x) << 8) | usize::from(y);
        if BIGRAMS[idx >> 6] & (1 << (idx & 63)) == 0 {
            continue;
        }
        let (lo, hi) = FIRST[usize::from(x)];
        for (lit, det) in &TRIGGERS[usize::from(lo)..usize::from(hi)] {
            if lit[1] == y && at_ci(b, i, lit) {
                scan(*det, b, i, lit.len(), &mut st, out);
            }
        }
    }
}

/// Character classes of token bodies, for [`State::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Alnum,
    B64url,
    Word,
    AlnumDash,
}

impl Class {
    fn accepts(self, c: u8) -> bool {
        match self {
            Class::Alnum => c.is_ascii_alphanumeric(),
            Class::B64url => b64url(c),
            Class::Word => is_word(c),
            Class::AlnumDash => c.is_ascii_alphanumeric() || c == b'-',
        }
    }
}

/// What the scanners remember across triggers of one string, so that
/// input like `sk-sk-sk-…` stays linear.
#[derive(Default)]
struct State {
    /// Private keys were searched for already (the scan covers the string).
    private_keys: bool,
    /// Names before this index were handled (several triggers hit one name).
    names_done: usize,
    /// Per class, the last run computed: `(start, end)`.
    runs: [(usize, usize); 4],
    /// End of the last run [`State::run`] returned.
    last_run_end: usize,
    /// Per token detector: its triggers before this index lie inside a run
    /// it examined already, and would only find a part of that run.
    until: [usize; 32],
}

impl State {
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

fn scan(det: Det, b: &[u8], i: usize, n: usize, st: &mut State, out: &mut Vec<Span>) {
    if i < st.until[det as usize] {
        return;
    }
    st.last_run_end = 0;
    let found =
        match det {
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
            Det::Github => token_run(st, b, i, 4, Class::Alnum, 30, 251)
                .map(|e| span(i, e, K_GITHUB, P_SPECIFIC)),
            Det::GithubPat => token_run(st, b, i, n, Class::Word, 22, 255)
                .filter(|_| at(b, i, b"github_pat_"))
                .map(|e| span(i, e, K_GITHUB, P_SPECIFIC)),
            Det::Anthropic => prefixed(st, b, i, b"sk-ant-", Class::B64url, 20)
                .map(|e| span(i, e, K_ANTHROPIC, P_SPECIFIC)),
            Det::OpenAi => prefixed(st, b, i, b"sk-", Class::B64url, 20)
                .filter(|&e| classes(&b[i + 3..e]) == 3)
                .map(|e| span(i, e, K_OPENAI, P_LOOSE)),
            Det::Slack => slack(st, b, i),
            Det::SlackApp => slack_app(st, b, i),
            Det::SlackHook => slack_hook(b, i, n),
            Det::Jwt => jwt(st, b, i),
            Det::Url => url_password(b, i),
            Det::Google => prefixed(st, b, i, b"AIza", Class::B64url, 35)
                .map(|e| span(i, e, K_GOOGLE, P_SPECIFIC)),
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
        };
    // A later trigger of this detector inside the run just examined would
    // see a part of the same run: a part of a rejected run is rejected too.
    st.until[det as usize] = st.until[det as usize].max(st.last_run_end);
    if let Some(sp) = found.filter(|sp| sp.start < sp.end) {
        out.push(sp);
    }
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

/// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxo-` tokens.
fn slack(st: &mut State, b: &[u8], i: usize) -> Option<Span> {
    if !at(b, i, b"xox") || !boundary_before(b, i) {
        return None;
    }
    if !matches!(b.get(i + 3), Some(b'a' | b'b' | b'p' | b'o' | b's' | b'r'))
        || b.get(i + 4) != Some(&b'-')
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
    let r = run(b, j, |c| {
        !(c.is_ascii_whitespace() || b"\"'`,;\\".contains(&c))
    });
    let v = &b[j..j + r];
    if r == 0 || !plain_value_ok(v) {
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
    // The colon of an earlier pass's `[REDACTED:<kind>]` is not the one of
    // `user:password` (`-u secret=[REDACTED:…]` must stay as it is).
    if u == 0 || b.get(j + u) != Some(&b':') || b[j..j + u].ends_with(b"[REDACTED") {
        return None;
    }
    let start = j + u + 1;
    let r = run(b, start, |c| {
        !(c.is_ascii_whitespace() || b"'\"".contains(&c))
    });
    let pw = &b[start..start + r];
    (r > 0 && plain_value_ok(pw) && !pw.iter().all(u8::is_ascii_digit))
        .then(|| span(start, start + r, K_BASIC, P_CONTEXT))
}

/// Bytes of a name in `NAME=value`.
fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// Does a name look secret (`*_TOKEN`, `*SECRET`, `*PASSWORD*`, `*_API_KEY`, …)?
/// ASCII case-insensitive.
pub(crate) fn is_secret_name(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.as_slice();
    if memmem::find(n, b"password").is_some() || memmem::find(n, b"passwd").is_some() {
        return true;
    }
    const SUFFIXES: [&[u8]; 7] = [
        b"secret",
        b"token",
        b"passphrase",
        b"_pwd",
        b"credential",
        b"credentials",
        b"_auth",
    ];
    if SUFFIXES.iter().any(|s| n.ends_with(s)) {
        return true;
    }
    fn strip_sep(s: &[u8]) -> &[u8] {
        match s {
            [rest @ .., b'_' | b'-'] => rest,
            _ => s,
        }
    }
    // `secret_key_base`
    if let Some(pre) = n.strip_suffix(b"base")
        && let Some(pre) = strip_sep(pre).strip_suffix(b"key")
        && strip_sep(pre).ends_with(b"secret")
    {
        return true;
    }
    const KEY_OWNERS: [&[u8]; 11] = [
        b"api",
        b"access",
        b"private",
        b"secret",
        b"encryption",
        b"signing",
        b"master",
        b"client",
        b"app",
        b"session",
        b"auth",
    ];
    n.strip_suffix(b"key")
        .map(strip_sep)
        .is_some_and(|pre| KEY_OWNERS.iter().any(|o| pre.ends_with(o)))
}

/// Does a JSON object key look secret? Same name rule as assignments.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.as_bytes();
    !k.is_empty() && k.iter().all(|&c| is_name_byte(c)) && is_secret_name(k)
}

/// Is the name an AWS secret access key's?
fn is_aws_secret_name(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    let aws_then_secret =
        memmem::find(&n, b"aws").is_some_and(|a| memmem::find(&n[a..], b"secret").is_some());
    aws_then_secret
        || [
            &b"secretaccesskey"[..],
            b"secret_access_key",
            b"secret-access-key",
        ]
        .iter()
        .any(|s| memmem::find(&n, s).is_some())
}

/// A name trigger at `i`: find the whole name around it and, if it looks
/// secret and is assigned a value, redact the value.
fn name_at(b: &[u8], i: usize, st: &mut State, out: &mut Vec<Span>) {
    // Another trigger of a name (or value) handled already.
    if i < st.names_done {
        return;
    }
    let mut start = i;
    while start > st.names_done && is_name_byte(b[start - 1]) {
        start -= 1;
    }
    let end = i + run(b, i, is_name_byte);
    st.names_done = end;
    let name = &b[start..end];
    if !is_secret_name(name) {
        return;
    }
    if let Some((vs, ve)) = assignment(b, start, end) {
        // Names inside a redacted value need no look of their own.
        st.names_done = st.names_done.max(ve);
        let v = &b[vs..ve];
        let aws = v.len() == 40
            && v.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
            && is_aws_secret_name(name);
        out.push(if aws {
            span(vs, ve, K_AWS_SECRET, P_LOOSE)
        } else {
            span(vs, ve, K_ASSIGN, P_GENERIC)
        });
    }
}

/// The value assigned to the secret-looking name `b[start..end]`, if any:
/// `NAME=value`, `NAME: value`, `"name": "value"`, `name := value`,
/// `'name' => 'value'`, `--name value`.
fn assignment(b: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let name = &b[start..end];
    let after_quote = skip_quote(b, end);
    let sep_start = after_quote;
    let mut j = skip_blank(b, sep_start);
    let sep_len = if at(b, j, b"=>") || at(b, j, b":=") {
        2
    } else if matches!(b.get(j), Some(b'=' | b':')) {
        1
    } else {
        0
    };
    if sep_len == 0 {
        // `--password value`: a flag, a blank, a value.
        let flag_ok = name.first() == Some(&b'-')
            && after_quote == end
            && (start == 0
                || b[start - 1].is_ascii_whitespace()
                || b"\"'(".contains(&b[start - 1]));
        if !flag_ok || j == end {
            return None;
        }
        let (vs, ve, quoted) = value_at(b, j, b"&|;")?;
        return value_ok(
            name,
            &b[end..j],
            &b[vs..ve],
            quoted,
            true,
            next_on_line(b, ve),
        )
        .map(|(s, e)| (vs + s, vs + e));
    }
    let colon = sep_len == 1 && b[j] == b':';
    // `Token::new`, `a::b`: a path, not an assignment.
    if colon && b.get(j + 1) == Some(&b':') {
        return None;
    }
    // `$token:ident` in a Rust macro: a metavariable and its fragment.
    if colon && start > 0 && b[start - 1] == b'$' && sep_start == j {
        return None;
    }
    j = skip_blank(b, j + sep_len);
    let sep = &b[sep_start..j];
    let first = value_at(b, j, b"&");
    // An annotated assignment, `token: str = "…"`, `let key: &str = "…"`,
    // `const SECRET: u32 = 7;`: skip the type, the value follows the `=`.
    if colon && first.is_none_or(|(_, _, quoted)| !quoted) {
        let window = &b[j..b.len().min(j + 81)];
        let ty = run(window, 0, |c| !b"=\n;,)({\"'".contains(&c));
        let k = j + ty;
        if ty > 0
            && ty <= 80
            && b[k - 1].is_ascii_whitespace()
            && b.get(k) == Some(&b'=')
            && !matches!(b.get(k + 1), Some(b'=' | b'>'))
        {
            let j2 = skip_blank(b, k + 1);
            let (vs, ve, quoted) = value_at(b, j2, b"&")?;
            return value_ok(
                name,
                &b[k..j2],
                &b[vs..ve],
                quoted,
                false,
                next_on_line(b, ve),
            )
            .map(|(s, e)| (vs + s, vs + e));
        }
    }
    let (vs, ve, quoted) = first?;
    value_ok(name, sep, &b[vs..ve], quoted, false, next_on_line(b, ve))
        .map(|(s, e)| (vs + s, vs + e))
}

/// The next non-blank byte after `i` on the same line (0 at a line end).
fn next_on_line(b: &[u8], i: usize) -> u8 {
    match b.get(skip_blank(b, i)) {
        Some(b'\n' | b'\r') | None => 0,
        Some(&c) => c,
    }
}

/// The value starting at `j`: double-quoted (with escapes), single-quoted,
/// `\"`-quoted (JSON inside a string), or bare (up to whitespace, a quote,
/// a backtick or one of `stops`). Returns its content range and whether it
/// was quoted.
fn value_at(b: &[u8], j: usize, stops: &[u8]) -> Option<(usize, usize, bool)> {
    match *b.get(j)? {
        b'"' => {
            let mut k = j + 1;
            while k < b.len() {
                match b[k] {
                    b'"' => return Some((j + 1, k, true)),
                    b'\\' if k + 1 < b.len() && b[k + 1] != b'\n' => k += 2,
                    b'\\' | b'\n' => return None,
                    _ => k += 1,
                }
            }
            None
        }
        b'\'' => {
            let k = j + 1 + run(b, j + 1, |c| c != b'\'' && c != b'\n');
            (b.get(k) == Some(&b'\'')).then_some((j + 1, k, true))
        }
        b'\\' if b.get(j + 1) == Some(&b'"') => {
            let mut k = j + 2;
            while k < b.len() {
                match b[k] {
                    b'\\' if b.get(k + 1) == Some(&b'"') => return Some((j + 2, k, true)),
                    b'\\' if k + 1 < b.len() => k += 2,
                    b'"' | b'\n' | b'\\' => return None,
                    _ => k += 1,
                }
            }
            None
        }
        // Python string prefixes: `b"…"`, `r'…'`, `rb"…"`, `f"…"`.
        c if b"bBrRuUfF".contains(&c)
            && (matches!(b.get(j + 1), Some(b'"' | b'\''))
                || (b.get(j + 1).is_some_and(|d| b"bBrRfF".contains(d))
                    && matches!(b.get(j + 2), Some(b'"' | b'\'')))) =>
        {
            let k = if matches!(b[j + 1], b'"' | b'\'') {
                j + 1
            } else {
                j + 2
            };
            value_at(b, k, stops)
        }
        _ => {
            let r = run(b, j, |c| {
                !(c.is_ascii_whitespace() || b"\"'`".contains(&c) || stops.contains(&c))
            });
            (r > 0).then_some((j, j + r, false))
        }
    }
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
/// `%VAR%`, `%s`), and markers left by an earlier pass.
pub(crate) fn plain_value_ok(v: &[u8]) -> bool {
    !(v.is_empty()
        || v[0] == b'$'
        || v.starts_with(b"{{")
        || v.starts_with(b"[REDACTED:")
        || (v.len() > 2 && v[0] == b'%' && v[v.len() - 1] == b'%')
        // printf-style placeholders: `%s`, `%r`, `%(name)s`.
        || (v[0] == b'%' && (v.len() <= 3 || v[1] == b'(')))
}

/// Values that say nothing: null-likes, booleans, and words of schemas and
/// permission lists (`id-token: write`, `password: required`).
const NULLISH: &[&str] = &[
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "read",
    "write",
    "required",
    "optional",
    "yes",
    "no",
    "on",
    "off",
    "enabled",
    "disabled",
    "auto",
    "default",
    "redacted",
    "hidden",
];

/// First segments of dotted paths that are code, not a secret value.
const RECEIVERS: &[&str] = &[
    "self",
    "this",
    "cls",
    "super",
    "os",
    "process",
    "config",
    "cfg",
    "conf",
    "settings",
    "args",
    "opts",
    "options",
    "ctx",
    "context",
    "req",
    "request",
    "res",
    "resp",
    "response",
    "params",
    "env",
    "environ",
    "std",
    "props",
    "state",
    "data",
    "secrets",
    "credentials",
    "creds",
    "auth",
    "client",
    "app",
    "window",
    "document",
    "vars",
    "input",
    "inputs",
    "github",
    "matrix",
    "keyring",
    "getpass",
    "import",
];

/// Words after `name:` that are a type annotation or a keyword, not a value.
const TYPE_WORDS: &[&str] = &[
    "str",
    "string",
    "number",
    "boolean",
    "bool",
    "int",
    "integer",
    "float",
    "double",
    "bytes",
    "bytearray",
    "any",
    "unknown",
    "object",
    "char",
    "void",
    "never",
    "bigint",
    "symbol",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "impl",
    "dyn",
    "mut",
    "const",
    "readonly",
    "typeof",
    "keyof",
];

/// Words after `name =` that start an expression, not a value.
const CODE_WORDS: &[&str] = &[
    "await", "new", "function", "lambda", "async", "yield", "return", "fn", "match", "if",
    "select", "loop", "unsafe", "move", "static", "not", "typeof",
];

/// Decide whether the value of a secret-looking name is a secret, and
/// return the range of `v` to redact.
///
/// The name already looks secret. What is left is telling a value from
/// code: `token = self.token`, `api_key=api_key`, `password: String` and
/// `token = get_token()` are left alone, while quoted strings and shell/env
/// style values are redacted.
fn value_ok(
    name: &[u8],
    sep: &[u8],
    raw: &[u8],
    quoted: bool,
    flag: bool,
    next: u8,
) -> Option<(usize, usize)> {
    // A flag's value is shell, not code: `--password x -h db`.
    let (sep, next) = if flag { (&b""[..], 0) } else { (sep, next) };
    let v = if quoted { raw } else { trim_bare(raw) };
    // What trimming took off the end: `,` `;` and unbalanced brackets.
    let trimmed = &raw[v.len()..];
    if !plain_value_ok(v) {
        return None;
    }
    let lower_v = v.to_ascii_lowercase();
    if NULLISH.iter().any(|w| lower_v == w.as_bytes()) {
        return None;
    }
    let passwordish = {
        let n = name.to_ascii_lowercase();
        n.ends_with(b"password")
            || n.ends_with(b"passwd")
            || n.ends_with(b"pwd")
            || n.ends_with(b"passphrase")
    };
    // `MAX_TOKEN: 512`, `"token": "5"`: a short number is a count, not a secret.
    if !passwordish && v.len() <= 6 && v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // A bare number literal (`0x02`, `-7`, `3225445912`) is a constant,
    // unless it is a password's value on its own (`PASSWORD=123456`).
    if !quoted && is_number(v) && (!passwordish || !trimmed.is_empty()) {
        return None;
    }
    if !quoted {
        if !v.iter().any(u8::is_ascii_alphanumeric) {
            return None;
        }
        if flag && v[0] == b'-' {
            return None;
        }
        if matches!(v[0], b'=' | b':' | b'>' | b'<' | b'(' | b'{' | b'[') {
            return None;
        }
        if is_code_value(name, v, &lower_v, sep, trimmed, next) {
            return None;
        }
    }
    Some((0, v.len()))
}

/// Trim trailing punctuation that belongs to the surrounding code: `,` `;`
/// and unbalanced closing brackets.
fn trim_bare(mut v: &[u8]) -> &[u8] {
    loop {
        let Some(&last) = v.last() else { return v };
        let drop = match last {
            b',' | b';' | b'.' | b':' => true,
            b')' => count(v, b'(') < count(v, b')'),
            b']' => count(v, b'[') < count(v, b']'),
            b'}' => count(v, b'{') < count(v, b'}'),
            b'>' => count(v, b'<') < count(v, b'>'),
            _ => false,
        };
        if !drop {
            return v;
        }
        v = &v[..v.len() - 1];
    }
}

fn count(v: &[u8], c: u8) -> usize {
    memchr::memchr_iter(c, v).count()
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Is a bare value code rather than a literal secret?
fn is_code_value(
    name: &[u8],
    v: &[u8],
    lower_v: &[u8],
    sep: &[u8],
    trimmed: &[u8],
    next: u8,
) -> bool {
    let colon = sep.contains(&b':') && !sep.contains(&b'=');
    let spaced = sep.first().is_some_and(u8::is_ascii_whitespace)
        || sep.last().is_some_and(u8::is_ascii_whitespace);
    // Generic arguments: `Stream<Token = u8>`, `Iter<Item=T>`.
    if trimmed.contains(&b'>') {
        return true;
    }
    // In code-style assignments (spaced `=`, or `:`), an identifier or path
    // followed by code punctuation is a variable or a type, never a literal:
    // `semi_token: semi,`, `fn f(token: T)`, `type Token = Self;`,
    // `X: c_long = BASE + 447`. So is a keyword argument's, `f(key=k)`.
    let code_style = spaced || colon;
    let ident_path = is_ident_path(v);
    if ident_path
        && ((code_style
            && (trimmed.iter().any(|c| b",;)]}".contains(c))
                || b"+-*/%|&^?<>=([{".contains(&next)))
            || trimmed.iter().any(|c| b",)".contains(c)))
    {
        return true;
    }
    // A code-style variable named after a secret holds one, it is not one:
    // `password = password_mgr`, `x_auth = authorizer`, `signing_key = key`.
    if ident_path
        && code_style
        && [
            &b"token"[..],
            b"secret",
            b"pass",
            b"pwd",
            b"key",
            b"credential",
            b"auth",
        ]
        .iter()
        .any(|w| memmem::find(lower_v, w).is_some())
    {
        return true;
    }
    // An identifier path subscripted or called: `os.environ["X"]`,
    // `typing.Optional[bytes]`, `grammar.opmap[value]`.
    let path_len = ident_path_prefix(v);
    if path_len > 0 && matches!(v.get(path_len), Some(b'[' | b'(')) {
        return true;
    }

    // `api_key=api_key`, `this.token = token`.
    let lower_name = name.to_ascii_lowercase();
    let lower_name = lower_name.trim_ascii_start();
    let last_seg = lower_name
        .rsplit(|&c| c == b'.')
        .next()
        .unwrap_or(lower_name);
    let trimmed_name: &[u8] = {
        let mut n = last_seg;
        while let [b'-', rest @ ..] = n {
            n = rest;
        }
        n
    };
    if lower_v == trimmed_name || lower_v == lower_name {
        return true;
    }
    // A call anywhere: `get_token()`, `os.getenv("X")`, `Token::new(`.
    if v.contains(&b'(') {
        return true;
    }
    // Leading identifier and what follows it.
    let ident_len = if is_ident_start(v[0]) {
        v.iter().take_while(|&&c| is_ident(c)).count()
    } else {
        0
    };
    let ident = &lower_v[..ident_len];
    let rest = &v[ident_len..];
    if ident_len > 0 {
        // Indexing: `tokens[i]`, `os.environ[`.
        if rest.first() == Some(&b'[') && rest.get(1) != Some(&b']') {
            return true;
        }
        if CODE_WORDS.iter().any(|w| ident == w.as_bytes()) && rest.is_empty() {
            return true;
        }
        // `::` paths (`env::var`), generics (`Option<String>`), macros
        // (`Token![=]`).
        if rest.starts_with(b"::") || matches!(rest.first(), Some(b'<' | b'!')) {
            return true;
        }
        // Dotted identifier paths: always when the first segment is a known
        // receiver; in spaced (code-style) assignments whatever it is.
        if rest.first() == Some(&b'.') && is_dotted_path(v) {
            let first = ident;
            if spaced || RECEIVERS.iter().any(|r| first == r.as_bytes()) {
                return true;
            }
        }
    }
    if colon {
        // Type annotations: `token: &str`, `secret: *const u8`, `keys: []byte`.
        if matches!(v[0], b'&' | b'*' | b'?') || v.starts_with(b"[]") {
            return true;
        }
        if ident_len > 0 {
            let tail_ok = rest.iter().all(|c| b"[]?|<>,;)".contains(c));
            if TYPE_WORDS.iter().any(|w| ident == w.as_bytes()) && tail_ok {
                return true;
            }
            // `password: String,`, `api_key: Option<String>`: a capitalised
            // word without digits followed by nothing or type syntax.
            let word = &v[..ident_len];
            let capitalised =
                word[0].is_ascii_uppercase() && word.iter().all(u8::is_ascii_alphabetic);
            let type_tail = rest.is_empty()
                || matches!(
                    rest[0],
                    b'<' | b'[' | b'?' | b'|' | b',' | b';' | b')' | b'>'
                )
                || rest.starts_with(b"::");
            if capitalised && type_tail {
                return true;
            }
        }
    }
    false
}

/// Length of the longest identifier path at the start of `v`.
fn ident_path_prefix(v: &[u8]) -> usize {
    let mut i = 0;
    let mut good = 0;
    loop {
        if !v.get(i).is_some_and(|&c| is_ident_start(c)) {
            return good;
        }
        i += v[i..].iter().take_while(|&&c| is_ident(c)).count();
        good = i;
        if v.get(i) == Some(&b'.') {
            i += 1;
        } else if v[i..].starts_with(b"::") {
            i += 2;
        } else {
            return good;
        }
    }
}

/// An identifier or a path of them: `a`, `a.b`, `a::b::C`.
fn is_ident_path(v: &[u8]) -> bool {
    !v.is_empty() && ident_path_prefix(v) == v.len()
}

/// A number literal: `42`, `-7`, `1_000`, `3.5`, `0x1F`, `0b1010`, `10u32`.
fn is_number(v: &[u8]) -> bool {
    let v = match v {
        [b'-' | b'+', rest @ ..] => rest,
        _ => v,
    };
    let Some(&first) = v.first() else {
        return false;
    };
    if !first.is_ascii_digit() {
        return false;
    }
    if let [b'0', b'x' | b'X' | b'o' | b'b', rest @ ..] = v {
        return !rest.is_empty() && rest.iter().all(|&c| c.is_ascii_hexdigit() || c == b'_');
    }
    let digits = v
        .iter()
        .take_while(|&&c| c.is_ascii_digit() || c == b'_' || c == b'.')
        .count();
    let suffix = &v[digits..];
    const SUFFIXES: [&[u8]; 16] = [
        b"", b"u8", b"u16", b"u32", b"u64", b"u128", b"usize", b"i8", b"i16", b"i32", b"i64",
        b"i128", b"isize", b"f32", b"f64", b"l",
    ];
    SUFFIXES.iter().any(|s| suffix.eq_ignore_ascii_case(s))
}

/// `a.b.c` where every segment is an identifier.
fn is_dotted_path(v: &[u8]) -> bool {
    v.split(|&c| c == b'.')
        .all(|seg| !seg.is_empty() && is_ident_start(seg[0]) && seg.iter().all(|&c| is_ident(c)))
}

/// Find PEM / PGP private key blocks.
///
/// `-----BEGIN <label>-----` where the label contains `PRIVATE KEY` starts a
/// block, provided key material follows (base64, or `Proc-Type:`-style
/// headers), so that a PEM parser's source code mentioning the marker as a
/// string literal is not eaten. The block runs to the matching
/// `-----END ...PRIVATE KEY...-----`, or to the end of the string when there
/// is none. An `END` line with no `BEGIN` before it (the start was cut off)
/// redacts from the start of the string.
fn private_keys(b: &[u8], out: &mut Vec<Span>) {
    let begin = memmem::Finder::new(b"-----BEGIN ");
    let end = memmem::Finder::new(b"-----END ");
    // Each search result stays valid until `pos` passes it, so no part of
    // the string is searched twice for the same marker.
    let mut begin_cache: Option<Option<(usize, usize)>> = None;
    let mut end_cache: Option<Option<(usize, usize)>> = None;
    let mut pos = 0;
    loop {
        let next_begin = cached_marker(b, pos, &begin, &mut begin_cache);
        let next_end = cached_marker(b, pos, &end, &mut end_cache);
        match (next_begin, next_end) {
            (_, Some((e, e_end))) if next_begin.is_none_or(|(s, _)| e < s) => {
                // Orphan END: the key started before this string (or window).
                if material_before(b, e) {
                    out.push(key_span(pos, e_end));
                }
                pos = e_end;
            }
            (Some((s, s_end)), _) => {
                if !material_after(b, s_end) {
                    pos = s_end;
                    continue;
                }
                let stop =
                    cached_marker(b, s_end, &end, &mut end_cache).map_or(b.len(), |(_, e)| e);
                out.push(key_span(s, stop));
                pos = stop;
            }
            _ => return,
        }
        if pos >= b.len() {
            return;
        }
    }
}

/// [`next_private_marker`] from `pos`, reusing an earlier result that is
/// still ahead of `pos` (or an earlier "none").
fn cached_marker(
    b: &[u8],
    pos: usize,
    finder: &memmem::Finder<'_>,
    cache: &mut Option<Option<(usize, usize)>>,
) -> Option<(usize, usize)> {
    match *cache {
        Some(None) => None,
        Some(Some(m)) if m.0 >= pos => Some(m),
        _ => {
            let m = next_private_marker(b, pos, finder);
            *cache = Some(m);
            m
        }
    }
}

fn key_span(start: usize, end: usize) -> Span {
    Span {
        start,
        end,
        kind: K_PRIVATE_KEY,
        prio: 0,
    }
}

/// The next `-----BEGIN/END <label>-----` at or after `from` whose label
/// names a private key: (start, index past the closing dashes).
fn next_private_marker(
    b: &[u8],
    mut from: usize,
    finder: &memmem::Finder<'_>,
) -> Option<(usize, usize)> {
    while from < b.len() {
        let at = from + finder.find(&b[from..])?;
        let label_start = at + finder.needle().len();
        let window = &b[label_start..b.len().min(label_start + 80)];
        if let Some(close) = memmem::find(window, b"-----") {
            let label = &window[..close];
            if !label.contains(&b'\n') && memmem::find(label, b"PRIVATE KEY").is_some() {
                return Some((at, label_start + close + 5));
            }
        }
        from = label_start;
    }
    None
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Skip whitespace, quotes and literal `\n` / `\r` escapes.
fn skip_gap(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'\\' if matches!(b.get(i + 1), Some(b'n' | b'r')) => i += 2,
            _ => break,
        }
    }
    i
}

/// Does key material follow a BEGIN marker that ends at `i`?
fn material_after(b: &[u8], i: usize) -> bool {
    let i = skip_gap(b, i);
    let run = b[i..].iter().take_while(|&&c| is_b64(c)).count();
    if run >= 16 {
        return true;
    }
    // Armor headers: `Proc-Type: 4,ENCRYPTED`, `Version: ...`, `Comment: ...`.
    let word = b[i..]
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-')
        .count();
    word > 0 && b.get(i + word) == Some(&b':')
}

/// Does key material precede an END marker at `i`?
fn material_before(b: &[u8], i: usize) -> bool {
    let mut j = i;
    loop {
        while j > 0 && matches!(b[j - 1], b' ' | b'\t' | b'\r' | b'\n') {
            j -= 1;
        }
        if j >= 2 && b[j - 2] == b'\\' && matches!(b[j - 1], b'n' | b'r') {
            j -= 2;
            continue;
        }
        break;
    }
    b[..j].iter().rev().take_while(|&&c| is_b64(c)).count() >= 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_table() {
        for (lit, _) in TRIGGERS {
            assert_eq!(lit.to_ascii_lowercase(), *lit);
            let (lo, hi) = FIRST[usize::from(lit[0])];
            assert!(
                TRIGGERS[usize::from(lo)..usize::from(hi)]
                    .iter()
                    .any(|(l, _)| l == lit)
            );
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
