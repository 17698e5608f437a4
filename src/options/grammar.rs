//! Stage one and two of the grammar: text -> tokens -> plan, and the plan's
//! canonical form.
//!
//! Keys and values are case-sensitive and written in lower case (`w_150`,
//! `c_fill`, `f_webp`), except the hex digits of `b_rgb:` which may be either.
//! Nothing is trimmed: ` w_1` is an unknown token, not `w_1`.
//!
//! The canonical form ([`canonical`]) writes the keys in one fixed order,
//! `w,h,c,g,x,y,dpr,q,f,b,a,e_blur,e_sharpen,e_grayscale`, with normalised
//! values, and leaves out every key whose value is the default (so the empty
//! transformation has the empty key). `q_80` and no `q_` are the same key, as
//! the encoder treats them alike; `f_jpg` and `f_jpeg` are `f_jpeg`; `g_` is
//! written as the effective gravity (`c_thumb` alone is `c_thumb,g_auto`).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{
    Angle, AutoQuality, AutoRotate, AutoWidth, Border, ClientHints, CropMode, FormatRequest, GrammarLimits,
    Gravity, Offset, OptionsError, Pixelate, Plan, Quality, Radius, Rgba, Size, Trim,
};
use crate::format::ImageFormat;

/// The keys resizer knows, as listed in "unknown token" errors.
const KNOWN_KEYS: &str = "known keys are w_, h_, c_, g_, x_, y_, dpr_, q_, f_, b_, a_, \
     ar_, z_, r_, bo_, o_, fl_ and e_ (e_blur, e_sharpen, e_grayscale, e_brightness, e_contrast, \
     e_saturation, e_gamma, e_sepia, e_negate, e_pixelate, e_vibrance, e_trim)";

/// Crop modes by name, in the order error messages list them.
const CROP_MODES: &[(&str, CropMode)] = &[
    ("scale", CropMode::Scale),
    ("fit", CropMode::Fit),
    ("limit", CropMode::Limit),
    ("fill", CropMode::Fill),
    ("lfill", CropMode::Lfill),
    ("pad", CropMode::Pad),
    ("lpad", CropMode::Lpad),
    ("crop", CropMode::Crop),
    ("thumb", CropMode::Thumb),
    // Cloudinary's geometry modes (issue 14).
    ("mfit", CropMode::Mfit),
    ("mpad", CropMode::Mpad),
    ("auto", CropMode::Auto),
    ("fill_pad", CropMode::FillPad),
];

/// Gravities by name, in the order error messages list them.
const GRAVITIES: &[(&str, Gravity)] = &[
    ("center", Gravity::Center),
    ("north", Gravity::North),
    ("south", Gravity::South),
    ("east", Gravity::East),
    ("west", Gravity::West),
    ("north_east", Gravity::NorthEast),
    ("north_west", Gravity::NorthWest),
    ("south_east", Gravity::SouthEast),
    ("south_west", Gravity::SouthWest),
    ("auto", Gravity::Auto),
];

/// Named background colours (CSS values). `transparent` is transparent
/// white, so that a consumer that drops the alpha channel gets the usual
/// white background rather than black.
const COLOURS: &[(&str, [u8; 4])] = &[
    ("white", [255, 255, 255, 255]),
    ("black", [0, 0, 0, 255]),
    ("transparent", [255, 255, 255, 0]),
    ("red", [255, 0, 0, 255]),
    ("green", [0, 128, 0, 255]),
    ("blue", [0, 0, 255, 255]),
    ("yellow", [255, 255, 0, 255]),
    ("gray", [128, 128, 128, 255]),
    ("grey", [128, 128, 128, 255]),
    ("orange", [255, 165, 0, 255]),
    ("purple", [128, 0, 128, 255]),
    ("pink", [255, 192, 203, 255]),
    ("brown", [165, 42, 42, 255]),
    ("cyan", [0, 255, 255, 255]),
    ("magenta", [255, 0, 255, 255]),
];

/// Device pixel ratio bounds (README, "Transformations"): below 0.1 the output is a smudge,
/// above 5 no screen exists and the request only burns CPU.
const DPR_MIN: f64 = 0.1;
const DPR_MAX: f64 = 5.0;

/// Effect strength bounds (README, "Transformations"), and the default when none is written.
const STRENGTH_MIN: u16 = 1;
const STRENGTH_MAX: u16 = 2000;
const STRENGTH_DEFAULT: u16 = 100;

/// The quality `Quality::Default` stands for (README, "Transformations"); used to give
/// `q_80` and no `q_` the same cache key.
const DEFAULT_QUALITY: u8 = crate::config::defaults::QUALITY;

/// One `key_value` token exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The whole token, for error messages.
    pub raw: &'a str,
    /// The key before the first `_`, e.g. `w` or `e`.
    pub key: &'a str,
    /// The value after the first `_`, e.g. `150` or `blur:300`.
    pub value: &'a str,
}

/// Splits a transformation into tokens.
///
/// The empty transformation has no tokens (the source re-encoded). An empty
/// token (`w_1,,h_2`, a leading or trailing comma) or one without `_` is
/// malformed; more than `max_tokens` is refused before any token is looked at.
pub fn tokenize(transformation: &str, max_tokens: usize) -> Result<Vec<Token<'_>>, OptionsError> {
    if transformation.is_empty() {
        return Ok(Vec::new());
    }
    let count = transformation.split(',').count();
    if count > max_tokens {
        return Err(OptionsError::TooManyTokens {
            count,
            max: max_tokens,
        });
    }
    let mut tokens = Vec::with_capacity(count);
    for (index, raw) in transformation.split(',').enumerate() {
        if raw.is_empty() {
            return Err(OptionsError::InvalidValue {
                token: transformation.to_owned(),
                reason: format!(
                    "token {} is empty: tokens are separated by single commas, with none at the start \
                     or the end",
                    index + 1
                ),
            });
        }
        match raw.split_once('_') {
            Some((key, value)) if !key.is_empty() => tokens.push(Token { raw, key, value }),
            _ => {
                return Err(OptionsError::InvalidValue {
                    token: raw.to_owned(),
                    reason: "tokens are written key_value, e.g. w_150 or c_fill".to_owned(),
                });
            }
        }
    }
    Ok(tokens)
}

/// Validates tokens into a plan.
pub(super) fn build_plan(tokens: &[Token<'_>], limits: &GrammarLimits) -> Result<Plan, OptionsError> {
    let mut plan = Plan::default();
    let mut seen: HashSet<&str> = HashSet::new();
    // The tokens that gave w_ and h_ in pixels, kept for the size check once
    // dpr_ is known, whatever the order.
    let mut width_token = None;
    let mut height_token = None;

    for token in tokens {
        let repeat_key = match token.key {
            "w" | "h" | "c" | "g" | "x" | "y" | "dpr" | "q" | "f" | "b" | "a" | "fl" => token.key,
            // Cloudinary's geometry parameters (issue 14).
            "ar" | "z" | "r" | "bo" | "o" => token.key,
            "e" => effect_key(token)?,
            _ => {
                return Err(OptionsError::UnknownToken {
                    token: token.raw.to_owned(),
                    allowed: KNOWN_KEYS.to_owned(),
                });
            }
        };
        if !seen.insert(repeat_key) {
            return Err(OptionsError::Repeated {
                token: token.raw.to_owned(),
            });
        }
        match token.key {
            "w" if token.value == "auto" || token.value.starts_with("auto:") => {
                plan.width_auto = Some(parse_auto_width(token, limits)?);
            }
            "dpr" if token.value == "auto" => plan.dpr_auto = true,
            "fl" => apply_flags(token, &mut plan)?,
            "w" => {
                plan.width = Some(parse_size(token, limits)?);
                width_token = Some(token);
            }
            "h" => {
                plan.height = Some(parse_size(token, limits)?);
                height_token = Some(token);
            }
            "c" => plan.crop = lookup(token, CROP_MODES, "c_")?,
            "g" => {
                plan.gravity = lookup(token, GRAVITIES, "g_")?;
                plan.gravity_given = true;
            }
            "x" => plan.x = Some(parse_offset(token)?),
            "y" => plan.y = Some(parse_offset(token)?),
            // Cloudinary's geometry parameters (issue 14).
            "ar" => plan.aspect_ratio = Some(parse_aspect_ratio(token)?),
            "z" => plan.zoom = Some(parse_zoom(token)?),
            "r" => plan.radius = Some(parse_radius(token)?),
            "bo" => plan.border = Some(parse_border(token)?),
            "o" => plan.opacity = parse_opacity(token)?,
            "dpr" => plan.dpr = parse_dpr(token)?,
            "q" => plan.quality = parse_quality(token)?,
            "f" => plan.format = parse_format(token)?,
            "b" => plan.background = parse_colour(token)?,
            "a" => plan.angle = parse_angle(token)?,
            _ => apply_effect(token, &mut plan)?,
        }
    }

    if plan.crop != CropMode::Crop {
        // Refused rather than ignored: an offset that silently does nothing
        // hides a mistake in the URL.
        if let Some(token) = tokens.iter().find(|t| t.key == "x" || t.key == "y") {
            return Err(invalid(
                token,
                format!(
                    "{}_ sets the corner of a c_crop region and needs c_crop",
                    token.key
                ),
            ));
        }
    }

    check_geometry(tokens, &plan)?;

    for (token, size) in [(width_token, plan.width), (height_token, plan.height)] {
        if let (Some(token), Some(Size::Pixels(px))) = (token, size) {
            let scaled = scaled_pixels(px, plan.dpr);
            if scaled > u64::from(limits.max_dimension) {
                return Err(OptionsError::TooLarge {
                    token: token.raw.to_owned(),
                    pixels: scaled,
                    max: limits.max_dimension,
                });
            }
        }
    }
    Ok(plan)
}

/// A pixel size times dpr, rounded as the geometry rounds it (never 0).
fn scaled_pixels(px: u32, dpr: f64) -> u64 {
    // `as` saturates on float-to-int conversion; the product is at most
    // u32::MAX * 5, far inside u64.
    ((f64::from(px) * dpr).round() as u64).max(1)
}

/// The key an effect token is counted under for repetition: `e_blur:5` and
/// `e_blur` are the same effect, `e_greyscale` is `e_grayscale`.
fn effect_key(token: &Token<'_>) -> Result<&'static str, OptionsError> {
    let name = token.value.split_once(':').map_or(token.value, |(name, _)| name);
    match name {
        "blur" => Ok("e_blur"),
        "sharpen" => Ok("e_sharpen"),
        "grayscale" | "greyscale" => Ok("e_grayscale"),
        "brightness" => Ok("e_brightness"),
        "contrast" => Ok("e_contrast"),
        "saturation" => Ok("e_saturation"),
        "gamma" => Ok("e_gamma"),
        "sepia" => Ok("e_sepia"),
        "negate" => Ok("e_negate"),
        "pixelate" => Ok("e_pixelate"),
        "vibrance" => Ok("e_vibrance"),
        "trim" => Ok("e_trim"),
        _ => Err(invalid(
            token,
            "e_ must be one of blur[:1-2000], sharpen[:1-2000], grayscale, brightness[:-99-100], \
             contrast[:-100-100], saturation[:-100-100], gamma[:-50-150], sepia[:1-100], negate, \
             pixelate[:1-200], vibrance[:-100-100], trim[:0-100[:colour]]"
                .to_owned(),
        )),
    }
}

fn apply_effect(token: &Token<'_>, plan: &mut Plan) -> Result<(), OptionsError> {
    let (name, strength) = match token.value.split_once(':') {
        Some((name, strength)) => (name, Some(strength)),
        None => (token.value, None),
    };
    match name {
        "blur" => plan.blur = Some(parse_strength(token, name, strength)?),
        "sharpen" => plan.sharpen = Some(parse_strength(token, name, strength)?),
        "brightness" | "contrast" | "saturation" | "gamma" | "sepia" | "negate" | "pixelate" | "vibrance"
        | "trim" => apply_cloudinary_effect(token, name, strength, plan)?,
        _ => {
            if strength.is_some() {
                return Err(invalid(token, "e_grayscale takes no strength".to_owned()));
            }
            plan.grayscale = true;
        }
    }
    Ok(())
}

fn parse_strength(token: &Token<'_>, name: &str, strength: Option<&str>) -> Result<u16, OptionsError> {
    let Some(text) = strength else {
        return Ok(STRENGTH_DEFAULT);
    };
    parse_digits(text)
        .filter(|n| (u64::from(STRENGTH_MIN)..=u64::from(STRENGTH_MAX)).contains(n))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            invalid(
                token,
                format!("the strength of e_{name} must be a whole number {STRENGTH_MIN}..={STRENGTH_MAX}"),
            )
        })
}

