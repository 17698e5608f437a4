//! One module per image format, each the only place that knows its format.
//!
//! A codec module owns its signature check and header probe (format, size,
//! alpha, orientation, ICC profile, without decoding a pixel), its
//! decoder(s) and its encoder. Where a C library does the work faster under
//! the `turbo` feature, the codec module itself picks the backend, so that
//! the dispatchers in `probe.rs`, `decode.rs` and `encode.rs` are one line
//! per format and carry no `cfg`. What the codecs share lives here: the
//! bounds-checked byte readers, the EXIF orientation reader, the decoders'
//! memory budget and the animation frame budget. ARCHITECTURE.md ("How to
//! add a format") lists the steps for a new one.

pub mod avif;
pub mod bmff;
pub mod bmp;
pub mod gif;
pub mod heif;
pub mod ico;
pub mod jpeg;
pub mod jxl;
pub mod png;
pub mod svg;
pub mod tiff;
pub mod webp;

use super::{Channels, Frame, Image, LayoutError, Limits, PipelineError};
use crate::format::ImageFormat;

/// What a probe learnt from a header that the decoder needs again, so that
/// a header is parsed once per source.
#[derive(Debug, Clone, PartialEq)]
pub enum Header {
    /// The JPEG frame header and the Adobe transform.
    Jpeg(jpeg::Header),
    /// Every entry of an icon, sized by its own header.
    Ico(Vec<ico::Entry>),
    /// The parsed SVG document, rendered by the decoder at the output size.
    Svg(svg::Document),
    /// The reduced-resolution pages of a TIFF's first page, largest first.
    Tiff(Vec<tiff::ReducedPage>),
    /// A format whose decoder reads its own header.
    Other,
}

/// Largest ICC profile kept. Real profiles are a few hundred bytes to a few
/// hundred kilobytes; anything bigger is either hostile or not worth
/// honouring, and is ignored (the image is then treated as sRGB).
pub(crate) const MAX_ICC_BYTES: usize = 4 * 1024 * 1024;

/// Bytes per pixel the decoders may need beyond our own output buffer
/// (16-bit RGBA before narrowing), used for the crates' own memory limits.
const DECODER_BYTES_PER_PIXEL: u64 = 8;

/// Slack for decoder bookkeeping (tables, row buffers, metadata chunks) on
/// top of the pixel budget.
const DECODER_OVERHEAD_BYTES: u64 = 16 * 1024 * 1024;

/// Receives the frames of an animation one at a time, each fully composited
/// on the canvas; an error stops the decoding and is returned as it is.
pub type FrameSink<'a> = dyn FnMut(Frame) -> Result<(), PipelineError> + 'a;

pub(crate) fn corrupt(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Corrupt(error.to_string())
}

/// A decoded frame; pixels that do not fill it mean a damaged source.
pub(crate) fn frame(
    width: u32,
    height: u32,
    channels: Channels,
    data: Vec<u8>,
    delay_ms: u32,
) -> Result<Frame, PipelineError> {
    Frame::new(width, height, channels, data, delay_ms).map_err(corrupt)
}

/// A decoded still image; see [`frame`].
pub(crate) fn still(
    width: u32,
    height: u32,
    channels: Channels,
    data: Vec<u8>,
) -> Result<Image, PipelineError> {
    Ok(Image::from_frame(frame(width, height, channels, data, 0)?))
}

/// Decoded frames as one image; none at all means a damaged source.
pub(crate) fn assemble(
    frames: Vec<Frame>,
    loops: u16,
    format: impl std::fmt::Display,
) -> Result<Image, PipelineError> {
    Image::assemble(frames, loops).map_err(|e| match e {
        LayoutError::NoFrames => corrupt(format!("the {format} has no image")),
        other => corrupt(other),
    })
}

pub(crate) fn truncated() -> PipelineError {
    corrupt("the header is truncated")
}

/// An encoder's failure, named after its format.
pub(crate) fn encode_error(format: ImageFormat, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Encode(format!("{format}: {e}"))
}

/// A side as the 16-bit value JPEG and GIF headers hold.
pub(crate) fn side_u16(format: ImageFormat, v: u32) -> Result<u16, PipelineError> {
    u16::try_from(v).map_err(|_| encode_error(format, format!("side of {v} pixels is too large")))
}

/// Most brands read from an ISO-BMFF `ftyp` box: real files list a handful;
/// a box claiming more is read no further.
const MAX_FTYP_BRANDS: usize = 64;

/// The major and compatible brands of an ISO-BMFF file (AVIF, HEIF) when
/// `bytes` start with an `ftyp` box, else `None`.
pub(crate) fn ftyp_brands(bytes: &[u8]) -> Option<Vec<&[u8; 4]>> {
    if bytes.get(4..8)? != b"ftyp" {
        return None;
    }
    let size = usize::try_from(be32(bytes, 0)?).ok()?;
    let end = size.min(bytes.len()).min(16 + 4 * MAX_FTYP_BRANDS);
    let mut brands = vec![bytes.get(8..12)?.try_into().ok()?];
    // After the major brand: the minor version (4 bytes), then brands.
    let mut at = 16;
    while at + 4 <= end {
        brands.push(bytes[at..at + 4].try_into().ok()?);
        at += 4;
    }
    Some(brands)
}

