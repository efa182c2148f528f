//! This process's defaults, and the children mnemo starts: the detached
//! background worker, and LLM CLI calls killed with everything they started.

use std::io;
use std::process::{Child, Command};

/// Everything this process creates afterwards (database, WAL, spool, logs)
/// is owner-only: the file-creation mask drops group and other bits.
pub fn restrict_new_files() {
    // SAFETY: umask only changes this process's file-creation mask.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
}

/// A reader that goes away (`mnemo search x | head`) ends the process
/// quietly, as for any Unix tool, instead of a write error.
pub fn quiet_broken_pipe() {
    // SAFETY: restoring the default disposition of one signal.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Makes `command` start detached: in a new session (no controlling
/// terminal, its own process group), with SIGTERM and SIGHUP held back for
/// its life (a held signal survives exec; its own children start with a
/// clean mask), and through a second fork whose parent exits at once, so
/// what runs is no descendant of this process. The caller waits for the
/// short-lived intermediate child that `spawn` returns.
///
/// Errors with `Unsupported` where detaching is not implemented.
pub fn detach(command: &mut Command) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `detach_in_child` makes only async-signal-safe calls
        // (setsid, pthread_sigmask, fork, _exit), as required between fork
        // and exec.
        unsafe { command.pre_exec(detach_in_child) };
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = command;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "starting a detached process is not implemented on this system",
        ))
    }
}

/// Runs in the forked child before exec; see [`detach`].
#[cfg(unix)]
fn detach_in_child() -> io::Result<()> {
    use crate::signals::{Signal, hold};
    // SAFETY: plain system calls on this process.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        hold(&[Signal::Terminate, Signal::Hangup])?;
        match libc::fork() {
            -1 => Err(io::Error::last_os_error()),
            0 => Ok(()),
            _ => libc::_exit(0),
        }
    }
}

/// Makes the child `command` starts lead its own process group, so
/// [`kill_tree`] reaches whatever it starts, and on Linux get SIGKILL if
/// the thread that spawned it dies (the caller crashing or being killed
/// mid-call), so even then nothing is left behind. The caller must block
/// that thread until the child is reaped, so this never fires in normal
/// operation.
pub fn isolate_child(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: getpid is always safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the closure runs between fork and exec and only makes
        // async-signal-safe syscalls; it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl: then no signal comes.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// Whether `child` has exited. On Unix it is not reaped, so its pid (also
/// its process group's id) stays reserved until [`kill_tree`] ran; elsewhere
/// it is reaped.
pub fn has_exited(child: &mut Child) -> io::Result<bool> {
    #[cfg(unix)]
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: a plain syscall on our own child.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            // SAFETY: waitid succeeded, so si_pid is initialised (0 when the child still runs).
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    #[cfg(not(unix))]
    {
        child.try_wait().map(|status| status.is_some())
    }
}

/// Kills `child` and, on Unix, every process in the group it leads (see
/// [`isolate_child`]). Already gone is fine.
pub fn kill_tree(child: &mut Child) {
    #[cfg(unix)]
    {
        let Ok(group) = libc::pid_t::try_from(child.id()) else {
            return;
        };
        // SAFETY: signals our own child's process group, which exists until we reap the child.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
    }
}
