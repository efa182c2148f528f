//! Holding signals back instead of handling them: a held signal stays
//! pending (it survives `exec`, too) until the process looks for it, so no
//! code ever runs at a signal's arbitrary moment.

/// The set of `signals`. Only async-signal-safe calls, so it may run between
/// `fork` and `exec`.
fn set_of(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset writes to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Hold `signals` back for the calling thread and every thread it starts
/// afterwards. Async-signal-safe.
pub fn hold(signals: &[libc::c_int]) -> std::io::Result<()> {
    let set = set_of(signals);
    // SAFETY: a valid set; the old mask is not wanted.
    match unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } {
        0 => Ok(()),
        errno => Err(std::io::Error::from_raw_os_error(errno)),
    }
}

/// Whether one of `signals` arrived while held back.
pub fn pending(signals: &[libc::c_int]) -> bool {
    // SAFETY: sigpending fills a set we own; sigismember only reads it.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending) == 0
            && signals.iter().any(|&s| libc::sigismember(&pending, s) == 1)
    }
}
