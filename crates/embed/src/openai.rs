//! Embeddings from an OpenAI-compatible endpoint (OpenAI, Ollama, llama.cpp's
//! `llama-server`, vLLM, …).
//!
//! Request: `POST {base_url}/v1/embeddings`, `content-type:
//! application/json`, `authorization: Bearer <key>` when a key is set, body
//! `{"model": …, "input": ["text", …]}`. Answer: `{"data": [{"embedding":
//! [f32…], "index": i}, …]}`; entries are put back in input order by `index`.
//! Errors: `{"error": {"message": …}}` or `{"error": "text"}`.

use std::io;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{EmbedError, Embedder, normalize};

/// Largest response body read: 256 texts × 3072 dims of JSON numbers fit.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Texts sent in one request (servers cap batch sizes; 256 is under all
/// common caps).
const MAX_BATCH: usize = 256;

/// A blocking client for `POST {base_url}/v1/embeddings`.
pub struct OpenAiEmbedder {
    url: String,
    model: String,
    dims: usize,
    api_key: Option<String>,
    model_id: String,
    agent: ureq::Agent,
}

impl OpenAiEmbedder {
    /// A client for `model` at `base_url` (scheme, host and port, e.g.
    /// `http://127.0.0.1:11434`; the `/v1/embeddings` path is added), whose
    /// vectors have `dims` components: an answer of any other length is an
    /// error. `api_key`, when given, is sent as a bearer token. `timeout`
    /// bounds each request from connect to the last byte. Redirects are not
    /// followed, so the key never travels to another host.
    ///
    /// The model id is `openai:{model}:d{dims}`.
    pub fn new(
        base_url: &str,
        model: &str,
        dims: usize,
        api_key: Option<String>,
        timeout: Duration,
    ) -> OpenAiEmbedder {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("mnemo/", env!("CARGO_PKG_VERSION")))
            .build();
        OpenAiEmbedder {
            url: format!("{}/v1/embeddings", base_url.trim_end_matches('/')),
            model: model.to_string(),
            dims,
            api_key: api_key.filter(|k| !k.is_empty()),
            model_id: format!("openai:{model}:d{dims}"),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = json!({ "model": self.model, "input": texts });
        let mut request = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| EmbedError::Transport(e.to_string()))?;
        let mut response = request.send(&bytes[..]).map_err(transport)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(EmbedError::Http {
                status,
                message: error_message(&text),
            });
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|e| EmbedError::Response(format!("not JSON ({e}): {}", head(&text))))?;
        self.vectors(&answer, texts.len())
    }

    /// The vectors of a 2xx answer, in input order, normalised.
    fn vectors(&self, answer: &Value, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let bad = |what: String| EmbedError::Response(what);
        let data = answer
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"data\" array".into()))?;
        if data.len() != expected {
            return Err(bad(format!(
                "{} embeddings for {expected} texts",
                data.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in data.iter().enumerate() {
            // `index` is optional in some servers' answers: position stands in.
            let index = match item.get("index") {
                None => position,
                Some(i) => i
                    .as_u64()
                    .map(|i| i as usize)
                    .filter(|&i| i < expected)
                    .ok_or_else(|| bad(format!("bad index {i}")))?,
            };
            let values = item
                .get("embedding")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(format!("entry {position} has no \"embedding\" array")))?;
            if values.len() != self.dims {
                return Err(bad(format!(
                    "embedding of {} dims, configured for {}",
                    values.len(),
                    self.dims
                )));
            }
            let mut v = values
                .iter()
                .map(|x| x.as_f64().map(|x| x as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| bad(format!("entry {position} has a non-number")))?;
            normalize(&mut v);
            if out[index].replace(v).is_some() {
                return Err(bad(format!("index {index} answered twice")));
            }
        }
        // Every slot is filled: `expected` distinct indices below `expected`.
        Ok(out.into_iter().flatten().collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut vectors = self.request(&[text])?;
        vectors
            .pop()
            .ok_or_else(|| EmbedError::Response("no embedding".into()))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(MAX_BATCH) {
            out.extend(self.request(chunk)?);
        }
        Ok(out)
    }
}

fn transport(error: ureq::Error) -> EmbedError {
    let timed_out = matches!(error, ureq::Error::Timeout(_))
        || matches!(&error, ureq::Error::Io(e)
            if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock));
    if timed_out {
        EmbedError::Transport("timed out".into())
    } else {
        EmbedError::Transport(error.to_string())
    }
}

/// The server's message from an error body, or the body's start.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .map(str::to_string)
    });
    message.unwrap_or_else(|| head(body))
}

/// The first 200 characters of `text`, on one line.
fn head(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
