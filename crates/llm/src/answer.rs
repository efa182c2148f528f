//! Turning a model's text answer into a checked JSON value.

use serde_json::Value;

use crate::LlmError;
use crate::schema;

/// Parses the model's text as JSON and validates it against `schema`.
///
/// Tolerated around the JSON: surrounding whitespace, a Markdown fence
/// (```` ```json ```` or plain ```` ``` ````), `<think>…</think>` blocks that
/// reasoning models emit first, and prose before the first `{` or after the
/// last `}`. Error messages never quote the answer.
pub(crate) fn parse_answer(text: &str, schema: &Value) -> Result<Value, LlmError> {
    let value = extract_json(text).ok_or_else(|| {
        LlmError::InvalidResponse(format!(
            "the answer is not JSON ({} characters)",
            text.chars().count()
        ))
    })?;
    check(value, schema)
}

/// Validates an already-parsed value against `schema`.
pub(crate) fn check(value: Value, schema: &Value) -> Result<Value, LlmError> {
    match schema::validate(schema, &value) {
        Ok(()) => Ok(value),
        Err(problem) => Err(LlmError::InvalidResponse(format!(
            "the answer does not match the schema: {problem}"
        ))),
    }
}

fn extract_json(text: &str) -> Option<Value> {
    let text = strip_think(text).trim();
    if let Ok(value) = serde_json::from_str(text) {
        return Some(value);
    }
    if let Some(inner) = fenced(text)
        && let Ok(value) = serde_json::from_str(inner.trim())
    {
        return Some(value);
    }
    // Prose around one object: take the outermost braces.
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    if end <= start {
        return None;
    }
    serde_json::from_str(&text[start..=end]).ok()
}

/// The body of the first ``` fence in `text`, without its info string.
fn fenced(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = &text[open + 3..];
    // Skip the info string (`json`, `JSON`, …) up to the end of the line.
    let body_start = after.find('\n').map_or(0, |i| i + 1);
    let body = &after[body_start..];
    let close = body.rfind("```").unwrap_or(body.len());
    Some(&body[..close])
}

fn strip_think(text: &str) -> &str {
    let trimmed = text.trim_start();
    if trimmed.starts_with("<think>")
        && let Some(end) = trimmed.find("</think>")
    {
        return &trimmed[end + "</think>".len()..];
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}})
    }

    #[test]
    fn accepts_plain_fenced_and_wrapped_json() {
        let expected = json!({"title": "x"});
        for text in [
            r#"{"title": "x"}"#,
            "  {\"title\": \"x\"}\n",
            "```json\n{\"title\": \"x\"}\n```",
            "```\n{\"title\": \"x\"}\n```\n",
            "Here you go:\n```JSON\n{\"title\": \"x\"}\n```\nDone.",
            "Sure! {\"title\": \"x\"} Hope that helps.",
            "<think>\nhmm {not json}\n</think>\n{\"title\": \"x\"}",
        ] {
            assert_eq!(
                parse_answer(text, &schema()),
                Ok(expected.clone()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_non_json_without_quoting_it() {
        let err = parse_answer("I cannot do that, secret-ish text", &schema()).unwrap_err();
        assert_eq!(
            err,
            LlmError::InvalidResponse("the answer is not JSON (33 characters)".into())
        );
        assert!(parse_answer("{\"title\": ", &schema()).is_err());
        assert!(parse_answer("} {", &schema()).is_err());
    }

    #[test]
    fn rejects_schema_failures() {
        let err = parse_answer(r#"{"title": 3}"#, &schema()).unwrap_err();
        assert_eq!(
            err,
            LlmError::InvalidResponse(
                "the answer does not match the schema: $.title: expected string, got number".into()
            )
        );
    }
}
