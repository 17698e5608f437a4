//! Encode: [`Image`] -> bytes of the output format.
//!
//! One function per format, each writing no metadata at all (SPEC §3: the
//! pixels are already sRGB, and EXIF, XMP and ICC are stripped). JPEG, PNG,
//! GIF and AVIF encoders are pure Rust; WebP uses libwebp through the `webp`
//! crate, the only encoder with animation and good lossy quality per byte.
//! Every failure becomes [`PipelineError::Encode`]; nothing here panics on
//! any image the earlier stages can produce.

use std::collections::HashMap;

use super::deadline::{self, Stage};
use super::{Channels, Encoded, Frame, Image, PipelineError};
use crate::format::ImageFormat;
use crate::options::Quality;

/// Quality when the request has no `q_` token (SPEC §2).
const DEFAULT_QUALITY: u8 = 80;

/// `q_auto`: a per-format quality tuned for size at a quality a viewer of a
/// thumbnail does not notice. JPEG 75 is the libjpeg/Pillow default and the
/// knee of its size/quality curve; WebP's scale runs a little higher than
/// JPEG's for the same look, and 75 is cwebp's default; AVIF reaches the same
/// SSIMULACRA2 score as JPEG 75 around 60 on ravif's scale.
fn auto_quality(format: ImageFormat) -> u8 {
    match format {
        ImageFormat::Jpeg => 75,
        ImageFormat::Webp => 75,
        ImageFormat::Avif => 60,
        // Lossless or palette formats: quality has no meaning.
        ImageFormat::Png | ImageFormat::Gif => DEFAULT_QUALITY,
    }
}

/// The encoder quality 1..=100 for `format`.
pub fn quality_for(format: ImageFormat, quality: Quality) -> u8 {
    match quality {
        Quality::Default => DEFAULT_QUALITY,
        Quality::Value(q) => q.clamp(1, 100),
        Quality::Auto => auto_quality(format),
    }
}

/// From this JPEG quality up, chroma is kept at full resolution (4:4:4):
/// at high quality the user asked for detail, and colour edges (red text)
/// smear visibly at 4:2:0. Below it 4:2:0 halves the chroma bytes.
const JPEG_FULL_CHROMA_FROM: u8 = 90;

/// rav1e speed 1 (slow) ..= 10 (fast). The fastest preset: without its
/// assembly (which needs nasm, not part of the default build) rav1e takes
/// about 90 ms for a 300x225 thumbnail even at 10, and a request must not
/// spend seconds on AVIF; the slow presets save only a few percent of bytes.
const AVIF_SPEED: u8 = 10;

/// NeuQuant learns from one pixel in `samplefac` (1 = every pixel ..= 30).
/// It needs a few tens of thousands of samples for a good palette, so small
/// frames use every pixel and large ones are sampled, capping the cost of
/// learning at a few milliseconds per frame.
const GIF_QUANT_SAMPLES: usize = 10_000;

/// The sparsest NeuQuant sampling used: 10 is the usual quality/speed trade.
const GIF_QUANT_MAX_SAMPLEFAC: usize = 10;

/// Rows mapped to the palette between two deadline checks (mapping costs
/// about a microsecond a pixel).
const GIF_ROWS_PER_CHECK: usize = 16;

/// GIF has 1-bit transparency: alpha below this is transparent, at or above
/// it opaque (the midpoint, as browsers round coverage).
const GIF_ALPHA_THRESHOLD: u8 = 128;

/// libwebp method 0 (fast) ..= 6 (small). 4 is its default and the usual
/// server setting: method 5-6 save 1-2% for twice the time.
const WEBP_METHOD: i32 = 4;

