//! Saliency: where the interesting part of an image is, for `g_auto`.
//!
//! Modelled on libvips's `attention` crop strategy: on a small copy of the
//! frame, score every pixel by edge strength (Sobel on luma), skin-tone
//! likelihood and colour saturation, then slide the requested window over
//! the score map (an integral image makes each position O(1)) and keep the
//! window with the highest sum. Deterministic: ties go to the window nearest
//! the centre, so a featureless image is cut like `g_center`.

use super::Frame;

/// Longest side of the copy the scores are computed on: enough to find a
/// face or a product, small enough (<= 64k samples) to cost about a
/// millisecond whatever the source size.
const ANALYSIS_SIDE: u32 = 256;

/// Weight of edge strength: detail is the strongest cue for "subject".
const EDGE_WEIGHT: f32 = 1.0;

/// Weight of skin likelihood: people are what viewers look for first.
const SKIN_WEIGHT: f32 = 0.7;

/// Weight of saturation: vivid objects stand out from dull backgrounds.
const SATURATION_WEIGHT: f32 = 0.3;

/// Share of the saliency above the background level that `c_fill_pad`
/// keeps inside the output: the subject is the shortest span along the cut
/// axis that holds this much of it.
const SUBJECT_SHARE: f64 = 0.9;

/// Below this share of the total saliency, what stands above the background
/// level is texture noise, not a subject: `c_fill_pad` then crops like
/// `c_fill,g_auto` (a uniform landscape is cut, not padded).
const FLAT_SHARE: f64 = 0.1;

/// Where an object ends along the profile: below this fraction of the
/// profile's highest excess over the background level.
const OBJECT_EDGE: f64 = 0.1;

/// The score map of `frame` on its small copy: (factor, width, height, scores).
fn analyse(frame: &Frame) -> (u32, usize, usize, Vec<f32>) {
    let (fw, fh) = (frame.width(), frame.height());
    let n = frame.channels().count();
    // Integer box-downscale factor.
    let factor = fw.max(fh).div_ceil(ANALYSIS_SIDE).max(1);
    let (sw, sh) = (fw.div_ceil(factor) as usize, fh.div_ceil(factor) as usize);
    let small = downscale(frame, n, factor, sw, sh);
    (factor, sw, sh, score_map(&small, sw, sh))
}

/// The top-left corner of the most interesting `width x height` window of
/// `frame`, in frame pixels.
pub fn best_window(frame: &Frame, width: u32, height: u32) -> (u32, u32) {
    let (fw, fh) = (frame.width(), frame.height());
    let width = width.min(fw);
    let height = height.min(fh);
    if width == fw && height == fh {
        return (0, 0);
    }
    let (factor, sw, sh, scores) = analyse(frame);
    window_on(&scores, (factor, sw, sh), (fw, fh), (width, height))
}

/// [`best_window`] on a computed score map.
fn window_on(
    scores: &[f32],
    (factor, sw, sh): (u32, usize, usize),
    (fw, fh): (u32, u32),
    (width, height): (u32, u32),
) -> (u32, u32) {
    // The window in analysis pixels.
    let ww = ((f64::from(width) / f64::from(factor)).round() as usize).clamp(1, sw);
    let wh = ((f64::from(height) / f64::from(factor)).round() as usize).clamp(1, sh);
    let (bx, by) = best_sum(scores, sw, sh, ww, wh);

    let x = ((bx as u64 * u64::from(factor)) as u32).min(fw - width);
    let y = ((by as u64 * u64::from(factor)) as u32).min(fh - height);
    (x, y)
}

/// A window of `frame` in frame pixels, `(left, top, width, height)`.
pub type FrameWindow = (u32, u32, u32, u32);

