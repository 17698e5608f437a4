//! Image overlays (`l_`, Cloudinary's layers): a second image made by its
//! own steps and drawn over the base.
//!
//! The layer runs through the same stages as a source (probe and limits,
//! shrink-on-load, orientation, colour, sizing, effects, shape), as a PNG
//! so that its transparency and `o_` survive, then is composited onto every
//! frame of the base at its placement (`options::layer::Placement`): source
//! over, in sRGB values as Cloudinary draws, clipped to the base (the base
//! never grows, as Cloudinary's `fl_no_overflow`). The layer's work is
//! charged to the same work budget as the request's other steps.

use super::{Channels, Image, OutputChoice, Pipeline, PipelineError, Timings, deadline};
use crate::format::ImageFormat;
use crate::options::Gravity;
use crate::options::layer::{Layer, Placement};

impl Pipeline {
    /// Makes `layer` from its source `bytes`, sized against `base`, and
    /// draws it on every frame of `base`.
    pub(super) fn draw_layer(
        &self,
        base: Image,
        layer: &Layer,
        bytes: &[u8],
        timings: &mut Timings,
    ) -> Result<Image, PipelineError> {
        let steps = layer.steps_on(base.width(), base.height());
        let (first, later) = steps
            .split_first()
            .ok_or_else(|| PipelineError::Unprocessable("the layer has no steps".to_owned()))?;
        // PNG: keeps alpha (the layer's own `o_`, `r_`, transparent areas)
        // and is never animated, so an animated layer gives its first frame.
        let mut own = Timings::default();
        let (mut image, _) = self.first_step(
            bytes,
            first,
            OutputChoice::Fixed(ImageFormat::Png),
            None,
            &mut own,
        )?;
        for plan in later {
            image = self.later_step(image, plan, ImageFormat::Png)?;
        }
        timings.decode += own.decode;
        timings.transform += own.transform;
        composite(base, &image, layer.placement())
    }
}

/// The top-left corner of a `width x height` layer on a `base_w x base_h`
/// base: against the gravity's edge, moved by the offsets away from it
/// (for the centre, right and down).
pub fn position(
    placement: &Placement,
    (base_w, base_h): (u32, u32),
    (width, height): (u32, u32),
) -> (i64, i64) {
    let dx = placement.x.pixels(base_w);
    let dy = placement.y.pixels(base_h);
    let free_x = i64::from(base_w) - i64::from(width);
    let free_y = i64::from(base_h) - i64::from(height);
    let (column, row) = match placement.gravity {
        Gravity::NorthWest => (-1, -1),
        Gravity::North => (0, -1),
        Gravity::NorthEast => (1, -1),
        Gravity::West => (-1, 0),
        Gravity::Center | Gravity::Auto => (0, 0),
        Gravity::East => (1, 0),
        Gravity::SouthWest => (-1, 1),
        Gravity::South => (0, 1),
        Gravity::SouthEast => (1, 1),
    };
    let along = |side: i32, free: i64, offset: i64| match side {
        -1 => offset,
        1 => free - offset,
        _ => free.div_euclid(2) + offset,
    };
    (along(column, free_x, dx), along(row, free_y, dy))
}

/// Draws `layer` (its first frame) over every frame of `base` at
/// `placement`, source over; the base keeps its size and channels.
pub fn composite(base: Image, layer: &Image, placement: Placement) -> Result<Image, PipelineError> {
    let top = layer.first();
    let (lw, lh) = (top.width(), top.height());
    let (bw, bh) = (base.width(), base.height());
    let (x0, y0) = position(&placement, (bw, bh), (lw, lh));
    // The part of the layer that lands on the base.
    let left = x0.max(0);
    let right = (x0 + i64::from(lw)).min(i64::from(bw));
    let upper = y0.max(0);
    let lower = (y0 + i64::from(lh)).min(i64::from(bh));
    if left >= right || upper >= lower {
        return Ok(base);
    }
    let lc = top.channels().count();
    let opacity = u32::from(placement.opacity.min(100));
    let layer_data = top.data();
    let layer_stride = top.stride();
    base.map_frames(|mut frame| {
        deadline::check()?;
        let bc = frame.channels().count();
        let base_alpha = frame.channels() == Channels::Rgba;
        let stride = frame.stride();
        let data = frame.data_mut();
        // Within [0, side] by the clipping above.
        for y in upper..lower {
            let ly = (y - y0) as usize;
            let by = y as usize;
            for x in left..right {
                let lx = (x - x0) as usize;
                let bx = x as usize;
                let l = &layer_data[ly * layer_stride + lx * lc..][..lc];
                let a = (if lc == 4 { u32::from(l[3]) } else { 255 } * opacity + 50) / 100;
                if a == 0 {
                    continue;
                }
                let b = &mut data[by * stride + bx * bc..][..bc];
                if !base_alpha {
                    for c in 0..3 {
                        b[c] = blend(l[c], b[c], a);
                    }
                    continue;
                }
                // Source over on straight alpha: out_a = a + ba (1 - a).
                let ba = u32::from(b[3]);
                let out_a = a * 255 + ba * (255 - a);
                if out_a == 0 {
                    continue;
                }
                for c in 0..3 {
                    let value = u32::from(l[c]) * a * 255 + u32::from(b[c]) * ba * (255 - a);
                    b[c] = ((value + out_a / 2) / out_a).min(255) as u8;
                }
                b[3] = ((out_a + 127) / 255).min(255) as u8;
            }
        }
        Ok::<_, PipelineError>(frame)
    })
}

