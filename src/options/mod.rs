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
pub mod layer;
pub mod query;

pub use chain::{Chain, Presets, first_unnamed_token, is_component};
pub use grammar::{Token, tokenize};

/// What `fl_attachment` names a download when the source gives no name.
pub const DEFAULT_ATTACHMENT_NAME: &str = "image";

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
    // Cloudinary's geometry modes (issue 14).
    /// `c_mfit`: as `fit`, but only enlarging; a source already larger than the box is kept.
    Mfit,
    /// `c_mpad`: as `pad`, but only enlarging; a source already larger than the box is kept, unpadded.
    Mpad,
    /// `c_auto`: as `fill` with gravity `auto` unless `g_` says otherwise.
    Auto,
    /// `c_fill_pad` (needs `g_auto`): as `fill` with `g_auto` when the
    /// subject fits the crop; otherwise the crop widens just enough to keep it
    /// and the rest of the box is padded with `b_`.
    FillPad,
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
    /// `q_auto[:level]`: a per-format quality for the level (`q_auto` is
    /// `q_auto:good`, as on Cloudinary).
    Auto(AutoQuality),
}

/// The levels of `q_auto:<level>`, from the largest files to the smallest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AutoQuality {
    Best,
    #[default]
    Good,
    Eco,
    Low,
}

/// `e_pixelate[:n]`: the side of the squares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pixelate {
    /// `e_pixelate` alone: a square size chosen from the output's size.
    Auto,
    /// `e_pixelate:<1-200>`: squares of that many output pixels.
    Size(u16),
}

/// `e_trim[:tolerance[:colour]]`: cut the border of one colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trim {
    /// How far (0..=100, percent of the largest colour distance) a pixel
    /// may be from the border colour and still count as border.
    pub tolerance: u8,
    /// The border colour; `None` is the colour of the top-left pixel.
    pub colour: Option<Rgba>,
}

/// `w_auto[:step[:fallback]]`: the width from the `Width` client hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AutoWidth {
    /// The hinted width is rounded up to a multiple of this (fewer variants
    /// to cache).
    pub step: u32,
    /// The width when the client sends no hint; `None` keeps the source's.
    pub fallback: Option<u32>,
}

/// The client hints a request carried (`Sec-CH-DPR`/`DPR`,
/// `Sec-CH-Width`/`Width`), already read as numbers; what
/// [`Plan::resolve_hints`] turns `dpr_auto` and `w_auto` into.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClientHints {
    /// The device pixel ratio, when a finite positive number was sent.
    pub dpr: Option<f64>,
    /// The layout width in physical pixels, when a whole number was sent.
    pub width: Option<u64>,
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

/// `x_`/`y_`: a corner coordinate, in source pixels or as a fraction of the source side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offset {
    /// Whole source pixels, `x_20`.
    Pixels(u32),
    /// A fraction of the source side in [0, 1), written with a decimal point, `x_0.25`.
    Relative(f64),
}

/// `a_auto_right` / `a_auto_left`: a quarter turn only when the requested box and the
/// image disagree on landscape against portrait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoRotate {
    /// Clockwise.
    Right,
    /// Counter-clockwise.
    Left,
}

/// Everything `a_` asks for, reduced to one canonical value: the written steps
/// (`a_hflip.90`, applied in order) compose into an optional horizontal flip, then
/// a clockwise rotation of `degrees` in `0..360`. A multiple of 90 acts before sizing
/// (sizes refer to the turned image, as `a_90` always did); any other angle turns the
/// sized image and grows its canvas, as Cloudinary does (`w_100,a_45` is a 100-pixel
/// wide image turned), the flip still applied before sizing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Angle {
    /// `hflip` first (a vertical flip is a horizontal flip and a half turn).
    pub hflip: bool,
    /// Clockwise degrees after the flip, `0..360`.
    pub degrees: u16,
    /// `a_ignore`: the EXIF orientation is not applied.
    pub ignore_orientation: bool,
    /// `a_auto_right` / `a_auto_left`, decided against the requested box.
    pub auto: Option<AutoRotate>,
}

impl Angle {
    /// The rotation applied before sizing: [`Angle::degrees`] when a multiple of 90.
    pub fn quarter(&self) -> Rotation {
        match self.degrees {
            90 => Rotation::Deg90,
            180 => Rotation::Deg180,
            270 => Rotation::Deg270,
            _ => Rotation::None,
        }
    }

