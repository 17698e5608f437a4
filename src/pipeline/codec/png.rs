//! PNG: the chunk probe, the decoder (`png` crate) and the encoder.
//!
//! Every PNG is decoded to 8-bit RGB or RGBA (palettes expanded, grey
//! widened, 16-bit narrowed); APNG is read as its default image. The
//! encoder picks the smallest exact layout from the pixels (grey, indexed
//! when at most 256 colours, grey with alpha, RGB(A)) and writes no
//! metadata.

use std::io::Cursor;

use super::{
    MAX_ICC_BYTES, be32, budget_usize, corrupt, encode_error, exact_palette, exif_orientation,
    grey_alpha_to_rgba, grey_samples, grey_to_rgb, truncated,
};
use crate::format::ImageFormat;
use crate::pipeline::deadline;
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
    super::still(width, height, channels, data)
}

/// How a PNG stores its pixels, chosen from the pixels themselves: the
/// smallest of the lossless layouts that holds them exactly.
enum PngLayout {
    /// Every pixel grey and opaque: one 8-bit sample per pixel.
    Grey(Vec<u8>),
    /// At most 256 distinct colours (alpha included): one index per pixel,
    /// the palette, and the palette's alpha when any is below 255.
    Indexed {
        palette: Vec<u8>,
        alpha: Option<Vec<u8>>,
        indices: Vec<u8>,
    },
    /// Every pixel grey, with alpha, over 256 combinations: two samples.
    GreyAlpha(Vec<u8>),
    /// The pixels as they are, RGB or RGBA.
    Colour,
}

impl PngLayout {
    fn of(data: &[u8], channels: Channels) -> PngLayout {
        let n = channels.count();
        if channels == Channels::Rgb
            && let Some(grey) = grey_samples(data, channels)
        {
            return PngLayout::Grey(grey);
        }
        if let Some((colours, indices)) = exact_palette(data, n) {
            let palette = colours.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
            let alpha = colours
                .iter()
                .any(|c| c[3] != u8::MAX)
                .then(|| colours.iter().map(|c| c[3]).collect());
            return PngLayout::Indexed {
                palette,
                alpha,
                indices,
            };
        }
        if data.chunks_exact(n).all(|p| p[0] == p[1] && p[1] == p[2]) {
            return PngLayout::GreyAlpha(data.chunks_exact(n).flat_map(|p| [p[0], p[n - 1]]).collect());
        }
        PngLayout::Colour
    }
}

/// Rows handed to the PNG encoder between two deadline checks.
const ROWS_PER_CHECK: usize = 64;

/// The deflate effort of PNG output. flate2's level 6 (`Balanced`) against
/// fdeflate (`Fast`, the earlier setting): smaller for about twice the
/// encoding time, still a few milliseconds for a thumbnail (BENCHMARKS.md,
/// "PNG output"); `High` saves little more for several times the time.
const COMPRESSION: png::Compression = png::Compression::Balanced;

/// Encodes one frame in the smallest exact layout ([`PngLayout`]): grey,
/// indexed (alpha in `tRNS`), grey with alpha, else RGB or RGBA; 8 bits,
/// adaptive filtering. The deadline is checked between bands of rows.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, PipelineError> {
    let channels = frame.channels();
    let f = ImageFormat::Png;
    let layout = PngLayout::of(frame.data(), channels);
    deadline::check()?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, frame.width(), frame.height());
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(COMPRESSION);
        // Adaptive filtering picks, per row, the filter whose output
        // deflates best (the minimum sum of absolute differences).
        encoder.set_filter(png::Filter::Adaptive);
        let (colour, samples): (png::ColorType, &[u8]) = match &layout {
            PngLayout::Grey(grey) => (png::ColorType::Grayscale, grey),
            PngLayout::GreyAlpha(grey) => (png::ColorType::GrayscaleAlpha, grey),
            PngLayout::Indexed {
                palette,
                alpha,
                indices,
            } => {
                encoder.set_palette(palette.clone());
                if let Some(alpha) = alpha {
                    encoder.set_trns(alpha.clone());
                }
                (png::ColorType::Indexed, indices)
            }
            PngLayout::Colour => match channels {
                Channels::Rgb => (png::ColorType::Rgb, frame.data()),
                Channels::Rgba => (png::ColorType::Rgba, frame.data()),
            },
        };
        encoder.set_color(colour);
        let row = samples.len() / (frame.height() as usize).max(1);
        let mut writer = encoder.write_header().map_err(|e| encode_error(f, e))?;
        {
            let mut stream = writer.stream_writer().map_err(|e| encode_error(f, e))?;
            for rows in samples.chunks(row.max(1) * ROWS_PER_CHECK) {
                deadline::check()?;
                std::io::Write::write_all(&mut stream, rows).map_err(|e| encode_error(f, e))?;
            }
            stream.finish().map_err(|e| encode_error(f, e))?;
        }
        writer.finish().map_err(|e| encode_error(f, e))?;
    }
    Ok(out)
}
