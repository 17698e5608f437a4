//! TIFF: the first page, read by the `tiff` crate (pure Rust).
//!
//! The probe reads the first image file directory (IFD) alone: size,
//! samples, the orientation tag and the ICC profile, so that the pixel limit
//! is applied before any strip is read. The crate bounds what an IFD may
//! claim (each tag value at most [`IFD_VALUE_BYTES`], so a strip table of
//! millions of entries is refused at once) and refuses IFD chains that loop;
//! its buffers are held to the decoder budget. Shrink-on-load: the probe
//! also walks the IFD chain (at most [`MAX_PAGES`] directories, tags only)
//! for reduced-resolution versions of the first page (`NewSubfileType` bit
//! 0, same colour type, same aspect ratio), as pyramid TIFFs from scanners
//! and print workflows carry them, and the decoder reads the smallest one
//! that still leaves the resampler the margin a JPEG's DCT scaling gets
//! ([`decoded_size`]). Other pages are never read. Pixels end as
//! 8-bit RGB or RGBA: grey is widened, 16-bit narrowed with rounding, CMYK
//! inverted without a profile; alpha is kept as stored (associated alpha is
//! not divided out). Compression: none, PackBits, LZW and Deflate; a
//! JPEG-compressed TIFF is refused as corrupt.

use std::io::Cursor;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits as TiffLimits};
use tiff::tags::Tag;

use super::{Header, MAX_ICC_BYTES, budget_usize, corrupt};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

/// Most bytes of one IFD tag value (a strip table, a colour map, a
/// profile): the crate's own default, which a 12 MP image with one row
/// per strip (3000 offsets) is far from, and which stops a claimed strip
/// count of millions before it is read.
const IFD_VALUE_BYTES: usize = 1024 * 1024;

/// Most image file directories the probe walks looking for reduced pages.
const MAX_PAGES: usize = 32;

/// A reduced-resolution page of the first page: its index in the IFD chain
/// and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReducedPage {
    index: usize,
    width: u32,
    height: u32,
}

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
    let colour = decoder.colortype().map_err(tiff_error)?;
    probe.has_alpha = matches!(
        colour,
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
    let reduced = reduced_pages(&mut decoder, (width, height), colour);
    if !reduced.is_empty() {
        probe.header = Header::Tiff(reduced);
    }
    Ok(probe)
}

/// The reduced-resolution pages of the first page (the decoder is on it),
/// largest first. A directory that cannot be read ends the walk: the pages
/// found so far stay usable, and the first page always is.
fn reduced_pages(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    (width, height): (u32, u32),
    colour: ColorType,
) -> Vec<ReducedPage> {
    let mut pages = Vec::new();
    let mut index = 0;
    while index + 1 < MAX_PAGES && decoder.more_images() {
        if decoder.next_image().is_err() {
            break;
        }
        index += 1;
        let Ok((w, h)) = decoder.dimensions() else {
            break;
        };
        let reduced = decoder
            .find_tag_unsigned::<u32>(Tag::NewSubfileType)
            .ok()
            .flatten()
            .is_some_and(|kind| kind & 1 == 1);
        // The same picture: smaller on both sides, the aspect ratio within a
        // pixel's rounding, the same samples.
        let same_shape = w >= 1
            && h >= 1
            && w < width
            && h < height
            && (u64::from(w) * u64::from(height)).abs_diff(u64::from(h) * u64::from(width))
                <= u64::from(width.max(height));
        if reduced && same_shape && decoder.colortype().ok() == Some(colour) {
            pages.push(ReducedPage {
                index,
                width: w,
                height: h,
            });
        }
    }
    pages.sort_by_key(|page| std::cmp::Reverse(page.width));
    pages
}

/// The page [`decode`] reads for `request` and its size: the smallest
/// reduced page that is at least the size the resampler needs times the
/// shrink margin (as for a JPEG's DCT scale), else the first page.
fn chosen_page(probe: &Probe, request: &DecodeRequest) -> Option<ReducedPage> {
    let Header::Tiff(pages) = &probe.header else {
        return None;
    };
    let margin = request.shrink_margin;
    if !(margin.is_finite() && margin >= 1.0) {
        return None;
    }
    let need_w = f64::from(probe.width) * request.min_scale * margin;
    let need_h = f64::from(probe.height) * request.min_scale * margin;
    pages
        .iter()
        .rev()
        .find(|page| f64::from(page.width) >= need_w && f64::from(page.height) >= need_h)
        .copied()
}

/// The size [`decode`] produces for `request`.
pub fn decoded_size(probe: &Probe, request: &DecodeRequest) -> (u32, u32) {
    chosen_page(probe, request).map_or((probe.width, probe.height), |page| (page.width, page.height))
}

