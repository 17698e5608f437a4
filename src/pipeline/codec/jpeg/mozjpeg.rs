//! mozjpeg, the JPEG encoder of the default build.
//!
//! mozjpeg is libjpeg-turbo with a slower, smaller encoder: trellis
//! quantisation (each block's coefficients chosen for the fewest bits at
//! the same error), optimised Huffman tables, deringing of hard edges and
//! progressive scans chosen by trying them. It was chosen for fewer bytes at
//! an equal or better SSIMULACRA2 score than libvips's JPEGs; it costs more
//! encode time than the encoder it replaced (both measured with
//! `examples/bytes.rs`: BENCHMARKS.md, "Bytes for the same picture").
//!
//! The `mozjpeg` crate builds it from vendored C sources with the C compiler
//! alone: its SIMD needs nasm, so it is off here. Under the `turbo` feature
//! libjpeg-turbo (`turbo.rs`) writes JPEGs instead: both libraries export the
//! same `jpeg_*` C symbols, and linking both into one binary would let one
//! library's internals call the other's.
//!
//! libjpeg reports errors by unwinding out of the C code (the crate's
//! error manager); every call is inside [`std::panic::catch_unwind`], and a
//! failure becomes [`PipelineError::Encode`]. The input is the pipeline's
//! own pixels, never bytes from a client.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mozjpeg::{ColorSpace, Compress};

use super::super::{encode_error, side_u16};
use crate::format::ImageFormat;
use crate::pipeline::{Channels, Frame, PipelineError};

/// How a JPEG is written: the choices `examples/bytes.rs` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegSettings {
    /// The libjpeg quality 1..=100 (mozjpeg's default quantisation tables).
    pub quality: u8,
    /// 4:4:4 chroma when set, else 4:2:0.
    pub full_chroma: bool,
    /// Progressive scans (chosen by mozjpeg's scan optimisation) instead
    /// of one baseline scan.
    pub progressive: bool,
}

/// Encodes `frame` (RGB or RGBA, the alpha ignored) as a JPEG.
pub(crate) fn encode(frame: &Frame, settings: JpegSettings) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Jpeg;
    let (w, h) = (side_u16(f, frame.width())?, side_u16(f, frame.height())?);
    let space = match frame.channels() {
        Channels::Rgb => ColorSpace::JCS_RGB,
        Channels::Rgba => ColorSpace::JCS_EXT_RGBA,
    };
    run(space, w, h, frame.data(), settings)
}

/// Encodes `luma`, one grey sample per pixel of a `width x height` image,
/// as a one-channel JPEG.
pub(crate) fn encode_grey(
    luma: &[u8],
    width: u32,
    height: u32,
    settings: JpegSettings,
) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Jpeg;
    let (w, h) = (side_u16(f, width)?, side_u16(f, height)?);
    if luma.len() != usize::from(w) * usize::from(h) {
        return Err(encode_error(f, "the grey buffer does not match its size"));
    }
    run(ColorSpace::JCS_GRAYSCALE, w, h, luma, settings)
}

fn run(
    space: ColorSpace,
    w: u16,
    h: u16,
    pixels: &[u8],
    settings: JpegSettings,
) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Jpeg;
    if w == 0 || h == 0 {
        return Err(encode_error(f, "an empty image"));
    }
    let result = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut c = Compress::new(space);
        c.set_size(usize::from(w), usize::from(h));
        c.set_quality(f32::from(settings.quality.clamp(1, 100)));
        if space != ColorSpace::JCS_GRAYSCALE {
            let chroma = if settings.full_chroma { (1, 1) } else { (2, 2) };
            c.set_chroma_sampling_pixel_sizes(chroma, chroma);
        }
        c.set_optimize_coding(true);
        if settings.progressive {
            c.set_progressive_mode();
            c.set_optimize_scans(true);
        } else {
            // No scan script: one sequential (baseline) scan.
            c.set_optimize_scans(false);
        }
        let mut started = c.start_compress(Vec::with_capacity(usize::from(w) * usize::from(h) / 4))?;
        started.write_scanlines(pixels)?;
        started.finish()
    }));
    match result {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(encode_error(f, e)),
        Err(_) => Err(encode_error(f, "mozjpeg failed")),
    }
}
