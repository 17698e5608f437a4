//! Benchmarks of the pipeline: the whole job (`process`, bytes in, bytes
//! out) on the photos of `bench/make_images.py`, the same four jobs that
//! `bench/vips_job.py` times for libvips; and the costly stages alone:
//! decoding each format (JPEG at full size and shrunk on load, baseline and
//! progressive), resampling a 12-megapixel photo to a 300 px thumbnail
//! (linear light vs gamma space), and each encoder on a 300x225 thumbnail.
//!
//! Run with `cargo bench --bench pipeline` (`-- job` for the whole jobs only,
//! `-- decoders` for the decoders, `-- decode_cache` for a rendition decoded
//! vs taken from the decode cache).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use resizer::admission::Admission;
use resizer::format::ImageFormat;
use resizer::options::{Chain, GrammarLimits, Gravity, Plan, Quality};
use resizer::pipeline::decoded::DecodeCache;
use resizer::pipeline::geometry::{Anchor, Dim, Layout, Region};
use resizer::pipeline::resize::{ResampleSpace, apply};
use resizer::pipeline::{Channels, Image, Limits, OutputChoice, Pipeline, decode, encode, probe};

/// The jobs of `bench/vips_job.py`.
#[path = "../examples/support/jobs.rs"]
mod jobs;
use jobs::JOBS;

/// The whole pipeline, single-threaded, from the source bytes in memory to
/// the encoded output, as a request runs it.
fn job(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/images");
    let mut group = c.benchmark_group("job");
    group.sample_size(20);
    for (name, file, transformation, format) in JOBS {
        let path = format!("{dir}/{file}");
        let Ok(bytes) = std::fs::read(&path) else {
            println!(
                "job/{name}: skipped, {path} is missing (run `python bench/make_images.py` to create the benchmark images)"
            );
            continue;
        };
        let plan = Plan::parse(transformation, &GrammarLimits::default()).expect("the job's plan parses");
        let output = OutputChoice::Fixed(format);
        let pipeline = Pipeline::new(Limits::default());
        group.bench_function(name, |b| {
            b.iter(|| {
                pipeline
                    .run(black_box(&bytes), &plan, output, None)
                    .expect("the job runs")
            })
        });
    }
    group.finish();
}

/// One rendition of the 12 MP photo (`w_640,f_webp`, as a responsive page
/// asks for) decoded afresh, and taken from the decode cache: what a hot
/// source saves per request.
fn decode_cache(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/images/photo_12mp.jpg");
    let Ok(bytes) = std::fs::read(path) else {
        println!("decode_cache: skipped, {path} is missing (run `python bench/make_images.py`)");
        return;
    };
    let chain =
        Chain::single(Plan::parse("w_640,f_webp", &GrammarLimits::default()).expect("the plan parses"));
    let pipeline = Pipeline::new(Limits::default());
    let cache = DecodeCache::new(256 << 20, Admission::First);
    let handle = cache
        .for_source("photo", bytes::Bytes::from(bytes.clone()))
        .expect("the cache is on");
    let run = |decodes| {
        pipeline
            .run_layered(
                black_box(&bytes),
                &chain,
                &[],
                OutputChoice::Source,
                None,
                decodes,
            )
            .expect("the job runs")
    };
    run(Some(&handle));
    let mut group = c.benchmark_group("decode_cache");
    group.sample_size(20);
    group.bench_function("w_640_webp_decoded", |b| b.iter(|| run(None)));
    group.bench_function("w_640_webp_reused", |b| b.iter(|| run(Some(&handle))));
    group.finish();
}

/// A deterministic photo-like RGB image: smooth gradients, soft shapes and
/// fine noise, so that resamplers and encoders see realistic detail.
fn photo(width: u32, height: u32) -> Image {
    let mut data = Vec::with_capacity(width as usize * height as usize * 3);
    let mut seed = 0x2545_f491_u32;
    for y in 0..height {
        for x in 0..width {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed & 15) as f32 - 7.5;
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let ring = ((fx - 0.6).hypot(fy - 0.4) * 40.0).sin() * 40.0;
            let r = 60.0 + 150.0 * fx + ring + noise;
            let g = 80.0 + 120.0 * fy - ring * 0.5 + noise;
            let b = 140.0 + 80.0 * (fx * fy * 12.0).sin() + noise;
            data.extend([r, g, b].map(|v| v.clamp(0.0, 255.0) as u8));
        }
    }
    Image::still(width, height, Channels::Rgb, data).unwrap()
}

