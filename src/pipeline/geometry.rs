//! Geometry: the pure math of the crop-mode table (README, "Transformations").
//!
//! Given the (oriented) source size and a plan, compute which region of the
//! source is used, what size it is resampled to, and the canvas it is placed
//! on. No pixels here, so every mode is covered by table tests.
//!
//! Rules beyond that table, written down here once:
//! - The requested sides are `w`/`h` times `dpr`; a relative side is a
//!   fraction of the source side, then times `dpr` too.
//! - With no size at all the output is the source size times `dpr` (for the
//!   never-enlarging modes `limit`, `lfill`, `lpad`, a `dpr` over 1 is not
//!   applied), shrunk if needed to fit `max_dimension` with the aspect ratio
//!   kept: the empty transformation re-encodes any decodable source within the
//!   limits instead of failing.
//! - Every other output over `max_dimension` is [`PipelineError::OutputTooLarge`].
//! - A region that is the whole source is anchored [`Anchor::Gravity`] with
//!   [`Gravity::Center`], whatever the plan says: nothing is cut, so no
//!   saliency search is wanted.
//! - `c_crop` without any size cuts nothing (or, with `x_`/`y_`, everything
//!   right of and below the corner); a corner outside the source is
//!   [`PipelineError::Unprocessable`], and so is a region at `x_`/`y_` whose
//!   requested side reaches past the source's edge: the user asked for
//!   pixels that do not exist, and a silently smaller output (down to 1x1)
//!   hides the mistake. A crop by gravity larger than the source keeps the
//!   whole source on that axis, as before.

use super::PipelineError;
use crate::options::{CropMode, Gravity, Offset, Plan, Size};

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
    /// `c_fill_pad`: as [`Anchor::Auto`], and the region may grow along the
    /// axis the fill cuts (up to the whole source) when the subject does not
    /// fit it; the resampler then shrinks the output on the other axis and the
    /// canvas pads it back to the box.
    AutoPad,
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

    /// The scale per axis (x, y) at which the region becomes the resized
    /// image, not clamped: above 1 when enlarging. A vector source is
    /// rendered at it (see [`Layout::decode_hint`] for raster sources).
    pub fn scale(&self) -> (f64, f64) {
        (
            f64::from(self.resize.width) / self.region.width,
            f64::from(self.resize.height) / self.region.height,
        )
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
    if source.width == 0 || source.height == 0 {
        return Err(PipelineError::Unprocessable(
            "the source image has no pixels".to_owned(),
        ));
    }
    let sw = f64::from(source.width);
    let sh = f64::from(source.height);
    let max = f64::from(max_dimension);
    let requested = |size: Option<Size>, side: f64| {
        size.map(|size| match size {
            Size::Pixels(px) => f64::from(px) * plan.dpr(),
            Size::Relative(fraction) => fraction * side * plan.dpr(),
        })
    };
    let tw = requested(plan.width(), sw);
    let th = requested(plan.height(), sh);
    let (tw, th) = with_aspect_ratio(plan, (sw, sh), tw, th);
    let gravity = plan.effective_gravity();
    let anchor = if gravity == Gravity::Auto {
        Anchor::Auto
    } else {
        Anchor::Gravity(gravity)
    };
    let whole = Region {
        width: sw,
        height: sh,
        anchor: Anchor::Gravity(Gravity::Center),
    };
    let never_enlarge = matches!(plan.crop(), CropMode::Limit | CropMode::Lfill | CropMode::Lpad);
    // `c_mfit` / `c_mpad`: only enlarging; a source that does not fit inside the box
    // (or is larger than the one side given) comes out as it is.
    let only_enlarge = matches!(plan.crop(), CropMode::Mfit | CropMode::Mpad);

    // Sizes stay in f64 until checked against the limit, so that nothing
    // overflows on the way; `side` rounds and keeps every side at least 1.
    let (region, resize, canvas): (Region, (f64, f64), Option<(f64, f64)>) = match (plan.crop(), tw, th) {
        (CropMode::Crop, _, _) => {
            let (region, resize) = crop(source, plan, tw, th, anchor)?;
            (region, resize, None)
        }
        (_, None, None) => {
            let scale = if never_enlarge {
                plan.dpr().min(1.0)
            } else if only_enlarge {
                plan.dpr().max(1.0)
            } else {
                plan.dpr()
            };
            let (w, h) = (sw * scale, sh * scale);
            let shrink = (max / side(w)).min(max / side(h)).min(1.0);
            (whole, (side(w * shrink), side(h * shrink)), None)
        }
        // One side given: the other follows the aspect ratio, and the
        // never-enlarging modes stop at the source size.
        (_, Some(w), None) => {
            let resize = if (never_enlarge && w > sw) || (only_enlarge && w < sw) {
                (sw, sh)
            } else {
                (side(w), side(sh * w / sw))
            };
            (whole, resize, None)
        }
        (_, None, Some(h)) => {
            let resize = if (never_enlarge && h > sh) || (only_enlarge && h < sh) {
                (sw, sh)
            } else {
                (side(sw * h / sh), side(h))
            };
            (whole, resize, None)
        }
        (CropMode::Scale, Some(w), Some(h)) => (whole, (side(w), side(h)), None),
        (CropMode::Fit | CropMode::Limit, Some(w), Some(h)) => {
            (whole, fit(sw, sh, w, h, never_enlarge), None)
        }
        (CropMode::Pad | CropMode::Lpad, Some(w), Some(h)) => {
            (whole, fit(sw, sh, w, h, never_enlarge), Some((side(w), side(h))))
        }
        (CropMode::Mfit, Some(w), Some(h)) => {
            if fits_inside(sw, sh, w, h) {
                (whole, fit(sw, sh, w, h, false), None)
            } else {
                (whole, (sw, sh), None)
            }
        }
        (CropMode::Mpad, Some(w), Some(h)) => {
            if fits_inside(sw, sh, w, h) {
                (whole, fit(sw, sh, w, h, false), Some((side(w), side(h))))
            } else {
                (whole, (sw, sh), None)
            }
        }
        (CropMode::FillPad, Some(w), Some(h)) => {
            let (bw, bh) = (side(w), side(h));
            let region = Region {
                anchor: Anchor::AutoPad,
                ..largest_with_aspect((sw, sh), (bw, bh), anchor)
            };
            (region, (bw, bh), Some((bw, bh)))
        }
        (mode @ (CropMode::Fill | CropMode::Lfill | CropMode::Thumb | CropMode::Auto), Some(w), Some(h)) => {
            let (bw, bh) = (side(w), side(h));
            let cover = (w / sw).max(h / sh);
            if mode == CropMode::Lfill && cover > 1.0 {
                // Too small to fill without enlarging: cut what is over the
                // box, keep what is under it, scale nothing.
                let (rw, rh) = (bw.min(sw), bh.min(sh));
                let region = Region {
                    width: rw,
                    height: rh,
                    anchor,
                };
                (region, (rw, rh), None)
            } else {
                let region = largest_with_aspect((sw, sh), (bw, bh), anchor);
                let region = match (mode, plan.zoom()) {
                    (CropMode::Thumb, Some(zoom)) => zoomed(region, zoom, (sw, sh)),
                    _ => region,
                };
                (region, (bw, bh), None)
            }
        }
    };

    let (out_w, out_h) = canvas.unwrap_or(resize);
    if resize.0 > max || resize.1 > max || out_w > max || out_h > max {
        // `as` saturates: a huge or infinite side is reported as u64::MAX.
        return Err(PipelineError::OutputTooLarge {
            width: out_w.max(resize.0) as u64,
            height: out_h.max(resize.1) as u64,
            max: max_dimension,
        });
    }
    let mut region = region;
    if region.width >= sw && region.height >= sh && !matches!(region.anchor, Anchor::Point { .. }) {
        region.anchor = Anchor::Gravity(Gravity::Center);
    }
    // Every side is now an integer in 1..=max_dimension, so the conversions
    // are exact.
    let dim = |(w, h): (f64, f64)| Dim {
        width: w as u32,
        height: h as u32,
    };
    let canvas_gravity = if gravity == Gravity::Auto {
        Gravity::Center
    } else {
        gravity
    };
    Ok(Layout {
        source,
        region,
        resize: dim(resize),
        canvas: canvas.map(|c| {
            let Dim { width, height } = dim(c);
            Canvas {
                width,
                height,
                gravity: canvas_gravity,
            }
        }),
    })
}

