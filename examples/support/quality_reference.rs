//! The quality measure shared by `examples/quality.rs` and the floor test
//! `tests/it/quality.rs` (both include this file): a linear-light Lanczos3
//! resample in 32-bit float of the full-size decode, to score resizer's
//! output against with SSIMULACRA2.
//!
//! The reference is the textbook separable filter (output pixel `i` centred
//! at `(i + 0.5) * in / out` source pixels, kernel widened by the reduction,
//! weights normalised); it agrees with an independent float64 numpy
//! implementation and with Pillow's `F`-mode Lanczos to 2.5e-7 (BENCHMARKS.md).
//! It is not rounded to 8 bits, so no 8-bit output scores 100 against it:
//! [`ceiling`] is what the reference itself scores once rounded to the
//! nearest 8-bit sRGB values, the best any PNG can do.

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use resizer::pipeline::{Channels, Image, Limits, Pipeline, Tuning, decode, probe};
use ssimulacra2::{LinearRgb, compute_frame_ssimulacra2};

pub type Failure = Box<dyn std::error::Error>;

/// The IEC 61966-2-1 sRGB decoding function.
pub fn srgb_to_linear(v: u8) -> f32 {
    let c = f32::from(v) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// The sRGB encoding function.
fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// The whole source at full size, as the pipeline decodes it.
pub fn decode_full(bytes: &[u8]) -> Result<Image, Failure> {
    let p = probe::probe(bytes)?;
    // An infinite margin disables shrink-on-load.
    let pipeline = Pipeline {
        limits: Limits::default(),
        tuning: Tuning {
            shrink_margin: f64::INFINITY,
            ..Tuning::default()
        },
    };
    Ok(decode::decode(bytes, &p, &pipeline.decode_request(1.0, false))?)
}

/// Linear-light Lanczos3 in f32 of the whole (opaque) image to `tw x th`.
pub fn reference(image: &Image, tw: u32, th: u32) -> Result<LinearRgb, Failure> {
    if image.channels() != Channels::Rgb {
        return Err("the reference photos must be opaque".into());
    }
    let table: Vec<f32> = (0..=255u8).map(srgb_to_linear).collect();
    let frame = &image.frames()[0];
    let linear: Vec<u8> = frame
        .data()
        .iter()
        .flat_map(|&v| table[usize::from(v)].to_ne_bytes())
        .collect();
    let src = FirImage::from_vec_u8(frame.width(), frame.height(), linear, PixelType::F32x3)?;
    let mut dst = FirImage::new(tw, th, PixelType::F32x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&src, &mut dst, &options)?;
    let data: Vec<[f32; 3]> = dst
        .buffer()
        .chunks_exact(12)
        .map(|p| {
            let f = |i: usize| f32::from_ne_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]).clamp(0.0, 1.0);
            [f(0), f(4), f(8)]
        })
        .collect();
    Ok(LinearRgb::new(data, tw as usize, th as usize)?)
}

/// The score of `reference` rounded to the nearest 8-bit sRGB values: the
/// highest score an 8-bit output can reach.
pub fn ceiling(reference: &LinearRgb) -> Result<f64, Failure> {
    let table: Vec<f32> = (0..=255u8).map(srgb_to_linear).collect();
    let rounded = reference
        .data()
        .iter()
        .map(|p| p.map(|v| table[(linear_to_srgb(v) * 255.0).round() as usize]))
        .collect();
    let rounded = LinearRgb::new(rounded, reference.width(), reference.height())?;
    Ok(compute_frame_ssimulacra2(reference.clone(), rounded)?)
}

/// An 8-bit RGB PNG as linear light.
pub fn linear_from_png(bytes: &[u8]) -> Result<LinearRgb, Failure> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf)?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("unexpected PNG {:?} {:?}", info.color_type, info.bit_depth).into());
    }
    let data = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| [srgb_to_linear(p[0]), srgb_to_linear(p[1]), srgb_to_linear(p[2])])
        .collect();
    Ok(LinearRgb::new(data, info.width as usize, info.height as usize)?)
}
