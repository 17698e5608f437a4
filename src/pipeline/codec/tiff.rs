//! TIFF: the first page, read by the `tiff` crate (pure Rust).
//!
//! The probe reads the first image file directory (IFD) alone: size,
//! samples, the orientation tag and the ICC profile, so that the pixel limit
//! is applied before any strip is read. The crate bounds what an IFD may
//! claim (each tag value at most [`IFD_VALUE_BYTES`], so a strip table of
//! millions of entries is refused at once) and refuses IFD chains that loop;
//! its buffers are held to the decoder budget. Pages after the first and
//! reduced-resolution pages are not read (no shrink-on-load). Pixels end as
//! 8-bit RGB or RGBA: grey is widened, 16-bit narrowed with rounding, CMYK
//! inverted without a profile; alpha is kept as stored (associated alpha is
//! not divided out). Compression: none, PackBits, LZW and Deflate; a
//! JPEG-compressed TIFF is refused as corrupt.

use std::io::Cursor;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits as TiffLimits};
use tiff::tags::Tag;

use super::{MAX_ICC_BYTES, budget_usize, corrupt};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

/// Most bytes of one IFD tag value (a strip table, a colour map, a
/// profile): the crate's own default, which a 12 MP image with one row
/// per strip (3000 offsets) is far from, and which stops a claimed strip
/// count of millions before it is read.
const IFD_VALUE_BYTES: usize = 1024 * 1024;

/// Recognises a TIFF (classic or BigTIFF, either byte order); `None` when
/// `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    let signature = bytes.get(..4)?;
    matches!(signature, b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+").then(|| read_probe(bytes))
}

fn tiff_error(e: tiff::TiffError) -> PipelineError {
    corrupt(format!("TIFF: {e}"))
}

fn decoder(bytes: &[u8], buffer_bytes: usize) -> Result<Decoder<Cursor<&[u8]>>, PipelineError> {
    let mut limits = TiffLimits::default();
    limits.decoding_buffer_size = buffer_bytes;
    limits.intermediate_buffer_size = buffer_bytes;
    limits.ifd_value_size = IFD_VALUE_BYTES;
    Ok(Decoder::new(Cursor::new(bytes))
        .map_err(tiff_error)?
        .with_limits(limits))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    // Nothing is decoded here: the buffer limit only guards tag values.
    let mut decoder = decoder(bytes, IFD_VALUE_BYTES)?;
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    let mut probe = Probe::new(SourceFormat::Tiff, width, height)?;
    probe.has_alpha = matches!(
        decoder.colortype().map_err(tiff_error)?,
        ColorType::GrayA(_) | ColorType::RGBA(_) | ColorType::CMYKA(_)
    );
    probe.orientation = decoder
        .find_tag_unsigned::<u16>(Tag::Orientation)
        .ok()
        .flatten()
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1);
    probe.icc_profile = decoder
        .find_tag(Tag::IccProfile)
        .ok()
        .flatten()
        .and_then(|v| v.into_u8_vec().ok())
        .filter(|p| p.len() <= MAX_ICC_BYTES);
    Ok(probe)
}

/// Decodes the first page to 8-bit RGB or RGBA.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let mut decoder = decoder(bytes, budget_usize(&request.limits))?;
    let colour = decoder.colortype().map_err(tiff_error)?;
    deadline::check()?;
    // One library call for the page: the deadline is checked around it.
    let samples = match decoder.read_image().map_err(tiff_error)? {
        DecodingResult::U8(v) => v,
        // 16 -> 8 bits with rounding (x * 255 / 65535).
        DecodingResult::U16(v) => v
            .iter()
            .map(|&s| ((u32::from(s) * 255 + 32767) / 65535) as u8)
            .collect(),
        _ => {
            return Err(corrupt(
                "TIFF samples other than 8 or 16-bit integers are not read",
            ));
        }
    };
    deadline::check()?;
    let (width, height) = (probe.width, probe.height);
    let pixels = width as usize * height as usize;
    let (channels, data) = match colour {
        ColorType::Gray(8 | 16) => (Channels::Rgb, super::grey_to_rgb(&samples)),
        ColorType::GrayA(8 | 16) => (Channels::Rgba, super::grey_alpha_to_rgba(&samples)),
        ColorType::RGB(8 | 16) => (Channels::Rgb, samples),
        ColorType::RGBA(8 | 16) => (Channels::Rgba, samples),
        ColorType::CMYK(8) => (Channels::Rgb, cmyk_to_rgb(&samples)),
        other => return Err(corrupt(format!("TIFF colour type {other:?} is not read"))),
    };
    if data.len() != pixels * channels.count() {
        return Err(corrupt("the TIFF decoded to an unexpected size"));
    }
    if channels == Channels::Rgba && data.chunks_exact(4).all(|p| p[3] == u8::MAX) {
        let rgb = data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        return super::still(width, height, Channels::Rgb, rgb);
    }
    super::still(width, height, channels, data)
}

