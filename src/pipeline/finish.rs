//! Finish: what happens after resampling, for the output format.
//!
//! The resized image is placed on the layout's canvas (`c_pad`, `c_lpad`),
//! flattened onto the background when the output format cannot store
//! alpha, and an alpha channel that is opaque everywhere is dropped so that
//! encoders write the smaller RGB form. Runs once on the whole image, after
//! every frame of an animation was transformed.

use super::geometry::{Dim, Layout, place};
use super::{Channels, Image, LayoutError, PipelineError, rotate, shape};
use crate::format::ImageFormat;
use crate::options::{Gravity, Plan, Rgba};

/// Pads onto the canvas and flattens alpha onto the background when `format`
/// cannot store it. An alpha channel that is opaque everywhere is dropped,
/// so that encoders write the smaller RGB form.
///
/// Between padding and flattening, Cloudinary's outline (`r_`, `bo_`, `o_`, in
/// `shape`) and the turn by what is left of an `a_` angle (`rotate`): both leave
/// transparent pixels that the flattening puts on `b_` for a format without alpha.
pub fn apply(
    image: Image,
    layout: &Layout,
    plan: &Plan,
    format: ImageFormat,
) -> Result<Image, PipelineError> {
    let image = match layout.canvas {
        Some(canvas) if (canvas.width, canvas.height) != (image.width(), image.height()) => pad(
            image,
            (canvas.width, canvas.height),
            canvas.gravity,
            pad_background(plan.background(), format),
        )?,
        _ => image,
    };
    let image = shape::apply(
        image,
        shape::Outline {
            radius: plan.radius(),
            border: plan.border(),
            opacity: plan.opacity(),
        },
    )?;
    let image = rotate::apply(image, plan.angle().free_degrees())?;
    if image.channels() == Channels::Rgb {
        return Ok(image);
    }
    if !format.supports_alpha() {
        return Ok(flatten(image, plan.background())?);
    }
    if image
        .frames()
        .iter()
        .all(|f| f.data().chunks_exact(4).all(|p| p[3] == u8::MAX))
    {
        return Ok(drop_alpha(image)?);
    }
    Ok(image)
}

/// The size [`apply`] gives an image the layout sizes to `output`: the border added,
/// then the bounding box of the turn; [`PipelineError::OutputTooLarge`] past
/// `max_dimension`, so that the pipeline refuses it before decoding.
pub fn final_size(output: Dim, plan: &Plan, max_dimension: u32) -> Result<Dim, PipelineError> {
    let (w, h) = shape::bordered_size(output.width, output.height, plan.border());
    let too_large = |width: u64, height: u64| PipelineError::OutputTooLarge {
        width,
        height,
        max: max_dimension,
    };
    let max = u64::from(max_dimension);
    if w > max || h > max {
        return Err(too_large(w, h));
    }
    // Both sides are now at most max_dimension, a u32.
    let (width, height) = rotate::turned_size(w as u32, h as u32, plan.angle().free_degrees());
    if width > max_dimension || height > max_dimension {
        return Err(too_large(u64::from(width), u64::from(height)));
    }
    Ok(Dim { width, height })
}

/// The colour a padded canvas is filled with: `background` itself when
/// `format` stores alpha, else `background` composited over white once,
/// exactly as [`flatten`] composites it under transparent pixels. Padding
/// with the translucent colour and flattening afterwards would composite it
/// twice (50% black over white came out 75% black).
fn pad_background(background: Rgba, format: ImageFormat) -> Rgba {
    if format.supports_alpha() || background.0[3] == u8::MAX {
        return background;
    }
    let [r, g, b] = background_over_white(background);
    Rgba([r, g, b, u8::MAX])
}

/// `background` composited over white: what its translucency looks like in
/// a format without alpha.
fn background_over_white(background: Rgba) -> [u8; 3] {
    let [br, bg, bb, ba] = background.0.map(u32::from);
    let over_white = |c: u32| ((c * ba + 255 * (255 - ba) + 127) / 255) as u8;
    [over_white(br), over_white(bg), over_white(bb)]
}

