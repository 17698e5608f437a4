//! `e_trim[:tolerance[:colour]]`: cuts away the border of one colour before
//! the layout is computed, so that sizes and crops refer to the trimmed
//! image, as on Cloudinary.
//!
//! The border colour is the given one, else the top-left pixel's. A pixel
//! belongs to the border when no channel (alpha included) is further from
//! the border colour than `tolerance` percent of 255. The kept box is the
//! smallest one holding every pixel that does not belong to the border,
//! found on the first frame and cut from every frame; an image that is all
//! border is kept whole (there is nothing else to keep).
//!
//! The box must be found on the full-size pixels: the pipeline decodes a
//! trimmed image at full size (no shrink-on-load), trims it, and only then
//! lays it out and resamples.

use super::{Image, PipelineError, deadline};
use crate::options::Trim;

/// The kept part of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// The box `trim` keeps of `image`'s first frame.
pub fn find_box(image: &Image, trim: Trim) -> Result<TrimBox, PipelineError> {
    let frame = image.first();
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let n = frame.channels().count();
    let data = frame.data();
    let border: [u8; 4] = match trim.colour {
        Some(c) => c.0,
        None => {
            let mut px = [255u8; 4];
            px[..n].copy_from_slice(&data[..n]);
            px
        }
    };
    // Tolerance in 8-bit steps: 100 % is every colour.
    let limit = (u32::from(trim.tolerance) * 255).div_ceil(100);
    let is_border = |px: &[u8]| {
        px.iter()
            .zip(border)
            .all(|(v, b)| u32::from(v.abs_diff(b)) <= limit)
    };
    let (mut left, mut right, mut top, mut bottom) = (w, 0usize, h, 0usize);
    for (y, row) in data.chunks_exact(w * n).enumerate() {
        if y % 256 == 0 {
            deadline::check()?;
        }
        // The first and last non-border pixel of the row.
        let first = row.chunks_exact(n).position(|px| !is_border(px));
        let Some(first) = first else { continue };
        let last = row
            .chunks_exact(n)
            .rposition(|px| !is_border(px))
            .unwrap_or(first);
        left = left.min(first);
        right = right.max(last + 1);
        top = top.min(y);
        bottom = y + 1;
    }
    if top >= bottom {
        return Ok(TrimBox {
            left: 0,
            top: 0,
            width: frame.width(),
            height: frame.height(),
        });
    }
    // Within the frame by construction; the casts go back to u32 sides.
    Ok(TrimBox {
        left: left as u32,
        top: top as u32,
        width: (right - left) as u32,
        height: (bottom - top) as u32,
    })
}

/// Cuts `image` to what `trim` keeps, every frame at the same box.
pub fn apply(image: Image, trim: Trim) -> Result<Image, PipelineError> {
    let b = find_box(&image, trim)?;
    if (b.width, b.height) == (image.width(), image.height()) {
        return Ok(image);
    }
    Ok(super::resize::cut(&image, b.left, b.top, b.width, b.height)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Rgba;
    use crate::pipeline::Channels;

    /// A `w x h` image of `background` with a `rect` (left, top, width,
    /// height) of `fill`.
    fn framed(w: u32, h: u32, background: [u8; 3], rect: (u32, u32, u32, u32), fill: [u8; 3]) -> Image {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let inside = x >= rect.0 && x < rect.0 + rect.2 && y >= rect.1 && y < rect.1 + rect.3;
                data.extend_from_slice(if inside { &fill } else { &background });
            }
        }
        Image::still(w, h, Channels::Rgb, data).unwrap()
    }

    fn trim(tolerance: u8, colour: Option<[u8; 4]>) -> Trim {
        Trim {
            tolerance,
            colour: colour.map(Rgba),
        }
    }

    #[test]
    fn finds_the_box_inside_a_uniform_border() {
        let image = framed(40, 30, [255, 255, 255], (5, 7, 20, 10), [200, 0, 0]);
        let b = find_box(&image, trim(10, None)).unwrap();
        assert_eq!(
            b,
            TrimBox {
                left: 5,
                top: 7,
                width: 20,
                height: 10
            }
        );
        let out = apply(image, trim(10, None)).unwrap();
        assert_eq!((out.width(), out.height()), (20, 10));
        assert!(out.first().data().chunks_exact(3).all(|p| p == [200, 0, 0]));
    }

    #[test]
    fn tolerance_decides_what_is_border() {
        // A near-white (240) ring around the red box, within a white border.
        let mut image = framed(40, 30, [255, 255, 255], (4, 4, 32, 22), [240, 240, 240]);
        image = {
            let inner = framed(40, 30, [0, 0, 0], (10, 10, 20, 10), [200, 0, 0]);
            let data: Vec<u8> = image
                .first()
                .data()
                .chunks_exact(3)
                .zip(inner.first().data().chunks_exact(3))
                .flat_map(|(a, b)| if b == [200, 0, 0] { b.to_vec() } else { a.to_vec() })
                .collect();
            Image::still(40, 30, Channels::Rgb, data).unwrap()
        };
        // 15 of 255 away: border at 10 % (26 steps), not at 5 % (13 steps).
        assert_eq!(find_box(&image, trim(10, None)).unwrap().width, 20);
        assert_eq!(find_box(&image, trim(5, None)).unwrap().width, 32);
        // At 100 % everything is border: kept whole.
        assert_eq!(find_box(&image, trim(100, None)).unwrap().width, 40);
    }

    #[test]
    fn a_given_colour_overrides_the_corner() {
        // Black top-left corner pixel, the rest a blue frame around green.
        let mut image = framed(20, 20, [0, 0, 255], (5, 5, 10, 10), [0, 255, 0]);
        image.frames_mut()[0].data_mut()[..3].copy_from_slice(&[0, 0, 0]);
        // By the corner (black), nothing but that pixel is border.
        assert_eq!(find_box(&image, trim(10, None)).unwrap().width, 20);
        let b = find_box(&image, trim(10, Some([0, 0, 255, 255]))).unwrap();
        // The black corner pixel is not blue: it stays in the box.
        assert_eq!((b.left, b.top, b.width, b.height), (0, 0, 15, 15));
    }

    #[test]
    fn all_border_keeps_the_image() {
        let image = framed(8, 8, [9, 9, 9], (0, 0, 0, 0), [0, 0, 0]);
        let out = apply(image, trim(0, None)).unwrap();
        assert_eq!((out.width(), out.height()), (8, 8));
    }
}
