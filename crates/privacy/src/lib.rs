//! mnemo's privacy layer: every string is made safe here *before* anything
//! is written to disk.
//!
//! # What happens to a string ([`Redactor::clean_text`])
//!
//! 1. **Drop blocks**, on the whole string: `<private>…</private>` (what the
//!    user asked not to keep), `<mnemo-context>…</mnemo-context>` (mnemo's
//!    own injected memories, so memories never feed on themselves) and
//!    `<claude-mem-context>…</claude-mem-context>` (the same for users
//!    coming from claude-mem). Tag names match case-insensitively; an
//!    unclosed opening tag drops everything to the end of the string. This
//!    comes first because nothing inside such a block may survive in any
//!    form, not even as a redaction count or a capped fragment. It is a
//!    `memchr` scan, fast on any size.
//! 2. **Cut to windows.** A string longer than the per-field cap
//!    ([`PrivacyOptions::max_field_bytes`]) only keeps a head (about 3/4 of
//!    the cap) and a tail (about 1/4). Before redacting, the two windows are
//!    taken 4 KiB *wider* than what will be kept, on the inner side. So a
//!    secret straddling the cut point is seen whole by the detectors, and no
//!    regex ever runs over a 50 MB string.
//! 3. **Redact secrets** in the (windowed) text: provider tokens known by
//!    their shape (`ghp_…`, `glpat-…`, `SG.….…`, `dop_v1_<hex>`, Discord
//!    and Telegram bot tokens, …), private keys, passwords in URLs and
//!    connection strings, `NAME=value` / `NAME: value` / `<name>value</name>`
//!    whose name looks secret in every config dialect, passwords on command
//!    lines (`mysql -pX`, `sshpass -p X`, `echo X | docker login
//!    --password-stdin`, `vault login X`), credentials passed positionally to
//!    a client (`Client("AC…", "<token>")`), rows of command-output tables
//!    (`password    X` from `vault kv get`, `│ API_TOKEN │ X │`), the
//!    output of a secret-printing command in a pasted transcript
//!    (`$ gh auth token` and the lines after it), session cookies, `value`
//!    fields of objects that name a secret (`{"key": "apiKey", "value": …}`),
//!    `.pgpass` lines, SQL `PASSWORD '…'` / `IDENTIFIED BY '…'`, literals
//!    wrapped in a decoder (`bytes.fromhex("…")`), grep output from secret
//!    files,
//!    and the user's own patterns ([`PrivacyOptions::extra_patterns`]). Each
//!    secret becomes `[REDACTED:<kind>]`. The built-in detectors are
//!    hand-written scanners started by literal triggers (`ghp_`, `sk-`,
//!    `token`, `://`, `mysql`, …) found in one pass over a compile-time
//!    table: a hook process is short-lived, and compiling a set of regexes
//!    would cost more than cleaning a typical event. Two more passes look
//!    for wrapped and split secrets: base64 runs are decoded *for the check*
//!    (bounded to 8 KiB each; a kubeconfig `client-key-data`, a docker
//!    `"auth"`, a base64 service-account JSON) and the encoded run is
//!    redacted when the decoded text holds a secret; and text around string
//!    concatenations (`"ab" + "cd"`, Python's `"ab" "cd"`), shell `\`
//!    continuations and lines folded inside a token is joined in a copy,
//!    where what is found across a join is redacted in the original. Only
//!    the user's own patterns are regexes.
//! 4. **Trim to the cap**: head, then `\n…[mnemo: N bytes cut]…\n`, then
//!    tail, on UTF-8 character boundaries. Raw text from the safety margins
//!    is never emitted.
//!
//! # What happens to an event ([`Redactor::clean_event`])
//!
//! Before the strings are walked, secret files are handled: when the tool
//! touched a secret file (`.env`, `id_rsa`, `*.pem`, … see
//! [`Redactor::is_secret_file`]), the file *contents* in the payload are
//! replaced with `[REDACTED:secret-file]` while paths are kept; for `Bash`,
//! a command naming a secret file has its output replaced, and so has a
//! command that prints a secret (`gh auth token`, `heroku auth:token`,
//! `aws ecr get-login-password`, `vault kv get`, `kubectl get secret`,
//! `echo $API_TOKEN`: `[REDACTED:secret-output]`). Then every string value
//! is cleaned as above, and so is every object key (a token used as a key
//! is renamed to its marker, and so is a random-looking key of an object
//! of secrets, `"api_keys": {"<key>": …}`), except that a value under a key
//! that looks secret (`"api_key": …`) is replaced whole. An array of
//! one-line strings (an Edit's `structuredPatch` lines) is also read as one
//! text (an array holding a text of several lines is a list of texts, and
//! is not), so that a
//! private key, a concatenation or a `login`/`password` pair spread over
//! its elements is found. Diff markers and `grep -n` prefixes at line
//! starts (`+`, `path:12:`) are looked through the same way. Last, if the serialized
//! event is still over [`PrivacyOptions::max_event_bytes`], the per-field
//! cap is halved (down to 256 bytes) and already-clean strings re-cut until
//! it fits, and as a last resort long arrays are shortened.
//!
//! # Kinds
//!
//! Markers are `[REDACTED:<kind>]`, with the kinds of [`BUILTIN_KINDS`]:
//! provider kinds named after the provider (`github-token`, `gitlab-token`,
//! `pypi-token`, `sendgrid-key`, `vault-token`, `discord-token`,
//! `telegram-token`, `shopify-token`, …, see
//! the list), `private-key` (PEM/PGP blocks), `jwt`, `url-password`,
//! `signed-url` (`sig=`, `X-Amz-Signature=`), `sentry-dsn`,
//! `bearer-token` (also other `Authorization:` schemes),
//! `secret-assignment` (`NAME=value` with a secret-looking name, and
//! values under secret-looking JSON keys), `basic-auth` (`curl -u
//! user:password`, a base64 `user:password`), `password-flag` (a password
//! on a command line), `secret-argument` (a credential passed positionally
//! to a client), `secret-file` and `secret-output`; plus the names of the
//! user's [`PrivacyOptions::extra_patterns`]. When detections overlap, the
//! more specific kind names the marker
//! (`GITHUB_TOKEN=[REDACTED:github-token]`); a secret found inside base64
//! or across a join names the whole span with its own kind.
//!
//! References to a secret are not secrets and stay: names whose last word
//! says so (`passwordSecretName`, `tokenUrl`, `PASSWORD_FILE`,
//! `existingSecret`), YAML tags (`!vault …`, `!secret x`), variables and
//! templates (`${VAR}`, `$(cat f)`, `${{ secrets.X }}`, `{{ x }}`), and
//! placeholders (`<your-token>`, `your-api-key-here`, `changeme`,
//! `xxxxxxxx`, `sk-xxxx`, `****`), version requirements (`^5.1.1`) and
//! keys published by design (`pk_live_…`, Mapbox `pk.eyJ…`). A value
//! named as a digest (`password_hash`, `hashed_password`) stays too. A name
//! that only mentions a secret word (`OPENAI_KEY`, `cache_key`,
//! `KEY_PART_1`) has its value redacted only when the value looks
//! generated (a run of 8+ characters mixing letters and digits).
//!
//! # Known limits
//!
//! Over-redaction is preferred to leaks; see the crate's tests for the
//! deliberate trade-offs. Not caught: a secret with no recognisable prefix,
//! name or command around it (a bare password on its own line, a random
//! string in prose), a bare multi-word value (`password: two words` keeps
//! `words`), a `name: Capitalised` YAML value (read as a type annotation),
//! a spaced `name = a.b` value without digits (read as code), a secret
//! split in ways other than concatenation, continuation or folding (built
//! up in a loop, in a list), encodings other than base64 (hex, URL-encoding
//! of a whole assignment), and a secret written to a secret file by a
//! shell command (`echo x > .env` keeps its command).
//!
//! Cleaning is idempotent on text it did not cut, as team memory needs (a
//! memory is cleaned again before it is shared, and one that changed would
//! be sent again). To the detectors a marker `[REDACTED:<kind>]` of a kind
//! the redactor knows is one opaque value, judged already: no trigger
//! inside it starts a scanner, no span that reads into it or holds it is
//! kept (a private key's block keeps its pieces around it), a name whose
//! value it is was dealt with, and it is never part of a type, a program
//! or a name's start (`detect/markers.rs`). And since a detector may read
//! a value by what surrounds it, which a marker can change, a string with
//! redactions is looked at again until nothing more is found (at most four
//! passes). Next to a cut, a second cleaning may redact a little more: a
//! value judged harmless by what followed it (`Authorization: eyJx"…` in
//! code) can look like a secret once what followed was cut away. It never
//! restores anything.

