//! Sources: where the bytes of a request come from, a remote URL or an
//! object of a mount, behind one [`Source::fetch`].
//!
//! A mount (README, "Mounts") names storage the operator trusts: an HTTP
//! origin ([`http_mount`]), a local folder ([`file`]) or an S3-compatible
//! bucket ([`s3`]). A request reaches an object of a mount only through an
//! [`ObjectKey`], which cannot exist for a key that could leave the mount,
//! and each kind of storage keeps the key inside its own root as well
//! (folder, URL prefix, bucket prefix). Every kind caps the bytes it reads
//! at `max_src_bytes` and knows a too large object from its size when the
//! storage tells it, before reading it.
//!
//! The caches, coalescing and pipeline are the same for every source: the
//! handlers see a [`Source`], its cache key and its kind, never the storage.

pub mod embedded;
mod file;
mod http_mount;
pub mod key;
mod s3;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use url::Url;

pub use key::{KeyError, ObjectKey};

use crate::config::Config;
use crate::fetch::{Fetch, FetchError, Fetcher, Guard, SourceUrl, Validator};

/// Paths the service routes itself (or keeps for routes to come: `info`,
/// `playground`, `image`, `upload`), which a mount name would shadow or be
/// shadowed by.
pub const RESERVED_NAMES: &[&str] = &[
    "health",
    "metrics",
    "info",
    "playground",
    "image",
    "upload",
    "favicon.ico",
    "robots.txt",
];

/// Longest mount name: short enough to read in a URL, long enough for a
/// descriptive name.
const MAX_NAME_LEN: usize = 32;

/// The kind of a source, as the metrics and the log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A `?url=` source.
    Remote,
    /// An object of an HTTP mount.
    Http,
    /// A file of a folder mount.
    File,
    /// An object of an S3 mount.
    S3,
    /// A sample carried in the binary (the playground's).
    Embedded,
}

impl SourceKind {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Remote => "remote",
            SourceKind::Http => "http",
            SourceKind::File => "file",
            SourceKind::S3 => "s3",
            SourceKind::Embedded => "embedded",
        }
    }
}

/// A mount as configured: its name and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub name: String,
    pub target: MountTarget,
}

/// Where a mount points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountTarget {
    /// An HTTP origin; the path ends with `/`, the key is appended to it.
    Http(Url),
    /// A local folder, absolute; it existed and was a folder at start.
    File(PathBuf),
    /// A bucket and a prefix inside it (no leading or trailing `/`, may be empty).
    S3 { bucket: String, prefix: String },
}

impl MountTarget {
    /// The kind of source this target serves.
    pub fn kind(&self) -> SourceKind {
        match self {
            MountTarget::Http(_) => SourceKind::Http,
            MountTarget::File(_) => SourceKind::File,
            MountTarget::S3 { .. } => SourceKind::S3,
        }
    }
}

