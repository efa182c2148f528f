//! Properties of search over a real in-memory store: whatever a person or
//! an agent types (any unicode, FTS5 operators, quotes, NUL, 10 KB pastes)
//! and whatever filters they pass, a search is answered, never failed with
//! an SQL or FTS5 error.

use mnemo_retrieve::{RecordKind, SearchQuery, search, search_records, search_with};
use mnemo_store::{NewObservation, ProjectRef, Store};
use proptest::prelude::*;

/// A few memories in two projects, with words the queries below also use.
fn store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let projects = [
        ProjectRef {
            root: "/src/app".into(),
            name: "app".into(),
        },
        ProjectRef {
            root: "/src/日本".into(),
            name: "日本".into(),
        },
    ];
    let titles = [
        "fibonacci cache retries on negative input",
        "NEAR the AND operator OR not",
        "quoted \"phrase\" with (parentheses) and col:on",
        "東京 straße über 🦀 emoji",
        "cart.py crashed with RecursionError",
    ];
    for (i, title) in titles.iter().enumerate() {
        let observation = NewObservation {
            kind: ["bugfix", "feature", "discovery"][i % 3].into(),
            title: title.to_string(),
            narrative: format!("narrative {i}: {title}"),
            facts: vec![format!("fact {i}")],
            concepts: vec!["how-it-works".into(), format!("c{i}")],
            files_read: vec![format!("/src/app/f{i}.py")],
            files_modified: vec!["/src/app/cart.py".into()],
            content_hash: format!("h{i}"),
            generated_by: "user".into(),
            ..NewObservation::default()
        };
        store
            .remember(Some(&projects[i % 2]), &observation, 1_000 + i as i64)
            .unwrap();
    }
    store
}

/// Query text: arbitrary strings, FTS5 and SQL syntax glued at random, and
/// long pastes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,80}",
        prop::collection::vec(
            prop::sample::select(
                &[
                    "\"",
                    "'",
                    "(",
                    ")",
                    "*",
                    "^",
                    ":",
                    "-",
                    "+",
                    "NEAR",
                    "NEAR(",
                    "AND",
                    "OR",
                    "NOT",
                    "title:",
                    "{",
                    "}",
                    "\0",
                    ";",
                    "--",
                    "DROP TABLE observations",
                    "%",
                    "_",
                    "\\",
                    "fibonacci",
                    "cache",
                    "東京",
                    "🦀",
                    "é",
                    " ",
                    "\n",
                ][..]
            ),
            0..60,
        )
        .prop_map(|parts| parts.concat()),
        ("[a-z ]{1,8}", 1usize..1500).prop_map(|(word, n)| word.repeat(n)),
    ]
}

/// Optional filter strings: arbitrary, or one that exists in the store.
fn filter_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        any::<String>(),
        Just("/src/app".to_string()),
        Just("cart.py".to_string()),
        Just("%_\\".to_string()),
    ])
}

fn query() -> impl Strategy<Value = SearchQuery> {
    (
        text(),
        filter_text(),
        prop::collection::vec(any::<String>(), 0..3),
        prop::collection::vec(any::<String>(), 0..3),
        filter_text(),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        prop_oneof![0usize..50, any::<usize>()],
        prop_oneof![0usize..10, any::<usize>()],
    )
        .prop_map(
            |(text, project, types, concepts, file, since, until, limit, offset)| SearchQuery {
                text,
                project,
                types,
                concepts,
                // Any text as an author too (the file strategy's).
                author: file.clone(),
                file,
                since,
                until,
                limit,
                offset,
            },
        )
}

#[test]
fn any_query_is_answered() {
    let store = store();
    proptest!(ProptestConfig::with_cases(300), |(q in query())| {
        let hits = search(&store, &q);
        prop_assert!(hits.is_ok(), "{q:?}: {:?}", hits.err());
        let hits = search_with(&store, &q, None, &Default::default(), 0);
        prop_assert!(hits.is_ok(), "full text only, {q:?}: {:?}", hits.err());
        for kind in [RecordKind::Session, RecordKind::Prompt] {
            let hits = search_records(&store, kind, &q);
            prop_assert!(hits.is_ok(), "{kind:?} {q:?}: {:?}", hits.err());
        }
    });
}

#[test]
fn matching_words_are_found_whatever_follows_them() {
    let store = store();
    // Only the first 32 words are searched, so the known word comes first.
    proptest!(ProptestConfig::with_cases(200), |(after in text())| {
        let q = SearchQuery {
            text: format!("fibonacci {after}"),
            limit: 50,
            ..SearchQuery::default()
        };
        let hits = search_with(&store, &q, None, &Default::default(), 0).unwrap();
        prop_assert!(
            hits.iter().any(|h| h.title.contains("fibonacci")),
            "{q:?}: {hits:?}"
        );
    });
}
