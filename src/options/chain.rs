//! Chained transformations and named transformations (presets).
//!
//! A [`Chain`] is what a request asks for: one or more steps, each a
//! validated [`Plan`], written as `/`-separated components
//! (`c_crop,w_500,h_500/w_100/e_grayscale`), applied in order, each to the
//! previous step's result (Cloudinary's chained transformations). A
//! one-step chain is exactly a plan, with the plan's cache key, so that the
//! keys and ETags of single-component requests never change.
//!
//! [`Presets`] holds the operator's named transformations (`presets` file,
//! one `name = transformation` per line); a `t_{name}` token expands to the
//! preset's steps. Like the rest of `options`, nothing here does I/O: the
//! file is read by `config`, its text parsed here.

use std::collections::HashMap;

use super::layer::{self, LAYER_KEY, Layer, MAX_LAYERS};
use super::{FormatRequest, GrammarLimits, OptionsError, Plan, Quality, Token, tokenize};

/// The key of a named transformation token (`t_thumb`).
const PRESET_KEY: &str = "t";

/// A validated transformation of one or more steps.
///
/// The steps are private: a chain exists only after [`Chain::parse`] (or
/// [`Chain::single`] from an already validated plan), so every step the
/// pipeline runs passed the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Never empty: the empty transformation is one step, the empty plan.
    steps: Vec<Plan>,
    /// Overlays, in the order they are drawn, each with the index of the
    /// step whose result it is drawn on (a layer before any step is drawn
    /// on the source: an empty first step is added for it).
    layers: Vec<(usize, Layer)>,
}

/// The operator's named transformations, read once at start.
#[derive(Debug, Clone, Default)]
pub struct Presets {
    /// Name -> the preset's components as written (each validated at load,
    /// so that a broken preset stops the start rather than a request).
    by_name: HashMap<String, Vec<String>>,
}

impl Chain {
    /// A one-step chain.
    pub fn single(plan: Plan) -> Chain {
        Chain {
            steps: vec![plan],
            layers: Vec::new(),
        }
    }

    /// Parses a transformation of `/`-separated components, expanding
    /// `t_{name}` from `presets`.
    ///
    /// `max_tokens` counts the tokens of every step after expansion (the
    /// work asked for, whoever wrote it). An empty component (`w_1//w_2`, a
    /// trailing `/`) is refused; the empty transformation is one empty step.
    pub fn parse(text: &str, limits: &GrammarLimits, presets: &Presets) -> Result<Chain, OptionsError> {
        if text.is_empty() {
            return Ok(Chain::single(Plan::default()));
        }
        let mut components: Vec<String> = Vec::new();
        for component in text.split('/') {
            if component.is_empty() {
                return Err(OptionsError::InvalidValue {
                    token: text.to_owned(),
                    reason: "a chained transformation is written as components separated by single \
                             slashes, with none empty"
                        .to_owned(),
                });
            }
            expand(component, presets, &mut components)?;
        }
        let count: usize = components.iter().map(|c| c.split(',').count()).sum();
        if count > limits.max_tokens {
            return Err(OptionsError::TooManyTokens {
                count,
                max: limits.max_tokens,
            });
        }
        let mut parts = components
            .iter()
            .map(|component| layer::split(component))
            .collect::<Result<Vec<_>, _>>()?;
        let mut steps: Vec<Plan> = Vec::new();
        let mut layers: Vec<(usize, Layer)> = Vec::new();
        let mut index = 0;
        while index < components.len() {
            let Some(source) = parts[index].source.take() else {
                if parts[index].apply {
                    return Err(OptionsError::InvalidValue {
                        token: components[index].clone(),
                        reason: "fl_layer_apply places a layer opened by l_ in an earlier component"
                            .to_owned(),
                    });
                }
                steps.push(Plan::parse(&components[index], limits)?);
                index += 1;
                continue;
            };
            if layers.len() == MAX_LAYERS {
                return Err(OptionsError::InvalidValue {
                    token: components[index].clone(),
                    reason: format!("at most {MAX_LAYERS} layers (l_) in one transformation"),
                });
            }
            // The component with fl_layer_apply closes the layer, unless
            // another l_ comes first (then this is the one-component form).
            let close = (!parts[index].apply)
                .then(|| {
                    parts[index + 1..]
                        .iter()
                        .position(|p| p.apply || p.source.is_some())
                        .map(|offset| index + 1 + offset)
                        .filter(|&end| parts[end].apply)
                })
                .flatten();
            let opening = std::mem::replace(&mut parts[index], layer::Parts::empty());
            let layer = match close {
                Some(end) => {
                    let apply = std::mem::replace(&mut parts[end], layer::Parts::empty());
                    let built = layer::build(source, opening, &parts[index + 1..end], Some(apply), limits)?;
                    index = end + 1;
                    built
                }
                None => {
                    index += 1;
                    layer::build(source, opening, &[], None, limits)?
                }
            };
            if steps.is_empty() {
                steps.push(Plan::default());
            }
            layers.push((steps.len() - 1, layer));
        }
        if steps.is_empty() {
            steps.push(Plan::default());
        }
        Ok(Chain { steps, layers })
    }

