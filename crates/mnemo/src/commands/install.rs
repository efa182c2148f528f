//! `mnemo install` / `mnemo uninstall`: register mnemo's hooks and MCP
//! server with Claude Code, and take them out again.
//!
//! User scope writes `~/.claude/settings.json` (hooks) and `~/.claude.json`
//! (top-level `mcpServers`); `--project` writes the repository's
//! `.claude/settings.json` and `.mcp.json`. Files are merged, not replaced:
//! key order and everything that is not mnemo's are kept, a timestamped
//! backup is made before any write, and writes are atomic.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mnemo_agent::claude_code::HookEvent;
use mnemo_agent::claude_code::event::{self, Registration};
use mnemo_agent::claude_code::settings::{self, HOOK_SUBCOMMAND, MCP_SUBCOMMAND, SERVER_NAME};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

mod splice;

/// One hook mnemo registers: the event, the `mnemo hook` argument and how
/// Claude Code runs it (from `HookEvent::roles`, which the plugin's
/// `hooks/hooks.json` repeats).
struct HookSpec {
    event: HookEvent,
    arg: String,
    registration: Registration,
}

/// Every hook mnemo registers, in the order they are written.
fn hook_specs() -> Vec<HookSpec> {
    event::registered()
        .map(|(event, registration)| HookSpec {
            event,
            arg: event.hook_arg(),
            registration,
        })
        .collect()
}

/// Register mnemo (`install`) or take it out (`uninstall`).
pub fn run(install: bool, project: bool, dry_run: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the mnemo binary")?;
    let exe = exe
        .to_str()
        .context("the mnemo binary's path is not UTF-8")?
        .to_owned();
    let (settings, mcp) = targets(project)?;
    // Parse and plan both files before writing either: a file that cannot
    // be parsed leaves everything untouched.
    let edits = [
        plan(&settings, |doc, changes| {
            edit_hooks(doc, &exe, install, changes)
        })?,
        plan(&mcp, |doc, changes| {
            edit_server(doc, &exe, install, changes)
        })?,
    ];
    if install && is_cargo_build_output(Path::new(&exe)) {
        eprintln!(
            "warning: {exe} is cargo's build output: `cargo clean` would break every hook; install it for good with `cargo install --path crates/mnemo`, then run `mnemo install` again"
        );
    }
    if edits.iter().all(|e| e.changes.is_empty()) {
        println!(
            "nothing to change: mnemo is {} in {} and {}",
            if install {
                "installed"
            } else {
                "not installed"
            },
            settings.display(),
            mcp.display()
        );
        return Ok(());
    }
    for edit in edits.iter().filter(|e| !e.changes.is_empty()) {
        if dry_run {
            print!(
                "{}",
                diff(
                    &edit.path,
                    edit.shown_before.as_deref(),
                    edit.shown_after.as_deref()
                )
            );
            continue;
        }
        println!("{}:", edit.path.display());
        for change in &edit.changes {
            println!("  {change}");
        }
        if let Some(backup) = edit.write()? {
            println!("  backup: {}", backup.display());
        }
    }
    if dry_run {
        println!("(dry run: nothing was written)");
    } else {
        println!("Restart Claude Code to pick up the change.");
    }
    Ok(())
}

/// Whether `exe` sits in a cargo profile directory (`target/release`,
/// `target/debug`, …), which `cargo clean` empties: cargo keeps its
/// `.fingerprint` directory next to the binaries it builds.
fn is_cargo_build_output(exe: &Path) -> bool {
    exe.parent()
        .is_some_and(|dir| dir.join(".fingerprint").is_dir())
}

/// The settings file (hooks) and the MCP configuration file for a scope.
fn targets(project: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    if project {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let root = cwd
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&cwd)
            .to_path_buf();
        return Ok((
            settings::project_settings(&root),
            settings::project_mcp_servers(&root),
        ));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")?;
    Ok((
        settings::user_settings(&home),
        settings::user_mcp_servers(&home),
    ))
}

/// A planned change to one file.
struct Edit {
    path: PathBuf,
    /// The file's text, if it exists.
    before: Option<String>,
    /// The new text, or `None` to remove the file.
    after: Option<String>,
    /// The file before and after as the diff shows them: both in the
    /// standard layout, so that only what mnemo changes differs, however
    /// the person spaced or indented the rest.
    shown_before: Option<String>,
    shown_after: Option<String>,
    /// One line per entry added, updated or removed.
    changes: Vec<String>,
}

