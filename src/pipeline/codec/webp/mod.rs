//! WebP: the RIFF probe, the decoders and the encoder.
//!
//! The default build decodes with `image-webp` (pure Rust), stills and
//! animations, each animation frame composited by the decoder and handed
//! over at once. With the `turbo` feature a still WebP is decoded by libwebp
//! at the size the resampler needs (`libwebp.rs`); this module picks. Every
//! build encodes with libwebp (the `webp` crate's safe API): the only
//! encoder with animation and good lossy quality per byte.

#[cfg(feature = "turbo")]
#[allow(unsafe_code)]
mod libwebp;

use crate::pipeline::deadline;
use std::io::Cursor;

use super::{
    FrameSink, MAX_ICC_BYTES, budget_usize, corrupt, encode_error, exif_orientation, frame_fits, le16, le24,
    le32, truncated,
};
use crate::format::ImageFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Frame, Image, Limits, PipelineError, Probe};

/// libwebp method 0 (fast) ..= 6 (small). 4 is its default and the usual
/// server setting: method 5-6 save 1-2% for twice the time.
const METHOD: i32 = 4;

/// Reads the chunks of a WebP; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    (bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
        .then(|| read_probe(bytes))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let mut at: usize = 12;
    let mut probe: Option<Probe> = None;
    let mut want_extras = false;
    while let Some(kind) = at.checked_add(4).and_then(|end| bytes.get(at..end)) {
        let length = usize::try_from(le32(bytes, at + 4).ok_or_else(truncated)?)
            .map_err(|_| corrupt("a WebP chunk is too long"))?;
        let data_start = at + 8;
        // The last chunk may be cut short; its header fields are what matter.
        let data = bytes
            .get(data_start..data_start.saturating_add(length).min(bytes.len()))
            .unwrap_or(&[]);
        at = data_start.saturating_add(length).saturating_add(length & 1);
        match (kind, probe.as_mut()) {
            (b"VP8X", None) => {
                let flags = *data.first().ok_or_else(truncated)?;
                let width = le24(data, 4).ok_or_else(truncated)? + 1;
                let height = le24(data, 7).ok_or_else(truncated)? + 1;
                let mut p = Probe::new(ImageFormat::Webp, width, height)?;
                p.has_alpha = flags & 0x10 != 0;
                p.animated = flags & 0x02 != 0;
                want_extras = flags & (0x20 | 0x08) != 0;
                probe = Some(p);
            }
            (b"VP8 ", None) => {
                // Frame tag (3 bytes), start code 9d 01 2a, 14-bit sizes.
                if data.get(3..6) != Some(&[0x9d, 0x01, 0x2a]) {
                    return Err(corrupt("the VP8 bitstream has no start code"));
                }
                let width = le16(data, 6).ok_or_else(truncated)? & 0x3FFF;
                let height = le16(data, 8).ok_or_else(truncated)? & 0x3FFF;
                return Probe::new(ImageFormat::Webp, width.into(), height.into());
            }
            (b"VP8L", None) => {
                if data.first() != Some(&0x2F) {
                    return Err(corrupt("the VP8L bitstream has no signature"));
                }
                let bits = le32(data, 1).ok_or_else(truncated)?;
                let width = (bits & 0x3FFF) + 1;
                let height = ((bits >> 14) & 0x3FFF) + 1;
                let mut p = Probe::new(ImageFormat::Webp, width, height)?;
                p.has_alpha = (bits >> 28) & 1 != 0;
                return Ok(p);
            }
            (_, None) => return Err(corrupt("the WebP has no image header")),
            (b"ICCP", Some(p)) if data.len() == length && length <= MAX_ICC_BYTES => {
                p.icc_profile = Some(data.to_vec());
            }
            (b"EXIF", Some(p)) => p.orientation = exif_orientation(data).unwrap_or(1),
            (_, Some(_)) if !want_extras => break,
            _ => {}
        }
    }
    probe.ok_or_else(truncated)
}

/// The size [`decode`] gives a still WebP for `request`: the size libwebp
/// is asked for under `turbo` (a file it hands back is decoded whole, the
/// same for every request), else the whole image.
pub fn decoded_size(probe: &Probe, request: &DecodeRequest) -> (u32, u32) {
    #[cfg(feature = "turbo")]
    return libwebp::scaled_size(
        probe.width,
        probe.height,
        request.min_scale,
        request.shrink_margin,
    );
    #[cfg(not(feature = "turbo"))]
    {
        let _ = request;
        (probe.width, probe.height)
    }
}