/// Cloudinary's level effects: (name, lowest, highest, default when no
/// level is written), from its transformation reference.
const LEVEL_EFFECTS: &[(&str, i16, i16, i16)] = &[
    ("brightness", -99, 100, 80),
    ("contrast", -100, 100, 0),
    ("saturation", -100, 100, 80),
    ("gamma", -50, 150, 0),
    ("sepia", 1, 100, 80),
    ("vibrance", -100, 100, 20),
];

/// `e_pixelate:n` bounds: Cloudinary's 1..=200 pixel squares.
const PIXELATE_MAX: u16 = 200;

/// `e_trim`'s tolerance when none is written (Cloudinary's default), and its upper bound.
const TRIM_TOLERANCE_DEFAULT: u8 = 10;
const TRIM_TOLERANCE_MAX: u8 = 100;

/// `w_auto`'s rounding step when none is written: Cloudinary rounds the
/// hinted width up to a multiple of 100 pixels.
const AUTO_WIDTH_STEP_DEFAULT: u32 = 100;

/// The flags `fl_` knows, as listed in errors.
const FLAGS: &str = "fl_ takes flags joined with `.`: progressive, lossy, attachment[:name], getinfo";

/// The most bytes of an `fl_attachment` name (a file name, not a document).
const ATTACHMENT_NAME_MAX: usize = 200;

/// One of Cloudinary's effects (`e_brightness` ... `e_trim`) into the plan.
fn apply_cloudinary_effect(
    token: &Token<'_>,
    name: &str,
    argument: Option<&str>,
    plan: &mut Plan,
) -> Result<(), OptionsError> {
    match name {
        "negate" => {
            if argument.is_some() {
                return Err(invalid(token, "e_negate takes no level".to_owned()));
            }
            plan.negate = true;
        }
        "pixelate" => {
            plan.pixelate = Some(match argument {
                None => Pixelate::Auto,
                Some(text) => parse_digits(text)
                    .filter(|n| (1..=u64::from(PIXELATE_MAX)).contains(n))
                    .and_then(|n| u16::try_from(n).ok())
                    .map(Pixelate::Size)
                    .ok_or_else(|| {
                        invalid(
                            token,
                            format!(
                                "the square size of e_pixelate must be a whole number 1..={PIXELATE_MAX}"
                            ),
                        )
                    })?,
            });
        }
        "trim" => plan.trim = Some(parse_trim(token, argument)?),
        _ => {
            let Some(&(_, low, high, default)) = LEVEL_EFFECTS.iter().find(|(n, ..)| *n == name) else {
                return Err(invalid(token, "unknown effect".to_owned()));
            };
            let level = match argument {
                None => default,
                Some(text) => parse_signed(text)
                    .filter(|n| (i64::from(low)..=i64::from(high)).contains(n))
                    .and_then(|n| i16::try_from(n).ok())
                    .ok_or_else(|| {
                        invalid(
                            token,
                            format!("the level of e_{name} must be a whole number {low}..={high}"),
                        )
                    })?,
            };
            match name {
                "brightness" => plan.brightness = Some(level),
                "contrast" => plan.contrast = Some(level),
                "saturation" => plan.saturation = Some(level),
                "gamma" => plan.gamma = Some(level),
                "vibrance" => plan.vibrance = Some(level),
                // 1..=100 by the table.
                _ => plan.sepia = u8::try_from(level).ok(),
            }
        }
    }
    Ok(())
}

/// A whole number with an optional leading `-`.
fn parse_signed(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(rest) => parse_digits(rest).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
        None => parse_digits(text).and_then(|n| i64::try_from(n).ok()),
    }
}

/// `trim[:tolerance[:colour]]`: the colour is a name or `rgb:rrggbb[aa]`
/// (its own `:` kept), as for `b_`.
fn parse_trim(token: &Token<'_>, argument: Option<&str>) -> Result<Trim, OptionsError> {
    let reason = || {
        invalid(
            token,
            format!(
                "e_trim takes a tolerance 0..={TRIM_TOLERANCE_MAX} and then a colour (a name or \
                 rgb:rrggbb), e.g. e_trim:20:white"
            ),
        )
    };
    let Some(argument) = argument else {
        return Ok(Trim {
            tolerance: TRIM_TOLERANCE_DEFAULT,
            colour: None,
        });
    };
    let (tolerance, colour) = match argument.split_once(':') {
        Some((tolerance, colour)) => (tolerance, Some(colour)),
        None => (argument, None),
    };
    let tolerance = parse_digits(tolerance)
        .filter(|n| *n <= u64::from(TRIM_TOLERANCE_MAX))
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(reason)?;
    let colour = match colour {
        None => None,
        Some(text) => Some(colour_from(text).ok_or_else(reason)?),
    };
    Ok(Trim { tolerance, colour })
}

/// `auto[:step[:fallback]]` of `w_`.
fn parse_auto_width(token: &Token<'_>, limits: &GrammarLimits) -> Result<AutoWidth, OptionsError> {
    let max = limits.max_dimension;
    let reason = || {
        invalid(
            token,
            format!(
                "w_auto takes a rounding step 1..={max} and then a fallback width 1..={max}, e.g. \
                 w_auto:100:400"
            ),
        )
    };
    let mut parts = token.value.split(':').skip(1);
    let number = |text: Option<&str>| -> Result<Option<u32>, OptionsError> {
        match text {
            None => Ok(None),
            Some(text) => parse_digits(text)
                .filter(|n| (1..=u64::from(max)).contains(n))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(reason),
        }
    };
    let step = number(parts.next())?.unwrap_or(AUTO_WIDTH_STEP_DEFAULT);
    let fallback = number(parts.next())?;
    if parts.next().is_some() {
        return Err(reason());
    }
    Ok(AutoWidth { step, fallback })
}

/// `fl_a.b.c`: each flag once.
fn apply_flags(token: &Token<'_>, plan: &mut Plan) -> Result<(), OptionsError> {
    let mut seen: Vec<&str> = Vec::new();
    // `attachment:name` may hold dots of its own (`report.v2`): it is the
    // last flag when it has a name, so everything after it is the name.
    let mut rest = token.value;
    loop {
        let (flag, tail) = match rest.split_once('.') {
            Some((flag, tail)) if !rest.starts_with("attachment:") => (flag, Some(tail)),
            _ => (rest, None),
        };
        let (name, argument) = match flag.split_once(':') {
            Some((name, argument)) => (name, Some(argument)),
            None => (flag, None),
        };
        if seen.contains(&name) {
            return Err(OptionsError::Repeated {
                token: token.raw.to_owned(),
            });
        }
        seen.push(name);
        match (name, argument) {
            ("progressive", None) => plan.progressive = true,
            ("lossy", None) => plan.lossy = true,
            ("getinfo", None) => plan.getinfo = true,
            ("attachment", None) => plan.attachment = Some(String::new()),
            ("attachment", Some(text)) => {
                if text.is_empty() || text.len() > ATTACHMENT_NAME_MAX {
                    return Err(invalid(
                        token,
                        format!("the name of fl_attachment must be 1..={ATTACHMENT_NAME_MAX} bytes"),
                    ));
                }
                plan.attachment = Some(text.to_owned());
            }
            _ => return Err(invalid(token, FLAGS.to_owned())),
        }
        match tail {
            Some(tail) => rest = tail,
            None => break,
        }
    }
    Ok(())
}

/// `dpr_auto` and `w_auto` resolved from client hints (see [`Plan::resolve_hints`]).
pub(super) fn resolve_hints(plan: &Plan, hints: ClientHints, limits: &GrammarLimits) -> Plan {
    let mut resolved = plan.clone();
    if plan.dpr_auto {
        resolved.dpr_auto = false;
        resolved.dpr = hints
            .dpr
            .filter(|d| d.is_finite() && *d > 0.0)
            .map_or(1.0, |d| d.clamp(DPR_MIN, DPR_MAX));
    }
    let max = f64::from(limits.max_dimension);
    if let Some(auto) = plan.width_auto {
        resolved.width_auto = None;
        let css = match hints.width.filter(|w| *w > 0) {
            Some(physical) => {
                let step = u64::from(auto.step.max(1));
                // Rounded up to the step, in u64 (no overflow for any
                // header, which is at most u64::MAX).
                let rounded = physical.div_ceil(step).saturating_mul(step) as f64;
                Some(rounded / resolved.dpr)
            }
            None => auto.fallback.map(f64::from),
        };
        resolved.width = css.map(|css| {
            // Within max_dimension once multiplied by dpr.
            let px = css.min(max / resolved.dpr).floor().max(1.0);
            Size::Pixels(px as u32)
        });
    }
    // A fixed `w_`/`h_` with a hinted dpr: lowered to fit, as above.
    for side in [&mut resolved.width, &mut resolved.height] {
        if let Some(Size::Pixels(px)) = side {
            let limit = (max / resolved.dpr).floor().max(1.0);
            if f64::from(*px) * resolved.dpr > max + 0.5 {
                *px = limit as u32;
            }
        }
    }
    resolved
}

/// An error for `token` with `reason`.
fn invalid(token: &Token<'_>, reason: String) -> OptionsError {
    OptionsError::InvalidValue {
        token: token.raw.to_owned(),
        reason,
    }
}

/// A non-empty run of ASCII digits as a number; `None` for anything else
/// (signs, spaces, decimal points) or a number past u64.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A plain decimal `digits[.digits]` (either side of the point may be
/// empty, not both) as a float; `None` for exponents, signs, `inf`, `nan`.
pub(super) fn parse_decimal(text: &str) -> Option<f64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits(int) || !digits(frac) {
        return None;
    }
    text.parse().ok().filter(|v: &f64| v.is_finite())
}

fn parse_size(token: &Token<'_>, limits: &GrammarLimits) -> Result<Size, OptionsError> {
    let max = limits.max_dimension;
    let reason = || {
        format!(
            "{}_ must be a whole number of pixels 1..={max}, or a fraction of the source in (0, 1] \
             written with a decimal point (e.g. 0.5)",
            token.key
        )
    };
    if token.value.contains('.') {
        return match parse_decimal(token.value) {
            Some(r) if r > 0.0 && r <= 1.0 => Ok(Size::Relative(r)),
            _ => Err(invalid(token, reason())),
        };
    }
    match parse_digits(token.value) {
        Some(0) | None => Err(invalid(token, reason())),
        Some(px) if px > u64::from(max) => Err(OptionsError::TooLarge {
            token: token.raw.to_owned(),
            pixels: px,
            max,
        }),
        Some(px) => u32::try_from(px)
            .map(Size::Pixels)
            .map_err(|_| invalid(token, reason())),
    }
}