/// `c_fill_pad`: the window for a fill of `width x height` (a window that spans
/// the frame on one axis and cuts the other), widened along the cut axis just
/// enough to keep the subject when it does not fit.
///
/// The subject is the shortest span of the cut axis that holds
/// [`SUBJECT_SHARE`] of the saliency standing above the background level (the
/// median of the axis profile), widened to the ends of the objects it
/// reaches into. When it fits, the window is
/// [`best_window`]'s, moved as little as needed to hold the span (so most
/// images come out exactly as with `c_fill,g_auto`); when it does not, the
/// window is the span (up to the whole frame), centred on it, with the
/// output's aspect ratio no longer kept: the caller pads the difference.
pub fn subject_window(frame: &Frame, width: u32, height: u32) -> FrameWindow {
    let (fw, fh) = (frame.width(), frame.height());
    let width = width.min(fw);
    let height = height.min(fh);
    if width == fw && height == fh {
        return (0, 0, fw, fh);
    }
    let (factor, sw, sh, scores) = analyse(frame);
    let (x, y) = window_on(&scores, (factor, sw, sh), (fw, fh), (width, height));
    // The fill cuts x when the window is narrower than the frame, else y.
    let cuts_x = width < fw;
    let profile: Vec<f64> = if cuts_x {
        (0..sw)
            .map(|i| (0..sh).map(|j| f64::from(scores[j * sw + i])).sum())
            .collect()
    } else {
        scores
            .chunks_exact(sw)
            .map(|row| row.iter().map(|&v| f64::from(v)).sum())
            .collect()
    };
    let Some((start, end)) = subject_span(&profile) else {
        return (x, y, width, height);
    };
    let (full, kept, at) = if cuts_x { (fw, width, x) } else { (fh, height, y) };
    // The span in frame pixels, within the frame.
    let start = (start as u64 * u64::from(factor)).min(u64::from(full)) as u32;
    let end = (end as u64 * u64::from(factor)).min(u64::from(full)) as u32;
    let (at, kept) = if end - start <= kept {
        // Fits: the fill window, moved just enough to hold the span.
        (at.clamp(end.saturating_sub(kept), start), kept)
    } else {
        let grown = end - start;
        (start, grown)
    };
    if cuts_x {
        (at, 0, kept, fh)
    } else {
        (0, at, fw, kept)
    }
}

/// The shortest `[start, end)` of `profile` that holds [`SUBJECT_SHARE`] of
/// what stands above its median, widened to the ends of the objects it
/// reaches into (see [`OBJECT_EDGE`]), or `None` when that is less than
/// [`FLAT_SHARE`] of the whole (no subject stands out).
fn subject_span(profile: &[f64]) -> Option<(usize, usize)> {
    let mut sorted = profile.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = *sorted.get(sorted.len() / 2)?;
    let excess: Vec<f64> = profile.iter().map(|&v| (v - median).max(0.0)).collect();
    let total: f64 = profile.iter().sum();
    let above: f64 = excess.iter().sum();
    // `total` is a sum of non-negative finite scores: not above 0 is a blank profile.
    if total <= 0.0 || above < FLAT_SHARE * total {
        return None;
    }
    let need = SUBJECT_SHARE * above;
    // Two pointers: for each end, the latest start that still holds `need`.
    let mut best = (0, profile.len());
    let (mut start, mut held) = (0, 0.0);
    for (end, &v) in excess.iter().enumerate() {
        held += v;
        while start < end && held - excess[start] >= need {
            held -= excess[start];
            start += 1;
        }
        if held >= need && end + 1 - start < best.1 - best.0 {
            best = (start, end + 1);
        }
    }
    // The share may end inside an object: carry each end on while the
    // profile stays clearly above the background, so that an object the
    // span reaches into is kept whole.
    let peak = excess.iter().copied().fold(0.0, f64::max);
    let inside = |i: usize| excess[i] > OBJECT_EDGE * peak;
    let (mut start, mut end) = best;
    while start > 0 && inside(start - 1) {
        start -= 1;
    }
    while end < excess.len() && inside(end) {
        end += 1;
    }
    Some((start, end))
}

/// Averages `factor x factor` blocks into an RGBA f32 copy (alpha in 0..1).
fn downscale(frame: &Frame, n: usize, factor: u32, sw: usize, sh: usize) -> Vec<[f32; 4]> {
    let fw = frame.width() as usize;
    let f = factor as usize;
    let mut sums = vec![[0.0f32; 5]; sw * sh];
    for (y, row) in frame.data().chunks_exact(fw * n).enumerate() {
        let srow = (y / f) * sw;
        for (x, px) in row.chunks_exact(n).enumerate() {
            if let Some(s) = sums.get_mut(srow + x / f) {
                s[0] += f32::from(px[0]);
                s[1] += f32::from(px[1]);
                s[2] += f32::from(px[2]);
                s[3] += px.get(3).map_or(1.0, |&a| f32::from(a) / 255.0);
                s[4] += 1.0;
            }
        }
    }
    sums.into_iter()
        .map(|s| {
            let count = s[4].max(1.0);
            [s[0] / count, s[1] / count, s[2] / count, s[3] / count]
        })
        .collect()
}

