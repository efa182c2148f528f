//! Vector similarity: embedding observations after they are written, and
//! finding the observations nearest to a query.
//!
//! Writers never embed inside their transaction: a trigger queues every new
//! or edited observation (`vector_queue`), and [`embed_pending`] drains the
//! queue afterwards, so a slow or failing embedder can delay vectors but
//! never lose or block a memory. Search scans the vectors of the query's
//! project (one contiguous range of the table) and keeps the best few.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::HashMap;

use mnemo_embed::{EmbedError, Embedder, quant};
use mnemo_store::{Store, StoreError, VectorSource};
use rusqlite::{Connection, OptionalExtension};

/// Observations embedded per batch (one transaction each).
const BATCH: usize = 256;

/// Narrative characters embedded after the title and subtitle: an average
/// over a long narrative blurs what the memory is about.
const NARRATIVE_CHARS: usize = 1200;

/// Characters of the request a memory answers that are embedded with it.
const REQUEST_CHARS: usize = 600;

/// How much the facts and the request weigh in a memory's vector next to
/// its prose (each part's unit vector, weighted, summed). Facts are mostly
/// paths, code and command output: embedded in one text with the prose,
/// their many tokens outweigh the sentences that a question in other words
/// comes close to. The request is the problem in the user's own words.
const FACTS_WEIGHT: f32 = 0.3;
const REQUEST_WEIGHT: f32 = 0.5;

/// Why queued observations could not be embedded.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// The prose an observation is embedded from: title, subtitle, narrative.
fn prose(source: &VectorSource) -> String {
    let narrative: String = source.narrative.chars().take(NARRATIVE_CHARS).collect();
    // A title that repeats part of the narrative (its opening, cut short)
    // would weigh those words twice and blur the rest.
    let title = if narrative.contains(source.title.trim_end_matches([' ', '…', '.'])) {
        ""
    } else {
        source.title.as_str()
    };
    let mut text = format!("{}. {}", title, source.subtitle);
    if !narrative.is_empty() {
        text.push_str(". ");
        text.push_str(&narrative);
    }
    text
}

/// The weighted texts an observation's vector is made of.
fn embedding_parts(source: &VectorSource, request: Option<&str>) -> Vec<(f32, String)> {
    let facts: Vec<String> = serde_json::from_str(&source.facts).unwrap_or_default();
    let mut parts = vec![(1.0, prose(source))];
    if !facts.is_empty() {
        // A memory without a narrative is its facts.
        let weight = if source.narrative.trim().is_empty() {
            1.0
        } else {
            FACTS_WEIGHT
        };
        parts.push((weight, facts.join(". ")));
    }
    if let Some(request) = request.filter(|r| !r.trim().is_empty()) {
        parts.push((
            REQUEST_WEIGHT,
            request.chars().take(REQUEST_CHARS).collect(),
        ));
    }
    parts
}

/// The text of the prompt each of `ids` answers, where it has one.
fn requests(conn: &Connection, ids: &[i64]) -> rusqlite::Result<HashMap<i64, String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.text FROM observations o JOIN prompts p ON p.id = o.prompt_id
         WHERE o.id = ?1",
    )?;
    let mut found = HashMap::new();
    for &id in ids {
        if let Some(text) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            found.insert(id, text);
        }
    }
    Ok(found)
}

