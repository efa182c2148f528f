//! Cleaning a whole hook payload: secret files, every string, the event cap.

use std::borrow::Cow;
use std::io;

use serde_json::Value;

use crate::cap::cap_plain;
use crate::detect::{
    self, K_ASSIGN, K_SECRET_FILE, K_SECRET_OUTPUT, KINDS, is_placeholder, is_secret_key,
    looks_random, mentions_secret, plain_value_ok,
};
use crate::shape::{
    ENVELOPE_KEYS, ITEMS_CUT_PREFIX, ITEMS_CUT_SUFFIX, KEYS_CUT_KEY, items_cut_marker,
};
use crate::{CleanReport, Redactor};

/// Keys under `tool_input` kept when the tool touched a secret file: paths
/// and options, not contents.
const INPUT_KEEP: &[&str] = &[
    "file_path",
    "notebook_path",
    "path",
    "pattern",
    "glob",
    "output_mode",
    "type",
    "description",
    "cell_type",
    "cell_id",
    "edit_mode",
    "command",
];

/// Keys under `tool_response` kept when the tool touched a secret file.
const RESPONSE_KEEP: &[&str] = &[
    "filePath",
    "file_path",
    "notebook_path",
    "path",
    "type",
    "mode",
    "filenames",
    "cwd",
];

/// Where a hook payload names the file a tool worked on.
const FILE_POINTERS: &[&str] = &[
    "/tool_input/file_path",
    "/tool_input/notebook_path",
    "/tool_input/path",
    "/tool_response/filePath",
    "/tool_response/file_path",
    "/tool_response/file/filePath",
];

/// The per-field cap is never shrunk below this by the event cap.
const EVENT_FIELD_FLOOR: usize = 256;

pub(crate) fn clean_event(r: &Redactor, payload: &mut Value, report: &mut CleanReport) {
    secret_files(r, payload, report);
    walk(r, payload, false, false, report);
    fit_event(r, payload, report);
}

/// Replace file contents when the tool touched a secret file, and a
/// command's output when the command prints a secret (`gh auth token`,
/// `vault kv get`, `echo $API_TOKEN`).
fn secret_files(r: &Redactor, payload: &mut Value, report: &mut CleanReport) {
    let touches_file = FILE_POINTERS.iter().any(|p| {
        payload
            .pointer(p)
            .and_then(Value::as_str)
            .is_some_and(|path| r.is_secret_file(path))
    });
    let command = payload
        .pointer("/tool_input/command")
        .and_then(Value::as_str);
    let command_mentions = !touches_file && command.is_some_and(|c| r.files.command_mentions(c));
    let prints_secret =
        !(touches_file || command_mentions) && command.is_some_and(detect::prints_secret);
    if !(touches_file || command_mentions || prints_secret) {
        return;
    }
    let Some(obj) = payload.as_object_mut() else {
        return;
    };
    let kind = if prints_secret {
        K_SECRET_OUTPUT
    } else {
        K_SECRET_FILE
    };
    let marker = Redactor::marker(KINDS[usize::from(kind)]);
    let mut n = 0;
    if touches_file && let Some(input) = obj.get_mut("tool_input") {
        replace_contents(input, INPUT_KEEP, &marker, &mut n);
    }
    if let Some(response) = obj.get_mut("tool_response") {
        replace_contents(response, RESPONSE_KEEP, &marker, &mut n);
    }
    if n > 0 {
        report.add(KINDS[usize::from(kind)], n);
    }
}

