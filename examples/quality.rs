//! Quality and speed of the pipeline's tuning knobs, measured side by side.
//!
//! For each setting of [`Tuning`] (shrink-on-load margin x resampling space)
//! this prints:
//! - the mean SSIMULACRA2 score of resizer's output against a reference, over
//!   the benchmark photos reduced 2x to 14x. The reference is a linear-light
//!   Lanczos3 resample in 32-bit float of the full-size decode, the measure
//!   the pipeline's quality target is stated in (`support/quality_reference.rs`,
//!   shared with the floor test). The output is written as PNG (lossless) so
//!   that the score measures decode and resample, not JPEG artefacts; being
//!   8-bit it cannot reach 100, and the ceiling printed first is what the
//!   reference itself scores once rounded to 8 bits;
//! - the median time of the whole benchmark jobs (those of
//!   `benches/pipeline.rs` and `bench/vips_job.py`), single-threaded.
//!
//! ```text
//! python bench/make_images.py
//! cargo run --release --example quality [runs]
//! ```
//!
//! The decode scale per reduction: `QUALITY_MARGINS=2.5 QUALITY_HALF=1,1.25,1.5,2.5`
//! tries each 1/2-scale margin ([`Tuning::half_scale_margin`]) under each
//! margin (linear light only) and also times the large renditions of
//! [`RENDITIONS`] (the 12 MP photo to 960-1600 px, as `srcset` asks);
//! `QUALITY_DETAIL=1` prints every case's score, `QUALITY_FACTORS=2,2.5,3`
//! scores other reductions. Without `QUALITY_HALF` each margin applies at
//! every scale, as in the tables of BENCHMARKS.md.

use std::time::Instant;

use resizer::format::ImageFormat;
use resizer::options::{GrammarLimits, Plan};
use resizer::pipeline::{Limits, OutputChoice, Pipeline, ResampleSpace, Tuning};
use ssimulacra2::compute_frame_ssimulacra2;

#[path = "support/quality_reference.rs"]
mod quality_reference;

use quality_reference::{Failure, ceiling, decode_full, linear_from_png, reference};

/// The photos scored (opaque JPEGs of `bench/make_images.py`).
const PHOTOS: [&str; 2] = ["photo_12mp.jpg", "photo_1000.jpg"];

/// Reduction factors scored, as the pipeline's quality target states them.
const FACTORS: [f64; 8] = [2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0];

/// Shrink-on-load margins tried; infinity never shrinks on load.
const MARGINS: [f64; 7] = [1.0, 1.25, 1.5, 2.0, 2.5, 3.0, f64::INFINITY];

/// The jobs timed (the same as the criterion benches and `bench/vips_job.py`).
#[path = "support/jobs.rs"]
mod jobs;
use jobs::JOBS;

/// Widths the 12 MP photo is timed at as large renditions (the `srcset`
/// load's 960-1600 px) when `QUALITY_HALF` is set; `bench/vips_job.py` times
/// the same ones.
const RENDITIONS: [u32; 3] = [960, 1280, 1600];

