//! The image pipeline: bytes in, bytes out.
//!
//! `probe -> decode (shrink-on-load) -> orient -> colour -> geometry -> resize
//! -> effects -> pad/flatten -> encode`. Everything here is synchronous and
//! knows nothing of HTTP, tokio, caches or URLs, so the same code serves the
//! HTTP handler (on the CPU pool), `resizer convert`, the benches and the
//! fuzz targets. Every limit is checked before the memory it guards is
//! allocated.

pub mod adjust;
pub mod codec;
pub mod colour;
pub mod deadline;
pub mod decode;
pub mod decoded;
pub mod effects;
pub mod encode;
pub mod finish;
pub mod geometry;
pub mod image;
pub mod info;
pub mod orient;
pub mod overlay;
pub mod probe;
pub mod resize;
pub mod rotate;
pub mod saliency;
pub mod shape;
mod srgb;
#[cfg(test)]
mod test_support;
pub mod trim;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::format::{ImageFormat, SourceFormat};
use crate::options::{Chain, Plan};

pub use image::{Channels, Frame, Image, LayoutError};
pub use probe::Probe;
pub use resize::ResampleSpace;

/// The knobs that trade speed for quality, gathered so that benchmarks and
/// the quality measurement (`examples/quality.rs`) can try other settings
/// through a [`Pipeline`] without editing constants. The service always
/// uses [`Tuning::default`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// How much resolution above the output a shrunk-on-load JPEG keeps, per
    /// axis ([`decode::SHRINK_MARGIN`] by default; 1.0 decodes as small as
    /// the output allows, a very large value disables shrink-on-load).
    pub shrink_margin: f64,
    /// The margin of a JPEG's 1/2-scale decode, when smaller than
    /// `shrink_margin` ([`decode::HALF_SCALE_MARGIN`] by default).
    pub half_scale_margin: f64,
    /// Which values the resampler averages ([`ResampleSpace::DEFAULT`]).
    pub resample_space: ResampleSpace,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            shrink_margin: decode::SHRINK_MARGIN,
            half_scale_margin: decode::HALF_SCALE_MARGIN,
            resample_space: ResampleSpace::DEFAULT,
        }
    }
}

/// Limits on what one image may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most pixels of one source frame (width x height), read from the header.
    pub max_src_pixels: u64,
    /// Largest output side.
    pub max_dimension: u32,
    /// Most frames of an animation that are decoded.
    pub max_animation_frames: u32,
    /// Most pixels of all frames of an animation together, counted both at
    /// the source's size (the decoding work) and at the output's size (the
    /// frames kept until encoding): frames x max(source, output) pixels.
    /// Frames past it are dropped; the first frame always stays.
    pub max_animation_pixels: u64,
}

/// The service's defaults (`config::defaults`, their one owner).
impl Default for Limits {
    fn default() -> Self {
        use crate::config::defaults;
        Limits {
            max_src_pixels: defaults::MAX_SRC_PIXELS,
            max_dimension: defaults::MAX_DIMENSION,
            max_animation_frames: defaults::MAX_ANIMATION_FRAMES,
            max_animation_pixels: defaults::MAX_ANIMATION_PIXELS,
        }
    }
}

/// What the caller knows about the output format before the image is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputChoice {
    /// Same format as the source.
    Source,
    /// A format named by `f_` or by a file extension.
    Fixed(ImageFormat),
    /// `f_auto`: the formats the client accepts explicitly; the image's
    /// alpha decides between PNG and JPEG when neither is accepted.
    Auto { avif: bool, webp: bool },
}

/// An encoded result.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Frames written: more than 1 for an animation kept animated.
    pub frames: usize,
}

/// How long each stage took, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub decode: Duration,
    pub transform: Duration,
    pub encode: Duration,
    /// Whether the decode cache served the decode (`None`: it was not
    /// consulted: no cache given, or a source it does not keep).
    pub decode_reuse: Option<decoded::DecodeReuse>,
}

/// Why an image could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The bytes are not a format resizer decodes.
    #[error(
        "the source is not an image in a supported format (JPEG, PNG, GIF, WebP, AVIF, HEIC, BMP, ICO, TIFF, JPEG XL, SVG)"
    )]
    UnsupportedFormat,
    /// A format recognised from its bytes that resizer does not decode yet:
    /// the sentence says which and what is planned.
    #[error("{0}")]
    NotYetSupported(&'static str),
    /// The header claims more pixels than `max_src_pixels`.
    #[error("the source is {width}x{height} ({pixels} pixels), over the limit of {max} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        max: u64,
    },
    /// The computed output is larger than `max_dimension`.
    #[error("the output would be {width}x{height}, over the limit of {max} pixels per side")]
    OutputTooLarge { width: u64, height: u64, max: u32 },
    /// The request cannot be applied to this image (e.g. a crop outside it).
    #[error("{0}")]
    Unprocessable(String),
    /// The file is damaged or truncated.
    #[error("the source image is corrupt: {0}")]
    Corrupt(String),
    /// An encoder failed: a bug or a resource problem on our side.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The per-request processing deadline passed between two stages.
    #[error("processing took longer than the deadline")]
    DeadlineExceeded,
    /// A stage produced pixels that break the image's layout rules: a bug
    /// on our side (decoders report damaged sources as [`Corrupt`]).
    ///
    /// [`Corrupt`]: PipelineError::Corrupt
    #[error("internal error: {0}")]
    Layout(#[from] LayoutError),
}