/// Replace every non-empty string under `v` with `marker`,
/// except under object keys in `keep`. An array of strings (a patch's
/// `lines`) becomes a single marker.
fn replace_contents(v: &mut Value, keep: &[&str], marker: &str, n: &mut usize) {
    match v {
        Value::String(s) if !s.is_empty() && !s.starts_with("[REDACTED:") => {
            *s = marker.to_string();
            *n += 1;
        }
        Value::Array(items) => {
            if !items.is_empty() && items.iter().all(Value::is_string) {
                if items
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                {
                    *items = vec![Value::String(marker.to_string())];
                    *n += 1;
                }
            } else {
                for x in items {
                    replace_contents(x, keep, marker, n);
                }
            }
        }
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if !keep.contains(&k.as_str()) {
                    replace_contents(x, keep, marker, n);
                }
            }
        }
        _ => {}
    }
}

/// Clean every string value; values under a secret-looking key are replaced
/// whole.
///
/// `container`: `v` sits under a key naming secrets (`"api_keys": {…}`), so
/// its random-looking keys are secrets themselves.
fn walk(r: &Redactor, v: &mut Value, secret_key: bool, container: bool, report: &mut CleanReport) {
    match v {
        Value::String(s) => {
            if secret_key && plain_value_ok(s.as_bytes()) && !is_placeholder(s.as_bytes()) {
                *s = r.marker_of(K_ASSIGN).to_string();
                report.add(KINDS[usize::from(K_ASSIGN)], 1);
                return;
            }
            if let Cow::Owned(clean) = r.clean(s, r.max_field_bytes, report) {
                *s = clean;
            }
        }
        Value::Array(items) => {
            across_lines(r, items, report);
            for x in items {
                walk(r, x, secret_key, container, report);
            }
        }
        Value::Object(map) => {
            rename_secret_keys(r, map, container, report);
            if let Some(value_key) = secret_pair_value(map)
                && let Some(Value::String(v)) = map.get_mut(value_key)
            {
                *v = r.marker_of(K_ASSIGN).to_string();
                report.add(KINDS[usize::from(K_ASSIGN)], 1);
            }
            for (k, x) in map.iter_mut() {
                let sk = secret_key || is_secret_key(k);
                walk(r, x, sk, mentions_secret(k.as_bytes()), report);
            }
        }
        _ => {}
    }
}

/// An array of lines (a patch's `lines`, one string per line): a secret
/// over several lines (a private key, a concatenation, a folded token), or
/// named on another line (`login u` above `password X`, `"keyName"` above
/// `"value"`), is seen only with the lines together. Detect on the joined
/// lines and redact each line's part of what was found. An array holding a
/// text of several lines is a list of texts, not of lines: joined, the end
/// of one would run into the next.
fn across_lines(r: &Redactor, items: &mut [Value], report: &mut CleanReport) {
    let is_line = |x: &Value| x.as_str().is_some_and(|s| !s.contains('\n'));
    if items.len() < 2 || !items.iter().all(is_line) {
        return;
    }
    let mut joined = String::new();
    let mut starts = Vec::with_capacity(items.len());
    for x in items.iter() {
        starts.push(joined.len());
        joined.push_str(x.as_str().unwrap_or_default());
        joined.push('\n');
    }
    if joined.len() > r.max_field_bytes {
        return;
    }
    let spans = r.find_spans(&joined);
    // Last first, so that earlier offsets in a line stay valid.
    for sp in spans.iter().rev() {
        report.add(r.kind_name(sp.kind), 1);
        for (k, x) in items.iter_mut().enumerate() {
            let Value::String(line) = x else { continue };
            let (ls, le) = (starts[k], starts[k] + line.len());
            let (a, b) = (sp.start.max(ls), sp.end.min(le));
            if a >= b {
                continue;
            }
            let (a, b) = (a - ls, b - ls);
            let mut out = String::with_capacity(line.len());
            out.push_str(&line[..a]);
            out.push_str(r.marker_of(sp.kind));
            out.push_str(&line[b..]);
            *line = out;
        }
    }
}