/// Encodes `image` as `format` at `quality`. A still format given an
/// animation encodes its first frame. Under a processing deadline
/// ([`deadline`]), PNG and GIF stop between rows and frames, an animated
/// WebP between frames, and the library encoders that cannot be interrupted
/// (JPEG, still WebP, AVIF) are not started when they cannot end in time.
pub fn encode(image: &Image, format: ImageFormat, quality: Quality) -> Result<Encoded, PipelineError> {
    let frame = image
        .frames
        .first()
        .ok_or_else(|| PipelineError::Encode("the image has no frames".into()))?;
    if frame.width == 0 || frame.height == 0 {
        return Err(PipelineError::Encode("the image has no pixels".into()));
    }
    let expected = frame.width as usize * frame.height as usize * image.channels.count();
    if image
        .frames
        .iter()
        .any(|f| f.data.len() != expected || (f.width, f.height) != (frame.width, frame.height))
    {
        return Err(PipelineError::Encode(
            "frame buffers do not match the image size".into(),
        ));
    }
    let q = quality_for(format, quality);
    let pixels = u64::from(frame.width) * u64::from(frame.height);
    let stage = Stage::Encode(format);
    let bytes = match format {
        ImageFormat::Jpeg => deadline::timed(stage, pixels, || jpeg(frame, image.channels, q))?,
        ImageFormat::Png => png(frame, image.channels)?,
        ImageFormat::Gif => gif(image)?,
        ImageFormat::Webp if image.is_animated() => webp(image, q)?,
        ImageFormat::Webp => deadline::timed(stage, pixels, || webp(image, q))?,
        ImageFormat::Avif => deadline::timed(stage, pixels, || avif(frame, image.channels, q))?,
    };
    Ok(Encoded {
        bytes,
        format,
        width: frame.width,
        height: frame.height,
    })
}

fn encode_error(format: ImageFormat, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Encode(format!("{format}: {e}"))
}

/// A side as the 16-bit value JPEG and GIF headers hold.
fn side_u16(format: ImageFormat, v: u32) -> Result<u16, PipelineError> {
    u16::try_from(v).map_err(|_| encode_error(format, format!("side of {v} pixels is too large")))
}

/// With the `turbo` feature, libjpeg-turbo writes the JPEG with the same
/// settings (`turbo.rs`).
#[cfg(feature = "turbo")]
fn jpeg(frame: &Frame, channels: Channels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    if let Some(luma) = grey_samples(&frame.data, channels) {
        return super::turbo::encode_grey_jpeg(&luma, frame.width, frame.height, quality);
    }
    super::turbo::encode_jpeg(frame, channels, quality, quality >= JPEG_FULL_CHROMA_FROM)
}

#[cfg(not(feature = "turbo"))]
fn jpeg(frame: &Frame, channels: Channels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let f = ImageFormat::Jpeg;
    let (w, h) = (side_u16(f, frame.width)?, side_u16(f, frame.height)?);
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(if quality < JPEG_FULL_CHROMA_FROM {
        SamplingFactor::R_4_2_0
    } else {
        SamplingFactor::R_4_4_4
    });
    // Box-averaged chroma instead of the top-left sample: no colour aliasing
    // on fine detail, for a negligible cost.
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    // Optimised Huffman tables cost one extra pass over the coefficients of a
    // small image and save 5-10% of its bytes.
    encoder.set_optimized_huffman_tables(true);
    // Grey pixels are written as one channel.
    if let Some(luma) = grey_samples(&frame.data, channels) {
        encoder
            .encode(&luma, w, h, ColorType::Luma)
            .map_err(|e| encode_error(f, e))?;
        return Ok(out);
    }
    // The pipeline flattens alpha before JPEG; should RGBA arrive anyway, the
    // encoder ignores the alpha samples.
    let color = match channels {
        Channels::Rgb => ColorType::Rgb,
        Channels::Rgba => ColorType::Rgba,
    };
    encoder
        .encode(&frame.data, w, h, color)
        .map_err(|e| encode_error(f, e))?;
    Ok(out)
}

/// The one sample per pixel of an image whose every pixel is grey (red,
/// green and blue equal: a greyscale source, `e_grayscale`), else `None`.
/// Written as one channel, a grey JPEG or PNG carries a third of the
/// samples and no chroma at all.
fn grey_samples(data: &[u8], channels: Channels) -> Option<Vec<u8>> {
    let n = channels.count();
    if !data.chunks_exact(n).all(|p| p[0] == p[1] && p[1] == p[2]) {
        return None;
    }
    Some(data.chunks_exact(n).map(|p| p[0]).collect())
}

/// The distinct colours of `data` (RGBA or RGB samples) if there are at
/// most 256, in first-seen order, with each pixel's index.
fn exact_palette(data: &[u8], n: usize) -> Option<(Vec<[u8; 4]>, Vec<u8>)> {
    let mut lookup: HashMap<[u8; 4], u8> = HashMap::new();
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
        let grey = data.chunks_exact(n).all(|p| p[0] == p[1] && p[1] == p[2]);
        if grey && channels == Channels::Rgb {
            return PngLayout::Grey(data.chunks_exact(n).map(|p| p[0]).collect());
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
        if grey {
            return PngLayout::GreyAlpha(data.chunks_exact(n).flat_map(|p| [p[0], p[3]]).collect());
        }
        PngLayout::Colour
    }
}

