//! Decode: bytes -> [`Image`], as small as the output allows.
//!
//! Every format ends as 8-bit RGB or RGBA (straight alpha): grey is widened,
//! 16-bit is narrowed, palettes are expanded, CMYK is converted. JPEGs are
//! decoded at 1/2, 1/4 or 1/8 scale when the output is small enough
//! (shrink-on-load), which is most of the speed of thumbnailing. Animations
//! are composited onto full-canvas frames, so later stages never see GIF
//! disposal or WebP blending; [`decode_animation`] hands each frame over as
//! soon as it is composited, so that the pipeline can shrink it before the
//! next one exists. Frame and memory limits are checked before the memory
//! for each frame is allocated.

use std::io::Cursor;
use std::num::NonZeroU64;

use super::probe::{self, Probe};
use super::{Channels, Frame, Image, Limits, PipelineError, colour, jpeg_repair, jpeg_scans};
use crate::format::ImageFormat;

/// How much resolution above the final output a shrunk JPEG (or WebP, with
/// the `turbo` feature) must keep, per axis. DCT scaling is a box filter of
/// sorts, in gamma space, that aliases and blurs; the linear-light Lanczos3
/// resampler needs real detail beyond the output's to work with. Chosen by
/// measurement per build (`examples/quality.rs`, tables in BENCHMARKS.md): on
/// the benchmark photos at 2-14x reductions, SSIMULACRA2 against a full-size
/// linear-light reference averages, in the default build, 85.5 at margin 1,
/// 91.0 at 1.5, 93.6 at 2, 95.3 at 3 and 96.8 without shrinking (the ceiling
/// of an 8-bit output; libvips scores 88.3, Pillow 89.0, oximg 95.5). The
/// 12 MP -> 300 px job decodes at 1/8 scale up to margin 1.67 and at 1/4
/// above it, which costs `jpeg-decoder` ~40% more time (its entropy decoding
/// alone is ~70% of libvips's whole job): margin 1.5 is the one that keeps
/// the default build at libvips's speed. Under the load benchmark (distinct
/// sizes 100-600 px of a 12 MP JPEG, two cores) margin 3 served 45
/// requests/s at 169 MB peak, margin 1.5 served 63 at 90 MB.
#[cfg(not(feature = "turbo"))]
pub const SHRINK_MARGIN: f64 = 1.5;

/// With the `turbo` feature, libjpeg-turbo's scaled IDCTs keep more detail
/// and its decoding is faster, so the same jobs afford a larger margin:
/// margin 2.5 averages 95.6 (above oximg's 95.5) with the 12 MP -> 300 px job
/// at 0.81-0.87x libvips's time, where margin 1.5 averages 93.0 at ~0.66x.
#[cfg(feature = "turbo")]
pub const SHRINK_MARGIN: f64 = 2.5;

/// Bytes per pixel the decoders may need beyond our own output buffer
/// (16-bit RGBA before narrowing), used for the crates' own memory limits.
const DECODER_BYTES_PER_PIXEL: u64 = 8;

/// Slack for decoder bookkeeping (tables, row buffers, metadata chunks) on
/// top of the pixel budget.
const DECODER_OVERHEAD_BYTES: u64 = 16 * 1024 * 1024;

/// Decodes `bytes` (already probed). `min_scale` is the smallest fraction of
/// the full size the result may have: a JPEG may be decoded at 1/2, 1/4 or
/// 1/8 scale when that still leaves the resampler a margin. `animate` asks
/// for every frame (within the limits) instead of the first.
pub fn decode(
    bytes: &[u8],
    probe: &Probe,
    min_scale: f64,
    animate: bool,
    limits: &Limits,
) -> Result<Image, PipelineError> {
    decode_with_margin(bytes, probe, min_scale, SHRINK_MARGIN, animate, limits)
}

/// [`decode`] with an explicit shrink-on-load margin instead of
/// [`SHRINK_MARGIN`] (see [`shrink_denominator_with`]), so that the margin
/// can be tuned by measurement without editing a constant.
pub fn decode_with_margin(
    bytes: &[u8],
    probe: &Probe,
    min_scale: f64,
    margin: f64,
    animate: bool,
    limits: &Limits,
) -> Result<Image, PipelineError> {
    match probe.format {
        ImageFormat::Jpeg => decode_jpeg(bytes, probe, min_scale, margin, limits),
        ImageFormat::Png => decode_png(bytes, limits),
        ImageFormat::Gif => decode_gif(bytes, animate, limits),
        ImageFormat::Webp => decode_webp(bytes, min_scale, margin, animate, limits),
        ImageFormat::Avif => Err(PipelineError::UnsupportedFormat),
    }
}

/// Receives the frames of an animation one at a time, each fully composited
/// on the canvas, with its channels; an error stops the decoding and is
/// returned as it is.
pub type FrameSink<'a> = dyn FnMut(Frame, Channels) -> Result<(), PipelineError> + 'a;

/// Decodes every frame of an animation (within the limits), handing each to
/// `each` as soon as it is composited instead of keeping it: the decoder
/// holds one canvas (and the frame being handed over), so what the frames
/// cost afterwards is whatever `each` keeps. Returns the loop count (0 =
/// forever). A source that is not an animated GIF or WebP is decoded as
/// [`decode`] would and handed over as its one frame.
///
/// The frames are the ones [`decode`] returns with `animate`, in order,
/// except that each comes with its own channels: RGB when that frame is
/// opaque everywhere (see [`Image::assemble`]).
pub fn decode_animation(
    bytes: &[u8],
    probe: &Probe,
    limits: &Limits,
    each: &mut FrameSink<'_>,
) -> Result<u16, PipelineError> {
    match probe.format {
        ImageFormat::Gif => gif_frames(bytes, true, limits, each),
        ImageFormat::Webp => webp_frames(bytes, limits, each),
        _ => {
            let image = decode(bytes, probe, 1.0, true, limits)?;
            let channels = image.channels;
            for frame in image.frames {
                each(frame, channels)?;
            }
            Ok(image.loops)
        }
    }
}

