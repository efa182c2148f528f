//! Search over a small in-memory store with any query text and filters.
//!
//! The input is text split on the record separator `\x1e`: the query, then
//! project, file, types (comma-separated), concepts (comma-separated),
//! limit, offset, since, until, author. Missing or empty parts mean "not given";
//! numbers that do not parse are taken as their length, so huge values come
//! from the seeds. Every search must be answered: an SQL or FTS5 error, or a
//! panic, is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mnemo_retrieve::{RecordKind, SearchQuery, search, search_records, search_with};
use mnemo_store::{NewObservation, ProjectRef, Store};

fn store() -> Store {
    let mut store = Store::open_in_memory().expect("in-memory store");
    let project = ProjectRef {
        root: "/src/app".into(),
        name: "app".into(),
    };
    let titles = [
        "fibonacci cache retries on negative input",
        "NEAR the AND operator OR not \"quoted\" (parens) col:on",
        "東京 straße über 🦀 emoji",
    ];
    for (i, title) in titles.iter().enumerate() {
        let observation = NewObservation {
            kind: ["bugfix", "feature", "discovery"][i].into(),
            title: title.to_string(),
            narrative: format!("narrative: {title}"),
            concepts: vec!["how-it-works".into()],
            files_modified: vec!["/src/app/cart.py".into()],
            content_hash: format!("h{i}"),
            generated_by: "user".into(),
            ..NewObservation::default()
        };
        store
            .remember(Some(&project), &observation, 1_000 + i as i64)
            .expect("remember");
    }
    store
}

thread_local! {
    static STORE: Store = store();
}

fn text(part: Option<&str>) -> Option<String> {
    part.filter(|s| !s.is_empty()).map(str::to_string)
}

fn list(part: Option<&str>) -> Vec<String> {
    part.map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

fn number<T: std::str::FromStr + TryFrom<usize>>(part: Option<&str>) -> Option<T> {
    let part = part.filter(|s| !s.is_empty())?;
    part.parse().ok().or_else(|| T::try_from(part.len()).ok())
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut parts = input.split('\x1e');
    let q = SearchQuery {
        text: parts.next().unwrap_or_default().to_string(),
        project: text(parts.next()),
        file: text(parts.next()),
        types: list(parts.next()),
        concepts: list(parts.next()),
        limit: number(parts.next()).unwrap_or(10),
        offset: number(parts.next()).unwrap_or(0),
        since: number(parts.next()),
        until: number(parts.next()),
        author: text(parts.next()),
    };
    STORE.with(|store| {
        if let Err(e) = search(store, &q) {
            panic!("search failed: {e}\n{q:?}");
        }
        if let Err(e) = search_with(store, &q, None, &Default::default(), 0) {
            panic!("full-text search failed: {e}\n{q:?}");
        }
        for kind in [RecordKind::Session, RecordKind::Prompt] {
            if let Err(e) = search_records(store, kind, &q) {
                panic!("{kind:?} search failed: {e}\n{q:?}");
            }
        }
    });
});