#![warn(missing_docs)]

mod blocks;
mod cap;
mod detect;
mod event;
mod files;
mod shape;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::bytes::{Regex, RegexBuilder};

use crate::cap::{MARGIN, MIN_FIELD_CAP};
use crate::detect::{KINDS, P_USER, Span};
use crate::files::SecretFiles;

pub use crate::files::BUILTIN_SECRET_FILES;
pub use crate::shape::{ENVELOPE_KEYS, MAX_PAYLOAD_VALUES, Parsed, parse_bounded};

/// Whether `tool_name` is one of mnemo's own MCP tools, as Claude Code names
/// them: `mcp__<server>__<tool>` for a server named `mnemo`, however a plugin
/// prefixes it (`mcp__plugin_mnemo_mnemo__search`). What they return is
/// memory already kept, so it must never become memory again.
pub fn is_own_tool(tool_name: &str) -> bool {
    let Some((server, tool)) = tool_name
        .strip_prefix("mcp__")
        .and_then(|rest| rest.split_once("__"))
    else {
        return false;
    };
    !tool.is_empty()
        && (server == "mnemo" || (server.starts_with("plugin_") && server.ends_with("_mnemo")))
}

/// How many times at most a string is redacted until nothing more is found
/// (every cleaning of a string small enough to scan whole): one, then one
/// that finds nothing, for all but contrived text.
const MAX_PASSES: usize = 4;

