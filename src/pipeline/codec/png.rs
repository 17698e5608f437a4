//! PNG: the chunk probe, the decoder (`png` crate) and the encoder.
//!
//! Every PNG is decoded to 8-bit RGB or RGBA (palettes expanded, grey
//! widened, 16-bit narrowed); APNG is read as its default image. The
//! encoder writes an indexed PNG when the frame has at most 256 colours,
//! and no metadata.

use std::io::Cursor;

use super::{
    MAX_ICC_BYTES, be32, budget_usize, corrupt, encode_error, exact_palette, exif_orientation,
    grey_alpha_to_rgba, grey_to_rgb, truncated,
};
use crate::format::ImageFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Frame, Image, PipelineError, Probe};

pub(crate) const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Reads the header chunks of a PNG; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    bytes.starts_with(SIGNATURE).then(|| read_probe(bytes))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let mut at = SIGNATURE.len();
    let mut probe: Option<Probe> = None;
    loop {
        let length = usize::try_from(be32(bytes, at).ok_or_else(truncated)?)
            .map_err(|_| corrupt("a PNG chunk is too long"))?;
        let kind = bytes.get(at + 4..at + 8).ok_or_else(truncated)?;
        let data = bytes
            .get(at + 8..at.saturating_add(8).saturating_add(length))
            .ok_or_else(truncated)?;
        at = at.saturating_add(12).saturating_add(length);
        let Some(p) = probe.as_mut() else {
            if kind != b"IHDR" || length < 13 {
                return Err(corrupt("the PNG does not start with IHDR"));
            }
            let width = be32(data, 0).ok_or_else(truncated)?;
            let height = be32(data, 4).ok_or_else(truncated)?;
            if width > i32::MAX as u32 || height > i32::MAX as u32 {
                return Err(corrupt("the PNG size is out of range"));
            }
            let colour_type = *data.get(9).ok_or_else(truncated)?;
            let mut p = Probe::new(ImageFormat::Png, width, height)?;
            p.has_alpha = matches!(colour_type, 4 | 6);
            probe = Some(p);
            continue;
        };
        match kind {
            b"tRNS" => p.has_alpha = true,
            b"eXIf" => p.orientation = exif_orientation(data).unwrap_or(1),
            b"iCCP" => p.icc_profile = icc(data),
            // APNG (acTL) is decoded as its default image: PNG is never an
            // animated output, and a still from the first frame is what
            // viewers without APNG support show too.
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
    }
    probe.ok_or_else(truncated)
}

/// `iCCP`: name, NUL, compression method (0 = zlib), compressed profile.
fn icc(data: &[u8]) -> Option<Vec<u8>> {
    let nul = data.iter().take(80).position(|b| *b == 0)?;
    let compressed = data.get(nul + 2..)?;
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_ICC_BYTES).ok()
}

/// Decodes the (default) image of a PNG under the memory budget.
pub fn decode(bytes: &[u8], _probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let png_limits = png::Limits {
        bytes: budget_usize(&request.limits),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png_limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("the PNG is too large for this machine"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(corrupt)?;
    buf.truncate(info.buffer_size());
    let (width, height) = (info.width, info.height);
    let (channels, data) = match info.color_type {
        png::ColorType::Rgb => (Channels::Rgb, buf),
        png::ColorType::Rgba => (Channels::Rgba, buf),
        png::ColorType::Grayscale => (Channels::Rgb, grey_to_rgb(&buf)),
        png::ColorType::GrayscaleAlpha => (Channels::Rgba, grey_alpha_to_rgba(&buf)),
        png::ColorType::Indexed => return Err(corrupt("the PNG palette could not be expanded")),
    };
    if data.len() != width as usize * height as usize * channels.count() {
        return Err(corrupt("the PNG decoded to an unexpected size"));
    }
    Ok(Image::still(width, height, channels, data))
}

/// Encodes one frame: indexed when it has at most 256 colours (alpha in
/// `tRNS`), else RGB or RGBA.
pub fn encode(frame: &Frame, channels: Channels) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Png;
    let n = channels.count();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, frame.width, frame.height);
        encoder.set_depth(png::BitDepth::Eight);
        // fdeflate with adaptive filtering: within ~10% of zlib's default
        // size at several times its speed, which suits on-the-fly output.
        encoder.set_compression(png::Compression::Fast);
        encoder.set_filter(png::Filter::Adaptive);
        // Logos, icons and flat graphics: an indexed PNG is a fraction of the
        // size and exactly the same pixels.
        let palette = exact_palette(&frame.data, n);
        let data: std::borrow::Cow<'_, [u8]> = match palette {
            Some((palette, indices)) => {
                encoder.set_color(png::ColorType::Indexed);
                let rgb: Vec<u8> = palette.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
                encoder.set_palette(rgb);
                if palette.iter().any(|c| c[3] != u8::MAX) {
                    let trns: Vec<u8> = palette.iter().map(|c| c[3]).collect();
                    encoder.set_trns(trns);
                }
                indices.into()
            }
            None => {
                encoder.set_color(match channels {
                    Channels::Rgb => png::ColorType::Rgb,
                    Channels::Rgba => png::ColorType::Rgba,
                });
                (&frame.data[..]).into()
            }
        };
        let mut writer = encoder.write_header().map_err(|e| encode_error(f, e))?;
        writer.write_image_data(&data).map_err(|e| encode_error(f, e))?;
        writer.finish().map_err(|e| encode_error(f, e))?;
    }
    Ok(out)
}