/// The largest sub-rectangle of a `sw x sh` source with the aspect ratio of
/// a `bw x bh` box: the whole source on one axis, cut on the other.
fn largest_with_aspect((sw, sh): (f64, f64), (bw, bh): (f64, f64), anchor: Anchor) -> Region {
    if bw * sh >= bh * sw {
        Region {
            width: sw,
            height: (sw * bh / bw).min(sh),
            anchor,
        }
    } else {
        Region {
            width: (sh * bw / bh).min(sw),
            height: sh,
            anchor,
        }
    }
}

/// A computed side: rounded to the nearest integer, never 0.
fn side(value: f64) -> f64 {
    // `max` also turns a NaN into 1.
    value.round().max(1.0)
}

/// Refuses a `c_crop` region at the corner `(x, y)` whose requested sides
/// (after `dpr_`; `None` = the rest of the source) reach past the source,
/// naming the largest sides that fit from that corner.
fn check_crop_fits(
    source: Dim,
    corner: (u32, u32),
    sides: (Option<f64>, Option<f64>),
) -> Result<(), PipelineError> {
    let (x, y) = corner;
    let room = (
        source.width - x.min(source.width),
        source.height - y.min(source.height),
    );
    let past = |side: Option<f64>, room: u32| side.is_some_and(|s| s > f64::from(room));
    if !past(sides.0, room.0) && !past(sides.1, room.1) {
        return Ok(());
    }
    let asked = |side: Option<f64>, key: &str| side.map_or(String::new(), |s| format!(",{key}_{s}"));
    Err(PipelineError::Unprocessable(format!(
        "the crop region x_{x},y_{y}{}{} reaches past the edge of the {}x{} image: from that corner at most w_{},h_{} fits",
        asked(sides.0, "w"),
        asked(sides.1, "h"),
        source.width,
        source.height,
        room.0,
        room.1
    )))
}

/// `region` zoomed by `zoom` (over 1: a smaller part of the source), its aspect ratio
/// kept, no larger than the source.
fn zoomed(region: Region, zoom: f64, (sw, sh): (f64, f64)) -> Region {
    let (w, h) = (region.width / zoom, region.height / zoom);
    let shrink = (sw / w).min(sh / h).min(1.0);
    Region {
        width: (w * shrink).max(1.0),
        height: (h * shrink).max(1.0),
        anchor: region.anchor,
    }
}

/// Whether the source fits inside `w`×`h` (the only case `c_mfit` / `c_mpad` act on).
fn fits_inside(sw: f64, sh: f64, w: f64, h: f64) -> bool {
    sw <= w && sh <= h
}

/// `ar_`: the side `w_`/`h_` leaves open, from the ratio. With neither, the box is the
/// largest one of that ratio inside the source, or for the pad modes the smallest one
/// around it, and the crop mode applies to that box (so `c_fill`/`c_crop` cut the
/// source to the ratio, `c_pad` pads it to the ratio).
fn with_aspect_ratio(
    plan: &Plan,
    (sw, sh): (f64, f64),
    tw: Option<f64>,
    th: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    let Some(ratio) = plan.aspect_ratio() else {
        return (tw, th);
    };
    match (tw, th) {
        (Some(w), None) => (Some(w), Some(w / ratio)),
        (None, Some(h)) => (Some(h * ratio), Some(h)),
        (None, None) => {
            let around = matches!(plan.crop(), CropMode::Pad | CropMode::Lpad | CropMode::Mpad);
            let wider = ratio >= sw / sh;
            let (w, h) = if wider != around {
                // The source's width decides.
                (sw, sw / ratio)
            } else {
                (sh * ratio, sh)
            };
            (Some(w * plan.dpr()), Some(h * plan.dpr()))
        }
        both => both,
    }
}

/// The largest size inside `w`×`h` with the source's aspect ratio; with
/// `never_enlarge`, no larger than the source.
fn fit(sw: f64, sh: f64, w: f64, h: f64, never_enlarge: bool) -> (f64, f64) {
    let width_bound = w * sh <= h * sw;
    let scale = if width_bound { w / sw } else { h / sh };
    if never_enlarge && scale >= 1.0 {
        (sw, sh)
    } else if width_bound {
        // The bounding side is taken as requested, not recomputed through the
        // scale, so that float error cannot move its rounding.
        (side(w), side(sh * w / sw))
    } else {
        (side(sw * h / sh), side(h))
    }
}

