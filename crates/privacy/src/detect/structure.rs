//! `NAME=value` in every dialect: a secret-looking name and the value
//! assigned to it, told apart from code that merely mentions the name.

use memchr::memmem;

use super::*;

/// Bytes of a name in `NAME=value`.
fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// Does a name look secret (`*_TOKEN`, `*SECRET`, `*PASSWORD*`, `*_API_KEY`,
/// `DB_PASS`, `SENTRY_DSN`, …)? ASCII case-insensitive. A name that refers
/// to a secret rather than holding one (`passwordSecretName`,
/// `tokenUrl`, `PASSWORD_FILE`, `existingSecret`) is not.
pub(crate) fn is_secret_name(name: &[u8]) -> bool {
    let name = trim_name(name);
    secret_words(name) && !is_reference_name(name)
}

/// [`is_secret_name`] before the reference check.
fn secret_words(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.as_slice();
    if memmem::find(n, b"password").is_some() || memmem::find(n, b"passwd").is_some() {
        return true;
    }
    const SUFFIXES: [&[u8]; 17] = [
        b"_pat",
        b"-pat",
        b"secret_id",
        b"private_key_id",
        b"secret",
        b"token",
        b"passphrase",
        b"_pwd",
        b"credential",
        b"credentials",
        b"_auth",
        b"_pass",
        b"-pass",
        b".pass",
        b"storepass",
        b"keypass",
        b"_dsn",
    ];
    if matches!(n, b"pass" | b"requirepass" | b"masterauth" | b"masterpass")
        || SUFFIXES.iter().any(|s| n.ends_with(s))
    {
        return true;
    }
    // `secret_key_base`
    if let Some(pre) = n.strip_suffix(b"base")
        && let Some(pre) = strip_sep(pre).strip_suffix(b"key")
        && strip_sep(pre).ends_with(b"secret")
    {
        return true;
    }
    const KEY_OWNERS: [&[u8]; 21] = [
        b"api",
        b"access",
        b"private",
        b"secret",
        b"encryption",
        b"signing",
        b"master",
        b"client",
        b"app",
        b"application",
        b"session",
        b"auth",
        b"account",
        b"storage",
        b"shared",
        b"admin",
        b"license",
        b"consumer",
        b"service",
        b"ingest",
        b"webhook",
    ];
    n.strip_suffix(b"key")
        .map(strip_sep)
        .is_some_and(|pre| KEY_OWNERS.iter().any(|o| pre.ends_with(o)))
}

fn strip_sep(s: &[u8]) -> &[u8] {
    match s {
        [rest @ .., b'_' | b'-'] => rest,
        _ => s,
    }
}

/// A name without the leading `-` of a flag or `$` of a variable.
fn trim_name(name: &[u8]) -> &[u8] {
    let k = name.iter().take_while(|&&c| c == b'-' || c == b'$').count();
    &name[k..]
}

/// The last word of a name (`passwordSecretName` → `name`, `TOKEN_FILE` →
/// `file`), lower-cased, and whether the name starts with `existing`.
fn is_reference_name(name: &[u8]) -> bool {
    let mut last = 0;
    for k in 1..name.len() {
        let sep = matches!(name[k - 1], b'_' | b'-' | b'.');
        let hump = name[k].is_ascii_uppercase() && name[k - 1].is_ascii_lowercase();
        if sep || hump {
            last = k;
        }
    }
    let word = name[last..].to_ascii_lowercase();
    const REFERENCE_WORDS: &[&[u8]] = &[
        b"name",
        b"ref",
        b"file",
        b"path",
        b"url",
        b"uri",
        b"endpoint",
        b"stdin",
        b"env",
        b"var",
        b"field",
        b"header",
        b"policy",
        b"hint",
        b"prompt",
        b"length",
        b"len",
        b"type",
        b"mode",
        b"ttl",
        b"expiry",
        b"expires",
        b"expiration",
        b"timeout",
        b"count",
        b"size",
        b"min",
        b"max",
        b"required",
        b"enabled",
        b"rotation",
        b"dir",
        b"location",
        b"provider",
        b"manager",
        b"helper",
        b"command",
        b"cmd",
        b"arn",
        b"label",
        b"version",
        b"format",
        b"algorithm",
        b"prefix",
        b"source",
        b"kind",
    ];
    let first_existing = name.len() > 8 && name[..8].eq_ignore_ascii_case(b"existing");
    first_existing || (last > 0 && REFERENCE_WORDS.contains(&word.as_slice()))
}

