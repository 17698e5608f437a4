//! Resize: cut the layout's region and resample it (padding and alpha
//! flattening for the output format come after, in `finish.rs`).
//!
//! Resampling is Lanczos3 with `fast_image_resize` (SIMD), by default in
//! linear light: averaging sRGB-encoded values darkens fine detail and
//! high-contrast edges (a black/white checkerboard becomes 128 instead of the
//! 188 the eye sees), which costs visible quality at the large reductions a
//! thumbnail service makes. Alpha is premultiplied across the resample so that
//! the colour of transparent pixels never bleeds into visible ones. The
//! 16-bit linear-light copy the resampler works on is made a strip of rows at
//! a time, each resampled across before the next, so that a large source is
//! never held twice; it is written by table lookup into one buffer reused
//! from strip to strip, never zeroed first, and the 8-bit result is collected
//! the same way.

use std::borrow::Cow;
use std::sync::LazyLock;

use fast_image_resize::images::{CroppedImage, CroppedImageMut, Image as FirImage, ImageRef};
use fast_image_resize::pixels::{InnerPixel, U16x3, U16x4};
use fast_image_resize::{
    FilterType, PixelComponentMapper, PixelType, ResizeAlg, ResizeOptions, Resizer, create_srgb_mapper,
};

use super::deadline::{self, Stage};
use super::geometry::{Anchor, Layout, place};
use super::{Channels, Frame, Image, LayoutError, PipelineError, saliency, srgb};
use crate::options::Gravity;

/// Which values the resampler averages, and in what precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResampleSpace {
    /// sRGB values decoded to linear light, resampled, re-encoded to the
    /// nearest 8-bit value. Correct brightness of detail, and nothing is
    /// clamped between the two passes of the separable filter, so the result
    /// is the 2-D Lanczos3 (on the benchmark photos it scores the same as a
    /// floating-point resample rounded to 8 bits): linear light is resampled
    /// in 16-bit integers with room (`HEADROOM`) below 0 and above 1.
    Linear,
    /// Linear light in plain 16-bit integers, the default before
    /// [`ResampleSpace::Linear`]: fast_image_resize clamps the horizontal
    /// pass to [0, 1] before the vertical one, so the kernel's negative lobes
    /// are lost wherever dark detail meets light, which brightens shadows
    /// next to edges (1.7 SSIMULACRA2 points under `Linear` on the benchmark
    /// photos without shrink-on-load). Kept for the quality measurement.
    Linear16,
    /// The 8-bit sRGB values as they are: the classic, cheaper, slightly
    /// darkening resample.
    Gamma,
}

impl ResampleSpace {
    /// The space `apply` uses. Linear: at the 10-40x reductions of typical
    /// thumbnails it scores better on SSIMULACRA2, for a few milliseconds more.
    pub const DEFAULT: ResampleSpace = ResampleSpace::Linear;
}

/// The resampling filter. Lanczos3 keeps edges sharp with little ringing; it
/// is the usual choice of libvips, Pillow and imgproxy for downscaling.
const FILTER: FilterType = FilterType::Lanczos3;

/// Half-width of the Lanczos3 kernel in output pixels: the source pixels
/// around the region that still contribute to its edge pixels.
const FILTER_SUPPORT: f64 = 3.0;

/// How far (in pixels) a region's size may be from the target size and still
/// count as "no scaling" (`c_crop`), absorbing floating-point noise.
const SAME_SIZE_EPSILON: f64 = 1e-6;

/// sRGB <-> 16-bit linear tables, built once (256 + 2 x 65536 entries) and
/// shared, for [`ResampleSpace::Linear16`].
static SRGB_MAPPER: LazyLock<PixelComponentMapper> = LazyLock::new(create_srgb_mapper);

/// Room below 0 and above 1 in the 16-bit linear encoding of opaque images,
/// for the kernel's lobes between the two passes. fast_image_resize clamps
/// the horizontal pass to the u16 range before the vertical one; with linear
/// light stored as `(v + HEADROOM) / (1 + 2 HEADROOM)` an undershoot or
/// overshoot of up to 0.25 survives to the vertical pass (Lanczos3's worst
/// case for a downscale is about 0.2), and only the result is clamped.
/// One 16-bit step is then 1/43690 of linear light, under a tenth of the
/// smallest 8-bit sRGB step.
const HEADROOM: f32 = 0.25;

/// sRGB value `v` in [0, 1] to linear light in the [`HEADROOM`] encoding,
/// as a fraction of the 16-bit range.
fn headroom_forward(v: f32) -> f32 {
    (srgb::to_linear(f64::from(v)) as f32 + HEADROOM) / (1.0 + 2.0 * HEADROOM)
}

/// The inverse of [`headroom_forward`], clamping what the kernel's lobes
/// pushed outside [0, 1].
fn headroom_backward(y: f32) -> f32 {
    let v = (y * (1.0 + 2.0 * HEADROOM) - HEADROOM).clamp(0.0, 1.0);
    srgb::from_linear(f64::from(v)) as f32
}

/// 8-bit sRGB <-> 16-bit linear light with [`HEADROOM`] as lookup tables,
/// built once and shared: the values of fast_image_resize's
/// `PixelComponentMapper` for the same functions (a test holds them equal),
/// applied by our own loops so that the 16-bit copy is written straight into
/// a reused buffer and the 8-bit output collected, neither zeroed first.
struct HeadroomTables {
    to_linear: [u16; 256],
    to_srgb: Box<[u8]>,
}