/// Rows handed to the PNG encoder between two deadline checks.
const PNG_ROWS_PER_CHECK: usize = 64;

/// The deflate effort of PNG output. flate2's level 6 (`Balanced`) against
/// fdeflate (`Fast`, the earlier setting): on a 300 px photo thumbnail and a
/// grey photo, 15-20% smaller for about twice the encoding time, still a
/// few milliseconds (BENCHMARKS.md, "PNG output"); `High` saves another
/// 1-2% for several times the time.
const PNG_COMPRESSION: png::Compression = png::Compression::Balanced;

fn png(frame: &Frame, channels: Channels) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Png;
    let layout = PngLayout::of(&frame.data, channels);
    deadline::check()?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, frame.width, frame.height);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(PNG_COMPRESSION);
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
                Channels::Rgb => (png::ColorType::Rgb, &frame.data),
                Channels::Rgba => (png::ColorType::Rgba, &frame.data),
            },
        };
        encoder.set_color(colour);
        let row = samples.len() / (frame.height as usize).max(1);
        let mut writer = encoder.write_header().map_err(|e| encode_error(f, e))?;
        {
            let mut stream = writer.stream_writer().map_err(|e| encode_error(f, e))?;
            for rows in samples.chunks(row.max(1) * PNG_ROWS_PER_CHECK) {
                deadline::check()?;
                std::io::Write::write_all(&mut stream, rows).map_err(|e| encode_error(f, e))?;
            }
            stream.finish().map_err(|e| encode_error(f, e))?;
        }
        writer.finish().map_err(|e| encode_error(f, e))?;
    }
    Ok(out)
}

/// Maps one pixel to its palette index.
type IndexOf = Box<dyn Fn(&[u8]) -> u8>;

/// One GIF frame: a palette of at most 256 entries (the last one reserved
/// for transparency when any pixel is transparent) and the index buffer.
fn gif_frame(frame: &Frame, channels: Channels) -> Result<gif::Frame<'static>, PipelineError> {
    let f = ImageFormat::Gif;
    let n = channels.count();
    let transparent_at = |px: &[u8]| px.get(3).is_some_and(|&a| a < GIF_ALPHA_THRESHOLD);
    let has_transparent = frame.data.chunks_exact(n).any(transparent_at);
    let colours = if has_transparent { 255 } else { 256 };
    // Opaque pixels as RGBA, the layout both quantisers take.
    let opaque: Vec<u8> = frame
        .data
        .chunks_exact(n)
        .filter(|px| !transparent_at(px))
        .flat_map(|px| [px[0], px[1], px[2], u8::MAX])
        .collect();

    let (mut palette, mut map): (Vec<u8>, IndexOf) = match exact_palette(&opaque, 4) {
        Some((colours_seen, _)) if colours_seen.len() <= colours => {
            let lookup: HashMap<[u8; 3], u8> = colours_seen
                .iter()
                .enumerate()
                .map(|(i, c)| ([c[0], c[1], c[2]], i as u8))
                .collect();
            let palette = colours_seen.iter().flat_map(|c| [c[0], c[1], c[2]]).collect();
            (
                palette,
                Box::new(move |px: &[u8]| lookup.get(&[px[0], px[1], px[2]]).copied().unwrap_or(0)),
            )
        }
        _ => {
            deadline::check()?;
            let samplefac = (opaque.len() / 4 / GIF_QUANT_SAMPLES).clamp(1, GIF_QUANT_MAX_SAMPLEFAC);
            let nq = color_quant::NeuQuant::new(samplefac as i32, colours, &opaque);
            let palette = nq.color_map_rgb();
            (
                palette,
                Box::new(move |px: &[u8]| {
                    let index = nq.index_of(&[px[0], px[1], px[2], u8::MAX]);
                    u8::try_from(index).unwrap_or(0)
                }),
            )
        }
    };
    // An empty or fully transparent frame still needs one palette entry.
    if palette.is_empty() {
        palette.extend_from_slice(&[0, 0, 0]);
    }
    let transparent = if has_transparent {
        let index = u8::try_from(palette.len() / 3).map_err(|e| encode_error(f, e))?;
        palette.extend_from_slice(&[0, 0, 0]);
        let previous = map;
        map = Box::new(move |px: &[u8]| if transparent_at(px) { index } else { previous(px) });
        Some(index)
    } else {
        None
    };
    let mut buffer: Vec<u8> = Vec::with_capacity(frame.data.len() / n);
    for row in frame.data.chunks(frame.width as usize * n * GIF_ROWS_PER_CHECK) {
        deadline::check()?;
        buffer.extend(row.chunks_exact(n).map(&map));
    }
    Ok(gif::Frame {
        width: side_u16(f, frame.width)?,
        height: side_u16(f, frame.height)?,
        buffer: buffer.into(),
        palette: Some(palette),
        transparent,
        // Frames are fully composited: each one replaces the last, so the
        // area it leaves transparent must be cleared, not show the previous.
        dispose: gif::DisposalMethod::Background,
        // GIF delays are in hundredths of a second.
        delay: u16::try_from(frame.delay_ms.div_ceil(10)).unwrap_or(u16::MAX),
        ..gif::Frame::default()
    })
}

