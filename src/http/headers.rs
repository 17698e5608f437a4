//! Response headers and content negotiation: `Accept` for `f_auto`, `ETag`
//! and `If-None-Match`, `Cache-Control`, `Vary`.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, IF_NONE_MATCH};

use crate::options::{FormatRequest, Plan};
use crate::pipeline::OutputChoice;

/// The output choice for a plan given the request's `Accept` header.
pub fn output_choice(plan: &Plan, headers: &HeaderMap) -> OutputChoice {
    format_choice(plan.format(), headers)
}

/// The output choice for a format request (a chain's, or an upload URL's
/// extension) given the request's `Accept` header.
pub fn format_choice(format: FormatRequest, headers: &HeaderMap) -> OutputChoice {
    match format {
        FormatRequest::Source => OutputChoice::Source,
        FormatRequest::Fixed(format) => OutputChoice::Fixed(format),
        FormatRequest::Auto => {
            let accept = headers
                .get_all(ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",");
            OutputChoice::Auto {
                avif: accepts(&accept, "image/avif"),
                webp: accepts(&accept, "image/webp"),
            }
        }
    }
}

/// Whether `accept` names `mime` explicitly with q > 0 (wildcards do not count).
pub fn accepts(accept: &str, mime: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let Some(media) = parts.next() else {
            return false;
        };
        if !media.eq_ignore_ascii_case(mime) {
            return false;
        }
        parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .all(|q| q.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(false))
    })
}

/// A strong ETag from the output bytes.
pub fn etag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` matches `etag` (or is `*`).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_needs_an_explicit_type_with_positive_q() {
        assert!(accepts("image/avif,image/webp,*/*", "image/avif"));
        assert!(accepts("text/html, image/webp;q=0.8", "image/webp"));
        assert!(!accepts("image/webp;q=0", "image/webp"));
        assert!(!accepts("*/*", "image/webp"));
        assert!(!accepts("image/*", "image/avif"));
        assert!(!accepts("", "image/avif"));
    }

    #[test]
    fn etags_match_if_none_match() {
        let tag = etag(b"hello");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, format!("\"other\", {tag}").parse().unwrap());
        assert!(not_modified(&headers, &tag));
        headers.insert(IF_NONE_MATCH, "\"other\"".parse().unwrap());
        assert!(!not_modified(&headers, &tag));
        headers.insert(IF_NONE_MATCH, "*".parse().unwrap());
        assert!(not_modified(&headers, &tag));
    }
}