fn parse_offset(token: &Token<'_>) -> Result<Offset, OptionsError> {
    let reason = || {
        format!(
            "{}_ must be a whole number of source pixels, 0 or more, or a fraction of the source \
             side in [0, 1) written with a decimal point (e.g. 0.25)",
            token.key
        )
    };
    if token.value.contains('.') {
        return match parse_decimal(token.value) {
            Some(r) if (0.0..1.0).contains(&r) => Ok(Offset::Relative(r)),
            _ => Err(invalid(token, reason())),
        };
    }
    parse_digits(token.value)
        .and_then(|n| u32::try_from(n).ok())
        .map(Offset::Pixels)
        .ok_or_else(|| invalid(token, reason()))
}

fn parse_dpr(token: &Token<'_>) -> Result<f64, OptionsError> {
    parse_decimal(token.value)
        .filter(|d| (DPR_MIN..=DPR_MAX).contains(d))
        .ok_or_else(|| {
            invalid(
                token,
                format!("dpr_ must be a number {DPR_MIN}..={DPR_MAX}, e.g. 2 or 1.5"),
            )
        })
}

fn parse_quality(token: &Token<'_>) -> Result<Quality, OptionsError> {
    match token.value {
        "auto" | "auto:good" => return Ok(Quality::Auto(AutoQuality::Good)),
        "auto:best" => return Ok(Quality::Auto(AutoQuality::Best)),
        "auto:eco" => return Ok(Quality::Auto(AutoQuality::Eco)),
        "auto:low" => return Ok(Quality::Auto(AutoQuality::Low)),
        _ => {}
    }
    parse_digits(token.value)
        .filter(|q| (1..=100).contains(q))
        .and_then(|q| u8::try_from(q).ok())
        .map(Quality::Value)
        .ok_or_else(|| {
            invalid(
                token,
                "q_ must be a whole number 1..=100, or auto[:best|good|eco|low]".to_owned(),
            )
        })
}

fn parse_format(token: &Token<'_>) -> Result<FormatRequest, OptionsError> {
    let format = match token.value {
        "auto" => Some(FormatRequest::Auto),
        "jpg" | "jpeg" | "png" | "webp" | "avif" | "gif" => {
            ImageFormat::from_name(token.value).map(FormatRequest::Fixed)
        }
        _ => None,
    };
    format.ok_or_else(|| {
        invalid(
            token,
            "f_ must be one of jpg, jpeg, png, webp, avif, gif, auto".to_owned(),
        )
    })
}

fn parse_colour(token: &Token<'_>) -> Result<Rgba, OptionsError> {
    colour_from(token.value).ok_or_else(|| {
        let names: Vec<&str> = COLOURS.iter().map(|(name, _)| *name).collect();
        invalid(
            token,
            format!(
                "b_ must be a colour name ({}) or rgb:rrggbb or rgb:rrggbbaa in hex",
                names.join(", ")
            ),
        )
    })
}

/// A colour name or `rgb:rrggbb[aa]`, as `b_` and `bo_` take it.
fn colour_from(text: &str) -> Option<Rgba> {
    let named = COLOURS
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, rgba)| Rgba(*rgba));
    named.or_else(|| text.strip_prefix("rgb:").and_then(parse_hex))
}

/// A colour written back for a canonical key: `rgb:rrggbbaa`, always all
/// four channels, so that every spelling of one colour has one key.
fn rgb_text(colour: Rgba) -> String {
    let mut text = String::with_capacity(12);
    text.push_str("rgb:");
    for byte in colour.0 {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// `rrggbb` or `rrggbbaa` in hex; alpha defaults to opaque.
fn parse_hex(hex: &str) -> Option<Rgba> {
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut rgba = [255u8; 4];
    for (slot, i) in rgba.iter_mut().zip((0..hex.len()).step_by(2)) {
        *slot = u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?;
    }
    Some(Rgba(rgba))
}

// Cloudinary's geometry parameters (issue 14): ar_, z_, a_, r_, bo_, o_, and the
// rules that tie them to crop modes.

/// Aspect ratio bounds: a ratio past 1:1000 gives a 1-pixel side for any size allowed.
const ASPECT_MIN: f64 = 0.001;
const ASPECT_MAX: f64 = 1000.0;

/// Zoom bounds: zooming out past 1/100 or in past 100x has no use on a source within
/// `max_src_pixels`, and a bound keeps the region arithmetic finite.
const ZOOM_MIN: f64 = 0.01;
const ZOOM_MAX: f64 = 100.0;

/// Largest corner radius or border width in pixels: both are bounded by the output
/// size anyway; this bound only refuses absurd values before anything is fetched.
const RADIUS_MAX: u32 = 8192;
const BORDER_MAX: u32 = 1000;

/// Largest `a_` angle written, either sign: one turn is enough to say any rotation.
const ANGLE_MAX: u32 = 360;

/// `ar_16:9` or `ar_1.5`: width over height.
fn parse_aspect_ratio(token: &Token<'_>) -> Result<f64, OptionsError> {
    let ratio = match token.value.split_once(':') {
        Some((w, h)) => match (parse_decimal(w), parse_decimal(h)) {
            (Some(w), Some(h)) if h > 0.0 => Some(w / h),
            _ => None,
        },
        None => parse_decimal(token.value),
    };
    ratio
        .filter(|r| (ASPECT_MIN..=ASPECT_MAX).contains(r))
        .ok_or_else(|| {
            invalid(
                token,
                format!(
                    "ar_ must be width:height (e.g. 16:9) or a decimal (e.g. 1.5), between \
                     {ASPECT_MIN} and {ASPECT_MAX}"
                ),
            )
        })
}

fn parse_zoom(token: &Token<'_>) -> Result<f64, OptionsError> {
    parse_decimal(token.value)
        .filter(|z| (ZOOM_MIN..=ZOOM_MAX).contains(z))
        .ok_or_else(|| {
            invalid(
                token,
                format!("z_ must be a number {ZOOM_MIN}..={ZOOM_MAX} (over 1 zooms in, under 1 out)"),
            )
        })
}

/// `a_` steps separated by `.`, applied in the order written: degrees clockwise
/// (-360..=360; negative is counter-clockwise), `hflip`, `vflip`, and the modes
/// `ignore`, `auto_right`, `auto_left` (each at most once, one `auto_`).
fn parse_angle(token: &Token<'_>) -> Result<Angle, OptionsError> {
    let reason = || {
        format!(
            "a_ must be degrees -{ANGLE_MAX}..={ANGLE_MAX} and/or hflip, vflip, ignore, auto_right, \
             auto_left, joined by `.` (e.g. a_90, a_-20, a_hflip.90)"
        )
    };
    let mut angle = Angle::default();
    // Written-order state: an optional flip, then `degrees` clockwise.
    let mut degrees: i64 = 0;
    let mut seen_mode = (false, false);
    for step in token.value.split('.') {
        match step {
            "hflip" => {
                // Turning then flipping is flipping then turning the other way.
                angle.hflip = !angle.hflip;
                degrees = -degrees;
            }
            "vflip" => {
                // A vertical flip is a horizontal flip and a half turn.
                angle.hflip = !angle.hflip;
                degrees = 180 - degrees;
            }
            "ignore" if !seen_mode.0 => {
                seen_mode.0 = true;
                angle.ignore_orientation = true;
            }
            "auto_right" | "auto_left" if !seen_mode.1 => {
                seen_mode.1 = true;
                angle.auto = Some(if step == "auto_right" {
                    AutoRotate::Right
                } else {
                    AutoRotate::Left
                });
            }
            _ => {
                let (negative, digits) = match step.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, step),
                };
                let value = parse_digits(digits)
                    .filter(|d| *d <= u64::from(ANGLE_MAX))
                    .ok_or_else(|| invalid(token, reason()))?;
                let value = i64::try_from(value).map_err(|_| invalid(token, reason()))?;
                degrees += if negative { -value } else { value };
            }
        }
    }
    // At most a few steps of 360 each: no overflow, and rem_euclid is in 0..360.
    angle.degrees = u16::try_from(degrees.rem_euclid(360)).map_err(|_| invalid(token, reason()))?;
    Ok(angle)
}

/// `r_<px>` with 1 to 4 values separated by `:` (as CSS's border-radius: one for every
/// corner; top-left/bottom-right and top-right/bottom-left; top-left,
/// top-right/bottom-left, bottom-right; or each clockwise from the top-left), or `r_max`.
fn parse_radius(token: &Token<'_>) -> Result<Radius, OptionsError> {
    if token.value == "max" {
        return Ok(Radius::Max);
    }
    let reason = || {
        format!(
            "r_ must be max, or 1 to 4 whole numbers of pixels 0..={RADIUS_MAX} separated by `:` \
             (e.g. r_20 or r_20:0:40:0)"
        )
    };
    let values: Vec<u32> = token
        .value
        .split(':')
        .map(|v| {
            parse_digits(v)
                .filter(|n| *n <= u64::from(RADIUS_MAX))
                .and_then(|n| u32::try_from(n).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| invalid(token, reason()))?;
    let corners = match values[..] {
        [a] => [a, a, a, a],
        [a, b] => [a, b, a, b],
        [a, b, c] => [a, b, c, b],
        [a, b, c, d] => [a, b, c, d],
        _ => return Err(invalid(token, reason())),
    };
    Ok(Radius::Corners(corners))
}

/// `bo_<w>px_solid_<colour>`, the colour as `b_` takes it.
fn parse_border(token: &Token<'_>) -> Result<Border, OptionsError> {
    let reason = || {
        format!(
            "bo_ must be <width>px_solid_<colour>, width 1..={BORDER_MAX}, the colour a name or \
             rgb:rrggbb[aa] (e.g. bo_4px_solid_black)"
        )
    };
    let (width, colour) = token
        .value
        .split_once("px_solid_")
        .ok_or_else(|| invalid(token, reason()))?;
    let width = parse_digits(width)
        .filter(|w| (1..=u64::from(BORDER_MAX)).contains(w))
        .and_then(|w| u32::try_from(w).ok())
        .ok_or_else(|| invalid(token, reason()))?;
    let colour = colour_from(colour).ok_or_else(|| invalid(token, reason()))?;
    Ok(Border { width, colour })
}

/// `o_0` ..= `o_100`; 100 is the default, `None`.
fn parse_opacity(token: &Token<'_>) -> Result<Option<u8>, OptionsError> {
    let value = parse_digits(token.value)
        .filter(|o| *o <= 100)
        .and_then(|o| u8::try_from(o).ok())
        .ok_or_else(|| invalid(token, "o_ must be a whole number 0..=100 (percent)".to_owned()))?;
    Ok((value < 100).then_some(value))
}

/// The rules that tie the geometry tokens together, checked once every token is read:
/// refused rather than ignored, since a token that silently does nothing hides a
/// mistake in the URL.
fn check_geometry(tokens: &[Token<'_>], plan: &Plan) -> Result<(), OptionsError> {
    let find = |key: &str| tokens.iter().find(|t| t.key == key);
    if let Some(token) = find("c")
        && plan.crop == CropMode::FillPad
        && plan.effective_gravity() != Gravity::Auto
    {
        return Err(invalid(
            token,
            "c_fill_pad pads only where g_auto finds that a fill would cut the subject, and needs g_auto"
                .to_owned(),
        ));
    }
    if let Some(token) = find("z")
        && !matches!(plan.crop, CropMode::Crop | CropMode::Thumb)
    {
        return Err(invalid(
            token,
            "z_ zooms a c_crop or c_thumb region and needs one of them".to_owned(),
        ));
    }
    if let Some(token) = find("ar")
        && plan.width.is_some()
        && plan.height.is_some()
    {
        return Err(invalid(
            token,
            "ar_ sets the side that w_ or h_ leaves open: give it with one of them, or neither".to_owned(),
        ));
    }
    Ok(())
}

fn lookup<T: Copy>(token: &Token<'_>, table: &[(&str, T)], key: &str) -> Result<T, OptionsError> {
    table
        .iter()
        .find(|(name, _)| *name == token.value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
            invalid(token, format!("{key} must be one of {}", names.join(", ")))
        })
}

/// The name `g_` writes for `gravity`.
pub(super) fn gravity_name(gravity: Gravity) -> &'static str {
    name_of(GRAVITIES, &gravity)
}

fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map_or("?", |(name, _)| *name)
}