/// `c_crop`: a region of the requested size (a missing side is the source's),
/// clamped to the source, at `x_`/`y_` or by gravity; no scaling.
fn crop(
    source: Dim,
    plan: &Plan,
    tw: Option<f64>,
    th: Option<f64>,
    anchor: Anchor,
) -> Result<(Region, (f64, f64)), PipelineError> {
    let sw = f64::from(source.width);
    let sh = f64::from(source.height);
    let cw = tw.map_or(sw, side);
    let ch = th.map_or(sh, side);
    let corner = |offset: Option<Offset>, side: u32| match offset {
        None => 0,
        Some(Offset::Pixels(px)) => px,
        // A fraction in [0, 1) of the side, rounded: always inside the image.
        Some(Offset::Relative(r)) => ((r * f64::from(side)).round() as u32).min(side.saturating_sub(1)),
    };
    let region = if plan.x().is_some() || plan.y().is_some() {
        let x = corner(plan.x(), source.width);
        let y = corner(plan.y(), source.height);
        if x >= source.width || y >= source.height {
            return Err(PipelineError::Unprocessable(format!(
                "the crop corner x_{x},y_{y} is outside the {}x{} image",
                source.width, source.height
            )));
        }
        check_crop_fits(source, (x, y), (tw.map(side), th.map(side)))?;
        Region {
            width: cw.min(sw - f64::from(x)),
            height: ch.min(sh - f64::from(y)),
            anchor: Anchor::Point { x, y },
        }
    } else {
        Region {
            width: cw.min(sw),
            height: ch.min(sh),
            anchor,
        }
    };
    if let Some(zoom) = plan.zoom() {
        // The output keeps the region's size; the part of the source shown is
        // `zoom` times smaller (larger when zooming out, up to the whole source).
        let resize = (region.width, region.height);
        let zoomed = zoomed(region, zoom, (sw, sh));
        let zoomed = match region.anchor {
            // Zoomed about the middle of the region the corner names, kept inside the source.
            Anchor::Point { x, y } => {
                let cx = f64::from(x) + region.width / 2.0;
                let cy = f64::from(y) + region.height / 2.0;
                let left = (cx - zoomed.width / 2.0).clamp(0.0, sw - zoomed.width).floor();
                let top = (cy - zoomed.height / 2.0).clamp(0.0, sh - zoomed.height).floor();
                Region {
                    anchor: Anchor::Point {
                        x: left as u32,
                        y: top as u32,
                    },
                    width: zoomed.width.min(sw - left),
                    height: zoomed.height.min(sh - top),
                }
            }
            _ => zoomed,
        };
        return Ok((zoomed, resize));
    }
    Ok((region, (region.width, region.height)))
}

