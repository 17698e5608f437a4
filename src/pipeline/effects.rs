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
//! * `e_blur:n` is a Gaussian whose sigma grows linearly with `n`, from
//!   0.3 px at 1 (the smallest blur an 8-bit edge shows) to 40 px at 2000
//!   (the default 100 is 2.3 px): every strength blurs, and more than the
//!   one below it. It is approximated by three *extended* box blurs
//!   (Gwosdek et al., 2011: a box with fractional end weights), whose
//!   variance follows sigma continuously where whole-pixel boxes jump in
//!   steps; its cost is a fixed few operations per sample whatever the
//!   strength. Transparent images are blurred premultiplied, so no colour
//!   bleeds from invisible pixels.
//! * `e_sharpen:n` is an unsharp mask of sigma 1 px and amount `n / 100`
//!   (the default 100 adds the full difference once), on colour only.

use super::{Channels, Image, PipelineError, deadline, srgb};
use crate::options::Plan;

/// Sigma of `e_blur:1`: the smallest blur that changes a hard 8-bit edge
/// (weaker ones round back to the same values).
const BLUR_MIN_SIGMA: f32 = 0.3;

/// Sigma of `e_blur:2000`, the strongest: 40 px, a heavy background blur on
/// a thumbnail.
const BLUR_MAX_SIGMA: f32 = 40.0;

/// The strongest `e_blur` strength (the grammar's upper bound).
const BLUR_MAX_STRENGTH: f32 = 2000.0;

/// The unsharp mask's radius: 1 px sharpens the detail of a thumbnail
/// without the halos a wider mask draws around edges.
const SHARPEN_SIGMA: f32 = 1.0;

/// Sharpen strength for an amount of 1 (the difference added once).
const SHARPEN_STRENGTH_PER_AMOUNT: f32 = 100.0;

/// The Gaussian sigma of `e_blur:n`: linear from [`BLUR_MIN_SIGMA`] at 1 to
/// [`BLUR_MAX_SIGMA`] at 2000, so strictly increasing over the range.
fn blur_sigma(strength: u16) -> f32 {
    let t = (f32::from(strength.max(1)) - 1.0) / (BLUR_MAX_STRENGTH - 1.0);
    BLUR_MIN_SIGMA + t * (BLUR_MAX_SIGMA - BLUR_MIN_SIGMA)
}

/// Box passes approximating a Gaussian: three get within 3% of it.
const BOX_PASSES: usize = 3;

/// Rec.709 luminance weights of linear R, G, B.
const LUMA_709: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Applies the plan's effects to every frame. Stops with
/// [`PipelineError::DeadlineExceeded`] between two rows once the
/// processing deadline has passed.
pub fn apply(mut image: Image, plan: &Plan) -> Result<Image, PipelineError> {
    let channels = image.channels();
    for frame in image.frames_mut() {
        deadline::check()?;
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        if plan.grayscale() {
            grayscale(frame.data_mut(), channels);
        }
        if let Some(n) = plan.blur() {
            blur(frame.data_mut(), w, h, channels, blur_sigma(n))?;
        }
        if let Some(n) = plan.sharpen() {
            sharpen(
                frame.data_mut(),
                w,
                h,
                channels,
                f32::from(n) / SHARPEN_STRENGTH_PER_AMOUNT,
            )?;
        }
    }
    // Cloudinary's colour effects, after these (README, grammar table).
    super::adjust::apply(image, plan)
}

fn grayscale(data: &mut [u8], channels: Channels) {
    let (to_linear, to_srgb) = (&*srgb::TO_LINEAR, &*srgb::FROM_LINEAR);
    for px in data.chunks_exact_mut(channels.count()) {
        let y: f32 = (0..3).map(|c| LUMA_709[c] * to_linear[usize::from(px[c])]).sum();
        px[..3].fill(to_srgb.encode(y));
    }
}

/// One pass of an extended box filter: weight 1 on the `2 radius + 1`
/// central samples and `alpha` (in [0, 1)) on the next one each side,
/// normalised. Its variance grows continuously with `alpha`, from a whole
/// box of `radius` to the one of `radius + 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ExtendedBox {
    radius: usize,
    alpha: f32,
}

/// The extended box whose [`BOX_PASSES`] passes have the variance of a
/// Gaussian of `sigma` (Gwosdek, Grewenig, Bruhn, Weickert, "Theoretical
/// foundations of Gaussian convolution by extended box filtering", 2011).
fn extended_box(sigma: f32) -> ExtendedBox {
    let variance = f64::from(sigma) * f64::from(sigma) / BOX_PASSES as f64;
    // The largest whole box not wider than the variance asks: a box of
    // radius r has variance r (r + 1) / 3.
    let r = ((1.0 + 12.0 * variance).sqrt() / 2.0 - 0.5).floor().max(0.0);
    let whole = r * (r + 1.0) / 3.0;
    let next = (r + 1.0) * (r + 1.0);
    let alpha = (2.0 * r + 1.0) * (variance - whole) / (2.0 * (next - variance));
    ExtendedBox {
        radius: r as usize,
        alpha: alpha.clamp(0.0, 1.0) as f32,
    }
}