/// A name with a secret word among its words that the name rule does not
/// take (`OPENAI_KEY`, `STRIPE_KEY`, `KEY_PART_1`, `api_keys`, `cacheKey`):
/// its value is a secret only if it looks random.
pub(crate) fn mentions_secret(name: &[u8]) -> bool {
    let name = trim_name(name);
    if is_reference_name(name) {
        return false;
    }
    // `BW_SESSION`, `OP_SESSION_shop`: a session key.
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(b"_session") || lower.starts_with(b"op_session") {
        return true;
    }
    const WORDS: &[&[u8]] = &[
        b"key",
        b"keys",
        b"token",
        b"tokens",
        b"secret",
        b"secrets",
        b"password",
        b"passwords",
        b"pass",
        b"pwd",
        b"auth",
        b"apikey",
        b"apikeys",
        b"credential",
        b"credentials",
        b"appid",
    ];
    let mut start = 0;
    for k in 1..=name.len() {
        let boundary = k == name.len()
            || matches!(name[k], b'_' | b'-' | b'.')
            || (name[k].is_ascii_uppercase() && name[k - 1].is_ascii_lowercase());
        if boundary {
            let word = name[start..k].to_ascii_lowercase();
            let word = word.trim_ascii_start();
            let word = word
                .strip_prefix(b"_")
                .or_else(|| word.strip_prefix(b"-"))
                .or_else(|| word.strip_prefix(b"."))
                .unwrap_or(word);
            if WORDS.contains(&word) {
                return true;
            }
            start = k;
        }
    }
    false
}

/// A value that looks generated rather than chosen: long, one token, with
/// a run of at least 8 characters mixing letters and digits
/// (`EQ2CaLXZLuwJhzIF`, a hex digest, a UUID), not words joined by
/// separators (`user_profile_v2_2024`).
pub(crate) fn looks_random(v: &[u8]) -> bool {
    v.len() >= 16
        && v.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"+/=_-.~".contains(&c))
        && v.split(|&c| matches!(c, b'_' | b'-' | b'.'))
            .any(|seg| seg.len() >= 8 && classes(seg) >= 2 && seg.iter().any(u8::is_ascii_digit))
}

/// Length of a table cell border at `i`: `|` or the box-drawing `│`.
fn cell_border(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i..)? {
        [b'|', ..] => Some(1),
        [0xE2, 0x94, 0x82, ..] => Some(3),
        _ => None,
    }
}