static HEADROOM_TABLES: LazyLock<HeadroomTables> = LazyLock::new(|| HeadroomTables {
    to_linear: std::array::from_fn(|i| {
        (headroom_forward(i as f32 / 255.0) * f32::from(u16::MAX)).round() as u16
    }),
    to_srgb: (0..=u16::MAX)
        .map(|i| (headroom_backward(f32::from(i) / f32::from(u16::MAX)) * 255.0).round() as u8)
        .collect(),
});

/// Crops the region of `layout` (resolving gravity or saliency) and
/// resamples it to `layout.resize` in `space` (the pipeline's
/// [`super::Tuning`]; [`ResampleSpace::DEFAULT`] in the service).
pub fn apply(image: Image, layout: &Layout, space: ResampleSpace) -> Result<Image, PipelineError> {
    Resampler::new(layout, space).run(image)
}

/// [`apply`] on an image that may stay shared (a decode the decode cache
/// keeps): it is read, and copied only when the layout keeps it whole.
pub fn apply_shared(
    image: Cow<'_, Image>,
    layout: &Layout,
    space: ResampleSpace,
) -> Result<Image, PipelineError> {
    Resampler::new(layout, space).run_cow(image)
}

/// The crop and resample of one layout, applied to one image or to the
/// frames of an animation one at a time as they are decoded. The window is
/// fixed on the first image it is given (a `g_auto` anchor is found on that
/// first frame), so that every frame is cut at the same place; the
/// resampler and its working buffers are reused from frame to frame.
pub struct Resampler {
    layout: Layout,
    space: ResampleSpace,
    /// The decoded size, the window and the size it is resampled to, fixed
    /// by the first image.
    window: Option<FixedWindow>,
    resizer: Resizer,
    /// Linear-light working buffers for the channel layout last used.
    linear: Option<LinearBuffers>,
    /// The largest region copy made whole and the smallest strip, in bytes
    /// ([`WHOLE_COPY_BYTES`], [`STRIP_BYTES`]; tests make them smaller).
    strip_sizes: (u64, u32),
}

impl Resampler {
    pub fn new(layout: &Layout, space: ResampleSpace) -> Resampler {
        Resampler {
            layout: *layout,
            space,
            window: None,
            resizer: Resizer::new(),
            linear: None,
            strip_sizes: (WHOLE_COPY_BYTES, STRIP_BYTES),
        }
    }

    /// Crops and resamples every frame of `image`. Every image given to one
    /// resampler must have the size of the first.
    pub fn run(&mut self, image: Image) -> Result<Image, PipelineError> {
        self.run_cow(Cow::Owned(image))
    }

    /// [`Resampler::run`] on an owned or a borrowed image.
    fn run_cow(&mut self, image: Cow<'_, Image>) -> Result<Image, PipelineError> {
        let layout = self.layout;
        let (iw, ih) = (image.width(), image.height());
        if layout.source.width == 0 || layout.source.height == 0 {
            return Err(PipelineError::Unprocessable("the image has no pixels".into()));
        }
        if layout.resize.width == 0 || layout.resize.height == 0 {
            return Err(PipelineError::Unprocessable(
                "the output would have no pixels".into(),
            ));
        }
        let &mut (size, window, (tw, th)) = self.window.get_or_insert_with(|| {
            let (window, target) = region_window(&image, &layout);
            ((iw, ih), window, target)
        });
        if size != (iw, ih) {
            return Err(PipelineError::Unprocessable(
                "the frames of the animation differ in size".into(),
            ));
        }

        let whole = window.left == 0.0
            && window.top == 0.0
            && window.width == f64::from(iw)
            && window.height == f64::from(ih);
        if whole && tw == iw && th == ih {
            return Ok(image.into_owned());
        }
        if (window.width - f64::from(tw)).abs() < SAME_SIZE_EPSILON
            && (window.height - f64::from(th)).abs() < SAME_SIZE_EPSILON
        {
            return Ok(copy_window(&image, &window, tw, th)?);
        }
        // One fast_image_resize call cannot be interrupted: it is not started
        // when it cannot end by the deadline (strips are checked between).
        let area = |w: f64, h: f64| (w.max(1.0) * h.max(1.0)) as u64;
        let pixels = area(window.width, window.height).max(area(f64::from(tw), f64::from(th)))
            * image.frames().len() as u64;
        deadline::timed(Stage::Resample, pixels, || self.resample(&image, &window, tw, th))
    }
}

/// What the first image fixes for every frame: its decoded size, the window
/// and the size the window is resampled to.
type FixedWindow = ((u32, u32), Window, (u32, u32));

/// The region in decoded-image pixels (top-left corner and size).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

/// Scales the layout's region to the decoded size (which shrink-on-load may
/// have made smaller than `layout.source`) and resolves its anchor. Returns
/// the window and the size it is resampled to: the layout's, except for
/// `c_fill_pad` when the subject needs a wider window than the fill's (then
/// smaller on the other axis, and padded back to the box by `finish`).
fn region_window(image: &Image, layout: &Layout) -> (Window, (u32, u32)) {
    let (iw, ih) = (f64::from(image.width()), f64::from(image.height()));
    let sx = iw / f64::from(layout.source.width);
    let sy = ih / f64::from(layout.source.height);
    // A region that is not a finite positive size (never produced by the
    // geometry) falls back to the whole image rather than poisoning the
    // resampler's coordinates.
    let finite_or = |v: f64, full: f64| {
        if v.is_finite() {
            v.clamp(f64::MIN_POSITIVE, full)
        } else {
            full
        }
    };
    let width = finite_or(layout.region.width * sx, iw);
    let height = finite_or(layout.region.height * sy, ih);
    // Snap sizes that are whole pixels up to float noise, so that the
    // identity and plain-crop shortcuts recognise them.
    let width = snap(width);
    let height = snap(height);
    let target = (layout.resize.width, layout.resize.height);
    if layout.region.anchor == Anchor::AutoPad {
        return subject_window(image, (width, height), target);
    }
    let (left, top) = match layout.region.anchor {
        Anchor::Gravity(Gravity::Auto) | Anchor::Auto | Anchor::AutoPad => auto_anchor(image, width, height),
        Anchor::Gravity(gravity) => place((iw, ih), (width, height), gravity),
        Anchor::Point { x, y } => (f64::from(x) * sx, f64::from(y) * sy),
    };
    let left = if left.is_finite() { left } else { 0.0 };
    let top = if top.is_finite() { top } else { 0.0 };
    let window = Window {
        left: snap(left.clamp(0.0, iw - width)),
        top: snap(top.clamp(0.0, ih - height)),
        width,
        height,
    };
    (window, target)
}