fn gif(image: &Image) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Gif;
    let (w, h) = (side_u16(f, image.width())?, side_u16(f, image.height())?);
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, w, h, &[]).map_err(|e| encode_error(f, e))?;
        if image.is_animated() {
            let repeat = match image.loops {
                0 => gif::Repeat::Infinite,
                n => gif::Repeat::Finite(n),
            };
            encoder.set_repeat(repeat).map_err(|e| encode_error(f, e))?;
        }
        for frame in &image.frames {
            let frame = gif_frame(frame, image.channels)?;
            encoder.write_frame(&frame).map_err(|e| encode_error(f, e))?;
        }
        encoder.into_inner().map_err(|e| encode_error(f, e))?;
    }
    Ok(out)
}

fn webp(image: &Image, quality: u8) -> Result<Vec<u8>, PipelineError> {
    use webp::{AnimEncoder, AnimFrame, PixelLayout, WebPConfig};
    let f = ImageFormat::Webp;
    let mut config = WebPConfig::new().map_err(|()| encode_error(f, "configuration failed"))?;
    config.lossless = 0;
    config.quality = f32::from(quality);
    config.method = WEBP_METHOD;
    // Alpha is compressed losslessly: edges of cut-outs stay exact.
    config.alpha_compression = 1;
    let layout = match image.channels {
        Channels::Rgb => PixelLayout::Rgb,
        Channels::Rgba => PixelLayout::Rgba,
    };
    let (w, h) = (image.width(), image.height());
    if !image.is_animated() {
        let frame = image
            .frames
            .first()
            .ok_or_else(|| encode_error(f, "the image has no frames"))?;
        let memory = webp::Encoder::new(&frame.data, layout, w, h)
            .encode_advanced(&config)
            .map_err(|e| encode_error(f, format!("{e:?}")))?;
        return Ok(memory.to_vec());
    }
    let mut encoder = AnimEncoder::new(w, h, &config);
    encoder.set_loop_count(i32::from(image.loops));
    // Timestamps are each frame's start, in milliseconds.
    let mut timestamp: i32 = 0;
    for frame in &image.frames {
        // libwebp encodes each frame as it is added.
        deadline::check()?;
        encoder.add_frame(AnimFrame::new(&frame.data, layout, w, h, timestamp, None));
        timestamp = timestamp.saturating_add(i32::try_from(frame.delay_ms).unwrap_or(i32::MAX));
    }
    let memory = encoder
        .try_encode()
        .map_err(|e| encode_error(f, format!("{e:?}")))?;
    let mut bytes = memory.to_vec();
    let total: u64 = image.frames.iter().map(|f| u64::from(f.delay_ms)).sum();
    fix_last_duration(&mut bytes, total);
    Ok(bytes)
}

