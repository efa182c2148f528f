//! Secret random bytes from the operating system.

use std::io;

/// Fills `bytes` from the kernel's random source (`/dev/urandom`).
///
/// Errors with `Unsupported` where no such source is wired in.
pub fn fill(bytes: &mut [u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")?.read_exact(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = bytes;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no random source is wired in on this system",
        ))
    }
}