/// `c_fill_pad`: the saliency window for a fill of `width x height` decoded
/// pixels (see [`saliency::subject_window`]) and its resampled size. A
/// window grown along one axis keeps the box's side on that axis, and the
/// other side shrinks by the same factor.
fn subject_window(image: &Image, (width, height): (f64, f64), (tw, th): (u32, u32)) -> (Window, (u32, u32)) {
    let w = width.round().max(1.0) as u32;
    let h = height.round().max(1.0) as u32;
    let (left, top, gw, gh) = saliency::subject_window(image.first(), w, h);
    let shrunk = |side: u32, kept: u32, grown: u32| {
        ((f64::from(side) * f64::from(kept) / f64::from(grown)).round() as u32).clamp(1, side)
    };
    let (width, height, target) = if gw > w {
        (f64::from(gw), height, (tw, shrunk(th, w, gw)))
    } else if gh > h {
        (width, f64::from(gh), (shrunk(tw, h, gh), th))
    } else {
        (width, height, (tw, th))
    };
    let (iw, ih) = (f64::from(image.width()), f64::from(image.height()));
    let window = Window {
        left: f64::from(left).clamp(0.0, (iw - width).max(0.0)),
        top: f64::from(top).clamp(0.0, (ih - height).max(0.0)),
        width,
        height,
    };
    (window, target)
}

/// Rounds values within float noise of an integer to that integer.
fn snap(v: f64) -> f64 {
    let r = v.round();
    if (v - r).abs() < SAME_SIZE_EPSILON { r } else { v }
}

/// The saliency window's corner for `g_auto`, found on the first frame so
/// that every frame of an animation is cut at the same place.
fn auto_anchor(image: &Image, width: f64, height: f64) -> (f64, f64) {
    let w = width.round().max(1.0) as u32;
    let h = height.round().max(1.0) as u32;
    let (x, y) = saliency::best_window(image.first(), w, h);
    (f64::from(x), f64::from(y))
}

/// `c_crop`: the window is copied pixel for pixel, no resampling.
fn copy_window(image: &Image, window: &Window, tw: u32, th: u32) -> Result<Image, LayoutError> {
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    let tw_us = tw as usize;
    let th_us = th as usize;
    // Whole pixels after the snap in `region_window`; clamp again so a
    // rounding step can never read past the frame.
    let left = (window.left.round() as usize).min(iw.saturating_sub(tw_us));
    let top = (window.top.round() as usize).min(ih.saturating_sub(th_us));
    cut(image, left as u32, top as u32, tw, th)
}

/// Every frame cut to the `width x height` box at (`left`, `top`), which
/// lies inside the image: rows copied as they are (`c_crop`, `e_trim`).
pub(crate) fn cut(image: &Image, left: u32, top: u32, width: u32, height: u32) -> Result<Image, LayoutError> {
    let ch = image.channels().count();
    let stride = image.width() as usize * ch;
    let (left, top) = (left as usize * ch, top as usize);
    let row_bytes = width as usize * ch;
    image.map_frames_ref(|frame| {
        let mut data = Vec::with_capacity(row_bytes * height as usize);
        for row in frame.data().chunks_exact(stride).skip(top).take(height as usize) {
            data.extend_from_slice(&row[left..left + row_bytes]);
        }
        frame.remade(width, height, frame.channels(), data)
    })
}

/// The 8-bit and 16-bit pixel types of an image with or without alpha.
fn pixel_types(alpha: bool) -> (PixelType, PixelType) {
    if alpha {
        (PixelType::U8x4, PixelType::U16x4)
    } else {
        (PixelType::U8x3, PixelType::U16x3)
    }
}

fn resize_error(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Unprocessable(format!("the image could not be resized: {e}"))
}