/// Sets the duration of the last `ANMF` frame of an animated WebP so that
/// all durations add up to `total_ms`.
///
/// libwebp's animation encoder learns a frame's duration from the next
/// frame's timestamp; the `webp` crate closes the stream without the end
/// timestamp, so libwebp gives the last frame the average duration instead.
/// The container is simple enough to correct in place: RIFF chunks, and in
/// each `ANMF` payload a 24-bit little-endian duration at offset 12. The
/// file is left as it is if it does not parse as expected.
fn fix_last_duration(bytes: &mut [u8], total_ms: u64) {
    const RIFF_HEADER: usize = 12;
    const DURATION_AT: usize = 12;
    let mut at = RIFF_HEADER;
    let mut frames: Vec<(usize, u64)> = Vec::new();
    while let Some(header) = bytes.get(at..at + 8) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if &header[..4] == b"ANMF" {
            let d = at + 8 + DURATION_AT;
            match bytes.get(d..d + 3) {
                Some(v) => frames.push((d, u64::from(v[0]) | u64::from(v[1]) << 8 | u64::from(v[2]) << 16)),
                None => return,
            }
        }
        // Chunks are padded to an even size.
        at = at.saturating_add(8).saturating_add(size).saturating_add(size & 1);
    }
    let Some((&(last_at, _), others)) = frames.split_last() else {
        return;
    };
    let before: u64 = others.iter().map(|&(_, d)| d).sum();
    // 24 bits hold the duration.
    let last = total_ms.saturating_sub(before).min(0xFF_FFFF);
    if let Some(slot) = bytes.get_mut(last_at..last_at + 3) {
        slot.copy_from_slice(&last.to_le_bytes()[..3]);
    }
}

