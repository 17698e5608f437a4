//! The outline of the output: rounded corners (`r_`, `r_max`), a solid border
//! (`bo_`) and opacity (`o_`), after sizing and padding.
//!
//! The border is added around the image (the output grows by twice its width, as
//! Cloudinary's `bo_` "adds a border around" the image). The radii are those of the
//! output's outer edge: with a border, the border follows the rounded corners and
//! the image inside it is rounded by the radius less the border's width. `r_max`
//! is the ellipse touching every side (a circle for a square). What falls outside
//! the outline becomes transparent; a format without alpha later flattens it onto
//! `b_` (white by default). Edges are antialiased by the pixel's coverage, computed
//! from its distance to the curve. Opacity multiplies every alpha value.

use super::{Channels, Frame, Image, PipelineError, deadline};
use crate::options::{Border, Radius, Rgba};

/// What the outline stage does to one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outline {
    /// `r_`, if any.
    pub radius: Option<Radius>,
    /// `bo_`, if any.
    pub border: Option<Border>,
    /// `o_` in percent, when under 100.
    pub opacity: Option<u8>,
}

/// The size of a `width x height` image once its border is added.
pub fn bordered_size(width: u32, height: u32, border: Option<Border>) -> (u64, u64) {
    let b = u64::from(border.map_or(0, |b| b.width)) * 2;
    (u64::from(width) + b, u64::from(height) + b)
}

/// Applies the outline to every frame; nothing at all without `r_`, `bo_` and `o_`.
pub fn apply(image: Image, outline: Outline) -> Result<Image, PipelineError> {
    if outline.radius.is_none() && outline.border.is_none() && outline.opacity.is_none() {
        return Ok(image);
    }
    image.map_frames(|frame| {
        deadline::check()?;
        outline_frame(&frame, outline)
    })
}

/// Elliptical corner radii `(rx, ry)` clockwise from the top-left, for a shape of
/// `width x height`: each at most half of each side.
fn corner_radii(radius: Option<Radius>, width: f64, height: f64) -> [(f64, f64); 4] {
    match radius {
        None => [(0.0, 0.0); 4],
        Some(Radius::Max) => [(width / 2.0, height / 2.0); 4],
        Some(Radius::Corners(r)) => r.map(|r| {
            let r = f64::from(r);
            (r.min(width / 2.0), r.min(height / 2.0))
        }),
    }
}

/// How much of the pixel centred at `(px, py)` lies inside the rounded rectangle
/// `[x0, x0 + width] x [y0, y0 + height]` with `radii`, from 0 to 1.
fn coverage(px: f64, py: f64, (x0, y0, width, height): (f64, f64, f64, f64), radii: &[(f64, f64); 4]) -> f64 {
    let (x, y) = (px - x0, py - y0);
    // Distance inside the straight edges, for the half-pixel ramp.
    let straight = x.min(width - x).min(y).min(height - y);
    if straight <= -0.5 {
        return 0.0;
    }
    let mut cover = (straight + 0.5).clamp(0.0, 1.0);
    // The corner the point is nearest, with its ellipse's centre.
    let (corner, cx, cy) = match (x < width / 2.0, y < height / 2.0) {
        (true, true) => (0, radii[0].0, radii[0].1),
        (false, true) => (1, width - radii[1].0, radii[1].1),
        (false, false) => (2, width - radii[2].0, height - radii[2].1),
        (true, false) => (3, radii[3].0, height - radii[3].1),
    };
    let (rx, ry) = radii[corner];
    let in_corner_x = if corner == 0 || corner == 3 {
        x < cx
    } else {
        x > cx
    };
    let in_corner_y = if corner < 2 { y < cy } else { y > cy };
    if rx > 0.0 && ry > 0.0 && in_corner_x && in_corner_y {
        let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
        let d = (dx * dx + dy * dy).sqrt();
        // Signed distance to the ellipse, exact for a circle, close for an ellipse.
        let outside = (d - 1.0) * rx.min(ry);
        cover = cover.min((0.5 - outside).clamp(0.0, 1.0));
    }
    cover
}

