//! JPEG XL: the signatures, the header probe and the decoder (`jxl-oxide`,
//! pure Rust).
//!
//! The probe reads the image header alone (size, orientation, alpha,
//! animation, colour encoding and the embedded ICC profile) so that the
//! pixel limit applies before any pixel is decoded. The decoder renders the
//! first frame (an animated JPEG XL gives its first frame: resizer writes
//! animations only from GIF and WebP sources) on one thread, its buffers
//! counted by jxl-oxide's allocation tracker against the decoder budget.
//!
//! jxl-oxide applies the orientation as it writes the pixels out, so the
//! probe reports the oriented size and orientation 1. Colour: an XYB-coded
//! image (every lossy JPEG XL) or one described by an enumerated colour
//! encoding is rendered straight to sRGB by jxl-oxide, which tone-maps HDR
//! (PQ, HLG) to SDR with the BT.2408 curve; an image stored in the colour
//! space of an embedded ICC profile is rendered as stored and converted by
//! the pipeline's colour stage like any tagged source. High-bit-depth
//! samples are rounded to 8 bits. There is no shrink-on-load: jxl-oxide
//! always renders the full size.

use jxl_oxide::{AllocTracker, EnumColourEncoding, InitializeResult, JxlImage, RenderingIntent};

use super::{MAX_ICC_BYTES, budget_usize, corrupt};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

/// A bare codestream starts with these two bytes.
const CODESTREAM: &[u8] = &[0xFF, 0x0A];

/// The ISO-BMFF container's signature box.
const CONTAINER: &[u8] = &[0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A];

/// Bytes the probe lets jxl-oxide allocate: it reads headers (and a preview
/// frame's header) only, so this is far from reached by real files.
const PROBE_BYTES: usize = 64 * 1024 * 1024;

/// Recognises a JPEG XL codestream or container; `None` when `bytes` are
/// not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    (bytes.starts_with(CODESTREAM) || bytes.starts_with(CONTAINER)).then(|| read_probe(bytes))
}

fn jxl_error(e: impl std::fmt::Display) -> PipelineError {
    corrupt(format!("JPEG XL: {e}"))
}

/// Parses the headers of `bytes` under an allocation limit of `budget`.
fn open(bytes: &[u8], budget: usize) -> Result<JxlImage, PipelineError> {
    let mut uninit = JxlImage::builder()
        .alloc_tracker(AllocTracker::with_limit(budget))
        .build_uninit();
    uninit.feed_bytes(bytes).map_err(jxl_error)?;
    match uninit.try_init().map_err(jxl_error)? {
        InitializeResult::Initialized(mut image) => {
            image.finalize().map_err(jxl_error)?;
            Ok(image)
        }
        InitializeResult::NeedMoreData(_) => Err(super::truncated()),
    }
}

/// Whether the pixels are stored in the space of the embedded ICC profile
/// (then the pipeline converts them); else jxl-oxide renders sRGB itself.
fn keeps_icc(image: &JxlImage) -> bool {
    image.original_icc().is_some() && !image.image_header().metadata.xyb_encoded
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let image = match open(bytes, PROBE_BYTES) {
        Ok(image) => image,
        // jxl-oxide reads the first frame's header too, and refuses one that
        // is damaged or cut; the size header alone still holds the claim
        // the pixel limit is checked against (a bomb is then refused by its
        // size; a file within the limit fails again in the decoder).
        Err(e) => {
            let (width, height) = size_header(bytes).ok_or(e)?;
            return Probe::new(SourceFormat::Jxl, width, height);
        }
    };
    let metadata = &image.image_header().metadata;
    let mut probe = Probe::new(SourceFormat::Jxl, image.width(), image.height())?;
    probe.has_alpha = metadata.ec_info.iter().any(|ec| ec.is_alpha());
    probe.animated = metadata.animation.is_some();
    probe.icc_profile = image
        .original_icc()
        .filter(|_| keeps_icc(&image))
        .filter(|icc| icc.len() <= MAX_ICC_BYTES)
        .map(<[u8]>::to_vec);
    Ok(probe)
}

/// The stored size from the codestream's SizeHeader (ISO/IEC 18181-1,
/// A.3), found in a bare codestream or the container's first `jxlc` or
/// `jxlp` box.
fn size_header(bytes: &[u8]) -> Option<(u32, u32)> {
    let codestream = if bytes.starts_with(CODESTREAM) {
        bytes
    } else {
        let mut at = 0usize;
        loop {
            let size = usize::try_from(super::be32(bytes, at)?).ok()?;
            let kind = bytes.get(at + 4..at + 8)?;
            let (header, size) = match size {
                1 => (
                    16,
                    usize::try_from(u64::from_be_bytes(bytes.get(at + 8..at + 16)?.try_into().ok()?)).ok()?,
                ),
                0 => (8, bytes.len() - at),
                n => (8, n),
            };
            match kind {
                b"jxlc" => break bytes.get(at + header..)?,
                b"jxlp" => break bytes.get(at + header + 4..)?,
                _ => at = at.checked_add(size.max(header))?,
            }
        }
    };
    let mut bits = Bits {
        bytes: codestream.get(2..)?,
        at: 0,
    };
    let small = bits.read(1)? == 1;
    let side = |bits: &mut Bits| -> Option<u32> {
        if small {
            return Some((bits.read(5)? + 1) * 8);
        }
        let width = [9, 13, 18, 30][bits.read(2)? as usize];
        Some(bits.read(width)? + 1)
    };
    let height = side(&mut bits)?;
    let ratio = bits.read(3)?;
    let width = match ratio {
        0 => side(&mut bits)?,
        r => {
            let (num, den) = [(1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1)][r as usize - 1];
            u32::try_from(u64::from(height) * num / den).ok()?
        }
    };
    Some((width, height))
}