impl std::fmt::Display for MountTarget {
    /// The target without anything secret (an HTTP target has no user info).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MountTarget::Http(url) => write!(f, "{url}"),
            MountTarget::File(path) => write!(f, "file://{}", path.display()),
            MountTarget::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            MountTarget::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Whether `name` is a valid mount name: `[a-z0-9][a-z0-9-]{0,31}`. Never a
/// `_`, so a name can never be read as a transformation, whose every token
/// holds one.
pub fn is_mount_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Parses the `mounts` setting: comma-separated `name=target`. Checks the
/// names (syntax, reserved, duplicates) and the targets' form; a folder must
/// exist and be a folder.
pub fn parse_mounts(text: &str) -> Result<Vec<MountSpec>, String> {
    let mut mounts: Vec<MountSpec> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, target) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` is not of the form name=target"))?;
        let (name, target) = (name.trim(), target.trim());
        if !is_mount_name(name) {
            return Err(format!(
                "mount name `{name}` must be 1 to {MAX_NAME_LEN} of a-z, 0-9 and `-`, starting with a letter or digit"
            ));
        }
        if RESERVED_NAMES.contains(&name) {
            return Err(format!(
                "mount name `{name}` is a path the service routes itself; choose another name"
            ));
        }
        if mounts.iter().any(|m| m.name == name) {
            return Err(format!("mount name `{name}` is given twice"));
        }
        let target = parse_target(target).map_err(|reason| format!("mount `{name}`: {reason}"))?;
        mounts.push(MountSpec {
            name: name.to_owned(),
            target,
        });
    }
    Ok(mounts)
}

fn parse_target(target: &str) -> Result<MountTarget, String> {
    let usage = "a target is http(s)://host[:port]/prefix/, file:///absolute/folder or s3://bucket[/prefix]";
    let url = Url::parse(target).map_err(|e| format!("`{target}` is not a URL ({e}); {usage}"))?;
    match url.scheme() {
        "http" | "https" => {
            if !url.username().is_empty() || url.password().is_some() {
                return Err("an HTTP mount must not carry a user name or password".into());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(format!(
                    "`{target}` has a query or fragment; give a path prefix only"
                ));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!("`{target}` has no host"));
            }
            let mut url = url;
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            Ok(MountTarget::Http(url))
        }
        "file" => {
            if url.host_str().is_some_and(|h| !h.is_empty()) {
                return Err(format!("`{target}` names a host; write file:///absolute/folder"));
            }
            let path = url
                .to_file_path()
                .map_err(|()| format!("`{target}` is not an absolute folder path"))?;
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => Ok(MountTarget::File(path)),
                Ok(_) => Err(format!("{} is not a folder", path.display())),
                Err(e) => Err(format!("folder {} cannot be read: {e}", path.display())),
            }
        }
        "s3" => {
            if !url.username().is_empty() || url.password().is_some() {
                return Err(
                    "credentials never go in the target; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                        .into(),
                );
            }
            let bucket = url.host_str().unwrap_or_default().to_owned();
            if bucket.is_empty() {
                return Err(format!("`{target}` has no bucket; write s3://bucket[/prefix]"));
            }
            let prefix = url.path().trim_matches('/').to_owned();
            // Read as written: the URL parser would quietly resolve `a/../b`.
            let written = target
                .get("s3://".len()..)
                .and_then(|rest| rest.split_once('/'))
                .map_or("", |(_, path)| path.trim_matches('/'));
            if written
                .split('/')
                .any(|s| (s.is_empty() && !written.is_empty()) || s == "." || s == "..")
            {
                return Err(format!(
                    "`{target}` has an empty, `.` or `..` segment in its prefix"
                ));
            }
            Ok(MountTarget::S3 { bucket, prefix })
        }
        other => Err(format!("scheme `{other}` is not supported; {usage}")),
    }
}

/// Settings shared by every S3 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// Unset: AWS itself; set for MinIO, Ceph, R2 and other compatible storage.
    pub endpoint: Option<String>,
    /// The region requests are signed for.
    pub region: String,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`,
    /// which most self-hosted storage needs.
    pub path_style: bool,
}

/// The storage behind a mount, ready to read.
#[derive(Debug)]
enum Storage {
    Http(http_mount::HttpMount),
    File(file::FileMount),
    S3(s3::S3Mount),
    Embedded(embedded::EmbeddedMount),
}

/// A configured mount, ready to serve objects.
#[derive(Debug)]
pub struct Mount {
    /// The name in request paths.
    name: String,
    storage: Storage,
}