fn corrupt(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Corrupt(error.to_string())
}

/// The memory budget handed to a decoder crate, from the pixel limit.
fn decoder_budget(limits: &Limits) -> u64 {
    limits
        .max_src_pixels
        .saturating_mul(DECODER_BYTES_PER_PIXEL)
        .saturating_add(DECODER_OVERHEAD_BYTES)
}

fn budget_usize(limits: &Limits) -> usize {
    usize::try_from(decoder_budget(limits)).unwrap_or(usize::MAX)
}

/// Whether frame `index` (0-based) of an animation whose canvas has
/// `canvas_pixels` pixels still fits the animation limits. Asked before the
/// frame's memory is allocated; frames past the limits are dropped (SPEC §3:
/// frames are transformed up to `max_animation_frames`, within
/// `max_animation_pixels`), so an animation costs at most the limits and the
/// client still gets its first frames. The first frame is the still image,
/// already bounded by `max_src_pixels`, and always fits.
fn frame_fits(index: usize, canvas_pixels: u64, limits: &Limits) -> bool {
    let frames = index as u64 + 1;
    index == 0
        || (frames <= u64::from(limits.max_animation_frames)
            && frames.saturating_mul(canvas_pixels) <= limits.max_animation_pixels)
}

// ---------------------------------------------------------------- JPEG

/// The DCT scale denominator (1, 2, 4 or 8) for a `width x height` JPEG
/// that will be shown at `min_scale` of its size: the largest one whose
/// output still has [`SHRINK_MARGIN`] times the needed pixels on both axes.
pub fn shrink_denominator(width: u32, height: u32, min_scale: f64) -> u32 {
    shrink_denominator_with(width, height, min_scale, SHRINK_MARGIN)
}

/// [`shrink_denominator`] with an explicit `margin` (the decoded size over
/// the needed size, per axis). A margin that is not a finite number of at
/// least 1 leaves no room to shrink: the JPEG is decoded at full size.
pub fn shrink_denominator_with(width: u32, height: u32, min_scale: f64, margin: f64) -> u32 {
    if !(margin.is_finite() && margin >= 1.0) {
        return 1;
    }
    let need_w = f64::from(width) * min_scale * margin;
    let need_h = f64::from(height) * min_scale * margin;
    [8, 4, 2]
        .into_iter()
        .find(|&d| f64::from(width.div_ceil(d)) >= need_w && f64::from(height.div_ceil(d)) >= need_h)
        .unwrap_or(1)
}

fn decode_jpeg(
    bytes: &[u8],
    probe: &Probe,
    min_scale: f64,
    margin: f64,
    limits: &Limits,
) -> Result<Image, PipelineError> {
    let header = probe::jpeg_header(bytes, |_, _| {})?;
    let denominator = shrink_denominator_with(probe.width, probe.height, min_scale, margin);
    // The `turbo` feature: libjpeg-turbo at the same scale; it hands back
    // what it does not take (lossless, not 8-bit).
    #[cfg(feature = "turbo")]
    if let Some(image) = super::turbo::decode_jpeg(bytes, &header, probe, denominator)? {
        return Ok(image);
    }
    let decoded = match decode_jpeg_at(bytes, &header, probe, denominator, limits) {
        Ok(Some(image)) => Ok(image),
        // The decoder chose a smaller size than asked: decode at full size.
        Ok(None) => decode_jpeg_at(bytes, &header, probe, 1, limits)?
            .ok_or_else(|| corrupt("the JPEG decoded to an unexpected size")),
        Err(error) => Err(error),
    };
    decoded.map_err(|error| match error {
        PipelineError::Corrupt(message) => PipelineError::Corrupt(jpeg_repair::explain(bytes, &message)),
        other => other,
    })
}

/// Decodes at 1/`denominator` scale; `None` when the result is smaller
/// than that scale promised.
fn decode_jpeg_at(
    bytes: &[u8],
    header: &probe::JpegHeader,
    probe: &Probe,
    denominator: u32,
    limits: &Limits,
) -> Result<Option<Image>, PipelineError> {
    // At 1/8 scale a progressive JPEG's AC scans are never used: skip them.
    let dc_only = if denominator == 8 {
        jpeg_scans::dc_only(bytes)
    } else {
        None
    };
    let mut decoder = jpeg_decoder::Decoder::new(dc_only.as_deref().unwrap_or(bytes));
    decoder.set_max_decoding_buffer_size(budget_usize(limits));
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
    let pixels = width as usize * height as usize;
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
    if rgb.len() != pixels * 3 {
        return Err(corrupt("the JPEG decoded to fewer pixels than its size"));
    }
    Ok(Some(Image::still(width, height, Channels::Rgb, rgb)))
}

fn grey_to_rgb(grey: &[u8]) -> Vec<u8> {
    grey.iter().flat_map(|&v| [v, v, v]).collect()
}

