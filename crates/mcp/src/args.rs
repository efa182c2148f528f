//! Tool arguments: their JSON Schemas (what `tools/list` shows) and lenient
//! readers that turn what a model actually sends into typed values, or into a
//! one-line message the model can act on.
//!
//! Fields that models often send in more than one shape (`"#12"` or `12`,
//! `"a,b"` or `["a","b"]`, `"20"` or `20`) are kept as raw JSON and read here,
//! so a wrong shape becomes a precise tool error instead of a protocol error.
//! Field docs stay on one line each: they become the schema's descriptions.

use mnemo_app::memory::Id;
use mnemo_retrieve::RecordKind;
use mnemo_store::OBSERVATION_TYPES;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// `search` arguments (names follow claude-mem's `search`).
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SearchArgs {
    /// Words to look for (any text, punctuation is fine). Without it, the most recent memories that match the filters.
    #[serde(default)]
    pub query: Option<String>,
    /// How many results to return (default 20, at most 100).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub limit: Option<Value>,
    /// How many results to skip, for paging (default 0).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub offset: Option<Value>,
    /// Project root path (e.g. /home/me/app) or project name; "*" for all projects. Default: the project this server was started in.
    #[serde(default)]
    pub project: Option<String>,
    /// true: search every project (same as project "*"). Results then name their project.
    #[serde(default)]
    pub all_projects: Option<bool>,
    /// What to search: observations (default), sessions (session summaries) or prompts (the user's prompts); or observation types, comma-separated: bugfix, feature, refactor, change, discovery, decision, security_alert, security_note.
    #[serde(default, rename = "type")]
    #[schemars(with = "Option<String>")]
    pub kind: Option<Value>,
    /// Same as `type` (comma-separated observation types).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub obs_type: Option<Value>,
    /// Concepts, comma-separated (any of): how-it-works, why-it-exists, what-changed, problem-solution, gotcha, pattern, trade-off.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub concepts: Option<Value>,
    /// Files read or modified, comma-separated (full path or file name, e.g. cart.py).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub files: Option<Value>,
    /// Only memories a teammate wrote, by their name (any case), as shown after "by" in results; memories written on this machine have none.
    #[serde(default)]
    pub author: Option<String>,
    /// Only memories from this time on: a date or date-time as the tools print it (local time unless it carries an offset or Z), or Unix milliseconds.
    #[serde(default, rename = "dateStart")]
    #[schemars(with = "Option<DateSchema>")]
    pub date_start: Option<Value>,
    /// Only memories up to this time: a date (the whole day counts) or date-time as the tools print it (local time unless it carries an offset or Z), or Unix milliseconds.
    #[serde(default, rename = "dateEnd")]
    #[schemars(with = "Option<DateSchema>")]
    pub date_end: Option<Value>,
    /// Result order: relevance (the default with a query), date_desc (the default without one) or date_asc.
    #[serde(default, rename = "orderBy")]
    pub order_by: Option<Order>,
}

/// `timeline` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct TimelineArgs {
    /// The memory to center on: an id from search (123, "#123", or "#S2"/"#P3" for a session summary's or prompt's first memory).
    #[serde(default)]
    #[schemars(with = "Option<IdSchema>")]
    pub anchor: Option<Value>,
    /// Without an anchor: center on the best search hit for this text. Without either: the most recent memories.
    #[serde(default)]
    pub query: Option<String>,
    /// How many memories before the anchor (default 3, at most 50).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub depth_before: Option<Value>,
    /// How many memories after the anchor (default 3, at most 50).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub depth_after: Option<Value>,
    /// Project root path or name, "*" for all (for `query` and for the most recent memories; an anchor carries its own project). Default: the project this server was started in.
    #[serde(default)]
    pub project: Option<String>,
    /// true: every project (same as project "*").
    #[serde(default)]
    pub all_projects: Option<bool>,
}

/// `get_observations` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct GetArgs {
    /// Observation ids from search or timeline (123 or "#123"), at most 100.
    #[schemars(with = "Vec<IdSchema>")]
    pub ids: Value,
}

/// `remember` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct RememberArgs {
    /// What to remember, in full sentences (secrets are redacted before storing).
    pub text: String,
    /// A short title (default: the first sentence of the text).
    #[serde(default)]
    pub title: Option<String>,
    /// bugfix, feature, refactor, change, discovery (default), decision, security_alert or security_note.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Project root path or name. Default: the project this server was started in.
    #[serde(default)]
    pub project: Option<String>,
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Order {
    Relevance,
    DateDesc,
    DateAsc,
}

/// A record id: 123, "#123", "#S2" or "#P3".
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum IdSchema {
    Number(u64),
    Text(String),
}

