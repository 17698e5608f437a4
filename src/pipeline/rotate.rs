//! Rotation by any angle (`a_45`), after sizing: an `a_` angle that is not a multiple
//! of 90 (those turn the image before sizing, with the EXIF orientation, in `orient`).
//!
//! The canvas grows to the bounding box of the turned image, so nothing is cut; the
//! corners it uncovers are transparent (a format without alpha later flattens them
//! onto `b_`, white by default, as Cloudinary delivers a turned JPEG). Sampling is
//! bilinear on premultiplied values, with transparent pixels outside the image, so
//! the turned edges are antialiased and no colour bleeds from transparent pixels.
//! The turn runs after sizing because Cloudinary turns the image its component
//! sized: `w_200,a_45` is a 200-pixel-wide image turned, on a larger canvas.

use super::{Channels, Frame, Image, PipelineError, deadline};

/// The size of the canvas holding a `width x height` image turned by `degrees`:
/// the bounding box, rounded to whole pixels (a float error under a thousandth of
/// a pixel does not add a row).
pub fn turned_size(width: u32, height: u32, degrees: u16) -> (u32, u32) {
    if degrees.is_multiple_of(180) {
        return (width, height);
    }
    let theta = f64::from(degrees).to_radians();
    let (sin, cos) = (theta.sin().abs(), theta.cos().abs());
    let (w, h) = (f64::from(width), f64::from(height));
    let side = |v: f64| ((v - 1e-3).ceil().max(1.0)) as u32;
    (side(w * cos + h * sin), side(w * sin + h * cos))
}

/// Turns every frame clockwise by `degrees` (0..360) onto its bounding box.
pub fn apply(image: Image, degrees: u16) -> Result<Image, PipelineError> {
    if degrees == 0 {
        return Ok(image);
    }
    image.map_frames(|frame| {
        deadline::check()?;
        turn_frame(&frame, degrees)
    })
}