/// A little-endian bit reader, as JPEG XL headers are written.
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut value = 0u32;
        for i in 0..n {
            let byte = self.bytes.get(self.at / 8)?;
            value |= u32::from(byte >> (self.at % 8) & 1) << i;
            self.at += 1;
        }
        Some(value)
    }
}

/// Decodes the first frame, oriented, to 8-bit RGB or RGBA.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let mut image = open(bytes, budget_usize(&request.limits))?;
    if !keeps_icc(&image) {
        image.request_color_encoding(EnumColourEncoding::srgb(RenderingIntent::Relative));
    }
    deadline::check()?;
    // One library call for the frame: the deadline is checked around it.
    let render = image.render_frame(0).map_err(jxl_error)?;
    deadline::check()?;
    let mut stream = render.stream();
    let (width, height, channels) = (stream.width(), stream.height(), stream.channels());
    if (width, height) != (probe.width, probe.height) {
        return Err(corrupt("the JPEG XL frame does not have the header's size"));
    }
    let samples = width as usize * height as usize * channels as usize;
    let mut data = vec![0u8; samples];
    if stream.write_to_buffer(&mut data) != samples {
        return Err(corrupt("the JPEG XL frame is incomplete"));
    }
    let (channels, data) = match channels {
        1 => (Channels::Rgb, super::grey_to_rgb(&data)),
        2 => (Channels::Rgba, super::grey_alpha_to_rgba(&data)),
        3 => (Channels::Rgb, data),
        4 => (Channels::Rgba, data),
        n => {
            return Err(corrupt(format!(
                "JPEG XL images of {n} channels (CMYK) are not read"
            )));
        }
    };
    if channels == Channels::Rgba && data.chunks_exact(4).all(|p| p[3] == u8::MAX) {
        let rgb = data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        return super::still(width, height, Channels::Rgb, rgb);
    }
    super::still(width, height, channels, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::probe::probe as sniff;
    use crate::pipeline::{Limits, Pipeline, colour};
    use std::time::{Duration, Instant};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/jxl/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Probed, decoded and converted to sRGB as the pipeline does.
    fn decoded(name: &str) -> (Probe, Image) {
        let bytes = fixture(name);
        let p = sniff(&bytes).unwrap();
        let image = decode(
            &bytes,
            &p,
            &Pipeline::new(Limits::default()).decode_request(1.0, false),
        )
        .unwrap();
        let image = colour::to_srgb(image, p.icc_profile.as_deref());
        (p, image)
    }

    fn pixel(image: &Image, x: u32, y: u32) -> Vec<u8> {
        let n = image.channels().count();
        let i = (y as usize * image.width() as usize + x as usize) * n;
        image.frames()[0].data()[i..i + n].to_vec()
    }

    fn near(actual: &[u8], expected: &[u8], tolerance: u8) -> bool {
        actual.len() == expected.len()
            && actual
                .iter()
                .zip(expected)
                .all(|(a, e)| a.abs_diff(*e) <= tolerance)
    }

    fn assert_quadrants(image: &Image, tolerance: u8, what: &str) {
        assert_eq!((image.width(), image.height()), (64, 48), "{what}");
        for (x, y, colour) in [
            (5, 5, [255, 0, 0]),
            (58, 5, [0, 255, 0]),
            (5, 42, [0, 0, 255]),
            (58, 42, [255; 3]),
        ] {
            let got = pixel(image, x, y);
            assert!(near(&got, &colour, tolerance), "{what} at {x},{y}: {got:?}");
        }
    }

    #[test]
    fn lossless_and_lossy_quadrants() {
        let (p, image) = decoded("quadrants-lossless.jxl");
        assert_eq!(
            (p.format, p.width, p.height, p.has_alpha, p.animated),
            (SourceFormat::Jxl, 64, 48, false, false)
        );
        assert_eq!(image.channels(), Channels::Rgb);
        assert_quadrants(&image, 0, "lossless");
        let (_, image) = decoded("quadrants-lossy.jxl");
        assert_quadrants(&image, 8, "lossy");
    }

    #[test]
    fn orientation_is_applied_by_the_decoder() {
        let (p, image) = decoded("orientation-6.jxl");
        // Stored 48x64, shown 64x48: the probe reports what is shown.
        assert_eq!((p.width, p.height, p.orientation), (64, 48, 1));
        assert_quadrants(&image, 0, "orientation 6");
    }

    #[test]
    fn alpha_is_kept() {
        let (p, image) = decoded("alpha.jxl");
        assert!(p.has_alpha);
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(pixel(&image, 5, 5), [255, 0, 0, 255]);
        assert_eq!(pixel(&image, 50, 5)[3], 0);
    }

    #[test]
    fn display_p3_comes_out_in_srgb_by_either_path() {
        // (200,100,50) in Display P3 is (215,92,31) in sRGB.
        let (p, image) = decoded("display-p3-lossless.jxl");
        assert!(p.icc_profile.is_some(), "stored in the ICC profile's space");
        assert!(
            near(&pixel(&image, 16, 16), &[215, 92, 31], 4),
            "{:?}",
            pixel(&image, 16, 16)
        );
        let (p, image) = decoded("display-p3-lossy.jxl");
        assert!(p.icc_profile.is_none(), "rendered to sRGB by jxl-oxide");
        assert!(
            near(&pixel(&image, 16, 16), &[215, 92, 31], 6),
            "{:?}",
            pixel(&image, 16, 16)
        );
    }

    #[test]
    fn sixteen_bit_grey_becomes_8_bit_rgb() {
        let (_, image) = decoded("grey16.jxl");
        assert_eq!(image.channels(), Channels::Rgb);
        assert!(
            near(&pixel(&image, 3, 3), &[128, 128, 128], 1),
            "{:?}",
            pixel(&image, 3, 3)
        );
    }

    #[test]
    fn an_animation_gives_its_first_frame() {
        let (p, image) = decoded("animated.jxl");
        assert!(p.animated);
        assert_eq!(image.frames().len(), 1);
        assert_eq!(pixel(&image, 8, 8), [255, 0, 0]);
    }

    /// A bare codestream whose header claims `width x height` and nothing
    /// more: SizeHeader with 30-bit sides, then all-default metadata.
    pub(crate) fn header_only(width: u32, height: u32) -> Vec<u8> {
        let mut bits: Vec<bool> = Vec::new();
        let put = |value: u32, n: u32, bits: &mut Vec<bool>| {
            for i in 0..n {
                bits.push(value >> i & 1 == 1);
            }
        };
        put(0, 1, &mut bits); // not small
        put(3, 2, &mut bits); // height: 1 + u(30)
        put(height - 1, 30, &mut bits);
        put(0, 3, &mut bits); // no ratio
        put(3, 2, &mut bits); // width: 1 + u(30)
        put(width - 1, 30, &mut bits);
        put(1, 1, &mut bits); // metadata all_default
        put(1, 1, &mut bits); // transform data all_default
        let mut out = CODESTREAM.to_vec();
        for byte in bits.chunks(8) {
            out.push(
                byte.iter()
                    .enumerate()
                    .fold(0, |b, (i, &bit)| b | (u8::from(bit) << i)),
            );
        }
        out.extend_from_slice(&[0; 8]);
        out
    }

    #[test]
    fn size_header_reads_bare_and_contained_codestreams() {
        assert_eq!(size_header(&header_only(100_000, 7)), Some((100_000, 7)));
        // Both made by cjxl inside the container: stored 64x48 and 48x64.
        assert_eq!(size_header(&fixture("quadrants-lossless.jxl")), Some((64, 48)));
        assert_eq!(size_header(&fixture("orientation-6.jxl")), Some((48, 64)));
        assert_eq!(size_header(CODESTREAM), None);
    }

    #[test]
    fn header_bombs_are_refused_from_the_header() {
        let bomb = header_only(100_000, 100_000);
        let started = Instant::now();
        let p = sniff(&bomb).unwrap();
        assert_eq!((p.width, p.height), (100_000, 100_000));
        assert!(matches!(
            p.check_limits(&Limits::default()),
            Err(PipelineError::TooManyPixels { .. })
        ));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn truncated_and_damaged_files_are_errors_not_panics() {
        for name in ["quadrants-lossy.jxl", "display-p3-lossless.jxl", "animated.jxl"] {
            let bytes = fixture(name);
            let request = Pipeline::new(Limits::default()).decode_request(1.0, false);
            for cut in 0..bytes.len() {
                if let Ok(p) = sniff(&bytes[..cut]) {
                    let _ = decode(&bytes[..cut], &p, &request);
                }
            }
            let mut flipped = bytes.clone();
            for i in (12..flipped.len()).step_by(5) {
                flipped[i] ^= 0x5A;
            }
            if let Ok(p) = sniff(&flipped) {
                let _ = decode(&flipped, &p, &request);
            }
            let cut = &bytes[..bytes.len() / 2];
            let result = sniff(cut).and_then(|p| decode(cut, &p, &request));
            assert!(
                matches!(result, Err(PipelineError::Corrupt(_))),
                "{name}: {result:?}"
            );
        }
    }
}
