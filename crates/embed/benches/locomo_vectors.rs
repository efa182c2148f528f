//! Vector-only retrieval quality on the LoCoMo development set
//! (`../shared/eval/locomo-dev.json`, CC BY-NC: read at run time, never
//! copied): every turn is embedded as `"<speaker>: <text>"`, every question
//! (category ≠ 5, with evidence) ranks its own conversation's turns by
//! cosine, and a hit is any evidence turn in the top k. Prints any-hit R@5
//! and R@10 per embedder:
//!
//! - the built-in static table, with f32 vectors and with vectors stored
//!   8-bit ([`mnemo_embed::quant`]);
//! - each table file in `MNEMO_EMBED_TABLES` (comma-separated paths, e.g.
//!   tables the distiller wrote at other sizes);
//! - with `--features candle` and `MNEMO_TEST_MINILM_DIR` set, the full
//!   all-MiniLM-L6-v2.
//!
//! ```sh
//! cargo bench -p mnemo-embed --bench locomo_vectors
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use mnemo_embed::{EmbedError, Embedder, StaticEmbedder, dot, quant};
use serde_json::Value;

struct Conversation {
    ids: Vec<String>,
    turns: Vec<String>,
    questions: Vec<(String, HashSet<String>)>,
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/locomo-dev.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let conversations = match serde_json::from_str::<Value>(&text) {
        Ok(data) => conversations(&data),
        Err(e) => {
            println!("skipped: {} is not JSON: {e}", path.display());
            return;
        }
    };
    let questions: usize = conversations.iter().map(|c| c.questions.len()).sum();
    let turns: usize = conversations.iter().map(|c| c.turns.len()).sum();
    println!(
        "LoCoMo dev: {} conversations, {turns} turns, {questions} questions",
        conversations.len()
    );
    println!("| embedder | model id | R@5 | R@10 | embed + rank time |");
    println!("|---|---|---|---|---|");

    let builtin = StaticEmbedder::builtin();
    report("static (built-in)", builtin, &conversations, false);
    report(
        "static (built-in), stored 8-bit",
        builtin,
        &conversations,
        true,
    );
    for table in std::env::var("MNEMO_EMBED_TABLES")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        match std::fs::read(table)
            .map_err(|e| EmbedError::Table(e.to_string()))
            .and_then(|bytes| StaticEmbedder::from_bytes(Cow::Owned(bytes)))
        {
            Ok(embedder) => report(table, &embedder, &conversations, false),
            Err(e) => println!("| {table} | cannot load: {e} | | | |"),
        }
    }
    full_model(&conversations);
}

#[cfg(feature = "candle")]
fn full_model(conversations: &[Conversation]) {
    let Some(dir) = std::env::var_os("MNEMO_TEST_MINILM_DIR") else {
        println!("(full model skipped: MNEMO_TEST_MINILM_DIR is not set)");
        return;
    };
    match mnemo_embed::CandleEmbedder::load(Path::new(&dir), "all-minilm-l6-v2") {
        Ok(model) => report("full MiniLM-L6-v2 (candle)", &model, conversations, false),
        Err(e) => println!("(full model skipped: {e})"),
    }
}

#[cfg(not(feature = "candle"))]
fn full_model(_: &[Conversation]) {
    println!("(full model skipped: build with --features candle)");
}

fn conversations(data: &Value) -> Vec<Conversation> {
    let empty = Vec::new();
    let mut out = Vec::new();
    for item in data.as_array().unwrap_or(&empty) {
        let mut conversation = Conversation {
            ids: Vec::new(),
            turns: Vec::new(),
            questions: Vec::new(),
        };
        if let Some(sessions) = item.get("conversation").and_then(Value::as_object) {
            // Sessions in numeric order (session_2 before session_10).
            let mut keys: Vec<(u32, &String)> = sessions
                .keys()
                .filter_map(|k| Some((k.strip_prefix("session_")?.parse().ok()?, k)))
                .collect();
            keys.sort();
            for (_, key) in keys {
                for turn in sessions[key].as_array().unwrap_or(&empty) {
                    let field = |name| turn.get(name).and_then(Value::as_str).unwrap_or("");
                    conversation.ids.push(field("dia_id").to_string());
                    conversation
                        .turns
                        .push(format!("{}: {}", field("speaker"), field("text")));
                }
            }
        }
        for qa in item.get("qa").and_then(Value::as_array).unwrap_or(&empty) {
            let evidence: HashSet<String> = qa
                .get("evidence")
                .and_then(Value::as_array)
                .unwrap_or(&empty)
                .iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect();
            let category = qa.get("category").and_then(Value::as_u64);
            let question = qa.get("question").and_then(Value::as_str);
            if let (Some(question), false, false) =
                (question, category == Some(5), evidence.is_empty())
            {
                conversation
                    .questions
                    .push((question.to_string(), evidence));
            }
        }
        out.push(conversation);
    }
    out
}

fn report(name: &str, embedder: &dyn Embedder, conversations: &[Conversation], stored_8bit: bool) {
    let started = Instant::now();
    let (mut hits5, mut hits10, mut total) = (0, 0, 0);
    for conversation in conversations {
        let turns: Vec<&str> = conversation.turns.iter().map(String::as_str).collect();
        let questions: Vec<&str> = conversation
            .questions
            .iter()
            .map(|(q, _)| q.as_str())
            .collect();
        let (turn_vectors, question_vectors) = match (
            embedder.embed_batch(&turns),
            embedder.embed_batch(&questions),
        ) {
            (Ok(t), Ok(q)) => (t, q),
            (Err(e), _) | (_, Err(e)) => {
                println!("| {name} | failed: {e} | | | |");
                return;
            }
        };
        let stored: Vec<Vec<u8>> = turn_vectors.iter().map(|v| quant::quantize(v)).collect();
        for ((_, evidence), query) in conversation.questions.iter().zip(&question_vectors) {
            let mut ranked: Vec<(f32, usize)> = (0..turns.len())
                .map(|i| {
                    let score = if stored_8bit {
                        quant::dot_quantized(query, &stored[i])
                    } else {
                        dot(query, &turn_vectors[i])
                    };
                    (score, i)
                })
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let hit = |k: usize| {
                ranked
                    .iter()
                    .take(k)
                    .any(|&(_, i)| evidence.contains(&conversation.ids[i]))
            };
            hits5 += usize::from(hit(5));
            hits10 += usize::from(hit(10));
            total += 1;
        }
    }
    let total = total.max(1) as f64;
    println!(
        "| {name} | {} | {:.3} | {:.3} | {:.2?} |",
        embedder.model_id(),
        hits5 as f64 / total,
        hits10 as f64 / total,
        started.elapsed()
    );
}