/// A name/value object whose name says its value is a secret:
/// `{"key": "apiKey", "value": …}` (Postman), `{"name": "DB_PASSWORD",
/// "value": …}` (Kubernetes, ECS), `{"keyName": "key1", "value": <random>}`
/// (`az storage account keys list`). Returns the value's key.
fn secret_pair_value(map: &serde_json::Map<String, Value>) -> Option<&'static str> {
    let value_key = ["value", "Value"]
        .into_iter()
        .find(|k| map.contains_key(*k))?;
    let v = map.get(value_key)?.as_str()?.as_bytes();
    if !plain_value_ok(v) || is_placeholder(v) {
        return None;
    }
    let named = map.iter().any(|(k, x)| {
        if k == value_key {
            return false;
        }
        let by_name = matches!(k.as_str(), "key" | "Key" | "name" | "Name")
            && x.as_str().is_some_and(|n| {
                is_secret_key(n) || (mentions_secret(n.as_bytes()) && looks_random(v))
            });
        // `keyName`, `secretId`: a field about the key beside its value.
        let lower = k.to_ascii_lowercase();
        let about_secret = ["key", "secret", "password", "token"]
            .iter()
            .any(|w| lower.contains(w));
        by_name || (about_secret && looks_random(v))
    });
    named.then_some(value_key)
}

/// Keys shorter than this are not cleaned: no secret is that short.
const MIN_SECRET_KEY: usize = 16;

/// Object keys are text too: a token used as a key (`{"ghp_…": …}`) is
/// replaced by its marker; keys that would collide get a numbered suffix so
/// no value is lost.
fn rename_secret_keys(
    r: &Redactor,
    map: &mut serde_json::Map<String, Value>,
    container: bool,
    report: &mut CleanReport,
) {
    let renames: Vec<(String, String)> = map
        .keys()
        // Field names (`session_id`, `tool_input`) are short; a key that
        // holds a secret is not.
        .filter(|k| k.len() >= MIN_SECRET_KEY)
        .filter_map(|k| match r.clean(k, r.max_field_bytes, report) {
            Cow::Owned(clean) => Some((k.clone(), clean)),
            Cow::Borrowed(_) if container && looks_random(k.as_bytes()) => {
                report.add(KINDS[usize::from(K_ASSIGN)], 1);
                Some((k.clone(), r.marker_of(K_ASSIGN).to_string()))
            }
            Cow::Borrowed(_) => None,
        })
        .collect();
    for (old, clean) in renames {
        let Some(v) = map.remove(&old) else { continue };
        let mut key = clean.clone();
        let mut n = 2;
        while map.contains_key(&key) {
            key = format!("{clean} ({n})");
            n += 1;
        }
        map.insert(key, v);
    }
}

