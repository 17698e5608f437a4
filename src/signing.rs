//! Signing: HMAC-SHA256 signatures of `<transformation>?url=<source>` and
//! of mount paths (README, "Signed URLs"), and the rule a signing key must
//! meet.
//!
//! A mount request (`/{transformation}/{name}/{key}`) signs its path
//! without the leading `/`, exactly as sent (still percent-encoded): the
//! key is decoded once by the server, so the raw path says everything the
//! server will do. The two messages cannot be confused: a `?url=` message
//! always holds a `?`, which a request path never does.
//!
//! The signed message is the transformation exactly as written in the path
//! (without its leading `/`) and the source URL exactly as it will be fetched
//! (percent-decoded), so that a signature covers what the server actually
//! does, not one of the many ways of spelling it in a query string. The
//! signature travels as base64url without padding, the form that needs no
//! escaping in a query.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of an HMAC-SHA256 tag; anything else cannot match, so it is
/// refused before any key is tried.
const TAG_LEN: usize = 32;

/// Shortest signing key accepted, in bytes: 128 bits, below which a key is
/// guessable rather than secret. The server refuses shorter ones at start,
/// `resizer sign` before signing.
pub const MIN_KEY_LEN: usize = 16;

/// Why a signing key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_LEN`] bytes.
    #[error("the signing key is {0} bytes long; it must be at least {MIN_KEY_LEN}")]
    TooShort(usize),
    /// A comma: `signing_key` is a comma-separated list, so the server would
    /// read such a key as two.
    #[error("the signing key contains a comma, which separates keys in `signing_key`")]
    Comma,
    /// White space at either end, which the server trims from each key.
    #[error("the signing key starts or ends with white space, which `signing_key` trims")]
    Whitespace,
}

/// Checks that `key` is one the server accepts in `signing_key`, so that a
/// signature made with it can ever verify.
pub fn check_key(key: &[u8]) -> Result<(), KeyError> {
    if key.contains(&b',') {
        return Err(KeyError::Comma);
    }
    let text = String::from_utf8_lossy(key);
    if text.trim() != text {
        return Err(KeyError::Whitespace);
    }
    if key.len() < MIN_KEY_LEN {
        return Err(KeyError::TooShort(key.len()));
    }
    Ok(())
}

/// Why a signature check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Signing is on and the request has no `s` parameter.
    #[error("this server requires signed URLs: add the `s` query parameter")]
    Missing,
    /// The signature matches none of the keys.
    #[error("the URL signature is invalid")]
    Invalid,
}

/// Checks signatures against the configured keys.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Every accepted key; more than one while keys are being rotated, so that
    /// URLs signed with the old key keep working until it is removed.
    keys: Vec<Vec<u8>>,
}

impl Verifier {
    pub fn new(keys: Vec<Vec<u8>>) -> Verifier {
        Verifier { keys }
    }

    /// Checks `signature` for `transformation` and `source`.
    ///
    /// Each key is compared in constant time, and every key is tried even
    /// after a match, so the time taken does not tell which key matched.
    pub fn verify(
        &self,
        transformation: &str,
        source: &str,
        signature: Option<&str>,
    ) -> Result<(), SignatureError> {
        self.verify_with(signature, |key| mac(key, transformation, source))
    }

    /// Checks `signature` for a mount request's `path`, as sent, without
    /// its leading `/`.
    pub fn verify_path(&self, path: &str, signature: Option<&str>) -> Result<(), SignatureError> {
        self.verify_with(signature, |key| path_mac(key, path))
    }