/// A date or date-time (local unless it carries an offset or Z), or Unix milliseconds.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum DateSchema {
    Iso(String),
    UnixMs(i64),
}

/// A short JSON rendering of `v` for messages.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// A count such as `limit`: an integer or a numeric string; `None` when absent.
pub(crate) fn count(v: Option<&Value>, name: &str) -> Result<Option<usize>, String> {
    let n = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        None => Err(format!(
            "{name} must be a non-negative integer, got {}",
            shown(v.unwrap_or(&Value::Null))
        )),
    }
}

/// A list given as a comma-separated string or an array of strings.
pub(crate) fn words(v: Option<&Value>, name: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        out.extend(
            s.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        )
    };
    match v {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => push(s),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => push(s),
                    other => {
                        return Err(format!(
                            "{name} must be a comma-separated string, got {}",
                            shown(other)
                        ));
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "{name} must be a comma-separated string, got {}",
                shown(other)
            ));
        }
    }
    Ok(out)
}

/// An observation id: `123`, `"123"` or `"#123"`.
pub(crate) fn observation_id(v: &Value, name: &str) -> Result<i64, String> {
    let id = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_start_matches('#').parse::<i64>().ok(),
        _ => None,
    };
    match id {
        Some(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "{name} {} is not an observation id (use a number from search, like 123 or \"#123\")",
            shown(v)
        )),
    }
}

/// The record a timeline centers on: an observation id (`12`, `"#12"`) or a
/// summary's or prompt's (`"#S2"`, `"#P3"`).
pub(crate) fn anchor(v: &Value) -> Result<Id, String> {
    match v {
        Value::String(s) => Id::parse(s).map_err(|e| format!("anchor: {e}")),
        _ => observation_id(v, "anchor").map(Id::Observation),
    }
}

/// Observation ids: an array of ids, or one id, or a string of ids separated
/// by commas or spaces. Never empty.
pub(crate) fn observation_ids(v: &Value) -> Result<Vec<i64>, String> {
    let ids = match v {
        Value::Array(items) => items
            .iter()
            .map(|item| observation_id(item, "id"))
            .collect::<Result<Vec<_>, _>>()?,
        Value::String(s) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| observation_id(&Value::String(w.to_string()), "id"))
            .collect::<Result<Vec<_>, _>>()?,
        Value::Number(_) => vec![observation_id(v, "id")?],
        _ => {
            return Err(format!(
                "ids must be an array of observation ids, got {}",
                shown(v)
            ));
        }
    };
    if ids.is_empty() {
        return Err("ids must name at least one observation id".into());
    }
    Ok(ids)
}

/// A time bound: Unix milliseconds (number or digits), an RFC 3339 date-time,
/// a time as the tools print it (`YYYY-MM-DD HH:MM ±HH:MM`), or
/// `YYYY-MM-DD[ T]HH:MM[:SS]` or `YYYY-MM-DD` in local time, as the tools and
/// the CLI print times. A bare date means the start of that day, or its last
/// millisecond when `end_of_day`.
pub(crate) fn time_bound(
    v: Option<&Value>,
    name: &str,
    end_of_day: bool,
) -> Result<Option<i64>, String> {
    let bad = |shown_value: String| {
        format!(
            "{name} must be an ISO date (2026-01-31), a date-time (2026-01-31T14:00:00Z) \
             or Unix milliseconds, got {shown_value}"
        )
    };
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => return n.as_i64().map(Some).ok_or_else(|| bad(n.to_string())),
        Some(Value::String(s)) => s.trim(),
        Some(other) => return Err(bad(shown(other))),
    };
    if text.is_empty() {
        return Ok(None);
    }
    mnemo_retrieve::time::parse_local_time(text, end_of_day)
        .map(Some)
        .ok_or_else(|| bad(format!("{text:?}")))
}

/// What `search` looks in: observations of some types (none = all), or
/// another kind of record.
#[derive(Debug, PartialEq)]
pub(crate) enum Target {
    Observations(Vec<String>),
    Records(RecordKind),
}

/// The search target from `type` and `obs_type`. As in claude-mem, `type`
/// may name a record kind (`observations`, `sessions`, `prompts`); any other
/// word of either is an observation type.
pub(crate) fn search_target(
    kind: Option<&Value>,
    obs_type: Option<&Value>,
) -> Result<Target, String> {
    let mut types: Vec<String> = Vec::new();
    let mut records = None;
    for word in words(kind, "type")?
        .into_iter()
        .chain(words(obs_type, "obs_type")?)
    {
        let word = word.to_lowercase();
        match word.as_str() {
            "observations" | "observation" => {}
            "sessions" | "session" | "summaries" | "summary" => records = Some(RecordKind::Session),
            "prompts" | "prompt" => records = Some(RecordKind::Prompt),
            t if OBSERVATION_TYPES.contains(&t) => {
                if !types.contains(&word) {
                    types.push(word);
                }
            }
            _ => {
                return Err(format!(
                    "unknown type {word:?}; use observations, sessions, prompts or an observation type: {}",
                    OBSERVATION_TYPES.join(", ")
                ));
            }
        }
    }
    match records {
        Some(_) if !types.is_empty() => Err(
            "observation types filter observations; leave them out when searching sessions or prompts".into(),
        ),
        Some(kind) => Ok(Target::Records(kind)),
        None => Ok(Target::Observations(types)),
    }
}

