//! JPEG: the header probe, shrink-on-load decoding and the encoder.
//!
//! The default build decodes with `jpeg-decoder` (pure Rust) and writes
//! with mozjpeg (`mozjpeg.rs`, C built with the C compiler alone); with the
//! `turbo` feature libjpeg-turbo (`turbo.rs`) takes over both, and this
//! module is the only place that chooses. The header is read once, by [`probe`] through the one marker
//! walker (`markers.rs`), and handed to the decoder in the [`Probe`]. JPEGs
//! are decoded at 1/2, 1/4 or 1/8 scale when the output is small enough
//! ([`shrink_denominator_with`]), which is most of the speed of
//! thumbnailing; at 1/8 a progressive file loses the scans that scale never
//! reads first (`scans.rs`).

mod markers;
#[cfg(not(feature = "turbo"))]
pub mod mozjpeg;
pub(crate) mod repair;
mod scans;
#[cfg(feature = "turbo")]
mod turbo;

pub use markers::Header;

use super::{
    Header as CodecHeader, MAX_ICC_BYTES, budget_usize, corrupt, exif_orientation, grey_samples, grey_to_rgb,
};
use crate::format::ImageFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Frame, Image, PipelineError, Probe, colour};

/// How much resolution above the final output a shrunk JPEG (or WebP, with
/// the `turbo` feature) must keep, per axis. DCT scaling is a box filter of
/// sorts, in gamma space, that aliases and blurs; the linear-light Lanczos3
/// resampler needs real detail beyond the output's to work with. Chosen by
/// measurement per build (`examples/quality.rs`; the figures are in
/// BENCHMARKS.md, "Quality: the shrink-on-load margin and the resample
/// space", and "Load"): a larger margin scores higher against a full-size
/// reference, but the 12 MP -> 300 px job then decodes at 1/4 instead of 1/8
/// scale, which `jpeg-decoder` pays for in time and memory. 1.5 is the
/// largest margin that keeps the default build at libvips's speed.
#[cfg(not(feature = "turbo"))]
pub const SHRINK_MARGIN: f64 = 1.5;

/// With the `turbo` feature, libjpeg-turbo's scaled IDCTs keep more detail
/// and its decoding is faster, so the same jobs afford a larger margin while
/// staying faster than libvips (BENCHMARKS.md, "Quality with the `turbo`
/// feature").
#[cfg(feature = "turbo")]
pub const SHRINK_MARGIN: f64 = 2.5;

/// The margin a 1/2-scale decode must keep, where 1/4 and 1/8 keep
/// [`SHRINK_MARGIN`] (the smaller of the two applies). The scales do not
/// alias alike: 1/8 keeps only each block's mean (a box filter), 1/4 a 2x2
/// IDCT, but 1/2 a 4x4 IDCT, close to an ideal low-pass, so the resampler
/// needs less room above the output there. It decides the large renditions
/// (a 12 MP photo to 960-1600 px): at the shared margin they are full-size
/// decodes. It applies to sources of [`HALF_SCALE_FROM_PIXELS`] or more,
/// where a full-size decode costs most. Chosen by measurement, the same for
/// both builds (BENCHMARKS.md, "The decode scale per reduction"): 1.25 makes
/// every rendition from 2.5x smaller a 1/2-scale decode.
pub const HALF_SCALE_MARGIN: f64 = 1.25;

/// The smallest source (width x height) whose 1/2-scale decode keeps
/// [`HALF_SCALE_MARGIN`] rather than the shared margin. What a 1/2-scale
/// decode saves grows with the source's pixels, while the quality it costs
/// does not: measured on the 1 MP and 12 MP bench photos (BENCHMARKS.md),
/// the smaller margin costs the small one several points for little time
/// and the large one a fraction of a point for most of a rendition's time.
pub const HALF_SCALE_FROM_PIXELS: u64 = 4_000_000;

/// From this JPEG quality up, chroma is kept at full resolution (4:4:4):
/// at high quality the user asked for detail, and colour edges (red text)
/// smear visibly at 4:2:0. Below it 4:2:0 halves the chroma bytes.
const FULL_CHROMA_FROM: u8 = 90;

/// The APP2 identifier of an ICC profile chunk.
const ICC_ID: &[u8] = b"ICC_PROFILE\0";

// ---------------------------------------------------------------- probe

