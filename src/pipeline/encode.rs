//! Encode: [`Image`] -> bytes of the output format.
//!
//! Chooses the quality and dispatches to the format's codec module
//! (`codec/`), one line per format. Every encoder writes no metadata at all
//! (README, "Output": the pixels are already sRGB, and EXIF, XMP and ICC are
//! stripped). In the default build the PNG, GIF and AVIF encoders are pure
//! Rust, JPEG is mozjpeg and WebP is libwebp (the `webp` crate), both C;
//! the `turbo` feature writes JPEGs with libjpeg-turbo instead. Every failure becomes
//! [`PipelineError::Encode`]; nothing here panics on any image the earlier
//! stages can produce.

use super::codec;
use super::deadline::{self, Stage};
use super::{Encoded, Image, PipelineError};
use crate::format::ImageFormat;
use crate::options::{AutoQuality, Quality};

/// Quality when the request has no `q_` token (README, "Transformations").
const DEFAULT_QUALITY: u8 = crate::config::defaults::QUALITY;

/// `q_auto` (`q_auto:good`): a per-format quality tuned for size at a
/// quality a viewer of a thumbnail does not notice. JPEG 75 is the
/// libjpeg/Pillow default and the knee of its size/quality curve; WebP and
/// AVIF are set to the quality that gives the same mean SSIMULACRA2 score as
/// JPEG 75 on the thumbnails of `examples/bytes.rs` (the sweep and its
/// figures: BENCHMARKS.md, "Bytes for the same picture").
///
/// The other levels of `q_auto:<level>` move every format by the same
/// steps on its own scale, as Cloudinary's levels do: `best` keeps fine
/// texture (JPEG 90, where 4:4:4 chroma starts), `eco` and `low` trade
/// visible softness for bytes (JPEG 65 and 50).
fn auto_quality(format: ImageFormat, level: AutoQuality) -> u8 {
    let good = match format {
        ImageFormat::Jpeg => 75,
        ImageFormat::Webp => 78,
        ImageFormat::Avif => 80,
        // Lossless or palette formats: quality has no meaning.
        ImageFormat::Png | ImageFormat::Gif => return DEFAULT_QUALITY,
    };
    match level {
        AutoQuality::Best => good + 15,
        AutoQuality::Good => good,
        AutoQuality::Eco => good - 10,
        AutoQuality::Low => good - 25,
    }
}

/// The encoder quality 1..=100 for `format`.
pub fn quality_for(format: ImageFormat, quality: Quality) -> u8 {
    match quality {
        Quality::Default => DEFAULT_QUALITY,
        Quality::Value(q) => q.clamp(1, 100),
        Quality::Auto(level) => auto_quality(format, level),
    }
}

/// Encodes `image` as `format` at `quality`. A still format given an
/// animation encodes its first frame. Under a processing deadline
/// ([`deadline`]), PNG and GIF stop between rows and frames, an animated
/// WebP between frames, and the library encoders that cannot be interrupted
/// (JPEG, still WebP, AVIF) are not started when they cannot end in time.
pub fn encode(image: &Image, format: ImageFormat, quality: Quality) -> Result<Encoded, PipelineError> {
    encode_with(image, format, quality, false)
}