/// One observation type for `remember` (default `discovery`).
pub(crate) fn observation_type(kind: Option<&str>) -> Result<String, String> {
    let kind = kind.map(str::trim).filter(|k| !k.is_empty());
    let kind = kind.map_or_else(|| "discovery".to_string(), str::to_lowercase);
    if OBSERVATION_TYPES.contains(&kind.as_str()) {
        Ok(kind)
    } else {
        Err(format!(
            "unknown type {kind:?}; use one of {}",
            OBSERVATION_TYPES.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_in_many_shapes() {
        assert_eq!(observation_ids(&json!([1, "#2", " 3 "])), Ok(vec![1, 2, 3]));
        assert_eq!(observation_ids(&json!("#4, 5 #6")), Ok(vec![4, 5, 6]));
        assert_eq!(observation_ids(&json!(7)), Ok(vec![7]));
        assert!(observation_ids(&json!([])).is_err());
        assert!(
            observation_ids(&json!(["nope"]))
                .unwrap_err()
                .contains("nope")
        );
        assert!(observation_ids(&json!([-1])).is_err());
        assert!(observation_ids(&json!({"a": 1})).is_err());
        assert!(
            observation_id(&json!("nope"), "anchor")
                .unwrap_err()
                .starts_with("anchor")
        );
    }

    #[test]
    fn counts_and_lists() {
        assert_eq!(count(Some(&json!(5)), "limit"), Ok(Some(5)));
        assert_eq!(count(Some(&json!("5")), "limit"), Ok(Some(5)));
        assert_eq!(count(None, "limit"), Ok(None));
        assert!(count(Some(&json!(-1)), "limit").is_err());
        assert!(count(Some(&json!("many")), "limit").is_err());
        assert_eq!(
            words(Some(&json!("a, b,,c")), "files"),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            words(Some(&json!(["a", "b,c"])), "files"),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(words(Some(&json!([1])), "files").is_err());
    }

    #[test]
    fn times() {
        // Bare dates and times are local (the integration tests set the
        // zone); these forms name their instant whatever the zone.
        let day = 1_683_504_000_000; // 2023-05-08T00:00:00Z
        assert_eq!(
            time_bound(Some(&json!("2023-05-08T13:56:00Z")), "d", false),
            Ok(Some(1_683_554_160_000))
        );
        assert_eq!(
            time_bound(Some(&json!("2023-05-08T15:56:00+02:00")), "d", false),
            Ok(Some(1_683_554_160_000))
        );
        assert_eq!(
            time_bound(Some(&json!("2023-05-08 15:56 +02:00")), "d", false),
            Ok(Some(1_683_554_160_000))
        );
        assert_eq!(time_bound(Some(&json!(day)), "d", false), Ok(Some(day)));
        assert_eq!(
            time_bound(Some(&json!(day.to_string())), "d", false),
            Ok(Some(day))
        );
        assert!(
            time_bound(Some(&json!("8 May 2023")), "dateStart", false)
                .unwrap_err()
                .starts_with("dateStart")
        );
    }

    #[test]
    fn types() {
        assert_eq!(
            search_target(Some(&json!("bugfix,Feature")), Some(&json!("bugfix"))),
            Ok(Target::Observations(vec![
                "bugfix".into(),
                "feature".into()
            ]))
        );
        assert_eq!(
            search_target(Some(&json!("observations")), None),
            Ok(Target::Observations(vec![]))
        );
        assert_eq!(
            search_target(Some(&json!("sessions")), None),
            Ok(Target::Records(RecordKind::Session))
        );
        assert_eq!(
            search_target(Some(&json!("prompts")), None),
            Ok(Target::Records(RecordKind::Prompt))
        );
        assert!(search_target(Some(&json!("prompts")), Some(&json!("bugfix"))).is_err());
        assert!(search_target(None, Some(&json!("bug"))).is_err());
        assert_eq!(observation_type(None), Ok("discovery".into()));
        assert_eq!(observation_type(Some("Decision")), Ok("decision".into()));
        assert!(observation_type(Some("note")).is_err());
    }
}