fn grey_alpha_to_rgba(grey: &[u8]) -> Vec<u8> {
    grey.chunks_exact(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect()
}

// ---------------------------------------------------------------- PNG

fn decode_png(bytes: &[u8], limits: &Limits) -> Result<Image, PipelineError> {
    let png_limits = png::Limits {
        bytes: budget_usize(limits),
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

// ---------------------------------------------------------------- GIF

fn decode_gif(bytes: &[u8], animate: bool, limits: &Limits) -> Result<Image, PipelineError> {
    let mut frames = Vec::new();
    let loops = gif_frames(bytes, animate, limits, &mut |frame, channels| {
        frames.push((channels, frame));
        Ok(())
    })?;
    Image::assemble(frames, loops).ok_or_else(|| corrupt("the GIF has no image"))
}

/// Decodes a GIF frame by frame (only the first unless `animate`),
/// compositing onto one RGBA canvas and handing each composited frame to
/// `each`: RGB when the canvas is opaque everywhere, so that a GIF without
/// transparency travels as cheaply as a JPEG would, else RGBA.
fn gif_frames(
    bytes: &[u8],
    animate: bool,
    limits: &Limits,
    each: &mut FrameSink<'_>,
) -> Result<u16, PipelineError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    if let Some(limit) = NonZeroU64::new(decoder_budget(limits)) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = options.read_info(bytes).map_err(corrupt)?;
    let (width, height) = (usize::from(decoder.width()), usize::from(decoder.height()));
    let canvas_pixels = (width * height) as u64;
    let global_palette = decoder.global_palette().map(<[u8]>::to_vec);
    // GIF counts repetitions after the first play (absent = play once);
    // `Image::loops` counts plays, 0 meaning forever.
    let loops = match decoder.repeat() {
        gif::Repeat::Infinite => 0,
        gif::Repeat::Finite(n) => n.saturating_add(1),
    };

    // Disposal "restore to background" clears to transparent, as browsers do.
    let mut canvas = vec![0u8; width * height * 4];
    let mut index = 0;
    let mut indices = Vec::new();
    loop {
        if index > 0 && !animate {
            break;
        }
        let frame = match decoder.next_frame_info() {
            Ok(Some(frame)) => frame.clone(),
            Ok(None) => break,
            // A damaged tail after good frames keeps the good frames, as
            // viewers do; a damaged first frame is an error.
            Err(error) if index == 0 => return Err(corrupt(error)),
            Err(_) => break,
        };
        if !frame_fits(index, canvas_pixels, limits) {
            break;
        }
        let frame_pixels = usize::from(frame.width) * usize::from(frame.height);
        if frame_pixels as u64 > limits.max_src_pixels {
            return Err(corrupt("a GIF frame is larger than the limits allow"));
        }
        indices.clear();
        indices.resize(frame_pixels, 0);
        match decoder.read_into_buffer(&mut indices) {
            Ok(()) => {}
            Err(error) if index == 0 => return Err(corrupt(error)),
            Err(_) => break,
        }
        let palette = frame
            .palette
            .as_deref()
            .or(global_palette.as_deref())
            .ok_or_else(|| corrupt("a GIF frame has no colour table"))?;

        let saved = (frame.dispose == gif::DisposalMethod::Previous).then(|| canvas.clone());
        let left = usize::from(frame.left);
        let top = usize::from(frame.top);
        let fw = usize::from(frame.width);
        for (row_index, row) in indices.chunks_exact(fw.max(1)).enumerate() {
            let y = top + row_index;
            if y >= height {
                break;
            }
            for (col, &i) in row.iter().enumerate() {
                let x = left + col;
                if x >= width {
                    break;
                }
                if frame.transparent == Some(i) {
                    continue;
                }
                let p = usize::from(i) * 3;
                if let (Some(rgb), Some(px)) = (
                    palette.get(p..p + 3),
                    canvas.get_mut((y * width + x) * 4..(y * width + x) * 4 + 4),
                ) {
                    px.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
                }
            }
        }
        let (channels, data) = if canvas.chunks_exact(4).all(|p| p[3] == u8::MAX) {
            let rgb = canvas.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            (Channels::Rgb, rgb)
        } else {
            (Channels::Rgba, canvas.clone())
        };
        each(
            Frame {
                width: width as u32,
                height: height as u32,
                data,
                delay_ms: u32::from(frame.delay) * 10,
            },
            channels,
        )?;
        index += 1;
        match frame.dispose {
            gif::DisposalMethod::Background => {
                for y in top..(top + usize::from(frame.height)).min(height) {
                    let start = (y * width + left.min(width)) * 4;
                    let end = (y * width + (left + fw).min(width)) * 4;
                    if let Some(span) = canvas.get_mut(start..end) {
                        span.fill(0);
                    }
                }
            }
            gif::DisposalMethod::Previous => {
                if let Some(saved) = saved {
                    canvas = saved;
                }
            }
            gif::DisposalMethod::Keep | gif::DisposalMethod::Any => {}
        }
    }
    if index == 0 {
        return Err(corrupt("the GIF has no image"));
    }
    Ok(loops)
}

// ---------------------------------------------------------------- WebP

fn decode_webp(
    bytes: &[u8],
    min_scale: f64,
    margin: f64,
    animate: bool,
    limits: &Limits,
) -> Result<Image, PipelineError> {
    // The `turbo` feature: libwebp decodes a still at the size needed.
    #[cfg(feature = "turbo")]
    if let Some(image) = super::libwebp::decode_still(bytes, min_scale, margin)? {
        return Ok(image);
    }
    #[cfg(not(feature = "turbo"))]
    let _ = (min_scale, margin);
    let mut frames = Vec::new();
    let mut keep = |frame, channels| {
        frames.push((channels, frame));
        Ok(())
    };
    let loops = if animate {
        webp_frames(bytes, limits, &mut keep)?
    } else {
        let (decoder, channels, size) = webp_decoder(bytes, limits)?;
        keep(webp_first_frame(decoder, size)?, channels)?;
        0
    };
    Image::assemble(frames, loops).ok_or_else(|| corrupt("the WebP has no image"))
}

type WebpDecoder<'b> = image_webp::WebPDecoder<Cursor<&'b [u8]>>;

/// A WebP decoder under the memory budget, with the channels and the byte
/// size of one frame.
fn webp_decoder<'b>(
    bytes: &'b [u8],
    limits: &Limits,
) -> Result<(WebpDecoder<'b>, Channels, usize), PipelineError> {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    decoder.set_memory_limit(budget_usize(limits));
    let channels = if decoder.has_alpha() {
        Channels::Rgba
    } else {
        Channels::Rgb
    };
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| corrupt("the WebP is too large for this machine"))?;
    Ok((decoder, channels, size))
}

