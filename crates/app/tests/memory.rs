//! The memory operations — search, show, timeline, remember, forget and
//! restore — on the seed scenario's memories and on notes, as every front
//! end calls them: results, filters, ids, "not found", vectors on, off and
//! unreachable. What the CLI prints of them is tested through the binary.

use crate::common::*;

use mnemo_app::memory::{
    self, Error, Id, Note, Scope, SearchRequest, Shown, TimelineRequest, forget, remember, restore,
    search, search_records, show, timeline,
};
use mnemo_retrieve::time::parse_time;
use mnemo_retrieve::{Hit, Observation, RecordKind};
use serde_json::json;

fn fib_memories() -> Env {
    let env = Env::new();
    env.ingest_file(&scenarios_dir().join("fib_cli.jsonl"));
    env.compress();
    env
}

/// Every project's memories matching `text`, best first.
fn find(env: &Env, text: &str) -> Vec<Hit> {
    find_with(env, SearchRequest::new(text, Scope::All, 10))
}

fn find_with(env: &Env, request: SearchRequest) -> Vec<Hit> {
    search(&env.parts, &env.store(), &request).unwrap().hits
}

fn titles(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.title.as_str()).collect()
}

/// The observation `id`, which must exist.
fn observation(env: &Env, id: i64) -> Observation {
    match show(&env.store(), &[Id::Observation(id)])
        .unwrap()
        .found
        .pop()
    {
        Some(Shown::Observation(o, _)) => *o,
        other => panic!("#{id}: {other:?}"),
    }
}

#[test]
fn the_fibonacci_bug_is_found_and_shown() {
    let env = fib_memories();
    let hits = find(&env, "Tell me about the fibonacci bug we fixed last time");
    assert_eq!(hits[0].kind, "bugfix", "{hits:?}");
    let full = observation(&env, hits[0].id);
    let text = serde_json::to_string(&full).unwrap();
    assert!(
        text.contains("RecursionError") && text.contains("ValueError"),
        "{text}"
    );
    // Filters.
    let mut features = SearchRequest::new("fibonacci", Scope::All, 10);
    features.types = vec!["feature".into()];
    assert!(
        find_with(&env, features)
            .iter()
            .all(|h| h.kind == "feature")
    );
    let mut by_file = SearchRequest::new("", Scope::All, 10);
    by_file.files = vec!["test_fibonacci.py".into()];
    assert_eq!(find_with(&env, by_file).len(), 1);
}

#[test]
fn a_short_query_naming_a_kind_prefers_that_kind() {
    let env = fib_memories();
    let hits = find(&env, "fibonacci bug");
    assert_eq!(hits[0].kind, "bugfix", "{hits:?}");
}

#[test]
fn prompts_sessions_and_dates() {
    let env = fib_memories();
    let store = env.store();
    let records = |kind, text: &str| {
        search_records(&store, kind, &SearchRequest::new(text, Scope::All, 10))
            .unwrap()
            .hits
    };
    let prompts = records(RecordKind::Prompt, "traceback");
    assert_eq!(prompts.len(), 1, "{prompts:?}");
    assert!(prompts[0].title.contains("crashes with a giant traceback"));
    assert_eq!(records(RecordKind::Session, "").len(), 3);
    let dated = |since: Option<&str>, until: Option<&str>| {
        let mut request = SearchRequest::new("fibonacci", Scope::All, 10);
        request.since = since.map(|d| parse_time(d, false).unwrap());
        request.until = until.map(|d| parse_time(d, true).unwrap());
        find_with(&env, request)
    };
    assert!(dated(Some("2999-01-01"), None).is_empty());
    assert!(dated(None, Some("2000-01-01")).is_empty());
    assert!(!dated(Some("2000-01-01"), None).is_empty());
    // Observation filters do not apply to prompts.
    let mut typed = SearchRequest::new("x", Scope::All, 10);
    typed.types = vec!["bugfix".into()];
    let refused = search_records(&store, RecordKind::Prompt, &typed);
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
}