/// Skin likelihood 0..1 of an sRGB colour: near the typical skin chroma
/// (normalised r ~ 0.45, g ~ 0.31 across skin tones), in a plausible
/// lightness range.
fn skin(r: f32, g: f32, b: f32) -> f32 {
    let sum = r + g + b;
    if !(60.0..=720.0).contains(&sum) {
        return 0.0;
    }
    let (nr, ng) = (r / sum, g / sum);
    let d2 = (nr - 0.45).powi(2) + (ng - 0.31).powi(2);
    // Gaussian falloff: about 0.6 at 0.04 away in chromaticity.
    (-d2 / (2.0 * 0.04f32.powi(2))).exp()
}

/// The per-pixel interest score.
fn score_map(small: &[[f32; 4]], w: usize, h: usize) -> Vec<f32> {
    let luma: Vec<f32> = small
        .iter()
        .map(|p| (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) / 255.0)
        .collect();
    let at = |x: isize, y: isize| {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        luma.get(y * w + x).copied().unwrap_or(0.0)
    };
    let mut scores = Vec::with_capacity(w * h);
    for y in 0..h as isize {
        for x in 0..w as isize {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            // Sobel magnitude is at most ~5.7 on a 0..1 signal; scale to ~0..1.
            let edge = ((gx * gx + gy * gy).sqrt() / 4.0).min(1.0);
            let p = small[y as usize * w + x as usize];
            let (max, min) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
            let saturation = if max > 0.0 { (max - min) / max } else { 0.0 };
            let score =
                EDGE_WEIGHT * edge + SKIN_WEIGHT * skin(p[0], p[1], p[2]) + SATURATION_WEIGHT * saturation;
            // Transparent areas are never interesting.
            scores.push(score * p[3]);
        }
    }
    scores
}

