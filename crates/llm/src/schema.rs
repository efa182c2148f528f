//! A small JSON Schema validator for the subset mnemo's prompts use.
//!
//! Supported keywords: `type` (a name or a list of names among `object`,
//! `array`, `string`, `integer`, `number`, `boolean`, `null`), `properties`,
//! `required`, `additionalProperties: false`, `items` (one schema),
//! `enum`, `maxLength`/`minLength` (in characters), `maxItems`/`minItems`,
//! `minimum`/`maximum`. Every other keyword is ignored, so a schema written
//! for a stricter validator still checks what this one knows.

use serde_json::Value;

/// Checks `value` against `schema`. On failure, returns the first problem
/// as one line naming the JSON path (`$.facts[2]: expected string, got number`).
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    let mut path = String::from("$");
    check(schema, value, &mut path)
}

fn check(schema: &Value, value: &Value, path: &mut String) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        // `true`, `{}` and anything that is not an object accept everything.
        if schema == &Value::Bool(false) {
            return Err(format!("{path}: no value is allowed here"));
        }
        return Ok(());
    };

    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|name| has_type(value, name)) {
            return Err(format!(
                "{path}: expected {}, got {}",
                allowed.join(" or "),
                type_name(value)
            ));
        }
    }

    if let Some(Value::Array(choices)) = schema.get("enum")
        && !choices.iter().any(|choice| json_equal(choice, value))
    {
        return Err(format!("{path}: value is not one of the allowed values"));
    }

    match value {
        Value::String(text) => {
            let chars = text.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                return Err(format!(
                    "{path}: string of {chars} characters exceeds maxLength {max}"
                ));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                return Err(format!(
                    "{path}: string of {chars} characters is below minLength {min}"
                ));
            }
        }
        Value::Number(number) => {
            if let Some(n) = number.as_f64() {
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                    && n > max
                {
                    return Err(format!("{path}: {n} exceeds maximum {max}"));
                }
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                    && n < min
                {
                    return Err(format!("{path}: {n} is below minimum {min}"));
                }
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                return Err(format!("{path}: {len} items exceed maxItems {max}"));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                return Err(format!("{path}: {len} items are below minItems {min}"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    check(item_schema, item, path)?;
                    path.truncate(len);
                }
            }
        }
        Value::Object(fields) => {
            if let Some(Value::Array(required)) = schema.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !fields.contains_key(name) {
                        return Err(format!("{path}: missing required property {name:?}"));
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(properties) = properties {
                for (name, field_schema) in properties {
                    if let Some(field) = fields.get(name) {
                        let len = path.len();
                        push_property(path, name);
                        check(field_schema, field, path)?;
                        path.truncate(len);
                    }
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                for name in fields.keys() {
                    if !properties.is_some_and(|p| p.contains_key(name)) {
                        return Err(format!("{path}: unexpected property {name:?}"));
                    }
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    Ok(())
}

fn push_property(path: &mut String, name: &str) {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        path.push('.');
        path.push_str(name);
    } else {
        path.push_str(&format!("[{name:?}]"));
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        // An unknown type name constrains nothing we understand.
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn observation_schema() -> Value {
        json!({
            "type": "object",
            "required": ["type", "title", "facts"],
            "additionalProperties": false,
            "properties": {
                "type": {"type": "string", "enum": ["bugfix", "feature", "discovery"]},
                "title": {"type": "string", "maxLength": 10},
                "facts": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "score": {"type": "integer"},
                "weight": {"type": "number"},
                "done": {"type": "boolean"},
                "note": {"type": ["string", "null"]}
            }
        })
    }

    #[test]
    fn accepts_a_conforming_object() {
        let value = json!({
            "type": "bugfix", "title": "Fix it", "facts": ["a", "b"],
            "score": 3, "weight": 0.5, "done": true, "note": null
        });
        assert_eq!(validate(&observation_schema(), &value), Ok(()));
        // 2.0 is an integer in JSON Schema.
        let value = json!({"type": "bugfix", "title": "t", "facts": [], "score": 2.0});
        assert_eq!(validate(&observation_schema(), &value), Ok(()));
    }

    #[test]
    fn reports_the_first_problem_with_its_path() {
        let schema = observation_schema();
        let cases = [
            (json!([]), "$: expected object, got array"),
            (
                json!({"type": "bugfix", "title": "t"}),
                "$: missing required property \"facts\"",
            ),
            (
                json!({"type": "oops", "title": "t", "facts": []}),
                "$.type: value is not one of the allowed values",
            ),
            (
                json!({"type": "bugfix", "title": "much too long", "facts": []}),
                "$.title: string of 13 characters exceeds maxLength 10",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": ["a", 1]}),
                "$.facts[1]: expected string, got number",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": ["a", "b", "c"]}),
                "$.facts: 3 items exceed maxItems 2",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": [], "score": 1.5}),
                "$.score: expected integer, got number",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": [], "done": "yes"}),
                "$.done: expected boolean, got string",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": [], "extra": 1}),
                "$: unexpected property \"extra\"",
            ),
            (
                json!({"type": "bugfix", "title": "t", "facts": [], "note": 3}),
                "$.note: expected string or null, got number",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                validate(&schema, &value),
                Err(expected.to_string()),
                "{value}"
            );
        }
    }

    #[test]
    fn max_length_counts_characters_not_bytes() {
        let schema = json!({"type": "string", "maxLength": 3});
        assert_eq!(validate(&schema, &json!("äöü")), Ok(()));
        assert!(validate(&schema, &json!("äöüx")).is_err());
    }

    #[test]
    fn unknown_keywords_and_empty_schemas_accept() {
        assert_eq!(validate(&json!({}), &json!({"a": 1})), Ok(()));
        assert_eq!(validate(&json!(true), &json!(1)), Ok(()));
        assert!(validate(&json!(false), &json!(1)).is_err());
        assert_eq!(
            validate(&json!({"type": "string", "format": "date"}), &json!("x")),
            Ok(())
        );
        assert_eq!(validate(&json!({"enum": [1]}), &json!(1.0)), Ok(()));
        assert_eq!(
            validate(
                &json!({"type": "integer", "minimum": 1, "maximum": 5}),
                &json!(5)
            ),
            Ok(())
        );
        assert!(
            validate(
                &json!({"type": "integer", "minimum": 1, "maximum": 5}),
                &json!(6)
            )
            .is_err()
        );
        assert!(validate(&json!({"type": "array", "minItems": 1}), &json!([])).is_err());
        assert!(validate(&json!({"type": "string", "minLength": 1}), &json!("")).is_err());
    }

    #[test]
    fn odd_property_names_are_quoted_in_paths() {
        let schema = json!({"properties": {"a b": {"type": "string"}}});
        assert_eq!(
            validate(&schema, &json!({"a b": 1})),
            Err("$[\"a b\"]: expected string, got number".into())
        );
    }
}