/// Reads the header of a JPEG; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF]).then(|| read_probe(bytes))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let mut orientation = None;
    // (sequence number, chunk count, data) of each ICC chunk.
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    let header = markers::read_header(bytes, |marker, payload| match marker {
        0xE1 if orientation.is_none() => {
            if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                orientation = exif_orientation(tiff);
            }
        }
        0xE2 => {
            if let Some(rest) = payload.strip_prefix(ICC_ID)
                && let [seq, count, data @ ..] = rest
            {
                icc_chunks.push((*seq, *count, data));
            }
        }
        _ => {}
    })?;
    let mut probe = Probe::new(ImageFormat::Jpeg, header.width.into(), header.height.into())?;
    probe.orientation = orientation.unwrap_or(1);
    probe.icc_profile = assemble_icc(icc_chunks);
    probe.header = CodecHeader::Jpeg(header);
    Ok(probe)
}

/// Joins the APP2 ICC chunks in sequence order; an inconsistent set is
/// ignored rather than guessed at.
fn assemble_icc(mut chunks: Vec<(u8, u8, &[u8])>) -> Option<Vec<u8>> {
    let count = chunks.first()?.1;
    if usize::from(count) != chunks.len() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    let mut profile = Vec::new();
    for (i, (seq, n, data)) in chunks.iter().enumerate() {
        if usize::from(*seq) != i + 1 || *n != count {
            return None;
        }
        if profile.len() + data.len() > MAX_ICC_BYTES {
            return None;
        }
        profile.extend_from_slice(data);
    }
    Some(profile)
}

// ---------------------------------------------------------------- decode

/// The DCT scale denominator (1, 2, 4 or 8) for a `width x height` JPEG
/// that will be shown at `min_scale` of its size: the largest one whose
/// output still has `margin` times the needed pixels on both axes (the
/// decoded size over the needed size, per axis), where 1/2 needs only
/// `half_margin` when that is smaller and the source has at least
/// [`HALF_SCALE_FROM_PIXELS`] (see [`HALF_SCALE_MARGIN`]). A margin that is
/// not a finite number of at least 1 leaves no room to shrink: the JPEG is
/// decoded at full size.
pub fn shrink_denominator_with(
    width: u32,
    height: u32,
    min_scale: f64,
    margin: f64,
    half_margin: f64,
) -> u32 {
    if !(margin.is_finite() && margin >= 1.0) {
        return 1;
    }
    let large = u64::from(width) * u64::from(height) >= HALF_SCALE_FROM_PIXELS;
    let half_margin = if large && half_margin >= 1.0 {
        half_margin.min(margin)
    } else {
        margin
    };
    let keeps = |d: u32, margin: f64| {
        f64::from(width.div_ceil(d)) >= f64::from(width) * min_scale * margin
            && f64::from(height.div_ceil(d)) >= f64::from(height) * min_scale * margin
    };
    [(8, margin), (4, margin), (2, half_margin)]
        .into_iter()
        .find(|&(d, margin)| keeps(d, margin))
        .map_or(1, |(d, _)| d)
}

/// The size [`decode`] produces for `request`: the DCT scale's (every
/// backend decodes at the same scale).
pub fn decoded_size(probe: &Probe, request: &DecodeRequest) -> (u32, u32) {
    let denominator = shrink_denominator_with(
        probe.width,
        probe.height,
        request.min_scale,
        request.shrink_margin,
        request.half_scale_margin,
    );
    (
        probe.width.div_ceil(denominator),
        probe.height.div_ceil(denominator),
    )
}

/// Decodes a probed JPEG at the smallest DCT scale `request` allows, into
/// 8-bit RGB.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let CodecHeader::Jpeg(header) = &probe.header else {
        return Err(corrupt("the JPEG was not probed as a JPEG"));
    };
    let denominator = shrink_denominator_with(
        probe.width,
        probe.height,
        request.min_scale,
        request.shrink_margin,
        request.half_scale_margin,
    );
    // The `turbo` feature: libjpeg-turbo at the same scale; it hands back
    // what it does not take (lossless, not 8-bit).
    #[cfg(feature = "turbo")]
    if let Some(image) = turbo::decode_jpeg(bytes, header, probe, denominator)? {
        return Ok(image);
    }
    let decoded = match decode_at(bytes, header, probe, denominator, request) {
        Ok(Some(image)) => Ok(image),
        // The decoder chose a smaller size than asked: decode at full size.
        Ok(None) => decode_at(bytes, header, probe, 1, request)
            .and_then(|image| image.ok_or_else(|| corrupt("the JPEG decoded to an unexpected size"))),
        Err(error) => Err(error),
    };
    decoded.map_err(|error| match error {
        PipelineError::Corrupt(message) => PipelineError::Corrupt(repair::explain(bytes, &message)),
        other => other,
    })
}

