//! The processing deadline, inside every stage, and the work a request may
//! ask for before any of it is done.
//!
//! A request's deadline (`processing_timeout`) used to be checked only
//! between stages, so one long stage (an 8192x8190 blur, a 67-megapixel
//! AVIF) held its CPU slot for half a minute past it. Here it reaches inside
//! the stages, three ways:
//!
//! - [`check`] between rows, strips, tiles and frames of the loops this
//!   crate owns (resampling strips, effects, PNG rows, GIF frames and rows,
//!   animation frames): the stage stops within one row of the deadline;
//! - [`ensure_time_for`] before a call this crate cannot interrupt (an
//!   encoder library with no cancellation hook: rav1e, libwebp, the JPEG
//!   encoders, one resampling call): the call is not started when
//!   its predicted time, from the slowest recent rate measured on this
//!   machine ([`record`]), does not fit in the time left, so no CPU is spent
//!   on work that would end past the deadline;
//! - [`check_budget`] before anything is decoded: a request whose work,
//!   from the plan (output pixels x the cost of each effect and of the
//!   output format, x frames), is over [`WORK_BUDGET`] is refused as
//!   unprocessable (422): no deadline would let it finish on one core, and
//!   asking again later would not help, so it is not a 503.
//!
//! The deadline of the job running on a thread is held by that thread
//! ([`enter`]): the pipeline runs synchronously on one thread (an invariant
//! of ARCHITECTURE.md), and the stages keep the signatures the benches,
//! `resizer convert` and the fuzz targets call them with. Without a deadline
//! every check passes.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::PipelineError;
use crate::format::ImageFormat;
use crate::options::Plan;

thread_local! {
    /// The deadline of the job running on this thread, if any.
    static CURRENT: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The work already charged to the job running on this thread
    /// ([`check_budget`]), so that the steps of a chain and its layers
    /// share one [`WORK_BUDGET`] instead of each having its own; `None`
    /// outside a job (each check then stands alone).
    static SPENT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Restores the previous deadline of the thread when dropped.
#[must_use = "the deadline holds only while the scope lives"]
pub struct Scope {
    previous: Option<Instant>,
    spent: Option<u64>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
        SPENT.with(|c| c.set(self.spent));
    }
}

/// Makes `deadline` the deadline of the work done on this thread until the
/// returned scope is dropped.
pub fn enter(deadline: Option<Instant>) -> Scope {
    Scope {
        previous: CURRENT.with(|c| c.replace(deadline)),
        spent: SPENT.with(|c| c.replace(Some(0))),
    }
}

/// `Err(DeadlineExceeded)` once this thread's deadline has passed. Cheap
/// (one clock read): called once per row.
pub fn check() -> Result<(), PipelineError> {
    match CURRENT.with(Cell::get) {
        Some(deadline) if Instant::now() > deadline => Err(PipelineError::DeadlineExceeded),
        _ => Ok(()),
    }
}

/// A call the pipeline cannot interrupt, with its own measured rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// One `fast_image_resize` call, per output pixel.
    Resample,
    /// One still encoded by a library, per output pixel.
    Encode(ImageFormat),
}

impl Stage {
    fn index(self) -> usize {
        match self {
            Stage::Resample => 0,
            Stage::Encode(ImageFormat::Jpeg) => 1,
            Stage::Encode(ImageFormat::Png) => 2,
            Stage::Encode(ImageFormat::Gif) => 3,
            Stage::Encode(ImageFormat::Webp) => 4,
            Stage::Encode(ImageFormat::Avif) => 5,
        }
    }

    /// The rate assumed before any measurement, in picoseconds per pixel:
    /// 1.5x the rate of one idle core (BENCHMARKS.md, "Deadline"); a loaded
    /// machine's slower rates replace it with the first measurement.
    fn initial_rate(self) -> u64 {
        match self {
            Stage::Resample => 20_000,
            Stage::Encode(ImageFormat::Jpeg) => 20_000,
            Stage::Encode(ImageFormat::Png) => 20_000,
            Stage::Encode(ImageFormat::Gif) => 300_000,
            Stage::Encode(ImageFormat::Webp) => 60_000,
            Stage::Encode(ImageFormat::Avif) => 2_000_000,
        }
    }
}

/// Measured rates (picoseconds per pixel) of the stages of [`Stage`], 0 until
/// the first measurement.
static RATES: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// Calls smaller than this are not measured: their time is mostly fixed
/// overhead (headers, tables), which would overstate the per-pixel rate.
const MIN_MEASURED_PIXELS: u64 = 65_536;

/// The rate predictions use: the measured one once there is one.
fn rate(stage: Stage) -> u64 {
    match RATES[stage.index()].load(Ordering::Relaxed) {
        0 => stage.initial_rate(),
        measured => measured,
    }
}

/// The predicted time of `stage` over `pixels`.
pub fn predict(stage: Stage, pixels: u64) -> Duration {
    Duration::from_nanos(pixels.saturating_mul(rate(stage)) / 1000)
}