/// One extended-box pass along each row of a `w x h` image of `n`
/// interleaved channels, from `src` into `dst`, edges extended. A running
/// sum makes the cost independent of the radius.
fn box_rows(
    src: &[f32],
    dst: &mut [f32],
    (w, h, n): (usize, usize, usize),
    b: ExtendedBox,
) -> Result<(), PipelineError> {
    let last = w as isize - 1;
    let norm = 1.0 / ((2 * b.radius + 1) as f32 + 2.0 * b.alpha);
    let r = b.radius as isize;
    for (src_row, dst_row) in src.chunks_exact(w * n).zip(dst.chunks_exact_mut(w * n)).take(h) {
        deadline::check()?;
        for c in 0..n {
            let at = |i: isize| src_row[i.clamp(0, last) as usize * n + c];
            let mut sum: f32 = (-r..=r).map(at).sum();
            for i in 0..w as isize {
                let ends = at(i - r - 1) + at(i + r + 1);
                dst_row[i as usize * n + c] = (sum + b.alpha * ends) * norm;
                sum += at(i + r + 1) - at(i - r);
            }
        }
    }
    Ok(())
}

/// One extended-box pass down the columns of a `w x h` image of `n`
/// interleaved channels, from `src` into `dst`, edges extended: the running
/// sums of every column advance together, a row at a time, so the pass
/// reads memory in order (a column at a time strides a whole row per
/// sample, which made large blurs many times slower).
fn box_columns(
    src: &[f32],
    dst: &mut [f32],
    (w, h, n): (usize, usize, usize),
    b: ExtendedBox,
) -> Result<(), PipelineError> {
    let stride = w * n;
    let last = h as isize - 1;
    let norm = 1.0 / ((2 * b.radius + 1) as f32 + 2.0 * b.alpha);
    let r = b.radius as isize;
    let row = |i: isize| {
        let y = i.clamp(0, last) as usize;
        &src[y * stride..(y + 1) * stride]
    };
    let mut sum = vec![0.0f32; stride];
    for i in -r..=r {
        sum.iter_mut().zip(row(i)).for_each(|(s, v)| *s += v);
    }
    for (y, out) in dst.chunks_exact_mut(stride).take(h).enumerate() {
        deadline::check()?;
        let y = y as isize;
        let (before, after) = (row(y - r - 1), row(y + r + 1));
        for (((o, s), a), z) in out.iter_mut().zip(&sum).zip(before).zip(after) {
            *o = (s + b.alpha * (a + z)) * norm;
        }
        let leaving = row(y - r);
        for ((s, add), sub) in sum.iter_mut().zip(after).zip(leaving) {
            *s += add - sub;
        }
    }
    Ok(())
}

/// Gaussian-like blur of interleaved f32 samples in place.
fn blur_planes(buf: &mut [f32], w: usize, h: usize, n: usize, sigma: f32) -> Result<(), PipelineError> {
    if sigma.is_nan() || sigma <= 0.0 || buf.len() != w * h * n {
        return Ok(());
    }
    let b = extended_box(sigma);
    let mut tmp = vec![0.0f32; buf.len()];
    for _ in 0..BOX_PASSES {
        box_rows(buf, &mut tmp, (w, h, n), b)?;
        box_columns(&tmp, buf, (w, h, n), b)?;
    }
    Ok(())
}

fn blur(data: &mut [u8], w: usize, h: usize, channels: Channels, sigma: f32) -> Result<(), PipelineError> {
    let n = channels.count();
    let alpha = channels == Channels::Rgba;
    let mut buf: Vec<f32> = data.iter().map(|&v| f32::from(v)).collect();
    if alpha {
        for px in buf.chunks_exact_mut(4) {
            let a = px[3] / 255.0;
            px[..3].iter_mut().for_each(|v| *v *= a);
        }
    }
    blur_planes(&mut buf, w, h, n, sigma)?;
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
    Ok(())
}

