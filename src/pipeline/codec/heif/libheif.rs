//! HEIC/HEIF and AVIF decoding through the system's libheif (`heif`
//! feature), by the safe `libheif-rs` API: no `unsafe` of our own.
//!
//! libheif decodes the primary image item: HEVC through libde265, AV1
//! through dav1d or aom, grids assembled from their tiles, the alpha plane
//! joined. It is told to leave `irot`/`imir` alone (the pipeline orients,
//! once, from the probe) and to bring 10- and 12-bit samples to 8 bits; the
//! YCbCr to RGB conversion follows the image's `nclx` matrix and range.
//! Thumbnails stored in the file are never used: they are small previews,
//! not the image. HEVC and AV1 cannot decode at a reduced size, so there is
//! no shrink-on-load.
//!
//! Limits: the pipeline has checked the header's size (`ispe`) against
//! `max_src_pixels` before this runs; the handle libheif opens must have
//! the same stored size, so that a file cannot show the probe one image and
//! libheif another. libheif's own security limits (its compiled-in maximum
//! image size, item and box counts) apply on top.

use libheif_rs::{ColorSpace, DecodingOptions, HeifContext, HeifError, LibHeif, RgbChroma};

use crate::pipeline::codec::bmff::Header;
use crate::pipeline::codec::corrupt;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

fn heif_error(e: HeifError) -> PipelineError {
    corrupt(format!("HEIF: {}", e.message))
}

/// Decodes the primary image as stored, to 8-bit RGB or RGBA (straight
/// alpha).
pub fn decode(
    bytes: &[u8],
    probe: &Probe,
    header: &Header,
    request: &DecodeRequest,
) -> Result<Image, PipelineError> {
    let lib = LibHeif::new();
    let mut context = HeifContext::read_from_bytes(bytes).map_err(heif_error)?;
    // One thread: the service already decodes one image per core.
    context.set_max_decoding_threads(1);
    let handle = context.primary_image_handle().map_err(heif_error)?;
    let stored = (handle.ispe_width(), handle.ispe_height());
    if stored != (probe.width as i32, probe.height as i32) {
        return Err(corrupt(format!(
            "the HEIF primary image is {}x{} where its header says {}x{}",
            stored.0, stored.1, probe.width, probe.height
        )));
    }
    let pixels = u64::from(probe.width) * u64::from(probe.height);
    if pixels > request.limits.max_src_pixels {
        return Err(PipelineError::TooManyPixels {
            width: probe.width,
            height: probe.height,
            pixels,
            max: request.limits.max_src_pixels,
        });
    }
    let alpha = handle.has_alpha_channel();
    let (chroma, channels) = if alpha {
        (RgbChroma::Rgba, Channels::Rgba)
    } else {
        (RgbChroma::Rgb, Channels::Rgb)
    };
    let mut options =
        DecodingOptions::new().ok_or_else(|| corrupt("HEIF: libheif could not set up decoding"))?;
    options.set_ignore_transformations(true);
    options.set_convert_hdr_to_8bit(true);
    deadline::check()?;
    // One library call for the whole image: the deadline is checked around it.
    let image = lib
        .decode(&handle, ColorSpace::Rgb(chroma), Some(options))
        .map_err(heif_error)?;
    deadline::check()?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| corrupt("HEIF: libheif returned no interleaved pixels"))?;
    if plane.storage_bits_per_pixel != 8 * channels.count() as u8 {
        return Err(corrupt(format!(
            "HEIF: libheif returned {} bits per pixel",
            plane.storage_bits_per_pixel
        )));
    }
    let (width, height) = (plane.width, plane.height);
    if (width, height) != (probe.width, probe.height) {
        return Err(corrupt(format!(
            "the HEIF decoded to {width}x{height} where its header says {}x{}",
            probe.width, probe.height
        )));
    }
    let row = width as usize * channels.count();
    let mut data = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| corrupt("HEIF: libheif returned fewer rows than its size"))?;
        data.extend_from_slice(line);
    }
    if alpha && (header.premultiplied || image.is_premultiplied_alpha()) {
        unpremultiply(&mut data);
    }
    if alpha && data.chunks_exact(4).all(|p| p[3] == u8::MAX) {
        let rgb = data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        return crate::pipeline::codec::still(width, height, Channels::Rgb, rgb);
    }
    crate::pipeline::codec::still(width, height, channels, data)
}

/// Straight alpha from premultiplied, rounding to nearest.
fn unpremultiply(rgba: &mut [u8]) {
    for p in rgba.chunks_exact_mut(4) {
        let a = u32::from(p[3]);
        if a == 0 || a == 255 {
            continue;
        }
        for c in &mut p[..3] {
            *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplied_alpha_is_divided_out() {
        let mut px = [64, 32, 0, 128, 10, 10, 10, 0, 200, 100, 50, 255];
        unpremultiply(&mut px);
        assert_eq!(px, [128, 64, 0, 128, 10, 10, 10, 0, 200, 100, 50, 255]);
    }
}