/// Read `path` (missing or blank is an empty object), apply `edit`, and
/// write the result over the file's own text (see [`splice`]).
fn plan(
    path: &Path,
    edit: impl FnOnce(&mut Object, &mut Vec<String>) -> Result<(), &'static str>,
) -> anyhow::Result<Edit> {
    let before = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let text = before.as_deref().unwrap_or("");
    let mut doc = if text.trim().is_empty() {
        Object::new()
    } else {
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Obj(obj)) => obj,
            Ok(_) => bail!(
                "{} is not a JSON object; nothing was changed",
                path.display()
            ),
            Err(err) => bail!(
                "cannot parse {} ({err}); fix it or move it away, nothing was changed",
                path.display()
            ),
        }
    };
    let parsed = doc.clone();
    let mut changes = Vec::new();
    if let Err(key) = edit(&mut doc, &mut changes) {
        bail!(
            "{key} in {} is not a JSON object; nothing was changed",
            path.display()
        );
    }
    let shown_before = match &before {
        Some(text) if !text.trim().is_empty() => Some(rendered(&parsed, text)),
        other => other.clone(),
    };
    let (after, shown_after) = if changes.is_empty() {
        (before.clone(), shown_before.clone())
    } else if doc.is_empty() {
        // Nothing left but what mnemo had put there: the file goes.
        (None, None)
    } else {
        let standard = rendered(&doc, before.as_deref().unwrap_or("\n"));
        let kept = Some(text)
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| splice::splice(t, &parsed, &doc));
        (
            Some(kept.unwrap_or_else(|| standard.clone())),
            Some(standard),
        )
    };
    Ok(Edit {
        path: path.to_path_buf(),
        before,
        after,
        shown_before,
        shown_after,
        changes,
    })
}

/// `doc` as mnemo writes it, ending in a newline when `original` did.
fn rendered(doc: &Object, original: &str) -> String {
    let mut out = render(&Json::Obj(doc.clone()));
    if original.ends_with('\n') {
        out.push('\n');
    }
    out
}

impl Edit {
    /// Back the file up, then replace (or remove) it atomically. Returns
    /// the backup's path.
    fn write(&self) -> anyhow::Result<Option<PathBuf>> {
        let shown = self.path.display();
        let backup = match &self.before {
            Some(_) => {
                let backup = backup_path(&self.path);
                std::fs::copy(&self.path, &backup)
                    .with_context(|| format!("cannot back up {shown}"))?;
                Some(backup)
            }
            None => None,
        };
        match &self.after {
            None => {
                if self.before.is_some() {
                    std::fs::remove_file(&self.path)
                        .with_context(|| format!("cannot remove {shown}"))?;
                }
            }
            Some(text) => {
                let dir = self.path.parent().unwrap_or(Path::new("."));
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let name = self.path.file_name().unwrap_or_default().to_string_lossy();
                let tmp = dir.join(format!(".{name}.mnemo-{}", std::process::id()));
                std::fs::write(&tmp, text).with_context(|| format!("cannot write {shown}"))?;
                if let Ok(meta) = std::fs::metadata(&self.path) {
                    // Keep the original's mode (~/.claude.json is private).
                    let _ = std::fs::set_permissions(&tmp, meta.permissions());
                }
                if let Err(err) = std::fs::rename(&tmp, &self.path) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(err).with_context(|| format!("cannot replace {shown}"));
                }
            }
        }
        Ok(backup)
    }
}

/// `<file>.bak-YYYYMMDD-HHMMSS` (UTC), with a counter if that exists.
fn backup_path(path: &Path) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let stamp = format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut candidate = path.with_file_name(format!("{name}.bak-{stamp}"));
    let mut n = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{name}.bak-{stamp}-{n}"));
        n += 1;
    }
    candidate
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

// ---- the edits -------------------------------------------------------------

/// The handler mnemo registers for one event.
fn handler(exe: &str, spec: &HookSpec) -> Json {
    members(settings::hook_handler(exe, spec.event, spec.registration))
}

/// Whether a hook handler or MCP server entry runs `mnemo <subcommand>`
/// (recognised as `mnemo doctor` recognises it).
fn runs_mnemo(entry: &Json, subcommand: &str) -> bool {
    let Some(command) = entry.get("command").and_then(Json::as_str) else {
        return false;
    };
    let args: Option<Vec<&str>> = match entry.get("args") {
        Some(Json::Arr(args)) => Some(args.iter().filter_map(Json::as_str).collect()),
        _ => None,
    };
    settings::mnemo_program(command, args.as_deref(), subcommand).is_some()
}

