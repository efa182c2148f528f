//! The default embedder: a model2vec-style static token table.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::table::Layout;
use crate::tokenizer::{self, Vocab};
use crate::{EmbedError, Embedder, normalize};

/// The table distilled from sentence-transformers' all-MiniLM-L6-v2
/// (Apache-2.0; vocabulary and weights from its published model) by
/// `scripts/distill-embeddings.sh`: 192 dimensions, model id
/// `minilm-l6-static-d192-v1` (layout in [`crate::table`]).
static BUILTIN_TABLE: &[u8] = include_bytes!("../assets/minilm-l6-static.mnemoemb");

/// Embeds text as the normalised sum of its WordPiece tokens' vectors from a
/// static table (each token's weight is baked into its vector's length).
///
/// Tokens are BERT-uncased WordPiece pieces (see the tokenizer notes in the
/// crate source); `[UNK]` pieces are skipped. Text with no known token
/// (empty, whitespace, only unknown symbols) embeds to the **zero vector**,
/// whose similarity with everything is 0. Cost is linear in the text.
pub struct StaticEmbedder {
    bytes: Cow<'static, [u8]>,
    layout: Layout,
}

/// The lookups the tokenizer needs, over a table's bytes.
struct TableVocab<'a> {
    bytes: &'a [u8],
    layout: &'a Layout,
}

impl Vocab for TableVocab<'_> {
    fn lookup(&self, piece: &str, continuation: bool) -> Option<u32> {
        self.layout.lookup(self.bytes, piece, continuation)
    }
    fn unk(&self) -> u32 {
        self.layout.unk
    }
}

impl StaticEmbedder {
    /// The table compiled into this binary, checked once on first use. Only
    /// the header is parsed; the rest is read in place.
    pub fn builtin() -> &'static StaticEmbedder {
        static BUILTIN: OnceLock<StaticEmbedder> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            StaticEmbedder::from_bytes(Cow::Borrowed(BUILTIN_TABLE))
                // Compiled-in data, checked by this crate's tests.
                .expect("the built-in embedding table is valid")
        })
    }

    /// Uses a table file's bytes (a table built by the distiller, say).
    pub fn from_bytes(bytes: Cow<'static, [u8]>) -> Result<StaticEmbedder, EmbedError> {
        let layout = Layout::parse(&bytes)?;
        Ok(StaticEmbedder { bytes, layout })
    }

    /// The WordPiece ids of `text`, without `[CLS]`/`[SEP]`: what the
    /// embedding is built from (`[UNK]` included here).
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 4 + 1);
        let vocab = TableVocab {
            bytes: &self.bytes,
            layout: &self.layout,
        };
        tokenizer::tokenize(text, &vocab, &mut ids);
        ids
    }

    /// The number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.layout.vocab
    }
}

impl Embedder for StaticEmbedder {
    fn model_id(&self) -> &str {
        &self.layout.model_id
    }

    fn dims(&self) -> usize {
        self.layout.dims
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut acc = vec![0.0; self.layout.dims];
        for id in self.token_ids(text) {
            if id != self.layout.unk {
                self.layout.add_row(&self.bytes, id as usize, &mut acc);
            }
        }
        normalize(&mut acc);
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dot;

    #[test]
    fn builtin_table_loads_and_embeds_unit_vectors() {
        let e = StaticEmbedder::builtin();
        assert_eq!(e.vocab_size(), 30522);
        // Documented above; a regenerated table of another size or recipe
        // must update the docs (and gets a new id, so stored vectors rebuild).
        assert_eq!((e.model_id(), e.dims()), ("minilm-l6-static-d192-v1", 192));
        let v = e.embed("Fixed the flaky login test").expect("embeds");
        assert_eq!(v.len(), e.dims());
        assert!((dot(&v, &v) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn text_without_known_tokens_is_the_zero_vector() {
        let e = StaticEmbedder::builtin();
        for text in ["", "  \n\t", "\u{1F980}"] {
            let v = e.embed(text).expect("embeds");
            assert!(v.iter().all(|&x| x == 0.0), "{text:?}");
        }
    }
}
