//! What the image targets share: small limits and one run of the pipeline
//! to PNG under a deadline, whose result must be a PNG within the limits.

use std::time::{Duration, Instant};

use resizer::format::ImageFormat;
use resizer::options::{GrammarLimits, Plan};
use resizer::pipeline::{Encoded, Limits, OutputChoice, Pipeline};

/// Small enough that one input costs milliseconds, not seconds.
pub const LIMITS: Limits = Limits {
    max_src_pixels: 1 << 20,
    max_dimension: 1024,
    max_animation_frames: 8,
    max_animation_pixels: 4 << 20,
};

/// Runs `bytes` through `transformation` (which must be valid) to PNG with a
/// 10 s deadline. A refusal is fine (`None`); an answer must be a PNG no
/// wider than `max_width` and the limits.
pub fn run_png(bytes: &[u8], transformation: &str, max_width: u32) -> Option<Encoded> {
    let Ok(plan) = Plan::parse(transformation, &GrammarLimits::default()) else {
        panic!("{transformation} is a valid transformation");
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let output = OutputChoice::Fixed(ImageFormat::Png);
    let (encoded, _) = Pipeline::new(LIMITS)
        .run(bytes, &plan, output, Some(deadline))
        .ok()?;
    assert_eq!(encoded.format, ImageFormat::Png);
    assert!(
        encoded.width >= 1 && encoded.width <= max_width.min(LIMITS.max_dimension),
        "{} wide for {transformation}",
        encoded.width
    );
    Some(encoded)
}