/// The top-left corner of a `inner` box placed in an `outer` box by gravity.
///
/// `Auto` is treated as `Center`. An inner box larger than the outer one gets
/// a negative offset on that axis (centred boxes overlap evenly).
pub fn place(outer: (f64, f64), inner: (f64, f64), gravity: Gravity) -> (f64, f64) {
    let (fx, fy) = match gravity {
        Gravity::Center | Gravity::Auto => (0.5, 0.5),
        Gravity::North => (0.5, 0.0),
        Gravity::South => (0.5, 1.0),
        Gravity::East => (1.0, 0.5),
        Gravity::West => (0.0, 0.5),
        Gravity::NorthEast => (1.0, 0.0),
        Gravity::NorthWest => (0.0, 0.0),
        Gravity::SouthEast => (1.0, 1.0),
        Gravity::SouthWest => (0.0, 1.0),
    };
    ((outer.0 - inner.0) * fx, (outer.1 - inner.1) * fy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;
    use proptest::prelude::*;

    const MAX: u32 = 8192;

    fn dim(width: u32, height: u32) -> Dim {
        Dim { width, height }
    }

    fn lay(source: (u32, u32), text: &str) -> Result<Layout, PipelineError> {
        let plan = Plan::parse(text, &GrammarLimits::default()).unwrap_or_else(|e| panic!("{text}: {e}"));
        layout(dim(source.0, source.1), &plan, MAX)
    }

    const C: Anchor = Anchor::Gravity(Gravity::Center);

    /// One expected layout: source, transformation, region (w, h, anchor),
    /// resize, canvas.
    type Case = (
        (u32, u32),
        &'static str,
        (f64, f64, Anchor),
        (u32, u32),
        Option<(u32, u32, Gravity)>,
    );

    fn check(cases: &[Case]) {
        for &(source, text, (rw, rh, anchor), (w, h), canvas) in cases {
            let layout = lay(source, text).unwrap_or_else(|e| panic!("{source:?} {text}: {e}"));
            let context = format!("{source:?} {text}: {layout:?}");
            assert_eq!(layout.source, dim(source.0, source.1), "{context}");
            assert!((layout.region.width - rw).abs() < 1e-9, "region width, {context}");
            assert!(
                (layout.region.height - rh).abs() < 1e-9,
                "region height, {context}"
            );
            assert_eq!(layout.region.anchor, anchor, "anchor, {context}");
            assert_eq!(layout.resize, dim(w, h), "resize, {context}");
            let expected_canvas = canvas.map(|(width, height, gravity)| Canvas {
                width,
                height,
                gravity,
            });
            assert_eq!(layout.canvas, expected_canvas, "canvas, {context}");
        }
    }

    #[test]
    fn scale() {
        check(&[
            // The old service's behaviour: exactly w×h.
            ((1000, 500), "w_150,h_500", (1000.0, 500.0, C), (150, 500), None),
            (
                (1000, 500),
                "w_150,h_500,c_scale,g_north",
                (1000.0, 500.0, C),
                (150, 500),
                None,
            ),
            ((100, 50), "w_300,h_300", (100.0, 50.0, C), (300, 300), None),
            // One side: the other follows the aspect ratio, shrinking or enlarging.
            ((1000, 500), "w_200", (1000.0, 500.0, C), (200, 100), None),
            ((1000, 500), "h_100", (1000.0, 500.0, C), (200, 100), None),
            ((100, 50), "w_300", (100.0, 50.0, C), (300, 150), None),
            ((100, 50), "h_300", (100.0, 50.0, C), (600, 300), None),
            // No size: the source size, times dpr.
            ((1000, 500), "", (1000.0, 500.0, C), (1000, 500), None),
            ((1000, 500), "dpr_2", (1000.0, 500.0, C), (2000, 1000), None),
            ((1000, 500), "dpr_0.5", (1000.0, 500.0, C), (500, 250), None),
            // dpr multiplies w and h.
            ((1000, 500), "w_200,dpr_2", (1000.0, 500.0, C), (400, 200), None),
            (
                (1000, 500),
                "w_150,h_50,dpr_1.5",
                (1000.0, 500.0, C),
                (225, 75),
                None,
            ),
            // Relative sizes against the source, then dpr.
            ((1000, 500), "w_0.5", (1000.0, 500.0, C), (500, 250), None),
            ((1000, 500), "w_1.0", (1000.0, 500.0, C), (1000, 500), None),
            ((1000, 500), "w_0.5,h_0.1", (1000.0, 500.0, C), (500, 50), None),
            ((1000, 500), "w_0.5,dpr_2", (1000.0, 500.0, C), (1000, 500), None),
            ((1000, 500), "h_0.5,w_10", (1000.0, 500.0, C), (10, 250), None),
        ]);
    }

    #[test]
    fn rounding() {
        check(&[
            // To the nearest integer.
            ((1000, 333), "w_100", (1000.0, 333.0, C), (100, 33), None),
            ((1000, 333), "w_101", (1000.0, 333.0, C), (101, 34), None),
            // Halves round up.
            ((4, 3), "w_2", (4.0, 3.0, C), (2, 2), None),
            ((101, 101), "w_0.5", (101.0, 101.0, C), (51, 51), None),
            ((100, 100), "w_3,dpr_0.5", (100.0, 100.0, C), (2, 2), None),
            // Never 0.
            ((1000, 1), "w_10", (1000.0, 1.0, C), (10, 1), None),
            ((100, 100), "w_1,dpr_0.1", (100.0, 100.0, C), (1, 1), None),
            ((10000, 10), "w_0.001", (10000.0, 10.0, C), (10, 1), None),
            ((1000, 500), "w_0.0001,h_0.0001", (1000.0, 500.0, C), (1, 1), None),
            ((3, 3), "dpr_0.1", (3.0, 3.0, C), (1, 1), None),
        ]);
    }

    #[test]
    fn fit() {
        check(&[
            (
                (1000, 500),
                "w_200,h_200,c_fit",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_400,h_100,c_fit",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_100,c_fit",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            ((100, 50), "w_400,h_400,c_fit", (100.0, 50.0, C), (400, 200), None),
            (
                (1000, 333),
                "w_100,h_100,c_fit",
                (1000.0, 333.0, C),
                (100, 33),
                None,
            ),
            (
                (333, 1000),
                "w_100,h_100,c_fit",
                (333.0, 1000.0, C),
                (33, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_fit,dpr_2",
                (1000.0, 500.0, C),
                (400, 200),
                None,
            ),
            // One side: as scale.
            ((1000, 500), "w_200,c_fit", (1000.0, 500.0, C), (200, 100), None),
            ((100, 50), "h_100,c_fit", (100.0, 50.0, C), (200, 100), None),
            ((1000, 500), "c_fit", (1000.0, 500.0, C), (1000, 500), None),
        ]);
    }

    #[test]
    fn limit() {
        check(&[
            (
                (1000, 500),
                "w_200,h_200,c_limit",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            (
                (100, 50),
                "w_400,h_400,c_limit",
                (100.0, 50.0, C),
                (100, 50),
                None,
            ),
            ((100, 50), "w_80,h_400,c_limit", (100.0, 50.0, C), (80, 40), None),
            ((100, 50), "w_100,h_50,c_limit", (100.0, 50.0, C), (100, 50), None),
            (
                (100, 50),
                "w_60,h_60,c_limit,dpr_2",
                (100.0, 50.0, C),
                (100, 50),
                None,
            ),
            // One side: as scale, never enlarging.
            ((1000, 500), "w_400,c_limit", (1000.0, 500.0, C), (400, 200), None),
            ((100, 50), "w_400,c_limit", (100.0, 50.0, C), (100, 50), None),
            ((100, 50), "h_400,c_limit", (100.0, 50.0, C), (100, 50), None),
            (
                (100, 50),
                "w_1.0,c_limit,dpr_2",
                (100.0, 50.0, C),
                (100, 50),
                None,
            ),
            // No size: a dpr over 1 would enlarge.
            ((100, 50), "c_limit,dpr_2", (100.0, 50.0, C), (100, 50), None),
            ((100, 50), "c_limit,dpr_0.5", (100.0, 50.0, C), (50, 25), None),
        ]);
    }

    #[test]
    fn fill() {
        let north = Anchor::Gravity(Gravity::North);
        let south_east = Anchor::Gravity(Gravity::SouthEast);
        check(&[
            (
                (1000, 500),
                "w_200,h_200,c_fill",
                (500.0, 500.0, C),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_400,h_100,c_fill",
                (1000.0, 250.0, C),
                (400, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_fill,g_north",
                (500.0, 500.0, north),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_fill,g_south_east",
                (500.0, 500.0, south_east),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_fill,g_auto",
                (500.0, 500.0, Anchor::Auto),
                (200, 200),
                None,
            ),
            (
                (500, 1000),
                "w_300,h_100,c_fill",
                (500.0, 500.0 / 3.0, C),
                (300, 100),
                None,
            ),
            // Enlarging: the region is cut, then scaled up.
            ((100, 50), "w_400,h_400,c_fill", (50.0, 50.0, C), (400, 400), None),
            (
                (100, 50),
                "w_400,h_100,c_fill",
                (100.0, 25.0, C),
                (400, 100),
                None,
            ),
            // Same aspect ratio: nothing is cut, so the gravity does not matter.
            (
                (1000, 500),
                "w_200,h_100,c_fill,g_north",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_100,c_fill,g_auto",
                (1000.0, 500.0, C),
                (200, 100),
                None,
            ),
            // dpr and relative sizes.
            (
                (1000, 500),
                "w_100,h_100,c_fill,dpr_2",
                (500.0, 500.0, C),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_0.5,h_1.0,c_fill",
                (500.0, 500.0, C),
                (500, 500),
                None,
            ),
            // One side: as scale.
            ((1000, 500), "w_200,c_fill", (1000.0, 500.0, C), (200, 100), None),
            ((100, 50), "h_100,c_fill", (100.0, 50.0, C), (200, 100), None),
        ]);
    }

    #[test]
    fn lfill() {
        let east = Anchor::Gravity(Gravity::East);
        check(&[
            // Shrinking: as fill.
            (
                (1000, 500),
                "w_200,h_200,c_lfill",
                (500.0, 500.0, C),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_400,h_100,c_lfill,g_east",
                (1000.0, 250.0, east),
                (400, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_lfill,g_east",
                (500.0, 500.0, east),
                (200, 200),
                None,
            ),
            // A source smaller than the box on both sides stays as it is.
            (
                (100, 50),
                "w_400,h_400,c_lfill",
                (100.0, 50.0, C),
                (100, 50),
                None,
            ),
            // Smaller on one side: that side stays, the other is cut to the box.
            (
                (100, 400),
                "w_200,h_200,c_lfill",
                (100.0, 200.0, C),
                (100, 200),
                None,
            ),
            (
                (300, 150),
                "w_200,h_200,c_lfill,g_east",
                (200.0, 150.0, east),
                (200, 150),
                None,
            ),
            (
                (300, 150),
                "w_200,h_200,c_lfill,g_auto",
                (200.0, 150.0, Anchor::Auto),
                (200, 150),
                None,
            ),
            // Exactly the box: nothing to do.
            (
                (200, 200),
                "w_200,h_200,c_lfill",
                (200.0, 200.0, C),
                (200, 200),
                None,
            ),
            // One side: as limit.
            ((1000, 500), "w_400,c_lfill", (1000.0, 500.0, C), (400, 200), None),
            ((100, 50), "w_400,c_lfill", (100.0, 50.0, C), (100, 50), None),
            ((100, 50), "h_40,c_lfill", (100.0, 50.0, C), (80, 40), None),
            ((100, 50), "c_lfill,dpr_3", (100.0, 50.0, C), (100, 50), None),
        ]);
    }

    #[test]
    fn pad() {
        use Gravity::*;
        check(&[
            (
                (1000, 500),
                "w_200,h_200,c_pad",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 200, Center)),
            ),
            (
                (1000, 500),
                "w_400,h_100,c_pad",
                (1000.0, 500.0, C),
                (200, 100),
                Some((400, 100, Center)),
            ),
            (
                (1000, 500),
                "w_200,h_200,c_pad,g_south",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 200, South)),
            ),
            (
                (1000, 500),
                "w_200,h_200,c_pad,g_auto",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 200, Center)),
            ),
            // Enlarging.
            (
                (100, 50),
                "w_400,h_400,c_pad",
                (100.0, 50.0, C),
                (400, 200),
                Some((400, 400, Center)),
            ),
            // dpr scales the box and the image.
            (
                (1000, 500),
                "w_100,h_100,c_pad,dpr_2",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 200, Center)),
            ),
            // Relative boxes.
            (
                (1000, 500),
                "w_0.5,h_1.0,c_pad",
                (1000.0, 500.0, C),
                (500, 250),
                Some((500, 500, Center)),
            ),
            // Same aspect ratio: the canvas is the image.
            (
                (1000, 500),
                "w_200,h_100,c_pad",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 100, Center)),
            ),
            // One side: as scale, no canvas.
            ((1000, 500), "w_200,c_pad", (1000.0, 500.0, C), (200, 100), None),
            ((100, 50), "w_200,c_pad", (100.0, 50.0, C), (200, 100), None),
        ]);
    }

    #[test]
    fn lpad() {
        use Gravity::*;
        check(&[
            (
                (1000, 500),
                "w_200,h_200,c_lpad",
                (1000.0, 500.0, C),
                (200, 100),
                Some((200, 200, Center)),
            ),
            // A small source is not enlarged, but still padded to exactly w×h.
            (
                (100, 50),
                "w_400,h_400,c_lpad",
                (100.0, 50.0, C),
                (100, 50),
                Some((400, 400, Center)),
            ),
            (
                (100, 50),
                "w_400,h_400,c_lpad,g_north_west",
                (100.0, 50.0, C),
                (100, 50),
                Some((400, 400, NorthWest)),
            ),
            (
                (100, 50),
                "w_80,h_400,c_lpad",
                (100.0, 50.0, C),
                (80, 40),
                Some((80, 400, Center)),
            ),
            // One side: as limit.
            ((100, 50), "w_400,c_lpad", (100.0, 50.0, C), (100, 50), None),
            ((1000, 500), "w_400,c_lpad", (1000.0, 500.0, C), (400, 200), None),
        ]);
    }

    #[test]
    fn crop() {
        let point = |x, y| Anchor::Point { x, y };
        let nw = Anchor::Gravity(Gravity::NorthWest);
        check(&[
            (
                (1000, 500),
                "w_200,h_100,c_crop",
                (200.0, 100.0, C),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_100,c_crop,g_north_west",
                (200.0, 100.0, nw),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_100,c_crop,g_auto",
                (200.0, 100.0, Anchor::Auto),
                (200, 100),
                None,
            ),
            // One side: the other stays at the source's size.
            ((1000, 500), "w_200,c_crop", (200.0, 500.0, C), (200, 500), None),
            ((1000, 500), "h_100,c_crop", (1000.0, 100.0, C), (1000, 100), None),
            // No size: nothing is cut.
            ((1000, 500), "c_crop", (1000.0, 500.0, C), (1000, 500), None),
            // Clamped to the source.
            (
                (1000, 500),
                "w_2000,h_100,c_crop",
                (1000.0, 100.0, C),
                (1000, 100),
                None,
            ),
            (
                (1000, 500),
                "w_2000,h_2000,c_crop,g_east",
                (1000.0, 500.0, C),
                (1000, 500),
                None,
            ),
            // x_/y_: the corner, gravity ignored, clamped at the far edges.
            (
                (1000, 500),
                "w_200,h_100,c_crop,x_10,y_20,g_south",
                (200.0, 100.0, point(10, 20)),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_100,c_crop,x_10",
                (200.0, 100.0, point(10, 0)),
                (200, 100),
                None,
            ),
            (
                (1000, 500),
                "w_50,c_crop,y_100",
                (50.0, 400.0, point(0, 100)),
                (50, 400),
                None,
            ),
            (
                (1000, 500),
                "w_100,h_50,c_crop,x_900,y_450",
                (100.0, 50.0, point(900, 450)),
                (100, 50),
                None,
            ),
            (
                (1000, 500),
                "c_crop,x_999,y_499",
                (1.0, 1.0, point(999, 499)),
                (1, 1),
                None,
            ),
            (
                (1000, 500),
                "c_crop,x_0,y_0",
                (1000.0, 500.0, point(0, 0)),
                (1000, 500),
                None,
            ),
            // dpr and relative sizes.
            (
                (1000, 500),
                "w_100,h_100,c_crop,dpr_2",
                (200.0, 200.0, C),
                (200, 200),
                None,
            ),
            ((1000, 500), "w_0.5,c_crop", (500.0, 500.0, C), (500, 500), None),
            (
                (1000, 500),
                "w_0.5,h_0.5,c_crop,g_south_east",
                (500.0, 250.0, Anchor::Gravity(Gravity::SouthEast)),
                (500, 250),
                None,
            ),
        ]);
    }

    #[test]
    fn crop_corner_outside_the_source_is_unprocessable() {
        for text in ["w_10,c_crop,x_1000", "w_10,c_crop,y_500", "c_crop,x_5000,y_5000"] {
            match lay((1000, 500), text) {
                Err(PipelineError::Unprocessable(message)) => {
                    assert!(message.contains("outside"), "{message}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn crop_region_past_the_edge_is_unprocessable() {
        for (text, fits) in [
            ("w_200,h_100,c_crop,x_900,y_450", "w_100,h_50"),
            ("w_200,h_100,c_crop,x_999,y_499", "w_1,h_1"),
            ("w_101,c_crop,x_900", "w_100,h_500"),
            ("h_60,c_crop,y_450", "w_1000,h_50"),
            ("w_60,h_30,c_crop,x_900,y_450,dpr_2", "w_100,h_50"),
        ] {
            match lay((1000, 500), text) {
                Err(PipelineError::Unprocessable(message)) => {
                    assert!(message.contains("reaches past the edge"), "{message}");
                    assert!(message.contains(fits), "{text}: {message}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // Exactly to the edge fits.
        assert!(lay((1000, 500), "w_100,h_50,c_crop,x_900,y_450").is_ok());
    }

    #[test]
    fn thumb() {
        let west = Anchor::Gravity(Gravity::West);
        check(&[
            // As fill, with gravity auto unless g_ says otherwise.
            (
                (1000, 500),
                "w_200,h_200,c_thumb",
                (500.0, 500.0, Anchor::Auto),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_thumb,g_west",
                (500.0, 500.0, west),
                (200, 200),
                None,
            ),
            (
                (1000, 500),
                "w_200,h_200,c_thumb,g_center",
                (500.0, 500.0, C),
                (200, 200),
                None,
            ),
            (
                (100, 50),
                "w_400,h_400,c_thumb",
                (50.0, 50.0, Anchor::Auto),
                (400, 400),
                None,
            ),
            // One side: as scale.
            ((1000, 500), "w_200,c_thumb", (1000.0, 500.0, C), (200, 100), None),
        ]);
    }

    #[test]
    fn output_over_max_dimension_is_refused() {
        let too_large = |source: (u32, u32), text: &str| match lay(source, text) {
            Err(PipelineError::OutputTooLarge { width, height, max }) => {
                assert_eq!(max, MAX);
                (width, height)
            }
            other => panic!("{source:?} {text}: {other:?}"),
        };
        // One-sided sizes.
        assert_eq!(too_large((100, 10000), "w_100"), (100, 10000));
        assert_eq!(too_large((100, 10000), "w_100,c_fit"), (100, 10000));
        assert_eq!(too_large((100, 10000), "w_100,c_pad"), (100, 10000));
        assert_eq!(too_large((1, 8193), "w_1"), (1, 8193));
        // Relative sizes.
        assert_eq!(too_large((10000, 5000), "w_1.0"), (10000, 5000));
        assert_eq!(too_large((5000, 5000), "w_1.0,dpr_2"), (10000, 10000));
        // Pad boxes.
        assert_eq!(too_large((5000, 5000), "w_1.0,h_1.0,dpr_2,c_pad"), (10000, 10000));
        assert_eq!(too_large((5000, 2000), "w_1.0,h_1.0,dpr_2,c_lpad"), (10000, 4000));
        // A crop cannot shrink.
        assert_eq!(too_large((10000, 100), "c_crop"), (10000, 100));
        assert_eq!(too_large((10000, 100), "h_50,c_crop"), (10000, 50));
        // Right at the limit is fine.
        assert_eq!(lay((8192, 100), "w_1.0").map(|l| l.resize), Ok(dim(8192, 100)));
        assert_eq!(lay((100, 8192), "w_100").map(|l| l.resize), Ok(dim(100, 8192)));
        assert_eq!(lay((100, 8192), "c_crop").map(|l| l.resize), Ok(dim(100, 8192)));
        // The limit passed in is the one used.
        let plan = Plan::parse("w_0.5", &GrammarLimits::default()).unwrap();
        assert!(layout(dim(400, 200), &plan, 200).is_ok());
        assert!(matches!(
            layout(dim(402, 200), &plan, 200),
            Err(PipelineError::OutputTooLarge {
                width: 201,
                height: 100,
                max: 200
            })
        ));
    }

    #[test]
    fn no_size_shrinks_into_max_dimension() {
        check(&[
            ((10000, 5000), "", (10000.0, 5000.0, C), (8192, 4096), None),
            ((5000, 10000), "f_png", (5000.0, 10000.0, C), (4096, 8192), None),
            ((5000, 2500), "dpr_2", (5000.0, 2500.0, C), (8192, 4096), None),
            ((8192, 8192), "", (8192.0, 8192.0, C), (8192, 8192), None),
            ((100000, 1), "", (100000.0, 1.0, C), (8192, 1), None),
        ]);
    }

    #[test]
    fn empty_source_is_unprocessable() {
        for source in [(0, 10), (10, 0), (0, 0)] {
            assert!(
                matches!(lay(source, "w_10"), Err(PipelineError::Unprocessable(_))),
                "{source:?}"
            );
        }
    }

    #[test]
    fn place_by_gravity() {
        use Gravity::*;
        let outer = (100.0, 50.0);
        let inner = (20.0, 10.0);
        let cases = [
            (Center, (40.0, 20.0)),
            (Auto, (40.0, 20.0)),
            (North, (40.0, 0.0)),
            (South, (40.0, 40.0)),
            (East, (80.0, 20.0)),
            (West, (0.0, 20.0)),
            (NorthEast, (80.0, 0.0)),
            (NorthWest, (0.0, 0.0)),
            (SouthEast, (80.0, 40.0)),
            (SouthWest, (0.0, 40.0)),
        ];
        for (gravity, corner) in cases {
            assert_eq!(place(outer, inner, gravity), corner, "{gravity:?}");
        }
        // Odd differences split evenly; equal boxes sit at the origin.
        assert_eq!(place((5.0, 5.0), (2.0, 2.0), Center), (1.5, 1.5));
        assert_eq!(place((7.0, 3.0), (7.0, 3.0), SouthEast), (0.0, 0.0));
        // A fractional region inside a source.
        assert_eq!(place((1000.0, 500.0), (500.0, 500.0), East), (500.0, 0.0));
    }

    #[test]
    fn decode_hint() {
        let hint = |source, text| lay(source, text).unwrap().decode_hint();
        assert_eq!(hint((1000, 500), "w_200"), 0.2);
        assert_eq!(hint((1000, 500), "w_200,h_200,c_fill"), 0.4);
        assert_eq!(hint((1000, 500), "w_200,h_400"), 0.8);
        assert_eq!(hint((1000, 500), "w_200,h_200,c_crop"), 1.0);
        assert_eq!(hint((100, 50), "w_400"), 1.0);
        assert_eq!(hint((1000, 500), ""), 1.0);
        assert_eq!(hint((1000, 500), "w_200,h_200,c_pad"), 0.2);
    }

    fn any_plan_text() -> impl Strategy<Value = String> {
        let size = |key: &'static str| {
            prop_oneof![
                Just(String::new()),
                (1u32..=3000).prop_map(move |px| format!("{key}_{px},")),
                (1u32..=1000).prop_map(move |r| format!("{key}_{},", f64::from(r) / 1000.0)),
            ]
        };
        let mode = prop::sample::select(vec![
            "",
            "c_fit,",
            "c_limit,",
            "c_fill,",
            "c_lfill,",
            "c_pad,",
            "c_lpad,",
            "c_crop,",
            "c_thumb,",
            "c_crop,x_5,",
            "c_crop,y_700,",
            "c_crop,x_2999,y_1,",
        ]);
        let gravity = prop::sample::select(vec!["", "g_auto,", "g_north,", "g_south_east,"]);
        let dpr = prop::sample::select(vec!["", "dpr_0.1,", "dpr_1.5,", "dpr_2,", "dpr_5,"]);
        (size("w"), size("h"), mode, gravity, dpr)
            .prop_map(|(w, h, m, g, d)| format!("{w}{h}{m}{g}{d}").trim_end_matches(',').to_owned())
    }

    proptest! {
        #[test]
        fn layouts_are_within_bounds(text in any_plan_text(), sw in 1u32..3000, sh in 1u32..3000) {
            let Ok(plan) = Plan::parse(&text, &GrammarLimits::default()) else {
                // Pixel sizes times dpr over the limit: refused by the grammar.
                return Ok(());
            };
            match layout(dim(sw, sh), &plan, MAX) {
                Ok(layout) => {
                    let out = layout.output();
                    for side in [layout.resize.width, layout.resize.height, out.width, out.height] {
                        prop_assert!((1..=MAX).contains(&side), "{}: {:?}", text, layout);
                    }
                    prop_assert!(layout.region.width > 0.0 && layout.region.width <= f64::from(sw));
                    prop_assert!(layout.region.height > 0.0 && layout.region.height <= f64::from(sh));
                    if let Anchor::Point { x, y } = layout.region.anchor {
                        prop_assert!(f64::from(x) + layout.region.width <= f64::from(sw));
                        prop_assert!(f64::from(y) + layout.region.height <= f64::from(sh));
                    }
                    if let Some(canvas) = layout.canvas {
                        prop_assert!(layout.resize.width <= canvas.width);
                        prop_assert!(layout.resize.height <= canvas.height);
                    }
                    let hint = layout.decode_hint();
                    prop_assert!(hint > 0.0 && hint <= 1.0);
                }
                Err(PipelineError::OutputTooLarge { width, height, .. }) => {
                    prop_assert!(width > u64::from(MAX) || height > u64::from(MAX));
                }
                Err(PipelineError::Unprocessable(_)) => prop_assert!(plan.x().is_some() || plan.y().is_some()),
                Err(other) => prop_assert!(false, "{}: {:?}", text, other),
            }
        }
    }
}

/// Cloudinary's geometry (issue 14): `ar_`, `c_mfit`, `c_mpad`, `c_auto`, `z_`,
/// relative `x_`/`y_`.
#[cfg(test)]
mod cloudinary_tests {
    use super::*;
    use crate::options::GrammarLimits;

    fn lay(source: (u32, u32), text: &str) -> Layout {
        let plan = Plan::parse(text, &GrammarLimits::default()).unwrap_or_else(|e| panic!("{text}: {e}"));
        layout(
            Dim {
                width: source.0,
                height: source.1,
            },
            &plan,
            8192,
        )
        .unwrap_or_else(|e| panic!("{source:?} {text}: {e}"))
    }

    fn out(source: (u32, u32), text: &str) -> (u32, u32) {
        let o = lay(source, text).output();
        (o.width, o.height)
    }

    fn region(source: (u32, u32), text: &str) -> (f64, f64, Anchor) {
        let r = lay(source, text).region;
        (r.width, r.height, r.anchor)
    }

    #[test]
    fn aspect_ratio_with_one_side() {
        // The other side from the ratio, then the crop mode on both.
        assert_eq!(out((1000, 500), "w_160,ar_16:9"), (160, 90));
        assert_eq!(out((1000, 500), "h_90,ar_16:9,c_fill"), (160, 90));
        assert_eq!(region((1000, 500), "w_100,ar_1:1,c_fill").0, 500.0);
        assert_eq!(out((1000, 500), "w_100,ar_1,c_pad"), (100, 100));
        assert_eq!(
            lay((1000, 500), "w_100,ar_1,c_pad").resize,
            Dim {
                width: 100,
                height: 50
            }
        );
        assert_eq!(out((1000, 500), "w_200,ar_1,c_fit"), (200, 100));
        assert_eq!(out((1000, 500), "w_100,ar_0.5,dpr_2"), (200, 400));
    }

    #[test]
    fn aspect_ratio_alone_cuts_or_pads_the_source() {
        // Fill and crop modes: the largest box of the ratio inside the source.
        assert_eq!(out((1000, 500), "ar_1:1,c_fill"), (500, 500));
        assert_eq!(
            region((1000, 500), "ar_1:1,c_fill"),
            (500.0, 500.0, Anchor::Gravity(Gravity::Center))
        );
        assert_eq!(out((1000, 500), "ar_1:1,c_crop,g_west"), (500, 500));
        assert_eq!(
            region((1000, 500), "ar_1:1,c_crop,g_west").2,
            Anchor::Gravity(Gravity::West)
        );
        assert_eq!(out((1000, 500), "ar_4:1,c_fill"), (1000, 250));
        assert_eq!(out((500, 1000), "ar_16:9,c_thumb"), (500, 281));
        // Pad modes: the smallest box of the ratio around it.
        assert_eq!(out((1000, 500), "ar_1:1,c_pad"), (1000, 1000));
        assert_eq!(out((1000, 500), "ar_4:1,c_lpad"), (2000, 500));
        assert_eq!(out((1000, 500), "ar_1:1,c_mpad"), (1000, 1000));
    }

    #[test]
    fn mfit_and_mpad_only_enlarge() {
        // Smaller than the box: enlarged as fit / pad.
        assert_eq!(out((100, 50), "w_400,h_400,c_mfit"), (400, 200));
        assert_eq!(out((100, 50), "w_400,h_400,c_mpad"), (400, 400));
        assert_eq!(
            lay((100, 50), "w_400,h_400,c_mpad").resize,
            Dim {
                width: 400,
                height: 200
            }
        );
        // Larger than the box on either side: kept as it is, no padding.
        assert_eq!(out((1000, 500), "w_400,h_400,c_mfit"), (1000, 500));
        assert_eq!(out((1000, 500), "w_400,h_400,c_mpad"), (1000, 500));
        assert_eq!(lay((1000, 500), "w_400,h_400,c_mpad").canvas, None);
        assert_eq!(out((100, 500), "w_400,h_400,c_mfit"), (100, 500));
        // One side: enlarged to it, or kept.
        assert_eq!(out((100, 50), "w_200,c_mfit"), (200, 100));
        assert_eq!(out((1000, 500), "w_200,c_mfit"), (1000, 500));
        assert_eq!(out((1000, 500), "h_1000,c_mpad"), (2000, 1000));
        // Exactly the box: unchanged either way.
        assert_eq!(out((400, 400), "w_400,h_400,c_mfit"), (400, 400));
    }

    #[test]
    fn auto_is_fill_with_auto_gravity() {
        assert_eq!(
            region((1000, 500), "w_200,h_200,c_auto"),
            (500.0, 500.0, Anchor::Auto)
        );
        assert_eq!(out((1000, 500), "w_200,h_200,c_auto"), (200, 200));
        assert_eq!(
            region((1000, 500), "w_200,h_200,c_auto,g_east"),
            (500.0, 500.0, Anchor::Gravity(Gravity::East))
        );
    }

    #[test]
    fn zoom_shrinks_or_grows_the_region_and_keeps_the_output() {
        // c_thumb: the fill region divided by the zoom, output unchanged.
        assert_eq!(
            region((1000, 500), "w_200,h_200,c_thumb,g_center,z_2"),
            (250.0, 250.0, Anchor::Gravity(Gravity::Center))
        );
        assert_eq!(out((1000, 500), "w_200,h_200,c_thumb,z_2"), (200, 200));
        // Zooming out is bounded by the source, the aspect ratio kept.
        assert_eq!(region((1000, 500), "w_200,h_200,c_thumb,g_center,z_0.5").0, 500.0);
        // c_crop: the region is zoom times smaller, resampled to the requested size.
        assert_eq!(
            region((1000, 500), "w_200,h_100,c_crop,z_2,g_north"),
            (100.0, 50.0, Anchor::Gravity(Gravity::North))
        );
        assert_eq!(out((1000, 500), "w_200,h_100,c_crop,z_2"), (200, 100));
        assert_eq!(region((1000, 500), "w_200,h_100,c_crop,z_0.5").0, 400.0);
        assert_eq!(region((1000, 500), "w_400,h_200,c_crop,z_0.1").0, 1000.0);
        assert_eq!(region((1000, 500), "w_400,h_200,c_crop,z_0.1").1, 500.0);
        // Around a corner: zoomed about the middle of the region it names.
        assert_eq!(
            region((1000, 500), "w_200,h_100,c_crop,x_100,y_100,z_2"),
            (100.0, 50.0, Anchor::Point { x: 150, y: 125 })
        );
        // Zoomed out near the edge: kept inside the source.
        assert_eq!(
            region((1000, 500), "w_200,h_100,c_crop,x_0,y_0,z_0.5"),
            (400.0, 200.0, Anchor::Point { x: 0, y: 0 })
        );
    }

    #[test]
    fn relative_offsets_are_fractions_of_the_source() {
        assert_eq!(
            region((1000, 500), "c_crop,w_100,h_100,x_0.5,y_0.2"),
            (100.0, 100.0, Anchor::Point { x: 500, y: 100 })
        );
        assert_eq!(region((1000, 500), "c_crop,x_0.75").0, 250.0);
        // Relative sizes and offsets together: the right half of the bottom half.
        assert_eq!(
            region((1000, 500), "c_crop,w_0.5,h_0.5,x_0.5,y_0.5"),
            (500.0, 250.0, Anchor::Point { x: 500, y: 250 })
        );
    }
}