/// Embed up to `max` queued observations with `embedder`; returns how many.
/// Each batch commits on its own, so an error keeps what was done.
pub fn embed_pending(
    store: &mut Store,
    embedder: &dyn Embedder,
    max: usize,
) -> Result<usize, VectorError> {
    let model = store.embedding_model(&stored_model_name(embedder), embedder.dims())?;
    let mut done = 0;
    while done < max {
        let batch = store.vector_queue(BATCH.min(max - done))?;
        if batch.is_empty() {
            break;
        }
        let ids: Vec<i64> = batch.iter().map(|s| s.observation_id).collect();
        let requests = requests(store.conn(), &ids).map_err(StoreError::from)?;
        let parts: Vec<Vec<(f32, String)>> = batch
            .iter()
            .map(|s| embedding_parts(s, requests.get(&s.observation_id).map(String::as_str)))
            .collect();
        let texts: Vec<&str> = parts.iter().flatten().map(|(_, t)| t.as_str()).collect();
        let mut vectors = embedder.embed_batch(&texts)?.into_iter();
        let mut rows = Vec::with_capacity(batch.len());
        for (source, parts) in batch.iter().zip(&parts) {
            let mut sum = vec![0.0; embedder.dims()];
            for ((weight, _), vector) in parts.iter().zip(vectors.by_ref()) {
                for (s, v) in sum.iter_mut().zip(vector) {
                    *s += weight * v;
                }
            }
            mnemo_embed::normalize(&mut sum);
            rows.push((
                source.observation_id,
                source.project_id,
                quant::quantize(&sum),
            ));
        }
        store.save_vectors(model, &rows)?;
        done += rows.len();
    }
    Ok(done)
}

/// How an observation becomes the texts its vector is made of
/// ([`embedding_parts`]). Part of the name vectors are stored under, so a
/// new recipe re-embeds every memory, as a new model does.
const RECIPE: &str = "prose-weighted";

/// The name `embedder`'s vectors are stored under: the model and the recipe.
fn stored_model_name(embedder: &dyn Embedder) -> String {
    format!("{}+{RECIPE}", embedder.model_id())
}

/// The stored model id of `embedder`, if anything was ever embedded with it.
pub(crate) fn model_row(
    conn: &Connection,
    embedder: &dyn Embedder,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM embedding_models WHERE name = ?1")?
        .query_row([stored_model_name(embedder)], |r| r.get(0))
        .optional()
}

/// Room reserved up front for [`nearest`]'s heap; it grows past this when
/// a caller asks for more.
const INITIAL_HEAP: usize = 1024;

/// The `k` observations of `model` (in `project`, when given) whose vectors
/// are most similar to `query`, best first, with their cosine similarity.
pub(crate) fn nearest(
    conn: &Connection,
    model: i64,
    project: Option<i64>,
    query: &[f32],
    k: usize,
) -> rusqlite::Result<Vec<(i64, f32)>> {
    // Two statements, not `?2 IS NULL OR project_id = ?2`: that form would
    // scan every project's vectors instead of seeking to one project's range.
    let mut stmt = match project {
        Some(_) => conn.prepare_cached(
            "SELECT observation_id, vector FROM observation_vectors
             WHERE model_id = ?1 AND project_id = ?2",
        )?,
        None => conn.prepare_cached(
            "SELECT observation_id, vector FROM observation_vectors WHERE model_id = ?1",
        )?,
    };
    let mut rows = match project {
        Some(project) => stmt.query(rusqlite::params![model, project])?,
        None => stmt.query([model])?,
    };
    // A min-heap of the best k so far: the root is the one to beat. `k`
    // comes from the caller's limit, so it does not size the allocation.
    let mut best: BinaryHeap<Reverse<(Similarity, i64)>> =
        BinaryHeap::with_capacity(k.min(INITIAL_HEAP) + 1);
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let bytes = row.get_ref(1)?.as_blob()?;
        let similarity = Similarity(quant::dot_quantized(query, bytes));
        if best.len() < k {
            best.push(Reverse((similarity, id)));
        } else if best
            .peek()
            .is_some_and(|Reverse((worst, _))| similarity > *worst)
        {
            best.pop();
            best.push(Reverse((similarity, id)));
        }
    }
    let mut found: Vec<(i64, f32)> = best.into_iter().map(|Reverse((s, id))| (id, s.0)).collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    Ok(found)
}

/// An f32 with a total order, for the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Similarity(f32);

impl Eq for Similarity {}

impl PartialOrd for Similarity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Similarity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Candidates kept by the sign-bit pass, per result wanted, before exact
/// scoring.
const PREFILTER_PER_RESULT: usize = 10;