/// Add, update or remove mnemo's handlers in a settings document's `hooks`.
fn edit_hooks(
    doc: &mut Object,
    exe: &str,
    install: bool,
    changes: &mut Vec<String>,
) -> Result<(), &'static str> {
    if !install && !doc.iter().any(|(k, _)| k == "hooks") {
        return Ok(());
    }
    let created = !doc.iter().any(|(k, _)| k == "hooks");
    let hooks = match entry_mut(doc, "hooks") {
        Json::Obj(hooks) => hooks,
        _ => return Err("\"hooks\""),
    };
    let specs = hook_specs();
    let mut emptied = Vec::new();
    for (event, groups) in hooks.iter_mut() {
        let Json::Arr(groups) = groups else { continue };
        let wanted = specs.iter().find(|s| install && s.event.is(event));
        let mut placed = false;
        let mut touched = false;
        let mut i = 0;
        while i < groups.len() {
            let group_matcher = groups[i]
                .get("matcher")
                .and_then(Json::as_str)
                .map(str::to_owned);
            let Some(Json::Arr(list)) = groups[i].get_mut("hooks") else {
                i += 1;
                continue;
            };
            let alone = list.len() == 1;
            let mut fix_matcher = None;
            let mut j = 0;
            while j < list.len() {
                if !runs_mnemo(&list[j], HOOK_SUBCOMMAND) {
                    j += 1;
                    continue;
                }
                match wanted {
                    Some(spec) if !placed => {
                        placed = true;
                        let fits = settings::same_matcher(
                            group_matcher.as_deref(),
                            spec.registration.matcher,
                        );
                        if fits || alone {
                            let new = handler(exe, spec);
                            let mut changed = list[j] != new;
                            list[j] = new;
                            if !fits {
                                fix_matcher = Some(spec.registration.matcher);
                                changed = true;
                            }
                            if changed {
                                changes.push(format!(
                                    "updated hook {event} → {exe} hook {}",
                                    spec.arg
                                ));
                            }
                            j += 1;
                            continue;
                        }
                        // Shares a group whose matcher is wrong: move it out.
                        placed = false;
                        list.remove(j);
                        touched = true;
                    }
                    _ => {
                        list.remove(j);
                        touched = true;
                        let what = if wanted.is_some() { "duplicate " } else { "" };
                        changes.push(format!("removed {what}hook {event}"));
                    }
                }
            }
            if let (Some(matcher), Json::Obj(group)) = (fix_matcher, &mut groups[i]) {
                set_matcher(group, matcher);
            }
            if list_is_empty(&groups[i]) && touched {
                groups.remove(i);
            } else {
                i += 1;
            }
        }
        if let Some(spec) = wanted.filter(|_| !placed) {
            groups.push(group(exe, spec));
            changes.push(format!("added hook {event} → {exe} hook {}", spec.arg));
        } else if touched && groups.is_empty() {
            emptied.push(event.clone());
        }
    }
    if install {
        for spec in &specs {
            let event = spec.event.name();
            if !hooks.iter().any(|(k, _)| k == event) {
                hooks.push((event.to_owned(), Json::Arr(vec![group(exe, spec)])));
                changes.push(format!("added hook {event} → {exe} hook {}", spec.arg));
            }
        }
    }
    // Events left with no groups were mnemo's alone.
    hooks.retain(|(event, _)| !emptied.contains(event));
    if hooks.is_empty() && (!emptied.is_empty() || created) {
        doc.retain(|(k, _)| k != "hooks");
    }
    Ok(())
}

/// Whether a matcher group has no handlers left.
fn list_is_empty(group: &Json) -> bool {
    matches!(group.get("hooks"), Some(Json::Arr(l)) if l.is_empty())
}

/// Set a group's matcher (first, as Claude Code writes it), or drop it.
fn set_matcher(group: &mut Object, matcher: Option<&str>) {
    match matcher {
        Some(m) => match group.iter_mut().find(|(k, _)| k == "matcher") {
            Some((_, v)) => *v = Json::Str(m.into()),
            None => group.insert(0, ("matcher".into(), Json::Str(m.into()))),
        },
        None => group.retain(|(k, _)| k != "matcher"),
    }
}

/// A new matcher group holding mnemo's handler for one event.
fn group(exe: &str, spec: &HookSpec) -> Json {
    let mut g = Vec::new();
    if let Some(m) = spec.registration.matcher {
        g.push(("matcher".to_owned(), Json::Str(m.into())));
    }
    g.push(("hooks".to_owned(), Json::Arr(vec![handler(exe, spec)])));
    Json::Obj(g)
}

