//! Bytes for the same picture: resizer's encoders against libvips's, side by
//! side (issue 16).
//!
//! For each thumbnail of [`THUMBS`] (both bench photos at four widths) the
//! pipeline makes the thumbnail once (decode, shrink-on-load, linear-light
//! Lanczos3), and each candidate encoder writes it; libvips makes its own
//! thumbnail (`thumbnail_buffer`) and saves it with its defaults at `Q=80`
//! (`bench/vips_bytes.py`, run through the Python given by `VIPS_PYTHON`).
//! Every output is decoded back and scored with SSIMULACRA2 against the
//! same linear-light reference as `examples/quality.rs` (a float Lanczos3
//! of the full-size decode). Printed per thumbnail and in total: bytes,
//! score, and the median encode time (the save alone for libvips).
//!
//! ```text
//! VIPS_PYTHON=/path/to/venv-with-pyvips/bin/python \
//!   cargo run --release --example bytes -- IMAGES_DIR [runs] [jpeg|webp|avif ...]
//! cargo run --release --features turbo --example bytes -- IMAGES_DIR [runs]
//! ```
//!
//! Quality sweeps beside the defaults: `BYTES_JPEG_Q`, `BYTES_WEBP_Q` and
//! `BYTES_AVIF_Q`, each a comma-separated list (`BYTES_JPEG_Q=70,74`).
//!
//! `IMAGES_DIR` holds `photo_12mp.jpg` and `photo_1000.jpg`
//! (`bench/make_images.py`). The AVIF outputs (resizer's and libvips's) are
//! decoded back by libvips (the default build reads no AVIF).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use resizer::format::ImageFormat;
use resizer::options::{AutoQuality, GrammarLimits, Plan, Quality};
use resizer::pipeline::{Channels, Image, OutputChoice, Pipeline, encode};
use ssimulacra2::{LinearRgb, compute_frame_ssimulacra2};

// Shared with `examples/quality.rs`, which uses the rest of it.
#[allow(dead_code)]
#[path = "support/quality_reference.rs"]
mod quality_reference;

use quality_reference::{Failure, decode_full, reference, srgb_to_linear};

/// The thumbnails: photo and output width (the height keeps the aspect).
const THUMBS: [(&str, u32); 8] = [
    ("photo_12mp.jpg", 150),
    ("photo_12mp.jpg", 300),
    ("photo_12mp.jpg", 600),
    ("photo_12mp.jpg", 1200),
    ("photo_1000.jpg", 150),
    ("photo_1000.jpg", 300),
    ("photo_1000.jpg", 500),
    ("photo_1000.jpg", 800),
];

/// One encoder setting: a name and how it writes a thumbnail.
type Candidate = (String, Box<dyn Fn(&Image) -> Result<Vec<u8>, Failure>>);

/// One row's figures for a candidate.
#[derive(Clone, Copy, Default)]
struct Figures {
    bytes: usize,
    score: f64,
    ms: f64,
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let images = PathBuf::from(args.next().ok_or("usage: bytes IMAGES_DIR [runs] [formats]")?);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let mut formats: Vec<String> = args.collect();
    if formats.is_empty() {
        formats = vec!["jpeg".into()];
    }
    let out = std::env::temp_dir().join(format!("resizer-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;

    // libvips's thumbnails and saves.
    let python = std::env::var("VIPS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/vips_bytes.py");
    let specs: Vec<String> = THUMBS.iter().map(|(p, w)| format!("{p}:{w}")).collect();
    let vips = Command::new(&python)
        .arg(script)
        .arg(&images)
        .arg(&out)
        .arg(runs.to_string())
        .args(&specs)
        .env("VIPS_CONCURRENCY", "1")
        .output()?;
    if !vips.status.success() {
        return Err(format!("{script}: {}", String::from_utf8_lossy(&vips.stderr)).into());
    }
    let vips_ms: BTreeMap<String, f64> = String::from_utf8(vips.stdout)?
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next()?.to_owned();
            let ms = it.nth(1)?.parse().ok()?;
            Some((name, ms))
        })
        .collect();

    let pipeline = Pipeline::default();
    let mut fulls = BTreeMap::new();
    for (photo, _) in THUMBS {
        if !fulls.contains_key(photo) {
            let bytes = std::fs::read(images.join(photo)).map_err(|e| format!("{photo}: {e}"))?;
            fulls.insert(photo, (decode_full(&bytes)?, bytes));
        }
    }

