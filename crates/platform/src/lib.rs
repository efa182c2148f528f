//! Everything mnemo does that depends on the operating system, in one place.
//!
//! The rest of the workspace calls these functions and never `libc` or
//! `std::os::unix` itself, so porting mnemo to another system means porting
//! this crate. Each item has a Unix implementation and a `cfg(not(unix))`
//! one that either does the equivalent or says plainly what it does not do
//! (ARCHITECTURE.md lists what a Windows port still needs).

pub mod fs;
pub mod io;
pub mod process;
pub mod random;
pub mod signals;