    /// The overlays in the order they are drawn.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().map(|(_, layer)| layer)
    }

    /// The overlays drawn on the result of step `step`, each with its
    /// position in [`Chain::layers`].
    pub fn layers_after(&self, step: usize) -> impl Iterator<Item = (usize, &Layer)> {
        self.layers
            .iter()
            .enumerate()
            .filter(move |(_, (at, _))| *at == step)
            .map(|(index, (_, layer))| (index, layer))
    }

    /// The steps, in the order they run; never empty.
    pub fn steps(&self) -> &[Plan] {
        &self.steps
    }

    /// The step whose `f_`/`q_` decide the output: Cloudinary encodes the
    /// result of the last step, with the format and quality of the last
    /// step that names them.
    pub fn format(&self) -> FormatRequest {
        self.last_named(Plan::format)
    }

    /// The encoder quality: the last step that names `q_`.
    pub fn quality(&self) -> Quality {
        self.last_named(Plan::quality)
    }

    /// The value of the last step whose value is not the default (the last
    /// step that names the token), else the default.
    fn last_named<T: Default + PartialEq>(&self, value: impl Fn(&Plan) -> T) -> T {
        self.steps
            .iter()
            .rev()
            .map(value)
            .find(|v| *v != T::default())
            .unwrap_or_default()
    }

    /// `fl_progressive` in any step: the one encode is progressive.
    pub fn progressive(&self) -> bool {
        self.steps.iter().any(Plan::progressive)
    }

    /// `fl_getinfo` in any step: JSON about the source and the output.
    pub fn getinfo(&self) -> bool {
        self.steps.iter().any(Plan::getinfo)
    }

    /// `fl_attachment[:name]`: the last step that names it.
    pub fn attachment(&self) -> Option<&str> {
        self.steps.iter().rev().find_map(Plan::attachment)
    }

    /// Every step with `dpr_auto` / `w_auto` resolved from the client's
    /// hints (see [`Plan::resolve_hints`]).
    pub fn resolve_hints(&self, hints: super::ClientHints, limits: &GrammarLimits) -> Chain {
        Chain {
            steps: self
                .steps
                .iter()
                .map(|plan| plan.resolve_hints(hints, limits))
                .collect(),
            layers: self
                .layers
                .iter()
                .map(|(at, layer)| (*at, layer.resolve_hints(hints, limits)))
                .collect(),
        }
    }

    /// The canonical form: the steps' keys joined by `/`, each followed by
    /// the keys of the layers drawn on its result. A one-step chain has its
    /// plan's key, unchanged.
    pub fn cache_key(&self) -> String {
        let mut components = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            components.push(step.cache_key());
            components.extend(self.layers_after(index).map(|(_, layer)| layer.cache_key()));
        }
        components.join("/")
    }
}

/// Appends the components `component` stands for: itself, or for each
/// `t_{name}` (`t_a.b` names several, applied in order) the preset's
/// components, then the component's other tokens as one more step.
fn expand(component: &str, presets: &Presets, out: &mut Vec<String>) -> Result<(), OptionsError> {
    let tokens = tokenize(component, usize::MAX)?;
    if !tokens.iter().any(|t| t.key == PRESET_KEY) {
        out.push(component.to_owned());
        return Ok(());
    }
    let mut rest: Vec<&str> = Vec::new();
    let mut named = false;
    for token in &tokens {
        if token.key != PRESET_KEY {
            rest.push(token.raw);
            continue;
        }
        if std::mem::replace(&mut named, true) {
            return Err(OptionsError::Repeated {
                token: token.raw.to_owned(),
            });
        }
        for name in token.value.split('.') {
            let steps = presets.get(name).ok_or_else(|| OptionsError::UnknownPreset {
                token: token.raw.to_owned(),
                name: name.to_owned(),
            })?;
            out.extend(steps.iter().cloned());
        }
    }
    if !rest.is_empty() {
        out.push(rest.join(","));
    }
    Ok(())
}