#[test]
fn any_query_text_is_safe() {
    let env = fib_memories();
    let long = "x(\"y -z:w ".repeat(1200);
    for q in [
        "\"unbalanced",
        "a:b -c (d",
        "NEAR(x y)",
        "🦀 fibonacci 🦀",
        "'; DROP TABLE observations; --",
        long.as_str(),
    ] {
        let request = SearchRequest::new(q, Scope::All, 10);
        if let Err(e) = search(&env.parts, &env.store(), &request) {
            panic!("{q:.40}: {e}");
        }
    }
    assert!(
        env.count("SELECT count(*) FROM observations") > 0,
        "nothing was dropped"
    );
    assert!(Id::parse("nope").is_err());
}

#[test]
fn remember_and_timeline() {
    let env = fib_memories();
    let token = format!("ghp_{}", "Q1w2E3r4T5".repeat(4));
    let note = Note {
        text: format!(
            "Release builds need RUSTFLAGS=-Ctarget-cpu=native on the CI box. Token {token}"
        ),
        kind: Some("decision".into()),
        scope: Env::naming("/home/dev/fib-cli"),
        ..Note::default()
    };
    let id = remember(&env.parts, &mut env.store(), &note)
        .unwrap()
        .id
        .expect("stored");
    let again = remember(&env.parts, &mut env.store(), &note).unwrap();
    assert_eq!(again.id, None, "identical memory stored once");
    let full = observation(&env, id);
    assert_eq!(full.kind, "decision");
    assert_eq!(full.generated_by, "user");
    assert!(
        !serde_json::to_string(&full).unwrap().contains(&token),
        "redacted"
    );
    assert_eq!(find(&env, "target-cpu native")[0].id, id);
    // The timeline around the bugfix shows its neighbours in order.
    let mut bugfixes = SearchRequest::new("fibonacci bug", Scope::All, 10);
    bugfixes.types = vec!["bugfix".into()];
    let bug = find_with(&env, bugfixes)[0].id;
    let request = TimelineRequest {
        around: Some(Id::Observation(bug)),
        query: None,
        scope: Scope::All,
        before: 1,
        after: 1,
    };
    let around = timeline(&env.parts, &env.store(), &request).unwrap();
    let ids: Vec<i64> = around.hits.iter().map(|h| h.id).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], bug);
    assert!(ids[0] < bug && bug < ids[2]);
    let nonsense = Note {
        text: "x".into(),
        kind: Some("nonsense".into()),
        ..Note::default()
    };
    let refused = remember(&env.parts, &mut env.store(), &nonsense);
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
}

const NOTES: &[&str] = &[
    "Switched the database driver from psycopg2 to asyncpg for connection pooling",
    "The login page now rejects expired passwords",
    "Fixed a crash when the user uploads an empty image",
    "Decided to use tabs for indentation in the Makefile",
];

/// Each of [`NOTES`], remembered from outside any project.
fn remember_notes(env: &Env) {
    for text in NOTES {
        let note = Note {
            text: text.to_string(),
            scope: env.outside(),
            ..Note::default()
        };
        remember(&env.parts, &mut env.store(), &note).unwrap();
    }
}

#[test]
fn vectors_find_memories_that_share_no_word_with_the_query() {
    let env = Env::new();
    remember_notes(&env);
    assert_eq!(env.count("SELECT count(*) FROM observation_vectors"), 4);
    assert_eq!(env.count("SELECT count(*) FROM vector_queue"), 0);
    for (query, expected) in [
        ("authentication credentials too old", NOTES[1]),
        ("postgres library", NOTES[0]),
    ] {
        let hits = find(&env, query);
        assert_eq!(titles(&hits).first(), Some(&expected), "{query}: {hits:?}");
    }
}

#[test]
fn without_vectors_search_is_full_text_and_nothing_is_lost() {
    let off = Env::configured("[embed]\nbackend = \"off\"\n");
    remember_notes(&off);
    assert_eq!(off.count("SELECT count(*) FROM observation_vectors"), 0);
    assert!(find(&off, "authentication credentials too old").is_empty());
    assert_eq!(titles(&find(&off, "expired")), [NOTES[1]]);

    // An embedding endpoint that is down: memories are kept, queued for
    // vectors, and found by full text.
    let down = Env::configured(
        "[embed]\nbackend = \"openai\"\nbase_url = \"http://127.0.0.1:9\"\n\
         model = \"nomic-embed-text\"\ndims = 768\n",
    );
    remember_notes(&down);
    assert_eq!(down.count("SELECT count(*) FROM observations"), 4);
    assert_eq!(down.count("SELECT count(*) FROM vector_queue"), 4);
    let status = mnemo_app::status::status(&down.parts, &down.store()).unwrap();
    assert_eq!((status.stats.vectors, status.stats.vectors_pending), (0, 4));
    assert_eq!(titles(&find(&down, "asyncpg")), [NOTES[0]]);
}