/// One configured pipeline: the limits every image is held to and the
/// tuning that trades speed for quality, as one value. The server (on the
/// CPU pool), `resizer convert`, the benches, the quality measurement and
/// the fuzz targets all call [`Pipeline::run`], so that they run the same
/// code with the same settings unless they choose otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipeline {
    /// What one image may cost, checked before the memory is spent.
    pub limits: Limits,
    /// Speed against quality; [`Tuning::default`] in the service, other
    /// values only where a measurement tries them.
    pub tuning: Tuning,
}

impl Pipeline {
    /// A pipeline under `limits` with the service's tuning.
    pub fn new(limits: Limits) -> Pipeline {
        Pipeline {
            limits,
            tuning: Tuning::default(),
        }
    }

    /// What to ask a decoder for: at least `min_scale` of the full size
    /// with this pipeline's shrink-on-load margin, every frame when
    /// `animate`, under this pipeline's limits.
    pub fn decode_request(&self, min_scale: f64, animate: bool) -> decode::DecodeRequest {
        decode::DecodeRequest {
            min_scale,
            scale: (min_scale, min_scale),
            shrink_margin: self.tuning.shrink_margin,
            half_scale_margin: self.tuning.half_scale_margin,
            animate,
            limits: self.limits,
        }
    }

    /// What to ask a decoder for to make `layout` of an image that `turn`
    /// turns: [`Layout::decode_hint`](geometry::Layout::decode_hint) for a
    /// raster source's shrink-on-load, and the layout's exact scale, back in
    /// stored axes, for a vector source rendered at the output size.
    pub fn decode_request_for(
        &self,
        layout: &geometry::Layout,
        turn: &orient::Turn,
        animate: bool,
    ) -> decode::DecodeRequest {
        let (sx, sy) = layout.scale();
        let swapped = turn.size(1, 2).width == 2;
        decode::DecodeRequest {
            scale: if swapped { (sy, sx) } else { (sx, sy) },
            ..self.decode_request(layout.decode_hint(), animate)
        }
    }

    /// Runs the whole pipeline on one source.
    ///
    /// `deadline`, when given, is checked inside every stage (between rows,
    /// strips and frames; before library calls that cannot be interrupted,
    /// see [`deadline`]), so that an image stops costing CPU at its deadline.
    pub fn run(
        &self,
        bytes: &[u8],
        plan: &Plan,
        output: OutputChoice,
        deadline: Option<Instant>,
    ) -> Result<(Encoded, Timings), PipelineError> {
        self.run_chain(bytes, &Chain::single(plan.clone()), output, deadline)
    }

    /// Runs a chained transformation on one source: the first step from the
    /// source's bytes ([`Pipeline::first_step`]: probe, shrink-on-load,
    /// orientation, colour, ...), every later step on the previous step's
    /// pixels ([`Pipeline::later_step`]), then one encode with the chain's
    /// quality. `output` is the choice for the chain's format (the last
    /// step naming `f_`).
    pub fn run_chain(
        &self,
        bytes: &[u8],
        chain: &Chain,
        output: OutputChoice,
        deadline: Option<Instant>,
    ) -> Result<(Encoded, Timings), PipelineError> {
        self.run_layered(bytes, chain, &[], output, deadline, None)
    }

    /// [`Pipeline::run_chain`] with the sources of the chain's layers
    /// (`l_`), in the order of [`Chain::layers`]: each layer is made from
    /// its bytes and drawn on the result of the step it follows
    /// ([`overlay`]); and with the decode cache's view of this source
    /// (`decodes`, from [`decoded::DecodeCache::for_source`] with the same
    /// bytes): a decode at the size this request needs is taken from it,
    /// or made and offered to it. The output is the same either way.
    pub fn run_layered(
        &self,
        bytes: &[u8],
        chain: &Chain,
        layers: &[&[u8]],
        output: OutputChoice,
        deadline: Option<Instant>,
        decodes: Option<&decoded::SourceDecodes>,
    ) -> Result<(Encoded, Timings), PipelineError> {
        let _deadline = deadline::enter(deadline);
        let mut timings = Timings::default();
        let (first, later) = chain
            .steps()
            .split_first()
            .ok_or_else(|| PipelineError::Unprocessable("the transformation has no steps".to_owned()))?;
        let (mut image, format) = self.first_step(bytes, first, output, decodes, &mut timings)?;
        for (index, plan) in std::iter::once(None).chain(later.iter().map(Some)).enumerate() {
            if let Some(plan) = plan {
                let started = Instant::now();
                image = self.later_step(image, plan, format)?;
                timings.transform += started.elapsed();
            }
            for (position, layer) in chain.layers_after(index) {
                let source = layers.get(position).ok_or_else(|| {
                    PipelineError::Unprocessable("the image of a layer (l_) was not given".to_owned())
                })?;
                image = self.draw_layer(image, layer, source, &mut timings)?;
            }
        }

        let started = Instant::now();
        let encoded = encode::encode_with(&image, format, chain.quality(), chain.progressive())?;
        timings.encode = started.elapsed();
        Ok((encoded, timings))
    }

