//! GIF: the block probe, the compositing decoder and the encoder.
//!
//! The probe walks the blocks without decoding LZW data, to count frames
//! and find transparency. The decoder composites every frame on one canvas
//! (disposal included) and hands each composited frame over at once, so
//! later stages never see GIF disposal. The encoder writes an exact
//! palette when a frame has at most 256 colours, else a NeuQuant one.

use crate::pipeline::deadline;
use std::collections::HashMap;
use std::num::NonZeroU64;

use super::{
    FrameSink, corrupt, decoder_budget, encode_error, exact_palette, frame_fits, le16, side_u16, truncated,
};
use crate::format::ImageFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Frame, Image, Limits, PipelineError, Probe};

/// NeuQuant learns from one pixel in `samplefac` (1 = every pixel ..= 30).
/// It needs a few tens of thousands of samples for a good palette, so small
/// frames use every pixel and large ones are sampled, capping the cost of
/// learning at a few milliseconds per frame.
const QUANT_SAMPLES: usize = 10_000;

/// The sparsest NeuQuant sampling used: 10 is the usual quality/speed trade.
const QUANT_MAX_SAMPLEFAC: usize = 10;

/// GIF has 1-bit transparency: alpha below this is transparent, at or above
/// it opaque (the midpoint, as browsers round coverage).
const ALPHA_THRESHOLD: u8 = 128;

/// Reads the blocks of a GIF; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    (bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")).then(|| read_probe(bytes))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let width = le16(bytes, 6).ok_or_else(truncated)?;
    let height = le16(bytes, 8).ok_or_else(truncated)?;
    let flags = *bytes.get(10).ok_or_else(truncated)?;
    let mut probe = Probe::new(ImageFormat::Gif, width.into(), height.into())?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 0x07) + 1);
    }
    let mut frames = 0u32;
    // Walk the blocks without decoding LZW data, to count frames and find
    // transparency. A truncated tail keeps what was seen (decoders show
    // truncated GIFs too); a file without any frame is corrupt.
    while let Some(&block) = bytes.get(at) {
        match block {
            0x2C => {
                frames += 1;
                if frames > 1 {
                    break;
                }
                let Some(local) = bytes.get(at + 9) else { break };
                at += 10;
                if local & 0x80 != 0 {
                    at += 3 << ((local & 0x07) + 1);
                }
                at += 1; // LZW minimum code size
                match skip_sub_blocks(bytes, at) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            0x21 => {
                let label = bytes.get(at + 1).copied();
                // Graphic control extension: bit 0 of its flags = transparency.
                if label == Some(0xF9) && bytes.get(at + 3).is_some_and(|f| f & 0x01 != 0) {
                    probe.has_alpha = true;
                }
                match skip_sub_blocks(bytes, at + 2) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            0x3B => break,
            _ => break,
        }
    }
    if frames == 0 {
        return Err(corrupt("the GIF has no image"));
    }
    probe.animated = frames > 1;
    Ok(probe)
}

/// Skips a chain of GIF data sub-blocks starting at `at`; returns the offset
/// after the terminator.
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let size = usize::from(*bytes.get(at)?);
        at += 1;
        if size == 0 {
            return Some(at);
        }
        at += size;
    }
}

/// Decodes the first frame, or with `request.animate` every frame within
/// the limits, composited.
pub fn decode(bytes: &[u8], _probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let mut frames = Vec::new();
    let loops = stream(bytes, request.animate, &request.limits, &mut |frame| {
        frames.push(frame);
        Ok(())
    })?;
    super::assemble(frames, loops, ImageFormat::Gif)
}

/// Decodes a GIF frame by frame (only the first unless `animate`),
/// compositing onto one RGBA canvas and handing each composited frame to
/// `each`: RGB when the canvas is opaque everywhere, so that a GIF without
/// transparency travels as cheaply as a JPEG would, else RGBA.
pub fn stream(
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
        each(super::frame(
            width as u32,
            height as u32,
            channels,
            data,
            u32::from(frame.delay) * 10,
        )?)?;
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

/// Rows mapped to the palette between two deadline checks (mapping costs
/// about a microsecond a pixel).
const ROWS_PER_CHECK: usize = 16;

/// Maps one pixel to its palette index.
type IndexOf = Box<dyn Fn(&[u8]) -> u8>;

/// One GIF frame: a palette of at most 256 entries (the last one reserved
/// for transparency when any pixel is transparent) and the index buffer.
fn encode_frame(frame: &Frame) -> Result<gif::Frame<'static>, PipelineError> {
    let f = ImageFormat::Gif;
    let n = frame.channels().count();
    let transparent_at = |px: &[u8]| px.get(3).is_some_and(|&a| a < ALPHA_THRESHOLD);
    let has_transparent = frame.data().chunks_exact(n).any(transparent_at);
    let colours = if has_transparent { 255 } else { 256 };
    // Opaque pixels as RGBA, the layout both quantisers take.
    let opaque: Vec<u8> = frame
        .data()
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
            let samplefac = (opaque.len() / 4 / QUANT_SAMPLES).clamp(1, QUANT_MAX_SAMPLEFAC);
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
    let mut buffer: Vec<u8> = Vec::with_capacity(frame.data().len() / n);
    for rows in frame.data().chunks(frame.width() as usize * n * ROWS_PER_CHECK) {
        deadline::check()?;
        buffer.extend(rows.chunks_exact(n).map(&map));
    }
    Ok(gif::Frame {
        width: side_u16(f, frame.width())?,
        height: side_u16(f, frame.height())?,
        buffer: buffer.into(),
        palette: Some(palette),
        transparent,
        // Frames are fully composited: each one replaces the last, so the
        // area it leaves transparent must be cleared, not show the previous.
        dispose: gif::DisposalMethod::Background,
        // GIF delays are in hundredths of a second.
        delay: u16::try_from(frame.delay_ms().div_ceil(10)).unwrap_or(u16::MAX),
        ..gif::Frame::default()
    })
}

/// Encodes a still or an animation (its loop count and frame delays kept).
pub fn encode(image: &Image) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Gif;
    let (w, h) = (side_u16(f, image.width())?, side_u16(f, image.height())?);
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, w, h, &[]).map_err(|e| encode_error(f, e))?;
        if image.is_animated() {
            let repeat = match image.loops() {
                0 => gif::Repeat::Infinite,
                n => gif::Repeat::Finite(n),
            };
            encoder.set_repeat(repeat).map_err(|e| encode_error(f, e))?;
        }
        for frame in image.frames() {
            let frame = encode_frame(frame)?;
            encoder.write_frame(&frame).map_err(|e| encode_error(f, e))?;
        }
        encoder.into_inner().map_err(|e| encode_error(f, e))?;
    }
    Ok(out)
}
