//! The built-in static embedder ranks meaning, not just shared words.

use mnemo_embed::{Embedder, StaticEmbedder, dot};

fn similarity(a: &str, b: &str) -> f32 {
    let e = StaticEmbedder::builtin();
    dot(&e.embed(a).expect("embeds"), &e.embed(b).expect("embeds"))
}

#[test]
fn close_sentences_score_higher_than_unrelated_ones() {
    let cases = [
        (
            "The build failed because the linker ran out of memory.",
            "Compilation crashed: the linker exhausted RAM.",
            "We adopted a cat from the shelter last weekend.",
        ),
        (
            "Added a retry with exponential backoff to the HTTP client.",
            "The network request is now retried after increasing delays.",
            "Renamed the CSS classes of the settings page.",
        ),
        (
            "How do I reset my password?",
            "Steps to recover a forgotten login password",
            "Recipe for a chocolate cake with berries",
        ),
        (
            "The database query was slow, so we added an index.",
            "Indexing the SQL table made the lookup much faster.",
            "She went hiking in the mountains with her dog.",
        ),
        (
            "I went to the beach with my kids on Saturday.",
            "We took the children to the seaside at the weekend.",
            "The compiler rejects mutable borrows of the cache.",
        ),
    ];
    for (anchor, close, unrelated) in cases {
        let near = similarity(anchor, close);
        let far = similarity(anchor, unrelated);
        assert!(
            near > far + 0.1,
            "{anchor:?}: close {near:.3} vs unrelated {far:.3}"
        );
    }
}

#[test]
fn embedding_is_deterministic_and_case_insensitive() {
    let e = StaticEmbedder::builtin();
    let a = e.embed("Fixed the Flaky LOGIN test").expect("embeds");
    let b = e.embed("fixed the flaky login test").expect("embeds");
    assert_eq!(a, b);
    assert_eq!(
        e.embed_batch(&["fixed the flaky login test"])
            .expect("embeds")[0],
        a
    );
}