fn outline_frame(frame: &Frame, outline: Outline) -> Result<Frame, PipelineError> {
    let n = frame.channels().count();
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (bw, colour) = outline
        .border
        .map_or((0, Rgba([0, 0, 0, 0])), |b| (b.width as usize, b.colour));
    let (ow, oh) = (w + 2 * bw, h + 2 * bw);
    let outer = (0.0, 0.0, ow as f64, oh as f64);
    let outer_radii = corner_radii(outline.radius, ow as f64, oh as f64);
    let inner = (bw as f64, bw as f64, w as f64, h as f64);
    let inner_radii = outer_radii.map(|(rx, ry)| ((rx - bw as f64).max(0.0), (ry - bw as f64).max(0.0)));
    let shaped = outline.radius.is_some() || bw > 0;
    let opacity = f64::from(outline.opacity.unwrap_or(100)) / 100.0;
    let border = colour.0.map(f64::from);
    let data = frame.data();
    let mut out = vec![0u8; ow * oh * 4];
    for (y, row) in out.chunks_exact_mut(ow * 4).enumerate() {
        deadline::check()?;
        let py = y as f64 + 0.5;
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let pxc = x as f64 + 0.5;
            let (outer_cover, inner_cover) = if shaped {
                let o = coverage(pxc, py, outer, &outer_radii);
                let i = if bw > 0 {
                    coverage(pxc, py, inner, &inner_radii)
                } else {
                    o
                };
                (o, i.min(o))
            } else {
                (1.0, 1.0)
            };
            // The image's pixel (premultiplied), where it is inside the frame.
            let (ix, iy) = (x.wrapping_sub(bw), y.wrapping_sub(bw));
            let image = if ix < w && iy < h {
                let i = (iy * w + ix) * n;
                let a = if n == 4 {
                    f64::from(data[i + 3]) / 255.0
                } else {
                    1.0
                };
                [
                    f64::from(data[i]) * a,
                    f64::from(data[i + 1]) * a,
                    f64::from(data[i + 2]) * a,
                    a,
                ]
            } else {
                [0.0; 4]
            };
            let band = outer_cover - inner_cover;
            let ba = border[3] / 255.0;
            let mut premultiplied = [0.0; 4];
            for c in 0..3 {
                premultiplied[c] = image[c] * inner_cover + border[c] * ba * band;
            }
            premultiplied[3] = image[3] * inner_cover + ba * band;
            let alpha = premultiplied[3];
            if alpha > 0.0 {
                for c in 0..3 {
                    px[c] = (premultiplied[c] / alpha).round().clamp(0.0, 255.0) as u8;
                }
                px[3] = (alpha * opacity * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(frame.remade(ow as u32, oh as u32, Channels::Rgba, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Image {
        Image::still(
            width,
            height,
            Channels::Rgb,
            rgb.repeat((width * height) as usize),
        )
        .unwrap()
    }

    fn at(image: &Image, x: u32, y: u32) -> [u8; 4] {
        let f = image.first();
        let i = ((y * f.width() + x) * 4) as usize;
        f.data()[i..i + 4].try_into().unwrap()
    }

    fn outline(radius: Option<Radius>, border: Option<Border>, opacity: Option<u8>) -> Outline {
        Outline {
            radius,
            border,
            opacity,
        }
    }

    #[test]
    fn rounded_corners_are_transparent_and_antialiased() {
        let out = apply(
            solid(100, 60, [0, 0, 255]),
            outline(Some(Radius::Corners([20; 4])), None, None),
        )
        .unwrap();
        assert_eq!((out.width(), out.height()), (100, 60));
        // Outside the curve at every corner.
        for (x, y) in [(0, 0), (99, 0), (99, 59), (0, 59), (3, 3)] {
            assert_eq!(at(&out, x, y)[3], 0, "({x}, {y})");
        }
        // Inside: the middle and the edges between the corners.
        for (x, y) in [(50, 30), (50, 0), (0, 30), (20, 20)] {
            assert_eq!(at(&out, x, y), [0, 0, 255, 255], "({x}, {y})");
        }
        // On the curve: partly covered. The top-left circle is centred at (20, 20),
        // radius 20; the centre of pixel (5, 6) is 19.8 from it.
        let a = at(&out, 5, 6)[3];
        assert!(a > 0 && a < 255, "{a}");
    }

    #[test]
    fn radii_are_clockwise_from_the_top_left() {
        // r_20:0:40:0: top-left 20, top-right 0, bottom-right 40, bottom-left 0.
        let out = apply(
            solid(100, 100, [9, 9, 9]),
            outline(Some(Radius::Corners([20, 0, 40, 0])), None, None),
        )
        .unwrap();
        assert_eq!(at(&out, 1, 1)[3], 0);
        assert_eq!(at(&out, 99, 0)[3], 255);
        assert_eq!(at(&out, 0, 99)[3], 255);
        assert_eq!(at(&out, 95, 95)[3], 0);
        assert_eq!(at(&out, 90, 90)[3], 0);
        assert_eq!(at(&out, 80, 80)[3], 255);
    }

    #[test]
    fn max_radius_is_an_ellipse() {
        let out = apply(
            solid(100, 50, [0, 255, 0]),
            outline(Some(Radius::Max), None, None),
        )
        .unwrap();
        // Touching the middle of every side, transparent at the corners.
        for (x, y) in [(50, 1), (50, 48), (2, 25), (97, 25), (50, 25)] {
            assert_eq!(at(&out, x, y)[3], 255, "({x}, {y})");
        }
        for (x, y) in [(50, 0), (50, 49), (0, 25), (99, 25)] {
            assert!(at(&out, x, y)[3] > 0, "({x}, {y})");
        }
        for (x, y) in [(0, 0), (99, 0), (0, 49), (99, 49), (10, 5)] {
            assert_eq!(at(&out, x, y)[3], 0, "({x}, {y})");
        }
    }

    #[test]
    fn border_is_added_around_the_image() {
        let border = Border {
            width: 5,
            colour: Rgba([255, 0, 0, 255]),
        };
        let out = apply(solid(20, 10, [0, 0, 255]), outline(None, Some(border), None)).unwrap();
        assert_eq!((out.width(), out.height()), (30, 20));
        assert_eq!(bordered_size(20, 10, Some(border)), (30, 20));
        for (x, y) in [(0, 0), (29, 19), (4, 10), (25, 10), (15, 4)] {
            assert_eq!(at(&out, x, y), [255, 0, 0, 255], "({x}, {y})");
        }
        for (x, y) in [(5, 5), (24, 14), (15, 10)] {
            assert_eq!(at(&out, x, y), [0, 0, 255, 255], "({x}, {y})");
        }
    }

    #[test]
    fn border_follows_rounded_corners() {
        let border = Border {
            width: 4,
            colour: Rgba([255, 0, 0, 255]),
        };
        let out = apply(
            solid(40, 40, [0, 0, 255]),
            outline(Some(Radius::Corners([16; 4])), Some(border), None),
        )
        .unwrap();
        assert_eq!((out.width(), out.height()), (48, 48));
        // The outer corner is cut; the band along the straight edge is border.
        assert_eq!(at(&out, 0, 0)[3], 0);
        assert_eq!(at(&out, 24, 1), [255, 0, 0, 255]);
        // On the diagonal, the border band follows the curve: outer circle centred
        // at (16, 16) radius 16 crosses at 4.7; the inner (radius 12) at 7.5.
        assert_eq!(at(&out, 6, 6), [255, 0, 0, 255]);
        assert_eq!(at(&out, 10, 10), [0, 0, 255, 255]);
    }

    #[test]
    fn opacity_scales_alpha() {
        let out = apply(solid(4, 4, [10, 20, 30]), outline(None, None, Some(40))).unwrap();
        assert_eq!(at(&out, 1, 1), [10, 20, 30, 102]);
        let out = apply(solid(4, 4, [10, 20, 30]), outline(None, None, Some(0))).unwrap();
        assert_eq!(at(&out, 1, 1)[3], 0);
    }

    #[test]
    fn nothing_asked_is_nothing_done() {
        let image = solid(3, 3, [1, 2, 3]);
        assert_eq!(apply(image.clone(), outline(None, None, None)).unwrap(), image);
    }
}
