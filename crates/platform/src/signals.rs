//! Holding termination signals back instead of handling them: a held signal
//! stays pending (it survives `exec`, too) until the process looks for it,
//! so no code ever runs at a signal's arbitrary moment.
//!
//! Systems without Unix signals hold nothing and never report one pending.

use std::io;

/// A signal that asks a process to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: the polite kill, which Claude Code sends to hooks it cancels.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGINT: Ctrl-C.
    Interrupt,
}

#[cfg(unix)]
impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Terminate => libc::SIGTERM,
            Signal::Hangup => libc::SIGHUP,
            Signal::Interrupt => libc::SIGINT,
        }
    }
}

/// The set of `signals`. Only async-signal-safe calls, so it may run between
/// `fork` and `exec`.
#[cfg(unix)]
fn set_of(signals: &[Signal]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset writes to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in signals {
            libc::sigaddset(&mut set, signal.number());
        }
        set
    }
}

/// Hold `signals` back for the calling thread and every thread it starts
/// afterwards. Async-signal-safe.
pub fn hold(signals: &[Signal]) -> io::Result<()> {
    #[cfg(unix)]
    {
        let set = set_of(signals);
        // SAFETY: a valid set; the old mask is not wanted.
        match unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        Ok(())
    }
}

/// Whether one of `signals` arrived while held back.
pub fn pending(signals: &[Signal]) -> bool {
    #[cfg(unix)]
    // SAFETY: sigpending fills a set we own; sigismember only reads it.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending) == 0
            && signals
                .iter()
                .any(|s| libc::sigismember(&pending, s.number()) == 1)
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        false
    }
}