    for format in &formats {
        let (ext, candidates) = match format.as_str() {
            "jpeg" => ("jpg", jpeg_candidates()),
            "webp" => ("webp", webp_candidates()),
            "avif" => ("avif", avif_candidates()),
            other => return Err(format!("unknown format {other}").into()),
        };
        let mut names: Vec<String> = candidates.iter().map(|(n, _)| n.clone()).collect();
        names.push("libvips Q80".into());
        // Per thumbnail, per candidate (libvips last).
        let mut rows: Vec<(String, Vec<Figures>)> = Vec::new();
        // Output files to score after libvips has decoded the AVIFs.
        let mut pending: Vec<(usize, usize, PathBuf, &str)> = Vec::new();
        for (photo, width) in THUMBS {
            let (_, bytes) = &fulls[photo];
            let plan = Plan::parse(&format!("w_{width}"), &GrammarLimits::default())?;
            let (png, _) = pipeline.run(bytes, &plan, OutputChoice::Fixed(ImageFormat::Png), None)?;
            let thumb = decode_full(&png.bytes)?;
            let row = rows.len();
            let mut figures = vec![Figures::default(); names.len()];
            for (i, (_, write)) in candidates.iter().enumerate() {
                let encoded = write(&thumb)?;
                let mut times = Vec::with_capacity(runs);
                for _ in 0..runs {
                    let t = Instant::now();
                    write(&thumb)?;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                figures[i].bytes = encoded.len();
                figures[i].ms = median(times);
                let stem = Path::new(photo)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("x");
                let path = out.join(format!("ours{i}_{stem}_{width}.{ext}"));
                std::fs::write(&path, &encoded)?;
                pending.push((row, i, path, photo));
            }
            let stem = Path::new(photo)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("x");
            let name = format!("vips_{stem}_{width}.{ext}");
            let path = out.join(&name);
            let v = names.len() - 1;
            figures[v].bytes = std::fs::metadata(&path)?.len() as usize;
            figures[v].ms = vips_ms.get(&name).copied().unwrap_or(f64::NAN);
            pending.push((row, v, path, photo));
            rows.push((
                format!("{stem} w{width} ({}x{})", thumb.width(), thumb.height()),
                figures,
            ));
        }
        if ext == "avif" {
            let files: Vec<&PathBuf> = pending.iter().map(|p| &p.2).collect();
            let status = Command::new(&python)
                .arg(script)
                .arg(&images)
                .arg(&out)
                .arg("1")
                .arg("--png")
                .args(files)
                .status()?;
            if !status.success() {
                return Err("libvips could not decode the AVIF outputs".into());
            }
        }
        let mut references: BTreeMap<(&str, u32, u32), LinearRgb> = BTreeMap::new();
        for (row, i, path, photo) in &pending {
            let decoded = if ext == "avif" {
                let mut png = path.clone().into_os_string();
                png.push(".png");
                decode_full(&std::fs::read(png)?)?
            } else {
                decode_full(&std::fs::read(path)?)?
            };
            let (w, h) = (decoded.width(), decoded.height());
            let r = match references.entry((*photo, w, h)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(reference(&fulls[photo].0, w, h)?),
            };
            let score = compute_frame_ssimulacra2(r.clone(), linear(&decoded)?)?;
            rows[*row].1[*i].score = score;
        }
        print_table(format, &names, &rows, runs);
    }
    std::fs::remove_dir_all(&out)?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// An opaque 8-bit image as linear light.
fn linear(image: &Image) -> Result<LinearRgb, Failure> {
    let frame = &image.frames()[0];
    let n = frame.channels().count();
    if image.channels() != Channels::Rgb && image.channels() != Channels::Rgba {
        return Err("unexpected channels".into());
    }
    let data = frame
        .data()
        .chunks_exact(n)
        .map(|p| [srgb_to_linear(p[0]), srgb_to_linear(p[1]), srgb_to_linear(p[2])])
        .collect();
    Ok(LinearRgb::new(
        data,
        frame.width() as usize,
        frame.height() as usize,
    )?)
}

fn print_table(format: &str, names: &[String], rows: &[(String, Vec<Figures>)], runs: usize) {
    println!("\n{format}: bytes / SSIMULACRA2 / median encode ms ({runs} runs)");
    let vips = names.len() - 1;
    for (i, name) in names.iter().enumerate() {
        println!("  [{i}] {name}");
    }
    for (label, figures) in rows {
        print!("{label:<28}");
        for f in figures {
            print!(" | {:>7} {:>5.1} {:>6.2}", f.bytes, f.score, f.ms);
        }
        println!();
    }
    println!("totals (bytes, mean score, encode ms, bytes / libvips's):");
    let total_vips: usize = rows.iter().map(|r| r.1[vips].bytes).sum();
    for (i, name) in names.iter().enumerate() {
        let bytes: usize = rows.iter().map(|r| r.1[i].bytes).sum();
        let score = rows.iter().map(|r| r.1[i].score).sum::<f64>() / rows.len() as f64;
        let ms: f64 = rows.iter().map(|r| r.1[i].ms).sum();
        println!(
            "  [{i}] {name:<40} {bytes:>8} {score:>6.2} {ms:>8.2} {:>6.3}",
            bytes as f64 / total_vips as f64
        );
    }
}

/// The build's JPEG encoder at the default quality and `q_auto`, and the
/// settings compared against it.
fn jpeg_candidates() -> Vec<Candidate> {
    let mut c: Vec<Candidate> = Vec::new();
    let build = if cfg!(feature = "turbo") {
        "libjpeg-turbo"
    } else {
        "mozjpeg"
    };
    for (label, q) in [
        ("default", Quality::Default),
        ("q_auto", Quality::Auto(AutoQuality::Good)),
    ] {
        c.push((
            format!("resizer {build} {label}"),
            Box::new(move |img| Ok(encode::encode(img, ImageFormat::Jpeg, q)?.bytes)),
        ));
        c.push((
            format!("resizer {build} {label} progressive"),
            Box::new(move |img| Ok(encode::encode_with(img, ImageFormat::Jpeg, q, true)?.bytes)),
        ));
    }
    c.push((
        "jpeg-encoder q80 (before)".into(),
        Box::new(|img| jpeg_encoder_q(img, 80)),
    ));
    if let Ok(list) = std::env::var("BYTES_JPEG_Q") {
        for q in list.split(',').filter_map(|q| q.parse::<u8>().ok()) {
            for progressive in [false, true] {
                c.push((
                    format!("resizer q{q}{}", if progressive { " progressive" } else { "" }),
                    Box::new(move |img| {
                        Ok(
                            encode::encode_with(img, ImageFormat::Jpeg, Quality::Value(q), progressive)?
                                .bytes,
                        )
                    }),
                ));
            }
        }
    }
    c
}

/// `jpeg-encoder` with the settings the default build used before mozjpeg.
fn jpeg_encoder_q(img: &Image, q: u8) -> Result<Vec<u8>, Failure> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let frame = img.first();
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, q);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    e.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    e.set_optimized_huffman_tables(true);
    e.encode(
        frame.data(),
        frame.width() as u16,
        frame.height() as u16,
        ColorType::Rgb,
    )?;
    Ok(out)
}

fn webp_candidates() -> Vec<Candidate> {
    encoder_candidates(ImageFormat::Webp, "webp", "BYTES_WEBP_Q")
}

fn avif_candidates() -> Vec<Candidate> {
    encoder_candidates(ImageFormat::Avif, "avif", "BYTES_AVIF_Q")
}

/// The build's encoder for `format` at the default quality and `q_auto`,
/// then at each quality listed in the environment variable `sweep`.
fn encoder_candidates(format: ImageFormat, name: &str, sweep: &str) -> Vec<Candidate> {
    let mut qualities = vec![
        ("default".to_string(), Quality::Default),
        ("q_auto".to_string(), Quality::Auto(AutoQuality::Good)),
    ];
    if let Ok(list) = std::env::var(sweep) {
        qualities.extend(
            list.split(',')
                .filter_map(|q| q.parse::<u8>().ok())
                .map(|q| (format!("q{q}"), Quality::Value(q))),
        );
    }
    qualities
        .into_iter()
        .map(|(label, q)| -> Candidate {
            (
                format!("resizer {name} {label}"),
                Box::new(move |img| Ok(encode::encode(img, format, q)?.bytes)),
            )
        })
        .collect()
}
