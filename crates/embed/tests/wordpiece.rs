//! The hand-written tokenizer against Hugging Face's, on the ids the real
//! `tokenizer.json` gives (`fixtures/wordpiece.json`, made by
//! `fixtures/make_fixtures.py`): accents, punctuation, CJK, emoji, control
//! and zero-width characters, overlong words, code, and 10 KB of mixed text.

use mnemo_embed::StaticEmbedder;
use serde_json::Value;

#[test]
fn token_ids_match_hugging_face_bert_wordpiece() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/wordpiece.json")).expect("fixture is JSON");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20);
    let embedder = StaticEmbedder::builtin();
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let expected: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|id| id.as_u64().expect("id") as u32)
            .collect();
        let got = embedder.token_ids(text);
        if got != expected {
            let at = got
                .iter()
                .zip(&expected)
                .take_while(|(a, b)| a == b)
                .count();
            failures.push(format!(
                "{:?}…: first difference at token {at}: got {:?}, expected {:?}",
                text.chars().take(60).collect::<String>(),
                &got[at..got.len().min(at + 5)],
                &expected[at..expected.len().min(at + 5)],
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ten_kilobytes_tokenize_fully() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/wordpiece.json")).expect("fixture is JSON");
    let longest = fixture["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["text"].as_str())
        .max_by_key(|t| t.len())
        .expect("a case");
    assert!(longest.len() >= 10_000);
    assert!(StaticEmbedder::builtin().token_ids(longest).len() > 2_000);
}