/// Places every frame on a `size` canvas of `background`, by gravity. The
/// canvas has an alpha channel only when the image or the colour needs one.
fn pad(image: Image, size: (u32, u32), gravity: Gravity, background: Rgba) -> Result<Image, LayoutError> {
    let (cw, ch_) = (size.0 as usize, size.1 as usize);
    let channels = if image.channels() == Channels::Rgba || background.0[3] < u8::MAX {
        Channels::Rgba
    } else {
        Channels::Rgb
    };
    let out_n = channels.count();
    let in_n = image.channels().count();
    let pixel = &background.0[..out_n];
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    let (x, y) = place((size.0 as f64, size.1 as f64), (iw as f64, ih as f64), gravity);
    // Whole-pixel offsets; negative when the image is larger than the canvas,
    // then it is clipped.
    let (ox, oy) = (x.round() as i64, y.round() as i64);
    image.map_frames(|frame| {
        let mut data = pixel.repeat(cw * ch_);
        for (row_index, row) in frame.data().chunks_exact(iw * in_n).enumerate() {
            let cy = row_index as i64 + oy;
            if cy < 0 || cy >= ch_ as i64 {
                continue;
            }
            for (col, px) in row.chunks_exact(in_n).enumerate() {
                let cx = col as i64 + ox;
                if cx < 0 || cx >= cw as i64 {
                    continue;
                }
                let at = (cy as usize * cw + cx as usize) * out_n;
                if let Some(dst) = data.get_mut(at..at + out_n) {
                    dst[..3].copy_from_slice(&px[..3]);
                    if out_n == 4 {
                        dst[3] = px.get(3).copied().unwrap_or(u8::MAX);
                    }
                }
            }
        }
        frame.remade(size.0, size.1, channels, data)
    })
}

/// Composites RGBA frames over `background` (itself composited over white
/// when it is transparent, since the result has no alpha) and returns RGB.
/// Blending is done on the sRGB values, as browsers composite.
fn flatten(image: Image, background: Rgba) -> Result<Image, LayoutError> {
    let bgc = background_over_white(background).map(u32::from);
    image.map_frames(|frame| {
        let mut data = Vec::with_capacity(frame.data().len() / 4 * 3);
        for px in frame.data().chunks_exact(4) {
            let a = u32::from(px[3]);
            for c in 0..3 {
                let v = (u32::from(px[c]) * a + bgc[c] * (255 - a) + 127) / 255;
                data.push(v as u8);
            }
        }
        frame.remade(frame.width(), frame.height(), Channels::Rgb, data)
    })
}

