//! LoCoMo retrieval: any-hit recall@5 and @10 of `mnemo search` on the dev
//! set in `../shared/eval/locomo-dev.json` (see that folder's README for the
//! metric). Every dialogue turn is one memory ("<speaker>: <text>"), one store
//! per conversation; every question with evidence, except category 5, is a
//! search. Skips cleanly when the file is absent.
//!
//! Run: `cargo bench -p mnemo --bench locomo`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use mnemo_retrieve::{SearchQuery, search};
use mnemo_store::{NewObservation, ProjectRef, Store};
use serde_json::Value;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/locomo-dev.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let data: Vec<Value> = serde_json::from_str(&text).expect("LoCoMo JSON");
    let (mut questions, mut hit5, mut hit10) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::new();
    for (c, conversation) in data.iter().enumerate() {
        let mut store = Store::open_in_memory().expect("store");
        let project = ProjectRef {
            root: format!("/locomo/{c}"),
            name: format!("conversation-{c}"),
        };
        let conv = &conversation["conversation"];
        let mut dia_of: HashMap<i64, String> = HashMap::new();
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
        for qa in conversation["qa"].as_array().into_iter().flatten() {
            let evidence: Vec<&str> = qa["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if qa["category"].as_i64() == Some(5) || evidence.is_empty() {
                continue;
            }
            let started = Instant::now();
            let hits = search(
                &store,
                &SearchQuery {
                    text: qa["question"].as_str().unwrap_or_default().to_string(),
                    project: Some(project.root.clone()),
                    limit: 10,
                    ..SearchQuery::default()
                },
            )
            .expect("search");
            latencies.push(started.elapsed());
            let found: Vec<bool> = hits
                .iter()
                .map(|h| {
                    dia_of
                        .get(&h.id)
                        .is_some_and(|d| evidence.contains(&d.as_str()))
                })
                .collect();
            questions += 1;
            hit5 += usize::from(found.iter().take(5).any(|&f| f));
            hit10 += usize::from(found.iter().any(|&f| f));
        }
    }
    latencies.sort();
    println!(
        "LoCoMo dev, BM25 (FTS5, porter): {questions} questions, R@5 {:.3}, R@10 {:.3}; search median {:.2} ms",
        hit5 as f64 / questions as f64,
        hit10 as f64 / questions as f64,
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0
    );
}
