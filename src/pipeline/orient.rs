//! Orientation: EXIF orientation first, then the `a_` rotation.
//!
//! Both are elements of the same eight-element group (the symmetries of a
//! rectangle), so they are composed into one [`Transform`] and applied in a
//! single pixel pass per frame; the identity costs nothing at all.
//!
//! Cloudinary's `a_` steps (issue 14) belong to the same group: `hflip`, `vflip`,
//! angles that are multiples of 90, `ignore` (no EXIF orientation) and
//! `auto_right`/`auto_left` (a quarter turn when the requested box and the image
//! disagree on landscape against portrait) compose into one [`Turn`] per plan. Any
//! other angle (`a_45`) turns the sized image, in `rotate`.

use std::borrow::Cow;

use super::geometry::Dim;
use super::{Frame, Image, LayoutError};
use crate::options::{AutoRotate, Plan, Rotation, Size};

/// A symmetry of the rectangle, as a map from output to source pixels:
/// for output `(x, y)`, take `(u, v) = swap ? (y, x) : (x, y)`, then the
/// source pixel is `(flip_x ? W-1-u : u, flip_y ? H-1-v : v)` where `W x H`
/// is the source size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transform {
    swap: bool,
    flip_x: bool,
    flip_y: bool,
}

impl Transform {
    const IDENTITY: Transform = Transform::new(false, false, false);

    const fn new(swap: bool, flip_x: bool, flip_y: bool) -> Transform {
        Transform { swap, flip_x, flip_y }
    }

    /// The display transform of an EXIF orientation (TIFF tag 0x0112).
    /// Out-of-range values are treated as 1 (no change), as viewers do.
    fn from_exif(orientation: u8) -> Transform {
        match orientation {
            2 => Transform::new(false, true, false), // flip horizontal
            3 => Transform::new(false, true, true),  // rotate 180
            4 => Transform::new(false, false, true), // flip vertical
            5 => Transform::new(true, false, false), // transpose
            6 => Transform::new(true, false, true),  // rotate 90 CW
            7 => Transform::new(true, true, true),   // transverse
            8 => Transform::new(true, true, false),  // rotate 270 CW
            _ => Transform::IDENTITY,
        }
    }

    fn from_rotation(rotation: Rotation) -> Transform {
        match rotation {
            Rotation::None => Transform::IDENTITY,
            Rotation::Deg90 => Transform::from_exif(6),
            Rotation::Deg180 => Transform::from_exif(3),
            Rotation::Deg270 => Transform::from_exif(8),
        }
    }

    /// As a signed 2x2 matrix on centred coordinates: source = M * output.
    fn matrix(self) -> [[i8; 2]; 2] {
        let sx = if self.flip_x { -1 } else { 1 };
        let sy = if self.flip_y { -1 } else { 1 };
        if self.swap {
            [[0, sx], [sy, 0]]
        } else {
            [[sx, 0], [0, sy]]
        }
    }

    fn from_matrix(m: [[i8; 2]; 2]) -> Transform {
        if m[0][0] == 0 {
            Transform::new(true, m[0][1] < 0, m[1][0] < 0)
        } else {
            Transform::new(false, m[0][0] < 0, m[1][1] < 0)
        }
    }

    /// `self` applied first, then `next`.
    fn then(self, next: Transform) -> Transform {
        let a = self.matrix();
        let b = next.matrix();
        let mut m = [[0i8; 2]; 2];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j];
            }
        }
        Transform::from_matrix(m)
    }

    fn output_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.swap {
            (height, width)
        } else {
            (width, height)
        }
    }
}

fn combined(orientation: u8, rotation: Rotation) -> Transform {
    Transform::from_exif(orientation).then(Transform::from_rotation(rotation))
}

/// Everything a plan turns or flips before sizing, EXIF orientation included, as one
/// symmetry of the rectangle (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn(Transform);

