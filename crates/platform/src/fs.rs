//! Files and directories only their owner may use, opens that never block,
//! and who owns what.
//!
//! On systems without Unix permissions, files take the access rules of the
//! directory they are created in (a user's profile directory is private
//! there), so the permission functions do nothing and report no bits.

use std::fs::{DirBuilder, Metadata, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};

/// Files `options` creates are readable and writable by their owner only (0600).
pub fn owner_only(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    options.mode(0o600);
    options
}

/// Opening with `options` never blocks and never makes a terminal the
/// controlling one: a FIFO or device planted at a path mnemo reads or
/// appends to cannot hang it (the caller then refuses what is not a
/// regular file).
pub fn without_blocking(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    options
}

/// Directories `builder` creates get the permission bits `mode` (such as
/// 0700), whatever the process's umask adds.
pub fn dir_mode(builder: &mut DirBuilder, mode: u32) -> &mut DirBuilder {
    #[cfg(unix)]
    builder.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    builder
}

/// The permission bits (`0o777` part) of `metadata`, or `None` where the
/// system has none.
pub fn permission_bits(metadata: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    return Some(metadata.permissions().mode() & 0o777);
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// Sets the permission bits of `path` to exactly `mode`; does nothing where
/// the system has no permission bits.
pub fn set_permission_bits(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    return std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// How many directory entries link to what `metadata` describes (a
/// directory counts its subdirectories here on most file systems), or
/// `None` where the system does not say.
pub fn link_count(metadata: &Metadata) -> Option<u64> {
    #[cfg(unix)]
    return Some(metadata.nlink());
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// The user id that owns what `metadata` describes, or `None` where the
/// system has no numeric owner.
pub fn owner(metadata: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    return Some(metadata.uid());
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// This process's (effective) user id, the owner of the files it creates,
/// or `None` where the system has no numeric user ids.
pub fn current_user() -> Option<u32> {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    return Some(unsafe { libc::geteuid() });
    #[cfg(not(unix))]
    {
        None
    }
}

/// Whether `dir` is a directory (not a symlink) owned by this user, with no
/// permissions for group or others: a place in a shared location (the
/// runtime or temp dir) that only this user can have planted or read.
pub fn is_private_dir(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|md| {
        md.is_dir()
            && owner(&md) == current_user()
            && permission_bits(&md).is_none_or(|bits| bits & 0o077 == 0)
    })
}

/// Whether what `metadata` describes may be run as a program: any execute
/// bit on Unix; elsewhere the name decides, so every file qualifies here.
pub fn is_executable(metadata: &Metadata) -> bool {
    #[cfg(unix)]
    return metadata.permissions().mode() & 0o111 != 0;
    #[cfg(not(unix))]
    {
        let _ = metadata;
        true
    }
}
