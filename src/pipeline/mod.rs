//! The image pipeline: bytes in, bytes out.
//!
//! `probe -> decode (shrink-on-load) -> orient -> colour -> geometry -> resize
//! -> effects -> pad/flatten -> encode`. Everything here is synchronous and
//! knows nothing of HTTP, tokio, caches or URLs, so the same code serves the
//! HTTP handler (on the CPU pool), `resizer convert`, the benches and the
//! fuzz targets. Every limit is checked before the memory it guards is
//! allocated.

pub mod colour;
pub mod decode;
pub mod effects;
pub mod encode;
pub mod geometry;
pub mod image;
pub mod orient;
pub mod probe;
pub mod resize;
pub mod saliency;
#[cfg(feature = "turbo")]
mod turbo;

use std::time::{Duration, Instant};

use crate::format::ImageFormat;
use crate::options::Plan;

pub use image::{Channels, Frame, Image};
pub use probe::Probe;
pub use resize::ResampleSpace;

/// The knobs that trade speed for quality, gathered so that benchmarks and
/// the quality measurement (`examples/quality.rs`) can try other settings
/// through [`process_with`] without editing constants. The service always
/// uses [`Tuning::default`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// How much resolution above the output a shrunk-on-load JPEG keeps, per
    /// axis ([`decode::SHRINK_MARGIN`] by default; 1.0 decodes as small as
    /// the output allows, a very large value disables shrink-on-load).
    pub shrink_margin: f64,
    /// Which values the resampler averages ([`ResampleSpace::DEFAULT`]).
    pub resample_space: ResampleSpace,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            shrink_margin: decode::SHRINK_MARGIN,
            resample_space: ResampleSpace::DEFAULT,
        }
    }
}

/// Limits on what one image may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most pixels of one source frame (width x height), read from the header.
    pub max_src_pixels: u64,
    /// Largest output side.
    pub max_dimension: u32,
    /// Most frames of an animation that are decoded.
    pub max_animation_frames: u32,
    /// Most pixels of all decoded frames together.
    pub max_animation_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_src_pixels: 50_000_000,
            max_dimension: 8192,
            max_animation_frames: 100,
            max_animation_pixels: 500_000_000,
        }
    }
}

/// What the caller knows about the output format before the image is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputChoice {
    /// Same format as the source.
    Source,
    /// A format named by `f_` or by a file extension.
    Fixed(ImageFormat),
    /// `f_auto`: the formats the client accepts explicitly; the image's
    /// alpha decides between PNG and JPEG when neither is accepted.
    Auto { avif: bool, webp: bool },
}

/// An encoded result.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// How long each stage took, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub decode: Duration,
    pub transform: Duration,
    pub encode: Duration,
}

/// Why an image could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The bytes are not a format resizer decodes.
    #[error("the source is not an image in a supported format (JPEG, PNG, GIF, WebP)")]
    UnsupportedFormat,
    /// The header claims more pixels than `max_src_pixels`.
    #[error("the source is {width}x{height} ({pixels} pixels), over the limit of {max} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        max: u64,
    },
    /// The computed output is larger than `max_dimension`.
    #[error("the output would be {width}x{height}, over the limit of {max} pixels per side")]
    OutputTooLarge { width: u64, height: u64, max: u32 },
    /// The request cannot be applied to this image (e.g. a crop outside it).
    #[error("{0}")]
    Unprocessable(String),
    /// The file is damaged or truncated.
    #[error("the source image is corrupt: {0}")]
    Corrupt(String),
    /// An encoder failed: a bug or a resource problem on our side.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The per-request processing deadline passed between two stages.
    #[error("processing took longer than the deadline")]
    DeadlineExceeded,
}

/// Runs the whole pipeline on one source.
///
/// `deadline`, when given, is checked between stages so that a pathological
/// image stops costing CPU soon after its time is up.
pub fn process(
    bytes: &[u8],
    plan: &Plan,
    output: OutputChoice,
    limits: &Limits,
    deadline: Option<Instant>,
) -> Result<(Encoded, Timings), PipelineError> {
    process_with(bytes, plan, output, limits, deadline, &Tuning::default())
}

