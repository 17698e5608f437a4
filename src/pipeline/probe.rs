//! Probe: the format and size of a source, read from its header alone.
//!
//! Runs before any pixel is decoded so that a decompression bomb (a tiny file
//! claiming 65000x65000 pixels) is refused without allocating its image. The
//! parsers here walk the container structure (JPEG markers, PNG chunks, GIF
//! blocks, RIFF chunks) by hand: every read is bounds-checked, nothing is
//! allocated in proportion to the claimed pixel count, and the only
//! allocations are the (bounded) ICC profile.

use super::{Limits, PipelineError};
use crate::format::ImageFormat;

/// Largest ICC profile kept. Real profiles are a few hundred bytes to a few
/// hundred kilobytes; anything bigger is either hostile or not worth
/// honouring, and is ignored (the image is then treated as sRGB).
const MAX_ICC_BYTES: usize = 4 * 1024 * 1024;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub format: ImageFormat,
    /// Stored width and height, before EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// Whether the image may have transparency (an alpha channel or a
    /// transparent palette entry).
    pub has_alpha: bool,
    /// EXIF orientation 1..=8 (1 when absent).
    pub orientation: u8,
    /// Embedded ICC profile, if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Whether the file holds more than one frame.
    pub animated: bool,
}

impl Probe {
    /// Refuses a source whose header is over the pixel limit.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), PipelineError> {
        let pixels = u64::from(self.width) * u64::from(self.height);
        if pixels > limits.max_src_pixels {
            return Err(PipelineError::TooManyPixels {
                width: self.width,
                height: self.height,
                pixels,
                max: limits.max_src_pixels,
            });
        }
        Ok(())
    }

    fn new(format: ImageFormat, width: u32, height: u32) -> Result<Probe, PipelineError> {
        if width == 0 || height == 0 {
            return Err(corrupt(format!("the header gives a size of {width}x{height}")));
        }
        Ok(Probe {
            format,
            width,
            height,
            has_alpha: false,
            orientation: 1,
            icc_profile: None,
            animated: false,
        })
    }
}

/// Sniffs the format from the bytes and reads the header.
pub fn probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        probe_jpeg(bytes)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        probe_png(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        probe_gif(bytes)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        probe_webp(bytes)
    } else {
        // AVIF/HEIF (`ftyp` boxes) and everything else: not decoded here.
        Err(PipelineError::UnsupportedFormat)
    }
}

fn corrupt(message: impl Into<String>) -> PipelineError {
    PipelineError::Corrupt(message.into())
}

fn truncated() -> PipelineError {
    corrupt("the header is truncated")
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

// ---------------------------------------------------------------- JPEG

/// The APP2 identifier of an ICC profile chunk.
const JPEG_ICC_ID: &[u8] = b"ICC_PROFILE\0";

/// Facts from the JPEG marker stream that decoding also needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegHeader {
    pub width: u16,
    pub height: u16,
    pub components: u8,
    /// Bits per sample (8 for nearly every JPEG; 12, or 2-16 when lossless).
    pub precision: u8,
    /// The APP14 "Adobe" segment's transform byte, when present: Adobe
    /// writers store CMYK inverted, which the decoder must know.
    pub adobe_transform: Option<u8>,
}