impl Resampler {
    /// Resamples the window of every frame to `tw x th`, in the
    /// resampler's space.
    fn resample(&mut self, image: &Image, window: &Window, tw: u32, th: u32) -> Result<Image, PipelineError> {
        let alpha = image.channels() == Channels::Rgba;
        // `mul_div_alpha` premultiplies before and divides after convolution.
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FILTER))
            .use_alpha(alpha);
        let frames = match self.space {
            ResampleSpace::Gamma => self.resample_gamma(image, window, (tw, th), options)?,
            space => self.resample_linear(image, window, (tw, th), options, space)?,
        };
        Ok(Image::new(frames, image.loops())?)
    }

    /// The gamma-space path: fast_image_resize averages the 8-bit sRGB
    /// values of the window directly.
    fn resample_gamma(
        &mut self,
        image: &Image,
        window: &Window,
        (tw, th): (u32, u32),
        options: ResizeOptions,
    ) -> Result<Vec<Frame>, PipelineError> {
        let (iw, ih) = (image.width(), image.height());
        let (u8_type, _) = pixel_types(image.channels() == Channels::Rgba);
        let resizer = &mut self.resizer;
        let mut frames = Vec::with_capacity(image.frames().len());
        let options = options.crop(window.left, window.top, window.width, window.height);
        for frame in image.frames() {
            let src = ImageRef::new(iw, ih, frame.data(), u8_type).map_err(resize_error)?;
            let mut dst = FirImage::new(tw, th, u8_type);
            resizer.resize(&src, &mut dst, &options).map_err(resize_error)?;
            frames.push(out_frame(frame, dst.into_vec(), tw, th)?);
        }
        Ok(frames)
    }

    /// The linear-light paths (16-bit, with or without headroom): the
    /// pixels the kernel reaches are converted, whole or a strip at a time,
    /// resampled, and converted back to 8-bit sRGB.
    fn resample_linear(
        &mut self,
        image: &Image,
        window: &Window,
        (tw, th): (u32, u32),
        options: ResizeOptions,
        space: ResampleSpace,
    ) -> Result<Vec<Frame>, PipelineError> {
        let (iw, ih) = (image.width(), image.height());
        let alpha = image.channels() == Channels::Rgba;
        let (u8_type, u16_type) = pixel_types(alpha);
        let resizer = &mut self.resizer;
        let mut frames = Vec::with_capacity(image.frames().len());
        // With alpha, linear light with headroom is premultiplied in
        // the conversion loops rather than by fast_image_resize, which
        // would multiply the headroom offset too.
        let premultiply = alpha && space == ResampleSpace::Linear;
        let options = if premultiply {
            options.use_alpha(false)
        } else {
            options
        };
        // Only the pixels the kernel can reach are converted to linear
        // light: a crop of a large image does not pay for the whole.
        let bounds = kernel_bounds(window, (iw, ih), (tw, th));
        let (left, top, width, height) = bounds;
        // A region whose 16-bit copy is small is converted whole and
        // resampled in one call. A larger one is converted a strip of
        // rows at a time, each resampled across into `across` (output
        // width x region height) before the next, then one vertical
        // pass makes the output: fast_image_resize runs the same two
        // passes with the same coefficients inside one call (the
        // horizontal one first for 16-bit pixels), so the output is
        // the same, and the copy never exists whole.
        let strip_rows = strip_rows(width, height, u16_type, self.strip_sizes);
        let in_strips = strip_rows < height;
        // Working buffers shared by all frames (and, for an
        // animation decoded frame by frame, by all calls).
        let buffers = match self.linear.take() {
            Some(buffers) if buffers.channels == image.channels() => buffers,
            _ => LinearBuffers {
                channels: image.channels(),
                strip: Vec::new(),
                across: in_strips.then(|| FirImage::new(tw, height, u16_type)),
                output: FirImage::new(tw, th, u16_type),
            },
        };
        let LinearBuffers {
            strip,
            across,
            output,
            ..
        } = self.linear.insert(buffers);
        let components = u16_type.size() / 2;
        for frame in image.frames() {
            let src = ImageRef::new(iw, ih, frame.data(), u8_type).map_err(resize_error)?;
            // Rows `y..y + rows` of the region into the strip buffer, as
            // 16-bit samples (`components` per pixel).
            let to_linear = |strip: &mut Vec<u16>, y: u32, rows: u32| -> Result<(), PipelineError> {
                let samples = width as usize * rows as usize * components;
                if premultiply {
                    // Every sample is written: growing is the only zeroing.
                    strip.resize(samples, 0);
                    premultiplied_linear(frame.data(), iw, (left, top + y, width, rows), strip);
                } else if space == ResampleSpace::Linear {
                    strip.clear();
                    strip.reserve(samples);
                    let table = &HEADROOM_TABLES.to_linear;
                    let row_bytes = iw as usize * components;
                    let (from, to) = (left as usize * components, (left + width) as usize * components);
                    for row in frame
                        .data()
                        .chunks_exact(row_bytes)
                        .skip((top + y) as usize)
                        .take(rows as usize)
                    {
                        let part = row
                            .get(from..to)
                            .ok_or_else(|| resize_error("the region is outside the frame"))?;
                        strip.extend(part.iter().map(|&v| table[usize::from(v)]));
                    }
                    if strip.len() != samples {
                        return Err(resize_error("the region is outside the frame"));
                    }
                } else {
                    strip.resize(samples, 0);
                    let part = CroppedImage::new(&src, left, top + y, width, rows).map_err(resize_error)?;
                    let mut into =
                        FirImage::from_slice_u8(width, rows, bytemuck::cast_slice_mut(strip), u16_type)
                            .map_err(resize_error)?;
                    SRGB_MAPPER.forward_map(&part, &mut into).map_err(resize_error)?;
                }
                Ok(())
            };
            let crop_left = window.left - f64::from(left);
            let crop_top = window.top - f64::from(top);
            match across {
                None => {
                    to_linear(strip, 0, height)?;
                    let linear = ImageRef::new(width, height, bytemuck::cast_slice(strip), u16_type)
                        .map_err(resize_error)?;
                    let options = options
                        .clone()
                        .crop(crop_left, crop_top, window.width, window.height);
                    resizer.resize(&linear, output, &options).map_err(resize_error)?;
                }
                Some(across) => {
                    for y in (0..height).step_by(strip_rows as usize) {
                        deadline::check()?;
                        let rows = strip_rows.min(height - y);
                        to_linear(strip, y, rows)?;
                        let part = ImageRef::new(width, rows, bytemuck::cast_slice(strip), u16_type)
                            .map_err(resize_error)?;
                        let mut into = CroppedImageMut::new(across, 0, y, tw, rows).map_err(resize_error)?;
                        let options = options
                            .clone()
                            .crop(crop_left, 0.0, window.width, f64::from(rows));
                        resizer.resize(&part, &mut into, &options).map_err(resize_error)?;
                    }
                    let options = options.clone().crop(0.0, crop_top, f64::from(tw), window.height);
                    resizer.resize(&*across, output, &options).map_err(resize_error)?;
                }
            }
            let data = if premultiply {
                let typed = output
                    .typed_image::<U16x4>()
                    .ok_or_else(|| resize_error("the output buffer is not 16-bit RGBA"))?;
                unpremultiplied_srgb(U16x4::components(typed.pixels()))
            } else if space == ResampleSpace::Linear {
                let typed = output
                    .typed_image::<U16x3>()
                    .ok_or_else(|| resize_error("the output buffer is not 16-bit RGB"))?;
                let table = &HEADROOM_TABLES.to_srgb;
                U16x3::components(typed.pixels())
                    .iter()
                    .map(|&y| table[usize::from(y)])
                    .collect()
            } else {
                let mut dst = FirImage::new(tw, th, u8_type);
                SRGB_MAPPER
                    .backward_map(&*output, &mut dst)
                    .map_err(resize_error)?;
                dst.into_vec()
            };
            frames.push(out_frame(frame, data, tw, th)?);
        }
        Ok(frames)
    }
}

