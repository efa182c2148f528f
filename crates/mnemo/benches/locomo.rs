//! LoCoMo retrieval: any-hit recall@5 and @10 of mnemo's search on the dev
//! set in `../shared/eval/locomo-dev.json` (see that folder's README for the
//! metric). Every dialogue turn is one memory ("<speaker>: <text>"), one store
//! per conversation; every question with evidence, except category 5, is a
//! search. Skips cleanly when the file is absent.
//!
//! Prints full text alone, vectors alone (the built-in embedder) and the
//! default fusion (with the passage, answer and date weighing). Run: `cargo bench -p mnemo
//! --bench locomo`; add `-- --grid` to also print a grid of fusion settings
//! (how the default was chosen), `-- --passages` the passage weights.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mnemo_embed::{Embedder, StaticEmbedder};
use mnemo_retrieve::search::vectors::embed_pending;
use mnemo_retrieve::{Fusion, SearchQuery, search_with};
use mnemo_store::{NewObservation, ProjectRef, Store};
use serde_json::Value;
use support::results;

/// One conversation's store, and its questions with their evidence turns.
struct Conversation {
    store: Store,
    root: String,
    dia_of: HashMap<i64, String>,
    questions: Vec<(String, Vec<String>)>,
}

fn load(data: &[Value]) -> Vec<Conversation> {
    let embedder = StaticEmbedder::builtin();
    let mut out = Vec::new();
    for (c, conversation) in data.iter().enumerate() {
        let mut store = Store::open_in_memory().expect("store");
        let project = ProjectRef {
            root: format!("/locomo/{c}"),
            name: format!("conversation-{c}"),
        };
        let conv = &conversation["conversation"];
        let mut dia_of = HashMap::new();
        let mut n = 1;
        while let Some(turns) = conv.get(format!("session_{n}")).and_then(Value::as_array) {
            for turn in turns {
                let dia = turn["dia_id"].as_str().unwrap_or_default().to_string();
                let line = format!(
                    "{}: {}",
                    turn["speaker"].as_str().unwrap_or_default(),
                    turn["text"].as_str().unwrap_or_default()
                );
                let observation = NewObservation {
                    kind: "discovery".into(),
                    title: line,
                    content_hash: format!("locomo-{dia}"),
                    generated_by: "user".into(),
                    ..NewObservation::default()
                };
                if let Some(id) = store
                    .remember(Some(&project), &observation, n)
                    .expect("remember")
                {
                    dia_of.insert(id, dia);
                }
            }
            n += 1;
        }
        embed_pending(&mut store, embedder, usize::MAX).expect("embed");
        let questions = support::locomo::questions(conversation);
        out.push(Conversation {
            store,
            root: project.root,
            dia_of,
            questions,
        });
    }
    out
}

/// (R@5, R@10, median latency) of one way of searching.
fn evaluate(
    conversations: &[Conversation],
    embedder: Option<&dyn Embedder>,
    fusion: &Fusion,
) -> (f64, f64, Duration, usize) {
    let (mut questions, mut hit5, mut hit10) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::new();
    for c in conversations {
        for (question, evidence) in &c.questions {
            let query = SearchQuery {
                text: question.clone(),
                project: Some(c.root.clone()),
                limit: 10,
                ..SearchQuery::default()
            };
            let started = Instant::now();
            let hits = search_with(&c.store, &query, embedder, fusion, 0).expect("search");
            latencies.push(started.elapsed());
            let found: Vec<bool> = hits
                .iter()
                .map(|h| c.dia_of.get(&h.id).is_some_and(|d| evidence.contains(d)))
                .collect();
            questions += 1;
            hit5 += usize::from(found.iter().take(5).any(|&f| f));
            hit10 += usize::from(found.iter().any(|&f| f));
        }
    }
    latencies.sort();
    (
        hit5 as f64 / questions as f64,
        hit10 as f64 / questions as f64,
        latencies[latencies.len() / 2],
        questions,
    )
}

fn main() {
    let Some(data) = support::locomo::conversations() else {
        return;
    };
    let conversations = load(&data);
    let embedder: &dyn Embedder = StaticEmbedder::builtin();
    let vectors_only = Fusion {
        lexical_weight: 0.0,
        vector_weight: 1.0,
        min_similarity: -1.0,
        passage_weight: 0.0,
        best_passage_weight: 0.0,
        answer_weight: 0.0,
        date_weight: 0.0,
        ..Fusion::DEFAULT
    };
    let full_text = Fusion {
        passage_weight: 0.0,
        best_passage_weight: 0.0,
        answer_weight: 0.0,
        date_weight: 0.0,
        ..Fusion::DEFAULT
    };
    let runs: [(&str, Option<&dyn Embedder>, Fusion); 3] = [
        ("full text (FTS5 BM25)", None, full_text),
        ("vectors (built-in embedder)", Some(embedder), vectors_only),
        ("hybrid (default fusion)", Some(embedder), Fusion::DEFAULT),
    ];
    println!("LoCoMo dev, any-hit recall; model {}", embedder.model_id());
    for (name, embedder, fusion) in runs {
        let (r5, r10, median, questions) = evaluate(&conversations, embedder, &fusion);
        println!(
            "{name:<30} {questions} questions  R@5 {r5:.3}  R@10 {r10:.3}  search median {:.2} ms",
            median.as_secs_f64() * 1000.0
        );
        results::value(format!("LoCoMo dev R@5, {name}"), "recall", r5);
        results::value(format!("LoCoMo dev R@10, {name}"), "recall", r10);
    }
    results::save("locomo", &format!("{} conversations", conversations.len()));
    let grid = |names: [&str; 2], settings: Vec<(f64, f64, Fusion)>| {
        println!(
            "\n{:>6} {:>6} {:>7} {:>7}",
            names[0], names[1], "R@5", "R@10"
        );
        for (a, b, fusion) in settings {
            let (r5, r10, _, _) = evaluate(&conversations, Some(embedder), &fusion);
            println!("{a:>6} {b:>6} {r5:>7.3} {r10:>7.3}");
        }
    };
    if std::env::args().any(|a| a == "--passages") {
        let settings = [(0.0, 0.0), (0.5, 0.25), (1.0, 0.5), (2.0, 1.0)]
            .into_iter()
            .map(|(passage_weight, best_passage_weight)| {
                let fusion = Fusion {
                    passage_weight,
                    best_passage_weight,
                    ..Fusion::DEFAULT
                };
                (passage_weight, best_passage_weight, fusion)
            });
        grid(["w_all", "w_best"], settings.collect());
    }
    if std::env::args().any(|a| a == "--grid") {
        let mut settings = Vec::new();
        for depth in [20, 50, 100] {
            for vector_weight in [0.5, 0.6, 0.7, 0.8, 0.9, 1.0] {
                let fusion = Fusion {
                    depth,
                    vector_weight,
                    ..Fusion::DEFAULT
                };
                settings.push((depth as f64, vector_weight, fusion));
            }
        }
        grid(["depth", "w_vec"], settings);
    }
}