/// Decodes the still image (or the first frame), or with `request.animate`
/// every frame within the limits, composited.
pub fn decode(bytes: &[u8], _probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    // The `turbo` feature: libwebp decodes a still at the size needed.
    #[cfg(feature = "turbo")]
    if let Some(image) = libwebp::decode_still(bytes, request.min_scale, request.shrink_margin)? {
        return Ok(image);
    }
    let (animate, limits) = (request.animate, &request.limits);
    let mut frames = Vec::new();
    let mut keep = |frame| {
        frames.push(frame);
        Ok(())
    };
    let loops = if animate {
        stream(bytes, limits, &mut keep)?
    } else {
        let (decoder, channels, size) = open_decoder(bytes, limits)?;
        keep(first_frame(decoder, channels, size)?)?;
        0
    };
    super::assemble(frames, loops, ImageFormat::Webp)
}

type WebpDecoder<'b> = image_webp::WebPDecoder<Cursor<&'b [u8]>>;

/// A WebP decoder under the memory budget, with the channels and the byte
/// size of one frame.
fn open_decoder<'b>(
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
fn first_frame(
    mut decoder: WebpDecoder<'_>,
    channels: Channels,
    size: usize,
) -> Result<Frame, PipelineError> {
    let (width, height) = decoder.dimensions();
    let mut data = vec![0u8; size];
    decoder.read_image(&mut data).map_err(corrupt)?;
    super::frame(width, height, channels, data, 0)
}

/// Decodes a WebP frame by frame (within the limits), handing each frame,
/// composited by the decoder on its canvas, to `each`.
pub fn stream(bytes: &[u8], limits: &Limits, each: &mut FrameSink<'_>) -> Result<u16, PipelineError> {
    let (mut decoder, channels, size) = open_decoder(bytes, limits)?;
    if !(decoder.is_animated() && decoder.num_frames() > 1) {
        each(first_frame(decoder, channels, size)?)?;
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
            Ok(delay_ms) => each(super::frame(width, height, channels, data, delay_ms)?)?,
            Err(error) if index == 0 => return Err(corrupt(error)),
            // Keep the frames decoded before a damaged one.
            Err(_) => break,
        }
    }
    Ok(loops)
}

/// Encodes a still or an animation (loop count and delays kept) as a lossy
/// WebP at `quality`, alpha compressed losslessly.
pub fn encode(image: &Image, quality: u8) -> Result<Vec<u8>, PipelineError> {
    use webp::{AnimEncoder, AnimFrame, PixelLayout, WebPConfig};
    let f = ImageFormat::Webp;
    let mut config = WebPConfig::new().map_err(|()| encode_error(f, "configuration failed"))?;
    config.lossless = 0;
    config.quality = f32::from(quality);
    config.method = METHOD;
    // Alpha is compressed losslessly: edges of cut-outs stay exact.
    config.alpha_compression = 1;
    let layout = match image.channels() {
        Channels::Rgb => PixelLayout::Rgb,
        Channels::Rgba => PixelLayout::Rgba,
    };
    let (w, h) = (image.width(), image.height());
    if !image.is_animated() {
        let memory = webp::Encoder::new(image.first().data(), layout, w, h)
            .encode_advanced(&config)
            .map_err(|e| encode_error(f, format!("{e:?}")))?;
        return Ok(memory.to_vec());
    }
    let mut encoder = AnimEncoder::new(w, h, &config);
    encoder.set_loop_count(i32::from(image.loops()));
    // Timestamps are each frame's start, in milliseconds.
    let mut timestamp: i32 = 0;
    for frame in image.frames() {
        // libwebp encodes each frame as it is added.
        deadline::check()?;
        encoder.add_frame(AnimFrame::new(frame.data(), layout, w, h, timestamp, None));
        timestamp = timestamp.saturating_add(i32::try_from(frame.delay_ms()).unwrap_or(i32::MAX));
    }
    let memory = encoder
        .try_encode()
        .map_err(|e| encode_error(f, format!("{e:?}")))?;
    let mut bytes = memory.to_vec();
    let total: u64 = image.frames().iter().map(|f| u64::from(f.delay_ms())).sum();
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
