//! Text embedders for mnemo's vector search.
//!
//! Every [`Embedder`] returns L2-normalised vectors, so a dot product is the
//! cosine similarity, and names its vectors with [`Embedder::model_id`]:
//! stored vectors carry that id and are rebuilt when it changes, so two
//! embedders with the same id must produce the same vectors.
//!
//! - [`StaticEmbedder`] (the default): a static token table distilled from
//!   all-MiniLM-L6-v2 and compiled into the binary ([`StaticEmbedder::builtin`]).
//!   No download, no model process; tens of microseconds per text (about
//!   65 µs for a 1 KB observation, BENCHMARKS.md).
//! - [`OpenAiEmbedder`]: any OpenAI-compatible `POST /v1/embeddings` endpoint.
//! - `CandleEmbedder` (cargo feature `candle`): the full BERT transformer on
//!   CPU, loaded from a local sentence-transformers directory.
//!
//! [`quant`] stores vectors as 8-bit integers and scores a query against them.

#![warn(missing_docs)]

#[cfg(feature = "candle")]
mod candle;
mod openai;
pub mod quant;
mod static_embed;
pub mod table;
mod tokenizer;

#[cfg(feature = "candle")]
pub use candle::CandleEmbedder;
pub use openai::OpenAiEmbedder;
pub use static_embed::StaticEmbedder;

/// Why an embedding could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A static table's bytes are not a valid table.
    #[error("invalid embedding table: {0}")]
    Table(String),
    /// A model directory or its files could not be loaded.
    #[error("cannot load model: {0}")]
    Load(String),
    /// The model failed while computing an embedding.
    #[error("embedding failed: {0}")]
    Model(String),
    /// The remote endpoint could not be reached or timed out.
    #[error("embedding endpoint unreachable: {0}")]
    Transport(String),
    /// The remote endpoint answered with a non-2xx status.
    #[error("embedding endpoint answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The server's error message, or the start of its body.
        message: String,
    },
    /// The remote endpoint answered 2xx with a body we cannot use.
    #[error("malformed embedding response: {0}")]
    Response(String),
}

/// Turns text into a fixed-size, L2-normalised vector.
pub trait Embedder: Send + Sync {
    /// Names the vectors this embedder produces. Changes whenever its vectors
    /// would change (model, dimensions, table, pooling).
    fn model_id(&self) -> &str;

    /// The length of every vector returned.
    fn dims(&self) -> usize;

    /// Embeds one text. The vector has [`dims`](Embedder::dims) components
    /// and unit length, except where an implementation documents a zero
    /// vector for text it has nothing to say about.
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError>;

    /// Embeds several texts, in order. Implementations that can batch (a
    /// remote endpoint, a transformer) override this; the default loops.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        texts.iter().map(|text| self.embed(text)).collect()
    }
}

/// A shared embedder is an embedder (so `Box::new(StaticEmbedder::builtin())`
/// is a `Box<dyn Embedder>` like any other).
impl<E: Embedder + ?Sized> Embedder for &E {
    fn model_id(&self) -> &str {
        (**self).model_id()
    }

    fn dims(&self) -> usize {
        (**self).dims()
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        (**self).embed(text)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed_batch(texts)
    }
}

/// Scales `v` to unit length in place; leaves an all-zero vector as it is.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The dot product of two vectors of equal length (the cosine similarity of
/// two normalised vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