/// The top-left corner of the `ww x wh` window with the highest score sum;
/// on equal sums the one whose centre is nearest the image centre.
fn best_sum(scores: &[f32], w: usize, h: usize, ww: usize, wh: usize) -> (usize, usize) {
    // Summed-area table with a zero row and column in front, in f64 so that
    // sums of 64k scores stay exact enough to compare.
    let stride = w + 1;
    let mut table = vec![0.0f64; stride * (h + 1)];
    for y in 0..h {
        let mut row = 0.0f64;
        for x in 0..w {
            row += f64::from(scores[y * w + x]);
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row;
        }
    }
    let sum = |x: usize, y: usize| {
        table[(y + wh) * stride + x + ww] - table[y * stride + x + ww] - table[(y + wh) * stride + x]
            + table[y * stride + x]
    };
    let (cx, cy) = ((w - ww) as f64 / 2.0, (h - wh) as f64 / 2.0);
    let mut best = (0, 0);
    let mut best_score = f64::NEG_INFINITY;
    let mut best_distance = f64::INFINITY;
    // Sums closer than this are a tie (float noise, flat images).
    let tie = 1e-6 * (ww * wh) as f64;
    for y in 0..=h - wh {
        for x in 0..=w - ww {
            let s = sum(x, y);
            let distance = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
            if s > best_score + tie || ((s - best_score).abs() <= tie && distance < best_distance) {
                best = (x, y);
                best_score = s;
                best_distance = distance;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Channels;

    /// A flat grey frame with a noisy, colourful square at `(sx, sy)`.
    fn scene(w: u32, h: u32, subject: (u32, u32, u32), channels: Channels) -> Frame {
        let (sx, sy, size) = subject;
        let mut data = Vec::new();
        let mut seed = 12345u32;
        for y in 0..h {
            for x in 0..w {
                let inside = x >= sx && x < sx + size && y >= sy && y < sy + size;
                let px = if inside {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let v = (seed >> 16) as u8;
                    [v, v.wrapping_mul(3), 255 - v]
                } else {
                    [120, 120, 120]
                };
                data.extend_from_slice(&px);
                if channels == Channels::Rgba {
                    data.push(255);
                }
            }
        }
        Frame::new(w, h, channels, data, 0).unwrap()
    }

    #[test]
    fn finds_an_off_centre_subject() {
        // 1200x600 source (downscaled x5 for analysis), subject at the right.
        let frame = scene(1200, 600, (950, 80, 150), Channels::Rgb);
        let (x, y) = best_window(&frame, 300, 300);
        assert!(x <= 950 && x + 300 >= 1100, "x = {x}");
        assert!(y <= 80 && y + 300 >= 230, "y = {y}");
        assert!(x + 300 <= 1200 && y + 300 <= 600);
    }

    #[test]
    fn finds_a_subject_near_the_top_left_with_alpha() {
        let frame = scene(400, 300, (20, 10, 60), Channels::Rgba);
        let (x, y) = best_window(&frame, 100, 300);
        assert!(x <= 20 && x + 100 >= 80, "x = {x}");
        assert_eq!(y, 0);
    }

    #[test]
    fn flat_image_is_cut_in_the_centre() {
        let frame = scene(400, 200, (0, 0, 0), Channels::Rgb);
        assert_eq!(best_window(&frame, 200, 200), (100, 0));
    }

    #[test]
    fn deterministic_and_in_bounds() {
        let frame = scene(333, 211, (200, 150, 50), Channels::Rgb);
        let a = best_window(&frame, 100, 77);
        assert_eq!(a, best_window(&frame, 100, 77));
        assert!(a.0 + 100 <= 333 && a.1 + 77 <= 211);
        // A window larger than the frame is the whole frame.
        assert_eq!(best_window(&frame, 999, 999), (0, 0));
    }

    /// Two noisy squares of `size` on flat grey, with corners at `a` and `b`.
    fn two_subjects(w: u32, h: u32, size: u32, a: (u32, u32), b: (u32, u32)) -> Frame {
        let one = scene(w, h, (a.0, a.1, size), Channels::Rgb);
        let other = scene(w, h, (b.0, b.1, size), Channels::Rgb);
        let data = one
            .data()
            .chunks_exact(3)
            .zip(other.data().chunks_exact(3))
            .flat_map(|(p, q)| if p == [120, 120, 120] { q } else { p }.to_vec())
            .collect();
        Frame::new(w, h, Channels::Rgb, data, 0).unwrap()
    }

    #[test]
    fn fill_pad_keeps_a_subject_that_fits_like_fill() {
        let frame = scene(1200, 600, (950, 80, 150), Channels::Rgb);
        let (x, y) = best_window(&frame, 300, 600);
        assert_eq!(subject_window(&frame, 300, 600), (x, y, 300, 600));
        // The square is kept whole.
        assert!(x <= 950 && x + 300 >= 1100, "x = {x}");
    }

    #[test]
    fn fill_pad_widens_the_window_to_keep_two_subjects() {
        let frame = two_subjects(1000, 400, 100, (10, 150), (890, 150));
        let (x, y, w, h) = subject_window(&frame, 400, 400);
        assert_eq!((y, h), (0, 400));
        // Both squares (10..110 and 890..990) are inside, and not much more.
        assert!(x <= 10 && x + w >= 990, "{x} {w}");
        assert!((960..=1000).contains(&w), "{w}");
        // The same on the other axis.
        let tall = two_subjects(400, 1000, 100, (150, 10), (150, 890));
        let (x, y, w, h) = subject_window(&tall, 400, 400);
        assert_eq!((x, w), (0, 400));
        assert!(y <= 10 && y + h >= 990 && h <= 1000, "{y} {h}");
    }

    #[test]
    fn fill_pad_on_a_flat_or_uniform_image_is_a_fill() {
        let frame = scene(400, 200, (0, 0, 0), Channels::Rgb);
        assert_eq!(subject_window(&frame, 200, 200), (100, 0, 200, 200));
        // Noise everywhere: texture, not a subject.
        let frame = scene(400, 200, (0, 0, 400), Channels::Rgb);
        let (x, y, w, h) = subject_window(&frame, 200, 200);
        assert_eq!((y, w, h), (0, 200, 200), "{x}");
        // The whole frame asked for: nothing to decide.
        assert_eq!(subject_window(&frame, 400, 200), (0, 0, 400, 200));
    }

    #[test]
    fn subject_span_is_the_shortest_span_holding_the_share() {
        assert_eq!(subject_span(&[0.0; 8]), None);
        assert_eq!(subject_span(&[]), None);
        assert_eq!(subject_span(&[0.0, 0.0, 5.0, 5.0, 0.0, 0.0, 0.0]), Some((2, 4)));
        assert_eq!(subject_span(&[9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0]), Some((0, 7)));
        // 1 of 21 above the median: noise.
        assert_eq!(subject_span(&[4.0, 4.0, 5.0, 4.0, 4.0]), None);
    }

    #[test]
    fn skin_tones_score_higher_than_grey_and_blue() {
        assert!(skin(224.0, 172.0, 140.0) > 0.5);
        assert!(skin(120.0, 120.0, 120.0) < 0.1);
        assert!(skin(30.0, 60.0, 200.0) < 0.01);
    }
}