/// Default for [`PrivacyOptions::max_field_bytes`]: 16 KiB.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 16 * 1024;
/// Default for [`PrivacyOptions::max_event_bytes`]: 256 KiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 256 * 1024;

/// The kinds of secret the built-in detectors report, as they appear in
/// markers (`[REDACTED:<kind>]`) and in [`CleanReport::redactions`].
pub const BUILTIN_KINDS: &[&str] = &KINDS;

/// Settings for a [`Redactor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyOptions {
    /// Extra secret patterns from the user's config: (name, regex). A match
    /// becomes `[REDACTED:<name>]`. When the regex has a capture group named
    /// `secret`, only that group is redacted (`token=(?P<secret>\w+)`).
    ///
    /// Patterns use the `regex` crate's syntax with ASCII semantics: `\w`,
    /// `\d`, `\s`, `\b` and `(?i)` are ASCII-only, which compiles about ten
    /// times faster than their Unicode forms (this runs in every hook
    /// process). Write `(?u)` to opt a pattern into Unicode. Matches are
    /// widened to whole UTF-8 characters.
    pub extra_patterns: Vec<(String, String)>,
    /// Extra glob patterns added to the built-in secret-file list
    /// ([`BUILTIN_SECRET_FILES`]). A glob without `/` is matched against a
    /// path's file name (`*.key`, `secrets.yaml`); one with `/` against the
    /// whole path (`deploy/*.json` matches `/repo/deploy/prod.json`).
    /// Matching is ASCII case-insensitive.
    pub secret_files: Vec<String>,
    /// Per-string cap in bytes (default 16 KiB, at least 64 is used).
    /// Longer strings keep head and tail with a marker saying how many bytes
    /// were cut.
    pub max_field_bytes: usize,
    /// Cap for a whole serialized event (default 256 KiB; 0 disables it): if
    /// exceeded after per-field capping, the per-field cap is halved
    /// repeatedly (not below 256 bytes) until it fits, and if even that is
    /// not enough, long arrays are shortened (ending with a
    /// `…[mnemo: N items cut]…` element). An event with thousands of keys
    /// can still end up over the cap.
    pub max_event_bytes: usize,
}