impl Mount {
    /// The playground's samples ([`embedded::SAMPLES`]) as a mount named
    /// [`embedded::NAME`], outside the configured ones.
    pub fn samples() -> Mount {
        Mount {
            name: embedded::NAME.to_owned(),
            storage: Storage::Embedded(embedded::EmbeddedMount::new(embedded::SAMPLES)),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> SourceKind {
        match self.storage {
            Storage::Http(_) => SourceKind::Http,
            Storage::File(_) => SourceKind::File,
            Storage::S3(_) => SourceKind::S3,
            Storage::Embedded(_) => SourceKind::Embedded,
        }
    }

    /// The object `key` of this mount, whole, within the limits.
    pub async fn fetch(&self, key: &ObjectKey) -> Result<Bytes, FetchError> {
        self.fetch_if_changed(key, None).await?.into_bytes()
    }

    /// The object `key`, unless `previous` names a version the storage
    /// says is still current (an HTTP or S3 `304`, a file whose size,
    /// modification time and inode are unchanged).
    pub async fn fetch_if_changed(
        &self,
        key: &ObjectKey,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        match &self.storage {
            Storage::Http(mount) => mount.fetch_if_changed(key, previous).await,
            Storage::File(mount) => mount.fetch_if_changed(key, previous).await,
            Storage::S3(mount) => mount.fetch_if_changed(key, previous).await,
            Storage::Embedded(mount) => mount.fetch(key),
        }
    }
}

/// Why a mount could not be set up at start.
#[derive(Debug, thiserror::Error)]
#[error("mount `{name}` cannot be used: {reason}")]
pub struct MountError {
    pub name: String,
    pub reason: String,
}

/// Every configured mount, by name.
#[derive(Debug, Default, Clone)]
pub struct Mounts(HashMap<String, Arc<Mount>>);

impl Mounts {
    /// Sets up every mount of `config`: a client per HTTP origin, the
    /// canonical root of each folder, a client per bucket.
    pub fn new(config: &Config, guard: &Guard) -> Result<Mounts, MountError> {
        let limits = config.fetch_limits();
        let mut mounts = HashMap::new();
        for spec in &config.mounts {
            let error = |reason: String| MountError {
                name: spec.name.clone(),
                reason,
            };
            let storage = match &spec.target {
                MountTarget::Http(base) => Storage::Http(
                    http_mount::HttpMount::new(base.clone(), guard, limits)
                        .map_err(|e| error(e.to_string()))?,
                ),
                MountTarget::File(root) => Storage::File(file::FileMount::new(root, limits).map_err(error)?),
                MountTarget::S3 { bucket, prefix } => {
                    Storage::S3(s3::S3Mount::new(bucket, prefix, &config.s3, limits).map_err(error)?)
                }
            };
            tracing::info!(
                mount = %spec.name,
                kind = spec.target.kind().label(),
                target = %spec.target,
                "mount ready"
            );
            let mount = Mount {
                name: spec.name.clone(),
                storage,
            };
            mounts.insert(spec.name.clone(), Arc::new(mount));
        }
        Ok(Mounts(mounts))
    }

    /// The mount called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Mount>> {
        self.0.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where the bytes of one request come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A `?url=` source, checked by the guard.
    Remote(SourceUrl),
    /// The object `key` of a mount.
    Object { mount: Arc<Mount>, key: ObjectKey },
}

impl Source {
    /// The key of this source in the source and result caches. A URL is
    /// written out as it is fetched (always `http...`); an object as
    /// `mount:{name}/{key}`, which no URL can be.
    pub fn cache_key(&self) -> String {
        match self {
            Source::Remote(url) => url.as_str().to_owned(),
            Source::Object { mount, key } => format!("mount:{}/{}", mount.name(), key.as_str()),
        }
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Source::Remote(_) => SourceKind::Remote,
            Source::Object { mount, .. } => mount.kind(),
        }
    }

    /// The whole source, within the limits: a URL through `remote`, an
    /// object through its mount's storage.
    pub async fn fetch(&self, remote: &Fetcher) -> Result<Bytes, FetchError> {
        self.fetch_if_changed(remote, None).await?.into_bytes()
    }

    /// The whole source, unless `previous` names a version its storage
    /// says is still current: how the source cache revalidates a stale copy.
    pub async fn fetch_if_changed(
        &self,
        remote: &Fetcher,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        match self {
            Source::Remote(url) => remote.fetch_if_changed(url, previous).await,
            Source::Object { mount, key } => mount.fetch_if_changed(key, previous).await,
        }
    }
}

/// `TooLarge` when `size` (announced by the storage or counted) is over
/// `max_bytes`: the one size check of every storage kind.
pub(crate) fn check_size(max_bytes: u64, size: u64) -> Result<(), FetchError> {
    if size > max_bytes {
        Err(FetchError::TooLarge { limit: max_bytes })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["a", "photos", "p-1", "0", "a-b-c", &"a".repeat(32)] {
            assert!(is_mount_name(good), "{good}");
        }
        for bad in ["", "-a", "A", "a_b", "w_100", "a.b", "a/b", "é", &"a".repeat(33)] {
            assert!(!is_mount_name(bad), "{bad}");
        }
    }

    #[test]
    fn mounts_are_parsed_and_checked() {
        let folder = std::env::temp_dir();
        let text = format!(
            "web=https://img.example.com/originals, disk={} ,bucket=s3://b/p/q/",
            Url::from_file_path(&folder).unwrap()
        );
        let mounts = parse_mounts(&text).unwrap();
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[0].target,
            MountTarget::Http(Url::parse("https://img.example.com/originals/").unwrap())
        );
        assert_eq!(mounts[1].target, MountTarget::File(folder));
        assert_eq!(
            mounts[2].target,
            MountTarget::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert_eq!(mounts[2].target.to_string(), "s3://b/p/q");
        assert_eq!(parse_mounts("").unwrap(), vec![]);
        assert_eq!(
            parse_mounts("b=s3://bucket").unwrap()[0].target,
            MountTarget::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn bad_mounts_say_why() {
        let cases = [
            ("health=https://a.example/", "routes itself"),
            ("metrics=https://a.example/", "routes itself"),
            ("favicon.ico=https://a.example/", "must be"),
            ("a=https://x.example/,a=https://y.example/", "twice"),
            ("a_b=https://x.example/", "must be"),
            ("Photos=https://x.example/", "must be"),
            ("a", "name=target"),
            ("a=ftp://x.example/", "not supported"),
            ("a=https://u:p@x.example/", "user name"),
            ("a=https://x.example/?q=1", "query"),
            ("a=s3://key:secret@bucket/", "credentials"),
            ("a=file:///definitely/not/here/at/all", "cannot be read"),
            ("a=relative/folder", "not a URL"),
            ("a=s3://bucket/a/../b", "segment"),
        ];
        for (text, expected) in cases {
            let error = parse_mounts(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let file = std::env::current_exe().unwrap();
        let error = parse_mounts(&format!("a={}", Url::from_file_path(&file).unwrap())).unwrap_err();
        assert!(error.contains("not a folder"), "{error}");
    }
}
