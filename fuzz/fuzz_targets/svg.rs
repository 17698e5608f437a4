//! Arbitrary bytes as an SVG: inputs that are not an SVG already are put
//! inside an `<svg>` root, so that every input reaches the XML parser, the
//! expansion estimate, usvg's conversion and resvg's renderer. The probe
//! never panics, and whatever it accepts renders (or is refused) without
//! panicking, under small limits and a deadline.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use resizer::format::{ImageFormat, SourceFormat};
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
    let wrapped;
    let bytes = match pipeline::probe::probe(bytes) {
        Ok(p) if p.format == SourceFormat::Svg => bytes,
        _ => {
            let mut svg = br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">"#.to_vec();
            svg.extend_from_slice(bytes);
            svg.extend_from_slice(b"</svg>");
            wrapped = svg;
            &wrapped
        }
    };
    let Ok(probe) = pipeline::probe::probe(bytes) else {
        return;
    };
    for transformation in ["w_64", "w_300,h_300,c_fill", "c_pad,w_50,h_20,dpr_2"] {
        let Ok(plan) = Plan::parse(transformation, &GrammarLimits::default()) else {
            panic!("{transformation} is a valid transformation");
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let output = OutputChoice::Fixed(ImageFormat::Png);
        if let Ok((encoded, _)) = pipeline::Pipeline::new(LIMITS).run(bytes, &plan, output, Some(deadline)) {
            assert_eq!(encoded.format, ImageFormat::Png);
            assert!(encoded.width >= 1 && encoded.width <= 1024, "{probe:?}");
        }
    }
});