    /// The first step of a chain, from the source's bytes to finished (not
    /// yet encoded) pixels, and the output format it chose.
    fn first_step(
        &self,
        bytes: &[u8],
        plan: &Plan,
        choice: OutputChoice,
        decodes: Option<&decoded::SourceDecodes>,
        timings: &mut Timings,
    ) -> Result<(Image, ImageFormat), PipelineError> {
        let limits = &self.limits;
        let check_deadline = deadline::check;
        let started = Instant::now();

        // Stray bytes between JPEG segments and a missing EOI: browsers show
        // such files, so both builds decode a repaired copy.
        let repaired = codec::jpeg::repair::repair(bytes);
        let bytes = repaired.as_deref().unwrap_or(bytes);
        let probe = probe::probe(bytes)?;
        probe.check_limits(limits)?;
        let mut format = resolve_format(choice, probe.format, probe.has_alpha, probe.animated);

        // Geometry first, on the header's (oriented) size, so that the decoder
        // knows how small it may decode (shrink-on-load) and output limits are
        // checked before any pixel is decoded.
        let turn = orient::Turn::for_plan(probe.width, probe.height, probe.orientation, plan);
        let oriented = turn.size(probe.width, probe.height);
        // `e_trim` charges its trimmed size in place of this one.
        let spent_before = deadline::spent();
        let mut layout = self.checked_layout(oriented, plan, format)?;
        if plan.trim().is_some() {
            // Checked on the whole size, charged on the trimmed one.
            deadline::restore_spent(spent_before);
        }
        let output = layout.output();
        let animate = format.supports_animation();
        let image = if let Some(trim) = plan.trim() {
            let (image, trimmed, alpha) = self.decode_trimmed(bytes, &probe, &turn, plan, trim, format)?;
            if probe.format.output().is_none() {
                format = resolve_format(choice, probe.format, alpha, false);
            }
            layout = trimmed;
            timings.decode = started.elapsed();
            image
        } else if animate && probe.animated {
            let limits = budget_limits(limits, plan, format, output);
            let (image, decode_time, transform_time) =
                self.stream_animation(bytes, &probe, plan, &layout, &limits, &check_deadline)?;
            timings.decode = decode_time;
            timings.transform = transform_time;
            image
        } else if let Some((decodes, size)) = decodes.zip(decode::planned(
            &probe,
            &self.decode_request_for(&layout, &turn, animate),
        )) {
            // The decode cache: the source decoded at the size this request
            // needs (in sRGB, not yet turned), shared with other renditions.
            let (shared, reuse) = match decodes.get(size) {
                Some(shared) => (shared, decoded::DecodeReuse::Hit),
                None => {
                    let request = self.decode_request_for(&layout, &turn, animate);
                    let image = decode::decode(bytes, &probe, &request)?;
                    check_deadline()?;
                    let shared = Arc::new(colour::to_srgb(image, probe.icc_profile.as_deref()));
                    decodes.put(size, Arc::clone(&shared));
                    (shared, decoded::DecodeReuse::Miss)
                }
            };
            timings.decode = started.elapsed();
            timings.decode_reuse = Some(reuse);
            check_deadline()?;
            if probe.format.output().is_none() {
                format = resolve_format(choice, probe.format, shared.channels() == Channels::Rgba, false);
            }

            let started = Instant::now();
            let turned = turn.apply_shared(&shared)?;
            let image = resize::apply_shared(turned, &layout, self.tuning.resample_space)?;
            check_deadline()?;
            let image = effects::apply(image, plan)?;
            timings.transform = started.elapsed();
            image
        } else {
            let request = self.decode_request_for(&layout, &turn, animate);
            let image = decode::decode(bytes, &probe, &request)?;
            timings.decode = started.elapsed();
            check_deadline()?;
            // A format resizer only reads becomes PNG or JPEG by its alpha
            // (unless `f_` names a format): the decoded pixels say whether
            // there is any, where the header could only say there may be.
            if probe.format.output().is_none() {
                format = resolve_format(choice, probe.format, image.channels() == Channels::Rgba, false);
            }

            let started = Instant::now();
            let image = turn.apply(image)?;
            let image = colour::to_srgb(image, probe.icc_profile.as_deref());
            check_deadline()?;
            let image = resize::apply(image, &layout, self.tuning.resample_space)?;
            check_deadline()?;
            let image = effects::apply(image, plan)?;
            timings.transform = started.elapsed();
            image
        };
        let started = Instant::now();
        let image = finish::apply(image, &layout, plan, format)?;
        timings.transform += started.elapsed();
        check_deadline()?;
        Ok((image, format))
    }

    /// The layout of `plan` on an image of `size`, with every size it leads
    /// to held to `max_dimension` (the border and a turn by any angle grow
    /// the output after sizing) and the work budget checked on the largest,
    /// before any pixel of this step is touched.
    fn checked_layout(
        &self,
        size: geometry::Dim,
        plan: &Plan,
        format: ImageFormat,
    ) -> Result<geometry::Layout, PipelineError> {
        let layout = geometry::layout(size, plan, self.limits.max_dimension)?;
        let output = layout.output();
        let last = finish::final_size(output, plan, self.limits.max_dimension)?;
        deadline::check_budget(
            plan,
            format,
            (output.width.max(last.width), output.height.max(last.height)),
            1,
        )?;
        Ok(layout)
    }