fn scale_layout(source: (u32, u32), target: (u32, u32)) -> Layout {
    Layout {
        source: Dim {
            width: source.0,
            height: source.1,
        },
        region: Region {
            width: f64::from(source.0),
            height: f64::from(source.1),
            anchor: Anchor::Gravity(Gravity::Center),
        },
        resize: Dim {
            width: target.0,
            height: target.1,
        },
        canvas: None,
    }
}

/// Probe + decode alone, per format: the benchmark photos from
/// `bench/images` (JPEG at full size and at the scale a 300 px thumbnail
/// decodes at), and a 1200x900 photo encoded by resizer itself as PNG, WebP
/// and GIF.
fn decoders(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/images");
    let pipeline = Pipeline::new(Limits::default());
    let mut sources: Vec<(String, Vec<u8>, f64)> = Vec::new();
    for (name, file) in [
        ("jpeg_12mp", "photo_12mp.jpg"),
        ("jpeg_12mp_prog", "photo_12mp_prog.jpg"),
        ("png_1600_alpha", "photo_1600_alpha.png"),
    ] {
        let path = format!("{dir}/{file}");
        let Ok(bytes) = std::fs::read(&path) else {
            println!("decode/{name}: skipped, {path} is missing (run `python bench/make_images.py`)");
            continue;
        };
        if name.starts_with("jpeg") {
            // 300 px out of 4000: the scale a `w_300` request asks the decoder for.
            sources.push((format!("{name}/for_300px"), bytes.clone(), 300.0 / 4000.0));
        }
        sources.push((format!("{name}/full"), bytes, 1.0));
    }
    let still = photo(1200, 900);
    for format in [ImageFormat::Png, ImageFormat::Webp, ImageFormat::Gif] {
        let encoded = encode::encode(&still, format, Quality::Default).expect("the benchmark photo encodes");
        if format == ImageFormat::Webp {
            // Shrunk on load only with the `turbo` feature (libwebp).
            sources.push(("webp_1200x900/for_300px".to_string(), encoded.bytes.clone(), 0.25));
        }
        sources.push((format!("{}_1200x900/full", format.name()), encoded.bytes, 1.0));
    }
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for (name, bytes, min_scale) in &sources {
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let probed = probe::probe(black_box(bytes)).expect("the source probes");
                decode::decode(bytes, &probed, &pipeline.decode_request(*min_scale, false))
                    .expect("the source decodes")
            })
        });
    }
    group.finish();
}

fn resize(c: &mut Criterion) {
    let mut group = c.benchmark_group("resize");
    group.sample_size(10);
    for (name, source) in [("12mp", (4000, 3000)), ("1000x750", (1000, 750))] {
        let image = photo(source.0, source.1);
        let layout = scale_layout(source, (300, 225));
        for space in [ResampleSpace::Linear, ResampleSpace::Gamma] {
            group.bench_function(format!("{name}_to_300/{space:?}"), |b| {
                // The clone that feeds each run is not measured.
                b.iter_batched(
                    || image.clone(),
                    |image| apply(black_box(image), &layout, space),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

fn encoders(c: &mut Criterion) {
    // A real thumbnail is a reduction: its per-pixel noise is averaged away,
    // which matters a lot to AV1 and WebP encode times.
    let thumb = apply(
        photo(1200, 900),
        &scale_layout((1200, 900), (300, 225)),
        ResampleSpace::Linear,
    )
    .expect("the benchmark thumbnail resizes");
    let mut group = c.benchmark_group("encode_300x225");
    group.sample_size(20);
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Webp,
        ImageFormat::Gif,
        ImageFormat::Avif,
    ] {
        group.bench_function(format.name(), |b| {
            b.iter(|| encode::encode(black_box(&thumb), format, Quality::Default))
        });
    }
    group.finish();
}

criterion_group!(benches, job, decode_cache, decoders, resize, encoders);
criterion_main!(benches);