impl Turn {
    /// The turn of `plan` on a stored image of `width x height` with EXIF `orientation`.
    pub fn for_plan(width: u32, height: u32, orientation: u8, plan: &Plan) -> Turn {
        let angle = plan.angle();
        let exif = if angle.ignore_orientation {
            Transform::IDENTITY
        } else {
            Transform::from_exif(orientation)
        };
        let flip = if angle.hflip {
            Transform::from_exif(2)
        } else {
            Transform::IDENTITY
        };
        let mut t = exif.then(flip).then(Transform::from_rotation(angle.quarter()));
        if let Some(auto) = angle.auto {
            let (w, h) = t.output_size(width, height);
            if let Some(target) = requested_ratio(plan, w, h) {
                let image = f64::from(w) / f64::from(h);
                let disagree = (target > 1.0 && image < 1.0) || (target < 1.0 && image > 1.0);
                if disagree {
                    let quarter = match auto {
                        AutoRotate::Right => Rotation::Deg90,
                        AutoRotate::Left => Rotation::Deg270,
                    };
                    t = t.then(Transform::from_rotation(quarter));
                }
            }
        }
        Turn(t)
    }

    /// The size of a `width x height` stored image once turned.
    pub fn size(self, width: u32, height: u32) -> Dim {
        let (width, height) = self.0.output_size(width, height);
        Dim { width, height }
    }

    /// Turns every frame of an image that stays shared (a decode the
    /// decode cache keeps): borrowed as it is when there is nothing to turn.
    pub fn apply_shared(self, image: &Image) -> Result<Cow<'_, Image>, LayoutError> {
        if self.0 == Transform::IDENTITY {
            return Ok(Cow::Borrowed(image));
        }
        Ok(Cow::Owned(
            image.map_frames_ref(|frame| transform_frame(frame, self.0))?,
        ))
    }

    /// Turns every frame.
    pub fn apply(self, image: Image) -> Result<Image, LayoutError> {
        if self.0 == Transform::IDENTITY {
            return Ok(image);
        }
        image.map_frames(|frame| transform_frame(&frame, self.0))
    }
}

/// The width over height a plan asks for, when it says: `ar_`, or both sides (a
/// relative side against the image's own).
fn requested_ratio(plan: &Plan, width: u32, height: u32) -> Option<f64> {
    if let Some(ratio) = plan.aspect_ratio() {
        return Some(ratio);
    }
    let px = |size: Size, side: u32| match size {
        Size::Pixels(px) => f64::from(px),
        Size::Relative(r) => r * f64::from(side),
    };
    match (plan.width(), plan.height()) {
        (Some(w), Some(h)) => Some(px(w, width) / px(h, height)),
        _ => None,
    }
}

/// The size of the image once oriented and rotated.
pub fn oriented_size(width: u32, height: u32, orientation: u8, rotation: Rotation) -> Dim {
    let (width, height) = combined(orientation, rotation).output_size(width, height);
    Dim { width, height }
}

/// Applies EXIF orientation (1..=8) and then the clockwise rotation.
pub fn apply(image: Image, orientation: u8, rotation: Rotation) -> Result<Image, LayoutError> {
    let transform = combined(orientation, rotation);
    if transform == Transform::IDENTITY {
        return Ok(image);
    }
    image.map_frames(|frame| transform_frame(&frame, transform))
}

