//! The transformation grammar: `w_150,h_500,c_fill` -> a validated [`Plan`].
//!
//! Pure code, no I/O. Parsing happens in two stages: [`grammar`] splits the
//! text into tokens exactly as written, then [`Plan::from_tokens`] validates
//! every value against the limits and builds the canonical plan that owns the
//! cache key. An unknown, repeated, malformed or out-of-range token is an
//! [`OptionsError`] naming the token; nothing is ever dropped silently.
//! [`query`] reads the request's `url` and `s` parameters.

mod chain;
pub mod cloudinary;
mod grammar;
pub mod query;

pub use chain::{Chain, Presets, first_unnamed_token, is_component};
pub use grammar::{Token, tokenize};

use crate::format::ImageFormat;

/// Limits the grammar enforces before anything is fetched.
#[derive(Debug, Clone, Copy)]
pub struct GrammarLimits {
    /// Largest output side in pixels, after `dpr_` (README, "Configuration": `max_dimension`).
    pub max_dimension: u32,
    /// Most tokens in one transformation (README, "Configuration": `max_tokens`).
    pub max_tokens: usize,
}

impl Default for GrammarLimits {
    fn default() -> Self {
        GrammarLimits {
            max_dimension: crate::config::defaults::MAX_DIMENSION,
            max_tokens: crate::config::defaults::MAX_TOKENS,
        }
    }
}

/// A requested side length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// An absolute size in CSS pixels (before `dpr_`), `w_150`.
    Pixels(u32),
    /// A fraction of the source side in (0, 1], `w_0.5`.
    Relative(f64),
}

/// How width and height are applied (README, "Transformations": crop modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CropMode {
    #[default]
    Scale,
    Fit,
    Limit,
    Fill,
    Lfill,
    Pad,
    Lpad,
    Crop,
    Thumb,
}

/// Where a crop or a pad is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    #[default]
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// Content-aware: the most interesting region of the image.
    Auto,
}

/// Encoder quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quality {
    /// No `q_` token: 80.
    #[default]
    Default,
    /// `q_1` ..= `q_100`.
    Value(u8),
    /// `q_auto`: a per-format default tuned for size.
    Auto,
}

/// The output format asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FormatRequest {
    /// No `f_` token: the source's format.
    #[default]
    Source,
    /// `f_jpg`, `f_png`, ...
    Fixed(ImageFormat),
    /// `f_auto`: negotiated from `Accept` and the image's alpha.
    Auto,
}

/// A straight (not premultiplied) sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const WHITE: Rgba = Rgba([255, 255, 255, 255]);
}

/// A clockwise rotation applied after EXIF orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    None,
    Deg90,
    Deg180,
    Deg270,
}

/// A validated transformation.
///
/// Its fields are private to `options`: outside this module a plan comes only
/// from [`Plan::parse`] or [`Plan::from_tokens`] (or [`Plan::default`], the
/// empty transformation, itself valid), so every plan the pipeline sees has
/// passed every check, and read access goes through the methods below.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `w_`: the requested width, absent when the other side (or the source) decides.
    width: Option<Size>,
    /// `h_`: the requested height.
    height: Option<Size>,
    /// `c_`: how width and height are applied.
    crop: CropMode,
    /// `g_` as written (see [`Plan::effective_gravity`] for the one to use).
    gravity: Gravity,
    /// Whether `g_` was given explicitly (`c_thumb` defaults to `auto` otherwise).
    gravity_given: bool,
    /// `x_`/`y_` for `c_crop`: the region's top-left corner in source pixels.
    x: Option<u32>,
    y: Option<u32>,
    /// Device pixel ratio, 0.1..=5; 1.0 when absent.
    dpr: f64,
    /// `q_`: encoder quality.
    quality: Quality,
    /// `f_`: the output format asked for.
    format: FormatRequest,
    /// Background for padding and for flattening alpha; white by default.
    background: Rgba,
    /// `a_`: a clockwise rotation after EXIF orientation.
    rotation: Rotation,
    /// `e_blur[:n]` strength 1..=2000.
    blur: Option<u16>,
    /// `e_sharpen[:n]` strength 1..=2000.
    sharpen: Option<u16>,
    /// `e_grayscale`.
    grayscale: bool,
}

/// Read access to a checked plan; the values are those `grammar` validated.
impl Plan {
    /// The requested width (`w_`), if any.
    pub fn width(&self) -> Option<Size> {
        self.width
    }

    /// The requested height (`h_`), if any.
    pub fn height(&self) -> Option<Size> {
        self.height
    }

    /// The crop mode (`c_`).
    pub fn crop(&self) -> CropMode {
        self.crop
    }

    /// The gravity as written (`g_`); [`Plan::effective_gravity`] applies the
    /// `c_thumb` default.
    pub fn gravity(&self) -> Gravity {
        self.gravity
    }

