//! Image overlays (`l_`): Cloudinary's layers, for watermarks.
//!
//! A layer is another image drawn over the result of the steps before it.
//! `l_<public_id>` names an image of the upload mount (folders written with
//! `:` for `/`, `l_brand:logo`); `l_fetch:<base64url>` a remote URL. The
//! layer is sized and transformed by the tokens of its own component (and
//! of the components after it) up to the component holding
//! `fl_layer_apply`, which places it: `g_` (a compass gravity on the base,
//! default centre), `x_`/`y_` (offsets away from that edge, negative
//! allowed; with a decimal point, a fraction of the base's side) and `o_`.
//! Without `fl_layer_apply`, Cloudinary's older one-component form: the
//! component's `g_`/`x_`/`y_` place the layer and its other tokens
//! transform it. `fl_relative` makes decimal `w_`/`h_` of the layer's first
//! component fractions of the base instead of the layer.
//!
//! Layers do not nest: an `l_` inside a layer's components is refused, so
//! a request draws at most [`MAX_LAYERS`] images besides its source. Like
//! the rest of `options`, nothing here does I/O: the handler fetches what
//! [`LayerSource`] names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;

use super::{GrammarLimits, Gravity, OptionsError, Plan, Size, Token, grammar, tokenize};

/// The most layers one request may draw: each is a second source to fetch
/// and decode (under the same limits as the source), so a URL cannot ask
/// for an unbounded number of downloads.
pub const MAX_LAYERS: usize = 5;

/// The key of a layer token (`l_logo`).
pub(super) const LAYER_KEY: &str = "l";

/// The flag that closes a layer's components and places it.
const APPLY_FLAG: &str = "layer_apply";

/// The flag that makes the layer's decimal sizes fractions of the base.
const RELATIVE_FLAG: &str = "relative";

/// Where a layer's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerSource {
    /// A public ID of the upload mount, with `/` between folders.
    Upload(String),
    /// A remote URL, fetched under the `?url=` rules.
    Fetch(String),
}

/// A horizontal or vertical offset of a layer from its gravity's edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerOffset {
    /// Whole pixels of the base, negative moving past the edge.
    Pixels(i32),
    /// A fraction of the base's side, written with a decimal point.
    Relative(f64),
}

impl LayerOffset {
    /// The offset in pixels on a base side of `side` pixels.
    pub fn pixels(self, side: u32) -> i64 {
        match self {
            LayerOffset::Pixels(px) => i64::from(px),
            // `as` saturates; a fraction is at most a few base sides.
            LayerOffset::Relative(r) => (r * f64::from(side)).round() as i64,
        }
    }
}

/// Where and how strongly a layer is drawn on the base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// The edge or corner of the base the layer is placed against.
    pub gravity: Gravity,
    /// Offsets away from that edge (towards the centre); for the centre,
    /// right and down.
    pub x: LayerOffset,
    pub y: LayerOffset,
    /// `o_` of the applying component: the layer's alpha times this
    /// percentage (the layer's own `o_` is applied while it is shaped).
    pub opacity: u8,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            gravity: Gravity::Center,
            x: LayerOffset::Pixels(0),
            y: LayerOffset::Pixels(0),
            opacity: 100,
        }
    }
}

/// One overlay: its source, the steps that make it, and its placement.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    source: LayerSource,
    /// Never empty: the layer's components in order (the first may be the
    /// empty plan: the layer as it is).
    steps: Vec<Plan>,
    /// `fl_relative`: decimal sizes of the first step are fractions of the
    /// base.
    relative: bool,
    placement: Placement,
}

impl Layer {
    /// Where the layer's image comes from.
    pub fn source(&self) -> &LayerSource {
        &self.source
    }

    /// The layer's steps, with `fl_relative` sizes resolved on a base of
    /// `base_width` x `base_height`.
    pub fn steps_on(&self, base_width: u32, base_height: u32) -> Vec<Plan> {
        let mut steps = self.steps.clone();
        if self.relative
            && let Some(first) = steps.first_mut()
        {
            let pixels = |size: Option<Size>, side: u32| match size {
                // In (0, 1] of a side within max_dimension: the product fits.
                Some(Size::Relative(r)) => Some(Size::Pixels(((r * f64::from(side)).round() as u32).max(1))),
                other => other,
            };
            first.width = pixels(first.width, base_width);
            first.height = pixels(first.height, base_height);
        }
        steps
    }

    /// The placement on the base.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The layer with `dpr_auto` / `w_auto` resolved in its steps.
    pub(super) fn resolve_hints(&self, hints: super::ClientHints, limits: &GrammarLimits) -> Layer {
        Layer {
            steps: self
                .steps
                .iter()
                .map(|p| p.resolve_hints(hints, limits))
                .collect(),
            ..self.clone()
        }
    }

