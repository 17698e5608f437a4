//! Folder mounts: regular files under one canonical root, never anything
//! else.
//!
//! The root is canonicalised at start. A key is joined under it and the
//! result canonicalised again, which resolves every symlink: a path that
//! then lies outside the root was a symlink pointing out and is refused as
//! missing, so the answer does not tell what exists outside. Only a regular
//! file is served: a folder, FIFO, socket or device is missing too. The
//! size is read from the metadata before any byte (a huge sparse file costs
//! nothing), and the file is opened with `O_NONBLOCK | O_NOFOLLOW` so that
//! a FIFO or symlink swapped in after the check can neither block the open
//! nor be followed; the opened file is checked again before it is read.
//! The reading runs on a blocking thread, capped and under the download
//! deadline.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{ObjectKey, check_size};
use crate::fetch::{Fetch, FetchError, FetchLimits, Fetched, Validator};

/// A folder mount.
#[derive(Debug)]
pub struct FileMount {
    /// The folder, canonical (no symlink, no `..`), so that a prefix test
    /// on a canonical path says whether it lies inside.
    root: PathBuf,
    /// Byte cap and deadline of one read.
    limits: FetchLimits,
}

impl FileMount {
    pub fn new(root: &Path, limits: FetchLimits) -> Result<FileMount, String> {
        let root = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
        if !root.is_dir() {
            return Err(format!("{} is not a folder", root.display()));
        }
        Ok(FileMount { root, limits })
    }

    /// The file `key`, whole.
    pub async fn fetch_if_changed(
        &self,
        key: &ObjectKey,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        let root = self.root.clone();
        let key = key.clone();
        let limits = self.limits;
        let previous = previous.and_then(|v| v.file_stamp);
        let read = tokio::task::spawn_blocking(move || read(&root, &key, limits.max_bytes, previous));
        match tokio::time::timeout(limits.download_timeout, read).await {
            Err(_) => Err(FetchError::Timeout(format!(
                "the file was not read within {} s",
                limits.download_timeout.as_secs_f64()
            ))),
            Ok(Err(join)) => Err(FetchError::Unreachable(format!(
                "the file could not be read: {join}"
            ))),
            Ok(Ok(result)) => result,
        }
    }
}

fn missing(key: &ObjectKey) -> FetchError {
    FetchError::ObjectNotFound(format!("no file `{key}` in this mount"))
}

/// Reads `key` under `root`, refusing anything but a regular file inside it,
/// unless the file opened still has the `previous` stamp (every check runs
/// again either way: a file that became a symlink out is refused, not
/// "unchanged").
fn read(
    root: &Path,
    key: &ObjectKey,
    max_bytes: u64,
    previous: Option<FileStamp>,
) -> Result<Fetch, FetchError> {
    let mut path = root.to_path_buf();
    path.extend(key.segments());
    let real = match std::fs::canonicalize(&path) {
        Ok(real) => real,
        Err(e) => return Err(io_error(key, &e)),
    };
    if !real.starts_with(root) {
        tracing::info!(key = %key, "a symlink in a folder mount points outside it: refused");
        return Err(missing(key));
    }
    let meta = std::fs::metadata(&real).map_err(|e| io_error(key, &e))?;
    if !meta.is_file() {
        return Err(missing(key));
    }
    check_size(max_bytes, meta.len())?;
    let file = open_no_follow(&real).map_err(|e| io_error(key, &e))?;
    // The path may have changed between the checks and the open.
    let opened = file.metadata().map_err(|e| io_error(key, &e))?;
    if !opened.is_file() {
        return Err(missing(key));
    }
    check_size(max_bytes, opened.len())?;
    let stamp = stamp_of(&opened);
    if previous.is_some() && previous == stamp {
        return Ok(Fetch::Unchanged);
    }
    let mut body = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
    // One byte more than the cap tells a file that grew past it.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| io_error(key, &e))?;
    check_size(max_bytes, body.len() as u64)?;
    Ok(Fetch::Fresh(Fetched {
        bytes: Bytes::from(body),
        validator: Validator {
            file_stamp: stamp,
            ..Validator::default()
        },
    }))
}

/// A file's size, modification time (ns since the epoch) and inode.
type FileStamp = (u64, i128, u64);

