//! Objects carried in the binary: the playground's sample images, served
//! as the objects of a mount that needs no storage, no network and no
//! private-network exception (`GET /{transformation}/playground/samples/{name}`).
//!
//! The mount is not one of the configured [`super::Mounts`]: the HTTP layer
//! sets it up only while the playground is on, so that it never changes how
//! other paths are read. Everything after the storage (`ObjectKey`,
//! signing, caches, coalescing, limits) is that of any mount.

use bytes::Bytes;

use super::ObjectKey;
use crate::fetch::{Fetch, FetchError, Fetched, Validator};

/// The name the playground's samples are served under: a name reserved
/// for the service ([`super::RESERVED_NAMES`]), so no configured mount has it.
pub const NAME: &str = "playground";

/// The samples, by key. Small (together under 120 kB) and free of
/// third-party rights: `coffee.jpg` is scikit-image's CC0 photograph (the
/// quality tests' fixture), `badge.png` is drawn by
/// `assets/playground/samples/make_samples.py`.
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "samples/coffee.jpg",
        include_bytes!("../../assets/playground/samples/coffee.jpg"),
    ),
    (
        "samples/badge.png",
        include_bytes!("../../assets/playground/samples/badge.png"),
    ),
];

/// Storage whose objects are static byte strings.
#[derive(Debug)]
pub struct EmbeddedMount {
    files: &'static [(&'static str, &'static [u8])],
}

impl EmbeddedMount {
    pub fn new(files: &'static [(&'static str, &'static [u8])]) -> EmbeddedMount {
        EmbeddedMount { files }
    }

    /// The object `key`; always fresh (the bytes cannot change while the
    /// binary runs, and reading them costs nothing).
    pub fn fetch(&self, key: &ObjectKey) -> Result<Fetch, FetchError> {
        let (_, bytes) = self
            .files
            .iter()
            .find(|(name, _)| *name == key.as_str())
            .ok_or_else(|| FetchError::ObjectNotFound(key.as_str().to_owned()))?;
        Ok(Fetch::Fresh(Fetched {
            bytes: Bytes::from_static(bytes),
            validator: Validator::default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_its_files_and_nothing_else() {
        let mount = EmbeddedMount::new(SAMPLES);
        let key = ObjectKey::parse("samples/coffee.jpg").unwrap();
        let Fetch::Fresh(fetched) = mount.fetch(&key).unwrap() else {
            panic!("an embedded object is always fresh");
        };
        assert!(fetched.bytes.starts_with(&[0xFF, 0xD8]));
        let missing = ObjectKey::parse("samples/none.jpg").unwrap();
        assert!(matches!(
            mount.fetch(&missing),
            Err(FetchError::ObjectNotFound(_))
        ));
        let total: usize = SAMPLES.iter().map(|(_, bytes)| bytes.len()).sum();
        assert!(total < 400_000, "the samples weigh {total} bytes");
    }
}