impl Default for PrivacyOptions {
    fn default() -> Self {
        PrivacyOptions {
            extra_patterns: Vec::new(),
            secret_files: Vec::new(),
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// Why a [`Redactor`] could not be built: a bad user setting.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// A user pattern in `privacy.extra_patterns` does not compile.
    #[error("privacy.extra_patterns.{name}: {source}")]
    InvalidPattern {
        /// The pattern's name (its key in the config).
        name: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// A user pattern in `privacy.extra_patterns` has a name that cannot
    /// appear in a marker (empty, or containing `]` or whitespace).
    #[error("privacy.extra_patterns.{name}: the name must be non-empty, without `]` or whitespace")]
    InvalidPatternName {
        /// The offending name.
        name: String,
    },
    /// A glob in `privacy.secret_files` does not parse.
    #[error("privacy.secret_files: {pattern}: {source}")]
    InvalidGlob {
        /// The glob as written.
        pattern: String,
        /// The glob error.
        #[source]
        source: globset::Error,
    },
}

/// What cleaning did, as counts only — never the secret text. For logging.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanReport {
    /// Redactions per kind (`"github-token" -> 2`). Besides the secret kinds
    /// this counts `secret-file` (file contents replaced), and the dropped
    /// `mnemo-context` / `claude-mem-context` blocks.
    pub redactions: BTreeMap<String, usize>,
    /// `<private>` blocks dropped (an unclosed one included).
    pub private_spans: usize,
    /// Bytes cut by capping (per-field and whole-event).
    pub bytes_cut: usize,
}

impl CleanReport {
    /// Total redactions of every kind.
    pub fn total_redactions(&self) -> usize {
        self.redactions.values().sum()
    }

    /// Did cleaning change anything?
    pub fn is_empty(&self) -> bool {
        self.redactions.is_empty() && self.private_spans == 0 && self.bytes_cut == 0
    }

    fn add(&mut self, kind: &str, n: usize) {
        if let Some(c) = self.redactions.get_mut(kind) {
            *c += n;
        } else {
            self.redactions.insert(kind.to_string(), n);
        }
    }
}

/// A user pattern from [`PrivacyOptions::extra_patterns`].
#[derive(Debug)]
struct UserPattern {
    re: Regex,
    /// Index of the `secret` capture group, if any.
    group: Option<usize>,
}

/// Cleans strings and hook payloads. Build one per process with
/// [`Redactor::new`]; it is cheap (built-in regexes compile lazily, on
/// first need, and are shared by all redactors).
#[derive(Debug)]
pub struct Redactor {
    user: Vec<UserPattern>,
    /// Kind names: [`BUILTIN_KINDS`] then the user patterns' names.
    kinds: Vec<String>,
    /// `[REDACTED:<kind>]` per kind.
    markers: Vec<String>,
    files: SecretFiles,
    max_field_bytes: usize,
    max_event_bytes: usize,
}

impl Redactor {
    /// Build a redactor. Errors name the offending user setting, e.g.
    /// `privacy.extra_patterns.acme: regex parse error: ...`.
    pub fn new(opts: &PrivacyOptions) -> Result<Redactor, PrivacyError> {
        let mut kinds: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
        let mut user = Vec::with_capacity(opts.extra_patterns.len());
        for (name, pattern) in &opts.extra_patterns {
            if name.is_empty() || name.contains(']') || name.contains(char::is_whitespace) {
                return Err(PrivacyError::InvalidPatternName { name: name.clone() });
            }
            let re = RegexBuilder::new(pattern)
                .unicode(false)
                .build()
                .map_err(|source| PrivacyError::InvalidPattern {
                    name: name.clone(),
                    source,
                })?;
            let group = re.capture_names().position(|n| n == Some("secret"));
            user.push(UserPattern { re, group });
            kinds.push(name.clone());
        }
        let markers = kinds.iter().map(|k| format!("[REDACTED:{k}]")).collect();
        Ok(Redactor {
            user,
            kinds,
            markers,
            files: SecretFiles::new(&opts.secret_files)?,
            max_field_bytes: opts.max_field_bytes.max(MIN_FIELD_CAP),
            max_event_bytes: opts.max_event_bytes,
        })
    }

    /// Strip private/context blocks, redact secrets, cap to
    /// `max_field_bytes`. See the crate docs for the order and why.
    pub fn clean_text(&self, text: &str) -> String {
        let mut report = CleanReport::default();
        self.clean_text_with_report(text, &mut report).into_owned()
    }

    /// [`Redactor::clean_text`], borrowing when nothing changed and adding
    /// what was done to `report`.
    pub fn clean_text_with_report<'a>(
        &self,
        text: &'a str,
        report: &mut CleanReport,
    ) -> Cow<'a, str> {
        self.clean(text, self.max_field_bytes, report)
    }

    /// Clean a whole Claude Code hook payload in place and report what was
    /// done: secret-file contents replaced, every string value cleaned,
    /// values under secret-looking keys replaced, then the whole-event cap.
    pub fn clean_event(&self, payload: &mut serde_json::Value) -> CleanReport {
        let mut report = CleanReport::default();
        event::clean_event(self, payload, &mut report);
        report
    }

    /// Is `path` a secret file (by file name: `.env`, `.env.*`, `*.env`,
    /// `*.pem`, `*.key`, `id_rsa*`… but not `*.pub`, nor `.env.example`,
    /// `.env.sample`, `.env.template`; or by a user glob)?
    pub fn is_secret_file(&self, path: &str) -> bool {
        self.files.is_secret(path)
    }

