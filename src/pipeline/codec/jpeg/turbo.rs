//! libjpeg-turbo for JPEG decode and encode (the optional `turbo` feature).
//!
//! The default build decodes JPEGs with `jpeg-decoder` and writes them with
//! `jpeg-encoder`, so that it needs nothing but a Rust toolchain. With the
//! `turbo` feature this module takes over both, through the `turbojpeg`
//! crate (libjpeg-turbo built from its vendored sources, with cmake and
//! nasm): its SIMD IDCT and, above all, its DCT-scaled decode of
//! *progressive* JPEGs make shrink-on-load several times cheaper. The
//! behaviour is the default path's, stage for stage:
//!
//! - the same DCT scale (the caller's `shrink_denominator_with`, so the same
//!   `Tuning` margin), checked against the size it promises;
//! - at 1/8 scale, a progressive JPEG is handed over without the AC scans
//!   of the components whose 1x1 IDCT never reads them
//!   ([`eighth_scale_scans`]): the same pixels in less than half the time;
//! - 8-bit RGB out: greyscale is widened by libjpeg-turbo's colour
//!   converter, CMYK/YCCK goes through [`colour::cmyk_to_rgb`] with the
//!   same handling of Adobe's inverted ink; EXIF orientation and the ICC
//!   profile are not the decoder's business (probe reads them from the
//!   markers, for both paths);
//! - what it does not take (lossless JPEG, precisions other than 8 bits)
//!   goes back to the default decoder, which handles it as before;
//! - the same memory: the pixel limit is checked from the header by probe
//!   before this runs, and libjpeg-turbo must read the same size from the
//!   same frame header or the file is refused. For that size it allocates
//!   what `jpeg-decoder` does or less: a progressive (or multi-scan) JPEG
//!   keeps every DCT coefficient of the whole image in both (2 bytes each,
//!   blocks padded to whole MCUs), a baseline one only a few MCU rows here
//!   (whole component planes there), and the output buffer is the size the
//!   default path returns. Measured peak RSS is the same within 1 MB
//!   (BENCHMARKS.md). TurboJPEG's own `MAXMEMORY` and `MAXPIXELS` knobs are
//!   not set: the `turbojpeg` crate's safe API has no setter for them, and
//!   this module uses that safe API only (the crate denies `unsafe` code,
//!   allowed in `codec/webp/libwebp.rs` alone). Progressive scans are capped
//!   ([`MAX_SCANS`]) against files built to cost CPU;
//! - damage is what the default build makes of it: libjpeg-turbo reports a
//!   truncated or corrupt file as a *warning* and fills in grey, which
//!   TurboJPEG returns as a failure indistinguishable (through the crate's
//!   safe API) from a fatal error; such a file is handed to the default
//!   decoder, which decodes damaged blocks and refuses (422) only what it
//!   cannot decode, so both builds accept the same files (issue 17).
//!   libjpeg-turbo's fatal errors unwind by `longjmp` inside C and come back
//!   as a return code, never as a Rust panic or an abort. (Damage inside a
//!   scan that a 1/8-scale decode skips is not seen.)
//! - encode: the same quality, 4:2:0 below
//!   `FULL_CHROMA_FROM` (`jpeg/mod.rs`) and 4:4:4 from it, box-averaged
//!   chroma (libjpeg's downsampler), optimised Huffman tables, baseline (the
//!   default encoder writes no progressive JPEGs either), a JFIF header and
//!   no other metadata.
//!
//! The trade-off is a C decoder on untrusted input, where the default build
//! parses images with memory-safe Rust only; see the README.

use turbojpeg::{Decompressor, PixelFormat, ScalingFactor};

use super::Header as JpegHeader;
use super::scans::{FrameComponent, Progressive};
use crate::format::ImageFormat;
use crate::pipeline::{Channels, Frame, Image, PipelineError, Probe, colour};

/// Most progressive scans a JPEG may have: libjpeg-turbo's own suggestion
/// (`TJFLAG_LIMITSCANS`). Real encoders write about ten; thousands of tiny
/// scans make a small file cost seconds of CPU.
const MAX_SCANS: u32 = 500;

fn corrupt(error: impl std::fmt::Display) -> PipelineError {
    PipelineError::Corrupt(error.to_string())
}