/// Counts bytes written.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size of `v` serialized as compact JSON.
pub(crate) fn json_size(v: &Value) -> usize {
    let mut c = Counter(0);
    // Writing to a Counter cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Enforce `max_event_bytes` (0 disables it). Strings are already clean
/// here, so shrinking only cuts; no detector runs again.
fn fit_event(r: &Redactor, payload: &mut Value, report: &mut CleanReport) {
    let max = r.max_event_bytes;
    if max == 0 {
        return;
    }
    let mut size = json_size(payload);
    let mut cap = r.max_field_bytes;
    while size > max && cap > EVENT_FIELD_FLOOR {
        cap = (cap / 2).max(EVENT_FIELD_FLOOR);
        recap(payload, cap, &mut report.bytes_cut);
        size = json_size(payload);
    }
    if size <= max {
        return;
    }
    // Still too big with every string at the floor: many strings. Shorten
    // long arrays (file lists, patch lines), halving their length.
    let mut limit = widest(payload, true) / 2;
    while size > max && limit >= 1 {
        shorten_arrays(payload, limit, &mut report.bytes_cut);
        size = json_size(payload);
        limit /= 2;
    }
    // Many keys: drop object entries the same way (the envelope stays).
    let mut limit = widest(payload, false) / 2;
    while size > max && limit >= 1 {
        shorten_objects(payload, limit, true, &mut report.bytes_cut);
        size = json_size(payload);
        limit /= 2;
    }
    // Whatever shape is left (deep nesting): keep only the envelope.
    if size > max
        && let Some(map) = payload.as_object_mut()
    {
        let before = size;
        let mut cut = take_keys_cut(map);
        map.retain(|k, _| {
            let keep = ENVELOPE_KEYS.contains(&k.as_str());
            cut += usize::from(!keep);
            keep
        });
        map.insert(KEYS_CUT_KEY.into(), Value::from(cut));
        report.bytes_cut += before.saturating_sub(json_size(payload));
    }
}

/// The count an earlier pass recorded under [`KEYS_CUT_KEY`], removed.
fn take_keys_cut(map: &mut serde_json::Map<String, Value>) -> usize {
    map.remove(KEYS_CUT_KEY)
        .and_then(|n| n.as_u64())
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Keep the first `limit` entries of every object (plus, at the top level,
/// the envelope), recording the count cut under [`KEYS_CUT_KEY`].
fn shorten_objects(v: &mut Value, limit: usize, top_level: bool, bytes_cut: &mut usize) {
    match v {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|x| shorten_objects(x, limit, false, bytes_cut)),
        Value::Object(map) => {
            let mut already = take_keys_cut(map);
            let mut kept = 0;
            map.retain(|k, x| {
                if top_level && ENVELOPE_KEYS.contains(&k.as_str()) {
                    return true;
                }
                kept += 1;
                if kept <= limit {
                    return true;
                }
                *bytes_cut += k.len() + json_size(x);
                already += 1;
                false
            });
            for x in map.values_mut() {
                shorten_objects(x, limit, false, bytes_cut);
            }
            if already > 0 {
                map.insert(KEYS_CUT_KEY.into(), Value::from(already));
            }
        }
        _ => {}
    }
}

fn recap(v: &mut Value, cap: usize, bytes_cut: &mut usize) {
    match v {
        Value::String(s) => {
            if let Some((out, cut)) = cap_plain(s, cap) {
                *s = out;
                *bytes_cut += cut;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| recap(x, cap, bytes_cut)),
        Value::Object(map) => map.values_mut().for_each(|x| recap(x, cap, bytes_cut)),
        _ => {}
    }
}

/// The most items of any array (`arrays`) or entries of any object in `v`.
fn widest(v: &Value, arrays: bool) -> usize {
    let (own, children) = match v {
        Value::Array(items) => (
            if arrays { items.len() } else { 0 },
            items.iter().map(|x| widest(x, arrays)).max(),
        ),
        Value::Object(map) => (
            if arrays { 0 } else { map.len() },
            map.values().map(|x| widest(x, arrays)).max(),
        ),
        _ => (0, None),
    };
    own.max(children.unwrap_or(0))
}

/// The count in an earlier `…[mnemo: N items cut]…` element.
fn items_cut(v: &Value) -> Option<usize> {
    v.as_str()?
        .strip_prefix(ITEMS_CUT_PREFIX)?
        .strip_suffix(ITEMS_CUT_SUFFIX)?
        .parse()
        .ok()
}

fn shorten_arrays(v: &mut Value, limit: usize, bytes_cut: &mut usize) {
    match v {
        Value::Array(items) => {
            // An earlier pass's marker is not an item.
            let mut already = 0;
            if let Some(n) = items.last().and_then(items_cut) {
                already = n;
                items.pop();
            }
            if items.len() > limit {
                let removed: Vec<Value> = items.drain(limit..).collect();
                *bytes_cut += removed.iter().map(json_size).sum::<usize>();
                already += removed.len();
            }
            for x in items.iter_mut() {
                shorten_arrays(x, limit, bytes_cut);
            }
            if already > 0 {
                items.push(items_cut_marker(already));
            }
        }
        Value::Object(map) => map
            .values_mut()
            .for_each(|x| shorten_arrays(x, limit, bytes_cut)),
        _ => {}
    }
}