/// At most this factor up per measurement: one call stretched by a pause
/// (the thread preempted, a page-fault storm) must not make every request
/// of that stage look impossible for the next several calls, while a
/// machine that stays slow is followed within two or three measurements.
const MAX_RATE_RISE: u64 = 4;

/// Records that `stage` took `elapsed` over `pixels`. The rate follows
/// measurements up quickly (a loaded machine must stop early; at most
/// [`MAX_RATE_RISE`] times per measurement) and down by a quarter of the
/// difference per measurement (one quick run on an idle machine must not
/// make the next prediction optimistic).
pub fn record(stage: Stage, pixels: u64, elapsed: Duration) {
    if pixels < MIN_MEASURED_PIXELS {
        return;
    }
    let measured =
        u64::try_from(elapsed.as_nanos().saturating_mul(1000) / u128::from(pixels)).unwrap_or(u64::MAX);
    let slot = &RATES[stage.index()];
    let old = match slot.load(Ordering::Relaxed) {
        0 => stage.initial_rate(),
        old => old,
    };
    let new = if measured >= old {
        measured.min(old.saturating_mul(MAX_RATE_RISE))
    } else {
        old - (old - measured) / 4
    };
    slot.store(new.max(1), Ordering::Relaxed);
}

/// `Err(DeadlineExceeded)` when `stage` over `pixels` is predicted to end
/// past this thread's deadline: the call is then not started at all.
pub fn ensure_time_for(stage: Stage, pixels: u64) -> Result<(), PipelineError> {
    check()?;
    match CURRENT.with(Cell::get) {
        Some(deadline) if Instant::now() + predict(stage, pixels) > deadline => {
            Err(PipelineError::DeadlineExceeded)
        }
        _ => Ok(()),
    }
}

/// Runs `call` (a library call of `stage` over `pixels` that cannot be
/// interrupted) if it is predicted to end in time, and measures it.
pub fn timed<T>(
    stage: Stage,
    pixels: u64,
    call: impl FnOnce() -> Result<T, PipelineError>,
) -> Result<T, PipelineError> {
    ensure_time_for(stage, pixels)?;
    let started = Instant::now();
    let result = call();
    if result.is_ok() {
        record(stage, pixels, started.elapsed());
    }
    result
}

/// The most work one request may ask for, in units of about the cost of
/// resampling one output pixel (5 ns of an idle core, 30 ns of a loaded
/// one): 4 G units is about the default `processing_timeout` (20 s) of an
/// idle core. Every still the contract allows in JPEG, PNG, GIF or WebP
/// fits, with every effect (8192x8192 GIF: 3.6 G units); what does not is
/// AVIF over about 17 megapixels (rav1e needs over a microsecond per pixel
/// even at its fastest speed) and long animations at large sizes.
pub const WORK_BUDGET: u64 = 4_000_000_000;

/// The cost of one output pixel in each output format, in [`WORK_BUDGET`]
/// units: the encoders' measured rates relative to JPEG's (BENCHMARKS.md,
/// "Deadline": 56 ns JPEG and PNG, 213 ns WebP, 976 ns GIF, 6.3 µs AVIF per
/// pixel of a 1000x1000 image on the loaded 2-core machine).
fn encode_cost(format: ImageFormat) -> u64 {
    match format {
        ImageFormat::Jpeg => 2,
        ImageFormat::Png => 2,
        ImageFormat::Gif => 35,
        ImageFormat::Webp => 8,
        ImageFormat::Avif => 226,
    }
}

/// What blur and sharpen cost per output pixel: three box passes each way
/// over every channel, whatever the strength (the running sums make a box
/// cost the same at any radius).
const EFFECT_COST: u64 = 8;

/// The work of `plan` producing `frames` frames of `output_pixels` each in
/// `format`, in [`WORK_BUDGET`] units.
pub fn work(plan: &Plan, format: ImageFormat, output_pixels: u64, frames: u64) -> u64 {
    let effects = (u64::from(plan.blur().is_some()) + u64::from(plan.sharpen().is_some())) * EFFECT_COST
        + u64::from(plan.grayscale());
    let per_pixel = 1 + effects + encode_cost(format);
    output_pixels
        .saturating_mul(per_pixel)
        .saturating_mul(frames.max(1))
}

/// The work charged so far to the job on this thread (`None` outside a
/// job), to be given back to [`restore_spent`] when a step's charge is
/// replaced by a better estimate (`e_trim`: the trimmed size after the
/// whole one).
pub fn spent() -> Option<u64> {
    SPENT.with(Cell::get)
}

/// Sets the work charged so far back to what [`spent`] returned.
pub fn restore_spent(spent: Option<u64>) {
    SPENT.with(|c| c.set(spent));
}