    /// The canonical form, itself a valid layer: `l_{source}[,fl_relative]
    /// [,{first step}][/{step}...]/fl_layer_apply[,g_][,x_][,y_][,o_]`.
    pub(super) fn cache_key(&self) -> String {
        let mut first = vec![source_key(&self.source)];
        if self.relative {
            first.push("fl_relative".to_owned());
        }
        let mut components = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let key = step.cache_key();
            if index == 0 {
                if !key.is_empty() {
                    first.push(key);
                }
                components.push(first.join(","));
            } else {
                components.push(key);
            }
        }
        let p = self.placement;
        let mut apply = vec![format!("fl_{APPLY_FLAG}")];
        if p.gravity != Gravity::Center {
            apply.push(format!("g_{}", grammar::gravity_name(p.gravity)));
        }
        for (key, offset) in [("x", p.x), ("y", p.y)] {
            match offset {
                LayerOffset::Pixels(0) => {}
                LayerOffset::Pixels(px) => apply.push(format!("{key}_{px}")),
                LayerOffset::Relative(r) => apply.push(format!("{key}_{}", grammar::decimal(r))),
            }
        }
        if p.opacity != 100 {
            apply.push(format!("o_{}", p.opacity));
        }
        components.push(apply.join(","));
        components.join("/")
    }
}

/// The canonical `l_` token of a source: folders as `:`, a fetch URL as
/// base64url without padding (however the request padded it).
fn source_key(source: &LayerSource) -> String {
    match source {
        LayerSource::Upload(id) => format!("l_{}", id.replace('/', ":")),
        LayerSource::Fetch(url) => format!("l_fetch:{}", URL_SAFE_NO_PAD_INDIFFERENT.encode(url)),
    }
}

/// A component split into what concerns layers and the rest.
#[derive(Debug, Clone)]
pub(super) struct Parts {
    /// The `l_` token's source, if the component opens a layer.
    pub source: Option<LayerSource>,
    /// `fl_layer_apply` was among the flags.
    pub apply: bool,
    /// `fl_relative` was among the flags.
    pub relative: bool,
    /// The other tokens as written (flags other than these two rebuilt as
    /// one `fl_` token).
    pub rest: Vec<String>,
}

impl Parts {
    /// A component with nothing in it (what is left where one was taken).
    pub(super) fn empty() -> Parts {
        Parts {
            source: None,
            apply: false,
            relative: false,
            rest: Vec::new(),
        }
    }
}

/// Splits `component` into its layer tokens and the rest.
pub(super) fn split(component: &str) -> Result<Parts, OptionsError> {
    let tokens = tokenize(component, usize::MAX)?;
    let mut parts = Parts::empty();
    for token in &tokens {
        match token.key {
            LAYER_KEY => {
                if parts.source.is_some() {
                    return Err(OptionsError::Repeated {
                        token: token.raw.to_owned(),
                    });
                }
                parts.source = Some(parse_source(token)?);
            }
            "fl" if !token
                .value
                .split('.')
                .any(|f| f == APPLY_FLAG || f == RELATIVE_FLAG) =>
            {
                parts.rest.push(token.raw.to_owned());
            }
            "fl" => {
                let mut others = Vec::new();
                for flag in token.value.split('.') {
                    match flag {
                        APPLY_FLAG => parts.apply = true,
                        RELATIVE_FLAG => parts.relative = true,
                        other => others.push(other),
                    }
                }
                if !others.is_empty() {
                    parts.rest.push(format!("fl_{}", others.join(".")));
                }
            }
            _ => parts.rest.push(token.raw.to_owned()),
        }
    }
    Ok(parts)
}