    /// The marker that replaces a secret of `kind` (`[REDACTED:<kind>]`).
    pub fn marker(kind: &str) -> String {
        format!("[REDACTED:{kind}]")
    }

    fn marker_of(&self, kind: u16) -> &str {
        &self.markers[usize::from(kind)]
    }

    fn kind_name(&self, kind: u16) -> &str {
        &self.kinds[usize::from(kind)]
    }

    /// All redaction spans of `s`, sorted and merged; none overlaps a
    /// marker of an earlier pass ([`detect::Markers::exclude`]).
    fn find_spans(&self, s: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        let markers = detect::Markers::find(s.as_bytes(), &self.kinds);
        detect::builtin_spans(s, &self.kinds, &markers, &mut spans);
        for (i, up) in self.user.iter().enumerate() {
            let kind = u16::try_from(KINDS.len() + i).unwrap_or(u16::MAX);
            for caps in up.re.captures_iter(s.as_bytes()) {
                let m = match up.group {
                    Some(g) => caps.get(g),
                    None => caps.get(0),
                };
                if let Some(m) = m.filter(|m| !m.is_empty()) {
                    spans.push(Span {
                        start: m.start(),
                        end: m.end(),
                        kind,
                        prio: P_USER,
                    });
                }
            }
        }
        self.files.grep_lines(s, &mut spans);
        markers.exclude(&mut spans);
        cap::merge(s, &mut spans);
        spans
    }

    /// The whole pipeline for one string with a given cap.
    fn clean<'a>(&self, text: &'a str, cap: usize, report: &mut CleanReport) -> Cow<'a, str> {
        let mut stripped_counts = blocks::Stripped::default();
        let stripped = blocks::strip(text, &mut stripped_counts);
        report.private_spans += stripped_counts.private;
        if stripped_counts.mnemo_context > 0 {
            report.add(blocks::TAGS[1], stripped_counts.mnemo_context);
        }
        if stripped_counts.claude_mem_context > 0 {
            report.add(blocks::TAGS[2], stripped_counts.claude_mem_context);
        }

        let marker = &self.markers;
        let mut emit = |k: u16| report.add(self.kind_name(k), 1);

        if stripped.len() <= cap + 2 * MARGIN {
            // Small enough to redact whole, then cut what is left. Text with
            // redactions is looked at again until nothing more is found: a
            // detector may read a value by what surrounds it, and a marker
            // put there can change that reading. So a second cleaning finds
            // nothing (memories are cleaned again before they are shared).
            let mut text = stripped;
            for _ in 0..MAX_PASSES {
                let spans = self.find_spans(&text);
                if spans.is_empty() {
                    break;
                }
                text = Cow::Owned(cap::render_all(&text, &spans, marker, &mut emit));
            }
            return cap::cap_cow(text, cap, &mut report.bytes_cut);
        }

        // Large: redact only the two windows (with their safety margins).
        let s: &str = &stripped;
        let (hb, tb) = cap::budgets(cap);
        // Raw text may come from [0, head_safe) and [tail_safe, len); the
        // detectors also see MARGIN bytes beyond each of those bounds.
        let head_safe = cap::ceil_boundary(s, hb);
        let hw_end = cap::floor_boundary(s, head_safe + MARGIN);
        let tail_safe_abs = cap::floor_boundary(s, s.len() - tb);
        let tw_start = cap::ceil_boundary(s, tail_safe_abs - MARGIN);
        let head_w = &s[..hw_end];
        let tail_w = &s[tw_start..];
        let head_spans = self.find_spans(head_w);
        let tail_spans = self.find_spans(tail_w);
        let tail_safe = tail_safe_abs - tw_start;
        let (head, head_in) =
            cap::render_head(head_w, &head_spans, hb, head_safe, marker, &mut emit);
        let (tail, tail_in) =
            cap::render_tail(tail_w, &tail_spans, tb, tail_safe, marker, &mut emit);
        let cut = tw_start + tail_in - head_in;
        report.bytes_cut += cut;
        let cut_marker = cap::cut_marker(cut);
        let mut out = String::with_capacity(head.len() + cut_marker.len() + tail.len());
        out.push_str(&head);
        out.push_str(&cut_marker);
        out.push_str(&tail);
        Cow::Owned(out)
    }
}