/// Decodes the first page, or the reduced page of it that `request` allows,
/// to 8-bit RGB or RGBA.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let mut decoder = decoder(bytes, budget_usize(&request.limits))?;
    let page = chosen_page(probe, request);
    if let Some(page) = page {
        decoder.seek_to_image(page.index).map_err(tiff_error)?;
        if decoder.dimensions().map_err(tiff_error)? != (page.width, page.height) {
            return Err(corrupt("the TIFF's reduced page changed size"));
        }
    }
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
    let (width, height) = page.map_or((probe.width, probe.height), |page| (page.width, page.height));
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

    /// A pyramid: a `width x height` blue first page, then each of `pages`
    /// (size, `NewSubfileType`) in green, so a test can tell which was read.
    fn pyramid(width: u32, height: u32, pages: &[((u32, u32), u32)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut encoder = TiffEncoder::new(&mut out).unwrap();
        let blue: Vec<u8> = [0, 0, 255].repeat((width * height) as usize);
        encoder
            .write_image::<colortype::RGB8>(width, height, &blue)
            .unwrap();
        for &((w, h), kind) in pages {
            let mut image = encoder.new_image::<colortype::RGB8>(w, h).unwrap();
            image.encoder().write_tag(Tag::NewSubfileType, kind).unwrap();
            image.write_data(&[0, 255, 0].repeat((w * h) as usize)).unwrap();
        }
        out.into_inner()
    }

    fn scaled(min_scale: f64, margin: f64) -> DecodeRequest {
        DecodeRequest {
            min_scale,
            shrink_margin: margin,
            ..request()
        }
    }

    #[test]
    fn the_smallest_reduced_page_that_is_large_enough_is_read() {
        let file = pyramid(400, 300, &[((200, 150), 1), ((100, 75), 1), ((50, 38), 1)]);
        let p = sniff(&file).unwrap();
        assert_eq!((p.width, p.height), (400, 300));
        let read = |request: &DecodeRequest| {
            let image = crate::pipeline::decode::decode(&file, &p, request).unwrap();
            assert_eq!((image.width(), image.height()), decoded_size(&p, request));
            (
                image.width(),
                image.height(),
                image.frames()[0].data()[..3].to_vec(),
            )
        };
        // Full size asked: the first (blue) page.
        assert_eq!(read(&scaled(1.0, 2.0)), (400, 300, vec![0, 0, 255]));
        // 60 px of 400 with a margin of 2 needs 120: the 200 px page, not the 100.
        assert_eq!(read(&scaled(0.15, 2.0)), (200, 150, vec![0, 255, 0]));
        // 40 px with a margin of 1.25 needs 50: the smallest page.
        assert_eq!(read(&scaled(0.1, 1.25)), (50, 38, vec![0, 255, 0]));
        // No shrink-on-load (an infinite margin): the first page.
        assert_eq!(read(&scaled(0.1, f64::INFINITY)), (400, 300, vec![0, 0, 255]));
    }

    #[test]
    fn pages_that_are_not_reduced_versions_of_the_first_are_ignored() {
        // A second full page (kind 0), a reduced page of another shape, one
        // larger than the first: none is a reduced version of the first page.
        let file = pyramid(400, 300, &[((100, 75), 0), ((100, 100), 1), ((800, 600), 1)]);
        let p = sniff(&file).unwrap();
        assert!(matches!(p.header, Header::Other), "{:?}", p.header);
        let image = crate::pipeline::decode::decode(&file, &p, &scaled(0.1, 1.0)).unwrap();
        assert_eq!((image.width(), image.height()), (400, 300));
    }

    #[test]
    fn a_pyramid_through_the_pipeline_reads_a_reduced_page() {
        let file = pyramid(400, 300, &[((100, 75), 1)]);
        let plan = crate::options::Plan::parse("w_40", &crate::options::GrammarLimits::default()).unwrap();
        let (encoded, _) = Pipeline::new(Limits::default())
            .run(
                &file,
                &plan,
                crate::pipeline::OutputChoice::Fixed(crate::format::ImageFormat::Png),
                None,
            )
            .unwrap();
        assert_eq!((encoded.width, encoded.height), (40, 30));
        // Green: the reduced page was read, not the blue first page.
        let decoded = image_rgb(&encoded.bytes);
        assert_eq!(decoded.len(), 40 * 30 * 3);
        assert_eq!(&decoded[..3], &[0, 255, 0]);
    }

    fn image_rgb(png_bytes: &[u8]) -> Vec<u8> {
        let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        buf
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