/// `8-4-4-4-12` hex: under a name that only mentions a secret word
/// (`SHOP_SESSION`, `request_key`) an identifier, not a secret.
fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(k, &c)| {
            if matches!(k, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Placeholders stand for a secret without being one: `<your-token>`,
/// `your-api-key-here`, `changeme`, `xxxxxxxx`, `sk-xxxx`, `********`.
pub(crate) fn is_placeholder(v: &[u8]) -> bool {
    let l = v.to_ascii_lowercase();
    if l.len() >= 2 && l[0] == b'<' && l[l.len() - 1] == b'>' {
        return true;
    }
    if l.starts_with(b"your") && l.len() > 4 && !l[4].is_ascii_digit() {
        return true;
    }
    const WORDS: &[&[u8]] = &[
        b"changeme",
        b"change-me",
        b"change_me",
        b"replaceme",
        b"replace-me",
        b"replace_me",
        b"placeholder",
        b"todo",
        b"tbd",
        b"fixme",
    ];
    if WORDS.contains(&l.as_slice()) {
        return true;
    }
    // Masked or filler after an optional prefix: `sk-xxxx`, `****`, `...`.
    let tail = l.rsplit(|&c| c == b'-' || c == b'_').next().unwrap_or(&l);
    tail.len() >= 3 && tail.iter().all(|&c| matches!(c, b'x' | b'*' | b'.' | b'#'))
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
pub(super) fn name_at(b: &[u8], i: usize, st: &mut State, out: &mut Vec<Span>) {
    // Another trigger of a name (or value) handled already.
    if i < st.names_done {
        return;
    }
    // An earlier pass's marker glued before the name is part of it: that
    // pass saw one longer word there (`$ghp_…-token` is `$[REDACTED:…]-token`).
    let mut start = i;
    while start > st.names_done {
        if is_name_byte(b[start - 1]) {
            start -= 1;
        } else if let Some(m) = st.markers.ending_at(start) {
            start = m.start;
        } else {
            break;
        }
    }
    let mut end = i + run(b, i, is_name_byte);
    st.names_done = end;
    // `path-12-NAME`: a `grep -n` context prefix is not part of the name.
    let mut k = start;
    while k < end {
        let d = run(b, k + 1, |c| c.is_ascii_digit());
        if b[k] == b'-' && d > 0 && b.get(k + 1 + d) == Some(&b'-') {
            if k + 2 + d <= i {
                start = k + 2 + d;
            } else {
                end = k;
                break;
            }
        }
        k += 1;
    }
    // A trigger inside such a prefix (`xoxb-000-000-Pat…`, where `-Pat` is
    // one) names nothing.
    if start >= end {
        return;
    }
    let name = &b[start..end];
    // `Pwd=` is a password only in a `;`-separated connection string
    // (`PWD=/home/u` is the working directory).
    let conn_pwd = name.eq_ignore_ascii_case(b"pwd") && start > 0 && b[start - 1] == b';';
    // A path or package segment (`@octokit/auth-token`), not a variable.
    if start > 0 && matches!(b[start - 1], b'/' | b'@') && matches!(b.get(end), Some(b'"' | b'\''))
    {
        return;
    }
    let secret = conn_pwd || is_secret_name(name);
    if !secret && !mentions_secret(name) {
        return;
    }
    // `"api_keys": {"<key>": …}`: keys of an object of secrets.
    let after = skip_blank(b, skip_quote(b, end));
    if matches!(b.get(after), Some(b':' | b'=')) && b.get(skip_blank(b, after + 1)) == Some(&b'{') {
        object_keys(b, skip_blank(b, after + 1), out);
        return;
    }
    let Some((vs, ve)) = paired_value(b, start, end)
        .or_else(|| variable_default(b, start, end))
        .or_else(|| assignment(b, start, end))
    else {
        return;
    };
    let v = &b[vs..ve];
    // The value is an earlier pass's marker: the name was dealt with, and so
    // were the names its assignment spans (`secret: token: T = …`), as on
    // that pass.
    if v.starts_with(MARKER_OPEN) {
        if st.markers.is_one(vs..ve) {
            st.names_done = st.names_done.max(ve);
        }
        return;
    }
    // A value holding a marker was judged on that pass, as other text.
    if st.markers.overlap(vs..ve) {
        return;
    }
    // The password of `auth=("user", "password")`.
    let auth_pair = name.to_ascii_lowercase().ends_with(b"auth")
        && b[..vs.saturating_sub(1)].trim_ascii_end().ends_with(b",");
    if !secret && !auth_pair && (!looks_random(v) || is_uuid(v)) {
        return;
    }
    if is_hash_value(name, v) {
        return;
    }
    // Names inside a redacted value need no look of their own.
    st.names_done = st.names_done.max(ve);
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

/// A digest under a name that says so (`password_hash`, `token_digest`):
/// test fixtures and stored hashes, not the secret itself.
fn is_hash_value(name: &[u8], v: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    // Named as a digest: `password_hash`, `hashed_password`, `tokenDigest`.
    let last = n
        .rsplit(|&c| matches!(c, b'_' | b'-' | b'.'))
        .next()
        .unwrap_or(&n);
    let camel_last = name
        .iter()
        .rposition(u8::is_ascii_uppercase)
        .map(|p| name[p..].to_ascii_lowercase());
    const DIGESTS: &[&[u8]] = &[b"hash", b"digest", b"checksum", b"fingerprint", b"hashed"];
    if n.starts_with(b"hashed")
        || DIGESTS.contains(&last)
        || camel_last.is_some_and(|w| DIGESTS.contains(&w.as_slice()))
    {
        return true;
    }
    let hashy = [&b"hash"[..], b"digest", b"checksum", b"sha"]
        .iter()
        .any(|w| memmem::find(&n, w).is_some());
    hashy && v.len() >= 32 && v.iter().all(u8::is_ascii_hexdigit)
}

/// The value of a secret-looking name written without `=` or `:`: an XML
/// element (`<password>X</password>`), an XML setting
/// (`key="ApiKey" value="X"`), a `.netrc` line (`login bob password X`), a
/// Dockerfile `ENV NAME X`. `None` when the name is not in such a place.
fn spaced_value(b: &[u8], start: usize, end: usize) -> Option<(usize, usize, bool)> {
    let raw_ls = line_start(b, start);
    // The line's own text, after a diff or grep prefix.
    let ls = (raw_ls + line_prefix_len(b, raw_ls)).min(start);
    let line_before = &b[ls..start];
    // `<password>X</password>`
    if start > 0 && b[start - 1] == b'<' && b.get(end) == Some(&b'>') {
        let vs = end + 1;
        let r = run(b, vs, |c| c != b'<' && c != b'\n');
        return (b.get(vs + r) == Some(&b'<')).then_some((vs, vs + r, true));
    }
    // `key="ApiKey" value="X"`
    if start > 0 && matches!(b[start - 1], b'"' | b'\'') && b.get(end) == Some(&b[start - 1]) {
        let j = skip_blank(b, end + 1);
        if at_ci(b, j, b"value=") {
            return value_at(b, j + 6, b"");
        }
        // `<entry key="password">X</entry>`
        if b.get(end + 1) == Some(&b'>') {
            let vs = end + 2;
            let r = run(b, vs, |c| c != b'<' && c != b'\n');
            return (r > 0 && b.get(vs + r) == Some(&b'<')).then_some((vs, vs + r, true));
        }
        return None;
    }
    let j = skip_blank(b, end);
    if j == end || j >= b.len() || b[j] == b'\n' {
        return None;
    }
    // A log line or prose: `using API key <random>`, `token <random>`.
    if let Some((vs, ve, quoted)) = value_at(b, j, b",;")
        && looks_random(trim_bare(&b[vs..ve]))
    {
        return Some((vs, vs + trim_bare(&b[vs..ve]).len(), quoted));
    }
    // `ENV NAME value`
    let trimmed = line_before.trim_ascii_start();
    // A bordered table row: `| API Secret | X |`, `│ TOKEN │ X │`.
    if let Some(first) = cell_border(trimmed, 0)
        && trimmed[first..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b' ' || c == b'_')
        && let Some(sep) = cell_border(b, j)
    {
        let vs = skip_blank(b, j + sep);
        let ve = vs
            + run(b, vs, |c| {
                !(c.is_ascii_whitespace() || c == b'|' || c == 0xE2)
            });
        if ve > vs && cell_border(b, skip_blank(b, ve)).is_some() {
            return Some((vs, ve, false));
        }
    }
    if trimmed == b"ENV " {
        return value_at(b, j, b"");
    }
    // SQL: `WITH PASSWORD 'x'`, `IDENTIFIED BY 'x'` (the name is `by`
    // there, see `identified_by`).
    let name = &b[start..end];
    if name.eq_ignore_ascii_case(b"password") && b[j] == b'\'' {
        return value_at(b, j, b"");
    }
    // A config line, `requirepass X` (redis.conf): the name first on its
    // line, one value ending it.
    let config_name = [&b"requirepass"[..], b"masterauth", b"masterpass"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n));
    if config_name && trimmed_is_empty(line_before) {
        let (vs, ve, quoted) = value_at(b, j, b"")?;
        return (next_on_line(b, ve) == 0).then_some((vs, ve, quoted));
    }
    // A table row, `password    X` (`vault kv get`): the name first on its
    // line, a wide gap, one value ending the line.
    let gap = &b[end..j];
    // `Access Token     00D…` (`sf org display`): words may precede the name.
    let words_only = trimmed
        .iter()
        .all(|&c| c.is_ascii_alphabetic() || c == b' ');
    if words_only && trimmed.len() <= 24 && (gap.len() >= 2 || gap.contains(&b'\t')) {
        let (vs, ve, quoted) = value_at(b, j, b"")?;
        if next_on_line(b, ve) == 0 {
            return Some((vs, ve, quoted));
        }
    }
    // Prose: `my password is X`, `set the token to X`, when X does not
    // read as a word (`the token is expired` stays).
    for verb in [&b"is "[..], b"was ", b"to "] {
        if at_ci(b, j, verb) {
            let k = skip_blank(b, j + verb.len());
            let (vs, ve, quoted) = value_at(b, k, b"")?;
            let v = trim_bare(&b[vs..ve]);
            let wordlike = v.iter().all(u8::is_ascii_lowercase)
                || (v.len() > 1
                    && v[0].is_ascii_uppercase()
                    && v[1..].iter().all(u8::is_ascii_lowercase));
            return (quoted || (v.len() >= 6 && !wordlike)).then_some((vs, vs + v.len(), quoted));
        }
    }
    // `.netrc`: `machine h login u password X`, or `password X` on the line
    // after `login u`.
    let name = &b[start..end];
    if name == b"password" || name == b"passwd" {
        let words_before = |t: &[u8]| {
            t.split(|c| c.is_ascii_whitespace())
                .any(|w| w == b"login" || w == b"machine" || w == b"default")
        };
        let prev_line = if raw_ls > 0 {
            let p = line_start(b, raw_ls - 1);
            &b[(p + line_prefix_len(b, p)).min(raw_ls - 1)..raw_ls - 1]
        } else {
            &b""[..]
        };
        let prev_netrc = trimmed.is_empty()
            && (prev_line.trim_ascii_start().starts_with(b"login ")
                || prev_line.trim_ascii_start().starts_with(b"machine "));
        if words_before(line_before) || prev_netrc {
            return value_at(b, j, b"");
        }
    }
    None
}

/// Random-looking string keys of the JSON object opening at `open`
/// (within 4 KiB): secrets used as keys. The names inside get their own
/// look from their triggers.
fn object_keys(b: &[u8], open: usize, out: &mut Vec<Span>) {
    let limit = b.len().min(open + 4096);
    let mut depth = 0usize;
    let mut k = open;
    while k < limit {
        match b[k] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            b'"' => {
                let Some((vs, ve, _)) = value_at(b, k, b"") else {
                    return;
                };
                let key = &b[vs..ve];
                if b.get(skip_blank(b, ve + 1)) == Some(&b':') && looks_random(key) {
                    out.push(span(vs, ve, K_ASSIGN, P_GENERIC));
                }
                k = ve;
            }
            _ => {}
        }
        k += 1;
    }
}

/// A secret name given as the `name` of a name/value pair, its value in the
/// `value` field that follows: Kubernetes and compose `env` lists
/// (`- name: VAULT_TOKEN` / `value: …`), ECS task definitions, Postman
/// environments (`{"key": "apiKey", "value": …}`).
fn paired_value(b: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let mut k = start;
    while k > 0 && matches!(b[k - 1], b'"' | b'\'' | b' ' | b'\t') {
        k -= 1;
    }
    if k == 0 || !matches!(b[k - 1], b':' | b'=') {
        return None;
    }
    k -= 1;
    while k > 0 && matches!(b[k - 1], b'"' | b'\'' | b' ') {
        k -= 1;
    }
    let field_is = |f: &[u8]| {
        k >= f.len()
            && b[k - f.len()..k].eq_ignore_ascii_case(f)
            && (k == f.len() || !is_ident(b[k - f.len() - 1]))
    };
    if !field_is(b"name") && !field_is(b"key") {
        return None;
    }
    let window = &b[end..b.len().min(end + 200)];
    let at_value = end + memmem::find(window, b"value")?;
    let mut j = skip_blank(b, skip_quote(b, at_value + 5));
    if !matches!(b.get(j), Some(b':' | b'=')) {
        return None;
    }
    j = skip_blank(b, j + 1);
    let (vs, ve, quoted) = value_at(b, j, b"")?;
    value_ok(&b[start..end], b": ", &b[vs..ve], quoted, false, 0).map(|(s, e)| (vs + s, vs + e))
}

/// The value assigned to the secret-looking name `b[start..end]`, if any:
/// `NAME=value`, `NAME: value`, `"name": "value"`, `name := value`,
/// `'name' => 'value'`, `--name value`.
fn assignment(b: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let name = &b[start..end];
    let mut after_quote = skip_quote(b, end);
    // `ENV["TOKEN"] ||= "…"`, `os.environ["API_KEY"] = "…"`.
    let subscript = after_quote > end && b.get(after_quote) == Some(&b']');
    if subscript {
        after_quote += 1;
    }
    let sep_start = after_quote;
    let mut j = skip_blank(b, sep_start);
    if subscript && (at(b, j, b"||=") || at(b, j, b"??=")) {
        j += 2;
    }
    // `=>`, `:=`, and Makefile's `?=`, `::=`.
    let sep_len = if at(b, j, b"::=") {
        3
    } else if at(b, j, b"=>") || at(b, j, b":=") || at(b, j, b"?=") {
        2
    } else if matches!(b.get(j), Some(b'=' | b':')) {
        1
    } else {
        0
    };
    // `define('AUTH_KEY', '…')`, `setdefault("API_KEY", "…")`: a quoted
    // name, a comma, a quoted value.
    if sep_len == 0
        && after_quote > end
        && start > 1
        && b[start - 1] == b[end]
        && b[..start - 1].trim_ascii_end().ends_with(b"(")
        && b.get(j) == Some(&b',')
    {
        let (vs, ve, quoted) = value_at(b, skip_blank(b, j + 1), b"")?;
        // A quoted word followed by `:` is the next key, not a value.
        if !quoted || b.get(skip_blank(b, ve + 1)) == Some(&b':') {
            return None;
        }
        return value_ok(name, b", ", &b[vs..ve], true, false, 0).map(|(s, e)| (vs + s, vs + e));
    }
    if sep_len == 0 {
        // `--password value`: a flag, a blank, a value.
        let flag_ok = name.first() == Some(&b'-')
            && after_quote == end
            && (start == 0
                || b[start - 1].is_ascii_whitespace()
                || b"\"'(".contains(&b[start - 1]));
        if !flag_ok {
            let (vs, ve, quoted) = spaced_value(b, start, end)?;
            return value_ok(name, b"", &b[vs..ve], quoted, true, 0).map(|(s, e)| (vs + s, vs + e));
        }
        if j == end {
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
    // A string in parentheses, maybe on the next line: `KEY = (\n  "…"`;
    // for `auth=("user", "password")` the second string.
    if b.get(j) == Some(&b'(') {
        let k = skip_space_lines(b, j + 1);
        if matches!(b.get(k), Some(b'"' | b'\'')) {
            j = k;
            let lower = name.to_ascii_lowercase();
            if lower.ends_with(b"auth")
                && let Some((_, ue, true)) = value_at(b, k, b"")
                && b.get(skip_blank(b, ue + 1)) == Some(&b',')
            {
                let p = skip_blank(b, skip_blank(b, ue + 1) + 1);
                let (ps, pe, _) = value_at(b, p, b"")?;
                return plain_value_ok(&b[ps..pe]).then_some((ps, pe));
            }
        }
    }
    // A literal wrapped in a decoder or constructor:
    // `bytes.fromhex("…")`, `SecretStr("…")`, `Buffer.from("…", "hex")`.
    if let Some(k) = wrapped_literal(b, j) {
        j = k;
    }
    let first = value_at(b, j, b"&");
    // An annotated assignment, `token: str = "…"`, `let key: &str = "…"`,
    // `const SECRET: u32 = 7;`: skip the type, the value follows the `=`.
    // A type starts like one (`//-----BEGIN … =` is not a type), and holds
    // no earlier pass's marker: that is a value.
    let type_start = |c: &u8| is_ident_start(*c) || b"&*[?\\".contains(c);
    if colon && first.is_none_or(|(_, _, quoted)| !quoted) && b.get(j).is_some_and(type_start) {
        let window = &b[j..b.len().min(j + 81)];
        let ty = run(window, 0, |c| !b"=\n;,)({\"'".contains(&c));
        let k = j + ty;
        if ty > 0
            && ty <= 80
            && memmem::find(&window[..ty], MARKER_OPEN).is_none()
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
    // A YAML block scalar, `password: |`: the value is the indented line
    // that follows.
    let v = &b[vs..ve];
    if colon && !quoted && matches!(v, b"|" | b">" | b"|-" | b">-" | b"|+" | b">+") {
        let next = skip_space_lines(b, ve);
        let (ns, ne, _) = value_at(b, next, b"")?;
        return plain_value_ok(&b[ns..ne]).then_some((ns, ne));
    }
    value_ok(name, sep, &b[vs..ve], quoted, false, next_on_line(b, ve))
        .map(|(s, e)| (vs + s, vs + e))
}

/// The next non-blank byte after `i` on the same line (0 at a line end).
pub(super) fn next_on_line(b: &[u8], i: usize) -> u8 {
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
pub(super) fn value_ok(
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
    // An earlier pass's marker, returned whole: the name's scanner tells
    // whether the name was dealt with (`name_at`).
    if v.starts_with(MARKER_OPEN) {
        return Some((0, v.len()));
    }
    if !plain_value_ok(v) || is_placeholder(v) {
        return None;
    }
    // A version requirement: `^5.1.1`, `~2.0`, `>=1.4.2`.
    let digits_at = v.iter().take_while(|c| b"^~>=<v".contains(c)).count();
    if v.len() > digits_at
        && v[digits_at].is_ascii_digit()
        && v[digits_at..].contains(&b'.')
        && v[digits_at..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b".-+".contains(&c))
        && v[digits_at..]
            .split(|&c| c == b'.')
            .take(2)
            .all(|p| p.first().is_some_and(u8::is_ascii_digit))
    {
        return None;
    }
    // Keys published by design: Mapbox `pk.eyJ…`, Stripe `pk_live_…`,
    // Supabase `sb_publishable_…`, PostHog `phc_…`.
    if [
        &b"pk.eyJ"[..],
        b"pk_live_",
        b"pk_test_",
        b"sb_publishable_",
        b"phc_",
    ]
    .iter()
    .any(|p| v.starts_with(p))
    {
        return None;
    }
    // YAML tags point elsewhere: `!vault …`, `!secret name`, `!Ref X`.
    if !quoted && v[0] == b'!' && v.get(1).is_some_and(u8::is_ascii_alphabetic) {
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
    // A generated value may hold such a word by chance (`Q7kEYA0…`).
    if ident_path
        && code_style
        && !looks_random(v)
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
        let macro_call =
            rest.first() == Some(&b'!') && matches!(rest.get(1), Some(b'(' | b'[' | b'{'));
        if rest.starts_with(b"::") || rest.first() == Some(&b'<') || macro_call {
            return true;
        }
        // Dotted identifier paths: always when the first segment is a known
        // receiver; in spaced (code-style) assignments whatever it is.
        if rest.first() == Some(&b'.') && is_dotted_path(v) {
            // A spaced `=` with a digit-free path is code (`token =
            // response.data`); after a `:` only a known receiver makes it
            // code, since YAML and prose values have dots too.
            let first = ident;
            let code_path = spaced && !colon && !v.iter().any(u8::is_ascii_digit);
            if code_path || RECEIVERS.iter().any(|r| first == r.as_bytes()) {
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

/// Callee words of a constructor or call that takes credentials
/// positionally: `Client("AC…", "<auth token>")`, `connect("…")`.
const CREDENTIAL_CALLEES: &[&[u8]] = &[
    b"twilio",
    b"pusher",
    b"plaid",
    b"algolia",
    b"stripe",
    b"mailgun",
    b"client",
    b"api",
    b"auth",
    b"session",
    b"login",
    b"connect",
    b"credential",
    b"sdk",
    b"token",
    b"secret",
];

/// String literals passed to a credential-taking call (the trigger is the
/// `(` and quote): those that look random are secrets.
pub(super) fn call_arguments(b: &[u8], i: usize, out: &mut Vec<Span>) {
    // The callee with what leads to it: `Client`, `Twilio::REST::Client.new`,
    // `require('twilio')`.
    let callee_len = b[i.saturating_sub(64)..i]
        .iter()
        .rev()
        .take_while(|&&c| is_ident(c) || b".:()'\"".contains(&c))
        .count();
    let callee = b[i - callee_len..i].to_ascii_lowercase();
    // A setter named after the secret takes any literal: `.password("…")`,
    // `setApiKey("…")`; not a getter or a lookup by name.
    let method_len = b[..i].iter().rev().take_while(|&&c| is_ident(c)).count();
    let method = &b[i - method_len..i];
    let lookup = [
        &b"get"[..],
        b"has",
        b"read",
        b"load",
        b"fetch",
        b"find",
        b"delete",
        b"remove",
        b"lookup",
        b"is",
        b"check",
        b"validate",
        b"verify",
        b"contains",
        b"hash",
        b"mask",
        b"redact",
        b"parse",
        b"print",
        b"log",
    ]
    .iter()
    .any(|p| method.len() > p.len() && method[..p.len()].eq_ignore_ascii_case(p));
    // `HTTPBasicAuth("user", "password")`: the second string, whatever it is.
    let basic = {
        let m = method.to_ascii_lowercase();
        memmem::find(&m, b"basicauth").is_some() || memmem::find(&m, b"digestauth").is_some()
    };
    let setter = method_len > 0 && !lookup && is_secret_name(method);
    if callee_len == 0
        || !(setter
            || basic
            || CREDENTIAL_CALLEES
                .iter()
                .any(|w| memmem::find(&callee, w).is_some()))
    {
        return;
    }
    let mut j = i + 1;
    for arg in 0..6 {
        j = skip_blank(b, j);
        let Some((vs, ve, true)) = value_at(b, j, b"") else {
            return;
        };
        let v = &b[vs..ve];
        let secret = if setter || (basic && arg == 1) {
            plain_value_ok(v) && !v.contains(&b' ')
        } else {
            looks_random(v)
        };
        if secret && !is_placeholder(v) {
            out.push(span(vs, ve, K_ARGUMENT, P_GENERIC));
        }
        j = skip_blank(b, ve + 1);
        if b.get(j) != Some(&b',') {
            return;
        }
        j += 1;
    }
}

fn trimmed_is_empty(t: &[u8]) -> bool {
    t.trim_ascii_start().is_empty()
}

/// SQL's `IDENTIFIED BY 'x'` (the trigger): the quoted password.
pub(super) fn identified_by(b: &[u8], i: usize, n: usize) -> Option<Span> {
    let j = skip_blank(b, i + n);
    let (vs, ve, quoted) = value_at(b, j, b"")?;
    (quoted && plain_value_ok(&b[vs..ve])).then(|| span(vs, ve, K_ASSIGN, P_CONTEXT))
}

/// A `.pgpass` line, `host:port:database:user:password` (the trigger is a
/// port field: `:5432:` or `:*:`): the password.
pub(super) fn pgpass(b: &[u8], i: usize) -> Option<Span> {
    let line_start = line_start(b, i);
    if i - line_start > 512 {
        return None;
    }
    let line_end = line_end(b, i);
    let line = &b[line_start..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > 512 || line.iter().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let fields: Vec<&[u8]> = line.split(|&c| c == b':').collect();
    let port = fields.get(1)?;
    if fields.len() != 5 || !(*port == b"*" || port.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    let pw = fields[4];
    let start = line_start + line.len() - pw.len();
    (!pw.is_empty() && plain_value_ok(pw))
        .then(|| span(start, start + pw.len(), K_ASSIGN, P_CONTEXT))
}

/// A `value` field whose object names a secret before it (`"keyName":
/// "key1", …, "value": "<88 base64>"`, `{"key": "apiKey", "value": …}`):
/// its random-looking value. The trigger is `value`.
pub(super) fn value_field(b: &[u8], i: usize, n: usize) -> Option<Span> {
    if !boundary_before(b, i) || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let mut j = skip_blank(b, skip_quote(b, i + n));
    if !matches!(b.get(j), Some(b':' | b'=')) {
        return None;
    }
    j = skip_blank(b, j + 1);
    let (vs, ve, _) = value_at(b, j, b",;&")?;
    let v = &b[vs..ve];
    let before = b[i.saturating_sub(200)..i].to_ascii_lowercase();
    let names_secret = [&b"key"[..], b"secret", b"password", b"token", b"credential"]
        .iter()
        .any(|w| memmem::find(&before, w).is_some());
    (names_secret && looks_random(v) && !is_placeholder(v))
        .then(|| span(vs, ve, K_ASSIGN, P_GENERIC))
}

/// `Cookie:` and `Set-Cookie:` headers: values of session-like cookies and
/// random-looking ones (`sessionid=…`, `connect.sid=…`; `theme=dark` stays).
pub(super) fn cookies(b: &[u8], i: usize, n: usize, out: &mut Vec<Span>) {
    let end = line_end(b, i);
    let mut k = i + n;
    while k < end {
        k = skip_blank(b, k);
        let name_len = run(b, k, |c| {
            !(c == b'=' || c == b';' || c.is_ascii_whitespace() || c == b'\'' || c == b'"')
        });
        let eq = k + name_len;
        if name_len == 0 || b.get(eq) != Some(&b'=') {
            return;
        }
        let vs = eq + 1;
        let vl = run(b, vs, |c| {
            !(c == b';' || c.is_ascii_whitespace() || c == b'\'' || c == b'"')
        });
        let name = b[k..eq].to_ascii_lowercase();
        let v = &b[vs..vs + vl];
        let session = [
            &b"sess"[..],
            b"sid",
            b"token",
            b"auth",
            b"jwt",
            b"remember",
            b"csrf",
            b"login",
        ]
        .iter()
        .any(|w| memmem::find(&name, w).is_some());
        if vl >= 8 && plain_value_ok(v) && (session || looks_random(v)) {
            out.push(span(vs, vs + vl, K_ASSIGN, P_CONTEXT));
        }
        k = vs + vl;
        if b.get(k) != Some(&b';') {
            return;
        }
        k += 1;
    }
}

/// Calls that only wrap or decode the literal they are given.
const WRAPPERS: &[&[u8]] = &[
    b"fromhex",
    b"unhexlify",
    b"b64decode",
    b"urlsafe_b64decode",
    b"decode",
    b"encode",
    b"from",
    b"new",
    b"secretstr",
    b"secretstring",
    b"secret",
    b"bytes",
    b"bytearray",
    b"str",
    b"string",
    b"tostring",
    b"atob",
    b"getenv_or",
];

/// At `j`, a call of one of [`WRAPPERS`] whose first argument is a quoted
/// literal: where that literal starts.
fn wrapped_literal(b: &[u8], j: usize) -> Option<usize> {
    let path = run(b, j, |c| is_ident(c) || c == b'.' || c == b':');
    let open = j + path;
    if path == 0 || b.get(open) != Some(&b'(') {
        return None;
    }
    let last = b[j..open]
        .rsplit(|&c| c == b'.' || c == b':')
        .next()?
        .to_ascii_lowercase();
    let k = skip_blank(b, open + 1);
    (WRAPPERS.contains(&last.as_slice()) && matches!(b.get(k), Some(b'"' | b'\''))).then_some(k)
}

/// An HCL variable block, `variable "api_token" { … default = "…" }`: the
/// default of a secret-named variable.
fn variable_default(b: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let before = &b[start.saturating_sub(10)..start];
    let after = skip_blank(b, skip_quote(b, end));
    if !before.ends_with(b"variable \"") || b.get(after) != Some(&b'{') {
        return None;
    }
    let window = &b[after..b.len().min(after + 400)];
    let close = memchr::memchr(b'}', window).unwrap_or(window.len());
    let d = after + memmem::find(&window[..close], b"default")?;
    let j = skip_blank(b, d + 7);
    if b.get(j) != Some(&b'=') {
        return None;
    }
    let (vs, ve, quoted) = value_at(b, skip_blank(b, j + 1), b"")?;
    value_ok(&b[start..end], b" = ", &b[vs..ve], quoted, false, 0).map(|(s, e)| (vs + s, vs + e))
}
