//! The environment that points mnemo at the mock chat-completions server
//! (`chat_api.rs`), and a probe of the worker lock.

use super::Env;
pub use super::chat_api::*;

pub fn llm_env(env: Env, mock: &MockLlm) -> Env {
    env.env("MNEMO_LLM_BACKEND", "openai")
        .env("MNEMO_LLM_BASE_URL", &mock.url)
        .env("MNEMO_LLM_MODEL", "test-model")
        .env("MNEMO_LLM_IDLE_EXIT_SECS", "1")
        .env("MNEMO_LLM_MAX_RETRIES", "0")
}

/// Whether any process still has `home`'s worker lock.
pub fn worker_running(env: &Env) -> bool {
    let lock = env.home.join("worker.lock");
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(&lock) else {
        return false;
    };
    use std::os::fd::AsRawFd;
    // SAFETY: probing a lock on our own descriptor.
    let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    !free
}