/// The vectors of one model in memory, for long-lived processes (the MCP
/// server, the viewer): a scan without SQLite, and a first pass on sign bits.
///
/// Each vector is kept 8-bit (as stored) and as its sign bits. A query
/// first ranks every vector by the Hamming distance of the sign bits (a few
/// nanoseconds each), then scores the best `PREFILTER_PER_RESULT`× with
/// the exact 8-bit dot product. [`VectorIndex::refresh`] reads only vectors
/// written since the last refresh.
#[derive(Debug, Default)]
pub struct VectorIndex {
    model: Option<i64>,
    seq: i64,
    words: usize,
    ids: Vec<i64>,
    projects: Vec<i64>,
    signs: Vec<u64>,
    /// The 8-bit vectors back to back, `stride` bytes each.
    vectors: Vec<u8>,
    stride: usize,
    position: std::collections::HashMap<i64, usize>,
}

impl VectorIndex {
    /// Catch up with the database for `embedder`'s vectors.
    pub fn refresh(&mut self, conn: &Connection, embedder: &dyn Embedder) -> rusqlite::Result<()> {
        let Some(model) = model_row(conn, embedder)? else {
            return Ok(());
        };
        if self.model != Some(model) {
            *self = VectorIndex {
                model: Some(model),
                words: embedder.dims().div_ceil(64),
                stride: quant::quantized_len(embedder.dims()),
                ..VectorIndex::default()
            };
        }
        let mut stmt = conn.prepare_cached(
            "SELECT observation_id, project_id, vector, seq FROM observation_vectors
             WHERE model_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(rusqlite::params![model, self.seq])?;
        while let Some(row) = rows.next()? {
            let (id, project, seq): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(3)?);
            let vector = row.get_ref(2)?.as_blob()?;
            self.seq = seq;
            if vector.len() != self.stride {
                continue; // not this model's shape: never compared
            }
            let signs = sign_bits(&quant::dequantize(vector).unwrap_or_default(), self.words);
            match self.position.get(&id) {
                Some(&at) => {
                    self.projects[at] = project;
                    self.signs[at * self.words..(at + 1) * self.words].copy_from_slice(&signs);
                    self.vectors[at * self.stride..(at + 1) * self.stride].copy_from_slice(vector);
                }
                None => {
                    self.position.insert(id, self.ids.len());
                    self.ids.push(id);
                    self.projects.push(project);
                    self.signs.extend_from_slice(&signs);
                    self.vectors.extend_from_slice(vector);
                }
            }
        }
        Ok(())
    }

    /// How many vectors are held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no vector is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Like [`nearest`], from memory.
    pub(crate) fn nearest(&self, project: Option<i64>, query: &[f32], k: usize) -> Vec<(i64, f32)> {
        let q = sign_bits(query, self.words);
        // Never more than there are vectors: `k` comes from the caller's limit.
        let keep = k.saturating_mul(PREFILTER_PER_RESULT).min(self.ids.len());
        // The `keep` smallest Hamming distances so far, in a max-heap.
        let mut by_bits: BinaryHeap<(u32, usize)> = BinaryHeap::with_capacity(keep + 1);
        for (i, bits) in self.signs.chunks_exact(self.words.max(1)).enumerate() {
            if project.is_some_and(|p| self.projects[i] != p) {
                continue;
            }
            let distance: u32 = bits.iter().zip(&q).map(|(a, b)| (a ^ b).count_ones()).sum();
            if by_bits.len() < keep {
                by_bits.push((distance, i));
            } else if by_bits.peek().is_some_and(|&(worst, _)| distance < worst) {
                by_bits.pop();
                by_bits.push((distance, i));
            }
        }
        let mut found: Vec<(i64, f32)> = by_bits
            .into_iter()
            .map(|(_, i)| {
                (
                    self.ids[i],
                    quant::dot_quantized(
                        query,
                        &self.vectors[i * self.stride..(i + 1) * self.stride],
                    ),
                )
            })
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        found.truncate(k);
        found
    }
}