/// A float in plain decimal notation that always has a decimal point: the
/// shortest form that reads back as the same value (`0.5`, `1.0`, never
/// `1e-7`), so that a relative size never reads like a pixel size and the
/// canonical form parses again.
pub(super) fn decimal(value: f64) -> String {
    let text = value.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn write_size(out: &mut Vec<String>, key: &str, size: Option<Size>) {
    match size {
        Some(Size::Relative(r)) => out.push(format!("{key}_{}", decimal(r))),
        Some(Size::Pixels(px)) => out.push(format!("{key}_{px}")),
        None => {}
    }
}

/// The canonical text form of a plan (see the module docs).
pub(super) fn canonical(plan: &Plan) -> String {
    let mut parts: Vec<String> = Vec::new();
    write_size(&mut parts, "w", plan.width);
    write_size(&mut parts, "h", plan.height);
    if plan.crop != CropMode::Scale {
        parts.push(format!("c_{}", name_of(CROP_MODES, &plan.crop)));
    }
    let gravity = plan.effective_gravity();
    if gravity != Gravity::Center {
        parts.push(format!("g_{}", name_of(GRAVITIES, &gravity)));
    }
    for (key, offset) in [("x", plan.x), ("y", plan.y)] {
        match offset {
            Some(Offset::Pixels(px)) => parts.push(format!("{key}_{px}")),
            Some(Offset::Relative(r)) => parts.push(format!("{key}_{}", decimal(r))),
            None => {}
        }
    }
    if plan.dpr != 1.0 {
        parts.push(format!("dpr_{}", decimal(plan.dpr)));
    }
    match plan.quality {
        Quality::Default => {}
        Quality::Value(q) if q == DEFAULT_QUALITY => {}
        Quality::Value(q) => parts.push(format!("q_{q}")),
        Quality::Auto(AutoQuality::Good) => parts.push("q_auto".to_owned()),
        Quality::Auto(AutoQuality::Best) => parts.push("q_auto:best".to_owned()),
        Quality::Auto(AutoQuality::Eco) => parts.push("q_auto:eco".to_owned()),
        Quality::Auto(AutoQuality::Low) => parts.push("q_auto:low".to_owned()),
    }
    match plan.format {
        FormatRequest::Source => {}
        FormatRequest::Fixed(format) => parts.push(format!("f_{}", format.name())),
        FormatRequest::Auto => parts.push("f_auto".to_owned()),
    }
    if plan.background != Rgba::WHITE {
        parts.push(format!("b_{}", rgb_text(plan.background)));
    }
    if plan.angle != Angle::default() {
        parts.push(format!("a_{}", canonical_angle(&plan.angle)));
    }
    if let Some(strength) = plan.blur {
        parts.push(format!("e_blur:{strength}"));
    }
    if let Some(strength) = plan.sharpen {
        parts.push(format!("e_sharpen:{strength}"));
    }
    if plan.grayscale {
        parts.push("e_grayscale".to_owned());
    }
    canonical_geometry(plan, &mut parts);
    canonical_pixels(plan, &mut parts);
    parts.join(",")
}

/// `a_` written back: the modes, then the flip, then the degrees (`a_90` stays `a_90`).
fn canonical_angle(angle: &Angle) -> String {
    let mut steps: Vec<String> = Vec::new();
    if angle.ignore_orientation {
        steps.push("ignore".to_owned());
    }
    match angle.auto {
        Some(AutoRotate::Right) => steps.push("auto_right".to_owned()),
        Some(AutoRotate::Left) => steps.push("auto_left".to_owned()),
        None => {}
    }
    if angle.hflip {
        steps.push("hflip".to_owned());
    }
    if angle.degrees != 0 || steps.is_empty() {
        steps.push(angle.degrees.to_string());
    }
    steps.join(".")
}

/// Cloudinary's geometry keys (issue 14), after every older key so that older keys
/// keep their form: `ar,z,r,bo,o`.
fn canonical_geometry(plan: &Plan, parts: &mut Vec<String>) {
    if let Some(ratio) = plan.aspect_ratio {
        parts.push(format!("ar_{}", decimal(ratio)));
    }
    if let Some(zoom) = plan.zoom {
        parts.push(format!("z_{}", decimal(zoom)));
    }
    match plan.radius {
        Some(Radius::Max) => parts.push("r_max".to_owned()),
        Some(Radius::Corners(c)) => parts.push(format!("r_{}:{}:{}:{}", c[0], c[1], c[2], c[3])),
        None => {}
    }
    if let Some(border) = plan.border {
        parts.push(format!("bo_{}px_solid_{}", border.width, rgb_text(border.colour)));
    }
    if let Some(opacity) = plan.opacity {
        parts.push(format!("o_{opacity}"));
    }
}

/// The canonical form of Cloudinary's pixel, quality and delivery tokens,
/// after the others, each only when asked for. Levels are written out even
/// when they are the default (`e_sepia` is `e_sepia:80`), so that a token
/// and its default spelling share a key.
fn canonical_pixels(plan: &Plan, parts: &mut Vec<String>) {
    for (name, level) in [
        ("brightness", plan.brightness),
        ("contrast", plan.contrast),
        ("saturation", plan.saturation),
        ("gamma", plan.gamma),
        ("sepia", plan.sepia.map(i16::from)),
        ("vibrance", plan.vibrance),
    ] {
        if let Some(level) = level {
            parts.push(format!("e_{name}:{level}"));
        }
    }
    if plan.negate {
        parts.push("e_negate".to_owned());
    }
    match plan.pixelate {
        None => {}
        Some(Pixelate::Auto) => parts.push("e_pixelate".to_owned()),
        Some(Pixelate::Size(n)) => parts.push(format!("e_pixelate:{n}")),
    }
    if let Some(trim) = plan.trim {
        let colour = trim.colour.map_or(String::new(), |c| format!(":{}", rgb_text(c)));
        parts.push(format!("e_trim:{}{colour}", trim.tolerance));
    }
    if plan.dpr_auto {
        parts.push("dpr_auto".to_owned());
    }
    if let Some(auto) = plan.width_auto {
        let fallback = auto.fallback.map_or(String::new(), |f| format!(":{f}"));
        parts.push(format!("w_auto:{}{fallback}", auto.step));
    }
    let mut flags: Vec<String> = Vec::new();
    if plan.getinfo {
        flags.push("getinfo".to_owned());
    }
    if plan.lossy {
        flags.push("lossy".to_owned());
    }
    if plan.progressive {
        flags.push("progressive".to_owned());
    }
    // Last: its name may hold dots.
    match plan.attachment.as_deref() {
        None => {}
        Some("") => flags.push("attachment".to_owned()),
        Some(name) => flags.push(format!("attachment:{name}")),
    }
    if !flags.is_empty() {
        parts.push(format!("fl_{}", flags.join(".")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits() -> GrammarLimits {
        GrammarLimits::default()
    }

    fn parse(text: &str) -> Result<Plan, OptionsError> {
        Plan::parse(text, &limits())
    }

    fn plan_with(f: impl FnOnce(&mut Plan)) -> Plan {
        let mut plan = Plan::default();
        f(&mut plan);
        plan
    }

    #[test]
    fn tokenize_splits_at_the_first_underscore() {
        let tokens = tokenize("w_150,e_blur:300,g_north_east", 32).unwrap();
        let parts: Vec<(&str, &str, &str)> = tokens.iter().map(|t| (t.raw, t.key, t.value)).collect();
        assert_eq!(
            parts,
            [
                ("w_150", "w", "150"),
                ("e_blur:300", "e", "blur:300"),
                ("g_north_east", "g", "north_east")
            ]
        );
    }

    #[test]
    fn empty_transformation_is_the_default_plan() {
        assert_eq!(tokenize("", 32).unwrap(), []);
        assert_eq!(parse("").unwrap(), Plan::default());
        assert_eq!(parse("").unwrap().cache_key(), "");
    }

    #[test]
    fn empty_and_malformed_tokens_are_refused() {
        for text in ["w_1,,h_2", "w_1,", ",w_1", ",", "w_1,h_2,,"] {
            match parse(text) {
                Err(OptionsError::InvalidValue { token, reason }) => {
                    assert_eq!(token, text);
                    assert!(reason.contains("empty"), "{reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in ["w150", "_150", "fill", "w"] {
            match parse(text) {
                Err(OptionsError::InvalidValue { token, reason }) => {
                    assert_eq!(token, text);
                    assert!(reason.contains("key_value"), "{reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn token_count_is_limited() {
        let text = vec!["e_grayscale"; 33].join(",");
        assert_eq!(
            parse(&text),
            Err(OptionsError::TooManyTokens { count: 33, max: 32 })
        );
        let tight = GrammarLimits {
            max_tokens: 2,
            ..GrammarLimits::default()
        };
        assert!(Plan::parse("w_1,h_1", &tight).is_ok());
        assert_eq!(
            Plan::parse("w_1,h_1,c_fit", &tight),
            Err(OptionsError::TooManyTokens { count: 3, max: 2 })
        );
    }

    #[test]
    fn accepted_tokens() {
        let white = Rgba::WHITE;
        let cases: Vec<(&str, Plan)> = vec![
            ("w_1", plan_with(|p| p.width = Some(Size::Pixels(1)))),
            ("w_150", plan_with(|p| p.width = Some(Size::Pixels(150)))),
            ("w_0150", plan_with(|p| p.width = Some(Size::Pixels(150)))),
            ("w_8192", plan_with(|p| p.width = Some(Size::Pixels(8192)))),
            ("h_8192", plan_with(|p| p.height = Some(Size::Pixels(8192)))),
            ("h_500", plan_with(|p| p.height = Some(Size::Pixels(500)))),
            ("w_0.5", plan_with(|p| p.width = Some(Size::Relative(0.5)))),
            ("w_.5", plan_with(|p| p.width = Some(Size::Relative(0.5)))),
            ("w_1.0", plan_with(|p| p.width = Some(Size::Relative(1.0)))),
            ("w_1.", plan_with(|p| p.width = Some(Size::Relative(1.0)))),
            ("h_0.001", plan_with(|p| p.height = Some(Size::Relative(0.001)))),
            ("c_scale", plan_with(|p| p.crop = CropMode::Scale)),
            ("c_fit", plan_with(|p| p.crop = CropMode::Fit)),
            ("c_limit", plan_with(|p| p.crop = CropMode::Limit)),
            ("c_fill", plan_with(|p| p.crop = CropMode::Fill)),
            ("c_lfill", plan_with(|p| p.crop = CropMode::Lfill)),
            ("c_pad", plan_with(|p| p.crop = CropMode::Pad)),
            ("c_lpad", plan_with(|p| p.crop = CropMode::Lpad)),
            ("c_crop", plan_with(|p| p.crop = CropMode::Crop)),
            ("c_thumb", plan_with(|p| p.crop = CropMode::Thumb)),
            (
                "c_crop,x_0",
                plan_with(|p| (p.crop, p.x) = (CropMode::Crop, Some(Offset::Pixels(0)))),
            ),
            (
                "c_crop,y_77",
                plan_with(|p| (p.crop, p.y) = (CropMode::Crop, Some(Offset::Pixels(77)))),
            ),
            (
                "x_4294967295,c_crop",
                plan_with(|p| (p.crop, p.x) = (CropMode::Crop, Some(Offset::Pixels(u32::MAX)))),
            ),
            ("dpr_0.1", plan_with(|p| p.dpr = 0.1)),
            ("dpr_1", plan_with(|p| p.dpr = 1.0)),
            ("dpr_1.5", plan_with(|p| p.dpr = 1.5)),
            ("dpr_2", plan_with(|p| p.dpr = 2.0)),
            ("dpr_5", plan_with(|p| p.dpr = 5.0)),
            ("dpr_5.0", plan_with(|p| p.dpr = 5.0)),
            ("q_1", plan_with(|p| p.quality = Quality::Value(1))),
            ("q_80", plan_with(|p| p.quality = Quality::Value(80))),
            ("q_100", plan_with(|p| p.quality = Quality::Value(100))),
            (
                "q_auto",
                plan_with(|p| p.quality = Quality::Auto(AutoQuality::Good)),
            ),
            (
                "f_jpg",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Jpeg)),
            ),
            (
                "f_jpeg",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Jpeg)),
            ),
            (
                "f_png",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Png)),
            ),
            (
                "f_webp",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Webp)),
            ),
            (
                "f_avif",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Avif)),
            ),
            (
                "f_gif",
                plan_with(|p| p.format = FormatRequest::Fixed(ImageFormat::Gif)),
            ),
            ("f_auto", plan_with(|p| p.format = FormatRequest::Auto)),
            ("b_white", plan_with(|p| p.background = white)),
            ("b_black", plan_with(|p| p.background = Rgba([0, 0, 0, 255]))),
            (
                "b_transparent",
                plan_with(|p| p.background = Rgba([255, 255, 255, 0])),
            ),
            ("b_red", plan_with(|p| p.background = Rgba([255, 0, 0, 255]))),
            ("b_green", plan_with(|p| p.background = Rgba([0, 128, 0, 255]))),
            ("b_blue", plan_with(|p| p.background = Rgba([0, 0, 255, 255]))),
            ("b_yellow", plan_with(|p| p.background = Rgba([255, 255, 0, 255]))),
            ("b_gray", plan_with(|p| p.background = Rgba([128, 128, 128, 255]))),
            ("b_grey", plan_with(|p| p.background = Rgba([128, 128, 128, 255]))),
            (
                "b_rgb:102030",
                plan_with(|p| p.background = Rgba([0x10, 0x20, 0x30, 255])),
            ),
            (
                "b_rgb:A0b0C0d0",
                plan_with(|p| p.background = Rgba([0xa0, 0xb0, 0xc0, 0xd0])),
            ),
            ("b_rgb:00000000", plan_with(|p| p.background = Rgba([0, 0, 0, 0]))),
            ("a_0", plan_with(|p| p.angle.degrees = 0)),
            ("a_90", plan_with(|p| p.angle.degrees = 90)),
            ("a_180", plan_with(|p| p.angle.degrees = 180)),
            ("a_270", plan_with(|p| p.angle.degrees = 270)),
            ("e_blur", plan_with(|p| p.blur = Some(100))),
            ("e_blur:1", plan_with(|p| p.blur = Some(1))),
            ("e_blur:2000", plan_with(|p| p.blur = Some(2000))),
            ("e_sharpen", plan_with(|p| p.sharpen = Some(100))),
            ("e_sharpen:1", plan_with(|p| p.sharpen = Some(1))),
            ("e_sharpen:2000", plan_with(|p| p.sharpen = Some(2000))),
            ("e_grayscale", plan_with(|p| p.grayscale = true)),
            ("e_greyscale", plan_with(|p| p.grayscale = true)),
            (
                "e_blur:5,e_sharpen,e_grayscale",
                plan_with(|p| (p.blur, p.sharpen, p.grayscale) = (Some(5), Some(100), true)),
            ),
            (
                "w_150,h_500",
                plan_with(|p| (p.width, p.height) = (Some(Size::Pixels(150)), Some(Size::Pixels(500)))),
            ),
            (
                "w_4096,dpr_2",
                plan_with(|p| (p.width, p.dpr) = (Some(Size::Pixels(4096)), 2.0)),
            ),
            (
                "dpr_5,h_1638",
                plan_with(|p| (p.height, p.dpr) = (Some(Size::Pixels(1638)), 5.0)),
            ),
            (
                "w_1.0,dpr_5",
                plan_with(|p| (p.width, p.dpr) = (Some(Size::Relative(1.0)), 5.0)),
            ),
            (
                "w_8192,dpr_0.5",
                plan_with(|p| (p.width, p.dpr) = (Some(Size::Pixels(8192)), 0.5)),
            ),
        ];
        for (text, expected) in cases {
            let mut expected = expected;
            if text.contains("g_") {
                expected.gravity_given = true;
            }
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn every_gravity_is_accepted_and_marked_given() {
        for (name, gravity) in GRAVITIES {
            let plan = parse(&format!("g_{name}")).unwrap();
            assert_eq!(plan.gravity, *gravity, "{name}");
            assert!(plan.gravity_given, "{name}");
        }
        assert!(!parse("c_fill").unwrap().gravity_given);
    }

    /// The kind of refusal a token gets, with a fragment the message must hold.
    #[derive(Debug, Clone, Copy)]
    enum Refusal {
        Unknown,
        Invalid(&'static str),
        Repeated,
        TooLarge,
    }

    #[test]
    fn refused_tokens() {
        use Refusal::*;
        let cases: &[(&str, &str, Refusal)] = &[
            // Sizes.
            ("w_0", "w_0", Invalid("1..=8192")),
            ("w_-3", "w_-3", Invalid("1..=8192")),
            ("w_+3", "w_+3", Invalid("1..=8192")),
            ("w_abc", "w_abc", Invalid("1..=8192")),
            ("w_", "w_", Invalid("1..=8192")),
            ("w_1.5", "w_1.5", Invalid("(0, 1]")),
            ("w_0.0", "w_0.0", Invalid("(0, 1]")),
            ("w_0.", "w_0.", Invalid("(0, 1]")),
            ("w_.", "w_.", Invalid("(0, 1]")),
            ("w_1e-1", "w_1e-1", Invalid("(0, 1]")),
            ("w_0.5.5", "w_0.5.5", Invalid("(0, 1]")),
            ("h_nan", "h_nan", Invalid("h_ must be")),
            ("h_ 5", "h_ 5", Invalid("h_ must be")),
            (
                "w_99999999999999999999999",
                "w_99999999999999999999999",
                Invalid("1..=8192"),
            ),
            ("w_8193", "w_8193", TooLarge),
            ("h_10000", "h_10000", TooLarge),
            ("w_4097,dpr_2", "w_4097", TooLarge),
            ("dpr_2,h_4097", "h_4097", TooLarge),
            ("w_100,h_1639,dpr_5", "h_1639", TooLarge),
            // Crop mode and gravity.
            (
                "c_zoom",
                "c_zoom",
                Invalid("c_ must be one of scale, fit, limit, fill, lfill, pad, lpad, crop, thumb"),
            ),
            ("c_", "c_", Invalid("c_ must be one of")),
            ("c_FILL", "c_FILL", Invalid("c_ must be one of")),
            (
                "g_up",
                "g_up",
                Invalid("g_ must be one of center, north, south, east, west, north_east"),
            ),
            ("g_northeast", "g_northeast", Invalid("auto")),
            ("g_centre", "g_centre", Invalid("g_ must be one of")),
            // Offsets.
            ("c_crop,x_-1", "x_-1", Invalid("x_ must be a whole number")),
            ("c_crop,y_1.5", "y_1.5", Invalid("y_ must be a whole number")),
            (
                "c_crop,x_1.0",
                "x_1.0",
                Invalid("fraction of the source side in [0, 1)"),
            ),
            ("c_crop,x_4294967296", "x_4294967296", Invalid("x_ must be")),
            ("x_10", "x_10", Invalid("needs c_crop")),
            ("c_fill,y_10", "y_10", Invalid("needs c_crop")),
            // dpr.
            ("dpr_0", "dpr_0", Invalid("0.1..=5")),
            ("dpr_0.09", "dpr_0.09", Invalid("0.1..=5")),
            ("dpr_5.01", "dpr_5.01", Invalid("0.1..=5")),
            ("dpr_-1", "dpr_-1", Invalid("0.1..=5")),
            ("dpr_inf", "dpr_inf", Invalid("0.1..=5")),
            ("dpr_x", "dpr_x", Invalid("0.1..=5")),
            // Quality.
            ("q_0", "q_0", Invalid("1..=100, or auto")),
            ("q_101", "q_101", Invalid("1..=100")),
            ("q_50.5", "q_50.5", Invalid("1..=100")),
            ("q_best", "q_best", Invalid("1..=100")),
            // Format.
            (
                "f_bmp",
                "f_bmp",
                Invalid("f_ must be one of jpg, jpeg, png, webp, avif, gif, auto"),
            ),
            ("f_JPG", "f_JPG", Invalid("f_ must be one of")),
            ("f_", "f_", Invalid("f_ must be one of")),
            // Background.
            (
                "b_chartreuse",
                "b_chartreuse",
                Invalid("b_ must be a colour name (white, black, transparent"),
            ),
            ("b_rgb:fff", "b_rgb:fff", Invalid("rgb:rrggbb")),
            ("b_rgb:12345", "b_rgb:12345", Invalid("rgb:rrggbb")),
            ("b_rgb:1234567", "b_rgb:1234567", Invalid("rgb:rrggbb")),
            ("b_rgb:gg0000", "b_rgb:gg0000", Invalid("rgb:rrggbb")),
            ("b_rgb:+f0000", "b_rgb:+f0000", Invalid("rgb:rrggbb")),
            ("b_102030", "b_102030", Invalid("rgb:rrggbb")),
            // Rotation.
            ("a_361", "a_361", Invalid("a_ must be degrees -360..=360")),
            ("a_-361", "a_-361", Invalid("a_ must be degrees")),
            ("a_90.x", "a_90.x", Invalid("a_ must be degrees")),
            ("a_flip", "a_flip", Invalid("a_ must be degrees")),
            ("a_", "a_", Invalid("a_ must be degrees")),
            ("a_90.", "a_90.", Invalid("a_ must be degrees")),
            (
                "a_ignore.ignore",
                "a_ignore.ignore",
                Invalid("a_ must be degrees"),
            ),
            (
                "a_auto_right.auto_left",
                "a_auto_right.auto_left",
                Invalid("a_ must be degrees"),
            ),
            // Effects.
            (
                "e_blur:0",
                "e_blur:0",
                Invalid("e_blur must be a whole number 1..=2000"),
            ),
            ("e_blur:2001", "e_blur:2001", Invalid("1..=2000")),
            ("e_blur:", "e_blur:", Invalid("1..=2000")),
            ("e_blur:x", "e_blur:x", Invalid("1..=2000")),
            (
                "e_sharpen:0",
                "e_sharpen:0",
                Invalid("e_sharpen must be a whole number 1..=2000"),
            ),
            ("e_sharpen:2001", "e_sharpen:2001", Invalid("1..=2000")),
            ("e_grayscale:50", "e_grayscale:50", Invalid("no strength")),
            (
                "e_oilpaint",
                "e_oilpaint",
                Invalid("e_ must be one of blur[:1-2000], sharpen[:1-2000], grayscale"),
            ),
            ("e_", "e_", Invalid("e_ must be one of")),
            // Unknown keys.
            ("zz_3", "zz_3", Unknown),
            ("width_100", "width_100", Unknown),
            ("W_100", "W_100", Unknown),
            (" w_1", " w_1", Unknown),
            ("w_1,foo_bar", "foo_bar", Unknown),
            // Repetitions.
            ("w_1,w_2", "w_2", Repeated),
            ("w_1,w_1", "w_1", Repeated),
            ("h_1,h_0.5", "h_0.5", Repeated),
            ("c_fill,c_fit", "c_fit", Repeated),
            ("g_north,g_auto", "g_auto", Repeated),
            ("c_crop,x_1,x_2", "x_2", Repeated),
            ("c_crop,y_1,y_2", "y_2", Repeated),
            ("dpr_1,dpr_2", "dpr_2", Repeated),
            ("q_1,q_auto", "q_auto", Repeated),
            ("f_jpg,f_jpeg", "f_jpeg", Repeated),
            ("b_red,b_blue", "b_blue", Repeated),
            ("a_90,a_90", "a_90", Repeated),
            ("e_blur,e_blur:5", "e_blur:5", Repeated),
            ("e_sharpen:3,e_sharpen", "e_sharpen", Repeated),
            ("e_grayscale,e_greyscale", "e_greyscale", Repeated),
        ];
        for &(text, token, refusal) in cases {
            let result = parse(text);
            let message = match (&result, refusal) {
                (Err(e @ OptionsError::UnknownToken { token: t, allowed }), Unknown) => {
                    assert_eq!(t, token, "{text}");
                    assert!(allowed.contains("w_, h_, c_"), "{allowed}");
                    e.to_string()
                }
                (Err(e @ OptionsError::InvalidValue { token: t, reason }), Invalid(fragment)) => {
                    assert_eq!(t, token, "{text}");
                    assert!(reason.contains(fragment), "{text}: {reason}");
                    e.to_string()
                }
                (Err(e @ OptionsError::Repeated { token: t }), Repeated) => {
                    assert_eq!(t, token, "{text}");
                    e.to_string()
                }
                (Err(e @ OptionsError::TooLarge { token: t, max, .. }), TooLarge) => {
                    assert_eq!(t, token, "{text}");
                    assert_eq!(*max, 8192);
                    e.to_string()
                }
                _ => panic!("{text}: expected {refusal:?}, got {result:?}"),
            };
            assert!(message.contains(&format!("`{token}`")), "{text}: {message}");
        }
    }

    #[test]
    fn too_large_reports_the_scaled_size() {
        assert_eq!(
            parse("w_5000,dpr_2"),
            Err(OptionsError::TooLarge {
                token: "w_5000".to_owned(),
                pixels: 10000,
                max: 8192,
            })
        );
        let small = GrammarLimits {
            max_dimension: 100,
            ..GrammarLimits::default()
        };
        assert!(Plan::parse("w_100", &small).is_ok());
        assert!(Plan::parse("w_50,dpr_2", &small).is_ok());
        assert!(matches!(
            Plan::parse("w_101", &small),
            Err(OptionsError::TooLarge { pixels: 101, .. })
        ));
        assert!(matches!(
            Plan::parse("w_51,dpr_2", &small),
            Err(OptionsError::TooLarge { pixels: 102, .. })
        ));
        // Relative sizes are only known against the source: not checked here.
        assert!(Plan::parse("w_1.0,dpr_5", &small).is_ok());
    }

    #[test]
    fn canonical_form() {
        let cases = [
            ("", ""),
            ("h_500,w_150", "w_150,h_500"),
            ("w_0150", "w_150"),
            ("w_1", "w_1"),
            ("w_1.0", "w_1.0"),
            ("w_1.", "w_1.0"),
            ("w_0.0000001", "w_0.0000001"),
            ("h_0.30000000000000004", "h_0.30000000000000004"),
            ("w_.5,h_0.50", "w_0.5,h_0.5"),
            ("c_scale", ""),
            ("g_center", ""),
            ("c_fill,g_center", "c_fill"),
            ("c_thumb", "c_thumb,g_auto"),
            ("g_auto,c_thumb", "c_thumb,g_auto"),
            ("c_thumb,g_center", "c_thumb"),
            ("dpr_1", ""),
            ("dpr_2", "dpr_2.0"),
            ("dpr_2.0", "dpr_2.0"),
            ("q_80", ""),
            ("q_81", "q_81"),
            ("q_auto", "q_auto"),
            ("f_jpg", "f_jpeg"),
            ("f_jpeg", "f_jpeg"),
            ("b_white", ""),
            ("b_rgb:FFFFFF", ""),
            ("b_rgb:ffffffff", ""),
            ("b_grey", "b_rgb:808080ff"),
            ("b_gray", "b_rgb:808080ff"),
            ("b_rgb:ABCDEF", "b_rgb:abcdefff"),
            ("a_0", ""),
            ("a_270", "a_270"),
            ("e_blur", "e_blur:100"),
            ("e_blur:100", "e_blur:100"),
            ("e_greyscale", "e_grayscale"),
            (
                "e_grayscale,e_sharpen:7,e_blur:3,a_90,b_black,f_webp,q_auto,dpr_1.5,y_2,x_1,g_south_west,c_crop,h_0.25,w_10",
                "w_10,h_0.25,c_crop,g_south_west,x_1,y_2,dpr_1.5,q_auto,f_webp,b_rgb:000000ff,a_90,e_blur:3,e_sharpen:7,e_grayscale",
            ),
        ];
        for (text, key) in cases {
            assert_eq!(parse(text).unwrap().cache_key(), key, "{text}");
        }
    }

    #[test]
    fn canonical_form_parses_back_to_an_equivalent_plan() {
        for text in [
            "w_150,h_500",
            "c_thumb,w_10",
            "w_0.5,c_pad,b_transparent,g_east",
            "w_0.00000001,h_1.0",
            "c_crop,x_1,y_2,w_3,h_4,dpr_0.1,q_1,f_gif,a_180,e_blur:2000,e_sharpen:1,e_greyscale",
        ] {
            let key = parse(text).unwrap().cache_key();
            assert_eq!(parse(&key).unwrap().cache_key(), key, "{text}");
        }
    }

    #[test]
    fn cache_key_ignores_order_and_spelling() {
        let a = parse("w_150,h_500,c_fill,g_auto,dpr_2,q_80,f_jpg,e_greyscale").unwrap();
        let b = parse("e_grayscale,f_jpeg,dpr_2.0,g_auto,c_fill,h_500,w_150").unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
        let c = parse("w_150,h_501,c_fill,g_auto,dpr_2,f_jpg,e_greyscale").unwrap();
        assert_ne!(a.cache_key(), c.cache_key());
    }

    #[test]
    fn different_plans_get_different_keys() {
        let texts = [
            "",
            "w_1",
            "w_1.0",
            "h_1",
            "w_2",
            "c_fit",
            "c_limit",
            "c_fill",
            "c_lfill",
            "c_pad",
            "c_lpad",
            "c_crop",
            "c_thumb",
            "g_north",
            "g_auto",
            "c_crop,x_1",
            "c_crop,y_1",
            "dpr_2",
            "q_79",
            "q_auto",
            "f_png",
            "f_auto",
            "b_black",
            "b_transparent",
            "a_90",
            "e_blur",
            "e_blur:99",
            "e_sharpen",
            "e_grayscale",
        ];
        let mut keys = HashSet::new();
        for text in texts {
            assert!(keys.insert(parse(text).unwrap().cache_key()), "{text}");
        }
    }

    /// A valid combination of tokens, at most one per key (`c_crop` always,
    /// so that `x_`/`y_` are allowed), with sizes small enough for any dpr.
    fn valid_tokens() -> impl Strategy<Value = Vec<String>> {
        let groups = (
            prop::option::of((1u32..=1638).prop_map(|w| format!("w_{w}"))),
            prop::option::of((1u32..=1000).prop_map(|r| format!("h_{}", f64::from(r) / 1000.0))),
            prop::option::of((0u32..100_000).prop_map(|x| format!("x_{x}"))),
            prop::option::of((0u32..100_000).prop_map(|y| format!("y_{y}"))),
            prop::option::of((1u32..=50).prop_map(|d| format!("dpr_{}", f64::from(d) / 10.0))),
            prop::option::of(prop::sample::select(vec!["q_auto", "q_1", "q_80", "q_100"])),
            prop::option::of(prop::sample::select(vec!["f_jpg", "f_jpeg", "f_auto", "f_avif"])),
            prop::option::of(prop::sample::select(vec![
                "b_grey",
                "b_rgb:0a0B0c",
                "b_transparent",
            ])),
            prop::option::of(prop::sample::select(vec!["a_0", "a_90", "a_270"])),
            prop::option::of(prop::sample::select(vec!["e_blur", "e_blur:7"])),
            prop::option::of(prop::sample::select(vec!["e_greyscale", "e_grayscale"])),
            prop::option::of(prop::sample::select(vec!["g_auto", "g_south_west"])),
        );
        groups.prop_map(|(w, h, x, y, dpr, q, f, b, a, blur, grey, g)| {
            let statics = [q, f, b, a, blur, grey, g]
                .into_iter()
                .flatten()
                .map(str::to_owned);
            let mut tokens: Vec<String> = [w, h, x, y, dpr].into_iter().flatten().chain(statics).collect();
            tokens.push("c_crop".to_owned());
            tokens
        })
    }

    /// Text built from fragments of the grammar, so that random inputs reach
    /// deep into the parser instead of failing at the first character.
    fn grammar_soup() -> impl Strategy<Value = String> {
        let fragment = prop::sample::select(vec![
            "w",
            "h",
            "c",
            "g",
            "x",
            "y",
            "dpr",
            "q",
            "f",
            "b",
            "a",
            "e",
            "_",
            ",",
            ".",
            ":",
            "0",
            "1",
            "5",
            "9",
            "00",
            "-",
            "+",
            "rgb",
            "blur",
            "sharpen",
            "grayscale",
            "fill",
            "crop",
            "auto",
            "north_east",
            "jpg",
            "8192",
            "99999999999999999999",
            "0.5",
            "1e3",
            "é",
            " ",
        ]);
        prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
    }

    // Cloudinary's pixel, quality and delivery tokens.

    #[test]
    fn cloudinary_effects_take_their_ranges_and_defaults() {
        let level = |text: &str| parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(level("e_brightness").brightness(), Some(80));
        assert_eq!(level("e_brightness:-99").brightness(), Some(-99));
        assert_eq!(level("e_brightness:100").brightness(), Some(100));
        assert_eq!(level("e_contrast").contrast(), Some(0));
        assert_eq!(level("e_contrast:-100").contrast(), Some(-100));
        assert_eq!(level("e_saturation").saturation(), Some(80));
        assert_eq!(level("e_saturation:-50").saturation(), Some(-50));
        assert_eq!(level("e_gamma").gamma(), Some(0));
        assert_eq!(level("e_gamma:-50").gamma(), Some(-50));
        assert_eq!(level("e_gamma:150").gamma(), Some(150));
        assert_eq!(level("e_sepia").sepia(), Some(80));
        assert_eq!(level("e_sepia:1").sepia(), Some(1));
        assert_eq!(level("e_vibrance").vibrance(), Some(20));
        assert_eq!(level("e_vibrance:-100").vibrance(), Some(-100));
        assert!(level("e_negate").negate());
        assert_eq!(level("e_pixelate").pixelate(), Some(Pixelate::Auto));
        assert_eq!(level("e_pixelate:200").pixelate(), Some(Pixelate::Size(200)));
        let trim = |tolerance, colour| Some(Trim { tolerance, colour });
        assert_eq!(level("e_trim").trim(), trim(10, None));
        assert_eq!(level("e_trim:0").trim(), trim(0, None));
        assert_eq!(level("e_trim:100:white").trim(), trim(100, Some(Rgba::WHITE)));
        assert_eq!(
            level("e_trim:20:rgb:FF0000").trim(),
            trim(20, Some(Rgba([255, 0, 0, 255])))
        );
        // Each effect is its own key and combines with the others.
        let all = level("e_brightness:10,e_contrast:20,e_sepia,e_negate,e_blur,e_trim");
        assert_eq!(
            (all.brightness(), all.contrast(), all.sepia()),
            (Some(10), Some(20), Some(80))
        );
        assert!(all.negate() && all.blur().is_some() && all.trim().is_some());
    }

    #[test]
    fn cloudinary_tokens_out_of_range_are_400s_naming_the_token() {
        for text in [
            "e_brightness:-100",
            "e_brightness:101",
            "e_brightness:abc",
            "e_brightness:",
            "e_brightness:+5",
            "e_brightness:5.5",
            "e_contrast:-101",
            "e_contrast:101",
            "e_saturation:101",
            "e_saturation:-101",
            "e_gamma:-51",
            "e_gamma:151",
            "e_sepia:0",
            "e_sepia:101",
            "e_sepia:-1",
            "e_vibrance:101",
            "e_vibrance:-101",
            "e_negate:5",
            "e_pixelate:0",
            "e_pixelate:201",
            "e_pixelate:x",
            "e_trim:101",
            "e_trim:-1",
            "e_trim:10:nocolour",
            "e_trim:10:rgb:12345",
            "e_trim:",
            "q_auto:medium",
            "q_auto:",
            "dpr_auto:2",
            "w_auto:0",
            "w_auto:100:0",
            "w_auto:100:8193",
            "w_auto:100:400:1",
            "w_auto:x",
            "fl_unknown",
            "fl_progressive.unknown",
            "fl_progressive:steep",
            "fl_lossy:1",
            "fl_getinfo:x",
            "fl_",
            "fl_progressive.",
            "fl_.lossy",
            "fl_attachment:",
        ] {
            match parse(text) {
                Err(OptionsError::InvalidValue { token, .. }) => assert_eq!(token, text),
                other => panic!("{text}: {other:?}"),
            }
        }
        for text in [
            "e_brightness,e_brightness:20",
            "e_trim,e_trim:5",
            "fl_lossy,fl_progressive",
            "dpr_auto,dpr_2",
            "w_auto,w_100",
        ] {
            assert!(
                matches!(parse(text), Err(OptionsError::Repeated { .. })),
                "{text}"
            );
        }
        assert_eq!(
            parse("fl_lossy.lossy"),
            Err(OptionsError::Repeated {
                token: "fl_lossy.lossy".to_owned()
            })
        );
    }

    #[test]
    fn quality_levels_flags_and_hints_parse() {
        assert_eq!(
            parse("q_auto").unwrap().quality(),
            Quality::Auto(AutoQuality::Good)
        );
        assert_eq!(
            parse("q_auto:good").unwrap().quality(),
            Quality::Auto(AutoQuality::Good)
        );
        assert_eq!(
            parse("q_auto:best").unwrap().quality(),
            Quality::Auto(AutoQuality::Best)
        );
        assert_eq!(
            parse("q_auto:eco").unwrap().quality(),
            Quality::Auto(AutoQuality::Eco)
        );
        assert_eq!(
            parse("q_auto:low").unwrap().quality(),
            Quality::Auto(AutoQuality::Low)
        );
        let plan = parse("fl_progressive.lossy.attachment:my photo.v2").unwrap();
        assert!(plan.progressive() && plan.lossy() && !plan.getinfo());
        assert_eq!(plan.attachment(), Some("my photo.v2"));
        assert_eq!(parse("fl_attachment").unwrap().attachment(), Some(""));
        assert!(parse("fl_getinfo").unwrap().getinfo());
        let plan = parse("dpr_auto,w_auto:50:300").unwrap();
        assert!(plan.dpr_auto());
        assert_eq!(plan.width(), None);
        assert_eq!(
            plan.width_auto(),
            Some(AutoWidth {
                step: 50,
                fallback: Some(300)
            })
        );
        assert_eq!(
            parse("w_auto").unwrap().width_auto(),
            Some(AutoWidth {
                step: 100,
                fallback: None
            })
        );
    }

    #[test]
    fn cloudinary_tokens_have_canonical_keys() {
        let key = |text: &str| parse(text).unwrap().cache_key();
        assert_eq!(key("e_sepia"), "e_sepia:80");
        assert_eq!(key("e_sepia"), key("e_sepia:80"));
        assert_eq!(key("e_trim"), "e_trim:10");
        assert_eq!(key("e_trim:5:white"), key("e_trim:5:rgb:ffffff"));
        assert_eq!(key("q_auto:good"), "q_auto");
        assert_eq!(key("fl_progressive.lossy"), key("fl_lossy.progressive"));
        assert_eq!(
            key("fl_attachment:a.b.progressive"),
            "fl_attachment:a.b.progressive"
        );
        assert_eq!(
            key("fl_progressive.attachment:a.b"),
            "fl_progressive.attachment:a.b"
        );
        let distinct = [
            "",
            "e_brightness",
            "e_brightness:20",
            "e_contrast",
            "e_contrast:20",
            "e_saturation",
            "e_gamma",
            "e_sepia",
            "e_negate",
            "e_pixelate",
            "e_pixelate:5",
            "e_vibrance",
            "e_trim",
            "e_trim:20",
            "e_trim:20:black",
            "q_auto:best",
            "q_auto:eco",
            "q_auto:low",
            "q_auto",
            "dpr_auto",
            "w_auto",
            "w_auto:50",
            "w_auto:50:400",
            "fl_progressive",
            "fl_lossy",
            "fl_getinfo",
            "fl_attachment",
            "fl_attachment:x",
        ];
        let keys: HashSet<String> = distinct.iter().map(|t| key(t)).collect();
        assert_eq!(keys.len(), distinct.len(), "{keys:?}");
        for text in distinct {
            let plan = parse(text).unwrap();
            assert_eq!(parse(&plan.cache_key()).unwrap(), plan, "{text}");
        }
    }

    #[test]
    fn client_hints_resolve_auto_within_the_limits() {
        let hints = |dpr, width| ClientHints { dpr, width };
        let resolve = |text: &str, h: ClientHints| parse(text).unwrap().resolve_hints(h, &limits());
        // dpr: the hint, clamped to 0.1..=5, else 1.
        assert_eq!(resolve("dpr_auto", hints(Some(2.0), None)).dpr(), 2.0);
        assert_eq!(resolve("dpr_auto", hints(Some(80.0), None)).dpr(), 5.0);
        assert_eq!(resolve("dpr_auto", hints(Some(0.01), None)).dpr(), 0.1);
        assert_eq!(resolve("dpr_auto", hints(None, None)).dpr(), 1.0);
        assert_eq!(resolve("dpr_auto", hints(Some(f64::NAN), None)).dpr(), 1.0);
        assert!(!resolve("dpr_auto", hints(None, None)).dpr_auto());
        // w_auto: the hint rounded up to the step.
        let w = |text: &str, h| resolve(text, h).width();
        assert_eq!(w("w_auto", hints(None, Some(301))), Some(Size::Pixels(400)));
        assert_eq!(w("w_auto:1", hints(None, Some(301))), Some(Size::Pixels(301)));
        assert_eq!(w("w_auto:50", hints(None, Some(301))), Some(Size::Pixels(350)));
        // The hint counts device pixels: divided by the ratio.
        assert_eq!(
            w("w_auto:100,dpr_auto", hints(Some(2.0), Some(700))),
            Some(Size::Pixels(350))
        );
        // No hint: the fallback, else the source's width.
        assert_eq!(w("w_auto:100:400", hints(None, None)), Some(Size::Pixels(400)));
        assert_eq!(w("w_auto", hints(None, None)), None);
        // Hostile values stay within max_dimension.
        assert_eq!(w("w_auto", hints(None, Some(u64::MAX))), Some(Size::Pixels(8192)));
        assert_eq!(
            w("w_auto,dpr_auto", hints(Some(4.0), Some(1_000_000))),
            Some(Size::Pixels(2048))
        );
        assert_eq!(
            w("w_3000,dpr_auto", hints(Some(5.0), None)),
            Some(Size::Pixels(1638))
        );
        // A plan without auto is unchanged.
        let plain = parse("w_100,dpr_2").unwrap();
        assert_eq!(plain.resolve_hints(hints(Some(3.0), Some(900)), &limits()), plain);
        // The resolved plan's key is that of the values written out.
        assert_eq!(
            resolve("w_auto,dpr_auto", hints(Some(2.0), Some(301))).cache_key(),
            "w_200,dpr_2.0"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = Plan::parse(&text, &limits());
        }

        #[test]
        fn grammar_like_text_never_panics_and_accepted_plans_are_in_range(text in grammar_soup()) {
            if let Ok(plan) = Plan::parse(&text, &limits()) {
                prop_assert!((DPR_MIN..=DPR_MAX).contains(&plan.dpr));
                for size in [plan.width, plan.height].into_iter().flatten() {
                    match size {
                        Size::Pixels(px) => prop_assert!(scaled_pixels(px, plan.dpr) <= 8192),
                        Size::Relative(r) => prop_assert!(r > 0.0 && r <= 1.0),
                    }
                }
                if let Quality::Value(q) = plan.quality {
                    prop_assert!((1..=100).contains(&q));
                }
                for strength in [plan.blur, plan.sharpen].into_iter().flatten() {
                    prop_assert!((1..=2000).contains(&strength));
                }
                // The canonical form is itself a valid transformation.
                let key = plan.cache_key();
                prop_assert_eq!(Plan::parse(&key, &limits()).map(|p| p.cache_key()), Ok(key));
            }
        }

        #[test]
        fn accepted_plans_respect_the_limits(
            w in 1u32..=8192,
            h in 1u32..=8192,
            dpr in 1u32..=50,
        ) {
            let dpr = f64::from(dpr) / 10.0;
            let text = format!("w_{w},h_{h},dpr_{dpr}");
            match Plan::parse(&text, &limits()) {
                Ok(plan) => {
                    prop_assert!((f64::from(w) * dpr).round() <= 8192.0);
                    prop_assert!((f64::from(h) * dpr).round() <= 8192.0);
                    prop_assert_eq!(plan.dpr, dpr);
                }
                Err(OptionsError::TooLarge { pixels, .. }) => prop_assert!(pixels > 8192),
                Err(other) => prop_assert!(false, "{}: {:?}", text, other),
            }
        }

        #[test]
        fn cache_key_is_the_same_for_every_order(
            (original, shuffled) in valid_tokens()
                .prop_flat_map(|tokens| (Just(tokens.clone()), Just(tokens).prop_shuffle())),
        ) {
            let a = Plan::parse(&original.join(","), &limits());
            let b = Plan::parse(&shuffled.join(","), &limits());
            prop_assert!(a.is_ok(), "{:?}: {:?}", original, a);
            prop_assert_eq!(a.map(|p| p.cache_key()), b.map(|p| p.cache_key()));
        }
    }
}

/// Cloudinary's geometry tokens (issue 14): accepted values, refusals naming the token,
/// canonical forms.
#[cfg(test)]
mod geometry_tokens {
    use super::*;

    fn parse(text: &str) -> Result<Plan, OptionsError> {
        Plan::parse(text, &GrammarLimits::default())
    }

    #[test]
    fn accepted_values() {
        let ok = |text: &str| parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(ok("ar_16:9,w_160").aspect_ratio(), Some(16.0 / 9.0));
        assert_eq!(ok("ar_1.5").aspect_ratio(), Some(1.5));
        assert_eq!(ok("ar_0.5:1").aspect_ratio(), Some(0.5));
        assert_eq!(ok("c_crop,z_1.5").zoom(), Some(1.5));
        assert_eq!(ok("c_thumb,z_0.5,w_10,h_10").zoom(), Some(0.5));
        assert_eq!(ok("c_crop,x_0.25").x(), Some(Offset::Relative(0.25)));
        assert_eq!(ok("c_crop,y_.5").y(), Some(Offset::Relative(0.5)));
        assert_eq!(ok("c_mfit").crop(), CropMode::Mfit);
        assert_eq!(ok("c_mpad").crop(), CropMode::Mpad);
        let fill_pad = ok("c_fill_pad,g_auto,w_100,h_100");
        assert_eq!(fill_pad.crop(), CropMode::FillPad);
        assert_eq!(fill_pad.effective_gravity(), Gravity::Auto);
        assert_eq!(fill_pad.cache_key(), "w_100,h_100,c_fill_pad,g_auto");
        assert_eq!(ok("c_auto").effective_gravity(), Gravity::Auto);
        assert_eq!(ok("c_auto,g_north").effective_gravity(), Gravity::North);
        assert_eq!(ok("r_20").radius(), Some(Radius::Corners([20; 4])));
        assert_eq!(ok("r_1:2").radius(), Some(Radius::Corners([1, 2, 1, 2])));
        assert_eq!(ok("r_1:2:3").radius(), Some(Radius::Corners([1, 2, 3, 2])));
        assert_eq!(ok("r_20:0:40:0").radius(), Some(Radius::Corners([20, 0, 40, 0])));
        assert_eq!(ok("r_max").radius(), Some(Radius::Max));
        assert_eq!(
            ok("bo_4px_solid_black").border(),
            Some(Border {
                width: 4,
                colour: Rgba([0, 0, 0, 255])
            })
        );
        assert_eq!(
            ok("bo_2px_solid_rgb:ff000080").border(),
            Some(Border {
                width: 2,
                colour: Rgba([255, 0, 0, 128])
            })
        );
        assert_eq!(ok("o_50").opacity(), Some(50));
        assert_eq!(ok("o_0").opacity(), Some(0));
        assert_eq!(ok("o_100").opacity(), None);
    }

    #[test]
    fn angle_steps_compose_in_written_order() {
        let angle = |text: &str| parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).angle();
        let flip_then = |hflip: bool, degrees: u16| Angle {
            hflip,
            degrees,
            ..Angle::default()
        };
        assert_eq!(angle("a_45"), flip_then(false, 45));
        assert_eq!(angle("a_-20"), flip_then(false, 340));
        assert_eq!(angle("a_360"), flip_then(false, 0));
        assert_eq!(angle("a_90.90"), flip_then(false, 180));
        assert_eq!(angle("a_hflip"), flip_then(true, 0));
        assert_eq!(angle("a_hflip.hflip"), flip_then(false, 0));
        // A vertical flip is a horizontal flip then a half turn.
        assert_eq!(angle("a_vflip"), flip_then(true, 180));
        assert_eq!(angle("a_hflip.vflip"), flip_then(false, 180));
        // Turning then flipping is flipping then turning back.
        assert_eq!(angle("a_90.hflip"), flip_then(true, 270));
        assert_eq!(angle("a_hflip.90"), flip_then(true, 90));
        assert_eq!(angle("a_30.hflip"), flip_then(true, 330));
        let modes = angle("a_ignore.auto_left.10");
        assert!(modes.ignore_orientation);
        assert_eq!(modes.auto, Some(AutoRotate::Left));
        assert_eq!(modes.degrees, 10);
        assert_eq!(angle("a_auto_right").auto, Some(AutoRotate::Right));
        // A multiple of 90 acts before sizing, any other angle after.
        assert_eq!(angle("a_270").quarter(), crate::options::Rotation::Deg270);
        assert_eq!(angle("a_270").free_degrees(), 0);
        assert_eq!(angle("a_135").quarter(), crate::options::Rotation::None);
        assert_eq!(angle("a_135").free_degrees(), 135);
    }

    #[test]
    fn malformed_values_are_refused_naming_the_token() {
        let cases: &[(&str, &str, &str)] = &[
            ("ar_16:0,w_10", "ar_16:0", "ar_ must be width:height"),
            ("ar_0", "ar_0", "ar_ must be"),
            ("ar_16/9", "ar_16/9", "ar_ must be"),
            ("ar_:9", "ar_:9", "ar_ must be"),
            ("ar_1:2:3", "ar_1:2:3", "ar_ must be"),
            ("ar_-1", "ar_-1", "ar_ must be"),
            ("ar_1001", "ar_1001", "between 0.001 and 1000"),
            ("ar_1.5,w_10,h_10", "ar_1.5", "one of them, or neither"),
            ("c_crop,z_0", "z_0", "z_ must be a number 0.01..=100"),
            ("c_crop,z_101", "z_101", "z_ must be"),
            ("c_crop,z_x", "z_x", "z_ must be"),
            ("c_fill,z_2", "z_2", "needs one of them"),
            ("z_2", "z_2", "needs one of them"),
            ("c_crop,x_-0.5", "x_-0.5", "x_ must be"),
            ("r_", "r_", "r_ must be max, or 1 to 4"),
            ("r_1:2:3:4:5", "r_1:2:3:4:5", "r_ must be"),
            ("r_1::2", "r_1::2", "r_ must be"),
            ("r_-1", "r_-1", "r_ must be"),
            ("r_8193", "r_8193", "r_ must be"),
            ("r_1.5", "r_1.5", "r_ must be"),
            ("r_MAX", "r_MAX", "r_ must be"),
            (
                "bo_4px_solid",
                "bo_4px_solid",
                "bo_ must be <width>px_solid_<colour>",
            ),
            ("bo_0px_solid_black", "bo_0px_solid_black", "bo_ must be"),
            ("bo_1001px_solid_black", "bo_1001px_solid_black", "1..=1000"),
            ("bo_4px_dashed_black", "bo_4px_dashed_black", "bo_ must be"),
            ("bo_4_solid_black", "bo_4_solid_black", "bo_ must be"),
            (
                "bo_4px_solid_chartreuse",
                "bo_4px_solid_chartreuse",
                "bo_ must be",
            ),
            ("bo_4px_solid_rgb:fff", "bo_4px_solid_rgb:fff", "bo_ must be"),
            ("o_101", "o_101", "o_ must be a whole number 0..=100"),
            ("o_-1", "o_-1", "o_ must be"),
            ("o_50.5", "o_50.5", "o_ must be"),
            ("c_auto_pad", "c_auto_pad", "c_ must be one of"),
            ("c_fill_pad", "c_fill_pad", "needs g_auto"),
            ("c_fill_pad,g_north,w_10,h_10", "c_fill_pad", "needs g_auto"),
        ];
        for &(text, token, fragment) in cases {
            match parse(text) {
                Err(e @ OptionsError::InvalidValue { .. }) => {
                    let OptionsError::InvalidValue { token: t, reason } = &e else {
                        unreachable!()
                    };
                    assert_eq!(t, token, "{text}");
                    assert!(reason.contains(fragment), "{text}: {reason}");
                    assert!(e.to_string().contains(&format!("`{token}`")), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        for (text, token) in [
            ("ar_1,ar_2", "ar_2"),
            ("c_crop,z_1,z_2", "z_2"),
            ("r_1,r_max", "r_max"),
            ("bo_1px_solid_red,bo_2px_solid_red", "bo_2px_solid_red"),
            ("o_1,o_2", "o_2"),
            ("a_hflip,a_90", "a_90"),
        ] {
            assert_eq!(
                parse(text),
                Err(OptionsError::Repeated {
                    token: token.to_owned()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("a_90", "a_90"),
            ("a_-270", "a_90"),
            ("a_360", ""),
            ("a_45", "a_45"),
            ("a_90.hflip", "a_hflip.270"),
            ("a_vflip", "a_hflip.180"),
            ("a_hflip.hflip", ""),
            ("a_10.auto_right.ignore", "a_ignore.auto_right.10"),
            ("a_auto_left", "a_auto_left"),
            ("ar_16:9,w_160", "w_160,ar_1.7777777777777777"),
            ("ar_1:1", "ar_1.0"),
            ("ar_1.0", "ar_1.0"),
            ("z_2,c_crop", "c_crop,z_2.0"),
            ("c_crop,x_0.5,y_10", "c_crop,x_0.5,y_10"),
            ("r_5", "r_5:5:5:5"),
            ("r_1:2", "r_1:2:1:2"),
            ("r_max", "r_max"),
            ("bo_3px_solid_red", "bo_3px_solid_rgb:ff0000ff"),
            ("o_100", ""),
            ("o_30", "o_30"),
            ("c_mfit", "c_mfit"),
            ("c_mpad", "c_mpad"),
            ("c_auto", "c_auto,g_auto"),
            ("c_auto,g_north", "c_auto,g_north"),
        ];
        for (text, key) in cases {
            let plan = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(plan.cache_key(), key, "{text}");
            // The key parses back to a plan with the same key.
            assert_eq!(parse(key).unwrap().cache_key(), key, "{text}");
        }
        let mut keys = HashSet::new();
        for text in [
            "",
            "a_45",
            "a_hflip",
            "a_ignore",
            "a_auto_right",
            "a_auto_left",
            "ar_1.5",
            "ar_2",
            "c_crop,z_2",
            "c_crop,x_0.5",
            "c_crop,x_1",
            "r_1",
            "r_max",
            "bo_1px_solid_red",
            "o_50",
            "c_mfit",
            "c_mpad",
            "c_auto",
            "c_fill",
        ] {
            assert!(keys.insert(parse(text).unwrap().cache_key()), "{text}");
        }
    }
}
