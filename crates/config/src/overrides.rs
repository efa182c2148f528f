//! Applying values key by key: environment overrides, and salvaging the valid
//! keys of a config file that has some invalid ones.
//!
//! Both work on the generic TOML form of a [`Config`] (a table of section
//! tables), so a new key is covered without any code here.

use std::ffi::{OsStr, OsString};

use toml::{Table, Value};

use crate::error::one_line;
use crate::{Config, ConfigError, ENV_DISABLE_HOOKS, ENV_HOME};

/// The prefix of every mnemo environment variable.
const PREFIX: &str = "MNEMO_";

/// The `MNEMO_*` environment variables that may be config overrides: every
/// `MNEMO_*` variable except [`ENV_HOME`] and [`ENV_DISABLE_HOOKS`], sorted by
/// name. Values stay raw until they are matched to a key.
pub(crate) fn candidate_vars<I, K, V>(vars: I) -> Vec<(String, OsString)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut out: Vec<(String, OsString)> = vars
        .into_iter()
        .filter_map(|(k, v)| {
            let k = k.as_ref().to_str()?;
            (k.starts_with(PREFIX) && k != ENV_HOME && k != ENV_DISABLE_HOOKS)
                .then(|| (k.to_owned(), v.as_ref().to_owned()))
        })
        .collect();
    out.sort();
    out
}

/// The generic form of `config`.
pub(crate) fn to_table(config: &Config) -> Result<Table, String> {
    Table::try_from(config).map_err(|e| one_line(&e.to_string()))
}

/// Deserializes a [`Config`] from its generic form; on error returns the
/// dotted key and the message.
pub(crate) fn from_table(table: Table) -> Result<Config, (String, String)> {
    serde_path_to_error::deserialize::<_, Config>(table)
        .map_err(|e| (e.path().to_string(), one_line(e.inner().message())))
}

/// What an error handler decides: stop with this error, or skip the value and
/// go on.
pub(crate) type OnError<'a> = &'a mut dyn FnMut(ConfigError) -> Result<(), ConfigError>;

/// Applies the overrides among `vars` (from [`candidate_vars`]) to `base`.
///
/// Each override is parsed according to the type of the value it replaces and
/// validated on its own; an invalid one is passed to `on_error`, which either
/// stops (strict loading) or skips it (lenient loading).
pub(crate) fn apply_env(
    base: Config,
    vars: &[(String, OsString)],
    on_error: OnError<'_>,
) -> Result<Config, ConfigError> {
    if vars.is_empty() {
        return Ok(base);
    }
    let mut table = match to_table(&base) {
        Ok(table) => table,
        Err(message) => {
            // Only possible for values no TOML file or override can produce
            // (e.g. integers above i64::MAX set in code): keep `base` as is.
            on_error(ConfigError::InvalidEnv {
                var: vars[0].0.clone(),
                value: vars[0].1.to_string_lossy().into_owned(),
                message: format!("cannot apply environment overrides: {message}"),
            })?;
            return Ok(base);
        }
    };
    let mut config = base;
    for (var, raw) in vars {
        match override_one(&table, var, raw) {
            Ok(None) => {}
            Ok(Some(candidate)) => match from_table(candidate.clone()) {
                Ok(c) => {
                    table = candidate;
                    config = c;
                }
                Err((key, message)) => on_error(ConfigError::InvalidEnv {
                    var: var.clone(),
                    value: raw.to_string_lossy().into_owned(),
                    message: format!("{key}: {message}"),
                })?,
            },
            Err(e) => on_error(e)?,
        }
    }
    Ok(config)
}