    /// The clockwise angle that turns the sized image (0 for a multiple of 90).
    pub fn free_degrees(&self) -> u16 {
        if self.degrees.is_multiple_of(90) {
            0
        } else {
            self.degrees
        }
    }
}

/// `r_`: rounded corners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Radius {
    /// Radii in output pixels, clockwise from the top-left corner:
    /// top-left, top-right, bottom-right, bottom-left.
    Corners([u32; 4]),
    /// `r_max`: an ellipse touching every side (a circle for a square image).
    Max,
}

/// `bo_<w>px_solid_<colour>`: a solid border added around the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Border {
    /// Thickness in output pixels.
    pub width: u32,
    /// Its colour.
    pub colour: Rgba,
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
    /// `x_`/`y_` for `c_crop`: the region's top-left corner in source pixels,
    /// or as a fraction of the source side.
    x: Option<Offset>,
    y: Option<Offset>,
    /// Device pixel ratio, 0.1..=5; 1.0 when absent.
    dpr: f64,
    /// `q_`: encoder quality.
    quality: Quality,
    /// `f_`: the output format asked for.
    format: FormatRequest,
    /// Background for padding and for flattening alpha; white by default.
    background: Rgba,
    /// `e_blur[:n]` strength 1..=2000.
    blur: Option<u16>,
    /// `e_sharpen[:n]` strength 1..=2000.
    sharpen: Option<u16>,
    /// `e_grayscale`.
    grayscale: bool,
    // Cloudinary's geometry parameters (issue 14).
    /// `ar_`: the output's width over height, for the side not given (or both).
    aspect_ratio: Option<f64>,
    /// `z_`: zoom of a `c_crop` / `c_thumb` region around its gravity; over 1 zooms in.
    zoom: Option<f64>,
    /// `a_`: flips, any angle, `ignore`, `auto_right`/`auto_left`.
    angle: Angle,
    /// `r_`: rounded corners.
    radius: Option<Radius>,
    /// `bo_`: a border around the output.
    border: Option<Border>,
    /// `o_`: opacity in percent, 0..=99 (100 is the default, left out).
    opacity: Option<u8>,

    // Cloudinary's pixel, quality and delivery parameters (README, grammar
    // table): each is absent (or false) by default, so that plans without
    // them keep their cache keys.
    /// `e_brightness[:-99..=100]`.
    brightness: Option<i16>,
    /// `e_contrast[:-100..=100]`.
    contrast: Option<i16>,
    /// `e_saturation[:-100..=100]`.
    saturation: Option<i16>,
    /// `e_gamma[:-50..=150]`.
    gamma: Option<i16>,
    /// `e_sepia[:1..=100]`.
    sepia: Option<u8>,
    /// `e_negate`.
    negate: bool,
    /// `e_pixelate[:1..=200]`.
    pixelate: Option<Pixelate>,
    /// `e_vibrance[:-100..=100]`.
    vibrance: Option<i16>,
    /// `e_trim[:tolerance[:colour]]`, applied before the layout.
    trim: Option<Trim>,
    /// `dpr_auto`: the ratio comes from the client hints.
    dpr_auto: bool,
    /// `w_auto[:step[:fallback]]`: the width comes from the client hints.
    width_auto: Option<AutoWidth>,
    /// `fl_progressive`: progressive JPEG.
    progressive: bool,
    /// `fl_lossy`: lossy compression where the format has a choice.
    lossy: bool,
    /// `fl_attachment[:name]`: `Some("")` for the source's name.
    attachment: Option<String>,
    /// `fl_getinfo`: JSON about the source and the output instead of the image.
    getinfo: bool,
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

    /// `x_`: the left edge of a `c_crop` region.
    pub fn x(&self) -> Option<Offset> {
        self.x
    }

    /// `y_`: the top edge of a `c_crop` region.
    pub fn y(&self) -> Option<Offset> {
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

    /// The quarter turns after EXIF orientation (`a_`), applied before sizing.
    pub fn rotation(&self) -> Rotation {
        self.angle.quarter()
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

    // Cloudinary's geometry parameters (issue 14).

    /// `ar_`: the requested width over height.
    pub fn aspect_ratio(&self) -> Option<f64> {
        self.aspect_ratio
    }

    /// `z_`: the zoom factor of a `c_crop` / `c_thumb` region.
    pub fn zoom(&self) -> Option<f64> {
        self.zoom
    }

    /// `a_` as a whole: flips, angle, `ignore`, `auto_*`.
    pub fn angle(&self) -> Angle {
        self.angle
    }

    /// `r_`: rounded corners.
    pub fn radius(&self) -> Option<Radius> {
        self.radius
    }

    /// `bo_`: the border.
    pub fn border(&self) -> Option<Border> {
        self.border
    }

    /// `o_`: opacity in percent, when under 100.
    pub fn opacity(&self) -> Option<u8> {
        self.opacity
    }

    /// `e_brightness` level, if asked for.
    pub fn brightness(&self) -> Option<i16> {
        self.brightness
    }

    /// `e_contrast` level, if asked for.
    pub fn contrast(&self) -> Option<i16> {
        self.contrast
    }

    /// `e_saturation` level, if asked for.
    pub fn saturation(&self) -> Option<i16> {
        self.saturation
    }

    /// `e_gamma` level, if asked for.
    pub fn gamma(&self) -> Option<i16> {
        self.gamma
    }

    /// `e_sepia` level, if asked for.
    pub fn sepia(&self) -> Option<u8> {
        self.sepia
    }

    /// Whether `e_negate` was asked for.
    pub fn negate(&self) -> bool {
        self.negate
    }

    /// `e_pixelate`, if asked for.
    pub fn pixelate(&self) -> Option<Pixelate> {
        self.pixelate
    }

    /// `e_vibrance` level, if asked for.
    pub fn vibrance(&self) -> Option<i16> {
        self.vibrance
    }

    /// `e_trim`, if asked for.
    pub fn trim(&self) -> Option<Trim> {
        self.trim
    }

    /// Whether `dpr_auto` is still to be resolved from client hints.
    pub fn dpr_auto(&self) -> bool {
        self.dpr_auto
    }

    /// `w_auto`, while still to be resolved from client hints.
    pub fn width_auto(&self) -> Option<AutoWidth> {
        self.width_auto
    }

    /// Whether `fl_progressive` was asked for.
    pub fn progressive(&self) -> bool {
        self.progressive
    }

    /// Whether `fl_lossy` was asked for.
    pub fn lossy(&self) -> bool {
        self.lossy
    }

    /// `fl_attachment[:name]`: the name given, or `""` for the source's.
    pub fn attachment(&self) -> Option<&str> {
        self.attachment.as_deref()
    }

    /// Whether `fl_getinfo` was asked for.
    pub fn getinfo(&self) -> bool {
        self.getinfo
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
            blur: None,
            sharpen: None,
            grayscale: false,
            aspect_ratio: None,
            zoom: None,
            angle: Angle::default(),
            radius: None,
            border: None,
            opacity: None,
            brightness: None,
            contrast: None,
            saturation: None,
            gamma: None,
            sepia: None,
            negate: false,
            pixelate: None,
            vibrance: None,
            trim: None,
            dpr_auto: false,
            width_auto: None,
            progressive: false,
            lossy: false,
            attachment: None,
            getinfo: false,
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

    /// The effective gravity: `c_thumb` and `c_auto` without `g_` mean `auto`.
    pub fn effective_gravity(&self) -> Gravity {
        if matches!(self.crop, CropMode::Thumb | CropMode::Auto) && !self.gravity_given {
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

    /// The plan with `dpr_auto` and `w_auto` replaced by values from the
    /// client hints (README, grammar table): the ratio is the hint (else 1)
    /// within the `dpr_` range; the width is the hinted physical width
    /// rounded up to the step and divided by the ratio (the hint already
    /// counts device pixels), else the fallback, else the source's width.
    /// Hints are the client's to choose, so a resolved size is held to
    /// `max_dimension` by lowering it, never refused. A plan without `auto`
    /// comes back unchanged.
    pub fn resolve_hints(&self, hints: ClientHints, limits: &GrammarLimits) -> Plan {
        grammar::resolve_hints(self, hints, limits)
    }
}