/// Walks the JPEG markers up to the first scan, calling `segment` for each
/// APPn segment with its marker and payload.
pub(crate) fn jpeg_header<'a>(
    bytes: &'a [u8],
    mut segment: impl FnMut(u8, &'a [u8]),
) -> Result<JpegHeader, PipelineError> {
    let mut at = 2;
    let mut frame: Option<(u16, u16, u8, u8)> = None;
    let mut adobe_transform = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *bytes.get(at).ok_or_else(truncated)? != 0xFF {
            return Err(corrupt("expected a JPEG marker"));
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        at += 1;
        match marker {
            // Markers without a payload.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => continue,
            0xD9 => break,
            _ => {}
        }
        let length = usize::from(be16(bytes, at).ok_or_else(truncated)?);
        if length < 2 {
            return Err(corrupt("a JPEG segment has an invalid length"));
        }
        let payload = bytes.get(at + 2..at + length).ok_or_else(truncated)?;
        at += length;
        match marker {
            // SOFn; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if frame.is_some() {
                    return Err(corrupt("the JPEG has more than one frame header"));
                }
                let precision = *payload.first().ok_or_else(truncated)?;
                let height = be16(payload, 1).ok_or_else(truncated)?;
                let width = be16(payload, 3).ok_or_else(truncated)?;
                let components = *payload.get(5).ok_or_else(truncated)?;
                if !(2..=16).contains(&precision) {
                    return Err(corrupt(format!("invalid JPEG sample precision {precision}")));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(PipelineError::UnsupportedFormat);
                }
                frame = Some((width, height, components, precision));
            }
            0xDA => break,
            0xEE if payload.starts_with(b"Adobe") => {
                adobe_transform = payload.get(11).copied();
            }
            0xE0..=0xEF => segment(marker, payload),
            _ => {}
        }
    }
    let (width, height, components, precision) =
        frame.ok_or_else(|| corrupt("the JPEG has no frame header"))?;
    Ok(JpegHeader {
        width,
        height,
        components,
        precision,
        adobe_transform,
    })
}