/// `table` with the override `var=raw` applied: `Ok(None)` if `var` is not a
/// config override (another `MNEMO_*` variable) or is a scalar set to the
/// empty string (treated as unset).
fn override_one(table: &Table, var: &str, raw: &OsStr) -> Result<Option<Table>, ConfigError> {
    let mut section_of_var = None;
    for (section, keys) in table {
        let Value::Table(keys) = keys else { continue };
        for (key, current) in keys {
            if env_var_name(section, key) == var {
                if current.is_table() {
                    return Err(ConfigError::UnknownEnv {
                        var: var.to_owned(),
                        message: format!(
                            "{section}.{key} is a table and has no environment override; set it in config.toml"
                        ),
                    });
                }
                return apply_value(table, section, key, current, var, raw);
            }
        }
        if var.starts_with(&env_var_name(section, "")) {
            section_of_var = Some((section, keys));
        }
    }
    let Some((section, keys)) = section_of_var else {
        // Another mnemo variable, not a config override.
        return Ok(None);
    };
    let known: Vec<String> = keys
        .iter()
        .filter(|(_, v)| !v.is_table())
        .map(|(k, _)| env_var_name(section, k))
        .collect();
    Err(ConfigError::UnknownEnv {
        var: var.to_owned(),
        message: format!(
            "no such config key in [{section}] (its overrides are {})",
            known.join(", ")
        ),
    })
}

/// `table` with `section.key` (currently `current`) set from `var=raw`;
/// `None` for an empty scalar (treated as unset).
fn apply_value(
    table: &Table,
    section: &str,
    key: &str,
    current: &Value,
    var: &str,
    raw: &OsStr,
) -> Result<Option<Table>, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidEnv {
        var: var.to_owned(),
        value: raw.to_string_lossy().into_owned(),
        message: format!("{section}.{key}: {message}"),
    };
    let Some(text) = raw.to_str() else {
        return Err(invalid("value is not valid UTF-8".to_owned()));
    };
    let Some(value) = parse_like(current, text).map_err(invalid)? else {
        return Ok(None);
    };
    let mut table = table.clone();
    if let Some(Value::Table(keys)) = table.get_mut(section) {
        keys.insert(key.to_owned(), value);
    }
    Ok(Some(table))
}

/// The environment variable overriding `section.key`.
pub(crate) fn env_var_name(section: &str, key: &str) -> String {
    format!("{PREFIX}{}_{}", section, key).to_ascii_uppercase()
}

/// Parses an environment value as a value of the same TOML type as `current`.
/// Lists are comma-separated (items trimmed, empty items dropped; an empty
/// value is the empty list). An empty scalar is `None` (treated as unset).
fn parse_like(current: &Value, text: &str) -> Result<Option<Value>, String> {
    if let Value::Array(items) = current {
        // The element type follows the current first element; an empty list
        // takes strings (and deserialization rejects them if wrong).
        let proto = items
            .first()
            .cloned()
            .unwrap_or_else(|| Value::String(String::new()));
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(v) = parse_like(&proto, item)? {
                out.push(v);
            }
        }
        return Ok(Some(Value::Array(out)));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let value = match current {
        Value::String(_) => Value::String(text.to_owned()),
        Value::Integer(_) => Value::Integer(
            trimmed
                .replace('_', "")
                .parse()
                .map_err(|_| "expected an integer".to_owned())?,
        ),
        Value::Float(_) => Value::Float(
            trimmed
                .replace('_', "")
                .parse()
                .map_err(|_| "expected a number".to_owned())?,
        ),
        Value::Boolean(_) => Value::Boolean(match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err("expected true or false".to_owned()),
        }),
        Value::Datetime(_) => Value::Datetime(
            trimmed
                .parse()
                .map_err(|_| "expected an RFC 3339 date-time".to_owned())?,
        ),
        Value::Array(_) | Value::Table(_) => {
            return Err("has no environment override".to_owned());
        }
    };
    Ok(Some(value))
}

/// The valid keys of a config file that failed strict loading, applied to the
/// defaults one by one (each validated on its own, invalid and unknown ones
/// skipped). A file that is not valid TOML yields the defaults.
pub(crate) fn salvage(text: &str) -> Config {
    let Ok(file) = text.parse::<Table>() else {
        return Config::default();
    };
    let Ok(mut table) = to_table(&Config::default()) else {
        return Config::default();
    };
    let mut config = Config::default();
    for (section, keys) in file {
        let Value::Table(keys) = keys else { continue };
        for (key, value) in keys {
            let mut candidate = table.clone();
            let Some(Value::Table(target)) = candidate.get_mut(&section) else {
                break;
            };
            target.insert(key, value);
            if let Ok(c) = from_table(candidate.clone()) {
                table = candidate;
                config = c;
            }
        }
    }
    config
}
