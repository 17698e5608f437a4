//! Encode: [`Image`] -> bytes of the output format.

use super::{Encoded, Image, PipelineError};
use crate::format::ImageFormat;
use crate::options::Quality;

/// Encodes `image` as `format` at `quality`.
pub fn encode(image: &Image, format: ImageFormat, quality: Quality) -> Result<Encoded, PipelineError> {
    let _ = (image, quality);
    Err(PipelineError::Encode(format!(
        "{format} encoding is not available"
    )))
}
