//! Arbitrary bytes as a source image: the header probe never panics, and a
//! source that passes the probe and small limits goes through the whole
//! pipeline (decode, resize to 64 wide and to 1/20 of its width, PNG)
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resizer::pipeline;

#[path = "../support.rs"]
mod support;

use support::{LIMITS, run_png};

fuzz_target!(|bytes: &[u8]| {
    let Ok(probe) = pipeline::probe::probe(bytes) else {
        return;
    };
    if probe.check_limits(&LIMITS).is_err() {
        return;
    }
    // 64 px wide, and 1/20 of the width: the second takes JPEGs and WebPs
    // down the shrink-on-load paths at their smallest scale (1/8, with the
    // progressive scan surgery), which 64 px of a 1024 px source never does.
    for width in [64, (probe.width / 20).max(1)] {
        run_png(bytes, &format!("w_{width}"), width);
    }
});