fn sharpen(
    data: &mut [u8],
    w: usize,
    h: usize,
    channels: Channels,
    amount: f32,
) -> Result<(), PipelineError> {
    let n = channels.count();
    let mut blurred: Vec<f32> = data.iter().map(|&v| f32::from(v)).collect();
    blur_planes(&mut blurred, w, h, n, SHARPEN_SIGMA)?;
    for (out, soft) in data.chunks_exact_mut(n).zip(blurred.chunks_exact(n)) {
        for c in 0..3 {
            let v = f32::from(out[c]);
            out[c] = (v + amount * (v - soft[c])).round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(())
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
        Image::still(w, h, channels, data).unwrap()
    }

    fn at(img: &Image, x: u32, y: u32) -> &[u8] {
        let n = img.channels().count();
        let i = (y as usize * img.width() as usize + x as usize) * n;
        &img.frames()[0].data()[i..i + n]
    }

    #[test]
    fn blur_reduces_edge_contrast() {
        let img = edge(40, 10, Channels::Rgb);
        let plan = Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap();
        let out = apply(img, &plan).unwrap();
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
        let out = apply(img, &plan).unwrap();
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
        )
        .unwrap();
        let before = at(&img, 21, 5)[0] as i32 - at(&img, 18, 5)[0] as i32;
        let out = apply(
            img,
            &Plan::parse("e_sharpen:100", &GrammarLimits::default()).unwrap(),
        )
        .unwrap();
        let after = at(&out, 21, 5)[0] as i32 - at(&out, 18, 5)[0] as i32;
        assert!(after > before, "{before} -> {after}");
        assert_eq!(at(&out, 20, 5)[3], 255);
    }

    #[test]
    fn grayscale_gives_equal_channels_in_linear_light() {
        let data = vec![255, 0, 0, 200, 0, 255, 0, 100, 0, 0, 255, 0, 120, 130, 140, 255];
        let img = Image::still(4, 1, Channels::Rgba, data).unwrap();
        let out = apply(
            img,
            &Plan::parse("e_grayscale", &GrammarLimits::default()).unwrap(),
        )
        .unwrap();
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
        let img = Image::still(16, 8, Channels::Rgba, data).unwrap();
        let out = apply(
            img,
            &Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap(),
        )
        .unwrap();
        let p = at(&out, 9, 4);
        assert!(p[3] > 0 && p[3] < 255);
        assert!(p[0] > 250 && p[2] < 5, "{p:?}");
    }

    #[test]
    fn extended_boxes_have_the_gaussian_variance_continuously() {
        let variance = |b: ExtendedBox| {
            let r = b.radius as f32;
            let a = b.alpha;
            (r * (r + 1.0) * (2.0 * r + 1.0) / 3.0 + 2.0 * a * (r + 1.0) * (r + 1.0))
                / (2.0 * r + 1.0 + 2.0 * a)
        };
        let mut previous = 0.0;
        for step in 1..=800 {
            let sigma = step as f32 * 0.05;
            let b = extended_box(sigma);
            let v = variance(b) * BOX_PASSES as f32;
            assert!(
                (v - sigma * sigma).abs() <= 1e-3 * sigma * sigma + 1e-4,
                "sigma {sigma}: {b:?} {v}"
            );
            assert!(v > previous, "sigma {sigma}");
            previous = v;
        }
        assert_eq!(extended_box(0.3).radius, 0);
        assert!(extended_box(0.3).alpha > 0.0);
    }

    /// The sum of squared differences from the mean over a frame: blur
    /// lowers it.
    fn spread(img: &Image) -> f64 {
        let data = &img.frames()[0].data();
        let mean = data.iter().map(|&v| f64::from(v)).sum::<f64>() / data.len() as f64;
        data.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum()
    }

    #[test]
    fn every_blur_strength_blurs_more_than_the_one_below() {
        // A hard vertical edge in the middle of a wide image, so that even
        // sigma 40 stays inside it.
        let img = edge(400, 4, Channels::Rgb);
        let strengths = [1, 2, 5, 28, 29, 50, 51, 55, 100, 500, 1000, 1999, 2000];
        let mut previous = spread(&img);
        for n in strengths {
            let plan = Plan::parse(&format!("e_blur:{n}"), &GrammarLimits::default()).unwrap();
            let s = spread(&apply(img.clone(), &plan).unwrap());
            assert!(s < previous, "e_blur:{n}: {s} not below {previous}");
            previous = s;
        }
        assert!(blur_sigma(1) >= BLUR_MIN_SIGMA && blur_sigma(2000) == BLUR_MAX_SIGMA);
    }

    #[test]
    fn effects_stop_at_the_deadline() {
        let img = edge(64, 64, Channels::Rgb);
        let _scope = deadline::enter(Some(
            std::time::Instant::now() - std::time::Duration::from_millis(1),
        ));
        let plan = Plan::parse("e_blur:100", &GrammarLimits::default()).unwrap();
        assert_eq!(apply(img, &plan), Err(PipelineError::DeadlineExceeded));
    }
}
