//! The query string of a transformation request: `url` and `s`.
//!
//! Pure text handling beside the grammar, so that the server and
//! `resizer sign` read a query the same way without the command line
//! depending on the HTTP layer.
//!
//! A query is `application/x-www-form-urlencoded`, as HTML forms, Python's
//! `urlencode`, PHP and Java write it: `+` stands for a space and `%XX` for a
//! byte. The old service was also called with the source unencoded
//! (`/w_150,h_500?url=https://host/img.jpg`), and that raw form keeps
//! working: a value that holds `://` as written was not form-encoded (every
//! form encoder writes `:` and `/` as `%3A` and `%2F`), so its `+` stays a
//! `+` (a raw `https://h/a+b.jpg` fetches `/a+b.jpg`), its `%XX` are still
//! decoded, and a raw source URL that carries its own query keeps it:
//! everything after `url=` up to the next `&s=` or the end belongs to the
//! source.
//!
//! `url` and `s` may each be given once: a repeated one is refused rather
//! than one of the values silently chosen.

use percent_encoding::percent_decode_str;

use super::OptionsError;

/// What the query carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceQuery {
    /// The source URL, decoded; `None` when `url` is absent.
    pub url: Option<String>,
    /// The signature, when present.
    pub signature: Option<String>,
}

/// Reads `url` and `s` from a raw query string; a repeated `url` or `s` is
/// [`OptionsError::RepeatedParameter`]. Other parameters are ignored.
pub fn parse(query: Option<&str>) -> Result<SourceQuery, OptionsError> {
    let mut result = SourceQuery::default();
    let Some(query) = query else {
        return Ok(result);
    };
    let mut rest = query;
    while !rest.is_empty() {
        let (pair, tail) = match rest.split_once('&') {
            Some((pair, tail)) => (pair, tail),
            None => (rest, ""),
        };
        if let Some(value) = pair.strip_prefix("url=") {
            if result.url.is_some() {
                return Err(OptionsError::RepeatedParameter("url"));
            }
            // A raw URL may carry its own `&`-separated query: keep every
            // following pair that is not one of ours.
            let raw = looks_raw(value);
            let mut tail_rest = tail;
            let mut whole = value.to_owned();
            while raw && !tail_rest.is_empty() {
                let (next, after) = tail_rest.split_once('&').unwrap_or((tail_rest, ""));
                if next.starts_with("s=") || next.starts_with("url=") {
                    break;
                }
                whole.push('&');
                whole.push_str(next);
                tail_rest = after;
            }
            result.url = Some(if raw { decode(&whole) } else { form_decode(&whole) });
            rest = tail_rest;
            continue;
        }
        if let Some(value) = pair.strip_prefix("s=") {
            if result.signature.is_some() {
                return Err(OptionsError::RepeatedParameter("s"));
            }
            result.signature = Some(form_decode(value));
        }
        rest = tail;
    }
    Ok(result)
}

/// A value written unencoded (`https://...`) rather than form-encoded
/// (`https%3A%2F%2F...`).
fn looks_raw(value: &str) -> bool {
    value.contains("://")
}

/// Percent-decoding only: a raw URL's `+` is a `+`.
fn decode(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// `application/x-www-form-urlencoded`: `+` is a space, then `%XX`.
fn form_decode(value: &str) -> String {
    decode(&value.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(query: Option<&str>) -> SourceQuery {
        parse(query).unwrap()
    }

    #[test]
    fn encoded_and_raw_forms() {
        let q = parse_ok(Some("url=https%3A%2F%2Fexample.com%2Fa.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://example.com/a.jpg"));
        let q = parse_ok(Some("url=https://i.imgflip.com/ujm8r.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://i.imgflip.com/ujm8r.jpg"));
        let q = parse_ok(Some("url=https://h/a.jpg?v=1+2"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg?v=1+2"));
    }

    #[test]
    fn raw_source_keeps_its_own_query_but_not_the_signature() {
        let q = parse_ok(Some("url=https://h/a.jpg?x=1&y=2&s=abc"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg?x=1&y=2"));
        assert_eq!(q.signature.as_deref(), Some("abc"));
        let q = parse_ok(Some("s=abc&url=https%3A%2F%2Fh%2Fa.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://h/a.jpg"));
        assert_eq!(q.signature.as_deref(), Some("abc"));
    }

    #[test]
    fn absent_and_empty() {
        assert_eq!(parse_ok(None), SourceQuery::default());
        assert_eq!(parse_ok(Some("x=1")).url, None);
        assert_eq!(parse_ok(Some("url=")).url.as_deref(), Some(""));
    }

    #[test]
    fn a_form_encoded_plus_is_a_space() {
        let q = parse_ok(Some("url=http%3A%2F%2Fh%2Fwith+space.jpg"));
        assert_eq!(q.url.as_deref(), Some("http://h/with space.jpg"));
        // `%2B` is the plus a form encoder writes.
        let q = parse_ok(Some("url=http%3A%2F%2Fh%2Fa%2Bb.jpg&s=x+y"));
        assert_eq!(q.url.as_deref(), Some("http://h/a+b.jpg"));
        assert_eq!(q.signature.as_deref(), Some("x y"));
    }

    #[test]
    fn a_raw_url_keeps_its_plus() {
        let q = parse_ok(Some("url=https://h/a+b.jpg"));
        assert_eq!(q.url.as_deref(), Some("https://h/a+b.jpg"));
        let q = parse_ok(Some("url=https://h/a%20b+c.jpg?q=x+y&z=1"));
        assert_eq!(q.url.as_deref(), Some("https://h/a b+c.jpg?q=x+y&z=1"));
    }

    #[test]
    fn repeated_url_or_signature_is_refused() {
        for query in [
            "url=https%3A%2F%2Fa%2Fx.jpg&url=https%3A%2F%2Fb%2Fy.jpg",
            "url=https://a/x.jpg&url=https://b/y.jpg",
            "url=https://a/x.jpg?v=1&url=https://b/y.jpg",
            "s=abc&url=https://a/x.jpg&url=",
        ] {
            let error = parse(Some(query)).unwrap_err();
            assert!(
                matches!(error, OptionsError::RepeatedParameter("url")),
                "{query}: {error:?}"
            );
        }
        for query in ["s=a&s=b&url=https://a/x.jpg", "url=https://a/x.jpg&s=a&s=a"] {
            let error = parse(Some(query)).unwrap_err();
            assert!(
                matches!(error, OptionsError::RepeatedParameter("s")),
                "{query}: {error:?}"
            );
        }
        // Other parameters may repeat: they are not ours.
        assert!(parse(Some("url=https%3A%2F%2Fa%2Fx.jpg&v=1&v=2")).is_ok());
    }
}