/// Refuses (422) a request whose [`work`] is over [`WORK_BUDGET`], before
/// any pixel is decoded, with a sentence saying what to ask for instead.
pub fn check_budget(
    plan: &Plan,
    format: ImageFormat,
    output: (u32, u32),
    frames: u64,
) -> Result<(), PipelineError> {
    let pixels = u64::from(output.0) * u64::from(output.1);
    let own = work(plan, format, pixels, frames);
    let spent = SPENT.with(Cell::get);
    let work = own.saturating_add(spent.unwrap_or(0));
    if work <= WORK_BUDGET {
        if spent.is_some() {
            SPENT.with(|c| c.set(Some(work)));
        }
        return Ok(());
    }
    let earlier = if spent.is_some_and(|s| s > 0) {
        " (with the earlier steps and layers of this transformation)"
    } else {
        ""
    };
    let per_frame = work / frames.max(1);
    let fitting_pixels = pixels.saturating_mul(WORK_BUDGET) / per_frame.max(1) / frames.max(1);
    let frames_text = if frames > 1 {
        format!(" x {frames} frames")
    } else {
        String::new()
    };
    Err(PipelineError::Unprocessable(format!(
        "the request is too much work: a {}x{} {format}{frames_text} with these effects{earlier} costs \
         {:.1}x the per-request budget; ask for at most about {:.1} megapixels in {format} with them",
        output.0,
        output.1,
        work as f64 / WORK_BUDGET as f64,
        fitting_pixels as f64 / 1e6,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;

    fn plan(text: &str) -> Plan {
        Plan::parse(text, &GrammarLimits::default()).unwrap()
    }

    #[test]
    fn check_follows_the_scope() {
        assert_eq!(check(), Ok(()));
        {
            let _scope = enter(Some(Instant::now() - Duration::from_millis(1)));
            assert_eq!(check(), Err(PipelineError::DeadlineExceeded));
            {
                let _inner = enter(None);
                assert_eq!(check(), Ok(()));
            }
            assert_eq!(check(), Err(PipelineError::DeadlineExceeded));
        }
        assert_eq!(check(), Ok(()));
        let _scope = enter(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(check(), Ok(()));
    }

    #[test]
    fn work_that_cannot_end_in_time_is_not_started() {
        let _scope = enter(Some(Instant::now() + Duration::from_millis(300)));
        // 4 megapixels of AVIF take seconds at any measured rate.
        assert_eq!(
            ensure_time_for(Stage::Encode(ImageFormat::Avif), 4_000_000),
            Err(PipelineError::DeadlineExceeded)
        );
        let mut ran = false;
        let result = timed(Stage::Encode(ImageFormat::Avif), 4_000_000, || {
            ran = true;
            Ok(())
        });
        assert_eq!(result, Err(PipelineError::DeadlineExceeded));
        assert!(!ran);
        // A thumbnail fits.
        assert_eq!(
            ensure_time_for(Stage::Encode(ImageFormat::Jpeg), 300 * 200),
            Ok(())
        );
    }

    #[test]
    fn rates_follow_slow_measurements_quickly_and_fast_ones_slowly() {
        // GIF frames are checked row by row, never timed as one call: no
        // other test of this process reads this rate.
        let stage = Stage::Encode(ImageFormat::Gif);
        let pixels = 1_000_000;
        // Faster than the initial 300 ns a pixel: down by a quarter of the gap.
        record(stage, pixels, Duration::from_millis(100));
        assert_eq!(rate(stage), 250_000);
        // One call 40x slower: up 4x, not 40x.
        record(stage, pixels, Duration::from_secs(10));
        assert_eq!(rate(stage), 1_000_000);
        record(stage, pixels, Duration::from_secs(1));
        assert_eq!(rate(stage), 1_000_000);
        record(stage, pixels, Duration::from_millis(200));
        assert_eq!(rate(stage), 800_000);
        // Small calls are not measured.
        record(stage, 100, Duration::from_secs(10));
        assert_eq!(rate(stage), 800_000);
        assert_eq!(predict(stage, 1_000_000), Duration::from_millis(800));
        // Back to unmeasured, for the other tests of this process.
        RATES[stage.index()].store(0, Ordering::Relaxed);
    }

    #[test]
    fn budget_refuses_what_no_deadline_would_let_finish() {
        assert_eq!(
            check_budget(&plan("w_300"), ImageFormat::Jpeg, (300, 200), 1),
            Ok(())
        );
        // Every still the contract allows in the library-encoded formats,
        // with every effect, fits.
        let all = plan("e_blur:2000,e_sharpen:2000,e_grayscale");
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Webp,
            ImageFormat::Gif,
        ] {
            assert_eq!(check_budget(&all, format, (8192, 8192), 1), Ok(()), "{format}");
        }
        assert_eq!(
            check_budget(&plan("w_2000"), ImageFormat::Avif, (2000, 2000), 1),
            Ok(())
        );
        match check_budget(&plan("w_8192"), ImageFormat::Avif, (8192, 8189), 1) {
            Err(PipelineError::Unprocessable(message)) => {
                assert!(message.contains("too much work"), "{message}");
                assert!(message.contains("avif"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Frames count.
        assert!(check_budget(&plan("w_2000"), ImageFormat::Gif, (2000, 2000), 100).is_err());
        assert_eq!(
            check_budget(&plan("w_2000"), ImageFormat::Gif, (2000, 2000), 10),
            Ok(())
        );
        assert!(check_budget(&plan("w_4500"), ImageFormat::Avif, (4500, 4500), 1).is_err());
    }
}
