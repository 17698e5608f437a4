//! Quality and speed of the pipeline's tuning knobs, measured side by side.
//!
//! For each setting of [`Tuning`] (shrink-on-load margin x resampling space)
//! this prints:
//! - the mean SSIMULACRA2 score of resizer's output against a reference, over
//!   the benchmark photos reduced 2x to 14x. The reference is a linear-light
//!   Lanczos3 resample in 32-bit float of the full-size decode, the measure
//!   the pipeline's quality target is stated in. The output is written as PNG
//!   (lossless) so that the score measures decode and resample, not JPEG
//!   artefacts;
//! - the median time of the whole benchmark jobs (those of
//!   `benches/pipeline.rs` and `bench/vips_job.py`), single-threaded.
//!
//! ```text
//! python bench/make_images.py
//! cargo run --release --example quality [runs]
//! ```

use std::time::Instant;

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use resizer::format::ImageFormat;
use resizer::options::{GrammarLimits, Plan};
use resizer::pipeline::{
    Channels, Image, Limits, OutputChoice, ResampleSpace, Tuning, decode, probe, process_with,
};
use ssimulacra2::{LinearRgb, compute_frame_ssimulacra2};

/// The photos scored (opaque JPEGs of `bench/make_images.py`).
const PHOTOS: [&str; 2] = ["photo_12mp.jpg", "photo_1000.jpg"];

/// Reduction factors scored, as the pipeline's quality target states them.
const FACTORS: [f64; 8] = [2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0];

/// Shrink-on-load margins tried; infinity never shrinks on load.
const MARGINS: [f64; 6] = [1.0, 1.25, 1.5, 2.0, 3.0, f64::INFINITY];

/// The jobs timed: name, image, transformation, output format.
const JOBS: [(&str, &str, &str, ImageFormat); 4] = [
    ("jpeg_12mp_300", "photo_12mp.jpg", "w_300", ImageFormat::Jpeg),
    (
        "jpeg_1000_150x500",
        "photo_1000.jpg",
        "w_150,h_500",
        ImageFormat::Jpeg,
    ),
    (
        "jpeg_12mp_prog_300",
        "photo_12mp_prog.jpg",
        "w_300",
        ImageFormat::Jpeg,
    ),
    (
        "png_alpha_400_webp",
        "photo_1600_alpha.png",
        "w_400,f_webp",
        ImageFormat::Webp,
    ),
];

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(11);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/images");
    let read = |name: &str| {
        std::fs::read(format!("{dir}/{name}"))
            .map_err(|e| format!("{dir}/{name}: {e} (run `python bench/make_images.py` first)"))
    };

    // References: full-size decode, linear light, f32 Lanczos3.
    let mut cases = Vec::new();
    for photo in PHOTOS {
        let bytes = read(photo)?;
        let full = decode_full(&bytes)?;
        for factor in FACTORS {
            let tw = (f64::from(full.width()) / factor).round() as u32;
            let th = (f64::from(full.height()) / factor).round() as u32;
            let reference = reference(&full, tw, th)?;
            cases.push((photo, factor, bytes.clone(), tw, th, reference));
        }
    }
    let jobs: Vec<_> = JOBS
        .iter()
        .map(|&(name, file, text, format)| Ok((name, read(file)?, parse(text)?, format)))
        .collect::<Result<_, Failure>>()?;

    let limits = Limits::default();
    println!(
        "{} cases ({PHOTOS:?} x {FACTORS:?}), {runs} timed runs per job, median ms",
        cases.len()
    );
    print!(
        "{:>8} {:>7} {:>7} {:>7} {:>7}",
        "margin", "space", "mean", "min", ">=8x"
    );
    for (name, ..) in &jobs {
        print!(" {name:>19}");
    }
    println!();
    for space in [ResampleSpace::Linear, ResampleSpace::Gamma] {
        for margin in MARGINS {
            let tuning = Tuning {
                shrink_margin: margin,
                resample_space: space,
            };
            let mut scores = Vec::new();
            let mut large = Vec::new();
            for (_, factor, bytes, tw, th, reference) in &cases {
                let plan = parse(&format!("w_{tw},h_{th}"))?;
                let (encoded, _) = process_with(
                    bytes,
                    &plan,
                    OutputChoice::Fixed(ImageFormat::Png),
                    &limits,
                    None,
                    &tuning,
                )?;
                let out = linear_from_png(&encoded.bytes)?;
                let score = compute_frame_ssimulacra2(reference.clone(), out)?;
                scores.push(score);
                if *factor >= 8.0 {
                    large.push(score);
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
            print!(
                "{margin:>8} {:>7} {:>7.2} {min:>7.2} {:>7.2}",
                format!("{space:?}"),
                mean(&scores),
                mean(&large)
            );
            for (_, bytes, plan, format) in &jobs {
                let mut times = Vec::with_capacity(runs);
                process_with(bytes, plan, OutputChoice::Fixed(*format), &limits, None, &tuning)?;
                for _ in 0..runs {
                    let t = Instant::now();
                    process_with(bytes, plan, OutputChoice::Fixed(*format), &limits, None, &tuning)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                times.sort_by(f64::total_cmp);
                print!(" {:>19.2}", times[times.len() / 2]);
            }
            println!();
            if std::env::var_os("QUALITY_DETAIL").is_some() {
                let detail: Vec<String> = cases
                    .iter()
                    .zip(&scores)
                    .map(|((photo, factor, ..), s)| format!("{photo}/{factor}x={s:.1}"))
                    .collect();
                println!("    {}", detail.join(" "));
            }
        }
    }
    Ok(())
}

fn parse(text: &str) -> Result<Plan, Failure> {
    Ok(Plan::parse(text, &GrammarLimits::default())?)
}

/// The whole source at full size, as the pipeline decodes it.
fn decode_full(bytes: &[u8]) -> Result<Image, Failure> {
    let p = probe::probe(bytes)?;
    Ok(decode::decode_with_margin(
        bytes,
        &p,
        1.0,
        f64::INFINITY,
        false,
        &Limits::default(),
    )?)
}

/// The IEC 61966-2-1 sRGB decoding function.
fn srgb_to_linear(v: u8) -> f32 {
    let c = f32::from(v) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear-light Lanczos3 in f32 of the whole image to `tw x th`.
fn reference(image: &Image, tw: u32, th: u32) -> Result<LinearRgb, Failure> {
    if image.channels != Channels::Rgb {
        return Err("the reference photos must be opaque".into());
    }
    let table: Vec<f32> = (0..=255u8).map(srgb_to_linear).collect();
    let frame = &image.frames[0];
    let linear: Vec<u8> = frame
        .data
        .iter()
        .flat_map(|&v| table[usize::from(v)].to_ne_bytes())
        .collect();
    let src = FirImage::from_vec_u8(frame.width, frame.height, linear, PixelType::F32x3)?;
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

/// An 8-bit RGB PNG as linear light.
fn linear_from_png(bytes: &[u8]) -> Result<LinearRgb, Failure> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info()?;
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf)?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("unexpected PNG {:?} {:?}", info.color_type, info.bit_depth).into());
    }
    let table: Vec<f32> = (0..=255u8).map(srgb_to_linear).collect();
    let data = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| {
            [
                table[usize::from(p[0])],
                table[usize::from(p[1])],
                table[usize::from(p[2])],
            ]
        })
        .collect();
    Ok(LinearRgb::new(data, info.width as usize, info.height as usize)?)
}