/// The largest 16-bit copy of a region made whole (32 MB: about 5 MP, a
/// 12 MP JPEG decoded at 1/2 scale fits); larger regions are converted and
/// resampled across in strips. Strips cost time: each one recomputes the
/// horizontal kernel's coefficients (fast_image_resize keeps none between
/// calls), which is measurable on whole jobs (BENCHMARKS.md, "Large stills:
/// the resampler's 16-bit copy in strips"), so they are kept for the regions
/// where they save real memory.
const WHOLE_COPY_BYTES: u64 = 32 * 1024 * 1024;

/// Bytes of 16-bit pixels in one strip, at least.
const STRIP_BYTES: u32 = 8 * 1024 * 1024;

/// The most strips a region is cut into: very large regions get taller
/// strips, each at most 1/16 of the region's 16-bit copy.
const MAX_STRIPS: u32 = 16;

/// Rows per strip for a region of `width x height` pixels: all of them when
/// its 16-bit copy is at most `sizes.0` bytes ([`WHOLE_COPY_BYTES`]), else
/// strips of at least `sizes.1` ([`STRIP_BYTES`]).
fn strip_rows(width: u32, height: u32, pixel_type: PixelType, sizes: (u64, u32)) -> u32 {
    let (whole_copy_bytes, strip_bytes) = sizes;
    let row_bytes = width.saturating_mul(pixel_type.size() as u32).max(1);
    if u64::from(row_bytes) * u64::from(height) <= whole_copy_bytes {
        return height.max(1);
    }
    (strip_bytes / row_bytes)
        .max(height.div_ceil(MAX_STRIPS))
        .clamp(1, height.max(1))
}

/// The linear-light working buffers of [`Resampler`], reused from frame to
/// frame: one strip of the source (the whole region when it is small), the
/// result of the horizontal pass when in strips, and the output before it
/// goes back to 8-bit sRGB.
struct LinearBuffers {
    channels: Channels,
    /// 16-bit samples of the strip (or the whole region), written afresh
    /// for each strip without being zeroed first.
    strip: Vec<u16>,
    across: Option<FirImage<'static>>,
    output: FirImage<'static>,
}

/// The 16-bit encoding with [`HEADROOM`] of linear light `v`.
#[inline]
fn headroom_encode(v: f32) -> u16 {
    ((v + HEADROOM) * (f32::from(u16::MAX) / (1.0 + 2.0 * HEADROOM)) + 0.5) as u16
}

/// The linear light of a 16-bit value with [`HEADROOM`] (not clamped).
#[inline]
fn headroom_decode(y: u16) -> f32 {
    f32::from(y) * ((1.0 + 2.0 * HEADROOM) / f32::from(u16::MAX)) - HEADROOM
}

/// Writes the `bounds` rectangle of an 8-bit sRGB RGBA frame `width` pixels
/// wide into `out` as premultiplied linear light in the 16-bit encoding with
/// [`HEADROOM`] (alpha encoded the same way).
fn premultiplied_linear(data: &[u8], width: u32, bounds: (u32, u32, u32, u32), out: &mut [u16]) {
    let table = &*srgb::TO_LINEAR;
    let (left, top, w, h) = (
        bounds.0 as usize,
        bounds.1 as usize,
        bounds.2 as usize,
        bounds.3 as usize,
    );
    let src_rows = data.chunks_exact(width as usize * 4).skip(top).take(h);
    for (src_row, out_row) in src_rows.zip(out.chunks_exact_mut(w * 4)) {
        let Some(src) = src_row.get(left * 4..(left + w) * 4) else {
            continue;
        };
        for (o, s) in out_row.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
            let a = f32::from(s[3]) / 255.0;
            for c in 0..3 {
                o[c] = headroom_encode(table[usize::from(s[c])] * a);
            }
            o[3] = headroom_encode(a);
        }
    }
}

