//! Decode: bytes -> [`Image`], as small as the output allows.
//!
//! Every format ends as 8-bit RGB or RGBA (straight alpha): grey is widened,
//! 16-bit is narrowed, palettes are expanded, CMYK is converted. Each format
//! is decoded by its codec module (`codec/`); this module only dispatches on
//! the probed format. JPEGs (and, with the `turbo` feature, still WebPs) are
//! decoded smaller when the output is small enough (shrink-on-load), which
//! is most of the speed of thumbnailing. Animations are composited onto
//! full-canvas frames, so later stages never see GIF disposal or WebP
//! blending; [`decode_animation`] hands each frame over as soon as it is
//! composited, so that the pipeline can shrink it before the next one
//! exists. Frame and memory limits are checked before the memory for each
//! frame is allocated.

use super::codec;
use super::decoded::DecodedAs;
use super::probe::Probe;
use super::{Image, Limits, PipelineError};
use crate::format::SourceFormat;

pub use super::codec::FrameSink;
pub use super::codec::jpeg::{HALF_SCALE_MARGIN, SHRINK_MARGIN};

/// What a decoder is asked for: how small it may decode, whether every
/// frame is wanted, and the limits it decodes under.
#[derive(Debug, Clone, Copy)]
pub struct DecodeRequest {
    /// The smallest fraction of the full size the result may have: a JPEG
    /// may be decoded at 1/2, 1/4 or 1/8 scale when that still leaves the
    /// resampler a margin.
    pub min_scale: f64,
    /// The scale (x, y) at which the layout's region becomes the output,
    /// in stored (not oriented) axes and not clamped to 1: a vector source
    /// is rendered at it, so that its pixels are drawn at the output size
    /// instead of resampled from a render at its intrinsic size. Raster
    /// decoders read `min_scale`.
    pub scale: (f64, f64),
    /// How much resolution above `min_scale` a shrunk decode keeps, per
    /// axis ([`SHRINK_MARGIN`] in the service).
    pub shrink_margin: f64,
    /// The margin of a JPEG's 1/2-scale decode when smaller than
    /// `shrink_margin` ([`HALF_SCALE_MARGIN`] in the service).
    pub half_scale_margin: f64,
    /// Every frame (within the limits) instead of the first.
    pub animate: bool,
    pub limits: Limits,
}

/// Decodes `bytes` (already probed) as `request` asks (see
/// [`super::Pipeline::decode_request`]): one line per format.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    match probe.format {
        SourceFormat::Jpeg => codec::jpeg::decode(bytes, probe, request),
        SourceFormat::Png => codec::png::decode(bytes, probe, request),
        SourceFormat::Gif => codec::gif::decode(bytes, probe, request),
        SourceFormat::Webp => codec::webp::decode(bytes, probe, request),
        SourceFormat::Bmp => codec::bmp::decode(bytes, probe, request),
        SourceFormat::Ico => codec::ico::decode(bytes, probe, request),
        SourceFormat::Tiff => codec::tiff::decode(bytes, probe, request),
        SourceFormat::Avif => codec::avif::decode(bytes, probe, request),
        SourceFormat::Heif => codec::heif::decode(bytes, probe, request),
        SourceFormat::Svg => codec::svg::decode(probe, request),
        SourceFormat::Jxl => codec::jxl::decode(bytes, probe, request),
    }
}

