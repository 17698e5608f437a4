//! Cloudinary's colour effects: `e_brightness`, `e_contrast`, `e_gamma`,
//! `e_saturation`, `e_vibrance`, `e_sepia`, `e_negate` and `e_pixelate`,
//! on the output-sized image after [`super::effects`]' own.
//!
//! The colour maths runs on sRGB values, as Cloudinary's (ImageMagick's)
//! operators do, so that a level means what it means there. Every effect
//! that maps one channel value to another (brightness, contrast, gamma,
//! negate) is folded into a 256-entry lookup table built once per image;
//! the ones that mix channels (saturation, vibrance, sepia) run per pixel
//! with no allocation. Alpha is never changed, except that `e_pixelate`
//! averages it with the colour. Order: brightness, contrast, gamma (one
//! table), then saturation, vibrance, sepia, then negate, then pixelate.
//! The deadline is checked between rows.

use super::{Image, PipelineError, deadline};
use crate::options::{Pixelate, Plan};

/// Rec.601 luma weights of sRGB R, G, B: the grey that saturation and
/// sepia mix towards, as ImageMagick's modulate and sepia take it.
const LUMA_601: [f32; 3] = [0.299, 0.587, 0.114];

/// The sepia tone (the classic Microsoft/W3C sepia matrix, rows R, G, B),
/// which `e_sepia:100` applies in full and lower levels blend with the
/// original.
const SEPIA: [[f32; 3]; 3] = [
    [0.393, 0.769, 0.189],
    [0.349, 0.686, 0.168],
    [0.272, 0.534, 0.131],
];

/// Mid-grey, the value contrast pivots around.
const MID_GREY: f32 = 127.5;

/// `e_pixelate` without a size: squares of 1/20 of the output's longer side
/// (at least 2 px), coarse enough to hide a face on a thumbnail and on a
/// large image alike.
const PIXELATE_AUTO_DIVISOR: u32 = 20;

/// Rows processed between two deadline checks.
const ROWS_PER_CHECK: usize = 64;

/// Whether the plan asks for any effect of this module.
pub fn wanted(plan: &Plan) -> bool {
    plan.brightness().is_some()
        || plan.contrast().is_some()
        || plan.gamma().is_some()
        || plan.saturation().is_some()
        || plan.vibrance().is_some()
        || plan.sepia().is_some()
        || plan.negate()
        || plan.pixelate().is_some()
}

/// Applies the plan's colour effects to every frame.
pub fn apply(mut image: Image, plan: &Plan) -> Result<Image, PipelineError> {
    if !wanted(plan) {
        return Ok(image);
    }
    let channels = image.channels();
    let tone = tone_table(plan.brightness(), plan.contrast(), plan.gamma());
    let mix = Mix {
        saturation: plan.saturation().map_or(1.0, |s| 1.0 + f32::from(s) / 100.0),
        vibrance: plan.vibrance().map_or(0.0, |v| f32::from(v) / 100.0),
        sepia: plan.sepia().map_or(0.0, |s| f32::from(s) / 100.0),
    };
    let negate = plan.negate();
    for frame in image.frames_mut() {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let n = channels.count();
        let data = frame.data_mut();
        for rows in data.chunks_mut(w * n * ROWS_PER_CHECK) {
            deadline::check()?;
            for px in rows.chunks_exact_mut(n) {
                if let Some(table) = &tone {
                    for v in &mut px[..3] {
                        *v = table[usize::from(*v)];
                    }
                }
                if !mix.is_identity() {
                    mix.apply(px);
                }
                if negate {
                    for v in &mut px[..3] {
                        *v = 255 - *v;
                    }
                }
            }
        }
        if let Some(pixelate) = plan.pixelate() {
            let side = square_side(pixelate, w as u32, h as u32) as usize;
            pixelate_frame(data, w, h, n, side)?;
        }
    }
    Ok(image)
}

/// One channel-value table for brightness, then contrast, then gamma;
/// `None` when none is asked for.
///
/// * brightness `b` (-99..=100) scales every value by `1 + b/100`
///   (ImageMagick's modulate: -99 is nearly black, 100 twice as bright);
/// * contrast `c` (-100..=100) scales the distance from mid-grey by
///   `1 + c/100` (-100 is flat grey, 100 twice the contrast);
/// * gamma `g` (-50..=150) raises `v/255` to `1 / (1 + g/100)`: positive
///   levels lighten the mid-tones, negative ones darken them, black and
///   white stay.
pub fn tone_table(brightness: Option<i16>, contrast: Option<i16>, gamma: Option<i16>) -> Option<[u8; 256]> {
    if brightness.is_none() && contrast.is_none() && gamma.is_none() {
        return None;
    }
    let b = brightness.map_or(1.0, |b| 1.0 + f32::from(b) / 100.0);
    let c = contrast.map_or(1.0, |c| 1.0 + f32::from(c) / 100.0);
    let exponent = gamma.map_or(1.0, |g| 1.0 / (1.0 + f32::from(g) / 100.0));
    let mut table = [0u8; 256];
    for (i, out) in table.iter_mut().enumerate() {
        let v = (i as f32 * b).clamp(0.0, 255.0);
        let v = ((v - MID_GREY) * c + MID_GREY).clamp(0.0, 255.0);
        let v = 255.0 * (v / 255.0).powf(exponent);
        *out = v.round().clamp(0.0, 255.0) as u8;
    }
    Some(table)
}

