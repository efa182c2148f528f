//! `mnemo worker`: catch-up and LLM enrichment as a process. It first
//! finishes what killed hooks left (compression, vectors;
//! [`mnemo_app::hosts::catch_up`]), then enriches
//! ([`mnemo_app::worker::enrich`]): at most one enricher per data dir (a
//! lock file), started on demand by the hooks (or run by hand), and gone
//! once the queue has been empty for `llm.idle_exit_secs`. `mnemo serve`
//! runs the same loop as a thread. The LLM client is made here from
//! `[llm]` ([`client`]).
//!
//! Hooks start it detached ([`start_background`]): in a session of its own,
//! not a descendant of the hook, with SIGTERM and SIGHUP held back for its
//! whole life, because Claude Code signals hooks and the processes they
//! started when a session ends. It stops by itself when idle; SIGINT or
//! SIGKILL stop it sooner.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::bail;
use mnemo_app::hook::Process;
use mnemo_app::hosts::catch_up;
use mnemo_app::worker::{LOCK_FILE, Until, enrich};
use mnemo_capture::lock::FileLock;
use mnemo_config::{Config, LlmBackend, Paths};
use mnemo_llm::{BackendConfig, Client, Limits};

/// `mnemo worker [--once]`; `background` when a hook started it (it then
/// prints nothing).
pub fn run(once: bool, background: bool) -> anyhow::Result<()> {
    let (paths, config) = super::load()?;
    let make_embedder = || mnemo_app::parts::embedder(&config);
    catch_up(&paths, &config, &make_embedder);
    if config.llm.backend == LlmBackend::Off {
        if !background {
            println!(
                "LLM enrichment is off (set [llm] backend in {})",
                paths.config_file.display()
            );
        }
        return Ok(());
    }
    let Some(_lock) = FileLock::try_acquire(&paths.home.join(LOCK_FILE)) else {
        if !background {
            println!("a worker is already running for {}", paths.home.display());
        }
        return Ok(());
    };
    let idle_exit = Duration::from_secs(config.llm.idle_exit_secs);
    let until = if once {
        Until::QueueEmpty
    } else {
        Until::IdleFor(idle_exit)
    };
    let make_client = || client(&config, &paths);
    let enriched = enrich(&paths, &config, &make_client, &make_embedder, until)?;
    if let Some(why) = &enriched.backend_unavailable {
        eprintln!("mnemo: LLM backend unavailable: {why}");
    }
    if once {
        println!(
            "{} episodes enriched, {} failed",
            enriched.done, enriched.failed
        );
    }
    Ok(())
}

/// A command's process as the pipeline sees it: never told to stop (its
/// signals are not held), and able to start the detached worker.
pub struct CommandProcess<'a> {
    /// The data directory the worker is started for.
    pub home: &'a Path,
}

impl Process for CommandProcess<'_> {
    fn told_to_stop(&self) -> bool {
        false
    }

    fn start_worker(&self) {
        start_background(self.home);
    }
}

/// The LLM client described by `[llm]`.
pub(crate) fn client(config: &Config, paths: &Paths) -> anyhow::Result<Client> {
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
        std::env::var(var)
            .ok()
            .filter(|k| !k.is_empty())
            .map(|k| (var.to_string(), k))
    };
    let backend = match llm.backend {
        LlmBackend::Off => bail!("LLM enrichment is off"),
        LlmBackend::ClaudeCli => BackendConfig::ClaudeCli {
            program: llm.claude_program.clone().into(),
            model: model("haiku"),
            work_dir: paths.home.join("llm"),
        },
        LlmBackend::Anthropic => {
            let Some((_, api_key)) = key("ANTHROPIC_API_KEY") else {
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
                api_key: key("OPENAI_API_KEY").map(|(_, k)| k),
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

/// Start `mnemo worker --background`, detached (see the module comment),
/// and return once it is on its own: the hook reaps the short-lived
/// intermediate process, so nothing of the worker stays in its tree.
pub fn start_background(home: &Path) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command
        .args(["worker", "--background"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: `detach` makes only async-signal-safe calls (setsid,
    // pthread_sigmask, fork, _exit), as required between fork and exec.
    unsafe { command.pre_exec(detach) };
    match command
        .spawn()
        .and_then(|mut intermediate| intermediate.wait())
    {
        Ok(_) => tracing::info!(home = %home.display(), "started the background worker"),
        Err(e) => tracing::warn!("could not start the background worker: {e}"),
    }
}

/// Runs in the forked child before exec: a new session (no controlling
/// terminal, its own process group), SIGTERM and SIGHUP held back (a held
/// signal survives exec; the worker's own children get a clean mask), and
/// a second fork whose parent exits at once, so the worker that execs is
/// re-parented away from the hook.
fn detach() -> std::io::Result<()> {
    // SAFETY: plain system calls on this process; see `start_background`.
    unsafe {
        if libc::setsid() < 0 {
            return Err(std::io::Error::last_os_error());
        }
        crate::signals::hold(&[libc::SIGTERM, libc::SIGHUP])?;
        match libc::fork() {
            -1 => Err(std::io::Error::last_os_error()),
            0 => Ok(()),
            _ => libc::_exit(0),
        }
    }
}