/// The sign bits of `v`, `words` 64-bit words long.
fn sign_bits(v: &[f32], words: usize) -> Vec<u64> {
    let mut bits = vec![0u64; words];
    for (i, x) in v.iter().enumerate().take(words * 64) {
        if *x > 0.0 {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    bits
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mnemo_embed::StaticEmbedder;
    use mnemo_store::{NewObservation, ProjectRef};

    #[test]
    fn a_title_cut_from_the_narrative_is_embedded_once() {
        let source = |title: &str| VectorSource {
            observation_id: 1,
            project_id: 1,
            title: title.into(),
            subtitle: String::new(),
            facts: "[]".into(),
            narrative: "Ana: We got another cat. Her name is Bailey.".into(),
        };
        let repeated = prose(&source("We got another cat."));
        assert_eq!(repeated.matches("another cat").count(), 1, "{repeated}");
        let cut = prose(&source("We got another …"));
        assert_eq!(cut.matches("another").count(), 1, "{cut}");
        let own = prose(&source("Pets at home"));
        assert!(own.starts_with("Pets at home.") && own.contains("Bailey"));
    }

    #[test]
    fn facts_and_the_request_weigh_less_than_the_prose() {
        let source = |narrative: &str| VectorSource {
            observation_id: 1,
            project_id: 1,
            title: "Lazy refill".into(),
            subtitle: String::new(),
            facts: r#"["limiter.go: added Allow()"]"#.into(),
            narrative: narrative.into(),
        };
        let told = embedding_parts(&source("Goroutines grew until the deploy."), Some("why?"));
        let weights: Vec<f32> = told.iter().map(|(w, _)| *w).collect();
        assert_eq!(weights, [1.0, FACTS_WEIGHT, REQUEST_WEIGHT]);
        assert!(told[0].1.contains("Goroutines") && !told[0].1.contains("Allow"));
        assert_eq!(told[2].1, "why?");
        // Without a narrative the facts are what the memory says.
        let untold = embedding_parts(&source(""), Some("  "));
        assert_eq!(untold.len(), 2);
        assert_eq!(untold[1], (1.0, "limiter.go: added Allow()".to_string()));
    }

    /// Three notes in one project (ids 1–3; #2 is about expired
    /// passwords), embedded with the built-in embedder.
    pub(crate) fn three_embedded_notes(store: &mut Store) {
        let project = ProjectRef {
            root: "/src/app".into(),
            name: "app".into(),
        };
        let notes = [
            "Switched the database driver to asyncpg",
            "The login page rejects expired passwords",
            "Uploads of empty images no longer crash",
        ];
        for (i, title) in notes.iter().enumerate() {
            let note = NewObservation {
                kind: "decision".into(),
                title: title.to_string(),
                content_hash: format!("h{i}"),
                generated_by: "user".into(),
                ..NewObservation::default()
            };
            store.remember(Some(&project), &note, 1).unwrap();
        }
        let embedded = embed_pending(store, StaticEmbedder::builtin(), usize::MAX).unwrap();
        assert_eq!(embedded, 3);
    }

    #[test]
    fn the_in_memory_index_agrees_with_the_table_and_catches_up() {
        let mut store = Store::open_in_memory().unwrap();
        three_embedded_notes(&mut store);
        let embedder = StaticEmbedder::builtin();
        let mut index = VectorIndex::default();
        index.refresh(store.conn(), embedder).unwrap();
        assert_eq!(index.len(), 3);
        let model = model_row(store.conn(), embedder).unwrap().unwrap();
        let query = embedder.embed("old credentials").unwrap();
        let from_table = nearest(store.conn(), model, None, &query, 3).unwrap();
        let from_memory = index.nearest(None, &query, 3);
        assert_eq!(from_memory.len(), 3);
        for ((a, x), (b, y)) in from_table.iter().zip(&from_memory) {
            assert_eq!(a, b);
            assert!((x - y).abs() < 1e-6);
        }
        // An edit is re-embedded; a refresh replaces the vector in place.
        store
            .conn()
            .execute(
                "UPDATE observations SET title = 'Uploads of huge videos time out' WHERE id = 3",
                [],
            )
            .unwrap();
        embed_pending(&mut store, embedder, usize::MAX).unwrap();
        index.refresh(store.conn(), embedder).unwrap();
        assert_eq!(index.len(), 3);
        let video = embedder.embed("video upload timeout").unwrap();
        assert_eq!(index.nearest(None, &video, 1)[0].0, 3);
        assert!(index.nearest(Some(999), &video, 1).is_empty());
    }
}