    fn verify_with(
        &self,
        signature: Option<&str>,
        mac: impl Fn(&[u8]) -> HmacSha256,
    ) -> Result<(), SignatureError> {
        let signature = signature.ok_or(SignatureError::Missing)?;
        // Padding is tolerated on input: some clients add it out of habit, and
        // it carries no information.
        let tag = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(signature.as_bytes())
            .map_err(|_| SignatureError::Invalid)?;
        if tag.len() != TAG_LEN {
            return Err(SignatureError::Invalid);
        }
        let mut matched = false;
        for key in &self.keys {
            matched |= mac(key).verify_slice(&tag).is_ok();
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

/// The HMAC state after feeding the signed message.
fn mac(key: &[u8], transformation: &str, source: &str) -> HmacSha256 {
    // HMAC accepts keys of any length (long ones are hashed), so this never fails;
    // the all-zero key only stands in for the impossible error case, so that no
    // panic path exists.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(transformation.as_bytes());
    mac.update(b"?url=");
    mac.update(source.as_bytes());
    mac
}

/// The HMAC state after feeding a mount request's path.
fn path_mac(key: &[u8], path: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(path.as_bytes());
    mac
}

/// The signature of a mount request's `path` (as sent, without its leading
/// `/`) under `key`.
pub fn sign_path(key: &[u8], path: &str) -> String {
    URL_SAFE_NO_PAD.encode(path_mac(key, path).finalize().into_bytes())
}

/// The signature of `transformation` and `source` under `key`.
pub fn sign(key: &[u8], transformation: &str, source: &str) -> String {
    let tag = mac(key, transformation, source).finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(tag)
}

/// How long a Cloudinary delivery signature is: the SDKs' default (SHA-1,
/// 8 characters) and `long_url_signature` (SHA-256, 32 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudinarySignature {
    Short,
    Long,
}

/// The `s--{sig}--` signature Cloudinary's SDKs put in a delivery URL:
/// URL-safe base64 of the digest of `to_sign` (the components and the
/// source as they appear in the URL, the version left out) followed by the
/// API secret, cut to 8 (SHA-1) or 32 (SHA-256) characters.
pub fn cloudinary_signature(to_sign: &str, secret: &str, kind: CloudinarySignature) -> String {
    use sha2::Digest;
    let text = [to_sign.as_bytes(), secret.as_bytes()].concat();
    let (digest, length) = match kind {
        CloudinarySignature::Short => (sha1::Sha1::digest(&text).to_vec(), 8),
        CloudinarySignature::Long => (Sha256::digest(&text).to_vec(), 32),
    };
    let mut encoded = URL_SAFE_NO_PAD.encode(digest);
    encoded.truncate(length);
    encoded
}

/// Checks a Cloudinary delivery signature (the text between `s--` and
/// `--`), of either length, in constant time for a given length.
pub fn verify_cloudinary(to_sign: &str, secret: &str, signature: Option<&str>) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let kind = match signature.len() {
        8 => CloudinarySignature::Short,
        32 => CloudinarySignature::Long,
        _ => return Err(SignatureError::Invalid),
    };
    let expected = cloudinary_signature(to_sign, secret, kind);
    let difference = expected
        .bytes()
        .zip(signature.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if difference == 0 {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed independently with Python's `hmac`, `hashlib` and
    /// `base64.urlsafe_b64encode(...).rstrip(b"=")`.
    const VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "secret",
            "w_150,h_500",
            "https://i.imgflip.com/ujm8r.jpg",
            "guBGW1VKGNQOJ9T24mV93cE9LmJVtXl8HdYSRwZk0w4",
        ),
        (
            "another-key",
            "c_fill,w_300,h_200,g_auto",
            "https://example.com/a b.jpg?x=1&y=2",
            "ehURKUOaGqvYdcN4N2gihLK-hCMZYbTRsp9huxZmOLI",
        ),
        ("", "", "", "rioTmUwK2x-B4YYwDc2IdglDkj2lP_INT7jxYrZ_mTU"),
    ];

    #[test]
    fn sign_matches_known_vectors() {
        for (key, transformation, source, expected) in VECTORS {
            assert_eq!(
                sign(key.as_bytes(), transformation, source),
                *expected,
                "{transformation}"
            );
        }
    }

    #[test]
    fn verify_accepts_known_vectors() {
        for (key, transformation, source, expected) in VECTORS {
            let verifier = Verifier::new(vec![key.as_bytes().to_vec()]);
            assert_eq!(verifier.verify(transformation, source, Some(expected)), Ok(()));
        }
    }

    /// Computed independently with Python:
    /// `base64.urlsafe_b64encode(hmac.new(key, path, hashlib.sha256).digest()).rstrip(b"=")`.
    const PATH_VECTORS: &[(&str, &str, &str)] = &[
        (
            "secret",
            "w_300,c_fill/products/42.jpg",
            "UwapSOkxW8a8hj9PAPzJDyALKwY_kKXYBcQLCWyNNF8",
        ),
        (
            "another-key",
            "photos/a%20b.jpg",
            "9A2Hj1UJu_LBP2TV4WuiVHxHGYDgM7iUsHcmKqx7nL0",
        ),
    ];

    #[test]
    fn paths_are_signed_as_sent() {
        for (key, path, expected) in PATH_VECTORS {
            assert_eq!(sign_path(key.as_bytes(), path), *expected, "{path}");
            let verifier = Verifier::new(vec![key.as_bytes().to_vec()]);
            assert_eq!(verifier.verify_path(path, Some(expected)), Ok(()));
        }
        let verifier = Verifier::new(vec![b"secret".to_vec()]);
        let signature = sign_path(b"secret", "w_300/products/42.jpg");
        // Another spelling of the same object is another message.
        for other in [
            "w_300/products/%34%32.jpg",
            "/w_300/products/42.jpg",
            "w_301/products/42.jpg",
            "products/42.jpg",
        ] {
            assert_eq!(
                verifier.verify_path(other, Some(&signature)),
                Err(SignatureError::Invalid),
                "{other}"
            );
        }
        assert_eq!(verifier.verify_path("a/b", None), Err(SignatureError::Missing));
    }

    #[test]
    fn missing_signature_is_missing() {
        let verifier = Verifier::new(vec![b"secret".to_vec()]);
        assert_eq!(
            verifier.verify("w_1", "https://a/b.jpg", None),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn any_configured_key_may_match() {
        let old = b"old-key".to_vec();
        let new = b"new-key".to_vec();
        let verifier = Verifier::new(vec![new.clone(), old.clone()]);
        let source = "https://example.com/x.png";
        let by_old = sign(&old, "w_10", source);
        let by_new = sign(&new, "w_10", source);
        assert_eq!(verifier.verify("w_10", source, Some(&by_old)), Ok(()));
        assert_eq!(verifier.verify("w_10", source, Some(&by_new)), Ok(()));
        let by_other = sign(b"unknown", "w_10", source);
        assert_eq!(
            verifier.verify("w_10", source, Some(&by_other)),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn tampering_is_refused() {
        let key = b"secret".to_vec();
        let verifier = Verifier::new(vec![key.clone()]);
        let source = "https://i.imgflip.com/ujm8r.jpg";
        let signature = sign(&key, "w_150,h_500", source);
        assert_eq!(verifier.verify("w_150,h_500", source, Some(&signature)), Ok(()));
        // Another transformation, another source, or a source that only moves
        // text across the `?url=` boundary.
        for (transformation, source) in [
            ("w_150,h_501", source),
            ("h_500,w_150", source),
            ("w_150,h_500", "https://i.imgflip.com/ujm8r.jpeg"),
            ("w_150,h_500?url=https://i.imgflip.com", "/ujm8r.jpg"),
        ] {
            assert_eq!(
                verifier.verify(transformation, source, Some(&signature)),
                Err(SignatureError::Invalid),
                "{transformation} {source}"
            );
        }
    }

    #[test]
    fn malformed_signatures_are_invalid_not_panics() {
        let verifier = Verifier::new(vec![b"secret".to_vec()]);
        let good = sign(b"secret", "w_1", "https://a/b");
        let truncated = &good[..good.len() - 2];
        let padded = format!("{good}=");
        for bad in [
            "",
            "!!!",
            "AAAA",
            truncated,
            "guBGW1VKGNQOJ9T24mV93cE9LmJVtXl8HdYSRwZk0w4AAAA",
        ] {
            assert_eq!(
                verifier.verify("w_1", "https://a/b", Some(bad)),
                Err(SignatureError::Invalid),
                "{bad}"
            );
        }
        // Padding carries no information and is tolerated.
        assert_eq!(verifier.verify("w_1", "https://a/b", Some(&padded)), Ok(()));
    }

    #[test]
    fn keys_are_checked_as_the_server_reads_them() {
        assert_eq!(check_key(b"0123456789abcdef"), Ok(()));
        assert_eq!(check_key(b"0123456789abcde"), Err(KeyError::TooShort(15)));
        assert_eq!(check_key(b""), Err(KeyError::TooShort(0)));
        assert_eq!(check_key(b"0123456789,abcdef"), Err(KeyError::Comma));
        assert_eq!(check_key(b"0123456789abcdef "), Err(KeyError::Whitespace));
        assert_eq!(check_key(b"\t0123456789abcdef"), Err(KeyError::Whitespace));
    }

    #[test]
    fn no_keys_match_nothing() {
        let verifier = Verifier::new(Vec::new());
        let signature = sign(b"secret", "w_1", "https://a/b");
        assert_eq!(
            verifier.verify("w_1", "https://a/b", Some(&signature)),
            Err(SignatureError::Invalid)
        );
    }

    /// Values computed by Cloudinary's Python SDK 1.46.3
    /// (`cloudinary_url(..., sign_url=True, api_secret="abc")`).
    #[test]
    fn cloudinary_signatures_match_the_sdk() {
        let to_sign = "c_fill,h_50,w_100/e_grayscale/https://example.com/a%20b/%C3%BC.jpg%3Fx%3D1%26y%3D2";
        assert_eq!(
            cloudinary_signature(to_sign, "abc", CloudinarySignature::Short),
            "9n1fn6bW"
        );
        assert_eq!(
            cloudinary_signature(to_sign, "abc", CloudinarySignature::Long),
            "uhnlcwbfKm_2VE10c4W26S4_Z9oR4cyn"
        );
        assert_eq!(
            cloudinary_signature("w_10/shop/shoes/red.png", "abc", CloudinarySignature::Short),
            "DyNwAD93"
        );
        assert_eq!(verify_cloudinary(to_sign, "abc", Some("9n1fn6bW")), Ok(()));
        assert_eq!(
            verify_cloudinary(to_sign, "abc", Some("uhnlcwbfKm_2VE10c4W26S4_Z9oR4cyn")),
            Ok(())
        );
        assert_eq!(
            verify_cloudinary(to_sign, "abc", Some("9n1fn6bX")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_cloudinary(to_sign, "abd", Some("9n1fn6bW")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_cloudinary(to_sign, "abc", Some("9n1fn6b")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_cloudinary(to_sign, "abc", None),
            Err(SignatureError::Missing)
        );
    }
}