    /// A later step of a chain, on the previous step's pixels (already
    /// oriented and in sRGB): `e_trim`, the plan's turn (its flips and
    /// quarter turns; there is no EXIF orientation left to apply), layout on
    /// the current size (so every intermediate size is held to
    /// `max_dimension` and the work budget), resample, effects, finish. An
    /// animation's frames go through one at a time with one resampler (the
    /// same window for all), under the same frame limit by output size as
    /// the first step.
    fn later_step(&self, image: Image, plan: &Plan, format: ImageFormat) -> Result<Image, PipelineError> {
        let image = match plan.trim() {
            Some(trim) => trim::apply(image, trim)?,
            None => image,
        };
        let turn = orient::Turn::for_plan(image.width(), image.height(), 1, plan);
        let size = turn.size(image.width(), image.height());
        let layout = self.checked_layout(size, plan, format)?;
        let output = layout.output();
        let keep = animation_limits(&budget_limits(&self.limits, plan, format, output), output)
            .max_animation_frames
            .max(1);
        let loops = image.loops();
        let mut resampler = resize::Resampler::new(&layout, self.tuning.resample_space);
        let mut kept = Vec::new();
        for frame in image.into_frames().into_iter().take(keep as usize) {
            deadline::check()?;
            let delay_ms = frame.delay_ms();
            let one = turn.apply(Image::from_frame(frame))?;
            let one = resampler.run(one)?;
            let one = effects::apply(one, plan)?;
            kept.extend(one.into_frames().into_iter().map(|f| f.with_delay_ms(delay_ms)));
        }
        let image = Image::assemble(kept, loops)?;
        finish::apply(image, &layout, plan, format)
    }

    /// `e_trim`: the first frame decoded at full size (the border is found
    /// on every source pixel, so no shrink-on-load; an animation gives its
    /// first frame), oriented and converted to sRGB, trimmed; then the
    /// layout is computed on the trimmed size (its limits and work budget
    /// checked again) and the image resampled and given its effects.
    /// Returns the image, the layout of the trimmed size and whether the
    /// decoded pixels have alpha.
    fn decode_trimmed(
        &self,
        bytes: &[u8],
        probe: &Probe,
        turn: &orient::Turn,
        plan: &Plan,
        trim: crate::options::Trim,
        format: ImageFormat,
    ) -> Result<(Image, geometry::Layout, bool), PipelineError> {
        let request = self.decode_request(1.0, false);
        let image = decode::decode(bytes, probe, &request)?;
        deadline::check()?;
        let alpha = image.channels() == Channels::Rgba;
        let image = turn.apply(image)?;
        let image = colour::to_srgb(image, probe.icc_profile.as_deref());
        deadline::check()?;
        let image = trim::apply(image, trim)?;
        let trimmed = geometry::Dim {
            width: image.width(),
            height: image.height(),
        };
        let layout = self.checked_layout(trimmed, plan, format)?;
        let image = resize::apply(image, &layout, self.tuning.resample_space)?;
        deadline::check()?;
        let image = effects::apply(image, plan)?;
        Ok((image, layout, alpha))
    }

    /// Decodes and transforms an animation frame by frame: each frame, as soon
    /// as the decoder has composited it, is oriented, converted to sRGB,
    /// resampled to the layout and given its effects, and only that
    /// output-sized frame is kept. Memory is then one source canvas and its
    /// working copies plus the kept frames, instead of every frame at the
    /// source's size. Returns the image (not yet padded or flattened) and the
    /// time spent decoding and transforming.
    fn stream_animation(
        &self,
        bytes: &[u8],
        probe: &Probe,
        plan: &Plan,
        layout: &geometry::Layout,
        limits: &Limits,
        check_deadline: &dyn Fn() -> Result<(), PipelineError>,
    ) -> Result<(Image, Duration, Duration), PipelineError> {
        let started = Instant::now();
        let turn = orient::Turn::for_plan(probe.width, probe.height, probe.orientation, plan);
        let mut to_srgb = colour::ToSrgb::new(probe.icc_profile.as_deref());
        let mut resampler = resize::Resampler::new(layout, self.tuning.resample_space);
        let mut kept: Vec<Frame> = Vec::new();
        let mut transform = Duration::ZERO;
        let loops = decode::decode_animation(
            bytes,
            probe,
            &animation_limits(limits, layout.output()),
            &mut |frame| {
                check_deadline()?;
                let started = Instant::now();
                let delay_ms = frame.delay_ms();
                let image = turn.apply(Image::from_frame(frame))?;
                let image = to_srgb.apply(image);
                let image = resampler.run(image)?;
                let image = effects::apply(image, plan)?;
                kept.extend(image.into_frames().into_iter().map(|f| f.with_delay_ms(delay_ms)));
                transform += started.elapsed();
                Ok(())
            },
        )?;
        check_deadline()?;
        let image = codec::assemble(kept, loops, probe.format)?;
        Ok((image, started.elapsed().saturating_sub(transform), transform))
    }
}

/// The limits an animation is decoded under when its frames are kept at
/// `output` size: `max_animation_pixels` bounds frames x source pixels (the
/// decoding work, checked by the decoder) and also frames x output pixels
/// (what is kept until encoding, which may be larger than the source when
/// enlarging), by lowering the frame limit. The first frame always fits:
/// it is the still image, bounded by `max_src_pixels` and `max_dimension`.
pub fn animation_limits(limits: &Limits, output: geometry::Dim) -> Limits {
    let output_pixels = (u64::from(output.width) * u64::from(output.height)).max(1);
    let by_output = limits.max_animation_pixels / output_pixels;
    Limits {
        max_animation_frames: limits
            .max_animation_frames
            .min(u32::try_from(by_output).unwrap_or(u32::MAX)),
        ..*limits
    }
}

