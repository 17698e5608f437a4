//! The query string of a transformation request: `url` and `s`.
//!
//! Pure text handling beside the grammar, so that the server and
//! `resizer sign` read a query the same way without the command line
//! depending on the HTTP layer.
//!
//! The old service was called with the source unencoded
//! (`/w_150,h_500?url=https://host/img.jpg`), so values are percent-decoded
//! without turning `+` into a space (a raw URL may hold a literal `+`), and a
//! raw source URL that itself carries a query keeps it: everything after
//! `url=` up to the next `&s=` or the end belongs to the source.

use percent_encoding::percent_decode_str;

/// What the query carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceQuery {
    /// The source URL, percent-decoded; `None` when `url` is absent.
    pub url: Option<String>,
    /// The signature, when present.
    pub signature: Option<String>,
}

/// Reads `url` and `s` from a raw query string.
pub fn parse(query: Option<&str>) -> SourceQuery {
    let mut result = SourceQuery::default();
    let Some(query) = query else {
        return result;
    };
    let mut rest = query;
    while !rest.is_empty() {
        let (pair, tail) = match rest.split_once('&') {
            Some((pair, tail)) => (pair, tail),
            None => (rest, ""),
        };
        if let Some(value) = pair.strip_prefix("url=") {
            // A raw URL may carry its own `&`-separated query: keep every
            // following pair that is not one of ours.
            let mut tail_rest = tail;
            let mut raw = value.to_owned();
            while !tail_rest.is_empty() {
                let (next, after) = tail_rest.split_once('&').unwrap_or((tail_rest, ""));
                if next.starts_with("s=") || next.starts_with("url=") || !looks_raw(value) {
                    break;
                }
                raw.push('&');
                raw.push_str(next);
                tail_rest = after;
            }
            result.url = Some(decode(&raw));
            rest = tail_rest;
            continue;
        }
        if let Some(value) = pair.strip_prefix("s=") {
            result.signature = Some(decode(value));
        }
        rest = tail;
    }
    result
}

/// A value written unencoded (`https://...`) rather than percent-encoded
/// (`https%3A%2F%2F...`).
fn looks_raw(value: &str) -> bool {
    value.contains("://")
}

fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_and_raw_forms() {
        let q = parse(Some("url=https%3A%2F%2Fexample.com%2Fa.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://example.com/a.jpg"));
        let q = parse(Some("url=https://i.imgflip.com/ujm8r.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://i.imgflip.com/ujm8r.jpg"));
        let q = parse(Some("url=https://h/a.jpg?v=1+2"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg?v=1+2"));
    }

    #[test]
    fn raw_source_keeps_its_own_query_but_not_the_signature() {
        let q = parse(Some("url=https://h/a.jpg?x=1&y=2&s=abc"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg?x=1&y=2"));
        assert_eq!(q.signature.as_deref(), Some("abc"));
        let q = parse(Some("s=abc&url=https%3A%2F%2Fh%2Fa.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg"));
        assert_eq!(q.signature.as_deref(), Some("abc"));
    }

    #[test]
    fn absent_and_empty() {
        assert_eq!(parse(None), SourceQuery::default());
        assert_eq!(parse(Some("x=1")).url, None);
        assert_eq!(parse(Some("url=")).url.as_deref(), Some(""));
    }
}
