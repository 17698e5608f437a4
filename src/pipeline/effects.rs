//! Effects: `e_blur`, `e_sharpen`, `e_grayscale`, applied after resizing,
//! so they cost what the (small) output costs and look the same at any
//! source size.
//!
//! Order: grayscale, then blur, then sharpen. Every frame of an animation is
//! processed; alpha is preserved.
//!
//! * `e_grayscale` takes Rec.709 luminance in linear light and encodes it
//!   back to sRGB, so a colour's grey has its perceived brightness (pure blue
//!   stays dark, yellow stays light).
//! * `e_blur:n` is a Gaussian of sigma `n / 50` pixels (the default 100 is
//!   2 px, the maximum 2000 is 40 px), approximated by three box blurs, so
//!   its cost is a fixed few operations per sample whatever the strength.
//!   Transparent images are blurred premultiplied, so no colour bleeds from
//!   invisible pixels.
//! * `e_sharpen:n` is an unsharp mask of sigma 1 px and amount `n / 100`
//!   (the default 100 adds the full difference once), on colour only.

use super::{Channels, Image, srgb};
use crate::options::Plan;

/// Blur strength per pixel of sigma: `sigma = n / BLUR_STRENGTH_PER_SIGMA`.
/// Cloudinary-like: the default strength 100 is a visible but soft 2 px blur.
const BLUR_STRENGTH_PER_SIGMA: f32 = 50.0;

/// The unsharp mask's radius: 1 px sharpens the detail of a thumbnail
/// without the halos a wider mask draws around edges.
const SHARPEN_SIGMA: f32 = 1.0;

/// Sharpen strength for an amount of 1 (the difference added once).
const SHARPEN_STRENGTH_PER_AMOUNT: f32 = 100.0;

/// Box passes approximating a Gaussian: three get within 3% of it.
const BOX_PASSES: usize = 3;

/// Rec.709 luminance weights of linear R, G, B.
const LUMA_709: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Applies the plan's effects to every frame.
pub fn apply(mut image: Image, plan: &Plan) -> Image {
    let channels = image.channels;
    for frame in &mut image.frames {
        let (w, h) = (frame.width as usize, frame.height as usize);
        if frame.data.len() != w * h * channels.count() || w == 0 || h == 0 {
            continue;
        }
        if plan.grayscale() {
            grayscale(&mut frame.data, channels);
        }
        if let Some(n) = plan.blur() {
            blur(
                &mut frame.data,
                w,
                h,
                channels,
                f32::from(n) / BLUR_STRENGTH_PER_SIGMA,
            );
        }
        if let Some(n) = plan.sharpen() {
            sharpen(
                &mut frame.data,
                w,
                h,
                channels,
                f32::from(n) / SHARPEN_STRENGTH_PER_AMOUNT,
            );
        }
    }
    image
}

fn grayscale(data: &mut [u8], channels: Channels) {
    let (to_linear, to_srgb) = (&*srgb::TO_LINEAR, &*srgb::FROM_LINEAR);
    for px in data.chunks_exact_mut(channels.count()) {
        let y: f32 = (0..3).map(|c| LUMA_709[c] * to_linear[usize::from(px[c])]).sum();
        px[..3].fill(to_srgb.encode(y));
    }
}

/// Box widths (odd) whose three passes approximate a Gaussian of `sigma`
/// (W. Jarosz / P. Kovesi, "boxes for Gauss").
fn box_radii(sigma: f32) -> [usize; BOX_PASSES] {
    let n = BOX_PASSES as f32;
    let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
    let mut lower = ideal.floor() as i64;
    if lower % 2 == 0 {
        lower -= 1;
    }
    let lower = lower.max(1);
    let upper = lower + 2;
    let l = lower as f32;
    let m = ((12.0 * sigma * sigma - n * l * l - 4.0 * n * l - 3.0 * n) / (-4.0 * l - 4.0)).round() as i64;
    let mut radii = [0; BOX_PASSES];
    for (i, r) in radii.iter_mut().enumerate() {
        let width = if (i as i64) < m { lower } else { upper };
        *r = ((width - 1) / 2) as usize;
    }
    radii
}

/// One box pass along lines of `len` samples spaced `step` apart, `count`
/// lines starting `line_step` apart, edges extended. A running sum makes
/// the cost independent of the radius.
fn box_pass(src: &[f32], dst: &mut [f32], len: usize, step: usize, lines: (usize, usize), radius: usize) {
    let (count, line_step) = lines;
    if len == 0 || radius == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let last = len - 1;
    let norm = 1.0 / (2 * radius + 1) as f32;
    for line in 0..count {
        let base = line * line_step;
        let at = |i: usize| base + i.min(last) * step;
        let mut sum: f32 = src[at(0)] * (radius + 1) as f32;
        for i in 1..=radius {
            sum += src[at(i)];
        }
        for i in 0..len {
            dst[base + i * step] = sum * norm;
            let leaving = src[at(i.saturating_sub(radius))];
            sum += src[at(i + radius + 1)] - leaving;
        }
    }
}

/// Gaussian-like blur of interleaved f32 samples in place.
fn blur_planes(buf: &mut [f32], w: usize, h: usize, n: usize, sigma: f32) {
    if sigma <= 0.0 {
        return;
    }
    let mut tmp = vec![0.0f32; buf.len()];
    for radius in box_radii(sigma) {
        // Rows: each channel of each row is a line.
        let r = radius.min(w);
        for c in 0..n {
            box_pass(&buf[c..], &mut tmp[c..], w, n, (h, w * n), r);
        }
        // Columns.
        let r = radius.min(h);
        for c in 0..n {
            box_pass(&tmp[c..], &mut buf[c..], h, w * n, (w, n), r);
        }
    }
}