/// Premultiplied linear light with [`HEADROOM`] back to straight 8-bit sRGB
/// RGBA, clamping what the kernel's lobes pushed outside [0, 1].
fn unpremultiplied_srgb(linear: &[u16]) -> Vec<u8> {
    let table = &*srgb::FROM_LINEAR;
    let mut out = Vec::with_capacity(linear.len());
    for p in linear.chunks_exact(4) {
        let a = headroom_decode(p[3]).clamp(0.0, 1.0);
        let alpha = (a * 255.0 + 0.5) as u8;
        if alpha == 0 {
            out.extend_from_slice(&[0; 4]);
            continue;
        }
        for &c in &p[..3] {
            out.push(table.encode(headroom_decode(c) / a));
        }
        out.push(alpha);
    }
    out
}

fn out_frame(frame: &Frame, data: Vec<u8>, width: u32, height: u32) -> Result<Frame, LayoutError> {
    frame.remade(width, height, frame.channels(), data)
}

/// The whole-pixel rectangle `(left, top, width, height)` of the source that
/// the kernel reads when resampling `window` to `target`: the window plus the
/// filter's support (scaled when downsizing) on each side, inside the image.
fn kernel_bounds(window: &Window, image: (u32, u32), target: (u32, u32)) -> (u32, u32, u32, u32) {
    let axis = |start: f64, len: f64, full: u32, out: u32| {
        let scale = (len / f64::from(out)).max(1.0);
        let margin = (FILTER_SUPPORT * scale).ceil() + 1.0;
        let lo = (start - margin).floor().max(0.0) as u32;
        let hi = ((start + len + margin).ceil() as u32).min(full);
        (lo, hi.saturating_sub(lo).max(1))
    };
    let (x, w) = axis(window.left, window.width, image.0, target.0);
    let (y, h) = axis(window.top, window.height, image.1, target.1);
    (x, y, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_support::{close, layout, pixel};

    /// fast_image_resize's own mapper for the [`HEADROOM`] encoding: the
    /// reference [`HEADROOM_TABLES`] must equal.
    static HEADROOM_MAPPER: LazyLock<PixelComponentMapper> =
        LazyLock::new(|| PixelComponentMapper::new(headroom_forward, headroom_backward));

    #[test]
    fn headroom_tables_equal_the_crates_mapper() {
        let every_u8: Vec<u8> = (0..=255).collect();
        let src = ImageRef::new(256, 1, &every_u8, PixelType::U8).unwrap();
        let mut linear = FirImage::new(256, 1, PixelType::U16);
        HEADROOM_MAPPER.forward_map(&src, &mut linear).unwrap();
        let linear = linear.typed_image::<fast_image_resize::pixels::U16>().unwrap();
        let expected: Vec<u16> = linear.pixels().iter().map(|p| p.0).collect();
        assert_eq!(expected, HEADROOM_TABLES.to_linear.to_vec());

        let every_u16: Vec<u16> = (0..=u16::MAX).collect();
        let src = ImageRef::new(256, 256, bytemuck::cast_slice(&every_u16), PixelType::U16).unwrap();
        let mut srgb = FirImage::new(256, 256, PixelType::U8);
        HEADROOM_MAPPER.backward_map(&src, &mut srgb).unwrap();
        assert!(srgb.buffer() == &*HEADROOM_TABLES.to_srgb);
        // The encoding keeps its room: black and white sit inside the range.
        assert!(HEADROOM_TABLES.to_linear[0] > 10_000 && HEADROOM_TABLES.to_linear[255] < 55_000);
    }

    /// Red, green, blue and white quadrants.
    fn quadrants(w: u32, h: u32) -> Image {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let c = match (x < w / 2, y < h / 2) {
                    (true, true) => [255, 0, 0],
                    (false, true) => [0, 255, 0],
                    (true, false) => [0, 0, 255],
                    (false, false) => [255, 255, 255],
                };
                data.extend_from_slice(&c);
            }
        }
        Image::still(w, h, Channels::Rgb, data).unwrap()
    }

    #[test]
    fn resize_keeps_quadrant_colours() {
        for space in [ResampleSpace::Linear, ResampleSpace::Gamma] {
            let l = layout(
                (400, 200),
                (400.0, 200.0),
                Anchor::Gravity(Gravity::Center),
                (100, 50),
            );
            let out = apply(quadrants(400, 200), &l, space).unwrap();
            assert_eq!((out.width(), out.height()), (100, 50));
            assert!(close(&pixel(&out, 10, 10), &[255, 0, 0], 2), "{space:?}");
            assert!(close(&pixel(&out, 90, 10), &[0, 255, 0], 2));
            assert!(close(&pixel(&out, 10, 40), &[0, 0, 255], 2));
            assert!(close(&pixel(&out, 90, 40), &[255, 255, 255], 2));
        }
    }

    #[test]
    fn shrink_on_load_scales_the_region() {
        // The layout was made for 800x400 but the decoder delivered 400x200:
        // the east half of the source is the green/white column.
        let l = layout(
            (800, 400),
            (400.0, 400.0),
            Anchor::Gravity(Gravity::East),
            (50, 50),
        );
        let out = apply(quadrants(400, 200), &l, ResampleSpace::Linear).unwrap();
        assert_eq!((out.width(), out.height()), (50, 50));
        assert!(close(&pixel(&out, 25, 5), &[0, 255, 0], 2));
        assert!(close(&pixel(&out, 25, 45), &[255, 255, 255], 2));
    }

    #[test]
    fn crop_copies_the_window_at_a_point() {
        let l = layout((400, 200), (20.0, 10.0), Anchor::Point { x: 390, y: 5 }, (20, 10));
        let out = apply(quadrants(400, 200), &l, ResampleSpace::Linear).unwrap();
        assert_eq!((out.width(), out.height()), (20, 10));
        // Clamped to x = 380: all green.
        assert_eq!(pixel(&out, 0, 0), vec![0, 255, 0]);
        assert_eq!(pixel(&out, 19, 9), vec![0, 255, 0]);
    }

    #[test]
    fn crop_by_gravity_south_west() {
        let l = layout(
            (400, 200),
            (100.0, 50.0),
            Anchor::Gravity(Gravity::SouthWest),
            (100, 50),
        );
        let out = apply(quadrants(400, 200), &l, ResampleSpace::Linear).unwrap();
        assert_eq!(pixel(&out, 50, 25), vec![0, 0, 255]);
    }

    #[test]
    fn identity_is_untouched() {
        let img = quadrants(40, 20);
        let l = layout((40, 20), (40.0, 20.0), Anchor::Gravity(Gravity::Center), (40, 20));
        assert_eq!(apply(img.clone(), &l, ResampleSpace::Linear).unwrap(), img);
    }

    #[test]
    fn linear_light_checkerboard_is_light_grey() {
        let (w, h) = (64u32, 64u32);
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [if (x + y) % 2 == 0 { 0u8 } else { 255 }; 3]))
            .collect();
        let img = Image::still(w, h, Channels::Rgb, data).unwrap();
        let l = layout((w, h), (64.0, 64.0), Anchor::Gravity(Gravity::Center), (8, 8));
        let linear = apply(img.clone(), &l, ResampleSpace::Linear).unwrap();
        let gamma = apply(img, &l, ResampleSpace::Gamma).unwrap();
        let lin = pixel(&linear, 4, 4);
        let gam = pixel(&gamma, 4, 4);
        assert!(close(&lin, &[188, 188, 188], 4), "linear {lin:?}");
        assert!(close(&gam, &[128, 128, 128], 4), "gamma {gam:?}");
    }

    #[test]
    fn premultiplied_alpha_does_not_bleed_colour() {
        // Left half opaque-ish red (alpha 128), right half transparent blue.
        let (w, h) = (64u32, 8u32);
        let data = (0..h)
            .flat_map(|_| {
                (0..w).flat_map(|x| {
                    if x < w / 2 {
                        [255, 0, 0, 128]
                    } else {
                        [0, 0, 255, 0]
                    }
                })
            })
            .collect();
        let img = Image::still(w, h, Channels::Rgba, data).unwrap();
        let l = layout((w, h), (64.0, 8.0), Anchor::Gravity(Gravity::Center), (16, 2));
        for space in [ResampleSpace::Linear, ResampleSpace::Gamma] {
            let out = apply(img.clone(), &l, space).unwrap();
            for x in 0..16 {
                let p = pixel(&out, x, 1);
                if p[3] > 8 {
                    // Visible pixels stay red: no blue mixed in.
                    assert!(p[2] < 16 && p[0] > 200, "{space:?} x={x}: {p:?}");
                }
            }
        }
    }

    #[test]
    fn opaque_alpha_resamples_like_rgb() {
        let rgb = quadrants(90, 60);
        let rgba_data = rgb.frames()[0]
            .data()
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let rgba = Image::still(90, 60, Channels::Rgba, rgba_data).unwrap();
        let l = layout((90, 60), (90.0, 60.0), Anchor::Gravity(Gravity::Center), (17, 11));
        let a = apply(rgb, &l, ResampleSpace::Linear).unwrap();
        let b = apply(rgba, &l, ResampleSpace::Linear).unwrap();
        for (p, q) in a.frames()[0]
            .data()
            .chunks_exact(3)
            .zip(b.frames()[0].data().chunks_exact(4))
        {
            assert!(close(p, &q[..3], 1) && q[3] == 255, "{p:?} {q:?}");
        }
    }

    #[test]
    fn no_clamp_between_the_passes() {
        // A dark square in a light field: the kernel's negative lobes
        // undershoot inside the square's edges in the horizontal pass. With
        // that pass clamped to 0 (Linear16) the square comes out lighter.
        let (w, h) = (96u32, 96u32);
        let data = (0..h)
            .flat_map(|y| {
                (0..w).flat_map(move |x| {
                    let dark = (36..60).contains(&x) && (36..60).contains(&y);
                    [if dark { 0u8 } else { 255 }; 3]
                })
            })
            .collect();
        let img = Image::still(w, h, Channels::Rgb, data).unwrap();
        let l = layout((w, h), (96.0, 96.0), Anchor::Gravity(Gravity::Center), (24, 24));
        let linear = apply(img.clone(), &l, ResampleSpace::Linear).unwrap();
        let clamped = apply(img, &l, ResampleSpace::Linear16).unwrap();
        // Just inside the square's edges (where the undershoot was):
        // 0 in linear light against 14 with the clamp.
        for x in [10, 13] {
            let (a, b) = (pixel(&linear, x, 12)[0], pixel(&clamped, x, 12)[0]);
            assert!(a <= 1 && b >= a + 10, "x={x}: {a} vs clamped {b}");
        }
        assert!(
            linear.frames()[0]
                .data()
                .iter()
                .map(|&v| u64::from(v))
                .sum::<u64>()
                < clamped.frames()[0]
                    .data()
                    .iter()
                    .map(|&v| u64::from(v))
                    .sum::<u64>()
        );
    }

    /// A noisy photo-like pattern, different in every pixel and channel.
    fn noise(w: u32, h: u32, channels: Channels) -> Image {
        let n = channels.count();
        let data = (0..w * h * n as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        Image::still(w, h, channels, data).unwrap()
    }

    /// The whole-region resample the strips replace: the kernel's bounds
    /// converted to linear light at once, one fast_image_resize call.
    fn one_call_resample(image: &Image, window: &Window, tw: u32, th: u32) -> Vec<u8> {
        let (iw, ih) = (image.width(), image.height());
        let alpha = image.channels() == Channels::Rgba;
        let (u8_type, u16_type) = pixel_types(alpha);
        let (left, top, width, height) = kernel_bounds(window, (iw, ih), (tw, th));
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FILTER))
            .use_alpha(false)
            .crop(
                window.left - f64::from(left),
                window.top - f64::from(top),
                window.width,
                window.height,
            );
        let mut linear = FirImage::new(width, height, u16_type);
        let mut output = FirImage::new(tw, th, u16_type);
        let data = &image.frames()[0].data();
        if alpha {
            let mut typed = linear.typed_image_mut::<U16x4>().unwrap();
            premultiplied_linear(
                data,
                iw,
                (left, top, width, height),
                U16x4::components_mut(typed.pixels_mut()),
            );
        } else {
            let src = ImageRef::new(iw, ih, data, u8_type).unwrap();
            let part = CroppedImage::new(&src, left, top, width, height).unwrap();
            HEADROOM_MAPPER.forward_map(&part, &mut linear).unwrap();
        }
        Resizer::new().resize(&linear, &mut output, &options).unwrap();
        if alpha {
            unpremultiplied_srgb(U16x4::components(output.typed_image::<U16x4>().unwrap().pixels()))
        } else {
            let mut dst = FirImage::new(tw, th, u8_type);
            HEADROOM_MAPPER.backward_map(&output, &mut dst).unwrap();
            dst.into_vec()
        }
    }

    #[test]
    fn strips_resample_exactly_as_one_call() {
        // Regions many strips tall (in strips over 1 MB, of 256 KB, a
        // 700x1100 RGB region is cut into 16 strips of 69 rows), cropped and
        // not, reduced and enlarged, with and without alpha; and regions
        // small enough to be resampled whole.
        let cases = [
            ((700, 1100), (700.0, 1100.0), (233, 367)),
            ((700, 1100), (310.5, 801.25), (97, 213)),
            ((1200, 90), (1200.0, 90.0), (400, 30)),
            ((60, 700), (60.0, 700.0), (150, 1000)),
        ];
        for channels in [Channels::Rgb, Channels::Rgba] {
            for (source, region, resize) in cases {
                let image = noise(source.0, source.1, channels);
                let l = layout(source, region, Anchor::Gravity(Gravity::SouthEast), resize);
                let (window, _) = region_window(&image, &l);
                let expected = one_call_resample(&image, &window, resize.0, resize.1);
                let mut resampler = Resampler::new(&l, ResampleSpace::Linear);
                resampler.strip_sizes = (1024 * 1024, 256 * 1024);
                let out = resampler.run(image).unwrap();
                assert_eq!((out.width(), out.height()), resize);
                assert!(
                    out.frames()[0].data() == expected,
                    "{channels:?} {source:?} -> {resize:?}: the strips differ from one call"
                );
            }
        }
        assert_eq!(strip_rows(700, 1100, PixelType::U16x3, (1 << 20, 256 * 1024)), 69);
        assert_eq!(strip_rows(60, 700, PixelType::U16x3, (1 << 20, 256 * 1024)), 700);
        // By default a region of up to 32 MB of 16-bit pixels is resampled
        // whole (2000x1500 RGB: 18 MB); 4000x3000 RGBA (96 MB) goes in
        // strips of 8 MB, 7000x7000 RGB (294 MB) in 16 strips.
        let sizes = (WHOLE_COPY_BYTES, STRIP_BYTES);
        assert_eq!(strip_rows(2000, 1500, PixelType::U16x3, sizes), 1500);
        assert_eq!(strip_rows(4000, 3000, PixelType::U16x4, sizes), 262);
        assert_eq!(strip_rows(7000, 7000, PixelType::U16x3, sizes), 438);
    }

    #[test]
    fn every_frame_is_resized() {
        let first = quadrants(40, 20).first().clone();
        let second = first.clone().with_delay_ms(70);
        let img = Image::new(vec![first, second], 0).unwrap();
        let l = layout((40, 20), (40.0, 20.0), Anchor::Gravity(Gravity::Center), (20, 10));
        let out = apply(img, &l, ResampleSpace::Linear).unwrap();
        assert_eq!(out.frames().len(), 2);
        assert!(
            out.frames()
                .iter()
                .all(|f| (f.width(), f.height()) == (20, 10) && f.data().len() == 600)
        );
        assert_eq!(out.frames()[1].delay_ms(), 70);
    }

    #[test]
    fn fractional_region_is_resampled() {
        let l = layout(
            (400, 200),
            (199.5, 99.7),
            Anchor::Gravity(Gravity::NorthWest),
            (40, 20),
        );
        let out = apply(quadrants(400, 200), &l, ResampleSpace::Linear).unwrap();
        assert!(close(&pixel(&out, 20, 10), &[255, 0, 0], 2));
    }

    #[test]
    fn non_finite_region_is_the_whole_image() {
        let l = layout(
            (40, 20),
            (f64::NAN, f64::INFINITY),
            Anchor::Gravity(Gravity::Center),
            (20, 10),
        );
        let out = apply(quadrants(40, 20), &l, ResampleSpace::Linear).unwrap();
        assert_eq!((out.width(), out.height()), (20, 10));
        assert!(
            close(&pixel(&out, 2, 2), &[255, 0, 0], 16),
            "{:?} {}x{}",
            pixel(&out, 2, 2),
            out.width(),
            out.height()
        );
    }
}
