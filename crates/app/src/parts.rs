//! Where `Paths` and `Config` become working parts: store connections, the
//! redactor, the embedder, the searcher, the LLM client and the clock.
//!
//! Every process builds one [`Parts`] from its data directory and
//! configuration and asks it for what a use case needs: it is the one way
//! a front end gets a store, the redactor, the embedder, the LLM client or
//! a setting. The free functions map configuration sections to the options
//! of the engine crates, for the use cases of this crate and their tests.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use mnemo_config::{Config, EmbedBackend, LlmBackend, Paths, Synchronous};
use mnemo_embed::{Embedder, OpenAiEmbedder, StaticEmbedder};
use mnemo_llm::{BackendConfig, Client, Limits};
use mnemo_privacy::{PrivacyOptions, Redactor};
use mnemo_retrieve::Searcher;
use mnemo_retrieve::context::ContextOptions;
use mnemo_store::{Durability, Store, StoreOptions};

/// How long a foreground hook (one the agent waits for) lets another writer
/// hold the database before it spools its event instead: far below the
/// agent's patience, far above a normal commit.
pub const FOREGROUND_BUSY_TIMEOUT: Duration = Duration::from_millis(50);

/// Store options from `[store]`.
pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        busy_timeout: Duration::from_millis(config.store.busy_timeout_ms),
        durability: match config.store.synchronous {
            Synchronous::Normal => Durability::Normal,
            Synchronous::Full => Durability::Full,
        },
        keep_wal_on_close: false,
    }
}

/// Store options for a hook the agent waits for: like [`store_options`],
/// but giving up on a held write lock after [`FOREGROUND_BUSY_TIMEOUT`] and
/// leaving the WAL's checkpoint to a later writer.
pub fn foreground_store_options(config: &Config) -> StoreOptions {
    let configured = store_options(config);
    StoreOptions {
        busy_timeout: configured.busy_timeout.min(FOREGROUND_BUSY_TIMEOUT),
        // The checkpoint SQLite runs when the last connection closes costs
        // fsyncs the agent would wait for; the next background hook (a tool
        // result, a Stop) checkpoints the few pages this one added.
        keep_wal_on_close: true,
        ..configured
    }
}