/// Decodes with `jpeg-decoder` at 1/`denominator` scale; `None` when the
/// result is smaller than that scale promised.
fn decode_at(
    bytes: &[u8],
    header: &Header,
    probe: &Probe,
    denominator: u32,
    request: &DecodeRequest,
) -> Result<Option<Image>, PipelineError> {
    // At 1/8 scale a progressive JPEG's AC scans are never used: skip them.
    let dc_only = if denominator == 8 {
        scans::dc_only(bytes)
    } else {
        None
    };
    let mut decoder = jpeg_decoder::Decoder::new(dc_only.as_deref().unwrap_or(bytes));
    decoder.set_max_decoding_buffer_size(budget_usize(&request.limits));
    let want_w = probe.width.div_ceil(denominator);
    let want_h = probe.height.div_ceil(denominator);
    if denominator > 1 {
        // Asking for the exact aspect-correct size makes the decoder pick
        // this very factor: it takes the smallest one reaching the request
        // on either axis, and both axes reach it together.
        let w = u16::try_from(want_w).map_err(corrupt)?;
        let h = u16::try_from(want_h).map_err(corrupt)?;
        decoder.scale(w, h).map_err(corrupt)?;
    }
    let data = decoder.decode().map_err(corrupt)?;
    let info = decoder.info().ok_or_else(|| corrupt("the JPEG has no frame"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width < want_w || height < want_h {
        return Ok(None);
    }
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data,
        jpeg_decoder::PixelFormat::L8 => grey_to_rgb(&data),
        jpeg_decoder::PixelFormat::L16 => {
            let narrow: Vec<u8> = data
                .chunks_exact(2)
                .map(|s| (u16::from_ne_bytes([s[0], s[1]]) >> 8) as u8)
                .collect();
            grey_to_rgb(&narrow)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // The decoder returns 255 minus each stored sample. Adobe
            // writers store ink inverted, so for them that is the ink
            // amount; other writers store ink as is, so undo the inversion.
            let mut cmyk = data;
            if header.adobe_transform.is_none() {
                cmyk.iter_mut().for_each(|v| *v = 255 - *v);
            }
            colour::cmyk_to_rgb(&cmyk, probe.icc_profile.as_deref())
        }
    };
    Ok(Some(crate::pipeline::codec::still(
        width,
        height,
        Channels::Rgb,
        rgb,
    )?))
}

// ---------------------------------------------------------------- encode

/// Encodes one frame as a baseline JPEG at `quality` (1..=100): 4:2:0
/// chroma below [`FULL_CHROMA_FROM`], 4:4:4 from it, optimised Huffman
/// tables, a JFIF header and no other metadata. mozjpeg in the default
/// build (trellis quantisation too: fewer bytes for the same score),
/// libjpeg-turbo with the same settings under `turbo`.
///
/// An image whose every pixel is grey (a greyscale source, `e_grayscale`)
/// is written as one channel: a third of the samples and no chroma at all.
pub fn encode(frame: &Frame, quality: u8) -> Result<Vec<u8>, PipelineError> {
    encode_with(frame, quality, false)
}

/// [`encode`], progressive when `progressive` (`fl_progressive`): the same
/// settings, the coefficients written in several scans so that a browser
/// shows a coarse image early.
pub fn encode_with(frame: &Frame, quality: u8, progressive: bool) -> Result<Vec<u8>, PipelineError> {
    let channels = frame.channels();
    let grey = grey_samples(frame.data(), channels);
    #[cfg(feature = "turbo")]
    return match grey {
        Some(luma) => turbo::encode_grey_jpeg(&luma, frame.width(), frame.height(), quality, progressive),
        None => turbo::encode_jpeg(frame, quality, quality >= FULL_CHROMA_FROM, progressive),
    };
    #[cfg(not(feature = "turbo"))]
    encode_mozjpeg(frame, grey, quality, progressive)
}

/// mozjpeg, the encoder of the default build (`mozjpeg.rs`).
#[cfg(not(feature = "turbo"))]
fn encode_mozjpeg(
    frame: &Frame,
    grey: Option<Vec<u8>>,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, PipelineError> {
    let settings = mozjpeg::JpegSettings {
        quality,
        full_chroma: quality >= FULL_CHROMA_FROM,
        progressive,
    };
    match grey {
        Some(luma) => mozjpeg::encode_grey(&luma, frame.width(), frame.height(), settings),
        None => mozjpeg::encode(frame, settings),
    }
}