/// Add, update or remove the `mnemo` MCP server in `mcpServers`.
fn edit_server(
    doc: &mut Object,
    exe: &str,
    install: bool,
    changes: &mut Vec<String>,
) -> Result<(), &'static str> {
    let wanted = members(settings::mcp_server(exe));
    if !install {
        let Some(Json::Obj(servers)) = doc
            .iter_mut()
            .find(|(k, _)| k == "mcpServers")
            .map(|(_, v)| v)
        else {
            return Ok(());
        };
        let before = servers.len();
        servers.retain(|(name, server)| {
            let ours = runs_mnemo(server, MCP_SUBCOMMAND);
            if ours {
                changes.push(format!("removed MCP server {name}"));
            }
            !ours
        });
        if servers.is_empty() && before > 0 {
            doc.retain(|(k, _)| k != "mcpServers");
        }
        return Ok(());
    }
    let Json::Obj(servers) = entry_mut(doc, "mcpServers") else {
        return Err("\"mcpServers\"");
    };
    // Ours under its own name, else ours under another name the user chose.
    let at = servers
        .iter()
        .position(|(name, _)| name == SERVER_NAME)
        .or_else(|| {
            servers
                .iter()
                .position(|(_, s)| runs_mnemo(s, MCP_SUBCOMMAND))
        });
    match at {
        Some(i) if servers[i].1 == wanted => {}
        Some(i) => {
            servers[i].1 = wanted;
            changes.push(format!("updated MCP server {} → {exe} mcp", servers[i].0));
        }
        None => {
            servers.push((SERVER_NAME.to_owned(), wanted));
            changes.push(format!("added MCP server {SERVER_NAME} → {exe} mcp"));
        }
    }
    Ok(())
}

/// The value under `key`, appended as an empty object if absent.
fn entry_mut<'a>(obj: &'a mut Object, key: &str) -> &'a mut Json {
    let i = match obj.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            obj.push((key.to_owned(), Json::Obj(Vec::new())));
            obj.len() - 1
        }
    };
    &mut obj[i].1
}

/// An entry built from ordered members.
fn members(members: Vec<(&'static str, serde_json::Value)>) -> Json {
    Json::Obj(
        members
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Json::from(value)))
            .collect(),
    )
}

// ---- a JSON value that keeps key order -------------------------------------

/// An object's members in file order.
type Object = Vec<(String, Json)>;

/// A JSON value whose objects keep their key order, so a merged file only
/// differs where mnemo changed it (serde_json's `Value` sorts keys unless a
/// workspace-wide feature is turned on).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<Json>),
    Obj(Object),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(o) => o.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl From<serde_json::Value> for Json {
    /// A parsed value (whose objects' keys serde_json has already ordered).
    fn from(value: serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(b),
            serde_json::Value::Number(n) => Json::Num(n),
            serde_json::Value::String(s) => Json::Str(s),
            serde_json::Value::Array(items) => {
                Json::Arr(items.into_iter().map(Json::from).collect())
            }
            serde_json::Value::Object(map) => {
                Json::Obj(map.into_iter().map(|(k, v)| (k, Json::from(v))).collect())
            }
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Num(n) => n.serialize(s),
            Json::Str(v) => s.serialize_str(v),
            Json::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Obj(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Num)
            .ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Object = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last value wins, as in serde_json.
            match members.iter_mut().find(|(key, _)| *key == k) {
                Some((_, old)) => *old = v,
                None => members.push((k, v)),
            }
        }
        Ok(Json::Obj(members))
    }
}

/// Two-space pretty JSON, as Claude Code writes its own files.
fn render(value: &Json) -> String {
    // Serializing an in-memory tree of strings cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

// ---- --dry-run --------------------------------------------------------------

/// A unified diff of one file (one hunk around the changed lines).
fn diff(path: &Path, before: Option<&str>, after: Option<&str>) -> String {
    let a: Vec<&str> = before.map_or(Vec::new(), |t| t.lines().collect());
    let b: Vec<&str> = after.map_or(Vec::new(), |t| t.lines().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let ctx = 3;
    let start = prefix.saturating_sub(ctx);
    let a_end = (a.len() - suffix + ctx).min(a.len());
    let b_end = (b.len() - suffix + ctx).min(b.len());
    let mut out = String::new();
    let side = |text: Option<&str>| match text {
        Some(_) => path.display().to_string(),
        None => "/dev/null".to_owned(),
    };
    let _ = writeln!(out, "--- {}\n+++ {}", side(before), side(after));
    let _ = writeln!(
        out,
        "@@ -{},{} +{},{} @@",
        start + usize::from(a_end > start),
        a_end - start,
        start + usize::from(b_end > start),
        b_end - start
    );
    for line in &a[start..prefix] {
        let _ = writeln!(out, " {line}");
    }
    for op in middle_diff(am, bm) {
        let _ = writeln!(out, "{op}");
    }
    for line in &a[a.len() - suffix..a_end] {
        let _ = writeln!(out, " {line}");
    }
    out
}

/// The middle of a diff by longest common subsequence; large middles (never
/// mnemo's own edits) fall back to all-removed then all-added.
fn middle_diff(a: &[&str], b: &[&str]) -> Vec<String> {
    if a.len() * b.len() > 4_000_000 {
        return a
            .iter()
            .map(|l| format!("-{l}"))
            .chain(b.iter().map(|l| format!("+{l}")))
            .collect();
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+{}", b[j]));
            j += 1;
        } else {
            out.push(format!("-{}", a[i]));
            i += 1;
        }
    }
    out
}
