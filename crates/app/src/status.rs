//! What a data directory holds and how it is set up, for `mnemo stats` and
//! the HTTP API's `/api/stats`.

use mnemo_capture::spool;
use mnemo_store::{Stats, Store, utc_day_start};
use serde::Serialize;

use crate::parts::Parts;

/// The store's counts (today is the UTC day), with what waits outside it
/// and the backends the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Row counts and sizes; the LLM's spend "today" is since 00:00 UTC.
    pub stats: Stats,
    /// Events waiting in the spool (both spool directories).
    pub spooled: usize,
    /// The embedder `[embed] backend` names (`"builtin"`, `"off"`, …).
    pub embedder: String,
    /// The LLM backend `[llm] backend` names (`"off"`, `"claude-cli"`, …).
    pub llm_backend: String,
    /// `[llm] daily_token_budget`.
    pub llm_daily_token_budget: u64,
}

/// The status of the data directory of `parts`, read on `store`.
pub fn status(parts: &Parts, store: &Store) -> mnemo_store::Result<Status> {
    let config = &parts.config;
    Ok(Status {
        stats: store.stats(utc_day_start(parts.now()))?,
        spooled: spool::pending_all(&parts.paths),
        embedder: setting_name(config.embed.backend),
        llm_backend: setting_name(config.llm.backend),
        llm_daily_token_budget: parts.llm_daily_token_budget(),
    })
}

/// A backend as `config.toml` spells it.
fn setting_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnemo_config::{Config, LlmBackend, Paths};

    #[test]
    fn backends_are_named_as_config_toml_spells_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.llm.backend = LlmBackend::ClaudeCli;
        let parts = Parts::new(Paths::new(dir.path()), config);
        let store = parts.open_store().unwrap();
        let status = status(&parts, &store).unwrap();
        assert_eq!(status.llm_backend, "claude-cli");
        assert_eq!(status.embedder, "builtin");
        assert_eq!(status.spooled, 0);
    }
}
