//! Arbitrary bytes as a source image: the header probe never panics, and a
//! source that passes the probe and small limits goes through the whole
//! pipeline (decode, resize to 64 wide and to 1/20 of its width, PNG)
//! without panicking.
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
    // 64 px wide, and 1/20 of the width: the second takes JPEGs and WebPs
    // down the shrink-on-load paths at their smallest scale (1/8, with the
    // progressive scan surgery), which 64 px of a 1024 px source never does.
    for width in [64, (probe.width / 20).max(1)] {
        let Ok(plan) = Plan::parse(&format!("w_{width}"), &GrammarLimits::default()) else {
            panic!("w_{width} is a valid transformation");
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let output = OutputChoice::Fixed(ImageFormat::Png);
        if let Ok((encoded, _)) = pipeline::Pipeline::new(LIMITS).run(bytes, &plan, output, Some(deadline)) {
            assert_eq!(encoded.format, ImageFormat::Png);
            assert!(
                encoded.width >= 1 && encoded.width <= width,
                "{} for w_{width}",
                encoded.width
            );
        }
    }
});
