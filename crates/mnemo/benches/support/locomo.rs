//! The LoCoMo development set (`../shared/eval/locomo-dev.json`, see that
//! folder's README), read the same way by every LoCoMo benchmark.

use std::path::Path;

use serde_json::Value;

/// The dev set's conversations, or `None` (with a message saying so) when
/// the file is absent: the data is not part of the repository.
pub fn conversations() -> Option<Vec<Value>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/locomo-dev.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return None;
    };
    Some(serde_json::from_str(&text).expect("LoCoMo JSON"))
}

/// A conversation's questions that count (every category but 5, the
/// adversarial one) with their evidence turns' dialogue ids.
pub fn questions(conversation: &Value) -> Vec<(String, Vec<String>)> {
    conversation["qa"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|qa| qa["category"].as_i64() != Some(5))
        .map(|qa| {
            let evidence: Vec<String> = qa["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            (
                qa["question"].as_str().unwrap_or_default().to_string(),
                evidence,
            )
        })
        .filter(|(_, evidence)| !evidence.is_empty())
        .collect()
}
