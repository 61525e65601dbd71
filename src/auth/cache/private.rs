//! Files only the effective user may read or write: how the token cache reads and writes its
//! directory, its key and its entries.
//!
//! A file is trusted when it is a regular file (not followed through a symlink) of the
//! effective user (not the directory's owner: root under `sudo -E` keeps the user's `$HOME`,
//! and so the user's cache directory), with no permission for anyone else, in a directory of
//! the effective user that nobody else may write. Ownership and mode are read from the open
//! file, so what is checked is what is read. Writes go to a new 0600 temp file, synced, then
//! renamed (or linked) into place.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The effective user id.
#[cfg(target_os = "linux")]
fn effective_uid() -> Option<u32> {
    // SAFETY: geteuid takes nothing, cannot fail and touches no memory of ours.
    Some(unsafe { libc::geteuid() })
}

/// Unknown where `libc` is not a dependency: no file is trusted, nothing is written.
#[cfg(all(unix, not(target_os = "linux")))]
fn effective_uid() -> Option<u32> {
    None
}

/// Why `dir` cannot hold our files, if it cannot: it must be the effective user's and
/// writable by nobody else, or others could put or swap files in it.
#[cfg(unix)]
pub(super) fn untrusted_dir(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let Some(uid) = effective_uid() else {
        return Some("the effective user id is unknown on this system".into());
    };
    match std::fs::metadata(dir) {
        Err(e) => Some(format!("cannot read the directory: {e}")),
        Ok(d) if d.uid() != uid => Some(format!(
            "the directory belongs to uid {}, not to the effective uid {uid}",
            d.uid()
        )),
        Ok(d) if d.mode() & 0o022 != 0 => Some("others may write the directory".into()),
        Ok(_) => None,
    }
}

#[cfg(not(unix))]
pub(super) fn untrusted_dir(_dir: &Path) -> Option<String> {
    None
}

/// Why the opened file is not to be trusted, if it is not.
#[cfg(unix)]
fn untrusted_file(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = effective_uid()?;
    if !meta.file_type().is_file() {
        Some("not a regular file".into())
    } else if meta.uid() != uid {
        Some(format!(
            "it belongs to uid {}, not to the effective uid {uid}",
            meta.uid()
        ))
    } else if meta.mode() & 0o077 != 0 {
        Some("others may read or write it".into())
    } else {
        None
    }
}

#[cfg(not(unix))]
fn untrusted_file(meta: &std::fs::Metadata) -> Option<String> {
    (!meta.is_file()).then(|| "not a regular file".into())
}

/// What reading a private file found.
pub(super) enum Found {
    /// No such file.
    Missing,
    /// A file that may not be trusted, and why (the bytes are not read).
    Untrusted(String),
    /// The file's bytes (at most `limit`).
    Bytes(Vec<u8>),
}

/// Reads `path` if it is a trusted private file, at most `limit` bytes.
pub(super) fn read_private(path: &Path, limit: u64) -> Found {
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Some(why) = untrusted_dir(dir) {
        return Found::Untrusted(why);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A symlink is not followed: its target's owner says nothing of who made the link.
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Missing,
        Err(e) => return Found::Untrusted(format!("cannot open it: {e}")),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Found::Untrusted(format!("cannot read its metadata: {e}")),
    };
    if let Some(why) = untrusted_file(&meta) {
        return Found::Untrusted(why);
    }
    let mut bytes = Vec::new();
    match file.take(limit).read_to_end(&mut bytes) {
        Ok(_) => Found::Bytes(bytes),
        Err(e) => Found::Untrusted(format!("cannot read it: {e}")),
    }
}

/// Creates `dir` (and its parents) with mode 0700 if missing; fails unless it is then ours
/// and writable by nobody else.
pub(super) fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    match untrusted_dir(dir) {
        Some(why) => Err(std::io::Error::other(why)),
        None => Ok(()),
    }
}

/// A new file in `dir` holding `bytes`, mode 0600 from its creation, synced: the caller
/// renames or links it into place.
pub(super) fn write_temp(dir: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let tmp = dir.join(format!(".{:016x}.tmp", fastrand::u64(..)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Replaces `path` with a private file holding `bytes`, whole or not at all.
pub(super) fn replace_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let tmp = write_temp(dir, bytes)?;
    let renamed = std::fs::rename(&tmp, path);
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}
