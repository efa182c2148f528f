//! The full BERT transformer on CPU (candle), loaded from a local
//! sentence-transformers directory, pooled as sentence-transformers does for
//! all-MiniLM-L6-v2: mean over all positions of `[CLS] text [SEP]`, then L2
//! normalisation.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use crate::{EmbedError, Embedder, normalize};

/// Texts run through the model together (sorted by length, so little
/// padding is computed).
const BATCH: usize = 32;

/// A BERT-family sentence-transformers model: `config.json`,
/// `model.safetensors` (or `pytorch_model.bin`), `tokenizer.json`, and
/// optionally `sentence_bert_config.json` for the maximum sequence length.
pub struct CandleEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    model_id: String,
    dims: usize,
    /// Longest input in tokens, `[CLS]` and `[SEP]` included.
    max_tokens: usize,
    /// Longest sequence the position embeddings allow.
    max_positions: usize,
    vocab_size: usize,
    sep: u32,
}

fn load_error(what: impl std::fmt::Display) -> EmbedError {
    EmbedError::Load(what.to_string())
}

fn model_error(what: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model(what.to_string())
}

impl CandleEmbedder {
    /// Loads the model in `dir`. `model_id` names its vectors (for example
    /// `"all-minilm-l6-v2"`); give another id for another model.
    pub fn load(dir: &Path, model_id: &str) -> Result<CandleEmbedder, EmbedError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| load_error(format!("{}: {e}", dir.join(name).display())))
        };
        let config: Config = serde_json::from_str(&read("config.json")?)
            .map_err(|e| load_error(format!("config.json: {e}")))?;
        let device = Device::Cpu;
        let safetensors = dir.join("model.safetensors");
        let vb = if safetensors.exists() {
            let bytes = std::fs::read(&safetensors)
                .map_err(|e| load_error(format!("{}: {e}", safetensors.display())))?;
            VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)
        } else {
            VarBuilder::from_pth(dir.join("pytorch_model.bin"), DType::F32, &device)
        }
        .map_err(|e| load_error(format!("weights: {e}")))?;
        let model = BertModel::load(vb, &config).map_err(|e| load_error(format!("BERT: {e}")))?;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| load_error(format!("tokenizer.json: {e}")))?;
        // tokenizer.json may pad or truncate to a fixed length; we pad per
        // batch and truncate to the sentence-transformers limit ourselves.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| load_error(format!("tokenizer.json: {e}")))?;
        let sep = tokenizer
            .token_to_id("[SEP]")
            .ok_or_else(|| load_error("tokenizer has no [SEP]"))?;
        let max_tokens = read("sentence_bert_config.json")
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v.get("max_seq_length")?.as_u64())
            .map_or(config.max_position_embeddings, |n| n as usize)
            .clamp(2, config.max_position_embeddings);
        Ok(CandleEmbedder {
            model,
            tokenizer,
            model_id: model_id.to_string(),
            dims: config.hidden_size,
            max_tokens,
            max_positions: config.max_position_embeddings,
            vocab_size: config.vocab_size,
            sep,
        })
    }

    /// The ids the model sees for `text`: `[CLS] … [SEP]`, truncated to the
    /// maximum sequence length (keeping the final `[SEP]`).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self.tokenizer.encode(text, true).map_err(model_error)?;
        let mut ids = encoding.get_ids().to_vec();
        if ids.len() > self.max_tokens {
            ids.truncate(self.max_tokens - 1);
            ids.push(self.sep);
        }
        Ok(ids)
    }

    /// The id of `token` in the model's vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The vocabulary, ordered by id.
    pub fn vocabulary(&self) -> Vec<String> {
        let mut vocab: Vec<(String, u32)> = self.tokenizer.get_vocab(true).into_iter().collect();
        vocab.sort_by_key(|(_, id)| *id);
        vocab.into_iter().map(|(token, _)| token).collect()
    }

    /// The last hidden state of every position of each id sequence (not
    /// normalised, nothing pooled): `out[i][position][component]`. All
    /// sequences run as one padded batch. An id outside the vocabulary or a
    /// sequence longer than the model's positions is an error.
    pub fn hidden_states(&self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<Vec<f32>>>, EmbedError> {
        let longest = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if longest > self.max_positions {
            return Err(model_error(format!(
                "{longest} tokens, the model takes at most {}",
                self.max_positions
            )));
        }
        if let Some(id) = sequences
            .iter()
            .flatten()
            .find(|&&id| id as usize >= self.vocab_size)
        {
            return Err(model_error(format!(
                "token id {id} is not in the vocabulary"
            )));
        }
        if longest == 0 {
            return Ok(vec![Vec::new(); sequences.len()]);
        }
        let mut ids = Vec::with_capacity(sequences.len() * longest);
        let mut mask = Vec::with_capacity(sequences.len() * longest);
        for seq in sequences {
            ids.extend(
                seq.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, longest - seq.len())),
            );
            mask.extend((0..longest).map(|i| u32::from(i < seq.len())));
        }
        let shape = (sequences.len(), longest);
        let device = &self.model.device;
        let ids = Tensor::from_vec(ids, shape, device).map_err(model_error)?;
        let mask = Tensor::from_vec(mask, shape, device).map_err(model_error)?;
        let types = ids.zeros_like().map_err(model_error)?;
        let states = self
            .model
            .forward(&ids, &types, Some(&mask))
            .and_then(|t| t.to_vec3::<f32>())
            .map_err(model_error)?;
        Ok(states
            .into_iter()
            .zip(sequences)
            .map(|(mut rows, seq)| {
                rows.truncate(seq.len());
                rows
            })
            .collect())
    }
}

impl Embedder for CandleEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.embed_batch(&[text])?;
        vectors
            .pop()
            .ok_or_else(|| model_error("no output for the input"))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids = texts
            .iter()
            .map(|t| self.token_ids(t))
            .collect::<Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| ids[i].clone()).collect();
            for (&i, rows) in chunk.iter().zip(self.hidden_states(&batch)?) {
                let mut pooled = vec![0f32; self.dims];
                for row in &rows {
                    pooled.iter_mut().zip(row).for_each(|(p, x)| *p += x);
                }
                let count = rows.len().max(1) as f32;
                pooled.iter_mut().for_each(|p| *p /= count);
                normalize(&mut pooled);
                out[i] = pooled;
            }
        }
        Ok(out)
    }
}
