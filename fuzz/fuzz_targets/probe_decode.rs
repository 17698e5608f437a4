//! Arbitrary bytes as a source image: the header probe never panics, and a
//! source that passes the probe and small limits goes through the whole
//! pipeline (decode, resize to 64 wide, PNG) without panicking.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use resizer::format::ImageFormat;
use resizer::options::{GrammarLimits, Plan};
use resizer::pipeline::{self, Limits, OutputChoice};

/// Small enough that one input costs milliseconds, not seconds.
const LIMITS: Limits = Limits {
    max_src_pixels: 1 << 20,
    max_dimension: 1024,
    max_animation_frames: 8,
    max_animation_pixels: 4 << 20,
};

fuzz_target!(|bytes: &[u8]| {
    let Ok(probe) = pipeline::probe::probe(bytes) else {
        return;
    };
    if probe.check_limits(&LIMITS).is_err() {
        return;
    }
    let Ok(plan) = Plan::parse("w_64", &GrammarLimits::default()) else {
        panic!("w_64 is a valid transformation");
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let output = OutputChoice::Fixed(ImageFormat::Png);
    if let Ok((encoded, _)) = pipeline::process(bytes, &plan, output, &LIMITS, Some(deadline)) {
        assert_eq!(encoded.format, ImageFormat::Png);
        assert!(encoded.width >= 1 && encoded.width <= 64, "{}", encoded.width);
    }
});