/// `top` over an opaque `bottom` with coverage `alpha` (0..=255).
fn blend(top: u8, bottom: u8, alpha: u32) -> u8 {
    let value = u32::from(top) * alpha + u32::from(bottom) * (255 - alpha);
    ((value + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::layer::LayerOffset;

    fn placed(gravity: Gravity, x: i32, y: i32) -> Placement {
        Placement {
            gravity,
            x: LayerOffset::Pixels(x),
            y: LayerOffset::Pixels(y),
            opacity: 100,
        }
    }

    #[test]
    fn positions_follow_the_gravity_and_offsets_move_away_from_its_edge() {
        let base = (100, 80);
        let layer = (20, 10);
        let cases = [
            (Gravity::NorthWest, 5, 3, (5, 3)),
            (Gravity::North, 0, 0, (40, 0)),
            (Gravity::NorthEast, 5, 3, (75, 3)),
            (Gravity::West, 0, 0, (0, 35)),
            (Gravity::Center, 0, 0, (40, 35)),
            (Gravity::Center, 10, -5, (50, 30)),
            (Gravity::East, 2, 0, (78, 35)),
            (Gravity::SouthWest, 0, 0, (0, 70)),
            (Gravity::South, 0, 4, (40, 66)),
            (Gravity::SouthEast, 10, 10, (70, 60)),
        ];
        for (gravity, x, y, expected) in cases {
            assert_eq!(
                position(&placed(gravity, x, y), base, layer),
                expected,
                "{gravity:?} {x} {y}"
            );
        }
        let relative = Placement {
            x: LayerOffset::Relative(0.1),
            y: LayerOffset::Relative(0.25),
            ..placed(Gravity::NorthWest, 0, 0)
        };
        assert_eq!(position(&relative, base, layer), (10, 20));
    }

    #[test]
    fn composites_with_opacity_and_clips_to_the_base() {
        let base = Image::still(4, 4, Channels::Rgb, vec![0; 4 * 4 * 3]).unwrap();
        let layer = Image::still(2, 2, Channels::Rgba, [255, 255, 255, 255].repeat(4)).unwrap();
        let half = Placement {
            opacity: 50,
            ..placed(Gravity::SouthEast, -1, 0)
        };
        let out = composite(base, &layer, half).unwrap();
        let px = |x: usize, y: usize| out.first().data()[(y * 4 + x) * 3];
        // One column pushed past the east edge: only x = 3 is covered.
        assert_eq!(px(3, 3), 128);
        assert_eq!(px(3, 2), 128);
        assert_eq!(px(2, 3), 0);
        assert_eq!(px(3, 1), 0);
        assert_eq!((out.width(), out.height()), (4, 4));
    }

    #[test]
    fn source_over_on_a_transparent_base_keeps_the_layer_colour() {
        let base = Image::still(1, 1, Channels::Rgba, vec![0, 0, 0, 0]).unwrap();
        let layer = Image::still(1, 1, Channels::Rgba, vec![200, 100, 50, 128]).unwrap();
        let out = composite(base, &layer, placed(Gravity::Center, 0, 0)).unwrap();
        assert_eq!(out.first().data(), &[200, 100, 50, 128]);
    }
}