/// `l_<public_id>` or `l_fetch:<base64url>`.
fn parse_source(token: &Token<'_>) -> Result<LayerSource, OptionsError> {
    let invalid = |reason: &str| OptionsError::InvalidValue {
        token: token.raw.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(encoded) = token.value.strip_prefix("fetch:") {
        let bytes = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(encoded)
            .map_err(|_| invalid("l_fetch: must be followed by the image URL in base64url"))?;
        let url = String::from_utf8(bytes).map_err(|_| invalid("the URL of l_fetch: is not UTF-8"))?;
        return Ok(LayerSource::Fetch(url));
    }
    if token.value.starts_with("text:") || token.value.contains(":fetch:") {
        return Err(invalid(
            "only image layers are supported: l_<public_id> (folders written with `:`) or \
             l_fetch:<base64url of the URL>",
        ));
    }
    let id = token.value.replace(':', "/");
    if id.is_empty() || id.split('/').any(str::is_empty) {
        return Err(invalid(
            "l_ needs a public ID, its folders separated by single `:` (l_brand:logo)",
        ));
    }
    Ok(LayerSource::Upload(id))
}

/// The placement of `fl_layer_apply` (or of the older one-component form):
/// only `g_`, `x_`, `y_` and `o_` are read; anything else in `tokens` is
/// the caller's to refuse or keep.
pub(super) fn placement(tokens: &[String], limits: &GrammarLimits) -> Result<Placement, OptionsError> {
    let mut placement = Placement::default();
    let mut seen: Vec<&str> = Vec::new();
    for raw in tokens {
        let Some((key, value)) = raw.split_once('_') else {
            continue;
        };
        if !matches!(key, "g" | "x" | "y" | "o") {
            continue;
        }
        if seen.contains(&key) {
            return Err(OptionsError::Repeated { token: raw.clone() });
        }
        seen.push(key);
        match key {
            "x" => placement.x = parse_offset(raw, value)?,
            "y" => placement.y = parse_offset(raw, value)?,
            _ => {
                let plan = Plan::parse(raw, limits)?;
                if key == "o" {
                    placement.opacity = plan.opacity().unwrap_or(100);
                } else if plan.gravity() == Gravity::Auto {
                    return Err(OptionsError::InvalidValue {
                        token: raw.clone(),
                        reason: "a layer is placed with a compass gravity (g_north_east, g_south...), \
                                 not g_auto"
                            .to_owned(),
                    });
                } else {
                    placement.gravity = plan.gravity();
                }
            }
        }
    }
    Ok(placement)
}

/// Whether a token (as written) is one [`placement`] reads.
pub(super) fn is_placement(raw: &str) -> bool {
    raw.split_once('_')
        .is_some_and(|(key, _)| matches!(key, "g" | "x" | "y" | "o"))
}

/// A placement offset: whole pixels (`x_-20`) or a fraction of the base's
/// side (`x_0.1`), within four base sides either way.
fn parse_offset(raw: &str, value: &str) -> Result<LayerOffset, OptionsError> {
    let invalid = || OptionsError::InvalidValue {
        token: raw.to_owned(),
        reason: format!(
            "{} of a layer must be whole pixels (-100000..=100000) or a fraction of the base's side \
             written with a decimal point (-4.0..=4.0)",
            &raw[..1]
        ),
    };
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    if digits.contains('.') {
        return grammar::parse_decimal(digits)
            .map(|d| d * sign)
            .filter(|d| (-4.0..=4.0).contains(d))
            .map(LayerOffset::Relative)
            .ok_or_else(invalid);
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
        return Err(invalid());
    }
    let px: i32 = digits.parse().map_err(|_| invalid())?;
    if px > 100_000 {
        return Err(invalid());
    }
    Ok(LayerOffset::Pixels(if negative { -px } else { px }))
}

/// Builds a layer from its opening component's parts, the components
/// between, and the applying component's parts (`None`: the older
/// one-component form, placed by the opening component's own `g_`/`x_`/`y_`).
pub(super) fn build(
    source: LayerSource,
    opening: Parts,
    between: &[Parts],
    apply: Option<Parts>,
    limits: &GrammarLimits,
) -> Result<Layer, OptionsError> {
    let mut relative = opening.relative;
    let (placement, first) = match &apply {
        Some(apply) => {
            if let Some(other) = apply.rest.iter().find(|t| !is_placement(t)) {
                return Err(OptionsError::InvalidValue {
                    token: other.clone(),
                    reason: "the component with fl_layer_apply places the layer: it takes g_, x_, y_ \
                             and o_; put the layer's other tokens in the component with l_"
                        .to_owned(),
                });
            }
            if apply.source.is_some() {
                return Err(nested());
            }
            relative |= apply.relative;
            (placement(&apply.rest, limits)?, opening.rest.clone())
        }
        None => {
            let (placed, kept): (Vec<String>, Vec<String>) = opening
                .rest
                .iter()
                .cloned()
                .partition(|t| is_placement(t) && !t.starts_with("o_"));
            (placement(&placed, limits)?, kept)
        }
    };
    let mut steps = vec![Plan::parse(&first.join(","), limits)?];
    for parts in between {
        if parts.source.is_some() {
            return Err(nested());
        }
        relative |= parts.relative;
        steps.push(Plan::parse(&parts.rest.join(","), limits)?);
    }
    Ok(Layer {
        source,
        steps,
        relative,
        placement,
    })
}

fn nested() -> OptionsError {
    OptionsError::InvalidValue {
        token: "l_".to_owned(),
        reason: "layers do not nest: close a layer with fl_layer_apply before opening another".to_owned(),
    }
}