fn probe_jpeg(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let mut orientation = None;
    // (sequence number, chunk count, data) of each ICC chunk.
    let mut icc_chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    let header = jpeg_header(bytes, |marker, payload| match marker {
        0xE1 if orientation.is_none() => {
            if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                orientation = exif_orientation(tiff);
            }
        }
        0xE2 => {
            if let Some(rest) = payload.strip_prefix(JPEG_ICC_ID)
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

// ---------------------------------------------------------------- EXIF

/// Reads the orientation tag (0x0112) from IFD0 of a TIFF structure.
/// Returns `None` when absent, malformed or out of the 1..=8 range.
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

// ---------------------------------------------------------------- PNG

pub(crate) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn probe_png(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let mut at = PNG_SIGNATURE.len();
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
            b"iCCP" => p.icc_profile = png_icc(data),
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
fn png_icc(data: &[u8]) -> Option<Vec<u8>> {
    let nul = data.iter().take(80).position(|b| *b == 0)?;
    let compressed = data.get(nul + 2..)?;
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_ICC_BYTES).ok()
}

// ---------------------------------------------------------------- GIF

fn probe_gif(bytes: &[u8]) -> Result<Probe, PipelineError> {
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

// ---------------------------------------------------------------- WebP

fn probe_webp(bytes: &[u8]) -> Result<Probe, PipelineError> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A PNG chunk with its CRC.
    pub(crate) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

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

    fn png_header(width: u32, height: u32, colour_type: u8) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, colour_type, 0, 0, 0]);
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend(png_chunk(b"IHDR", &ihdr));
        png
    }

    #[test]
    fn huge_png_is_refused_from_its_header_quickly() {
        let mut png = png_header(20_000, 20_000, 2);
        png.extend(png_chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        let started = Instant::now();
        let probe = probe(&png).unwrap();
        assert_eq!((probe.width, probe.height), (20_000, 20_000));
        assert!(matches!(
            probe.check_limits(&Limits::default()),
            Err(PipelineError::TooManyPixels {
                pixels: 400_000_000,
                ..
            })
        ));
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn huge_jpeg_is_refused_from_its_header_quickly() {
        // SOI, SOF0 claiming 65000x65000 with 3 components, then EOI.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8];
        jpeg.extend_from_slice(&65000u16.to_be_bytes());
        jpeg.extend_from_slice(&65000u16.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        let started = Instant::now();
        let probe = probe(&jpeg).unwrap();
        assert_eq!((probe.width, probe.height), (65000, 65000));
        assert!(probe.check_limits(&Limits::default()).is_err());
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn png_metadata_is_read() {
        let mut png = png_header(3, 2, 6);
        png.extend(png_chunk(b"eXIf", &exif_tiff(6)));
        let profile = b"not really a profile but bytes".to_vec();
        let mut iccp = b"icc\0\0".to_vec();
        iccp.extend(miniz_oxide::deflate::compress_to_vec_zlib(&profile, 6));
        png.extend(png_chunk(b"iCCP", &iccp));
        png.extend(png_chunk(b"IEND", &[]));
        let probe = probe(&png).unwrap();
        assert_eq!(probe.format, ImageFormat::Png);
        assert!(probe.has_alpha);
        assert_eq!(probe.orientation, 6);
        assert_eq!(probe.icc_profile, Some(profile));
    }

    #[test]
    fn jpeg_exif_and_multi_segment_icc_are_read() {
        let mut jpeg = vec![0xFF, 0xD8];
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(exif_tiff(8));
        let mut segment = |marker: u8, payload: &[u8]| {
            jpeg.extend_from_slice(&[0xFF, marker]);
            jpeg.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
            jpeg.extend_from_slice(payload);
        };
        segment(0xE1, &app1);
        // Chunks out of order: they are joined by sequence number.
        segment(0xE2, b"ICC_PROFILE\0\x02\x02world");
        segment(0xE2, b"ICC_PROFILE\0\x01\x02hello ");
        segment(0xC0, &[8, 0, 20, 0, 30, 1, 1, 0x11, 0]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        let probe = probe(&jpeg).unwrap();
        assert_eq!((probe.width, probe.height), (30, 20));
        assert_eq!(probe.orientation, 8);
        assert_eq!(probe.icc_profile.as_deref(), Some(&b"hello world"[..]));
    }

    #[test]
    fn webp_headers_are_read() {
        // VP8L: 1-byte signature then 14-bit (w-1), 14-bit (h-1), alpha bit.
        let bits: u32 = 99 | (49 << 14) | (1 << 28);
        let mut data = vec![0x2F];
        data.extend_from_slice(&bits.to_le_bytes());
        let mut webp = b"RIFF\0\0\0\0WEBPVP8L".to_vec();
        webp.extend_from_slice(&(data.len() as u32).to_le_bytes());
        webp.extend(data);
        let p = probe(&webp).unwrap();
        assert_eq!((p.width, p.height, p.has_alpha), (100, 50, true));

        // VP8X with animation + alpha + EXIF flags, canvas 640x480.
        let mut vp8x = vec![0x10 | 0x08 | 0x02, 0, 0, 0];
        vp8x.extend_from_slice(&639u32.to_le_bytes()[..3]);
        vp8x.extend_from_slice(&479u32.to_le_bytes()[..3]);
        let exif = exif_tiff(3);
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.extend_from_slice(&10u32.to_le_bytes());
        webp.extend(vp8x);
        webp.extend_from_slice(b"EXIF");
        webp.extend_from_slice(&(exif.len() as u32).to_le_bytes());
        webp.extend(exif);
        let p = probe(&webp).unwrap();
        assert_eq!((p.width, p.height), (640, 480));
        assert!(p.animated && p.has_alpha);
        assert_eq!(p.orientation, 3);
    }

    #[test]
    fn unknown_and_avif_are_unsupported() {
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(probe(avif), Err(PipelineError::UnsupportedFormat));
        assert_eq!(probe(b"BM\0\0\0\0"), Err(PipelineError::UnsupportedFormat));
        assert_eq!(probe(b""), Err(PipelineError::UnsupportedFormat));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut png = png_header(3, 2, 2);
        png.extend(png_chunk(b"IEND", &[]));
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 20, 0, 30, 1, 1, 0x11, 0];
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        let gif =
            b"GIF89a\x02\0\x02\0\x80\0\0\0\0\0\xff\xff\xff\x2c\0\0\0\0\x02\0\x02\0\0\x02\x02\x44\x01\0\x3b";
        for file in [&png[..], &jpeg[..], &gif[..]] {
            assert!(probe(file).is_ok());
            for cut in 0..file.len() - 1 {
                // Must not panic; most cuts are errors.
                let _ = probe(&file[..cut]);
            }
        }
        assert!(probe(&png[..20]).is_err());
        assert!(probe(&jpeg[..8]).is_err());
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