/// The redelivery window of `[capture]`, in milliseconds.
pub fn dedupe_window_ms(config: &Config) -> i64 {
    i64::try_from(config.capture.dedupe_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Privacy settings of `[privacy]` and the size caps of `[capture]`, for
/// everything that redacts.
pub fn privacy_options(config: &Config) -> PrivacyOptions {
    PrivacyOptions {
        extra_patterns: config
            .privacy
            .extra_patterns
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        secret_files: config.privacy.secret_files.clone(),
        max_field_bytes: config.capture.max_field_bytes,
        max_event_bytes: config.capture.max_event_bytes,
    }
}

/// The clock: now, in Unix milliseconds (the one every store write and
/// search is dated by).
pub use mnemo_retrieve::time::now_ms;

/// The embedder of `[embed]`, or `None` for `backend = "off"`. A setting
/// that cannot work (missing URL, a `local` model in a build without it) is
/// an error naming the key.
fn embedder(config: &Config) -> anyhow::Result<Option<Box<dyn Embedder>>> {
    let e = &config.embed;
    Ok(match e.backend {
        EmbedBackend::Off => None,
        EmbedBackend::Builtin => Some(Box::new(StaticEmbedder::builtin())),
        EmbedBackend::Openai => {
            if e.base_url.is_empty() || e.model.is_empty() || e.dims == 0 {
                bail!("[embed] backend \"openai\" needs base_url, model and dims");
            }
            let key_var = if e.api_key_env.is_empty() {
                "OPENAI_API_KEY"
            } else {
                &e.api_key_env
            };
            Some(Box::new(OpenAiEmbedder::new(
                &e.base_url,
                &e.model,
                e.dims,
                std::env::var(key_var).ok(),
                Duration::from_secs(e.timeout_secs),
            )))
        }
        EmbedBackend::Local => Some(local_embedder(&e.model_dir)?),
    })
}

#[cfg(feature = "candle")]
fn local_embedder(model_dir: &str) -> anyhow::Result<Box<dyn Embedder>> {
    if model_dir.is_empty() {
        bail!("[embed] backend \"local\" needs model_dir");
    }
    let dir = Path::new(model_dir);
    let name = dir
        .file_name()
        .map_or("local".into(), |n| n.to_string_lossy().into_owned());
    Ok(Box::new(mnemo_embed::CandleEmbedder::load(
        dir,
        &format!("local:{name}"),
    )?))
}

#[cfg(not(feature = "candle"))]
fn local_embedder(_model_dir: &str) -> anyhow::Result<Box<dyn Embedder>> {
    bail!("[embed] backend \"local\" needs mnemo built with `--features candle`")
}

/// The LLM client described by `[llm]`; an error when it is off or a
/// setting it needs is missing. `home` holds the `claude` CLI's work
/// directory.
fn llm_client(config: &Config, home: &Path) -> anyhow::Result<Client> {
    let llm = &config.llm;
    let model = |default: &str| {
        if llm.model.is_empty() {
            default.to_string()
        } else {
            llm.model.clone()
        }
    };
    let key = |default_var: &str| {
        let var = if llm.api_key_env.is_empty() {
            default_var
        } else {
            llm.api_key_env.as_str()
        };
        std::env::var(var).ok().filter(|k| !k.is_empty())
    };
    let backend = match llm.backend {
        LlmBackend::Off => bail!("LLM enrichment is off"),
        LlmBackend::ClaudeCli => BackendConfig::ClaudeCli {
            program: llm.claude_program.clone().into(),
            model: model("haiku"),
            work_dir: home.join("llm"),
        },
        LlmBackend::Anthropic => {
            let Some(api_key) = key("ANTHROPIC_API_KEY") else {
                bail!(
                    "llm.backend = \"anthropic\" needs an API key in $ANTHROPIC_API_KEY (or the variable named by llm.api_key_env)"
                );
            };
            BackendConfig::Anthropic {
                base_url: if llm.base_url.is_empty() {
                    mnemo_llm::ANTHROPIC_BASE_URL.into()
                } else {
                    llm.base_url.clone()
                },
                api_key,
                model: model("claude-haiku-4-5"),
            }
        }
        LlmBackend::Openai => {
            if llm.base_url.is_empty() || llm.model.is_empty() {
                bail!("llm.backend = \"openai\" needs llm.base_url and llm.model");
            }
            BackendConfig::OpenAiCompatible {
                base_url: llm.base_url.clone(),
                api_key: key("OPENAI_API_KEY"),
                model: llm.model.clone(),
            }
        }
    };
    Ok(Client::new(
        backend,
        Limits {
            timeout: Duration::from_secs(llm.timeout_secs),
            max_retries: llm.max_retries,
            max_input_tokens: llm.max_input_tokens,
            max_output_tokens: llm.max_output_tokens,
            ..Limits::default()
        },
    ))
}

/// What SessionStart tells a session, from `[context]`.
pub fn context_options(config: &Config) -> ContextOptions {
    ContextOptions {
        max_tokens: config.context.max_tokens,
        max_observations: config.context.max_observations,
    }
}

/// A way to open a store connection later, on any thread.
pub type Opener = Arc<dyn Fn() -> mnemo_store::Result<Store> + Send + Sync>;

/// One data directory's working parts. Cheap to build: the redactor and
/// the searcher are made the first time they are asked for, and stores are
/// opened per call (opening is cheap; the busy timeout bounds a wait).
/// Shareable across threads (`Arc<Parts>` in long-lived servers).
pub struct Parts {
    /// The data directory's layout.
    pub paths: Paths,
    /// The effective configuration.
    pub config: Config,
    redactor: OnceLock<Redactor>,
    searcher: OnceLock<Arc<Searcher>>,
    long_lived: bool,
}

impl Parts {
    /// The parts of the data directory at `paths`, configured by `config`.
    pub fn new(paths: Paths, config: Config) -> Parts {
        Parts {
            paths,
            config,
            redactor: OnceLock::new(),
            searcher: OnceLock::new(),
            long_lived: false,
        }
    }

    /// These parts serve many requests (the MCP server, `mnemo serve`):
    /// searches keep the vectors in memory, read in on a thread by the
    /// first one. A one-shot command reads them from SQLite instead.
    pub fn long_lived(self) -> Parts {
        Parts {
            long_lived: true,
            ..self
        }
    }

    /// Whether [`Parts::long_lived`] was asked for.
    pub fn is_long_lived(&self) -> bool {
        self.long_lived
    }

    /// A connection to the database (created and migrated when new).
    pub fn open_store(&self) -> anyhow::Result<Store> {
        Store::open(&self.paths.db, &store_options(&self.config))
            .with_context(|| format!("cannot open {}", self.paths.db.display()))
    }

    /// A connection for work the agent waits for
    /// ([`foreground_store_options`]).
    pub fn open_foreground_store(&self) -> anyhow::Result<Store> {
        Store::open(&self.paths.db, &foreground_store_options(&self.config))
            .with_context(|| format!("cannot open {}", self.paths.db.display()))
    }

    /// Opens connections later, on other threads (a server's pool, a
    /// searcher reading vectors in the background).
    pub fn opener(&self) -> Opener {
        let (db, options) = (self.paths.db.clone(), store_options(&self.config));
        Arc::new(move || Store::open(&db, &options))
    }

    /// The redactor of `[privacy]`, built on first use; an error when a
    /// user pattern does not compile.
    pub fn redactor(&self) -> anyhow::Result<&Redactor> {
        if let Some(redactor) = self.redactor.get() {
            return Ok(redactor);
        }
        let built = Redactor::new(&privacy_options(&self.config))?;
        Ok(self.redactor.get_or_init(|| built))
    }

    /// The embedder of `[embed]`, made anew, or `None` when it is off; a
    /// setting that cannot work is an error naming the key.
    pub fn embedder(&self) -> anyhow::Result<Option<Box<dyn Embedder>>> {
        embedder(&self.config)
    }

    /// The searcher with the configured embedder, built on first use and
    /// shared: a long-lived process keeps its vectors in memory.
    pub fn searcher(&self) -> anyhow::Result<Arc<Searcher>> {
        if let Some(searcher) = self.searcher.get() {
            return Ok(Arc::clone(searcher));
        }
        let built = Arc::new(Searcher::new(self.embedder()?));
        Ok(Arc::clone(self.searcher.get_or_init(|| built)))
    }

    /// The LLM client of `[llm]`, made anew; an error when it is off or a
    /// setting it needs is missing.
    pub fn llm_client(&self) -> anyhow::Result<Client> {
        llm_client(&self.config, &self.paths.home)
    }

    /// Whether `[llm]` names a backend: compressed episodes then wait for
    /// enrichment.
    pub fn enriches(&self) -> bool {
        self.config.llm.backend != LlmBackend::Off
    }

    /// The LLM's daily token budget (`[llm] daily_token_budget`), over the
    /// UTC day.
    pub fn llm_daily_token_budget(&self) -> u64 {
        self.config.llm.daily_token_budget
    }

    /// The most a hook reads of its input (`[capture] max_stdin_bytes`);
    /// what lies past it is counted, not kept.
    pub fn max_hook_input_bytes(&self) -> usize {
        self.config.capture.max_stdin_bytes
    }

    /// How long an idle `mnemo worker` waits for work before it exits
    /// (`[llm] idle_exit_secs`).
    pub fn worker_idle_exit(&self) -> Duration {
        Duration::from_secs(self.config.llm.idle_exit_secs)
    }

    /// The port `mnemo serve` listens on when none is asked for (`[serve]`).
    pub fn serve_port(&self) -> u16 {
        self.config.serve.port
    }

    /// How long a client of `mnemo serve` may take to send a request's
    /// headers, then its body; also an idle keep-alive's life (`[serve]`,
    /// at least a second).
    pub fn serve_header_timeout(&self) -> Duration {
        Duration::from_secs(self.config.serve.header_timeout_secs.max(1))
    }

    /// Connections `mnemo serve` serves at once (`[serve]`, at least one).
    pub fn serve_max_connections(&self) -> usize {
        self.config.serve.max_connections.max(1)
    }

    /// Now, in Unix milliseconds.
    pub fn now(&self) -> i64 {
        now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(dir: &Path) -> Parts {
        let paths = Paths::new(dir);
        Parts::new(paths, Config::default())
    }

    #[test]
    fn foreground_options_never_wait_longer_than_the_configured_ones() {
        let mut config = Config::default();
        config.store.busy_timeout_ms = 10;
        assert_eq!(
            foreground_store_options(&config).busy_timeout,
            Duration::from_millis(10)
        );
        config.store.busy_timeout_ms = 5_000;
        let foreground = foreground_store_options(&config);
        assert_eq!(foreground.busy_timeout, FOREGROUND_BUSY_TIMEOUT);
        assert!(foreground.keep_wal_on_close);
        assert!(!store_options(&config).keep_wal_on_close);
    }

    #[test]
    fn the_dedupe_window_saturates_instead_of_overflowing() {
        let mut config = Config::default();
        config.capture.dedupe_window_secs = 3;
        assert_eq!(dedupe_window_ms(&config), 3_000);
        config.capture.dedupe_window_secs = u64::MAX;
        assert_eq!(dedupe_window_ms(&config), i64::MAX);
    }

    #[test]
    fn a_bad_user_pattern_is_an_error_when_the_redactor_is_first_needed() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = parts(dir.path());
        parts
            .config
            .privacy
            .extra_patterns
            .insert("broken".into(), "(".into());
        assert!(parts.redactor().is_err());
        parts.config.privacy.extra_patterns.clear();
        let first: *const Redactor = parts.redactor().unwrap();
        let again: *const Redactor = parts.redactor().unwrap();
        assert_eq!(first, again, "built once");
    }

    #[test]
    fn the_searcher_is_shared_and_off_means_no_embedder() {
        let dir = tempfile::tempdir().unwrap();
        let mut parts = parts(dir.path());
        parts.config.embed.backend = EmbedBackend::Off;
        let searcher = parts.searcher().unwrap();
        assert!(searcher.embedder().is_none());
        assert!(Arc::ptr_eq(&searcher, &parts.searcher().unwrap()));
    }

    #[test]
    fn settings_that_cannot_work_name_their_key() {
        let mut config = Config::default();
        config.embed.backend = EmbedBackend::Openai;
        let err = embedder(&config).err().unwrap().to_string();
        assert!(err.contains("[embed]"), "{err}");
        config.llm.backend = LlmBackend::Openai;
        let err = llm_client(&config, Path::new("/tmp")).err().unwrap();
        assert!(err.to_string().contains("llm.base_url"), "{err}");
    }

    #[test]
    fn stores_open_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let parts = parts(dir.path());
        parts.open_store().unwrap();
        (parts.opener())().unwrap();
        parts.open_foreground_store().unwrap();
        assert!(parts.paths.db.exists());
    }
}