/// [`process`] with explicit [`Tuning`], for benchmarks and quality
/// measurements.
pub fn process_with(
    bytes: &[u8],
    plan: &Plan,
    output: OutputChoice,
    limits: &Limits,
    deadline: Option<Instant>,
    tuning: &Tuning,
) -> Result<(Encoded, Timings), PipelineError> {
    let check_deadline = || match deadline {
        Some(d) if Instant::now() > d => Err(PipelineError::DeadlineExceeded),
        _ => Ok(()),
    };
    let mut timings = Timings::default();
    let started = Instant::now();

    let probe = probe::probe(bytes)?;
    probe.check_limits(limits)?;
    let format = resolve_format(output, probe.format, probe.has_alpha, probe.animated);

    // Geometry first, on the header's (oriented) size, so that the decoder
    // knows how small it may decode (shrink-on-load) and output limits are
    // checked before any pixel is decoded.
    let oriented = orient::oriented_size(probe.width, probe.height, probe.orientation, plan.rotation);
    let layout = geometry::layout(oriented, plan, limits.max_dimension)?;
    let animate = format.supports_animation();
    let image = decode::decode_with_margin(
        bytes,
        &probe,
        layout.decode_hint(),
        tuning.shrink_margin,
        animate,
        limits,
    )?;
    timings.decode = started.elapsed();
    check_deadline()?;

    let started = Instant::now();
    let image = orient::apply(image, probe.orientation, plan.rotation);
    let image = colour::to_srgb(image, probe.icc_profile.as_deref())?;
    check_deadline()?;
    let image = resize::apply_with(image, &layout, plan, tuning.resample_space)?;
    check_deadline()?;
    let image = effects::apply(image, plan);
    let image = resize::finish(image, &layout, plan, format);
    timings.transform = started.elapsed();
    check_deadline()?;

    let started = Instant::now();
    let encoded = encode::encode(&image, format, plan.quality)?;
    timings.encode = started.elapsed();
    Ok((encoded, timings))
}

/// Chooses the output format (SPEC §2, `f_`).
///
/// For `f_auto`, an animated source prefers WebP to AVIF when the client
/// accepts both: resizer writes AVIF as a still image, and SPEC §3 keeps
/// animation whenever the chosen format can.
pub fn resolve_format(
    output: OutputChoice,
    source: ImageFormat,
    has_alpha: bool,
    animated: bool,
) -> ImageFormat {
    match output {
        OutputChoice::Source => source,
        OutputChoice::Fixed(format) => format,
        OutputChoice::Auto { webp: true, .. } if animated => ImageFormat::Webp,
        OutputChoice::Auto { avif: true, .. } => ImageFormat::Avif,
        OutputChoice::Auto { webp: true, .. } => ImageFormat::Webp,
        OutputChoice::Auto { .. } if has_alpha => ImageFormat::Png,
        OutputChoice::Auto { .. } => ImageFormat::Jpeg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_format_prefers_webp_for_animations() {
        let both = OutputChoice::Auto {
            avif: true,
            webp: true,
        };
        assert_eq!(
            resolve_format(both, ImageFormat::Gif, false, true),
            ImageFormat::Webp
        );
        assert_eq!(
            resolve_format(both, ImageFormat::Gif, false, false),
            ImageFormat::Avif
        );
        let avif = OutputChoice::Auto {
            avif: true,
            webp: false,
        };
        assert_eq!(
            resolve_format(avif, ImageFormat::Gif, false, true),
            ImageFormat::Avif
        );
        let none = OutputChoice::Auto {
            avif: false,
            webp: false,
        };
        assert_eq!(
            resolve_format(none, ImageFormat::Gif, true, true),
            ImageFormat::Png
        );
        assert_eq!(
            resolve_format(none, ImageFormat::Png, false, false),
            ImageFormat::Jpeg
        );
    }
}
