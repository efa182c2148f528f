//! Parsing a hook payload into a `serde_json::Value` of bounded size,
//! whatever its shape.
//!
//! A `Value` costs tens of bytes per element, so two bytes of input (`0,`)
//! can become forty bytes of memory: a 64 MiB input of a million tiny array
//! items or object keys would take around a gigabyte. Here every value
//! counts against a budget; once it is spent, further array items and object
//! entries are skipped while parsing (consumed without being built) and a
//! marker says how many were cut. The envelope fields capture needs
//! ([`ENVELOPE_KEYS`]) are kept at the top level whatever the budget.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Top-level fields of a hook input that identify and route it: never cut,
/// not while parsing nor by the event cap.
pub const ENVELOPE_KEYS: &[&str] = &[
    "session_id",
    "hook_event_name",
    "transcript_path",
    "cwd",
    "tool_name",
    "tool_use_id",
    "prompt",
    "prompt_id",
    "agent_id",
    "agent_type",
    "source",
    "reason",
    "permission_mode",
    "last_assistant_message",
    "stop_hook_active",
];

/// Values (scalars, arrays, objects, at any depth) one parsed payload may
/// hold: a few MiB of `Value`s, far more than any real hook input has.
pub const MAX_PAYLOAD_VALUES: usize = 100_000;

/// Marker text for cut array items; the event cap counts through it.
pub(crate) const ITEMS_CUT_PREFIX: &str = "…[mnemo: ";
pub(crate) const ITEMS_CUT_SUFFIX: &str = " items cut]…";
/// Key recording how many entries of an object were cut.
pub(crate) const KEYS_CUT_KEY: &str = "…[mnemo: keys cut]…";

/// The array marker for `n` cut items.
pub(crate) fn items_cut_marker(n: usize) -> Value {
    Value::String(format!("{ITEMS_CUT_PREFIX}{n}{ITEMS_CUT_SUFFIX}"))
}

/// A parsed payload and how many values were cut to fit the budget.
#[derive(Debug)]
pub struct Parsed {
    /// The payload, with markers where values were cut.
    pub value: Value,
    /// Array items and object entries skipped (0 when it all fitted).
    pub values_cut: usize,
}

/// Parse JSON `bytes` keeping at most `max_values` values (see the module
/// docs); the same errors as `serde_json::from_slice`.
pub fn parse_bounded(bytes: &[u8], max_values: usize) -> serde_json::Result<Parsed> {
    let mut budget = Budget {
        left: max_values,
        cut: 0,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        budget: &mut budget,
        top_level: true,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Parsed {
        value,
        values_cut: budget.cut,
    })
}

struct Budget {
    left: usize,
    cut: usize,
}

/// One value being parsed against the shared budget.
struct Node<'a> {
    budget: &'a mut Budget,
    top_level: bool,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.budget.left = self.budget.left.saturating_sub(1);
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let mut cut = 0;
        loop {
            if self.budget.left == 0 {
                match seq.next_element::<IgnoredAny>()? {
                    Some(_) => cut += 1,
                    None => break,
                }
                continue;
            }
            let node = Node {
                budget: &mut *self.budget,
                top_level: false,
            };
            match seq.next_element_seed(node)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        if cut > 0 {
            self.budget.cut += cut;
            items.push(items_cut_marker(cut));
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Map::new();
        let mut cut = 0;
        while let Some(key) = map.next_key::<String>()? {
            let keep = self.top_level && ENVELOPE_KEYS.contains(&key.as_str());
            if self.budget.left == 0 && !keep {
                map.next_value::<IgnoredAny>()?;
                cut += 1;
                continue;
            }
            let node = Node {
                budget: &mut *self.budget,
                top_level: false,
            };
            entries.insert(key, map.next_value_seed(node)?);
        }
        if cut > 0 {
            self.budget.cut += cut;
            entries.insert(KEYS_CUT_KEY.into(), Value::from(cut));
        }
        Ok(Value::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_parse_as_serde_json_does() {
        let text = r#"{"a":[1,-2,3.5,true,null,"x"],"b":{"c":{}},"d":[]}"#;
        let parsed = parse_bounded(text.as_bytes(), 100).unwrap();
        assert_eq!(parsed.value, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(parsed.values_cut, 0);
        assert!(parse_bounded(b"{\"a\":1} x", 100).is_err());
        assert!(parse_bounded(b"{\"a\":", 100).is_err());
    }

    #[test]
    fn wide_arrays_and_objects_are_cut_but_the_envelope_kept() {
        let items = vec!["0"; 1000].join(",");
        let parsed = parse_bounded(format!("[{items}]").as_bytes(), 50).unwrap();
        let array = parsed.value.as_array().unwrap();
        assert_eq!(array.len(), 50, "49 items and the marker");
        assert_eq!(array[49], items_cut_marker(951));
        assert_eq!(parsed.values_cut, 951);

        let keys = (0..1000)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>();
        let text = format!(
            r#"{{"wide":{{{}}},"session_id":"s1","zz":1}}"#,
            keys.join(",")
        );
        let parsed = parse_bounded(text.as_bytes(), 50).unwrap();
        let v = &parsed.value;
        assert_eq!(
            v["wide"].as_object().unwrap().len(),
            49,
            "48 keys and the count"
        );
        assert_eq!(v["wide"][KEYS_CUT_KEY], 952);
        assert_eq!(v["session_id"], "s1", "envelope kept past the budget");
        assert_eq!(v[KEYS_CUT_KEY], 1, "other top-level keys cut");
    }
}