    /// Whether `g_` was written.
    pub fn gravity_given(&self) -> bool {
        self.gravity_given
    }

    /// `x_`: the left edge of a `c_crop` region, in source pixels.
    pub fn x(&self) -> Option<u32> {
        self.x
    }

    /// `y_`: the top edge of a `c_crop` region, in source pixels.
    pub fn y(&self) -> Option<u32> {
        self.y
    }

    /// The device pixel ratio (`dpr_`), 1.0 when absent.
    pub fn dpr(&self) -> f64 {
        self.dpr
    }

    /// The encoder quality (`q_`).
    pub fn quality(&self) -> Quality {
        self.quality
    }

    /// The output format asked for (`f_`).
    pub fn format(&self) -> FormatRequest {
        self.format
    }

    /// The background for padding and flattening (`b_`).
    pub fn background(&self) -> Rgba {
        self.background
    }

    /// The rotation after EXIF orientation (`a_`).
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    /// The blur strength (`e_blur[:n]`), if asked for.
    pub fn blur(&self) -> Option<u16> {
        self.blur
    }

    /// The sharpen strength (`e_sharpen[:n]`), if asked for.
    pub fn sharpen(&self) -> Option<u16> {
        self.sharpen
    }

    /// Whether `e_grayscale` was asked for.
    pub fn grayscale(&self) -> bool {
        self.grayscale
    }
}

/// The empty transformation (`""`), which is valid: what [`Plan::parse`]
/// returns for it, and where `grammar` starts before applying tokens.
impl Default for Plan {
    fn default() -> Self {
        Plan {
            width: None,
            height: None,
            crop: CropMode::Scale,
            gravity: Gravity::Center,
            gravity_given: false,
            x: None,
            y: None,
            dpr: 1.0,
            quality: Quality::Default,
            format: FormatRequest::Source,
            background: Rgba::WHITE,
            rotation: Rotation::None,
            blur: None,
            sharpen: None,
            grayscale: false,
        }
    }
}

/// Why a transformation was refused. Every variant names the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A key resizer does not know, e.g. `z_3`.
    #[error("unknown token `{token}`: {allowed}")]
    UnknownToken { token: String, allowed: String },
    /// A token whose value cannot be parsed or is out of range.
    #[error("invalid token `{token}`: {reason}")]
    InvalidValue { token: String, reason: String },
    /// The same key twice, e.g. `w_1,w_2`.
    #[error("repeated token `{token}`: each key may appear once")]
    Repeated { token: String },
    /// More tokens than `max_tokens`.
    #[error("too many tokens: {count} given, at most {max} allowed")]
    TooManyTokens { count: usize, max: usize },
    /// `w`/`h` times `dpr` over `max_dimension`.
    #[error("`{token}` gives {pixels} pixels with dpr, over the limit of {max}")]
    TooLarge { token: String, pixels: u64, max: u32 },
    /// A query parameter that may appear once (`url`, `s`) appeared again:
    /// taking either value would answer a question the client did not ask.
    #[error("the `{0}` query parameter is given more than once: give it once")]
    RepeatedParameter(&'static str),
    /// `t_{name}` naming no preset of the `presets` file.
    #[error(
        "unknown named transformation `{name}` in `{token}`: the `presets` file defines none of that name"
    )]
    UnknownPreset { token: String, name: String },
}

impl Plan {
    /// Parses and validates a transformation (the path without its leading `/`).
    pub fn parse(transformation: &str, limits: &GrammarLimits) -> Result<Plan, OptionsError> {
        let tokens = tokenize(transformation, limits.max_tokens)?;
        Plan::from_tokens(&tokens, limits)
    }

    /// Validates tokens as written into a plan.
    pub fn from_tokens(tokens: &[Token<'_>], limits: &GrammarLimits) -> Result<Plan, OptionsError> {
        grammar::build_plan(tokens, limits)
    }

    /// The effective gravity: `c_thumb` without `g_` means `auto`.
    pub fn effective_gravity(&self) -> Gravity {
        if self.crop == CropMode::Thumb && !self.gravity_given {
            Gravity::Auto
        } else {
            self.gravity
        }
    }

    /// A canonical text form: equal plans give equal strings, whatever the
    /// order or spelling of the tokens (`w_150,h_500` == `h_500,w_150`).
    ///
    /// Keys come in a fixed order with normalised values and defaults left
    /// out (the empty plan has the empty key); plans that produce the same
    /// image may share a key (`q_80` and no `q_`, `f_jpg` and `f_jpeg`,
    /// `c_thumb` and `c_thumb,g_auto`). The key is itself a valid
    /// transformation.
    pub fn cache_key(&self) -> String {
        grammar::canonical(self)
    }
}
