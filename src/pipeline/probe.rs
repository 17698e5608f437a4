//! Probe: the format and size of a source, read from its header alone.
//!
//! Runs before any pixel is decoded so that a decompression bomb (a tiny file
//! claiming 65000x65000 pixels) is refused without allocating its image.
//! [`probe`] dispatches to the codec that recognises the signature; each
//! codec's parser walks its container structure (JPEG markers, PNG chunks,
//! GIF blocks, RIFF chunks) by hand: every read is bounds-checked, nothing
//! is allocated in proportion to the claimed pixel count, and the only
//! allocations are the (bounded) ICC profile. What a header tells the
//! decoder too travels in [`Probe`], so that it is parsed once.

use super::codec::{self, Header, corrupt};
use super::{Limits, PipelineError};
use crate::format::SourceFormat;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The format sniffed from the bytes.
    pub format: SourceFormat,
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
    /// What the codec's decoder needs from the header again.
    pub(crate) header: Header,
}

impl Probe {
    /// Refuses a source whose header is over the pixel limit.
    /// A vector source has no pixels of its own: its rendered size is held
    /// to the same limits by its renderer, once the layout gives that size.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), PipelineError> {
        if self.format.is_vector() {
            return Ok(());
        }
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

    /// A probe of a `width x height` image with no alpha, orientation,
    /// profile or animation yet; a zero side is a corrupt header.
    pub(crate) fn new(
        format: impl Into<SourceFormat>,
        width: u32,
        height: u32,
    ) -> Result<Probe, PipelineError> {
        if width == 0 || height == 0 {
            return Err(corrupt(format!("the header gives a size of {width}x{height}")));
        }
        Ok(Probe {
            format: format.into(),
            width,
            height,
            has_alpha: false,
            orientation: 1,
            icc_profile: None,
            animated: false,
            header: Header::Other,
        })
    }
}

/// Sniffs the format from the bytes and reads the header: one line per
/// format, each codec recognising its own signature.
pub fn probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    None.or_else(|| codec::jpeg::probe(bytes))
        .or_else(|| codec::png::probe(bytes))
        .or_else(|| codec::gif::probe(bytes))
        .or_else(|| codec::webp::probe(bytes))
        .or_else(|| codec::bmp::probe(bytes))
        .or_else(|| codec::ico::probe(bytes))
        .or_else(|| codec::tiff::probe(bytes))
        .or_else(|| codec::jxl::probe(bytes))
        // AVIF before HEIF: AVIF files list the generic HEIF brand too.
        .or_else(|| codec::avif::probe(bytes))
        .or_else(|| codec::heif::probe(bytes))
        // Text formats last: the binary signatures above are exact.
        .or_else(|| codec::svg::probe(bytes))
        .unwrap_or(Err(PipelineError::UnsupportedFormat))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::format::ImageFormat;
    use crate::pipeline::codec::png::SIGNATURE as PNG_SIGNATURE;
    use crate::pipeline::codec::tests::exif_tiff;
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
    fn unknown_is_unsupported_and_bare_heif_brands_are_corrupt() {
        // AVIF and HEIC are recognised by their brands; a file with no image
        // description after `ftyp` is a damaged one of them.
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert!(matches!(probe(avif), Err(PipelineError::Corrupt(_))));
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert!(matches!(probe(heic), Err(PipelineError::Corrupt(_))));
        // An MP4 video is an ISO-BMFF file too, but not an image.
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomavc1";
        assert_eq!(probe(mp4), Err(PipelineError::UnsupportedFormat));
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
}