/// Decodes a JPEG at 1/`denominator` scale (1, 2, 4 or 8: the caller's
/// shrink-on-load choice) into 8-bit RGB. `Ok(None)` hands the file back
/// to the default decoder: lossless and non-8-bit JPEGs are not taken here.
pub(crate) fn decode_jpeg(
    bytes: &[u8],
    header: &JpegHeader,
    probe: &Probe,
    denominator: u32,
) -> Result<Option<Image>, PipelineError> {
    if header.precision != 8 {
        return Ok(None);
    }
    // At 1/8 scale a progressive file need not be entropy-decoded whole.
    let reduced = if denominator == 8 {
        eighth_scale_scans(bytes)
    } else {
        None
    };
    let bytes = reduced.as_deref().unwrap_or(bytes);
    let mut decoder = Decompressor::new().map_err(corrupt)?;
    decoder.set_scan_limit(MAX_SCANS).map_err(corrupt)?;
    // A header libjpeg-turbo refuses goes to the default decoder too, whose
    // verdict (and sentence) both builds then share.
    let Ok(info) = decoder.read_header(bytes) else {
        return Ok(None);
    };
    if info.is_lossless {
        return Ok(None);
    }
    // Probe's size is the one the limits were checked against; libjpeg-turbo
    // reads the same frame header, and anything else is a damaged file.
    if (info.width, info.height) != (probe.width as usize, probe.height as usize) {
        return Err(corrupt("the JPEG's frame header disagrees with itself"));
    }
    let cmyk = matches!(
        info.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    );
    let denominator = match denominator {
        2 | 4 | 8 => denominator,
        _ => 1,
    };
    decoder
        .set_scaling_factor(ScalingFactor::new(1, denominator as usize))
        .map_err(corrupt)?;
    // TJSCALED rounds up, as the `div_ceil` of `jpeg/mod.rs` does.
    let (width, height) = (
        probe.width.div_ceil(denominator),
        probe.height.div_ceil(denominator),
    );
    let (format, samples) = if cmyk {
        (PixelFormat::CMYK, 4)
    } else {
        // Greyscale is widened to RGB by libjpeg-turbo's colour converter.
        (PixelFormat::RGB, 3)
    };
    let pitch = width as usize * samples;
    let mut data = vec![0u8; pitch * height as usize];
    let decompressed = decoder.decompress(
        bytes,
        turbojpeg::Image {
            pixels: &mut data[..],
            width: width as usize,
            pitch,
            height: height as usize,
            format,
        },
    );
    if let Err(error) = decompressed {
        // Past the scan limit: a file built to cost CPU, which the default
        // decoder must not then decode in full.
        let message = error.to_string();
        if message.contains("scans") {
            return Err(corrupt(message));
        }
        // A warning (damaged entropy-coded data, a premature end) and a
        // fatal error look the same through the crate's safe API: hand the
        // file to the default decoder, which decodes damaged blocks as
        // damaged and refuses only what it cannot decode, so both builds
        // accept and refuse the same files.
        return Ok(None);
    }
    let rgb = if cmyk {
        // libjpeg-turbo returns the stored samples (YCCK turned into CMYK).
        // Adobe writers store ink inverted, other writers as is.
        if header.adobe_transform.is_some() {
            data.iter_mut().for_each(|v| *v = 255 - *v);
        }
        colour::cmyk_to_rgb(&data, probe.icc_profile.as_deref())
    } else {
        data
    };
    Ok(Some(crate::pipeline::codec::still(
        width,
        height,
        Channels::Rgb,
        rgb,
    )?))
}