fn main() -> Result<(), Failure> {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(11);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/images");
    let read = |name: &str| {
        std::fs::read(format!("{dir}/{name}"))
            .map_err(|e| format!("{dir}/{name}: {e} (run `python bench/make_images.py` first)"))
    };

    // Comma-separated numbers from the environment ("none": never shrink).
    let list = |var: &str| -> Option<Vec<f64>> {
        let text = std::env::var(var).ok()?;
        Some(
            text.split(',')
                .filter_map(|m| {
                    if m == "none" {
                        Some(f64::INFINITY)
                    } else {
                        m.parse().ok()
                    }
                })
                .collect(),
        )
    };
    let factors = list("QUALITY_FACTORS").unwrap_or(FACTORS.to_vec());
    let margins = list("QUALITY_MARGINS").unwrap_or(MARGINS.to_vec());
    let halves = list("QUALITY_HALF");

    // References: full-size decode, linear light, f32 Lanczos3.
    let mut cases = Vec::new();
    for photo in PHOTOS {
        let bytes = read(photo)?;
        let full = decode_full(&bytes)?;
        for &factor in &factors {
            let tw = (f64::from(full.width()) / factor).round() as u32;
            let th = (f64::from(full.height()) / factor).round() as u32;
            let reference = reference(&full, tw, th)?;
            cases.push((photo, factor, bytes.clone(), tw, th, reference));
        }
    }
    let mut jobs: Vec<_> = JOBS
        .iter()
        .map(|&(name, file, text, format)| Ok((name.to_string(), read(file)?, parse(text)?, format)))
        .collect::<Result<_, Failure>>()?;
    if halves.is_some() {
        let photo = read("photo_12mp.jpg")?;
        for width in RENDITIONS {
            let name = format!("jpeg_12mp_{width}");
            jobs.push((
                name,
                photo.clone(),
                parse(&format!("w_{width}"))?,
                ImageFormat::Jpeg,
            ));
        }
    }

    let mut ceilings = Vec::new();
    for (.., reference) in &cases {
        ceilings.push(ceiling(reference)?);
    }
    let limits = Limits::default();
    println!(
        "{} cases ({PHOTOS:?} x {factors:?}), {runs} timed runs per job, median ms",
        cases.len()
    );
    println!(
        "ceiling (the reference rounded to 8-bit sRGB): mean {:.2}, min {:.2}",
        ceilings.iter().sum::<f64>() / ceilings.len() as f64,
        ceilings.iter().copied().fold(f64::INFINITY, f64::min)
    );
    print!(
        "{:>8} {:>8} {:>7} {:>7} {:>7}",
        "margin", "space", "mean", "min", ">=8x"
    );
    for (name, ..) in &jobs {
        print!(" {name:>19}");
    }
    println!();
    let spaces = if halves.is_some() {
        vec![ResampleSpace::Linear]
    } else {
        vec![
            ResampleSpace::Linear,
            ResampleSpace::Linear16,
            ResampleSpace::Gamma,
        ]
    };
    // (margin, half-scale margin): each margin alone, or with each half.
    let settings: Vec<(f64, f64)> = margins
        .iter()
        .flat_map(|&m| match &halves {
            Some(halves) => halves.iter().map(|&h| (m, h)).collect(),
            None => vec![(m, m)],
        })
        .collect();
    for space in spaces {
        for &(margin, half) in &settings {
            let pipeline = Pipeline {
                limits,
                tuning: Tuning {
                    shrink_margin: margin,
                    half_scale_margin: half,
                    resample_space: space,
                },
            };
            let mut scores = Vec::new();
            let mut large = Vec::new();
            for (_, factor, bytes, tw, th, reference) in &cases {
                let plan = parse(&format!("w_{tw},h_{th}"))?;
                let (encoded, _) = pipeline.run(bytes, &plan, OutputChoice::Fixed(ImageFormat::Png), None)?;
                let out = linear_from_png(&encoded.bytes)?;
                let score = compute_frame_ssimulacra2(reference.clone(), out)?;
                scores.push(score);
                if *factor >= 8.0 {
                    large.push(score);
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
            let label = if half == margin {
                format!("{margin}")
            } else {
                format!("{margin}/{half}")
            };
            print!(
                "{label:>8} {:>8} {:>7.2} {min:>7.2} {:>7.2}",
                format!("{space:?}"),
                mean(&scores),
                mean(&large)
            );
            for (_, bytes, plan, format) in &jobs {
                let mut times = Vec::with_capacity(runs);
                pipeline.run(bytes, plan, OutputChoice::Fixed(*format), None)?;
                for _ in 0..runs {
                    let t = Instant::now();
                    pipeline.run(bytes, plan, OutputChoice::Fixed(*format), None)?;
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