fn avif(frame: &Frame, channels: Channels, quality: u8) -> Result<Vec<u8>, PipelineError> {
    use ravif::{Encoder, Img, RGB8, RGBA8};
    let f = ImageFormat::Avif;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let q = f32::from(quality.clamp(1, 100));
    let encoder = Encoder::new()
        .with_quality(q)
        .with_alpha_quality(q)
        .with_speed(AVIF_SPEED)
        // One thread: the service already runs one image per core.
        .with_num_threads(Some(1));
    let encoded = match channels {
        Channels::Rgb => {
            let pixels: Vec<RGB8> = frame
                .data
                .chunks_exact(3)
                .map(|p| RGB8::new(p[0], p[1], p[2]))
                .collect();
            encoder.encode_rgb(Img::new(&pixels[..], w, h))
        }
        Channels::Rgba => {
            let pixels: Vec<RGBA8> = frame
                .data
                .chunks_exact(4)
                .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
                .collect();
            encoder.encode_rgba(Img::new(&pixels[..], w, h))
        }
    };
    encoded.map(|e| e.avif_file).map_err(|e| encode_error(f, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Left half red, right half blue, optional alpha ramp.
    fn two_tone(w: u32, h: u32, channels: Channels) -> Image {
        let mut data = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                let c = if x < w / 2 { [220, 30, 30] } else { [30, 30, 220] };
                data.extend_from_slice(&c);
                if channels == Channels::Rgba {
                    data.push(if x < w / 4 { 0 } else { 255 });
                }
            }
        }
        Image::still(w, h, channels, data)
    }

    /// A gradient with many colours, for the lossy paths.
    fn photo_like(w: u32, h: u32) -> Image {
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
            .collect();
        Image::still(w, h, Channels::Rgb, data)
    }

    fn close(a: &[u8], b: &[u8], tol: u8) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= tol)
    }

    #[test]
    fn quality_table() {
        assert_eq!(quality_for(ImageFormat::Jpeg, Quality::Default), 80);
        assert_eq!(quality_for(ImageFormat::Jpeg, Quality::Value(33)), 33);
        assert_eq!(quality_for(ImageFormat::Jpeg, Quality::Auto), 75);
        assert_eq!(quality_for(ImageFormat::Avif, Quality::Auto), 60);
        assert_eq!(quality_for(ImageFormat::Webp, Quality::Value(0)), 1);
    }

    #[test]
    fn jpeg_decodes_back() {
        let img = two_tone(64, 48, Channels::Rgb);
        let out = encode(&img, ImageFormat::Jpeg, Quality::Default).unwrap();
        assert_eq!((out.width, out.height, out.format), (64, 48, ImageFormat::Jpeg));
        let mut decoder = jpeg_decoder::Decoder::new(&out.bytes[..]);
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        assert_eq!((info.width, info.height), (64, 48));
        let at = |x: usize, y: usize| &pixels[(y * 64 + x) * 3..(y * 64 + x) * 3 + 3];
        assert!(close(at(8, 24), &[220, 30, 30], 12), "{:?}", at(8, 24));
        assert!(close(at(56, 24), &[30, 30, 220], 12), "{:?}", at(56, 24));
        // No metadata: SOI then the JFIF APP0 header, no EXIF (APP1) or ICC (APP2).
        assert_eq!(&out.bytes[..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
        assert!(
            !out.bytes
                .windows(2)
                .any(|w| w == [0xFF, 0xE1] || w == [0xFF, 0xE2])
        );
    }

    fn png_decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        // Expand palettes and tRNS to RGB(A) for comparison.
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn png_rgba_round_trips_exactly() {
        let img = two_tone(40, 10, Channels::Rgba);
        let out = encode(&img, ImageFormat::Png, Quality::Default).unwrap();
        let (info, pixels) = png_decode(&out.bytes);
        assert_eq!((info.width, info.height), (40, 10));
        assert_eq!(info.color_type, png::ColorType::Rgba);
        assert_eq!(pixels, img.frames[0].data);
    }

    #[test]
    fn png_with_few_colours_is_indexed() {
        let img = two_tone(40, 10, Channels::Rgb);
        let out = encode(&img, ImageFormat::Png, Quality::Default).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&out.bytes[..]));
        assert_eq!(
            decoder.read_info().unwrap().info().color_type,
            png::ColorType::Indexed
        );
        let (_, pixels) = png_decode(&out.bytes);
        assert_eq!(pixels, img.frames[0].data);
    }

    #[test]
    fn png_photo_is_rgb() {
        let img = photo_like(300, 225);
        let out = encode(&img, ImageFormat::Png, Quality::Default).unwrap();
        let (info, pixels) = png_decode(&out.bytes);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(pixels, img.frames[0].data);
    }

    fn animation(channels: Channels) -> Image {
        let mut img = two_tone(32, 16, channels);
        img.frames[0].delay_ms = 100;
        let mut second = img.frames[0].clone();
        // Second frame: swapped colours.
        for px in second.data.chunks_exact_mut(channels.count()) {
            px.swap(0, 2);
        }
        second.delay_ms = 250;
        img.frames.push(second);
        img.loops = 3;
        img
    }

    #[test]
    fn gif_decodes_back_with_transparency() {
        let img = two_tone(32, 16, Channels::Rgba);
        let out = encode(&img, ImageFormat::Gif, Quality::Default).unwrap();
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(&out.bytes[..]).unwrap();
        assert_eq!((decoder.width(), decoder.height()), (32, 16));
        let frame = decoder.read_next_frame().unwrap().unwrap();
        let at = |x: usize| &frame.buffer[x * 4..x * 4 + 4];
        assert_eq!(at(2)[3], 0);
        assert!(close(at(10), &[220, 30, 30, 255], 0));
        assert!(close(at(30), &[30, 30, 220, 255], 0));
    }

    #[test]
    fn gif_quantises_many_colours() {
        let img = photo_like(64, 64);
        let out = encode(&img, ImageFormat::Gif, Quality::Default).unwrap();
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(&out.bytes[..]).unwrap();
        let frame = decoder.read_next_frame().unwrap().unwrap();
        let src = &img.frames[0].data;
        let mut worst = 0;
        let mut total = 0u64;
        for (i, px) in frame.buffer.chunks_exact(4).enumerate() {
            for c in 0..3 {
                let e = px[c].abs_diff(src[i * 3 + c]);
                worst = worst.max(e);
                total += u64::from(e);
            }
        }
        let mean = total as f64 / (64.0 * 64.0 * 3.0);
        assert!(mean <= 6.0 && worst <= 40, "mean error {mean}, worst {worst}");
    }

    #[test]
    fn animated_gif_keeps_frames_delays_and_loops() {
        let img = animation(Channels::Rgb);
        let out = encode(&img, ImageFormat::Gif, Quality::Default).unwrap();
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(&out.bytes[..]).unwrap();
        let mut delays = Vec::new();
        let mut firsts = Vec::new();
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            delays.push(frame.delay);
            firsts.push(frame.buffer[..3].to_vec());
        }
        assert_eq!(delays, vec![10, 25]);
        assert_eq!(firsts, vec![vec![220, 30, 30], vec![30, 30, 220]]);
        assert_eq!(decoder.repeat(), gif::Repeat::Finite(3));
    }

    #[test]
    fn webp_decodes_back_with_alpha() {
        let img = two_tone(64, 32, Channels::Rgba);
        let out = encode(&img, ImageFormat::Webp, Quality::Default).unwrap();
        let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&out.bytes[..])).unwrap();
        assert_eq!(decoder.dimensions(), (64, 32));
        assert!(decoder.has_alpha());
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        decoder.read_image(&mut buf).unwrap();
        let at = |x: usize, y: usize| &buf[(y * 64 + x) * 4..(y * 64 + x) * 4 + 4];
        assert_eq!(at(4, 16)[3], 0);
        assert!(close(at(24, 16), &[220, 30, 30, 255], 16), "{:?}", at(24, 16));
        assert!(close(at(56, 16), &[30, 30, 220, 255], 16), "{:?}", at(56, 16));
    }

    #[test]
    fn webp_rgb_decodes_back() {
        let img = photo_like(300, 225);
        let out = encode(&img, ImageFormat::Webp, Quality::Auto).unwrap();
        let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&out.bytes[..])).unwrap();
        assert_eq!(decoder.dimensions(), (300, 225));
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        decoder.read_image(&mut buf).unwrap();
        let n = if decoder.has_alpha() { 4 } else { 3 };
        let at = (100 * 300 + 150) * n;
        assert!(close(
            &buf[at..at + 3],
            &img.frames[0].data[(100 * 300 + 150) * 3..][..3],
            12
        ));
    }

    #[test]
    fn animated_webp_keeps_frames_delays_and_loops() {
        let img = animation(Channels::Rgb);
        let out = encode(&img, ImageFormat::Webp, Quality::Default).unwrap();
        let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&out.bytes[..])).unwrap();
        assert!(decoder.is_animated());
        assert_eq!(decoder.num_frames(), 2);
        assert_eq!(
            decoder.loop_count(),
            image_webp::LoopCount::Times(3.try_into().unwrap())
        );
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        let mut delays = Vec::new();
        let mut firsts = Vec::new();
        for _ in 0..2 {
            delays.push(decoder.read_frame(&mut buf).unwrap());
            firsts.push(buf[..3].to_vec());
        }
        assert_eq!(delays, vec![100, 250]);
        assert!(close(&firsts[0], &[220, 30, 30], 16), "{firsts:?}");
        assert!(close(&firsts[1], &[30, 30, 220], 16), "{firsts:?}");
    }

    /// The `ispe` (image spatial extents) property: width and height.
    fn avif_ispe(bytes: &[u8]) -> Option<(u32, u32)> {
        let at = bytes.windows(4).position(|w| w == b"ispe")?;
        let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
        // box type, then version+flags (4), width (4), height (4).
        Some((be(at + 8), be(at + 12)))
    }

    #[test]
    fn avif_has_ftyp_and_size() {
        for channels in [Channels::Rgb, Channels::Rgba] {
            let img = two_tone(48, 30, channels);
            let out = encode(&img, ImageFormat::Avif, Quality::Auto).unwrap();
            assert_eq!(&out.bytes[4..12], b"ftypavif");
            assert_eq!(avif_ispe(&out.bytes), Some((48, 30)));
        }
    }

    #[test]
    fn still_format_takes_the_first_frame() {
        let img = animation(Channels::Rgb);
        let out = encode(&img, ImageFormat::Png, Quality::Default).unwrap();
        let (_, pixels) = png_decode(&out.bytes);
        assert_eq!(&pixels[..3], &[220, 30, 30]);
    }

    #[test]
    fn bad_buffers_are_errors_not_panics() {
        let mut img = two_tone(8, 8, Channels::Rgb);
        img.frames[0].data.truncate(10);
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::Webp,
            ImageFormat::Avif,
        ] {
            assert!(matches!(
                encode(&img, format, Quality::Default),
                Err(PipelineError::Encode(_))
            ));
        }
        let huge = Image::still(70_000, 1, Channels::Rgb, vec![0; 210_000]);
        assert!(matches!(
            encode(&huge, ImageFormat::Jpeg, Quality::Default),
            Err(PipelineError::Encode(_))
        ));
        assert!(matches!(
            encode(&huge, ImageFormat::Webp, Quality::Default),
            Err(PipelineError::Encode(_))
        ));
    }
}