/// The channel-mixing effects of one plan.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Mix {
    /// Saturation factor: 0 is grey, 1 unchanged, 2 twice as saturated.
    saturation: f32,
    /// Vibrance amount in [-1, 1]: a saturation change weighted by how
    /// unsaturated the pixel is, so skin and skies move less than greys.
    vibrance: f32,
    /// Sepia blend in [0, 1].
    sepia: f32,
}

impl Mix {
    fn is_identity(&self) -> bool {
        self.saturation == 1.0 && self.vibrance == 0.0 && self.sepia == 0.0
    }

    fn apply(&self, px: &mut [u8]) {
        let mut rgb = [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])];
        if self.saturation != 1.0 {
            rgb = saturate(rgb, self.saturation);
        }
        if self.vibrance != 0.0 {
            let max = rgb[0].max(rgb[1]).max(rgb[2]);
            let min = rgb[0].min(rgb[1]).min(rgb[2]);
            let chroma = (max - min) / 255.0;
            rgb = saturate(rgb, 1.0 + self.vibrance * (1.0 - chroma));
        }
        if self.sepia > 0.0 {
            let toned = SEPIA.map(|row| row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]);
            for (v, t) in rgb.iter_mut().zip(toned) {
                *v += (t - *v) * self.sepia;
            }
        }
        for (out, v) in px.iter_mut().zip(rgb) {
            *out = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Moves a colour away from (factor > 1) or towards (< 1) its luma grey.
fn saturate(rgb: [f32; 3], factor: f32) -> [f32; 3] {
    let y = LUMA_601[0] * rgb[0] + LUMA_601[1] * rgb[1] + LUMA_601[2] * rgb[2];
    rgb.map(|v| y + (v - y) * factor)
}

/// The side of `e_pixelate`'s squares on a `w x h` output.
pub fn square_side(pixelate: Pixelate, w: u32, h: u32) -> u32 {
    match pixelate {
        Pixelate::Size(n) => u32::from(n).max(1),
        Pixelate::Auto => (w.max(h) / PIXELATE_AUTO_DIVISOR).max(2),
    }
}

/// Replaces each `side x side` square (from the top-left corner; the last
/// row and column of squares may be smaller) by its average.
fn pixelate_frame(data: &mut [u8], w: usize, h: usize, n: usize, side: usize) -> Result<(), PipelineError> {
    if side <= 1 {
        return Ok(());
    }
    let stride = w * n;
    // One sum per channel of each square of a band of rows, reused.
    let mut sums = vec![0u32; w.div_ceil(side) * n];
    for top in (0..h).step_by(side) {
        deadline::check()?;
        let bottom = (top + side).min(h);
        sums.fill(0);
        for row in data[top * stride..bottom * stride].chunks_exact(stride) {
            for (x, px) in row.chunks_exact(n).enumerate() {
                let s = &mut sums[(x / side) * n..(x / side + 1) * n];
                s.iter_mut().zip(px).for_each(|(s, v)| *s += u32::from(*v));
            }
        }
        for row in data[top * stride..bottom * stride].chunks_exact_mut(stride) {
            for (x, px) in row.chunks_exact_mut(n).enumerate() {
                let square = x / side;
                let width = ((square + 1) * side).min(w) - square * side;
                let count = (width * (bottom - top)) as u32;
                let s = &sums[square * n..(square + 1) * n];
                px.iter_mut()
                    .zip(s)
                    .for_each(|(v, s)| *v = ((s + count / 2) / count) as u8);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;
    use crate::pipeline::Channels;

    fn plan(text: &str) -> Plan {
        Plan::parse(text, &GrammarLimits::default()).unwrap()
    }

    /// One pixel of each colour in a row, RGB.
    fn row(colours: &[[u8; 3]]) -> Image {
        let data = colours.iter().flatten().copied().collect();
        Image::still(colours.len() as u32, 1, Channels::Rgb, data).unwrap()
    }

    fn run(text: &str, colours: &[[u8; 3]]) -> Vec<[u8; 3]> {
        let image = apply(row(colours), &plan(text)).unwrap();
        image
            .first()
            .data()
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect()
    }

    #[test]
    fn tone_table_levels() {
        // Brightness scales: +100 doubles, -50 halves, -99 nearly black.
        let t = tone_table(Some(100), None, None).unwrap();
        assert_eq!((t[0], t[50], t[100], t[200]), (0, 100, 200, 255));
        let t = tone_table(Some(-50), None, None).unwrap();
        assert_eq!((t[100], t[255]), (50, 128));
        assert_eq!(tone_table(Some(-99), None, None).unwrap()[255], 3);
        // Contrast pivots on mid-grey: -100 is flat, +100 doubles the distance.
        let t = tone_table(None, Some(-100), None).unwrap();
        assert!(t.iter().all(|v| *v == 128));
        let t = tone_table(None, Some(100), None).unwrap();
        assert_eq!((t[64], t[128], t[191], t[255]), (1, 129, 255, 255));
        // Gamma keeps black and white and lightens mid-tones when positive.
        let t = tone_table(None, None, Some(100)).unwrap();
        assert_eq!((t[0], t[255]), (0, 255));
        assert_eq!(t[64], (255.0 * (64.0f32 / 255.0).sqrt()).round() as u8);
        let t = tone_table(None, None, Some(-50)).unwrap();
        assert_eq!(t[128], (255.0 * (128.0f32 / 255.0).powi(2)).round() as u8);
        // Level 0 is the identity.
        let t = tone_table(Some(0), Some(0), Some(0)).unwrap();
        assert!(t.iter().enumerate().all(|(i, v)| usize::from(*v) == i));
        assert_eq!(tone_table(None, None, None), None);
    }

    #[test]
    fn channel_mixing_effects() {
        let red = [200, 40, 40];
        // Saturation -100 is the luma grey; +100 doubles the distance to it.
        let grey = (0.299f32 * 200.0 + 0.587 * 40.0 + 0.114 * 40.0).round() as u8;
        assert_eq!(run("e_saturation:-100", &[red]), [[grey; 3]]);
        let y = 0.299f32 * 200.0 + 0.587 * 40.0 + 0.114 * 40.0;
        let more = |v: f32| (y + (v - y) * 1.5).round().clamp(0.0, 255.0) as u8;
        assert_eq!(
            run("e_saturation:50", &[red]),
            [[more(200.0), more(40.0), more(40.0)]]
        );
        // Greys stay grey under saturation and vibrance.
        assert_eq!(run("e_saturation:100,e_vibrance:100", &[[90; 3]]), [[90; 3]]);
        // Vibrance moves a dull colour more than a vivid one.
        let out = run("e_vibrance:100", &[[140, 110, 110], [255, 0, 0]]);
        assert!(out[0][0] - out[0][1] > 30 + 10, "{out:?}");
        assert_eq!(out[1], [255, 0, 0]);
        // Sepia 100 is the matrix, lower levels blend towards it.
        let full = run("e_sepia:100", &[[100, 100, 100]]);
        assert_eq!(full, [[135, 120, 94]]);
        let half = run("e_sepia:50", &[[100, 100, 100]]);
        assert_eq!(half, [[118, 110, 97]]);
        // Negate inverts colour.
        assert_eq!(run("e_negate", &[[0, 100, 255]]), [[255, 155, 0]]);
    }

    #[test]
    fn alpha_is_kept() {
        let image = Image::still(1, 1, Channels::Rgba, vec![10, 20, 30, 77]).unwrap();
        let out = apply(image, &plan("e_negate,e_brightness:50,e_sepia")).unwrap();
        assert_eq!(out.first().data()[3], 77);
        assert_ne!(&out.first().data()[..3], &[10, 20, 30]);
    }

    #[test]
    fn pixelate_averages_squares() {
        // 4x2: left 2x2 square black/white checker, right one all red.
        let data = vec![
            0, 0, 0, 255, 255, 255, 255, 0, 0, 255, 0, 0, //
            255, 255, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0,
        ];
        let image = Image::still(4, 2, Channels::Rgb, data).unwrap();
        let out = apply(image, &plan("e_pixelate:2")).unwrap();
        let d = out.first().data();
        assert_eq!(&d[..6], &[128, 128, 128, 128, 128, 128]);
        assert_eq!(&d[6..12], &[255, 0, 0, 255, 0, 0]);
        assert_eq!(&d[12..15], &[128, 128, 128]);
        // A square larger than the image averages it whole.
        let image = Image::still(3, 1, Channels::Rgb, vec![0, 0, 0, 90, 90, 90, 30, 30, 30]).unwrap();
        let out = apply(image, &plan("e_pixelate:200")).unwrap();
        assert_eq!(out.first().data(), &[40; 9]);
        assert_eq!(square_side(Pixelate::Auto, 400, 100), 20);
        assert_eq!(square_side(Pixelate::Auto, 10, 10), 2);
    }
}