/// The size [`decode`] produces for `request`, for the formats whose
/// decode is a function of the bytes and that size alone, so that the
/// decode cache may hand one decode to every request of that size: JPEG
/// (its DCT scale), PNG, BMP, TIFF, and still WebP (the size libwebp is
/// asked for under `turbo`). `None`: not kept (animations, ICO's entry
/// choice, GIF, formats added since).
pub fn planned(probe: &Probe, request: &DecodeRequest) -> Option<DecodedAs> {
    // Whether every frame was asked for changes how a WebP is read (frame
    // by frame, or its first image); the other formats read one image.
    let (width, height, every_frame) = match probe.format {
        SourceFormat::Jpeg => {
            let (width, height) = codec::jpeg::decoded_size(probe, request);
            (width, height, false)
        }
        SourceFormat::Webp if !probe.animated => {
            let (width, height) = codec::webp::decoded_size(probe, request);
            (width, height, request.animate)
        }
        SourceFormat::Tiff => {
            let (width, height) = codec::tiff::decoded_size(probe, request);
            (width, height, false)
        }
        SourceFormat::Png | SourceFormat::Bmp => (probe.width, probe.height, false),
        _ => return None,
    };
    Some(DecodedAs {
        width,
        height,
        every_frame,
    })
}

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
        SourceFormat::Gif => codec::gif::stream(bytes, true, limits, each),
        SourceFormat::Webp => codec::webp::stream(bytes, limits, each),
        _ => {
            let request = DecodeRequest {
                min_scale: 1.0,
                scale: (1.0, 1.0),
                shrink_margin: SHRINK_MARGIN,
                half_scale_margin: HALF_SCALE_MARGIN,
                animate: true,
                limits: *limits,
            };
            let image = decode(bytes, probe, &request)?;
            let loops = image.loops();
            for frame in image.into_frames() {
                each(frame)?;
            }
            Ok(loops)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::codec::jpeg::shrink_denominator_with;
    use crate::pipeline::probe::probe;
    use crate::pipeline::{Channels, Frame, colour};

    fn jpeg(width: u16, height: u16, data: &[u8], colour: jpeg_encoder::ColorType) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut out, 95);
        encoder.encode(data, width, height, colour).unwrap();
        out
    }

    /// What the pipeline asks for at `min_scale` with `margin`.
    fn request(min_scale: f64, margin: f64, animate: bool, limits: &Limits) -> DecodeRequest {
        DecodeRequest {
            min_scale,
            scale: (min_scale, min_scale),
            shrink_margin: margin,
            half_scale_margin: margin,
            animate,
            limits: *limits,
        }
    }

    fn decode_all(
        bytes: &[u8],
        min_scale: f64,
        animate: bool,
        limits: &Limits,
    ) -> Result<Image, PipelineError> {
        let p = probe(bytes)?;
        decode(bytes, &p, &request(min_scale, SHRINK_MARGIN, animate, limits))
    }

    fn pixel(image: &Image, frame: usize, x: u32, y: u32) -> Vec<u8> {
        let n = image.channels().count();
        let f = &image.frames()[frame];
        let i = (y as usize * f.width() as usize + x as usize) * n;
        f.data()[i..i + n].to_vec()
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
        shrink_denominator_with(width, height, min_scale, 2.0, 2.0)
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
        let at_1_5 = |min_scale| shrink_denominator_with(4000, 3000, min_scale, 1.5, 1.5);
        assert_eq!(at_1_5(250.0 / 4000.0), 8);
        assert_eq!(at_1_5(300.0 / 4000.0), 8);
        assert_eq!(at_1_5(400.0 / 4000.0), 4);
        assert_eq!(at_1_5(0.25), 2);
        assert_eq!(at_1_5(0.5), 1);
        // Margin 2.5 (the turbo build's): 300 px needs 750, so 1/4; 200 px
        // needs 500, still 1/8; 500 px needs 1250, so 1/2.
        let at_2_5 = |min_scale| shrink_denominator_with(4000, 3000, min_scale, 2.5, 2.5);
        assert_eq!(at_2_5(200.0 / 4000.0), 8);
        assert_eq!(at_2_5(300.0 / 4000.0), 4);
        assert_eq!(at_2_5(500.0 / 4000.0), 2);
        assert_eq!(at_2_5(0.25), 1);
        // Margin 1: as small as the output allows.
        assert_eq!(shrink_denominator_with(4000, 3000, 300.0 / 4000.0, 1.0, 1.0), 8);
        // No usable margin: never shrink, whatever the half-scale margin.
        for margin in [f64::INFINITY, f64::NAN, 0.5, -1.0] {
            assert_eq!(
                shrink_denominator_with(4000, 3000, 0.01, margin, 1.0),
                1,
                "{margin}"
            );
        }
    }

    #[test]
    fn half_scale_keeps_its_own_margin() {
        // Margin 2.5 with 1.25 at 1/2: the large renditions of a 12 MP
        // photo (1600, 1280, 960 px: 2000 px is 1.25x, 1.56x, 2.08x) decode
        // at 1/2 instead of full size; 1/4 and 1/8 keep 2.5.
        let rule = |width: f64| shrink_denominator_with(4000, 3000, width / 4000.0, 2.5, 1.25);
        assert_eq!(rule(1600.0), 2);
        assert_eq!(rule(1280.0), 2);
        assert_eq!(rule(960.0), 2);
        assert_eq!(rule(1700.0), 1, "2000 px is less than 1.25x of 1700");
        assert_eq!(rule(300.0), 4, "1/8 keeps 2.5: 500 px is less than 750");
        assert_eq!(rule(200.0), 8);
        // Both axes: 1600x1700 of 4000x3000 needs 1/2's 1500 rows >= 2125.
        let tall = shrink_denominator_with(4000, 3000, 1700.0 / 3000.0, 2.5, 1.25);
        assert_eq!(tall, 1);
        // The half-scale margin only ever lowers the shared one.
        for min_scale in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5] {
            assert_eq!(
                shrink_denominator_with(4000, 3000, min_scale, 1.5, 3.0),
                shrink_denominator_with(4000, 3000, min_scale, 1.5, 1.5),
            );
            assert_eq!(
                shrink_denominator_with(4000, 3000, min_scale, 1.5, 0.5),
                shrink_denominator_with(4000, 3000, min_scale, 1.5, 1.5),
                "a half-scale margin under 1 is ignored"
            );
        }
        // Small sources keep the shared margin at every scale: 1000x1000 to
        // 400 px would decode at 1/2 (500 px, 1.25x) with a 12 MP source's rule.
        assert_eq!(shrink_denominator_with(1000, 1000, 0.4, 2.5, 1.25), 1);
        assert_eq!(shrink_denominator_with(2000, 2000, 0.4, 2.5, 1.25), 2);
        // The service's request carries this build's margins.
        let request = crate::pipeline::Pipeline::new(Limits::default()).decode_request(0.4, false);
        assert_eq!(
            (request.shrink_margin, request.half_scale_margin),
            (SHRINK_MARGIN, HALF_SCALE_MARGIN)
        );
    }

    #[test]
    fn jpeg_shrinks_on_load_and_keeps_the_margin() {
        let (w, h) = (4000u16, 3000u16);
        let data: Vec<u8> = (0..w as usize * h as usize)
            .flat_map(|i| [(i % 251) as u8, 90, 160])
            .collect();
        let bytes = jpeg(w, h, &data, jpeg_encoder::ColorType::Rgb);
        let p = probe(&bytes).unwrap();
        let at_margin_2 = |min_scale| decode(&bytes, &p, &request(min_scale, 2.0, false, &Limits::default()));
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
        assert_eq!(image.channels(), Channels::Rgb);
    }

    #[test]
    fn odd_sized_jpeg_shrinks_to_cover_both_axes() {
        let (w, h) = (1001u16, 333u16);
        let data = vec![128u8; w as usize * h as usize * 3];
        let bytes = jpeg(w, h, &data, jpeg_encoder::ColorType::Rgb);
        let min_scale = 0.06;
        let margin = 2.0;
        let p = probe(&bytes).unwrap();
        let image = decode(&bytes, &p, &request(min_scale, margin, false, &Limits::default())).unwrap();
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
        assert_eq!(image.channels(), Channels::Rgb);
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
        assert_eq!(grey.channels(), Channels::Rgb);
        assert_eq!(pixel(&grey, 0, 1, 0), [250, 250, 250]);

        let grey16 = png_bytes(1, 1, ColorType::Grayscale, BitDepth::Sixteen, &[0xAB, 0xCD]);
        assert_eq!(
            pixel(&decode_all(&grey16, 1.0, false, &limits).unwrap(), 0, 0, 0),
            [0xAB; 3]
        );

        let ga = png_bytes(1, 1, ColorType::GrayscaleAlpha, BitDepth::Eight, &[77, 128]);
        let ga = decode_all(&ga, 1.0, false, &limits).unwrap();
        assert_eq!(
            (ga.channels(), pixel(&ga, 0, 0, 0)),
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
        assert_eq!(image.channels(), Channels::Rgba);
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
        assert_eq!(image.frames().len(), 3);
        assert_eq!(image.loops(), 0);
        let delays: Vec<u32> = image.frames().iter().map(|f| f.delay_ms()).collect();
        assert_eq!(delays, [100, 200, 300]);
        // Frame 2: blue square over red, its transparent pixel shows red.
        assert_eq!(&pixel(&image, 1, 1, 1)[..3], [0, 0, 255]);
        assert_eq!(&pixel(&image, 1, 2, 2)[..3], [255, 0, 0]);
        assert_eq!(&pixel(&image, 1, 0, 0)[..3], [255, 0, 0]);
        // Frame 3: the square was disposed to transparent; red remains elsewhere.
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(pixel(&image, 2, 1, 1), [0, 0, 0, 0]);
        assert_eq!(pixel(&image, 2, 0, 0), [0, 255, 0, 255]);
        assert_eq!(pixel(&image, 2, 3, 3), [255, 0, 0, 255]);

        // Without animation: only the first frame, opaque, so RGB.
        let still = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
        assert_eq!(still.frames().len(), 1);
        assert_eq!(still.channels(), Channels::Rgb);
        assert_eq!(still.frames()[0].delay_ms(), 0);
    }

    /// Streams `bytes` through [`decode_animation`], keeping what the sink
    /// is given.
    fn stream(bytes: &[u8], limits: &Limits) -> Result<(Vec<(Channels, Frame)>, u16), PipelineError> {
        let p = probe(bytes)?;
        let mut frames = Vec::new();
        let loops = decode_animation(bytes, &p, limits, &mut |frame| {
            frames.push((frame.channels(), frame));
            Ok(())
        })?;
        Ok((frames, loops))
    }

    fn at(frame: &Frame, channels: Channels, x: u32, y: u32) -> Vec<u8> {
        let n = channels.count();
        let i = (y as usize * frame.width() as usize + x as usize) * n;
        frame.data()[i..i + n].to_vec()
    }

    #[test]
    fn gif_frames_stream_one_at_a_time() {
        let bytes = animated_gif();
        let (frames, loops) = stream(&bytes, &Limits::default()).unwrap();
        assert_eq!(loops, 0);
        assert_eq!(frames.len(), 3);
        for (_, frame) in &frames {
            assert_eq!((frame.width(), frame.height()), (4, 4));
        }
        let delays: Vec<u32> = frames.iter().map(|(_, f)| f.delay_ms()).collect();
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
        let frames = frames.into_iter().map(|(_, f)| f).collect();
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
        let result = decode_animation(&bytes, &p, &Limits::default(), &mut |_| {
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
        assert_eq!(frames[0].1.data(), [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn animations_are_cut_to_the_limits() {
        let bytes = animated_gif();
        let all = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert!(all.frames().len() > 2);
        let frames = Limits {
            max_animation_frames: 2,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &frames).unwrap().frames().len(), 2);
        let canvas = u64::from(all.width()) * u64::from(all.height());
        let pixels = Limits {
            max_animation_pixels: canvas * 2 + 1,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &pixels).unwrap().frames().len(), 2);
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
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(image.frames()[0].data(), data);
        let rgb: Vec<u8> = (0..6).flat_map(|i| [i * 40, 100, 200]).collect();
        let bytes = webp_lossless(3, 2, &rgb, image_webp::ColorType::Rgb8);
        let image = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        assert_eq!(image.channels(), Channels::Rgb);
        assert_eq!(image.frames()[0].data(), rgb);
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
        assert_eq!(image.frames().len(), 2);
        assert_eq!(image.frames()[1].delay_ms(), 70);
        // Alpha blending onto the empty canvas may round by one step.
        assert!(near(&pixel(&image, 1, 0, 0), &[255, 0, 0, 255], 1));
        assert!(near(&pixel(&image, 1, 3, 3), &[0, 0, 255, 255], 1));
        let still = decode_all(&bytes, 1.0, false, &Limits::default()).unwrap();
        assert_eq!(still.frames().len(), 1);
        let limited = Limits {
            max_animation_frames: 1,
            ..Limits::default()
        };
        assert_eq!(decode_all(&bytes, 1.0, true, &limited).unwrap().frames().len(), 1);
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
        let delays: Vec<u32> = frames.iter().map(|(_, f)| f.delay_ms()).collect();
        assert_eq!(delays, [50, 70, 90]);
        for (channels, frame) in &frames {
            assert_eq!((frame.width(), frame.height(), *channels), (4, 4, Channels::Rgba));
        }
        // The last frame is composited over the earlier ones.
        let (c, last) = (frames[2].0, &frames[2].1);
        assert!(near(&at(last, c, 0, 0), &[0, 255, 0, 255], 1));
        assert!(near(&at(last, c, 3, 3), &[0, 0, 255, 255], 1));
        assert!(near(&at(last, c, 3, 0), &[255, 0, 0, 255], 1));
        let whole = decode_all(&bytes, 1.0, true, &Limits::default()).unwrap();
        let frames = frames.into_iter().map(|(_, f)| f).collect();
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
        let image = decode(
            &bytes,
            &p,
            &request(1.0, SHRINK_MARGIN, false, &Limits::default()),
        )
        .unwrap();
        let image =
            super::super::orient::apply(image, p.orientation, crate::options::Rotation::None).unwrap();
        colour::to_srgb(image, p.icc_profile.as_deref())
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