fn turn_frame(frame: &Frame, degrees: u16) -> Result<Frame, PipelineError> {
    let n = frame.channels().count();
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (ow, oh) = turned_size(frame.width(), frame.height(), degrees);
    let theta = f64::from(degrees).to_radians();
    let (sin, cos) = (theta.sin(), theta.cos());
    let (icx, icy) = (w as f64 / 2.0, h as f64 / 2.0);
    let (ocx, ocy) = (f64::from(ow) / 2.0, f64::from(oh) / 2.0);
    let data = frame.data();
    // Premultiplied RGBA of the source pixel at (x, y), transparent outside.
    let texel = |x: i64, y: i64| -> [f32; 4] {
        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
            return [0.0; 4];
        }
        let i = (y as usize * w + x as usize) * n;
        let a = if n == 4 {
            f32::from(data[i + 3]) / 255.0
        } else {
            1.0
        };
        [
            f32::from(data[i]) * a,
            f32::from(data[i + 1]) * a,
            f32::from(data[i + 2]) * a,
            a,
        ]
    };
    let mut out = vec![0u8; ow as usize * oh as usize * 4];
    for (y, row) in out.chunks_exact_mut(ow as usize * 4).enumerate() {
        deadline::check()?;
        let dy = y as f64 + 0.5 - ocy;
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let dx = x as f64 + 0.5 - ocx;
            // The inverse turn (counter-clockwise, y pointing down) gives the source
            // point; minus a half pixel gives the texel grid.
            let sx = dx * cos + dy * sin + icx - 0.5;
            let sy = -dx * sin + dy * cos + icy - 0.5;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let mut acc = [0.0f32; 4];
            for (tx, ty, weight) in [
                (x0, y0, (1.0 - fx) * (1.0 - fy)),
                (x0 + 1, y0, fx * (1.0 - fy)),
                (x0, y0 + 1, (1.0 - fx) * fy),
                (x0 + 1, y0 + 1, fx * fy),
            ] {
                if weight > 0.0 {
                    let t = texel(tx, ty);
                    for (a, v) in acc.iter_mut().zip(t) {
                        *a += v * weight;
                    }
                }
            }
            let alpha = acc[3];
            if alpha > 0.0 {
                for c in 0..3 {
                    px[c] = (acc[c] / alpha).round().clamp(0.0, 255.0) as u8;
                }
                px[3] = (alpha * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Ok(frame.remade(ow, oh, Channels::Rgba, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Image {
        let data = rgb.repeat((width * height) as usize);
        Image::still(width, height, Channels::Rgb, data).unwrap()
    }

    fn at(image: &Image, x: u32, y: u32) -> [u8; 4] {
        let f = image.first();
        let i = ((y * f.width() + x) * 4) as usize;
        f.data()[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn canvas_is_the_bounding_box() {
        assert_eq!(turned_size(100, 50, 0), (100, 50));
        assert_eq!(turned_size(100, 50, 180), (100, 50));
        assert_eq!(turned_size(100, 50, 90), (50, 100));
        // 45 degrees: (100 + 50) / sqrt(2) = 106.07 on both axes.
        assert_eq!(turned_size(100, 50, 45), (107, 107));
        // 30 degrees: 100 cos + 50 sin = 111.6; 100 sin + 50 cos = 93.3.
        assert_eq!(turned_size(100, 50, 30), (112, 94));
        assert_eq!(turned_size(1, 1, 45), (2, 2));
        // Any quadrant: -45 (315) and 135 give the same box as 45.
        assert_eq!(turned_size(100, 50, 315), (107, 107));
        assert_eq!(turned_size(100, 50, 135), (107, 107));
        assert_eq!(turned_size(100, 50, 120), (94, 112));
    }

    #[test]
    fn turn_keeps_the_middle_and_uncovers_the_corners() {
        let out = apply(solid(100, 50, [200, 10, 10]), 45).unwrap();
        assert_eq!((out.width(), out.height()), (107, 107));
        assert_eq!(out.channels(), Channels::Rgba);
        // The middle is the image, opaque, its colour unchanged.
        assert_eq!(at(&out, 53, 53), [200, 10, 10, 255]);
        // The corners of the canvas are uncovered: transparent.
        for (x, y) in [(0, 0), (106, 0), (0, 106), (106, 106)] {
            assert_eq!(at(&out, x, y)[3], 0, "({x}, {y})");
        }
        // The edge is antialiased: some pixel is partly covered.
        let partial = (0..107).any(|x| {
            let a = at(&out, x, 20)[3];
            a > 0 && a < 255
        });
        assert!(partial);
    }

    #[test]
    fn turn_is_clockwise() {
        // A 40x20 image, left half red, right half blue, turned 30 degrees
        // clockwise: the red end goes up-left, the blue end down-right... and
        // with y pointing down, clockwise moves the right end down.
        let mut data = Vec::new();
        for _y in 0..20 {
            for x in 0..40 {
                data.extend_from_slice(if x < 20 { &[255, 0, 0] } else { &[0, 0, 255] });
            }
        }
        let image = Image::still(40, 20, Channels::Rgb, data).unwrap();
        let out = apply(image, 30).unwrap();
        let (w, h) = (out.width(), out.height());
        // A point 15 px right of the centre on the image's axis lands at
        // (cx + 15 cos 30, cy + 15 sin 30): below the centre line.
        let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
        let (x, y) = (cx + 15.0 * 0.866, cy + 15.0 * 0.5);
        assert_eq!(at(&out, x as u32, y as u32), [0, 0, 255, 255]);
        let (x, y) = (cx - 15.0 * 0.866, cy - 15.0 * 0.5);
        assert_eq!(at(&out, x as u32, y as u32), [255, 0, 0, 255]);
    }

    #[test]
    fn every_frame_is_turned() {
        let first = solid(10, 10, [0, 255, 0]).first().clone();
        let image = Image::new(vec![first.clone(), first], 0).unwrap();
        let out = apply(image, 10).unwrap();
        assert_eq!(out.frames().len(), 2);
        assert_eq!(out.frames()[0], out.frames()[1]);
    }
}