pub(crate) fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

pub(crate) fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads the orientation tag (0x0112) from IFD0 of a TIFF structure (the
/// EXIF payload of JPEG, PNG and WebP alike). Returns `None` when absent,
/// malformed or out of the 1..=8 range.
pub(crate) fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    // Some writers keep the JPEG "Exif\0\0" prefix in PNG/WebP chunks.
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let little = match tiff.get(0..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |at: usize| if little { le16(tiff, at) } else { be16(tiff, at) };
    let u32_at = |at: usize| if little { le32(tiff, at) } else { be32(tiff, at) };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = u16_at(ifd)?;
    for i in 0..usize::from(entries) {
        let entry = ifd + 2 + i * 12;
        let tag = u16_at(entry)?;
        if tag != 0x0112 {
            continue;
        }
        let kind = u16_at(entry + 2)?;
        let count = u32_at(entry + 4)?;
        // SHORT, one value, stored inline at the start of the value field.
        if kind != 3 || count != 1 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
    }
    None
}

/// The memory budget handed to a decoder crate, from the pixel limit.
pub(crate) fn decoder_budget(limits: &Limits) -> u64 {
    limits
        .max_src_pixels
        .saturating_mul(DECODER_BYTES_PER_PIXEL)
        .saturating_add(DECODER_OVERHEAD_BYTES)
}

pub(crate) fn budget_usize(limits: &Limits) -> usize {
    usize::try_from(decoder_budget(limits)).unwrap_or(usize::MAX)
}

/// Whether frame `index` (0-based) of an animation whose canvas has
/// `canvas_pixels` pixels still fits the animation limits. Asked before the
/// frame's memory is allocated; frames past the limits are dropped (README,
/// "Output": frames are kept up to `max_animation_frames`, within
/// `max_animation_pixels`), so an animation costs at most the limits and the
/// client still gets its first frames. The first frame is the still image,
/// already bounded by `max_src_pixels`, and always fits.
pub(crate) fn frame_fits(index: usize, canvas_pixels: u64, limits: &Limits) -> bool {
    let frames = index as u64 + 1;
    index == 0
        || (frames <= u64::from(limits.max_animation_frames)
            && frames.saturating_mul(canvas_pixels) <= limits.max_animation_pixels)
}

pub(crate) fn grey_to_rgb(grey: &[u8]) -> Vec<u8> {
    grey.iter().flat_map(|&v| [v, v, v]).collect()
}

pub(crate) fn grey_alpha_to_rgba(grey: &[u8]) -> Vec<u8> {
    grey.chunks_exact(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect()
}

/// The one sample per pixel of an image whose every pixel is grey (red,
/// green and blue equal: a greyscale source, `e_grayscale`), else `None`.
pub(crate) fn grey_samples(data: &[u8], channels: Channels) -> Option<Vec<u8>> {
    let n = channels.count();
    if !data.chunks_exact(n).all(|p| p[0] == p[1] && p[1] == p[2]) {
        return None;
    }
    Some(data.chunks_exact(n).map(|p| p[0]).collect())
}

/// The distinct colours of `data` (RGBA or RGB samples) if there are at
/// most 256, in first-seen order, with each pixel's index: the exact
/// palette of the PNG and GIF encoders.
pub(crate) fn exact_palette(data: &[u8], n: usize) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    let mut lookup: std::collections::HashMap<[u8; 4], u8> = std::collections::HashMap::new();
    let mut palette = Vec::new();
    let mut indices = Vec::with_capacity(data.len() / n);
    for px in data.chunks_exact(n) {
        let key = [px[0], px[1], px[2], px.get(3).copied().unwrap_or(u8::MAX)];
        let index = match lookup.get(&key) {
            Some(&i) => i,
            None => {
                let i = u8::try_from(palette.len()).ok()?;
                lookup.insert(key, i);
                palette.push(key);
                i
            }
        };
        indices.push(index);
    }
    Some((palette, indices))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A big-endian TIFF structure holding only an orientation tag.
    pub(crate) fn exif_tiff(orientation: u16) -> Vec<u8> {
        let mut t = b"MM\0*".to_vec();
        t.extend_from_slice(&8u32.to_be_bytes());
        t.extend_from_slice(&1u16.to_be_bytes());
        t.extend_from_slice(&0x0112u16.to_be_bytes());
        t.extend_from_slice(&3u16.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
        t.extend_from_slice(&orientation.to_be_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&0u32.to_be_bytes());
        t
    }

    #[test]
    fn exif_parser_is_bounded() {
        assert_eq!(exif_orientation(&exif_tiff(5)), Some(5));
        assert_eq!(exif_orientation(&exif_tiff(9)), None);
        let mut bad = exif_tiff(6);
        bad[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(exif_orientation(&bad), None);
        let mut lots = exif_tiff(6);
        lots[8..10].copy_from_slice(&u16::MAX.to_be_bytes());
        lots[10..12].copy_from_slice(&0x0100u16.to_be_bytes());
        assert_eq!(exif_orientation(&lots), None);
    }
}
