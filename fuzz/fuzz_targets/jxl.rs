//! Arbitrary bytes as a JPEG XL codestream: inputs without a JPEG XL
//! signature get the bare codestream's (`FF 0A`), so that every input
//! reaches jxl-oxide's header parser. The probe never panics, and a source
//! within small limits decodes (or is refused) without panicking.
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

/// The ISO-BMFF container's signature box.
const CONTAINER: &[u8] = &[0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A];

fuzz_target!(|bytes: &[u8]| {
    let mut source = Vec::with_capacity(bytes.len() + 2);
    if !(bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(CONTAINER)) {
        source.extend_from_slice(&[0xFF, 0x0A]);
    }
    source.extend_from_slice(bytes);
    let Ok(probe) = pipeline::probe::probe(&source) else {
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
    if let Ok((encoded, _)) = pipeline::Pipeline::new(LIMITS).run(&source, &plan, output, Some(deadline)) {
        assert_eq!(encoded.format, ImageFormat::Png);
        assert!(encoded.width >= 1 && encoded.width <= 64);
    }
});
