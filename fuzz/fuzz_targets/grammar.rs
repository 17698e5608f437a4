//! The transformation grammar on arbitrary text: parsing never panics, and an
//! accepted plan's cache key is itself a transformation that parses back to
//! a plan with the same key (the key is canonical: plans that render the same
//! image, such as `q_80` and no `q_`, share it, so the key and not the plan's
//! spelling is what must survive the round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use resizer::options::{GrammarLimits, Plan};

fuzz_target!(|text: &str| {
    let limits = GrammarLimits::default();
    let Ok(plan) = Plan::parse(text, &limits) else {
        return;
    };
    let key = plan.cache_key();
    let reparsed = match Plan::parse(&key, &limits) {
        Ok(reparsed) => reparsed,
        Err(error) => panic!("the key `{key}` of `{text}` does not parse: {error}"),
    };
    assert_eq!(reparsed.cache_key(), key, "the key of `{text}` is not canonical");
    // Parsing the canonical form again changes nothing.
    let again = Plan::parse(&reparsed.cache_key(), &limits).ok();
    assert_eq!(
        again.as_ref(),
        Some(&reparsed),
        "`{key}` parses to different plans"
    );
});