/// The still image, or the first frame of an animation.
fn webp_first_frame(mut decoder: WebpDecoder<'_>, size: usize) -> Result<Frame, PipelineError> {
    let (width, height) = decoder.dimensions();
    let mut data = vec![0u8; size];
    decoder.read_image(&mut data).map_err(corrupt)?;
    Ok(Frame {
        width,
        height,
        data,
        delay_ms: 0,
    })
}

/// Decodes a WebP frame by frame (within the limits), handing each frame,
/// composited by the decoder on its canvas, to `each`.
fn webp_frames(bytes: &[u8], limits: &Limits, each: &mut FrameSink<'_>) -> Result<u16, PipelineError> {
    let (mut decoder, channels, size) = webp_decoder(bytes, limits)?;
    if !(decoder.is_animated() && decoder.num_frames() > 1) {
        each(webp_first_frame(decoder, size)?, channels)?;
        return Ok(0);
    }
    let (width, height) = decoder.dimensions();
    let loops = match decoder.loop_count() {
        image_webp::LoopCount::Forever => 0,
        image_webp::LoopCount::Times(n) => n.get(),
    };
    let canvas_pixels = u64::from(width) * u64::from(height);
    for index in 0..decoder.num_frames() as usize {
        if !frame_fits(index, canvas_pixels, limits) {
            break;
        }
        let mut data = vec![0u8; size];
        match decoder.read_frame(&mut data) {
            Ok(delay_ms) => each(
                Frame {
                    width,
                    height,
                    data,
                    delay_ms,
                },
                channels,
            )?,
            Err(error) if index == 0 => return Err(corrupt(error)),
            // Keep the frames decoded before a damaged one.
            Err(_) => break,
        }
    }
    Ok(loops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe::probe;

    fn jpeg(width: u16, height: u16, data: &[u8], colour: jpeg_encoder::ColorType) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut out, 95);
        encoder.encode(data, width, height, colour).unwrap();
        out
    }

    fn decode_all(
        bytes: &[u8],
        min_scale: f64,
        animate: bool,
        limits: &Limits,
    ) -> Result<Image, PipelineError> {
        let p = probe(bytes)?;
        decode(bytes, &p, min_scale, animate, limits)
    }

    fn pixel(image: &Image, frame: usize, x: u32, y: u32) -> Vec<u8> {
        let n = image.channels.count();
        let f = &image.frames[frame];
        let i = (y as usize * f.width as usize + x as usize) * n;
        f.data[i..i + n].to_vec()
    }

    fn near(actual: &[u8], expected: &[u8], tolerance: u8) -> bool {
        actual.len() == expected.len()
            && actual
                .iter()
                .zip(expected)
                .all(|(a, e)| a.abs_diff(*e) <= tolerance)
    }

    /// The rule at a margin of 2.
    fn shrink2(width: u32, height: u32, min_scale: f64) -> u32 {
        shrink_denominator_with(width, height, min_scale, 2.0)
    }

    #[test]
    fn shrink_rule() {
        // 4000x3000 to 250 px wide: 1/8 leaves 500 px = 2x the output.
        assert_eq!(shrink2(4000, 3000, 250.0 / 4000.0), 8);
        // To 300 px: 1/8 would leave only 500 < 600 px, so 1/4.
        assert_eq!(shrink2(4000, 3000, 300.0 / 4000.0), 4);
        assert_eq!(shrink2(4000, 3000, 0.25), 2);
        // Small reductions decode at full size.
        assert_eq!(shrink2(4000, 3000, 0.8), 1);
        assert_eq!(shrink2(4000, 3000, 1.0), 1);
        // Both axes must keep the margin (rounding up helps odd sizes).
        assert_eq!(shrink2(17, 9, 1.0 / 16.0), 8);
        assert_eq!(shrink2(100, 100, f64::NAN), 1);
    }

    #[test]
    fn shrink_rule_follows_the_margin() {
        // Margin 1.5 (the default build's): 300 px needs 450, so 1/8
        // (500 px); 400 px needs 600, so 1/4 (1000 px).
        let at_1_5 = |min_scale| shrink_denominator_with(4000, 3000, min_scale, 1.5);
        assert_eq!(at_1_5(250.0 / 4000.0), 8);
        assert_eq!(at_1_5(300.0 / 4000.0), 8);
        assert_eq!(at_1_5(400.0 / 4000.0), 4);
        assert_eq!(at_1_5(0.25), 2);
        assert_eq!(at_1_5(0.5), 1);
        // Margin 2.5 (the turbo build's): 300 px needs 750, so 1/4; 200 px
        // needs 500, still 1/8; 500 px needs 1250, so 1/2.
        let at_2_5 = |min_scale| shrink_denominator_with(4000, 3000, min_scale, 2.5);
        assert_eq!(at_2_5(200.0 / 4000.0), 8);
        assert_eq!(at_2_5(300.0 / 4000.0), 4);
        assert_eq!(at_2_5(500.0 / 4000.0), 2);
        assert_eq!(at_2_5(0.25), 1);
        // The default is the margin of this build.
        let expected = if cfg!(feature = "turbo") { 2.5 } else { 1.5 };
        assert_eq!(SHRINK_MARGIN, expected);
        for min_scale in [250.0 / 4000.0, 300.0 / 4000.0, 0.25] {
            assert_eq!(
                shrink_denominator(4000, 3000, min_scale),
                shrink_denominator_with(4000, 3000, min_scale, expected)
            );
        }
        // Margin 1: as small as the output allows.
        assert_eq!(shrink_denominator_with(4000, 3000, 300.0 / 4000.0, 1.0), 8);
        // No usable margin: never shrink.
        for margin in [f64::INFINITY, f64::NAN, 0.5, -1.0] {
            assert_eq!(shrink_denominator_with(4000, 3000, 0.01, margin), 1, "{margin}");
        }
    }

    #[test]
    fn jpeg_shrinks_on_load_and_keeps_the_margin() {
        let (w, h) = (4000u16, 3000u16);
        let data: Vec<u8> = (0..w as usize * h as usize)
            .flat_map(|i| [(i % 251) as u8, 90, 160])
            .collect();
        let bytes = jpeg(w, h, &data, jpeg_encoder::ColorType::Rgb);
        let p = probe(&bytes).unwrap();
        let at_margin_2 =
            |min_scale| decode_with_margin(&bytes, &p, min_scale, 2.0, false, &Limits::default());
        let image = at_margin_2(250.0 / 4000.0).unwrap();
        assert_eq!((image.width(), image.height()), (500, 375));
        let image = at_margin_2(300.0 / 4000.0).unwrap();
        assert_eq!((image.width(), image.height()), (1000, 750));
        // The default margin (1.5, or 2.5 with turbo): 400 px wide decodes
        // at 1/4 (1000 px) in either build.
        let image = decode_all(&bytes, 400.0 / 4000.0, false, &Limits::default()).unwrap();
        assert_eq!((image.width(), image.height()), (1000, 750));
        let image = decode_all(&bytes, 0.9, false, &Limits::default()).unwrap();
        assert_eq!((image.width(), image.height()), (4000, 3000));
        assert_eq!(image.channels, Channels::Rgb);
    }

    #[test]
    fn odd_sized_jpeg_shrinks_to_cover_both_axes() {
        let (w, h) = (1001u16, 333u16);
        let data = vec![128u8; w as usize * h as usize * 3];
        let bytes = jpeg(w, h, &data, jpeg_encoder::ColorType::Rgb);
        let min_scale = 0.06;
        let margin = 2.0;
        let p = probe(&bytes).unwrap();
        let image = decode_with_margin(&bytes, &p, min_scale, margin, false, &Limits::default()).unwrap();
        assert!(f64::from(image.width()) >= f64::from(w) * min_scale * margin);
        assert!(f64::from(image.height()) >= f64::from(h) * min_scale * margin);
        assert_eq!((image.width(), image.height()), (126, 42));
        // The default margin covers both axes too.
        let image = decode_all(&bytes, min_scale, false, &Limits::default()).unwrap();
        assert!(f64::from(image.width()) >= f64::from(w) * min_scale * SHRINK_MARGIN);
        assert!(f64::from(image.height()) >= f64::from(h) * min_scale * SHRINK_MARGIN);
        // 1.5 needs 90x30 (1/8 gives 126x42), 2.5 needs 150x50 (1/4).
        let expected = if cfg!(feature = "turbo") {
            (251, 84)
        } else {
            (126, 42)
        };
        assert_eq!((image.width(), image.height()), expected);
    }

    #[test]
    fn grey_jpeg_becomes_rgb() {
        let bytes = jpeg(8, 8, &[200u8; 64], jpeg_encoder::ColorType::Luma);
        let image = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
        assert_eq!(image.channels, Channels::Rgb);
        assert!(near(&pixel(&image, 0, 3, 3), &[200, 200, 200], 2));
    }

    #[test]
    fn adobe_and_plain_cmyk_jpegs_become_rgb() {
        // Ink: top half pure magenta+yellow (red), bottom half cyan (cyan).
        let (w, h) = (16u16, 16u16);
        let ink: Vec<u8> = (0..w as usize * h as usize)
            .flat_map(|i| if i < 128 { [0, 255, 255, 0] } else { [255, 0, 0, 0] })
            .collect();
        for colour in [jpeg_encoder::ColorType::Cmyk, jpeg_encoder::ColorType::CmykAsYcck] {
            // The encoder writes Adobe's inverted convention with an APP14.
            let bytes = jpeg(w, h, &ink, colour);
            let image = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
            assert!(
                near(&pixel(&image, 0, 4, 2), &[255, 0, 0], 6),
                "{colour:?} {:?}",
                pixel(&image, 0, 4, 2)
            );
            assert!(near(&pixel(&image, 0, 4, 13), &[0, 255, 255], 6), "{colour:?}");
        }
        // A non-Adobe CMYK JPEG stores ink as is: pre-invert what the encoder
        // inverts, then cut the APP14 segment out.
        let inverted: Vec<u8> = ink.iter().map(|v| 255 - v).collect();
        let bytes = jpeg(w, h, &inverted, jpeg_encoder::ColorType::Cmyk);
        let at = bytes
            .windows(7)
            .position(|s| s[0] == 0xFF && s[1] == 0xEE && &s[4..7] == b"Ado")
            .unwrap();
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let mut plain = bytes[..at].to_vec();
        plain.extend_from_slice(&bytes[at + 2 + len..]);
        let image = decode_all(&plain, 1.0, false, &Limits::default()).unwrap();
        assert!(
            near(&pixel(&image, 0, 4, 2), &[255, 0, 0], 6),
            "{:?}",
            pixel(&image, 0, 4, 2)
        );
    }

    fn png_bytes(
        width: u32,
        height: u32,
        colour: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        png_with(width, height, colour, depth, data, |_| {})
    }

    fn png_with(
        width: u32,
        height: u32,
        colour: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(colour);
            encoder.set_depth(depth);
            setup(&mut encoder);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn png_colour_types_become_rgb_or_rgba() {
        use png::{BitDepth, ColorType};
        let limits = Limits::default();
        let grey = decode_all(
            &png_bytes(2, 1, ColorType::Grayscale, BitDepth::Eight, &[10, 250]),
            1.0,
            false,
            &limits,
        )
        .unwrap();
        assert_eq!(grey.channels, Channels::Rgb);
        assert_eq!(pixel(&grey, 0, 1, 0), [250, 250, 250]);

        let grey16 = png_bytes(1, 1, ColorType::Grayscale, BitDepth::Sixteen, &[0xAB, 0xCD]);
        assert_eq!(
            pixel(&decode_all(&grey16, 1.0, false, &limits).unwrap(), 0, 0, 0),
            [0xAB; 3]
        );

        let ga = png_bytes(1, 1, ColorType::GrayscaleAlpha, BitDepth::Eight, &[77, 128]);
        let ga = decode_all(&ga, 1.0, false, &limits).unwrap();
        assert_eq!(
            (ga.channels, pixel(&ga, 0, 0, 0)),
            (Channels::Rgba, vec![77, 77, 77, 128])
        );

        let rgba16 = png_bytes(
            1,
            1,
            ColorType::Rgba,
            BitDepth::Sixteen,
            &[1, 0, 2, 0, 3, 0, 255, 255],
        );
        assert_eq!(
            pixel(&decode_all(&rgba16, 1.0, false, &limits).unwrap(), 0, 0, 0),
            [1, 2, 3, 255]
        );

        // A 1-bit palette with a transparent entry.
        let palette = png_with(8, 1, ColorType::Indexed, BitDepth::One, &[0b1000_0000], |e| {
            e.set_palette(vec![255, 0, 0, 0, 0, 255]);
            e.set_trns(vec![0]);
        });
        let p = probe(&palette).unwrap();
        assert!(p.has_alpha);
        let image = decode_all(&palette, 1.0, false, &limits).unwrap();
        assert_eq!(image.channels, Channels::Rgba);
        assert_eq!(pixel(&image, 0, 0, 0), [0, 0, 255, 255]);
        assert_eq!(pixel(&image, 0, 1, 0), [255, 0, 0, 0]);
    }

    /// A two-colour animated GIF on a 4x4 canvas: frame 1 fills it red,
    /// frame 2 draws a 2x2 blue square at (1,1) with one transparent pixel
    /// and disposes to background, frame 3 draws one green pixel at (0,0).
    fn animated_gif() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let palette = [255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0, 0];
            let mut encoder = gif::Encoder::new(&mut out, 4, 4, &palette).unwrap();
            encoder.set_repeat(gif::Repeat::Infinite).unwrap();
            let mut first = gif::Frame::from_indexed_pixels(4, 4, vec![0u8; 16], None);
            first.delay = 10;
            encoder.write_frame(&first).unwrap();
            let mut second = gif::Frame::from_indexed_pixels(2, 2, vec![1, 1, 1, 3], Some(3));
            (second.left, second.top, second.delay) = (1, 1, 20);
            second.dispose = gif::DisposalMethod::Background;
            encoder.write_frame(&second).unwrap();
            let mut third = gif::Frame::from_indexed_pixels(1, 1, vec![2], None);
            third.delay = 30;
            encoder.write_frame(&third).unwrap();
        }
        out
    }

    #[test]
    fn gif_frames_are_composited() {
        let bytes = animated_gif();
        let p = probe(&bytes).unwrap();
        assert!(p.animated && p.has_alpha);
        let image = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(image.frames.len(), 3);
        assert_eq!(image.loops, 0);
        let delays: Vec<u32> = image.frames.iter().map(|f| f.delay_ms).collect();
        assert_eq!(delays, [100, 200, 300]);
        // Frame 2: blue square over red, its transparent pixel shows red.
        assert_eq!(&pixel(&image, 1, 1, 1)[..3], [0, 0, 255]);
        assert_eq!(&pixel(&image, 1, 2, 2)[..3], [255, 0, 0]);
        assert_eq!(&pixel(&image, 1, 0, 0)[..3], [255, 0, 0]);
        // Frame 3: the square was disposed to transparent; red remains elsewhere.
        assert_eq!(image.channels, Channels::Rgba);
        assert_eq!(pixel(&image, 2, 1, 1), [0, 0, 0, 0]);
        assert_eq!(pixel(&image, 2, 0, 0), [0, 255, 0, 255]);
        assert_eq!(pixel(&image, 2, 3, 3), [255, 0, 0, 255]);

        // Without animation: only the first frame, opaque, so RGB.
        let still = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
        assert_eq!(still.frames.len(), 1);
        assert_eq!(still.channels, Channels::Rgb);
        assert_eq!(still.frames[0].delay_ms, 0);
    }

    /// Streams `bytes` through [`decode_animation`], keeping what the sink
    /// is given.
    fn stream(bytes: &[u8], limits: &Limits) -> Result<(Vec<(Channels, Frame)>, u16), PipelineError> {
        let p = probe(bytes)?;
        let mut frames = Vec::new();
        let loops = decode_animation(bytes, &p, limits, &mut |frame, channels| {
            frames.push((channels, frame));
            Ok(())
        })?;
        Ok((frames, loops))
    }

    fn at(frame: &Frame, channels: Channels, x: u32, y: u32) -> Vec<u8> {
        let n = channels.count();
        let i = (y as usize * frame.width as usize + x as usize) * n;
        frame.data[i..i + n].to_vec()
    }

    #[test]
    fn gif_frames_stream_one_at_a_time() {
        let bytes = animated_gif();
        let (frames, loops) = stream(&bytes, &Limits::default()).unwrap();
        assert_eq!(loops, 0);
        assert_eq!(frames.len(), 3);
        for (_, frame) in &frames {
            assert_eq!((frame.width, frame.height), (4, 4));
        }
        let delays: Vec<u32> = frames.iter().map(|(_, f)| f.delay_ms).collect();
        assert_eq!(delays, [100, 200, 300]);
        // Each frame has the channels it needs: the first two are opaque,
        // the third shows the square disposed to transparent.
        let channels: Vec<Channels> = frames.iter().map(|(c, _)| *c).collect();
        assert_eq!(channels, [Channels::Rgb, Channels::Rgb, Channels::Rgba]);
        let (c, second) = (frames[1].0, &frames[1].1);
        assert_eq!(at(second, c, 1, 1), [0, 0, 255]);
        assert_eq!(at(second, c, 2, 2), [255, 0, 0]);
        let (c, third) = (frames[2].0, &frames[2].1);
        assert_eq!(at(third, c, 1, 1), [0, 0, 0, 0]);
        assert_eq!(at(third, c, 0, 0), [0, 255, 0, 255]);
        assert_eq!(at(third, c, 3, 3), [255, 0, 0, 255]);
        // Gathered, they are exactly what `decode` returns.
        let whole = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(Image::assemble(frames, loops).unwrap(), whole);
    }

    #[test]
    fn streamed_animations_are_cut_to_the_limits() {
        let bytes = animated_gif();
        let frames = Limits {
            max_animation_frames: 2,
            ..Limits::default()
        };
        assert_eq!(stream(&bytes, &frames).unwrap().0.len(), 2);
        let pixels = Limits {
            max_animation_pixels: 16 * 2 + 1,
            ..Limits::default()
        };
        assert_eq!(stream(&bytes, &pixels).unwrap().0.len(), 2);
        let webp = animated_webp(
            &[(0, 0, 2, 2, [1, 2, 3, 255], 10), (0, 0, 2, 2, [4, 5, 6, 255], 10)],
            (2, 2),
        );
        let one = Limits {
            max_animation_frames: 1,
            ..Limits::default()
        };
        assert_eq!(stream(&webp, &one).unwrap().0.len(), 1);
    }

    #[test]
    fn a_sink_error_stops_the_decoding() {
        let bytes = animated_gif();
        let p = probe(&bytes).unwrap();
        let mut seen = 0;
        let result = decode_animation(&bytes, &p, &Limits::default(), &mut |_, _| {
            seen += 1;
            if seen == 2 {
                Err(PipelineError::DeadlineExceeded)
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err(PipelineError::DeadlineExceeded));
        assert_eq!(seen, 2);
    }

    #[test]
    fn stills_stream_as_one_frame() {
        let bytes = png_bytes(
            2,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &[1, 2, 3, 4, 5, 6],
        );
        let (frames, loops) = stream(&bytes, &Limits::default()).unwrap();
        assert_eq!((frames.len(), loops), (1, 0));
        assert_eq!(frames[0].0, Channels::Rgb);
        assert_eq!(frames[0].1.data, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn animations_are_cut_to_the_limits() {
        let bytes = animated_gif();
        let all = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert!(all.frames.len() > 2);
        let frames = Limits {
            max_animation_frames: 2,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &frames).unwrap().frames.len(), 2);
        let canvas = u64::from(all.width()) * u64::from(all.height());
        let pixels = Limits {
            max_animation_pixels: canvas * 2 + 1,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &pixels).unwrap().frames.len(), 2);
        // The still path is not an animation and is not refused.
        assert!(decode_all(&bytes, 1.0, false, &frames).is_ok());
    }

    fn webp_lossless(width: u32, height: u32, data: &[u8], colour: image_webp::ColorType) -> Vec<u8> {
        let mut out = Vec::new();
        image_webp::WebPEncoder::new(&mut out)
            .encode(data, width, height, colour)
            .unwrap();
        out
    }

    #[test]
    fn webp_still_decodes() {
        let data: Vec<u8> = (0..6).flat_map(|i| [i * 40, 100, 200, 255 - i]).collect();
        let bytes = webp_lossless(3, 2, &data, image_webp::ColorType::Rgba8);
        let image = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(image.channels, Channels::Rgba);
        assert_eq!(image.frames[0].data, data);
        let rgb: Vec<u8> = (0..6).flat_map(|i| [i * 40, 100, 200]).collect();
        let bytes = webp_lossless(3, 2, &rgb, image_webp::ColorType::Rgb8);
        let image = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(image.channels, Channels::Rgb);
        assert_eq!(image.frames[0].data, rgb);
    }

    /// x, y, width, height, colour, delay of one frame of a test animation.
    type WebpFrame = (u32, u32, u32, u32, [u8; 4], u32);

    /// An animated WebP built by hand: VP8X + ANIM + one ANMF per frame,
    /// each wrapping the VP8L chunk of a lossless still.
    fn animated_webp(frames: &[WebpFrame], canvas: (u32, u32)) -> Vec<u8> {
        fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
            let mut out = kind.to_vec();
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
            out
        }
        let mut body = b"WEBP".to_vec();
        let mut vp8x = vec![0x10 | 0x02, 0, 0, 0];
        vp8x.extend_from_slice(&(canvas.0 - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(canvas.1 - 1).to_le_bytes()[..3]);
        body.extend(chunk(b"VP8X", &vp8x));
        body.extend(chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
        for &(x, y, w, h, rgba, delay) in frames {
            let still = webp_lossless(w, h, &rgba.repeat((w * h) as usize), image_webp::ColorType::Rgba8);
            let vp8l = &still[12..];
            let mut anmf = Vec::new();
            anmf.extend_from_slice(&(x / 2).to_le_bytes()[..3]);
            anmf.extend_from_slice(&(y / 2).to_le_bytes()[..3]);
            anmf.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
            anmf.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
            anmf.extend_from_slice(&delay.to_le_bytes()[..3]);
            anmf.push(0); // alpha-blend, no disposal
            anmf.extend_from_slice(vp8l);
            body.extend(chunk(b"ANMF", &anmf));
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn animated_webp_is_composited() {
        let bytes = animated_webp(
            &[
                (0, 0, 4, 4, [255, 0, 0, 255], 50),
                (2, 2, 2, 2, [0, 0, 255, 255], 70),
            ],
            (4, 4),
        );
        let p = probe(&bytes).unwrap();
        assert!(p.animated);
        assert_eq!((p.width, p.height), (4, 4));
        let image = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(image.frames.len(), 2);
        assert_eq!(image.frames[1].delay_ms, 70);
        // Alpha blending onto the empty canvas may round by one step.
        assert!(near(&pixel(&image, 1, 0, 0), &[255, 0, 0, 255], 1));
        assert!(near(&pixel(&image, 1, 3, 3), &[0, 0, 255, 255], 1));
        let still = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
        assert_eq!(still.frames.len(), 1);
        let limited = Limits {
            max_animation_frames: 1,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &limited).unwrap().frames.len(), 1);
    }

    #[test]
    fn webp_frames_stream_one_at_a_time() {
        let bytes = animated_webp(
            &[
                (0, 0, 4, 4, [255, 0, 0, 255], 50),
                (2, 2, 2, 2, [0, 0, 255, 255], 70),
                (0, 0, 2, 2, [0, 255, 0, 255], 90),
            ],
            (4, 4),
        );
        let (frames, loops) = stream(&bytes, &Limits::default()).unwrap();
        assert_eq!(loops, 0);
        let delays: Vec<u32> = frames.iter().map(|(_, f)| f.delay_ms).collect();
        assert_eq!(delays, [50, 70, 90]);
        for (channels, frame) in &frames {
            assert_eq!((frame.width, frame.height, *channels), (4, 4, Channels::Rgba));
        }
        // The last frame is composited over the earlier ones.
        let (c, last) = (frames[2].0, &frames[2].1);
        assert!(near(&at(last, c, 0, 0), &[0, 255, 0, 255], 1));
        assert!(near(&at(last, c, 3, 3), &[0, 0, 255, 255], 1));
        assert!(near(&at(last, c, 3, 0), &[255, 0, 0, 255], 1));
        let whole = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(Image::assemble(frames, loops).unwrap(), whole);
    }

    #[test]
    fn truncated_and_garbage_files_are_errors_not_panics() {
        let sources = [
            jpeg(16, 16, &[90u8; 16 * 16 * 3], jpeg_encoder::ColorType::Rgb),
            png_bytes(4, 4, png::ColorType::Rgb, png::BitDepth::Eight, &[7u8; 48]),
            animated_gif(),
            webp_lossless(4, 4, &[9u8; 48], image_webp::ColorType::Rgb8),
            animated_webp(
                &[(0, 0, 2, 2, [1, 2, 3, 255], 10), (0, 0, 2, 2, [4, 5, 6, 255], 10)],
                (2, 2),
            ),
        ];
        for bytes in &sources {
            assert!(decode_all(bytes, 1.0, true, &Limits::default()).is_ok());
            for cut in (0..bytes.len()).step_by(3) {
                // Must return, whatever it returns.
                let _ = decode_all(&bytes[..cut], 0.1, true, &Limits::default());
            }
            let mut flipped = bytes.clone();
            for i in (20..flipped.len()).step_by(7) {
                flipped[i] ^= 0x5A;
            }
            let _ = decode_all(&flipped, 0.1, true, &Limits::default());
        }
        let cut = &sources[1][..sources[1].len() - 20];
        assert!(matches!(
            decode_all(cut, 1.0, false, &Limits::default()),
            Err(PipelineError::Corrupt(_))
        ));
    }

    /// Probe, decode, orient and convert a file in `tests/fixtures`.
    fn fixture(name: &str) -> Image {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        let p = probe(&bytes).unwrap();
        let image = decode(&bytes, &p, 1.0, false, &Limits::default()).unwrap();
        let image = super::super::orient::apply(image, p.orientation, crate::options::Rotation::None);
        colour::to_srgb(image, p.icc_profile.as_deref()).unwrap()
    }

    #[test]
    fn orientation_fixtures_come_out_upright() {
        for n in 1..=8 {
            let image = fixture(&format!("exif-orientation-{n}.jpg"));
            assert_eq!((image.width(), image.height()), (64, 48), "orientation {n}");
            let corners = [
                (5, 5, [255, 0, 0]),
                (58, 5, [0, 255, 0]),
                (5, 42, [0, 0, 255]),
                (58, 42, [255; 3]),
            ];
            for (x, y, colour) in corners {
                assert!(
                    near(&pixel(&image, 0, x, y), &colour, 6),
                    "orientation {n} at {x},{y}"
                );
            }
        }
    }

    #[test]
    fn cmyk_and_tagged_fixtures_come_out_in_srgb() {
        let cmyk = fixture("cmyk.jpg");
        assert!(
            near(&pixel(&cmyk, 0, 5, 5), &[255, 0, 0], 6),
            "{:?}",
            pixel(&cmyk, 0, 5, 5)
        );
        assert!(near(&pixel(&cmyk, 0, 58, 5), &[0, 255, 0], 6));
        assert!(near(&pixel(&cmyk, 0, 5, 42), &[0, 0, 255], 6));
        assert!(near(&pixel(&cmyk, 0, 58, 42), &[255, 255, 255], 6));
        // (200,100,50) in Display P3 is (215,92,31) in sRGB; in Adobe RGB
        // it is (227,100,43) (both from the published matrices).
        let p3 = fixture("display-p3.jpg");
        assert!(
            near(&pixel(&p3, 0, 16, 16), &[215, 92, 31], 4),
            "{:?}",
            pixel(&p3, 0, 16, 16)
        );
        let adobe = fixture("adobe-rgb.jpg");
        assert!(
            near(&pixel(&adobe, 0, 16, 16), &[227, 100, 43], 4),
            "{:?}",
            pixel(&adobe, 0, 16, 16)
        );
    }
}