/// The scans of a progressive JPEG that a 1/8-scale decode needs, as a
/// complete JPEG; `None` when every scan is needed or the file is not a
/// well-formed progressive (SOF2) JPEG ending in EOI (then the original is
/// decoded, and its damage reported).
///
/// At 1/8 scale libjpeg-turbo gives every component whose blocks are not
/// stretched by chroma upsampling a 1x1 IDCT, which reads the DC
/// coefficient alone (its `jdmaster.c` sets the IDCT size; `jidctred.c`'s
/// 1x1 IDCT uses `coef[0]` only). The AC scans of such a component are
/// decoded for nothing, and they are most of the file: dropping them makes
/// the progressive 12 MP -> 300 px job more than twice as fast. One AC scan per
/// such component is kept, a first scan (Ah = 0) covering part of the
/// coefficients 1-9: a component without any AC data would have its DC
/// values smoothed by block smoothing (`jdcoefct.c`, `change_dc`); with
/// it, smoothing only guesses AC coefficients the 1x1 IDCT ignores. The
/// pixels are therefore exactly those of decoding the whole file (a test
/// checks it), except that damage inside a dropped scan goes unseen.
fn eighth_scale_scans(bytes: &[u8]) -> Option<Vec<u8>> {
    let progressive = Progressive::split(bytes)?;
    let components = &progressive.components;
    let max_h = components.iter().map(|c| c.horizontal).max()?;
    let max_v = components.iter().map(|c| c.vertical).max()?;
    if components.iter().any(|c| c.horizontal == 0 || c.vertical == 0) {
        return None;
    }
    // jdmaster.c at the smallest scale (min_DCT_scaled_size 1): the IDCT
    // size grows while the component's sampling allows; 1 means DC only.
    let dc_only = |c: &FrameComponent| {
        let (h, v) = (u32::from(c.horizontal), u32::from(c.vertical));
        let (max_h, max_v) = (u32::from(max_h), u32::from(max_v));
        !(max_h % (h * 2) == 0 && max_v % (v * 2) == 0)
    };
    let segments = &progressive.segments;
    let ac_scan_of = |i: usize, id: u8| {
        segments[i]
            .scan
            .filter(|scan| scan.component == Some(id) && scan.spectral_start >= 1)
    };
    // Per DC-only component, the one AC scan kept: the smallest first scan
    // (Ah = 0) starting within coefficients 1-9.
    let mut dropped_for = Vec::new();
    for component in components.iter().filter(|c| dc_only(c)) {
        let kept = (0..segments.len())
            .filter(|&i| {
                ac_scan_of(i, component.id)
                    .is_some_and(|scan| scan.spectral_start <= 9 && scan.approximation_high == 0)
            })
            .min_by_key(|&i| segments[i].end - segments[i].start)?;
        dropped_for.push((component.id, kept));
    }
    progressive.without_rejected(bytes, |i, _| {
        !dropped_for
            .iter()
            .any(|&(id, kept)| i != kept && ac_scan_of(i, id).is_some())
    })
}

/// Encodes one frame as a baseline JPEG at `quality` (1..=100), with 4:4:4
/// chroma when `full_chroma`, else 4:2:0. RGBA input has its alpha ignored
/// (the pipeline flattens before JPEG).
pub(crate) fn encode_jpeg(
    frame: &Frame,
    quality: u8,
    full_chroma: bool,
    progressive: bool,
) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Jpeg;
    let error = |e: &dyn std::fmt::Display| PipelineError::Encode(format!("{f}: {e}"));
    for side in [frame.width(), frame.height()] {
        if u16::try_from(side).is_err() {
            return Err(error(&format!("side of {side} pixels is too large")));
        }
    }
    let format = match frame.channels() {
        Channels::Rgb => turbojpeg::PixelFormat::RGB,
        Channels::Rgba => turbojpeg::PixelFormat::RGBA,
    };
    // The crate asserts on a short buffer; a `Frame` never is one.
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let image = turbojpeg::Image {
        pixels: frame.data(),
        width,
        pitch: frame.stride(),
        height,
        format,
    };
    let mut compressor = turbojpeg::Compressor::new().map_err(|e| error(&e))?;
    compressor
        .set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(|e| error(&e))?;
    compressor
        .set_subsamp(if full_chroma {
            turbojpeg::Subsamp::None
        } else {
            turbojpeg::Subsamp::Sub2x2
        })
        .map_err(|e| error(&e))?;
    compressor.set_optimize(true).map_err(|e| error(&e))?;
    compressor.set_progressive(progressive).map_err(|e| error(&e))?;
    compressor.compress_to_vec(image).map_err(|e| error(&e))
}