/// RGBA -> RGB, for images whose alpha is opaque everywhere.
fn drop_alpha(image: Image) -> Result<Image, LayoutError> {
    image.map_frames(|frame| {
        let data = frame
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        frame.remade(frame.width(), frame.height(), Channels::Rgb, data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;
    use crate::pipeline::geometry::{Anchor, Canvas};
    use crate::pipeline::test_support::{close, layout, pixel};

    fn pad_layout(canvas: (u32, u32), gravity: Gravity) -> Layout {
        let mut l = layout((10, 10), (10.0, 10.0), Anchor::Gravity(Gravity::Center), (10, 10));
        l.canvas = Some(Canvas {
            width: canvas.0,
            height: canvas.1,
            gravity,
        });
        l
    }

    #[test]
    fn pad_places_by_gravity_on_the_background() {
        let img = Image::still(10, 10, Channels::Rgb, vec![0; 300]).unwrap();
        let plan = Plan::parse("b_rgb:0000ff", &GrammarLimits::default()).unwrap();
        let out = apply(
            img.clone(),
            &pad_layout((30, 20), Gravity::East),
            &plan,
            ImageFormat::Png,
        )
        .unwrap();
        assert_eq!(
            (out.width(), out.height(), out.channels()),
            (30, 20, Channels::Rgb)
        );
        assert_eq!(pixel(&out, 0, 0), vec![0, 0, 255]);
        assert_eq!(pixel(&out, 29, 19), vec![0, 0, 255]);
        assert_eq!(pixel(&out, 25, 10), vec![0, 0, 0]);
        assert_eq!(pixel(&out, 19, 10), vec![0, 0, 255]);
        assert_eq!(pixel(&out, 20, 4), vec![0, 0, 255]);
        assert_eq!(pixel(&out, 20, 5), vec![0, 0, 0]);

        let out = apply(
            img,
            &pad_layout((30, 20), Gravity::NorthWest),
            &plan,
            ImageFormat::Png,
        )
        .unwrap();
        assert_eq!(pixel(&out, 0, 0), vec![0, 0, 0]);
        assert_eq!(pixel(&out, 29, 19), vec![0, 0, 255]);
        assert_eq!(pixel(&out, 10, 0), vec![0, 0, 255]);
    }

    #[test]
    fn transparent_pad_keeps_alpha() {
        let img = Image::still(10, 10, Channels::Rgb, vec![9; 300]).unwrap();
        let plan = Plan::parse("b_rgb:00000000", &GrammarLimits::default()).unwrap();
        let out = apply(
            img,
            &pad_layout((20, 10), Gravity::Center),
            &plan,
            ImageFormat::Png,
        )
        .unwrap();
        assert_eq!(out.channels(), Channels::Rgba);
        assert_eq!(pixel(&out, 0, 0)[3], 0);
        assert_eq!(pixel(&out, 10, 5), vec![9, 9, 9, 255]);
    }

    #[test]
    fn translucent_pad_is_composited_once_for_jpeg() {
        // Half-transparent black on a JPEG: the padding is 50% black over
        // white, the same grey flattening gives a transparent pixel, not the
        // 75% black of compositing it twice.
        let img = Image::still(10, 10, Channels::Rgb, vec![9; 300]).unwrap();
        let plan = Plan::parse("b_rgb:00000080", &GrammarLimits::default()).unwrap();
        let out = apply(
            img,
            &pad_layout((30, 10), Gravity::Center),
            &plan,
            ImageFormat::Jpeg,
        )
        .unwrap();
        assert_eq!(out.channels(), Channels::Rgb);
        assert_eq!(pixel(&out, 0, 0), vec![127, 127, 127]);
        assert_eq!(pixel(&out, 15, 5), vec![9, 9, 9]);
        let transparent = Image::still(1, 1, Channels::Rgba, vec![50, 60, 70, 0]).unwrap();
        let l = layout((1, 1), (1.0, 1.0), Anchor::Gravity(Gravity::Center), (1, 1));
        let flat = apply(transparent, &l, &plan, ImageFormat::Jpeg).unwrap();
        assert_eq!(pixel(&flat, 0, 0), vec![127, 127, 127]);
    }

    #[test]
    fn flatten_uses_the_background_where_transparent() {
        let data = [[10, 20, 30, 0], [10, 20, 30, 255], [255, 0, 0, 128]].concat();
        let img = Image::still(3, 1, Channels::Rgba, data).unwrap();
        let l = layout((3, 1), (3.0, 1.0), Anchor::Gravity(Gravity::Center), (3, 1));
        let plan = Plan::parse("b_rgb:00ff00", &GrammarLimits::default()).unwrap();
        let out = apply(img.clone(), &l, &plan, ImageFormat::Jpeg).unwrap();
        assert_eq!(out.channels(), Channels::Rgb);
        assert_eq!(pixel(&out, 0, 0), vec![0, 255, 0]);
        assert_eq!(pixel(&out, 1, 0), vec![10, 20, 30]);
        assert!(close(&pixel(&out, 2, 0), &[128, 127, 0], 1));
        // Default background: white.
        let out = apply(img.clone(), &l, &Plan::default(), ImageFormat::Jpeg).unwrap();
        assert_eq!(pixel(&out, 0, 0), vec![255, 255, 255]);
        // PNG keeps the alpha channel.
        let out = apply(img, &l, &plan, ImageFormat::Png).unwrap();
        assert_eq!(out.channels(), Channels::Rgba);
    }

    #[test]
    fn opaque_alpha_is_dropped() {
        let img = Image::still(2, 1, Channels::Rgba, vec![1, 2, 3, 255, 4, 5, 6, 255]).unwrap();
        let l = layout((2, 1), (2.0, 1.0), Anchor::Gravity(Gravity::Center), (2, 1));
        let out = apply(img, &l, &Plan::default(), ImageFormat::Webp).unwrap();
        assert_eq!(out.channels(), Channels::Rgb);
        assert_eq!(out.frames()[0].data(), vec![1, 2, 3, 4, 5, 6]);
    }
}