/// The first token of `text` (a transformation, components included) that
/// is not a `t_` token, if any: with `strict_transformations` on, only the
/// operator's presets may run.
pub fn first_unnamed_token(text: &str) -> Option<&str> {
    text.split(['/', ','])
        .filter(|raw| !raw.is_empty())
        .find(|raw| raw.split_once('_').is_none_or(|(key, _)| key != PRESET_KEY))
}

/// Whether a path segment of a Cloudinary URL is a transformation
/// component rather than the start of a public ID: every comma-separated
/// token is `key_value` with a key the grammar knows (its value may still
/// be wrong, which is then a `400` naming it) or `t_`.
pub fn is_component(segment: &str, limits: &GrammarLimits) -> bool {
    let Ok(tokens) = tokenize(segment, usize::MAX) else {
        return false;
    };
    !tokens.is_empty()
        && tokens.iter().all(|token| {
            token.key == PRESET_KEY
                || token.key == LAYER_KEY
                || !matches!(
                    Plan::from_tokens(std::slice::from_ref::<Token<'_>>(token), limits),
                    Err(OptionsError::UnknownToken { .. })
                )
        })
}

impl Presets {
    /// Parses a presets file: one `name = transformation` per line (the
    /// transformation may be chained), blank lines and `#` comments
    /// ignored. Every preset is validated against `limits`; a preset may
    /// not use another (`t_` inside a preset), so that an expansion is one
    /// level deep and never loops. The error names the line.
    pub fn parse(text: &str, limits: &GrammarLimits) -> Result<Presets, String> {
        let mut by_name = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, transformation)) = line.split_once('=') else {
                return Err(format!("line {number}: `{line}` is not `name = transformation`"));
            };
            let (name, transformation) = (name.trim(), transformation.trim());
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "line {number}: preset name `{name}` must be letters, digits, `_` or `-`"
                ));
            }
            if let Some(token) = transformation
                .split(['/', ','])
                .find(|t| t.split_once('_').is_some_and(|(key, _)| key == PRESET_KEY))
            {
                return Err(format!(
                    "line {number}: `{token}`: a preset cannot use another preset"
                ));
            }
            let chain = Chain::parse(transformation, limits, &Presets::default())
                .map_err(|e| format!("line {number}: preset `{name}`: {e}"))?;
            if chain.steps.len() == 1 && transformation.is_empty() {
                return Err(format!("line {number}: preset `{name}` is empty"));
            }
            let components = transformation.split('/').map(str::to_owned).collect();
            if by_name.insert(name.to_owned(), components).is_some() {
                return Err(format!("line {number}: preset `{name}` is defined twice"));
            }
        }
        Ok(Presets { by_name })
    }

    /// The components of the preset `name`.
    fn get(&self, name: &str) -> Option<&Vec<String>> {
        self.by_name.get(name)
    }

    /// How many presets there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ImageFormat;

    fn limits() -> GrammarLimits {
        GrammarLimits::default()
    }

    fn presets() -> Presets {
        Presets::parse(
            "# thumbnails\nthumb = c_fill,w_100,h_100\n\nsmall_gray = w_50/e_grayscale\nwebp = f_webp,q_60\n",
            &limits(),
        )
        .unwrap()
    }

    fn keys(text: &str) -> Vec<String> {
        Chain::parse(text, &limits(), &presets())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .steps()
            .iter()
            .map(Plan::cache_key)
            .collect()
    }

    #[test]
    fn a_one_step_chain_keeps_the_plan_key() {
        for text in ["", "w_150,h_500,c_fill", "h_500,w_150,c_fill", "f_webp,q_80"] {
            let chain = Chain::parse(text, &limits(), &Presets::default()).unwrap();
            let plan = Plan::parse(text, &limits()).unwrap();
            assert_eq!(chain.steps().len(), 1);
            assert_eq!(chain.cache_key(), plan.cache_key(), "{text}");
        }
    }

    #[test]
    fn components_are_steps_in_order() {
        let chain = Chain::parse(
            "c_crop,w_500,h_500,g_north/w_100/e_grayscale",
            &limits(),
            &Presets::default(),
        )
        .unwrap();
        assert_eq!(chain.steps().len(), 3);
        assert_eq!(chain.cache_key(), "w_500,h_500,c_crop,g_north/w_100/e_grayscale");
        // The order of steps matters, the order of tokens inside one does not.
        let other = Chain::parse(
            "w_100/c_crop,w_500,h_500,g_north/e_grayscale",
            &limits(),
            &Presets::default(),
        )
        .unwrap();
        assert_ne!(chain.cache_key(), other.cache_key());
        let same = Chain::parse(
            "g_north,h_500,w_500,c_crop/w_100/e_grayscale",
            &limits(),
            &Presets::default(),
        )
        .unwrap();
        assert_eq!(chain.cache_key(), same.cache_key());
    }

    #[test]
    fn empty_components_are_refused() {
        for text in ["w_1//w_2", "w_1/", "/w_1"] {
            let err = Chain::parse(text, &limits(), &Presets::default()).unwrap_err();
            assert!(matches!(err, OptionsError::InvalidValue { .. }), "{text}: {err}");
        }
    }

    #[test]
    fn max_tokens_counts_every_step_after_expansion() {
        let small = GrammarLimits {
            max_tokens: 3,
            ..limits()
        };
        assert!(Chain::parse("w_1,h_1/w_2", &small, &Presets::default()).is_ok());
        assert_eq!(
            Chain::parse("w_1,h_1/w_2,h_2", &small, &Presets::default()).unwrap_err(),
            OptionsError::TooManyTokens { count: 4, max: 3 }
        );
        // t_thumb is three tokens.
        assert_eq!(
            Chain::parse("t_thumb/w_2", &small, &presets()).unwrap_err(),
            OptionsError::TooManyTokens { count: 4, max: 3 }
        );
    }

    #[test]
    fn format_and_quality_come_from_the_last_step_naming_them() {
        let chain = Chain::parse("f_png,q_30/w_10,f_webp/w_5", &limits(), &Presets::default()).unwrap();
        assert_eq!(chain.format(), FormatRequest::Fixed(ImageFormat::Webp));
        assert_eq!(chain.quality(), Quality::Value(30));
        let chain = Chain::parse("w_10/w_5", &limits(), &Presets::default()).unwrap();
        assert_eq!(chain.format(), FormatRequest::Source);
        assert_eq!(chain.quality(), Quality::Default);
    }

    #[test]
    fn presets_expand_into_steps() {
        assert_eq!(keys("t_thumb"), ["w_100,h_100,c_fill"]);
        assert_eq!(keys("t_small_gray/w_20"), ["w_50", "e_grayscale", "w_20"]);
        // Other tokens of the component run after the preset.
        assert_eq!(keys("t_thumb,e_grayscale"), ["w_100,h_100,c_fill", "e_grayscale"]);
        // `t_a.b` applies both, in order.
        assert_eq!(keys("t_thumb.webp"), ["w_100,h_100,c_fill", "q_60,f_webp"]);
    }

    #[test]
    fn an_unknown_preset_is_named() {
        let err = Chain::parse("w_10/t_nope", &limits(), &presets()).unwrap_err();
        assert_eq!(
            err,
            OptionsError::UnknownPreset {
                token: "t_nope".to_owned(),
                name: "nope".to_owned()
            }
        );
        assert!(err.to_string().contains("nope"));
        assert!(matches!(
            Chain::parse("t_thumb,t_webp", &limits(), &presets()).unwrap_err(),
            OptionsError::Repeated { .. }
        ));
    }

    #[test]
    fn a_bad_presets_file_names_the_line() {
        for (text, line) in [
            ("a = w_1\nb w_2", "line 2"),
            ("a = w_1\n\n# c\nb = z_2", "line 4"),
            ("a = w_1\na = w_2", "line 2"),
            ("a = t_b", "line 1"),
            ("a b = w_1", "line 1"),
            ("a = w_1//w_2", "line 1"),
            ("a =", "line 1"),
        ] {
            let err = Presets::parse(text, &limits()).unwrap_err();
            assert!(err.starts_with(line), "{text}: {err}");
        }
        assert_eq!(presets().len(), 3);
    }

    #[test]
    fn strict_mode_finds_the_first_token_that_is_not_a_preset() {
        assert_eq!(first_unnamed_token(""), None);
        assert_eq!(first_unnamed_token("t_thumb"), None);
        assert_eq!(first_unnamed_token("t_thumb/t_webp"), None);
        assert_eq!(first_unnamed_token("t_thumb,w_10"), Some("w_10"));
        assert_eq!(first_unnamed_token("t_thumb/w_10"), Some("w_10"));
        assert_eq!(first_unnamed_token("tx"), Some("tx"));
    }

    #[test]
    fn components_are_told_from_public_id_segments() {
        for segment in [
            "w_100",
            "c_fill,w_10,h_10",
            "t_thumb",
            "w_abc",
            "e_grayscale",
            "x_10",
        ] {
            assert!(is_component(segment, &limits()), "{segment}");
        }
        for segment in [
            "shop",
            "red.jpg",
            "my_photos",
            "v12",
            "w_10,shoes",
            "",
            "sale_2024",
        ] {
            assert!(!is_component(segment, &limits()), "{segment}");
        }
    }

    fn chain_of(text: &str) -> Chain {
        Chain::parse(text, &limits(), &presets()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn layers_take_their_components_up_to_fl_layer_apply() {
        use super::layer::{LayerOffset, LayerSource};
        use crate::options::Gravity;
        let chain = chain_of(
            "w_100/l_brand:logo,w_40,e_negate/a_90/fl_layer_apply,g_south_east,x_-5,y_0.1,o_50/w_50",
        );
        // The base steps only: the layer's components are its own.
        assert_eq!(chain.steps().len(), 2);
        let layers: Vec<_> = chain.layers_after(0).collect();
        assert_eq!(layers.len(), 1);
        let layer = layers[0].1;
        assert_eq!(layer.source(), &LayerSource::Upload("brand/logo".to_owned()));
        let steps = layer.steps_on(100, 50);
        assert_eq!(
            steps.iter().map(Plan::cache_key).collect::<Vec<_>>(),
            ["w_40,e_negate", "a_90"]
        );
        let p = layer.placement();
        assert_eq!(
            (p.gravity, p.x, p.y, p.opacity),
            (
                Gravity::SouthEast,
                LayerOffset::Pixels(-5),
                LayerOffset::Relative(0.1),
                50
            )
        );
        assert_eq!(chain.layers_after(1).count(), 0);
        // The key is canonical and parses to the same chain.
        let key = chain.cache_key();
        assert_eq!(
            key,
            "w_100/l_brand:logo,w_40,e_negate/a_90/fl_layer_apply,g_south_east,x_-5,y_0.1,o_50/w_50"
        );
        assert_eq!(chain_of(&key), chain);
    }

    #[test]
    fn the_one_component_form_places_with_its_own_gravity_and_offsets() {
        let chain = chain_of("x_10,l_logo,g_north_west,w_20,o_30");
        assert_eq!(
            chain.steps().len(),
            1,
            "the empty first step the layer is drawn on"
        );
        let layer = chain.layers().next().unwrap();
        assert_eq!(layer.steps_on(1, 1)[0].cache_key(), "w_20,o_30");
        assert_eq!(layer.placement().gravity, crate::options::Gravity::NorthWest);
        assert_eq!(
            chain.cache_key(),
            "/l_logo,w_20,o_30/fl_layer_apply,g_north_west,x_10"
        );
        // Token order and base64 padding do not change the key.
        let padded = chain_of("l_fetch:aHR0cDovL2EudGVzdC9sLnBuZw==/fl_layer_apply");
        let bare = chain_of("l_fetch:aHR0cDovL2EudGVzdC9sLnBuZw/fl_layer_apply");
        assert_eq!(padded.cache_key(), bare.cache_key());
        assert_eq!(
            padded.layers().next().unwrap().source(),
            &super::layer::LayerSource::Fetch("http://a.test/l.png".to_owned())
        );
    }

    #[test]
    fn fl_relative_sizes_the_layer_against_the_base() {
        let chain = chain_of("l_logo,w_0.5,h_0.25,fl_relative/fl_layer_apply");
        let steps = chain.layers().next().unwrap().steps_on(300, 200);
        assert_eq!(steps[0].cache_key(), "w_150,h_50");
        // Without the flag the fraction stays the layer's own.
        let own = chain_of("l_logo,w_0.5/fl_layer_apply");
        assert_eq!(
            own.layers().next().unwrap().steps_on(300, 200)[0].cache_key(),
            "w_0.5"
        );
    }

    #[test]
    fn layer_refusals_name_the_token() {
        for text in [
            "fl_layer_apply",
            "l_a/l_b/fl_layer_apply/fl_layer_apply",
            "l_a/fl_layer_apply,w_10",
            "l_a/fl_layer_apply,fl_no_overflow",
            "l_text:Arial_20:hi",
            "l_fetch:!!",
            "l_a::b",
            "l_a,g_auto",
            "l_a,x_1.5.5",
            "l_a,x_9999999",
            "l_a,l_b",
            "l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply/l_a/fl_layer_apply",
        ] {
            assert!(Chain::parse(text, &limits(), &presets()).is_err(), "{text}");
        }
        assert!(is_component("l_brand:logo,w_10", &limits()));
        assert!(is_component("fl_layer_apply,g_east", &limits()));
    }
}
