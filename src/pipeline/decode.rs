//! Decode: bytes -> [`Image`], as small as the output allows.

use super::{Image, Limits, PipelineError, Probe};

/// Decodes `bytes` (already probed). `min_scale` is the smallest fraction of
/// the full size the result may have: a JPEG may be decoded at 1/2, 1/4 or
/// 1/8 scale when that still leaves the resampler a margin. `animate` asks
/// for every frame (within the limits) instead of the first.
pub fn decode(
    bytes: &[u8],
    probe: &Probe,
    min_scale: f64,
    animate: bool,
    limits: &Limits,
) -> Result<Image, PipelineError> {
    let _ = (bytes, probe, min_scale, animate, limits);
    Err(PipelineError::UnsupportedFormat)
}