fn transform_frame(frame: &Frame, t: Transform) -> Result<Frame, LayoutError> {
    let channels = frame.channels().count();
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (out_w, out_h) = t.output_size(frame.width(), frame.height());
    // Source pixel index = origin + x * step_x + y * step_y, in pixels.
    let (w_i, h_i) = (w as isize, h as isize);
    let col = |flip: bool, extent: isize| if flip { (extent - 1, -1) } else { (0, 1) };
    let (sx0, dsx) = col(t.flip_x, w_i);
    let (sy0, dsy) = col(t.flip_y, h_i);
    let origin = sy0 * w_i + sx0;
    let (step_x, step_y) = if t.swap {
        (dsy * w_i, dsx)
    } else {
        (dsx, dsy * w_i)
    };

    let mut out = vec![0u8; frame.data().len()];
    for (y, row) in out.chunks_exact_mut(out_w as usize * channels).enumerate() {
        let mut src = origin + y as isize * step_y;
        for px in row.chunks_exact_mut(channels) {
            let start = src as usize * channels;
            if let Some(pixel) = frame.data().get(start..start + channels) {
                px.copy_from_slice(pixel);
            }
            src += step_x;
        }
    }
    frame.remade(out_w, out_h, frame.channels(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Channels;

    const RED: [u8; 3] = [255, 0, 0];
    const GREEN: [u8; 3] = [0, 255, 0];
    const BLUE: [u8; 3] = [0, 0, 255];
    const WHITE: [u8; 3] = [255, 255, 255];

    /// A 3x2 image with distinct corners: top-left red, top-right green,
    /// bottom-left blue, bottom-right white (grey elsewhere).
    fn sample(channels: Channels) -> Image {
        let (w, h) = (3usize, 2usize);
        let n = channels.count();
        let mut data = vec![128u8; w * h * n];
        for (x, y, c) in [(0, 0, RED), (2, 0, GREEN), (0, 1, BLUE), (2, 1, WHITE)] {
            let i = (y * w + x) * n;
            data[i..i + 3].copy_from_slice(&c);
            if n == 4 {
                data[i + 3] = (x * 10 + y) as u8;
            }
        }
        Image::still(w as u32, h as u32, channels, data).unwrap()
    }

    fn corners(image: &Image) -> [[u8; 3]; 4] {
        let f = &image.frames()[0];
        let n = image.channels().count();
        let (w, h) = (f.width() as usize, f.height() as usize);
        let at = |x: usize, y: usize| {
            let i = (y * w + x) * n;
            [f.data()[i], f.data()[i + 1], f.data()[i + 2]]
        };
        [at(0, 0), at(w - 1, 0), at(0, h - 1), at(w - 1, h - 1)]
    }

    /// Expected (top-left, top-right, bottom-left, bottom-right) after each
    /// EXIF orientation, straight from the definitions.
    fn expected(orientation: u8) -> [[u8; 3]; 4] {
        match orientation {
            1 => [RED, GREEN, BLUE, WHITE],
            2 => [GREEN, RED, WHITE, BLUE], // mirrored left-right
            3 => [WHITE, BLUE, GREEN, RED], // rotated 180
            4 => [BLUE, WHITE, RED, GREEN], // mirrored top-bottom
            5 => [RED, BLUE, GREEN, WHITE], // transposed
            6 => [BLUE, RED, WHITE, GREEN], // rotated 90 CW
            7 => [WHITE, GREEN, BLUE, RED], // transversed
            8 => [GREEN, WHITE, RED, BLUE], // rotated 270 CW
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_exif_orientation_moves_the_corners_as_defined() {
        for channels in [Channels::Rgb, Channels::Rgba] {
            for o in 1..=8u8 {
                let out = apply(sample(channels), o, Rotation::None).unwrap();
                assert_eq!(corners(&out), expected(o), "orientation {o}, {channels:?}");
                let swapped = o >= 5;
                let dims = (out.width(), out.height());
                assert_eq!(dims, if swapped { (2, 3) } else { (3, 2) });
                let size = oriented_size(3, 2, o, Rotation::None);
                assert_eq!((size.width, size.height), dims);
            }
        }
    }

    #[test]
    fn alpha_travels_with_its_pixel() {
        let out = apply(sample(Channels::Rgba), 6, Rotation::None).unwrap();
        // Source (0,1) (alpha 1) becomes the top-left after rotating CW.
        assert_eq!(out.frames()[0].data()[3], 1);
    }

    #[test]
    fn rotation_follows_orientation() {
        let rotate = |image: Image, r: Rotation| apply(image, 1, r).unwrap();
        for o in 1..=8u8 {
            for r in [Rotation::Deg90, Rotation::Deg180, Rotation::Deg270] {
                let step_by_step = rotate(apply(sample(Channels::Rgb), o, Rotation::None).unwrap(), r);
                let at_once = apply(sample(Channels::Rgb), o, r).unwrap();
                assert_eq!(at_once, step_by_step, "orientation {o} then {r:?}");
                let size = oriented_size(3, 2, o, r);
                assert_eq!((size.width, size.height), (at_once.width(), at_once.height()));
            }
        }
        // a_90 alone is EXIF 6; a_270 is EXIF 8.
        assert_eq!(
            corners(&rotate(sample(Channels::Rgb), Rotation::Deg90)),
            expected(6)
        );
        assert_eq!(
            corners(&rotate(sample(Channels::Rgb), Rotation::Deg270)),
            expected(8)
        );
        // Orientation 6 then a_270 is back to the stored image.
        assert_eq!(
            apply(sample(Channels::Rgb), 6, Rotation::Deg270).unwrap(),
            sample(Channels::Rgb)
        );
    }

    fn turned(text: &str, orientation: u8) -> Image {
        let plan = Plan::parse(text, &crate::options::GrammarLimits::default()).unwrap();
        let turn = Turn::for_plan(3, 2, orientation, &plan);
        let out = turn.apply(sample(Channels::Rgb)).unwrap();
        let size = turn.size(3, 2);
        assert_eq!((size.width, size.height), (out.width(), out.height()), "{text}");
        out
    }

    #[test]
    fn cloudinary_angle_steps() {
        // Flips: hflip is EXIF 2, vflip EXIF 4.
        assert_eq!(corners(&turned("a_hflip", 1)), expected(2));
        assert_eq!(corners(&turned("a_vflip", 1)), expected(4));
        // hflip then a quarter turn, against the two steps done one after the other:
        let flipped_then_turned = apply(
            apply(sample(Channels::Rgb), 2, Rotation::None).unwrap(),
            1,
            Rotation::Deg90,
        )
        .unwrap();
        assert_eq!(turned("a_hflip.90", 1), flipped_then_turned);
        // A quarter turn clockwise then a mirror is the transpose (EXIF 5).
        assert_eq!(corners(&turned("a_90.hflip", 1)), expected(5));
        // a_ignore drops the EXIF orientation; without it EXIF 6 turns the image.
        assert_eq!(corners(&turned("a_ignore", 6)), expected(1));
        assert_eq!(corners(&turned("", 6)), expected(6));
        assert_eq!(corners(&turned("a_ignore.90", 3)), expected(6));
        // auto_right / auto_left: a quarter turn only when a portrait box meets a
        // landscape image (3x2), or the other way round.
        assert_eq!(corners(&turned("a_auto_right,w_10,h_20", 1)), expected(6));
        assert_eq!(corners(&turned("a_auto_left,w_10,h_20", 1)), expected(8));
        assert_eq!(corners(&turned("a_auto_right,ar_0.5,w_10", 1)), expected(6));
        assert_eq!(corners(&turned("a_auto_right,w_20,h_10", 1)), expected(1));
        assert_eq!(corners(&turned("a_auto_right,w_10,h_10", 1)), expected(1));
        assert_eq!(corners(&turned("a_auto_right,w_10", 1)), expected(1));
        // Against the image as EXIF shows it: EXIF 6 makes the 3x2 stored image
        // portrait, so a portrait box needs no turn.
        assert_eq!(corners(&turned("a_auto_right,w_10,h_20", 6)), expected(6));
    }

    #[test]
    fn every_frame_is_oriented() {
        let first = sample(Channels::Rgb).first().clone();
        let image = Image::new(vec![first.clone(), first], 0).unwrap();
        let out = apply(image, 3, Rotation::None).unwrap();
        assert_eq!(out.frames().len(), 2);
        assert_eq!(out.frames()[0], out.frames()[1]);
        assert_eq!(out.frames()[1].data()[0..3], WHITE);
    }
}