/// CMYK without a profile: each channel inverted and multiplied by K.
fn cmyk_to_rgb(samples: &[u8]) -> Vec<u8> {
    samples
        .chunks_exact(4)
        .flat_map(|p| {
            let k = 255 - u32::from(p[3]);
            let c = |v: u8| ((255 - u32::from(v)) * k / 255) as u8;
            [c(p[0]), c(p[1]), c(p[2])]
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pipeline::probe::probe as sniff;
    use crate::pipeline::{Limits, Pipeline};
    use tiff::encoder::{TiffEncoder, colortype};

    /// A TIFF of 16-bit RGB samples with an orientation tag.
    fn rgb16(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut out).unwrap();
        let mut image = encoder.new_image::<colortype::RGB16>(width, height).unwrap();
        image.encoder().write_tag(Tag::Orientation, orientation).unwrap();
        let data: Vec<u16> = (0..width * height)
            .flat_map(|i| {
                if i % width < width / 2 {
                    [65535, 0, 0]
                } else {
                    [0, 0, 32896]
                }
            })
            .collect();
        image.write_data(&data).unwrap();
        out.into_inner()
    }

    /// A hand-written little-endian TIFF: one IFD of `entries` (tag, type,
    /// count, value), then `tail` bytes; the next-IFD pointer is `next`.
    pub(crate) fn handmade(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
        let mut out = b"II*\0".to_vec();
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for &(tag, kind, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&next.to_le_bytes());
        out
    }

    fn request() -> DecodeRequest {
        Pipeline::new(Limits::default()).decode_request(1.0, false)
    }

    #[test]
    fn sixteen_bit_rgb_is_narrowed_and_the_orientation_read() {
        let file = rgb16(4, 2, 6);
        let p = sniff(&file).unwrap();
        assert_eq!(
            (p.format, p.width, p.height, p.orientation),
            (SourceFormat::Tiff, 4, 2, 6)
        );
        let image = crate::pipeline::decode::decode(&file, &p, &request()).unwrap();
        assert_eq!(image.channels(), Channels::Rgb);
        assert_eq!(&image.frames()[0].data()[..3], &[255, 0, 0]);
        assert_eq!(&image.frames()[0].data()[9..12], &[0, 0, 128]);
    }

    #[test]
    fn huge_ifd_claims_are_refused_fast() {
        // 100000 x 100000, 8-bit grey, one strip: refused from the IFD.
        let bomb = handmade(
            &[
                (256, 4, 1, 100_000),
                (257, 4, 1, 100_000),
                (258, 3, 1, 8),
                (262, 3, 1, 1),
                (273, 4, 1, 8),
                (279, 4, 1, 1),
            ],
            0,
        );
        let started = std::time::Instant::now();
        let p = sniff(&bomb).unwrap();
        assert!(matches!(
            p.check_limits(&Limits::default()),
            Err(PipelineError::TooManyPixels { .. })
        ));
        // 100 million strips claimed in a small file.
        let strips = handmade(
            &[
                (256, 4, 1, 64),
                (257, 4, 1, 100_000_000),
                (258, 3, 1, 8),
                (262, 3, 1, 1),
                (273, 4, 100_000_000, 8),
                (278, 4, 1, 1),
                (279, 4, 100_000_000, 8),
            ],
            0,
        );
        let result = sniff(&strips).and_then(|p| crate::pipeline::decode::decode(&strips, &p, &request()));
        assert!(result.is_err());
        // An IFD chain that points back at itself.
        let looped = handmade(
            &[
                (256, 4, 1, 1),
                (257, 4, 1, 1),
                (258, 3, 1, 8),
                (262, 3, 1, 1),
                (273, 4, 1, 8),
                (279, 4, 1, 1),
            ],
            8,
        );
        if let Ok(p) = sniff(&looped) {
            let _ = crate::pipeline::decode::decode(&looped, &p, &request());
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = rgb16(6, 3, 1);
        for cut in 0..file.len() {
            if let Ok(p) = sniff(&file[..cut]) {
                assert!(
                    crate::pipeline::decode::decode(&file[..cut], &p, &request()).is_err(),
                    "{cut}"
                );
            }
        }
    }
}