/// The version stamp of an opened file: a rewrite changes its size or
/// modification time, a replacement (`mv new old`) its inode. `None` where
/// the platform gives no modification time: such a file is always read.
fn stamp_of(meta: &std::fs::Metadata) -> Option<FileStamp> {
    let modified = meta.modified().ok()?;
    let nanos = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).ok()?,
        Err(before) => -i128::try_from(before.duration().as_nanos()).ok()?,
    };
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), nanos, inode))
}

/// Opens for reading without following a final symlink and without
/// waiting for a FIFO's writer.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// A missing path (or one through a file) is a missing object; a refused
/// permission is the storage refusing; anything else is a failure to read.
fn io_error(key: &ObjectKey, error: &std::io::Error) -> FetchError {
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory => missing(key),
        ErrorKind::PermissionDenied => {
            FetchError::Denied(format!("the file `{key}` is not readable by the service"))
        }
        _ if error.raw_os_error() == Some(libc::ELOOP) => missing(key),
        _ => FetchError::Unreachable(format!("the file `{key}` could not be read: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ObjectKey {
        ObjectKey::parse(text).unwrap()
    }

    fn fresh(read: Result<Fetch, FetchError>) -> Bytes {
        match read.unwrap() {
            Fetch::Fresh(fetched) => fetched.bytes,
            Fetch::Unchanged => panic!("a read without a stamp is always fresh"),
        }
    }

    fn stamp(read: Result<Fetch, FetchError>) -> Option<FileStamp> {
        match read.unwrap() {
            Fetch::Fresh(fetched) => fetched.validator.file_stamp,
            Fetch::Unchanged => None,
        }
    }

    #[test]
    fn an_unchanged_file_is_not_read_again_and_a_changed_one_is() {
        let dir = std::env::temp_dir().join(format!("resizer-file-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = std::fs::canonicalize(&dir).unwrap();
        std::fs::write(root.join("a.bin"), b"first").unwrap();
        let first = stamp(read(&root, &key("a.bin"), 100, None));
        assert!(first.is_some());
        assert!(matches!(
            read(&root, &key("a.bin"), 100, first),
            Ok(Fetch::Unchanged)
        ));
        // Rewritten in place with another length: read again.
        std::fs::write(root.join("a.bin"), b"second!").unwrap();
        assert_eq!(&fresh(read(&root, &key("a.bin"), 100, first))[..], b"second!");
        // Replaced by a file of the same size (a new inode): read again.
        let second = stamp(read(&root, &key("a.bin"), 100, None));
        std::fs::write(root.join("new.bin"), b"third!!").unwrap();
        std::fs::rename(root.join("new.bin"), root.join("a.bin")).unwrap();
        assert_eq!(&fresh(read(&root, &key("a.bin"), 100, second))[..], b"third!!");
        // Gone: the stale copy is not "unchanged".
        std::fs::remove_file(root.join("a.bin")).unwrap();
        assert!(matches!(
            read(&root, &key("a.bin"), 100, second),
            Err(FetchError::ObjectNotFound(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_files_inside_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("resizer-file-mount-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.bin"), b"hello").unwrap();
        std::fs::write(dir.join("secret"), b"outside").unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        assert_eq!(&fresh(read(&root, &key("sub/a.bin"), 100, None))[..], b"hello");
        assert!(matches!(
            read(&root, &key("sub/a.bin"), 4, None),
            Err(FetchError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            read(&root, &key("sub"), 100, None),
            Err(FetchError::ObjectNotFound(_))
        ));
        assert!(matches!(
            read(&root, &key("nope"), 100, None),
            Err(FetchError::ObjectNotFound(_))
        ));
        assert!(matches!(
            read(&root, &key("sub/a.bin/x"), 100, None),
            Err(FetchError::ObjectNotFound(_))
        ));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret"), root.join("out")).unwrap();
            std::os::unix::fs::symlink(root.join("sub/a.bin"), root.join("in")).unwrap();
            assert!(matches!(
                read(&root, &key("out"), 100, None),
                Err(FetchError::ObjectNotFound(_))
            ));
            assert_eq!(&fresh(read(&root, &key("in"), 100, None))[..], b"hello");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
