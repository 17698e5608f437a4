//! Probe: the format and size of a source, read from its header alone.
//!
//! Runs before any pixel is decoded so that a decompression bomb (a tiny file
//! claiming 65000x65000 pixels) is refused without allocating its image.

use super::{Limits, PipelineError};
use crate::format::ImageFormat;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub format: ImageFormat,
    /// Stored width and height, before EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// Whether the image may have transparency (an alpha channel or a
    /// transparent palette entry).
    pub has_alpha: bool,
    /// EXIF orientation 1..=8 (1 when absent).
    pub orientation: u8,
    /// Embedded ICC profile, if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Whether the file holds more than one frame.
    pub animated: bool,
}

impl Probe {
    /// Refuses a source whose header is over the pixel limit.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), PipelineError> {
        let pixels = u64::from(self.width) * u64::from(self.height);
        if pixels > limits.max_src_pixels {
            return Err(PipelineError::TooManyPixels {
                width: self.width,
                height: self.height,
                pixels,
                max: limits.max_src_pixels,
            });
        }
        Ok(())
    }
}

/// Sniffs the format from the bytes and reads the header.
pub fn probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let _ = bytes;
    Err(PipelineError::UnsupportedFormat)
}
