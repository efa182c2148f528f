//! Waiting for input with a time limit.

use std::io;
use std::time::Duration;

/// What [`wait_readable`] can wait on: anything with a file descriptor on
/// Unix.
#[cfg(unix)]
pub trait Waitable: std::os::fd::AsFd {}
#[cfg(unix)]
impl<T: std::os::fd::AsFd> Waitable for T {}

/// What [`wait_readable`] can wait on: anything, since it does not wait here.
#[cfg(not(unix))]
pub trait Waitable {}
#[cfg(not(unix))]
impl<T> Waitable for T {}

/// Waits until `source` has input (or its end) to read, at most `timeout`:
/// `Ok(false)` when the time ran out.
///
/// Without Unix `poll` this returns `Ok(true)` at once, so the next read
/// blocks for as long as the writer takes.
pub fn wait_readable(source: &impl Waitable, timeout: Duration) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let mut fds = libc::pollfd {
            fd: source.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        match unsafe { libc::poll(&mut fds, 1, millis) } {
            0 => Ok(false),
            n if n < 0 => Err(io::Error::last_os_error()),
            _ => Ok(true),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (source, timeout);
        Ok(true)
    }
}