#[test]
fn forget_and_restore() {
    let env = Env::new();
    remember_notes(&env);
    let id = find(&env, "asyncpg")[0].id;
    let ids = [Id::Observation(id)];
    let forgotten = forget(&env.parts, &mut env.store(), &ids).unwrap();
    assert_eq!(forgotten.changed, [id]);
    assert!(find(&env, "asyncpg").is_empty());
    // A forgotten memory is not found, and forgetting it again is an error.
    let shown = show(&env.store(), &ids);
    assert!(
        matches!(&shown, Err(Error::NotFound(m)) if *m == format!("no observation #{id}")),
        "{shown:?}"
    );
    let again = forget(&env.parts, &mut env.store(), &ids);
    assert!(
        matches!(&again, Err(Error::NotFound(m)) if *m == format!("no live observation #{id}")),
        "{again:?}"
    );
    assert_eq!(restore(&mut env.store(), &ids).unwrap().changed, [id]);
    assert_eq!(titles(&find(&env, "asyncpg")), [NOTES[0]]);
}

/// A conversation imported one message per memory, as observation lines.
fn imported_chat(env: &Env) {
    let day = |d: u32| format!("2023-05-{d:02}T10:00:00Z");
    let messages = [
        (
            "m1",
            8,
            "Ana: I finally repainted the kitchen. Do you keep any pets at home?",
        ),
        ("m2", 8, "Ben: We got another cat named Bailey last spring."),
        (
            "m3",
            8,
            "Ana: Pets at the shelter need homes too, I keep visiting them.",
        ),
        (
            "m4",
            9,
            "Ben: The vet said pets need their shots every year.",
        ),
        ("m5", 9, "Ana: My neighbour keeps pets in a tiny flat."),
        ("m6", 20, "Ben: Went hiking by the lake with my brother."),
        ("m7", 25, "Ben: Went hiking by the lake again, in the rain."),
    ];
    let lines: Vec<_> = messages
        .iter()
        .map(|(id, d, text)| {
            json!({
                "project": "/chat",
                "title": text.split(". ").next().unwrap(),
                "narrative": text,
                "created_at": day(*d),
                "ref": id,
            })
        })
        .collect();
    env.seed(&lines);
}

fn refs(env: &Env, query: &str) -> Vec<String> {
    let scope = memory::scope::resolve(&env.store(), &Env::naming("/chat")).unwrap();
    find_with(env, SearchRequest::new(query, scope, 10))
        .into_iter()
        .map(|h| h.reference.unwrap())
        .collect()
}

#[test]
fn in_an_imported_chat_the_reply_to_a_question_answers_it() {
    let env = Env::new();
    imported_chat(&env);
    // The reply shares no word with the search; the question before it does.
    let found = refs(&env, "Which pets does he keep at home?");
    assert!(found.iter().take(3).any(|r| r == "m2"), "{found:?}");
    // A date in the search favours that day's messages.
    assert_eq!(
        refs(&env, "Where did Ben go hiking on 25 May, 2023?")[0],
        "m7"
    );
    assert_eq!(
        refs(&env, "Where did Ben go hiking on 20 May, 2023?")[0],
        "m6"
    );
}

#[test]
fn a_word_finds_its_forms_the_stemmer_keeps_apart() {
    let env = Env::new();
    let note = Note {
        text: "The worker panicked on an empty queue; a guard now returns early.".into(),
        scope: Env::naming(env.project_dir()),
        ..Note::default()
    };
    let id = remember(&env.parts, &mut env.store(), &note)
        .unwrap()
        .id
        .expect("stored");
    let scope = memory::scope::resolve(&env.store(), &Env::naming(env.project_dir())).unwrap();
    for query in ["panic", "panics", "panicking", "panicked"] {
        let found = find_with(&env, SearchRequest::new(query, scope.clone(), 10));
        assert!(found.iter().any(|h| h.id == id), "{query:?} finds #{id}");
    }
}
