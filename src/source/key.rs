//! The object key of a mount request, checked once: an [`ObjectKey`] exists
//! only after [`ObjectKey::parse`] has refused every way out of a mount.
//!
//! The key is read from the raw request path (as sent, before any router
//! decodes it), split on `/`, and each segment is percent-decoded exactly
//! once. Checking the decoded segments is what catches `%2e%2e`, `.%2E` and
//! `%2F`: a check of the raw text would see none of them, and a second
//! decoding would let `%252e%252e` through as `..` at a later layer.

use percent_encoding::percent_decode_str;

/// Longest key accepted, in bytes after decoding: longer than any real
/// object name (S3 itself stops at 1024), short enough that a key can never
/// carry a payload.
pub const MAX_KEY_BYTES: usize = 1024;

/// A key that stays inside its mount: segments joined by `/`, none empty,
/// `.` or `..`, none holding a `/`, a backslash or a control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    /// The decoded segments joined by `/`.
    joined: String,
}

/// Why a key was refused; the message names the problem, never the mount's
/// location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object key: {0}")]
pub struct KeyError(pub String);

impl ObjectKey {
    /// Checks `raw`, the rest of the request path after the mount name, as
    /// sent (percent-encoded, without its leading `/`).
    pub fn parse(raw: &str) -> Result<ObjectKey, KeyError> {
        if raw.is_empty() {
            return Err(KeyError(
                "the key is empty: give the object's path after the mount name".into(),
            ));
        }
        let mut segments = Vec::new();
        for raw_segment in raw.split('/') {
            let bytes: Vec<u8> = percent_decode_str(raw_segment).collect();
            let segment = String::from_utf8(bytes)
                .map_err(|_| KeyError(format!("segment `{raw_segment}` is not UTF-8 once decoded")))?;
            if segment.contains('/') {
                return Err(KeyError(format!("segment `{raw_segment}` holds an encoded `/`")));
            }
            segments.push(segment);
        }
        ObjectKey::from_segments(segments)
    }

    /// Checks a key that is already decoded (a Cloudinary public ID, read
    /// from its URL once): its `/`-separated segments, as they are, with
    /// the checks of [`ObjectKey::parse`] and no second decoding (a `%` is
    /// a `%`).
    pub fn from_decoded(key: &str) -> Result<ObjectKey, KeyError> {
        if key.is_empty() {
            return Err(KeyError("the key is empty".into()));
        }
        ObjectKey::from_segments(key.split('/').map(str::to_owned).collect())
    }

    /// The checks every key passes, on its decoded segments.
    fn from_segments(segments: Vec<String>) -> Result<ObjectKey, KeyError> {
        for segment in &segments {
            match segment.as_str() {
                "" => {
                    return Err(KeyError(
                        "the key has an empty segment (`//` or a trailing `/`)".into(),
                    ));
                }
                "." | ".." => {
                    return Err(KeyError(format!(
                        "the key has a `{segment}` segment, which could leave the mount"
                    )));
                }
                _ => {}
            }
            if segment.contains('\\') {
                return Err(KeyError("the key contains a backslash".into()));
            }
            if segment.chars().any(char::is_control) {
                return Err(KeyError("the key contains a NUL or control character".into()));
            }
        }
        let joined = segments.join("/");
        if joined.len() > MAX_KEY_BYTES {
            return Err(KeyError(format!(
                "the key is {} bytes long, over the limit of {MAX_KEY_BYTES}",
                joined.len()
            )));
        }
        Ok(ObjectKey { joined })
    }

    /// The decoded key, segments joined by `/`.
    pub fn as_str(&self) -> &str {
        &self.joined
    }

    /// The decoded segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.joined.split('/')
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_keys_are_checked_and_never_decoded_again() {
        assert_eq!(
            ObjectKey::from_decoded("shop/100%.png").unwrap().as_str(),
            "shop/100%.png"
        );
        assert_eq!(
            ObjectKey::from_decoded("a%2e%2e/b").unwrap().as_str(),
            "a%2e%2e/b"
        );
        for bad in ["", "a//b", "../a", "a/./b", "a\\b", "a\u{0}b", "a/"] {
            assert!(ObjectKey::from_decoded(bad).is_err(), "{bad:?}");
        }
        assert!(ObjectKey::from_decoded(&"a".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn ordinary_keys_are_decoded_once() {
        assert_eq!(ObjectKey::parse("a.jpg").unwrap().as_str(), "a.jpg");
        assert_eq!(
            ObjectKey::parse("products/42/front.jpg").unwrap().as_str(),
            "products/42/front.jpg"
        );
        assert_eq!(ObjectKey::parse("a%20b.jpg").unwrap().as_str(), "a b.jpg");
        // Decoded once: `%2525` is the text `%25`, not `%`.
        assert_eq!(ObjectKey::parse("100%2525.png").unwrap().as_str(), "100%25.png");
        // A double-encoded dot-dot is a harmless name after one decoding.
        assert_eq!(ObjectKey::parse("%252e%252e/x").unwrap().as_str(), "%2e%2e/x");
        assert_eq!(ObjectKey::parse("caf%C3%A9.jpg").unwrap().as_str(), "café.jpg");
        // Dots inside a name are names.
        assert_eq!(ObjectKey::parse("...").unwrap().as_str(), "...");
        assert_eq!(ObjectKey::parse("a..b/.hidden").unwrap().as_str(), "a..b/.hidden");
        let key = ObjectKey::parse("a/b/c").unwrap();
        assert_eq!(key.segments().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn every_spelling_of_a_way_out_is_refused() {
        let refused = [
            "",
            "/",
            "a//b",
            "a/",
            "/a",
            ".",
            "..",
            "./a",
            "../a",
            "a/../b",
            "a/..",
            "a/.",
            "%2e",
            "%2E",
            "%2e%2e",
            "%2E%2E",
            ".%2e",
            ".%2E",
            "%2e.",
            "%2E.",
            "a/%2e%2e/b",
            "a/%2E%2e",
            "..%2Fetc",
            "a%2Fb",
            "a%2fb",
            "%2F",
            "%2fetc%2fpasswd",
            "..%2f..%2fetc",
            "a\\b",
            "..\\a",
            "a%5Cb",
            "a%5cb",
            "%5C..",
            "a%00.jpg",
            "a%00",
            "a%0a.jpg",
            "a%0D.jpg",
            "a%09b",
            "a%7Fb",
            "a%C2%85b",
            "%ff.jpg",
        ];
        for raw in refused {
            assert!(ObjectKey::parse(raw).is_err(), "`{raw}` was accepted");
        }
    }

    #[test]
    fn long_keys_are_refused_after_decoding() {
        let longest = "a".repeat(MAX_KEY_BYTES);
        assert!(ObjectKey::parse(&longest).is_ok());
        assert!(ObjectKey::parse(&format!("{longest}b")).is_err());
        let segmented = format!("{}/{}", "a".repeat(512), "b".repeat(511));
        assert_eq!(segmented.len(), MAX_KEY_BYTES);
        assert!(ObjectKey::parse(&segmented).is_ok());
        // 513 encoded `é` are 1026 bytes decoded.
        let encoded = "%C3%A9".repeat(513);
        let error = ObjectKey::parse(&encoded).unwrap_err();
        assert!(error.0.contains("1026 bytes"), "{error}");
    }
}