/// `limits` with the frames of an animation cut to what the work budget
/// allows ([`deadline::check_budget`]): frames past it are dropped, as
/// frames past `max_animation_pixels` are; the first frame always stays.
fn budget_limits(limits: &Limits, plan: &Plan, format: ImageFormat, output: geometry::Dim) -> Limits {
    let pixels = u64::from(output.width) * u64::from(output.height);
    let per_frame = deadline::work(plan, format, pixels, 1).max(1);
    let frames = (deadline::WORK_BUDGET / per_frame).max(1);
    Limits {
        max_animation_frames: limits
            .max_animation_frames
            .min(u32::try_from(frames).unwrap_or(u32::MAX)),
        ..*limits
    }
}

/// Chooses the output format (README, "Transformations", `f_`).
///
/// Without `f_` (`OutputChoice::Source`) the source's format is kept when
/// resizer writes it; a format it only reads (BMP, ICO, TIFF, JPEG XL, SVG) becomes PNG when
/// the image has transparency, else JPEG, the choice `f_auto` makes for a
/// client that accepts neither WebP nor AVIF.
///
/// For `f_auto`, an animated source prefers WebP to AVIF when the client
/// accepts both: resizer writes AVIF as a still image, and the README ("Output") keeps
/// animation whenever the chosen format can. For the same reason an
/// animated source whose client accepts neither stays a GIF, the animated
/// format every client shows, rather than becoming a still PNG or JPEG.
pub fn resolve_format(
    output: OutputChoice,
    source: impl Into<SourceFormat>,
    has_alpha: bool,
    animated: bool,
) -> ImageFormat {
    let by_alpha = if has_alpha {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    match output {
        OutputChoice::Source => source.into().output().unwrap_or(by_alpha),
        OutputChoice::Fixed(format) => format,
        OutputChoice::Auto { webp: true, .. } if animated => ImageFormat::Webp,
        OutputChoice::Auto { avif: true, .. } => ImageFormat::Avif,
        OutputChoice::Auto { webp: true, .. } => ImageFormat::Webp,
        OutputChoice::Auto { .. } if animated => ImageFormat::Gif,
        OutputChoice::Auto { .. } => by_alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;

    fn plan(text: &str) -> Plan {
        Plan::parse(text, &GrammarLimits::default()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// An 8x8 GIF playing three times: frame 1 fills it red (10 cs), frame 2
    /// draws a blue 4x4 square in the top-right corner (20 cs) and disposes
    /// it to transparent, frame 3 draws one green pixel at the bottom-left
    /// (30 cs).
    fn disposal_gif() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let palette = [255, 0, 0, 0, 0, 255, 0, 255, 0];
            let mut encoder = gif::Encoder::new(&mut out, 8, 8, &palette).unwrap();
            encoder.set_repeat(gif::Repeat::Finite(2)).unwrap();
            let mut first = gif::Frame::from_indexed_pixels(8, 8, vec![0u8; 64], None);
            first.delay = 10;
            encoder.write_frame(&first).unwrap();
            let mut second = gif::Frame::from_indexed_pixels(4, 4, vec![1u8; 16], None);
            (second.left, second.top, second.delay) = (4, 0, 20);
            second.dispose = gif::DisposalMethod::Background;
            encoder.write_frame(&second).unwrap();
            let mut third = gif::Frame::from_indexed_pixels(1, 1, vec![2], None);
            (third.left, third.top, third.delay) = (0, 7, 30);
            encoder.write_frame(&third).unwrap();
        }
        out
    }

    /// The animation path: decoded and transformed frame by frame, finished.
    fn streamed(bytes: &[u8], text: &str, limits: &Limits) -> Image {
        let plan = plan(text);
        let probe = probe::probe(bytes).unwrap();
        let turn = orient::Turn::for_plan(probe.width, probe.height, probe.orientation, &plan);
        let oriented = turn.size(probe.width, probe.height);
        let layout = geometry::layout(oriented, &plan, limits.max_dimension).unwrap();
        let (image, _, _) = Pipeline::new(*limits)
            .stream_animation(bytes, &probe, &plan, &layout, limits, &|| Ok(()))
            .unwrap();
        finish::apply(image, &layout, &plan, ImageFormat::Gif).unwrap()
    }

    /// The same stages run on the whole decoded animation at once.
    fn whole(bytes: &[u8], text: &str) -> Image {
        let plan = plan(text);
        let limits = Limits::default();
        let probe = probe::probe(bytes).unwrap();
        let turn = orient::Turn::for_plan(probe.width, probe.height, probe.orientation, &plan);
        let oriented = turn.size(probe.width, probe.height);
        let layout = geometry::layout(oriented, &plan, limits.max_dimension).unwrap();
        let request = Pipeline::new(limits).decode_request(1.0, true);
        let image = decode::decode(bytes, &probe, &request).unwrap();
        let image = turn.apply(image).unwrap();
        let image = colour::to_srgb(image, probe.icc_profile.as_deref());
        let image = resize::apply(image, &layout, ResampleSpace::DEFAULT).unwrap();
        let image = effects::apply(image, &plan).unwrap();
        finish::apply(image, &layout, &plan, ImageFormat::Gif).unwrap()
    }

    fn pixel(image: &Image, frame: usize, x: u32, y: u32) -> Vec<u8> {
        let n = image.channels().count();
        let f = &image.frames()[frame];
        let i = (y as usize * f.width() as usize + x as usize) * n;
        f.data()[i..i + n].to_vec()
    }

    #[test]
    fn streamed_animation_keeps_frames_timing_and_disposal() {
        let bytes = disposal_gif();
        // Rotated a quarter turn clockwise, the blue square is at the
        // bottom right: cut it out of every frame.
        let image = streamed(&bytes, "a_90,c_crop,w_4,h_4,g_south_east", &Limits::default());
        assert_eq!(image.frames().len(), 3);
        assert_eq!(image.loops(), 3);
        let delays: Vec<u32> = image.frames().iter().map(|f| f.delay_ms()).collect();
        assert_eq!(delays, [100, 200, 300]);
        for frame in image.frames() {
            assert_eq!((frame.width(), frame.height()), (4, 4));
        }
        // The third frame shows the square disposed to transparent, so every
        // frame is RGBA; the earlier two are opaque.
        assert_eq!(image.channels(), Channels::Rgba);
        for (x, y) in [(0, 0), (3, 3), (1, 2)] {
            assert_eq!(pixel(&image, 0, x, y), [255, 0, 0, 255]);
            assert_eq!(pixel(&image, 1, x, y), [0, 0, 255, 255]);
            assert_eq!(pixel(&image, 2, x, y)[3], 0);
        }
        // The green pixel (bottom left before the turn) is now top left.
        let image = streamed(&bytes, "a_90", &Limits::default());
        assert_eq!(pixel(&image, 2, 0, 0), [0, 255, 0, 255]);
        assert_eq!(pixel(&image, 2, 7, 7)[3], 0);
        assert_eq!(pixel(&image, 2, 0, 7), [255, 0, 0, 255]);
    }

    #[test]
    fn streamed_animation_matches_the_whole_image_path() {
        let bytes = disposal_gif();
        for text in [
            "w_16",
            "w_3",
            "a_270,w_5,h_3,c_fill",
            "c_pad,w_10,h_6,b_black",
            "w_6,e_blur,e_grayscale",
        ] {
            let a = streamed(&bytes, text, &Limits::default());
            let b = whole(&bytes, text);
            assert_eq!(
                (a.channels(), a.loops(), a.frames().len()),
                (b.channels(), b.loops(), b.frames().len()),
                "{text}"
            );
            for (fa, fb) in a.frames().iter().zip(b.frames()) {
                assert_eq!(
                    (fa.width(), fa.height(), fa.delay_ms()),
                    (fb.width(), fb.height(), fb.delay_ms()),
                    "{text}"
                );
                // Opaque frames are resampled as RGB, not RGBA: one step of
                // rounding apart at most.
                assert!(
                    fa.data().iter().zip(fb.data()).all(|(x, y)| x.abs_diff(*y) <= 1),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn kept_frames_are_bounded_by_output_pixels_too() {
        let bytes = disposal_gif();
        // 3 frames of 8x8 source fit easily; at 64x64 only 2 fit in 8200 pixels.
        let limits = Limits {
            max_animation_pixels: 64 * 64 * 2 + 8,
            ..Limits::default()
        };
        assert_eq!(streamed(&bytes, "w_8", &limits).frames().len(), 3);
        assert_eq!(streamed(&bytes, "w_64", &limits).frames().len(), 2);
        // The first frame is always kept.
        let tiny = Limits {
            max_animation_pixels: 10,
            ..Limits::default()
        };
        assert_eq!(streamed(&bytes, "w_64", &tiny).frames().len(), 1);
        let bounded = animation_limits(
            &Limits::default(),
            geometry::Dim {
                width: 8192,
                height: 8192,
            },
        );
        // 500 MP of 8192x8192 (67 MP) output frames: 7 of them.
        assert_eq!(bounded.max_animation_frames, 7);
        let unchanged = animation_limits(
            &Limits::default(),
            geometry::Dim {
                width: 200,
                height: 200,
            },
        );
        assert_eq!(unchanged.max_animation_frames, 100);
    }

    /// A 40x20 PNG, red on the left half and blue on the right.
    fn halves_png() -> Vec<u8> {
        let mut data = Vec::new();
        for _y in 0..20 {
            for x in 0..40 {
                data.extend_from_slice(if x < 20 { &[255, 0, 0] } else { &[0, 0, 255] });
            }
        }
        let image = Image::still(40, 20, Channels::Rgb, data).unwrap();
        encode::encode(&image, ImageFormat::Png, crate::options::Quality::Default)
            .unwrap()
            .bytes
    }

    fn chain(text: &str) -> Chain {
        Chain::parse(
            text,
            &GrammarLimits::default(),
            &crate::options::Presets::default(),
        )
        .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Runs `text` and decodes the result again.
    fn run_chain(bytes: &[u8], text: &str, limits: Limits) -> Result<(Encoded, Image), PipelineError> {
        let (encoded, _) =
            Pipeline::new(limits).run_chain(bytes, &chain(text), OutputChoice::Source, None)?;
        let probe = probe::probe(&encoded.bytes).unwrap();
        let image = decode::decode(
            &encoded.bytes,
            &probe,
            &Pipeline::default().decode_request(1.0, true),
        )
        .unwrap();
        Ok((encoded, image))
    }

    #[test]
    fn each_step_works_on_the_previous_result() {
        let bytes = halves_png();
        // Crop the blue half, then scale it: all blue, square.
        let (encoded, image) = run_chain(&bytes, "c_crop,w_20,h_20,g_east/w_10", Limits::default()).unwrap();
        assert_eq!((encoded.width, encoded.height), (10, 10));
        for (x, y) in [(0, 0), (9, 9), (5, 5)] {
            assert_eq!(pixel(&image, 0, x, y), [0, 0, 255], "({x},{y})");
        }
        // The other order: scaled to 10x5 first, a 4x4 crop at either side.
        for (gravity, colour) in [("east", [0, 0, 255]), ("west", [255, 0, 0])] {
            let (encoded, image) = run_chain(
                &bytes,
                &format!("w_10/c_crop,w_4,h_4,g_{gravity}"),
                Limits::default(),
            )
            .unwrap();
            assert_eq!((encoded.width, encoded.height), (4, 4));
            assert_eq!(pixel(&image, 0, 0, 0), colour);
            assert_eq!(pixel(&image, 0, 3, 3), colour);
        }
        // A later rotation sees the current size: 10x5 turned is 5x10, red at the top.
        let (encoded, image) = run_chain(&bytes, "w_10/a_90", Limits::default()).unwrap();
        assert_eq!((encoded.width, encoded.height), (5, 10));
        assert_eq!(pixel(&image, 0, 2, 0), [255, 0, 0]);
        assert_eq!(pixel(&image, 0, 2, 9), [0, 0, 255]);
        // Relative sizes are of the current image, not of the source.
        let (encoded, _) = run_chain(&bytes, "w_20/w_0.5", Limits::default()).unwrap();
        assert_eq!((encoded.width, encoded.height), (10, 5));
    }

    #[test]
    fn the_steps_of_a_chain_share_one_work_budget() {
        // One 3000x3000 AVIF step is about half the budget: alone it fits,
        // two of them do not (each used to be checked on its own).
        let step = plan("w_3000,h_3000");
        assert_eq!(
            deadline::check_budget(&step, ImageFormat::Avif, (3000, 3000), 1),
            Ok(())
        );
        let avif = OutputChoice::Fixed(ImageFormat::Avif);
        let pipeline = Pipeline::default();
        let err = pipeline
            .run_chain(&halves_png(), &chain("w_3000,h_3000/w_2999,h_3000"), avif, None)
            .unwrap_err();
        assert!(
            matches!(&err, PipelineError::Unprocessable(m) if m.contains("earlier steps")),
            "{err:?}"
        );
        // The charge ends with the job: the next one starts from nothing.
        assert_eq!(deadline::spent(), None);
    }

    #[test]
    fn every_intermediate_size_is_held_to_max_dimension() {
        let bytes = halves_png();
        let limits = Limits {
            max_dimension: 100,
            ..Limits::default()
        };
        assert!(run_chain(&bytes, "w_100/w_10", limits).is_ok());
        let err = run_chain(&bytes, "w_80/c_scale,w_1.0,h_120/w_10", limits)
            .err()
            .unwrap();
        assert!(matches!(err, PipelineError::OutputTooLarge { .. }), "{err}");
    }

    #[test]
    fn the_last_step_naming_f_and_q_decides_the_output() {
        let bytes = halves_png();
        let (encoded, _) = Pipeline::default()
            .run_chain(
                &bytes,
                &chain("f_jpg,w_20/w_10"),
                OutputChoice::Fixed(ImageFormat::Jpeg),
                None,
            )
            .unwrap();
        assert_eq!(encoded.format, ImageFormat::Jpeg);
        let low = Pipeline::default()
            .run_chain(
                &bytes,
                &chain("q_5/w_30"),
                OutputChoice::Fixed(ImageFormat::Jpeg),
                None,
            )
            .unwrap()
            .0;
        let high = Pipeline::default()
            .run_chain(
                &bytes,
                &chain("q_5/w_30,q_100"),
                OutputChoice::Fixed(ImageFormat::Jpeg),
                None,
            )
            .unwrap()
            .0;
        assert!(
            low.bytes.len() < high.bytes.len(),
            "{} {}",
            low.bytes.len(),
            high.bytes.len()
        );
    }

    #[test]
    fn later_steps_apply_to_every_frame_of_an_animation() {
        let bytes = disposal_gif();
        let (encoded, image) = run_chain(&bytes, "w_4/a_90", Limits::default()).unwrap();
        assert_eq!(encoded.format, ImageFormat::Gif);
        assert_eq!(image.frames().len(), 3);
        // The loop count survives as in a one-step request.
        let (_, one_step) = run_chain(&bytes, "w_4", Limits::default()).unwrap();
        assert_eq!(image.loops(), one_step.loops());
        let delays: Vec<u32> = image.frames().iter().map(|f| f.delay_ms()).collect();
        assert_eq!(delays, [100, 200, 300]);
        for frame in image.frames() {
            assert_eq!((frame.width(), frame.height()), (4, 4));
        }
        // Frame 2's blue square (top right) is at the bottom right once turned.
        let close = |a: &[u8], b: [u8; 3]| a[..3].iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2);
        assert!(close(&pixel(&image, 1, 3, 3), [0, 0, 255]));
        assert!(close(&pixel(&image, 1, 0, 0), [255, 0, 0]));
    }

    #[test]
    fn without_f_a_read_only_source_becomes_png_or_jpeg_by_alpha() {
        let source = OutputChoice::Source;
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Webp,
            ImageFormat::Avif,
        ] {
            for alpha in [true, false] {
                assert_eq!(resolve_format(source, format, alpha, false), format);
            }
        }
        assert_eq!(
            resolve_format(source, ImageFormat::Gif, false, true),
            ImageFormat::Gif
        );
        for read_only in [
            SourceFormat::Bmp,
            SourceFormat::Ico,
            SourceFormat::Tiff,
            SourceFormat::Jxl,
            SourceFormat::Svg,
        ] {
            assert_eq!(resolve_format(source, read_only, true, false), ImageFormat::Png);
            assert_eq!(resolve_format(source, read_only, false, false), ImageFormat::Jpeg);
            // `f_` still decides when given.
            let fixed = OutputChoice::Fixed(ImageFormat::Webp);
            assert_eq!(resolve_format(fixed, read_only, false, false), ImageFormat::Webp);
        }
    }

    #[test]
    fn auto_format_prefers_webp_for_animations() {
        let both = OutputChoice::Auto {
            avif: true,
            webp: true,
        };
        assert_eq!(
            resolve_format(both, ImageFormat::Gif, false, true),
            ImageFormat::Webp
        );
        assert_eq!(
            resolve_format(both, ImageFormat::Gif, false, false),
            ImageFormat::Avif
        );
        let avif = OutputChoice::Auto {
            avif: true,
            webp: false,
        };
        assert_eq!(
            resolve_format(avif, ImageFormat::Gif, false, true),
            ImageFormat::Avif
        );
        let none = OutputChoice::Auto {
            avif: false,
            webp: false,
        };
        // An animation stays animated: GIF, whether it has alpha or not.
        for alpha in [true, false] {
            assert_eq!(
                resolve_format(none, ImageFormat::Gif, alpha, true),
                ImageFormat::Gif
            );
        }
        assert_eq!(
            resolve_format(none, ImageFormat::Gif, true, false),
            ImageFormat::Png
        );
        assert_eq!(
            resolve_format(none, ImageFormat::Png, false, false),
            ImageFormat::Jpeg
        );
    }

    /// Runs `text` on `bytes` through the decode cache `handle`.
    fn reusing(
        bytes: &[u8],
        text: &str,
        handle: &decoded::SourceDecodes,
    ) -> (Vec<u8>, Option<decoded::DecodeReuse>) {
        let (encoded, timings) = Pipeline::default()
            .run_layered(bytes, &chain(text), &[], OutputChoice::Source, None, Some(handle))
            .unwrap();
        (encoded.bytes, timings.decode_reuse)
    }

    #[test]
    fn the_decode_cache_changes_no_output_byte() {
        use decoded::DecodeReuse::{Hit, Miss};
        let photo = include_bytes!("../../tests/fixtures/photo-coffee.jpg").to_vec();
        let turned = include_bytes!("../../tests/fixtures/exif-orientation-6.jpg").to_vec();
        let p3 = include_bytes!("../../tests/fixtures/display-p3.jpg").to_vec();
        let cache = decoded::DecodeCache::new(64 << 20, crate::admission::Admission::First);
        for (name, bytes) in [
            ("photo", photo),
            ("turned", turned),
            ("p3", p3),
            ("png", halves_png()),
        ] {
            let handle = cache.for_source(name, bytes::Bytes::from(bytes.clone())).unwrap();
            for text in [
                "w_100",
                "w_120,h_80,c_fill,g_auto",
                "w_30,h_30,c_pad,b_red,f_png",
                "c_crop,w_16,h_12,g_north_east",
                "a_90,w_40",
                "e_grayscale,w_64,f_webp",
                "w_1.0",
            ] {
                let (fresh, _) = run_chain(&bytes, text, Limits::default()).unwrap();
                let (first, _) = reusing(&bytes, text, &handle);
                let (second, reuse) = reusing(&bytes, text, &handle);
                assert_eq!(first, fresh.bytes, "{name} {text}: through the cache (miss)");
                assert_eq!(second, fresh.bytes, "{name} {text}: through the cache (hit)");
                assert_eq!(reuse, Some(Hit), "{name} {text}");
            }
        }

        // Two sizes that decode at the same JPEG scale share one decode; a
        // size that needs more resolution decodes again.
        let photo = include_bytes!("../../tests/fixtures/photo-coffee.jpg");
        let handle = decoded::DecodeCache::new(64 << 20, crate::admission::Admission::First)
            .for_source("photo", bytes::Bytes::from_static(photo))
            .unwrap();
        // (The 600x400 photo at 1/4 scale with either build's margin.)
        assert_eq!(reusing(photo, "w_60", &handle).1, Some(Miss));
        assert_eq!(reusing(photo, "w_60,f_webp", &handle).1, Some(Hit));
        assert_eq!(reusing(photo, "w_36,h_36,c_fill", &handle).1, Some(Hit));
        assert_eq!(reusing(photo, "w_1.0", &handle).1, Some(Miss));
        // An animation is not kept.
        let gif = disposal_gif();
        let handle = decoded::DecodeCache::new(64 << 20, crate::admission::Admission::First)
            .for_source("gif", bytes::Bytes::from(gif.clone()))
            .unwrap();
        assert_eq!(reusing(&gif, "w_4", &handle).1, None);
    }
}