/// [`encode`], with a progressive JPEG when `progressive` (`fl_progressive`;
/// other formats have no such choice here and ignore it).
pub fn encode_with(
    image: &Image,
    format: ImageFormat,
    quality: Quality,
    progressive: bool,
) -> Result<Encoded, PipelineError> {
    // The first frame is the still; its layout is every frame's (`Image`).
    let frame = image.first();
    let q = quality_for(format, quality);
    let pixels = u64::from(frame.width()) * u64::from(frame.height());
    let stage = Stage::Encode(format);
    let bytes = match format {
        ImageFormat::Jpeg => {
            deadline::timed(stage, pixels, || codec::jpeg::encode_with(frame, q, progressive))?
        }
        ImageFormat::Png => codec::png::encode(frame)?,
        ImageFormat::Gif => codec::gif::encode(image)?,
        // An animation is encoded frame by frame, checked between frames.
        ImageFormat::Webp if image.is_animated() => codec::webp::encode(image, q)?,
        ImageFormat::Webp => deadline::timed(stage, pixels, || codec::webp::encode(image, q))?,
        ImageFormat::Avif => deadline::timed(stage, pixels, || codec::avif::encode(frame, q))?,
    };
    Ok(Encoded {
        bytes,
        format,
        width: frame.width(),
        height: frame.height(),
        frames: if format.supports_animation() {
            image.frames().len()
        } else {
            1
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Channels;

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
        Image::still(w, h, channels, data).unwrap()
    }

    /// A gradient with many colours, for the lossy paths.
    fn photo_like(w: u32, h: u32) -> Image {
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
            .collect();
        Image::still(w, h, Channels::Rgb, data).unwrap()
    }

    fn close(a: &[u8], b: &[u8], tol: u8) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= tol)
    }

    #[test]
    fn quality_table() {
        assert_eq!(quality_for(ImageFormat::Jpeg, Quality::Default), 80);
        assert_eq!(quality_for(ImageFormat::Jpeg, Quality::Value(33)), 33);
        assert_eq!(
            quality_for(ImageFormat::Jpeg, Quality::Auto(AutoQuality::Good)),
            75
        );
        assert_eq!(
            quality_for(ImageFormat::Avif, Quality::Auto(AutoQuality::Good)),
            80
        );
        let levels = [
            AutoQuality::Best,
            AutoQuality::Good,
            AutoQuality::Eco,
            AutoQuality::Low,
        ];
        for format in [ImageFormat::Jpeg, ImageFormat::Webp, ImageFormat::Avif] {
            let q: Vec<u8> = levels
                .iter()
                .map(|l| quality_for(format, Quality::Auto(*l)))
                .collect();
            assert!(q.windows(2).all(|w| w[0] > w[1]), "{format}: {q:?}");
        }
        assert_eq!(
            quality_for(ImageFormat::Jpeg, Quality::Auto(AutoQuality::Best)),
            90
        );
        assert_eq!(
            quality_for(ImageFormat::Jpeg, Quality::Auto(AutoQuality::Low)),
            50
        );
        assert_eq!(quality_for(ImageFormat::Png, Quality::Auto(AutoQuality::Low)), 80);
        assert_eq!(quality_for(ImageFormat::Webp, Quality::Value(0)), 1);
    }

    #[test]
    fn fl_progressive_writes_a_progressive_jpeg() {
        let img = photo_like(64, 48);
        // SOF2 (0xFFC2) marks a progressive frame, SOF0 a baseline one.
        let has = |bytes: &[u8], marker: u8| bytes.windows(2).any(|w| w == [0xFF, marker]);
        let baseline = encode_with(&img, ImageFormat::Jpeg, Quality::Default, false).unwrap();
        assert!(has(&baseline.bytes, 0xC0) && !has(&baseline.bytes, 0xC2));
        let progressive = encode_with(&img, ImageFormat::Jpeg, Quality::Default, true).unwrap();
        assert!(has(&progressive.bytes, 0xC2) && !has(&progressive.bytes, 0xC0));
        let mut decoder = jpeg_decoder::Decoder::new(&progressive.bytes[..]);
        decoder.decode().unwrap();
        assert_eq!(decoder.info().map(|i| (i.width, i.height)), Some((64, 48)));
        // A grey image (one channel) too.
        let grey = Image::still(8, 8, Channels::Rgb, vec![128; 8 * 8 * 3]).unwrap();
        let out = encode_with(&grey, ImageFormat::Jpeg, Quality::Default, true).unwrap();
        assert!(has(&out.bytes, 0xC2));
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
        assert_eq!(pixels, img.frames()[0].data());
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
        assert_eq!(pixels, img.frames()[0].data());
    }

    #[test]
    fn png_photo_is_rgb() {
        let img = photo_like(300, 225);
        let out = encode(&img, ImageFormat::Png, Quality::Default).unwrap();
        let (info, pixels) = png_decode(&out.bytes);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(pixels, img.frames()[0].data());
    }

    fn animation(channels: Channels) -> Image {
        let img = two_tone(32, 16, channels);
        let first = img.first().clone().with_delay_ms(100);
        let mut second = first.clone().with_delay_ms(250);
        // Second frame: swapped colours.
        for px in second.data_mut().chunks_exact_mut(channels.count()) {
            px.swap(0, 2);
        }
        Image::new(vec![first, second], 3).unwrap()
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
        let src = &img.frames()[0].data();
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
        let out = encode(&img, ImageFormat::Webp, Quality::Auto(AutoQuality::Good)).unwrap();
        let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&out.bytes[..])).unwrap();
        assert_eq!(decoder.dimensions(), (300, 225));
        let mut buf = vec![0; decoder.output_buffer_size().unwrap()];
        decoder.read_image(&mut buf).unwrap();
        let n = if decoder.has_alpha() { 4 } else { 3 };
        let at = (100 * 300 + 150) * n;
        assert!(close(
            &buf[at..at + 3],
            &img.frames()[0].data()[(100 * 300 + 150) * 3..][..3],
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
            let out = encode(&img, ImageFormat::Avif, Quality::Auto(AutoQuality::Good)).unwrap();
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
    fn sides_a_format_cannot_store_are_errors_not_panics() {
        // (A buffer that does not match its size cannot reach an encoder:
        // `Frame::new` refuses it, see `image.rs`.)
        let huge = Image::still(70_000, 1, Channels::Rgb, vec![0; 210_000]).unwrap();
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
