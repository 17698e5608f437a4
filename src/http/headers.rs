//! Response headers and content negotiation: `Accept` for `f_auto`, `ETag`
//! and `If-None-Match`, `Cache-Control`, `Vary`; client hints for
//! `dpr_auto`/`w_auto` and `Content-Disposition` for `fl_attachment`.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, IF_NONE_MATCH};

use crate::options::{Chain, ClientHints, DEFAULT_ATTACHMENT_NAME, FormatRequest, Plan};
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

/// The client hint headers of the ratio and the width, each with its
/// legacy name (sent by older Chrome), the standard one first.
const DPR_HINTS: [&str; 2] = ["sec-ch-dpr", "dpr"];
const WIDTH_HINTS: [&str; 2] = ["sec-ch-width", "width"];

/// The client hints of a request: the first of each pair that is present
/// and parses (a positive finite decimal; a whole number of pixels), else
/// none. Values are the client's: range checks are the plan's.
pub fn client_hints(headers: &HeaderMap) -> ClientHints {
    let first = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| headers.get(*name))
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    ClientHints {
        dpr: first(DPR_HINTS)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d > 0.0),
        width: first(WIDTH_HINTS).and_then(|v| v.parse::<u64>().ok()),
    }
}

/// The request headers a response to `plan` varies by, beyond `Accept`:
/// the hint headers of `dpr_auto` and `w_auto` (a cache in front must not
/// give a phone's image to a desktop).
pub fn hint_vary(chain: &Chain) -> Vec<&'static str> {
    let mut names = Vec::new();
    if chain.steps().iter().any(Plan::dpr_auto) {
        names.extend(["Sec-CH-DPR", "DPR"]);
    }
    if chain.steps().iter().any(|plan| plan.width_auto().is_some()) {
        names.extend(["Sec-CH-Width", "Width"]);
    }
    names
}

/// The download name a source suggests: the last segment of its path
/// (percent-decoded, query and fragment dropped) without its extension.
pub fn source_name(path_or_url: &str) -> String {
    let path = path_or_url.split_once("://").map_or(path_or_url, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, path)| path)
    });
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let last = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
    match last.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => last.into_owned(),
    }
}

/// `Content-Disposition` for `fl_attachment`: `name` (else the source's)
/// cut to letters, digits, `-`, `_`, `.` and spaces (anything else is `_`,
/// no leading dot, at most 100 characters), then `.extension`.
pub fn attachment(name: &str, source: &str, extension: &str) -> String {
    let given = if name.is_empty() { source } else { name };
    let clean: String = given
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let clean = clean.trim_start_matches(['.', ' ']).trim_end();
    let clean = if clean.chars().all(|c| c == '_') {
        DEFAULT_ATTACHMENT_NAME
    } else {
        clean
    };
    format!("attachment; filename=\"{clean}.{extension}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hints_are_read_and_hostile_values_dropped() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_hints(&headers), ClientHints::default());
        headers.insert("dpr", "2".parse().unwrap());
        headers.insert("width", "640".parse().unwrap());
        assert_eq!(
            client_hints(&headers),
            ClientHints {
                dpr: Some(2.0),
                width: Some(640)
            }
        );
        // The standard names win over the legacy ones.
        headers.insert("sec-ch-dpr", "1.5".parse().unwrap());
        headers.insert("sec-ch-width", " 300 ".parse().unwrap());
        assert_eq!(
            client_hints(&headers),
            ClientHints {
                dpr: Some(1.5),
                width: Some(300)
            }
        );
        for (dpr, width) in [("NaN", "-1"), ("inf", "1e9"), ("-2", "12.5"), ("0", "abc")] {
            let mut headers = HeaderMap::new();
            headers.insert("sec-ch-dpr", dpr.parse().unwrap());
            headers.insert("sec-ch-width", width.parse().unwrap());
            assert_eq!(client_hints(&headers), ClientHints::default(), "{dpr} {width}");
        }
    }

    #[test]
    fn attachment_names_are_sanitised() {
        assert_eq!(
            attachment("", "photo", "jpg"),
            "attachment; filename=\"photo.jpg\""
        );
        assert_eq!(
            attachment("my photo", "x", "webp"),
            "attachment; filename=\"my photo.webp\""
        );
        assert_eq!(
            attachment("../../etc/\"passwd\r\n", "x", "png"),
            "attachment; filename=\"_.._etc__passwd__.png\""
        );
        assert_eq!(attachment("", "", "gif"), "attachment; filename=\"image.gif\"");
        assert_eq!(attachment("été", "x", "jpg"), "attachment; filename=\"_t_.jpg\"");
        assert_eq!(attachment("ü", "x", "jpg"), "attachment; filename=\"image.jpg\"");
        assert_eq!(source_name("http://origin.test/a/photo.jpg?v=2#x"), "photo");
        assert_eq!(source_name("http://origin.test/"), "");
        assert_eq!(source_name("http://origin.test"), "");
        assert_eq!(source_name("folder/my%20cat.png"), "my cat");
        assert_eq!(source_name("noext"), "noext");
    }

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