fn blur(data: &mut [u8], w: usize, h: usize, channels: Channels, sigma: f32) {
    let n = channels.count();
    let alpha = channels == Channels::Rgba;
    let mut buf: Vec<f32> = data.iter().map(|&v| f32::from(v)).collect();
    if alpha {
        for px in buf.chunks_exact_mut(4) {
            let a = px[3] / 255.0;
            px[..3].iter_mut().for_each(|v| *v *= a);
        }
    }
    blur_planes(&mut buf, w, h, n, sigma);
    for (out, px) in data.chunks_exact_mut(n).zip(buf.chunks_exact(n)) {
        let a = if alpha { px[3] / 255.0 } else { 1.0 };
        for c in 0..n {
            let v = if c < 3 && alpha {
                if a > 0.0 { px[c] / a } else { 0.0 }
            } else {
                px[c]
            };
            out[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

fn sharpen(data: &mut [u8], w: usize, h: usize, channels: Channels, amount: f32) {
    let n = channels.count();
    let mut blurred: Vec<f32> = data.iter().map(|&v| f32::from(v)).collect();
    blur_planes(&mut blurred, w, h, n, SHARPEN_SIGMA);
    for (out, soft) in data.chunks_exact_mut(n).zip(blurred.chunks_exact(n)) {
        for c in 0..3 {
            let v = f32::from(out[c]);
            out[c] = (v + amount * (v - soft[c])).round().clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;

    /// Black left half, white right half.
    fn edge(w: u32, h: u32, channels: Channels) -> Image {
        let data = (0..h)
            .flat_map(|_| {
                (0..w).flat_map(move |x| {
                    let v = if x < w / 2 { 40 } else { 210 };
                    let px = [v, v, v, 255];
                    px.into_iter().take(channels.count())
                })
            })
            .collect();
        Image::still(w, h, channels, data)
    }

    fn at(img: &Image, x: u32, y: u32) -> &[u8] {
        let n = img.channels.count();
        let i = (y as usize * img.width() as usize + x as usize) * n;
        &img.frames[0].data[i..i + n]
    }

    #[test]
    fn blur_reduces_edge_contrast() {
        let img = edge(40, 10, Channels::Rgb);
        let plan = Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap();
        let out = apply(img, &plan);
        let (l, r) = (at(&out, 19, 5)[0], at(&out, 20, 5)[0]);
        assert!(r - l < 100, "edge {l} -> {r}");
        assert!(l > 40 && r < 210);
        // Far from the edge nothing changes.
        assert_eq!(at(&out, 0, 5)[0], 40);
        assert_eq!(at(&out, 39, 5)[0], 210);
    }

    #[test]
    fn strong_blur_is_bounded_and_flattens() {
        let img = edge(30, 6, Channels::Rgb);
        let plan = Plan::parse("e_blur:2000", &GrammarLimits::default()).unwrap();
        let out = apply(img, &plan);
        let (l, r) = (at(&out, 0, 0)[0], at(&out, 29, 0)[0]);
        assert!(r.abs_diff(l) < 60, "{l} {r}");
    }

    #[test]
    fn sharpen_increases_edge_contrast() {
        let mut img = edge(40, 10, Channels::Rgba);
        // Soften first, so there is an edge ramp to sharpen.
        img = apply(
            img,
            &Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap(),
        );
        let before = at(&img, 21, 5)[0] as i32 - at(&img, 18, 5)[0] as i32;
        let out = apply(
            img,
            &Plan::parse("e_sharpen:100", &GrammarLimits::default()).unwrap(),
        );
        let after = at(&out, 21, 5)[0] as i32 - at(&out, 18, 5)[0] as i32;
        assert!(after > before, "{before} -> {after}");
        assert_eq!(at(&out, 20, 5)[3], 255);
    }

    #[test]
    fn grayscale_gives_equal_channels_in_linear_light() {
        let data = vec![255, 0, 0, 200, 0, 255, 0, 100, 0, 0, 255, 0, 120, 130, 140, 255];
        let img = Image::still(4, 1, Channels::Rgba, data);
        let out = apply(
            img,
            &Plan::parse("e_grayscale", &GrammarLimits::default()).unwrap(),
        );
        for x in 0..4 {
            let p = at(&out, x, 0);
            assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
        }
        // Linear-light Rec.709: red 0.2126 -> sRGB 127, green 0.7152 -> 220,
        // blue 0.0722 -> 76.
        assert!(at(&out, 0, 0)[0].abs_diff(127) <= 1);
        assert!(at(&out, 1, 0)[0].abs_diff(220) <= 1);
        assert!(at(&out, 2, 0)[0].abs_diff(76) <= 1);
        // Alpha untouched.
        assert_eq!(
            [at(&out, 0, 0)[3], at(&out, 1, 0)[3], at(&out, 2, 0)[3]],
            [200, 100, 0]
        );
    }

    #[test]
    fn blur_of_transparent_neighbours_keeps_colour() {
        // Opaque red next to transparent blue: the blurred red edge stays red.
        let data = (0..8)
            .flat_map(|_| (0..16).flat_map(|x| if x < 8 { [255, 0, 0, 255] } else { [0, 0, 255, 0] }))
            .collect();
        let img = Image::still(16, 8, Channels::Rgba, data);
        let out = apply(
            img,
            &Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap(),
        );
        let p = at(&out, 9, 4);
        assert!(p[3] > 0 && p[3] < 255);
        assert!(p[0] > 250 && p[2] < 5, "{p:?}");
    }

    #[test]
    fn box_radii_grow_with_sigma() {
        assert_eq!(box_radii(0.1), [0, 0, 0]);
        let small = box_radii(2.0);
        let large = box_radii(40.0);
        assert!(small.iter().sum::<usize>() < large.iter().sum::<usize>());
    }
}
