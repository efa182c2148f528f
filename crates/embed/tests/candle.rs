//! The full transformer against sentence-transformers' own vectors
//! (`fixtures/minilm_reference.json`, made by `fixtures/make_fixtures.py`).
//! Needs the model: `MNEMO_TEST_MINILM_DIR=$(scripts/fetch-minilm.sh)
//! cargo test -p mnemo-embed --features candle`; skipped otherwise.
#![cfg(feature = "candle")]

use std::path::Path;

use mnemo_embed::{CandleEmbedder, Embedder, dot};
use serde_json::Value;

#[test]
fn matches_sentence_transformers_reference_vectors() {
    let Some(dir) = std::env::var_os("MNEMO_TEST_MINILM_DIR") else {
        println!(
            "skipped: set MNEMO_TEST_MINILM_DIR to an all-MiniLM-L6-v2 directory (scripts/fetch-minilm.sh)"
        );
        return;
    };
    let model = CandleEmbedder::load(Path::new(&dir), "all-minilm-l6-v2").expect("model loads");
    assert_eq!(model.dims(), 384);
    let fixture: Value = serde_json::from_str(include_str!("fixtures/minilm_reference.json"))
        .expect("fixture is JSON");
    let sentences = fixture["sentences"].as_array().expect("sentences");
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().expect("text"))
        .collect();
    let batch = model.embed_batch(&texts).expect("embeds");
    for (sentence, got) in sentences.iter().zip(&batch) {
        let expected: Vec<f32> = sentence["vector"]
            .as_array()
            .expect("vector")
            .iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect();
        let cosine = dot(got, &expected);
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            cosine > 0.9999 && worst < 1e-4,
            "{}: cosine {cosine}, worst component error {worst}",
            sentence["text"]
        );
    }
    // One at a time (no padding) gives the same vectors as the padded batch.
    let single = model.embed(texts[0]).expect("embeds");
    assert!(dot(&single, &batch[0]) > 0.99999);

    // Long text is truncated to the model's 256 tokens, ending in [SEP]
    // (not embedded here: a debug build runs the model slowly).
    let long = model
        .token_ids(&"the build cache was invalidated again ".repeat(300))
        .expect("tokenizes");
    assert_eq!((long.len(), long.last()), (256, Some(&102)));
    assert!(model.hidden_states(&[vec![101, 999_999, 102]]).is_err());
    assert!(model.hidden_states(&[vec![101; 513]]).is_err());
}
