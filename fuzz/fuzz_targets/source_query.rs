//! The `url`/`s` query reader on arbitrary text: it never panics, and what it
//! returns was in the query (a decoded value is never longer than its input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use resizer::options::query;

fuzz_target!(|text: &str| {
    // A repeated `url` or `s` is an error, also never a panic.
    let Ok(parsed) = query::parse(Some(text)) else {
        return;
    };
    for value in [parsed.url.as_deref(), parsed.signature.as_deref()].into_iter().flatten() {
        // Percent-decoding shrinks; lossy UTF-8 may turn one invalid byte
        // into a three-byte replacement character.
        assert!(value.len() <= text.len() * 3, "`{text}` gave `{value}`");
    }
    assert_eq!(query::parse(None).ok(), Some(query::SourceQuery::default()));
});