/// Encodes `luma`, one grey sample per pixel of a `width x height` image,
/// as a one-channel baseline JPEG at `quality`, with the settings of
/// [`encode_jpeg`].
pub(crate) fn encode_grey_jpeg(
    luma: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, PipelineError> {
    let f = ImageFormat::Jpeg;
    let error = |e: &dyn std::fmt::Display| PipelineError::Encode(format!("{f}: {e}"));
    for side in [width, height] {
        if u16::try_from(side).is_err() {
            return Err(error(&format!("side of {side} pixels is too large")));
        }
    }
    let (width, height) = (width as usize, height as usize);
    if width == 0 || height == 0 || luma.len() != width * height {
        return Err(error(&"the frame buffer does not match its size"));
    }
    let image = turbojpeg::Image {
        pixels: luma,
        width,
        pitch: width,
        height,
        format: turbojpeg::PixelFormat::GRAY,
    };
    let mut compressor = turbojpeg::Compressor::new().map_err(|e| error(&e))?;
    compressor
        .set_quality(i32::from(quality.clamp(1, 100)))
        .map_err(|e| error(&e))?;
    compressor
        .set_subsamp(turbojpeg::Subsamp::Gray)
        .map_err(|e| error(&e))?;
    compressor.set_optimize(true).map_err(|e| error(&e))?;
    compressor.set_progressive(progressive).map_err(|e| error(&e))?;
    compressor.compress_to_vec(image).map_err(|e| error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::decode::{DecodeRequest, decode};
    use crate::pipeline::probe::probe;
    use crate::pipeline::{Limits, Pipeline};

    /// What the pipeline asks for at `min_scale` with `margin`.
    fn request(min_scale: f64, margin: f64) -> DecodeRequest {
        DecodeRequest {
            shrink_margin: margin,
            half_scale_margin: margin,
            ..Pipeline::new(Limits::default()).decode_request(min_scale, false)
        }
    }

    /// A `w x h` image: left half red, right half blue, a green square
    /// in the middle of the lower half.
    fn picture(w: u32, h: u32) -> Vec<u8> {
        (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let green = (w * 3 / 8..w * 5 / 8).contains(&x) && (h * 5 / 8..h * 7 / 8).contains(&y);
                    if green {
                        [0, 200, 0]
                    } else if x < w / 2 {
                        [220, 20, 20]
                    } else {
                        [20, 20, 220]
                    }
                })
            })
            .collect()
    }

    fn jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(92).unwrap();
        c.set_progressive(progressive).unwrap();
        compress(c, &picture(w, h), w, h)
    }

    /// `rgb` (`w x h`) through the configured compressor `c`.
    fn compress(mut c: turbojpeg::Compressor, rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
        c.compress_to_vec(turbojpeg::Image {
            pixels: rgb,
            width: w as usize,
            pitch: w as usize * 3,
            height: h as usize,
            format: turbojpeg::PixelFormat::RGB,
        })
        .unwrap()
    }

    fn at(image: &Image, x: u32, y: u32) -> [u8; 3] {
        let f = &image.frames()[0];
        let i = (y as usize * f.width() as usize + x as usize) * 3;
        [f.data()[i], f.data()[i + 1], f.data()[i + 2]]
    }

    fn near(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
    }

    #[test]
    fn scaled_decode_has_the_promised_size_and_colours() {
        for progressive in [false, true] {
            let bytes = jpeg(1601, 1203, progressive);
            let p = probe(&bytes).unwrap();
            // (min_scale, margin) -> the scale `jpeg/mod.rs` picks, and its size.
            let cases = [
                (1.0, 1.5, (1601, 1203)),
                (0.3, 1.5, (801, 602)),
                (0.15, 1.5, (401, 301)),
                (0.05, 1.5, (201, 151)),
                // A larger margin keeps more: 1/4 instead of 1/8.
                (0.05, 3.0, (401, 301)),
            ];
            for (min_scale, margin, size) in cases {
                let image = decode(&bytes, &p, &request(min_scale, margin)).unwrap();
                let (w, h) = (image.width(), image.height());
                assert_eq!((w, h), size, "progressive {progressive}, scale {min_scale}");
                assert_eq!(image.channels(), Channels::Rgb);
                assert!(
                    near(at(&image, w / 8, h / 4), [220, 20, 20], 8),
                    "{:?}",
                    at(&image, w / 8, h / 4)
                );
                assert!(near(at(&image, w * 7 / 8, h / 4), [20, 20, 220], 8));
                assert!(
                    near(at(&image, w / 2, h * 3 / 4), [0, 200, 0], 8),
                    "{:?}",
                    at(&image, w / 2, h * 3 / 4)
                );
            }
        }
    }

    #[test]
    fn the_same_pixels_as_the_default_decoder_give_or_take_rounding() {
        let bytes = jpeg(640, 480, false);
        let p = probe(&bytes).unwrap();
        let ours = decode(&bytes, &p, &Pipeline::default().decode_request(1.0, false)).unwrap();
        let mut reference = jpeg_decoder::Decoder::new(&bytes[..]);
        let theirs = reference.decode().unwrap();
        assert_eq!(ours.frames()[0].data().len(), theirs.len());
        let worst = ours.frames()[0]
            .data()
            .iter()
            .zip(&theirs)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        // Both use an accurate integer IDCT and fancy upsampling.
        assert!(worst <= 6, "largest difference {worst}");
    }

    /// A progressive JPEG of a detailed picture, `subsamp` chroma (or grey).
    fn progressive(w: u32, h: u32, subsamp: turbojpeg::Subsamp, grey: bool) -> Vec<u8> {
        let data: Vec<u8> = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let v = (x * 7 + y * 13) ^ (x * y / 5);
                    [(v % 251) as u8, ((v / 3) % 253) as u8, ((x + y) % 256) as u8]
                })
            })
            .collect();
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(90).unwrap();
        c.set_progressive(true).unwrap();
        c.set_subsamp(subsamp).unwrap();
        if grey {
            c.set_colorspace(turbojpeg::Colorspace::Gray).unwrap();
        }
        compress(c, &data, w, h)
    }

    #[test]
    fn eighth_scale_keeps_only_the_scans_it_needs_and_the_same_pixels() {
        use turbojpeg::Subsamp;
        for (subsamp, grey) in [
            (Subsamp::Sub2x2, false),
            (Subsamp::Sub2x1, false),
            (Subsamp::None, false),
            (Subsamp::Gray, true),
        ] {
            let bytes = progressive(803, 611, subsamp, grey);
            let reduced = eighth_scale_scans(&bytes).expect("AC scans to drop");
            assert!(
                reduced.len() < bytes.len() * 3 / 4,
                "{subsamp:?}: {} of {}",
                reduced.len(),
                bytes.len()
            );
            // What libjpeg-turbo makes of the whole file at 1/8 scale.
            let mut d = Decompressor::new().unwrap();
            d.set_scaling_factor(ScalingFactor::ONE_EIGHTH).unwrap();
            let (w, h) = (803usize.div_ceil(8), 611usize.div_ceil(8));
            let mut whole = vec![0u8; w * h * 3];
            let image = |pixels| turbojpeg::Image {
                pixels,
                width: w,
                pitch: w * 3,
                height: h,
                format: turbojpeg::PixelFormat::RGB,
            };
            d.decompress(&bytes, image(&mut whole[..])).unwrap();
            let p = probe(&bytes).unwrap();
            let ours = decode(&bytes, &p, &Pipeline::default().decode_request(0.05, false)).unwrap();
            assert_eq!((ours.width(), ours.height()), (w as u32, h as u32));
            assert!(ours.frames()[0].data() == whole, "{subsamp:?}: the pixels differ");
        }
        // Baseline files, and cut or damaged progressive ones, are left whole.
        assert!(eighth_scale_scans(&jpeg(160, 120, false)).is_none());
        let bytes = progressive(160, 120, Subsamp::Sub2x2, false);
        assert!(eighth_scale_scans(&bytes[..bytes.len() - 10]).is_none());
        for cut in (0..bytes.len()).step_by(97) {
            let _ = eighth_scale_scans(&bytes[..cut]);
        }
    }

    #[test]
    fn damage_and_repeated_scans_are_errors() {
        let bytes = jpeg(320, 240, true);
        let p = probe(&bytes).unwrap();
        let header = crate::pipeline::codec::jpeg::markers::read_header(&bytes, |_, _| {}).unwrap();
        assert!(decode_jpeg(&bytes, &header, &p, 1).unwrap().is_some());
        // Its scans repeated past MAX_SCANS, as a file built to cost CPU
        // might: libjpeg-turbo flags the bogus progression, which is an error.
        let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let eoi = bytes.len() - 2;
        let mut many = bytes[..sos].to_vec();
        for _ in 0..=MAX_SCANS / 8 + 1 {
            many.extend_from_slice(&bytes[sos..eoi]);
        }
        many.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(
            decode_jpeg(&many, &header, &p, 1),
            Err(PipelineError::Corrupt(_))
        ));
        // Truncated without its EOI: libjpeg-turbo warns, and the file goes
        // to the default decoder, which refuses it too (`process` first
        // repairs the missing EOI, and both builds then decode it).
        let cut = &bytes[..bytes.len() / 2];
        assert!(matches!(
            decode(cut, &p, &Pipeline::default().decode_request(1.0, false)),
            Err(PipelineError::Corrupt(_))
        ));
    }

    #[test]
    fn encode_keeps_quality_chroma_and_no_metadata() {
        let (w, h) = (64u32, 48u32);
        let frame = Frame::new(w, h, Channels::Rgb, picture(w, h), 0).unwrap();
        for (quality, full, subsamp) in [
            (80, false, turbojpeg::Subsamp::Sub2x2),
            (95, true, turbojpeg::Subsamp::None),
        ] {
            let bytes = encode_jpeg(&frame, quality, full, false).unwrap();
            let header = turbojpeg::read_header(&bytes).unwrap();
            assert_eq!((header.width, header.height), (64, 48));
            assert_eq!(header.subsamp, subsamp);
            assert!(!header.is_progressive);
            assert_eq!(&bytes[..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
            let p = probe(&bytes).unwrap();
            assert!(p.icc_profile.is_none());
            let image = decode(&bytes, &p, &Pipeline::default().decode_request(1.0, false)).unwrap();
            assert!(
                near(at(&image, 8, 12), [220, 20, 20], 10),
                "{:?}",
                at(&image, 8, 12)
            );
        }
    }
}
